//! Pod scanner: what the pod and container statuses say right now.
//!
//! **Signals** (one per pod and failure class, keyed on the pod's top owner):
//!
//! | state | class | severity | grace |
//! |---|---|---|---|
//! | `CrashLoopBackOff` / `RunContainerError` | `crash_loop` (or a log hint: `disk_full`, `dependency_unavailable`) | warning (`disk_full` critical) | none: the back-off itself means it crashed repeatedly |
//! | `OOMKilled` now, or in `lastState` finished < 12 h ago while not stable | `oom_killed` | critical | none |
//! | ≥ 3 restarts, last one within the stable window, not stable | `crash_loop` | warning | the stable window |
//! | `ImagePullBackOff` / `ErrImagePull` / … | `image_pull_not_found` / `image_pull_auth` / `image_pull_other` (from the pull error text, the pod's `Failed` events included) | warning | 90 s from pod start |
//! | `CreateContainerConfigError` / `CreateContainerError` | `config_error` | warning | 90 s from pod start |
//! | running, not Ready | `probe_failure` (or a log hint) | warning | max(probe budget, 300 s), capped at 600 s, from the Ready transition |
//! | Pending, `PodScheduled=False/Unschedulable` | `unschedulable_resources` / `unschedulable_constraints` / `volume_binding` (from the scheduler message) | warning | 300 s |
//! | `Failed` with reason `Evicted` | `pod_evicted` | warning | none |
//!
//! **Not incidents:** terminating pods (being deleted); `Succeeded` pods; finished pods whose
//! top owner is healthy (ready ≥ desired > 0, or a Job/CronJob whose latest run succeeded);
//! failed pods of Jobs (the job scanner reports the Job); a container that is Ready and has run
//! for the stable window (600 s) — a pod stable after restarts is recovered, however many
//! restarts it has.
//!
//! **Resolution:** absence. When the pod scanner ran over a namespace and a fingerprint it can
//! produce is no longer reported, the cause is gone (an OOM only after the stable window).
//!
//! The same [`assess`] serves the event detector, so a `BackOff` event and this scanner land
//! on the same (namespace, top owner, class) and thus in the same incident.

use crate::incident::Severity;
use crate::signal::{ObjectRef, Signal};
use crate::taxonomy::Category;
use crate::time::{Millis, secs};

use super::logs;
use super::objects::{ContainerStatus, Pod, condition};
use super::owners::{OwnerHealth, owner_health, top_owner};
use super::snapshot::Snapshot;
use super::{Settings, signal};

/// Detector name (metric label, `Signal::detector`).
pub const DETECTOR: &str = "pod_scanner";

/// Classes this detector can produce (its resolution scope).
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
    Category::UnschedulableResources,
    Category::UnschedulableConstraints,
    Category::VolumeBinding,
    Category::PodEvicted,
];

/// Probe budgets below this are raised to it: a very aggressive probe still deserves a few
/// periods before we call it a failure (reference-behaviour.md §1.1).
const MIN_PROBE_BUDGET_SECS: i64 = 30;

/// Added to a probe budget for the kubelet's own scheduling jitter.
const PROBE_SLACK_SECS: i64 = 10;

/// What kind of failure a problem is: lets an event (`BackOff`, `Failed`, `Unhealthy`) find
/// the problem it is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Family {
    /// The container exits (crash loop, OOM, restarts).
    Crash,
    /// The image cannot be pulled.
    Image,
    /// The container cannot be created from its spec.
    Config,
    /// It runs but probes fail.
    Probe,
    /// It cannot be scheduled.
    Scheduling,
    /// It was evicted.
    Evicted,
}

/// One current failure of one pod.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Problem {
    /// Machine reason (`CrashLoopBackOff`, `OOMKilled`, …).
    pub reason: String,
    /// Failure class.
    pub category: Category,
    /// Severity.
    pub severity: Severity,
    /// Family, for event matching.
    pub family: Family,
    /// When the failure started, as far as the status tells.
    pub since: Millis,
    /// Description (raw; redacted by `detect::run`).
    pub message: String,
}

