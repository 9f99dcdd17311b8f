//! Retries of retryable provider errors, as a decorator implementing [`LlmProvider`].
//!
//! - Only [`Error::Retryable`] is retried: never 400/401/403, exhausted quota, or invalid
//!   output (each provider classifies those as [`Error::Fatal`] / [`Error::InvalidOutput`]).
//! - Delays: jittered exponential backoff from backon (`min_delay`, ×2 per retry, capped at
//!   `max_delay`, jitter adds up to 100 %), raised to the provider's `after`
//!   (`retry-after`, Gemini `retryDelay`) when that is longer.
//! - At most `max_retries` retries (default 2, like the official SDKs): 3 calls in all.
//! - A provider asking for a wait longer than `max_retry_after` (default 30 s) is not waited
//!   for: the error is returned at once, and the caller's rules engine answers instead of an
//!   analysis hanging for minutes.
//! - The sleep is injectable ([`Retrying::with_sleeper`]) so tests can record delays.

use std::sync::Arc;
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};
use futures::FutureExt;
use futures::future::BoxFuture;

use crate::{Error, LlmProvider, Request, Response};

/// Retry tunables.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Retries after the first call (default 2).
    pub max_retries: usize,
    /// First backoff delay before jitter (default 500 ms).
    pub min_delay: Duration,
    /// Largest backoff delay before jitter (default 8 s).
    pub max_delay: Duration,
    /// Longest provider-requested wait that is honoured (default 30 s); beyond it, give up.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 2,
            min_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(8),
            max_retry_after: Duration::from_secs(30),
        }
    }
}

/// An async sleep; the default is `tokio::time::sleep`.
pub type Sleeper = Arc<dyn Fn(Duration) -> BoxFuture<'static, ()> + Send + Sync>;

/// A provider whose retryable errors are retried per [`RetryPolicy`].
pub struct Retrying<P> {
    inner: P,
    policy: RetryPolicy,
    sleeper: Sleeper,
}

impl<P: std::fmt::Debug> std::fmt::Debug for Retrying<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Retrying")
            .field("inner", &self.inner)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl<P: LlmProvider> Retrying<P> {
    /// Wraps `inner`.
    pub fn new(inner: P, policy: RetryPolicy) -> Retrying<P> {
        Retrying {
            inner,
            policy,
            sleeper: Arc::new(|d| tokio::time::sleep(d).boxed()),
        }
    }

    /// Replaces the sleep (tests record or shorten delays).
    pub fn with_sleeper(mut self, sleeper: Sleeper) -> Retrying<P> {
        self.sleeper = sleeper;
        self
    }

    async fn run(&self, request: &Request) -> Result<Response, Error> {
        let mut delays = ExponentialBuilder::default()
            .with_min_delay(self.policy.min_delay)
            .with_max_delay(self.policy.max_delay)
            .with_max_times(self.policy.max_retries)
            .with_jitter()
            .build();
        let mut attempt = 1usize;
        loop {
            let error = match self.inner.complete(request).await {
                Ok(response) => return Ok(response),
                Err(error) => error,
            };
            let Error::Retryable { after, reason } = &error else {
                return Err(error);
            };
            if after.is_some_and(|a| a > self.policy.max_retry_after) {
                tracing::warn!(
                    provider = %self.inner.name(),
                    after_ms = after.map_or(0, |a| a.as_millis()),
                    "Provider asks for a longer wait than allowed; giving up."
                );
                return Err(error);
            }
            let Some(backoff) = delays.next() else {
                return Err(error);
            };
            let delay = after.map_or(backoff, |a| a.max(backoff));
            tracing::warn!(
                provider = %self.inner.name(),
                model = %self.inner.model(),
                attempt,
                delay_ms = delay.as_millis(),
                error = %reason,
                "Retrying the LLM call after a retryable error."
            );
            (self.sleeper)(delay).await;
            attempt += 1;
        }
    }
}

impl<P: LlmProvider> LlmProvider for Retrying<P> {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn model(&self) -> &str {
        self.inner.model()
    }

    fn complete<'a>(&'a self, request: &'a Request) -> BoxFuture<'a, Result<Response, Error>> {
        self.run(request).boxed()
    }
}
