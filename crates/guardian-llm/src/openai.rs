//! OpenAI-compatible Chat Completions: OpenAI, Azure OpenAI, vLLM, llama.cpp servers
//! (llama-server, llama-cpp-python), LiteLLM, OpenRouter.
//!
//! Contract (design note §1–3):
//! - `POST {base_url}/chat/completions` with `messages: [{role: system}, {role: user}]`,
//!   `temperature`, the token limit (`max_completion_tokens` for OpenAI's current models,
//!   `max_tokens` for everything else: [`TokenLimitField`]) and
//!   `response_format: {type: "json_schema", json_schema: {name, schema, strict: true}}` with
//!   the [`strictify`](crate::schema::strictify)-ed schema. [`ResponseFormat::JsonObject`]
//!   sends `{type: "json_object", schema}` instead, the form llama.cpp servers accept too.
//! - Auth: `Authorization: Bearer <key>` when a key is configured (none for local servers);
//!   Azure: `api-key: <key>` header plus `?api-version=…` ([`OpenAiConfig::azure`]).
//! - Before parsing: `choices[0].message.refusal` set → [`InvalidKind::Refused`];
//!   `finish_reason: "length"` → [`InvalidKind::Truncated`].
//! - Usage: `usage.prompt_tokens` (includes `prompt_tokens_details.cached_tokens`),
//!   `completion_tokens` (includes `completion_tokens_details.reasoning_tokens`).
//! - Errors `{error: {message, type, code}}`: 429 `insufficient_quota` (billing) is fatal,
//!   other 429s and 408/409/5xx retryable with `retry-after`/`retry-after-ms`; 400/401/403/404
//!   fatal.

use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

use crate::http::{self, Reply};
use crate::{Error, InvalidKind, LlmProvider, Request, Response, Usage, schema};

/// How the answer format is requested.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ResponseFormat {
    /// `{type: "json_schema", json_schema: {name, schema, strict: true}}` (OpenAI, Azure,
    /// vLLM, LiteLLM, OpenRouter, llama-cpp-python ≥ 0.3).
    #[default]
    JsonSchema,
    /// `{type: "json_object", schema}`: llama.cpp's older form (schema → grammar).
    JsonObject,
}

/// Which request field carries the output-token limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TokenLimitField {
    /// `max_tokens`: every OpenAI-compatible server; deprecated by OpenAI and rejected by its
    /// reasoning models.
    #[default]
    MaxTokens,
    /// `max_completion_tokens`: OpenAI's and Azure's current name.
    MaxCompletionTokens,
}

/// How the key is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KeyHeader {
    /// `Authorization: Bearer <key>`.
    #[default]
    Bearer,
    /// `api-key: <key>` (Azure OpenAI).
    ApiKey,
}

/// Configuration of one OpenAI-compatible endpoint.
#[derive(Debug, Clone)]
pub struct OpenAiConfig {
    /// Provider label in metrics and records (`openai`, `azure`, `vllm`, `llama-cpp`, …).
    pub name: String,
    /// Base URL up to, not including, `/chat/completions` (e.g. `https://api.openai.com/v1`).
    pub base_url: String,
    /// Model name sent as `model` (Azure ignores it: the deployment is in the URL).
    pub model: String,
    /// API key; `None` for local servers.
    pub api_key: Option<SecretString>,
    /// How the key is sent.
    pub key_header: KeyHeader,
    /// Extra query parameters (Azure's `api-version`).
    pub query: Vec<(String, String)>,
    /// Answer format request.
    pub response_format: ResponseFormat,
    /// Output-token limit field.
    pub token_limit_field: TokenLimitField,
    /// Also describe the schema in the system prompt: llama.cpp-based servers turn the schema
    /// into a grammar the model never sees.
    pub schema_in_prompt: bool,
    /// Whole-request timeout.
    pub timeout: Duration,
    /// Extra top-level body fields, merged last (they win): server-specific knobs such as
    /// llama.cpp's `repeat_penalty`, vLLM's `structured_outputs`, OpenRouter's `provider`.
    pub extra_body: serde_json::Map<String, Value>,
}

