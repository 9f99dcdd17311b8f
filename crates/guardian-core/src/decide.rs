//! What one sighting, one operator action or one clock tick does to an incident.
//!
//! Every function here is pure: it takes the stored facts plus `now` and returns an
//! [`Outcome`] (the new incident state, the audit rows and the notification decisions). The
//! store applies an outcome in one transaction, so state and notifications never diverge.
//!
//! Rules worth knowing before changing anything:
//! - **Quiet by design.** A sighting of an incident that is already open changes counters, never
//!   notifies. Notices come from state changes only: opened, reopened, escalated, severity
//!   raised, acknowledged, resolved, ack expired.
//! - **Escalation is time-based** and evaluated on every sighting *and* every tick, so a problem
//!   re-detected every minute still becomes persistent after T (the earlier implementation's
//!   sliding cooldown kept such problems silent forever). Each level fires once per incident.
//! - **Suppressed sightings** are counted and nothing else: they neither notify, nor escalate,
//!   nor move any timer. When the silence ends, the next tick announces what is still open.
//! - **Cooldown** only delays announcements (opened/reopened) of a flapping incident; it is
//!   measured from the last notice and never extended by sightings.

use crate::fingerprint;
use crate::incident::{EscalationLevel, Incident, Severity, Status};
use crate::lifecycle::{self, AuditAction, AuditEntry, IllegalTransition};
use crate::policy::Policy;
use crate::signal::{ObjectRef, Signal};
use crate::suppression::{Suppression, Target};
use crate::time::Millis;

/// The actor recorded for clock-driven changes (escalation, ack expiry).
pub const CLOCK_ACTOR: &str = "guardian";

/// Kinds of notification decision. Delivery (channels, retries) happens elsewhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NoticeKind {
    /// First announcement of an incident.
    Opened,
    /// Announcement of a reopened incident.
    Reopened,
    /// An escalation level fired.
    Escalated(EscalationLevel),
    /// A detector reported a higher severity.
    SeverityRaised,
    /// A human acknowledged it.
    Acknowledged,
    /// It was resolved (by a human or a detector).
    Resolved,
    /// The acknowledgement lapsed while still open.
    AckExpired,
    /// A reminder that a critical incident is still open and unacknowledged (only with a
    /// repeat interval configured; off by default).
    Repeat,
}

impl NoticeKind {
    /// The persisted spelling (`escalated_recurring`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            NoticeKind::Opened => "opened",
            NoticeKind::Reopened => "reopened",
            NoticeKind::Escalated(EscalationLevel::Recurring) => "escalated_recurring",
            NoticeKind::Escalated(EscalationLevel::Persistent) => "escalated_persistent",
            NoticeKind::SeverityRaised => "severity_raised",
            NoticeKind::Acknowledged => "acknowledged",
            NoticeKind::Resolved => "resolved",
            NoticeKind::AckExpired => "ack_expired",
            NoticeKind::Repeat => "repeat",
        }
    }

    /// Parses the persisted spelling.
    pub fn parse(text: &str) -> Option<NoticeKind> {
        [
            NoticeKind::Opened,
            NoticeKind::Reopened,
            NoticeKind::Escalated(EscalationLevel::Recurring),
            NoticeKind::Escalated(EscalationLevel::Persistent),
            NoticeKind::SeverityRaised,
            NoticeKind::Acknowledged,
            NoticeKind::Resolved,
            NoticeKind::AckExpired,
            NoticeKind::Repeat,
        ]
        .into_iter()
        .find(|k| k.as_str() == text)
    }
}

/// A notification decision, recorded in the same transaction as the change that caused it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// What changed.
    pub kind: NoticeKind,
    /// The incident's severity after the change (routing uses it).
    pub severity: Severity,
    /// When it was decided.
    pub at: Millis,
}

/// One sighting as recorded in the incident's history.
#[derive(Debug, Clone, PartialEq)]
pub struct Occurrence {
    /// When the guardian saw it.
    pub seen_at: Millis,
    /// The object it was seen on (the Pod, not the Deployment).
    pub object: ObjectRef,
    /// Detector.
    pub detector: String,
    /// Machine reason.
    pub reason: String,
    /// Redacted message.
    pub message: String,
    /// Why it was merged into this incident (or opened it).
    pub merge_reason: String,
    /// The suppression that silenced it, if any.
    pub suppressed_by: Option<String>,
}

/// Everything a decision produces; the store persists it atomically.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The incident after the change.
    pub incident: Incident,
    /// The incident row is new.
    pub created: bool,
    /// A new episode started (open, reopen, or a sighting after a quiet gap); the store records
    /// its start for the recurring rule.
    pub episode_started: bool,
    /// The sighting, for signal-driven outcomes.
    pub occurrence: Option<Occurrence>,
    /// Audit rows, in order.
    pub audit: Vec<AuditEntry>,
    /// Notification decisions, in order.
    pub notices: Vec<Notice>,
}

