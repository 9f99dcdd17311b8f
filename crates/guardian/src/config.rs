//! The one typed configuration, loaded once at start-up.
//!
//! Sources, strongest first: command-line flags (each also settable from its env variable),
//! the YAML file, the defaults below. Secrets never come from the YAML file: the API token is
//! read from `GUARDIAN_API_TOKEN` or from the mounted file named by `api.token_file`, and is held
//! in a [`SecretString`] so it cannot be printed by accident.
//!
//! The doc comments on these structs *are* the configuration reference: `docs/configuration.md`
//! is generated from the JSON schema they produce (see [`reference_markdown`]).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use guardian_core::Severity;
use guardian_core::policy::Policy;
use guardian_core::time::secs;
use schemars::JsonSchema;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

/// Where the config is read from when neither `--config` nor `GUARDIAN_CONFIG` names a file.
/// A missing default file means "embedded defaults"; a missing *named* file is an error.
pub const DEFAULT_PATH: &str = "/etc/guardian/config.yaml";

/// Environment variable holding the API token.
pub const TOKEN_ENV: &str = "GUARDIAN_API_TOKEN";

/// SRE Guardian configuration file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Name of this cluster; part of every fingerprint and shown in every notification.
    pub cluster_name: String,
    /// HTTP API.
    pub api: ApiConfig,
    /// Incident store.
    pub store: StoreConfig,
    /// Incident lifecycle timers.
    pub incidents: IncidentsConfig,
    /// Escalation thresholds.
    pub escalation: EscalationConfig,
    /// Alertmanager webhook receiver (`POST /alertmanager`).
    pub alertmanager: AlertmanagerConfig,
    /// Notification channels, routing and delivery.
    pub notifications: NotificationsConfig,
    /// Root-cause analysis.
    pub analysis: AnalysisConfig,
    /// Kubernetes detectors (`guardian run` only; `serve` ignores this section).
    pub kubernetes: KubernetesConfig,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            cluster_name: "default".into(),
            api: ApiConfig::default(),
            store: StoreConfig::default(),
            incidents: IncidentsConfig::default(),
            escalation: EscalationConfig::default(),
            alertmanager: AlertmanagerConfig::default(),
            notifications: NotificationsConfig::default(),
            analysis: AnalysisConfig::default(),
            kubernetes: KubernetesConfig::default(),
        }
    }
}

/// HTTP API settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ApiConfig {
    /// Address to listen on (`--listen` overrides). Use `0.0.0.0:8080` inside a container.
    pub listen: String,
    /// Largest accepted request body; larger ones get 413. Alertmanager batches stay far below.
    pub max_body_bytes: usize,
    /// Requests taking longer are answered 408, so a stuck store cannot pile up connections.
    pub request_timeout_secs: u64,
    /// File holding the API token (a mounted Secret). Used when `GUARDIAN_API_TOKEN` is unset.
    /// Without a token the API is locked: every protected route answers 401.
    pub token_file: Option<PathBuf>,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            max_body_bytes: 1_000_000,
            request_timeout_secs: 30,
            token_file: None,
        }
    }
}

/// Incident store (SQLite).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    /// SQLite file (`--store` overrides). Created with its schema on first start.
    pub path: PathBuf,
    /// How long a statement waits for a lock held by another connection before failing.
    pub busy_timeout_ms: u64,
    /// Read-only connections serving the API next to the single writer.
    pub read_connections: u32,
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            path: "guardian.db".into(),
            busy_timeout_ms: 5_000,
            read_connections: 4,
        }
    }
}

/// Incident lifecycle timers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct IncidentsConfig {
    /// A sighting this long after a resolve reopens the same incident; later ones open a new one.
    pub reopen_window_secs: u64,
    /// Silence between sightings that ends an episode (the next sighting counts as a new episode
    /// for the recurring rule).
    pub episode_gap_secs: u64,
    /// Minimum time between two announcements (opened/reopened) of one incident, so a flapping
    /// cause does not page on every flap. Never extended by sightings.
    pub notify_cooldown_secs: u64,
    /// Default lifetime of an acknowledgement; when it lapses and the incident is still open it
    /// returns to `open` and is announced again. 0 = acknowledgements never expire.
    pub ack_expiry_secs: u64,
    /// Resolved incidents are deleted, with their history, this many days after resolving.
    pub resolved_retention_days: u64,
    /// How often the clock-driven rules run (ack expiry, escalation, delayed announcements,
    /// retention).
    pub tick_interval_secs: u64,
    /// Re-notify a critical incident that is still open and unacknowledged this long after its
    /// last notification. 0 (the default) = never: "still firing" is not news.
    pub repeat_interval_secs: u64,
}

impl Default for IncidentsConfig {
    fn default() -> Self {
        Self {
            reopen_window_secs: 24 * 3600,
            episode_gap_secs: 30 * 60,
            notify_cooldown_secs: 5 * 60,
            ack_expiry_secs: 4 * 3600,
            resolved_retention_days: 30,
            tick_interval_secs: 15,
            repeat_interval_secs: 0,
        }
    }
}

/// Escalation thresholds (time-based; each level notifies once per incident).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct EscalationConfig {
    /// Recurring: the fingerprint was seen in at least this many separate episodes …
    pub recurring_episodes: u32,
    /// … within this window.
    pub recurring_window_secs: u64,
    /// Persistent: open and unacknowledged for longer than this.
    pub persistent_unacked_secs: u64,
    /// Persistent: open for longer than this, even when acknowledged.
    pub persistent_open_secs: u64,
}

impl Default for EscalationConfig {
    fn default() -> Self {
        Self {
            recurring_episodes: 3,
            recurring_window_secs: 24 * 3600,
            persistent_unacked_secs: 3600,
            persistent_open_secs: 24 * 3600,
        }
    }
}

/// Alertmanager webhook receiver.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct AlertmanagerConfig {
    /// Accept `POST /alertmanager`.
    pub enabled: bool,
    /// Alert names that are never incidents (heartbeats and inhibition helpers).
    pub ignored_alertnames: Vec<String>,
    /// Only alerts from these namespaces become incidents; empty = all. Alerts without a
    /// `namespace` label are cluster-wide and always accepted.
    pub namespaces: Vec<String>,
    /// Severity for alerts whose `severity` label is missing or not info/warning/critical.
    pub default_severity: Severity,
}

