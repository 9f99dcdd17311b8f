//! Polling helpers for eventually-consistent assertions.

use std::future::Future;
use std::time::{Duration, Instant};

/// Default time-out for [`wait_for`] / [`eventually`]: generous, because a 2-core CI machine
/// may be compiling while tests run.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

const POLL_INTERVAL: Duration = Duration::from_millis(100);

/// Poll `probe` every 100 ms until it returns `Some(value)`; return the value.
///
/// Panics with `what` in the message after `timeout`.
///
/// ```ignore
/// let pod = wait_for("pod web to be Running", DEFAULT_TIMEOUT, || async {
///     pods.get("web").await.ok().filter(|p| phase(p) == "Running")
/// }).await;
/// ```
pub async fn wait_for<T, F, Fut>(what: &str, timeout: Duration, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        if start.elapsed() >= timeout {
            panic!("timed out after {timeout:?} waiting for: {what}");
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

/// Poll `check` every 100 ms until it returns `Ok(value)`; return the value.
///
/// Use it for assertions: write the check with `?` and `anyhow::ensure!`. After `timeout` it
/// panics with `what` and the **last error**, so the failure says what was actually seen.
///
/// ```ignore
/// eventually("event is listed", DEFAULT_TIMEOUT, || async {
///     let list = events.list(&Default::default()).await?;
///     anyhow::ensure!(list.items.iter().any(|e| e.reason.as_deref() == Some("BackOff")), "not yet: {} events", list.items.len());
///     Ok(())
/// }).await;
/// ```
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<T>>,
{
    let start = Instant::now();
    loop {
        match check().await {
            Ok(value) => return value,
            Err(err) if start.elapsed() >= timeout => {
                panic!("timed out after {timeout:?} waiting for: {what}\nlast error: {err:#}")
            }
            Err(_) => tokio::time::sleep(POLL_INTERVAL).await,
        }
    }
}
