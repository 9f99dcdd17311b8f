//! SQLite backend: one writer connection (SQLite allows one writer; a single-connection pool
//! turns lock contention into queueing) plus a read-only pool for the API, WAL so readers never
//! block the writer, a busy timeout, foreign keys, and migrations embedded in the binary.
//!
//! NB: write transactions here only ever await SQLite itself, never network I/O; holding one
//! across an LLM or notifier call is the documented sqlx+SQLite lock-starvation trap.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use guardian_core::decide::{self, NoticeKind, Outcome};
use guardian_core::incident::EscalationLevel;
use guardian_core::lifecycle::{AuditAction, AuditEntry};
use guardian_core::policy::Policy;
use guardian_core::signal::{Observation, Signal};
use guardian_core::suppression::{self, Suppression, Target};
use guardian_core::time::Millis;
use guardian_core::{Category, Incident, ObjectRef, Severity, Status, fingerprint};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{FromRow, SqliteConnection, SqlitePool};

use super::{
    Applied, Attempt, DueAnalysis, DueDelivery, Error, IncidentDetail, IncidentStore, ListFilter,
    LlmCall, OutboxStats, Result, Spend, StoredDelivery, StoredNotification, StoredOccurrence,
    TickReport,
};

/// Sightings kept per incident; the counter keeps the total. Bounded so an event storm cannot
/// grow the database without limit.
const OCCURRENCE_HISTORY: i64 = 100;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// The SQLite store.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    /// The only connection that writes.
    writer: SqlitePool,
    /// Read-only connections for listing and detail views.
    readers: SqlitePool,
    /// The database file, checked by [`IncidentStore::ping`] (an open handle survives the
    /// file's deletion, so a ping through it alone would lie).
    path: PathBuf,
}

/// How to open the store.
#[derive(Debug, Clone)]
pub struct Options {
    /// Database file; created when missing.
    pub path: PathBuf,
    /// Lock wait before a statement fails.
    pub busy_timeout: Duration,
    /// Size of the read pool.
    pub read_connections: u32,
}

