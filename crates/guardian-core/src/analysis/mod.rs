//! Analysis: from an incident to a root-cause answer a human can check.
//!
//! ```text
//!  context::collect ──► fit::fit ──► rules::analyze ─────────────┐
//!  numbered evidence     token         (default, and fallback)    ├─► grounding::ground
//!  (E1, E2, …),          budget        prompt::build ─► LLM ──────┘    ids exist, confidence
//!  redacted                                                             capped, review flag
//! ```
//!
//! The answer type ([`Analysis`]) is what the rules engine and every LLM provider produce. Its
//! JSON schema is generated from these types (`guardian print-schema`). Per the provider
//! intersection in llm-and-redaction.md it carries no length or range keywords; those limits
//! are enforced by [`Analysis::check`] after parsing.

pub mod context;
pub mod fit;
pub mod grounding;
pub mod prompt;
pub mod rules;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::incident::Severity;
use crate::taxonomy::Category;

/// Longest allowed `summary`, in characters.
pub const MAX_SUMMARY_CHARS: usize = 300;
/// Allowed number of hypotheses.
pub const HYPOTHESES: std::ops::RangeInclusive<usize> = 1..=5;
/// Most recommended actions.
pub const MAX_ACTIONS: usize = 5;

/// A root-cause analysis of one incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Analysis {
    /// One-line human summary (at most 300 characters).
    pub summary: String,
    /// Best root-cause class.
    pub category: Category,
    /// Proposed severity; it can only raise the detector's.
    pub severity: Severity,
    /// 1–5 hypotheses, sorted by confidence, highest first.
    pub hypotheses: Vec<Hypothesis>,
    /// 0–5 suggested actions; never executed by the guardian.
    pub recommended_actions: Vec<RecommendedAction>,
    /// Overall confidence, 0..1.
    pub confidence: f64,
    /// A human should review this analysis.
    pub needs_human_review: bool,
    /// What evidence would raise confidence.
    pub missing_evidence: Vec<String>,
}

/// One possible cause.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Hypothesis {
    /// The cause, in a sentence.
    pub cause: String,
    /// Its category.
    pub category: Category,
    /// Confidence, 0..1.
    pub confidence: f64,
    /// Evidence ids (`E1`, `E2`, …) from the collected context.
    pub evidence: Vec<String>,
}

/// One suggested action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RecommendedAction {
    /// What to do.
    pub action: String,
    /// A command a human could run, or null.
    pub command: Option<String>,
    /// How risky running it is.
    pub risk: Risk,
}

/// Risk of an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Risk {
    /// Reads only (describe, logs).
    ReadOnly,
    /// Changes something easily undone.
    Low,
    /// Changes something that matters.
    High,
}

/// Where an analysis came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// The built-in rules engine.
    Rules,
    /// An LLM provider.
    Llm,
    /// A cached earlier answer for the same fingerprint.
    Cache,
}

/// A constraint the schema cannot express was violated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct Violation {
    /// JSON path of the offending field.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl Analysis {
    /// Checks the limits the schema leaves out. Returns every violation (a repair re-ask sends
    /// them all back at once).
    pub fn check(&self) -> Vec<Violation> {
        let mut out = Vec::new();
        let mut bad = |field: String, message: String| out.push(Violation { field, message });
        if self.summary.chars().count() > MAX_SUMMARY_CHARS {
            bad(
                "summary".into(),
                format!("longer than {MAX_SUMMARY_CHARS} characters"),
            );
        }
        if !HYPOTHESES.contains(&self.hypotheses.len()) {
            bad("hypotheses".into(), "must hold 1 to 5 items".into());
        }
        if self.recommended_actions.len() > MAX_ACTIONS {
            bad(
                "recommended_actions".into(),
                format!("at most {MAX_ACTIONS} items"),
            );
        }
        if !(0.0..=1.0).contains(&self.confidence) {
            bad("confidence".into(), "must be between 0 and 1".into());
        }
        for (i, h) in self.hypotheses.iter().enumerate() {
            if !(0.0..=1.0).contains(&h.confidence) {
                bad(
                    format!("hypotheses[{i}].confidence"),
                    "must be between 0 and 1".into(),
                );
            }
        }
        if self
            .hypotheses
            .windows(2)
            .any(|w| w[0].confidence < w[1].confidence)
        {
            bad(
                "hypotheses".into(),
                "must be sorted by confidence, highest first".into(),
            );
        }
        out
    }
}

/// The JSON schema of [`Analysis`] as `guardian print-schema` prints it.
pub fn schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(Analysis)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Analysis {
        Analysis {
            summary: "api is OOM-killed".into(),
            category: Category::OomKilled,
            severity: Severity::Critical,
            hypotheses: vec![Hypothesis {
                cause: "memory limit too low".into(),
                category: Category::OomKilled,
                confidence: 0.8,
                evidence: vec!["E1".into()],
            }],
            recommended_actions: vec![RecommendedAction {
                action: "raise the memory limit".into(),
                command: None,
                risk: Risk::Low,
            }],
            confidence: 0.8,
            needs_human_review: false,
            missing_evidence: vec![],
        }
    }

    #[test]
    fn schema_lists_every_category_and_forbids_extra_fields() {
        let schema = schema().to_string();
        for c in Category::ALL {
            assert!(schema.contains(&format!("\"{}\"", c.as_str())), "{c}");
        }
        assert!(schema.contains("\"additionalProperties\":false"));
    }

    #[test]
    fn check_reports_each_limit() {
        assert!(sample().check().is_empty());
        let mut a = sample();
        a.summary = "x".repeat(301);
        a.confidence = 1.5;
        a.hypotheses.clear();
        let fields: Vec<_> = a.check().into_iter().map(|v| v.field).collect();
        assert_eq!(fields, ["summary", "hypotheses", "confidence"]);
    }

    #[test]
    fn unknown_fields_are_rejected() {
        let mut v = serde_json::to_value(sample()).unwrap();
        v["extra"] = serde_json::json!(1);
        assert!(serde_json::from_value::<Analysis>(v).is_err());
    }
}
