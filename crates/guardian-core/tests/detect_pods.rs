//! The pod scanner against fixtures (`fixtures/detect/pods/`).

#[path = "detect_common/mod.rs"]
mod common;

use common::{load, now, now_plus, owners, row, settings};
use guardian_core::detect::pods;

#[test]
fn three_crashing_replicas_are_one_top_owner_and_one_fingerprint() {
    let snap = load("pods/three-replicas-crashing.yaml");
    let signals = pods::detect(&snap, &settings(), now());
    assert_eq!(signals.len(), 3, "one signal per pod");
    assert_eq!(
        owners(&signals),
        vec![row("Deployment/api", "crash_loop", "warning")]
    );
    assert_eq!(common::fingerprints(&signals).len(), 1);
    assert!(signals.iter().all(|s| s.object.kind == "Pod"));
    assert!(
        signals[0].message.contains("exit code 1"),
        "{}",
        signals[0].message
    );
}

#[test]
fn oom_only_in_last_state_is_critical_oom_killed() {
    let snap = load("pods/oom-last-state.yaml");
    assert_eq!(
        owners(&pods::detect(&snap, &settings(), now())),
        vec![row("Deployment/api", "oom_killed", "critical")]
    );
}

#[test]
fn oom_recovers_only_after_the_stable_window() {
    // Ready and running since now − 600 s in the fixture.
    let snap = load("pods/oom-recovering.yaml");
    let s = settings();
    assert_eq!(
        owners(&pods::detect(&snap, &s, now_plus(-1))),
        vec![row("Deployment/api", "oom_killed", "critical")],
        "599 s of uptime is not stable yet"
    );
    assert!(pods::detect(&snap, &s, now()).is_empty(), "600 s is stable");
    assert!(
        pods::detect(&snap, &s, now_plus(1)).is_empty(),
        "601 s is stable"
    );
}

#[test]
fn a_pod_stable_after_restarts_is_not_an_incident() {
    let snap = load("pods/stable-after-restarts.yaml");
    assert!(pods::detect(&snap, &settings(), now()).is_empty());
}

#[test]
fn restarts_climbing_between_back_offs_is_a_crash_loop() {
    let snap = load("pods/restarts-climbing.yaml");
    let signals = pods::detect(&snap, &settings(), now());
    assert_eq!(
        owners(&signals),
        vec![row("Deployment/api", "crash_loop", "warning")]
    );
    assert_eq!(signals[0].reason, "Restarting");
    // Once it has run (Ready) for the stable window it is quiet again... but this pod is not
    // Ready, so raising the threshold is what silences it.
    let mut s = settings();
    s.restart_threshold = 6;
    assert!(
        pods::detect(&snap, &s, now())
            .iter()
            .all(|s| s.reason != "Restarting")
    );
}

#[test]
fn finished_pods_with_a_healthy_owner_are_not_incidents() {
    let snap = load("pods/finished-healthy-owner.yaml");
    assert!(pods::detect(&snap, &settings(), now()).is_empty());
}

#[test]
fn an_evicted_pod_of_a_degraded_owner_is_an_incident() {
    let snap = load("pods/evicted-degraded-owner.yaml");
    let signals = pods::detect(&snap, &settings(), now());
    assert_eq!(
        owners(&signals),
        vec![row("Deployment/api", "pod_evicted", "warning")]
    );
    assert!(signals[0].message.contains("low on resource: memory"));
}

#[test]
fn a_missing_replica_set_falls_back_to_the_pod_template_hash() {
    let snap = load("pods/replicaset-missing.yaml");
    assert_eq!(
        owners(&pods::detect(&snap, &settings(), now())),
        vec![row("Deployment/api", "crash_loop", "warning")]
    );
}

#[test]
fn image_pull_not_found_comes_from_the_failed_event_and_respects_the_grace() {
    let snap = load("pods/image-pull.yaml");
    let signals = pods::detect(&snap, &settings(), now());
    assert_eq!(
        owners(&signals),
        vec![row("Deployment/web", "image_pull_not_found", "warning")]
    );
    // The 60-second-old pod is still inside the 90 s grace.
    assert_eq!(signals.len(), 1);
    assert_eq!(signals[0].object.name, "web-7c6b9d8f5-v5l8n");
    assert!(signals[0].message.contains("not found"));
}

#[test]
fn image_pull_401_is_an_auth_problem() {
    let snap = load("pods/image-pull-auth.yaml");
    assert_eq!(
        owners(&pods::detect(&snap, &settings(), now())),
        vec![row("Deployment/private", "image_pull_auth", "warning")]
    );
}

#[test]
fn unschedulable_pods_split_into_resources_and_constraints_after_the_grace() {
    let snap = load("pods/unschedulable.yaml");
    assert_eq!(
        owners(&pods::detect(&snap, &settings(), now())),
        vec![
            row("Deployment/batch", "unschedulable_resources", "warning"),
            row("Pod/gpu-job-runner", "unschedulable_constraints", "warning"),
        ]
    );
}

#[test]
fn create_container_config_error_is_a_config_error() {
    let snap = load("pods/config-error.yaml");
    let signals = pods::detect(&snap, &settings(), now());
    assert_eq!(
        owners(&signals),
        vec![row("Deployment/api", "config_error", "warning")]
    );
    assert!(signals[0].message.contains("DATABASE_HOST"));
}

#[test]
fn log_hints_reclassify_a_crash_loop() {
    let mut snap = load("pods/disk-full.yaml");
    let s = settings();
    assert_eq!(
        owners(&pods::detect(&snap, &s, now())),
        vec![row("Deployment/api", "crash_loop", "warning")],
        "without logs it is a plain crash loop"
    );
    snap.add_log(
        "shop",
        "api-84d5b6c9f7-5hx2m",
        Some("api"),
        true,
        "starting\nERROR write /data/wal/0001: no space left on device\n",
    );
    let signals = pods::detect(&snap, &s, now());
    assert_eq!(
        owners(&signals),
        vec![row("Deployment/api", "disk_full", "critical")]
    );
    assert!(signals[0].message.contains("no space left on device"));
}
