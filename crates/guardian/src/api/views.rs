//! JSON shapes of the API (and of `incidents -o json`). Field names are a contract: scripts
//! parse them. Times are RFC 3339 strings.

use guardian_core::Incident;
use guardian_core::lifecycle::AuditEntry;
use guardian_core::suppression::Suppression;
use guardian_core::time::{Millis, to_rfc3339};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::store::{IncidentDetail, StoredNotification, StoredOccurrence};

/// Error body of every 4xx/5xx answer.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    /// Stable machine code (`not_found`, `illegal_transition`, `bad_request`, …).
    pub error: String,
    /// Human-readable explanation.
    pub message: String,
}

/// A Kubernetes object (kind and name).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct ObjectView {
    /// Kind, e.g. `Deployment`.
    pub kind: String,
    /// Name.
    pub name: String,
}

/// An incident as listed.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct IncidentView {
    /// Incident id.
    pub id: String,
    /// Deterministic fingerprint.
    pub fingerprint: String,
    /// Cluster.
    pub cluster: String,
    /// Detector that opened it.
    pub detector: String,
    /// Namespace (null for cluster-scoped objects).
    pub namespace: Option<String>,
    /// The top owner.
    pub object: ObjectView,
    /// Machine reason of the latest sighting.
    pub reason: String,
    /// Failure class (taxonomy category).
    pub category: String,
    /// `info`, `warning` or `critical`.
    pub severity: String,
    /// `open`, `acknowledged` or `resolved`.
    pub status: String,
    /// Latest (redacted) message.
    pub summary: String,
    /// First sighting.
    pub first_seen: String,
    /// Latest sighting.
    pub last_seen: String,
    /// Start of the current episode.
    pub opened_at: String,
    /// Sightings, suppressed ones included.
    pub occurrences: u64,
    /// Sightings that matched a suppression.
    pub suppressed_occurrences: u64,
    /// Escalation levels fired (`recurring`, `persistent`).
    pub escalations: Vec<String>,
    /// A human should review the analysis.
    pub needs_review: bool,
    /// Who acknowledged it.
    pub acknowledged_by: Option<String>,
    /// When.
    pub acknowledged_at: Option<String>,
    /// When the acknowledgement lapses.
    pub ack_expires_at: Option<String>,
    /// Who resolved it.
    pub resolved_by: Option<String>,
    /// When.
    pub resolved_at: Option<String>,
    /// Root-cause analysis (null until analysis runs).
    #[schema(value_type = Option<Object>)]
    pub analysis: Option<serde_json::Value>,
}

fn opt_time(ms: Option<Millis>) -> Option<String> {
    ms.map(to_rfc3339)
}

impl From<&Incident> for IncidentView {
    fn from(i: &Incident) -> Self {
        Self {
            id: i.id.clone(),
            fingerprint: i.fingerprint.clone(),
            cluster: i.cluster.clone(),
            detector: i.detector.clone(),
            namespace: i.namespace.clone(),
            object: ObjectView {
                kind: i.object.kind.clone(),
                name: i.object.name.clone(),
            },
            reason: i.reason.clone(),
            category: i.category.as_str().to_string(),
            severity: i.severity.as_str().to_string(),
            status: i.status.as_str().to_string(),
            summary: i.message.clone(),
            first_seen: to_rfc3339(i.first_seen),
            last_seen: to_rfc3339(i.last_seen),
            opened_at: to_rfc3339(i.opened_at),
            occurrences: i.occurrences,
            suppressed_occurrences: i.suppressed_occurrences,
            escalations: i
                .escalations
                .iter()
                .map(|e| e.as_str().to_string())
                .collect(),
            needs_review: i.needs_review,
            acknowledged_by: i.acknowledged_by.clone(),
            acknowledged_at: opt_time(i.acknowledged_at),
            ack_expires_at: opt_time(i.ack_expires_at),
            resolved_by: i.resolved_by.clone(),
            resolved_at: opt_time(i.resolved_at),
            analysis: None,
        }
    }
}