/// The pod scanner.
pub fn detect(snap: &Snapshot, settings: &Settings, now: Millis) -> Vec<Signal> {
    let mut out = Vec::new();
    for pod in snap.pods() {
        let problems = assess(snap, settings, now, pod);
        if problems.is_empty() {
            continue;
        }
        let owner = top_owner(snap, "Pod", &pod.metadata);
        for p in problems {
            out.push(signal(
                DETECTOR,
                settings,
                Some(pod.metadata.ns()),
                ObjectRef::new("Pod", &pod.metadata.name),
                owner.clone(),
                &p.reason,
                p.category,
                p.severity,
                p.since,
                now,
                p.message,
            ));
        }
    }
    out
}

fn pod_start(pod: &Pod, now: Millis) -> Millis {
    pod.status
        .start_time
        .or(pod.metadata.creation_timestamp)
        .unwrap_or(now)
}

/// The current failures of one pod, graces applied. Shared with the event detector.
pub(crate) fn assess(snap: &Snapshot, settings: &Settings, now: Millis, pod: &Pod) -> Vec<Problem> {
    if pod.metadata.deletion_timestamp.is_some() {
        return Vec::new();
    }
    let mut problems = match pod.status.phase.as_str() {
        "Succeeded" => Vec::new(),
        "Failed" => terminal(snap, settings, now, pod),
        _ => live(snap, settings, now, pod),
    };
    // One problem per class per pod: several containers failing the same way are one story.
    let mut seen = Vec::new();
    problems.retain(|p| {
        let new = !seen.contains(&p.category);
        seen.push(p.category);
        new
    });
    problems
}

fn terminal(snap: &Snapshot, settings: &Settings, now: Millis, pod: &Pod) -> Vec<Problem> {
    let ns = pod.metadata.ns();
    let owner = top_owner(snap, "Pod", &pod.metadata);
    if owner_health(snap, ns, &owner) == OwnerHealth::Healthy {
        // A corpse: its workload replaced it and is fully available.
        return Vec::new();
    }
    let ready_since = condition(&pod.status.conditions, "Ready").and_then(|c| c.since());
    if pod.status.reason == "Evicted" {
        return vec![Problem {
            reason: "Evicted".into(),
            category: Category::PodEvicted,
            severity: Severity::Warning,
            family: Family::Evicted,
            since: ready_since.unwrap_or_else(|| pod_start(pod, now)),
            message: format!(
                "Pod {} was evicted: {}",
                pod.metadata.name,
                or_dash(&pod.status.message)
            ),
        }];
    }
    let all = pod
        .status
        .init_container_statuses
        .iter()
        .chain(&pod.status.container_statuses);
    for cs in all {
        if let Some(t) = &cs.state.terminated
            && t.reason == "OOMKilled"
        {
            return vec![oom(pod, cs, t.finished_at.unwrap_or(now), "terminated")];
        }
    }
    if matches!(owner.kind.as_str(), "Job" | "CronJob") {
        // The job scanner reports the Job; its failed pods are its evidence, not incidents.
        return Vec::new();
    }
    if owner.kind == "Pod" {
        let (category, severity, message) = refine(
            snap,
            settings,
            pod,
            first_container(pod),
            format!(
                "Pod {} failed: {}",
                pod.metadata.name,
                or_dash(&pod.status.message)
            ),
        );
        return vec![Problem {
            reason: "Failed".into(),
            category,
            severity,
            family: Family::Crash,
            since: ready_since.unwrap_or_else(|| pod_start(pod, now)),
            message,
        }];
    }
    Vec::new()
}

fn first_container(pod: &Pod) -> &str {
    pod.status
        .container_statuses
        .first()
        .map_or("", |c| c.name.as_str())
}

