//! The warning-event detector against fixtures (`fixtures/detect/events/`), alone and together
//! with the scanners through `detect::run`.

#[path = "detect_common/mod.rs"]
mod common;

use common::{fingerprints, load, now, owners, row, settings};
use guardian_core::detect::{self, events};

#[test]
fn normal_events_never_produce_signals() {
    let snap = load("events/normal-only.yaml");
    assert!(events::detect(&snap, &settings(), now()).is_empty());
    assert!(detect::run(&snap, &settings(), now()).is_empty());
}

#[test]
fn an_event_and_the_pod_scanner_land_on_the_same_fingerprint() {
    let snap = load("events/backoff-and-pod.yaml");
    let s = settings();
    let from_events = events::detect(&snap, &s, now());
    let from_pods = detect::pods::detect(&snap, &s, now());
    assert_eq!(
        owners(&from_events),
        vec![row("Deployment/api", "crash_loop", "warning")]
    );
    assert_eq!(fingerprints(&from_events), fingerprints(&from_pods));
    let all = detect::run(&snap, &s, now());
    assert_eq!(all.len(), 2);
    assert_eq!(fingerprints(&all).len(), 1);
    // Scanners come first in the chain: the incident is attributed to the pod scanner.
    assert_eq!(all[0].detector, "pod_scanner");
    assert_eq!(all[1].detector, "warning_events");
    // The event's first timestamp (50 min ago) is the earliest sighting.
    assert_eq!(all[1].first_seen, common::now_plus(-3000));
}

#[test]
fn two_causes_in_one_namespace_are_two_incidents() {
    let snap = load("events/two-causes.yaml");
    let signals = detect::run(&snap, &settings(), now());
    assert_eq!(
        owners(&signals),
        vec![
            row("Deployment/api", "crash_loop", "warning"),
            row("Deployment/worker", "oom_killed", "critical"),
        ]
    );
    assert_eq!(fingerprints(&signals).len(), 2);
}

#[test]
fn events_about_unlisted_pods_use_their_own_reason_graces_and_age() {
    let snap = load("events/orphans.yaml");
    let signals = events::detect(&snap, &settings(), now());
    // BackOff (30 min) → crash_loop; the old FailedMount (30 min) → volume_mount; the fresh
    // FailedMount (60 s < 120 s grace) and the 2-hour-old BackOff are dropped.
    assert_eq!(
        owners(&signals),
        vec![
            row("Deployment/api", "crash_loop", "warning"),
            row("Deployment/api", "volume_mount", "warning"),
        ]
    );
    assert_eq!(signals.len(), 2);
}

#[test]
fn events_about_deleted_pods_are_dropped_when_pods_were_listed() {
    let mut snap = load("events/orphans.yaml");
    snap.mark_listed("Pod", detect::Scope::Cluster);
    assert!(events::detect(&snap, &settings(), now()).is_empty());
}

#[test]
fn quota_failures_and_job_failures_key_on_their_top_owners() {
    let snap = load("events/workloads.yaml");
    let signals = events::detect(&snap, &settings(), now());
    assert_eq!(
        owners(&signals),
        vec![
            row("CronJob/report", "job_failed", "warning"),
            row("Deployment/api", "quota_exceeded", "warning"),
        ]
    );
    let quota = signals
        .iter()
        .find(|s| s.failure_class == guardian_core::Category::QuotaExceeded)
        .unwrap();
    assert_eq!(quota.object.to_string(), "ReplicaSet/api-84d5b6c9f7");
    assert!(quota.message.contains("(×25)"), "{}", quota.message);
}

#[test]
fn excluded_namespaces_are_dropped_by_run() {
    let snap = load("events/two-causes.yaml");
    let mut s = settings();
    s.exclude_namespaces = vec!["shop".into()];
    assert!(detect::run(&snap, &s, now()).is_empty());
}
