//! The HTTP API (paths and auth per architecture.md "HTTP API").
//!
//! - Public: `/healthz`, `/readyz`, `/metrics`, `/openapi.json`.
//! - Everything else needs the token in `Authorization: Bearer <t>` or `X-Internal-Token: <t>`,
//!   compared in constant time. No token configured = locked (401), never open.
//! - Every error is JSON `{error, message}`; the OpenAPI document is generated from the handler
//!   annotations, so it cannot drift from the routes.

mod alertmanager;
mod error;
mod health;
mod incidents;
mod suppressions;
mod usage;
pub mod views;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderMap, HeaderName, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use guardian_core::redact::Redactor;
use prometheus_client::registry::Registry;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use error::ApiError;

use crate::config::AlertmanagerConfig;
use crate::engine::Engine;

/// Header accepted as an alternative to `Authorization: Bearer`.
pub const TOKEN_HEADER: &str = "x-internal-token";

/// Shared state of every handler.
#[derive(Clone)]
pub struct AppState {
    /// The incident engine (and through it, the store).
    pub engine: Arc<Engine>,
    /// SHA-256 of the API token; `None` locks the API. Comparing digests keeps the comparison
    /// constant-time even in the token's length.
    token_digest: Option<[u8; 32]>,
    /// Metrics registry rendered by `/metrics`.
    pub registry: Arc<Registry>,
    /// Alertmanager receiver settings.
    pub alertmanager: Arc<AlertmanagerConfig>,
    /// Cluster name stamped on alert-driven signals.
    pub cluster: Arc<str>,
    /// The mandatory redactor.
    pub redactor: Arc<Redactor>,
    /// `/readyz`: false while the live operator's caches are still syncing (always true for
    /// `serve`, which has no caches).
    pub ready: Arc<std::sync::atomic::AtomicBool>,
    /// The LLM settings, for `/llm-usage` (budgets and the configured model).
    pub llm: Arc<crate::config::LlmConfig>,
}

impl AppState {
    /// Builds the state; `token = None` locks the API.
    pub fn new(
        engine: Arc<Engine>,
        token: Option<&SecretString>,
        registry: Arc<Registry>,
        alertmanager: AlertmanagerConfig,
        cluster: &str,
        redactor: Arc<Redactor>,
    ) -> Self {
        Self {
            engine,
            token_digest: token.map(|t| Sha256::digest(t.expose_secret().as_bytes()).into()),
            registry,
            alertmanager: Arc::new(alertmanager),
            cluster: Arc::from(cluster),
            redactor,
            ready: Arc::new(std::sync::atomic::AtomicBool::new(true)),
            llm: Arc::new(crate::config::LlmConfig::default()),
        }
    }

    /// Sets the LLM settings `/llm-usage` reports against.
    pub fn with_llm(mut self, llm: crate::config::LlmConfig) -> Self {
        self.llm = Arc::new(llm);
        self
    }
}

/// Limits applied to every request.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest body (413 above it).
    pub max_body_bytes: usize,
    /// Time budget of one request (408 after it).
    pub request_timeout: Duration,
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "SRE Guardian API",
        description = "Incidents, acknowledgements, suppressions and the Alertmanager receiver."
    ),
    modifiers(&SecurityAddon),
    tags(
        (name = "incidents", description = "List, inspect, acknowledge and resolve incidents"),
        (name = "suppressions", description = "Silences with an expiry"),
        (name = "ingest", description = "Signal sources"),
        (name = "analysis", description = "LLM usage and budgets"),
        (name = "operations", description = "Health, readiness, metrics")
    )
)]
struct ApiDoc;

struct SecurityAddon;

impl utoipa::Modify for SecurityAddon {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "internal_token",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-Internal-Token"))),
        );
    }
}

/// Token-protected routes (the auth layer is added by [`router`]).
fn protected_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(incidents::list))
        .routes(routes!(incidents::show))
        .routes(routes!(incidents::acknowledge))
        .routes(routes!(incidents::resolve))
        .routes(routes!(suppressions::list, suppressions::create))
        .routes(routes!(suppressions::delete))
        .routes(routes!(alertmanager::receive))
        .routes(routes!(usage::usage))
}

/// Routes open to anyone (probes and scrapes).
fn public_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(health::healthz))
        .routes(routes!(health::readyz))
        .routes(routes!(health::metrics))
}

/// Builds the router with its OpenAPI document.
pub fn router(state: AppState, limits: Limits) -> Router {
    let protected =
        protected_routes().route_layer(middleware::from_fn_with_state(state.clone(), authenticate));
    let (router, openapi) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(protected)
        .merge(public_routes())
        .split_for_parts();
    let openapi = Arc::new(openapi);
    router
        .route(
            "/openapi.json",
            axum::routing::get(move || {
                let doc = openapi.clone();
                async move { axum::Json(doc) }
            }),
        )
        .fallback(|| async { ApiError::NotFound("no such route".into()) })
        .layer(DefaultBodyLimit::max(limits.max_body_bytes))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            limits.request_timeout,
        ))
        .layer(CatchPanicLayer::custom(|_| {
            ApiError::Internal("the request handler panicked".into()).into_response()
        }))
        .layer(TraceLayer::new_for_http())
        // Outermost, so the trace layer never sees the token.
        .layer(SetSensitiveRequestHeadersLayer::new([
            header::AUTHORIZATION,
            HeaderName::from_static(TOKEN_HEADER),
        ]))
        .with_state(state)
}

/// The OpenAPI document (also served at `/openapi.json`).
pub fn openapi() -> utoipa::openapi::OpenApi {
    OpenApiRouter::<AppState>::with_openapi(ApiDoc::openapi())
        .merge(protected_routes())
        .merge(public_routes())
        .into_openapi()
}

fn presented_token(headers: &HeaderMap) -> Option<&str> {
    if let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let (scheme, token) = value.split_once(' ')?;
        return scheme
            .eq_ignore_ascii_case("bearer")
            .then_some(token.trim());
    }
    headers
        .get(TOKEN_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
}

/// Token check: locked → 401, missing → 401, wrong → 403.
async fn authenticate(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let Some(expected) = state.token_digest else {
        return ApiError::Locked.into_response();
    };
    let Some(token) = presented_token(request.headers()) else {
        return ApiError::Unauthorized.into_response();
    };
    let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
    if !bool::from(digest.ct_eq(&expected)) {
        return ApiError::Forbidden.into_response();
    }
    next.run(request).await
}
