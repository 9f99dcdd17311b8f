//! `POST /alertmanager`: the Alertmanager webhook receiver.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;

use super::views::{AlertmanagerReceipt, ErrorBody};
use super::{ApiError, AppState};
use crate::alertmanager;
use crate::metrics::IgnoredLabels;

/// Receive an Alertmanager webhook (version 4). Firing alerts create or update incidents,
/// resolved ones resolve them; `Watchdog` and `InfoInhibitor` are ignored. The whole payload is
/// validated before anything is applied.
#[utoipa::path(
    post, path = "/alertmanager", tag = "ingest",
    request_body(content = Object, description = "Alertmanager webhook payload"),
    security(("bearer" = []), ("internal_token" = [])),
    responses(
        (status = 200, description = "Applied", body = AlertmanagerReceipt),
        (status = 400, description = "Not a webhook payload", body = ErrorBody),
        (status = 404, description = "Receiver disabled", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
    )
)]
pub(super) async fn receive(
    State(state): State<AppState>,
    body: Bytes,
) -> Result<Json<AlertmanagerReceipt>, ApiError> {
    if !state.alertmanager.enabled {
        return Err(ApiError::NotFound(
            "the Alertmanager receiver is disabled".into(),
        ));
    }
    let now = state.engine.clock.now();
    let translated = alertmanager::translate(
        &body,
        &state.alertmanager,
        &state.cluster,
        &state.redactor,
        now,
    )
    .map_err(|e| {
        tracing::warn!(error = %e, reason = e.metric_label(), "Rejected an Alertmanager payload.");
        ApiError::BadRequest(e.to_string())
    })?;
    for skip in &translated.skipped {
        state
            .engine
            .metrics
            .alerts_ignored
            .get_or_create(&IgnoredLabels {
                reason: skip.metric_label(),
            })
            .inc();
    }
    let mut processed = 0;
    for observation in &translated.observations {
        state.engine.observe(observation).await?;
        processed += 1;
    }
    Ok(Json(AlertmanagerReceipt {
        received: processed + translated.skipped.len(),
        processed,
        ignored: translated.skipped.len(),
    }))
}
