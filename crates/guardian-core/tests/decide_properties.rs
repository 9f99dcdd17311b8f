//! Property tests: fingerprint identity, and invariants of `decide` over random sequences of
//! sightings, ticks, operator actions, recoveries and suppression toggles.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;

use guardian_core::decide::{self, NoticeKind, Outcome};
use guardian_core::fingerprint;
use guardian_core::incident::EscalationLevel;
use guardian_core::lifecycle::{self, AuditAction};
use guardian_core::policy::Policy;
use guardian_core::suppression::{self, Suppression, Target};
use guardian_core::time::Millis;
use guardian_core::{Category, Incident, ObjectRef, Severity, Signal, Status};

const T0: Millis = 1_780_000_000_000;
const MIN: Millis = 60_000;
const HOUR: Millis = 60 * MIN;

// ---------------------------------------------------------------------------------------------
// (a) Fingerprints
// ---------------------------------------------------------------------------------------------

fn dns_name() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9-]{0,30}"
}

fn pod_name() -> impl Strategy<Value = String> {
    "[a-z0-9][a-z0-9.-]{0,62}"
}

fn owner_kind() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "Deployment",
        "StatefulSet",
        "DaemonSet",
        "Job",
        "CronJob",
        "Node",
    ])
    .prop_map(String::from)
}

fn category() -> impl Strategy<Value = Category> {
    prop::sample::select(Category::ALL.to_vec())
}

fn severity() -> impl Strategy<Value = Severity> {
    prop::sample::select(vec![Severity::Info, Severity::Warning, Severity::Critical])
}

#[derive(Debug, Clone)]
struct Identity {
    cluster: String,
    namespace: Option<String>,
    owner_kind: String,
    owner_name: String,
    class: Category,
}

fn identity() -> impl Strategy<Value = Identity> {
    (
        dns_name(),
        prop::option::of(dns_name()),
        owner_kind(),
        dns_name(),
        category(),
    )
        .prop_map(
            |(cluster, namespace, owner_kind, owner_name, class)| Identity {
                cluster,
                namespace,
                owner_kind,
                owner_name,
                class,
            },
        )
}

/// Everything about a sighting that is *not* identity: the pod (replica churn), the object
/// kind it was seen on, detector, reason, message, severity and times.
#[derive(Debug, Clone)]
struct Noise {
    object_kind: &'static str,
    pod: String,
    detector: String,
    reason: String,
    message: String,
    severity: Severity,
    first_seen: Millis,
}

fn noise() -> impl Strategy<Value = Noise> {
    (
        prop::sample::select(vec!["Pod", "ReplicaSet", "Event"]),
        pod_name(),
        prop::sample::select(vec!["pod_scanner", "warning_events", "reconcile"])
            .prop_map(String::from),
        "[A-Za-z]{1,20}",
        ".{0,40}",
        severity(),
        0..=T0,
    )
        .prop_map(
            |(object_kind, pod, detector, reason, message, severity, first_seen)| Noise {
                object_kind,
                pod,
                detector,
                reason,
                message,
                severity,
                first_seen,
            },
        )
}

fn signal_of(id: &Identity, n: &Noise) -> Signal {
    Signal {
        detector: n.detector.clone(),
        cluster: id.cluster.clone(),
        namespace: id.namespace.clone(),
        object: ObjectRef::new(n.object_kind, n.pod.clone()),
        top_owner: ObjectRef::new(id.owner_kind.clone(), id.owner_name.clone()),
        reason: n.reason.clone(),
        failure_class: id.class,
        severity: n.severity,
        discriminator: None,
        first_seen: n.first_seen,
        last_seen: n.first_seen,
        message: n.message.clone(),
    }
}

