//! Detection: pure functions from a [`Snapshot`] of objects plus an injected `now` to
//! [`Signal`]s.
//!
//! # Shape
//!
//! The cert-manager "trigger policy" chain (stack.md §5): every detector is one
//! `fn(&Snapshot, &Settings, Millis) -> Vec<Signal>` in its own module, and [`CHAIN`] lists them
//! in order. [`run`] evaluates the chain, drops signals from excluded namespaces, redacts and
//! bounds every message, and returns the signals in chain order (scanners before events, so an
//! incident seen by both is attributed to the scanner that describes its current state).
//! Nothing here sleeps or reads a clock: a grace period is "the failure started at or before
//! `now − grace`", computed from timestamps in the objects (condition transition times, event
//! first timestamps, container start times). A restart of the operator therefore loses no
//! timer, and the offline `guardian scan` gives the same answer as the live operator would have
//! at that instant.
//!
//! # Identity
//!
//! Signals carry the object the failure was seen on and its *top owner* ([`owners`]); the
//! fingerprint is `(cluster, namespace, top owner, failure class)`. Detectors that can see the
//! same failure share the classifier: the event detector classifies an event about a pod by
//! asking the pod scanner what is wrong with that pod, so a `BackOff` event and the pod's
//! `CrashLoopBackOff` both land on `Deployment/api` + `crash_loop`.
//!
//! # Resolution (the reconcile pass)
//!
//! "Could not read" never means "recovered". [`coverage`] says, per detector, over which
//! namespaces it actually ran: a detector ran where *all* its input kinds were listed
//! ([`Snapshot::listed`]; the live operator marks a kind once its reflector has synced, the
//! offline loader marks every kind present in the dump). [`recoveries`] turns that into
//! [`Observation::Recovered`] for live incidents:
//!
//! - an incident is recovered when no signal of this run has its fingerprint **and** some
//!   detector that can produce its class ([`Detector::categories`]) ran over its namespace
//!   with [`Resolution::WhenAbsent`] (the scanners: their view of the object is complete);
//! - event-only classes ([`Resolution::WhenIdle`]: events expire, their absence proves
//!   nothing) resolve only after [`Settings::event_idle_resolve_secs`] without any sighting;
//! - log-derived classes (`disk_full`, `dependency_unavailable`) are kept alive while the same
//!   top owner still fails under any pod class — logs may simply not have been fetched this
//!   time;
//! - incidents of other sources (Alertmanager) are never touched.

pub mod certs;
pub mod deployments;
pub mod endpoints;
pub mod events;
pub mod flux;
pub mod hpa;
pub mod jobs;
mod logs;
pub mod nodes;
pub mod objects;
pub mod owners;
pub mod pods;
pub mod pvcs;
pub mod snapshot;

use std::collections::{BTreeSet, HashSet};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::incident::{Incident, Severity, Status};
use crate::redact::Redactor;
use crate::signal::{ObjectRef, Observation, Signal};
use crate::taxonomy::Category;
use crate::time::{Millis, secs};

pub use snapshot::{Scope, Snapshot};

/// Longest signal message, in characters: one notification line plus context, not a log dump
/// (reference-behaviour.md §1.1: sanitized message ≤ 1 KB).
pub const MAX_MESSAGE_CHARS: usize = 1024;

