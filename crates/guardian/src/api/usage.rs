//! `GET /llm-usage?hours=N`: LLM calls, tokens, cost and what the budgets have left.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use guardian_core::budget;
use guardian_core::time::{Millis, to_rfc3339};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::views::ErrorBody;
use super::{ApiError, AppState};
use crate::config::LlmProviderKind;
use crate::store::{IncidentStore, Spend};

/// Calls listed at most (the totals cover the whole window).
const MAX_CALLS: u32 = 200;
/// Longest window: a month.
const MAX_HOURS: i64 = 24 * 31;

/// Query of `GET /llm-usage`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct UsageQuery {
    /// Window in hours (default 24, at most 744).
    hours: Option<String>,
}

/// Totals of a window.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Totals {
    /// Calls.
    pub calls: u64,
    /// Tokens in + out.
    pub tokens: u64,
    /// Known cost in US dollars.
    pub cost_usd: f64,
    /// Calls whose model has no price (their cost is unknown, not zero).
    pub unpriced_calls: u64,
}

impl From<Spend> for Totals {
    fn from(s: Spend) -> Self {
        Self {
            calls: s.calls,
            tokens: s.tokens,
            cost_usd: s.cost_micros as f64 / 1e6,
            unpriced_calls: s.unpriced_calls,
        }
    }
}

/// One budget window.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Window {
    /// Start of the current window.
    pub since: String,
    /// Spent so far.
    pub spent: Totals,
    /// Token limit (null = unlimited).
    pub token_limit: Option<u64>,
    /// Tokens left (null = unlimited).
    pub tokens_left: Option<u64>,
    /// Cost limit in US dollars (null = unlimited).
    pub cost_limit_usd: Option<f64>,
    /// Dollars left (null = unlimited).
    pub cost_left_usd: Option<f64>,
}

/// One call.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CallView {
    /// When.
    pub at: String,
    /// Incident analysed.
    pub incident_id: Option<String>,
    /// Provider.
    pub provider: String,
    /// Model.
    pub model: String,
    /// Input tokens.
    pub input_tokens: u64,
    /// Output tokens.
    pub output_tokens: u64,
    /// Cost in US dollars (null = unknown).
    pub cost_usd: Option<f64>,
    /// Latency.
    pub latency_ms: u64,
    /// `ok` or the error's label.
    pub outcome: String,
}

/// `GET /llm-usage` answer.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Usage {
    /// The configured provider (`none` when analyses use the rules engine only).
    pub provider: String,
    /// The configured model.
    pub model: Option<String>,
    /// Window of this report, in hours.
    pub hours: i64,
    /// Totals over the window.
    pub totals: Totals,
    /// The hourly budget's current window.
    pub hourly: Window,
    /// The daily budget's current window.
    pub daily: Window,
    /// The newest calls of the window (at most 200).
    pub calls: Vec<CallView>,
}

async fn window(
    state: &AppState,
    length: Millis,
    token_limit: Option<u64>,
    cost_limit_usd: Option<f64>,
    now: Millis,
) -> Result<Window, ApiError> {
    let since = budget::window_start(now, length);
    let spent = state.engine.store.llm_spend(since).await?;
    Ok(Window {
        since: to_rfc3339(since),
        tokens_left: token_limit.map(|l| l.saturating_sub(spent.tokens)),
        cost_left_usd: cost_limit_usd.map(|l| (l - spent.cost_micros as f64 / 1e6).max(0.0)),
        spent: spent.into(),
        token_limit,
        cost_limit_usd,
    })
}

/// LLM usage and budgets.
#[utoipa::path(
    get, path = "/llm-usage", tag = "analysis",
    params(UsageQuery),
    security(("bearer" = []), ("internal_token" = [])),
    responses(
        (status = 200, description = "Usage", body = Usage),
        (status = 400, description = "Bad hours", body = ErrorBody),
    )
)]
pub(super) async fn usage(
    State(state): State<AppState>,
    query: Result<Query<UsageQuery>, QueryRejection>,
) -> Result<Json<Usage>, ApiError> {
    let Query(query) = query?;
    let hours = match query.hours.as_deref() {
        None => 24,
        Some(text) => match text.parse::<i64>() {
            Ok(h) if (1..=MAX_HOURS).contains(&h) => h,
            _ => {
                return Err(ApiError::BadRequest(format!(
                    "hours: expected an integer from 1 to {MAX_HOURS}, got `{text}`"
                )));
            }
        },
    };
    let now = state.engine.clock.now();
    let since = now - hours * 3_600_000;
    let llm = &state.llm;
    let store = &state.engine.store;
    let totals = store.llm_spend(since).await?.into();
    let calls = store
        .llm_calls(since, MAX_CALLS)
        .await?
        .into_iter()
        .map(|c| CallView {
            at: to_rfc3339(c.at),
            incident_id: c.incident_id,
            provider: c.provider,
            model: c.model,
            input_tokens: c.input_tokens,
            output_tokens: c.output_tokens,
            cost_usd: c.cost_micros.map(|m| m as f64 / 1e6),
            latency_ms: c.latency_ms,
            outcome: c.outcome,
        })
        .collect();
    let provider = serde_json::to_value(llm.provider)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    Ok(Json(Usage {
        model: (llm.provider != LlmProviderKind::None).then(|| llm.model.clone()),
        provider,
        hours,
        totals,
        hourly: window(
            &state,
            3_600_000,
            llm.hourly_token_budget,
            llm.hourly_cost_budget_usd,
            now,
        )
        .await?,
        daily: window(
            &state,
            86_400_000,
            llm.daily_token_budget,
            llm.daily_cost_budget_usd,
            now,
        )
        .await?,
        calls,
    }))
}
