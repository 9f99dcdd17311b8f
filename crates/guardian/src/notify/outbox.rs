//! The delivery worker: routes decisions into per-channel deliveries and sends them.
//!
//! Guarantees (docs/notifications.md states them for users):
//! - **Nothing is lost**: decisions are rows written with the state change; routing and every
//!   attempt's outcome are rows too. A crash at any point leaves a row that the next run picks
//!   up.
//! - **At least once, idempotent**: a crash after a channel accepted a message but before the
//!   outcome was recorded sends it again with the *same* idempotency key (PagerDuty's
//!   `dedup_key`, the webhook's `X-Guardian-Idempotency-Key`), so idempotent receivers drop the
//!   repeat.
//! - **Ordered per incident and channel**: a delivery waits while an earlier one for the same
//!   incident and channel is pending, so "resolved" never overtakes "opened".
//! - **Bounded**: retries back off exponentially with jitter, never sooner than a receiver's
//!   `Retry-After`; after `max_attempts` (or a permanent error) the delivery is `failed`,
//!   visible in `GET /incidents/{id}` and in `guardian_outbox_failed`.
//!
//! No store transaction is held while a channel is called.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use guardian_core::decide::NoticeKind;
use guardian_core::redact::Redactor;
use guardian_core::time::Millis;
use tokio_util::sync::CancellationToken;

use super::routing::Router;
use super::{Message, Notifier, SendError, console, pagerduty, slack, webhook};
use crate::api::views::IncidentView;
use crate::config::{ChannelConfig, NotificationsConfig, Secrets};
use crate::engine::Engine;
use crate::metrics::{ChannelLabels, DeliveryFailureLabels};
use crate::store::{Attempt, DueDelivery, IncidentStore, Result};

/// Decisions routed and deliveries attempted per pass; bounds the work of one pass.
const BATCH: u32 = 100;

/// Name of the channel used when none is configured.
pub const CONSOLE: &str = "console";

/// Retry tunables.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts before a delivery fails for good.
    pub max_attempts: u32,
    /// First delay.
    pub initial_backoff_ms: u64,
    /// Longest delay.
    pub max_backoff_ms: u64,
}

impl RetryPolicy {
    /// Delay before attempt `attempts + 1`: exponential, half of it jittered (so a burst of
    /// failures does not retry in lockstep), never below the receiver's `Retry-After`.
    pub fn delay_ms(&self, attempts: u32, retry_after: Option<Duration>) -> Millis {
        let exp = self
            .initial_backoff_ms
            .saturating_mul(1_u64 << attempts.saturating_sub(1).min(30))
            .min(self.max_backoff_ms);
        let jittered = exp / 2 + fastrand::u64(0..=exp / 2);
        let floor = retry_after.map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        i64::try_from(jittered.max(floor)).unwrap_or(i64::MAX)
    }
}

/// What one pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PassReport {
    /// Decisions routed.
    pub routed: u64,
    /// Deliveries sent.
    pub sent: u64,
    /// Attempts scheduled for a retry.
    pub retried: u64,
    /// Deliveries failed for good.
    pub failed: u64,
}

/// The worker.
pub struct Outbox {
    engine: Arc<Engine>,
    router: Router,
    channels: BTreeMap<String, Arc<dyn Notifier>>,
    redactor: Arc<Redactor>,
    public_url: Option<String>,
    retry: RetryPolicy,
}

