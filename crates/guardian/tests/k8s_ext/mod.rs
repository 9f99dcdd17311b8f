//! Helpers for the operator's end-to-end tests (`k8s_detect.rs`, `k8s_rbac.rs`, …), on top of
//! the shared `support` module (which belongs to the test-plane owners; extensions live here):
//!
//! - [`Guardian`]: the live operator (`guardian::run::start`) running **in process** against
//!   the test plane, scoped to one namespace, with a 1 s scan interval, short graces, a temp
//!   SQLite store and the API on `127.0.0.1:0` with a token; assertions go through its HTTP
//!   API (reqwest), as a user's script would.
//! - [`deployment_with_pods`]: a Deployment → ReplicaSet → Pods chain with real
//!   ownerReferences (no controller runs in the plane, so tests build it by hand).

#![allow(dead_code)] // each test binary uses a different subset

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context as _, ensure};
use guardian::config::{Config, Secrets, Settings};
use guardian::engine::Clock;
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use kube::api::{Api, PostParams};
use secrecy::SecretString;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::support::{ContainerShape, TestNamespace, eventually};

/// API token of every in-process operator.
pub const TOKEN: &str = "k8s-e2e-token-0123456789abcdef";

/// How long an assertion waits for the operator: a few scans plus a slow 2-core CI machine.
pub const TIMEOUT: Duration = Duration::from_secs(45);

/// The `pod-template-hash` of ReplicaSets made by [`deployment_with_pods`].
pub const TEMPLATE_HASH: &str = "5d8f7c9b6d";

/// Configuration of an in-process operator watching `namespaces`: scan every second, graces
/// shortened so the test shapes (whose conditions turned 60 s ago) fire at once, and the
/// admin identity of the plane tolerated (it can read Secrets).
pub fn test_config(namespaces: &[&str], db: PathBuf) -> Config {
    let mut config = Config {
        cluster_name: "e2e".into(),
        ..Config::default()
    };
    config.store.path = db;
    config.incidents.tick_interval_secs = 1;
    let k = &mut config.kubernetes;
    k.namespaces = namespaces.iter().map(|n| (*n).to_string()).collect();
    k.scan_interval_secs = 1;
    k.startup_grace_secs = 20;
    k.allow_broad_permissions = true;
    let d = &mut k.detection;
    d.unschedulable_grace_secs = 5;
    d.pvc_pending_grace_secs = 1;
    d.service_no_endpoints_grace_secs = 1;
    d.node_not_ready_grace_secs = 1;
    d.young_node_not_ready_grace_secs = 1;
    d.node_cordon_grace_secs = 1;
    // make_pod_healthy starts the container 300 s in the past: stable under this window.
    d.stable_uptime_secs = 60;
    config
}

/// Settings with the test token.
pub fn settings(config: Config) -> Settings {
    Settings {
        config,
        secrets: Secrets {
            api_token: Some(SecretString::from(TOKEN.to_string())),
            api_token_source: Some("test".into()),
            ..Secrets::default()
        },
        source: None,
    }
}

/// A running in-process operator and an HTTP client for its API.
pub struct Guardian {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    http: reqwest::Client,
    running: Option<guardian::run::Running>,
    _dir: tempfile::TempDir,
}

impl Guardian {
    /// Starts the operator over `ns` only, with the admin client of the plane.
    pub async fn start(ns: &TestNamespace) -> Guardian {
        Self::start_with(ns.client.clone(), |c| c, &[ns.name()]).await
    }

    /// Starts the operator with a custom client and a config tweak.
    pub async fn start_with(
        client: kube::Client,
        tweak: impl FnOnce(Config) -> Config,
        namespaces: &[&str],
    ) -> Guardian {
        Self::try_start(client, tweak, namespaces)
            .await
            .expect("the operator starts")
    }

    /// Like [`start_with`](Self::start_with), returning the start-up error.
    pub async fn try_start(
        client: kube::Client,
        tweak: impl FnOnce(Config) -> Config,
        namespaces: &[&str],
    ) -> anyhow::Result<Guardian> {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = tweak(test_config(namespaces, dir.path().join("guardian.db")));
        config.validate().context("test config is valid")?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let running = guardian::run::start(
            settings(config),
            client,
            Clock::System,
            listener,
            CancellationToken::new(),
        )
        .await?;
        let url = format!("http://{}", running.addr);
        let guardian = Guardian {
            url,
            http: reqwest::Client::new(),
            running: Some(running),
            _dir: dir,
        };
        Ok(guardian)
    }

