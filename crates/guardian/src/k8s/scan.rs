//! The scan timer: reflector caches → [`Snapshot`] → detectors → engine, then the reconcile
//! pass.
//!
//! One scan, every `kubernetes.scan_interval_secs`:
//!
//! 1. **Snapshot.** Every cache that is [listable](super::reflect::Health::listable) is
//!    copied in (each object → `serde_json::Value` → [`Snapshot::insert`]) and its kind marked
//!    listed over the reflector's scope; the others are left out entirely, so the detectors
//!    that need them do not run and cannot resolve anything.
//! 2. **Detect.** [`detect::run_with`] with `now` from the engine's clock (the same clock that
//!    stamps incidents), the configured detection settings and the mandatory redactor.
//! 3. **Exclusions.** Signals whose object or top owner carries an excluded label are dropped.
//! 4. **Observe.** Signals are collapsed to one per fingerprint (highest severity, earliest
//!    start) and each is fed to [`Engine::observe`] as [`Observation::Firing`]: one sighting
//!    per incident per scan, however many pods or events back it.
//! 5. **Reconcile.** Live incidents (open and acknowledged) of this cluster, minus those
//!    inside an exclusion, go through [`detect::recoveries`] with this scan's signals and
//!    [`detect::coverage`]; each verdict is fed as [`Observation::Recovered`].
//!
//! The first scan waits for every cache's initial sync, at most `startup_grace_secs`: scanning
//! while, say, ReplicaSets are still listing would key pod failures on the wrong owner.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use guardian_core::detect::{self, Snapshot};
use guardian_core::redact::Redactor;
use guardian_core::signal::{Observation, Signal};
use guardian_core::{Incident, Status};
use tokio_util::sync::CancellationToken;

use super::Error;
use super::metrics::{KindLabels, KubernetesMetrics, ScanLabels};
use super::reflect::Reflector;
use super::selector::{LabelSelector, SelectorError};
use crate::config::{Config, KubernetesConfig};
use crate::engine::Engine;
use crate::store::{IncidentStore, ListFilter};

/// Most live incidents read by one reconcile pass; far above any sane cluster's count, and a
/// bound on the cost of one scan.
const MAX_LIVE_INCIDENTS: u32 = 100_000;

/// How often the start-up wait checks whether the caches have synced.
const SYNC_POLL: Duration = Duration::from_millis(100);

/// `(namespace or "", kind, name)` of an object.
type ObjectKey = (String, String, String);

/// What the operator must not look at.
#[derive(Debug, Clone)]
pub struct Exclusions {
    namespaces: BTreeSet<String>,
    labels: Vec<LabelSelector>,
}

impl Exclusions {
    /// From the `kubernetes` config section.
    pub fn new(config: &KubernetesConfig) -> Result<Self, SelectorError> {
        Ok(Self {
            namespaces: config.exclude_namespaces.iter().cloned().collect(),
            labels: config
                .exclude_labels
                .iter()
                .map(|s| LabelSelector::parse(s))
                .collect::<Result<_, _>>()?,
        })
    }

    /// Whether a namespace is excluded.
    pub fn namespace(&self, namespace: &str) -> bool {
        self.namespaces.contains(namespace)
    }

    /// Whether an object with these labels is excluded.
    pub fn labels(&self, labels: &BTreeMap<String, String>) -> bool {
        self.labels.iter().any(|s| s.matches(labels))
    }
}

/// What one scan did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScanReport {
    /// Objects copied into the snapshot.
    pub objects: usize,
    /// Signals after exclusions.
    pub signals: usize,
    /// Distinct fingerprints observed (one sighting each).
    pub fingerprints: usize,
    /// Incidents reported recovered.
    pub recovered: usize,
    /// Caches left out (`Kind` or `Kind/namespace`): not synced or failing.
    pub unlisted: Vec<String>,
    /// Objects that could not be read (skipped).
    pub malformed: usize,
    /// Container logs attached (failing pods only).
    pub logs: usize,
}

