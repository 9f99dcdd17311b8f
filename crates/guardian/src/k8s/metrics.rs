//! Metrics of the Kubernetes side, registered under `guardian_kubernetes_*` next to the
//! engine's `guardian_*` families (same registry, built in `serve::build_with`). Each is
//! recorded next to the log line describing the same occurrence.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// Labels: one kind.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabels {
    /// Kind (`Pod`, `Kustomization`); bounded by the watched kinds.
    pub kind: String,
}

/// Labels: a failed watch.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct WatchErrorLabels {
    /// Kind.
    pub kind: String,
    /// `k8s::watch_error_label` (`forbidden`, `connection`, `gone`, …).
    pub error: &'static str,
}

/// Labels: how a scan ended.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ScanLabels {
    /// `completed`, or `store_error` when the reconcile pass could not list incidents.
    pub outcome: &'static str,
}

/// Every Kubernetes metric.
#[derive(Debug)]
pub struct KubernetesMetrics {
    /// Watch failures (each is retried with back-off).
    pub watch_errors: Family<WatchErrorLabels, Counter>,
    /// 1 while a kind is synced and healthy (listed in scans), else 0.
    pub kind_listed: Family<KindLabels, Gauge>,
    /// Objects cached per kind at the last scan.
    pub cached_objects: Family<KindLabels, Gauge>,
    /// Scans run.
    pub scans: Family<ScanLabels, Counter>,
    /// Scan duration (snapshot, detection, store writes).
    pub scan_duration_seconds: Histogram,
}

impl Default for KubernetesMetrics {
    fn default() -> Self {
        Self {
            watch_errors: Family::default(),
            kind_listed: Family::default(),
            cached_objects: Family::default(),
            scans: Family::default(),
            // 5 ms … ~40 s: a small namespace scans in milliseconds, a large cluster in seconds.
            scan_duration_seconds: Histogram::new(exponential_buckets(0.005, 2.0, 14)),
        }
    }
}

impl KubernetesMetrics {
    /// Registers every metric under the `guardian_kubernetes` prefix.
    pub fn register(&self, registry: &mut Registry) {
        let r = registry.sub_registry_with_prefix("guardian_kubernetes");
        r.register(
            "watch_errors",
            "Failed watches of a kind (retried with back-off)",
            self.watch_errors.clone(),
        );
        r.register(
            "kind_listed",
            "1 while a kind's caches are synced and healthy, else 0",
            self.kind_listed.clone(),
        );
        r.register(
            "cached_objects",
            "Objects in the watch caches at the last scan",
            self.cached_objects.clone(),
        );
        r.register("scans", "Scans of the watch caches", self.scans.clone());
        r.register(
            "scan_duration_seconds",
            "Duration of one scan",
            self.scan_duration_seconds.clone(),
        );
    }
}
