//! Job scanner.
//!
//! **Signal:** a Job with `Failed=True` (`BackoffLimitExceeded`, `DeadlineExceeded`,
//! `PodFailurePolicy`, …) that failed less than [`Settings::job_failure_max_age_secs`] ago →
//! `job_failed`, warning, keyed on its CronJob when it has one. No grace: the condition is
//! terminal and already includes Kubernetes' own retries (the backoff limit).
//!
//! A CronJob keeps failed Jobs in its history after a later run succeeded: a failed Job with a
//! newer *completed* sibling is history, not an incident.
//!
//! **Resolution:** absence — the Job was deleted, aged out, or a newer run of its CronJob
//! completed.

use crate::incident::Severity;
use crate::signal::{ObjectRef, Signal};
use crate::taxonomy::Category;
use crate::time::{Millis, secs};

use super::objects::{Job, condition};
use super::owners::top_owner;
use super::snapshot::Snapshot;
use super::{Settings, signal};

/// Detector name.
pub const DETECTOR: &str = "job_scanner";

/// The job scanner.
pub fn detect(snap: &Snapshot, settings: &Settings, now: Millis) -> Vec<Signal> {
    let mut out = Vec::new();
    for job in snap.jobs() {
        if let Some(f) = assess(snap, settings, now, job) {
            out.push(signal(
                DETECTOR,
                settings,
                Some(job.metadata.ns()),
                ObjectRef::new("Job", &job.metadata.name),
                f.owner,
                &f.reason,
                Category::JobFailed,
                Severity::Warning,
                f.since,
                now,
                f.message,
            ));
        }
    }
    out
}

/// A current Job failure.
pub(crate) struct JobFailure {
    /// The Job's top owner (its CronJob, or the Job).
    pub owner: ObjectRef,
    /// Condition reason.
    pub reason: String,
    /// When it failed.
    pub since: Millis,
    /// Description.
    pub message: String,
}

/// Whether a Job is a current failure. Shared with the event detector.
pub(crate) fn assess(
    snap: &Snapshot,
    settings: &Settings,
    now: Millis,
    job: &Job,
) -> Option<JobFailure> {
    let failed = condition(&job.status.conditions, "Failed").filter(|c| c.is_true())?;
    let since = failed
        .since()
        .or(job.status.start_time)
        .or(job.metadata.creation_timestamp)
        .unwrap_or(now);
    if since < now - secs(settings.job_failure_max_age_secs) {
        return None;
    }
    let owner = top_owner(snap, "Job", &job.metadata);
    let ns = job.metadata.ns();
    if owner.kind == "CronJob" {
        let started = job.status.start_time.or(job.metadata.creation_timestamp);
        let newer_success = snap.jobs().any(|j| {
            j.metadata.ns() == ns
                && j.metadata.name != job.metadata.name
                && top_owner(snap, "Job", &j.metadata) == owner
                && j.status.start_time.or(j.metadata.creation_timestamp) > started
                && condition(&j.status.conditions, "Complete").is_some_and(|c| c.is_true())
        });
        if newer_success {
            return None;
        }
    }
    let mut message = format!(
        "Job {} failed ({}): {}",
        job.metadata.name, failed.reason, failed.message
    );
    if let Some(n) = job.status.failed {
        message.push_str(&format!("; {n} failed pod(s)"));
    }
    // The failed pods' exit codes are the first thing one looks at.
    if let Some((pod, code, reason)) = snap
        .pods_in(ns)
        .filter(|p| p.metadata.labels.get("job-name") == Some(&job.metadata.name))
        .filter_map(|p| {
            p.status.container_statuses.iter().find_map(|c| {
                c.state
                    .terminated
                    .as_ref()
                    .filter(|t| t.exit_code.unwrap_or(0) != 0)
                    .map(|t| {
                        (
                            p.metadata.name.clone(),
                            t.exit_code.unwrap_or(0),
                            t.reason.clone(),
                        )
                    })
            })
        })
        .last()
    {
        message.push_str(&format!("; pod {pod} exited with code {code} ({reason})"));
    }
    Some(JobFailure {
        owner,
        reason: failed.reason.clone(),
        since,
        message,
    })
}