/// The scan loop's state.
pub struct Scanner {
    reflectors: Arc<Vec<Reflector>>,
    engine: Arc<Engine>,
    settings: detect::Settings,
    exclusions: Exclusions,
    redactor: Arc<Redactor>,
    metrics: Arc<KubernetesMetrics>,
    /// Unlisted caches of the previous scan, so the warning is logged on change only.
    last_unlisted: Vec<String>,
    /// Malformed-object count of the previous scan, same reason.
    last_malformed: usize,
    /// Where the analyzer reads the cluster view from: the snapshot of the latest scan.
    latest: Arc<crate::analyze::Latest>,
    /// Logs of failing pods (`None` in tests that need no API calls).
    logs: Option<super::logs::LogCache>,
}

impl Scanner {
    /// Builds a scanner over started reflectors.
    pub fn new(
        reflectors: Arc<Vec<Reflector>>,
        engine: Arc<Engine>,
        config: &Config,
        redactor: Arc<Redactor>,
        metrics: Arc<KubernetesMetrics>,
        latest: Arc<crate::analyze::Latest>,
        logs: Option<super::logs::LogCache>,
    ) -> Result<Self, SelectorError> {
        Ok(Self {
            reflectors,
            engine,
            settings: config.kubernetes.detection_settings(&config.cluster_name),
            exclusions: Exclusions::new(&config.kubernetes)?,
            redactor,
            metrics,
            last_unlisted: Vec::new(),
            last_malformed: 0,
            latest,
            logs,
        })
    }

