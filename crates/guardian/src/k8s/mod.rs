//! The Kubernetes side of `guardian run`: watch caches in, [`Observation`]s out.
//!
//! ```text
//!  API server ──watch──► reflector store per (kind, namespace)      [reflect]
//!                               │  (no API call per event, no polling lists)
//!        every scan_interval    ▼
//!  Snapshot (synced kinds only, marked listed over their scope)   [scan]
//!        │ detect::run_with (pure, `now` from the engine clock)
//!        ▼
//!  Signals ─ exclusions ─ one per fingerprint ─► Engine::observe(Firing)
//!  live incidents + detect::coverage ─► detect::recoveries ─► Engine::observe(Recovered)
//! ```
//!
//! # Design
//!
//! - **One reflector per kind** (per namespace when `kubernetes.namespaces` is set): Pods,
//!   Warning Events (`type=Warning`, server-side), ReplicaSets, Deployments, StatefulSets,
//!   DaemonSets, Jobs, CronJobs, PVCs, StorageClasses, Services, EndpointSlices, Nodes, HPAs,
//!   and the cert-manager / Flux custom kinds that discovery finds at start-up ([`kinds`]).
//!   Every reflector caches [`kube::api::DynamicObject`]s: the detectors read JSON through
//!   lenient serde views (`guardian_core::detect::objects`), so one odd field in one object
//!   can never fail a whole typed list and blind a detector; and one generic code path serves
//!   built-in and custom kinds alike. `managedFields` and the last-applied annotation are
//!   dropped on the way in (they are half of a typical object and nobody reads them).
//! - **Listed means synced and healthy.** A kind enters a scan's snapshot — and is marked
//!   listed over the namespaces its reflectors cover — only after its watcher's first
//!   `InitDone`, and not while the watcher is failing ([`reflect::Health`]). A detector whose
//!   inputs are not listed did not run, so its incidents are not "recovered": "could not
//!   read" never means "recovered".
//! - **Exclusions** ([`scan::Exclusions`]): excluded namespaces are filtered server-side by
//!   field selector (all-namespaces mode) and again client-side; label exclusions match an
//!   object or its top owner. Incidents inside an exclusion are left alone.
//! - **One sighting per incident per scan**: signals are collapsed by fingerprint before they
//!   reach the store, so an event storm of 2,000 Warnings costs one write, not 2,000.
//! - **Read-only**: [`rbac`] refuses to start with an identity that can read Secrets or
//!   write workloads unless `kubernetes.allow_broad_permissions` is set.
//! - **No leader election yet**: run a single replica (see docs/operator.md). Several
//!   replicas would be safe for the store (fingerprints are unique) but would double the
//!   sightings.

pub mod client;
pub mod kinds;
pub mod logs;
mod metrics;
pub mod rbac;
pub mod reflect;
pub mod scan;
pub mod selector;

use std::sync::Arc;
use std::time::Duration;

use guardian_core::redact::Redactor;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::engine::Engine;

pub use metrics::KubernetesMetrics;

/// Failures at the Kubernetes boundary.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Neither a kubeconfig nor the in-cluster service account is usable.
    #[error("unable to load a Kubernetes client configuration: {source}")]
    Config {
        /// kube's inference error.
        #[source]
        source: kube::config::InferConfigError,
    },
    /// A kubeconfig file exists but does not describe a usable cluster.
    #[error("unable to read the kubeconfig: {source}")]
    Kubeconfig {
        /// kube's kubeconfig error.
        #[source]
        source: kube::config::KubeconfigError,
    },
    /// A `kubernetes.exclude_labels` entry does not parse (normally caught by validation).
    #[error(transparent)]
    Selector {
        /// The parse error.
        #[from]
        source: selector::SelectorError,
    },
    /// The client could not be built or the API server did not answer.
    #[error("unable to reach the Kubernetes API server: {source}")]
    Client {
        /// The client error.
        #[source]
        source: kube::Error,
    },
    /// API discovery (which custom kinds are installed) failed.
    #[error("unable to discover the API groups of the cluster: {source}")]
    Discovery {
        /// The client error.
        #[source]
        source: kube::Error,
    },
    /// A permission review could not be performed.
    #[error("unable to review the guardian's own permissions: {source}")]
    PermissionCheck {
        /// The client error.
        #[source]
        source: kube::Error,
    },
    /// The identity may read Secrets or write workloads, and that was not allowed.
    #[error(
        "refusing to run: this identity can {findings}. The guardian is read-only by design; \
         bind it to the ClusterRole in deploy/rbac.yaml, or set \
         kubernetes.allow_broad_permissions: true to run anyway"
    )]
    BroadPermissions {
        /// What it may do (`list secrets (all namespaces), patch deployments (shop)`).
        findings: String,
    },
    /// A watch failed (retried with back-off; the kind is not listed meanwhile).
    #[error("the watch of {kind} failed: {source}")]
    Watch {
        /// Kind watched.
        kind: String,
        /// The watcher error.
        #[source]
        source: kube::runtime::watcher::Error,
    },
    /// Reading live incidents for the reconcile pass failed.
    #[error("unable to list live incidents: {source}")]
    Store {
        /// The store error.
        #[source]
        source: crate::store::Error,
    },
}