impl Default for AlertmanagerConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            ignored_alertnames: vec!["Watchdog".into(), "InfoInhibitor".into()],
            namespaces: Vec::new(),
            default_severity: Severity::Warning,
        }
    }
}

/// Root-cause analysis. The built-in rules engine always runs (it is the default and the
/// fallback); redaction cannot be turned off.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct AnalysisConfig {
    /// Token budget of one incident's context; larger contexts are trimmed (logs first, never
    /// mid-structure) and the trimming is recorded.
    pub context_tokens: u64,
    /// Below this confidence an analysis is flagged `needs_human_review`.
    pub review_threshold: f64,
    /// Confidence cap for hypotheses that cite no existing evidence.
    pub uncited_cap: f64,
    /// Pods of the incident's owner described in the context.
    pub max_pods: usize,
    /// Events kept in the context.
    pub max_events: usize,
    /// Lines per log excerpt (error lines first).
    pub max_log_lines: usize,
    /// How often the analysis worker looks for incidents whose analysis is due.
    pub poll_interval_ms: u64,
    /// An optional LLM; without one (the default) the rules engine answers.
    pub llm: LlmConfig,
}

/// Which LLM API to talk to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LlmProviderKind {
    /// No LLM: the rules engine answers every incident.
    None,
    /// api.openai.com (Chat Completions, strict `json_schema`).
    Openai,
    /// Azure OpenAI (`base_url` = the resource endpoint, `model` = the deployment).
    AzureOpenai,
    /// Any OpenAI-compatible server: vLLM, llama.cpp server, LiteLLM, OpenRouter (`base_url`
    /// required, key optional).
    OpenaiCompatible,
    /// Anthropic Messages API (forced tool with the answer schema).
    Anthropic,
    /// Google Gemini (`responseJsonSchema`).
    Gemini,
    /// Ollama (`format` = the answer schema).
    Ollama,
}

/// The LLM used for analysis, and its limits. Calls are rate-limited per provider and charged
/// against hourly and daily budgets persisted in the store; over budget or failing, the rules
/// engine answers and the analysis says why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct LlmConfig {
    /// Provider (`none` disables the LLM).
    pub provider: LlmProviderKind,
    /// Model (the deployment name for Azure).
    pub model: String,
    /// API base URL; each provider has a default except `openai_compatible` and `azure_openai`.
    pub base_url: Option<String>,
    /// API key (`{env: VAR}` or `{file: PATH}`); optional for local servers.
    pub api_key: Option<SecretRef>,
    /// Azure OpenAI `api-version`.
    pub azure_api_version: String,
    /// OpenAI-compatible servers: how the schema is requested. `json_schema` (OpenAI, vLLM,
    /// LiteLLM, OpenRouter) or `json_object` (llama-cpp-python's server, which answers
    /// `json_schema` with HTTP 500).
    pub response_format: LlmResponseFormat,
    /// Most generated tokens per call.
    pub max_output_tokens: u32,
    /// Sampling temperature; 0 keeps answers reproducible.
    pub temperature: f32,
    /// Time budget of one call.
    pub timeout_ms: u64,
    /// Calls per minute to this provider; more are refused locally (the rules engine answers).
    pub requests_per_minute: u32,
    /// Retries of retryable failures (429 with retry-after, 5xx, timeouts); never 401/400 or
    /// exhausted quota.
    pub max_retries: u32,
    /// Most tokens (in + out) per clock hour; null = unlimited.
    pub hourly_token_budget: Option<u64>,
    /// Most tokens per UTC day; null = unlimited.
    pub daily_token_budget: Option<u64>,
    /// Most spend per clock hour in US dollars; null = unlimited.
    pub hourly_cost_budget_usd: Option<f64>,
    /// Most spend per UTC day in US dollars; null = unlimited.
    pub daily_cost_budget_usd: Option<f64>,
    /// Prices per model (longest `model_prefix` wins); an unpriced model's cost is unknown,
    /// never zero, and cost budgets then count only priced calls.
    pub prices: Vec<PriceConfig>,
}

impl Default for LlmConfig {
    fn default() -> Self {
        Self {
            provider: LlmProviderKind::None,
            model: String::new(),
            base_url: None,
            api_key: None,
            azure_api_version: "2024-10-21".into(),
            response_format: LlmResponseFormat::JsonSchema,
            max_output_tokens: 1_500,
            temperature: 0.0,
            timeout_ms: 60_000,
            requests_per_minute: 30,
            max_retries: 2,
            hourly_token_budget: None,
            daily_token_budget: Some(2_000_000),
            hourly_cost_budget_usd: None,
            daily_cost_budget_usd: Some(10.0),
            prices: Vec::new(),
        }
    }
}

/// How an OpenAI-compatible server is asked for schema-constrained JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LlmResponseFormat {
    /// `{type: "json_schema", json_schema: {name, schema, strict: true}}`.
    JsonSchema,
    /// `{type: "json_object", schema}`.
    JsonObject,
}

/// One price-table row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PriceConfig {
    /// Model name prefix (`gpt-4.1-mini`, `claude-haiku-4-5`).
    pub model_prefix: String,
    /// US dollars per million input tokens.
    pub input_usd_per_mtok: f64,
    /// US dollars per million output tokens.
    pub output_usd_per_mtok: f64,
    /// US dollars per million cached input tokens (defaults to the input price).
    #[serde(default)]
    pub cached_input_usd_per_mtok: Option<f64>,
}

impl Default for AnalysisConfig {
    fn default() -> Self {
        let limits = guardian_core::analysis::context::Limits::default();
        let grounding = guardian_core::analysis::grounding::Policy::default();
        Self {
            context_tokens: crate::analyze::Settings::default().context_tokens,
            review_threshold: grounding.review_threshold,
            uncited_cap: grounding.uncited_cap,
            max_pods: limits.max_pods,
            max_events: limits.max_events,
            max_log_lines: limits.max_log_lines,
            poll_interval_ms: 1_000,
            llm: LlmConfig::default(),
        }
    }
}

impl AnalysisConfig {
    /// The analyzer's settings.
    pub fn settings(&self) -> crate::analyze::Settings {
        crate::analyze::Settings {
            limits: guardian_core::analysis::context::Limits {
                max_pods: self.max_pods,
                max_events: self.max_events,
                max_log_lines: self.max_log_lines,
                ..guardian_core::analysis::context::Limits::default()
            },
            grounding: guardian_core::analysis::grounding::Policy {
                review_threshold: self.review_threshold,
                uncited_cap: self.uncited_cap,
            },
            context_tokens: self.context_tokens,
        }
    }

