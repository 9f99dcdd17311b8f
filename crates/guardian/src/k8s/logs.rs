//! Container logs for failing pods, fetched through the API server's `pods/log`.
//!
//! Log-derived classes (`dependency_unavailable` from connection refused / timeouts / DNS
//! failures, `disk_full` from ENOSPC) and the analysis' log evidence need the crashed instance's
//! output. Logs are not in any watch, so they cost API calls; they are fetched only for pods that
//! are failing right now, and each crashed instance's log (`previous`) is fetched once — it
//! cannot change — keyed by the container's restart count. The running instance's log of a
//! container that is not ready is refreshed at most every [`CURRENT_TTL`]. At most
//! [`MAX_FETCHES_PER_SCAN`] calls per scan bound the cost of a mass failure; the rest follow on
//! later scans. A failed fetch (no permission, kubelet unreachable) only means no log evidence.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use guardian_core::detect::Snapshot;
use guardian_core::detect::objects::Pod;
use k8s_openapi::api::core::v1::Pod as PodObject;
use kube::Api;
use kube::api::LogParams;

/// Lines fetched per log: the detectors and the analysis read the tail only.
const TAIL_LINES: i64 = 200;
/// Bytes fetched per log at most.
const LIMIT_BYTES: i64 = 256 * 1024;
/// How long a running instance's log is reused before it is fetched again.
pub const CURRENT_TTL: Duration = Duration::from_secs(120);
/// Log fetches per scan at most.
pub const MAX_FETCHES_PER_SCAN: usize = 20;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    namespace: String,
    pod: String,
    container: String,
    previous: bool,
}

struct Entry {
    /// Restart count the text belongs to (previous logs) — a new crash makes it stale.
    restarts: i64,
    fetched: Instant,
    /// `None`: the fetch failed; not retried for this restart count.
    text: Option<String>,
}

/// The log cache of the scan loop.
pub struct LogCache {
    client: kube::Client,
    entries: HashMap<Key, Entry>,
}

/// What one pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Attached {
    /// Logs added to the snapshot.
    pub attached: usize,
    /// API calls made.
    pub fetched: usize,
    /// Calls that failed.
    pub failed: usize,
}

/// The logs worth reading for a pod: (container, previous instance?, restart count).
fn wanted(pod: &Pod) -> Vec<(String, bool, i64)> {
    let mut out = Vec::new();
    for c in pod
        .status
        .init_container_statuses
        .iter()
        .chain(&pod.status.container_statuses)
    {
        let restarts = c.restart_count.unwrap_or(0);
        let crashed = c.last_state.terminated.is_some() && restarts > 0;
        if crashed {
            out.push((c.name.clone(), true, restarts));
        }
        if c.state.running.is_some() && !c.ready {
            out.push((c.name.clone(), false, restarts));
        }
    }
    out
}

impl LogCache {
    /// An empty cache using `client`.
    pub fn new(client: kube::Client) -> Self {
        Self {
            client,
            entries: HashMap::new(),
        }
    }

    /// Fetches (or reuses) the logs of failing pods and attaches them to `snapshot`.
    pub async fn attach(&mut self, snapshot: &mut Snapshot) -> Attached {
        let mut report = Attached::default();
        let mut seen = Vec::new();
        let mut work = Vec::new();
        for pod in snapshot.pods() {
            let namespace = pod.metadata.namespace.clone().unwrap_or_default();
            for (container, previous, restarts) in wanted(pod) {
                work.push(Key {
                    namespace: namespace.clone(),
                    pod: pod.metadata.name.clone(),
                    container,
                    previous,
                });
                seen.push(restarts);
            }
        }
        for (key, restarts) in work.into_iter().zip(seen) {
            let fresh = self.entries.get(&key).is_some_and(|e| {
                if key.previous {
                    e.restarts == restarts
                } else {
                    e.fetched.elapsed() < CURRENT_TTL
                }
            });
            if !fresh && report.fetched < MAX_FETCHES_PER_SCAN {
                report.fetched += 1;
                let text = self.fetch(&key).await;
                if text.is_none() {
                    report.failed += 1;
                }
                self.entries.insert(
                    key.clone(),
                    Entry {
                        restarts,
                        fetched: Instant::now(),
                        text,
                    },
                );
            }
            if let Some(Entry {
                text: Some(text), ..
            }) = self.entries.get(&key)
            {
                snapshot.add_log(
                    &key.namespace,
                    &key.pod,
                    Some(&key.container),
                    key.previous,
                    text,
                );
                report.attached += 1;
            }
        }
        // Forget pods that are gone or healthy again, so the cache stays as small as the
        // failure.
        let live: Vec<(String, String)> = snapshot
            .pods()
            .map(|p| {
                (
                    p.metadata.namespace.clone().unwrap_or_default(),
                    p.metadata.name.clone(),
                )
            })
            .collect();
        self.entries.retain(|k, _| {
            live.iter()
                .any(|(ns, name)| *ns == k.namespace && *name == k.pod)
        });
        report
    }

    async fn fetch(&self, key: &Key) -> Option<String> {
        let api: Api<PodObject> = Api::namespaced(self.client.clone(), &key.namespace);
        let params = LogParams {
            container: Some(key.container.clone()),
            previous: key.previous,
            tail_lines: Some(TAIL_LINES),
            limit_bytes: Some(LIMIT_BYTES),
            ..LogParams::default()
        };
        match api.logs(&key.pod, &params).await {
            Ok(text) => Some(text),
            Err(error) => {
                tracing::debug!(
                    namespace = %key.namespace, pod = %key.pod, container = %key.container,
                    previous = key.previous, error = %error,
                    "Unable to read a container log; analysing without it."
                );
                None
            }
        }
    }
}
