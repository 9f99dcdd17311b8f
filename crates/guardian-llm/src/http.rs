//! Plumbing shared by the provider clients: client construction, one POST with latency,
//! transport-error classification, `retry-after` parsing and key scrubbing.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use secrecy::{ExposeSecret, SecretString};

use crate::Error;

/// Default whole-request timeout. Generous: a 2-core local model or a slow hosted model can
/// take tens of seconds for ~1,000 output tokens; the caller's fallback is the rules engine.
pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

/// Longest excerpt of a provider error body carried in an error reason (bounded log lines).
const MAX_REASON_BODY: usize = 300;

/// Builds a reqwest client. Needs a process-wide rustls crypto provider (ring) installed.
pub(crate) fn client(timeout: Duration) -> Result<reqwest::Client, Error> {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .build()
        .map_err(|e| Error::Fatal {
            reason: format!("cannot build the HTTP client: {e}"),
        })
}

/// One HTTP reply, read in full.
pub(crate) struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
    pub latency: Duration,
}

/// Sends the request and reads the whole body.
pub(crate) async fn send(request: reqwest::RequestBuilder) -> Result<Reply, Error> {
    let started = Instant::now();
    let response = request.send().await.map_err(transport)?;
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.text().await.map_err(transport)?;
    Ok(Reply {
        status,
        headers,
        body,
        latency: started.elapsed(),
    })
}

/// Transport failures (connect, timeout, reset mid-body) are worth another try.
fn transport(error: reqwest::Error) -> Error {
    // without_url: a URL may carry a query-string key on some proxies.
    let error = error.without_url();
    let what = if error.is_timeout() {
        "the request timed out"
    } else if error.is_connect() {
        "cannot connect"
    } else {
        "transport error"
    };
    Error::Retryable {
        after: None,
        reason: format!("{what}: {error}"),
    }
}

/// `retry-after` (seconds, possibly fractional) or OpenAI's `retry-after-ms`. HTTP-date forms
/// are ignored (no provider we speak sends them); the backoff then applies.
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(ms) = value("retry-after-ms").and_then(|v| v.trim().parse::<f64>().ok()) {
        return seconds(ms / 1000.0);
    }
    value("retry-after").and_then(|v| v.trim().parse::<f64>().ok().and_then(seconds))
}

/// A non-negative, finite number of seconds as a duration.
pub(crate) fn seconds(secs: f64) -> Option<Duration> {
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(86_400.0)))
}

/// A bounded excerpt of an error body, with the key removed should the provider echo it.
pub(crate) fn excerpt(body: &str, key: Option<&SecretString>) -> String {
    let mut text: String = body.chars().take(MAX_REASON_BODY).collect();
    if body.chars().count() > MAX_REASON_BODY {
        text.push('…');
    }
    scrub(text, key)
}

/// Removes the exact key value from `text`.
pub(crate) fn scrub(text: String, key: Option<&SecretString>) -> String {
    match key.map(|k| k.expose_secret()) {
        Some(k) if !k.is_empty() && text.contains(k) => text.replace(k, "[REDACTED]"),
        _ => text,
    }
}

/// The generic status classification every provider starts from (design note §3).
pub(crate) fn classify_status(status: StatusCode, headers: &HeaderMap, detail: String) -> Error {
    let reason = format!("HTTP {}: {detail}", status.as_u16());
    match status.as_u16() {
        // 408 timeout, 409 conflict (OpenAI's SDK retries both), 429 rate limit, 5xx
        // including Anthropic's 529 overloaded.
        408 | 409 | 429 | 500..=599 => Error::Retryable {
            after: retry_after(headers),
            reason,
        },
        _ => Error::Fatal { reason },
    }
}

/// Joins a base URL and a path without doubling or dropping the slash.
pub(crate) fn join(base_url: &str, path: &str) -> String {
    format!(
        "{}/{}",
        base_url.trim_end_matches('/'),
        path.trim_start_matches('/')
    )
}
