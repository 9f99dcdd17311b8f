//! An event storm is one incident: 2,000 Warning events about 50 crash-looping pods of one
//! Deployment open exactly one incident (Deployment + crash_loop), not 50 or 2,000, and the
//! incident's sightings grow by scans, not by events.
//!
//! Own test binary: it writes ~2,100 objects and would slow the parallel tests of
//! `k8s_detect.rs` down.

mod k8s_ext;
mod support;

use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;

use k8s_ext::{Guardian, deployment_with_pods};
use support::objects::InvolvedObject;
use support::{ContainerShape, TestCluster};

const PODS: usize = 50;
const EVENTS: usize = 2_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_thousand_warnings_for_fifty_pods_are_one_incident() {
    let cluster = TestCluster::connect().await;
    let ns = cluster.fresh_namespace().await;
    let guardian = Guardian::start(&ns).await;
    let pods = deployment_with_pods(&ns, "storm", PODS, ContainerShape::crash_loop()).await;

    let pod_api = ns.api::<Pod>();
    let mut involved = Vec::new();
    for name in &pods {
        let pod = pod_api.get(name).await.expect("read pod");
        involved.push(InvolvedObject::of(&pod).with_field_path("spec.containers{app}"));
    }
    // 40 BackOff events per pod, written 16 at a time (what a kubelet storm looks like).
    futures::stream::iter(0..EVENTS)
        .map(|i| {
            let ns = ns.clone();
            let obj = involved[i % PODS].clone();
            async move {
                ns.warning_event(
                    &obj,
                    "BackOff",
                    "Back-off restarting failed container app in pod",
                )
                .await
            }
        })
        .buffer_unordered(16)
        .collect::<Vec<_>>()
        .await;

    support::eventually(
        "the storm reached the operator's cache",
        k8s_ext::TIMEOUT,
        || async {
            let cached = guardian.cached("Event");
            anyhow::ensure!(cached >= EVENTS, "{cached} events cached");
            Ok(())
        },
    )
    .await;
    let incident = guardian
        .one_incident(
            Some(ns.name()),
            "Deployment",
            "storm",
            "crash_loop",
            "warning",
        )
        .await;
    // One sighting per scan: far fewer occurrences than events.
    let occurrences = incident["occurrences"].as_u64().unwrap_or(u64::MAX);
    assert!(
        occurrences < 100,
        "sightings should count scans, not events: {occurrences}"
    );
    guardian.shutdown().await;
}