/// Detection tunables. Every grace is in seconds and measured from a timestamp in the
/// objects. Defaults follow reference-behaviour.md §1; each field says why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// Cluster name, part of every fingerprint (the binary copies `cluster_name` here).
    pub cluster_name: String,
    /// Namespaces whose signals are dropped (exact names). Empty by default: a CoreDNS crash
    /// loop in kube-system is exactly what an SRE wants to hear about.
    pub exclude_namespaces: Vec<String>,
    /// Warning events last seen longer ago than this are history, not a current failure
    /// (the API server's default event TTL is 1 h).
    pub event_max_age_secs: u64,
    /// An incident only events can see resolves after this long without a sighting (events
    /// expire; their absence proves nothing sooner).
    pub event_idle_resolve_secs: u64,
    /// Image pulls get this long from pod start before `ImagePull*` is an incident: a slow
    /// registry or a first pull of a large image retries within it.
    pub image_pull_grace_secs: u64,
    /// Same for `CreateContainerConfigError`: a ConfigMap/Secret applied in the same rollout
    /// often lands a few seconds after the Deployment.
    pub create_error_grace_secs: u64,
    /// `BackOff`/`Failed` events about crashing containers need to be this old.
    pub crash_event_grace_secs: u64,
    /// A pod may be unschedulable this long (the cluster autoscaler usually adds a node
    /// within it).
    pub unschedulable_grace_secs: u64,
    /// Minimum time a running container may fail its probes before it is an incident
    /// (startup, warm caches).
    pub unhealthy_settle_secs: u64,
    /// Cap of the probe budget (initialDelay + failureThreshold × period), so a probe
    /// configured with an hour of delay cannot hide a failure for an hour.
    pub probe_budget_cap_secs: u64,
    /// `FailedMount` must persist this long: mounts retry and often succeed within it.
    pub mount_grace_secs: u64,
    /// `FailedAttachVolume` must persist this long: when a volume moves off a dead node the
    /// attach-detach controller force-detaches only after 6 minutes.
    pub attach_grace_secs: u64,
    /// `FailedCreate` (quota, admission) must persist this long: a rolling update's surge can
    /// hit a quota for a moment.
    pub failed_create_grace_secs: u64,
    /// An `OOMKilled` in `lastState` counts while it finished less than this long ago.
    pub oom_recent_secs: u64,
    /// Ready and running this long = stable: restarts and OOMs before it are recovered.
    pub stable_uptime_secs: u64,
    /// Restarts (with the last one inside the stable window) that make a running container a
    /// crash loop even between back-offs.
    pub restart_threshold: u32,
    /// A node NotReady this long is an incident (kubelet heartbeats every 10–40 s).
    pub node_not_ready_grace_secs: u64,
    /// … but a node created less than this long before going NotReady gets this much:
    /// fresh nodes flap while CNI and the kubelet come up.
    pub young_node_not_ready_grace_secs: u64,
    /// Memory/Disk/PID pressure must persist this long (the kubelet evicts and often relieves
    /// it quickly).
    pub node_pressure_grace_secs: u64,
    /// A cordon must last this long: routine drains (upgrades) finish within it.
    pub node_cordon_grace_secs: u64,
    /// A PVC may be Pending this long after creation (dynamic provisioning takes seconds to a
    /// few minutes).
    pub pvc_pending_grace_secs: u64,
    /// `ProvisioningFailed` / `FailedBinding` events must persist this long.
    pub provisioning_failed_grace_secs: u64,
    /// A Certificate may be not Ready this long (an ACME order takes a minute or two).
    pub certificate_not_ready_grace_secs: u64,
    /// Expiry within this many days is a warning.
    pub certificate_expiry_warning_days: u64,
    /// Expiry within this many days is critical.
    pub certificate_expiry_critical_days: u64,
    /// A renewal this far past its `renewalTime` is overdue (cert-manager retries with
    /// back-off; a day of failures is no longer a blip).
    pub certificate_renewal_overdue_secs: u64,
    /// A Service may have no ready endpoints this long before it is an incident (rollouts).
    pub service_no_endpoints_grace_secs: u64,
    /// An HPA pinned at its ceiling (`ScalingLimited/TooManyReplicas`) this long is an
    /// incident: brief peaks at max are what the ceiling is for.
    pub hpa_at_max_secs: u64,
    /// A Flux object `Ready=False` this long is an incident: it survived at least one retry
    /// at the common 5-minute interval. `Stalled=True` needs no grace.
    pub flux_not_ready_grace_secs: u64,
    /// Warning events about Flux objects not in the snapshot need to be this old.
    pub flux_event_grace_secs: u64,
    /// A failed Job older than this is history (its CronJob's next runs tell the story).
    pub job_failure_max_age_secs: u64,
    /// Log lines (from the end) searched for hints.
    pub log_tail_lines: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            cluster_name: "default".into(),
            exclude_namespaces: Vec::new(),
            event_max_age_secs: 3600,
            event_idle_resolve_secs: 900,
            image_pull_grace_secs: 90,
            create_error_grace_secs: 90,
            crash_event_grace_secs: 90,
            unschedulable_grace_secs: 300,
            unhealthy_settle_secs: 300,
            probe_budget_cap_secs: 600,
            mount_grace_secs: 120,
            attach_grace_secs: 360,
            failed_create_grace_secs: 120,
            oom_recent_secs: 12 * 3600,
            stable_uptime_secs: 600,
            restart_threshold: 3,
            node_not_ready_grace_secs: 120,
            young_node_not_ready_grace_secs: 300,
            node_pressure_grace_secs: 120,
            node_cordon_grace_secs: 900,
            pvc_pending_grace_secs: 300,
            provisioning_failed_grace_secs: 120,
            certificate_not_ready_grace_secs: 600,
            certificate_expiry_warning_days: 14,
            certificate_expiry_critical_days: 7,
            certificate_renewal_overdue_secs: 24 * 3600,
            service_no_endpoints_grace_secs: 300,
            hpa_at_max_secs: 900,
            flux_not_ready_grace_secs: 600,
            flux_event_grace_secs: 120,
            job_failure_max_age_secs: 24 * 3600,
            log_tail_lines: 200,
        }
    }
}