fn live(snap: &Snapshot, settings: &Settings, now: Millis, pod: &Pod) -> Vec<Problem> {
    let mut out = Vec::new();
    let start = pod_start(pod, now);
    let pod_ready = condition(&pod.status.conditions, "Ready").is_some_and(|c| c.is_true());
    let statuses = pod
        .status
        .init_container_statuses
        .iter()
        .chain(&pod.status.container_statuses);
    for cs in statuses {
        let restarts = cs.restart_count.unwrap_or(0);
        let last = cs.last_state.terminated.as_ref();
        if let Some(w) = &cs.state.waiting {
            match w.reason.as_str() {
                "CrashLoopBackOff" | "RunContainerError" => {
                    if let Some(t) = last
                        && t.reason == "OOMKilled"
                    {
                        out.push(oom(pod, cs, t.finished_at.unwrap_or(start), "lastState"));
                        continue;
                    }
                    let exit = last.map_or(String::new(), |t| {
                        format!(
                            ", last exit code {} ({})",
                            t.exit_code.unwrap_or(0),
                            or_dash(&t.reason)
                        )
                    });
                    let base = format!(
                        "Container {} of pod {} is in {} after {restarts} restarts{exit}: {}",
                        cs.name,
                        pod.metadata.name,
                        w.reason,
                        or_dash(&w.message)
                    );
                    let (category, severity, message) = refine(snap, settings, pod, &cs.name, base);
                    out.push(Problem {
                        reason: w.reason.clone(),
                        category,
                        severity,
                        family: Family::Crash,
                        since: start,
                        message,
                    });
                }
                "ImagePullBackOff"
                | "ErrImagePull"
                | "ErrImageNeverPull"
                | "InvalidImageName"
                | "ImageInspectError"
                | "RegistryUnavailable" => {
                    if start > now - secs(settings.image_pull_grace_secs) {
                        continue;
                    }
                    let mut evidence = w.message.clone();
                    for e in snap.events_for("Pod", pod.metadata.ns(), &pod.metadata.name) {
                        if e.type_ == "Warning"
                            && matches!(e.reason.as_str(), "Failed" | "ErrImagePull")
                        {
                            evidence.push('\n');
                            evidence.push_str(&e.message);
                        }
                    }
                    let category = classify_pull(&w.reason, &evidence);
                    let detail =
                        pull_detail(&evidence).unwrap_or_else(|| or_dash(&w.message).to_string());
                    out.push(Problem {
                        reason: w.reason.clone(),
                        category,
                        severity: Severity::Warning,
                        family: Family::Image,
                        since: start,
                        message: format!(
                            "Container {} of pod {} cannot pull its image ({}): {detail}",
                            cs.name, pod.metadata.name, w.reason
                        ),
                    });
                }
                "CreateContainerConfigError" | "CreateContainerError" => {
                    if start > now - secs(settings.create_error_grace_secs) {
                        continue;
                    }
                    out.push(Problem {
                        reason: w.reason.clone(),
                        category: Category::ConfigError,
                        severity: Severity::Warning,
                        family: Family::Config,
                        since: start,
                        message: format!(
                            "Container {} of pod {} cannot be created ({}): {}",
                            cs.name,
                            pod.metadata.name,
                            w.reason,
                            or_dash(&w.message)
                        ),
                    });
                }
                _ => {}
            }
            continue;
        }
        if let Some(t) = &cs.state.terminated {
            if t.reason == "OOMKilled" {
                out.push(oom(pod, cs, t.finished_at.unwrap_or(now), "terminated"));
            }
            continue;
        }
        let Some(running) = &cs.state.running else {
            continue;
        };
        let running_since = running.started_at.unwrap_or(start);
        let stable =
            pod_ready && cs.ready && running_since <= now - secs(settings.stable_uptime_secs);
        if let Some(t) = last
            && t.reason == "OOMKilled"
            && !stable
            && t.finished_at.unwrap_or(0) >= now - secs(settings.oom_recent_secs)
        {
            out.push(oom(pod, cs, t.finished_at.unwrap_or(now), "lastState"));
            continue;
        }
        if let Some(t) = last
            && restarts >= i64::from(settings.restart_threshold)
            && !stable
            && t.finished_at.unwrap_or(0) >= now - secs(settings.stable_uptime_secs)
        {
            let base = format!(
                "Container {} of pod {} keeps restarting ({restarts} restarts, last exit code {} ({}))",
                cs.name,
                pod.metadata.name,
                t.exit_code.unwrap_or(0),
                or_dash(&t.reason)
            );
            let (category, severity, message) = refine(snap, settings, pod, &cs.name, base);
            out.push(Problem {
                reason: "Restarting".into(),
                category,
                severity,
                family: Family::Crash,
                since: t.started_at.unwrap_or(running_since).min(running_since),
                message,
            });
            continue;
        }
        if !cs.ready && !pod_ready {
            let since = condition(&pod.status.conditions, "Ready")
                .and_then(|c| c.since())
                .unwrap_or(running_since)
                .max(running_since.min(now));
            let settle = probe_settle_secs(pod, &cs.name, settings);
            if since > now - secs(settle) {
                continue;
            }
            let ready_msg =
                condition(&pod.status.conditions, "Ready").map_or("", |c| c.message.as_str());
            let mut base = format!(
                "Container {} of pod {} is running but not ready",
                cs.name, pod.metadata.name
            );
            if let Some(e) = snap
                .events_for("Pod", pod.metadata.ns(), &pod.metadata.name)
                .filter(|e| e.reason == "Unhealthy")
                .max_by_key(|e| e.last_seen)
            {
                base.push_str(": ");
                base.push_str(&e.message);
            } else if !ready_msg.is_empty() {
                base.push_str(": ");
                base.push_str(ready_msg);
            }
            let (category, severity, message) = refine(snap, settings, pod, &cs.name, base);
            out.push(Problem {
                reason: "NotReady".into(),
                category: if category == Category::CrashLoop {
                    Category::ProbeFailure
                } else {
                    category
                },
                severity,
                family: Family::Probe,
                since,
                message,
            });
        }
    }
    if pod.status.phase == "Pending"
        && let Some(c) = condition(&pod.status.conditions, "PodScheduled")
        && c.is_false()
        && c.reason == "Unschedulable"
    {
        let since = c.since().unwrap_or(start);
        if since <= now - secs(settings.unschedulable_grace_secs) {
            out.push(Problem {
                reason: "Unschedulable".into(),
                category: classify_scheduling(&c.message),
                severity: Severity::Warning,
                family: Family::Scheduling,
                since,
                message: format!(
                    "Pod {} cannot be scheduled: {}",
                    pod.metadata.name,
                    or_dash(&c.message)
                ),
            });
        }
    }
    out
}

