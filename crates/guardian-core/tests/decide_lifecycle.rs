//! Lifecycle, escalation, cooldown and suppression behaviour of `decide`, driven through a
//! simulated store with a controllable clock (times are Unix milliseconds passed as `now`).

use std::collections::BTreeMap;

use guardian_core::decide::{self, NoticeKind, Outcome};
use guardian_core::fingerprint;
use guardian_core::incident::EscalationLevel;
use guardian_core::lifecycle::{AuditAction, AuditEntry, IllegalTransition};
use guardian_core::policy::Policy;
use guardian_core::suppression::{self, Suppression, Target};
use guardian_core::time::Millis;
use guardian_core::{Category, Incident, ObjectRef, Severity, Signal, Status};

const T0: Millis = 1_780_000_000_000;
const SEC: Millis = 1_000;
const MIN: Millis = 60 * SEC;
const HOUR: Millis = 60 * MIN;

/// A simulated store: the newest incident row per fingerprint, the episode starts per
/// fingerprint and the suppressions; every outcome is applied exactly as the real store would.
struct Store {
    policy: Policy,
    incidents: BTreeMap<String, Incident>,
    episodes: BTreeMap<String, Vec<Millis>>,
    suppressions: Vec<Suppression>,
    /// `(incident id, notice kind, severity, at)` in decision order.
    notices: Vec<(String, NoticeKind, Severity, Millis)>,
    /// `(incident id, audit row)` in decision order.
    audit: Vec<(String, AuditEntry)>,
    next_id: u64,
}

impl Store {
    fn new(policy: Policy) -> Self {
        Self {
            policy,
            incidents: BTreeMap::new(),
            episodes: BTreeMap::new(),
            suppressions: Vec::new(),
            notices: Vec::new(),
            audit: Vec::new(),
            next_id: 0,
        }
    }

    fn signal(&mut self, signal: &Signal, now: Millis) -> Outcome {
        let fp = fingerprint::of(signal);
        let existing = self.incidents.get(&fp).cloned();
        let episodes = self.episodes.get(&fp).cloned().unwrap_or_default();
        let target = Target {
            namespace: signal.namespace.as_deref(),
            kind: &signal.top_owner.kind,
            name: &signal.top_owner.name,
            category: signal.failure_class,
        };
        let sup = suppression::find(&self.suppressions, &target, now);
        let next_id = &mut self.next_id;
        let out = decide::on_signal(signal, existing, &episodes, sup, &self.policy, now, || {
            *next_id += 1;
            format!("inc-{next_id}")
        });
        self.apply(&out, now);
        out
    }

    fn tick(&mut self, now: Millis) -> Vec<Outcome> {
        let mut outs = Vec::new();
        let fps: Vec<String> = self.incidents.keys().cloned().collect();
        for fp in fps {
            let incident = self.incidents[&fp].clone();
            let episodes = self.episodes.get(&fp).cloned().unwrap_or_default();
            let sup = suppression::find(&self.suppressions, &decide::target(&incident), now);
            if let Some(out) = decide::on_tick(&incident, &episodes, sup, &self.policy, now) {
                self.apply(&out, now);
                outs.push(out);
            }
        }
        outs
    }

    fn ack(
        &mut self,
        fp: &str,
        actor: &str,
        note: &str,
        expires_in_ms: Option<Millis>,
        now: Millis,
    ) -> Result<Outcome, IllegalTransition> {
        let out = decide::on_ack(
            &self.incidents[fp],
            actor,
            note,
            expires_in_ms,
            &self.policy,
            now,
        )?;
        self.apply(&out, now);
        Ok(out)
    }

    fn resolve(
        &mut self,
        fp: &str,
        actor: &str,
        note: &str,
        now: Millis,
    ) -> Result<Outcome, IllegalTransition> {
        let out = decide::on_resolve(&self.incidents[fp], actor, note, now)?;
        self.apply(&out, now);
        Ok(out)
    }

    fn recovered(&mut self, fp: &str, detector: &str, note: &str, now: Millis) -> Option<Outcome> {
        let out = decide::on_recovered(&self.incidents[fp], detector, note, now)?;
        self.apply(&out, now);
        Some(out)
    }

    fn apply(&mut self, out: &Outcome, now: Millis) {
        let inc = &out.incident;
        if let Some(old) = self.incidents.get(&inc.fingerprint)
            && old.id != inc.id
        {
            assert!(
                out.created,
                "a different id replaces a row only when created"
            );
        }
        if out.episode_started {
            self.episodes
                .entry(inc.fingerprint.clone())
                .or_default()
                .push(now);
        }
        for a in &out.audit {
            self.audit.push((inc.id.clone(), a.clone()));
        }
        for n in &out.notices {
            self.notices
                .push((inc.id.clone(), n.kind, n.severity, n.at));
        }
        self.incidents.insert(inc.fingerprint.clone(), inc.clone());
    }

    fn get(&self, fp: &str) -> &Incident {
        &self.incidents[fp]
    }

    /// Notice kinds recorded for one incident id.
    fn kinds(&self, id: &str) -> Vec<NoticeKind> {
        self.notices
            .iter()
            .filter(|n| n.0 == id)
            .map(|n| n.1)
            .collect()
    }

    /// Notices of one kind recorded for one incident id, with their times.
    fn notices_at(&self, id: &str, kind: NoticeKind) -> Vec<Millis> {
        self.notices
            .iter()
            .filter(|n| n.0 == id && n.1 == kind)
            .map(|n| n.3)
            .collect()
    }