/// How an incident of a detector's class may be auto-resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    /// The detector sees the whole object: not reported while it ran = recovered.
    WhenAbsent,
    /// The detector sees occurrences (events): recovered only after a quiet period.
    WhenIdle,
}

/// A detector function.
pub type DetectFn = fn(&Snapshot, &Settings, Millis) -> Vec<Signal>;

/// One link of the chain.
#[derive(Debug, Clone, Copy)]
pub struct Detector {
    /// Name (`Signal::detector`, metric label).
    pub name: &'static str,
    /// The function.
    pub detect: DetectFn,
    /// Kinds that must be listed for the detector to have run. When `per_kind` is set, each
    /// kind is an alternative and coverage is reported per kind (Flux).
    pub inputs: &'static [&'static str],
    /// See `inputs`.
    pub per_kind: bool,
    /// Classes the detector can produce.
    pub categories: &'static [Category],
    /// How its incidents resolve.
    pub resolution: Resolution,
}

/// The ordered chain.
pub const CHAIN: &[Detector] = &[
    Detector {
        name: pods::DETECTOR,
        detect: pods::detect,
        inputs: &["Pod"],
        per_kind: false,
        categories: pods::CATEGORIES,
        resolution: Resolution::WhenAbsent,
    },
    Detector {
        name: deployments::DETECTOR,
        detect: deployments::detect,
        inputs: &["Deployment"],
        per_kind: false,
        categories: &[Category::RolloutStuck],
        resolution: Resolution::WhenAbsent,
    },
    Detector {
        name: jobs::DETECTOR,
        detect: jobs::detect,
        inputs: &["Job"],
        per_kind: false,
        categories: &[Category::JobFailed],
        resolution: Resolution::WhenAbsent,
    },
    Detector {
        name: pvcs::DETECTOR,
        detect: pvcs::detect,
        inputs: &["PersistentVolumeClaim"],
        per_kind: false,
        categories: &[Category::VolumeBinding, Category::VolumeLost],
        resolution: Resolution::WhenAbsent,
    },
    Detector {
        name: certs::DETECTOR,
        detect: certs::detect,
        inputs: &["Certificate"],
        per_kind: false,
        categories: &[Category::CertificateNotReady, Category::CertificateExpiring],
        resolution: Resolution::WhenAbsent,
    },
    Detector {
        name: endpoints::DETECTOR,
        detect: endpoints::detect,
        inputs: &["Service", "Pod"],
        per_kind: false,
        categories: &[Category::ServiceNoEndpoints],
        resolution: Resolution::WhenAbsent,
    },
    Detector {
        name: nodes::DETECTOR,
        detect: nodes::detect,
        inputs: &["Node"],
        per_kind: false,
        categories: &[
            Category::NodeNotReady,
            Category::NodePressure,
            Category::NodeCordoned,
        ],
        resolution: Resolution::WhenAbsent,
    },
    Detector {
        name: hpa::DETECTOR,
        detect: hpa::detect,
        inputs: &["HorizontalPodAutoscaler"],
        per_kind: false,
        categories: &[Category::HpaAtMax],
        resolution: Resolution::WhenAbsent,
    },
    Detector {
        name: flux::DETECTOR,
        detect: flux::detect,
        inputs: snapshot::FLUX_KINDS,
        per_kind: true,
        categories: flux::CATEGORIES,
        resolution: Resolution::WhenAbsent,
    },
    Detector {
        name: events::DETECTOR,
        detect: events::detect,
        inputs: &["Event"],
        per_kind: false,
        categories: events::CATEGORIES,
        resolution: Resolution::WhenIdle,
    },
];

