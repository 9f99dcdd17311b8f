//! The LLM side of the analyze stage: the configured provider (rate-limited, with retries),
//! budgets persisted in the store, prices, and the call itself.
//!
//! Order of a call: budget check with an estimate (hour and UTC day, tokens and cost, from the
//! `llm_calls` table, so a restart never resets spend) → rate limiter → provider with retries →
//! local validation (JSON schema, then the answer type and its limits) with one repair re-ask →
//! every call recorded with its usage, cost and latency. Any failure returns the reason; the
//! caller then lets the rules engine answer and says so in the record.

use std::num::NonZeroU32;
use std::time::Duration;

use guardian_core::analysis::Analysis;
use guardian_core::budget::{self, Limits, Spent};
use guardian_core::time::Millis;
use guardian_llm::pricing::{self, Price};
use guardian_llm::retry::{RetryPolicy, Retrying};
use guardian_llm::schema::Validator;
use guardian_llm::{LlmProvider, Request, anthropic, gemini, ollama, openai};
use secrecy::SecretString;

use crate::config::{LlmConfig, LlmProviderKind, LlmResponseFormat};
use crate::store::{IncidentStore, LlmCall};

const HOUR_MS: Millis = 3_600_000;
const DAY_MS: Millis = 24 * HOUR_MS;

/// A configured LLM.
pub struct Llm {
    provider: Box<dyn LlmProvider>,
    /// Provider name (metric label, records).
    pub name: String,
    /// Model.
    pub model: String,
    config: LlmConfig,
    prices: Vec<(String, Price)>,
    validator: Validator,
}

/// What a successful call produced.
pub struct Answered {
    /// The validated answer (not yet grounded).
    pub analysis: Analysis,
    /// Tokens in, out, cost and latency over every call made (the repair included).
    pub tokens_in: u64,
    /// Output tokens.
    pub tokens_out: u64,
    /// Known cost; `None` when the model has no price.
    pub cost_micros: Option<u64>,
    /// Total latency.
    pub latency_ms: u64,
}

fn usd_to_micros(usd: f64) -> u64 {
    (usd * 1_000_000.0).round().max(0.0) as u64
}

/// Builds the configured LLM; `None` when the provider is `none`.
pub fn build(config: &LlmConfig, key: Option<&SecretString>) -> anyhow::Result<Option<Llm>> {
    let timeout = Duration::from_millis(config.timeout_ms);
    let optional_key = key.cloned();
    let key = || {
        key.cloned()
            .ok_or_else(|| anyhow::anyhow!("analysis.llm.api_key was not loaded"))
    };
    let base = config.base_url.clone();
    let provider: Box<dyn LlmProvider> = match config.provider {
        LlmProviderKind::None => return Ok(None),
        LlmProviderKind::Openai => {
            let mut c = openai::OpenAiConfig::openai(config.model.clone(), key()?);
            if let Some(b) = base {
                c.base_url = b;
            }
            c.timeout = timeout;
            Box::new(openai::OpenAiCompatible::new(c)?)
        }
        LlmProviderKind::AzureOpenai => {
            let endpoint = base.unwrap_or_default();
            let mut c = openai::OpenAiConfig::azure(
                &endpoint,
                &config.model,
                &config.azure_api_version,
                key()?,
            );
            c.timeout = timeout;
            Box::new(openai::OpenAiCompatible::new(c)?)
        }
        LlmProviderKind::OpenaiCompatible => {
            let mut c = openai::OpenAiConfig::local(
                "openai_compatible",
                base.unwrap_or_default(),
                config.model.clone(),
            );
            c.api_key = optional_key;
            c.timeout = timeout;
            c.response_format = match config.response_format {
                LlmResponseFormat::JsonSchema => openai::ResponseFormat::JsonSchema,
                LlmResponseFormat::JsonObject => openai::ResponseFormat::JsonObject,
            };
            Box::new(openai::OpenAiCompatible::new(c)?)
        }
        LlmProviderKind::Anthropic => {
            let mut c = anthropic::AnthropicConfig::new(config.model.clone(), key()?);
            if let Some(b) = base {
                c.base_url = b;
            }
            c.timeout = timeout;
            Box::new(anthropic::Anthropic::new(c)?)
        }
        LlmProviderKind::Gemini => {
            let mut c = gemini::GeminiConfig::new(config.model.clone(), key()?);
            if let Some(b) = base {
                c.base_url = b;
            }
            c.timeout = timeout;
            Box::new(gemini::Gemini::new(c)?)
        }
        LlmProviderKind::Ollama => {
            let mut c = ollama::OllamaConfig::new(config.model.clone());
            if let Some(b) = base {
                c.base_url = b;
            }
            c.timeout = timeout;
            Box::new(ollama::Ollama::new(c)?)
        }
    };
    let name = provider.name().to_string();
    let policy = RetryPolicy {
        max_retries: config.max_retries as usize,
        ..RetryPolicy::default()
    };
    let per_minute = NonZeroU32::new(config.requests_per_minute).unwrap_or(NonZeroU32::MIN);
    let provider: Box<dyn LlmProvider> = Box::new(guardian_llm::limit::RateLimited::new(
        Retrying::new(provider, policy),
        per_minute,
    ));
    let prices = config
        .prices
        .iter()
        .map(|p| {
            (
                p.model_prefix.clone(),
                Price {
                    input_per_mtok_micros: usd_to_micros(p.input_usd_per_mtok),
                    output_per_mtok_micros: usd_to_micros(p.output_usd_per_mtok),
                    cached_input_per_mtok_micros: usd_to_micros(
                        p.cached_input_usd_per_mtok.unwrap_or(p.input_usd_per_mtok),
                    ),
                },
            )
        })
        .collect();
    let validator = Validator::new(&guardian_core::analysis::schema())
        .map_err(|e| anyhow::anyhow!("the analysis schema does not compile: {e}"))?;
    Ok(Some(Llm {
        provider,
        name,
        model: config.model.clone(),
        config: config.clone(),
        prices,
        validator,
    }))
}

