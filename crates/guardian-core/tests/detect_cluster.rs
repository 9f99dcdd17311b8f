//! The non-pod scanners against fixtures: nodes, PVCs, Certificates, HPAs, Flux, Jobs,
//! Deployments, Services.

#[path = "detect_common/mod.rs"]
mod common;

use common::{load, now, now_plus, owners, row, settings};
use guardian_core::detect::{certs, deployments, endpoints, flux, hpa, jobs, nodes, pvcs};

#[test]
fn nodes_not_ready_pressure_and_cordon_after_their_graces() {
    let snap = load("nodes/nodes.yaml");
    let signals = nodes::detect(&snap, &settings(), now());
    assert_eq!(
        owners(&signals),
        vec![
            row("Node/cordoned-long", "node_cordoned", "warning"),
            row("Node/down-1", "node_not_ready", "critical"),
            row("Node/pressure-1", "node_pressure", "warning"),
        ]
    );
    assert!(signals.iter().all(|s| s.namespace.is_none()));
    // Two minutes later the 60 s NotReady is past its 120 s grace, but the young node (300 s
    // grace) is not; the short cordon is still inside 900 s.
    let later = owners(&nodes::detect(&snap, &settings(), now_plus(120)));
    assert!(later.contains(&row("Node/down-fresh", "node_not_ready", "critical")));
    assert!(!later.iter().any(|r| r.0 == "Node/young"));
    assert!(!later.iter().any(|r| r.0 == "Node/cordoned-short"));
    let much_later = owners(&nodes::detect(&snap, &settings(), now_plus(160)));
    assert!(much_later.contains(&row("Node/young", "node_not_ready", "critical")));
}

#[test]
fn pvcs_pending_past_grace_and_lost() {
    let snap = load("pvcs/pvcs.yaml");
    let signals = pvcs::detect(&snap, &settings(), now());
    assert_eq!(
        owners(&signals),
        vec![
            row("PersistentVolumeClaim/lost", "volume_lost", "critical"),
            row("PersistentVolumeClaim/stuck", "volume_binding", "warning"),
        ]
    );
    let stuck = signals.iter().find(|s| s.object.name == "stuck").unwrap();
    assert!(
        stuck.message.contains("ProvisioningFailed"),
        "{}",
        stuck.message
    );
}

#[test]
fn certificates_expiring_overdue_and_not_ready() {
    let snap = load("certs/certs.yaml");
    assert_eq!(
        owners(&certs::detect(&snap, &settings(), now())),
        vec![
            row("Certificate/broken", "certificate_not_ready", "critical"),
            row("Certificate/overdue", "certificate_expiring", "warning"),
            row("Certificate/soon", "certificate_expiring", "warning"),
            row("Certificate/very-soon", "certificate_expiring", "critical"),
        ]
    );
}

#[test]
fn hpa_pinned_at_max_for_fifteen_minutes() {
    let snap = load("hpa/hpa.yaml");
    assert_eq!(
        owners(&hpa::detect(&snap, &settings(), now())),
        vec![row(
            "HorizontalPodAutoscaler/pinned",
            "hpa_at_max",
            "warning"
        )]
    );
}

#[test]
fn flux_stalled_and_ready_false_past_grace() {
    let snap = load("flux/flux.yaml");
    assert_eq!(
        owners(&flux::detect(&snap, &settings(), now())),
        vec![
            row("GitRepository/flux-system", "flux_source_error", "warning"),
            row("HelmRelease/redis", "helm_release_failed", "critical"),
            row("Kustomization/apps", "flux_build_error", "warning"),
        ]
    );
    // Ten minutes later the dependency has been not ready for 12 minutes.
    assert!(
        owners(&flux::detect(&snap, &settings(), now_plus(600))).contains(&row(
            "Kustomization/infra",
            "flux_dependency_not_ready",
            "warning"
        ))
    );
}

#[test]
fn jobs_failed_unless_a_newer_run_completed_or_too_old() {
    let snap = load("jobs/jobs.yaml");
    let signals = jobs::detect(&snap, &settings(), now());
    assert_eq!(
        owners(&signals),
        vec![row("CronJob/cleanup", "job_failed", "warning")]
    );
    assert_eq!(signals[0].reason, "DeadlineExceeded");
}

#[test]
fn deployments_past_their_progress_deadline() {
    let snap = load("deployments/deployments.yaml");
    assert_eq!(
        owners(&deployments::detect(&snap, &settings(), now())),
        vec![
            row("Deployment/down", "rollout_stuck", "critical"),
            row("Deployment/stuck", "rollout_stuck", "warning"),
        ]
    );
}

#[test]
fn services_without_endpoints_only_when_nothing_explains_it() {
    let snap = load("endpoints/services.yaml");
    let signals = endpoints::detect(&snap, &settings(), now());
    assert_eq!(
        owners(&signals),
        vec![row("Service/typo", "service_no_endpoints", "warning")]
    );
    assert!(signals[0].message.contains("matches no pod"));
    let explained = load("endpoints/explained.yaml");
    assert!(endpoints::detect(&explained, &settings(), now()).is_empty());
}