/// Builds the configured channels (or the console channel when none is configured). Secrets were
/// resolved and checked at start-up, so a missing one here is a bug reported as an error.
pub fn build_channels(
    config: &NotificationsConfig,
    secrets: &Secrets,
    http: &reqwest::Client,
) -> anyhow::Result<BTreeMap<String, Arc<dyn Notifier>>> {
    let mut out: BTreeMap<String, Arc<dyn Notifier>> = BTreeMap::new();
    let secret = |name: &str, field: &str| {
        secrets
            .channel(name, field)
            .cloned()
            .ok_or_else(|| anyhow::anyhow!("channel {name}: secret `{field}` was not loaded"))
    };
    for channel in &config.channels {
        let name = channel.name().to_string();
        let notifier: Arc<dyn Notifier> = match channel {
            ChannelConfig::SlackWebhook(_) => Arc::new(slack::SlackWebhook::new(
                name.clone(),
                secret(&name, "url")?,
                http.clone(),
            )),
            ChannelConfig::SlackBot(c) => Arc::new(slack::SlackBot::new(
                name.clone(),
                secret(&name, "token")?,
                c.channel.clone(),
                c.api_url.clone(),
                http.clone(),
            )),
            ChannelConfig::Pagerduty(c) => Arc::new(pagerduty::PagerDuty::new(
                name.clone(),
                secret(&name, "routing_key")?,
                c.events_url.clone(),
                http.clone(),
            )),
            ChannelConfig::Webhook(_) => Arc::new(webhook::Webhook::new(
                name.clone(),
                secret(&name, "url")?,
                secret(&name, "secret")?,
                http.clone(),
            )),
            ChannelConfig::Console(_) => Arc::new(console::Console::new(name.clone())),
        };
        out.insert(name, notifier);
    }
    if out.is_empty() {
        out.insert(
            CONSOLE.into(),
            Arc::new(console::Console::new(CONSOLE.into())),
        );
    }
    Ok(out)
}

impl Outbox {
    /// Builds the worker.
    pub fn new(
        engine: Arc<Engine>,
        config: &NotificationsConfig,
        channels: BTreeMap<String, Arc<dyn Notifier>>,
        redactor: Arc<Redactor>,
    ) -> Self {
        let names: Vec<String> = channels.keys().cloned().collect();
        Self {
            engine,
            router: Router::new(config, &names),
            channels,
            redactor,
            public_url: config
                .public_url
                .as_ref()
                .map(|u| u.trim_end_matches('/').to_string()),
            retry: RetryPolicy {
                max_attempts: config.max_attempts,
                initial_backoff_ms: config.initial_backoff_ms,
                max_backoff_ms: config.max_backoff_ms,
            },
        }
    }

    /// One pass: route new decisions, attempt every due delivery, refresh the gauges.
    pub async fn run_once(&self) -> Result<PassReport> {
        let store = &self.engine.store;
        let mut report = PassReport {
            routed: store
                .route_pending(BATCH, self.engine.clock.now(), |i| self.router.channels(i))
                .await?,
            ..PassReport::default()
        };
        for delivery in store.due_deliveries(self.engine.clock.now(), BATCH).await? {
            let attempt = self.attempt(&delivery).await;
            match &attempt {
                Attempt::Sent { .. } => report.sent += 1,
                Attempt::Retry { .. } => report.retried += 1,
                Attempt::Failed { .. } => report.failed += 1,
            }
            store
                .record_attempt(&delivery, &attempt, self.engine.clock.now())
                .await?;
        }
        self.refresh_gauges().await?;
        Ok(report)
    }

    async fn attempt(&self, delivery: &DueDelivery) -> Attempt {
        let Some(channel) = self.channels.get(&delivery.channel) else {
            // Configuration changed since the decision was routed.
            return self.failure(
                delivery,
                SendError::Permanent {
                    reason: format!("channel `{}` is no longer configured", delivery.channel),
                },
            );
        };
        let message = self.message(delivery);
        match channel.send(&message).await {
            Ok(delivered) => {
                tracing::info!(
                    incident = %delivery.incident.id, channel = %delivery.channel,
                    kind = delivery.kind.as_str(), attempt = delivery.attempts + 1,
                    "Delivered a notification."
                );
                self.engine
                    .metrics
                    .notifications_sent
                    .get_or_create(&ChannelLabels {
                        channel: delivery.channel.clone(),
                    })
                    .inc();
                Attempt::Sent {
                    thread_ts: delivered.thread_ts,
                }
            }
            Err(error) => self.failure(delivery, error),
        }
    }

