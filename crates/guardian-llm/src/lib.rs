//! SRE Guardian's LLM provider clients: thin reqwest clients behind one trait.
//!
//! ```text
//!  caller ──► limit::RateLimited ──► retry::Retrying ──► provider (openai | anthropic | gemini | ollama)
//!     │                                                     │  POST, schema-constrained JSON
//!     └─ structured::complete_validated ◄── Response ◄──────┘  (usage normalised, stop reason checked)
//!          validate → one repair re-ask → Outcome (value + a CallRecord per call)
//! ```
//!
//! - [`LlmProvider`] is the only interface the rest of the guardian sees. Each provider module
//!   documents the wire contract it speaks (field names checked against
//!   `shared/design/llm-and-redaction.md` §1–3).
//! - [`Error`] has three classes: [`Error::Retryable`], [`Error::Fatal`],
//!   [`Error::InvalidOutput`]. Reasons never contain API keys (providers scrub the key value
//!   out of any text they echo back).
//! - [`schema`] turns the schemars schema into each provider's accepted form and validates
//!   answers locally; [`extract`] tolerates the known answer quirks (fences, double encoding).
//! - [`retry`], [`limit`]: decorators implementing [`LlmProvider`] themselves.
//! - [`tokens`], [`pricing`]: pre-call estimates and cost of reported usage.
//!
//! This crate knows nothing of Kubernetes or the store. It never installs a TLS crypto
//! provider: the binary (and each test) installs ring before building a client.

#![warn(missing_docs)]

use std::time::Duration;

use futures::future::BoxFuture;

pub mod anthropic;
pub mod extract;
pub mod gemini;
mod http;
pub mod limit;
pub mod ollama;
pub mod openai;
pub mod pricing;
pub mod retry;
pub mod schema;
pub mod structured;
pub mod tokens;

/// One schema-constrained completion request, provider-neutral.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// System prompt (instructions; evidence is fenced in the user text by the caller).
    pub system: String,
    /// User message: the redacted incident context.
    pub user: String,
    /// Name of the answer schema (letters, digits, `_`, `-`, at most 64 characters: the
    /// OpenAI `json_schema.name` and Anthropic tool-name rules).
    pub schema_name: String,
    /// The answer's JSON schema as schemars generates it; each provider converts it.
    pub schema: serde_json::Value,
    /// Upper bound of generated tokens.
    pub max_output_tokens: u32,
    /// Sampling temperature (0 for reproducible answers).
    pub temperature: f32,
}

/// One normalised usage record (design note §2), whatever the provider reports.
///
/// `input_tokens` counts **all** input tokens, cached reads and cache writes included
/// (OpenAI and Gemini already report it so; Anthropic's three fields are summed).
/// `output_tokens` includes reasoning tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Usage {
    /// All input tokens, including `cached_input_tokens` and `cache_write_tokens`.
    pub input_tokens: u64,
    /// Input tokens served from the provider's prompt cache (part of `input_tokens`).
    pub cached_input_tokens: u64,
    /// Input tokens written to the prompt cache (Anthropic; part of `input_tokens`).
    pub cache_write_tokens: u64,
    /// All output tokens, including `reasoning_tokens`.
    pub output_tokens: u64,
    /// Hidden reasoning ("thinking") tokens (part of `output_tokens`).
    pub reasoning_tokens: u64,
}

impl Usage {
    /// Input plus output tokens (what token budgets count).
    pub fn total_tokens(&self) -> u64 {
        self.input_tokens.saturating_add(self.output_tokens)
    }
}

/// A successful, parsed answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    /// The parsed JSON answer (not yet validated against the schema: see [`structured`]).
    pub value: serde_json::Value,
    /// The answer text exactly as the provider returned it (a tool input is re-serialised).
    pub raw: String,
    /// Token usage reported by the provider.
    pub usage: Usage,
    /// Model that answered, as the provider reports it (falls back to the configured one).
    pub model: String,
    /// Wall time of the HTTP exchange.
    pub latency: Duration,
}

/// Why an answer arrived but cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvalidKind {
    /// Not JSON (after the tolerated quirks were tried). A repair re-ask may help.
    Parse,
    /// JSON, but it fails schema validation. A repair re-ask may help.
    Schema,
    /// Cut at the output-token limit (`length`, `max_tokens`, `MAX_TOKENS`).
    Truncated,
    /// The model refused (`refusal`).
    Refused,
    /// Blocked by a safety filter (Gemini `SAFETY`, `PROHIBITED_CONTENT`, …).
    Safety,
    /// The response had no answer at all, or an unknown stop reason.
    Empty,
}

