//! The analyze stage: turns incidents whose analysis is due into stored analysis records.
//!
//! Durable and quiet: the store marks an incident "analysis due" in the same transaction as the
//! change that calls for one (opened, reopened, escalated) or when the detector reports a new
//! reason; this worker picks due incidents up, so a restart loses nothing and repeated sightings
//! never cost an analysis (or tokens).
//!
//! Per incident: collect the numbered evidence from the latest cluster snapshot (none for a
//! plain `serve`: the incident's own signal is the only evidence), redact it (always), fit it to
//! the token budget, ask the rules engine, ground the answer, and store the record with the
//! redaction receipt and the exact redacted context. No store transaction is held meanwhile.

use std::sync::Arc;
use std::time::Duration;

use guardian_core::Incident;
use guardian_core::analysis::context::{self, Context};
use guardian_core::analysis::grounding::{self, Report};
use guardian_core::analysis::{Analysis, Source, fit, rules};
use guardian_core::detect::Snapshot;
use guardian_core::redact::Redactor;
use guardian_core::time::to_rfc3339;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::engine::Engine;
use crate::store::{Applied, IncidentStore, Result};

/// Incidents analysed per pass.
const BATCH: u32 = 50;

/// A new detector reason re-runs an analysis only when the last one is at least this old: a
/// failure that flips between two reasons (an event's `BackOff`, the scanner's
/// `CrashLoopBackOff`) must not re-analyse, and spend tokens, on every flip.
const NEW_EVIDENCE_MIN_AGE_MS: guardian_core::time::Millis = 15 * 60 * 1000;

/// Where the analyzer gets the current cluster view from (the live operator's reflector
/// caches, or the offline snapshot).
pub trait SnapshotSource: Send + Sync {
    /// The latest snapshot, if there is one.
    fn latest(&self) -> Option<Arc<Snapshot>>;
}

/// The latest snapshot of the live operator's scan loop (empty until the first scan, and for
/// a plain `serve`).
#[derive(Default)]
pub struct Latest(std::sync::RwLock<Option<Arc<Snapshot>>>);

impl Latest {
    /// Replaces the snapshot.
    pub fn set(&self, snapshot: Arc<Snapshot>) {
        // A poisoned lock only means a panic elsewhere while swapping an Arc; the value is
        // still a whole snapshot, so keep using it.
        *self
            .0
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(snapshot);
    }
}

impl SnapshotSource for Latest {
    fn latest(&self) -> Option<Arc<Snapshot>> {
        self.0
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

/// A fixed snapshot (offline `scan`).
pub struct Fixed(pub Arc<Snapshot>);

impl SnapshotSource for Fixed {
    fn latest(&self) -> Option<Arc<Snapshot>> {
        Some(self.0.clone())
    }
}

/// Tunables.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// Collection bounds.
    pub limits: context::Limits,
    /// Grounding thresholds.
    pub grounding: grounding::Policy,
    /// Token budget of the context.
    pub context_tokens: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            limits: context::Limits::default(),
            grounding: grounding::Policy::default(),
            // Enough for the incident, containers, 15 events and two 30-line log excerpts;
            // small enough for cheap models and fast local ones.
            context_tokens: 6_000,
        }
    }
}

/// Estimated tokens of a text when no model tokenizer applies: about four bytes per token for
/// English and logs, rounded up (tokenizers average 3.5–4.5 bytes on such text).
pub fn estimate_tokens(text: &str) -> u64 {
    (text.len() as u64).div_ceil(4)
}

/// The outcome of analysing one incident, before it is stored.
#[derive(Debug, Clone)]
pub struct Produced {
    /// The grounded answer.
    pub analysis: Analysis,
    /// The stored record (answer + provenance + receipt + context).
    pub record: Value,
    /// The redacted, fitted context.
    pub context: Context,
}

/// The analyzer.
pub struct Analyzer {
    engine: Arc<Engine>,
    redactor: Arc<Redactor>,
    settings: Settings,
    snapshots: Option<Arc<dyn SnapshotSource>>,
    llm: Option<Arc<crate::llm::Llm>>,
}

/// Where an answer came from and what it cost.
#[derive(Debug, Clone, Default)]
pub struct Provenance {
    /// Provider, for LLM answers.
    pub provider: Option<String>,
    /// Model, for LLM answers.
    pub model: Option<String>,
    /// Input tokens.
    pub tokens_in: u64,
    /// Output tokens.
    pub tokens_out: u64,
    /// Known cost.
    pub cost_micros: Option<u64>,
    /// Latency of the LLM calls.
    pub latency_ms: u64,
    /// Why the rules engine answered instead of the configured LLM.
    pub fallback_reason: Option<String>,
}

