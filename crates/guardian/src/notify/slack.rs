//! Slack: an incoming webhook ([`SlackWebhook`]) and the bot Web API ([`SlackBot`]).
//!
//! Both post the same Block Kit message (see [`render`]): a `text` fallback (what
//! notifications, screen readers and old clients show) plus `blocks`. No Slack SDK: the two
//! endpoints are one POST each.
//!
//! Provider contract, as relied on here:
//! - **Incoming webhook**: `POST <webhook url>` with JSON. Slack answers `200 ok` (plain text);
//!   failures are HTTP statuses with a short code as plain text (`400 invalid_payload`,
//!   `403 invalid_token`, `404 channel_not_found`, `410 channel_is_archived`, `429` with
//!   `Retry-After`). The shared [`classify`] policy applies. Webhooks return no `ts`, so they
//!   cannot thread: every decision is a new top-level message.
//! - **Bot API**: `POST {api_url}/chat.postMessage` with `Authorization: Bearer <token>` and
//!   JSON `{channel, text, blocks, thread_ts?}`. Slack answers HTTP 200 even for most failures,
//!   with `{"ok": false, "error": "<code>"}`; only rate limiting is also a real `429` with
//!   `Retry-After`. The codes in [`RETRYABLE_CODES`] are transient on Slack's side; every other
//!   code (`invalid_auth`, `channel_not_found`, `not_in_channel`, `msg_too_long`, …) needs a
//!   human to fix configuration, so retrying cannot help.
//! - **Threading** is decided by the outbox, not here: it passes `thread_ts: None` for
//!   decisions that start a thread (opened, reopened) and the stored root `ts` for follow-ups.
//!   [`SlackBot`] only honours the field and reports the posted message's `ts`, which the outbox
//!   stores when the message was a root.
//!
//! Choices:
//! - Every piece of incident text is escaped for Slack `mrkdwn` (`&`, `<`, `>`): cluster data is
//!   untrusted, and an unescaped `<!channel>` or `<https://evil|click>` in a pod message would
//!   become a mass mention or a disguised link.
//! - Slack rejects a section whose text exceeds 3,000 characters (`invalid_blocks`, a permanent
//!   failure), so every text is cut to its block's limit with an ellipsis rather than risking
//!   the whole message.
//! - The webhook URL and the token are credentials: they never appear in a [`SendError`] or a
//!   log line. Error reasons carry at most Slack's short error code, and only when it looks like
//!   one (lower-case identifier).

use futures::FutureExt;
use futures::future::BoxFuture;
use reqwest::header::{CONTENT_TYPE, HeaderMap};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::{
    Delivered, Message, Notifier, SendError, classify, headline, read_capped, request_error,
    retry_after, truncate,
};
use guardian_core::decide::NoticeKind;
use guardian_core::time::to_rfc3339;

/// Slack's limit on a section's text (and on a text object in general), in characters.
pub const SECTION_LIMIT: usize = 3_000;
/// Slack's limit on a header block's text.
const HEADER_LIMIT: usize = 150;
/// Slack's limit on one section field.
const FIELD_LIMIT: usize = 2_000;
/// Slack's limit on a link button's URL.
const BUTTON_URL_LIMIT: usize = 3_000;
/// Hypotheses shown; the rest stay in the API (the analysis may carry up to five).
const TOP_HYPOTHESES: usize = 3;

/// Bot API error codes that are transient on Slack's side; every other code is permanent.
pub const RETRYABLE_CODES: &[&str] = &[
    "ratelimited",
    "internal_error",
    "fatal_error",
    "service_unavailable",
    "request_timeout",
];

/// A Slack incoming webhook (no threading).
#[derive(Debug, Clone)]
pub struct SlackWebhook {
    /// Configured channel name.
    name: String,
    /// The webhook URL; it embeds the credential, so it is a secret.
    url: SecretString,
    /// Shared client (its timeout bounds every delivery).
    http: reqwest::Client,
}

