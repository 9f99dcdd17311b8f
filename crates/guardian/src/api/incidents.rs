//! `/incidents` handlers.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use guardian_core::{Severity, Status};

use super::views::{
    ErrorBody, IncidentDetailView, IncidentList, IncidentView, ListParams, TransitionRequest,
};
use super::{ApiError, AppState};
use crate::store::{IncidentStore, ListFilter};

/// Rows returned when `limit` is absent.
const DEFAULT_LIMIT: u32 = 100;
/// Largest accepted `limit`: bounds the cost of one request.
const MAX_LIMIT: u32 = 1_000;
/// Actor recorded when a request names none.
const DEFAULT_ACTOR: &str = "api";

fn parse_statuses(text: Option<&str>) -> Result<Option<Vec<Status>>, ApiError> {
    let text = text.unwrap_or("active");
    let mut out = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match part {
            "all" => return Ok(None),
            // `active` is the earlier implementation's spelling; existing runbooks use it.
            "active" => out.extend([Status::Open, Status::Acknowledged]),
            other => out.push(
                other
                    .parse()
                    .map_err(|e: String| ApiError::BadRequest(format!("status: {e}")))?,
            ),
        }
    }
    Ok(Some(out))
}

pub(super) fn filter(params: &ListParams) -> Result<ListFilter, ApiError> {
    let severity = params
        .severity
        .as_deref()
        .map(|s| {
            s.parse::<Severity>()
                .map_err(|e| ApiError::BadRequest(format!("severity: {e}")))
        })
        .transpose()?;
    let needs_review = match params.needs_review.as_deref() {
        None => None,
        Some("true") => Some(true),
        Some("false") => Some(false),
        Some(other) => {
            return Err(ApiError::BadRequest(format!(
                "needs_review: expected true or false, got `{other}`"
            )));
        }
    };
    let limit = match params.limit.as_deref() {
        None => DEFAULT_LIMIT,
        Some(text) => match text.parse::<u32>() {
            Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
            _ => {
                return Err(ApiError::BadRequest(format!(
                    "limit: expected an integer from 1 to {MAX_LIMIT}, got `{text}`"
                )));
            }
        },
    };
    Ok(ListFilter {
        statuses: parse_statuses(params.status.as_deref())?,
        namespace: params.namespace.clone(),
        severity,
        needs_review,
        limit,
    })
}

/// List incidents.
#[utoipa::path(
    get, path = "/incidents", tag = "incidents",
    params(ListParams),
    security(("bearer" = []), ("internal_token" = [])),
    responses(
        (status = 200, description = "Matching incidents", body = IncidentList),
        (status = 400, description = "Bad filter", body = ErrorBody),
        (status = 401, description = "Locked or no token", body = ErrorBody),
        (status = 403, description = "Wrong token", body = ErrorBody),
    )
)]
pub(super) async fn list(
    State(state): State<AppState>,
    params: Result<Query<ListParams>, QueryRejection>,
) -> Result<Json<IncidentList>, ApiError> {
    let Query(params) = params?;
    let incidents = state.engine.store.list(&filter(&params)?).await?;
    let ids: Vec<String> = incidents.iter().map(|i| i.id.clone()).collect();
    let analyses = state.engine.store.analyses(&ids).await?;
    Ok(Json(IncidentList {
        incidents: incidents
            .iter()
            .map(|i| {
                let mut view = IncidentView::from(i);
                view.analysis = analyses.get(&i.id).map(crate::analyze::summary);
                view
            })
            .collect(),
    }))
}

/// One incident with its audit timeline, recent occurrences and notification decisions.
#[utoipa::path(
    get, path = "/incidents/{id}", tag = "incidents",
    params(("id" = String, Path, description = "Incident id")),
    security(("bearer" = []), ("internal_token" = [])),
    responses(
        (status = 200, description = "The incident", body = IncidentDetailView),
        (status = 404, description = "Unknown id", body = ErrorBody),
    )
)]
pub(super) async fn show(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<IncidentDetailView>, ApiError> {
    let detail = state
        .engine
        .store
        .get(&id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no incident with id {id}")))?;
    let mut view = IncidentDetailView::from(&detail);
    if let Some(record) = state
        .engine
        .store
        .analyses(&[id])
        .await?
        .remove(&detail.incident.id)
    {
        view.redaction_receipt = record.get("receipt").cloned();
        view.incident.analysis = Some(record);
    }
    Ok(Json(view))
}

/// Bodies are optional for transitions: empty means all defaults.
fn transition_body(body: &Bytes) -> Result<TransitionRequest, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(TransitionRequest::default());
    }
    serde_json::from_slice(body).map_err(|e| ApiError::BadRequest(format!("invalid body: {e}")))
}

fn actor(request: &TransitionRequest) -> Result<String, ApiError> {
    match request.actor.as_deref().map(str::trim) {
        None => Ok(DEFAULT_ACTOR.to_string()),
        Some("") => Err(ApiError::BadRequest("actor must not be empty".into())),
        Some(a) if a.len() > 200 => Err(ApiError::BadRequest(
            "actor is longer than 200 bytes".into(),
        )),
        Some(a) => Ok(a.to_string()),
    }
}

fn note(request: &TransitionRequest, state: &AppState) -> String {
    // Operators paste log lines into notes; they leave the process through the API.
    let (text, _) = state
        .redactor
        .redact_text(request.note.as_deref().unwrap_or(""));
    text
}

/// Acknowledge an open incident.
#[utoipa::path(
    post, path = "/incidents/{id}/ack", tag = "incidents",
    params(("id" = String, Path, description = "Incident id")),
    request_body(content = Option<TransitionRequest>, description = "Optional actor, note and expiry"),
    security(("bearer" = []), ("internal_token" = [])),
    responses(
        (status = 200, description = "Acknowledged", body = IncidentView),
        (status = 400, description = "Malformed body", body = ErrorBody),
        (status = 404, description = "Unknown id", body = ErrorBody),
        (status = 409, description = "Not open", body = ErrorBody),
    )
)]
pub(super) async fn acknowledge(
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<IncidentView>, ApiError> {
    let request = transition_body(&body)?;
    let actor = actor(&request)?;
    let expires = request.expires_in_secs.map(guardian_core::time::secs);
    let applied = state
        .engine
        .acknowledge(&id, &actor, &note(&request, &state), expires)
        .await?;
    Ok(Json(IncidentView::from(&applied.incident)))
}

/// Resolve an open or acknowledged incident.
#[utoipa::path(
    post, path = "/incidents/{id}/resolve", tag = "incidents",
    params(("id" = String, Path, description = "Incident id")),
    request_body(content = Option<TransitionRequest>, description = "Optional actor and note"),
    security(("bearer" = []), ("internal_token" = [])),
    responses(
        (status = 200, description = "Resolved", body = IncidentView),
        (status = 400, description = "Malformed body", body = ErrorBody),
        (status = 404, description = "Unknown id", body = ErrorBody),
        (status = 409, description = "Already resolved", body = ErrorBody),
    )
)]
pub(super) async fn resolve(
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<IncidentView>, ApiError> {
    let request = transition_body(&body)?;
    if request.expires_in_secs.is_some() {
        return Err(ApiError::BadRequest(
            "expires_in_secs applies to acknowledgements only".into(),
        ));
    }
    let actor = actor(&request)?;
    let applied = state
        .engine
        .resolve(&id, &actor, &note(&request, &state))
        .await?;
    Ok(Json(IncidentView::from(&applied.incident)))
}