impl Analyzer {
    /// Builds the analyzer; without a snapshot source only the incident's signal is evidence.
    pub fn new(
        engine: Arc<Engine>,
        redactor: Arc<Redactor>,
        settings: Settings,
        snapshots: Option<Arc<dyn SnapshotSource>>,
        llm: Option<Arc<crate::llm::Llm>>,
    ) -> Self {
        Self {
            engine,
            redactor,
            settings,
            snapshots,
            llm,
        }
    }

    /// Analyses one incident with the rules engine (no store, no LLM).
    pub fn produce(
        &self,
        incident: &Incident,
        snapshot: Option<&Snapshot>,
        trigger: &str,
    ) -> Produced {
        produce(
            incident,
            snapshot,
            &self.redactor,
            &self.settings,
            trigger,
            self.engine.clock.now(),
        )
    }

    /// Analyses and stores one incident: the LLM when one is configured and within budget,
    /// else (or when it fails) the rules engine, which then says why in `fallback_reason`.
    pub async fn analyze(&self, incident: &Incident, trigger: &str) -> Result<Applied> {
        let snapshot = self.snapshots.as_ref().and_then(|s| s.latest());
        let now = self.engine.clock.now();
        // The budget is counted in the configured model's tokens when there is one.
        let context = match &self.llm {
            Some(llm) => {
                let count = |text: &str| guardian_llm::tokens::count(&llm.model, text);
                context_counted(
                    incident,
                    snapshot.as_deref(),
                    &self.redactor,
                    &self.settings,
                    &count,
                )
            }
            None => context_of(
                incident,
                snapshot.as_deref(),
                &self.redactor,
                &self.settings,
            ),
        };
        let (answer, source, provenance) = match &self.llm {
            None => (
                rules::analyze(&context, incident),
                Source::Rules,
                Provenance::default(),
            ),
            Some(llm) => self.ask(llm, &context, incident, now).await?,
        };
        let fallback = provenance.fallback_reason.is_some();
        let (analysis, report) = grounding::ground(
            answer,
            &context,
            incident.detector_severity,
            &self.settings.grounding,
            fallback,
        );
        let record = record(
            &analysis,
            source,
            &provenance,
            &report,
            &context,
            incident,
            trigger,
            now,
        );
        let label = match source {
            Source::Rules => "rules",
            Source::Llm => "llm",
            Source::Cache => "cache",
        };
        let applied = self
            .engine
            .store
            .record_analysis(
                &incident.id,
                &record,
                analysis.severity,
                analysis.needs_human_review,
                label,
                now,
            )
            .await?;
        tracing::info!(
            incident = %incident.id, trigger, source = label,
            category = %analysis.category, confidence = analysis.confidence,
            needs_review = analysis.needs_human_review,
            fallback_reason = provenance.fallback_reason.as_deref().unwrap_or(""),
            evidence = context.evidence.len(), redacted = context.receipt.total(),
            "Analysed an incident."
        );
        self.engine
            .metrics
            .analyses
            .get_or_create(&crate::metrics::AnalysisLabels { source: label })
            .inc();
        Ok(applied)
    }

    /// The LLM path. Store failures propagate; everything else falls back to the rules engine.
    async fn ask(
        &self,
        llm: &crate::llm::Llm,
        context: &Context,
        incident: &Incident,
        now: guardian_core::time::Millis,
    ) -> Result<(Analysis, Source, Provenance)> {
        let schema = guardian_core::analysis::schema();
        let request = llm.request(
            guardian_core::analysis::prompt::SYSTEM,
            guardian_core::analysis::prompt::user(context, &schema),
        );
        let fallback = |reason: String| {
            let provenance = Provenance {
                provider: Some(llm.name.clone()),
                model: Some(llm.model.clone()),
                fallback_reason: Some(reason),
                ..Provenance::default()
            };
            (rules::analyze(context, incident), Source::Rules, provenance)
        };
        if let Err(reason) = llm
            .budget_allows(&self.engine.store, llm.estimate(&request), now)
            .await
        {
            tracing::warn!(incident = %incident.id, reason = %reason, "An LLM budget is exhausted; the rules engine answers.");
            self.engine.metrics.llm_budget_denied.inc();
            return Ok(fallback(format!("over budget: {reason}")));
        }
        let (result, calls) = llm.call(&request, &incident.id, now).await;
        self.engine.store.record_llm_calls(&calls).await?;
        for c in &calls {
            let m = &self.engine.metrics;
            m.llm_calls
                .get_or_create(&crate::metrics::LlmCallLabels {
                    provider: c.provider.clone(),
                    model: c.model.clone(),
                    outcome: c.outcome.clone(),
                })
                .inc();
            for (direction, n) in [("input", c.input_tokens), ("output", c.output_tokens)] {
                m.llm_tokens
                    .get_or_create(&crate::metrics::LlmTokenLabels {
                        provider: c.provider.clone(),
                        direction,
                    })
                    .inc_by(n);
            }
            m.llm_cost_micros.inc_by(c.cost_micros.unwrap_or(0));
        }
        Ok(match result {
            Ok(answered) => (
                answered.analysis,
                Source::Llm,
                Provenance {
                    provider: Some(llm.name.clone()),
                    model: Some(llm.model.clone()),
                    tokens_in: answered.tokens_in,
                    tokens_out: answered.tokens_out,
                    cost_micros: answered.cost_micros,
                    latency_ms: answered.latency_ms,
                    fallback_reason: None,
                },
            ),
            Err(reason) => {
                tracing::warn!(incident = %incident.id, reason = %reason, "The LLM did not answer usably; the rules engine answers.");
                let (a, s, mut p) = fallback(reason);
                p.tokens_in = calls.iter().map(|c| c.input_tokens).sum();
                p.tokens_out = calls.iter().map(|c| c.output_tokens).sum();
                p.latency_ms = calls.iter().map(|c| c.latency_ms).sum();
                (a, s, p)
            }
        })
    }

