//! Prometheus metrics: one explicit [`Registry`] built at start-up, no globals. Each metric is
//! recorded next to the log line describing the same occurrence (see `engine.rs`).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

/// Labels: detector and outcome of one observation.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SignalLabels {
    /// Detector name (bounded set).
    pub detector: String,
    /// `created`, `merged`, `reopened`, `suppressed`, `recovered`, `unknown_incident`.
    pub outcome: &'static str,
}

/// Labels: detector and severity of a new incident.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OpenedLabels {
    /// Detector name.
    pub detector: String,
    /// Severity at opening.
    pub severity: &'static str,
}

/// Labels: a notification decision kind.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct NoticeLabels {
    /// `opened`, `escalated_persistent`, …
    pub kind: &'static str,
}

/// Labels: a failed store operation.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StoreErrorLabels {
    /// `observe`, `acknowledge`, `tick`, …
    pub operation: &'static str,
    /// `Error::metric_label()`.
    pub error: &'static str,
}

/// Labels: an alert the receiver did not turn into an observation.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct IgnoredLabels {
    /// Why: `ignored_alertname`, `namespace_not_watched`, `no_alertname`.
    pub reason: &'static str,
}

/// Labels: a notification channel.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ChannelLabels {
    /// Configured channel name (bounded by the config).
    pub channel: String,
}

/// Labels: a failed delivery attempt.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DeliveryFailureLabels {
    /// Channel name.
    pub channel: String,
    /// `retryable` or `permanent`.
    pub error: &'static str,
}

/// Labels: where an analysis came from.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct AnalysisLabels {
    /// `rules`, `llm` or `cache`.
    pub source: &'static str,
}

/// Labels: one LLM call.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LlmCallLabels {
    /// Provider name.
    pub provider: String,
    /// Model.
    pub model: String,
    /// `ok` or the error's metric label.
    pub outcome: String,
}

/// Labels: tokens of one provider and direction.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LlmTokenLabels {
    /// Provider name.
    pub provider: String,
    /// `input` or `output`.
    pub direction: &'static str,
}

/// Every metric the guardian exports.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Observations applied to the store.
    pub signals: Family<SignalLabels, Counter>,
    /// Incidents opened.
    pub incidents_opened: Family<OpenedLabels, Counter>,
    /// Notification decisions written to the outbox.
    pub notices: Family<NoticeLabels, Counter>,
    /// Store failures.
    pub store_errors: Family<StoreErrorLabels, Counter>,
    /// Alerts ignored by the Alertmanager receiver.
    pub alerts_ignored: Family<IgnoredLabels, Counter>,
    /// Resolved incidents deleted by retention.
    pub incidents_purged: Counter,
    /// Deliveries that reached their channel.
    pub notifications_sent: Family<ChannelLabels, Counter>,
    /// Failed delivery attempts (`permanent` ones end the delivery).
    pub notifications_failed: Family<DeliveryFailureLabels, Counter>,
    /// Deliveries waiting in the outbox.
    pub outbox_pending: Gauge,
    /// Deliveries that failed for good.
    pub outbox_failed: Gauge,
    /// Age of the oldest pending delivery in seconds (0 when none).
    pub outbox_oldest_pending_age_seconds: Gauge,
    /// Analyses stored.
    pub analyses: Family<AnalysisLabels, Counter>,
    /// LLM calls.
    pub llm_calls: Family<LlmCallLabels, Counter>,
    /// LLM tokens.
    pub llm_tokens: Family<LlmTokenLabels, Counter>,
    /// Known LLM cost in micro-dollars.
    pub llm_cost_micros: Counter,
    /// Analyses the rules engine answered because an LLM budget was exhausted.
    pub llm_budget_denied: Counter,
}

impl Metrics {
    /// Registers every metric under the `guardian` prefix.
    pub fn register(&self, registry: &mut Registry) {
        let r = registry.sub_registry_with_prefix("guardian");
        r.register(
            "signals",
            "Observations applied to the store",
            self.signals.clone(),
        );
        r.register(
            "incidents_opened",
            "Incidents opened",
            self.incidents_opened.clone(),
        );
        r.register(
            "notification_decisions",
            "Notification decisions written to the outbox",
            self.notices.clone(),
        );
        r.register(
            "store_errors",
            "Failed store operations",
            self.store_errors.clone(),
        );
        r.register(
            "alerts_ignored",
            "Alertmanager alerts not turned into incidents",
            self.alerts_ignored.clone(),
        );
        r.register(
            "incidents_purged",
            "Resolved incidents deleted by retention",
            self.incidents_purged.clone(),
        );
        r.register(
            "notifications_sent",
            "Notification deliveries that reached their channel",
            self.notifications_sent.clone(),
        );
        r.register(
            "notifications_failed",
            "Failed notification delivery attempts",
            self.notifications_failed.clone(),
        );
        r.register(
            "outbox_pending",
            "Notification deliveries waiting in the outbox",
            self.outbox_pending.clone(),
        );
        r.register(
            "outbox_failed",
            "Notification deliveries that failed for good",
            self.outbox_failed.clone(),
        );
        r.register(
            "analyses",
            "Incident analyses stored",
            self.analyses.clone(),
        );
        r.register("llm_calls", "LLM calls by outcome", self.llm_calls.clone());
        r.register("llm_tokens", "LLM tokens", self.llm_tokens.clone());
        r.register(
            "llm_cost_micros",
            "Known LLM cost in micro-dollars",
            self.llm_cost_micros.clone(),
        );
        r.register(
            "llm_budget_denied",
            "Analyses answered by the rules engine because an LLM budget was exhausted",
            self.llm_budget_denied.clone(),
        );
        r.register(
            "outbox_oldest_pending_age_seconds",
            "Age of the oldest pending notification delivery",
            self.outbox_oldest_pending_age_seconds.clone(),
        );
    }
}

/// Renders the registry in the Prometheus text format.
pub fn render(registry: &Registry) -> String {
    let mut out = String::new();
    if prometheus_client::encoding::text::encode(&mut out, registry).is_err() {
        out.clear();
    }
    out
}
