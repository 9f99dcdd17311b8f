//! Warning-event detector.
//!
//! **Signal:** a `Warning` event whose reason is watched ([`rule`]), first seen at or before
//! `now − grace` (per reason), last seen within [`Settings::event_max_age_secs`], and still
//! relevant: when the snapshot holds the involved object, that object must still show the
//! problem. `Normal` events never produce signals.
//!
//! | reasons | class | grace |
//! |---|---|---|
//! | `BackOff`, `Failed`, `Error`, `CrashLoopBackOff`, `ErrImagePull`, `ImagePullBackOff`, `ErrImageNeverPull`, `InspectFailed`, `CreateContainerConfigError`, `CreateContainerError`, `Unhealthy`, `ProbeWarning` on a Pod | whatever the pod scanner says about that pod (crash_loop, oom_killed, image_pull_*, config_error, probe_failure, disk_full, dependency_unavailable) | 90 s (`Unhealthy`: 300 s) |
//! | `Evicted` | `pod_evicted` | none |
//! | `FailedScheduling` | `unschedulable_resources` / `_constraints` / `volume_binding` | 300 s; dropped unless the pod is still Pending |
//! | `FailedMount`, `FailedMapVolume` / `FailedAttachVolume` | `volume_mount` | 120 s / 360 s; dropped once the pod is Ready |
//! | `FailedCreate` (ReplicaSet, StatefulSet, DaemonSet, Job) | `quota_exceeded` ("exceeded quota"), else `config_error` (admission refused the pod) | 120 s; dropped once the owner is healthy |
//! | `BackoffLimitExceeded`, `DeadlineExceeded` (Job) | `job_failed` | none |
//! | `ProvisioningFailed`, `FailedBinding` (PVC) | `volume_binding` | 120 s; dropped once Bound |
//! | `NodeNotReady` (Node, or a Pod on that node) | `node_not_ready` on the Node, critical | the node scanner's grace |
//! | any Warning on a Flux object not in the snapshot | the Flux classes | 120 s |
//!
//! An event about a pod that the snapshot holds is classified by the pod scanner's
//! [`super::pods::assess`], so it lands in the same incident; if the pod no longer shows any
//! problem the event is history and dropped. An event about an object missing from a
//! snapshot that listed its kind is dropped too (the object is gone). Only when the kind was
//! not listed at all is the event's own reason and message used.
//!
//! **Resolution:** idle — events expire, so an event-only incident resolves after
//! [`Settings::event_idle_resolve_secs`] without sightings; classes a scanner also produces
//! resolve through that scanner.

use crate::incident::Severity;
use crate::signal::{ObjectRef, Signal};
use crate::taxonomy::Category;
use crate::time::{Millis, secs};

use super::objects::{Event, condition};
use super::owners::{OwnerHealth, owner_health, top_owner, top_owner_of_pod_name};
use super::pods::{self, Family};
use super::snapshot::{FLUX_KINDS, Snapshot};
use super::{Settings, flux, jobs, nodes, signal};

/// Detector name.
pub const DETECTOR: &str = "warning_events";

/// Classes this detector can produce.
pub const CATEGORIES: &[Category] = &[
    Category::CrashLoop,
    Category::OomKilled,
    Category::DiskFull,
    Category::DependencyUnavailable,
    Category::ImagePullNotFound,
    Category::ImagePullAuth,
    Category::ImagePullOther,
    Category::ConfigError,
    Category::ProbeFailure,
    Category::PodEvicted,
    Category::UnschedulableResources,
    Category::UnschedulableConstraints,
    Category::VolumeBinding,
    Category::VolumeMount,
    Category::QuotaExceeded,
    Category::JobFailed,
    Category::NodeNotReady,
    Category::FluxSourceError,
    Category::FluxBuildError,
    Category::FluxDependencyNotReady,
    Category::HelmReleaseFailed,
];

/// What a watched reason is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rule {
    /// A pod status problem of these families.
    PodStatus(&'static [Family]),
    /// Scheduling.
    Scheduling,
    /// Volume mount/attach.
    Mount,
    /// Pod creation refused.
    FailedCreate,
    /// Job failure.
    JobFailed,
    /// PVC provisioning.
    Provisioning,
    /// Node not ready.
    NodeNotReady,
}

