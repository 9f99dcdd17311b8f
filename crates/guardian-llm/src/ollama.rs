//! Ollama's native chat API with a JSON-schema `format`.
//!
//! Contract (design note §1–3):
//! - `POST {base_url}/api/chat` with `model`, `messages: [{role: system}, {role: user}]`,
//!   `stream: false`, `format: <schema object>` (Ollama ≥ 0.5 turns it into a llama.cpp
//!   grammar) and `options: {temperature, num_predict}`. No key (put a proxy in front for
//!   auth). The grammar is **not shown to the model**, so the schema is also described in the
//!   system prompt ([`schema::prompt_instruction`]).
//! - Answer: `message.content` (JSON text).
//! - Before parsing: `done_reason: "length"` → [`InvalidKind::Truncated`].
//! - Usage: `prompt_eval_count` (input) and `eval_count` (output); Ollama reports no cache.
//!   `prompt_eval_count` is omitted when the whole prompt came from Ollama's KV cache.
//! - Errors `{"error":"…"}`: 503 (queue full, `OLLAMA_MAX_QUEUE`) and 500 (runner failure)
//!   retryable; 404 (unknown model) and 400 fatal. Ollama sends no 429.

use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;
use serde_json::{Value, json};

use crate::http::{self, Reply};
use crate::{Error, InvalidKind, LlmProvider, Request, Response, Usage, schema};

/// Configuration of the Ollama client.
#[derive(Debug, Clone)]
pub struct OllamaConfig {
    /// Base URL (default `http://127.0.0.1:11434`).
    pub base_url: String,
    /// Model name (e.g. `qwen2.5:3b`).
    pub model: String,
    /// Whole-request timeout (a cold model load can take a while).
    pub timeout: Duration,
}

impl OllamaConfig {
    /// A local Ollama on its default port.
    pub fn new(model: impl Into<String>) -> OllamaConfig {
        OllamaConfig {
            base_url: "http://127.0.0.1:11434".into(),
            model: model.into(),
            timeout: http::DEFAULT_TIMEOUT,
        }
    }
}

/// The Ollama client.
#[derive(Debug)]
pub struct Ollama {
    config: OllamaConfig,
    client: reqwest::Client,
}

impl Ollama {
    /// Builds the client.
    pub fn new(config: OllamaConfig) -> Result<Ollama, Error> {
        let client = http::client(config.timeout)?;
        Ok(Ollama { config, client })
    }

    /// The exact JSON body sent for `request` (snapshot-tested).
    pub fn body(&self, request: &Request) -> Value {
        let strict = schema::strictify(&request.schema);
        let system = format!(
            "{}\n\n{}",
            request.system,
            schema::prompt_instruction(&strict)
        );
        json!({
            "model": self.config.model,
            "messages": [
                {"role": "system", "content": system},
                {"role": "user", "content": request.user},
            ],
            "stream": false,
            "format": strict,
            "options": {
                "temperature": crate::wire_temperature(request.temperature),
                "num_predict": request.max_output_tokens,
            },
        })
    }

    async fn call(&self, request: &Request) -> Result<Response, Error> {
        let builder = self
            .client
            .post(http::join(&self.config.base_url, "api/chat"))
            .json(&self.body(request));
        tracing::debug!(model = %self.config.model, "Sending Ollama chat request.");
        let reply = http::send(builder).await?;
        if !reply.status.is_success() {
            let detail = serde_json::from_str::<Value>(&reply.body)
                .ok()
                .and_then(|v| v["error"].as_str().map(|s| http::excerpt(s, None)))
                .unwrap_or_else(|| http::excerpt(&reply.body, None));
            return Err(http::classify_status(reply.status, &reply.headers, detail));
        }
        self.parse(&reply)
    }

    fn parse(&self, reply: &Reply) -> Result<Response, Error> {
        let body: Value = serde_json::from_str(&reply.body).map_err(|e| {
            Error::invalid(
                InvalidKind::Empty,
                format!("the response body is not JSON: {e}"),
            )
        })?;
        let n = |v: &Value| v.as_u64().unwrap_or(0);
        let usage = Usage {
            input_tokens: n(&body["prompt_eval_count"]),
            output_tokens: n(&body["eval_count"]),
            ..Usage::default()
        };
        let content = body["message"]["content"].as_str().map(str::to_owned);
        if body["done_reason"] == "length" {
            return Err(Error::invalid(
                InvalidKind::Truncated,
                "the answer was cut at the token limit (done_reason length)",
            )
            .with_answer(content, usage));
        }
        crate::extract::text_response(
            content,
            usage,
            body["model"].as_str().unwrap_or(&self.config.model),
            reply.latency,
        )
    }
}

impl LlmProvider for Ollama {
    fn name(&self) -> &str {
        "ollama"
    }

    fn model(&self) -> &str {
        &self.config.model
    }

    fn complete<'a>(&'a self, request: &'a Request) -> BoxFuture<'a, Result<Response, Error>> {
        self.call(request).boxed()
    }
}
