//! `guardian serve`: store, engine, clock and HTTP API, without Kubernetes.
//!
//! The start-up path is shared with `guardian run` (`crate::run`): [`build_with`] (store,
//! engine, router, outbox; extra metrics registered by the caller), [`bind`], then [`serve`]
//! (HTTP server, clock ticker, delivery worker, and the caller's background tasks, until a
//! cancellation token fires).

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use guardian_core::redact::Redactor;
use prometheus_client::registry::Registry;
use tokio_util::sync::CancellationToken;

use crate::analyze::{Analyzer, Latest};
use crate::api::{self, AppState, Limits};
use crate::config::Settings;
use crate::engine::{Clock, Engine};
use crate::metrics::Metrics;
use crate::notify::outbox::{self, Outbox};
use crate::store::sqlite::{Options, SqliteStore};

/// Everything a running server holds, built from the settings.
pub struct Server {
    /// The engine (shared with the API).
    pub engine: Arc<Engine>,
    /// The router.
    pub router: axum::Router,
    /// The notification delivery worker.
    pub outbox: Arc<Outbox>,
    /// The mandatory redactor (configured secrets included), for other signal sources.
    pub redactor: Arc<Redactor>,
    /// The analyze stage.
    pub analyzer: Arc<Analyzer>,
    /// The cluster view the analyzer reads (filled by the live operator's scans).
    pub latest: Arc<Latest>,
    /// What `/readyz` answers; `run` clears it until its caches have synced.
    pub ready: Arc<std::sync::atomic::AtomicBool>,
}

/// Opens the store and builds the engine and router.
pub async fn build(settings: &Settings, clock: Clock) -> anyhow::Result<Server> {
    build_with(settings, clock, |_| {}).await
}

/// [`build`], letting the caller register its own metrics in the one registry `/metrics`
/// renders (the Kubernetes side does).
pub async fn build_with(
    settings: &Settings,
    clock: Clock,
    register: impl FnOnce(&mut Registry),
) -> anyhow::Result<Server> {
    let config = &settings.config;
    let store = SqliteStore::open(&Options {
        path: config.store.path.clone(),
        busy_timeout: Duration::from_millis(config.store.busy_timeout_ms),
        read_connections: config.store.read_connections,
    })
    .await
    .with_context(|| {
        format!(
            "unable to open the store at {}",
            config.store.path.display()
        )
    })?;
    let metrics = Arc::new(Metrics::default());
    let mut registry = Registry::default();
    metrics.register(&mut registry);
    register(&mut registry);
    let engine = Arc::new(Engine {
        store,
        policy: config.policy(),
        metrics,
        clock,
    });
    // Configured secrets are masked wherever they might be echoed (e.g. pasted into a note).
    let redactor = Arc::new(Redactor::new(settings.secrets.values()));
    let redactor_for_callers = redactor.clone();
    let latest = Arc::new(Latest::default());
    let llm = crate::llm::build(&config.analysis.llm, settings.secrets.llm_api_key.as_ref())
        .context("unable to set up the LLM (analysis.llm)")?
        .map(Arc::new);
    if let Some(llm) = &llm {
        tracing::info!(provider = %llm.name, model = %llm.model, "Analyses use an LLM; the rules engine is the fallback.");
    }
    let analyzer = Arc::new(Analyzer::new(
        engine.clone(),
        redactor.clone(),
        config.analysis.settings(),
        Some(latest.clone()),
        llm,
    ));
    let http = reqwest::Client::builder()
        .timeout(Duration::from_millis(
            config.notifications.request_timeout_ms,
        ))
        .build()
        .context("unable to build the HTTP client for notifications")?;
    let channels = outbox::build_channels(&config.notifications, &settings.secrets, &http)?;
    let outbox = Arc::new(Outbox::new(
        engine.clone(),
        &config.notifications,
        channels,
        redactor.clone(),
    ));
    let state = AppState::new(
        engine.clone(),
        settings.secrets.api_token.as_ref(),
        Arc::new(registry),
        config.alertmanager.clone(),
        &config.cluster_name,
        redactor,
    )
    .with_llm(config.analysis.llm.clone());
    let ready = state.ready.clone();
    let router = api::router(
        state,
        Limits {
            max_body_bytes: config.api.max_body_bytes,
            request_timeout: Duration::from_secs(config.api.request_timeout_secs),
        },
    );
    Ok(Server {
        engine,
        router,
        outbox,
        analyzer,
        latest,
        ready,
        redactor: redactor_for_callers,
    })
}

/// Runs until SIGINT/SIGTERM.
pub async fn run(settings: Settings) -> anyhow::Result<()> {
    let server = build(&settings, Clock::System).await?;
    let listener = bind(&settings).await?;
    let cancel = CancellationToken::new();
    tokio::spawn(cancel_on_signal(cancel.clone()));
    serve(server, listener, &settings, cancel, Vec::new()).await
}

/// Binds the configured listen address.
pub async fn bind(settings: &Settings) -> anyhow::Result<tokio::net::TcpListener> {
    let addr = settings.config.listen_addr();
    tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("unable to listen on {addr}"))
}

/// Cancels `cancel` on SIGINT/SIGTERM.
pub async fn cancel_on_signal(cancel: CancellationToken) {
    tokio::select! {
        () = shutdown_signal() => {
            tracing::info!("Shutting down.");
            cancel.cancel();
        }
        () = cancel.cancelled() => {}
    }
}

/// Serves the API on `listener` and runs the clock ticker and the delivery worker until
/// `cancel` fires; then waits for them and for `background` (tasks that use the store and
/// end on the same token) before closing the store.
pub async fn serve(
    server: Server,
    listener: tokio::net::TcpListener,
    settings: &Settings,
    cancel: CancellationToken,
    background: Vec<tokio::task::JoinHandle<()>>,
) -> anyhow::Result<()> {
    let addr = listener
        .local_addr()
        .context("unable to read the listen address")?;
    if settings.secrets.api_token.is_none() {
        tracing::warn!(
            "No API token is configured, so every protected route answers 401. Set GUARDIAN_API_TOKEN to enable the API."
        );
    }
    let ticker = tokio::spawn(server.engine.clone().run_ticker(
        Duration::from_secs(settings.config.incidents.tick_interval_secs),
        cancel.clone(),
    ));
    let deliveries = tokio::spawn(server.outbox.clone().run(
        Duration::from_millis(settings.config.notifications.poll_interval_ms),
        cancel.clone(),
    ));
    let analyses = tokio::spawn(server.analyzer.clone().run(
        Duration::from_millis(settings.config.analysis.poll_interval_ms),
        cancel.clone(),
    ));
    tracing::info!(
        %addr,
        store = %settings.config.store.path.display(),
        cluster = %settings.config.cluster_name,
        "Guardian is serving."
    );
    let shutdown = cancel.clone();
    let served = axum::serve(listener, server.router)
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await
        .context("the HTTP server failed");
    cancel.cancel();
    let _ = ticker.await;
    let _ = deliveries.await;
    let _ = analyses.await;
    for task in background {
        let _ = task.await;
    }
    server.engine.store.close().await;
    served
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