proptest! {
    #[test]
    fn fingerprint_ignores_pods_and_replica_churn(id in identity(), a in noise(), b in noise()) {
        let fa = fingerprint::of(&signal_of(&id, &a));
        prop_assert_eq!(&fa, &fingerprint::of(&signal_of(&id, &b)));
        prop_assert_eq!(&fa, &fingerprint::of(&signal_of(&id, &a)), "deterministic");
        prop_assert_eq!(fa.len(), 32);
        prop_assert!(fa.bytes().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
    }

    #[test]
    fn fingerprint_changes_with_any_identity_part(
        id in identity(),
        n in noise(),
        part in 0..6usize,
        other_name in dns_name(),
        other_kind in owner_kind(),
        other_class in category(),
    ) {
        let base = fingerprint::of(&signal_of(&id, &n));
        let mut changed = id.clone();
        match part {
            0 => changed.cluster = other_name,
            1 => changed.namespace = Some(other_name),
            2 => changed.namespace = match &id.namespace {
                Some(_) => None,
                None => Some(other_name),
            },
            3 => changed.owner_kind = other_kind,
            4 => changed.owner_name = other_name,
            _ => changed.class = other_class,
        }
        let same = changed.cluster == id.cluster
            && changed.namespace == id.namespace
            && changed.owner_kind == id.owner_kind
            && changed.owner_name == id.owner_name
            && changed.class == id.class;
        prop_assume!(!same);
        prop_assert_ne!(base, fingerprint::of(&signal_of(&changed, &n)));
    }
}

// ---------------------------------------------------------------------------------------------
// (b) decide invariants over random operation sequences
// ---------------------------------------------------------------------------------------------

/// The workloads the random sequences talk about.
const OWNERS: [(&str, &str, Category); 3] = [
    ("shop", "api", Category::CrashLoop),
    ("shop", "web", Category::OomKilled),
    ("data", "db", Category::VolumeMount),
];

fn workload_signal(who: usize, pod: u8, severity: Severity) -> Signal {
    let (ns, owner, class) = OWNERS[who];
    Signal {
        detector: "pod_scanner".into(),
        cluster: "prod".into(),
        namespace: Some(ns.into()),
        object: ObjectRef::new("Pod", format!("{owner}-{pod}")),
        top_owner: ObjectRef::new("Deployment", owner),
        reason: "Failing".into(),
        failure_class: class,
        severity,
        discriminator: None,
        first_seen: T0,
        last_seen: T0,
        message: "failing".into(),
    }
}

fn fp_of(who: usize) -> String {
    fingerprint::of(&workload_signal(who, 0, Severity::Info))
}

#[derive(Debug, Clone)]
enum Op {
    Sight {
        who: usize,
        pod: u8,
        severity: Severity,
    },
    Tick,
    Ack {
        who: usize,
        expires_in_ms: Option<Millis>,
    },
    Resolve {
        who: usize,
    },
    Recover {
        who: usize,
    },
    ToggleSuppression {
        who: usize,
        lifetime: Millis,
    },
}

fn advance() -> impl Strategy<Value = Millis> {
    prop_oneof![Just(0), 0..10 * MIN, 0..2 * HOUR]
}

fn op() -> impl Strategy<Value = Op> {
    let who = 0..OWNERS.len();
    prop_oneof![
        6 => (who.clone(), any::<u8>(), severity())
            .prop_map(|(who, pod, severity)| Op::Sight { who, pod, severity }),
        3 => Just(Op::Tick),
        1 => (who.clone(), prop_oneof![Just(None), Just(Some(0)), (1..3 * HOUR).prop_map(Some)])
            .prop_map(|(who, expires_in_ms)| Op::Ack { who, expires_in_ms }),
        1 => who.clone().prop_map(|who| Op::Resolve { who }),
        1 => who.clone().prop_map(|who| Op::Recover { who }),
        1 => (who, MIN..3 * HOUR)
            .prop_map(|(who, lifetime)| Op::ToggleSuppression { who, lifetime }),
    ]
}

fn policy() -> impl Strategy<Value = Policy> {
    prop_oneof![
        Just(Policy::default()),
        Just(Policy {
            reopen_window_ms: 30 * MIN,
            episode_gap_ms: 10 * MIN,
            notify_cooldown_ms: 5 * MIN,
            ack_expiry_ms: Some(20 * MIN),
            recurring_episodes: 3,
            recurring_window_ms: 2 * HOUR,
            persistent_unacked_ms: 30 * MIN,
            persistent_open_ms: 3 * HOUR,
            ..Policy::default()
        }),
        Just(Policy {
            notify_cooldown_ms: 0,
            ack_expiry_ms: None,
            recurring_episodes: 2,
            repeat_interval_ms: Some(30 * MIN),
            ..Policy::default()
        }),
    ]
}

/// Per incident id, what the checker has seen so far.
#[derive(Default)]
struct Seen {
    status: Option<Status>,
    severity: Option<Severity>,
    escalations: BTreeSet<EscalationLevel>,
    notices: Vec<NoticeKind>,
    /// An Opened/Reopened notice since the last Resolved notice.
    announced: bool,
    /// When the previous notice was decided.
    last_notice_at: Option<Millis>,
    occurrences: u64,
    suppressed: u64,
}

/// The simulated store plus the invariant checker.
struct Store {
    policy: Policy,
    incidents: BTreeMap<String, Incident>,
    episodes: BTreeMap<String, Vec<Millis>>,
    suppressions: Vec<Suppression>,
    seen: BTreeMap<String, Seen>,
    next_id: u64,
}

fn target_of(signal: &Signal) -> Target<'_> {
    Target {
        namespace: signal.namespace.as_deref(),
        kind: &signal.top_owner.kind,
        name: &signal.top_owner.name,
        category: signal.failure_class,
    }
}