    fn validate(&self) -> Result<(), Error> {
        let bad = |key: &str, message: &str| {
            Err(Error::Invalid {
                key: key.to_string(),
                message: message.to_string(),
            })
        };
        if self.context_tokens < 256 {
            return bad("analysis.context_tokens", "must be at least 256");
        }
        if !(0.0..=1.0).contains(&self.review_threshold) {
            return bad("analysis.review_threshold", "must be between 0 and 1");
        }
        if !(0.0..=1.0).contains(&self.uncited_cap) {
            return bad("analysis.uncited_cap", "must be between 0 and 1");
        }
        if self.max_pods == 0 || self.max_log_lines == 0 {
            return bad(
                "analysis.max_pods",
                "max_pods and max_log_lines must be positive",
            );
        }
        if self.poll_interval_ms == 0 {
            return bad("analysis.poll_interval_ms", "must be positive");
        }
        let l = &self.llm;
        if l.provider == LlmProviderKind::None {
            return Ok(());
        }
        if l.model.trim().is_empty() {
            return bad(
                "analysis.llm.model",
                "must name a model when a provider is set",
            );
        }
        let needs_url = matches!(
            l.provider,
            LlmProviderKind::OpenaiCompatible | LlmProviderKind::AzureOpenai
        );
        match &l.base_url {
            None if needs_url => {
                return bad("analysis.llm.base_url", "is required for this provider");
            }
            Some(u) if !(u.starts_with("http://") || u.starts_with("https://")) => {
                return bad("analysis.llm.base_url", "must be an http(s) URL");
            }
            _ => {}
        }
        let needs_key = matches!(
            l.provider,
            LlmProviderKind::Openai
                | LlmProviderKind::AzureOpenai
                | LlmProviderKind::Anthropic
                | LlmProviderKind::Gemini
        );
        if needs_key && l.api_key.is_none() {
            return bad("analysis.llm.api_key", "is required for this provider");
        }
        if l.requests_per_minute == 0 {
            return bad("analysis.llm.requests_per_minute", "must be at least 1");
        }
        if l.max_output_tokens < 64 {
            return bad("analysis.llm.max_output_tokens", "must be at least 64");
        }
        if l.timeout_ms == 0 {
            return bad("analysis.llm.timeout_ms", "must be positive");
        }
        if !(0.0..=2.0).contains(&l.temperature) {
            return bad("analysis.llm.temperature", "must be between 0 and 2");
        }
        for (i, p) in l.prices.iter().enumerate() {
            if p.input_usd_per_mtok < 0.0
                || p.output_usd_per_mtok < 0.0
                || p.model_prefix.is_empty()
            {
                return Err(Error::Invalid {
                    key: format!("analysis.llm.prices[{i}]"),
                    message: "needs a model_prefix and non-negative prices".into(),
                });
            }
        }
        for (key, v) in [
            (
                "analysis.llm.hourly_cost_budget_usd",
                l.hourly_cost_budget_usd,
            ),
            (
                "analysis.llm.daily_cost_budget_usd",
                l.daily_cost_budget_usd,
            ),
        ] {
            if v.is_some_and(|v| v < 0.0) {
                return bad(key, "must not be negative");
            }
        }
        Ok(())
    }
}

/// Notification channels, routing and delivery.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct NotificationsConfig {
    /// Base URL under which humans reach the guardian API (e.g.
    /// `https://guardian.example.com`); notifications link to `<public_url>/incidents/<id>`.
    pub public_url: Option<String>,
    /// The channels. With none configured, decisions are printed by a console channel.
    pub channels: Vec<ChannelConfig>,
    /// Routes, evaluated in order: the first matching route's channels receive the decision;
    /// a route with `continue: true` lets evaluation go on to later routes (Alertmanager
    /// semantics).
    pub routes: Vec<RouteConfig>,
    /// Channels for decisions no route matched (the default route). Empty = every configured
    /// channel.
    pub default_channels: Vec<String>,
    /// Delivery attempts per channel before a delivery is marked `failed`.
    pub max_attempts: u32,
    /// First retry delay; doubles per attempt, with jitter, never below a receiver's
    /// `Retry-After`.
    pub initial_backoff_ms: u64,
    /// Longest retry delay.
    pub max_backoff_ms: u64,
    /// Time budget of one delivery request.
    pub request_timeout_ms: u64,
    /// How often the delivery worker looks for due deliveries.
    pub poll_interval_ms: u64,
}

impl Default for NotificationsConfig {
    fn default() -> Self {
        Self {
            public_url: None,
            channels: Vec::new(),
            routes: Vec::new(),
            default_channels: Vec::new(),
            max_attempts: 8,
            initial_backoff_ms: 1_000,
            max_backoff_ms: 300_000,
            request_timeout_ms: 10_000,
            poll_interval_ms: 1_000,
        }
    }
}

/// Kubernetes detectors: what `guardian run` watches and how often it scans its caches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct KubernetesConfig {
    /// Namespaces to watch; empty = all namespaces. With a list, one watch per namespace and
    /// kind is opened (so a namespaced Role per namespace is enough for namespaced kinds);
    /// Nodes and StorageClasses are cluster-scoped and always watched cluster-wide.
    pub namespaces: Vec<String>,
    /// Namespaces never watched (filtered server-side with a field selector when watching all
    /// namespaces). Incidents already open in them are left alone, never auto-resolved.
    pub exclude_namespaces: Vec<String>,
    /// Label selectors (`key=value`, `key!=value`, `key`, `!key`; comma = and) on objects'
    /// own labels. A failure on a matching object, or whose top owner matches (label the
    /// Deployment, not its pods), is ignored and its incidents are left alone.
    pub exclude_labels: Vec<String>,
    /// How often the caches are scanned: every detector runs over them, then the reconcile
    /// pass resolves incidents whose cause is gone. Each scan is one sighting per incident.
    pub scan_interval_secs: u64,
    /// The first scan waits for every watch to finish its initial list, at most this long;
    /// kinds still not synced then stay out of the scans (never "recovered") until they sync.
    pub startup_grace_secs: u64,
    /// Run even when the start-up permission check finds that this identity can read Secrets
    /// or write workloads. Off by default: the guardian is read-only by design, and a broad
    /// identity in a compromised process is a cluster takeover.
    pub allow_broad_permissions: bool,
    /// Detector tunables (graces, thresholds). `cluster_name` is copied from the top-level
    /// `cluster_name`; `exclude_namespaces` is merged with `kubernetes.exclude_namespaces`.
    pub detection: guardian_core::detect::Settings,
}