impl Llm {
    fn price(&self) -> Option<Price> {
        let table: Vec<(&str, Price)> = self
            .prices
            .iter()
            .map(|(p, price)| (p.as_str(), *price))
            .collect();
        pricing::lookup(&table, &self.model)
    }

    /// Whether a call estimated at `estimate_tokens` fits every budget; the reason when not.
    pub async fn budget_allows<S: IncidentStore>(
        &self,
        store: &S,
        estimate_tokens: u64,
        now: Millis,
    ) -> Result<(), String> {
        let estimate_cost = self.price().map_or(0, |p| {
            pricing::cost_micros(
                p,
                &guardian_llm::Usage {
                    input_tokens: estimate_tokens,
                    output_tokens: u64::from(self.config.max_output_tokens),
                    ..guardian_llm::Usage::default()
                },
            )
        });
        let estimate = Spent {
            tokens: estimate_tokens + u64::from(self.config.max_output_tokens),
            cost_micros: estimate_cost,
        };
        let windows = [
            (
                "hourly",
                HOUR_MS,
                Limits {
                    tokens: self.config.hourly_token_budget,
                    cost_micros: self.config.hourly_cost_budget_usd.map(usd_to_micros),
                },
            ),
            (
                "daily",
                DAY_MS,
                Limits {
                    tokens: self.config.daily_token_budget,
                    cost_micros: self.config.daily_cost_budget_usd.map(usd_to_micros),
                },
            ),
        ];
        for (window, length, limits) in windows {
            let spend = store
                .llm_spend(budget::window_start(now, length))
                .await
                .map_err(|e| format!("the budget could not be read ({})", e.metric_label()))?;
            let spent = Spent {
                tokens: spend.tokens,
                cost_micros: spend.cost_micros,
            };
            budget::check(window, limits, spent, estimate).map_err(|d| d.to_string())?;
        }
        Ok(())
    }

    /// The request for one incident's prompt.
    pub fn request(&self, system: &str, user: String) -> Request {
        Request {
            system: system.to_string(),
            user,
            schema_name: "incident_analysis".into(),
            schema: guardian_core::analysis::schema(),
            max_output_tokens: self.config.max_output_tokens,
            temperature: self.config.temperature,
        }
    }

    /// Estimated input tokens of a request (exact for OpenAI-family models).
    pub fn estimate(&self, request: &Request) -> u64 {
        guardian_llm::tokens::request_input(&self.model, request)
    }

    /// Calls the model; returns the answer or the reason it failed, and always the call
    /// records to persist.
    pub async fn call(
        &self,
        request: &Request,
        incident_id: &str,
        now: Millis,
    ) -> (Result<Answered, String>, Vec<LlmCall>) {
        let validate = |value: &serde_json::Value| {
            let mut errors = self.validator.validate(value);
            if errors.is_empty() {
                match serde_json::from_value::<Analysis>(value.clone()) {
                    Ok(a) => errors.extend(a.check().into_iter().map(|v| v.to_string())),
                    Err(e) => errors.push(e.to_string()),
                }
            }
            errors
        };
        let result =
            guardian_llm::structured::complete_validated(&*self.provider, request, validate).await;
        let (calls, outcome) = match result {
            Ok(ok) => (ok.calls.clone(), Ok(ok.value)),
            Err(failed) => (failed.calls.clone(), Err(failed.error)),
        };
        let price = self.price();
        let records: Vec<LlmCall> = calls
            .iter()
            .map(|c| LlmCall {
                at: now,
                incident_id: Some(incident_id.to_string()),
                provider: c.provider.clone(),
                model: c.model.clone(),
                input_tokens: c.usage.input_tokens,
                cached_input_tokens: c.usage.cached_input_tokens,
                output_tokens: c.usage.output_tokens,
                cost_micros: price.map(|p| pricing::cost_micros(p, &c.usage)),
                latency_ms: u64::try_from(c.latency.as_millis()).unwrap_or(u64::MAX),
                outcome: c.outcome.to_string(),
            })
            .collect();
        let answered = match outcome {
            Ok(value) => match serde_json::from_value::<Analysis>(value) {
                Ok(analysis) => Ok(Answered {
                    analysis,
                    tokens_in: records.iter().map(|r| r.input_tokens).sum(),
                    tokens_out: records.iter().map(|r| r.output_tokens).sum(),
                    cost_micros: price.map(|_| records.iter().filter_map(|r| r.cost_micros).sum()),
                    latency_ms: records.iter().map(|r| r.latency_ms).sum(),
                }),
                Err(e) => Err(format!("the answer does not fit the schema: {e}")),
            },
            Err(error) => Err(format!(
                "the LLM call failed ({}): {error}",
                error.metric_label()
            )),
        };
        (answered, records)
    }
}
