//! Notifications: a durable outbox drained by a delivery worker into channels.
//!
//! - The *decisions* (opened, escalated, resolved, …) are written by the store in the same
//!   transaction as the state change that caused them (see `store::sqlite::apply`).
//! - [`outbox`] turns each decision into one delivery per routed channel and drives retries with
//!   backoff; delivery is **at least once**, and every delivery carries an idempotency key per
//!   (incident, transition, channel) so receivers (PagerDuty `dedup_key`, webhook consumers) drop
//!   repeats after a crash between "sent" and "marked sent".
//! - [`routing`] decides which channels hear about a decision.
//! - Channels implement [`Notifier`]: [`slack`], [`pagerduty`], [`webhook`], [`console`].

pub mod console;
pub mod outbox;
pub mod pagerduty;
pub mod routing;
pub mod slack;
pub mod webhook;

use std::time::Duration;

use futures::future::BoxFuture;
use guardian_core::decide::NoticeKind;
use guardian_core::time::Millis;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;

use crate::api::views::IncidentView;

/// What a channel is asked to deliver. Every text field is already redacted.
#[derive(Debug, Clone)]
pub struct Message {
    /// What changed.
    pub kind: NoticeKind,
    /// The incident after the change (redacted view).
    pub incident: IncidentView,
    /// Unique per (incident, transition, channel); stable across redeliveries.
    pub idempotency_key: String,
    /// Link to the incident in the API (`<public_url>/incidents/<id>`), when a public URL is
    /// configured.
    pub link: Option<String>,
    /// Slack: `ts` of the root message of this incident's thread on this channel, if one was
    /// posted in the current episode.
    pub thread_ts: Option<String>,
    /// When the decision was made (Unix ms).
    pub decided_at: Millis,
}

/// What a successful delivery reports back.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Delivered {
    /// Slack bot API: `ts` of the posted message, stored as the thread root when the message
    /// was a root.
    pub thread_ts: Option<String>,
}

/// Why a delivery failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Worth retrying (timeouts, connection errors, 408, 429, 5xx). `after` carries the
    /// receiver's `Retry-After`, the minimum wait before the next attempt.
    #[error("retryable: {reason}")]
    Retryable {
        /// Receiver-requested delay.
        after: Option<Duration>,
        /// What happened (no secrets: URLs and keys are never included).
        reason: String,
    },
    /// Retrying cannot help (other 4xx: bad key, bad payload, channel gone).
    #[error("permanent: {reason}")]
    Permanent {
        /// What happened.
        reason: String,
    },
}

impl SendError {
    /// Bounded label for metrics.
    pub fn metric_label(&self) -> &'static str {
        match self {
            SendError::Retryable { .. } => "retryable",
            SendError::Permanent { .. } => "permanent",
        }
    }
}

/// A notification channel.
pub trait Notifier: Send + Sync {
    /// The configured channel name (routing and idempotency keys use it).
    fn name(&self) -> &str;
    /// Delivers one message. Must not log URLs, tokens or keys.
    fn send<'a>(&'a self, message: &'a Message) -> BoxFuture<'a, Result<Delivered, SendError>>;
}

/// Maps an HTTP answer to the retry policy every HTTP channel shares.
pub fn classify(status: StatusCode, headers: &HeaderMap) -> Result<(), SendError> {
    if status.is_success() {
        return Ok(());
    }
    let reason = format!("the receiver answered {status}");
    if status == StatusCode::TOO_MANY_REQUESTS
        || status == StatusCode::REQUEST_TIMEOUT
        || status.is_server_error()
    {
        return Err(SendError::Retryable {
            after: retry_after(headers),
            reason,
        });
    }
    Err(SendError::Permanent { reason })
}

/// `Retry-After` in seconds (the HTTP-date form is rare for webhooks and treated as absent).
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

/// Maps a transport error (no answer) to a retryable failure, without the URL (it may embed a
/// secret, as Slack webhook URLs do).
pub fn transport_error(error: &reqwest::Error) -> SendError {
    let what = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "could not connect"
    } else {
        "failed in transit"
    };
    SendError::Retryable {
        after: None,
        reason: format!("the request {what}"),
    }
}

/// Most bytes of a receiver's answer that are read: an error body is only quoted for its short
/// code, and a hostile receiver must not make us buffer megabytes.
pub(crate) const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// A request that never got an answer. A request that cannot even be built (a malformed
/// configured URL) will never succeed, so it is permanent; the rest is transport trouble.
pub(crate) fn request_error(error: &reqwest::Error) -> SendError {
    if error.is_builder() {
        return SendError::Permanent {
            reason: "the request could not be built (check the configured URL)".into(),
        };
    }
    transport_error(error)
}

/// Reads at most [`MAX_ANSWER_BYTES`] of the answer; a broken body reads as empty (the status
/// already decided the outcome's class).
pub(crate) async fn read_capped(mut response: reqwest::Response) -> String {
    let mut bytes = Vec::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        let room = MAX_ANSWER_BYTES.saturating_sub(bytes.len());
        bytes.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if bytes.len() >= MAX_ANSWER_BYTES {
            break;
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Control characters (newlines, terminal escape sequences from cluster data) become spaces:
/// one-line destinations (a console line, a PagerDuty summary) must stay one line.
pub(crate) fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_string()
}

/// `text` cut to at most `max` characters (ellipsis included).
pub(crate) fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Human title of a decision, shared by the text channels.
pub fn headline(message: &Message) -> String {
    let i = &message.incident;
    let what = match message.kind {
        NoticeKind::Opened => "Opened",
        NoticeKind::Reopened => "Reopened",
        NoticeKind::Escalated(level) => match level {
            guardian_core::incident::EscalationLevel::Recurring => "Escalated (recurring)",
            guardian_core::incident::EscalationLevel::Persistent => "Escalated (persistent)",
        },
        NoticeKind::SeverityRaised => "Severity raised",
        NoticeKind::Acknowledged => "Acknowledged",
        NoticeKind::Resolved => "Resolved",
        NoticeKind::AckExpired => "Acknowledgement expired",
        NoticeKind::Repeat => "Still firing",
    };
    let ns = i.namespace.as_deref().unwrap_or("cluster");
    format!(
        "[{}] {what}: {}/{} {}/{} — {}",
        i.severity, i.cluster, ns, i.object.kind, i.object.name, i.category
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification_follows_the_retry_policy() {
        let mut h = HeaderMap::new();
        assert!(classify(StatusCode::OK, &h).is_ok());
        assert!(matches!(
            classify(StatusCode::BAD_REQUEST, &h),
            Err(SendError::Permanent { .. })
        ));
        assert!(matches!(
            classify(StatusCode::FORBIDDEN, &h),
            Err(SendError::Permanent { .. })
        ));
        assert!(matches!(
            classify(StatusCode::BAD_GATEWAY, &h),
            Err(SendError::Retryable { after: None, .. })
        ));
        h.insert(reqwest::header::RETRY_AFTER, "7".parse().unwrap());
        assert_eq!(
            classify(StatusCode::TOO_MANY_REQUESTS, &h),
            Err(SendError::Retryable {
                after: Some(Duration::from_secs(7)),
                reason: "the receiver answered 429 Too Many Requests".into()
            })
        );
    }
}
