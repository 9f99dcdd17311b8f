//! What a detector reports: one sighting of one failure on one object.

use serde::{Deserialize, Serialize};

use crate::incident::Severity;
use crate::taxonomy::Category;
use crate::time::Millis;

/// A Kubernetes object (or, for alerts, the alert itself) named by kind and name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ObjectRef {
    /// Kubernetes kind, e.g. `Deployment`; `Alert` for Alertmanager alerts.
    pub kind: String,
    /// Object name.
    pub name: String,
}

impl ObjectRef {
    /// Builds an object reference.
    pub fn new(kind: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            kind: kind.into(),
            name: name.into(),
        }
    }
}

impl std::fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.kind, self.name)
    }
}

/// One sighting of a failure. Detectors build these; [`crate::decide`] turns them into
/// incident state. The message must already be redacted by the producer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Signal {
    /// Which detector produced it (`alertmanager`, `pod_scanner`, `warning_events`, …); a
    /// bounded set, used as a metric label.
    pub detector: String,
    /// Cluster the signal comes from (config `cluster_name`).
    pub cluster: String,
    /// Namespace, `None` for cluster-scoped objects (nodes) and cluster-wide alerts.
    pub namespace: Option<String>,
    /// The object the failure was seen on (a Pod, say).
    pub object: ObjectRef,
    /// The top owner the incident is keyed on (the Deployment owning that Pod). Equal to
    /// `object` when the object has no owner.
    pub top_owner: ObjectRef,
    /// Short machine reason (`CrashLoopBackOff`, an alert name, …).
    pub reason: String,
    /// The failure class; part of the fingerprint.
    pub failure_class: Category,
    /// Severity as the detector judges it; analysis may raise it, never lower it.
    pub severity: Severity,
    /// Extra identity for sources whose top owner is not enough (e.g. an alert's stable
    /// labels). Part of the fingerprint when present.
    pub discriminator: Option<String>,
    /// When the failure was first observed by the source (e.g. an event's firstTimestamp).
    pub first_seen: Millis,
    /// When the failure was last observed by the source.
    pub last_seen: Millis,
    /// Human-readable description, redacted.
    pub message: String,
}

/// What a source says about a fingerprint it watches.
#[derive(Debug, Clone, PartialEq)]
pub enum Observation {
    /// The failure is present.
    Firing(Signal),
    /// The source positively observed that the failure is gone (an Alertmanager `resolved`,
    /// a healthy object on reconcile). "Could not read" is never an observation.
    Recovered {
        /// Fingerprint of the incident whose cause is gone.
        fingerprint: String,
        /// Who says so (detector name), recorded as the audit actor.
        detector: String,
        /// Why, for the audit note.
        note: String,
    },
}