    fn actions(&self, id: &str) -> Vec<AuditAction> {
        self.audit
            .iter()
            .filter(|a| a.0 == id)
            .map(|a| a.1.action)
            .collect()
    }

    fn last_audit(&self) -> &AuditEntry {
        &self.audit.last().expect("an audit row").1
    }
}

fn sig(owner: &str, pod: &str, severity: Severity) -> Signal {
    Signal {
        detector: "pod_scanner".into(),
        cluster: "prod".into(),
        namespace: Some("shop".into()),
        object: ObjectRef::new("Pod", pod),
        top_owner: ObjectRef::new("Deployment", owner),
        reason: "CrashLoopBackOff".into(),
        failure_class: Category::CrashLoop,
        severity,
        discriminator: None,
        first_seen: T0,
        last_seen: T0,
        message: "back-off restarting failed container".into(),
    }
}

fn api() -> Signal {
    sig("api", "api-7d9f8c6b5-x2kq9", Severity::Warning)
}

fn suppression(id: &str, name: &str, expires_at: Millis) -> Suppression {
    Suppression {
        id: id.into(),
        namespace: Some("shop".into()),
        kind: None,
        name: Some(name.into()),
        category: None,
        reason: "known bad deploy".into(),
        created_by: "alice".into(),
        created_at: T0 - MIN,
        expires_at,
    }
}

fn escalated(level: EscalationLevel) -> NoticeKind {
    NoticeKind::Escalated(level)
}

// ---------------------------------------------------------------------------------------------
// 1. Lifecycle
// ---------------------------------------------------------------------------------------------

#[test]
fn ack_is_legal_only_from_open() {
    let mut store = Store::new(Policy::default());
    let s = api();
    let fp = fingerprint::of(&s);
    let opened = store.signal(&s, T0);
    assert!(opened.created);
    assert_eq!(opened.incident.status, Status::Open);
    let id = opened.incident.id.clone();

    // ack open ✔
    let out = store.ack(&fp, "alice", "looking", None, T0 + MIN).unwrap();
    assert_eq!(out.incident.status, Status::Acknowledged);
    assert_eq!(out.incident.acknowledged_by.as_deref(), Some("alice"));
    assert_eq!(out.incident.acknowledged_at, Some(T0 + MIN));
    assert_eq!(
        out.audit,
        vec![AuditEntry {
            at: T0 + MIN,
            actor: "alice".into(),
            action: AuditAction::Acknowledged,
            from: Some(Status::Open),
            to: Status::Acknowledged,
            note: "looking".into(),
        }]
    );
    assert_eq!(
        store.kinds(&id),
        vec![NoticeKind::Opened, NoticeKind::Acknowledged]
    );

    // ack acknowledged ✘
    let err = store
        .ack(&fp, "bob", "me too", None, T0 + 2 * MIN)
        .unwrap_err();
    assert_eq!(
        err,
        IllegalTransition {
            action: "acknowledge",
            from: Status::Acknowledged,
        }
    );
    assert_eq!(
        err.to_string(),
        "cannot acknowledge an incident that is acknowledged"
    );
    assert_eq!(store.get(&fp).acknowledged_by.as_deref(), Some("alice"));

    // ack resolved ✘
    store.resolve(&fp, "alice", "fixed", T0 + 3 * MIN).unwrap();
    let err = store
        .ack(&fp, "bob", "late", None, T0 + 4 * MIN)
        .unwrap_err();
    assert_eq!(
        err,
        IllegalTransition {
            action: "acknowledge",
            from: Status::Resolved,
        }
    );
    assert_eq!(store.get(&fp).status, Status::Resolved);
}

#[test]
fn resolve_is_legal_from_open_and_acknowledged_only() {
    let mut store = Store::new(Policy::default());

    // resolve open ✔
    let a = api();
    let fa = fingerprint::of(&a);
    store.signal(&a, T0);
    let out = store
        .resolve(&fa, "alice", "rolled back", T0 + MIN)
        .unwrap();
    assert_eq!(out.incident.status, Status::Resolved);
    assert_eq!(out.incident.resolved_at, Some(T0 + MIN));
    assert_eq!(out.incident.resolved_by.as_deref(), Some("alice"));
    assert_eq!(
        out.audit,
        vec![AuditEntry {
            at: T0 + MIN,
            actor: "alice".into(),
            action: AuditAction::Resolved,
            from: Some(Status::Open),
            to: Status::Resolved,
            note: "rolled back".into(),
        }]
    );
    assert_eq!(out.notices.len(), 1);
    assert_eq!(out.notices[0].kind, NoticeKind::Resolved);
    assert_eq!(out.notices[0].at, T0 + MIN);

    // resolve resolved ✘
    let err = store
        .resolve(&fa, "bob", "again", T0 + 2 * MIN)
        .unwrap_err();
    assert_eq!(
        err,
        IllegalTransition {
            action: "resolve",
            from: Status::Resolved,
        }
    );
    assert_eq!(store.get(&fa).resolved_by.as_deref(), Some("alice"));

    // resolve acknowledged ✔
    let w = sig("web", "web-1", Severity::Warning);
    let fw = fingerprint::of(&w);
    store.signal(&w, T0);
    store.ack(&fw, "carol", "mine", None, T0 + MIN).unwrap();
    let out = store.resolve(&fw, "carol", "done", T0 + 2 * MIN).unwrap();
    assert_eq!(out.incident.status, Status::Resolved);
    assert_eq!(out.incident.ack_expires_at, None);
    assert_eq!(
        out.audit,
        vec![AuditEntry {
            at: T0 + 2 * MIN,
            actor: "carol".into(),
            action: AuditAction::Resolved,
            from: Some(Status::Acknowledged),
            to: Status::Resolved,
            note: "done".into(),
        }]
    );
}

