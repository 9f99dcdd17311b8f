//! Schema-validated completion with **one repair re-ask** (design note §1, "Fallback ladder").
//!
//! 1. Call the provider; validate the parsed answer with the caller's `validate` (typically
//!    [`crate::schema::Validator::validate`] plus serde into the Rust type).
//! 2. If the answer does not parse ([`InvalidKind::Parse`]) or fails validation, ask once more
//!    with a provider-neutral repair request: the same system prompt, and a user text holding
//!    the original user text, the invalid answer and the validation errors.
//! 3. Still invalid: give up with [`InvalidKind::Schema`] / [`InvalidKind::Parse`]; the caller's
//!    rules engine answers.
//!
//! Truncation, refusal, safety blocks, fatal and retryable errors are not repaired; they end
//! the exchange at once. Every provider call is recorded as a [`CallRecord`], success or not,
//! and the records come back on failure too ([`Failed::calls`]) so the caller can persist
//! spend and outcomes.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::{Error, InvalidKind, LlmProvider, Request, Usage};

/// Longest invalid answer quoted back in the repair request (keeps the re-ask cheap).
const MAX_QUOTED_ANSWER: usize = 8_000;

/// Most validation errors listed in the repair request.
const MAX_LISTED_ERRORS: usize = 20;

/// One provider call, for persistence and metrics.
#[derive(Debug, Clone, PartialEq)]
pub struct CallRecord {
    /// Provider label.
    pub provider: String,
    /// Model that answered (or the configured one when there was no answer).
    pub model: String,
    /// Tokens consumed (zero for calls that failed before an answer).
    pub usage: Usage,
    /// Wall time of the call (including retries inside a [`crate::retry::Retrying`]).
    pub latency: Duration,
    /// `ok`, or the error's [`Error::metric_label`] (`invalid_schema` for an answer that
    /// parsed but failed validation).
    pub outcome: &'static str,
}

/// A validated answer and the calls it took.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The answer that passed validation.
    pub value: Value,
    /// One record per provider call (1 or 2).
    pub calls: Vec<CallRecord>,
}

/// No valid answer; the calls made are kept.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{error}")]
pub struct Failed {
    /// Why it ended.
    #[source]
    pub error: Error,
    /// One record per provider call made.
    pub calls: Vec<CallRecord>,
}

/// Completes `request` and validates the answer, with at most one repair re-ask.
pub async fn complete_validated<P, V>(
    provider: &P,
    request: &Request,
    validate: V,
) -> Result<Outcome, Failed>
where
    P: LlmProvider + ?Sized,
    V: Fn(&Value) -> Vec<String>,
{
    let mut calls = Vec::new();
    let mut current = request.clone();
    for attempt in 1..=2 {
        let started = Instant::now();
        let result = provider.complete(&current).await;
        let latency = started.elapsed();
        let (raw, errors, kind) = match result {
            Ok(response) => {
                let errors = validate(&response.value);
                let outcome = if errors.is_empty() {
                    "ok"
                } else {
                    "invalid_schema"
                };
                calls.push(CallRecord {
                    provider: provider.name().to_owned(),
                    model: response.model.clone(),
                    usage: response.usage,
                    latency,
                    outcome,
                });
                if errors.is_empty() {
                    return Ok(Outcome {
                        value: response.value,
                        calls,
                    });
                }
                (Some(response.raw), errors, InvalidKind::Schema)
            }
            Err(error) => {
                calls.push(CallRecord {
                    provider: provider.name().to_owned(),
                    model: provider.model().to_owned(),
                    usage: error.usage(),
                    latency,
                    outcome: error.metric_label(),
                });
                match error {
                    Error::InvalidOutput {
                        kind: InvalidKind::Parse,
                        reason,
                        raw,
                        ..
                    } => (raw, vec![reason], InvalidKind::Parse),
                    other => {
                        return Err(Failed {
                            error: other,
                            calls,
                        });
                    }
                }
            }
        };
        tracing::info!(
            provider = %provider.name(),
            model = %provider.model(),
            attempt,
            errors = errors.len(),
            "LLM answer failed validation."
        );
        if attempt == 2 {
            let reason = format!(
                "the answer is still invalid after a repair re-ask: {}",
                errors.join("; ")
            );
            return Err(Failed {
                error: Error::InvalidOutput {
                    kind,
                    reason,
                    raw,
                    usage: calls.last().map(|c| c.usage).unwrap_or_default(),
                },
                calls,
            });
        }
        current = repair_request(request, raw.as_deref(), &errors);
    }
    // The loop always returns; this keeps the function total without a panic.
    Err(Failed {
        error: Error::invalid(InvalidKind::Empty, "no attempt was made"),
        calls,
    })
}

/// The provider-neutral repair request: the original question, the invalid answer and the
/// errors, in one user text.
pub fn repair_request(original: &Request, answer: Option<&str>, errors: &[String]) -> Request {
    let mut quoted: String = answer
        .unwrap_or("")
        .chars()
        .take(MAX_QUOTED_ANSWER)
        .collect();
    if answer.is_some_and(|a| a.chars().count() > MAX_QUOTED_ANSWER) {
        quoted.push_str("…[truncated]");
    }
    let listed: Vec<String> = errors
        .iter()
        .take(MAX_LISTED_ERRORS)
        .map(|e| format!("- {e}"))
        .collect();
    let user = format!(
        "{}\n\n---\nYour previous answer was invalid.\n\nPrevious answer:\n{}\n\nValidation \
         errors:\n{}\n\nAnswer again with one JSON object that fixes every error and conforms \
         to the schema. Output only the JSON object.",
        original.user,
        if quoted.is_empty() {
            "(empty)"
        } else {
            &quoted
        },
        listed.join("\n"),
    );
    Request {
        user,
        ..original.clone()
    }
}