    /// Waits for the initial sync (at most `startup_grace`), then scans every `interval`
    /// until cancelled.
    pub async fn run(
        mut self,
        interval: Duration,
        startup_grace: Duration,
        cancel: CancellationToken,
    ) {
        let deadline = Instant::now() + startup_grace;
        loop {
            if self.reflectors.iter().all(|r| r.health.synced()) {
                tracing::info!(
                    caches = self.reflectors.len(),
                    "Every cache synced; scanning."
                );
                break;
            }
            if Instant::now() >= deadline {
                let pending: Vec<String> = self
                    .reflectors
                    .iter()
                    .filter(|r| !r.health.synced())
                    .map(label)
                    .collect();
                tracing::warn!(
                    pending = %pending.join(","),
                    startup_grace_secs = startup_grace.as_secs(),
                    "Some caches did not sync within the start-up grace; scanning without them."
                );
                break;
            }
            tokio::select! {
                () = cancel.cancelled() => return,
                () = tokio::time::sleep(SYNC_POLL) => {}
            }
        }
        let mut timer = tokio::time::interval(interval);
        timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = cancel.cancelled() => break,
                _ = timer.tick() => { self.scan_once().await; }
            }
        }
    }

    /// Runs one scan; see the module docs.
    pub async fn scan_once(&mut self) -> ScanReport {
        let started = Instant::now();
        let now = self.engine.clock.now();
        let mut report = ScanReport::default();
        let (mut snapshot, excluded) = self.snapshot(&mut report);
        if let Some(logs) = &mut self.logs {
            let attached = logs.attach(&mut snapshot).await;
            report.logs = attached.attached;
        }

        let mut signals = detect::run_with(&snapshot, &self.settings, now, &self.redactor);
        signals.retain(|s| !is_excluded(&excluded, s));
        report.signals = signals.len();
        let collapsed = collapse(&signals);
        report.fingerprints = collapsed.len();
        for signal in collapsed {
            // Store failures are logged and counted by the engine; the next scan retries.
            let _ = self.engine.observe(&Observation::Firing(signal)).await;
        }

        let outcome = match self.live_incidents(&excluded).await {
            Ok(live) => {
                let coverage = detect::coverage(&snapshot);
                let recoveries =
                    detect::recoveries(&live, &signals, &coverage, &self.settings, now);
                report.recovered = recoveries.len();
                for recovery in &recoveries {
                    let _ = self.engine.observe(recovery).await;
                }
                "completed"
            }
            Err(error) => {
                tracing::error!(
                    error = %error, label = error.metric_label(),
                    "Unable to read live incidents; skipping the reconcile pass of this scan."
                );
                "store_error"
            }
        };
        self.metrics
            .scans
            .get_or_create(&ScanLabels { outcome })
            .inc();
        let elapsed = started.elapsed();
        self.metrics
            .scan_duration_seconds
            .observe(elapsed.as_secs_f64());
        tracing::debug!(
            objects = report.objects,
            signals = report.signals,
            incidents = report.fingerprints,
            recovered = report.recovered,
            unlisted = report.unlisted.len(),
            duration_ms = elapsed.as_millis() as u64,
            "Scanned the caches."
        );
        self.latest.set(Arc::new(snapshot));
        report
    }

    /// Copies the listable caches into a snapshot; returns it with the label-excluded objects.
    fn snapshot(&mut self, report: &mut ScanReport) -> (Snapshot, HashSet<ObjectKey>) {
        let mut snapshot = Snapshot::new();
        let mut excluded = HashSet::new();
        let mut per_kind: BTreeMap<String, (i64, bool)> = BTreeMap::new();
        let mut first_malformed: Option<String> = None;
        for r in self.reflectors.iter() {
            let kind = r.kind.kind().to_string();
            let listable = r.health.listable();
            let entry = per_kind.entry(kind.clone()).or_insert((0, true));
            entry.1 &= listable;
            if !listable {
                report.unlisted.push(label(r));
                continue;
            }
            let objects = r.store.state();
            entry.0 += i64::try_from(objects.len()).unwrap_or(i64::MAX);
            for object in objects {
                let namespace = object.metadata.namespace.clone().unwrap_or_default();
                if !namespace.is_empty() && self.exclusions.namespace(&namespace) {
                    continue;
                }
                let name = object.metadata.name.clone().unwrap_or_default();
                if let Some(labels) = &object.metadata.labels
                    && self.exclusions.labels(labels)
                {
                    excluded.insert((namespace, kind.clone(), name.clone()));
                }
                let Ok(mut value) = serde_json::to_value(&*object) else {
                    report.malformed += 1;
                    continue;
                };
                if let Some(map) = value.as_object_mut() {
                    // List items come without `kind`/`apiVersion`; the snapshot keys on them.
                    map.insert("kind".into(), kind.clone().into());
                    map.insert(
                        "apiVersion".into(),
                        r.kind.resource.api_version.clone().into(),
                    );
                }
                match snapshot.insert(value) {
                    Ok(_) => report.objects += 1,
                    Err(e) => {
                        report.malformed += 1;
                        first_malformed.get_or_insert_with(|| e.to_string());
                    }
                }
            }
            snapshot.mark_listed(&kind, r.scope());
        }
        for (kind, (count, listed)) in per_kind {
            let labels = KindLabels { kind };
            self.metrics
                .cached_objects
                .get_or_create(&labels)
                .set(count);
            self.metrics
                .kind_listed
                .get_or_create(&labels)
                .set(i64::from(listed));
        }
        if report.unlisted != self.last_unlisted {
            if report.unlisted.is_empty() {
                tracing::info!("Every cache is synced and healthy again; all detectors run.");
            } else {
                tracing::warn!(
                    caches = %report.unlisted.join(","),
                    "Some caches are not synced or their watch is failing; detectors that need them are paused and resolve nothing."
                );
            }
            self.last_unlisted = report.unlisted.clone();
        }
        if report.malformed != self.last_malformed {
            if report.malformed > 0 {
                tracing::warn!(
                    count = report.malformed,
                    example = first_malformed.as_deref().unwrap_or(""),
                    "Some cached objects could not be read; they are left out of the scans."
                );
            }
            self.last_malformed = report.malformed;
        }
        (snapshot, excluded)
    }

    /// Open and acknowledged incidents of this cluster that the reconcile pass may judge.
    async fn live_incidents(&self, excluded: &HashSet<ObjectKey>) -> Result<Vec<Incident>, Error> {
        let filter = ListFilter {
            statuses: Some(vec![Status::Open, Status::Acknowledged]),
            limit: MAX_LIVE_INCIDENTS,
            ..ListFilter::default()
        };
        let incidents = self
            .engine
            .store
            .list(&filter)
            .await
            .map_err(|source| Error::Store { source })?;
        Ok(incidents
            .into_iter()
            .filter(|i| i.cluster == self.settings.cluster_name)
            .filter(|i| {
                let ns = i.namespace.clone().unwrap_or_default();
                // Excluded means "not looked at": such incidents are neither kept alive nor
                // resolved.
                !(self.exclusions.namespace(&ns)
                    || excluded.contains(&(ns, i.object.kind.clone(), i.object.name.clone())))
            })
            .collect())
    }
}