/// Namespaces excluded by default: the control plane's own. Their failures are the cloud
/// provider's (or the platform team's) business and would drown application incidents.
pub const DEFAULT_EXCLUDED_NAMESPACES: &[&str] = &["kube-system", "kube-public", "kube-node-lease"];

impl Default for KubernetesConfig {
    fn default() -> Self {
        Self {
            namespaces: Vec::new(),
            exclude_namespaces: DEFAULT_EXCLUDED_NAMESPACES
                .iter()
                .map(|n| (*n).to_string())
                .collect(),
            exclude_labels: vec!["guardian.io/ignore=true".into()],
            scan_interval_secs: 30,
            startup_grace_secs: 30,
            allow_broad_permissions: false,
            detection: guardian_core::detect::Settings::default(),
        }
    }
}

impl KubernetesConfig {
    /// The detector settings in effect: `cluster_name` from the top level, excluded
    /// namespaces merged.
    pub fn detection_settings(&self, cluster_name: &str) -> guardian_core::detect::Settings {
        let mut settings = self.detection.clone();
        settings.cluster_name = cluster_name.to_string();
        for ns in &self.exclude_namespaces {
            if !settings.exclude_namespaces.contains(ns) {
                settings.exclude_namespaces.push(ns.clone());
            }
        }
        settings
    }

    fn validate(&self, cluster_name: &str) -> Result<(), Error> {
        let bad = |key: String, message: String| Err(Error::Invalid { key, message });
        let mut seen = std::collections::BTreeSet::new();
        for (i, ns) in self.namespaces.iter().enumerate() {
            if !is_dns_label(ns) {
                return bad(
                    format!("kubernetes.namespaces[{i}]"),
                    format!("`{ns}` is not a namespace name (lowercase DNS label)"),
                );
            }
            if !seen.insert(ns) {
                return bad(
                    format!("kubernetes.namespaces[{i}]"),
                    format!("`{ns}` is listed twice"),
                );
            }
            if self.exclude_namespaces.contains(ns) {
                return bad(
                    format!("kubernetes.namespaces[{i}]"),
                    format!("`{ns}` is also in kubernetes.exclude_namespaces"),
                );
            }
        }
        for (i, ns) in self.exclude_namespaces.iter().enumerate() {
            if !is_dns_label(ns) {
                return bad(
                    format!("kubernetes.exclude_namespaces[{i}]"),
                    format!("`{ns}` is not a namespace name (lowercase DNS label)"),
                );
            }
        }
        for (i, selector) in self.exclude_labels.iter().enumerate() {
            if let Err(e) = crate::k8s::selector::LabelSelector::parse(selector) {
                return bad(format!("kubernetes.exclude_labels[{i}]"), e.to_string());
            }
        }
        if !(1..=3600).contains(&self.scan_interval_secs) {
            return bad(
                "kubernetes.scan_interval_secs".into(),
                "must be between 1 and 3600".into(),
            );
        }
        if self.startup_grace_secs > 3600 {
            return bad(
                "kubernetes.startup_grace_secs".into(),
                "must be at most 3600".into(),
            );
        }
        let d = &self.detection;
        let default_name = guardian_core::detect::Settings::default().cluster_name;
        if d.cluster_name != default_name && d.cluster_name != cluster_name {
            return bad(
                "kubernetes.detection.cluster_name".into(),
                "set the top-level `cluster_name` instead (it is copied here)".into(),
            );
        }
        if d.certificate_expiry_critical_days > d.certificate_expiry_warning_days {
            return bad(
                "kubernetes.detection.certificate_expiry_critical_days".into(),
                "must not exceed kubernetes.detection.certificate_expiry_warning_days".into(),
            );
        }
        if d.restart_threshold == 0 {
            return bad(
                "kubernetes.detection.restart_threshold".into(),
                "must be at least 1".into(),
            );
        }
        if d.log_tail_lines == 0 {
            return bad(
                "kubernetes.detection.log_tail_lines".into(),
                "must be at least 1".into(),
            );
        }
        Ok(())
    }
}

/// RFC 1123 label: what a namespace name must be.
fn is_dns_label(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-')
}

/// Where a secret is read from: exactly one of `env` (variable name) or `file` (a mounted
/// Secret). Secret values never appear in the YAML itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SecretRef {
    /// Environment variable holding the value.
    pub env: Option<String>,
    /// File holding the value (surrounding whitespace is trimmed).
    pub file: Option<PathBuf>,
}

/// One notification channel; `type` selects the kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ChannelConfig {
    /// Slack incoming webhook (no threading).
    SlackWebhook(SlackWebhookConfig),
    /// Slack bot API `chat.postMessage`, threading follow-ups under the first message.
    SlackBot(SlackBotConfig),
    /// PagerDuty Events API v2 (`dedup_key` = incident fingerprint).
    Pagerduty(PagerdutyConfig),
    /// Generic JSON webhook signed with HMAC-SHA256.
    Webhook(WebhookConfig),
    /// One readable line per decision on stdout.
    Console(ConsoleConfig),
}

impl ChannelConfig {
    /// The channel's name.
    pub fn name(&self) -> &str {
        match self {
            ChannelConfig::SlackWebhook(c) => &c.name,
            ChannelConfig::SlackBot(c) => &c.name,
            ChannelConfig::Pagerduty(c) => &c.name,
            ChannelConfig::Webhook(c) => &c.name,
            ChannelConfig::Console(c) => &c.name,
        }
    }

    /// The secrets it needs, as (field, reference).
    pub fn secrets(&self) -> Vec<(&'static str, &SecretRef)> {
        match self {
            ChannelConfig::SlackWebhook(c) => vec![("url", &c.url)],
            ChannelConfig::SlackBot(c) => vec![("token", &c.token)],
            ChannelConfig::Pagerduty(c) => vec![("routing_key", &c.routing_key)],
            ChannelConfig::Webhook(c) => vec![("url", &c.url), ("secret", &c.secret)],
            ChannelConfig::Console(_) => vec![],
        }
    }
}