impl InvalidKind {
    /// Whether a repair re-ask carrying the errors can plausibly fix it.
    pub fn repairable(self) -> bool {
        matches!(self, InvalidKind::Parse | InvalidKind::Schema)
    }

    fn label(self) -> &'static str {
        match self {
            InvalidKind::Parse => "invalid_json",
            InvalidKind::Schema => "invalid_schema",
            InvalidKind::Truncated => "truncated",
            InvalidKind::Refused => "refused",
            InvalidKind::Safety => "safety",
            InvalidKind::Empty => "empty",
        }
    }
}

/// Errors of a provider call. Reasons never contain API keys or prompts.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// Worth retrying later: rate limits (not quota), overload, 5xx, timeouts, transport errors.
    #[error("retryable LLM error: {reason}")]
    Retryable {
        /// Provider-requested minimum wait (`retry-after`, Gemini `retryDelay`, limiter).
        after: Option<Duration>,
        /// What happened.
        reason: String,
    },
    /// Will fail again: authentication, exhausted quota or billing, bad request.
    #[error("fatal LLM error: {reason}")]
    Fatal {
        /// What happened.
        reason: String,
    },
    /// The provider answered, but the answer cannot be used.
    #[error("invalid LLM output: {reason}")]
    InvalidOutput {
        /// Which kind of invalid.
        kind: InvalidKind,
        /// What is wrong (parse or validation errors; never the answer itself).
        reason: String,
        /// The answer text, when there was one (for the repair re-ask). Not in `Display`.
        raw: Option<String>,
        /// Tokens the failed call still consumed (a truncated answer is billed).
        usage: Usage,
    },
}

impl Error {
    /// A bounded metric label (`outcome` of the LLM-call counter).
    pub fn metric_label(&self) -> &'static str {
        match self {
            Error::Retryable { .. } => "retryable",
            Error::Fatal { .. } => "fatal",
            Error::InvalidOutput { kind, .. } => kind.label(),
        }
    }

    /// Whether [`retry`] may try again.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Error::Retryable { .. })
    }

    /// Tokens the call consumed despite failing (zero for HTTP-level failures).
    pub fn usage(&self) -> Usage {
        match self {
            Error::InvalidOutput { usage, .. } => *usage,
            _ => Usage::default(),
        }
    }

    pub(crate) fn invalid(kind: InvalidKind, reason: impl Into<String>) -> Error {
        Error::InvalidOutput {
            kind,
            reason: reason.into(),
            raw: None,
            usage: Usage::default(),
        }
    }

    /// Attaches the answer text and usage to an [`Error::InvalidOutput`].
    pub(crate) fn with_answer(self, raw: Option<String>, answer_usage: Usage) -> Error {
        match self {
            Error::InvalidOutput { kind, reason, .. } => Error::InvalidOutput {
                kind,
                reason,
                raw,
                usage: answer_usage,
            },
            other => other,
        }
    }
}

/// One LLM backend. Implementations are cheap to share (`Arc<dyn LlmProvider>`).
pub trait LlmProvider: Send + Sync {
    /// Provider label for metrics and records (`openai`, `anthropic`, `gemini`, `ollama`, …).
    fn name(&self) -> &str;
    /// Configured model name.
    fn model(&self) -> &str;
    /// Sends one request and returns the parsed answer or a classified error.
    fn complete<'a>(&'a self, request: &'a Request) -> BoxFuture<'a, Result<Response, Error>>;
}

impl<P: LlmProvider + ?Sized> LlmProvider for std::sync::Arc<P> {
    fn name(&self) -> &str {
        (**self).name()
    }
    fn model(&self) -> &str {
        (**self).model()
    }
    fn complete<'a>(&'a self, request: &'a Request) -> BoxFuture<'a, Result<Response, Error>> {
        (**self).complete(request)
    }
}

impl<P: LlmProvider + ?Sized> LlmProvider for Box<P> {
    fn name(&self) -> &str {
        (**self).name()
    }
    fn model(&self) -> &str {
        (**self).model()
    }
    fn complete<'a>(&'a self, request: &'a Request) -> BoxFuture<'a, Result<Response, Error>> {
        (**self).complete(request)
    }
}

/// Temperature as sent on the wire: `f32` → `f64` widening would print `0.20000000298…`.
pub(crate) fn wire_temperature(t: f32) -> f64 {
    (f64::from(t) * 1000.0).round() / 1000.0
}