impl Store {
    fn new(policy: Policy) -> Self {
        Self {
            policy,
            incidents: BTreeMap::new(),
            episodes: BTreeMap::new(),
            suppressions: Vec::new(),
            seen: BTreeMap::new(),
            next_id: 0,
        }
    }

    fn suppressed(&self, incident: &Incident, now: Millis) -> bool {
        suppression::find(&self.suppressions, &decide::target(incident), now).is_some()
    }

    fn run(&mut self, op: &Op, now: Millis) -> Result<(), TestCaseError> {
        match *op {
            Op::Sight { who, pod, severity } => {
                let signal = workload_signal(who, pod, severity);
                let fp = fingerprint::of(&signal);
                let existing = self.incidents.get(&fp).cloned();
                let episodes = self.episodes.get(&fp).cloned().unwrap_or_default();
                let sup = suppression::find(&self.suppressions, &target_of(&signal), now);
                let next_id = &mut self.next_id;
                let out = decide::on_signal(
                    &signal,
                    existing.clone(),
                    &episodes,
                    sup,
                    &self.policy,
                    now,
                    || {
                        *next_id += 1;
                        format!("inc-{next_id}")
                    },
                );
                let suppressed = sup.is_some();
                let occ = out
                    .occurrence
                    .as_ref()
                    .expect("a sighting records an occurrence");
                prop_assert_eq!(occ.suppressed_by.is_some(), suppressed);
                prop_assert_eq!(
                    out.incident.severity.max(signal.severity),
                    out.incident.severity
                );
                if suppressed && let Some(prev) = existing.filter(|p| p.status != Status::Resolved)
                {
                    // A suppressed sighting of a live incident moves no timer.
                    prop_assert_eq!(out.incident.opened_at, prev.opened_at);
                    prop_assert_eq!(out.incident.last_notified_at, prev.last_notified_at);
                    prop_assert_eq!(&out.incident.escalations, &prev.escalations);
                }
                let seen = self.seen.entry(out.incident.id.clone()).or_default();
                seen.occurrences += 1;
                seen.suppressed += u64::from(suppressed);
                self.apply(out, now, suppressed)?;
            }
            Op::Tick => {
                let fps: Vec<String> = self.incidents.keys().cloned().collect();
                for fp in fps {
                    let inc = self.incidents[&fp].clone();
                    let episodes = self.episodes.get(&fp).cloned().unwrap_or_default();
                    let suppressed = self.suppressed(&inc, now);
                    let sup = suppression::find(&self.suppressions, &decide::target(&inc), now);
                    if let Some(out) = decide::on_tick(&inc, &episodes, sup, &self.policy, now) {
                        prop_assert_ne!(&out.incident, &inc, "Some only when something changed");
                        prop_assert!(!out.created && !out.episode_started);
                        self.apply(out, now, suppressed)?;
                    }
                    self.check_after_tick(&fp, now)?;
                }
            }
            Op::Ack { who, expires_in_ms } => {
                let Some(inc) = self.incidents.get(&fp_of(who)).cloned() else {
                    return Ok(());
                };
                let suppressed = self.suppressed(&inc, now);
                match decide::on_ack(&inc, "alice", "mine", expires_in_ms, &self.policy, now) {
                    Ok(out) => {
                        prop_assert_eq!(inc.status, Status::Open);
                        self.apply(out, now, suppressed)?;
                    }
                    Err(err) => {
                        prop_assert_ne!(inc.status, Status::Open);
                        prop_assert_eq!(err.from, inc.status);
                        prop_assert_eq!(err.action, "acknowledge");
                    }
                }
            }
            Op::Resolve { who } => {
                let Some(inc) = self.incidents.get(&fp_of(who)).cloned() else {
                    return Ok(());
                };
                let suppressed = self.suppressed(&inc, now);
                match decide::on_resolve(&inc, "alice", "fixed", now) {
                    Ok(out) => {
                        prop_assert_ne!(inc.status, Status::Resolved);
                        self.apply(out, now, suppressed)?;
                    }
                    Err(err) => {
                        prop_assert_eq!(inc.status, Status::Resolved);
                        prop_assert_eq!(err.from, Status::Resolved);
                        prop_assert_eq!(err.action, "resolve");
                    }
                }
            }
            Op::Recover { who } => {
                let Some(inc) = self.incidents.get(&fp_of(who)).cloned() else {
                    return Ok(());
                };
                let suppressed = self.suppressed(&inc, now);
                match decide::on_recovered(&inc, "reconcile", "healthy", now) {
                    Some(out) => self.apply(out, now, suppressed)?,
                    None => prop_assert_eq!(inc.status, Status::Resolved),
                }
            }
            Op::ToggleSuppression { who, lifetime } => {
                let id = format!("sup-{who}");
                let active = self
                    .suppressions
                    .iter()
                    .any(|s| s.id == id && s.is_active(now));
                self.suppressions.retain(|s| s.id != id);
                if !active {
                    let (ns, owner, _) = OWNERS[who];
                    let s = Suppression {
                        id,
                        namespace: Some(ns.into()),
                        kind: Some("Deployment".into()),
                        name: Some(owner.into()),
                        category: None,
                        reason: "noisy".into(),
                        created_by: "alice".into(),
                        created_at: now,
                        expires_at: now + lifetime,
                    };
                    prop_assert_eq!(s.validate(now), Ok(()));
                    self.suppressions.push(s);
                }
            }
        }
        Ok(())
    }

