//! Anthropic Messages API with structured output through a **forced tool**.
//!
//! Contract (design note §1–3):
//! - `POST {base_url}/v1/messages`, headers `x-api-key: <key>` and
//!   `anthropic-version: 2023-06-01`.
//! - Body: `model`, `max_tokens`, `system`, `messages: [{role: "user", content}]`,
//!   `temperature`, `tools: [{name, description, input_schema}]` and
//!   `tool_choice: {type: "tool", name}`. The answer is the `tool_use` content block's `input`.
//!   Forced tool use works on every Claude model (JSON outputs / strict tools only on newer
//!   ones); it guides rather than constrains, so the answer is validated locally like any other.
//!   `input_schema` is [`schema::for_anthropic`] (strict form with references inlined).
//! - Quirks tolerated: `input` double-encoded as a JSON string; no `tool_use` block but the
//!   JSON in a text block.
//! - Before parsing: `stop_reason: "refusal"` → [`InvalidKind::Refused`], `"max_tokens"` →
//!   [`InvalidKind::Truncated`].
//! - Usage: `input_tokens` **excludes** the cache; the normalised input is
//!   `input_tokens + cache_creation_input_tokens + cache_read_input_tokens`.
//! - Errors `{"type":"error","error":{"type","message"}}`: 429 `rate_limit_error`
//!   (`retry-after`), 529 `overloaded_error` and 500 `api_error` are retryable; 400, 401, 403,
//!   404, 413 and spend-limit messages are fatal.

use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

use crate::http::{self, Reply};
use crate::{Error, InvalidKind, LlmProvider, Request, Response, Usage, schema};

/// The API version header value this client speaks.
pub const API_VERSION: &str = "2023-06-01";

/// Configuration of the Anthropic client.
#[derive(Debug, Clone)]
pub struct AnthropicConfig {
    /// Base URL without `/v1` (default `https://api.anthropic.com`).
    pub base_url: String,
    /// Model name (e.g. `claude-haiku-4-5`).
    pub model: String,
    /// API key, sent as `x-api-key`.
    pub api_key: SecretString,
    /// Whole-request timeout.
    pub timeout: Duration,
}

impl AnthropicConfig {
    /// api.anthropic.com with the default timeout.
    pub fn new(model: impl Into<String>, api_key: SecretString) -> AnthropicConfig {
        AnthropicConfig {
            base_url: "https://api.anthropic.com".into(),
            model: model.into(),
            api_key,
            timeout: http::DEFAULT_TIMEOUT,
        }
    }
}

/// The Anthropic Messages client.
#[derive(Debug)]
pub struct Anthropic {
    config: AnthropicConfig,
    client: reqwest::Client,
}

impl Anthropic {
    /// Builds the client (needs the process-wide rustls provider installed).
    pub fn new(config: AnthropicConfig) -> Result<Anthropic, Error> {
        let client = http::client(config.timeout)?;
        Ok(Anthropic { config, client })
    }

    /// The exact JSON body sent for `request` (snapshot-tested).
    pub fn body(&self, request: &Request) -> Value {
        json!({
            "model": self.config.model,
            "max_tokens": request.max_output_tokens,
            "system": request.system,
            "messages": [{"role": "user", "content": request.user}],
            "temperature": crate::wire_temperature(request.temperature),
            "tools": [{
                "name": request.schema_name,
                "description": "Record the answer. Call this tool exactly once with the complete answer as its input.",
                "input_schema": schema::for_anthropic(&request.schema),
            }],
            "tool_choice": {"type": "tool", "name": request.schema_name},
        })
    }

    async fn call(&self, request: &Request) -> Result<Response, Error> {
        let builder = self
            .client
            .post(http::join(&self.config.base_url, "v1/messages"))
            .header("x-api-key", self.config.api_key.expose_secret())
            .header("anthropic-version", API_VERSION)
            .json(&self.body(request));
        tracing::debug!(model = %self.config.model, "Sending Anthropic messages request.");
        let reply = http::send(builder).await?;
        if !reply.status.is_success() {
            return Err(self.error(&reply));
        }
        self.parse(&reply, &request.schema_name)
    }