impl SlackWebhook {
    /// A channel posting to the incoming-webhook `url`.
    pub fn new(name: String, url: SecretString, http: reqwest::Client) -> Self {
        Self { name, url, http }
    }
}

impl Notifier for SlackWebhook {
    fn name(&self) -> &str {
        &self.name
    }

    fn send<'a>(&'a self, message: &'a Message) -> BoxFuture<'a, Result<Delivered, SendError>> {
        async move {
            let body = render(message);
            let response = self
                .http
                .post(self.url.expose_secret())
                .json(&body)
                .send()
                .await
                .map_err(|e| request_error(&e))?;
            let status = response.status();
            let headers = response.headers().clone();
            if let Err(error) = classify(status, &headers) {
                // Webhook failures answer a short plain-text code (`invalid_token`, …).
                let answer = read_capped(response).await;
                return Err(with_code(error, slack_code(&answer)));
            }
            Ok(Delivered::default())
        }
        .boxed()
    }
}

/// A Slack bot posting with `chat.postMessage`, threading follow-ups under the root.
#[derive(Debug, Clone)]
pub struct SlackBot {
    /// Configured channel name.
    name: String,
    /// Bot token (`xoxb-…`).
    token: SecretString,
    /// Slack channel id (`C0123…`).
    channel: String,
    /// Web API base URL (`https://slack.com/api`), without a trailing slash.
    api_url: String,
    /// Shared client (its timeout bounds every delivery).
    http: reqwest::Client,
}

impl SlackBot {
    /// A channel posting into Slack channel `channel` through the Web API at `api_url`.
    pub fn new(
        name: String,
        token: SecretString,
        channel: String,
        api_url: String,
        http: reqwest::Client,
    ) -> Self {
        let api_url = api_url.trim_end_matches('/').to_string();
        Self {
            name,
            token,
            channel,
            api_url,
            http,
        }
    }
}

/// The part of a `chat.postMessage` answer we use.
#[derive(Debug, Deserialize)]
struct PostAnswer {
    ok: bool,
    #[serde(default)]
    ts: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

impl Notifier for SlackBot {
    fn name(&self) -> &str {
        &self.name
    }

