//! Offline and live agree: a `kubectl cluster-info dump` of the test plane, fed to
//! `guardian scan --snapshot DIR`, yields the same incidents (top owner, category, severity)
//! as the live operator watching the same namespace.
//!
//! Both run with the default detection settings; the failure shapes chosen are those whose
//! kinds the dump contains (Pods, Deployments, ReplicaSets, Events — `cluster-info dump` does
//! not include PVCs, Jobs or custom resources) and whose graces the shapes already satisfy.

mod k8s_ext;
mod support;

use std::collections::BTreeSet;

use k8s_ext::{Guardian, deployment_with_pods};
use support::{ContainerShape, TestCluster, eventually, testenv};

type Key = (String, String, String, String);

fn key(i: &serde_json::Value) -> Key {
    let s = |v: &serde_json::Value| v.as_str().unwrap_or("").to_string();
    (
        s(&i["object"]["kind"]),
        s(&i["object"]["name"]),
        s(&i["category"]),
        s(&i["severity"]),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_info_dump_scans_to_the_same_incidents_as_the_live_operator() {
    let cluster = TestCluster::connect().await;
    let ns = cluster.fresh_namespace().await;
    deployment_with_pods(&ns, "web", 2, ContainerShape::crash_loop()).await;
    ns.oom_crashloop_pod("worker").await;
    ns.image_pull_backoff_pod("img").await;
    ns.create_container_config_error_pod("cfg").await;
    ns.stuck_deployment("rollout").await;
    let expected: BTreeSet<Key> = [
        ("Deployment", "web", "crash_loop", "warning"),
        ("Pod", "worker", "oom_killed", "critical"),
        ("Pod", "img", "image_pull_not_found", "warning"),
        ("Pod", "cfg", "config_error", "warning"),
        ("Deployment", "rollout", "rollout_stuck", "warning"),
    ]
    .iter()
    .map(|(a, b, c, d)| (a.to_string(), b.to_string(), c.to_string(), d.to_string()))
    .collect();

    let guardian = Guardian::start_with(
        ns.client.clone(),
        |mut c| {
            c.kubernetes.detection = Default::default();
            c
        },
        &[ns.name()],
    )
    .await;
    let live: BTreeSet<Key> = eventually(
        "the live operator sees every failure",
        k8s_ext::TIMEOUT,
        || async {
            let live: BTreeSet<Key> = guardian
                .incidents()
                .await?
                .iter()
                .filter(|i| i["namespace"] == ns.name())
                .map(key)
                .collect();
            anyhow::ensure!(live.len() >= expected.len(), "{live:?}");
            Ok(live)
        },
    )
    .await;
    assert_eq!(live, expected, "live incidents");
    guardian.shutdown().await;

    let dir = tempfile::tempdir().expect("temp dir");
    let dump = dir.path().join("dump");
    let state = cluster.state_dir();
    let dump_arg = dump.display().to_string();
    let ns_name = ns.name().to_string();
    tokio::task::spawn_blocking(move || {
        testenv(
            &state,
            &[
                "kubectl",
                "cluster-info",
                "dump",
                "--namespaces",
                &ns_name,
                "--output-directory",
                &dump_arg,
            ],
        )
    })
    .await
    .expect("kubectl cluster-info dump");

    let config = dir.path().join("config.yaml");
    std::fs::write(&config, "cluster_name: e2e\n").expect("write config");
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_guardian"))
        .args([
            "scan",
            "--snapshot",
            &dump.display().to_string(),
            "--format",
            "json",
        ])
        .env("GUARDIAN_CONFIG", &config)
        .output()
        .await
        .expect("run guardian scan");
    assert!(
        out.status.success(),
        "guardian scan failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let body: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("guardian scan prints JSON");
    let offline: BTreeSet<Key> = body["incidents"]
        .as_array()
        .expect("incidents array")
        .iter()
        .filter(|i| i["namespace"] == ns.name())
        .map(key)
        .collect();
    assert_eq!(
        offline, live,
        "offline scan of the dump vs the live operator"
    );
}
