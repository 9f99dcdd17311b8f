//! PagerDuty Events API v2 ([`PagerDuty`]).
//!
//! Provider contract, as relied on here:
//! - `POST <events_url>` (default `https://events.pagerduty.com/v2/enqueue`) with JSON
//!   `{routing_key, event_action, dedup_key, payload?, links?, client?, client_url?}`. No auth
//!   header: the routing key in the body is the credential.
//! - PagerDuty answers `202 {"status":"success","message":"Event processed","dedup_key":…}`;
//!   `400` for an invalid event (retrying the same body cannot help), `429` when throttled
//!   (usually without `Retry-After`, so the outbox's backoff applies), `5xx` when it is in
//!   trouble. The shared [`classify`] policy covers exactly that.
//! - Events with the same `dedup_key` address the same PagerDuty alert. We use the incident
//!   **fingerprint**, so every decision of one incident, redeliveries included, lands on one
//!   alert: a repeated trigger is deduplicated by PagerDuty, and acknowledge/resolve find the
//!   alert they close.
//!
//! Mapping (see [`event_action`]): opened, reopened, escalations, severity raises, expired
//! acknowledgements and repeats are `trigger`; acknowledged is `acknowledge`; resolved is
//! `resolve`. NB: PagerDuty deduplicates a trigger into an alert that is still open *or
//! acknowledged*, so an expired guardian acknowledgement does not un-acknowledge a PagerDuty
//! alert that a human acknowledged there; and a reopen after a resolve opens a new alert (the old
//! one is closed).
//!
//! Only triggers carry a `payload`; PagerDuty ignores it on acknowledge and resolve, so those
//! carry just `routing_key`, `event_action` and `dedup_key`.
//!
//! The routing key never appears in a [`SendError`] or a log line; PagerDuty's own error details
//! are passed on only with any occurrence of the key blanked out.

use futures::FutureExt;
use futures::future::BoxFuture;
use guardian_core::decide::NoticeKind;
use guardian_core::time::to_rfc3339;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{
    Delivered, Message, Notifier, SendError, classify, one_line, read_capped, request_error,
    truncate,
};

/// PagerDuty's limit on `payload.summary`, in characters.
pub const SUMMARY_LIMIT: usize = 1_024;
/// What we tell PagerDuty is sending (`client`): shown next to the alert.
const CLIENT: &str = "SRE Guardian";
/// The most of PagerDuty's error details quoted in a failure reason.
const DETAIL_LIMIT: usize = 300;

/// A PagerDuty Events API v2 integration.
#[derive(Debug, Clone)]
pub struct PagerDuty {
    /// Configured channel name.
    name: String,
    /// Integration routing key (the credential).
    routing_key: SecretString,
    /// Events API endpoint.
    events_url: String,
    /// Shared client (its timeout bounds every delivery).
    http: reqwest::Client,
}

impl PagerDuty {
    /// A channel sending events with `routing_key` to `events_url`.
    pub fn new(
        name: String,
        routing_key: SecretString,
        events_url: String,
        http: reqwest::Client,
    ) -> Self {
        Self {
            name,
            routing_key,
            events_url,
            http,
        }
    }
}

/// The `event_action` for a decision.
pub fn event_action(kind: NoticeKind) -> &'static str {
    match kind {
        NoticeKind::Acknowledged => "acknowledge",
        NoticeKind::Resolved => "resolve",
        NoticeKind::Opened
        | NoticeKind::Reopened
        | NoticeKind::Escalated(_)
        | NoticeKind::SeverityRaised
        | NoticeKind::AckExpired
        | NoticeKind::Repeat => "trigger",
    }
}

/// PagerDuty's severity for ours. PagerDuty also knows `error`; we have no such level. An
/// unknown spelling (impossible today) is reported as `critical` so it is never under-paged.
fn severity(ours: &str) -> &'static str {
    match ours {
        "info" => "info",
        "warning" => "warning",
        _ => "critical",
    }
}