/// Slack incoming webhook.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SlackWebhookConfig {
    /// Channel name used in routes.
    pub name: String,
    /// The webhook URL (a secret: it embeds the credential).
    pub url: SecretRef,
}

/// Slack bot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SlackBotConfig {
    /// Channel name used in routes.
    pub name: String,
    /// Bot token (`xoxb-…`).
    pub token: SecretRef,
    /// Slack channel id (`C0123…`).
    pub channel: String,
    /// Slack Web API base URL.
    #[serde(default = "default_slack_api")]
    pub api_url: String,
}

fn default_slack_api() -> String {
    "https://slack.com/api".into()
}

/// PagerDuty Events API v2.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PagerdutyConfig {
    /// Channel name used in routes.
    pub name: String,
    /// Integration routing key.
    pub routing_key: SecretRef,
    /// Events API endpoint.
    #[serde(default = "default_pagerduty_url")]
    pub events_url: String,
}

fn default_pagerduty_url() -> String {
    "https://events.pagerduty.com/v2/enqueue".into()
}

/// Generic signed webhook.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// Channel name used in routes.
    pub name: String,
    /// Target URL (treated as a secret: such URLs often embed a token).
    pub url: SecretRef,
    /// HMAC-SHA256 signing secret.
    pub secret: SecretRef,
}

/// Console output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsoleConfig {
    /// Channel name used in routes.
    pub name: String,
}

/// One routing rule. Every non-empty matcher must match; empty matchers match anything.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct RouteConfig {
    /// Severities (`info`, `warning`, `critical`).
    pub severities: Vec<Severity>,
    /// Namespace globs (`shop-*`); cluster-scoped incidents match only `""`-free routes.
    pub namespaces: Vec<String>,
    /// Categories (taxonomy spelling).
    pub categories: Vec<guardian_core::Category>,
    /// Detector names (`alertmanager`, `pod_scanner`, …).
    pub detectors: Vec<String>,
    /// Cluster names.
    pub clusters: Vec<String>,
    /// Channels that receive matching decisions.
    pub channels: Vec<String>,
    /// Keep evaluating later routes after this one matched.
    #[serde(rename = "continue")]
    pub continue_matching: bool,
}

/// Secrets, loaded from the environment or mounted files only.
#[derive(Debug, Clone, Default)]
pub struct Secrets {
    /// The API token; `None` locks the API.
    pub api_token: Option<SecretString>,
    /// Where the token came from, for `check-config` (never the value).
    pub api_token_source: Option<String>,
    /// Channel secrets by `(channel name, field)`.
    pub channels: std::collections::BTreeMap<(String, String), SecretString>,
    /// The LLM API key, when one is configured.
    pub llm_api_key: Option<SecretString>,
}

impl Secrets {
    /// A channel secret resolved at start-up.
    pub fn channel(&self, channel: &str, field: &str) -> Option<&SecretString> {
        self.channels.get(&(channel.to_string(), field.to_string()))
    }

    /// Every secret value, for the redactor's known-value pass.
    pub fn values(&self) -> Vec<String> {
        self.api_token
            .iter()
            .chain(self.channels.values())
            .chain(self.llm_api_key.iter())
            .map(|s| s.expose_secret().to_string())
            .collect()
    }
}

/// Why the configuration cannot be used. Every variant names the key at fault.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The named file cannot be read.
    #[error("unable to read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The YAML does not fit the schema (unknown key, wrong type).
    #[error("invalid config file {path}: key `{key}`: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// Dotted path of the offending key.
        key: String,
        /// The parser's message.
        message: String,
    },
    /// A value is out of range or inconsistent.
    #[error("invalid config: key `{key}`: {message}")]
    Invalid {
        /// Dotted path of the offending key.
        key: String,
        /// What is wrong.
        message: String,
    },
}

impl Error {
    /// Bounded label for metrics and logs.
    pub fn metric_label(&self) -> &'static str {
        match self {
            Error::Read { .. } => "read",
            Error::Parse { .. } => "parse",
            Error::Invalid { .. } => "invalid",
        }
    }
}

/// The loaded configuration plus its secrets and provenance.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The effective configuration (file, then flags applied).
    pub config: Config,
    /// Secrets from env and files.
    pub secrets: Secrets,
    /// The file it came from, `None` for embedded defaults.
    pub source: Option<PathBuf>,
}

/// Flag overrides that `run`/`serve` accept.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--listen`.
    pub listen: Option<String>,
    /// `--store`.
    pub store: Option<PathBuf>,
}

/// Parses YAML text; errors name the offending key.
pub fn parse(path: &Path, text: &str) -> Result<Config, Error> {
    // An empty file (or one holding only comments) means "all defaults".
    if text
        .lines()
        .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
    {
        return Ok(Config::default());
    }
    let deserializer = yaml_serde::Deserializer::from_str(text);
    serde_path_to_error::deserialize(deserializer).map_err(|err| {
        let key = err.path().to_string();
        let message = err.inner().to_string();
        Error::Parse {
            path: path.to_path_buf(),
            key: unknown_key(&key, &message),
            message,
        }
    })
}

/// For an unknown field, serde reports the *parent* path; append the unknown name so the
/// message points at the key the user wrote.
fn unknown_key(path: &str, message: &str) -> String {
    let unknown = message
        .strip_prefix("unknown field `")
        .and_then(|rest| rest.split('`').next());
    match (unknown, path) {
        (Some(name), "." | "") => name.to_string(),
        // serde_path_to_error already names the key itself at some depths.
        (Some(name), path) if path == name || path.ends_with(&format!(".{name}")) => {
            path.to_string()
        }
        (Some(name), parent) => format!("{parent}.{name}"),
        (None, path) => path.to_string(),
    }
}