#[test]
fn every_transition_has_an_audit_row() {
    let mut store = Store::new(Policy::default());
    let s = api();
    let fp = fingerprint::of(&s);
    let id = store.signal(&s, T0).incident.id;
    let opened = store.last_audit().clone();
    assert_eq!(opened.action, AuditAction::Opened);
    assert_eq!(opened.actor, "pod_scanner");
    assert_eq!(opened.at, T0);
    assert_eq!(opened.from, None);
    assert_eq!(opened.to, Status::Open);
    assert!(opened.note.contains("CrashLoopBackOff"), "{}", opened.note);

    store.ack(&fp, "alice", "on it", None, T0 + MIN).unwrap();
    store.resolve(&fp, "alice", "fixed", T0 + 2 * MIN).unwrap();
    store.signal(&s, T0 + HOUR);
    let reopened = store.last_audit().clone();
    assert_eq!(
        (
            reopened.action,
            reopened.actor.as_str(),
            reopened.at,
            reopened.from,
            reopened.to
        ),
        (
            AuditAction::Reopened,
            "pod_scanner",
            T0 + HOUR,
            Some(Status::Resolved),
            Status::Open
        )
    );
    assert!(!reopened.note.is_empty());
    store
        .recovered(&fp, "reconcile", "pods ready", T0 + 2 * HOUR)
        .unwrap();
    let resolved = store.last_audit().clone();
    assert_eq!(
        resolved,
        AuditEntry {
            at: T0 + 2 * HOUR,
            actor: "reconcile".into(),
            action: AuditAction::Resolved,
            from: Some(Status::Open),
            to: Status::Resolved,
            note: "pods ready".into(),
        }
    );
    assert_eq!(
        store.actions(&id),
        vec![
            AuditAction::Opened,
            AuditAction::Acknowledged,
            AuditAction::Resolved,
            AuditAction::Reopened,
            AuditAction::Resolved,
        ]
    );
}

#[test]
fn reopen_within_the_window_keeps_the_id_and_after_it_opens_a_new_incident() {
    let policy = Policy::default();
    let window = policy.reopen_window_ms;
    let mut store = Store::new(policy);
    let s = api();
    let fp = fingerprint::of(&s);
    let first = store.signal(&s, T0).incident.id;
    store.resolve(&fp, "alice", "fixed", T0 + MIN).unwrap();

    // Exactly at the edge of the window: still the same incident.
    let resolved_at = T0 + MIN;
    let out = store.signal(&s, resolved_at + window);
    assert!(!out.created);
    assert!(out.episode_started);
    assert_eq!(out.incident.id, first);
    assert_eq!(out.incident.status, Status::Open);
    assert_eq!(out.incident.opened_at, resolved_at + window);
    assert_eq!(out.incident.resolved_at, None);
    assert_eq!(out.audit[0].action, AuditAction::Reopened);
    assert_eq!(
        out.notices.iter().map(|n| n.kind).collect::<Vec<_>>(),
        vec![NoticeKind::Reopened]
    );
    assert_eq!(out.incident.occurrences, 2);

    // One millisecond past the window: a new incident with the same fingerprint.
    let resolved_at = resolved_at + window + MIN;
    store
        .resolve(&fp, "alice", "fixed again", resolved_at)
        .unwrap();
    let out = store.signal(&s, resolved_at + window + 1);
    assert!(out.created);
    assert_ne!(out.incident.id, first);
    assert_eq!(out.incident.fingerprint, fp);
    assert_eq!(out.incident.status, Status::Open);
    assert_eq!(out.incident.occurrences, 1);
    assert_eq!(out.audit[0].action, AuditAction::Opened);
    assert_eq!(out.audit[0].from, None);
    assert_eq!(
        out.notices.iter().map(|n| n.kind).collect::<Vec<_>>(),
        vec![NoticeKind::Opened]
    );
}

#[test]
fn recovery_auto_resolves_open_and_acknowledged_but_not_resolved() {
    let mut store = Store::new(Policy::default());
    let a = api();
    let fa = fingerprint::of(&a);
    store.signal(&a, T0);
    let out = store
        .recovered(&fa, "reconcile", "healthy", T0 + MIN)
        .unwrap();
    assert_eq!(out.incident.status, Status::Resolved);
    assert_eq!(out.incident.resolved_by.as_deref(), Some("reconcile"));
    assert_eq!(out.audit[0].from, Some(Status::Open));
    assert_eq!(out.notices[0].kind, NoticeKind::Resolved);
    assert!(
        store
            .recovered(&fa, "reconcile", "still healthy", T0 + 2 * MIN)
            .is_none()
    );

    let w = sig("web", "web-1", Severity::Warning);
    let fw = fingerprint::of(&w);
    store.signal(&w, T0);
    store.ack(&fw, "alice", "mine", None, T0 + MIN).unwrap();
    let out = store
        .recovered(&fw, "alertmanager", "alert resolved", T0 + 2 * MIN)
        .unwrap();
    assert_eq!(out.incident.status, Status::Resolved);
    assert_eq!(out.incident.ack_expires_at, None);
    assert_eq!(out.audit[0].from, Some(Status::Acknowledged));
    assert_eq!(out.audit[0].actor, "alertmanager");
    assert_eq!(out.notices[0].kind, NoticeKind::Resolved);
    assert!(
        store
            .recovered(&fw, "alertmanager", "again", T0 + 3 * MIN)
            .is_none()
    );
}