    /// Waits until every watch has synced, and `/readyz` says so.
    pub async fn synced(&self) {
        eventually("every cache synced", TIMEOUT, || async {
            let synced = self.running.as_ref().is_some_and(|r| r.synced());
            ensure!(synced, "not yet");
            Ok(())
        })
        .await;
        eventually("/readyz answers 200", TIMEOUT, || async {
            let status = self
                .http
                .get(format!("{}/readyz", self.url))
                .send()
                .await?
                .status();
            ensure!(status.is_success(), "readyz {status}");
            Ok(())
        })
        .await;
    }

    /// Objects of `kind` in the operator's watch caches right now.
    pub fn cached(&self, kind: &str) -> usize {
        self.running.as_ref().map_or(0, |r| {
            r.reflectors
                .iter()
                .filter(|x| x.kind.kind() == kind)
                .map(|x| x.store.len())
                .sum()
        })
    }

    /// `GET <path>` with the token; the JSON body.
    pub async fn get(&self, path: &str) -> anyhow::Result<Value> {
        let response = self
            .http
            .get(format!("{}{path}", self.url))
            .bearer_auth(TOKEN)
            .send()
            .await?;
        ensure!(
            response.status().is_success(),
            "GET {path}: {}",
            response.status()
        );
        Ok(response.json().await?)
    }

    /// Every incident (any status) the API lists.
    pub async fn incidents(&self) -> anyhow::Result<Vec<Value>> {
        let body = self.get("/incidents?status=all&limit=1000").await?;
        Ok(body["incidents"].as_array().cloned().unwrap_or_default())
    }

    /// Incidents about one object (top owner kind and name).
    pub async fn incidents_of(&self, kind: &str, name: &str) -> anyhow::Result<Vec<Value>> {
        Ok(self
            .incidents()
            .await?
            .into_iter()
            .filter(|i| i["object"]["kind"] == kind && i["object"]["name"] == name)
            .collect())
    }

    /// Scans completed so far (from `/metrics`).
    pub async fn scans(&self) -> anyhow::Result<u64> {
        let text = self
            .http
            .get(format!("{}/metrics", self.url))
            .send()
            .await?
            .text()
            .await?;
        Ok(text
            .lines()
            .filter(|l| l.starts_with("guardian_kubernetes_scans_total{"))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum::<f64>() as u64)
    }

    /// Waits until `n` more scans have completed: "nothing else appeared" is only meaningful
    /// after the detectors have had their chance.
    pub async fn scans_pass(&self, n: u64) {
        let start = self.scans().await.unwrap_or(0);
        eventually(&format!("{n} more scans"), TIMEOUT, || async {
            let now = self.scans().await?;
            ensure!(now >= start + n, "{now} scans, waiting for {}", start + n);
            Ok(())
        })
        .await;
    }

    /// Waits for an incident on `kind/name`, then checks — after two more scans — that it is
    /// the only incident in the namespace (or, for cluster-scoped objects, on that object),
    /// open, with the expected category and severity. Returns it.
    pub async fn one_incident(
        &self,
        namespace: Option<&str>,
        kind: &str,
        name: &str,
        category: &str,
        severity: &str,
    ) -> Value {
        eventually(
            &format!("an incident on {kind}/{name}"),
            TIMEOUT,
            || async {
                let found = self.incidents_of(kind, name).await?;
                ensure!(
                    !found.is_empty(),
                    "none yet; all: {:?}",
                    self.summary().await
                );
                Ok(())
            },
        )
        .await;
        self.scans_pass(2).await;
        let scoped: Vec<Value> = match namespace {
            Some(ns) => self
                .incidents()
                .await
                .expect("list incidents")
                .into_iter()
                .filter(|i| i["namespace"] == ns)
                .collect(),
            None => self.incidents_of(kind, name).await.expect("list incidents"),
        };
        assert_eq!(
            scoped.len(),
            1,
            "exactly one incident expected, got {:?}",
            self.summary().await
        );
        let incident = scoped.into_iter().next().expect("one incident");
        assert_eq!(incident["object"]["kind"], kind, "{incident}");
        assert_eq!(incident["object"]["name"], name, "{incident}");
        assert_eq!(incident["category"], category, "{incident}");
        assert_eq!(incident["severity"], severity, "{incident}");
        assert_eq!(incident["status"], "open", "{incident}");
        incident
    }