/// Loads the configuration: `explicit` is `--config`/`GUARDIAN_CONFIG`; without it the
/// default path is used when it exists, else the embedded defaults.
pub fn load(explicit: Option<&Path>, overrides: &Overrides) -> Result<Settings, Error> {
    let (config, source) = match explicit {
        Some(path) => (read(path)?, Some(path.to_path_buf())),
        None if Path::new(DEFAULT_PATH).exists() => {
            let path = Path::new(DEFAULT_PATH);
            (read(path)?, Some(path.to_path_buf()))
        }
        None => (Config::default(), None),
    };
    let mut config = config;
    if let Some(listen) = &overrides.listen {
        config.api.listen = listen.clone();
    }
    if let Some(store) = &overrides.store {
        config.store.path = store.clone();
    }
    config.validate()?;
    let secrets = load_secrets(&config)?;
    Ok(Settings {
        config,
        secrets,
        source,
    })
}

fn read(path: &Path) -> Result<Config, Error> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse(path, &text)
}

fn load_secrets(config: &Config) -> Result<Secrets, Error> {
    let mut secrets = Secrets::default();
    if let Some(token) = std::env::var(TOKEN_ENV)
        .ok()
        .filter(|t| !t.trim().is_empty())
    {
        secrets.api_token = Some(SecretString::from(token.trim().to_string()));
        secrets.api_token_source = Some(format!("env {TOKEN_ENV}"));
    } else if let Some(path) = &config.api.token_file {
        let token = read_secret_file(path, "api.token_file")?;
        secrets.api_token = Some(token);
        secrets.api_token_source = Some(format!("file {}", path.display()));
    }
    if config.analysis.llm.provider != LlmProviderKind::None
        && let Some(reference) = &config.analysis.llm.api_key
    {
        secrets.llm_api_key = Some(resolve_secret(reference, "analysis.llm.api_key")?);
    }
    for (index, channel) in config.notifications.channels.iter().enumerate() {
        for (field, reference) in channel.secrets() {
            let key = format!("notifications.channels[{index}].{field}");
            let value = resolve_secret(reference, &key)?;
            secrets
                .channels
                .insert((channel.name().to_string(), field.to_string()), value);
        }
    }
    Ok(secrets)
}

fn read_secret_file(path: &Path, key: &str) -> Result<SecretString, Error> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::Invalid {
        key: key.to_string(),
        message: format!("unable to read {}: {e}", path.display()),
    })?;
    let text = text.trim();
    if text.is_empty() {
        return Err(Error::Invalid {
            key: key.to_string(),
            message: format!("{} is empty", path.display()),
        });
    }
    Ok(SecretString::from(text.to_string()))
}

fn resolve_secret(reference: &SecretRef, key: &str) -> Result<SecretString, Error> {
    match (&reference.env, &reference.file) {
        (Some(var), None) => std::env::var(var)
            .ok()
            .filter(|v| !v.trim().is_empty())
            .map(|v| SecretString::from(v.trim().to_string()))
            .ok_or_else(|| Error::Invalid {
                key: format!("{key}.env"),
                message: format!("environment variable {var} is not set"),
            }),
        (None, Some(path)) => read_secret_file(path, &format!("{key}.file")),
        _ => Err(Error::Invalid {
            key: key.to_string(),
            message: "give exactly one of `env` or `file`".into(),
        }),
    }
}

impl Config {
    /// Range and consistency checks; the first failure names its key.
    pub fn validate(&self) -> Result<(), Error> {
        let bad = |key: &str, message: &str| {
            Err(Error::Invalid {
                key: key.to_string(),
                message: message.to_string(),
            })
        };
        if self.cluster_name.trim().is_empty() {
            return bad("cluster_name", "must not be empty");
        }
        if self.api.listen.parse::<SocketAddr>().is_err() {
            return bad("api.listen", "must be an address like 127.0.0.1:8080");
        }
        if self.api.max_body_bytes < 1024 {
            return bad("api.max_body_bytes", "must be at least 1024");
        }
        if self.api.request_timeout_secs == 0 {
            return bad("api.request_timeout_secs", "must be positive");
        }
        if self.store.path.as_os_str().is_empty() {
            return bad("store.path", "must not be empty");
        }
        if self.store.read_connections == 0 {
            return bad("store.read_connections", "must be at least 1");
        }
        if self.incidents.tick_interval_secs == 0 {
            return bad("incidents.tick_interval_secs", "must be positive");
        }
        if self.incidents.resolved_retention_days == 0 {
            return bad("incidents.resolved_retention_days", "must be at least 1");
        }
        if self.incidents.episode_gap_secs == 0 {
            return bad("incidents.episode_gap_secs", "must be positive");
        }
        if self.escalation.recurring_episodes < 2 {
            return bad("escalation.recurring_episodes", "must be at least 2");
        }
        if self.escalation.recurring_window_secs == 0 {
            return bad("escalation.recurring_window_secs", "must be positive");
        }
        if self.escalation.persistent_unacked_secs == 0 {
            return bad("escalation.persistent_unacked_secs", "must be positive");
        }
        if self.escalation.persistent_open_secs < self.escalation.persistent_unacked_secs {
            return bad(
                "escalation.persistent_open_secs",
                "must not be shorter than escalation.persistent_unacked_secs",
            );
        }
        self.kubernetes.validate(&self.cluster_name)?;
        self.analysis.validate()?;
        self.validate_notifications()
    }

