//! `/suppressions` handlers.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use guardian_core::Category;
use guardian_core::suppression::Suppression;
use serde::Deserialize;
use utoipa::IntoParams;

use super::views::{ErrorBody, SuppressionList, SuppressionRequest, SuppressionView};
use super::{ApiError, AppState};
use crate::store::IncidentStore;

/// Query of `GET /suppressions`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct ListQuery {
    /// Include expired suppressions (default false).
    #[serde(default)]
    include_expired: bool,
}

/// List suppressions.
#[utoipa::path(
    get, path = "/suppressions", tag = "suppressions",
    params(ListQuery),
    security(("bearer" = []), ("internal_token" = [])),
    responses((status = 200, description = "Suppressions", body = SuppressionList))
)]
pub(super) async fn list(
    State(state): State<AppState>,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<SuppressionList>, ApiError> {
    let Query(query) = query?;
    let now = state.engine.clock.now();
    let suppressions = state
        .engine
        .store
        .list_suppressions(now, query.include_expired)
        .await?;
    Ok(Json(SuppressionList {
        suppressions: suppressions.iter().map(SuppressionView::from).collect(),
    }))
}

/// Create a suppression: matching signals are still counted, never notified.
#[utoipa::path(
    post, path = "/suppressions", tag = "suppressions",
    request_body = SuppressionRequest,
    security(("bearer" = []), ("internal_token" = [])),
    responses(
        (status = 201, description = "Created", body = SuppressionView),
        (status = 400, description = "Invalid", body = ErrorBody),
    )
)]
pub(super) async fn create(
    State(state): State<AppState>,
    body: Result<Json<SuppressionRequest>, JsonRejection>,
) -> Result<(StatusCode, Json<SuppressionView>), ApiError> {
    let Json(request) = body?;
    let category = request
        .category
        .as_deref()
        .map(|c| {
            Category::parse(c)
                .ok_or_else(|| ApiError::BadRequest(format!("category: unknown category `{c}`")))
        })
        .transpose()?;
    if request.expires_in_secs == 0 {
        return Err(ApiError::BadRequest(
            "expires_in_secs must be positive".into(),
        ));
    }
    let now = state.engine.clock.now();
    let suppression = Suppression {
        id: uuid::Uuid::now_v7().to_string(),
        namespace: request.namespace,
        kind: request.kind,
        name: request.name,
        category,
        reason: state.redactor.redact_text(&request.reason).0,
        created_by: request.created_by.unwrap_or_else(|| "api".into()),
        created_at: now,
        expires_at: now.saturating_add(guardian_core::time::secs(request.expires_in_secs)),
    };
    state
        .engine
        .store
        .create_suppression(&suppression, now)
        .await?;
    tracing::info!(suppression = %suppression.id, created_by = %suppression.created_by, "Created a suppression.");
    Ok((
        StatusCode::CREATED,
        Json(SuppressionView::from(&suppression)),
    ))
}

/// Delete a suppression.
#[utoipa::path(
    delete, path = "/suppressions/{id}", tag = "suppressions",
    params(("id" = String, Path, description = "Suppression id")),
    security(("bearer" = []), ("internal_token" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "Unknown id", body = ErrorBody),
    )
)]
pub(super) async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.engine.store.delete_suppression(&id).await?;
    tracing::info!(suppression = %id, "Deleted a suppression.");
    Ok(StatusCode::NO_CONTENT)
}