    fn send<'a>(&'a self, message: &'a Message) -> BoxFuture<'a, Result<Delivered, SendError>> {
        async move {
            let mut body = render(message);
            if let Value::Object(map) = &mut body {
                map.insert("channel".into(), Value::String(self.channel.clone()));
                if let Some(ts) = &message.thread_ts {
                    map.insert("thread_ts".into(), Value::String(ts.clone()));
                }
            }
            let bytes = serde_json::to_vec(&body).map_err(|e| SendError::Permanent {
                reason: format!("unable to encode the Slack message: {e}"),
            })?;
            let response = self
                .http
                .post(format!("{}/chat.postMessage", self.api_url))
                .bearer_auth(self.token.expose_secret())
                // NB: with a bare `application/json` Slack accepts the body but adds a
                // `missing_charset` warning to every answer.
                .header(CONTENT_TYPE, "application/json; charset=utf-8")
                .body(bytes)
                .send()
                .await
                .map_err(|e| request_error(&e))?;
            let status = response.status();
            let headers = response.headers().clone();
            let answer = read_capped(response).await;
            if let Err(error) = classify(status, &headers) {
                let code = serde_json::from_str::<PostAnswer>(&answer)
                    .ok()
                    .and_then(|a| a.error);
                return Err(with_code(error, code.as_deref().and_then(slack_code)));
            }
            interpret(&answer, &headers)
        }
        .boxed()
    }
}

/// Turns a 2xx `chat.postMessage` answer into the outcome.
fn interpret(answer: &str, headers: &HeaderMap) -> Result<Delivered, SendError> {
    let Ok(answer) = serde_json::from_str::<PostAnswer>(answer) else {
        // Something between us and Slack answered; the post may or may not have happened, and
        // delivery is at least once anyway.
        return Err(SendError::Retryable {
            after: None,
            reason: "Slack answered 2xx with a body that is not a chat.postMessage answer".into(),
        });
    };
    if answer.ok {
        return Ok(Delivered {
            thread_ts: answer.ts,
        });
    }
    let code = answer
        .error
        .as_deref()
        .and_then(slack_code)
        .unwrap_or("unknown_error");
    let reason = format!("Slack refused the message: {code}");
    if RETRYABLE_CODES.contains(&code) {
        Err(SendError::Retryable {
            after: retry_after(headers),
            reason,
        })
    } else {
        Err(SendError::Permanent { reason })
    }
}

/// `text` when it looks like a Slack error code (`invalid_token`): a short lower-case
/// identifier. Anything else is dropped, so an answer can never smuggle a URL or token into an
/// error reason.
fn slack_code(text: &str) -> Option<&str> {
    let text = text.trim();
    let looks_like_code = !text.is_empty()
        && text.len() <= 64
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    looks_like_code.then_some(text)
}

/// Appends Slack's error code to a classified failure.
fn with_code(error: SendError, code: Option<&str>) -> SendError {
    let Some(code) = code else {
        return error;
    };
    match error {
        SendError::Retryable { after, reason } => SendError::Retryable {
            after,
            reason: format!("{reason} ({code})"),
        },
        SendError::Permanent { reason } => SendError::Permanent {
            reason: format!("{reason} ({code})"),
        },
    }
}

/// The Block Kit message for `message`: `{text, blocks, unfurl_links, unfurl_media}`. The bot
/// adds `channel` and `thread_ts`.
pub fn render(message: &Message) -> Value {
    let i = &message.incident;
    let title = format!("{} {}", emoji(message), headline(message));
    let mut blocks = vec![json!({
        "type": "header",
        "text": {"type": "plain_text", "text": truncate(&title, HEADER_LIMIT), "emoji": true},
    })];
    if !i.summary.trim().is_empty() {
        blocks.push(section(&format!(
            ">{}",
            escape(&i.summary).replace('\n', "\n>")
        )));
    }
    blocks.push(json!({"type": "section", "fields": fields(message)}));
    let analysis = i.analysis.as_ref().and_then(Value::as_object);
    let review = i.needs_review
        || analysis
            .and_then(|a| a.get("needs_human_review"))
            .and_then(Value::as_bool)
            .unwrap_or(false);
    if review {
        blocks.push(context(
            ":warning: *Needs human review*: the analysis is uncertain; check it before acting.",
        ));
    }
    if let Some(analysis) = analysis {
        blocks.extend(analysis_blocks(analysis));
    }
    let link = message.link.as_deref().filter(|l| !l.is_empty());
    if let Some(link) = link.filter(|l| l.chars().count() <= BUTTON_URL_LIMIT) {
        blocks.push(json!({
            "type": "actions",
            "elements": [{
                "type": "button",
                "text": {"type": "plain_text", "text": "Open incident"},
                "url": link,
            }],
        }));
    }
    blocks.push(context(&format!(
        "Incident `{}` · {} · decided {}",
        escape(&i.id),
        message.kind.as_str(),
        to_rfc3339(message.decided_at)
    )));
    let text = match link {
        Some(link) => format!("{title} — {link}"),
        None => title,
    };
    json!({
        "text": truncate(&text, SECTION_LIMIT),
        "blocks": blocks,
        // The only link is our own incident page; a preview of it adds noise.
        "unfurl_links": false,
        "unfurl_media": false,
    })
}

/// Leading emoji: the outcome for the closing kinds, otherwise the severity.
fn emoji(message: &Message) -> &'static str {
    match message.kind {
        NoticeKind::Resolved => "✅",
        NoticeKind::Acknowledged => "👀",
        _ => severity_emoji(&message.incident.severity),
    }
}

