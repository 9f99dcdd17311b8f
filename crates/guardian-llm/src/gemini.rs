//! Google Gemini `generateContent` with a JSON response schema.
//!
//! Contract (design note §1–3):
//! - `POST {base_url}/v1beta/models/{model}:generateContent`, header `x-goog-api-key: <key>`
//!   (never the `?key=` query form: URLs end up in logs).
//! - Body: `systemInstruction: {parts: [{text}]}`,
//!   `contents: [{role: "user", parts: [{text}]}]`, `generationConfig: {responseMimeType:
//!   "application/json", responseJsonSchema, temperature, maxOutputTokens}`.
//!   `responseJsonSchema` (real JSON Schema) is used rather than the OpenAPI-subset
//!   `responseSchema`, because it accepts `additionalProperties`, `anyOf` and `type: "null"`;
//!   the schema is [`schema::for_gemini`] (strict form, references inlined). Gemini may
//!   silently ignore keywords it does not support: answers are validated locally.
//! - Answer: `candidates[0].content.parts[].text` joined (parts with `thought: true` skipped).
//! - Before parsing: `candidates[0].finishReason` `STOP` is fine; `MAX_TOKENS` →
//!   [`InvalidKind::Truncated`]; `SAFETY`, `PROHIBITED_CONTENT`, `BLOCKLIST`, `SPII`,
//!   `RECITATION`, and `promptFeedback.blockReason` without candidates →
//!   [`InvalidKind::Safety`].
//! - Usage: `usageMetadata.promptTokenCount` (includes `cachedContentTokenCount`) +
//!   `toolUsePromptTokenCount`; output = `candidatesTokenCount + thoughtsTokenCount`
//!   (thinking is billed as output but not counted in `candidatesTokenCount`).
//! - Errors `{"error":{"code","status","message","details":[…]}}`: 429 `RESOURCE_EXHAUSTED`
//!   is retryable after `google.rpc.RetryInfo.retryDelay` (`"22s"`) unless a
//!   `google.rpc.QuotaFailure` violation names a per-day quota (`quotaId` containing
//!   `PerDay`), which is fatal until the quota resets; 500/503 retryable; 400/401/403/404
//!   fatal.

use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

use crate::http::{self, Reply};
use crate::{Error, InvalidKind, LlmProvider, Request, Response, Usage, schema};

/// Configuration of the Gemini client.
#[derive(Debug, Clone)]
pub struct GeminiConfig {
    /// Base URL without `/v1beta` (default `https://generativelanguage.googleapis.com`).
    pub base_url: String,
    /// Model name without the `models/` prefix (e.g. `gemini-2.5-flash`).
    pub model: String,
    /// API key, sent as `x-goog-api-key`.
    pub api_key: SecretString,
    /// Whole-request timeout.
    pub timeout: Duration,
}

impl GeminiConfig {
    /// The public Gemini API with the default timeout.
    pub fn new(model: impl Into<String>, api_key: SecretString) -> GeminiConfig {
        GeminiConfig {
            base_url: "https://generativelanguage.googleapis.com".into(),
            model: model.into(),
            api_key,
            timeout: http::DEFAULT_TIMEOUT,
        }
    }
}

/// The Gemini client.
#[derive(Debug)]
pub struct Gemini {
    config: GeminiConfig,
    client: reqwest::Client,
}

impl Gemini {
    /// Builds the client (needs the process-wide rustls provider installed).
    pub fn new(config: GeminiConfig) -> Result<Gemini, Error> {
        let client = http::client(config.timeout)?;
        Ok(Gemini { config, client })
    }

    /// The exact JSON body sent for `request` (snapshot-tested).
    pub fn body(&self, request: &Request) -> Value {
        json!({
            "systemInstruction": {"parts": [{"text": request.system}]},
            "contents": [{"role": "user", "parts": [{"text": request.user}]}],
            "generationConfig": {
                "responseMimeType": "application/json",
                "responseJsonSchema": schema::for_gemini(&request.schema),
                "temperature": crate::wire_temperature(request.temperature),
                "maxOutputTokens": request.max_output_tokens,
            },
        })
    }

    async fn call(&self, request: &Request) -> Result<Response, Error> {
        let path = format!("v1beta/models/{}:generateContent", self.config.model);
        let builder = self
            .client
            .post(http::join(&self.config.base_url, &path))
            .header("x-goog-api-key", self.config.api_key.expose_secret())
            .json(&self.body(request));
        tracing::debug!(model = %self.config.model, "Sending Gemini generateContent request.");
        let reply = http::send(builder).await?;
        if !reply.status.is_success() {
            return Err(self.error(&reply));
        }
        self.parse(&reply)
    }

