//! The CLI's client of the HTTP API (`guardian incidents …`), and its kubectl-style output.

use std::fmt::Write as _;
use std::time::Duration;

use guardian_core::time::{Millis, parse_rfc3339};
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;

use crate::api::views::{
    ErrorBody, IncidentDetailView, IncidentList, IncidentView, TransitionRequest,
};

/// Client failures.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The server answered with an error body.
    #[error("the server answered {status}: {message} ({code})")]
    Api {
        /// HTTP status.
        status: StatusCode,
        /// Its `error` code.
        code: String,
        /// Its `message`.
        message: String,
    },
    /// The server could not be reached or the answer could not be read.
    #[error("unable to talk to {server}: {source}")]
    Transport {
        /// The server URL.
        server: String,
        /// The HTTP error.
        #[source]
        source: reqwest::Error,
    },
    /// The server URL is not a URL.
    #[error("invalid --server `{0}`")]
    BadServer(String),
}

impl Error {
    /// Bounded label for metrics and logs.
    pub fn metric_label(&self) -> &'static str {
        match self {
            Error::Api { .. } => "api",
            Error::Transport { .. } => "transport",
            Error::BadServer(_) => "bad_server",
        }
    }
}

/// An API client.
pub struct Client {
    http: reqwest::Client,
    server: String,
    token: Option<SecretString>,
}

impl Client {
    /// Builds a client for `server` (e.g. `http://127.0.0.1:8080`).
    pub fn new(server: &str, token: Option<SecretString>) -> Result<Self, Error> {
        let server = server.trim_end_matches('/').to_string();
        if !(server.starts_with("http://") || server.starts_with("https://")) {
            return Err(Error::BadServer(server));
        }
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|source| Error::Transport {
                server: server.clone(),
                source,
            })?;
        Ok(Self {
            http,
            server,
            token,
        })
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&TransitionRequest>,
    ) -> Result<T, Error> {
        let transport = |source| Error::Transport {
            server: self.server.clone(),
            source,
        };
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.server))
            .query(query);
        if let Some(token) = &self.token {
            request = request.bearer_auth(token.expose_secret());
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(transport)?;
        let status = response.status();
        if !status.is_success() {
            let body: Option<ErrorBody> = response.json().await.ok();
            let (code, message) = body.map_or_else(
                || ("unknown".to_string(), "no error body".to_string()),
                |b| (b.error, b.message),
            );
            return Err(Error::Api {
                status,
                code,
                message,
            });
        }
        response.json().await.map_err(transport)
    }

    /// `GET /incidents`.
    pub async fn list(&self, query: &[(&str, String)]) -> Result<IncidentList, Error> {
        self.call(Method::GET, "/incidents", query, None).await
    }

    /// `GET /incidents/{id}`.
    pub async fn show(&self, id: &str) -> Result<IncidentDetailView, Error> {
        self.call(
            Method::GET,
            &format!("/incidents/{}", encode(id)),
            &[],
            None,
        )
        .await
    }

    /// `GET /llm-usage?hours=N` (the raw JSON).
    pub async fn llm_usage(&self, hours: u32) -> Result<serde_json::Value, Error> {
        self.call(
            Method::GET,
            "/llm-usage",
            &[("hours", hours.to_string())],
            None,
        )
        .await
    }

    /// `POST /incidents/{id}/ack`.
    pub async fn ack(&self, id: &str, request: &TransitionRequest) -> Result<IncidentView, Error> {
        let path = format!("/incidents/{}/ack", encode(id));
        self.call(Method::POST, &path, &[], Some(request)).await
    }

    /// `POST /incidents/{id}/resolve`.
    pub async fn resolve(
        &self,
        id: &str,
        request: &TransitionRequest,
    ) -> Result<IncidentView, Error> {
        let path = format!("/incidents/{}/resolve", encode(id));
        self.call(Method::POST, &path, &[], Some(request)).await
    }
}

/// Percent-encodes a path segment (ids are UUIDs, but a typo must not change the path).
fn encode(segment: &str) -> String {
    segment
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// kubectl-style age: `45s`, `12m`, `3h`, `2d`.
pub fn age(since: Millis, now: Millis) -> String {
    let secs = (now - since).max(0) / 1000;
    match secs {
        s if s < 120 => format!("{s}s"),
        s if s < 2 * 3600 => format!("{}m", s / 60),
        s if s < 2 * 86_400 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86_400),
    }
}