impl SqliteStore {
    /// Opens (creating and migrating when needed) the database file.
    pub async fn open(options: &Options) -> Result<Self> {
        let base = SqliteConnectOptions::new()
            .filename(&options.path)
            .journal_mode(SqliteJournalMode::Wal)
            // NORMAL is durable in WAL mode against process crashes (what "a restart loses
            // nothing" means); only a power loss may drop the last commits.
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(options.busy_timeout)
            .foreign_keys(true);
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(base.clone().create_if_missing(true))
            .await?;
        MIGRATOR.run(&writer).await?;
        let readers = SqlitePoolOptions::new()
            .max_connections(options.read_connections.max(1))
            .connect_with(base.read_only(true))
            .await?;
        Ok(Self {
            writer,
            readers,
            path: options.path.clone(),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Closes both pools (tests use it to simulate a process exit).
    pub async fn close(&self) {
        self.writer.close().await;
        self.readers.close().await;
    }
}

#[derive(FromRow)]
struct IncidentRow {
    id: String,
    fingerprint: String,
    cluster: String,
    namespace: Option<String>,
    object_kind: String,
    object_name: String,
    detector: String,
    reason: String,
    category: String,
    message: String,
    severity: String,
    detector_severity: String,
    status: String,
    escalations: String,
    first_seen: i64,
    last_seen: i64,
    opened_at: i64,
    occurrences: i64,
    suppressed_occurrences: i64,
    acknowledged_at: Option<i64>,
    acknowledged_by: Option<String>,
    ack_expires_at: Option<i64>,
    resolved_at: Option<i64>,
    resolved_by: Option<String>,
    last_notified_at: Option<i64>,
    announced: bool,
    needs_review: bool,
}

fn corrupt(table: &'static str, message: impl Into<String>) -> Error {
    Error::Corrupt {
        table,
        message: message.into(),
    }
}

fn escalation_from(text: &str) -> Result<EscalationLevel> {
    match text {
        "recurring" => Ok(EscalationLevel::Recurring),
        "persistent" => Ok(EscalationLevel::Persistent),
        other => Err(corrupt("incidents", format!("escalation `{other}`"))),
    }
}

impl TryFrom<IncidentRow> for Incident {
    type Error = Error;
    fn try_from(r: IncidentRow) -> Result<Self> {
        let sev = |s: &str| Severity::from_str(s).map_err(|e| corrupt("incidents", e));
        Ok(Incident {
            category: Category::parse(&r.category)
                .ok_or_else(|| corrupt("incidents", format!("category `{}`", r.category)))?,
            severity: sev(&r.severity)?,
            detector_severity: sev(&r.detector_severity)?,
            status: Status::from_str(&r.status).map_err(|e| corrupt("incidents", e))?,
            escalations: r
                .escalations
                .split(',')
                .filter(|s| !s.is_empty())
                .map(escalation_from)
                .collect::<Result<_>>()?,
            id: r.id,
            fingerprint: r.fingerprint,
            cluster: r.cluster,
            namespace: r.namespace,
            object: ObjectRef::new(r.object_kind, r.object_name),
            detector: r.detector,
            reason: r.reason,
            message: r.message,
            first_seen: r.first_seen,
            last_seen: r.last_seen,
            opened_at: r.opened_at,
            occurrences: u64::try_from(r.occurrences).unwrap_or(0),
            suppressed_occurrences: u64::try_from(r.suppressed_occurrences).unwrap_or(0),
            acknowledged_at: r.acknowledged_at,
            acknowledged_by: r.acknowledged_by,
            ack_expires_at: r.ack_expires_at,
            resolved_at: r.resolved_at,
            resolved_by: r.resolved_by,
            last_notified_at: r.last_notified_at,
            announced: r.announced,
            needs_review: r.needs_review,
        })
    }
}

#[derive(FromRow)]
struct AuditRow {
    at: i64,
    actor: String,
    action: String,
    from_status: Option<String>,
    to_status: String,
    note: String,
}

impl TryFrom<AuditRow> for AuditEntry {
    type Error = Error;
    fn try_from(r: AuditRow) -> Result<Self> {
        let status = |s: &str| Status::from_str(s).map_err(|e| corrupt("audit", e));
        Ok(AuditEntry {
            at: r.at,
            actor: r.actor,
            action: AuditAction::parse(&r.action)
                .ok_or_else(|| corrupt("audit", format!("action `{}`", r.action)))?,
            from: r.from_status.as_deref().map(status).transpose()?,
            to: status(&r.to_status)?,
            note: r.note,
        })
    }
}

#[derive(FromRow)]
struct OccurrenceRow {
    seen_at: i64,
    object_kind: String,
    object_name: String,
    detector: String,
    reason: String,
    message: String,
    merge_reason: String,
    suppressed_by: Option<String>,
}

#[derive(FromRow)]
struct NotificationRow {
    id: i64,
    incident_id: String,
    kind: String,
    severity: String,
    created_at: i64,
    idempotency_key: String,
    status: String,
    attempts: i64,
}

#[derive(FromRow)]
struct DeliveryRow {
    id: i64,
    channel: String,
    status: String,
    attempts: i64,
    next_attempt_at: i64,
    last_error: Option<String>,
    sent_at: Option<i64>,
    idempotency_key: String,
}

impl From<DeliveryRow> for StoredDelivery {
    fn from(r: DeliveryRow) -> Self {
        StoredDelivery {
            id: r.id,
            channel: r.channel,
            status: r.status,
            attempts: u32::try_from(r.attempts).unwrap_or(0),
            next_attempt_at: r.next_attempt_at,
            last_error: r.last_error,
            sent_at: r.sent_at,
            idempotency_key: r.idempotency_key,
        }
    }
}

#[derive(FromRow)]
struct DueRow {
    id: i64,
    channel: String,
    idempotency_key: String,
    attempts: i64,
    kind: String,
    decided_at: i64,
    incident_id: String,
}

impl TryFrom<NotificationRow> for StoredNotification {
    type Error = Error;
    fn try_from(r: NotificationRow) -> Result<Self> {
        Ok(StoredNotification {
            deliveries: Vec::new(),
            severity: Severity::from_str(&r.severity).map_err(|e| corrupt("notifications", e))?,
            id: r.id,
            incident_id: r.incident_id,
            kind: r.kind,
            created_at: r.created_at,
            idempotency_key: r.idempotency_key,
            status: r.status,
            attempts: u32::try_from(r.attempts).unwrap_or(0),
        })
    }
}

#[derive(FromRow)]
struct SuppressionRow {
    id: String,
    namespace: Option<String>,
    kind: Option<String>,
    name: Option<String>,
    category: Option<String>,
    reason: String,
    created_by: String,
    created_at: i64,
    expires_at: i64,
}

impl TryFrom<SuppressionRow> for Suppression {
    type Error = Error;
    fn try_from(r: SuppressionRow) -> Result<Self> {
        let category = match r.category {
            None => None,
            Some(c) => Some(
                Category::parse(&c)
                    .ok_or_else(|| corrupt("suppressions", format!("category `{c}`")))?,
            ),
        };
        Ok(Suppression {
            id: r.id,
            namespace: r.namespace,
            kind: r.kind,
            name: r.name,
            category,
            reason: r.reason,
            created_by: r.created_by,
            created_at: r.created_at,
            expires_at: r.expires_at,
        })
    }
}

/// The incident column list, as a macro so queries stay `'static` strings (`concat!`): sqlx
/// only accepts static SQL, which keeps injection out by construction.
macro_rules! select_incident {
    ($rest:literal) => {
        concat!(
            "SELECT id, fingerprint, cluster, namespace, object_kind, object_name, detector, ",
            "reason, category, message, severity, detector_severity, status, escalations, ",
            "first_seen, last_seen, opened_at, occurrences, suppressed_occurrences, ",
            "acknowledged_at, acknowledged_by, ack_expires_at, resolved_at, resolved_by, ",
            "last_notified_at, announced, needs_review FROM incidents ",
            $rest
        )
    };
}

async fn incident_by_id(conn: &mut SqliteConnection, id: &str) -> Result<Option<Incident>> {
    let row: Option<IncidentRow> = sqlx::query_as(select_incident!("WHERE id = ?1"))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    row.map(Incident::try_from).transpose()
}

async fn newest_by_fingerprint(
    conn: &mut SqliteConnection,
    cluster: &str,
    fingerprint: &str,
) -> Result<Option<Incident>> {
    let row: Option<IncidentRow> = sqlx::query_as(select_incident!(
        "WHERE cluster = ?1 AND fingerprint = ?2 \
         ORDER BY (status != 'resolved') DESC, created_at DESC, id DESC LIMIT 1"
    ))
    .bind(cluster)
    .bind(fingerprint)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(Incident::try_from).transpose()
}

async fn episodes_since(
    conn: &mut SqliteConnection,
    cluster: &str,
    fingerprint: &str,
    since: Millis,
) -> Result<Vec<Millis>> {
    let rows: Vec<(i64,)> = sqlx::query_as(
        "SELECT started_at FROM episodes WHERE cluster = ?1 AND fingerprint = ?2 AND started_at >= ?3 \
         ORDER BY started_at",
    )
    .bind(cluster)
    .bind(fingerprint)
    .bind(since)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows.into_iter().map(|(at,)| at).collect())
}

async fn active_suppressions(conn: &mut SqliteConnection, now: Millis) -> Result<Vec<Suppression>> {
    let rows: Vec<SuppressionRow> = sqlx::query_as(
        "SELECT id, namespace, kind, name, category, reason, created_by, created_at, expires_at \
         FROM suppressions WHERE expires_at > ?1 ORDER BY created_at, id",
    )
    .bind(now)
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter().map(Suppression::try_from).collect()
}

fn escalations_text(levels: &[EscalationLevel]) -> String {
    levels
        .iter()
        .map(|l| l.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

/// Writes an outcome: the incident row, its audit rows, the sighting, the episode start and the
/// notification decisions. Callers hold the transaction.
async fn apply(conn: &mut SqliteConnection, out: &Outcome, now: Millis) -> Result<Applied> {
    let i = &out.incident;
    // One upsert for new and existing rows: identity columns and `created_at` are written once,
    // everything the lifecycle changes is overwritten.
    sqlx::query(
        "INSERT INTO incidents (id, fingerprint, cluster, namespace, object_kind, object_name, \
         detector, reason, category, message, severity, detector_severity, status, escalations, \
         first_seen, last_seen, opened_at, occurrences, suppressed_occurrences, acknowledged_at, \
         acknowledged_by, ack_expires_at, resolved_at, resolved_by, last_notified_at, announced, \
         needs_review, created_at, updated_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, \
         ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28, ?28) \
         ON CONFLICT (id) DO UPDATE SET reason = excluded.reason, message = excluded.message, \
         severity = excluded.severity, detector_severity = excluded.detector_severity, \
         status = excluded.status, escalations = excluded.escalations, \
         first_seen = excluded.first_seen, last_seen = excluded.last_seen, \
         opened_at = excluded.opened_at, occurrences = excluded.occurrences, \
         suppressed_occurrences = excluded.suppressed_occurrences, \
         acknowledged_at = excluded.acknowledged_at, acknowledged_by = excluded.acknowledged_by, \
         ack_expires_at = excluded.ack_expires_at, resolved_at = excluded.resolved_at, \
         resolved_by = excluded.resolved_by, last_notified_at = excluded.last_notified_at, \
         announced = excluded.announced, needs_review = excluded.needs_review, \
         updated_at = excluded.updated_at",
    )
    .bind(&i.id)
    .bind(&i.fingerprint)
    .bind(&i.cluster)
    .bind(&i.namespace)
    .bind(&i.object.kind)
    .bind(&i.object.name)
    .bind(&i.detector)
    .bind(&i.reason)
    .bind(i.category.as_str())
    .bind(&i.message)
    .bind(i.severity.as_str())
    .bind(i.detector_severity.as_str())
    .bind(i.status.as_str())
    .bind(escalations_text(&i.escalations))
    .bind(i.first_seen)
    .bind(i.last_seen)
    .bind(i.opened_at)
    .bind(i64::try_from(i.occurrences).unwrap_or(i64::MAX))
    .bind(i64::try_from(i.suppressed_occurrences).unwrap_or(i64::MAX))
    .bind(i.acknowledged_at)
    .bind(&i.acknowledged_by)
    .bind(i.ack_expires_at)
    .bind(i.resolved_at)
    .bind(&i.resolved_by)
    .bind(i.last_notified_at)
    .bind(i.announced)
    .bind(i.needs_review)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    // The changes that call for a (new) analysis mark it due in this same transaction.
    let trigger = out.audit.iter().find_map(|a| match a.action {
        AuditAction::Opened => Some("opened"),
        AuditAction::Reopened => Some("reopened"),
        AuditAction::Escalated => Some("escalated"),
        _ => None,
    });
    if let Some(trigger) = trigger {
        sqlx::query("UPDATE incidents SET analysis_due = 1, analysis_trigger = ?2 WHERE id = ?1")
            .bind(&i.id)
            .bind(trigger)
            .execute(&mut *conn)
            .await?;
    }
    for a in &out.audit {
        sqlx::query(
            "INSERT INTO audit (incident_id, at, actor, action, from_status, to_status, note) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )
        .bind(&i.id)
        .bind(a.at)
        .bind(&a.actor)
        .bind(a.action.as_str())
        .bind(a.from.map(|s| s.as_str()))
        .bind(a.to.as_str())
        .bind(&a.note)
        .execute(&mut *conn)
        .await?;
    }
    if let Some(o) = &out.occurrence {
        sqlx::query(
            "INSERT INTO occurrences (incident_id, seen_at, object_kind, object_name, detector, \
             reason, message, merge_reason, suppressed_by) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )
        .bind(&i.id)
        .bind(o.seen_at)
        .bind(&o.object.kind)
        .bind(&o.object.name)
        .bind(&o.detector)
        .bind(&o.reason)
        .bind(&o.message)
        .bind(&o.merge_reason)
        .bind(&o.suppressed_by)
        .execute(&mut *conn)
        .await?;
        sqlx::query(
            "DELETE FROM occurrences WHERE incident_id = ?1 AND id <= \
             (SELECT id FROM occurrences WHERE incident_id = ?1 ORDER BY id DESC LIMIT 1 OFFSET ?2)",
        )
        .bind(&i.id)
        .bind(OCCURRENCE_HISTORY)
        .execute(&mut *conn)
        .await?;
    }
    if out.episode_started {
        sqlx::query(
            "INSERT INTO episodes (cluster, fingerprint, incident_id, started_at) VALUES (?1, ?2, ?3, ?4)",
        )
        .bind(&i.cluster)
        .bind(&i.fingerprint)
        .bind(&i.id)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    }
    for n in &out.notices {
        // One key per decision; delivery appends the channel, giving the (incident,
        // transition, channel) key that makes a redelivery harmless.
        let key = format!(
            "{}:{}:{}",
            i.id,
            n.kind.as_str(),
            uuid::Uuid::now_v7().simple()
        );
        sqlx::query(
            "INSERT INTO notifications (incident_id, kind, severity, created_at, idempotency_key, \
             next_attempt_at) VALUES (?1, ?2, ?3, ?4, ?5, ?4)",
        )
        .bind(&i.id)
        .bind(n.kind.as_str())
        .bind(n.severity.as_str())
        .bind(n.at)
        .bind(key)
        .execute(&mut *conn)
        .await?;
    }
    Ok(Applied {
        incident: out.incident.clone(),
        created: out.created,
        audit: out.audit.clone(),
        notices: out
            .notices
            .iter()
            .map(|n| n.kind)
            .collect::<Vec<NoticeKind>>(),
        suppressed: out
            .occurrence
            .as_ref()
            .is_some_and(|o| o.suppressed_by.is_some()),
    })
}

fn signal_target(signal: &Signal) -> Target<'_> {
    Target {
        namespace: signal.namespace.as_deref(),
        kind: &signal.top_owner.kind,
        name: &signal.top_owner.name,
        category: signal.failure_class,
    }
}

impl SqliteStore {
    async fn observe_signal(
        &self,
        signal: &Signal,
        policy: &Policy,
        now: Millis,
    ) -> Result<Applied> {
        let fp = fingerprint::of(signal);
        let mut tx = self.writer.begin().await?;
        let existing = newest_by_fingerprint(&mut tx, &signal.cluster, &fp).await?;
        let episodes = episodes_since(
            &mut tx,
            &signal.cluster,
            &fp,
            now - policy.recurring_window_ms,
        )
        .await?;
        let suppressions = active_suppressions(&mut tx, now).await?;
        let suppression = suppression::find(&suppressions, &signal_target(signal), now);
        let out = decide::on_signal(
            signal,
            existing,
            &episodes,
            suppression,
            policy,
            now,
            || uuid::Uuid::now_v7().to_string(),
        );
        let applied = apply(&mut tx, &out, now).await?;
        tx.commit().await?;
        Ok(applied)
    }

    async fn observe_recovery(
        &self,
        fingerprint: &str,
        detector: &str,
        note: &str,
        now: Millis,
    ) -> Result<Option<Applied>> {
        let mut tx = self.writer.begin().await?;
        let row: Option<(String,)> = sqlx::query_as(
            "SELECT id FROM incidents WHERE fingerprint = ?1 AND status != 'resolved' LIMIT 1",
        )
        .bind(fingerprint)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((id,)) = row else {
            return Ok(None);
        };
        let Some(incident) = incident_by_id(&mut tx, &id).await? else {
            return Ok(None);
        };
        let Some(out) = decide::on_recovered(&incident, detector, note, now) else {
            return Ok(None);
        };
        let applied = apply(&mut tx, &out, now).await?;
        tx.commit().await?;
        Ok(Some(applied))
    }

    async fn operator_change(
        &self,
        id: &str,
        now: Millis,
        decide: impl FnOnce(&Incident) -> Result<Outcome>,
    ) -> Result<Applied> {
        let mut tx = self.writer.begin().await?;
        let incident = incident_by_id(&mut tx, id)
            .await?
            .ok_or_else(|| Error::NotFound {
                what: "incident",
                id: id.to_string(),
            })?;
        let out = decide(&incident)?;
        let applied = apply(&mut tx, &out, now).await?;
        tx.commit().await?;
        Ok(applied)
    }
}

impl IncidentStore for SqliteStore {
    async fn ping(&self) -> Result<()> {
        if !self.path.exists() {
            return Err(Error::NotWritable(format!(
                "{} no longer exists",
                self.path.display()
            )));
        }
        let mut tx = self.writer.begin().await?;
        sqlx::query("UPDATE health SET checked_at = ?1 WHERE id = 1")
            .bind(guardian_core::time::parse_rfc3339("2000-01-01T00:00:00Z").unwrap_or(0))
            .execute(&mut *tx)
            .await?;
        tx.rollback().await?;
        Ok(())
    }

    async fn observe(
        &self,
        observation: &Observation,
        policy: &Policy,
        now: Millis,
    ) -> Result<Option<Applied>> {
        match observation {
            Observation::Firing(signal) => self.observe_signal(signal, policy, now).await.map(Some),
            Observation::Recovered {
                fingerprint,
                detector,
                note,
            } => {
                self.observe_recovery(fingerprint, detector, note, now)
                    .await
            }
        }
    }

    async fn acknowledge(
        &self,
        id: &str,
        actor: &str,
        note: &str,
        expires_in_ms: Option<Millis>,
        policy: &Policy,
        now: Millis,
    ) -> Result<Applied> {
        self.operator_change(id, now, |inc| {
            Ok(decide::on_ack(
                inc,
                actor,
                note,
                expires_in_ms,
                policy,
                now,
            )?)
        })
        .await
    }

    async fn resolve(&self, id: &str, actor: &str, note: &str, now: Millis) -> Result<Applied> {
        self.operator_change(id, now, |inc| {
            Ok(decide::on_resolve(inc, actor, note, now)?)
        })
        .await
    }

    async fn tick(&self, policy: &Policy, now: Millis) -> Result<TickReport> {
        let live: Vec<(String,)> =
            sqlx::query_as("SELECT id FROM incidents WHERE status != 'resolved' ORDER BY id")
                .fetch_all(&self.writer)
                .await?;
        let mut report = TickReport::default();
        for (id,) in live {
            // One short transaction per incident: the API's writes interleave instead of
            // waiting for a sweep over every live incident.
            let mut tx = self.writer.begin().await?;
            let Some(incident) = incident_by_id(&mut tx, &id).await? else {
                continue;
            };
            let episodes = episodes_since(
                &mut tx,
                &incident.cluster,
                &incident.fingerprint,
                now - policy.recurring_window_ms,
            )
            .await?;
            let suppressions = active_suppressions(&mut tx, now).await?;
            let suppression = suppression::find(&suppressions, &decide::target(&incident), now);
            if let Some(out) = decide::on_tick(&incident, &episodes, suppression, policy, now) {
                report.changed.push(apply(&mut tx, &out, now).await?);
            }
            tx.commit().await?;
        }
        let mut tx = self.writer.begin().await?;
        let purged =
            sqlx::query("DELETE FROM incidents WHERE status = 'resolved' AND resolved_at < ?1")
                .bind(decide::retention_cutoff(policy, now))
                .execute(&mut *tx)
                .await?
                .rows_affected();
        sqlx::query("DELETE FROM episodes WHERE started_at < ?1")
            .bind(now - policy.recurring_window_ms)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        report.purged = purged;
        Ok(report)
    }

    async fn list(&self, filter: &ListFilter) -> Result<Vec<Incident>> {
        let statuses = filter.statuses.as_ref().map(|s| {
            let mut text = String::from(",");
            for status in s {
                text.push_str(status.as_str());
                text.push(',');
            }
            text
        });
        let rows: Vec<IncidentRow> = sqlx::query_as(select_incident!(
            "WHERE (?1 IS NULL OR instr(?1, ',' || status || ',') > 0) \
               AND (?2 IS NULL OR namespace = ?2) \
               AND (?3 IS NULL OR severity = ?3) \
               AND (?4 IS NULL OR needs_review = ?4) \
             ORDER BY last_seen DESC, id DESC LIMIT ?5"
        ))
        .bind(statuses)
        .bind(&filter.namespace)
        .bind(filter.severity.map(|s| s.as_str()))
        .bind(filter.needs_review)
        .bind(i64::from(filter.limit))
        .fetch_all(&self.readers)
        .await?;
        rows.into_iter().map(Incident::try_from).collect()
    }

    async fn get(&self, id: &str) -> Result<Option<IncidentDetail>> {
        let mut conn = self.readers.acquire().await?;
        let Some(incident) = incident_by_id(&mut conn, id).await? else {
            return Ok(None);
        };
        let audit: Vec<AuditRow> = sqlx::query_as(
            "SELECT at, actor, action, from_status, to_status, note FROM audit \
             WHERE incident_id = ?1 ORDER BY id",
        )
        .bind(id)
        .fetch_all(&mut *conn)
        .await?;
        let occurrences: Vec<OccurrenceRow> = sqlx::query_as(
            "SELECT seen_at, object_kind, object_name, detector, reason, message, merge_reason, \
             suppressed_by FROM occurrences WHERE incident_id = ?1 ORDER BY id DESC LIMIT 50",
        )
        .bind(id)
        .fetch_all(&mut *conn)
        .await?;
        let notifications: Vec<NotificationRow> = sqlx::query_as(
            "SELECT id, incident_id, kind, severity, created_at, idempotency_key, status, attempts \
             FROM notifications WHERE incident_id = ?1 ORDER BY id",
        )
        .bind(id)
        .fetch_all(&mut *conn)
        .await?;
        let mut notifications: Vec<StoredNotification> = notifications
            .into_iter()
            .map(StoredNotification::try_from)
            .collect::<Result<_>>()?;
        for n in &mut notifications {
            let rows: Vec<DeliveryRow> = sqlx::query_as(
                "SELECT id, channel, status, attempts, next_attempt_at, last_error, sent_at, \
                 idempotency_key FROM deliveries WHERE notification_id = ?1 ORDER BY id",
            )
            .bind(n.id)
            .fetch_all(&mut *conn)
            .await?;
            n.deliveries = rows.into_iter().map(StoredDelivery::from).collect();
        }
        Ok(Some(IncidentDetail {
            incident,
            audit: audit
                .into_iter()
                .map(AuditEntry::try_from)
                .collect::<Result<_>>()?,
            occurrences: occurrences
                .into_iter()
                .map(|o| StoredOccurrence {
                    seen_at: o.seen_at,
                    object: ObjectRef::new(o.object_kind, o.object_name),
                    detector: o.detector,
                    reason: o.reason,
                    message: o.message,
                    merge_reason: o.merge_reason,
                    suppressed_by: o.suppressed_by,
                })
                .collect(),
            notifications,
        }))
    }

    async fn find_by_fingerprint(
        &self,
        cluster: &str,
        fingerprint: &str,
    ) -> Result<Option<Incident>> {
        let mut conn = self.readers.acquire().await?;
        newest_by_fingerprint(&mut conn, cluster, fingerprint).await
    }

    async fn create_suppression(&self, s: &Suppression, now: Millis) -> Result<()> {
        s.validate(now)?;
        sqlx::query(
            "INSERT INTO suppressions (id, namespace, kind, name, category, reason, created_by, \
             created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )
        .bind(&s.id)
        .bind(&s.namespace)
        .bind(&s.kind)
        .bind(&s.name)
        .bind(s.category.map(|c| c.as_str()))
        .bind(&s.reason)
        .bind(&s.created_by)
        .bind(s.created_at)
        .bind(s.expires_at)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn list_suppressions(
        &self,
        now: Millis,
        include_expired: bool,
    ) -> Result<Vec<Suppression>> {
        let rows: Vec<SuppressionRow> = sqlx::query_as(
            "SELECT id, namespace, kind, name, category, reason, created_by, created_at, expires_at \
             FROM suppressions WHERE ?1 OR expires_at > ?2 ORDER BY created_at, id",
        )
        .bind(include_expired)
        .bind(now)
        .fetch_all(&self.readers)
        .await?;
        rows.into_iter().map(Suppression::try_from).collect()
    }

    async fn delete_suppression(&self, id: &str) -> Result<()> {
        let deleted = sqlx::query("DELETE FROM suppressions WHERE id = ?1")
            .bind(id)
            .execute(&self.writer)
            .await?
            .rows_affected();
        if deleted == 0 {
            return Err(Error::NotFound {
                what: "suppression",
                id: id.to_string(),
            });
        }
        Ok(())
    }

    async fn pending_notifications(&self, limit: u32) -> Result<Vec<StoredNotification>> {
        let rows: Vec<NotificationRow> = sqlx::query_as(
            "SELECT id, incident_id, kind, severity, created_at, idempotency_key, status, attempts \
             FROM notifications WHERE status = 'pending' ORDER BY id LIMIT ?1",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.readers)
        .await?;
        rows.into_iter().map(StoredNotification::try_from).collect()
    }

    async fn route_pending<F>(&self, limit: u32, now: Millis, route: F) -> Result<u64>
    where
        F: Fn(&Incident) -> Vec<String> + Send + Sync,
    {
        let ids: Vec<(i64, String, String)> = sqlx::query_as(
            "SELECT id, incident_id, idempotency_key FROM notifications \
             WHERE routed_at IS NULL ORDER BY id LIMIT ?1",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.writer)
        .await?;
        let mut routed = 0;
        for (id, incident_id, key) in ids {
            let mut tx = self.writer.begin().await?;
            let Some(incident) = incident_by_id(&mut tx, &incident_id).await? else {
                continue;
            };
            let channels = route(&incident);
            for channel in &channels {
                sqlx::query(
                    "INSERT OR IGNORE INTO deliveries (notification_id, channel, idempotency_key, \
                     next_attempt_at, created_at) VALUES (?1, ?2, ?3, ?4, ?4)",
                )
                .bind(id)
                .bind(channel)
                .bind(format!("{key}:{channel}"))
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
            // A decision no route sends anywhere is complete as soon as it is routed.
            let status = if channels.is_empty() {
                "sent"
            } else {
                "pending"
            };
            sqlx::query("UPDATE notifications SET routed_at = ?2, status = ?3 WHERE id = ?1")
                .bind(id)
                .bind(now)
                .bind(status)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            routed += 1;
        }
        Ok(routed)
    }

    async fn due_deliveries(&self, now: Millis, limit: u32) -> Result<Vec<DueDelivery>> {
        let rows: Vec<DueRow> = sqlx::query_as(
            "SELECT d.id, d.channel, d.idempotency_key, d.attempts, n.kind, n.created_at AS decided_at, \
             n.incident_id FROM deliveries d JOIN notifications n ON n.id = d.notification_id \
             WHERE d.status = 'pending' AND d.next_attempt_at <= ?1 \
               AND NOT EXISTS (SELECT 1 FROM deliveries d2 \
                   JOIN notifications n2 ON n2.id = d2.notification_id \
                   WHERE d2.status = 'pending' AND d2.channel = d.channel \
                     AND n2.incident_id = n.incident_id AND d2.id < d.id) \
             ORDER BY d.id LIMIT ?2",
        )
        .bind(now)
        .bind(i64::from(limit))
        .fetch_all(&self.writer)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        let mut conn = self.writer.acquire().await?;
        for r in rows {
            let Some(incident) = incident_by_id(&mut conn, &r.incident_id).await? else {
                continue;
            };
            let thread: Option<(String,)> = sqlx::query_as(
                "SELECT ts FROM threads WHERE incident_id = ?1 AND channel = ?2 AND opened_at = ?3",
            )
            .bind(&incident.id)
            .bind(&r.channel)
            .bind(incident.opened_at)
            .fetch_optional(&mut *conn)
            .await?;
            out.push(DueDelivery {
                id: r.id,
                channel: r.channel,
                idempotency_key: r.idempotency_key,
                attempts: u32::try_from(r.attempts).unwrap_or(0),
                kind: NoticeKind::parse(&r.kind)
                    .ok_or_else(|| corrupt("notifications", format!("kind `{}`", r.kind)))?,
                decided_at: r.decided_at,
                thread_ts: thread.map(|(ts,)| ts),
                incident,
            });
        }
        Ok(out)
    }

    async fn record_attempt(
        &self,
        delivery: &DueDelivery,
        attempt: &Attempt,
        now: Millis,
    ) -> Result<()> {
        let mut tx = self.writer.begin().await?;
        match attempt {
            Attempt::Sent { thread_ts } => {
                sqlx::query(
                    "UPDATE deliveries SET status = 'sent', attempts = attempts + 1, sent_at = ?2, \
                     last_error = NULL WHERE id = ?1",
                )
                .bind(delivery.id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                if let Some(ts) = thread_ts {
                    // The first root wins: a reply's ts never replaces the root.
                    sqlx::query(
                        "INSERT OR IGNORE INTO threads (incident_id, channel, opened_at, ts) \
                         VALUES (?1, ?2, ?3, ?4)",
                    )
                    .bind(&delivery.incident.id)
                    .bind(&delivery.channel)
                    .bind(delivery.incident.opened_at)
                    .bind(ts)
                    .execute(&mut *tx)
                    .await?;
                }
            }
            Attempt::Retry {
                error,
                next_attempt_at,
            } => {
                sqlx::query(
                    "UPDATE deliveries SET attempts = attempts + 1, last_error = ?2, \
                     next_attempt_at = ?3 WHERE id = ?1",
                )
                .bind(delivery.id)
                .bind(error)
                .bind(next_attempt_at)
                .execute(&mut *tx)
                .await?;
            }
            Attempt::Failed { error } => {
                sqlx::query(
                    "UPDATE deliveries SET status = 'failed', attempts = attempts + 1, \
                     last_error = ?2 WHERE id = ?1",
                )
                .bind(delivery.id)
                .bind(error)
                .execute(&mut *tx)
                .await?;
            }
        }
        // The decision is final once every delivery is: failed if any failed.
        sqlx::query(
            "UPDATE notifications SET status = CASE \
               WHEN EXISTS (SELECT 1 FROM deliveries WHERE notification_id = notifications.id AND status = 'pending') THEN 'pending' \
               WHEN EXISTS (SELECT 1 FROM deliveries WHERE notification_id = notifications.id AND status = 'failed') THEN 'failed' \
               ELSE 'sent' END, \
             attempts = (SELECT coalesce(sum(attempts), 0) FROM deliveries WHERE notification_id = notifications.id) \
             WHERE id = (SELECT notification_id FROM deliveries WHERE id = ?1)",
        )
        .bind(delivery.id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn outbox_stats(&self) -> Result<OutboxStats> {
        let (pending, oldest): (i64, Option<i64>) = sqlx::query_as(
            "SELECT count(*), min(n.created_at) FROM deliveries d \
             JOIN notifications n ON n.id = d.notification_id WHERE d.status = 'pending'",
        )
        .fetch_one(&self.readers)
        .await?;
        let (unrouted, oldest_unrouted): (i64, Option<i64>) = sqlx::query_as(
            "SELECT count(*), min(created_at) FROM notifications WHERE routed_at IS NULL",
        )
        .fetch_one(&self.readers)
        .await?;
        let (failed,): (i64,) =
            sqlx::query_as("SELECT count(*) FROM deliveries WHERE status = 'failed'")
                .fetch_one(&self.readers)
                .await?;
        let oldest_pending_at = match (oldest, oldest_unrouted) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        Ok(OutboxStats {
            pending: u64::try_from(pending + unrouted).unwrap_or(0),
            failed: u64::try_from(failed).unwrap_or(0),
            oldest_pending_at,
        })
    }

    async fn due_analyses(
        &self,
        limit: u32,
        new_evidence_before: Millis,
    ) -> Result<Vec<DueAnalysis>> {
        // Due: flagged by a state change, or the detector now reports a different reason than
        // the one analysed (materially new evidence). Repeated sightings never qualify.
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT id, CASE WHEN analysis_due = 1 THEN coalesce(analysis_trigger, 'opened') \
             ELSE 'new_evidence' END FROM incidents \
             WHERE analysis_due = 1 OR (status != 'resolved' AND analysis IS NOT NULL \
               AND json_extract(analysis, '$.analyzed_reason') IS NOT reason \
               AND coalesce(json_extract(analysis, '$.analyzed_at_ms'), 0) < ?2) \
             ORDER BY updated_at, id LIMIT ?1",
        )
        .bind(i64::from(limit))
        .bind(new_evidence_before)
        .fetch_all(&self.writer)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        let mut conn = self.writer.acquire().await?;
        for (id, trigger) in rows {
            if let Some(incident) = incident_by_id(&mut conn, &id).await? {
                out.push(DueAnalysis { incident, trigger });
            }
        }
        Ok(out)
    }

    async fn record_analysis(
        &self,
        id: &str,
        record: &serde_json::Value,
        proposed: Severity,
        needs_review: bool,
        source: &str,
        now: Millis,
    ) -> Result<Applied> {
        let mut tx = self.writer.begin().await?;
        let incident = incident_by_id(&mut tx, id)
            .await?
            .ok_or_else(|| Error::NotFound {
                what: "incident",
                id: id.to_string(),
            })?;
        sqlx::query("UPDATE incidents SET analysis = ?2, analysis_due = 0, analysis_trigger = NULL WHERE id = ?1")
            .bind(id)
            .bind(record.to_string())
            .execute(&mut *tx)
            .await?;
        let applied = match decide::on_analysis(&incident, proposed, needs_review, source, now) {
            Some(out) => apply(&mut tx, &out, now).await?,
            None => Applied {
                incident,
                created: false,
                audit: Vec::new(),
                notices: Vec::new(),
                suppressed: false,
            },
        };
        tx.commit().await?;
        Ok(applied)
    }

    async fn analyses(
        &self,
        ids: &[String],
    ) -> Result<std::collections::HashMap<String, serde_json::Value>> {
        let mut out = std::collections::HashMap::new();
        let mut conn = self.readers.acquire().await?;
        for id in ids {
            let row: Option<(Option<String>,)> =
                sqlx::query_as("SELECT analysis FROM incidents WHERE id = ?1")
                    .bind(id)
                    .fetch_optional(&mut *conn)
                    .await?;
            if let Some((Some(text),)) = row {
                let value = serde_json::from_str(&text)
                    .map_err(|e| corrupt("incidents", format!("analysis: {e}")))?;
                out.insert(id.clone(), value);
            }
        }
        Ok(out)
    }

    async fn record_llm_calls(&self, calls: &[LlmCall]) -> Result<()> {
        let mut tx = self.writer.begin().await?;
        for c in calls {
            sqlx::query(
                "INSERT INTO llm_calls (at, incident_id, provider, model, input_tokens, \
                 cached_input_tokens, output_tokens, cost_micros, latency_ms, outcome) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )
            .bind(c.at)
            .bind(&c.incident_id)
            .bind(&c.provider)
            .bind(&c.model)
            .bind(i64::try_from(c.input_tokens).unwrap_or(i64::MAX))
            .bind(i64::try_from(c.cached_input_tokens).unwrap_or(i64::MAX))
            .bind(i64::try_from(c.output_tokens).unwrap_or(i64::MAX))
            .bind(c.cost_micros.map(|v| i64::try_from(v).unwrap_or(i64::MAX)))
            .bind(i64::try_from(c.latency_ms).unwrap_or(i64::MAX))
            .bind(&c.outcome)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn llm_spend(&self, since: Millis) -> Result<Spend> {
        let (calls, tokens, cost, unpriced): (i64, i64, i64, i64) = sqlx::query_as(
            "SELECT count(*), coalesce(sum(input_tokens + output_tokens), 0), \
             coalesce(sum(cost_micros), 0), coalesce(sum(cost_micros IS NULL), 0) \
             FROM llm_calls WHERE at >= ?1",
        )
        .bind(since)
        .fetch_one(&self.writer)
        .await?;
        let n = |v: i64| u64::try_from(v).unwrap_or(0);
        Ok(Spend {
            calls: n(calls),
            tokens: n(tokens),
            cost_micros: n(cost),
            unpriced_calls: n(unpriced),
        })
    }

    async fn llm_calls(&self, since: Millis, limit: u32) -> Result<Vec<LlmCall>> {
        #[allow(clippy::type_complexity)] // one row of the table
        let rows: Vec<(
            i64,
            Option<String>,
            String,
            String,
            i64,
            i64,
            i64,
            Option<i64>,
            i64,
            String,
        )> = sqlx::query_as(
            "SELECT at, incident_id, provider, model, input_tokens, cached_input_tokens, \
                 output_tokens, cost_micros, latency_ms, outcome FROM llm_calls \
                 WHERE at >= ?1 ORDER BY id DESC LIMIT ?2",
        )
        .bind(since)
        .bind(i64::from(limit))
        .fetch_all(&self.readers)
        .await?;
        let n = |v: i64| u64::try_from(v).unwrap_or(0);
        Ok(rows
            .into_iter()
            .map(|r| LlmCall {
                at: r.0,
                incident_id: r.1,
                provider: r.2,
                model: r.3,
                input_tokens: n(r.4),
                cached_input_tokens: n(r.5),
                output_tokens: n(r.6),
                cost_micros: r.7.map(n),
                latency_ms: n(r.8),
                outcome: r.9,
            })
            .collect())
    }
}
