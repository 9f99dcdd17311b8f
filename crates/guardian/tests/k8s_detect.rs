//! End to end, one test per failure class: the live operator (`guardian run`, in process,
//! scoped to the test's namespace) watches the real API server of the test plane; the test
//! writes a failure shape with the `support` helpers, asserts through the HTTP API that
//! exactly one incident opens on the right top owner with the right category and severity,
//! repairs the objects and asserts that the incident auto-resolves, resolved by the detector.
//!
//! Without a running plane these tests fail (never skip): `scripts/testenv up && eval
//! "$(scripts/testenv env)"`, or `scripts/test`.

mod k8s_ext;
mod support;

use k8s_openapi::api::batch::v1::Job;
use kube::api::{Api, DeleteParams};

use k8s_ext::{Guardian, deployment_with_pods};
use support::{ContainerShape, CustomKind, TestCluster};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oom_kill_of_deployment_pods_is_one_critical_incident_on_the_deployment() {
    let cluster = TestCluster::connect().await;
    let ns = cluster.fresh_namespace().await;
    let guardian = Guardian::start(&ns).await;
    let pods = deployment_with_pods(&ns, "api", 2, ContainerShape::oom_crash_loop()).await;

    let incident = guardian
        .one_incident(
            Some(ns.name()),
            "Deployment",
            "api",
            "oom_killed",
            "critical",
        )
        .await;

    for pod in &pods {
        ns.make_pod_healthy(pod).await;
    }
    guardian
        .resolved(incident["id"].as_str().unwrap(), "pod_scanner")
        .await;
    guardian.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_loop_of_three_replicas_collapses_to_the_deployment() {
    let cluster = TestCluster::connect().await;
    let ns = cluster.fresh_namespace().await;
    let guardian = Guardian::start(&ns).await;
    let pods = deployment_with_pods(&ns, "web", 3, ContainerShape::crash_loop()).await;

    let incident = guardian
        .one_incident(
            Some(ns.name()),
            "Deployment",
            "web",
            "crash_loop",
            "warning",
        )
        .await;

    for pod in &pods {
        ns.make_pod_healthy(pod).await;
    }
    guardian
        .resolved(incident["id"].as_str().unwrap(), "pod_scanner")
        .await;
    guardian.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_image_tag_is_an_image_pull_incident() {
    let cluster = TestCluster::connect().await;
    let ns = cluster.fresh_namespace().await;
    let guardian = Guardian::start(&ns).await;
    ns.image_pull_backoff_pod("img").await;

    let incident = guardian
        .one_incident(
            Some(ns.name()),
            "Pod",
            "img",
            "image_pull_not_found",
            "warning",
        )
        .await;

    ns.make_pod_healthy("img").await;
    guardian
        .resolved(incident["id"].as_str().unwrap(), "pod_scanner")
        .await;
    guardian.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_configmap_key_is_a_config_error() {
    let cluster = TestCluster::connect().await;
    let ns = cluster.fresh_namespace().await;
    let guardian = Guardian::start(&ns).await;
    // What the kubelet writes when `configMapKeyRef` names a key the ConfigMap lacks.
    ns.waiting_pod(
        "cfg",
        "CreateContainerConfigError",
        "couldn't find key DATABASE_URL in ConfigMap shop/cfg-settings",
    )
    .await;

    let incident = guardian
        .one_incident(Some(ns.name()), "Pod", "cfg", "config_error", "warning")
        .await;

    ns.make_pod_healthy("cfg").await;
    guardian
        .resolved(incident["id"].as_str().unwrap(), "pod_scanner")
        .await;
    guardian.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pending_pvc_is_a_volume_binding_incident() {
    let cluster = TestCluster::connect().await;
    let ns = cluster.fresh_namespace().await;
    let guardian = Guardian::start(&ns).await;
    ns.pending_pvc("data").await;

    let incident = guardian
        .one_incident(
            Some(ns.name()),
            "PersistentVolumeClaim",
            "data",
            "volume_binding",
            "warning",
        )
        .await;

    ns.make_pvc_bound("data").await;
    guardian
        .resolved(incident["id"].as_str().unwrap(), "pvc_scanner")
        .await;
    guardian.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_pvc_is_a_critical_volume_lost_incident() {
    let cluster = TestCluster::connect().await;
    let ns = cluster.fresh_namespace().await;
    // Created before the operator starts: the initial list path, not the watch path.
    ns.lost_pvc("lost").await;
    let guardian = Guardian::start(&ns).await;

    let incident = guardian
        .one_incident(
            Some(ns.name()),
            "PersistentVolumeClaim",
            "lost",
            "volume_lost",
            "critical",
        )
        .await;

    ns.make_pvc_bound("lost").await;
    guardian
        .resolved(incident["id"].as_str().unwrap(), "pvc_scanner")
        .await;
    guardian.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_without_ready_endpoints_is_an_incident() {
    let cluster = TestCluster::connect().await;
    let ns = cluster.fresh_namespace().await;
    let guardian = Guardian::start(&ns).await;
    ns.service_without_ready_endpoints("checkout").await;

    let incident = guardian
        .one_incident(
            Some(ns.name()),
            "Service",
            "checkout",
            "service_no_endpoints",
            "warning",
        )
        .await;

    ns.make_endpoints_ready("checkout").await;
    guardian
        .resolved(incident["id"].as_str().unwrap(), "service_scanner")
        .await;
    guardian.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn not_ready_node_is_a_critical_cluster_scoped_incident() {
    let cluster = TestCluster::connect().await;
    let ns = cluster.fresh_namespace().await;
    let guardian = Guardian::start(&ns).await;
    ns.not_ready_node("n1").await;
    let node = ns.node_name("n1");

    // Nodes are shared by every test: the assertion is scoped to this test's node.
    let incident = guardian
        .one_incident(None, "Node", &node, "node_not_ready", "critical")
        .await;
    assert!(incident["namespace"].is_null(), "{incident}");

    ns.make_node_ready("n1").await;
    guardian
        .resolved(incident["id"].as_str().unwrap(), "node_scanner")
        .await;
    guardian.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn job_backoff_limit_exceeded_is_a_job_failed_incident() {
    let cluster = TestCluster::connect().await;
    let ns = cluster.fresh_namespace().await;
    let guardian = Guardian::start(&ns).await;
    ns.failed_job("nightly").await;

    let incident = guardian
        .one_incident(Some(ns.name()), "Job", "nightly", "job_failed", "warning")
        .await;

    // A failed Job never heals; deleting it (or a later successful run) is the repair.
    // Background propagation: no orphan finalizer, which no garbage collector would remove.
    Api::<Job>::namespaced(ns.client.clone(), ns.name())
        .delete("nightly", &DeleteParams::background())
        .await
        .expect("delete the job");
    guardian
        .resolved(incident["id"].as_str().unwrap(), "job_scanner")
        .await;
    guardian.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deployment_progress_deadline_exceeded_is_a_rollout_stuck_incident() {
    let cluster = TestCluster::connect().await;
    let ns = cluster.fresh_namespace().await;
    let guardian = Guardian::start(&ns).await;
    ns.stuck_deployment("rollout").await;

    let incident = guardian
        .one_incident(
            Some(ns.name()),
            "Deployment",
            "rollout",
            "rollout_stuck",
            "warning",
        )
        .await;

    ns.make_deployment_healthy("rollout").await;
    guardian
        .resolved(incident["id"].as_str().unwrap(), "deployment_scanner")
        .await;
    guardian.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_flux_kustomization_is_a_critical_incident() {
    let cluster = TestCluster::connect().await;
    let ns = cluster.fresh_namespace().await;
    let guardian = Guardian::start(&ns).await;
    let (reason, message) = CustomKind::Kustomization.typical_failure("apps");
    ns.stalled_flux(CustomKind::Kustomization, "apps", reason, &message)
        .await;

    let incident = guardian
        .one_incident(
            Some(ns.name()),
            "Kustomization",
            "apps",
            "flux_build_error",
            "critical",
        )
        .await;

    ns.make_custom_ready(CustomKind::Kustomization, "apps")
        .await;
    guardian
        .resolved(incident["id"].as_str().unwrap(), "flux_scanner")
        .await;
    guardian.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificate_expiring_in_three_days_is_critical() {
    let cluster = TestCluster::connect().await;
    let ns = cluster.fresh_namespace().await;
    let guardian = Guardian::start(&ns).await;
    ns.expiring_certificate("shop-tls", 3 * 24 * 3600).await;

    let incident = guardian
        .one_incident(
            Some(ns.name()),
            "Certificate",
            "shop-tls",
            "certificate_expiring",
            "critical",
        )
        .await;

    ns.make_custom_ready(CustomKind::Certificate, "shop-tls")
        .await;
    guardian
        .resolved(incident["id"].as_str().unwrap(), "certificate_scanner")
        .await;
    guardian.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unschedulable_pod_is_an_incident_after_its_grace() {
    let cluster = TestCluster::connect().await;
    let ns = cluster.fresh_namespace().await;
    let guardian = Guardian::start(&ns).await;
    ns.unschedulable_pod("big").await;

    let incident = guardian
        .one_incident(
            Some(ns.name()),
            "Pod",
            "big",
            "unschedulable_resources",
            "warning",
        )
        .await;

    ns.make_pod_healthy("big").await;
    guardian
        .resolved(incident["id"].as_str().unwrap(), "pod_scanner")
        .await;
    guardian.shutdown().await;
}

/// A labelled Deployment is not looked at: no incident for its crashing pods.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn excluded_label_on_the_deployment_silences_its_pods() {
    let cluster = TestCluster::connect().await;
    let ns = cluster.fresh_namespace().await;
    deployment_with_pods(&ns, "quiet", 2, ContainerShape::crash_loop()).await;
    deployment_with_pods(&ns, "loud", 1, ContainerShape::crash_loop()).await;
    let deployments: Api<k8s_openapi::api::apps::v1::Deployment> = ns.api();
    deployments
        .patch(
            "quiet",
            &kube::api::PatchParams::default(),
            &kube::api::Patch::Merge(serde_json::json!({
                "metadata": {"labels": {"guardian.io/ignore": "true"}}
            })),
        )
        .await
        .expect("label the deployment");
    // Started after the label is set, so no scan can see `quiet` unlabelled.
    let guardian = Guardian::start(&ns).await;

    // `loud` proves the operator is looking; `quiet` must stay silent.
    guardian
        .one_incident(
            Some(ns.name()),
            "Deployment",
            "loud",
            "crash_loop",
            "warning",
        )
        .await;
    guardian.shutdown().await;
}