fn label(r: &Reflector) -> String {
    match &r.namespace {
        Some(ns) => format!("{}/{ns}", r.kind.kind()),
        None => r.kind.kind().to_string(),
    }
}

fn is_excluded(excluded: &HashSet<ObjectKey>, signal: &Signal) -> bool {
    if excluded.is_empty() {
        return false;
    }
    let ns = signal.namespace.clone().unwrap_or_default();
    [&signal.object, &signal.top_owner]
        .iter()
        .any(|o| excluded.contains(&(ns.clone(), o.kind.clone(), o.name.clone())))
}

/// One signal per fingerprint, in first-seen chain order (scanners before events, so the
/// scanner's description wins), with the group's highest severity and earliest start.
pub fn collapse(signals: &[Signal]) -> Vec<Signal> {
    let mut order: Vec<String> = Vec::new();
    let mut by_fingerprint: BTreeMap<String, Signal> = BTreeMap::new();
    for s in signals {
        let fp = guardian_core::fingerprint::of(s);
        match by_fingerprint.get_mut(&fp) {
            Some(kept) => {
                kept.severity = kept.severity.max(s.severity);
                kept.first_seen = kept.first_seen.min(s.first_seen);
                kept.last_seen = kept.last_seen.max(s.last_seen);
            }
            None => {
                order.push(fp.clone());
                by_fingerprint.insert(fp, s.clone());
            }
        }
    }
    order
        .into_iter()
        .filter_map(|fp| by_fingerprint.remove(&fp))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use guardian_core::{Category, ObjectRef, Severity};

    fn signal(pod: &str, severity: Severity, first_seen: i64) -> Signal {
        Signal {
            detector: "pod_scanner".into(),
            cluster: "c".into(),
            namespace: Some("shop".into()),
            object: ObjectRef::new("Pod", pod),
            top_owner: ObjectRef::new("Deployment", "api"),
            reason: "CrashLoopBackOff".into(),
            failure_class: Category::CrashLoop,
            severity,
            discriminator: None,
            first_seen,
            last_seen: 100,
            message: pod.into(),
        }
    }

    #[test]
    fn pods_of_one_owner_collapse_to_one_sighting() {
        let mut other = signal("db-0", Severity::Warning, 5);
        other.top_owner = ObjectRef::new("StatefulSet", "db");
        let out = collapse(&[
            signal("api-1", Severity::Warning, 50),
            other,
            signal("api-2", Severity::Critical, 10),
        ]);
        assert_eq!(out.len(), 2);
        assert_eq!(
            out[0].message, "api-1",
            "the first signal's description is kept"
        );
        assert_eq!(out[0].severity, Severity::Critical);
        assert_eq!(out[0].first_seen, 10);
        assert_eq!(out[1].top_owner.name, "db");
    }

    #[test]
    fn label_exclusions_cover_the_object_and_its_top_owner() {
        let mut excluded = HashSet::new();
        excluded.insert((
            "shop".to_string(),
            "Deployment".to_string(),
            "api".to_string(),
        ));
        assert!(is_excluded(
            &excluded,
            &signal("api-1", Severity::Warning, 1)
        ));
        let mut s = signal("web-1", Severity::Warning, 1);
        s.top_owner = ObjectRef::new("Deployment", "web");
        assert!(!is_excluded(&excluded, &s));
        excluded.insert(("shop".to_string(), "Pod".to_string(), "web-1".to_string()));
        assert!(is_excluded(&excluded, &s));
    }

    #[test]
    fn exclusions_parse_the_config() {
        let config = KubernetesConfig::default();
        let e = Exclusions::new(&config).unwrap();
        assert!(e.namespace("kube-system"));
        assert!(!e.namespace("shop"));
        let labels: BTreeMap<String, String> =
            [("guardian.io/ignore".to_string(), "true".to_string())].into();
        assert!(e.labels(&labels));
        assert!(!e.labels(&BTreeMap::new()));
    }
}
