//! Reflectors: one watch + cache per (kind, namespace), and whether each may be trusted.
//!
//! A reflector is a kube-runtime `watcher` (list once, then watch; re-list after a `410
//! Gone`; exponential back-off from 0.8 s to 30 s on errors) feeding a `reflector::store`.
//! The store swaps in a complete new list atomically on `InitDone`, so a scan never sees
//! half a re-list.
//!
//! [`Health`] decides whether a scan may use the cache ([`Health::listable`]):
//! - not before the first `InitDone` (an unsynced cache is empty, and empty would read as
//!   "everything recovered");
//! - not while the watch is failing: from an error until the next event, or — for quiet
//!   kinds that may see no event for hours after recovering — until [`ERROR_HOLD`] has passed
//!   without another error. A failing watch errors at least every back-off period (≤ 30 s) plus
//!   the connect time-out, so a quiet period that long means the watch is established again.
//!
//! Namespace scoping: with `kubernetes.namespaces` set, every namespaced kind gets one
//! reflector per namespace (least privilege: a Role per namespace suffices, and the API
//! server filters); otherwise one cluster-wide reflector whose field selector excludes
//! `kubernetes.exclude_namespaces` server-side. Cluster-scoped kinds always get one.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use guardian_core::detect::Scope;
use kube::api::{Api, DynamicObject};
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::kinds::WatchedKind;
use super::metrics::{KubernetesMetrics, WatchErrorLabels};
use super::{Error, watch_error_label};
use crate::config::KubernetesConfig;

/// How long after its last error a watch without new events counts as healthy again; see
/// the module docs.
pub const ERROR_HOLD: Duration = Duration::from_secs(90);

/// Annotation dropped from cached objects: a full copy of the object as last applied, often
/// the largest field, read by nobody here.
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

#[derive(Debug, Default)]
struct HealthState {
    synced: bool,
    last_ok: Option<Instant>,
    last_error: Option<Instant>,
    /// The watch is in a failing streak (for log lines at the edges only).
    failing: bool,
}

/// Sync and error state of one reflector.
#[derive(Debug, Default)]
pub struct Health {
    state: Mutex<HealthState>,
}

impl Health {
    fn with<T>(&self, f: impl FnOnce(&mut HealthState) -> T) -> T {
        // A poisoned lock only means a panic elsewhere while holding it; the state is plain
        // data and still meaningful.
        let mut guard = self.state.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut guard)
    }

    /// Whether the first list completed.
    pub fn synced(&self) -> bool {
        self.with(|s| s.synced)
    }

    /// Whether a scan may use the cache: synced and not failing.
    pub fn listable(&self) -> bool {
        self.listable_at(Instant::now())
    }

    fn listable_at(&self, now: Instant) -> bool {
        self.with(|s| {
            s.synced
                && match s.last_error {
                    None => true,
                    Some(err) => {
                        s.last_ok.is_some_and(|ok| ok > err)
                            || now.saturating_duration_since(err) >= ERROR_HOLD
                    }
                }
        })
    }

    /// Records an event; returns (first sync, recovered from a failing streak).
    fn on_event(&self, init_done: bool, now: Instant) -> (bool, bool) {
        self.with(|s| {
            let first = init_done && !s.synced;
            s.synced |= init_done;
            s.last_ok = Some(now);
            let recovered = std::mem::take(&mut s.failing);
            (first, recovered)
        })
    }

    /// Records an error; returns whether it starts a failing streak.
    fn on_error(&self, now: Instant) -> bool {
        self.with(|s| {
            s.last_error = Some(now);
            !std::mem::replace(&mut s.failing, true)
        })
    }
}

/// One watch and its cache.
pub struct Reflector {
    /// What is watched.
    pub kind: WatchedKind,
    /// The namespace watched; `None` = all namespaces (or a cluster-scoped kind).
    pub namespace: Option<String>,
    /// The cache.
    pub store: Store<DynamicObject>,
    /// Whether the cache may be used.
    pub health: Arc<Health>,
}

impl Reflector {
    /// The scope this reflector lists when healthy.
    pub fn scope(&self) -> Scope {
        match &self.namespace {
            Some(ns) => Scope::Namespaces([ns.clone()].into()),
            None => Scope::Cluster,
        }
    }
}

/// The field selector of a watch: the kind's own plus, for cluster-wide watches of namespaced
/// kinds, one `metadata.namespace!=` per excluded namespace.
pub fn field_selector(
    kind: &WatchedKind,
    all_namespaces: bool,
    excluded: &[String],
) -> Option<String> {
    let mut parts: Vec<String> = kind.field_selector.iter().map(|s| s.to_string()).collect();
    if kind.namespaced && all_namespaces {
        parts.extend(
            excluded
                .iter()
                .map(|ns| format!("metadata.namespace!={ns}")),
        );
    }
    (!parts.is_empty()).then(|| parts.join(","))
}