fn severity_emoji(severity: &str) -> &'static str {
    match severity {
        "critical" => "🔴",
        "warning" => "🟡",
        _ => "🟢",
    }
}

/// The fact sheet: at most ten fields (Slack's limit), each within [`FIELD_LIMIT`].
fn fields(message: &Message) -> Vec<Value> {
    let i = &message.incident;
    let status = match (i.status.as_str(), &i.acknowledged_by, &i.resolved_by) {
        ("acknowledged", Some(by), _) => format!("acknowledged by {by}"),
        ("resolved", _, Some(by)) => format!("resolved by {by}"),
        (status, _, _) => status.to_string(),
    };
    let occurrences = if i.suppressed_occurrences > 0 {
        format!(
            "{} ({} suppressed)",
            i.occurrences, i.suppressed_occurrences
        )
    } else {
        i.occurrences.to_string()
    };
    let escalations = if i.escalations.is_empty() {
        "none".to_string()
    } else {
        i.escalations.join(", ")
    };
    let object = format!("{}/{}", i.object.kind, i.object.name);
    let severity = format!("{} {}", severity_emoji(&i.severity), i.severity);
    [
        ("Severity", severity.as_str()),
        ("Status", status.as_str()),
        ("Cluster", i.cluster.as_str()),
        (
            "Namespace",
            i.namespace.as_deref().unwrap_or("(cluster-scoped)"),
        ),
        ("Object", object.as_str()),
        ("Category", i.category.as_str()),
        ("Reason", i.reason.as_str()),
        ("Occurrences", occurrences.as_str()),
        ("Escalations", escalations.as_str()),
        ("Detector", i.detector.as_str()),
    ]
    .into_iter()
    .map(|(label, value)| {
        json!({
            "type": "mrkdwn",
            "text": truncate_mrkdwn(&format!("*{label}*\n{}", escape(value)), FIELD_LIMIT),
        })
    })
    .collect()
}

/// Blocks for an analysis object (the `guardian_core::analysis::Analysis` shape). Read
/// leniently, field by field: a stored analysis from an older version, or one with extra
/// fields, still renders what it has instead of failing the delivery.
fn analysis_blocks(analysis: &Map<String, Value>) -> Vec<Value> {
    let mut blocks = Vec::new();
    let summary = analysis
        .get("summary")
        .and_then(Value::as_str)
        .unwrap_or("");
    let confidence = analysis.get("confidence").and_then(Value::as_f64);
    if !summary.is_empty() || confidence.is_some() {
        let mut text = String::from("*Analysis*");
        if let Some(c) = confidence {
            text.push_str(&format!(" (confidence {})", percent(c)));
        }
        if !summary.is_empty() {
            text.push('\n');
            text.push_str(&escape(summary));
        }
        blocks.push(section(&text));
    }

    let mut hypotheses: Vec<&Map<String, Value>> = analysis
        .get("hypotheses")
        .and_then(Value::as_array)
        .map(|h| h.iter().filter_map(Value::as_object).collect())
        .unwrap_or_default();
    let confidence_of = |h: &Map<String, Value>| {
        h.get("confidence")
            .and_then(Value::as_f64)
            .filter(|c| c.is_finite())
            .unwrap_or(0.0)
    };
    // The schema asks for highest-first already; sorting again costs nothing and protects the
    // "top 3" promise from a provider that ignored it. Stable, so ties keep their order.
    hypotheses.sort_by(|a, b| confidence_of(b).total_cmp(&confidence_of(a)));
    if !hypotheses.is_empty() {
        let mut text = String::from("*Top hypotheses*");
        for (n, h) in hypotheses.iter().take(TOP_HYPOTHESES).enumerate() {
            let cause = h
                .get("cause")
                .and_then(Value::as_str)
                .unwrap_or("(no cause given)");
            text.push_str(&format!(
                "\n{}. {} — *{}*",
                n + 1,
                escape(cause),
                percent(confidence_of(h))
            ));
            if let Some(category) = h.get("category").and_then(Value::as_str) {
                text.push_str(&format!(" (`{}`)", escape(category)));
            }
            let evidence: Vec<&str> = h
                .get("evidence")
                .and_then(Value::as_array)
                .map(|e| e.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            if !evidence.is_empty() {
                text.push_str(&format!(" · evidence {}", escape(&evidence.join(", "))));
            }
        }
        blocks.push(section(&text));
    }

    let actions: Vec<&Map<String, Value>> = analysis
        .get("recommended_actions")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_object).collect())
        .unwrap_or_default();
    if !actions.is_empty() {
        // The guardian is read-only: say so next to every command a human might paste.
        let mut text = String::from("*Suggested actions* (suggested, not executed)");
        for a in actions {
            let action = a
                .get("action")
                .and_then(Value::as_str)
                .unwrap_or("(no action given)");
            text.push_str(&format!("\n• {}", escape(action)));
            if let Some(risk) = a.get("risk").and_then(Value::as_str) {
                text.push_str(&format!(" (risk: {})", escape(&risk.replace('_', " "))));
            }
            if let Some(command) = a
                .get("command")
                .and_then(Value::as_str)
                .filter(|c| !c.is_empty())
            {
                // NB: mrkdwn has no escape for backticks; a fence inside the command would end
                // the code block early, so it is broken up.
                text.push_str(&format!(
                    "\n```{}```",
                    escape(command).replace("```", "'''")
                ));
            }
        }
        blocks.push(section(&text));
    }
    blocks
}