    /// Applies an outcome like the store would, checking every invariant on the way.
    fn apply(&mut self, out: Outcome, now: Millis, suppressed: bool) -> Result<(), TestCaseError> {
        let inc = &out.incident;
        let seen = self.seen.entry(inc.id.clone()).or_default();

        // The row: new ids only for created rows; severity never decreases.
        prop_assert_eq!(out.created, seen.status.is_none(), "created iff new id");
        if let Some(before) = seen.severity {
            prop_assert!(
                inc.severity >= before,
                "severity lowered {:?} -> {:?}",
                before,
                inc.severity
            );
        }
        prop_assert!(inc.severity >= inc.detector_severity);
        seen.severity = Some(inc.severity);

        // Audit: a consistent chain of legal transitions.
        for a in &out.audit {
            prop_assert_eq!(a.at, now);
            match a.action {
                AuditAction::Escalated | AuditAction::SeverityRaised => {
                    prop_assert_eq!(a.from, Some(a.to), "{:?} changes no status", a.action);
                    prop_assert_eq!(a.from, seen.status);
                }
                AuditAction::Opened => {
                    prop_assert_eq!(seen.status, None, "Opened only for a new incident");
                    prop_assert_eq!((a.from, a.to), (None, Status::Open));
                }
                action => {
                    let from = a.from.expect("a transition has a from status");
                    prop_assert_eq!(Some(from), seen.status, "audit chain broken");
                    prop_assert!(
                        lifecycle::check(from, a.to).is_ok(),
                        "{:?} -> {:?}",
                        from,
                        a.to
                    );
                    let expected = match action {
                        AuditAction::Acknowledged => (Status::Open, Status::Acknowledged),
                        AuditAction::Reopened => (Status::Resolved, Status::Open),
                        AuditAction::AckExpired => (Status::Acknowledged, Status::Open),
                        _ => (from, Status::Resolved),
                    };
                    prop_assert_eq!((from, a.to), expected, "{:?}", action);
                }
            }
            seen.status = Some(a.to);
        }
        prop_assert_eq!(
            seen.status,
            Some(inc.status),
            "audit ends in the row's status"
        );

        // Escalation: each level at most once per incident id, only when announced.
        let levels: BTreeSet<EscalationLevel> = inc.escalations.iter().copied().collect();
        prop_assert_eq!(levels.len(), inc.escalations.len(), "duplicate level");
        prop_assert!(
            seen.escalations.is_subset(&levels),
            "an escalation was forgotten"
        );
        seen.escalations = levels;
        let escalation_audits = out
            .audit
            .iter()
            .filter(|a| a.action == AuditAction::Escalated);
        let escalation_notices = out
            .notices
            .iter()
            .filter(|n| matches!(n.kind, NoticeKind::Escalated(_)));
        prop_assert_eq!(escalation_audits.count(), escalation_notices.count());

        // Notices.
        for n in &out.notices {
            prop_assert_eq!(n.at, now);
            if seen.notices.is_empty() {
                prop_assert_eq!(n.kind, NoticeKind::Opened, "first notice of an incident");
            }
            match n.kind {
                NoticeKind::Opened => {
                    prop_assert!(!seen.notices.contains(&NoticeKind::Opened), "Opened twice");
                    prop_assert!(!seen.announced);
                    seen.announced = true;
                }
                NoticeKind::Reopened => {
                    prop_assert!(!seen.announced, "Reopened while announced");
                    let last = seen
                        .last_notice_at
                        .expect("a reopen follows earlier notices");
                    prop_assert!(
                        now - last >= self.policy.notify_cooldown_ms,
                        "Reopened {} ms after the previous notice, inside the cooldown",
                        now - last
                    );
                    seen.announced = true;
                }
                NoticeKind::Resolved => {
                    prop_assert!(
                        seen.announced,
                        "Resolved without an Opened/Reopened before it"
                    );
                    seen.announced = false;
                }
                NoticeKind::Escalated(level) => {
                    prop_assert!(
                        !seen.notices.contains(&n.kind),
                        "{:?} escalated twice for {}",
                        level,
                        inc.id
                    );
                    prop_assert!(seen.announced);
                }
                NoticeKind::SeverityRaised
                | NoticeKind::Acknowledged
                | NoticeKind::AckExpired
                | NoticeKind::Repeat => {
                    prop_assert!(seen.announced, "{:?} on an unannounced incident", n.kind);
                }
            }
            if suppressed {
                prop_assert!(
                    matches!(n.kind, NoticeKind::Resolved | NoticeKind::Acknowledged),
                    "{:?} notified under a suppression",
                    n.kind
                );
            }
            seen.notices.push(n.kind);
            seen.last_notice_at = Some(now);
        }
        if inc.status != Status::Resolved {
            prop_assert_eq!(
                seen.announced,
                inc.announced,
                "announced flag matches the notices"
            );
        }
        if out.occurrence.is_some() {
            prop_assert_eq!(inc.occurrences, seen.occurrences);
            prop_assert_eq!(inc.suppressed_occurrences, seen.suppressed);
        }

        if out.episode_started {
            self.episodes
                .entry(inc.fingerprint.clone())
                .or_default()
                .push(now);
        }
        if let Some(old) = self.incidents.get(&inc.fingerprint)
            && old.id != inc.id
        {
            prop_assert!(out.created);
            prop_assert_eq!(
                old.status,
                Status::Resolved,
                "only a resolved row is superseded"
            );
        }
        self.incidents.insert(inc.fingerprint.clone(), out.incident);
        Ok(())
    }