    fn validate_notifications(&self) -> Result<(), Error> {
        let n = &self.notifications;
        let bad = |key: String, message: String| Err(Error::Invalid { key, message });
        if let Some(url) = &n.public_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return bad(
                "notifications.public_url".into(),
                "must be an http(s) URL".into(),
            );
        }
        if n.max_attempts == 0 {
            return bad(
                "notifications.max_attempts".into(),
                "must be at least 1".into(),
            );
        }
        if n.initial_backoff_ms == 0 || n.max_backoff_ms < n.initial_backoff_ms {
            return bad(
                "notifications.max_backoff_ms".into(),
                "must be at least notifications.initial_backoff_ms, which must be positive".into(),
            );
        }
        if n.request_timeout_ms == 0 || n.poll_interval_ms == 0 {
            return bad(
                "notifications.request_timeout_ms".into(),
                "request_timeout_ms and poll_interval_ms must be positive".into(),
            );
        }
        let mut names = std::collections::BTreeSet::new();
        for (i, channel) in n.channels.iter().enumerate() {
            let name = channel.name();
            if name.trim().is_empty() || !names.insert(name) {
                return bad(
                    format!("notifications.channels[{i}].name"),
                    format!("`{name}` must be non-empty and unique"),
                );
            }
            let url = match channel {
                ChannelConfig::SlackBot(c) => Some(&c.api_url),
                ChannelConfig::Pagerduty(c) => Some(&c.events_url),
                _ => None,
            };
            if let Some(url) = url
                && !(url.starts_with("http://") || url.starts_with("https://"))
            {
                return bad(
                    format!("notifications.channels[{i}]"),
                    "URLs must be http(s)".into(),
                );
            }
        }
        let known = |c: &String| names.contains(c.as_str());
        for (i, route) in n.routes.iter().enumerate() {
            if route.channels.is_empty() {
                return bad(
                    format!("notifications.routes[{i}].channels"),
                    "must name at least one channel".into(),
                );
            }
            if let Some(c) = route.channels.iter().find(|c| !known(c)) {
                return bad(
                    format!("notifications.routes[{i}].channels"),
                    format!("unknown channel `{c}`"),
                );
            }
            if let Some(g) = route
                .namespaces
                .iter()
                .find(|g| globset::Glob::new(g).is_err())
            {
                return bad(
                    format!("notifications.routes[{i}].namespaces"),
                    format!("`{g}` is not a valid glob"),
                );
            }
        }
        if let Some(c) = n.default_channels.iter().find(|c| !known(c)) {
            return bad(
                "notifications.default_channels".into(),
                format!("unknown channel `{c}`"),
            );
        }
        Ok(())
    }

    /// The address to listen on (validated by [`Config::validate`]).
    pub fn listen_addr(&self) -> SocketAddr {
        self.api
            .listen
            .parse()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 8080)))
    }

    /// The decision policy this configuration describes.
    pub fn policy(&self) -> Policy {
        let i = &self.incidents;
        let e = &self.escalation;
        Policy {
            reopen_window_ms: secs(i.reopen_window_secs),
            episode_gap_ms: secs(i.episode_gap_secs),
            notify_cooldown_ms: secs(i.notify_cooldown_secs),
            ack_expiry_ms: (i.ack_expiry_secs > 0).then(|| secs(i.ack_expiry_secs)),
            recurring_episodes: e.recurring_episodes,
            recurring_window_ms: secs(e.recurring_window_secs),
            persistent_unacked_ms: secs(e.persistent_unacked_secs),
            persistent_open_ms: secs(e.persistent_open_secs),
            resolved_retention_ms: secs(i.resolved_retention_days.saturating_mul(24 * 3600)),
            repeat_interval_ms: (i.repeat_interval_secs > 0).then(|| secs(i.repeat_interval_secs)),
        }
    }
}

impl Settings {
    /// The effective configuration as YAML, secrets masked, for `check-config`.
    pub fn effective_yaml(&self) -> String {
        let mut text = format!(
            "# source: {}\n",
            self.source
                .as_ref()
                .map_or("embedded defaults".to_string(), |p| p.display().to_string())
        );
        text.push_str(&yaml_serde::to_string(&self.config).unwrap_or_default());
        let token = match (&self.secrets.api_token, &self.secrets.api_token_source) {
            (Some(t), Some(src)) if !t.expose_secret().is_empty() => {
                format!("\"[REDACTED]\"  # from {src}")
            }
            _ => format!("null  # not set: the API is locked (set {TOKEN_ENV} or api.token_file)"),
        };
        text.push_str(&format!("# secrets\n# api_token: {token}\n"));
        if self.secrets.llm_api_key.is_some() {
            text.push_str("# analysis.llm.api_key: \"[REDACTED]\"\n");
        }
        for (channel, field) in self.secrets.channels.keys() {
            text.push_str(&format!("# {channel}.{field}: \"[REDACTED]\"\n"));
        }
        text
    }
}

/// The configuration reference (docs/configuration.md), generated from the schema.
pub fn reference_markdown() -> String {
    let schema = serde_json::to_value(schemars::schema_for!(Config)).unwrap_or_default();
    let defaults = serde_json::to_value(Config::default()).unwrap_or_default();
    let mut out = String::from(
        "# Configuration reference\n\n\
         <!-- Generated from the config types by `guardian config-reference`; do not edit. -->\n\n\
         One YAML file, read from `--config FILE` (env `GUARDIAN_CONFIG`), else from\n\
         `/etc/guardian/config.yaml` when it exists, else embedded defaults. Unknown keys and invalid\n\
         values stop start-up with a message naming the key. `guardian check-config` prints the\n\
         effective configuration with secrets masked.\n\n\
         Secrets never live in this file: the API token comes from `GUARDIAN_API_TOKEN` or from the\n\
         file named by `api.token_file`.\n\n\
         | key | type | default | meaning |\n|---|---|---|---|\n",
    );
    walk(&schema, &schema, &defaults, "", &mut out);
    out
}

fn walk(
    root: &serde_json::Value,
    node: &serde_json::Value,
    defaults: &serde_json::Value,
    prefix: &str,
    out: &mut String,
) {
    let Some(props) = node.get("properties").and_then(|p| p.as_object()) else {
        return;
    };
    for (name, prop) in props {
        let key = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}.{name}")
        };
        let resolved = resolve(root, prop);
        let default = &defaults[name.as_str()];
        if resolved.get("properties").is_some() {
            walk(root, resolved, default, &key, out);
            continue;
        }
        let ty = type_name(root, resolved);
        let doc = prop
            .get("description")
            .or_else(|| resolved.get("description"))
            .and_then(|d| d.as_str())
            .unwrap_or("")
            .replace('\n', " ");
        out.push_str(&format!("| `{key}` | {ty} | `{default}` | {doc} |\n"));
    }
}

fn resolve<'a>(root: &'a serde_json::Value, node: &'a serde_json::Value) -> &'a serde_json::Value {
    if let Some(reference) = node.get("$ref").and_then(|r| r.as_str()) {
        let name = reference.rsplit('/').next().unwrap_or("");
        return &root["$defs"][name];
    }
    node
}