    /// One pass over every incident whose analysis is due.
    pub async fn run_once(&self) -> Result<usize> {
        let before = self.engine.clock.now() - NEW_EVIDENCE_MIN_AGE_MS;
        let due = self.engine.store.due_analyses(BATCH, before).await?;
        let n = due.len();
        for d in due {
            self.analyze(&d.incident, &d.trigger).await?;
        }
        Ok(n)
    }

    /// Runs passes every `poll` until cancelled.
    pub async fn run(self: Arc<Self>, poll: Duration, cancel: CancellationToken) {
        let mut timer = tokio::time::interval(poll);
        timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = cancel.cancelled() => break,
                _ = timer.tick() => {
                    if let Err(error) = self.run_once().await {
                        tracing::error!(error = %error, "An analysis pass failed.");
                    }
                }
            }
        }
    }
}

/// The redacted, fitted context of `incident` (what an LLM would be sent), counted with the
/// bytes-based estimate (no model configured).
pub fn context_of(
    incident: &Incident,
    snapshot: Option<&Snapshot>,
    redactor: &Redactor,
    settings: &Settings,
) -> Context {
    context_counted(incident, snapshot, redactor, settings, &estimate_tokens)
}

/// [`context_of`] with a model's token counter (tiktoken for OpenAI-family models).
pub fn context_counted(
    incident: &Incident,
    snapshot: Option<&Snapshot>,
    redactor: &Redactor,
    settings: &Settings,
    count: fit::Counter<'_>,
) -> Context {
    let collected = context::collect(incident, snapshot, redactor, &settings.limits);
    fit::fit(collected, settings.context_tokens, count)
}

/// Analyses one incident with the rules engine: context, answer, grounding, record.
pub fn produce(
    incident: &Incident,
    snapshot: Option<&Snapshot>,
    redactor: &Redactor,
    settings: &Settings,
    trigger: &str,
    now: guardian_core::time::Millis,
) -> Produced {
    let context = context_of(incident, snapshot, redactor, settings);
    let answer = rules::analyze(&context, incident);
    let (analysis, report) = grounding::ground(
        answer,
        &context,
        incident.detector_severity,
        &settings.grounding,
        false,
    );
    let record = record(
        &analysis,
        Source::Rules,
        &Provenance::default(),
        &report,
        &context,
        incident,
        trigger,
        now,
    );
    Produced {
        analysis,
        record,
        context,
    }
}

/// The stored record: the schema fields plus provenance, grounding, the receipt and the exact
/// redacted context.
#[allow(clippy::too_many_arguments)] // the record is exactly these facts
pub fn record(
    analysis: &Analysis,
    source: Source,
    provenance: &Provenance,
    report: &Report,
    context: &Context,
    incident: &Incident,
    trigger: &str,
    now: guardian_core::time::Millis,
) -> Value {
    let mut value = serde_json::to_value(analysis).unwrap_or_else(|_| json!({}));
    if let Some(map) = value.as_object_mut() {
        let extra = json!({
            "source": source,
            "provider": provenance.provider,
            "model": provenance.model,
            "tokens_in": provenance.tokens_in,
            "tokens_out": provenance.tokens_out,
            "cost_micros": provenance.cost_micros,
            "latency_ms": provenance.latency_ms,
            "fallback_reason": provenance.fallback_reason,
            "trigger": trigger,
            "analyzed_at": to_rfc3339(now),
            "analyzed_at_ms": now,
            "analyzed_reason": incident.reason,
            "grounding": {
                "unknown_citations": report.unknown_citations,
                "capped_hypotheses": report.capped,
                "ungrounded": report.ungrounded,
            },
            "trimmed": context.trimmed,
            "receipt": context.receipt,
            "context": context,
        });
        if let Some(extra) = extra.as_object() {
            map.extend(extra.clone());
        }
    }
    value
}

/// The record as listed: without the (large) context.
pub fn summary(record: &Value) -> Value {
    let mut v = record.clone();
    if let Some(map) = v.as_object_mut() {
        map.remove("context");
    }
    v
}