/// `GET /incidents` answer.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct IncidentList {
    /// Matching incidents, latest activity first.
    pub incidents: Vec<IncidentView>,
}

/// One audit row.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct AuditView {
    /// When.
    pub at: String,
    /// Who.
    pub actor: String,
    /// What (`opened`, `acknowledged`, `resolved`, `reopened`, `ack_expired`, `escalated`,
    /// `severity_raised`).
    pub action: String,
    /// Status before (null for the opening).
    pub from: Option<String>,
    /// Status after.
    pub to: String,
    /// Note.
    pub note: String,
}

impl From<&AuditEntry> for AuditView {
    fn from(a: &AuditEntry) -> Self {
        Self {
            at: to_rfc3339(a.at),
            actor: a.actor.clone(),
            action: a.action.as_str().to_string(),
            from: a.from.map(|s| s.as_str().to_string()),
            to: a.to.as_str().to_string(),
            note: a.note.clone(),
        }
    }
}

/// One sighting.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct OccurrenceView {
    /// When.
    pub seen_at: String,
    /// The object it was seen on (e.g. the Pod).
    pub object: ObjectView,
    /// Detector.
    pub detector: String,
    /// Reason.
    pub reason: String,
    /// Redacted message.
    pub message: String,
    /// Why it was merged into this incident.
    pub merge_reason: String,
    /// The suppression that silenced it.
    pub suppressed_by: Option<String>,
}

impl From<&StoredOccurrence> for OccurrenceView {
    fn from(o: &StoredOccurrence) -> Self {
        Self {
            seen_at: to_rfc3339(o.seen_at),
            object: ObjectView {
                kind: o.object.kind.clone(),
                name: o.object.name.clone(),
            },
            detector: o.detector.clone(),
            reason: o.reason.clone(),
            message: o.message.clone(),
            merge_reason: o.merge_reason.clone(),
            suppressed_by: o.suppressed_by.clone(),
        }
    }
}

/// One notification decision and its delivery state.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct NotificationView {
    /// Kind (`opened`, `reopened`, `escalated_recurring`, `escalated_persistent`,
    /// `severity_raised`, `acknowledged`, `resolved`, `ack_expired`).
    pub kind: String,
    /// Severity at decision time.
    pub severity: String,
    /// When decided.
    pub created_at: String,
    /// `pending` until every channel's delivery is final, then `sent`, or `failed` when any
    /// delivery failed for good.
    pub status: String,
    /// Delivery attempts, all channels together.
    pub attempts: u32,
    /// One entry per routed channel.
    pub deliveries: Vec<DeliveryView>,
}

/// One channel's delivery of a decision.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct DeliveryView {
    /// Channel name.
    pub channel: String,
    /// `pending`, `sent` or `failed`.
    pub status: String,
    /// Attempts so far.
    pub attempts: u32,
    /// Last error (never contains URLs or keys).
    pub last_error: Option<String>,
    /// When it was sent.
    pub sent_at: Option<String>,
    /// Next attempt, while pending.
    pub next_attempt_at: Option<String>,
}

impl From<&StoredNotification> for NotificationView {
    fn from(n: &StoredNotification) -> Self {
        Self {
            kind: n.kind.clone(),
            severity: n.severity.as_str().to_string(),
            created_at: to_rfc3339(n.created_at),
            status: n.status.clone(),
            attempts: n.attempts,
            deliveries: n
                .deliveries
                .iter()
                .map(|d| DeliveryView {
                    channel: d.channel.clone(),
                    status: d.status.clone(),
                    attempts: d.attempts,
                    last_error: d.last_error.clone(),
                    sent_at: opt_time(d.sent_at),
                    next_attempt_at: (d.status == "pending").then(|| to_rfc3339(d.next_attempt_at)),
                })
                .collect(),
        }
    }
}

