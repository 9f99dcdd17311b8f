//! Log-derived chaos classes, live: the operator reads the crashed instance's log through the
//! real API server's `pods/log` (served for the test node by the test plane's kwok) and
//! classifies the crash loop by what the log says.

mod k8s_ext;
mod support;

use k8s_ext::{Guardian, deployment_with_pods_on, logs_node, pod_logs};
use support::{ContainerShape, TestCluster};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn network_isolation_is_a_dependency_failure_read_from_the_crashed_log() {
    let cluster = TestCluster::connect().await;
    let ns = cluster.fresh_namespace().await;
    let node = logs_node(&ns).await;
    let guardian = Guardian::start(&ns).await;
    let pods = deployment_with_pods_on(
        &ns,
        "orders",
        2,
        ContainerShape::Running { restarts: 0 },
        Some(&node),
    )
    .await;
    for pod in &pods {
        pod_logs(
            &ns,
            pod,
            "INFO starting orders\nDEBUG dsn=postgres://orders:Sup3r-s3cret-pw@db.shop.svc:5432/orders\nERROR dial tcp 10.96.0.20:5432: connect: connection refused\nFATAL cannot reach the database, exiting",
            "INFO starting orders",
        )
        .await;
    }
    // logs first, then the crash: no incident can open before the log is readable
    for pod in &pods {
        ns.set_container_shape(pod, ContainerShape::crash_loop())
            .await;
    }

    let incident = guardian
        .one_incident(
            Some(ns.name()),
            "Deployment",
            "orders",
            "dependency_unavailable",
            "warning",
        )
        .await;
    assert!(
        incident["summary"]
            .as_str()
            .unwrap_or("")
            .contains("connection refused"),
        "the log line is the evidence: {incident}"
    );

    // the analysis read the same log, redacted
    let id = incident["id"].as_str().unwrap().to_string();
    let detail = support::eventually(
        "the incident is analysed with log evidence",
        support::DEFAULT_TIMEOUT,
        || {
            let path = format!("/incidents/{id}");
            let guardian = &guardian;
            async move {
                let detail = guardian.get(&path).await?;
                let evidence = detail["analysis"]["context"]["evidence"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                anyhow::ensure!(
                    evidence.iter().any(|e| e["kind"] == "log"
                        && e["text"]
                            .as_str()
                            .unwrap_or("")
                            .contains("connection refused")),
                    "no log evidence yet"
                );
                Ok(detail)
            }
        },
    )
    .await;
    let text = detail.to_string();
    assert!(
        !text.contains("Sup3r-s3cret-pw"),
        "a secret from the log reached the API"
    );
    assert_eq!(detail["analysis"]["category"], "dependency_unavailable");

    for pod in &pods {
        ns.make_pod_healthy(pod).await;
    }
    guardian.resolved(&id, "pod_scanner").await;
    guardian.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_volume_is_disk_full_read_from_the_crashed_log() {
    let cluster = TestCluster::connect().await;
    let ns = cluster.fresh_namespace().await;
    let node = logs_node(&ns).await;
    let guardian = Guardian::start(&ns).await;
    let pods = deployment_with_pods_on(
        &ns,
        "ingest",
        1,
        ContainerShape::Running { restarts: 0 },
        Some(&node),
    )
    .await;
    pod_logs(
        &ns,
        &pods[0],
        "INFO replaying WAL\nPANIC could not write to file \"pg_wal/xlogtemp.42\": No space left on device",
        "",
    )
    .await;
    ns.set_container_shape(&pods[0], ContainerShape::crash_loop())
        .await;

    let incident = guardian
        .one_incident(
            Some(ns.name()),
            "Deployment",
            "ingest",
            "disk_full",
            "critical",
        )
        .await;
    ns.make_pod_healthy(&pods[0]).await;
    guardian
        .resolved(incident["id"].as_str().unwrap(), "pod_scanner")
        .await;
    guardian.shutdown().await;
}
