//! Grounding: an answer may only cite evidence that exists, and its confidence is ours to cap.
//!
//! Applied to every answer, the rules engine's included (architecture.md "Evidence ids"):
//! - citations of unknown ids are removed;
//! - a hypothesis left without citations has its confidence capped (default 0.3);
//! - hypotheses are re-sorted by confidence and the overall confidence may not exceed the best
//!   hypothesis';
//! - severity may raise the detector's, never lower it;
//! - `needs_human_review` is forced when confidence is below the threshold (default 0.7), when
//!   the answer is a fallback, or when grounding found nothing cited at all.

use super::Analysis;
use super::context::Context;
use crate::incident::Severity;

/// Grounding tunables.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Policy {
    /// Below this overall confidence a human must review.
    pub review_threshold: f64,
    /// Cap for hypotheses that cite nothing that exists.
    pub uncited_cap: f64,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            review_threshold: 0.7,
            uncited_cap: 0.3,
        }
    }
}

/// What grounding changed, for the stored record and the logs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Report {
    /// Citations removed because the id does not exist.
    pub unknown_citations: Vec<String>,
    /// Hypotheses whose confidence was capped.
    pub capped: usize,
    /// No hypothesis cites existing evidence.
    pub ungrounded: bool,
    /// The proposed severity was below the detector's and was raised back.
    pub severity_floor_applied: bool,
}

/// Grounds `answer` against `context`. `fallback` marks a rules answer standing in for a
/// failed LLM call (always reviewed).
pub fn ground(
    mut answer: Analysis,
    context: &Context,
    detector_severity: Severity,
    policy: &Policy,
    fallback: bool,
) -> (Analysis, Report) {
    let mut report = Report::default();
    for h in &mut answer.hypotheses {
        let before = h.evidence.clone();
        h.evidence.retain(|id| context.get(id).is_some());
        h.evidence.dedup();
        report
            .unknown_citations
            .extend(before.into_iter().filter(|id| context.get(id).is_none()));
        h.confidence = h.confidence.clamp(0.0, 1.0);
        if h.evidence.is_empty() && h.confidence > policy.uncited_cap {
            h.confidence = policy.uncited_cap;
            report.capped += 1;
        }
    }
    answer
        .hypotheses
        .sort_by(|a, b| b.confidence.total_cmp(&a.confidence));
    report.ungrounded = answer.hypotheses.iter().all(|h| h.evidence.is_empty());
    let best = answer.hypotheses.first().map_or(0.0, |h| h.confidence);
    answer.confidence = answer.confidence.clamp(0.0, 1.0).min(best);
    if answer.severity < detector_severity {
        answer.severity = detector_severity;
        report.severity_floor_applied = true;
    }
    if answer.confidence < policy.review_threshold || fallback || report.ungrounded {
        answer.needs_human_review = true;
    }
    (answer, report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::context::{Evidence, EvidenceKind, Facts};
    use crate::analysis::{Hypothesis, RecommendedAction, Risk};
    use crate::redact::Receipt;
    use crate::taxonomy::Category;

    fn context() -> Context {
        Context {
            facts: Facts {
                cluster: "c".into(),
                namespace: None,
                object: "Node/n1".into(),
                category: "node_not_ready".into(),
                reason: "NotReady".into(),
                severity: "critical".into(),
                occurrences: 1,
                first_seen: "t".into(),
                last_seen: "t".into(),
            },
            evidence: vec![Evidence {
                id: "E1".into(),
                kind: EvidenceKind::Incident,
                source: "s".into(),
                text: "t".into(),
            }],
            trimmed: vec![],
            receipt: Receipt::new(),
        }
    }

    fn answer(h: Vec<(f64, Vec<&str>)>, confidence: f64, severity: Severity) -> Analysis {
        Analysis {
            summary: "s".into(),
            category: Category::NodeNotReady,
            severity,
            hypotheses: h
                .into_iter()
                .map(|(c, ids)| Hypothesis {
                    cause: "x".into(),
                    category: Category::NodeNotReady,
                    confidence: c,
                    evidence: ids.into_iter().map(String::from).collect(),
                })
                .collect(),
            recommended_actions: vec![RecommendedAction {
                action: "look".into(),
                command: None,
                risk: Risk::ReadOnly,
            }],
            confidence,
            needs_human_review: false,
            missing_evidence: vec![],
        }
    }

    #[test]
    fn unknown_ids_are_dropped_and_uncited_hypotheses_capped() {
        let a = answer(
            vec![(0.9, vec!["E9"]), (0.6, vec!["E1", "E1"])],
            0.95,
            Severity::Critical,
        );
        let (g, r) = ground(a, &context(), Severity::Warning, &Policy::default(), false);
        assert_eq!(r.unknown_citations, ["E9"]);
        assert_eq!(r.capped, 1);
        assert_eq!(
            g.hypotheses[0].evidence,
            ["E1"],
            "re-sorted: the cited one leads"
        );
        assert_eq!(g.hypotheses[1].confidence, 0.3);
        assert_eq!(g.confidence, 0.6, "overall never above the best hypothesis");
        assert!(g.needs_human_review, "0.6 < 0.7");
    }

    #[test]
    fn severity_never_drops_below_the_detector() {
        let a = answer(vec![(0.9, vec!["E1"])], 0.9, Severity::Info);
        let (g, r) = ground(a, &context(), Severity::Critical, &Policy::default(), false);
        assert_eq!(g.severity, Severity::Critical);
        assert!(r.severity_floor_applied);
        assert!(!g.needs_human_review);
    }

    #[test]
    fn fallback_and_ungrounded_answers_need_review() {
        let a = answer(vec![(0.9, vec!["E1"])], 0.9, Severity::Critical);
        assert!(
            ground(a, &context(), Severity::Info, &Policy::default(), true)
                .0
                .needs_human_review
        );
        let a = answer(vec![(0.9, vec![])], 0.9, Severity::Critical);
        let (g, r) = ground(a, &context(), Severity::Info, &Policy::default(), false);
        assert!(r.ungrounded && g.needs_human_review);
    }
}