    fn error(&self, reply: &Reply) -> Error {
        let key = Some(&self.config.api_key);
        let parsed: Option<Value> = serde_json::from_str(&reply.body).ok();
        let field = |name: &str| {
            parsed
                .as_ref()
                .and_then(|v| v["error"][name].as_str())
                .unwrap_or_default()
                .to_owned()
        };
        let (kind, message) = (field("type"), field("message"));
        let detail = if message.is_empty() {
            http::excerpt(&reply.body, key)
        } else {
            http::excerpt(&format!("{kind}: {message}"), key)
        };
        let lower = message.to_lowercase();
        if lower.contains("spend limit") || lower.contains("credit balance") {
            return Error::Fatal {
                reason: format!("HTTP {}: quota exhausted: {detail}", reply.status.as_u16()),
            };
        }
        http::classify_status(reply.status, &reply.headers, detail)
    }

    fn parse(&self, reply: &Reply, tool: &str) -> Result<Response, Error> {
        let body: Value = serde_json::from_str(&reply.body).map_err(|e| {
            Error::invalid(
                InvalidKind::Empty,
                format!("the response body is not JSON: {e}"),
            )
        })?;
        let usage = usage(&body["usage"]);
        let blocks = body["content"].as_array().cloned().unwrap_or_default();
        let tool_input = blocks
            .iter()
            .find(|b| b["type"] == "tool_use" && b["name"] == tool)
            .map(|b| b["input"].clone());
        let text: String = blocks
            .iter()
            .filter(|b| b["type"] == "text")
            .filter_map(|b| b["text"].as_str())
            .collect::<Vec<_>>()
            .join("\n");
        let raw = match &tool_input {
            Some(Value::String(s)) => s.clone(),
            Some(v) => v.to_string(),
            None => text.clone(),
        };
        let answer = (!raw.is_empty()).then(|| raw.clone());
        match body["stop_reason"].as_str() {
            Some("refusal") => {
                return Err(Error::invalid(
                    InvalidKind::Refused,
                    "the model refused (stop_reason refusal)",
                )
                .with_answer(answer, usage));
            }
            Some("max_tokens") => {
                return Err(Error::invalid(
                    InvalidKind::Truncated,
                    "the answer was cut at the token limit (stop_reason max_tokens)",
                )
                .with_answer(answer, usage));
            }
            _ => {}
        }
        let value = match tool_input {
            Some(input) => match crate::extract::unwrap_double_encoded(input) {
                v @ Value::Object(_) => Ok(v),
                Value::String(s) => crate::extract::json_answer(&s),
                other => Err(format!("the tool input is not an object: {other}")),
            },
            None if text.trim().is_empty() => Err("the response holds no tool_use block".into()),
            None => crate::extract::json_answer(&text),
        }
        .map_err(|e| Error::invalid(InvalidKind::Parse, e).with_answer(answer, usage))?;
        Ok(Response {
            value,
            raw,
            usage,
            model: body["model"]
                .as_str()
                .unwrap_or(&self.config.model)
                .to_owned(),
            latency: reply.latency,
        })
    }
}

/// Anthropic usage → the normalised record (its `input_tokens` excludes both cache fields).
fn usage(u: &Value) -> Usage {
    let n = |v: &Value| v.as_u64().unwrap_or(0);
    let (plain, write, read) = (
        n(&u["input_tokens"]),
        n(&u["cache_creation_input_tokens"]),
        n(&u["cache_read_input_tokens"]),
    );
    Usage {
        input_tokens: plain.saturating_add(write).saturating_add(read),
        cached_input_tokens: read,
        cache_write_tokens: write,
        output_tokens: n(&u["output_tokens"]),
        reasoning_tokens: 0,
    }
}

impl LlmProvider for Anthropic {
    fn name(&self) -> &str {
        "anthropic"
    }

    fn model(&self) -> &str {
        &self.config.model
    }

    fn complete<'a>(&'a self, request: &'a Request) -> BoxFuture<'a, Result<Response, Error>> {
        self.call(request).boxed()
    }
}
