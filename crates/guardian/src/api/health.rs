//! Probes and metrics.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;

use super::views::{ErrorBody, HealthBody};
use super::{ApiError, AppState};
use crate::metrics;
use crate::store::IncidentStore;

/// 200 when the store is writable, else 503. The store error is logged, never echoed.
#[utoipa::path(
    get, path = "/healthz", tag = "operations",
    responses(
        (status = 200, description = "Store writable", body = HealthBody),
        (status = 503, description = "Store not writable", body = ErrorBody),
    )
)]
pub(super) async fn healthz(State(state): State<AppState>) -> axum::response::Response {
    match state.engine.store.ping().await {
        Ok(()) => Json(HealthBody {
            status: "ok".into(),
        })
        .into_response(),
        Err(error) => {
            tracing::error!(error = %error, "The health check found the store not writable.");
            let body = ErrorBody {
                error: "store_unavailable".into(),
                message: "the incident store is not writable".into(),
            };
            (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response()
        }
    }
}

/// Ready to serve: the store is open and migrated (the process does not listen before that)
/// and, for `guardian run`, every watch has finished its initial list.
#[utoipa::path(
    get, path = "/readyz", tag = "operations",
    responses(
        (status = 200, description = "Ready", body = HealthBody),
        (status = 503, description = "Caches still syncing", body = ErrorBody),
    )
)]
pub(super) async fn readyz(State(state): State<AppState>) -> axum::response::Response {
    if state.ready.load(std::sync::atomic::Ordering::Acquire) {
        return Json(HealthBody {
            status: "ready".into(),
        })
        .into_response();
    }
    let body = ErrorBody {
        error: "not_ready".into(),
        message: "the Kubernetes caches are still syncing".into(),
    };
    (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response()
}

/// Prometheus text format.
#[utoipa::path(
    get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Prometheus text exposition", content_type = "text/plain"))
)]
pub(super) async fn metrics(State(state): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    Ok((
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        metrics::render(&state.registry),
    ))
}
