//! HorizontalPodAutoscaler scanner.
//!
//! **Signal:** `ScalingLimited=True` with reason `TooManyReplicas`, current replicas at or above
//! `maxReplicas`, for at least [`Settings::hpa_at_max_secs`] (15 min, from the condition's
//! transition) → `hpa_at_max`, warning. Short peaks at the ceiling are what a ceiling is
//! for; a quarter of an hour means demand outgrew it. `TooFewReplicas` (pinned at the floor)
//! is quiet.
//!
//! **Resolution:** absence — scaling below the ceiling resolves.

use crate::incident::Severity;
use crate::signal::{ObjectRef, Signal};
use crate::taxonomy::Category;
use crate::time::{Millis, secs};

use super::objects::condition;
use super::snapshot::Snapshot;
use super::{Settings, signal};

/// Detector name.
pub const DETECTOR: &str = "hpa_scanner";

/// The HPA scanner.
pub fn detect(snap: &Snapshot, settings: &Settings, now: Millis) -> Vec<Signal> {
    let mut out = Vec::new();
    for h in snap.hpas() {
        let Some(c) = condition(&h.status.conditions, "ScalingLimited") else {
            continue;
        };
        let (Some(max), Some(current)) = (h.spec.max_replicas, h.status.current_replicas) else {
            continue;
        };
        if !(c.is_true() && c.reason == "TooManyReplicas" && current >= max) {
            continue;
        }
        let Some(since) = c.since() else { continue };
        if since > now - secs(settings.hpa_at_max_secs) {
            continue;
        }
        let obj = ObjectRef::new("HorizontalPodAutoscaler", &h.metadata.name);
        out.push(signal(
            DETECTOR,
            settings,
            Some(h.metadata.ns()),
            obj.clone(),
            obj,
            "TooManyReplicas",
            Category::HpaAtMax,
            Severity::Warning,
            since,
            now,
            format!(
                "HorizontalPodAutoscaler {} has been at its maximum of {max} replicas for {} min (desired {}): {}",
                h.metadata.name,
                (now - since) / 60_000,
                h.status.desired_replicas.unwrap_or(current),
                c.message
            ),
        ));
    }
    out
}
