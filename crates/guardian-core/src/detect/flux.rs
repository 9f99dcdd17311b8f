//! Flux scanner (Kustomization, HelmRelease, GitRepository, HelmRepository, OCIRepository,
//! Bucket, HelmChart), following kstatus.
//!
//! **Signals:**
//! - `Stalled=True` → critical, no grace: Flux itself has given up retrying (terminal error).
//! - `Ready=False` with `lastTransitionTime ≤ now − 600 s` → warning: the failure survived at
//!   least one retry (the earlier implementation missed this state entirely).
//!
//! `Ready=Unknown` (reconciling) is progress, not failure. Suspended objects are skipped.
//!
//! **Class** from kind, reason and message ([`classify`]): sources → `flux_source_error`;
//! `DependencyNotReady` → `flux_dependency_not_ready`; HelmRelease install/upgrade/test/
//! rollback failures → `helm_release_failed`; a Kustomization/HelmRelease whose artifact is
//! missing → `flux_source_error`; other Kustomization failures (build, apply, health checks) →
//! `flux_build_error`.
//!
//! **Resolution:** absence — `Ready=True` (or the object deleted) resolves.

use crate::incident::Severity;
use crate::signal::{ObjectRef, Signal};
use crate::taxonomy::Category;
use crate::time::{Millis, secs};

use super::objects::condition;
use super::snapshot::Snapshot;
use super::{Settings, signal};

/// Detector name.
pub const DETECTOR: &str = "flux_scanner";

/// Classes this detector can produce.
pub const CATEGORIES: &[Category] = &[
    Category::FluxSourceError,
    Category::FluxBuildError,
    Category::FluxDependencyNotReady,
    Category::HelmReleaseFailed,
];

/// Flux source kinds: their failures are fetch failures.
const SOURCE_KINDS: &[&str] = &[
    "GitRepository",
    "HelmRepository",
    "OCIRepository",
    "Bucket",
    "HelmChart",
];

/// The Flux scanner.
pub fn detect(snap: &Snapshot, settings: &Settings, now: Millis) -> Vec<Signal> {
    let mut out = Vec::new();
    for f in snap.flux_objects() {
        if f.spec.suspend || f.metadata.deletion_timestamp.is_some() {
            continue;
        }
        let conditions = &f.status.conditions;
        let ready = condition(conditions, "Ready");
        let stalled = condition(conditions, "Stalled").filter(|c| c.is_true());
        let (cond, severity) = match (stalled, ready) {
            (Some(s), _) => (s, Severity::Critical),
            (None, Some(r))
                if r.is_false()
                    && r.since()
                        .is_some_and(|t| t <= now - secs(settings.flux_not_ready_grace_secs)) =>
            {
                (r, Severity::Warning)
            }
            _ => continue,
        };
        // The Ready condition usually carries the more specific reason (Stalled's reason can
        // be generic).
        let (reason, message) = match ready.filter(|r| r.is_false()) {
            Some(r) if !r.reason.is_empty() => (r.reason.as_str(), r.message.as_str()),
            _ => (cond.reason.as_str(), cond.message.as_str()),
        };
        let obj = ObjectRef::new(&f.kind, &f.metadata.name);
        let state = if stalled.is_some() {
            "stalled"
        } else {
            "not ready"
        };
        out.push(signal(
            DETECTOR,
            settings,
            Some(f.metadata.ns()),
            obj.clone(),
            obj,
            reason,
            classify(&f.kind, reason, message),
            severity,
            cond.since().unwrap_or(now),
            now,
            format!(
                "{} {} is {state} ({reason}): {message}",
                f.kind, f.metadata.name
            ),
        ));
    }
    out
}

/// Flux failure → class. Shared with the event detector.
pub(crate) fn classify(kind: &str, reason: &str, message: &str) -> Category {
    let m = message.to_ascii_lowercase();
    if SOURCE_KINDS.contains(&kind) {
        return Category::FluxSourceError;
    }
    if reason == "DependencyNotReady" || m.contains("dependency") && m.contains("not ready") {
        return Category::FluxDependencyNotReady;
    }
    if reason == "ArtifactFailed"
        || m.contains("source artifact not found")
        || (m.contains("source") && m.contains("not found"))
    {
        return Category::FluxSourceError;
    }
    if kind == "HelmRelease" {
        return Category::HelmReleaseFailed;
    }
    Category::FluxBuildError
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_follow_kind_reason_and_message() {
        assert_eq!(
            classify("GitRepository", "GitOperationFailed", ""),
            Category::FluxSourceError
        );
        assert_eq!(
            classify(
                "Kustomization",
                "DependencyNotReady",
                "dependency 'flux-system/infra' is not ready"
            ),
            Category::FluxDependencyNotReady
        );
        assert_eq!(
            classify(
                "Kustomization",
                "BuildFailed",
                "kustomize build failed: accumulating resources"
            ),
            Category::FluxBuildError
        );
        assert_eq!(
            classify("HelmRelease", "UpgradeFailed", "timed out"),
            Category::HelmReleaseFailed
        );
        assert_eq!(
            classify(
                "HelmRelease",
                "ArtifactFailed",
                "HelmChart 'flux-system/x' is not ready"
            ),
            Category::FluxSourceError
        );
    }
}