/// The watched reasons. `message` disambiguates the overloaded `BackOff` / `Failed` /
/// `Unhealthy` reasons.
pub(crate) fn rule(reason: &str, message: &str) -> Option<Rule> {
    let m = message.to_ascii_lowercase();
    Some(match reason {
        "BackOff" if m.contains("pulling image") => Rule::PodStatus(&[Family::Image]),
        "BackOff" | "CrashLoopBackOff" | "Error" | "OOMKilled" => Rule::PodStatus(&[Family::Crash]),
        "Failed" if m.contains("pull") || m.contains("image") => Rule::PodStatus(&[Family::Image]),
        "Failed"
            if m.contains("configmap")
                || m.contains("secret")
                || m.contains("couldn't find key")
                || m.contains("createcontainerconfigerror") =>
        {
            Rule::PodStatus(&[Family::Config])
        }
        "Failed" => Rule::PodStatus(&[Family::Crash, Family::Config]),
        "ErrImagePull" | "ImagePullBackOff" | "ErrImageNeverPull" | "InspectFailed" => {
            Rule::PodStatus(&[Family::Image])
        }
        "CreateContainerConfigError" | "CreateContainerError" => Rule::PodStatus(&[Family::Config]),
        // A failing liveness/startup probe restarts the container: the pod may show it as a
        // crash loop by now.
        "Unhealthy" | "ProbeWarning" if m.contains("readiness") => {
            Rule::PodStatus(&[Family::Probe])
        }
        "Unhealthy" | "ProbeWarning" => Rule::PodStatus(&[Family::Probe, Family::Crash]),
        "Evicted" => Rule::PodStatus(&[Family::Evicted]),
        "FailedScheduling" => Rule::Scheduling,
        "FailedMount" | "FailedMapVolume" | "FailedAttachVolume" => Rule::Mount,
        "FailedCreate" => Rule::FailedCreate,
        "BackoffLimitExceeded" | "DeadlineExceeded" => Rule::JobFailed,
        "ProvisioningFailed" | "FailedBinding" => Rule::Provisioning,
        "NodeNotReady" => Rule::NodeNotReady,
        _ => return None,
    })
}

fn grace_secs(rule: Rule, reason: &str, settings: &Settings) -> u64 {
    match rule {
        Rule::PodStatus(f) if f.contains(&Family::Evicted) => 0,
        Rule::PodStatus(f) if f.contains(&Family::Probe) => settings.unhealthy_settle_secs,
        Rule::PodStatus(f) if f.contains(&Family::Image) => settings.image_pull_grace_secs,
        Rule::PodStatus(f) if f == [Family::Config] => settings.create_error_grace_secs,
        Rule::PodStatus(_) => settings.crash_event_grace_secs,
        Rule::Scheduling => settings.unschedulable_grace_secs,
        Rule::Mount if reason == "FailedAttachVolume" => settings.attach_grace_secs,
        Rule::Mount => settings.mount_grace_secs,
        Rule::FailedCreate => settings.failed_create_grace_secs,
        Rule::JobFailed => 0,
        Rule::Provisioning => settings.provisioning_failed_grace_secs,
        Rule::NodeNotReady => settings.node_not_ready_grace_secs,
    }
}

/// Whether the snapshot listed `kind` where `namespace` lives: then a missing object is gone.
fn listed(snap: &Snapshot, kind: &str, namespace: Option<&str>) -> bool {
    snap.listed(kind).is_some_and(|s| s.covers(namespace))
}