impl OpenAiConfig {
    /// api.openai.com with a bearer key.
    pub fn openai(model: impl Into<String>, api_key: SecretString) -> OpenAiConfig {
        OpenAiConfig {
            name: "openai".into(),
            base_url: "https://api.openai.com/v1".into(),
            model: model.into(),
            api_key: Some(api_key),
            key_header: KeyHeader::Bearer,
            query: Vec::new(),
            response_format: ResponseFormat::JsonSchema,
            token_limit_field: TokenLimitField::MaxCompletionTokens,
            schema_in_prompt: false,
            timeout: http::DEFAULT_TIMEOUT,
            extra_body: serde_json::Map::new(),
        }
    }

    /// Azure OpenAI: `{endpoint}/openai/deployments/{deployment}/chat/completions
    /// ?api-version={api_version}` with an `api-key` header.
    pub fn azure(
        endpoint: &str,
        deployment: &str,
        api_version: &str,
        api_key: SecretString,
    ) -> OpenAiConfig {
        OpenAiConfig {
            name: "azure".into(),
            base_url: http::join(endpoint, &format!("openai/deployments/{deployment}")),
            key_header: KeyHeader::ApiKey,
            query: vec![("api-version".into(), api_version.into())],
            ..OpenAiConfig::openai(deployment, api_key)
        }
    }

    /// A local or self-hosted server without a key (vLLM, llama.cpp, LiteLLM proxy):
    /// `max_tokens`, schema also described in the prompt.
    pub fn local(
        name: impl Into<String>,
        base_url: impl Into<String>,
        model: impl Into<String>,
    ) -> OpenAiConfig {
        OpenAiConfig {
            name: name.into(),
            base_url: base_url.into(),
            model: model.into(),
            api_key: None,
            key_header: KeyHeader::Bearer,
            query: Vec::new(),
            response_format: ResponseFormat::JsonSchema,
            token_limit_field: TokenLimitField::MaxTokens,
            schema_in_prompt: true,
            timeout: http::DEFAULT_TIMEOUT,
            extra_body: serde_json::Map::new(),
        }
    }
}

/// An OpenAI-compatible Chat Completions client.
#[derive(Debug)]
pub struct OpenAiCompatible {
    config: OpenAiConfig,
    client: reqwest::Client,
}

impl OpenAiCompatible {
    /// Builds the client (needs the process-wide rustls provider installed).
    pub fn new(config: OpenAiConfig) -> Result<OpenAiCompatible, Error> {
        let client = http::client(config.timeout)?;
        Ok(OpenAiCompatible { config, client })
    }

    /// The exact JSON body sent for `request` (snapshot-tested).
    pub fn body(&self, request: &Request) -> Value {
        let strict = schema::strictify(&request.schema);
        let mut system = request.system.clone();
        if self.config.schema_in_prompt {
            system = format!("{system}\n\n{}", schema::prompt_instruction(&strict));
        }
        let response_format = match self.config.response_format {
            ResponseFormat::JsonSchema => json!({
                "type": "json_schema",
                "json_schema": {"name": request.schema_name, "schema": strict, "strict": true},
            }),
            ResponseFormat::JsonObject => json!({"type": "json_object", "schema": strict}),
        };
        let limit = match self.config.token_limit_field {
            TokenLimitField::MaxTokens => "max_tokens",
            TokenLimitField::MaxCompletionTokens => "max_completion_tokens",
        };
        let mut body = json!({
            "model": self.config.model,
            "messages": [
                {"role": "system", "content": system},
                {"role": "user", "content": request.user},
            ],
            "temperature": crate::wire_temperature(request.temperature),
            "response_format": response_format,
        });
        body[limit] = json!(request.max_output_tokens);
        for (key, value) in &self.config.extra_body {
            body[key] = value.clone();
        }
        body
    }

