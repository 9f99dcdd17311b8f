//! API errors: every failure is a JSON `{error, message}` body with a 4xx/5xx status.

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::views::ErrorBody;
use crate::store;

/// An API failure.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No token is configured: the API is locked.
    #[error("the API is locked: set GUARDIAN_API_TOKEN (or api.token_file) to enable it")]
    Locked,
    /// No token presented.
    #[error("missing token: send `Authorization: Bearer <token>` or `X-Internal-Token: <token>`")]
    Unauthorized,
    /// Wrong token.
    #[error("the token is not valid")]
    Forbidden,
    /// Unknown id or route.
    #[error("{0}")]
    NotFound(String),
    /// Illegal lifecycle transition.
    #[error("{0}")]
    Conflict(String),
    /// Malformed input.
    #[error("{0}")]
    BadRequest(String),
    /// Body too large.
    #[error("{0}")]
    TooLarge(String),
    /// The store is down or the handler failed; details go to the log, not the client.
    #[error("{0}")]
    Internal(String),
}

impl ApiError {
    fn parts(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::Locked => (StatusCode::UNAUTHORIZED, "api_locked"),
            ApiError::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized"),
            ApiError::Forbidden => (StatusCode::FORBIDDEN, "forbidden"),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::Conflict(_) => (StatusCode::CONFLICT, "illegal_transition"),
            ApiError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            ApiError::TooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, error) = self.parts();
        let body = ErrorBody {
            error: error.to_string(),
            message: self.to_string(),
        };
        (status, Json(body)).into_response()
    }
}

impl From<store::Error> for ApiError {
    fn from(error: store::Error) -> Self {
        match error {
            store::Error::NotFound { .. } => ApiError::NotFound(error.to_string()),
            store::Error::Illegal(e) => ApiError::Conflict(e.to_string()),
            store::Error::InvalidSuppression(e) => ApiError::BadRequest(e.to_string()),
            // The engine already logged it with its details.
            other => ApiError::Internal(format!("the store failed ({})", other.metric_label())),
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::TooLarge(rejection.body_text())
        } else {
            ApiError::BadRequest(rejection.body_text())
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        ApiError::BadRequest(rejection.body_text())
    }
}
