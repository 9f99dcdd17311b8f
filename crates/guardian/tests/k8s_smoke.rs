//! Smoke tests for the real local control plane (`scripts/testenv up`) and for the failure-shape
//! helpers in `support`: every helper must produce an object the API server accepts and that
//! reads back as intended. Without a running plane these tests fail (never skip).

mod support;

use anyhow::{Context, ensure};
use futures::TryStreamExt;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Event, Node, PersistentVolumeClaim, Pod};
use kube::api::{Api, ListParams};
use kube::runtime::{WatchStreamExt, watcher};

use support::objects::InvolvedObject;
use support::{CustomKind, DEFAULT_TIMEOUT, NAMESPACE_LABEL, TestCluster, eventually};

fn waiting_reason(pod: &Pod) -> Option<String> {
    pod.status
        .as_ref()?
        .container_statuses
        .as_ref()?
        .first()?
        .state
        .as_ref()?
        .waiting
        .as_ref()?
        .reason
        .clone()
}

fn condition_of(status: &serde_json::Value, type_: &str) -> Option<(String, String)> {
    status["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == type_)
        .map(|c| {
            (
                c["status"].as_str().unwrap_or("").to_string(),
                c["reason"].as_str().unwrap_or("").to_string(),
            )
        })
}

#[tokio::test]
async fn pod_crashloop_status_round_trips() {
    let cluster = TestCluster::connect().await;
    let ns = cluster.fresh_namespace().await;

    let written = ns.crashloop_pod("web").await;
    assert_eq!(
        waiting_reason(&written).as_deref(),
        Some("CrashLoopBackOff")
    );

    let pods: Api<Pod> = ns.api();
    let read = pods.get("web").await.expect("get pod");
    let status = read.status.expect("status");
    assert_eq!(status.phase.as_deref(), Some("Running"));
    let c = &status.container_statuses.expect("container statuses")[0];
    assert_eq!(c.restart_count, 7);
    assert!(!c.ready);
    let term = c
        .last_state
        .as_ref()
        .and_then(|s| s.terminated.as_ref())
        .expect("lastState.terminated");
    assert_eq!(term.reason.as_deref(), Some("Error"));
    assert_eq!(term.exit_code, 1);
    assert_eq!(
        read.spec.and_then(|s| s.node_name).as_deref(),
        Some(support::UNMANAGED_NODE)
    );

    // Repair keeps the restart count and makes the pod Ready.
    let healed = ns.make_pod_healthy("web").await;
    let c = &healed.status.unwrap().container_statuses.unwrap()[0];
    assert!(c.ready);
    assert_eq!(c.restart_count, 7);
    assert!(c.state.as_ref().unwrap().running.is_some());
}

#[tokio::test]
async fn warning_event_arrives_through_field_selected_watcher() {
    let cluster = TestCluster::connect().await;
    let ns = cluster.fresh_namespace().await;
    let events: Api<Event> = ns.api();

    let stream = watcher(events, watcher::Config::default().fields("type=Warning"))
        .default_backoff()
        .applied_objects();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let task = tokio::spawn(async move {
        let mut stream = std::pin::pin!(stream);
        loop {
            match stream.try_next().await {
                Ok(Some(ev)) => {
                    if tx.send(ev).is_err() {
                        break;
                    }
                }
                Ok(None) => break,
                // Transient; default_backoff() retries.
                Err(e) => eprintln!("watcher error (retrying): {e}"),
            }
        }
    });

    let pod = ns.crashloop_pod("api").await;
    let involved = InvolvedObject::of(&pod).with_field_path("spec.containers{app}");
    // A Normal event must be filtered out by the server-side field selector.
    ns.event(
        &involved,
        "Normal",
        "Pulled",
        "Container image already present",
        1,
    )
    .await;
    let warning = ns
        .warning_event(
            &involved,
            "BackOff",
            "Back-off restarting failed container app in pod api",
        )
        .await;
    let want = warning.metadata.name.clone().unwrap();

    let got = tokio::time::timeout(DEFAULT_TIMEOUT, async {
        loop {
            let ev = rx.recv().await.expect("watcher ended");
            assert_eq!(
                ev.type_.as_deref(),
                Some("Warning"),
                "field selector leaked {ev:?}"
            );
            if ev.metadata.name.as_deref() == Some(&want) {
                return ev;
            }
        }
    })
    .await
    .expect("Warning event seen by the watcher within the timeout");
    task.abort();

    assert_eq!(got.reason.as_deref(), Some("BackOff"));
    assert_eq!(got.involved_object.name.as_deref(), Some("api"));
    assert_eq!(got.involved_object.kind.as_deref(), Some("Pod"));
    assert_eq!(got.count, Some(1));
    assert!(got.event_time.is_none());
}

#[tokio::test]
async fn every_custom_kind_status_round_trips() {
    let cluster = TestCluster::connect().await;
    let ns = cluster.fresh_namespace().await;

    for kind in CustomKind::ALL {
        let name = format!("{kind:?}").to_lowercase();
        ns.failed_custom(kind, &name).await;
        let obj = ns.custom_api(kind).get(&name).await.expect("get custom");
        let status = &obj.data["status"];
        let (ready, reason) = condition_of(status, "Ready").expect("Ready condition");
        assert_eq!(ready, "False", "{kind:?}");
        assert_eq!(reason, kind.typical_failure(&name).0, "{kind:?}");
        if kind == CustomKind::Certificate {
            assert!(status["notAfter"].is_string());
            assert_eq!(status["failedIssuanceAttempts"], 3);
        } else {
            assert_eq!(
                condition_of(status, "Stalled").map(|c| c.0).as_deref(),
                Some("True"),
                "{kind:?}"
            );
        }
        // Spec survived (preserve-unknown-fields) and status did not clobber it.
        assert!(obj.data["spec"].is_object(), "{kind:?}");

        let healed = ns.make_custom_ready(kind, &name).await;
        let status = &healed.data["status"];
        assert_eq!(
            condition_of(status, "Ready").map(|c| c.0).as_deref(),
            Some("True")
        );
        assert!(condition_of(status, "Stalled").is_none(), "{kind:?}");
    }

    // A retrying (not stalled) Flux failure.
    let obj = ns
        .failing_flux(
            CustomKind::HelmRelease,
            "retrying",
            "InstallFailed",
            "install retries exhausted",
        )
        .await;
    assert_eq!(
        condition_of(&obj.data["status"], "Reconciling")
            .map(|c| c.0)
            .as_deref(),
        Some("True")
    );
}

/// Every failure shape the detection tests will use is accepted by the API server's validation
/// and can be repaired.
#[tokio::test]
async fn failure_shapes_are_accepted_and_repairable() {
    let cluster = TestCluster::connect().await;
    let ns = cluster.fresh_namespace().await;

    // Pods.
    let p = ns.oom_crashloop_pod("oom-loop").await;
    let c = &p
        .status
        .as_ref()
        .unwrap()
        .container_statuses
        .as_ref()
        .unwrap()[0];
    assert_eq!(
        c.last_state
            .as_ref()
            .unwrap()
            .terminated
            .as_ref()
            .unwrap()
            .exit_code,
        137
    );
    let p = ns.oom_killed_pod("oom-running", 2).await;
    assert!(p.status.unwrap().container_statuses.unwrap()[0].ready);
    for (pod, reason) in [
        (
            ns.image_pull_backoff_pod("pull-backoff").await,
            "ImagePullBackOff",
        ),
        (ns.err_image_pull_pod("pull-err").await, "ErrImagePull"),
        (
            ns.create_container_config_error_pod("config-err").await,
            "CreateContainerConfigError",
        ),
    ] {
        assert_eq!(waiting_reason(&pod).as_deref(), Some(reason));
        assert_eq!(pod.status.unwrap().phase.as_deref(), Some("Pending"));
    }
    let p = ns.unschedulable_pod("unschedulable").await;
    assert!(p.spec.as_ref().unwrap().node_name.is_none());
    let cond = p
        .status
        .unwrap()
        .conditions
        .unwrap()
        .into_iter()
        .find(|c| c.type_ == "PodScheduled")
        .unwrap();
    assert_eq!(
        (cond.status.as_str(), cond.reason.as_deref()),
        ("False", Some("Unschedulable"))
    );
    for name in ["pull-backoff", "unschedulable"] {
        let p = ns.make_pod_healthy(name).await;
        assert_eq!(p.status.unwrap().phase.as_deref(), Some("Running"));
        assert!(p.spec.unwrap().node_name.is_some(), "{name} bound");
    }

    // PVCs.
    let pvc = ns.pending_pvc("data").await;
    assert_eq!(pvc.status.unwrap().phase.as_deref(), Some("Pending"));
    let pvc = ns.lost_pvc("lost").await;
    assert_eq!(pvc.status.unwrap().phase.as_deref(), Some("Lost"));
    let pvc: PersistentVolumeClaim = ns.make_pvc_bound("lost").await;
    assert_eq!(pvc.status.unwrap().phase.as_deref(), Some("Bound"));

    // Services and EndpointSlices.
    let (_, slice) = ns.service_without_ready_endpoints("backend").await;
    assert_eq!(
        slice.endpoints[0].conditions.as_ref().unwrap().ready,
        Some(false)
    );
    let (_, slice) = ns.service_with_empty_endpoints("empty").await;
    assert!(slice.endpoints.is_empty());
    let slice = ns.make_endpoints_ready("backend").await;
    assert_eq!(
        slice.endpoints[0].conditions.as_ref().unwrap().ready,
        Some(true)
    );

    // Nodes.
    let node = ns.not_ready_node("down").await;
    let ready = node_condition(&node, "Ready");
    assert_eq!(ready.0, "Unknown");
    let node = ns.cordoned_node("cordoned").await;
    assert_eq!(node.spec.unwrap().unschedulable, Some(true));
    let node = ns.memory_pressure_node("pressure").await;
    assert_eq!(node_condition(&node, "MemoryPressure").0, "True");
    let node = ns.make_node_ready("down").await;
    assert_eq!(node_condition(&node, "Ready").0, "True");
    assert!(node.spec.unwrap().taints.unwrap_or_default().is_empty());
    let mine = Api::<Node>::all(cluster.client())
        .list(&ListParams::default().labels(&format!("{NAMESPACE_LABEL}={}", ns.name())))
        .await
        .unwrap();
    assert_eq!(mine.items.len(), 3);

    // Jobs and Deployments.
    let job: Job = ns.failed_job("migrate").await;
    let conds = job.status.unwrap().conditions.unwrap();
    assert!(
        conds
            .iter()
            .any(|c| c.type_ == "Failed" && c.reason.as_deref() == Some("BackoffLimitExceeded"))
    );
    ns.complete_job("done").await;
    let d: Deployment = ns.stuck_deployment("web").await;
    let conds = d.status.unwrap().conditions.unwrap();
    assert!(conds.iter().any(|c| c.type_ == "Progressing"
        && c.status == "False"
        && c.reason.as_deref() == Some("ProgressDeadlineExceeded")));
    let d = ns.make_deployment_healthy("web").await;
    assert_eq!(d.status.unwrap().available_replicas, Some(3));

    // Reads through a fresh list agree (eventually: list may be served from the watch cache).
    eventually("the failed Job is listed", DEFAULT_TIMEOUT, || {
        let jobs: Api<Job> = ns.api();
        async move {
            let list = jobs.list(&ListParams::default()).await?;
            let job = list
                .items
                .iter()
                .find(|j| j.metadata.name.as_deref() == Some("migrate"))
                .context("job migrate not listed")?;
            ensure!(job.status.as_ref().and_then(|s| s.failed) == Some(4));
            Ok(())
        }
    })
    .await;
}

fn node_condition(node: &Node, type_: &str) -> (String, String) {
    node.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|cs| cs.iter().find(|c| c.type_ == type_))
        .map(|c| (c.status.clone(), c.reason.clone().unwrap_or_default()))
        .unwrap_or_else(|| panic!("node has no {type_} condition"))
}

/// Namespaces are unique per test, so parallel tests never see each other's objects.
#[tokio::test]
async fn fresh_namespaces_are_isolated() {
    let cluster = TestCluster::connect().await;
    let a = cluster.fresh_namespace().await;
    let b = cluster.fresh_namespace().await;
    assert_ne!(a.name(), b.name());
    a.healthy_pod("same-name").await;
    b.crashloop_pod("same-name").await;
    let pa = a.api::<Pod>().get("same-name").await.unwrap();
    assert!(waiting_reason(&pa).is_none());
    let listed = b
        .api::<Pod>()
        .list(&ListParams::default())
        .await
        .unwrap()
        .items;
    assert_eq!(listed.len(), 1);
}
