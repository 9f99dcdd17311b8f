//! The decide stage as a service: applies observations, operator actions and clock ticks to the
//! store, and emits the log line and metric for each outcome in one place.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use guardian_core::policy::Policy;
use guardian_core::signal::Observation;
use guardian_core::time::Millis;
use tokio_util::sync::CancellationToken;

use crate::metrics::{Metrics, NoticeLabels, OpenedLabels, SignalLabels, StoreErrorLabels};
use crate::store::{Applied, IncidentStore, Result, TickReport};

/// The store backend the binary runs on. Handlers and the engine name this alias rather than
/// being generic, which keeps axum/utoipa handlers simple; a PostgreSQL backend would turn it
/// into an enum delegating to either implementation of [`IncidentStore`].
pub type Store = crate::store::sqlite::SqliteStore;

/// Source of "now". Injected so tests can drive escalation and expiry deterministically.
#[derive(Clone, Debug)]
pub enum Clock {
    /// Wall-clock time.
    System,
    /// A manually advanced clock (tests).
    Manual(Arc<AtomicI64>),
}

impl Clock {
    /// Current Unix milliseconds.
    pub fn now(&self) -> Millis {
        match self {
            Clock::System => jiff::Timestamp::now().as_millisecond(),
            Clock::Manual(ms) => ms.load(Ordering::SeqCst),
        }
    }
}

/// The incident engine.
#[derive(Debug)]
pub struct Engine {
    /// The single source of truth.
    pub store: Store,
    /// Lifecycle tunables from the config.
    pub policy: Policy,
    /// Where outcomes are counted.
    pub metrics: Arc<Metrics>,
    /// Time source.
    pub clock: Clock,
}

impl Engine {
    /// Applies one observation.
    pub async fn observe(&self, observation: &Observation) -> Result<Option<Applied>> {
        let now = self.clock.now();
        let result = self.store.observe(observation, &self.policy, now).await;
        let detector = match observation {
            Observation::Firing(s) => s.detector.as_str(),
            Observation::Recovered { detector, .. } => detector.as_str(),
        };
        match &result {
            Ok(Some(applied)) => self.record(detector, observation, applied),
            Ok(None) => {
                tracing::debug!(detector, "Recovery named no live incident.");
                self.count_signal(detector, "unknown_incident");
            }
            Err(error) => self.store_error("observe", error),
        }
        result
    }

    fn record(&self, detector: &str, observation: &Observation, applied: &Applied) {
        let i = &applied.incident;
        let outcome = match observation {
            Observation::Recovered { .. } => "recovered",
            Observation::Firing(_) if applied.created => "created",
            Observation::Firing(_)
                if applied
                    .audit
                    .iter()
                    .any(|a| a.action == guardian_core::lifecycle::AuditAction::Reopened) =>
            {
                "reopened"
            }
            Observation::Firing(_) if applied.suppressed => "suppressed",
            Observation::Firing(_) => "merged",
        };
        self.count_signal(detector, outcome);
        if applied.created {
            tracing::info!(
                incident = %i.id, fingerprint = %i.fingerprint, detector,
                namespace = i.namespace.as_deref().unwrap_or(""), object = %i.object,
                category = %i.category, severity = %i.severity,
                "Opened an incident."
            );
            self.metrics
                .incidents_opened
                .get_or_create(&OpenedLabels {
                    detector: detector.to_string(),
                    severity: i.severity.as_str(),
                })
                .inc();
        } else if matches!(outcome, "reopened" | "recovered") {
            tracing::info!(incident = %i.id, detector, outcome, status = %i.status, "Updated an incident.");
        } else {
            // Sightings of an open (or silenced) incident are the normal case; an event storm
            // must not become a log storm.
            tracing::debug!(incident = %i.id, detector, outcome, "Counted a sighting.");
        }
        self.count_notices(applied);
    }

    fn count_signal(&self, detector: &str, outcome: &'static str) {
        self.metrics
            .signals
            .get_or_create(&SignalLabels {
                detector: detector.to_string(),
                outcome,
            })
            .inc();
    }

    fn count_notices(&self, applied: &Applied) {
        for kind in &applied.notices {
            tracing::info!(
                incident = %applied.incident.id, kind = kind.as_str(),
                severity = %applied.incident.severity,
                "Recorded a notification decision."
            );
            self.metrics
                .notices
                .get_or_create(&NoticeLabels {
                    kind: kind.as_str(),
                })
                .inc();
        }
    }

    fn store_error(&self, operation: &'static str, error: &crate::store::Error) {
        let label = error.metric_label();
        // Lookups and illegal transitions are the caller's mistake, not a store failure.
        if matches!(
            label,
            "not_found" | "illegal_transition" | "invalid_suppression"
        ) {
            return;
        }
        tracing::error!(operation, error = %error, "A store operation failed.");
        self.metrics
            .store_errors
            .get_or_create(&StoreErrorLabels {
                operation,
                error: label,
            })
            .inc();
    }

    /// A human acknowledges an incident.
    pub async fn acknowledge(
        &self,
        id: &str,
        actor: &str,
        note: &str,
        expires_in_ms: Option<Millis>,
    ) -> Result<Applied> {
        let now = self.clock.now();
        let result = self
            .store
            .acknowledge(id, actor, note, expires_in_ms, &self.policy, now)
            .await;
        match &result {
            Ok(applied) => {
                tracing::info!(incident = id, actor, "Incident acknowledged.");
                self.count_notices(applied);
            }
            Err(error) => self.store_error("acknowledge", error),
        }
        result
    }

    /// A human resolves an incident.
    pub async fn resolve(&self, id: &str, actor: &str, note: &str) -> Result<Applied> {
        let now = self.clock.now();
        let result = self.store.resolve(id, actor, note, now).await;
        match &result {
            Ok(applied) => {
                tracing::info!(incident = id, actor, "Incident resolved.");
                self.count_notices(applied);
            }
            Err(error) => self.store_error("resolve", error),
        }
        result
    }

    /// Runs the clock-driven rules once.
    pub async fn tick(&self) -> Result<TickReport> {
        let now = self.clock.now();
        let result = self.store.tick(&self.policy, now).await;
        match &result {
            Ok(report) => {
                for applied in &report.changed {
                    tracing::info!(
                        incident = %applied.incident.id, status = %applied.incident.status,
                        severity = %applied.incident.severity,
                        "The clock changed an incident."
                    );
                    self.count_notices(applied);
                }
                if report.purged > 0 {
                    tracing::info!(
                        purged = report.purged,
                        "Deleted resolved incidents past retention."
                    );
                    self.metrics.incidents_purged.inc_by(report.purged);
                }
            }
            Err(error) => self.store_error("tick", error),
        }
        result
    }

    /// Ticks every `interval` until cancelled. A failed tick is logged and retried on the next
    /// interval; the timers live in the store, so nothing is lost meanwhile.
    pub async fn run_ticker(self: Arc<Self>, interval: Duration, cancel: CancellationToken) {
        let mut timer = tokio::time::interval(interval);
        timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = cancel.cancelled() => break,
                _ = timer.tick() => { let _ = self.tick().await; }
            }
        }
    }
}
