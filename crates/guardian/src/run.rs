//! `guardian run`: the operator — everything `serve` does plus the Kubernetes detectors.
//!
//! Start-up order, each step failing loudly before the next:
//! 1. connect to the API server (KUBECONFIG or in-cluster) — [`crate::k8s::client`];
//! 2. review the identity's permissions and refuse broad ones — [`crate::k8s::rbac`];
//! 3. open the store, build the engine, router and outbox — [`serve::build_with`];
//! 4. discover custom kinds, start the reflectors and the scan timer — [`Operator::start`];
//! 5. serve the API with the ticker and the delivery worker — [`serve::serve`].
//!
//! Shutdown (SIGINT/SIGTERM, or [`Running::shutdown`]) cancels one token: the HTTP server
//! drains, the scan loop and the watches stop, and only then is the store closed.
//!
//! [`start`] is also the in-process entry point of the end-to-end tests: they pass their own
//! client, clock and listener (`127.0.0.1:0`).

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::config::Settings;
use crate::engine::{Clock, Engine};
use crate::k8s::{self, KubernetesMetrics, Operator};
use crate::serve;

/// A started operator.
pub struct Running {
    /// Where the API listens.
    pub addr: SocketAddr,
    /// The engine (and through it the store).
    pub engine: Arc<Engine>,
    /// Reflector health.
    pub reflectors: Arc<Vec<k8s::reflect::Reflector>>,
    cancel: CancellationToken,
    task: JoinHandle<anyhow::Result<()>>,
}

impl Running {
    /// Whether every watch has finished its initial list.
    pub fn synced(&self) -> bool {
        self.reflectors.iter().all(|r| r.health.synced())
    }

    /// Waits until the server stops (its token fired or it failed).
    pub async fn wait(self) -> anyhow::Result<()> {
        self.task.await.context("the operator task panicked")?
    }

    /// Stops everything and waits for it.
    pub async fn shutdown(self) -> anyhow::Result<()> {
        self.cancel.cancel();
        self.wait().await
    }
}

/// Starts the operator on `listener` with `client`; returns once the API listens and the
/// watches are started. Everything stops when `cancel` fires.
pub async fn start(
    settings: Settings,
    client: kube::Client,
    clock: Clock,
    listener: tokio::net::TcpListener,
    cancel: CancellationToken,
) -> anyhow::Result<Running> {
    let kubernetes = &settings.config.kubernetes;
    k8s::rbac::check(&client, kubernetes).await?;
    let metrics = Arc::new(KubernetesMetrics::default());
    let server = serve::build_with(&settings, clock, |registry| metrics.register(registry)).await?;
    let engine = server.engine.clone();
    // Not ready until every watch has listed once: a probe must not route traffic (or a
    // rollout proceed) while detection is blind.
    server
        .ready
        .store(false, std::sync::atomic::Ordering::Release);
    let ready = server.ready.clone();
    let operator = match Operator::start(
        client,
        engine.clone(),
        &settings.config,
        server.redactor.clone(),
        metrics,
        server.latest.clone(),
        cancel.clone(),
    )
    .await
    {
        Ok(operator) => operator,
        Err(error) => {
            server.engine.store.close().await;
            return Err(error.into());
        }
    };
    let addr = listener
        .local_addr()
        .context("unable to read the listen address")?;
    let reflectors = operator.reflectors.clone();
    {
        let reflectors = reflectors.clone();
        let cancel = cancel.clone();
        tokio::spawn(async move {
            while !reflectors.iter().all(|r| r.health.synced()) {
                tokio::select! {
                    () = cancel.cancelled() => return,
                    () = tokio::time::sleep(std::time::Duration::from_millis(200)) => {}
                }
            }
            ready.store(true, std::sync::atomic::Ordering::Release);
            tracing::info!("Every cache synced; the operator is ready.");
        });
    }
    let token = cancel.clone();
    let task = tokio::spawn(async move {
        serve::serve(server, listener, &settings, token, operator.tasks).await
    });
    Ok(Running {
        addr,
        engine,
        reflectors,
        cancel,
        task,
    })
}

/// `guardian run`: runs until SIGINT/SIGTERM.
pub async fn run(settings: Settings) -> anyhow::Result<()> {
    let client = k8s::client::connect().await?;
    let listener = serve::bind(&settings).await?;
    let cancel = CancellationToken::new();
    tokio::spawn(serve::cancel_on_signal(cancel.clone()));
    let running = start(settings, client, Clock::System, listener, cancel).await?;
    running.wait().await
}