fn type_name(root: &serde_json::Value, node: &serde_json::Value) -> String {
    if let Some(values) = node.get("enum").and_then(|e| e.as_array()) {
        return values
            .iter()
            .filter_map(|v| v.as_str())
            .collect::<Vec<_>>()
            .join(" \\| ");
    }
    if let Some(one_of) = node.get("oneOf").and_then(|o| o.as_array()) {
        // Documented enum variants arrive as `oneOf: [{const: …}, …]`.
        let parts: Vec<String> = one_of
            .iter()
            .map(|n| match n.get("const").and_then(|c| c.as_str()) {
                Some(c) => c.to_string(),
                None => type_name(root, n),
            })
            .collect();
        return parts.join(" \\| ");
    }
    match node.get("type") {
        Some(serde_json::Value::String(t)) if t == "array" => {
            let item = node.get("items").map(|i| type_name(root, resolve(root, i)));
            format!("list of {}", item.unwrap_or_else(|| "any".into()))
        }
        Some(serde_json::Value::String(t)) => t.clone(),
        Some(serde_json::Value::Array(ts)) => ts
            .iter()
            .filter_map(|t| t.as_str())
            .collect::<Vec<_>>()
            .join(" \\| "),
        _ => {
            let resolved = resolve(root, node);
            if !std::ptr::eq(resolved, node) {
                type_name(root, resolved)
            } else {
                "any".into()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_err(text: &str) -> String {
        parse(Path::new("c.yaml"), text).unwrap_err().to_string()
    }

    #[test]
    fn unknown_keys_are_named_with_their_path() {
        let msg = parse_err("escalation:\n  recurring_episodez: 3\n");
        assert!(msg.contains("key `escalation.recurring_episodez`"), "{msg}");
        let msg = parse_err("bogus: 1\n");
        assert!(msg.contains("key `bogus`"), "{msg}");
    }

    #[test]
    fn wrong_types_are_named_with_their_path() {
        let msg = parse_err("incidents:\n  ack_expiry_secs: soon\n");
        assert!(msg.contains("key `incidents.ack_expiry_secs`"), "{msg}");
        let msg = parse_err("alertmanager:\n  default_severity: high\n");
        assert!(msg.contains("key `alertmanager.default_severity`"), "{msg}");
    }

    #[test]
    fn invalid_values_are_named() {
        let mut c = Config::default();
        c.escalation.recurring_episodes = 1;
        assert!(
            c.validate()
                .unwrap_err()
                .to_string()
                .contains("escalation.recurring_episodes")
        );
        let mut c = Config::default();
        c.api.listen = "nowhere".into();
        assert!(c.validate().unwrap_err().to_string().contains("api.listen"));
    }

    #[test]
    fn kubernetes_section_is_validated_by_key() {
        let msg = parse_err("kubernetes:\n  namespacez: [a]\n");
        assert!(msg.contains("key `kubernetes.namespacez`"), "{msg}");
        let msg = parse_err("kubernetes:\n  detection:\n    pod_grace: 1\n");
        assert!(
            msg.contains("key `kubernetes.detection.pod_grace`"),
            "{msg}"
        );
        let invalid = |text: &str| {
            parse(Path::new("c.yaml"), text)
                .unwrap()
                .validate()
                .unwrap_err()
                .to_string()
        };
        let msg = invalid("kubernetes:\n  namespaces: [Shop]\n");
        assert!(msg.contains("kubernetes.namespaces[0]"), "{msg}");
        let msg = invalid("kubernetes:\n  namespaces: [kube-system]\n");
        assert!(
            msg.contains("also in kubernetes.exclude_namespaces"),
            "{msg}"
        );
        let msg = invalid("kubernetes:\n  exclude_labels: [\"a=b\", \"=x\"]\n");
        assert!(msg.contains("kubernetes.exclude_labels[1]"), "{msg}");
        let msg = invalid("kubernetes:\n  scan_interval_secs: 0\n");
        assert!(msg.contains("kubernetes.scan_interval_secs"), "{msg}");
        let msg = invalid("kubernetes:\n  detection:\n    cluster_name: other\n");
        assert!(msg.contains("kubernetes.detection.cluster_name"), "{msg}");
    }

    #[test]
    fn detection_settings_take_the_cluster_name_and_merge_exclusions() {
        let c = parse(
            Path::new("c.yaml"),
            "cluster_name: prod\nkubernetes:\n  exclude_namespaces: [a]\n  detection:\n    exclude_namespaces: [b]\n    node_not_ready_grace_secs: 5\n",
        )
        .unwrap();
        c.validate().unwrap();
        let d = c.kubernetes.detection_settings(&c.cluster_name);
        assert_eq!(d.cluster_name, "prod");
        assert_eq!(d.exclude_namespaces, vec!["b".to_string(), "a".to_string()]);
        assert_eq!(d.node_not_ready_grace_secs, 5);
        assert_eq!(
            Config::default().kubernetes.exclude_namespaces,
            DEFAULT_EXCLUDED_NAMESPACES
        );
    }

    #[test]
    fn partial_file_keeps_other_defaults() {
        let c = parse(
            Path::new("c.yaml"),
            "cluster_name: prod\nincidents:\n  ack_expiry_secs: 0\n",
        )
        .unwrap();
        assert_eq!(c.cluster_name, "prod");
        assert_eq!(c.incidents.ack_expiry_secs, 0);
        assert_eq!(
            c.incidents.reopen_window_secs,
            IncidentsConfig::default().reopen_window_secs
        );
        assert_eq!(c.policy().ack_expiry_ms, None);
        assert_eq!(
            parse(Path::new("c.yaml"), "# nothing\n").unwrap(),
            Config::default()
        );
    }

    #[test]
    fn effective_yaml_masks_the_token() {
        let settings = Settings {
            config: Config::default(),
            secrets: Secrets {
                api_token: Some(SecretString::from("s3cr3t-token-value".to_string())),
                api_token_source: Some("env GUARDIAN_API_TOKEN".into()),
                ..Secrets::default()
            },
            source: None,
        };
        let text = settings.effective_yaml();
        assert!(!text.contains("s3cr3t-token-value"));
        assert!(text.contains("[REDACTED]"));
        // and the printed YAML parses back into the same config
        assert_eq!(parse(Path::new("x"), &text).unwrap(), Config::default());
    }

    #[test]
    fn committed_reference_is_current() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/configuration.md");
        let generated = reference_markdown();
        if std::env::var_os("UPDATE_DOCS").is_some() {
            std::fs::write(path, &generated).unwrap();
        }
        let committed = std::fs::read_to_string(path).unwrap_or_default();
        assert_eq!(
            committed, generated,
            "docs/configuration.md is stale: run `UPDATE_DOCS=1 cargo test -p guardian config` or `guardian config-reference > docs/configuration.md`"
        );
        assert!(generated.contains("`escalation.recurring_episodes`"));
    }
}
