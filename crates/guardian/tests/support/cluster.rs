//! Connecting to the test control plane and creating per-test namespaces.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};

use super::NAMESPACE_LABEL;

/// Environment variable naming the kubeconfig of the test plane. Deliberately **not**
/// `KUBECONFIG`: tests must never touch whatever cluster the developer's shell points at.
pub const KUBECONFIG_ENV: &str = "GUARDIAN_TEST_KUBECONFIG";

const HOW_TO_START: &str = "start the local test control plane first:\n\n    \
     scripts/testenv up && eval \"$(scripts/testenv env)\"\n\n\
     (or run the whole suite with scripts/test). See docs/testing.md.";

/// A connection to the local test control plane.
///
/// Cheap to create; make one per test. (A `kube::Client` is tied to the tokio runtime it was
/// built on, and every `#[tokio::test]` has its own runtime, so do not share one in a static.)
#[derive(Clone)]
pub struct TestCluster {
    client: Client,
    kubeconfig: PathBuf,
}

impl TestCluster {
    /// Connect to the plane whose kubeconfig is in `$GUARDIAN_TEST_KUBECONFIG`.
    ///
    /// Panics (never skips) with instructions when the variable is unset, the file is missing or
    /// unreadable, or the API server does not answer within 15 s.
    ///
    /// kube-rs has no client-side rate limiter (unlike client-go's QPS/burst), so nothing needs
    /// raising; the plane's admin identity is also exempt from API Priority and Fairness.
    pub async fn connect() -> TestCluster {
        // rustls needs exactly one process-wide crypto provider before any TLS config is built.
        let _ = rustls::crypto::ring::default_provider().install_default();

        let path = match std::env::var_os(KUBECONFIG_ENV) {
            Some(p) if !p.is_empty() => PathBuf::from(p),
            _ => {
                panic!("\n\n*** {KUBECONFIG_ENV} is not set: no test cluster ***\n{HOW_TO_START}\n")
            }
        };
        let kubeconfig = Kubeconfig::read_from(&path).unwrap_or_else(|e| {
            panic!(
                "\n\n*** cannot read {KUBECONFIG_ENV}={}: {e} ***\n\
                 Is the plane still running? {HOW_TO_START}\n",
                path.display()
            )
        });
        let config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
            .await
            .unwrap_or_else(|e| panic!("invalid kubeconfig {}: {e}", path.display()));
        let server = config.cluster_url.to_string();
        let client = Client::try_from(config)
            .unwrap_or_else(|e| panic!("cannot build a kube client for {server}: {e}"));

        match tokio::time::timeout(Duration::from_secs(15), client.apiserver_version()).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => panic!(
                "\n\n*** test cluster at {server} (from {}) is unreachable: {e} ***\n{HOW_TO_START}\n",
                path.display()
            ),
            Err(_) => panic!(
                "\n\n*** test cluster at {server} (from {}) did not answer within 15 s ***\n{HOW_TO_START}\n",
                path.display()
            ),
        }
        TestCluster {
            client,
            kubeconfig: path,
        }
    }

    /// The admin client (group `system:masters`: bypasses RBAC, exempt from APF).
    pub fn client(&self) -> Client {
        self.client.clone()
    }

    /// Path of the kubeconfig this cluster was connected with.
    pub fn kubeconfig(&self) -> &Path {
        &self.kubeconfig
    }

    /// The `scripts/testenv` state dir of this plane (the kubeconfig's directory), to pass as
    /// `GUARDIAN_TESTENV_DIR` to [`testenv`].
    pub fn state_dir(&self) -> PathBuf {
        self.kubeconfig
            .parent()
            .expect("kubeconfig path has a parent directory")
            .to_path_buf()
    }

    /// Create a new namespace `gt-<12 random hex>` for this test and return a handle to it.
    ///
    /// Namespaces are never deleted: pods bound to a node without a kubelet never finish
    /// terminating, so deletion could hang forever. The plane is thrown away after the run.
    pub async fn fresh_namespace(&self) -> TestNamespace {
        self.fresh_namespace_with_prefix("gt").await
    }

    /// Like [`fresh_namespace`](Self::fresh_namespace) with a custom prefix (max 40 chars,
    /// DNS-1123: lowercase letters, digits, `-`), handy to find a test's namespace in logs.
    pub async fn fresh_namespace_with_prefix(&self, prefix: &str) -> TestNamespace {
        let name = format!("{prefix}-{}", random_suffix());
        let ns: Namespace = serde_json::from_value(serde_json::json!({
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": name, "labels": {NAMESPACE_LABEL: name}},
        }))
        .expect("valid Namespace");
        Api::<Namespace>::all(self.client())
            .create(&PostParams::default(), &ns)
            .await
            .unwrap_or_else(|e| panic!("creating namespace {name}: {e}"));
        TestNamespace {
            client: self.client(),
            name,
        }
    }
}

/// A namespace that belongs to one test. All failure-shape helpers (`crashloop_pod`,
/// `warning_event`, `failed_job`, ...) are methods on it; they live in the sibling modules.
#[derive(Clone)]
pub struct TestNamespace {
    /// Admin client.
    pub client: Client,
    /// Namespace name.
    pub name: String,
}

impl TestNamespace {
    /// The namespace name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `Api<K>` for a namespaced kind in this namespace.
    pub fn api<K>(&self) -> Api<K>
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>,
    {
        Api::namespaced(self.client.clone(), &self.name)
    }
}

/// 12 random lowercase hex characters (the random tail of a UUIDv7).
pub fn random_suffix() -> String {
    let s = uuid::Uuid::now_v7().simple().to_string();
    s[s.len() - 12..].to_string()
}

/// The repository root (this crate is `crates/guardian`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("repository root exists")
}

/// Run `scripts/testenv <args>` against the plane in `state_dir` (blocking) and return its output.
/// Panics with the script's stderr if it fails. Call it from async code via
/// `tokio::task::spawn_blocking`.
pub fn testenv(state_dir: &Path, args: &[&str]) -> Output {
    let script = repo_root().join("scripts/testenv");
    let out = Command::new(&script)
        .args(args)
        .env("GUARDIAN_TESTENV_DIR", state_dir)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
    if !out.status.success() {
        panic!(
            "`scripts/testenv {}` (GUARDIAN_TESTENV_DIR={}) failed with {}\nstdout:\n{}\nstderr:\n{}",
            args.join(" "),
            state_dir.display(),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    out
}
