//! The node-drain chaos class, live: a node cordoned and NotReady, and a pod of a Deployment
//! evicted from it. The node gets its two incidents (cordoned, not ready), the workload its
//! eviction; repairing the node and removing the evicted pod resolves all three.

mod k8s_ext;
mod support;

use std::collections::BTreeSet;

use k8s_ext::{Guardian, deployment_with_pods_on};
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use serde_json::json;
use support::{ContainerShape, DEFAULT_TIMEOUT, TestCluster, eventually, ts};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drained_node_is_cordoned_not_ready_and_its_evicted_pods_are_one_incident_per_workload() {
    let cluster = TestCluster::connect().await;
    let ns = cluster.fresh_namespace().await;
    let guardian = Guardian::start(&ns).await;
    ns.not_ready_node("drained").await;
    let node = ns.node_name("drained");
    // cordon it too, as `kubectl drain` does, keeping the unreachable taints
    Api::<Node>::all(ns.client.clone())
        .patch(
            &node,
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"unschedulable": true, "taints": [
                {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule", "timeAdded": ts(-120)},
                {"key": "node.kubernetes.io/unreachable", "effect": "NoSchedule", "timeAdded": ts(-120)},
                {"key": "node.kubernetes.io/unreachable", "effect": "NoExecute", "timeAdded": ts(-120)},
            ]}})),
        )
        .await
        .expect("cordon");
    let pods = deployment_with_pods_on(
        &ns,
        "checkout",
        2,
        // healthy first, so no other incident can open before the eviction
        ContainerShape::Running { restarts: 0 },
        Some(&node),
    )
    .await;
    for pod in &pods {
        ns.patch_pod_status(
            pod,
            json!({"phase": "Failed", "reason": "Evicted",
                   "message": "The node was low on resource: memory. Threshold quantity: 100Mi, available: 42Mi.",
                   "conditions": [], "containerStatuses": [{"name": "app", "ready": false, "restartCount": 0,
                       "image": "registry.example.invalid/guardian-tests/checkout:1.0", "imageID": "",
                       "state": {"terminated": {"reason": "ContainerStatusUnknown", "exitCode": 137,
                           "startedAt": ts(-600), "finishedAt": ts(-60)}}}]}),
        )
        .await;
    }

    let node_incidents = eventually("the node's incidents", DEFAULT_TIMEOUT, || async {
        let found = guardian.incidents_of("Node", &node).await?;
        let classes: BTreeSet<(String, String)> = found
            .iter()
            .map(|i| {
                (
                    i["category"].as_str().unwrap_or("").to_string(),
                    i["severity"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect();
        anyhow::ensure!(classes.len() == 2, "so far {classes:?}");
        Ok((found, classes))
    })
    .await;
    assert_eq!(
        node_incidents.1,
        BTreeSet::from([
            ("node_cordoned".to_string(), "warning".to_string()),
            ("node_not_ready".to_string(), "critical".to_string()),
        ])
    );
    let evicted = guardian
        .one_incident(
            Some(ns.name()),
            "Deployment",
            "checkout",
            "pod_evicted",
            "warning",
        )
        .await;

    ns.make_node_ready("drained").await;
    for pod in &pods {
        Api::<Pod>::namespaced(ns.client.clone(), ns.name())
            .delete(
                pod,
                &DeleteParams {
                    grace_period_seconds: Some(0),
                    ..DeleteParams::default()
                },
            )
            .await
            .expect("delete the evicted pod");
    }
    for incident in &node_incidents.0 {
        guardian
            .resolved(incident["id"].as_str().unwrap(), "node_scanner")
            .await;
    }
    guardian
        .resolved(evicted["id"].as_str().unwrap(), "pod_scanner")
        .await;
    guardian.shutdown().await;
}