/// The event detector.
pub fn detect(snap: &Snapshot, settings: &Settings, now: Millis) -> Vec<Signal> {
    let mut out = Vec::new();
    for e in snap.events() {
        if e.type_ != "Warning" {
            continue;
        }
        let (Some(first), Some(last)) = (e.first_seen, e.last_seen) else {
            // No time at all: no grace can be proven.
            continue;
        };
        if last < now - secs(settings.event_max_age_secs) {
            continue;
        }
        if FLUX_KINDS.contains(&e.involved.kind.as_str()) {
            flux_event(snap, settings, now, e, first, last, &mut out);
            continue;
        }
        let Some(rule) = rule(&e.reason, &e.message) else {
            continue;
        };
        if first > now - secs(grace_secs(rule, &e.reason, settings)) {
            continue;
        }
        let ctx = Ctx {
            snap,
            settings,
            now,
            e,
            first,
            last,
        };
        match (e.involved.kind.as_str(), rule) {
            ("Pod", Rule::NodeNotReady) => {
                if let Some(node) = e
                    .namespace()
                    .and_then(|ns| snap.pod(ns, &e.involved.name))
                    .and_then(|p| p.spec.node_name.clone())
                {
                    ctx.node(&node, &mut out);
                }
            }
            ("Pod", _) => ctx.pod(rule, &mut out),
            ("Node", Rule::NodeNotReady) => ctx.node(&e.involved.name, &mut out),
            ("ReplicaSet" | "StatefulSet" | "DaemonSet" | "Job", Rule::FailedCreate) => {
                ctx.failed_create(&mut out);
            }
            ("Job", Rule::JobFailed) => ctx.job(&mut out),
            ("PersistentVolumeClaim", Rule::Provisioning) => ctx.pvc(&mut out),
            _ => {}
        }
    }
    out
}

/// One event being judged.
struct Ctx<'a> {
    snap: &'a Snapshot,
    settings: &'a Settings,
    now: Millis,
    e: &'a Event,
    first: Millis,
    last: Millis,
}

