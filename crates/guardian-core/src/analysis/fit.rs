//! Fitting a context into a token budget.
//!
//! Trimming works on whole evidence items and whole log lines, in priority order, so the result
//! is always well-formed (the earlier implementation cut bytes and sent invalid JSON):
//!
//! 1. log excerpts shrink 30 → 20 → 10 → 5 lines, then are dropped, the most recent kept longest;
//! 2. events beyond the newest five are dropped, then all but the newest one;
//! 3. node, owner and status items are dropped from the end;
//! 4. the incident item and container states are never dropped.
//!
//! Every step is recorded in [`Context::trimmed`]; when even the minimum does not fit, the
//! context is returned as small as it gets with an `over budget` note, and the caller decides
//! (the rules engine needs no budget).

use super::context::{Context, EvidenceKind};

/// Counts tokens of a text (tiktoken for OpenAI models, an estimate otherwise).
pub type Counter<'a> = &'a dyn Fn(&str) -> u64;

/// Tokens of the whole context as it would be serialised into a prompt.
pub fn tokens(context: &Context, count: Counter<'_>) -> u64 {
    let mut total = count(&serde_json::to_string(&context.facts).unwrap_or_default());
    for e in &context.evidence {
        // id, kind and source add a few tokens each; counting them keeps the estimate honest.
        total += count(&e.id) + count(&e.source) + count(&e.text) + 4;
    }
    total
}

fn shrink_logs(context: &mut Context, lines: usize) -> bool {
    let mut changed = false;
    for e in context
        .evidence
        .iter_mut()
        .filter(|e| e.kind == EvidenceKind::Log)
    {
        let all: Vec<&str> = e.text.lines().collect();
        if all.len() > lines {
            e.text = all[..lines].join("\n");
            changed = true;
        }
    }
    changed
}

fn drop_kind_beyond(context: &mut Context, kind: EvidenceKind, keep: usize) -> Vec<String> {
    let mut seen = 0;
    let mut dropped = Vec::new();
    context.evidence.retain(|e| {
        if e.kind != kind {
            return true;
        }
        seen += 1;
        if seen > keep {
            dropped.push(e.id.clone());
            false
        } else {
            true
        }
    });
    dropped
}

/// Trims `context` until it fits `budget` tokens. Evidence ids are kept (never renumbered), so
/// citations stay meaningful.
pub fn fit(mut context: Context, budget: u64, count: Counter<'_>) -> Context {
    if tokens(&context, count) <= budget {
        return context;
    }
    for lines in [20, 10, 5] {
        if shrink_logs(&mut context, lines) {
            context
                .trimmed
                .push(format!("log excerpts cut to {lines} lines"));
        }
        if tokens(&context, count) <= budget {
            return context;
        }
    }
    let steps: [(EvidenceKind, usize, &str); 6] = [
        (EvidenceKind::Log, 1, "log excerpts"),
        (EvidenceKind::Log, 0, "log excerpts"),
        (EvidenceKind::Event, 5, "events"),
        (EvidenceKind::Event, 1, "events"),
        (EvidenceKind::Node, 0, "node conditions"),
        (EvidenceKind::Owner, 0, "owner details"),
    ];
    for (kind, keep, what) in steps {
        let dropped = drop_kind_beyond(&mut context, kind, keep);
        if !dropped.is_empty() {
            context
                .trimmed
                .push(format!("dropped {what} {}", dropped.join(", ")));
        }
        if tokens(&context, count) <= budget {
            return context;
        }
    }
    let dropped = drop_kind_beyond(&mut context, EvidenceKind::Status, 1);
    if !dropped.is_empty() {
        context
            .trimmed
            .push(format!("dropped status {}", dropped.join(", ")));
    }
    if tokens(&context, count) > budget {
        context.trimmed.push(format!(
            "over budget: {} tokens > {budget}",
            tokens(&context, count)
        ));
    }
    context
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::context::{Evidence, Facts};
    use crate::redact::Receipt;

    fn ctx() -> Context {
        let item = |id: usize, kind, text: String| Evidence {
            id: format!("E{id}"),
            kind,
            source: "s".into(),
            text,
        };
        let log: String = (0..30)
            .map(|i| format!("line {i} with some words\n"))
            .collect();
        Context {
            facts: Facts {
                cluster: "c".into(),
                namespace: Some("n".into()),
                object: "Deployment/api".into(),
                category: "crash_loop".into(),
                reason: "CrashLoopBackOff".into(),
                severity: "warning".into(),
                occurrences: 1,
                first_seen: "t".into(),
                last_seen: "t".into(),
            },
            evidence: vec![
                item(1, EvidenceKind::Incident, "signal".into()),
                item(2, EvidenceKind::Container, "terminated exitCode=137".into()),
                item(3, EvidenceKind::Event, "BackOff".into()),
                item(4, EvidenceKind::Log, log.clone()),
                item(5, EvidenceKind::Log, log),
            ],
            trimmed: vec![],
            receipt: Receipt::new(),
        }
    }

    fn words(text: &str) -> u64 {
        text.split_whitespace().count() as u64
    }

    #[test]
    fn fitting_context_is_untouched() {
        let c = ctx();
        assert_eq!(fit(c.clone(), 10_000, &words), c);
    }

    #[test]
    fn logs_shrink_before_anything_is_dropped() {
        let c = ctx();
        let total = tokens(&c, &words);
        let fitted = fit(c, total - 100, &words);
        assert_eq!(fitted.trimmed, ["log excerpts cut to 20 lines"]);
        assert_eq!(fitted.evidence.len(), 5);
        assert!(fitted.evidence.iter().all(|e| e.text.lines().count() <= 20));
        assert!(tokens(&fitted, &words) <= total - 100);
    }

    #[test]
    fn a_tiny_budget_keeps_the_core_and_says_so() {
        let fitted = fit(ctx(), 1, &words);
        let ids: Vec<&str> = fitted.evidence.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(
            ids,
            ["E1", "E2", "E3"],
            "incident, container, newest event survive"
        );
        assert!(fitted.trimmed.last().unwrap().starts_with("over budget"));
    }
}
