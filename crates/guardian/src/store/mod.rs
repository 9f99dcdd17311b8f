//! The incident store: the single source of truth.
//!
//! [`IncidentStore`] is the boundary the engine and the API use; [`sqlite::SqliteStore`] is the
//! default backend (a PostgreSQL one can implement the same trait). Every state-changing method
//! loads the stored facts, asks [`guardian_core::decide`] what to do, and writes the new state,
//! its audit rows and its notification decisions in **one transaction**.

pub mod sqlite;

use std::future::Future;

use guardian_core::decide::NoticeKind;
use guardian_core::lifecycle::{AuditEntry, IllegalTransition};
use guardian_core::policy::Policy;
use guardian_core::signal::Observation;
use guardian_core::suppression::{InvalidSuppression, Suppression};
use guardian_core::time::Millis;
use guardian_core::{Incident, ObjectRef, Severity, Status};

/// Store failures.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No incident (or suppression) with that id.
    #[error("no {what} with id {id}")]
    NotFound {
        /// `incident` or `suppression`.
        what: &'static str,
        /// The id asked for.
        id: String,
    },
    /// The lifecycle forbids the requested transition.
    #[error(transparent)]
    Illegal(#[from] IllegalTransition),
    /// A suppression request is invalid.
    #[error(transparent)]
    InvalidSuppression(#[from] InvalidSuppression),
    /// The database failed.
    #[error("unable to access the store: {0}")]
    Database(#[from] sqlx::Error),
    /// Migrations failed at start-up.
    #[error("unable to migrate the store: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The store file vanished or is not writable.
    #[error("the store is not writable: {0}")]
    NotWritable(String),
    /// A stored row does not decode (a bug or a hand-edited database).
    #[error("corrupt row in {table}: {message}")]
    Corrupt {
        /// Table.
        table: &'static str,
        /// What failed to decode.
        message: String,
    },
}

impl Error {
    /// Bounded label for metrics.
    pub fn metric_label(&self) -> &'static str {
        match self {
            Error::NotFound { .. } => "not_found",
            Error::Illegal(_) => "illegal_transition",
            Error::InvalidSuppression(_) => "invalid_suppression",
            Error::Database(_) => "database",
            Error::Migrate(_) => "migrate",
            Error::NotWritable(_) => "not_writable",
            Error::Corrupt { .. } => "corrupt",
        }
    }
}

/// Store result.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What a state-changing call did.
#[derive(Debug, Clone, PartialEq)]
pub struct Applied {
    /// The incident after the change.
    pub incident: Incident,
    /// A new incident row was created.
    pub created: bool,
    /// The audit rows written.
    pub audit: Vec<AuditEntry>,
    /// The notification decisions written to the outbox.
    pub notices: Vec<NoticeKind>,
    /// The sighting matched a suppression (counted, never notified).
    pub suppressed: bool,
}

/// Filters of `GET /incidents`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListFilter {
    /// Status filter; `None` = all.
    pub statuses: Option<Vec<Status>>,
    /// Exact namespace.
    pub namespace: Option<String>,
    /// Exact severity.
    pub severity: Option<Severity>,
    /// Only incidents (not) flagged for human review.
    pub needs_review: Option<bool>,
    /// Most rows to return.
    pub limit: u32,
}

/// One stored sighting.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredOccurrence {
    /// When.
    pub seen_at: Millis,
    /// The object it was seen on.
    pub object: ObjectRef,
    /// Detector.
    pub detector: String,
    /// Machine reason.
    pub reason: String,
    /// Redacted message.
    pub message: String,
    /// Why it merged into this incident.
    pub merge_reason: String,
    /// Suppression that silenced it.
    pub suppressed_by: Option<String>,
}

/// Delivery state of an outbox row.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredNotification {
    /// Row id.
    pub id: i64,
    /// Incident.
    pub incident_id: String,
    /// Kind (`opened`, `escalated_persistent`, …).
    pub kind: String,
    /// Severity at the time of the decision.
    pub severity: Severity,
    /// When decided.
    pub created_at: Millis,
    /// Key that makes redelivery harmless (per channel it is suffixed with the channel name).
    pub idempotency_key: String,
    /// `pending` until every routed delivery is final, then `sent`, or `failed` when any
    /// delivery failed for good.
    pub status: String,
    /// Delivery attempts so far (legacy counter; per-channel counts are in `deliveries`).
    pub attempts: u32,
    /// Per-channel deliveries (empty until routed).
    pub deliveries: Vec<StoredDelivery>,
}