    /// After a tick, nothing that is due may still be pending (liveness).
    fn check_after_tick(&self, fp: &str, now: Millis) -> Result<(), TestCaseError> {
        let inc = &self.incidents[fp];
        if inc.status == Status::Resolved || self.suppressed(inc, now) {
            return Ok(());
        }
        let p = &self.policy;
        if let Some(at) = inc.ack_expires_at {
            prop_assert!(at > now, "an expired acknowledgement survived a tick");
        }
        let cooldown_over = inc
            .last_notified_at
            .is_none_or(|at| now - at >= p.notify_cooldown_ms);
        prop_assert!(
            inc.announced || !cooldown_over,
            "announcement still pending after a tick"
        );
        if inc.announced {
            let open_for = now - inc.opened_at;
            let persistent = (inc.status == Status::Open && open_for >= p.persistent_unacked_ms)
                || open_for >= p.persistent_open_ms;
            if persistent {
                prop_assert!(inc.escalations.contains(&EscalationLevel::Persistent));
            }
            let window_start = now - p.recurring_window_ms;
            let episodes = self.episodes.get(fp).map_or(0, |e| {
                e.iter()
                    .filter(|&&at| at >= window_start && at <= now)
                    .count()
            });
            if episodes >= p.recurring_episodes as usize {
                prop_assert!(inc.escalations.contains(&EscalationLevel::Recurring));
            }
        }
        Ok(())
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn decide_invariants_hold_over_random_operations(
        policy in policy(),
        ops in prop::collection::vec((advance(), op()), 1..80),
    ) {
        let mut store = Store::new(policy);
        let mut now = T0;
        for (dt, op) in &ops {
            now += dt;
            store.run(op, now)?;
        }
        // Every incident row ended up where its audit chain says.
        for inc in store.incidents.values() {
            prop_assert_eq!(store.seen[&inc.id].status, Some(inc.status));
        }
    }
}
