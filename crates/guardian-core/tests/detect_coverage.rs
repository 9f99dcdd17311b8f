//! Coverage and the reconcile pass: what may be auto-resolved, and what may not.

#[path = "detect_common/mod.rs"]
mod common;

use common::{load, now, now_plus, settings};
use guardian_core::detect::{self, Scope, Snapshot, coverage, recoveries};
use guardian_core::incident::{Incident, Severity, Status};
use guardian_core::signal::Observation;
use guardian_core::{Category, ObjectRef, Signal};

fn incident(ns: Option<&str>, owner: ObjectRef, category: Category, last_seen: i64) -> Incident {
    let signal = Signal {
        detector: "pod_scanner".into(),
        cluster: "test".into(),
        namespace: ns.map(str::to_string),
        object: owner.clone(),
        top_owner: owner.clone(),
        reason: "x".into(),
        failure_class: category,
        severity: Severity::Warning,
        discriminator: None,
        first_seen: 0,
        last_seen,
        message: String::new(),
    };
    Incident {
        id: format!("{owner}-{category}"),
        fingerprint: guardian_core::fingerprint::of(&signal),
        cluster: "test".into(),
        namespace: signal.namespace.clone(),
        object: owner,
        detector: signal.detector.clone(),
        reason: "x".into(),
        category,
        message: String::new(),
        severity: Severity::Warning,
        detector_severity: Severity::Warning,
        status: Status::Open,
        escalations: vec![],
        first_seen: 0,
        last_seen,
        opened_at: 0,
        occurrences: 1,
        suppressed_occurrences: 0,
        acknowledged_at: None,
        acknowledged_by: None,
        ack_expires_at: None,
        resolved_at: None,
        resolved_by: None,
        last_notified_at: None,
        announced: true,
        needs_review: false,
    }
}

fn recovered(obs: &[Observation]) -> Vec<String> {
    obs.iter()
        .filter_map(|o| match o {
            Observation::Recovered { fingerprint, .. } => Some(fingerprint.clone()),
            Observation::Firing(_) => None,
        })
        .collect()
}

#[test]
fn a_scanned_namespace_without_the_signal_resolves_and_a_firing_one_does_not() {
    let snap = load("pods/stable-after-restarts.yaml");
    let s = settings();
    let signals = detect::run(&snap, &s, now());
    let cov = coverage(&snap);
    assert!(cov.iter().any(|c| c.detector == "pod_scanner"));
    let gone = incident(
        Some("shop"),
        ObjectRef::new("Deployment", "api"),
        Category::CrashLoop,
        now(),
    );
    assert_eq!(
        recovered(&recoveries(
            std::slice::from_ref(&gone),
            &signals,
            &cov,
            &s,
            now()
        )),
        vec![gone.fingerprint.clone()]
    );

    let crashing = load("pods/three-replicas-crashing.yaml");
    let signals = detect::run(&crashing, &s, now());
    assert!(recoveries(&[gone], &signals, &coverage(&crashing), &s, now()).is_empty());
}

#[test]
fn could_not_read_never_means_recovered() {
    // Nothing listed: no detector ran, nothing resolves.
    let snap = Snapshot::new();
    let inc = incident(
        Some("shop"),
        ObjectRef::new("Deployment", "api"),
        Category::CrashLoop,
        0,
    );
    assert!(coverage(&snap).is_empty());
    assert!(
        recoveries(
            std::slice::from_ref(&inc),
            &[],
            &coverage(&snap),
            &settings(),
            now()
        )
        .is_empty()
    );
    // Pods listed in another namespace only: still not covered.
    let mut snap = Snapshot::new();
    snap.mark_listed("Pod", Scope::Namespaces(["other".to_string()].into()));
    assert!(recoveries(&[inc], &[], &coverage(&snap), &settings(), now()).is_empty());
}

#[test]
fn event_only_classes_resolve_after_idling_and_alerts_never() {
    let mut snap = Snapshot::new();
    snap.mark_listed("Event", Scope::Cluster);
    snap.mark_listed("Pod", Scope::Cluster);
    let s = settings();
    let mount = incident(
        Some("shop"),
        ObjectRef::new("Deployment", "api"),
        Category::VolumeMount,
        now_plus(-600),
    );
    let alert = incident(
        Some("shop"),
        ObjectRef::new("Alert", "HighLatency"),
        Category::AlertFiring,
        now_plus(-86_400),
    );
    let cov = coverage(&snap);
    let incidents = [mount.clone(), alert];
    assert!(
        recoveries(&incidents, &[], &cov, &s, now()).is_empty(),
        "600 s idle < 900 s"
    );
    assert_eq!(
        recovered(&recoveries(&incidents, &[], &cov, &s, now_plus(301))),
        vec![mount.fingerprint]
    );
}

#[test]
fn log_derived_classes_stay_open_while_the_owner_still_fails() {
    // The pod still crash-loops but this time its logs were not fetched: crash_loop, not
    // disk_full. The disk_full incident must not resolve.
    let snap = load("pods/disk-full.yaml");
    let s = settings();
    let signals = detect::run(&snap, &s, now());
    let disk = incident(
        Some("shop"),
        ObjectRef::new("Deployment", "api"),
        Category::DiskFull,
        now(),
    );
    assert!(recoveries(&[disk], &signals, &coverage(&snap), &s, now()).is_empty());
}

#[test]
fn flux_coverage_is_per_kind() {
    let snap = load("flux/flux.yaml");
    let cov = coverage(&snap);
    let flux: Vec<_> = cov
        .iter()
        .filter(|c| c.detector == "flux_scanner")
        .collect();
    assert!(flux.iter().all(|c| c.owner_kind.is_some()));
    // No OCIRepository was listed: an OCIRepository incident is not covered.
    let oci = incident(
        Some("flux-system"),
        ObjectRef::new("OCIRepository", "charts"),
        Category::FluxSourceError,
        0,
    );
    assert!(!cov.iter().any(|c| c.covers(&oci)));
    let git = incident(
        Some("flux-system"),
        ObjectRef::new("GitRepository", "other"),
        Category::FluxSourceError,
        0,
    );
    assert!(cov.iter().any(|c| c.covers(&git)));
}