/// One channel's delivery of one decision.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredDelivery {
    /// Row id.
    pub id: i64,
    /// Channel name.
    pub channel: String,
    /// `pending`, `sent` or `failed`.
    pub status: String,
    /// Attempts so far.
    pub attempts: u32,
    /// Next attempt (pending only).
    pub next_attempt_at: Millis,
    /// Last error (redacted, no URLs).
    pub last_error: Option<String>,
    /// When it was sent.
    pub sent_at: Option<Millis>,
    /// Receivers deduplicate on it.
    pub idempotency_key: String,
}

/// A delivery that is due, with everything needed to render it.
#[derive(Debug, Clone, PartialEq)]
pub struct DueDelivery {
    /// Delivery row id.
    pub id: i64,
    /// Channel name.
    pub channel: String,
    /// Idempotency key.
    pub idempotency_key: String,
    /// Attempts so far.
    pub attempts: u32,
    /// The decision's kind.
    pub kind: NoticeKind,
    /// When it was decided.
    pub decided_at: Millis,
    /// The incident now.
    pub incident: Incident,
    /// Slack thread root of the incident's current episode on this channel.
    pub thread_ts: Option<String>,
}

/// Outbox depth, for metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct OutboxStats {
    /// Deliveries waiting (including decisions not yet routed).
    pub pending: u64,
    /// Deliveries failed for good.
    pub failed: u64,
    /// Decision time of the oldest pending delivery.
    pub oldest_pending_at: Option<Millis>,
}

/// How a delivery attempt ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Attempt {
    /// Delivered; Slack may report the message `ts` to keep as the thread root.
    Sent {
        /// Thread root to remember for (incident, channel, episode).
        thread_ts: Option<String>,
    },
    /// Failed; retry at `next_attempt_at`.
    Retry {
        /// Redacted reason.
        error: String,
        /// When to try again.
        next_attempt_at: Millis,
    },
    /// Failed for good.
    Failed {
        /// Redacted reason.
        error: String,
    },
}

/// An incident with its history, for `GET /incidents/{id}`.
#[derive(Debug, Clone, PartialEq)]
pub struct IncidentDetail {
    /// The incident.
    pub incident: Incident,
    /// Audit timeline, oldest first.
    pub audit: Vec<AuditEntry>,
    /// Most recent sightings, newest first (capped).
    pub occurrences: Vec<StoredOccurrence>,
    /// Notification decisions, oldest first.
    pub notifications: Vec<StoredNotification>,
}

/// One recorded LLM call.
#[derive(Debug, Clone, PartialEq)]
pub struct LlmCall {
    /// When.
    pub at: Millis,
    /// The incident analysed, if any.
    pub incident_id: Option<String>,
    /// Provider name.
    pub provider: String,
    /// Model.
    pub model: String,
    /// Input tokens (cached ones included).
    pub input_tokens: u64,
    /// Cached input tokens.
    pub cached_input_tokens: u64,
    /// Output tokens.
    pub output_tokens: u64,
    /// Cost in micro-dollars; `None` when the model has no known price.
    pub cost_micros: Option<u64>,
    /// Latency.
    pub latency_ms: u64,
    /// `ok`, or the error's metric label.
    pub outcome: String,
}

/// Spend inside a window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Spend {
    /// Calls.
    pub calls: u64,
    /// Tokens in + out.
    pub tokens: u64,
    /// Known cost in micro-dollars.
    pub cost_micros: u64,
    /// Calls whose cost is unknown.
    pub unpriced_calls: u64,
}

/// An incident whose analysis is due.
#[derive(Debug, Clone, PartialEq)]
pub struct DueAnalysis {
    /// The incident.
    pub incident: Incident,
    /// Why (`opened`, `reopened`, `escalated`, `new_evidence`).
    pub trigger: String,
}

/// What a clock tick did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TickReport {
    /// Incidents whose state changed.
    pub changed: Vec<Applied>,
    /// Resolved incidents deleted by retention.
    pub purged: u64,
}

