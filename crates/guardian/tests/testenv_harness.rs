//! Tests for `scripts/testenv` itself: `up` is idempotent, `down` leaves no processes.
//!
//! Runs a **second, private** plane in a temporary state dir (own ports, own pids), so the shared
//! plane the other test binaries use is never touched.

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, ListParams};
use kube::config::{KubeConfigOptions, Kubeconfig};

use support::{repo_root, testenv};

const COMPONENTS: [&str; 3] = ["etcd", "kube-apiserver", "kube-controller-manager"];

/// Stops the private plane even when an assertion fails half-way.
struct PlaneGuard(PathBuf);

impl Drop for PlaneGuard {
    fn drop(&mut self) {
        if self.0.exists() {
            let _ = Command::new(repo_root().join("scripts/testenv"))
                .arg("down")
                .env("GUARDIAN_TESTENV_DIR", &self.0)
                .status();
        }
    }
}

fn read_pids(state: &Path) -> BTreeMap<&'static str, u32> {
    COMPONENTS
        .iter()
        .map(|c| {
            let path = state.join("pids").join(format!("{c}.pid"));
            let pid = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
                .trim()
                .parse()
                .expect("pid file holds a number");
            (*c, pid)
        })
        .collect()
}

/// Is `pid` a live (non-zombie) process?
fn process_alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // Format: "pid (comm) S ..."; the state follows the last ')'.
        Ok(stat) => stat
            .rsplit_once(')')
            .map(|(_, rest)| !rest.trim_start().starts_with('Z'))
            .unwrap_or(false),
        Err(_) => false,
    }
}

/// Live processes whose command line mentions `needle`.
fn processes_mentioning(needle: &str) -> Vec<(u32, String)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("/proc") {
        let Ok(entry) = entry else { continue };
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(raw) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
            continue;
        };
        let cmd = String::from_utf8_lossy(&raw).replace('\0', " ");
        if cmd.contains(needle) && process_alive(pid) {
            found.push((pid, cmd));
        }
    }
    found
}

#[tokio::test]
async fn up_is_idempotent_and_down_leaves_no_processes() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let build = repo_root().join("tools/k8s/build.sh");
    let built = Command::new(&build)
        .arg("--check")
        .status()
        .expect("run build.sh --check");
    assert!(
        built.success(),
        "control-plane binaries are not built; run tools/k8s/build.sh first (see docs/testing.md)"
    );

    let tmp = tempfile::tempdir().expect("tempdir");
    let state = tmp.path().join("plane");
    let _guard = PlaneGuard(state.clone());

    let first = testenv(&state, &["up"]);
    let env1 = String::from_utf8(first.stdout).unwrap();
    assert!(
        env1.contains(&format!(
            "export GUARDIAN_TEST_KUBECONFIG={}/kubeconfig",
            state.display()
        )),
        "unexpected env output:\n{env1}"
    );
    let ports1 = std::fs::read_to_string(state.join("ports")).unwrap();
    let pids1 = read_pids(&state);
    for (c, pid) in &pids1 {
        assert!(process_alive(*pid), "{c} (pid {pid}) is running after up");
    }

    // A second `up` reuses the running plane: same env, ports and processes.
    let second = testenv(&state, &["up"]);
    assert_eq!(String::from_utf8(second.stdout).unwrap(), env1);
    assert!(
        String::from_utf8_lossy(&second.stderr).contains("reusing"),
        "second up should say it reuses the plane"
    );
    assert_eq!(
        std::fs::read_to_string(state.join("ports")).unwrap(),
        ports1
    );
    assert_eq!(read_pids(&state), pids1);
    assert_eq!(
        String::from_utf8(testenv(&state, &["env"]).stdout).unwrap(),
        env1
    );
    testenv(&state, &["status"]);

    // The private plane serves the fixture CRDs.
    let kubeconfig = Kubeconfig::read_from(state.join("kubeconfig")).unwrap();
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .unwrap();
    let client = kube::Client::try_from(config).unwrap();
    let crds = Api::<CustomResourceDefinition>::all(client)
        .list(&ListParams::default())
        .await
        .expect("list CRDs on the private plane");
    let fixtures = std::fs::read_dir(repo_root().join("tests/fixtures/crds"))
        .unwrap()
        .count();
    assert_eq!(crds.items.len(), fixtures);

    // Down stops every component and removes the state dir.
    testenv(&state, &["down"]);
    for (c, pid) in &pids1 {
        assert!(!process_alive(*pid), "{c} (pid {pid}) survived down");
    }
    let leftovers = processes_mentioning(&state.display().to_string());
    assert!(
        leftovers.is_empty(),
        "processes survived down: {leftovers:?}"
    );
    assert!(!state.exists(), "down removes the state dir");

    // Status reports "not running" (exit 3) and a second down is a no-op.
    let status = Command::new(repo_root().join("scripts/testenv"))
        .arg("status")
        .env("GUARDIAN_TESTENV_DIR", &state)
        .output()
        .unwrap();
    assert_eq!(status.status.code(), Some(3));
    testenv(&state, &["down"]);
}
