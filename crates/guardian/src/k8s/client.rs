//! The Kubernetes client: `KUBECONFIG` (or `~/.kube/config`) when present, else the in-cluster
//! service account — kube's standard inference, so `guardian run` works the same on a laptop
//! and in a pod.

use std::time::Duration;

use super::{Error, Result};

/// How long start-up waits for the API server to answer before giving up: a guardian that
/// cannot reach its cluster should fail visibly (CrashLoopBackOff), not sit idle and "ready".
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// Builds a client from the environment and checks that the API server answers.
pub async fn connect() -> Result<kube::Client> {
    let config = kube::Config::infer()
        .await
        .map_err(|source| Error::Config { source })?;
    from_config(config).await
}

/// Builds a client from an explicit kube config (tests, impersonation) and checks it.
pub async fn from_config(config: kube::Config) -> Result<kube::Client> {
    let server = config.cluster_url.to_string();
    let client = kube::Client::try_from(config).map_err(|source| Error::Client { source })?;
    let version = tokio::time::timeout(CONNECT_TIMEOUT, client.apiserver_version())
        .await
        .map_err(|_| Error::Client {
            source: kube::Error::Service(
                format!(
                    "no answer from {server} within {} s",
                    CONNECT_TIMEOUT.as_secs()
                )
                .into(),
            ),
        })?
        .map_err(|source| Error::Client { source })?;
    tracing::info!(
        server,
        version = %version.git_version,
        "Connected to the Kubernetes API server."
    );
    Ok(client)
}