/// The store boundary. Implementations must make every state change atomic with its audit rows
/// and notification decisions, and must never hold a write transaction across network I/O.
pub trait IncidentStore: Send + Sync + 'static {
    /// Proves the store is writable (a rolled-back write).
    fn ping(&self) -> impl Future<Output = Result<()>> + Send;

    /// Applies one observation (a sighting or a positive recovery). Returns `None` when a
    /// recovery names no live incident.
    fn observe(
        &self,
        observation: &Observation,
        policy: &Policy,
        now: Millis,
    ) -> impl Future<Output = Result<Option<Applied>>> + Send;

    /// A human acknowledges.
    fn acknowledge(
        &self,
        id: &str,
        actor: &str,
        note: &str,
        expires_in_ms: Option<Millis>,
        policy: &Policy,
        now: Millis,
    ) -> impl Future<Output = Result<Applied>> + Send;

    /// A human resolves.
    fn resolve(
        &self,
        id: &str,
        actor: &str,
        note: &str,
        now: Millis,
    ) -> impl Future<Output = Result<Applied>> + Send;

    /// Runs the clock-driven rules over every live incident and applies retention.
    fn tick(&self, policy: &Policy, now: Millis)
    -> impl Future<Output = Result<TickReport>> + Send;

    /// Lists incidents, newest activity first.
    fn list(&self, filter: &ListFilter) -> impl Future<Output = Result<Vec<Incident>>> + Send;

    /// One incident with its history.
    fn get(&self, id: &str) -> impl Future<Output = Result<Option<IncidentDetail>>> + Send;

    /// The newest incident with this fingerprint in this cluster.
    fn find_by_fingerprint(
        &self,
        cluster: &str,
        fingerprint: &str,
    ) -> impl Future<Output = Result<Option<Incident>>> + Send;

    /// Stores a validated suppression.
    fn create_suppression(
        &self,
        suppression: &Suppression,
        now: Millis,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Suppressions, active ones only unless `include_expired`.
    fn list_suppressions(
        &self,
        now: Millis,
        include_expired: bool,
    ) -> impl Future<Output = Result<Vec<Suppression>>> + Send;

    /// Deletes a suppression.
    fn delete_suppression(&self, id: &str) -> impl Future<Output = Result<()>> + Send;

    /// Outbox rows waiting for delivery, oldest first.
    fn pending_notifications(
        &self,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<StoredNotification>>> + Send;

    /// Routes decisions not yet routed into per-channel deliveries, each decision in one
    /// transaction. Returns how many decisions were routed.
    fn route_pending<F>(
        &self,
        limit: u32,
        now: Millis,
        route: F,
    ) -> impl Future<Output = Result<u64>> + Send
    where
        F: Fn(&Incident) -> Vec<String> + Send + Sync;

    /// Deliveries due at `now`, oldest first, skipping any whose incident has an earlier
    /// delivery still pending on the same channel (so "resolved" never overtakes "opened").
    fn due_deliveries(
        &self,
        now: Millis,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<DueDelivery>>> + Send;

    /// Records the end of one attempt.
    fn record_attempt(
        &self,
        delivery: &DueDelivery,
        attempt: &Attempt,
        now: Millis,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Outbox depth.
    fn outbox_stats(&self) -> impl Future<Output = Result<OutboxStats>> + Send;

    /// Incidents whose analysis is due, oldest change first.
    /// A new detector reason only counts when the stored analysis was made before
    /// `new_evidence_before` (so reasons alternating between detectors cannot churn analyses,
    /// or LLM tokens).
    fn due_analyses(
        &self,
        limit: u32,
        new_evidence_before: Millis,
    ) -> impl Future<Output = Result<Vec<DueAnalysis>>> + Send;

    /// Stores an analysis record (JSON) and clears the due flag, in one transaction with what it
    /// causes: a raised severity (never lowered) and the review flag.
    fn record_analysis(
        &self,
        id: &str,
        record: &serde_json::Value,
        proposed: Severity,
        needs_review: bool,
        source: &str,
        now: Millis,
    ) -> impl Future<Output = Result<Applied>> + Send;

    /// Stored analysis records by incident id (ids without one are absent).
    fn analyses(
        &self,
        ids: &[String],
    ) -> impl Future<Output = Result<std::collections::HashMap<String, serde_json::Value>>> + Send;

    /// Records LLM calls.
    fn record_llm_calls(&self, calls: &[LlmCall]) -> impl Future<Output = Result<()>> + Send;

    /// What LLM calls cost since `since`.
    fn llm_spend(&self, since: Millis) -> impl Future<Output = Result<Spend>> + Send;

    /// The newest LLM calls since `since` (at most `limit`).
    fn llm_calls(
        &self,
        since: Millis,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<LlmCall>>> + Send;
}