/// The event for `message`, routing key included.
fn event(message: &Message, routing_key: &str) -> Value {
    let i = &message.incident;
    let action = event_action(message.kind);
    let mut event = json!({
        "routing_key": routing_key,
        "event_action": action,
        "dedup_key": i.fingerprint,
    });
    if action != "trigger" {
        return event;
    }
    let object = format!("{}/{}", i.object.kind, i.object.name);
    let source = match &i.namespace {
        Some(ns) => format!("{}/{ns}/{object}", i.cluster),
        None => format!("{}/{object}", i.cluster),
    };
    // The alert's title. PagerDuty keeps the first trigger's summary for the life of the alert,
    // so it names the incident, not the transition (that is `custom_details.notice`).
    let summary = format!("{source}: {} — {}", i.category, one_line(&i.summary));
    let mut payload = json!({
        "summary": truncate(&summary, SUMMARY_LIMIT),
        "source": source,
        "severity": severity(&i.severity),
        "timestamp": to_rfc3339(message.decided_at),
        "component": object,
        "class": i.category,
        "custom_details": {
            "incident_id": i.id,
            "notice": message.kind.as_str(),
            "detector": i.detector,
            "reason": i.reason,
            "occurrences": i.occurrences,
            "status": i.status,
            "escalations": i.escalations,
            "needs_review": i.needs_review,
            "link": message.link,
        },
    });
    if let (Some(ns), Value::Object(p)) = (&i.namespace, &mut payload) {
        p.insert("group".into(), Value::String(ns.clone()));
    }
    if let Value::Object(e) = &mut event {
        e.insert("payload".into(), payload);
        e.insert("client".into(), Value::String(CLIENT.into()));
        if let Some(link) = message.link.as_deref().filter(|l| !l.is_empty()) {
            e.insert("client_url".into(), Value::String(link.into()));
            e.insert(
                "links".into(),
                json!([{"href": link, "text": "Incident in SRE Guardian"}]),
            );
        }
    }
    event
}

/// The part of PagerDuty's error answer worth quoting.
#[derive(Debug, Deserialize)]
struct ErrorAnswer {
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    errors: Vec<String>,
}

impl Notifier for PagerDuty {
    fn name(&self) -> &str {
        &self.name
    }

    fn send<'a>(&'a self, message: &'a Message) -> BoxFuture<'a, Result<Delivered, SendError>> {
        async move {
            let key = self.routing_key.expose_secret();
            let response = self
                .http
                .post(&self.events_url)
                .json(&event(message, key))
                .send()
                .await
                .map_err(|e| request_error(&e))?;
            let status = response.status();
            let headers = response.headers().clone();
            if let Err(error) = classify(status, &headers) {
                let answer = read_capped(response).await;
                return Err(with_detail(error, details(&answer, key)));
            }
            Ok(Delivered::default())
        }
        .boxed()
    }
}

/// PagerDuty's explanation (`"Event object is invalid: 'payload.summary' is missing"`), with the
/// routing key blanked out should PagerDuty ever echo it.
fn details(answer: &str, routing_key: &str) -> Option<String> {
    let answer: ErrorAnswer = serde_json::from_str(answer).ok()?;
    let mut text = answer.message.unwrap_or_default();
    if !answer.errors.is_empty() {
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&answer.errors.join("; "));
    }
    if !routing_key.is_empty() {
        text = text.replace(routing_key, "<routing key>");
    }
    let text = truncate(&one_line(&text), DETAIL_LIMIT);
    (!text.is_empty()).then_some(text)
}

fn with_detail(error: SendError, detail: Option<String>) -> SendError {
    let Some(detail) = detail else {
        return error;
    };
    match error {
        SendError::Retryable { after, reason } => SendError::Retryable {
            after,
            reason: format!("{reason} ({detail})"),
        },
        SendError::Permanent { reason } => SendError::Permanent {
            reason: format!("{reason} ({detail})"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_an_action() {
        use guardian_core::incident::EscalationLevel;
        assert_eq!(event_action(NoticeKind::Opened), "trigger");
        assert_eq!(
            event_action(NoticeKind::Escalated(EscalationLevel::Persistent)),
            "trigger"
        );
        assert_eq!(event_action(NoticeKind::AckExpired), "trigger");
        assert_eq!(event_action(NoticeKind::Acknowledged), "acknowledge");
        assert_eq!(event_action(NoticeKind::Resolved), "resolve");
    }

    #[test]
    fn details_never_echo_the_key() {
        let answer = r#"{"status":"invalid event","message":"Event object is invalid","errors":["bad key R0123456789"]}"#;
        assert_eq!(
            details(answer, "R0123456789").as_deref(),
            Some("Event object is invalid: bad key <routing key>")
        );
        assert_eq!(details("not json", "k"), None);
    }
}