    async fn call(&self, request: &Request) -> Result<Response, Error> {
        let url = http::join(&self.config.base_url, "chat/completions");
        let mut builder = self.client.post(url).json(&self.body(request));
        if !self.config.query.is_empty() {
            builder = builder.query(&self.config.query);
        }
        if let Some(key) = &self.config.api_key {
            builder = match self.config.key_header {
                KeyHeader::Bearer => builder.bearer_auth(key.expose_secret()),
                KeyHeader::ApiKey => builder.header("api-key", key.expose_secret()),
            };
        }
        tracing::debug!(
            provider = %self.config.name,
            model = %self.config.model,
            "Sending chat completion request."
        );
        let reply = http::send(builder).await?;
        if !reply.status.is_success() {
            return Err(self.error(&reply));
        }
        self.parse(&reply)
    }

    fn error(&self, reply: &Reply) -> Error {
        let key = self.config.api_key.as_ref();
        let parsed: Option<Value> = serde_json::from_str(&reply.body).ok();
        let field = |name: &str| {
            parsed
                .as_ref()
                .and_then(|v| v["error"][name].as_str())
                .unwrap_or_default()
                .to_owned()
        };
        let (code, kind, message) = (field("code"), field("type"), field("message"));
        let detail = if message.is_empty() {
            http::excerpt(&reply.body, key)
        } else {
            http::excerpt(&format!("{kind} {code}: {message}"), key)
        };
        // Billing exhaustion also arrives as 429; retrying cannot help.
        if code == "insufficient_quota" || kind == "insufficient_quota" {
            return Error::Fatal {
                reason: format!("HTTP {}: quota exhausted: {detail}", reply.status.as_u16()),
            };
        }
        http::classify_status(reply.status, &reply.headers, detail)
    }

    fn parse(&self, reply: &Reply) -> Result<Response, Error> {
        let body: Value = serde_json::from_str(&reply.body).map_err(|e| {
            Error::invalid(
                InvalidKind::Empty,
                format!("the response body is not JSON: {e}"),
            )
        })?;
        let usage = usage(&body["usage"]);
        let choice = &body["choices"][0];
        let message = &choice["message"];
        let content = message["content"].as_str().map(str::to_owned);
        if let Some(refusal) = message["refusal"].as_str().filter(|r| !r.is_empty()) {
            return Err(Error::invalid(
                InvalidKind::Refused,
                format!("the model refused: {}", http::excerpt(refusal, None)),
            )
            .with_answer(content, usage));
        }
        match choice["finish_reason"].as_str() {
            Some("length") => {
                return Err(Error::invalid(
                    InvalidKind::Truncated,
                    "the answer was cut at the token limit (finish_reason length)",
                )
                .with_answer(content, usage));
            }
            Some("content_filter") => {
                return Err(Error::invalid(
                    InvalidKind::Safety,
                    "the answer was blocked by the content filter",
                )
                .with_answer(content, usage));
            }
            _ => {}
        }
        crate::extract::text_response(
            content,
            usage,
            body["model"].as_str().unwrap_or(&self.config.model),
            reply.latency,
        )
    }
}

/// OpenAI `usage` → the normalised record (cached and reasoning tokens are already included
/// in prompt and completion tokens).
fn usage(u: &Value) -> Usage {
    let n = |v: &Value| v.as_u64().unwrap_or(0);
    Usage {
        input_tokens: n(&u["prompt_tokens"]),
        cached_input_tokens: n(&u["prompt_tokens_details"]["cached_tokens"]),
        cache_write_tokens: 0,
        output_tokens: n(&u["completion_tokens"]),
        reasoning_tokens: n(&u["completion_tokens_details"]["reasoning_tokens"]),
    }
}

impl LlmProvider for OpenAiCompatible {
    fn name(&self) -> &str {
        &self.config.name
    }

    fn model(&self) -> &str {
        &self.config.model
    }

    fn complete<'a>(&'a self, request: &'a Request) -> BoxFuture<'a, Result<Response, Error>> {
        self.call(request).boxed()
    }
}