    /// Waits until incident `id` is resolved by `detector`.
    pub async fn resolved(&self, id: &str, detector: &str) -> Value {
        eventually(&format!("incident {id} resolved"), TIMEOUT, || async {
            let i = self.get(&format!("/incidents/{id}")).await?;
            let incident = if i.get("incident").is_some() {
                i["incident"].clone()
            } else {
                i
            };
            ensure!(
                incident["status"] == "resolved",
                "status {}",
                incident["status"]
            );
            ensure!(
                incident["resolved_by"] == detector,
                "resolved by {}",
                incident["resolved_by"]
            );
            Ok(incident)
        })
        .await
    }

    /// One line per incident, for failure messages.
    pub async fn summary(&self) -> Vec<String> {
        self.incidents()
            .await
            .unwrap_or_default()
            .iter()
            .map(|i| {
                format!(
                    "{}/{} {}/{} {} {} {}",
                    i["namespace"].as_str().unwrap_or("-"),
                    i["detector"].as_str().unwrap_or(""),
                    i["object"]["kind"].as_str().unwrap_or(""),
                    i["object"]["name"].as_str().unwrap_or(""),
                    i["category"].as_str().unwrap_or(""),
                    i["severity"].as_str().unwrap_or(""),
                    i["status"].as_str().unwrap_or(""),
                )
            })
            .collect()
    }

    /// Stops the operator and waits for it.
    pub async fn shutdown(mut self) {
        if let Some(running) = self.running.take() {
            running.shutdown().await.expect("clean shutdown");
        }
    }
}

/// A Deployment `name` (selector `app=<name>`), its ReplicaSet `<name>-<hash>` and `replicas`
/// pods `<name>-<hash>-<i>` with controller ownerReferences and the `pod-template-hash`
/// label, each pod's container in `shape`. Returns the pod names.
pub async fn deployment_with_pods(
    ns: &TestNamespace,
    name: &str,
    replicas: usize,
    shape: ContainerShape,
) -> Vec<String> {
    deployment_with_pods_on(ns, name, replicas, shape, None).await
}

/// [`deployment_with_pods`], with the pods bound to `node` (e.g. a [`logs_node`]).
pub async fn deployment_with_pods_on(
    ns: &TestNamespace,
    name: &str,
    replicas: usize,
    shape: ContainerShape,
    node: Option<&str>,
) -> Vec<String> {
    let image = format!("registry.example.invalid/guardian-tests/{name}:1.0");
    let template = json!({
        "metadata": {"labels": {"app": name}},
        "spec": {"containers": [{"name": "app", "image": image}]},
    });
    let deployment: Deployment = serde_json::from_value(json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": ns.name()},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}}, "template": template},
    }))
    .expect("valid Deployment");
    let deployment = Api::<Deployment>::namespaced(ns.client.clone(), ns.name())
        .create(&PostParams::default(), &deployment)
        .await
        .unwrap_or_else(|e| panic!("creating Deployment {name}: {e}"));
    let rs_name = format!("{name}-{TEMPLATE_HASH}");
    let owner = |kind: &str, name: &str, uid: &str, api_version: &str| {
        json!([{"apiVersion": api_version, "kind": kind, "name": name, "uid": uid,
                "controller": true, "blockOwnerDeletion": true}])
    };
    let labels = json!({"app": name, "pod-template-hash": TEMPLATE_HASH});
    let rs: ReplicaSet = serde_json::from_value(json!({
        "apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {
            "name": rs_name, "namespace": ns.name(), "labels": labels,
            "ownerReferences": owner("Deployment", name, deployment.metadata.uid.as_deref().unwrap_or(""), "apps/v1"),
        },
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "app", "image": image}]}},
        },
    }))
    .expect("valid ReplicaSet");
    let rs = Api::<ReplicaSet>::namespaced(ns.client.clone(), ns.name())
        .create(&PostParams::default(), &rs)
        .await
        .unwrap_or_else(|e| panic!("creating ReplicaSet {rs_name}: {e}"));
    let rs_uid = rs.metadata.uid.clone().unwrap_or_default();
    let mut names = Vec::new();
    for i in 0..replicas {
        let pod_name = format!("{rs_name}-p{i:03}");
        let mut pod = ns.pod_manifest(&pod_name);
        let mut meta = serde_json::to_value(&pod.metadata).expect("metadata serializes");
        meta["labels"] = labels.clone();
        meta["ownerReferences"] = owner("ReplicaSet", &rs_name, &rs_uid, "apps/v1");
        pod.metadata = serde_json::from_value(meta).expect("metadata deserializes");
        if let (Some(node), Some(spec)) = (node, pod.spec.as_mut()) {
            spec.node_name = Some(node.to_string());
        }
        ns.create_pod_from(&pod).await;
        ns.set_container_shape(&pod_name, shape.clone()).await;
        names.push(pod_name);
    }
    names
}