/// `GET /incidents/{id}` answer.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct IncidentDetailView {
    /// The incident.
    #[serde(flatten)]
    pub incident: IncidentView,
    /// Audit timeline, oldest first.
    pub timeline: Vec<AuditView>,
    /// Latest sightings, newest first (at most 50).
    pub recent_occurrences: Vec<OccurrenceView>,
    /// Notification decisions, oldest first.
    pub notifications: Vec<NotificationView>,
    /// Redaction receipt of the analysis context (categories and counts; null until analysis
    /// runs).
    #[schema(value_type = Option<Object>)]
    pub redaction_receipt: Option<serde_json::Value>,
}

impl From<&IncidentDetail> for IncidentDetailView {
    fn from(d: &IncidentDetail) -> Self {
        Self {
            incident: IncidentView::from(&d.incident),
            timeline: d.audit.iter().map(AuditView::from).collect(),
            recent_occurrences: d.occurrences.iter().map(OccurrenceView::from).collect(),
            notifications: d.notifications.iter().map(NotificationView::from).collect(),
            redaction_receipt: None,
        }
    }
}

/// Body of `POST /incidents/{id}/ack` and `/resolve` (optional; all fields optional).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransitionRequest {
    /// Who is acting (default `api`).
    pub actor: Option<String>,
    /// Why.
    pub note: Option<String>,
    /// Acknowledgements only: lifetime in seconds, overriding `incidents.ack_expiry_secs`
    /// (0 = never expires).
    pub expires_in_secs: Option<u64>,
}

/// Query of `GET /incidents`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// `open`, `acknowledged`, `resolved`, `active` (open + acknowledged, the default) or
    /// `all`; comma-separated values combine.
    pub status: Option<String>,
    /// Exact namespace.
    pub namespace: Option<String>,
    /// `info`, `warning` or `critical`.
    pub severity: Option<String>,
    /// `true` or `false`.
    pub needs_review: Option<String>,
    /// Most rows (default 100, at most 1000).
    pub limit: Option<String>,
}

/// A suppression.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct SuppressionView {
    /// Id.
    pub id: String,
    /// Namespace glob.
    pub namespace: Option<String>,
    /// Exact kind.
    pub kind: Option<String>,
    /// Name glob (top owner).
    pub name: Option<String>,
    /// Category.
    pub category: Option<String>,
    /// Why.
    pub reason: String,
    /// Who.
    pub created_by: String,
    /// When created.
    pub created_at: String,
    /// When it stops applying.
    pub expires_at: String,
}

impl From<&Suppression> for SuppressionView {
    fn from(s: &Suppression) -> Self {
        Self {
            id: s.id.clone(),
            namespace: s.namespace.clone(),
            kind: s.kind.clone(),
            name: s.name.clone(),
            category: s.category.map(|c| c.as_str().to_string()),
            reason: s.reason.clone(),
            created_by: s.created_by.clone(),
            created_at: to_rfc3339(s.created_at),
            expires_at: to_rfc3339(s.expires_at),
        }
    }
}

/// `GET /suppressions` answer.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SuppressionList {
    /// Suppressions.
    pub suppressions: Vec<SuppressionView>,
}

/// Body of `POST /suppressions`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SuppressionRequest {
    /// Namespace glob.
    pub namespace: Option<String>,
    /// Exact kind of the top owner.
    pub kind: Option<String>,
    /// Name glob of the top owner.
    pub name: Option<String>,
    /// Category (taxonomy spelling).
    pub category: Option<String>,
    /// Why (required).
    pub reason: String,
    /// Who (default `api`).
    pub created_by: Option<String>,
    /// Lifetime in seconds (required, > 0).
    pub expires_in_secs: u64,
}

/// `POST /alertmanager` answer.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct AlertmanagerReceipt {
    /// Alerts in the payload.
    pub received: usize,
    /// Alerts applied as observations.
    pub processed: usize,
    /// Alerts skipped (ignored names, unwatched namespaces, no alertname).
    pub ignored: usize,
}

/// Health answer.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct HealthBody {
    /// `ok` / `ready`.
    pub status: String,
}
