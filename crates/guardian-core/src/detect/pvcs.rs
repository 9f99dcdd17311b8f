//! PersistentVolumeClaim scanner.
//!
//! **Signals:**
//! - `Pending` longer than [`Settings::pvc_pending_grace_secs`] (300 s) after creation →
//!   `volume_binding`, warning. A claim of a `WaitForFirstConsumer` StorageClass that no pod
//!   uses yet is Pending by design and skipped. The newest `ProvisioningFailed` /
//!   `FailedBinding` event message is quoted when present.
//! - `Lost` (its PersistentVolume is gone) → `volume_lost`, critical, no grace: data may be
//!   gone and it never heals by itself.
//!
//! Volume *usage* (disk_full from kubelet volume stats) needs metrics the snapshot does not
//! hold; a full volume shows up through the pod scanner's log hint instead.
//!
//! **Resolution:** absence — Bound (or deleted) resolves.

use crate::incident::Severity;
use crate::signal::{ObjectRef, Signal};
use crate::taxonomy::Category;
use crate::time::{Millis, secs};

use super::snapshot::Snapshot;
use super::{Settings, signal};

/// Detector name.
pub const DETECTOR: &str = "pvc_scanner";

/// The PVC scanner.
pub fn detect(snap: &Snapshot, settings: &Settings, now: Millis) -> Vec<Signal> {
    let mut out = Vec::new();
    for pvc in snap.pvcs() {
        if pvc.metadata.deletion_timestamp.is_some() {
            continue;
        }
        let ns = pvc.metadata.ns();
        let name = &pvc.metadata.name;
        let obj = ObjectRef::new("PersistentVolumeClaim", name);
        let created = pvc.metadata.creation_timestamp.unwrap_or(now);
        match pvc.status.phase.as_str() {
            "Lost" => out.push(signal(
                DETECTOR,
                settings,
                Some(ns),
                obj.clone(),
                obj,
                "ClaimLost",
                Category::VolumeLost,
                Severity::Critical,
                created,
                now,
                format!(
                    "PersistentVolumeClaim {name} is Lost: its PersistentVolume no longer exists"
                ),
            )),
            "Pending" if created <= now - secs(settings.pvc_pending_grace_secs) => {
                let consumers = snap
                    .pods_in(ns)
                    .filter(|p| {
                        p.spec.volumes.iter().any(|v| {
                            v.persistent_volume_claim
                                .as_ref()
                                .is_some_and(|c| &c.claim_name == name)
                        })
                    })
                    .count();
                let wait_for_consumer = pvc
                    .spec
                    .storage_class_name
                    .as_deref()
                    .and_then(|sc| snap.storage_class(sc))
                    .and_then(|sc| sc.volume_binding_mode.as_deref())
                    == Some("WaitForFirstConsumer");
                if wait_for_consumer && consumers == 0 {
                    continue;
                }
                let mut message = format!(
                    "PersistentVolumeClaim {name} has been Pending for {} min",
                    (now - created) / 60_000
                );
                if let Some(e) = snap
                    .events_for("PersistentVolumeClaim", ns, name)
                    .filter(|e| e.type_ == "Warning")
                    .max_by_key(|e| e.last_seen)
                {
                    message.push_str(&format!(": {} {}", e.reason, e.message));
                }
                out.push(signal(
                    DETECTOR,
                    settings,
                    Some(ns),
                    obj.clone(),
                    obj,
                    "ClaimPending",
                    Category::VolumeBinding,
                    Severity::Warning,
                    created,
                    now,
                    message,
                ));
            }
            _ => {}
        }
    }
    out
}
