//! Equality-based label selectors (`kubernetes.exclude_labels`), evaluated client-side.
//!
//! The subset of the Kubernetes selector syntax that exclusions need: `key=value` (also
//! `key==value`), `key!=value`, `key` (exists) and `!key` (does not exist), joined by commas
//! (all must hold). Set-based forms (`key in (a,b)`) are rejected at start-up rather than
//! misread. Client-side because an exclusion must also cover objects *owned* by a matching
//! object (a labelled Deployment's pods do not carry its labels), which no server-side
//! selector can express.

use std::collections::BTreeMap;

/// Why a selector does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid label selector `{selector}`: {message}")]
pub struct SelectorError {
    /// The selector as written.
    pub selector: String,
    /// What is wrong.
    pub message: String,
}

/// One requirement of a selector.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Requirement {
    Equals(String, String),
    NotEquals(String, String),
    Exists(String),
    NotExists(String),
}

/// A parsed selector: every requirement must hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelSelector {
    requirements: Vec<Requirement>,
}

fn valid_key(key: &str) -> bool {
    // `prefix/name`; both parts non-empty when present, no spaces or selector operators.
    let name = key.rsplit('/').next().unwrap_or("");
    !key.is_empty()
        && !name.is_empty()
        && key.len() <= 316
        && key.matches('/').count() <= 1
        && !key.starts_with('/')
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'))
}

fn valid_value(value: &str) -> bool {
    value.len() <= 63
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

impl LabelSelector {
    /// Parses `text`; see the module docs for the syntax.
    pub fn parse(text: &str) -> Result<Self, SelectorError> {
        let err = |message: &str| SelectorError {
            selector: text.to_string(),
            message: message.to_string(),
        };
        if text.trim().is_empty() {
            return Err(err("must not be empty"));
        }
        if text.contains('(') || text.contains(" in ") || text.contains(" notin ") {
            return Err(err(
                "set-based requirements (`in`, `notin`) are not supported; use key=value, key!=value, key or !key",
            ));
        }
        let mut requirements = Vec::new();
        for part in text.split(',').map(str::trim) {
            let requirement = if let Some((k, v)) = part.split_once("!=") {
                Requirement::NotEquals(k.trim().to_string(), v.trim().to_string())
            } else if let Some((k, v)) = part.split_once("==").or_else(|| part.split_once('=')) {
                Requirement::Equals(k.trim().to_string(), v.trim().to_string())
            } else if let Some(k) = part.strip_prefix('!') {
                Requirement::NotExists(k.trim().to_string())
            } else {
                Requirement::Exists(part.to_string())
            };
            let (key, value) = match &requirement {
                Requirement::Equals(k, v) | Requirement::NotEquals(k, v) => (k, Some(v)),
                Requirement::Exists(k) | Requirement::NotExists(k) => (k, None),
            };
            if !valid_key(key) {
                return Err(err(&format!("`{part}` has no valid label key")));
            }
            if value.is_some_and(|v| !valid_value(v)) {
                return Err(err(&format!("`{part}` has an invalid label value")));
            }
            requirements.push(requirement);
        }
        Ok(Self { requirements })
    }

    /// Whether `labels` satisfy every requirement.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.requirements.iter().all(|r| match r {
            Requirement::Equals(k, v) => labels.get(k) == Some(v),
            Requirement::NotEquals(k, v) => labels.get(k) != Some(v),
            Requirement::Exists(k) => labels.contains_key(k),
            Requirement::NotExists(k) => !labels.contains_key(k),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn equality_existence_and_conjunction() {
        let s = LabelSelector::parse("guardian.io/ignore=true").unwrap();
        assert!(s.matches(&labels(&[("guardian.io/ignore", "true")])));
        assert!(!s.matches(&labels(&[("guardian.io/ignore", "false")])));
        assert!(!s.matches(&labels(&[])));

        let s = LabelSelector::parse("team==payments, tier!=canary, !legacy, app").unwrap();
        assert!(s.matches(&labels(&[("team", "payments"), ("app", "api")])));
        assert!(!s.matches(&labels(&[
            ("team", "payments"),
            ("app", "api"),
            ("legacy", "")
        ])));
        assert!(!s.matches(&labels(&[
            ("team", "payments"),
            ("app", "api"),
            ("tier", "canary")
        ])));
        assert!(!s.matches(&labels(&[("team", "payments")])));
    }

    #[test]
    fn malformed_selectors_are_rejected() {
        for bad in [
            "",
            "=x",
            "a=b c",
            "env in (prod)",
            "a/b/c=d",
            "/x=y",
            "a=",
            "a,,b",
        ] {
            let result = LabelSelector::parse(bad);
            // `a=` (empty value) is valid Kubernetes syntax; everything else here is not.
            if bad == "a=" {
                assert!(result.is_ok(), "{bad}");
            } else {
                assert!(result.is_err(), "{bad} should be rejected");
            }
        }
    }
}