impl Ctx<'_> {
    fn ns(&self) -> Option<&str> {
        self.e.namespace()
    }

    fn object(&self) -> ObjectRef {
        ObjectRef::new(&self.e.involved.kind, &self.e.involved.name)
    }

    fn message(&self) -> String {
        let count = if self.e.count > 1 {
            format!(" (×{})", self.e.count)
        } else {
            String::new()
        };
        format!(
            "{} {}: {}{count}",
            self.e.involved.kind, self.e.involved.name, self.e.message
        )
    }

    fn emit(
        &self,
        out: &mut Vec<Signal>,
        owner: ObjectRef,
        class: Category,
        severity: Severity,
        message: String,
    ) {
        out.push(signal(
            DETECTOR,
            self.settings,
            self.ns(),
            self.object(),
            owner,
            &self.e.reason,
            class,
            severity,
            self.first,
            self.last.max(self.first),
            message,
        ));
    }

    fn pod(&self, rule: Rule, out: &mut Vec<Signal>) {
        let ns = self.ns().unwrap_or("");
        let name = &self.e.involved.name;
        match self.snap.pod(ns, name) {
            Some(pod) => {
                let owner = top_owner(self.snap, "Pod", &pod.metadata);
                let families: &[Family] = match rule {
                    Rule::PodStatus(families) => families,
                    Rule::Scheduling => &[Family::Scheduling],
                    _ => &[],
                };
                for p in pods::assess(self.snap, self.settings, self.now, pod) {
                    if families.contains(&p.family) {
                        self.emit(
                            out,
                            owner.clone(),
                            p.category,
                            p.severity,
                            format!(
                                "{}. Event: {}",
                                p.message.trim_end_matches(['.', ' ']),
                                self.message()
                            ),
                        );
                    }
                }
                let ready = condition(&pod.status.conditions, "Ready").is_some_and(|c| c.is_true());
                if rule == Rule::Mount
                    && !ready
                    && !matches!(pod.status.phase.as_str(), "Succeeded" | "Failed")
                {
                    self.emit(
                        out,
                        owner,
                        Category::VolumeMount,
                        Severity::Warning,
                        self.message(),
                    );
                }
            }
            None if listed(self.snap, "Pod", self.ns()) => {}
            None => {
                let owner = top_owner_of_pod_name(self.snap, ns, name);
                let class = match rule {
                    Rule::PodStatus(f) if f.contains(&Family::Image) => {
                        pods::classify_pull(&self.e.reason, &self.e.message)
                    }
                    Rule::PodStatus(f) if f == [Family::Config] => Category::ConfigError,
                    Rule::PodStatus(f) if f.contains(&Family::Probe) => Category::ProbeFailure,
                    Rule::PodStatus(f) if f.contains(&Family::Evicted) => Category::PodEvicted,
                    Rule::PodStatus(_) if self.e.reason == "OOMKilled" => Category::OomKilled,
                    Rule::PodStatus(_) => Category::CrashLoop,
                    Rule::Scheduling => pods::classify_scheduling(&self.e.message),
                    Rule::Mount => Category::VolumeMount,
                    _ => return,
                };
                let severity = if class == Category::OomKilled {
                    Severity::Critical
                } else {
                    Severity::Warning
                };
                self.emit(out, owner, class, severity, self.message());
            }
        }
    }

    fn node(&self, node_name: &str, out: &mut Vec<Signal>) {
        let obj = ObjectRef::new("Node", node_name);
        let message = match self.snap.node(node_name) {
            Some(node) if node.metadata.deletion_timestamp.is_some() => return,
            Some(node) => match nodes::not_ready(node, self.settings, self.now) {
                Some((_, m)) => m,
                None => return,
            },
            None if listed(self.snap, "Node", None) => return,
            None => self.message(),
        };
        out.push(signal(
            DETECTOR,
            self.settings,
            None,
            obj.clone(),
            obj,
            &self.e.reason,
            Category::NodeNotReady,
            Severity::Critical,
            self.first,
            self.last.max(self.first),
            message,
        ));
    }

    fn failed_create(&self, out: &mut Vec<Signal>) {
        let ns = self.ns().unwrap_or("");
        let kind = self.e.involved.kind.as_str();
        let name = &self.e.involved.name;
        let meta = match kind {
            "Job" => self.snap.job(ns, name).map(|j| &j.metadata),
            _ => self.snap.workload(kind, ns, name).map(|w| &w.metadata),
        };
        let owner = match meta {
            Some(meta) => {
                let owner = top_owner(self.snap, kind, meta);
                if owner_health(self.snap, ns, &owner) == OwnerHealth::Healthy {
                    return;
                }
                owner
            }
            None if listed(self.snap, kind, self.ns()) => return,
            None => self.object(),
        };
        let class = if self.e.message.contains("exceeded quota") {
            Category::QuotaExceeded
        } else {
            Category::ConfigError
        };
        self.emit(out, owner, class, Severity::Warning, self.message());
    }

    fn job(&self, out: &mut Vec<Signal>) {
        let ns = self.ns().unwrap_or("");
        match self.snap.job(ns, &self.e.involved.name) {
            Some(job) => {
                if let Some(f) = jobs::assess(self.snap, self.settings, self.now, job) {
                    self.emit(
                        out,
                        f.owner,
                        Category::JobFailed,
                        Severity::Warning,
                        f.message,
                    );
                }
            }
            None if listed(self.snap, "Job", self.ns()) => {}
            None => self.emit(
                out,
                self.object(),
                Category::JobFailed,
                Severity::Warning,
                self.message(),
            ),
        }
    }

    fn pvc(&self, out: &mut Vec<Signal>) {
        let ns = self.ns().unwrap_or("");
        match self.snap.pvc(ns, &self.e.involved.name) {
            Some(pvc) if pvc.status.phase == "Pending" => {}
            Some(_) => return,
            None if listed(self.snap, "PersistentVolumeClaim", self.ns()) => return,
            None => {}
        }
        self.emit(
            out,
            self.object(),
            Category::VolumeBinding,
            Severity::Warning,
            self.message(),
        );
    }
}

fn flux_event(
    snap: &Snapshot,
    settings: &Settings,
    now: Millis,
    e: &Event,
    first: Millis,
    last: Millis,
    out: &mut Vec<Signal>,
) {
    let kind = e.involved.kind.as_str();
    let ns = e.namespace();
    // The Flux scanner judges objects it can see, from their conditions.
    if snap
        .flux_object(kind, ns.unwrap_or(""), &e.involved.name)
        .is_some()
        || listed(snap, kind, ns)
    {
        return;
    }
    if first > now - secs(settings.flux_event_grace_secs) {
        return;
    }
    let obj = ObjectRef::new(kind, &e.involved.name);
    out.push(signal(
        DETECTOR,
        settings,
        ns,
        obj.clone(),
        obj,
        &e.reason,
        flux::classify(kind, &e.reason, &e.message),
        Severity::Warning,
        first,
        last.max(first),
        format!("{kind} {}: {}", e.involved.name, e.message),
    ));
}