/// Runs the chain with the default redactor. See the module docs.
pub fn run(snapshot: &Snapshot, settings: &Settings, now: Millis) -> Vec<Signal> {
    run_with(snapshot, settings, now, &Redactor::default())
}

/// Runs the chain with a configured redactor (one that also masks known secret values).
pub fn run_with(
    snapshot: &Snapshot,
    settings: &Settings,
    now: Millis,
    redactor: &Redactor,
) -> Vec<Signal> {
    let mut out = Vec::new();
    for detector in CHAIN {
        for mut signal in (detector.detect)(snapshot, settings, now) {
            if signal
                .namespace
                .as_ref()
                .is_some_and(|ns| settings.exclude_namespaces.contains(ns))
            {
                continue;
            }
            signal.message = bound(&redactor.redact_text(&signal.message).0);
            out.push(signal);
        }
    }
    out
}

fn bound(message: &str) -> String {
    if message.chars().count() <= MAX_MESSAGE_CHARS {
        return message.to_string();
    }
    let mut out: String = message.chars().take(MAX_MESSAGE_CHARS - 1).collect();
    out.push('…');
    out
}

/// Where one detector ran (one entry per detector, or per kind for per-kind detectors).
#[derive(Debug, Clone, PartialEq)]
pub struct Coverage {
    /// Detector name.
    pub detector: &'static str,
    /// Namespaces (or the whole cluster) it ran over.
    pub scope: Scope,
    /// Classes it can produce there.
    pub categories: &'static [Category],
    /// For per-kind detectors: the top-owner kind this entry covers.
    pub owner_kind: Option<&'static str>,
    /// How its incidents resolve.
    pub resolution: Resolution,
}

impl Coverage {
    /// Whether this entry could have reported the incident's failure.
    pub fn covers(&self, incident: &Incident) -> bool {
        self.categories.contains(&incident.category)
            && self.scope.covers(incident.namespace.as_deref())
            && self.owner_kind.is_none_or(|k| k == incident.object.kind)
    }
}

/// Which detectors ran over which namespaces, given what the snapshot listed. Detectors whose
/// inputs were not (all) listed are absent: they did not run.
pub fn coverage(snapshot: &Snapshot) -> Vec<Coverage> {
    let mut out = Vec::new();
    for d in CHAIN {
        if d.per_kind {
            for &kind in d.inputs {
                if let Some(scope) = snapshot.listed(kind) {
                    out.push(Coverage {
                        detector: d.name,
                        scope: scope.clone(),
                        categories: d.categories,
                        owner_kind: Some(kind),
                        resolution: d.resolution,
                    });
                }
            }
            continue;
        }
        let mut scope: Option<Scope> = Some(Scope::Cluster);
        for kind in d.inputs {
            scope = match (scope, snapshot.listed(kind)) {
                (Some(s), Some(l)) => Some(s.intersect(l)),
                _ => None,
            };
        }
        if let Some(scope) = scope {
            out.push(Coverage {
                detector: d.name,
                scope,
                categories: d.categories,
                owner_kind: None,
                resolution: d.resolution,
            });
        }
    }
    out
}