    fn failure(&self, delivery: &DueDelivery, error: SendError) -> Attempt {
        let attempts = delivery.attempts + 1;
        self.engine
            .metrics
            .notifications_failed
            .get_or_create(&DeliveryFailureLabels {
                channel: delivery.channel.clone(),
                error: error.metric_label(),
            })
            .inc();
        // Reasons never carry URLs or keys, but pass them through the redactor anyway: they
        // reach the API.
        let (reason, _) = self.redactor.redact_text(&error.to_string());
        match error {
            SendError::Retryable { after, .. } if attempts < self.retry.max_attempts => {
                let delay = self.retry.delay_ms(attempts, after);
                tracing::warn!(
                    incident = %delivery.incident.id, channel = %delivery.channel,
                    kind = delivery.kind.as_str(), attempt = attempts, retry_in_ms = delay,
                    error = %reason,
                    "A notification delivery failed; it will be retried."
                );
                Attempt::Retry {
                    error: reason,
                    next_attempt_at: self.engine.clock.now().saturating_add(delay),
                }
            }
            _ => {
                tracing::error!(
                    incident = %delivery.incident.id, channel = %delivery.channel,
                    kind = delivery.kind.as_str(), attempt = attempts, error = %reason,
                    "A notification delivery failed for good."
                );
                Attempt::Failed { error: reason }
            }
        }
    }

    fn message(&self, delivery: &DueDelivery) -> Message {
        let mut incident = IncidentView::from(&delivery.incident);
        // Incident text was redacted at ingest; this pass adds the configured secrets (webhook
        // URLs, keys) in case one was echoed into a message.
        incident.summary = self.redactor.redact_text(&incident.summary).0;
        incident.reason = self.redactor.redact_text(&incident.reason).0;
        let root = matches!(delivery.kind, NoticeKind::Opened | NoticeKind::Reopened);
        Message {
            kind: delivery.kind,
            link: self
                .public_url
                .as_ref()
                .map(|base| format!("{base}/incidents/{}", incident.id)),
            incident,
            idempotency_key: delivery.idempotency_key.clone(),
            thread_ts: if root {
                None
            } else {
                delivery.thread_ts.clone()
            },
            decided_at: delivery.decided_at,
        }
    }

    async fn refresh_gauges(&self) -> Result<()> {
        let stats = self.engine.store.outbox_stats().await?;
        let m = &self.engine.metrics;
        m.outbox_pending
            .set(i64::try_from(stats.pending).unwrap_or(i64::MAX));
        m.outbox_failed
            .set(i64::try_from(stats.failed).unwrap_or(i64::MAX));
        let age = stats
            .oldest_pending_at
            .map_or(0, |at| (self.engine.clock.now() - at).max(0) / 1000);
        m.outbox_oldest_pending_age_seconds.set(age);
        Ok(())
    }

    /// Runs passes every `poll` until cancelled. A failed pass is logged and retried on the next
    /// one: the outbox rows are still there.
    pub async fn run(self: Arc<Self>, poll: Duration, cancel: CancellationToken) {
        let mut timer = tokio::time::interval(poll);
        timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = cancel.cancelled() => break,
                _ = timer.tick() => {
                    if let Err(error) = self.run_once().await {
                        tracing::error!(error = %error, "A notification pass failed.");
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_caps_and_honours_retry_after() {
        let p = RetryPolicy {
            max_attempts: 8,
            initial_backoff_ms: 1_000,
            max_backoff_ms: 10_000,
        };
        for _ in 0..50 {
            let first = p.delay_ms(1, None);
            assert!((500..=1_000).contains(&first), "{first}");
            let third = p.delay_ms(3, None);
            assert!((2_000..=4_000).contains(&third), "{third}");
            let capped = p.delay_ms(20, None);
            assert!((5_000..=10_000).contains(&capped), "{capped}");
            assert!(p.delay_ms(1, Some(Duration::from_secs(30))) >= 30_000);
        }
    }
}