/// The port of the test plane's kwok kubelet server (`scripts/testenv env`).
fn kwok_port() -> u16 {
    std::env::var("GUARDIAN_TEST_KWOK_PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .expect("GUARDIAN_TEST_KWOK_PORT is not set: run `scripts/testenv up` and `eval \"$(scripts/testenv env)\"`")
}

/// A node whose kubelet endpoint is the test plane's kwok server, so the API server's
/// `pods/log` for pods bound to it is answered from kwok `Logs` objects ([`pod_logs`]).
pub async fn logs_node(ns: &TestNamespace) -> String {
    use k8s_openapi::api::core::v1::Node;
    use kube::api::{Patch, PatchParams};
    let name = format!("{}-logs", ns.name());
    let nodes = Api::<Node>::all(ns.client.clone());
    let node: Node = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "labels": {"guardian.test/namespace": ns.name()}},
    }))
    .expect("valid Node");
    nodes
        .create(&PostParams::default(), &node)
        .await
        .unwrap_or_else(|e| panic!("creating Node {name}: {e}"));
    let status = json!({"status": {
        "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": kwok_port()}},
        "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
            "lastHeartbeatTime": "2026-01-01T00:00:00Z", "lastTransitionTime": "2026-01-01T00:00:00Z"}],
    }});
    nodes
        .patch_status(&name, &PatchParams::default(), &Patch::Merge(&status))
        .await
        .unwrap_or_else(|e| panic!("patching Node {name} status: {e}"));
    name
}

/// Serves `previous` as the crashed instance's and `current` as the running instance's log of
/// container `app` of `pod`: CRI-format files plus a kwok `Logs` object named like the pod.
pub async fn pod_logs(ns: &TestNamespace, pod: &str, previous: &str, current: &str) {
    use kube::core::{ApiResource, DynamicObject, GroupVersionKind};
    let dir = std::env::temp_dir()
        .join("guardian-kwok-logs")
        .join(ns.name());
    std::fs::create_dir_all(&dir).expect("log dir");
    let cri = |text: &str| -> String {
        text.lines()
            .map(|l| format!("2026-12-01T08:00:00.000000000Z stderr F {l}\n"))
            .collect()
    };
    let prev_file = dir.join(format!("{pod}.previous.log"));
    let cur_file = dir.join(format!("{pod}.log"));
    std::fs::write(&prev_file, cri(previous)).expect("write previous log");
    std::fs::write(&cur_file, cri(current)).expect("write current log");
    let gvk = GroupVersionKind::gvk("kwok.x-k8s.io", "v1alpha1", "Logs");
    let resource = ApiResource::from_gvk_with_plural(&gvk, "logs");
    let api: Api<DynamicObject> = Api::namespaced_with(ns.client.clone(), ns.name(), &resource);
    let object: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "kwok.x-k8s.io/v1alpha1", "kind": "Logs",
        "metadata": {"name": pod, "namespace": ns.name()},
        "spec": {"logs": [{"containers": ["app"],
            "logsFile": cur_file, "previousLogsFile": prev_file}]},
    }))
    .expect("valid Logs");
    api.create(&PostParams::default(), &object)
        .await
        .unwrap_or_else(|e| panic!("creating kwok Logs {pod}: {e}"));
}