impl Outcome {
    fn new(incident: Incident) -> Self {
        Self {
            incident,
            created: false,
            episode_started: false,
            occurrence: None,
            audit: Vec::new(),
            notices: Vec::new(),
        }
    }

    fn audit(
        &mut self,
        at: Millis,
        actor: &str,
        action: AuditAction,
        from: Option<Status>,
        note: String,
    ) {
        let to = self.incident.status;
        self.audit.push(AuditEntry {
            at,
            actor: actor.to_string(),
            action,
            from,
            to,
            note,
        });
    }

    fn notify(&mut self, kind: NoticeKind, at: Millis) {
        self.notices.push(Notice {
            kind,
            severity: self.incident.severity,
            at,
        });
        self.incident.last_notified_at = Some(at);
    }
}

/// The suppression target of an incident.
pub fn target(incident: &Incident) -> Target<'_> {
    Target {
        namespace: incident.namespace.as_deref(),
        kind: &incident.object.kind,
        name: &incident.object.name,
        category: incident.category,
    }
}

/// A signal arrived.
///
/// - `existing`: the newest incident with this fingerprint, in any status.
/// - `episodes`: start times of earlier episodes of this fingerprint (any incident row),
///   at least those inside the recurring window.
/// - `suppression`: the active suppression matching this signal, if any.
/// - `new_id`: called only when a new incident row is needed.
#[allow(clippy::too_many_arguments)] // each input is a distinct stored fact; a struct would only rename them
pub fn on_signal(
    signal: &Signal,
    existing: Option<Incident>,
    episodes: &[Millis],
    suppression: Option<&Suppression>,
    policy: &Policy,
    now: Millis,
    new_id: impl FnOnce() -> String,
) -> Outcome {
    let suppressed_by = suppression.map(|s| s.id.clone());
    let reopen = |inc: &Incident| {
        inc.status == Status::Resolved
            && inc
                .resolved_at
                .is_some_and(|at| now - at <= policy.reopen_window_ms)
    };
    let mut out = match existing {
        Some(inc) if inc.status != Status::Resolved => {
            sighting(inc, signal, suppressed_by.is_some(), policy, now)
        }
        Some(inc) if reopen(&inc) => reopened(inc, signal, suppressed_by.is_some(), now),
        _ => created(signal, new_id(), now),
    };
    out.incident.occurrences += 1;
    if suppressed_by.is_some() {
        out.incident.suppressed_occurrences += 1;
    }
    out.occurrence = Some(Occurrence {
        seen_at: now,
        object: signal.object.clone(),
        detector: signal.detector.clone(),
        reason: signal.reason.clone(),
        message: signal.message.clone(),
        merge_reason: fingerprint::merge_reason(signal, out.created),
        suppressed_by,
    });
    let mut all_episodes: Vec<Millis> = episodes.to_vec();
    if out.episode_started {
        all_episodes.push(now);
    }
    if suppression.is_none() {
        announce_and_escalate(&mut out, &all_episodes, policy, now);
    }
    out
}

fn created(signal: &Signal, id: String, now: Millis) -> Outcome {
    let incident = Incident {
        id,
        fingerprint: fingerprint::of(signal),
        cluster: signal.cluster.clone(),
        namespace: signal.namespace.clone(),
        object: signal.top_owner.clone(),
        detector: signal.detector.clone(),
        reason: signal.reason.clone(),
        category: signal.failure_class,
        message: signal.message.clone(),
        severity: signal.severity,
        detector_severity: signal.severity,
        status: Status::Open,
        escalations: Vec::new(),
        first_seen: signal.first_seen.min(now),
        last_seen: now,
        opened_at: now,
        occurrences: 0,
        suppressed_occurrences: 0,
        acknowledged_at: None,
        acknowledged_by: None,
        ack_expires_at: None,
        resolved_at: None,
        resolved_by: None,
        last_notified_at: None,
        announced: false,
        needs_review: false,
    };
    let mut out = Outcome::new(incident);
    out.created = true;
    out.episode_started = true;
    let note = format!("{}: {}", signal.reason, signal.message);
    out.audit(now, &signal.detector, AuditAction::Opened, None, note);
    out
}