fn oom(pod: &Pod, cs: &ContainerStatus, since: Millis, where_: &str) -> Problem {
    let restarts = cs.restart_count.unwrap_or(0);
    Problem {
        reason: "OOMKilled".into(),
        category: Category::OomKilled,
        severity: Severity::Critical,
        family: Family::Crash,
        since,
        message: format!(
            "Container {} of pod {} was OOMKilled (exit code 137, {where_}; {restarts} restarts): it exceeded its memory limit",
            cs.name, pod.metadata.name
        ),
    }
}

/// Applies a log hint to a crash/probe problem: the class the logs point at, its severity,
/// and the quoted line appended to the message.
fn refine(
    snap: &Snapshot,
    settings: &Settings,
    pod: &Pod,
    container: &str,
    message: String,
) -> (Category, Severity, String) {
    let logs = snap.logs(pod.metadata.ns(), &pod.metadata.name);
    match logs::hint(logs, container, true, settings.log_tail_lines) {
        Some((Category::DiskFull, line)) => (
            Category::DiskFull,
            // A full volume does not heal by restarting and usually means failing writes.
            Severity::Critical,
            format!(
                "{}. Its log says: {line}",
                message.trim_end_matches(['.', ' '])
            ),
        ),
        Some((class, line)) => (
            class,
            Severity::Warning,
            format!(
                "{}. Its log says: {line}",
                message.trim_end_matches(['.', ' '])
            ),
        ),
        None => (Category::CrashLoop, Severity::Warning, message),
    }
}

/// How long a running-but-unready container is given before we call it a probe failure:
/// the startup probe's budget, else the larger of liveness/readiness, at least
/// [`MIN_PROBE_BUDGET_SECS`], plus [`PROBE_SLACK_SECS`], capped at the configured cap and never
/// below the configured settle time.
fn probe_settle_secs(pod: &Pod, container: &str, settings: &Settings) -> u64 {
    let spec = pod
        .spec
        .containers
        .iter()
        .chain(&pod.spec.init_containers)
        .find(|c| c.name == container);
    let budget = spec.map_or(0, |c| match &c.startup_probe {
        Some(p) => p.budget_secs(),
        None => [&c.liveness_probe, &c.readiness_probe]
            .into_iter()
            .flatten()
            .map(|p| p.budget_secs())
            .max()
            .unwrap_or(0),
    });
    let budget = budget.max(MIN_PROBE_BUDGET_SECS) + PROBE_SLACK_SECS;
    let budget = u64::try_from(budget)
        .unwrap_or(0)
        .min(settings.probe_budget_cap_secs);
    budget.max(settings.unhealthy_settle_secs)
}

