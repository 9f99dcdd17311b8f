//! Deployment scanner.
//!
//! **Signal:** `Progressing=False` with reason `ProgressDeadlineExceeded` → `rollout_stuck`;
//! warning, critical when no replica is available at all. No extra grace: the Deployment's
//! own `progressDeadlineSeconds` (default 600 s) already is one. Paused Deployments are
//! skipped (not progressing on purpose).
//!
//! The cause (a bad image tag, a crash loop of the new ReplicaSet) is reported separately by
//! the pod scanner on the same Deployment, under its own class.
//!
//! **Resolution:** absence — a new successful rollout flips `Progressing` back to `True`.

use crate::incident::Severity;
use crate::signal::{ObjectRef, Signal};
use crate::taxonomy::Category;
use crate::time::Millis;

use super::objects::condition;
use super::snapshot::Snapshot;
use super::{Settings, signal};

/// Detector name.
pub const DETECTOR: &str = "deployment_scanner";

/// The Deployment scanner.
pub fn detect(snap: &Snapshot, settings: &Settings, now: Millis) -> Vec<Signal> {
    let mut out = Vec::new();
    for d in snap.workloads("Deployment") {
        if d.spec.paused || d.metadata.deletion_timestamp.is_some() {
            continue;
        }
        let Some(c) = condition(&d.status.conditions, "Progressing") else {
            continue;
        };
        if !(c.is_false() && c.reason == "ProgressDeadlineExceeded") {
            continue;
        }
        let desired = d.spec.replicas.unwrap_or(1);
        let available = d.status.available_replicas.unwrap_or(0);
        let severity = if desired > 0 && available == 0 {
            Severity::Critical
        } else {
            Severity::Warning
        };
        let obj = ObjectRef::new("Deployment", &d.metadata.name);
        out.push(signal(
            DETECTOR,
            settings,
            Some(d.metadata.ns()),
            obj.clone(),
            obj,
            "ProgressDeadlineExceeded",
            Category::RolloutStuck,
            severity,
            c.since().unwrap_or(now),
            now,
            format!(
                "Deployment {} rollout is stuck ({available}/{desired} available): {}",
                d.metadata.name, c.message
            ),
        ));
    }
    out
}