// ---------------------------------------------------------------------------------------------
// 2. Ack expiry
// ---------------------------------------------------------------------------------------------

#[test]
fn default_ack_expiry_reopens_on_the_tick_at_expiry() {
    let policy = Policy::default();
    let expiry = policy.ack_expiry_ms.expect("default policy expires acks");
    let mut store = Store::new(policy);
    let s = api();
    let fp = fingerprint::of(&s);
    let id = store.signal(&s, T0).incident.id;
    let acked_at = T0 + 10 * MIN;
    let out = store.ack(&fp, "alice", "on it", None, acked_at).unwrap();
    assert_eq!(out.incident.ack_expires_at, Some(acked_at + expiry));

    // Before expiry nothing changes (ticks well past T, since it is acknowledged).
    for t in [acked_at + MIN, T0 + 2 * HOUR, acked_at + expiry - 1] {
        let inc = store.get(&fp).clone();
        assert!(
            decide::on_tick(&inc, &[T0], None, &store.policy, t).is_none(),
            "at {t}"
        );
    }

    let outs = store.tick(acked_at + expiry);
    assert_eq!(outs.len(), 1);
    let out = &outs[0];
    assert_eq!(out.incident.status, Status::Open);
    assert_eq!(out.incident.acknowledged_by, None);
    assert_eq!(out.incident.ack_expires_at, None);
    let expired = &out.audit[0];
    assert_eq!(expired.action, AuditAction::AckExpired);
    assert_eq!(expired.actor, decide::CLOCK_ACTOR);
    assert_eq!(expired.from, Some(Status::Acknowledged));
    assert_eq!(expired.to, Status::Open);
    assert_eq!(expired.at, acked_at + expiry);
    assert!(expired.note.contains("alice"), "{}", expired.note);
    assert_eq!(out.notices[0].kind, NoticeKind::AckExpired);
    // Open and unacknowledged for longer than T now: persistent fires in the same tick.
    assert_eq!(
        store.kinds(&id),
        vec![
            NoticeKind::Opened,
            NoticeKind::Acknowledged,
            NoticeKind::AckExpired,
            escalated(EscalationLevel::Persistent),
        ]
    );
    // Once only.
    assert!(store.tick(acked_at + expiry + MIN).is_empty());
}

#[test]
fn explicit_zero_expiry_never_expires() {
    let mut store = Store::new(Policy::default());
    let s = api();
    let fp = fingerprint::of(&s);
    let id = store.signal(&s, T0).incident.id;
    let out = store
        .ack(&fp, "alice", "long one", Some(0), T0 + MIN)
        .unwrap();
    assert_eq!(out.incident.ack_expires_at, None);
    for hours in 1..24 {
        assert!(store.tick(T0 + hours * HOUR).is_empty(), "hour {hours}");
    }
    assert_eq!(store.get(&fp).status, Status::Acknowledged);
    store.tick(T0 + 30 * HOUR);
    assert_eq!(store.get(&fp).status, Status::Acknowledged);
    assert!(!store.actions(&id).contains(&AuditAction::AckExpired));
    assert!(!store.kinds(&id).contains(&NoticeKind::AckExpired));
}

#[test]
fn policy_without_expiry_and_explicit_expiry_override() {
    let policy = Policy {
        ack_expiry_ms: None,
        ..Policy::default()
    };
    let mut store = Store::new(policy);
    let s = api();
    let fp = fingerprint::of(&s);
    store.signal(&s, T0);
    let out = store.ack(&fp, "alice", "", None, T0 + MIN).unwrap();
    assert_eq!(out.incident.ack_expires_at, None);
    store.resolve(&fp, "alice", "", T0 + 2 * MIN).unwrap();
    store.signal(&s, T0 + 10 * MIN);
    let out = store
        .ack(&fp, "alice", "", Some(5 * MIN), T0 + 11 * MIN)
        .unwrap();
    assert_eq!(out.incident.ack_expires_at, Some(T0 + 16 * MIN));
    assert!(store.tick(T0 + 16 * MIN - 1).is_empty());
    assert_eq!(store.tick(T0 + 16 * MIN)[0].incident.status, Status::Open);
}

// ---------------------------------------------------------------------------------------------
// 3. Escalation
// ---------------------------------------------------------------------------------------------