/// Image pull failure → class, from the waiting reason and the pull error text. Credential
/// problems are checked first: registries answer "not found" for private repositories too,
/// but "unauthorized"/"denied" is never said about a missing tag.
pub(crate) fn classify_pull(reason: &str, text: &str) -> Category {
    let t = text.to_ascii_lowercase();
    const AUTH: &[&str] = &[
        "unauthorized",
        "authentication required",
        "authorization failed",
        "may require authorization",
        "pull access denied",
        "access denied",
        "denied:",
        "forbidden",
        "no basic auth credentials",
        "failed to fetch anonymous token",
    ];
    const NOT_FOUND: &[&str] = &[
        "not found",
        "manifest unknown",
        "name unknown",
        "does not exist",
        "no such image",
        "invalid reference format",
    ];
    if AUTH.iter().any(|m| t.contains(m)) {
        Category::ImagePullAuth
    } else if NOT_FOUND.iter().any(|m| t.contains(m)) || reason == "InvalidImageName" {
        Category::ImagePullNotFound
    } else {
        Category::ImagePullOther
    }
}

/// The most telling pull error line (the one naming the registry's answer).
fn pull_detail(text: &str) -> Option<String> {
    text.lines()
        .filter(|l| l.contains("Failed to pull image") || l.contains("rpc error"))
        .max_by_key(|l| l.len())
        .map(|l| l.trim().to_string())
}

/// Scheduler message → class. `Insufficient <resource>` / `Too many pods` anywhere means
/// capacity is (also) missing, which is the actionable part; otherwise the pod's own
/// constraints (selectors, affinity, taints, topology) exclude every node. Unbound claims are
/// a storage problem.
pub(crate) fn classify_scheduling(message: &str) -> Category {
    let m = message.to_ascii_lowercase();
    if m.contains("insufficient") || m.contains("too many pods") {
        Category::UnschedulableResources
    } else if m.contains("unbound immediate persistentvolumeclaims")
        || m.contains("persistentvolumeclaim") && m.contains("not found")
    {
        Category::VolumeBinding
    } else {
        Category::UnschedulableConstraints
    }
}

fn or_dash(s: &str) -> &str {
    if s.trim().is_empty() { "-" } else { s.trim() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pull_errors_are_classified() {
        let nf = "Failed to pull image \"ghcr.io/acme/web:v2.3.1-typo\": rpc error: code = NotFound desc = failed to pull and unpack image: failed to resolve reference \"ghcr.io/acme/web:v2.3.1-typo\": ghcr.io/acme/web:v2.3.1-typo: not found";
        assert_eq!(
            classify_pull("ErrImagePull", nf),
            Category::ImagePullNotFound
        );
        let auth =
            "failed to authorize: failed to fetch oauth token: unexpected status: 401 Unauthorized";
        assert_eq!(classify_pull("ErrImagePull", auth), Category::ImagePullAuth);
        assert_eq!(
            classify_pull("ImagePullBackOff", "Back-off pulling image \"x\""),
            Category::ImagePullOther
        );
        assert_eq!(
            classify_pull("InvalidImageName", ""),
            Category::ImagePullNotFound
        );
    }

    #[test]
    fn scheduling_messages_are_classified() {
        assert_eq!(
            classify_scheduling(
                "0/3 nodes are available: 1 node(s) were unschedulable, 2 Insufficient memory."
            ),
            Category::UnschedulableResources
        );
        assert_eq!(
            classify_scheduling(
                "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector."
            ),
            Category::UnschedulableConstraints
        );
        assert_eq!(
            classify_scheduling(
                "0/3 nodes are available: pod has unbound immediate PersistentVolumeClaims."
            ),
            Category::VolumeBinding
        );
    }
}