    fn error(&self, reply: &Reply) -> Error {
        let key = Some(&self.config.api_key);
        let parsed: Value = serde_json::from_str(&reply.body).unwrap_or(Value::Null);
        let error = &parsed["error"];
        let detail = match (error["status"].as_str(), error["message"].as_str()) {
            (Some(status), Some(message)) => http::excerpt(&format!("{status}: {message}"), key),
            _ => http::excerpt(&reply.body, key),
        };
        let details = error["details"].as_array().cloned().unwrap_or_default();
        let of_type = |suffix: &'static str| {
            details
                .iter()
                .filter(move |d| d["@type"].as_str().is_some_and(|t| t.ends_with(suffix)))
        };
        let per_day = of_type("google.rpc.QuotaFailure")
            .flat_map(|d| d["violations"].as_array().cloned().unwrap_or_default())
            .filter_map(|v| v["quotaId"].as_str().map(str::to_owned))
            .find(|id| id.contains("PerDay"));
        if let Some(quota) = per_day {
            return Error::Fatal {
                reason: format!(
                    "HTTP {}: daily quota exhausted ({quota}): {detail}",
                    reply.status.as_u16()
                ),
            };
        }
        let retry_delay = of_type("google.rpc.RetryInfo")
            .find_map(|d| d["retryDelay"].as_str().and_then(parse_delay));
        match http::classify_status(reply.status, &reply.headers, detail) {
            Error::Retryable { after, reason } => Error::Retryable {
                after: retry_delay.or(after),
                reason,
            },
            other => other,
        }
    }

    fn parse(&self, reply: &Reply) -> Result<Response, Error> {
        let body: Value = serde_json::from_str(&reply.body).map_err(|e| {
            Error::invalid(
                InvalidKind::Empty,
                format!("the response body is not JSON: {e}"),
            )
        })?;
        let usage = usage(&body["usageMetadata"]);
        let candidate = &body["candidates"][0];
        if candidate.is_null() {
            let reason = body["promptFeedback"]["blockReason"]
                .as_str()
                .unwrap_or("no candidates");
            return Err(Error::invalid(
                InvalidKind::Safety,
                format!("the prompt was blocked ({reason})"),
            )
            .with_answer(None, usage));
        }
        let text: String = candidate["content"]["parts"]
            .as_array()
            .map(|parts| {
                parts
                    .iter()
                    .filter(|p| p["thought"] != true)
                    .filter_map(|p| p["text"].as_str())
                    .collect()
            })
            .unwrap_or_default();
        let answer = (!text.is_empty()).then(|| text.clone());
        let finish = candidate["finishReason"].as_str().unwrap_or("STOP");
        let invalid = |kind, reason: String| {
            Err(Error::invalid(kind, reason).with_answer(answer.clone(), usage))
        };
        match finish {
            "STOP" | "FINISH_REASON_UNSPECIFIED" => {}
            "MAX_TOKENS" => {
                return invalid(
                    InvalidKind::Truncated,
                    "the answer was cut at the token limit (finishReason MAX_TOKENS)".into(),
                );
            }
            "SAFETY" | "PROHIBITED_CONTENT" | "BLOCKLIST" | "SPII" | "RECITATION"
            | "IMAGE_SAFETY" => {
                return invalid(
                    InvalidKind::Safety,
                    format!("the answer was blocked (finishReason {finish})"),
                );
            }
            other => {
                return invalid(
                    InvalidKind::Empty,
                    format!("unexpected finishReason {}", http::excerpt(other, None)),
                );
            }
        }
        let value = crate::extract::json_answer(&text).map_err(|e| {
            Error::invalid(InvalidKind::Parse, e).with_answer(answer.clone(), usage)
        })?;
        Ok(Response {
            value,
            raw: text,
            usage,
            model: body["modelVersion"]
                .as_str()
                .unwrap_or(&self.config.model)
                .to_owned(),
            latency: reply.latency,
        })
    }
}

/// `"22s"`, `"1.5s"` (protobuf Duration JSON form) → a duration.
fn parse_delay(text: &str) -> Option<Duration> {
    text.trim()
        .strip_suffix('s')
        .and_then(|n| n.parse::<f64>().ok())
        .and_then(http::seconds)
}

/// Gemini `usageMetadata` → the normalised record.
fn usage(u: &Value) -> Usage {
    let n = |v: &Value| v.as_u64().unwrap_or(0);
    let thoughts = n(&u["thoughtsTokenCount"]);
    Usage {
        input_tokens: n(&u["promptTokenCount"]).saturating_add(n(&u["toolUsePromptTokenCount"])),
        cached_input_tokens: n(&u["cachedContentTokenCount"]),
        cache_write_tokens: 0,
        output_tokens: n(&u["candidatesTokenCount"]).saturating_add(thoughts),
        reasoning_tokens: thoughts,
    }
}

impl LlmProvider for Gemini {
    fn name(&self) -> &str {
        "gemini"
    }

    fn model(&self) -> &str {
        &self.config.model
    }

    fn complete<'a>(&'a self, request: &'a Request) -> BoxFuture<'a, Result<Response, Error>> {
        self.call(request).boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_delays_parse() {
        assert_eq!(parse_delay("22s"), Some(Duration::from_secs(22)));
        assert_eq!(parse_delay("1.5s"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_delay("soon"), None);
        assert_eq!(parse_delay("-1s"), None);
    }
}