#[test]
fn three_episodes_within_a_day_escalate_recurring_once() {
    let mut store = Store::new(Policy::default());
    let s = sig("api", "api-1", Severity::Info);
    let fp = fingerprint::of(&s);
    let id = store.signal(&s, T0).incident.id;
    store
        .recovered(&fp, "reconcile", "ok", T0 + 10 * MIN)
        .unwrap();
    let out = store.signal(&s, T0 + 20 * MIN); // episode 2
    assert!(out.episode_started);
    assert!(out.incident.escalations.is_empty());
    assert_eq!(out.incident.severity, Severity::Info);
    store
        .recovered(&fp, "reconcile", "ok", T0 + 30 * MIN)
        .unwrap();
    let out = store.signal(&s, T0 + 40 * MIN); // episode 3
    assert_eq!(out.incident.escalations, vec![EscalationLevel::Recurring]);
    assert_eq!(
        out.incident.severity,
        Severity::Warning,
        "raised exactly one step"
    );
    assert_eq!(out.incident.detector_severity, Severity::Info);
    let esc = out
        .audit
        .iter()
        .find(|a| a.action == AuditAction::Escalated)
        .unwrap();
    assert_eq!(esc.actor, decide::CLOCK_ACTOR);
    assert_eq!((esc.from, esc.to), (Some(Status::Open), Status::Open));
    assert!(esc.note.contains("recurring"), "{}", esc.note);
    let n = out
        .notices
        .iter()
        .find(|n| n.kind == escalated(EscalationLevel::Recurring));
    assert_eq!(n.unwrap().severity, Severity::Warning);

    // More episodes: no second recurring escalation, no further raise.
    for k in 0..4 {
        let base = T0 + HOUR + k * 20 * MIN;
        store.recovered(&fp, "reconcile", "ok", base).unwrap();
        store.signal(&s, base + 10 * MIN);
    }
    assert_eq!(store.episodes[&fp].len(), 7);
    assert_eq!(store.get(&fp).id, id);
    assert_eq!(
        store.notices_at(&id, escalated(EscalationLevel::Recurring)),
        vec![T0 + 40 * MIN]
    );
    assert_eq!(store.get(&fp).severity, Severity::Warning);
}

#[test]
fn three_episodes_spread_over_more_than_a_day_do_not_escalate() {
    let mut store = Store::new(Policy::default());
    let s = sig("api", "api-1", Severity::Info);
    let fp = fingerprint::of(&s);
    let id = store.signal(&s, T0).incident.id;
    store
        .recovered(&fp, "reconcile", "ok", T0 + 10 * MIN)
        .unwrap();
    store.signal(&s, T0 + 13 * HOUR);
    store
        .recovered(&fp, "reconcile", "ok", T0 + 13 * HOUR + 10 * MIN)
        .unwrap();
    let out = store.signal(&s, T0 + 26 * HOUR);
    assert!(out.episode_started);
    assert_eq!(out.incident.id, id, "reopened inside the reopen window");
    assert_eq!(store.episodes[&fp].len(), 3);
    assert!(out.incident.escalations.is_empty());
    assert!(
        !store
            .kinds(&id)
            .contains(&escalated(EscalationLevel::Recurring))
    );
    assert!(!store.actions(&id).contains(&AuditAction::Escalated));
    assert_eq!(store.get(&fp).severity, Severity::Info);
}

#[test]
fn quiet_gaps_inside_one_open_incident_count_as_episodes() {
    let policy = Policy::default();
    let gap = policy.episode_gap_ms;
    let mut store = Store::new(policy);
    let s = api();
    let fp = fingerprint::of(&s);
    store.signal(&s, T0);
    assert!(!store.signal(&s, T0 + gap - 1).episode_started);
    let t = T0 + 2 * gap;
    assert!(store.signal(&s, t).episode_started);
    let out = store.signal(&s, t + gap);
    assert!(out.episode_started);
    assert!(
        out.incident
            .escalations
            .contains(&EscalationLevel::Recurring)
    );
    assert_eq!(store.episodes[&fp], vec![T0, t, t + gap]);
}

#[test]
fn open_unacknowledged_for_an_hour_escalates_persistent_without_sightings() {
    let mut store = Store::new(Policy::default());
    let s = api();
    let fp = fingerprint::of(&s);
    let id = store.signal(&s, T0).incident.id;
    assert!(store.tick(T0 + 30 * MIN).is_empty());
    assert!(store.tick(T0 + HOUR - 1).is_empty());
    let outs = store.tick(T0 + HOUR);
    assert_eq!(outs.len(), 1);
    assert_eq!(
        outs[0].incident.escalations,
        vec![EscalationLevel::Persistent]
    );
    assert_eq!(outs[0].incident.severity, Severity::Critical);
    assert_eq!(outs[0].audit[0].action, AuditAction::Escalated);
    assert!(outs[0].audit[0].note.contains("persistent"));
    assert_eq!(
        store.notices_at(&id, escalated(EscalationLevel::Persistent)),
        vec![T0 + HOUR]
    );
    assert!(store.tick(T0 + 2 * HOUR).is_empty());
    assert_eq!(store.get(&fp).severity, Severity::Critical);
}

#[test]
fn acknowledged_incidents_become_persistent_only_after_t2() {
    let mut store = Store::new(Policy::default());
    let s = api();
    let fp = fingerprint::of(&s);
    let id = store.signal(&s, T0).incident.id;
    store
        .ack(&fp, "alice", "on it", Some(0), T0 + 30 * MIN)
        .unwrap();
    assert!(store.tick(T0 + HOUR).is_empty());
    assert!(store.tick(T0 + 2 * HOUR).is_empty());
    store.signal(&s, T0 + 23 * HOUR);
    assert!(store.get(&fp).escalations.is_empty());
    assert!(store.tick(T0 + 24 * HOUR - 1).is_empty());
    let outs = store.tick(T0 + 24 * HOUR);
    assert_eq!(outs.len(), 1);
    assert_eq!(outs[0].incident.status, Status::Acknowledged);
    assert_eq!(
        outs[0].incident.escalations,
        vec![EscalationLevel::Persistent]
    );
    assert_eq!(
        store.notices_at(&id, escalated(EscalationLevel::Persistent)),
        vec![T0 + 24 * HOUR]
    );
}