/// Starts every reflector; the tasks end when `cancel` fires.
pub fn start_all(
    client: &kube::Client,
    kinds: &[WatchedKind],
    config: &KubernetesConfig,
    metrics: &Arc<KubernetesMetrics>,
    cancel: &CancellationToken,
) -> (Vec<Reflector>, Vec<JoinHandle<()>>) {
    let mut reflectors = Vec::new();
    let mut tasks = Vec::new();
    for kind in kinds {
        let namespaces: Vec<Option<String>> = if kind.namespaced && !config.namespaces.is_empty() {
            config.namespaces.iter().cloned().map(Some).collect()
        } else {
            vec![None]
        };
        for namespace in namespaces {
            let api: Api<DynamicObject> = match &namespace {
                Some(ns) => Api::namespaced_with(client.clone(), ns, &kind.resource),
                None => Api::all_with(client.clone(), &kind.resource),
            };
            let mut watch = watcher::Config::default().any_semantic();
            if let Some(fields) =
                field_selector(kind, namespace.is_none(), &config.exclude_namespaces)
            {
                watch = watch.fields(&fields);
            }
            let writer = reflector::store::Writer::new(kind.resource.clone());
            let store = writer.as_reader();
            let health = Arc::new(Health::default());
            let stream = reflector(
                writer,
                watcher(api, watch)
                    .modify(|o: &mut DynamicObject| {
                        o.metadata.managed_fields = None;
                        if let Some(a) = o.metadata.annotations.as_mut() {
                            a.remove(LAST_APPLIED);
                        }
                    })
                    .default_backoff(),
            );
            tasks.push(tokio::spawn(drive(
                stream,
                kind.kind().to_string(),
                namespace.clone(),
                store.clone(),
                health.clone(),
                metrics.clone(),
                cancel.clone(),
            )));
            reflectors.push(Reflector {
                kind: kind.clone(),
                namespace,
                store,
                health,
            });
        }
    }
    tracing::info!(
        reflectors = reflectors.len(),
        kinds = kinds.len(),
        namespaces = if config.namespaces.is_empty() {
            "all".to_string()
        } else {
            config.namespaces.join(",")
        },
        "Started the watches."
    );
    (reflectors, tasks)
}

fn reflector<S>(
    writer: reflector::store::Writer<DynamicObject>,
    stream: S,
) -> impl futures::Stream<Item = watcher::Result<watcher::Event<DynamicObject>>>
where
    S: futures::Stream<Item = watcher::Result<watcher::Event<DynamicObject>>>,
{
    kube::runtime::reflector(writer, stream)
}

async fn drive<S>(
    stream: S,
    kind: String,
    namespace: Option<String>,
    store: Store<DynamicObject>,
    health: Arc<Health>,
    metrics: Arc<KubernetesMetrics>,
    cancel: CancellationToken,
) where
    S: futures::Stream<Item = watcher::Result<watcher::Event<DynamicObject>>>,
{
    let mut stream = std::pin::pin!(stream);
    let ns = namespace.as_deref().unwrap_or("");
    loop {
        let next = tokio::select! {
            () = cancel.cancelled() => break,
            next = stream.next() => next,
        };
        match next {
            Some(Ok(event)) => {
                let init_done = matches!(event, watcher::Event::InitDone);
                let (first, recovered) = health.on_event(init_done, Instant::now());
                if first {
                    tracing::info!(kind, namespace = ns, objects = store.len(), "Cache synced.");
                } else if recovered {
                    tracing::info!(kind, namespace = ns, "The watch recovered.");
                }
            }
            Some(Err(source)) => {
                let label = watch_error_label(&source);
                let error = Error::Watch {
                    kind: kind.clone(),
                    source,
                };
                if health.on_error(Instant::now()) {
                    tracing::warn!(
                        kind, namespace = ns, error = %error, label,
                        "A watch failed; retrying with back-off. Its detectors pause until it recovers."
                    );
                } else {
                    tracing::debug!(kind, namespace = ns, error = %error, label, "The watch failed again.");
                }
                metrics
                    .watch_errors
                    .get_or_create(&WatchErrorLabels {
                        kind: kind.clone(),
                        error: label,
                    })
                    .inc();
            }
            None => {
                // A kube watcher never ends on its own; if it does, the kind stays unlisted
                // from the next error-hold on rather than silently frozen.
                health.on_error(Instant::now());
                tracing::error!(kind, namespace = ns, "A watch stream ended unexpectedly.");
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cache_is_listable_only_once_synced_and_not_while_failing() {
        let h = Health::default();
        let t0 = Instant::now();
        assert!(!h.listable_at(t0));
        h.on_event(false, t0);
        assert!(!h.listable_at(t0), "InitApply is not a sync");
        assert_eq!(h.on_event(true, t0), (true, false));
        assert!(h.listable_at(t0));

        let t1 = t0 + Duration::from_secs(1);
        assert!(h.on_error(t1), "first error starts a streak");
        assert!(!h.on_error(t1), "second error does not");
        assert!(!h.listable_at(t1 + Duration::from_secs(10)));
        // A quiet kind: no event after recovery, healthy again after the hold.
        assert!(h.listable_at(t1 + ERROR_HOLD));
        // An event after the error proves the watch works.
        let t2 = t1 + Duration::from_secs(2);
        assert_eq!(h.on_event(false, t2), (false, true));
        assert!(h.listable_at(t2));
    }

    #[test]
    fn cluster_wide_watches_exclude_namespaces_server_side() {
        let events = crate::k8s::kinds::builtins()
            .into_iter()
            .find(|k| k.kind() == "Event")
            .unwrap();
        let nodes = crate::k8s::kinds::builtins()
            .into_iter()
            .find(|k| k.kind() == "Node")
            .unwrap();
        let excluded = vec!["kube-system".to_string(), "kube-public".to_string()];
        assert_eq!(
            field_selector(&events, true, &excluded).as_deref(),
            Some("type=Warning,metadata.namespace!=kube-system,metadata.namespace!=kube-public")
        );
        assert_eq!(
            field_selector(&events, false, &excluded).as_deref(),
            Some("type=Warning")
        );
        assert_eq!(field_selector(&nodes, true, &excluded), None);
    }
}