fn reopened(mut inc: Incident, signal: &Signal, suppressed: bool, now: Millis) -> Outcome {
    inc.status = Status::Open;
    inc.opened_at = now;
    inc.last_seen = now;
    inc.resolved_at = None;
    inc.resolved_by = None;
    inc.acknowledged_at = None;
    inc.acknowledged_by = None;
    inc.ack_expires_at = None;
    inc.announced = false;
    inc.reason = signal.reason.clone();
    inc.message = signal.message.clone();
    let mut out = Outcome::new(inc);
    out.episode_started = true;
    let note = format!("seen again: {}", signal.reason);
    out.audit(
        now,
        &signal.detector,
        AuditAction::Reopened,
        Some(Status::Resolved),
        note,
    );
    raise_detector_severity(&mut out, signal, suppressed, now);
    out
}

fn sighting(
    mut inc: Incident,
    signal: &Signal,
    suppressed: bool,
    policy: &Policy,
    now: Millis,
) -> Outcome {
    let gap = now - inc.last_seen;
    inc.last_seen = inc.last_seen.max(now);
    inc.reason = signal.reason.clone();
    inc.message = signal.message.clone();
    let mut out = Outcome::new(inc);
    out.episode_started = gap >= policy.episode_gap_ms;
    raise_detector_severity(&mut out, signal, suppressed, now);
    out
}

/// Records a higher detector severity. Under a suppression it is audited but never notified
/// (a notice would also move `last_notified_at`, a timer suppressed sightings must not touch).
fn raise_detector_severity(out: &mut Outcome, signal: &Signal, suppressed: bool, now: Millis) {
    let inc = &mut out.incident;
    inc.detector_severity = inc.detector_severity.max(signal.severity);
    if signal.severity > inc.severity {
        let note = format!(
            "{} reported {} (was {})",
            signal.detector, signal.severity, inc.severity
        );
        inc.severity = signal.severity;
        let status = inc.status;
        out.audit(
            now,
            &signal.detector,
            AuditAction::SeverityRaised,
            Some(status),
            note,
        );
        if out.incident.announced && !suppressed {
            out.notify(NoticeKind::SeverityRaised, now);
        }
    }
}

fn cooldown_over(inc: &Incident, policy: &Policy, now: Millis) -> bool {
    inc.last_notified_at
        .is_none_or(|at| now - at >= policy.notify_cooldown_ms)
}

/// Announces a not-yet-announced open incident (respecting the cooldown) and fires due
/// escalation levels. Callers skip it while a suppression applies.
fn announce_and_escalate(out: &mut Outcome, episodes: &[Millis], policy: &Policy, now: Millis) {
    if out.incident.status == Status::Resolved {
        return;
    }
    if !out.incident.announced {
        if !cooldown_over(&out.incident, policy, now) {
            return;
        }
        let kind = if out.incident.last_notified_at.is_some() {
            NoticeKind::Reopened
        } else {
            NoticeKind::Opened
        };
        out.incident.announced = true;
        out.notify(kind, now);
    }
    let window_start = now - policy.recurring_window_ms;
    let in_window = episodes
        .iter()
        .filter(|&&at| at >= window_start && at <= now)
        .count();
    let inc = &out.incident;
    let open_for = now - inc.opened_at;
    let due = [
        (
            EscalationLevel::Recurring,
            in_window >= policy.recurring_episodes as usize,
            format!(
                "recurring: {in_window} episodes within {} s",
                policy.recurring_window_ms / 1000
            ),
        ),
        (
            EscalationLevel::Persistent,
            (inc.status == Status::Open && open_for >= policy.persistent_unacked_ms)
                || open_for >= policy.persistent_open_ms,
            format!("persistent: {} for {} s", inc.status, open_for / 1000),
        ),
    ];
    for (level, is_due, note) in due {
        if is_due && !out.incident.escalations.contains(&level) {
            out.incident.escalations.push(level);
            out.incident.severity = out.incident.severity.raised();
            let status = out.incident.status;
            out.audit(now, CLOCK_ACTOR, AuditAction::Escalated, Some(status), note);
            out.notify(NoticeKind::Escalated(level), now);
        }
    }
}

/// The clock moved: ack expiry, delayed announcements (after a cooldown or a suppression) and
/// time-based escalation. `None` when nothing changed, so the store writes nothing.
pub fn on_tick(
    incident: &Incident,
    episodes: &[Millis],
    suppression: Option<&Suppression>,
    policy: &Policy,
    now: Millis,
) -> Option<Outcome> {
    if incident.status == Status::Resolved {
        return None;
    }
    let mut out = Outcome::new(incident.clone());
    if out.incident.status == Status::Acknowledged
        && out.incident.ack_expires_at.is_some_and(|at| at <= now)
    {
        let by = out.incident.acknowledged_by.take().unwrap_or_default();
        out.incident.status = Status::Open;
        out.incident.acknowledged_at = None;
        out.incident.ack_expires_at = None;
        let note = format!("acknowledgement by {by} expired");
        out.audit(
            now,
            CLOCK_ACTOR,
            AuditAction::AckExpired,
            Some(Status::Acknowledged),
            note,
        );
        if out.incident.announced && suppression.is_none() {
            out.notify(NoticeKind::AckExpired, now);
        }
    }
    if suppression.is_none() {
        announce_and_escalate(&mut out, episodes, policy, now);
        remind(&mut out, policy, now);
    }
    (out.incident != *incident).then_some(out)
}