/// The regression the rewrite exists for: a problem re-detected every 60 s (inside the 5-min
/// cooldown and inside the episode gap) must page once and become persistent after T.
#[test]
fn continuously_redetected_problem_pages_once_and_escalates_at_one_hour() {
    let policy = Policy::default();
    assert!(policy.notify_cooldown_ms > MIN && policy.episode_gap_ms > MIN);
    let mut store = Store::new(policy);
    let pods = [
        "api-7d9f8c6b5-x2kq9",
        "api-7d9f8c6b5-p9zz1",
        "api-5c4b8f-aa11",
    ];
    let mut id = None;
    let mut t = T0;
    let mut k = 0;
    while t <= T0 + 2 * HOUR {
        let out = store.signal(&sig("api", pods[k % pods.len()], Severity::Warning), t);
        id.get_or_insert(out.incident.id.clone());
        assert_eq!(
            Some(&out.incident.id),
            id.as_ref(),
            "one incident for all pods"
        );
        store.tick(t + 30 * SEC);
        t += MIN;
        k += 1;
    }
    let id = id.unwrap();
    let fp = fingerprint::of(&api());
    assert_eq!(store.notices_at(&id, NoticeKind::Opened), vec![T0]);
    assert_eq!(
        store.notices_at(&id, escalated(EscalationLevel::Persistent)),
        vec![T0 + HOUR]
    );
    assert_eq!(
        store.kinds(&id),
        vec![NoticeKind::Opened, escalated(EscalationLevel::Persistent)]
    );
    assert_eq!(store.episodes[&fp], vec![T0], "one continuous episode");
    let inc = store.get(&fp);
    assert_eq!(inc.occurrences, 121);
    assert_eq!(inc.severity, Severity::Critical);
    assert_eq!(inc.opened_at, T0);
    assert_eq!(inc.last_seen, T0 + 2 * HOUR);
}

#[test]
fn a_thousand_sightings_are_one_incident_with_one_opened_notice() {
    let mut store = Store::new(Policy::default());
    let mut ids = std::collections::BTreeSet::new();
    for k in 0..1000 {
        let pod = format!("api-{:x}-{k}", k % 7);
        let out = store.signal(&sig("api", &pod, Severity::Warning), T0 + k * SEC);
        ids.insert(out.incident.id.clone());
        assert_eq!(out.created, k == 0);
        let occ = out.occurrence.unwrap();
        assert_eq!(occ.object, ObjectRef::new("Pod", pod));
        assert!(
            occ.merge_reason.contains("Deployment/api"),
            "{}",
            occ.merge_reason
        );
    }
    assert_eq!(ids.len(), 1);
    let id = ids.into_iter().next().unwrap();
    let fp = fingerprint::of(&api());
    assert_eq!(store.get(&fp).occurrences, 1000);
    assert_eq!(store.get(&fp).suppressed_occurrences, 0);
    assert_eq!(store.kinds(&id), vec![NoticeKind::Opened]);
}

// ---------------------------------------------------------------------------------------------
// 4. Cooldown
// ---------------------------------------------------------------------------------------------

#[test]
fn flapping_reopen_is_announced_after_the_cooldown_by_a_tick() {
    let policy = Policy::default();
    let cooldown = policy.notify_cooldown_ms;
    let mut store = Store::new(policy);
    let s = api();
    let fp = fingerprint::of(&s);
    let id = store.signal(&s, T0).incident.id;
    store.recovered(&fp, "reconcile", "ok", T0 + MIN).unwrap();
    let out = store.signal(&s, T0 + 2 * MIN);
    assert_eq!(out.incident.id, id);
    assert_eq!(out.incident.status, Status::Open);
    assert!(!out.incident.announced);
    assert!(out.notices.is_empty(), "withheld inside the cooldown");
    assert_eq!(
        out.audit[0].action,
        AuditAction::Reopened,
        "audited at once"
    );

    // Sightings and ticks inside the cooldown stay quiet and do not extend it.
    store.signal(&s, T0 + 3 * MIN);
    assert!(store.tick(T0 + 4 * MIN).is_empty());
    store.signal(&s, T0 + MIN + cooldown - 1);
    assert!(store.tick(T0 + MIN + cooldown - 1).is_empty());

    let outs = store.tick(T0 + MIN + cooldown);
    assert_eq!(outs.len(), 1);
    assert!(outs[0].incident.announced);
    assert_eq!(outs[0].notices[0].kind, NoticeKind::Reopened);
    assert_eq!(
        store.kinds(&id),
        vec![
            NoticeKind::Opened,
            NoticeKind::Resolved,
            NoticeKind::Reopened
        ]
    );
    // And it is properly resolvable again afterwards.
    let out = store.recovered(&fp, "reconcile", "ok", T0 + HOUR).unwrap();
    assert_eq!(out.notices[0].kind, NoticeKind::Resolved);
}

#[test]
fn an_unannounced_flap_that_resolves_sends_no_resolved_notice() {
    let mut store = Store::new(Policy::default());
    let s = api();
    let fp = fingerprint::of(&s);
    let id = store.signal(&s, T0).incident.id;
    store.recovered(&fp, "reconcile", "ok", T0 + MIN).unwrap();
    store.signal(&s, T0 + 2 * MIN);
    let out = store
        .recovered(&fp, "reconcile", "ok", T0 + 3 * MIN)
        .unwrap();
    assert_eq!(out.incident.status, Status::Resolved);
    assert!(out.notices.is_empty());
    assert_eq!(out.audit[0].action, AuditAction::Resolved, "still audited");
    assert!(store.tick(T0 + HOUR).is_empty(), "nothing left to announce");
    assert_eq!(
        store.kinds(&id),
        vec![NoticeKind::Opened, NoticeKind::Resolved]
    );
}

