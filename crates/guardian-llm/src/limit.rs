//! A GCRA requests-per-minute limiter per provider, as a decorator implementing
//! [`LlmProvider`].
//!
//! Over the limit the call is **refused at once** with
//! `Error::Retryable { after: Some(wait) }` (label `retryable`), never queued: an analysis
//! waiting for a slot would hold an incident's notification back, and the caller treats a
//! rate-limited call as "the rules engine answers". Put it *outside* [`crate::retry`]
//! (`RateLimited<Retrying<P>>`): a refused call then costs nothing, and retries of an admitted
//! call are not charged again (they answer a provider's own 429/5xx).
//!
//! One limiter guards one (provider, model) pair: build one `RateLimited` per configured
//! model. The burst equals the per-minute count (GCRA's default), so `2/min` admits two calls
//! back to back and refuses the third until 30 s later.

use std::num::NonZeroU32;

use futures::FutureExt;
use futures::future::BoxFuture;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

use crate::{Error, LlmProvider, Request, Response};

/// A provider behind a requests-per-minute limiter.
pub struct RateLimited<P> {
    inner: P,
    per_minute: NonZeroU32,
    limiter: DefaultDirectRateLimiter,
}

impl<P: std::fmt::Debug> std::fmt::Debug for RateLimited<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimited")
            .field("inner", &self.inner)
            .field("per_minute", &self.per_minute)
            .finish_non_exhaustive()
    }
}

impl<P: LlmProvider> RateLimited<P> {
    /// Wraps `inner` with a limit of `per_minute` requests.
    pub fn new(inner: P, per_minute: NonZeroU32) -> RateLimited<P> {
        RateLimited {
            inner,
            per_minute,
            limiter: RateLimiter::direct(Quota::per_minute(per_minute)),
        }
    }

    /// Takes a slot or says how long until one frees up.
    fn admit(&self) -> Result<(), Error> {
        self.limiter.check().map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            tracing::info!(
                provider = %self.inner.name(),
                model = %self.inner.model(),
                per_minute = self.per_minute.get(),
                wait_ms = wait.as_millis(),
                "LLM call refused by the rate limiter."
            );
            Error::Retryable {
                after: Some(wait),
                reason: format!(
                    "rate limited locally ({} requests per minute)",
                    self.per_minute
                ),
            }
        })
    }
}

impl<P: LlmProvider> LlmProvider for RateLimited<P> {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn model(&self) -> &str {
        self.inner.model()
    }

    fn complete<'a>(&'a self, request: &'a Request) -> BoxFuture<'a, Result<Response, Error>> {
        async move {
            self.admit()?;
            self.inner.complete(request).await
        }
        .boxed()
    }
}
