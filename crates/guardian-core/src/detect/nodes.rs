//! Node scanner.
//!
//! | condition | class | severity | grace (from) |
//! |---|---|---|---|
//! | `Ready` is `False`/`Unknown` | `node_not_ready` | critical | 120 s, or 300 s for a node created < 300 s before (`Ready.lastTransitionTime`) |
//! | `MemoryPressure`/`DiskPressure`/`PIDPressure` is `True` | `node_pressure` | warning | 120 s (the condition's transition) |
//! | `spec.unschedulable` (cordoned) | `node_cordoned` | warning | 900 s (the `node.kubernetes.io/unschedulable` taint's `timeAdded`) |
//!
//! Nodes being deleted are skipped (scale-down). A cordon without a `timeAdded` has no
//! start we can measure a grace from, and is not reported (a routine drain must stay quiet).
//!
//! **Resolution:** absence — a Ready, pressure-free, schedulable node resolves its incidents.

use crate::incident::Severity;
use crate::signal::{ObjectRef, Signal};
use crate::taxonomy::Category;
use crate::time::{Millis, secs};

use super::objects::{Node, condition};
use super::snapshot::Snapshot;
use super::{Settings, signal};

/// Detector name.
pub const DETECTOR: &str = "node_scanner";

/// Node pressure condition types.
const PRESSURES: &[&str] = &["MemoryPressure", "DiskPressure", "PIDPressure"];

/// The cordon taint the node lifecycle controller adds (with `timeAdded`).
const CORDON_TAINT: &str = "node.kubernetes.io/unschedulable";

/// The node scanner.
pub fn detect(snap: &Snapshot, settings: &Settings, now: Millis) -> Vec<Signal> {
    let mut out = Vec::new();
    for node in snap.nodes() {
        if node.metadata.deletion_timestamp.is_some() {
            continue;
        }
        let obj = ObjectRef::new("Node", &node.metadata.name);
        if let Some((since, message)) = not_ready(node, settings, now) {
            out.push(signal(
                DETECTOR,
                settings,
                None,
                obj.clone(),
                obj.clone(),
                "NodeNotReady",
                Category::NodeNotReady,
                Severity::Critical,
                since,
                now,
                message,
            ));
        }
        for &p in PRESSURES {
            if let Some(c) = condition(&node.status.conditions, p)
                && c.is_true()
                && let Some(since) = c.since()
                && since <= now - secs(settings.node_pressure_grace_secs)
            {
                out.push(signal(
                    DETECTOR,
                    settings,
                    None,
                    obj.clone(),
                    obj.clone(),
                    p,
                    Category::NodePressure,
                    Severity::Warning,
                    since,
                    now,
                    format!("Node {} has {p}: {}", node.metadata.name, c.message),
                ));
            }
        }
        if node.spec.unschedulable
            && let Some(since) = node
                .spec
                .taints
                .iter()
                .find(|t| t.key == CORDON_TAINT)
                .and_then(|t| t.time_added)
            && since <= now - secs(settings.node_cordon_grace_secs)
        {
            out.push(signal(
                DETECTOR,
                settings,
                None,
                obj.clone(),
                obj,
                "Cordoned",
                Category::NodeCordoned,
                Severity::Warning,
                since,
                now,
                format!(
                    "Node {} has been cordoned (unschedulable) for {} min",
                    node.metadata.name,
                    (now - since) / 60_000
                ),
            ));
        }
    }
    out
}

/// Whether a node is NotReady past its grace: `(since, message)`. Shared with the event
/// detector (`NodeNotReady` events).
pub(crate) fn not_ready(node: &Node, settings: &Settings, now: Millis) -> Option<(Millis, String)> {
    let ready = condition(&node.status.conditions, "Ready")?;
    if ready.is_true() {
        return None;
    }
    let since = ready.since()?;
    let young = node
        .metadata
        .creation_timestamp
        .is_some_and(|c| since - c < secs(settings.young_node_not_ready_grace_secs));
    let grace = if young {
        settings.young_node_not_ready_grace_secs
    } else {
        settings.node_not_ready_grace_secs
    };
    (since <= now - secs(grace)).then(|| {
        (
            since,
            format!(
                "Node {} is NotReady (Ready={}, {}): {}",
                node.metadata.name, ready.status, ready.reason, ready.message
            ),
        )
    })
}