// ---------------------------------------------------------------------------------------------
// 5. Suppression with expiry
// ---------------------------------------------------------------------------------------------

#[test]
fn suppressed_incident_is_counted_silently_and_announced_when_the_silence_ends() {
    let mut store = Store::new(Policy::default());
    let until = T0 + 2 * HOUR;
    store.suppressions.push(suppression("sup-1", "api*", until));
    let s = api();
    let fp = fingerprint::of(&s);
    let out = store.signal(&s, T0);
    assert!(out.created);
    assert!(!out.incident.announced);
    assert!(out.notices.is_empty());
    assert_eq!(
        out.occurrence.as_ref().unwrap().suppressed_by.as_deref(),
        Some("sup-1")
    );
    assert_eq!(
        (
            out.incident.occurrences,
            out.incident.suppressed_occurrences
        ),
        (1, 1)
    );
    let id = out.incident.id;

    // Re-detected every minute (once with a higher severity) and ticked, all under the silence.
    let mut t = T0 + MIN;
    while t < until {
        let severity = if t == T0 + 90 * MIN {
            Severity::Critical
        } else {
            Severity::Warning
        };
        let out = store.signal(&sig("api", "api-2", severity), t);
        assert_eq!(
            out.occurrence.unwrap().suppressed_by.as_deref(),
            Some("sup-1")
        );
        assert!(out.notices.is_empty(), "at {t}");
        assert!(store.tick(t + SEC).iter().all(|o| o.notices.is_empty()));
        t += MIN;
    }
    let inc = store.get(&fp).clone();
    assert_eq!(inc.occurrences, 120);
    assert_eq!(inc.suppressed_occurrences, 120);
    assert!(inc.escalations.is_empty(), "no escalation while suppressed");
    assert_eq!(inc.opened_at, T0, "suppressed sightings move no timer");
    assert_eq!(inc.last_notified_at, None);
    assert!(store.kinds(&id).is_empty());

    // The silence ends: the next tick announces it, and escalation only now.
    let outs = store.tick(until);
    assert_eq!(outs.len(), 1);
    let kinds: Vec<NoticeKind> = outs[0].notices.iter().map(|n| n.kind).collect();
    assert_eq!(
        kinds,
        vec![NoticeKind::Opened, escalated(EscalationLevel::Persistent)]
    );
    assert!(outs[0].notices.iter().all(|n| n.at == until));

    // Sightings after the silence are not suppressed any more.
    let out = store.signal(&s, until + MIN);
    assert_eq!(out.occurrence.unwrap().suppressed_by, None);
    assert_eq!(out.incident.suppressed_occurrences, 120);
    assert_eq!(out.incident.occurrences, 121);
}

#[test]
fn suppression_of_an_announced_incident_blocks_escalation_and_notices() {
    let mut store = Store::new(Policy::default());
    let s = sig("api", "api-1", Severity::Info);
    let fp = fingerprint::of(&s);
    let id = store.signal(&s, T0).incident.id;
    let notified_at = store.get(&fp).last_notified_at;
    assert_eq!(notified_at, Some(T0));
    let until = T0 + 3 * HOUR;
    store.suppressions.push(suppression("sup-2", "api", until));

    let mut t = T0 + MIN;
    while t < until {
        let severity = if t >= T0 + 2 * HOUR {
            Severity::Critical
        } else {
            Severity::Info
        };
        let out = store.signal(&sig("api", "api-2", severity), t);
        assert!(
            out.notices.is_empty(),
            "suppressed sighting notified at {t}: {:?}",
            out.notices
        );
        store.tick(t + SEC);
        t += 5 * MIN;
    }
    let inc = store.get(&fp).clone();
    assert_eq!(inc.severity, Severity::Critical, "still recorded");
    assert!(inc.escalations.is_empty());
    assert_eq!(inc.opened_at, T0);
    assert_eq!(inc.last_notified_at, notified_at, "no timer moved");
    assert_eq!(store.kinds(&id), vec![NoticeKind::Opened]);

    // Silence over: it is already announced, so the tick only escalates.
    let outs = store.tick(until);
    let kinds: Vec<NoticeKind> = outs[0].notices.iter().map(|n| n.kind).collect();
    assert_eq!(kinds, vec![escalated(EscalationLevel::Persistent)]);
}

#[test]
fn suppressed_reopen_is_not_announced_and_its_resolve_is_silent() {
    let mut store = Store::new(Policy::default());
    let s = api();
    let fp = fingerprint::of(&s);
    let id = store.signal(&s, T0).incident.id;
    store.recovered(&fp, "reconcile", "ok", T0 + MIN).unwrap();
    store
        .suppressions
        .push(suppression("sup-3", "api", T0 + HOUR));
    let out = store.signal(&s, T0 + 30 * MIN);
    assert_eq!(out.incident.status, Status::Open);
    assert!(out.notices.is_empty());
    let out = store
        .recovered(&fp, "reconcile", "ok", T0 + 40 * MIN)
        .unwrap();
    assert!(out.notices.is_empty());
    assert_eq!(
        store.kinds(&id),
        vec![NoticeKind::Opened, NoticeKind::Resolved]
    );
}

// ---------------------------------------------------------------------------------------------
// 6. Severity
// ---------------------------------------------------------------------------------------------

