//! The incident record, its severity and status.

use std::str::FromStr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::signal::ObjectRef;
use crate::taxonomy::Category;
use crate::time::Millis;

/// Incident severity. Ordered: `Info < Warning < Critical`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Worth recording, not worth a page.
    Info,
    /// Needs attention during working hours.
    Warning,
    /// Needs attention now.
    Critical,
}

impl Severity {
    /// One step up (escalation); `Critical` stays `Critical`.
    pub fn raised(self) -> Severity {
        match self {
            Severity::Info => Severity::Warning,
            Severity::Warning | Severity::Critical => Severity::Critical,
        }
    }

    /// The persisted spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }
}

impl FromStr for Severity {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "info" => Ok(Severity::Info),
            "warning" => Ok(Severity::Warning),
            "critical" => Ok(Severity::Critical),
            other => Err(format!(
                "unknown severity `{other}` (expected info, warning or critical)"
            )),
        }
    }
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Lifecycle status: `open → acknowledged → resolved`, with reopen and ack expiry.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Firing and nobody has taken it.
    Open,
    /// A human took it; quiet until it resolves, escalates past T2 or the ack expires.
    Acknowledged,
    /// Over. A new sighting reopens it (within the reopen window).
    Resolved,
}

impl Status {
    /// The persisted spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::Acknowledged => "acknowledged",
            Status::Resolved => "resolved",
        }
    }
}

impl FromStr for Status {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "open" => Ok(Status::Open),
            "acknowledged" => Ok(Status::Acknowledged),
            "resolved" => Ok(Status::Resolved),
            other => Err(format!(
                "unknown status `{other}` (expected open, acknowledged or resolved)"
            )),
        }
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An escalation level; each fires at most once per incident.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum EscalationLevel {
    /// Seen in ≥ N separate episodes within the recurring window.
    Recurring,
    /// Open and unacknowledged longer than T, or open longer than T2.
    Persistent,
}

impl EscalationLevel {
    /// The persisted spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            EscalationLevel::Recurring => "recurring",
            EscalationLevel::Persistent => "persistent",
        }
    }
}

/// The incident as the domain sees it. The store persists every field (times as Unix ms) and
/// rebuilds it exactly, which is what makes a restart lossless.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    /// Opaque id (UUIDv7 string), stable for the life of the row.
    pub id: String,
    /// Deterministic identity, see [`crate::fingerprint`].
    pub fingerprint: String,
    /// Cluster the incident belongs to.
    pub cluster: String,
    /// Namespace; `None` for cluster-scoped objects.
    pub namespace: Option<String>,
    /// The top owner the incident is about.
    pub object: ObjectRef,
    /// Detector that opened it.
    pub detector: String,
    /// Machine reason of the latest sighting.
    pub reason: String,
    /// Failure class (part of the fingerprint).
    pub category: Category,
    /// Latest redacted message.
    pub message: String,
    /// Current severity: never below `detector_severity`.
    pub severity: Severity,
    /// Highest severity any detector reported; the floor analysis cannot lower.
    pub detector_severity: Severity,
    /// Lifecycle status.
    pub status: Status,
    /// Escalation levels already fired (each at most once).
    pub escalations: Vec<EscalationLevel>,
    /// First sighting ever.
    pub first_seen: Millis,
    /// Latest sighting (suppressed ones included).
    pub last_seen: Millis,
    /// Start of the current episode (set on open and reopen).
    pub opened_at: Millis,
    /// Total sightings, suppressed ones included.
    pub occurrences: u64,
    /// Sightings that matched a suppression.
    pub suppressed_occurrences: u64,
    /// When it was acknowledged (current episode), if it is.
    pub acknowledged_at: Option<Millis>,
    /// Who acknowledged it.
    pub acknowledged_by: Option<String>,
    /// When the acknowledgement lapses and the incident returns to `open`.
    pub ack_expires_at: Option<Millis>,
    /// When it was resolved, if it is.
    pub resolved_at: Option<Millis>,
    /// Who resolved it (an operator name, or a detector for auto-resolve).
    pub resolved_by: Option<String>,
    /// When a notification decision was last recorded (drives the cooldown).
    pub last_notified_at: Option<Millis>,
    /// Whether the "opened" notification of the current episode has been recorded; false
    /// while the incident has only been seen under a suppression.
    pub announced: bool,
    /// A human should look at the analysis (low confidence, fallback, grounding failure).
    pub needs_review: bool,
}