/// `0.8` → `80%`; out-of-range values are clamped (the analysis checker enforces 0..1).
fn percent(confidence: f64) -> String {
    let c = if confidence.is_finite() {
        confidence.clamp(0.0, 1.0)
    } else {
        0.0
    };
    format!("{:.0}%", c * 100.0)
}

fn section(text: &str) -> Value {
    json!({"type": "section", "text": {"type": "mrkdwn", "text": truncate_mrkdwn(text, SECTION_LIMIT)}})
}

fn context(text: &str) -> Value {
    json!({"type": "context", "elements": [{"type": "mrkdwn", "text": truncate_mrkdwn(text, FIELD_LIMIT)}]})
}

/// Escapes the three characters Slack's `mrkdwn` treats as control characters.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// [`truncate`] for escaped text: a cut must not leave half an entity (`&am…`), which Slack
/// would show literally.
fn truncate_mrkdwn(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    if let Some(amp) = out.rfind('&')
        && !out[amp..].contains(';')
    {
        out.truncate(amp);
    }
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_respects_limits_and_entities() {
        assert_eq!(truncate("abc", 3), "abc");
        assert_eq!(truncate("abcd", 3), "ab…");
        assert_eq!(truncate("ééé", 2), "é…");
        let escaped = escape("aaaa<");
        assert_eq!(escaped, "aaaa&lt;");
        // cutting at 7 would keep "aaaa&l": the broken entity goes
        assert_eq!(truncate_mrkdwn(&escaped, 7), "aaaa…");
        assert_eq!(truncate_mrkdwn(&escaped, 8), "aaaa&lt;");
    }

    #[test]
    fn only_code_like_answers_reach_error_reasons() {
        assert_eq!(slack_code("invalid_token\n"), Some("invalid_token"));
        assert_eq!(slack_code("https://hooks.slack.com/services/T/B/x"), None);
        assert_eq!(slack_code(""), None);
        assert_eq!(slack_code(&"a".repeat(65)), None);
    }

    #[test]
    fn percent_is_clamped() {
        assert_eq!(percent(0.724), "72%");
        assert_eq!(percent(1.7), "100%");
        assert_eq!(percent(f64::NAN), "0%");
    }
}