impl Error {
    /// Bounded label for metrics and logs.
    pub fn metric_label(&self) -> &'static str {
        match self {
            Error::Config { .. } | Error::Kubeconfig { .. } | Error::Selector { .. } => "config",
            Error::Client { .. } => "client",
            Error::Discovery { .. } => "discovery",
            Error::PermissionCheck { .. } => "permission_check",
            Error::BroadPermissions { .. } => "broad_permissions",
            Error::Watch { source, .. } => watch_error_label(source),
            Error::Store { .. } => "store",
        }
    }

    /// Whether trying again later may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Config { .. }
            | Error::Kubeconfig { .. }
            | Error::Selector { .. }
            | Error::BroadPermissions { .. } => false,
            Error::Watch { source, .. } => watch_error_label(source) != "forbidden",
            Error::Client { .. }
            | Error::Discovery { .. }
            | Error::PermissionCheck { .. }
            | Error::Store { .. } => true,
        }
    }
}

/// Bounded label of a watcher error: the HTTP status class when the API server answered.
pub fn watch_error_label(error: &kube::runtime::watcher::Error) -> &'static str {
    use kube::runtime::watcher::Error as W;
    let status = match error {
        W::InitialListFailed(e) | W::WatchStartFailed(e) | W::WatchFailed(e) => match e {
            kube::Error::Api(s) => Some(s.code),
            _ => None,
        },
        W::WatchError(s) => Some(s.code),
        W::NoResourceVersion => return "no_resource_version",
    };
    match status {
        Some(401) => "unauthorized",
        Some(403) => "forbidden",
        Some(404) => "not_found",
        Some(410) => "gone",
        Some(429) => "throttled",
        Some(500..=599) => "server_error",
        Some(_) => "api_error",
        None => "connection",
    }
}

/// Result with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The running Kubernetes detectors: reflector tasks plus the scan timer.
pub struct Operator {
    /// Reflector health, for readiness and tests.
    pub reflectors: Arc<Vec<reflect::Reflector>>,
    /// Every task started; they end when the cancellation token fires.
    pub tasks: Vec<JoinHandle<()>>,
}

impl Operator {
    /// Discovers the custom kinds, starts one reflector per (kind, namespace) and the scan
    /// timer. Returns once everything is spawned (not when the caches are synced: see
    /// [`Operator::synced`]).
    pub async fn start(
        client: kube::Client,
        engine: Arc<Engine>,
        config: &Config,
        redactor: Arc<Redactor>,
        metrics: Arc<KubernetesMetrics>,
        latest: Arc<crate::analyze::Latest>,
        cancel: CancellationToken,
    ) -> Result<Self> {
        let k = &config.kubernetes;
        let kinds = kinds::discover(&client).await?;
        rbac::check_reads(&client, &kinds, k).await?;
        let (reflectors, mut tasks) = reflect::start_all(&client, &kinds, k, &metrics, &cancel);
        let reflectors = Arc::new(reflectors);
        let logs = logs::LogCache::new(client.clone());
        let scanner = scan::Scanner::new(
            reflectors.clone(),
            engine,
            config,
            redactor,
            metrics,
            latest,
            Some(logs),
        )
        .map_err(|source| Error::Selector { source })?;
        tasks.push(tokio::spawn(scanner.run(
            Duration::from_secs(k.scan_interval_secs),
            Duration::from_secs(k.startup_grace_secs),
            cancel,
        )));
        Ok(Self { reflectors, tasks })
    }

    /// Whether every reflector has finished its initial list.
    pub fn synced(&self) -> bool {
        self.reflectors.iter().all(|r| r.health.synced())
    }
}