/// Classes inferred from logs: kept alive while the same owner still fails under any class.
const LOG_DERIVED: &[Category] = &[Category::DiskFull, Category::DependencyUnavailable];

/// The reconcile pass: which live incidents of this cluster are positively recovered, given
/// this run's signals and coverage. See the module docs for the rules.
pub fn recoveries(
    incidents: &[Incident],
    signals: &[Signal],
    coverage: &[Coverage],
    settings: &Settings,
    now: Millis,
) -> Vec<Observation> {
    let firing: BTreeSet<String> = signals.iter().map(crate::fingerprint::of).collect();
    let failing_owners: HashSet<(Option<&str>, &ObjectRef)> = signals
        .iter()
        .filter(|s| pods::CATEGORIES.contains(&s.failure_class))
        .map(|s| (s.namespace.as_deref(), &s.top_owner))
        .collect();
    let mut out = Vec::new();
    for incident in incidents {
        if incident.status == Status::Resolved
            || incident.cluster != settings.cluster_name
            || firing.contains(&incident.fingerprint)
        {
            continue;
        }
        if LOG_DERIVED.contains(&incident.category)
            && failing_owners.contains(&(incident.namespace.as_deref(), &incident.object))
        {
            continue;
        }
        let mut covering: Vec<&Coverage> = coverage.iter().filter(|c| c.covers(incident)).collect();
        // Several detectors can produce one class (the pod scanner also reports volume_binding
        // for a pod stuck on its claim); the one that opened the incident speaks first, so the
        // audit names the detector that actually saw the recovery.
        covering.sort_by_key(|c| c.detector != incident.detector);
        let verdict = if let Some(c) = covering
            .iter()
            .find(|c| c.resolution == Resolution::WhenAbsent)
        {
            Some(format!(
                "{} ran over {} and no longer reports {} on {}",
                c.detector,
                incident.namespace.as_deref().unwrap_or("the cluster"),
                incident.category,
                incident.object
            ))
        } else if let Some(c) = covering.first()
            && incident.last_seen <= now - secs(settings.event_idle_resolve_secs)
        {
            Some(format!(
                "{} has not seen {} on {} for {} s",
                c.detector, incident.category, incident.object, settings.event_idle_resolve_secs
            ))
        } else {
            None
        };
        if let Some(note) = verdict {
            out.push(Observation::Recovered {
                fingerprint: incident.fingerprint.clone(),
                detector: covering
                    .iter()
                    .find(|c| c.resolution == Resolution::WhenAbsent)
                    .or(covering.first())
                    .map_or("reconcile", |c| c.detector)
                    .to_string(),
                note,
            });
        }
    }
    out
}

/// Builds a signal. One argument per field every detector fills, so a new detector cannot
/// forget the cluster or the discriminator.
#[allow(clippy::too_many_arguments)]
pub(crate) fn signal(
    detector: &'static str,
    settings: &Settings,
    namespace: Option<&str>,
    object: ObjectRef,
    top_owner: ObjectRef,
    reason: &str,
    failure_class: Category,
    severity: Severity,
    first_seen: Millis,
    last_seen: Millis,
    message: String,
) -> Signal {
    Signal {
        detector: detector.to_string(),
        cluster: settings.cluster_name.clone(),
        namespace: namespace.filter(|n| !n.is_empty()).map(str::to_string),
        object,
        top_owner,
        reason: reason.to_string(),
        failure_class,
        severity,
        discriminator: None,
        first_seen: first_seen.min(last_seen),
        last_seen,
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_round_trip_through_serde_with_defaults() {
        let s: Settings = serde_json::from_str(r#"{"cluster_name": "prod"}"#).unwrap();
        assert_eq!(s.cluster_name, "prod");
        assert_eq!(s.node_cordon_grace_secs, 900);
        assert!(serde_json::from_str::<Settings>(r#"{"nope": 1}"#).is_err());
    }

    #[test]
    fn messages_are_bounded() {
        let long = "x".repeat(5000);
        assert_eq!(bound(&long).chars().count(), MAX_MESSAGE_CHARS);
        assert_eq!(bound("short"), "short");
    }
}