#[test]
fn a_higher_detector_severity_raises_and_a_lower_one_never_lowers() {
    let mut store = Store::new(Policy::default());
    let fp = fingerprint::of(&api());
    let id = store
        .signal(&sig("api", "api-1", Severity::Info), T0)
        .incident
        .id;

    let out = store.signal(&sig("api", "api-2", Severity::Warning), T0 + MIN);
    assert_eq!(out.incident.severity, Severity::Warning);
    assert_eq!(out.incident.detector_severity, Severity::Warning);
    assert_eq!(out.audit.len(), 1);
    let raised = &out.audit[0];
    assert_eq!(raised.action, AuditAction::SeverityRaised);
    assert_eq!(raised.actor, "pod_scanner");
    assert_eq!((raised.from, raised.to), (Some(Status::Open), Status::Open));
    assert!(
        raised.note.contains("warning") && raised.note.contains("info"),
        "{}",
        raised.note
    );
    assert_eq!(out.notices.len(), 1);
    assert_eq!(out.notices[0].kind, NoticeKind::SeverityRaised);
    assert_eq!(out.notices[0].severity, Severity::Warning);

    let out = store.signal(&sig("api", "api-3", Severity::Info), T0 + 2 * MIN);
    assert_eq!(out.incident.severity, Severity::Warning);
    assert_eq!(out.incident.detector_severity, Severity::Warning);
    assert!(out.audit.is_empty() && out.notices.is_empty());

    let out = store.signal(&sig("api", "api-3", Severity::Critical), T0 + 3 * MIN);
    assert_eq!(out.incident.severity, Severity::Critical);
    let out = store.signal(&sig("api", "api-3", Severity::Warning), T0 + 4 * MIN);
    assert_eq!(out.incident.severity, Severity::Critical);
    assert_eq!(out.incident.detector_severity, Severity::Critical);
    assert_eq!(
        store.kinds(&id),
        vec![
            NoticeKind::Opened,
            NoticeKind::SeverityRaised,
            NoticeKind::SeverityRaised
        ]
    );
    assert_eq!(store.get(&fp).severity, Severity::Critical);
}

#[test]
fn severity_raised_on_an_unannounced_reopen_is_audited_not_notified() {
    let mut store = Store::new(Policy::default());
    let s = api();
    let fp = fingerprint::of(&s);
    let id = store.signal(&s, T0).incident.id;
    store.recovered(&fp, "reconcile", "ok", T0 + MIN).unwrap();
    let out = store.signal(&sig("api", "api-9", Severity::Critical), T0 + 2 * MIN);
    assert_eq!(out.incident.severity, Severity::Critical);
    assert_eq!(
        out.audit.iter().map(|a| a.action).collect::<Vec<_>>(),
        vec![AuditAction::Reopened, AuditAction::SeverityRaised]
    );
    assert!(out.notices.is_empty());
    let outs = store.tick(T0 + HOUR);
    assert_eq!(outs[0].notices[0].kind, NoticeKind::Reopened);
    assert_eq!(outs[0].notices[0].severity, Severity::Critical);
    assert!(!store.kinds(&id).contains(&NoticeKind::SeverityRaised));
}

#[test]
fn analysis_raises_severity_but_never_lowers_it() {
    let mut store = Store::new(Policy::default());
    let s = api();
    let fp = fingerprint::of(&s);
    store.signal(&s, T0);
    let inc = store.get(&fp).clone();
    assert_eq!(inc.severity, Severity::Warning);
    let out = decide::on_analysis(&inc, Severity::Critical, false, "llm", T0 + MIN).unwrap();
    assert_eq!(out.incident.severity, Severity::Critical);
    assert_eq!(out.audit[0].action, AuditAction::SeverityRaised);
    assert_eq!(out.notices[0].kind, NoticeKind::SeverityRaised);
    let lower = decide::on_analysis(&out.incident, Severity::Info, false, "llm", T0 + 2 * MIN);
    assert!(lower.is_none(), "a lower proposal changes nothing");
    let review =
        decide::on_analysis(&out.incident, Severity::Info, true, "rules", T0 + 3 * MIN).unwrap();
    assert_eq!(review.incident.severity, Severity::Critical);
    assert!(review.incident.needs_review);
    assert!(review.notices.is_empty());
}

#[test]
fn repeat_interval_re_pages_only_open_unacknowledged_critical_incidents() {
    let policy = Policy {
        repeat_interval_ms: Some(30 * MIN),
        ..Policy::default()
    };
    let mut store = Store::new(policy);
    let mut s = api();
    s.severity = Severity::Critical;
    let fp = fingerprint::of(&s);
    store.signal(&s, T0);
    store.tick(T0 + 29 * MIN);
    let id = store.get(&fp).id.clone();
    assert!(
        !store.kinds(&id).contains(&NoticeKind::Repeat),
        "not before the interval"
    );
    store.tick(T0 + 30 * MIN);
    assert_eq!(store.notices_at(&id, NoticeKind::Repeat), [T0 + 30 * MIN]);
    store.tick(T0 + 45 * MIN);
    assert_eq!(
        store.notices_at(&id, NoticeKind::Repeat).len(),
        1,
        "once per interval"
    );
    store.ack(&fp, "alice", "", None, T0 + 46 * MIN).unwrap();
    store.tick(T0 + 200 * MIN);
    assert_eq!(
        store.notices_at(&id, NoticeKind::Repeat).len(),
        1,
        "an acknowledged incident is not re-paged"
    );

    // off by default
    let mut store = Store::new(Policy::default());
    store.signal(&s, T0);
    store.tick(T0 + 300 * MIN);
    let id = store.get(&fp).id.clone();
    assert!(!store.kinds(&id).contains(&NoticeKind::Repeat));
}
