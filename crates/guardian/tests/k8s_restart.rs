//! A kube-runtime watcher survives a kube-apiserver restart.
//!
//! Own test binary on purpose: it restarts the shared API server (`scripts/testenv
//! restart-apiserver`), which would break tests running in parallel in the same binary. Cargo
//! runs test binaries one after another, so no other cluster test runs meanwhile.

mod support;

use std::time::Duration;

use futures::TryStreamExt;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, PostParams};
use kube::runtime::{WatchStreamExt, watcher};
use serde_json::json;

use support::{TestCluster, eventually, testenv};

async fn create_configmap(api: &Api<ConfigMap>, name: &str) {
    let cm: ConfigMap = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": name}, "data": {"k": "v"},
    }))
    .unwrap();
    api.create(&PostParams::default(), &cm)
        .await
        .unwrap_or_else(|e| panic!("creating configmap {name}: {e}"));
}

/// Wait (up to 90 s) until the watcher reports an object named `want`.
async fn seen(
    rx: &mut tokio::sync::mpsc::UnboundedReceiver<String>,
    want: &str,
) -> Result<(), tokio::time::error::Elapsed> {
    tokio::time::timeout(Duration::from_secs(90), async {
        loop {
            match rx.recv().await {
                Some(name) if name == want => return,
                Some(_) => {}
                None => panic!("watcher task ended"),
            }
        }
    })
    .await
}

#[tokio::test]
async fn watcher_resumes_after_apiserver_restart() {
    let cluster = TestCluster::connect().await;
    let ns = cluster.fresh_namespace().await;
    let cms: Api<ConfigMap> = ns.api();

    let stream = watcher(cms.clone(), watcher::Config::default())
        .default_backoff()
        .applied_objects();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    let task = tokio::spawn(async move {
        let mut stream = std::pin::pin!(stream);
        // While the server is down the stream yields errors (connection refused, ...);
        // default_backoff() paces the retries and the stream carries on after each error.
        loop {
            match stream.try_next().await {
                Ok(Some(cm)) => {
                    let _ = tx.send(cm.metadata.name.unwrap_or_default());
                }
                Ok(None) => break,
                Err(e) => eprintln!("watcher error (retrying): {e}"),
            }
        }
    });
    create_configmap(&cms, "before").await;
    seen(&mut rx, "before")
        .await
        .expect("watcher saw the object created before the restart");

    let state_dir = cluster.state_dir();
    let out = tokio::task::spawn_blocking(move || testenv(&state_dir, &["restart-apiserver"]))
        .await
        .unwrap();
    eprintln!("{}", String::from_utf8_lossy(&out.stderr));

    // The server answers again (restart-apiserver waited for /readyz).
    eventually(
        "API server answers after restart",
        Duration::from_secs(60),
        || {
            let c = cluster.client();
            async move { Ok(c.apiserver_version().await?) }
        },
    )
    .await;
    create_configmap(&cms, "after").await;
    seen(&mut rx, "after")
        .await
        .expect("watcher resumed after the restart and saw the new object");
    task.abort();
}
