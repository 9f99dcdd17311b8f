//! RBAC guardrails against the real API server (authorization mode RBAC):
//!
//! - the manifests in `deploy/` are accepted by the API server (server-side dry run) and the
//!   sample config is valid;
//! - an identity holding exactly `deploy/rbac.yaml`'s ClusterRole passes the start-up self
//!   check, can read every watched kind, and runs the operator end to end;
//! - an identity that can read Secrets and write workloads (`edit`) is refused at start-up,
//!   unless `kubernetes.allow_broad_permissions` is set.
//!
//! Identities are the admin's impersonations of ServiceAccounts (the plane's admin is
//! `system:masters`, which may impersonate), so no token plumbing is needed.

mod k8s_ext;
mod support;

use std::path::PathBuf;

use anyhow::ensure;
use guardian::config::KubernetesConfig;
use guardian::k8s;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, PersistentVolumeClaim, Service, ServiceAccount};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
use kube::api::{Api, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use serde::Deserialize;
use serde_json::{Value, json};

use k8s_ext::{Guardian, TIMEOUT, deployment_with_pods};
use support::{ContainerShape, TestCluster, TestNamespace, eventually, repo_root};

fn deploy_docs(file: &str) -> Vec<Value> {
    let path: PathBuf = repo_root().join("deploy").join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    yaml_serde::Deserializer::from_str(&text)
        .map(|doc| Value::deserialize(doc).unwrap_or_else(|e| panic!("{file}: {e}")))
        .filter(|v| !v.is_null())
        .collect()
}

fn doc_of_kind(file: &str, kind: &str) -> Value {
    deploy_docs(file)
        .into_iter()
        .find(|d| d["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} in deploy/{file}"))
}

/// A client acting as ServiceAccount `guardian` of `ns`.
async fn as_service_account(cluster: &TestCluster, ns: &str) -> kube::Client {
    let kubeconfig = Kubeconfig::read_from(cluster.kubeconfig()).expect("kubeconfig");
    let mut config =
        kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
            .await
            .expect("kube config");
    config.auth_info.impersonate = Some(format!("system:serviceaccount:{ns}:guardian"));
    config.auth_info.impersonate_groups = Some(vec![
        "system:serviceaccounts".into(),
        format!("system:serviceaccounts:{ns}"),
        "system:authenticated".into(),
    ]);
    k8s::client::from_config(config)
        .await
        .expect("impersonating client")
}

async fn create_service_account(ns: &TestNamespace) {
    let sa: ServiceAccount = serde_json::from_value(json!({
        "metadata": {"name": "guardian", "namespace": ns.name()}
    }))
    .unwrap();
    ns.api::<ServiceAccount>()
        .create(&PostParams::default(), &sa)
        .await
        .expect("create service account");
}

/// Binds ServiceAccount `guardian` of `ns` to deploy/rbac.yaml's ClusterRole (under a
/// per-test name: cluster-scoped objects are shared by every test).
async fn grant_deploy_role(ns: &TestNamespace) {
    let name = format!("guardian-read-{}", ns.name());
    let mut role = doc_of_kind("rbac.yaml", "ClusterRole");
    role["metadata"]["name"] = json!(name);
    let role: ClusterRole = serde_json::from_value(role).expect("ClusterRole");
    Api::<ClusterRole>::all(ns.client.clone())
        .create(&PostParams::default(), &role)
        .await
        .expect("create ClusterRole");
    let mut binding = doc_of_kind("rbac.yaml", "ClusterRoleBinding");
    binding["metadata"]["name"] = json!(name);
    binding["roleRef"]["name"] = json!(name);
    binding["subjects"][0]["namespace"] = json!(ns.name());
    let binding: ClusterRoleBinding = serde_json::from_value(binding).expect("binding");
    Api::<ClusterRoleBinding>::all(ns.client.clone())
        .create(&PostParams::default(), &binding)
        .await
        .expect("create ClusterRoleBinding");
}

fn scoped(ns: &str) -> KubernetesConfig {
    KubernetesConfig {
        namespaces: vec![ns.to_string()],
        ..KubernetesConfig::default()
    }
}

#[tokio::test]
async fn deploy_manifests_are_accepted_by_the_api_server() {
    let cluster = TestCluster::connect().await;
    let ns = cluster.fresh_namespace().await;
    let dry = PostParams {
        dry_run: true,
        ..PostParams::default()
    };
    let client = ns.client.clone();
    let mut kinds = Vec::new();
    for file in ["rbac.yaml", "configmap.yaml", "deployment.yaml"] {
        for mut doc in deploy_docs(file) {
            if doc["metadata"]["namespace"].is_string() {
                doc["metadata"]["namespace"] = json!(ns.name());
            }
            let kind = doc["kind"].as_str().unwrap_or("").to_string();
            let n = ns.name();
            let result = match kind.as_str() {
                "ServiceAccount" => Api::<ServiceAccount>::namespaced(client.clone(), n)
                    .create(&dry, &serde_json::from_value(doc.clone()).unwrap())
                    .await
                    .map(|_| ()),
                "ClusterRole" => Api::<ClusterRole>::all(client.clone())
                    .create(&dry, &serde_json::from_value(doc.clone()).unwrap())
                    .await
                    .map(|_| ()),
                "ClusterRoleBinding" => Api::<ClusterRoleBinding>::all(client.clone())
                    .create(&dry, &serde_json::from_value(doc.clone()).unwrap())
                    .await
                    .map(|_| ()),
                "Role" => Api::<Role>::namespaced(client.clone(), n)
                    .create(&dry, &serde_json::from_value(doc.clone()).unwrap())
                    .await
                    .map(|_| ()),
                "RoleBinding" => Api::<RoleBinding>::namespaced(client.clone(), n)
                    .create(&dry, &serde_json::from_value(doc.clone()).unwrap())
                    .await
                    .map(|_| ()),
                "ConfigMap" => {
                    let text = doc["data"]["config.yaml"].as_str().expect("config.yaml");
                    let config = guardian::config::parse(std::path::Path::new("config.yaml"), text)
                        .expect("the sample config parses");
                    config.validate().expect("the sample config is valid");
                    Api::<ConfigMap>::namespaced(client.clone(), n)
                        .create(&dry, &serde_json::from_value(doc.clone()).unwrap())
                        .await
                        .map(|_| ())
                }
                "Deployment" => Api::<Deployment>::namespaced(client.clone(), n)
                    .create(&dry, &serde_json::from_value(doc.clone()).unwrap())
                    .await
                    .map(|_| ()),
                "PersistentVolumeClaim" => {
                    Api::<PersistentVolumeClaim>::namespaced(client.clone(), n)
                        .create(&dry, &serde_json::from_value(doc.clone()).unwrap())
                        .await
                        .map(|_| ())
                }
                "Service" => Api::<Service>::namespaced(client.clone(), n)
                    .create(&dry, &serde_json::from_value(doc.clone()).unwrap())
                    .await
                    .map(|_| ()),
                other => panic!("deploy/{file}: unexpected kind {other}"),
            };
            result.unwrap_or_else(|e| panic!("deploy/{file} {kind} rejected: {e}"));
            kinds.push(kind);
        }
    }
    for want in [
        "ClusterRole",
        "Role",
        "Deployment",
        "ConfigMap",
        "ServiceAccount",
    ] {
        assert!(kinds.iter().any(|k| k == want), "deploy/ has no {want}");
    }
    let role = doc_of_kind("rbac.yaml", "ClusterRole");
    let text = role.to_string();
    assert!(
        !text.contains("secrets"),
        "the ClusterRole must not mention secrets"
    );
    for rule in role["rules"].as_array().unwrap() {
        for verb in rule["verbs"].as_array().unwrap() {
            let write = [
                "create",
                "update",
                "patch",
                "delete",
                "deletecollection",
                "*",
            ]
            .contains(&verb.as_str().unwrap());
            let review = rule["resources"] == json!(["selfsubjectaccessreviews"]);
            assert!(!write || review, "write verb {verb} in {rule}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_deploy_cluster_role_passes_the_self_check_and_runs_the_operator() {
    let cluster = TestCluster::connect().await;
    let ns = cluster.fresh_namespace().await;
    create_service_account(&ns).await;
    grant_deploy_role(&ns).await;
    let client = as_service_account(&cluster, ns.name()).await;
    let config = scoped(ns.name());

    // RBAC changes reach the authorizer's cache within moments; poll until they have.
    eventually("the granted reads are visible", TIMEOUT, || async {
        let kinds = k8s::kinds::discover(&client).await?;
        let missing = k8s::rbac::check_reads(&client, &kinds, &config).await?;
        ensure!(missing.is_empty(), "missing: {missing:?}");
        Ok(())
    })
    .await;
    let review = k8s::rbac::check(&client, &config)
        .await
        .expect("the deploy role is not broad");
    assert!(review.broad.is_empty(), "{review:?}");

    let guardian = Guardian::start_with(
        client,
        |mut c| {
            c.kubernetes.allow_broad_permissions = false;
            c
        },
        &[ns.name()],
    )
    .await;
    guardian.synced().await;
    let pods = deployment_with_pods(&ns, "api", 2, ContainerShape::crash_loop()).await;
    let incident = guardian
        .one_incident(
            Some(ns.name()),
            "Deployment",
            "api",
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
async fn an_identity_that_can_read_secrets_is_refused_unless_allowed() {
    let cluster = TestCluster::connect().await;
    let ns = cluster.fresh_namespace().await;
    create_service_account(&ns).await;
    grant_deploy_role(&ns).await;
    // `edit` reads Secrets and writes workloads in this namespace.
    let binding: RoleBinding = serde_json::from_value(json!({
        "metadata": {"name": "guardian-edit", "namespace": ns.name()},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "edit"},
        "subjects": [{"kind": "ServiceAccount", "name": "guardian", "namespace": ns.name()}],
    }))
    .unwrap();
    ns.api::<RoleBinding>()
        .create(&PostParams::default(), &binding)
        .await
        .expect("bind edit");
    let client = as_service_account(&cluster, ns.name()).await;

    let error = eventually("the broad identity is refused", TIMEOUT, || async {
        match Guardian::try_start(
            client.clone(),
            |c| {
                let mut c = c;
                c.kubernetes.allow_broad_permissions = false;
                c
            },
            &[ns.name()],
        )
        .await
        {
            Ok(g) => {
                g.shutdown().await;
                anyhow::bail!("started although it can read secrets")
            }
            Err(e) => Ok(format!("{e:#}")),
        }
    })
    .await;
    assert!(error.contains("refusing to run"), "{error}");
    assert!(
        error.contains(&format!("list secrets ({})", ns.name())),
        "{error}"
    );
    assert!(error.contains("patch deployments.apps"), "{error}");

    let allowed = KubernetesConfig {
        allow_broad_permissions: true,
        ..scoped(ns.name())
    };
    let review = k8s::rbac::check(&client, &allowed)
        .await
        .expect("allowed explicitly");
    assert!(!review.broad.is_empty());
}