/// Renders rows as a left-aligned table with a header, columns separated by three spaces.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: Vec<&str>| {
        let mut text = String::new();
        for (i, (cell, w)) in cells.iter().zip(&widths).enumerate() {
            if i + 1 == cells.len() {
                text.push_str(cell);
            } else {
                let _ = write!(text, "{cell:<w$}   ");
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(header.to_vec());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
    out
}

/// The `incidents list` table.
pub fn incidents_table(incidents: &[IncidentView], now: Millis) -> String {
    if incidents.is_empty() {
        return "No incidents found.\n".into();
    }
    let rows: Vec<Vec<String>> = incidents
        .iter()
        .map(|i| {
            vec![
                i.id.clone(),
                i.namespace.clone().unwrap_or_else(|| "-".into()),
                format!("{}/{}", i.object.kind, i.object.name),
                i.category.clone(),
                i.severity.clone(),
                i.status.clone(),
                i.occurrences.to_string(),
                parse_rfc3339(&i.last_seen).map_or_else(|| "?".into(), |t| age(t, now)),
            ]
        })
        .collect();
    table(
        &[
            "ID",
            "NAMESPACE",
            "OBJECT",
            "CATEGORY",
            "SEVERITY",
            "STATUS",
            "SEEN",
            "LAST SEEN",
        ],
        &rows,
    )
}

/// The `incidents show` text (kubectl-describe style).
pub fn describe(d: &IncidentDetailView) -> String {
    let i = &d.incident;
    let mut out = String::new();
    let mut field = |k: &str, v: &str| {
        let _ = writeln!(out, "{:<16}{v}", format!("{k}:"));
    };
    field("ID", &i.id);
    field("Fingerprint", &i.fingerprint);
    field("Cluster", &i.cluster);
    field("Namespace", i.namespace.as_deref().unwrap_or("-"));
    field("Object", &format!("{}/{}", i.object.kind, i.object.name));
    field("Detector", &i.detector);
    field("Category", &i.category);
    field("Reason", &i.reason);
    field("Severity", &i.severity);
    field("Status", &i.status);
    field("Summary", &i.summary);
    field("First seen", &i.first_seen);
    field("Last seen", &i.last_seen);
    field(
        "Occurrences",
        &format!(
            "{} ({} suppressed)",
            i.occurrences, i.suppressed_occurrences
        ),
    );
    if !i.escalations.is_empty() {
        field("Escalations", &i.escalations.join(", "));
    }
    if let Some(by) = &i.acknowledged_by {
        let until = i.ack_expires_at.as_deref().unwrap_or("never expires");
        field("Acknowledged", &format!("by {by} (until {until})"));
    }
    if let Some(by) = &i.resolved_by {
        field(
            "Resolved",
            &format!("by {by} at {}", i.resolved_at.as_deref().unwrap_or("?")),
        );
    }
    out.push_str("\nTimeline:\n");
    let rows: Vec<Vec<String>> = d
        .timeline
        .iter()
        .map(|a| {
            vec![
                a.at.clone(),
                a.actor.clone(),
                a.action.clone(),
                format!("{} -> {}", a.from.as_deref().unwrap_or("-"), a.to),
                a.note.clone(),
            ]
        })
        .collect();
    out.push_str(&indent(&table(
        &["TIME", "ACTOR", "ACTION", "STATUS", "NOTE"],
        &rows,
    )));
    if !d.recent_occurrences.is_empty() {
        out.push_str("\nRecent occurrences:\n");
        let rows: Vec<Vec<String>> = d
            .recent_occurrences
            .iter()
            .take(10)
            .map(|o| {
                vec![
                    o.seen_at.clone(),
                    format!("{}/{}", o.object.kind, o.object.name),
                    o.reason.clone(),
                    o.merge_reason.clone(),
                ]
            })
            .collect();
        out.push_str(&indent(&table(
            &["TIME", "OBJECT", "REASON", "MERGE REASON"],
            &rows,
        )));
    }
    out
}

/// The `llm-usage` text view.
pub fn usage_text(u: &serde_json::Value) -> String {
    let money = |v: &serde_json::Value| {
        v.as_f64()
            .map_or("unlimited".to_string(), |d| format!("${d:.4}"))
    };
    let num = |v: &serde_json::Value| {
        v.as_u64()
            .map_or("unlimited".to_string(), |n| n.to_string())
    };
    let mut out = format!(
        "Provider: {} {}\nLast {} h: {} calls, {} tokens, ${:.4} ({} unpriced calls)\n",
        u["provider"].as_str().unwrap_or("?"),
        u["model"].as_str().unwrap_or(""),
        u["hours"],
        u["totals"]["calls"],
        u["totals"]["tokens"],
        u["totals"]["cost_usd"].as_f64().unwrap_or(0.0),
        u["totals"]["unpriced_calls"],
    );
    for window in ["hourly", "daily"] {
        let w = &u[window];
        out.push_str(&format!(
            "Budget {window} (since {}): tokens {} used, {} left; cost ${:.4} used, {} left\n",
            w["since"].as_str().unwrap_or("?"),
            w["spent"]["tokens"],
            num(&w["tokens_left"]),
            w["spent"]["cost_usd"].as_f64().unwrap_or(0.0),
            money(&w["cost_left_usd"]),
        ));
    }
    let rows: Vec<Vec<String>> = u["calls"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            vec![
                c["at"].as_str().unwrap_or("").to_string(),
                c["model"].as_str().unwrap_or("").to_string(),
                c["outcome"].as_str().unwrap_or("").to_string(),
                c["input_tokens"].to_string(),
                c["output_tokens"].to_string(),
                c["cost_usd"]
                    .as_f64()
                    .map_or("?".into(), |d| format!("${d:.4}")),
                c["latency_ms"].to_string(),
            ]
        })
        .collect();
    if !rows.is_empty() {
        out.push('\n');
        out.push_str(&table(
            &["TIME", "MODEL", "OUTCOME", "IN", "OUT", "COST", "MS"],
            &rows,
        ));
    }
    out
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("  {l}\n")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_like_kubectl() {
        assert_eq!(age(0, 45_000), "45s");
        assert_eq!(age(0, 600_000), "10m");
        assert_eq!(age(0, 3 * 3_600_000), "3h");
        assert_eq!(age(0, 3 * 86_400_000), "3d");
        assert_eq!(age(10, 0), "0s");
    }

    #[test]
    fn table_aligns_columns() {
        let t = table(&["A", "BB"], &[vec!["xxx".into(), "y".into()]]);
        assert_eq!(t, "A     BB\nxxx   y\n");
    }

    #[test]
    fn path_segments_are_encoded() {
        assert_eq!(encode("a/b c"), "a%2Fb%20c");
        assert_eq!(encode("0190-ab"), "0190-ab");
    }
}