/// Repeats the page of a critical incident nobody has taken, once per repeat interval after
/// the last notice. "Still firing" is otherwise never notified.
fn remind(out: &mut Outcome, policy: &Policy, now: Millis) {
    let inc = &out.incident;
    let due = policy.repeat_interval_ms.is_some_and(|every| {
        inc.status == Status::Open
            && inc.announced
            && inc.severity == Severity::Critical
            && inc.last_notified_at.is_some_and(|at| now - at >= every)
    });
    if due {
        out.notify(NoticeKind::Repeat, now);
    }
}

/// A human acknowledges. `expires_in_ms` overrides the policy default; `Some(0)` or a
/// policy of `None` means the acknowledgement does not expire.
pub fn on_ack(
    incident: &Incident,
    actor: &str,
    note: &str,
    expires_in_ms: Option<Millis>,
    policy: &Policy,
    now: Millis,
) -> Result<Outcome, IllegalTransition> {
    lifecycle::check(incident.status, Status::Acknowledged)?;
    let mut out = Outcome::new(incident.clone());
    let lifetime = expires_in_ms.or(policy.ack_expiry_ms).filter(|&ms| ms > 0);
    out.incident.status = Status::Acknowledged;
    out.incident.acknowledged_at = Some(now);
    out.incident.acknowledged_by = Some(actor.to_string());
    out.incident.ack_expires_at = lifetime.map(|ms| now.saturating_add(ms));
    out.audit(
        now,
        actor,
        AuditAction::Acknowledged,
        Some(incident.status),
        note.to_string(),
    );
    if out.incident.announced {
        out.notify(NoticeKind::Acknowledged, now);
    }
    Ok(out)
}

/// A human resolves.
pub fn on_resolve(
    incident: &Incident,
    actor: &str,
    note: &str,
    now: Millis,
) -> Result<Outcome, IllegalTransition> {
    lifecycle::check(incident.status, Status::Resolved)?;
    Ok(resolve(incident, actor, note, now))
}

/// A detector positively observed that the cause is gone (auto-resolve). `None` when the
/// incident is already resolved.
pub fn on_recovered(
    incident: &Incident,
    detector: &str,
    note: &str,
    now: Millis,
) -> Option<Outcome> {
    (incident.status != Status::Resolved).then(|| resolve(incident, detector, note, now))
}

fn resolve(incident: &Incident, actor: &str, note: &str, now: Millis) -> Outcome {
    let mut out = Outcome::new(incident.clone());
    out.incident.status = Status::Resolved;
    out.incident.resolved_at = Some(now);
    out.incident.resolved_by = Some(actor.to_string());
    out.incident.ack_expires_at = None;
    out.audit(
        now,
        actor,
        AuditAction::Resolved,
        Some(incident.status),
        note.to_string(),
    );
    // A receiver that was told about the incident must hear that it ended, even under a
    // suppression created since; one that never heard of it is not bothered.
    if out.incident.announced {
        out.notify(NoticeKind::Resolved, now);
    }
    out
}

/// An analysis was stored: it may raise severity (never lower it) and sets the review flag.
/// `None` when neither changes.
pub fn on_analysis(
    incident: &Incident,
    proposed: Severity,
    needs_review: bool,
    source: &str,
    now: Millis,
) -> Option<Outcome> {
    let mut out = Outcome::new(incident.clone());
    out.incident.needs_review = needs_review;
    if proposed > out.incident.severity && out.incident.status != Status::Resolved {
        let note = format!(
            "{source} analysis proposed {proposed} (was {})",
            out.incident.severity
        );
        out.incident.severity = proposed;
        let status = out.incident.status;
        out.audit(now, source, AuditAction::SeverityRaised, Some(status), note);
        if out.incident.announced {
            out.notify(NoticeKind::SeverityRaised, now);
        }
    }
    (out.incident != *incident).then_some(out)
}

/// Resolved incidents resolved before this instant are past retention.
pub fn retention_cutoff(policy: &Policy, now: Millis) -> Millis {
    now.saturating_sub(policy.resolved_retention_ms)
}
