//! Test harness: a real `guardian` HTTP server on 127.0.0.1 over a real SQLite file, with a
//! manually driven clock.

#![allow(dead_code)] // each test binary uses a different subset

pub mod receiver;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use guardian::config::{Config, Secrets, Settings};
use guardian::engine::{Clock, Engine};
use secrecy::SecretString;
use serde_json::{Value, json};

/// 2026-12-01T08:00:00Z, a fixed start for the manual clock.
pub const T0: i64 = 1_796_112_000_000;

pub const TOKEN: &str = "test-token-0123456789";

/// A running server.
pub struct TestServer {
    pub url: String,
    pub engine: Arc<Engine>,
    outbox: Arc<guardian::notify::outbox::Outbox>,
    pub analyzer: Arc<guardian::analyze::Analyzer>,
    pub latest: Arc<guardian::analyze::Latest>,
    pub ready: Arc<std::sync::atomic::AtomicBool>,
    pub clock: Arc<AtomicI64>,
    pub http: reqwest::Client,
    pub db: PathBuf,
    _dir: tempfile::TempDir,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub fn settings(db: PathBuf, token: Option<&str>) -> Settings {
    let mut config = Config::default();
    config.store.path = db;
    config.cluster_name = "test".into();
    Settings {
        config,
        secrets: Secrets {
            api_token: token.map(|t| SecretString::from(t.to_string())),
            api_token_source: token.map(|_| "test".to_string()),
            ..Secrets::default()
        },
        source: None,
    }
}

impl TestServer {
    pub async fn start(token: Option<&str>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("guardian.db");
        Self::start_with(settings(db.clone(), token), dir).await
    }

    pub async fn start_with(settings: Settings, dir: tempfile::TempDir) -> Self {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let clock = Arc::new(AtomicI64::new(T0));
        let server = guardian::serve::build(&settings, Clock::Manual(clock.clone()))
            .await
            .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let router = server.router;
        let outbox = server.outbox;
        let analyzer = server.analyzer;
        let latest = server.latest;
        let ready = server.ready;
        let task = tokio::spawn(async move {
            axum::serve(listener, router).await.unwrap();
        });
        Self {
            url,
            outbox,
            analyzer,
            latest,
            ready,
            engine: server.engine,
            clock,
            http: reqwest::Client::new(),
            db: settings.config.store.path.clone(),
            _dir: dir,
            task,
        }
    }

    /// The delivery worker (tests drive it with `run_once`).
    pub fn outbox(&self) -> &guardian::notify::outbox::Outbox {
        &self.outbox
    }

    pub fn advance_secs(&self, secs: i64) {
        self.clock.fetch_add(secs * 1000, Ordering::SeqCst);
    }

    pub fn req(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.url))
            .bearer_auth(TOKEN)
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        send(self.req(reqwest::Method::GET, path)).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        send(self.req(reqwest::Method::POST, path).json(&body)).await
    }

    pub async fn alert(&self, alerts: Value) -> (u16, Value) {
        self.post(
            "/alertmanager",
            json!({"version": "4", "status": "firing", "alerts": alerts}),
        )
        .await
    }

    /// The `/metrics` text (no token needed).
    pub async fn metrics(&self) -> String {
        let url = format!("{}/metrics", self.url);
        self.http
            .get(url)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    pub async fn incidents(&self, query: &str) -> Vec<Value> {
        let (status, body) = self.get(&format!("/incidents{query}")).await;
        assert_eq!(status, 200, "{body}");
        body["incidents"].as_array().unwrap().clone()
    }
}

pub async fn send(request: reqwest::RequestBuilder) -> (u16, Value) {
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    (status, body)
}

/// One alert in the Alertmanager webhook format.
pub fn alert(status: &str, name: &str, namespace: &str, extra: Value) -> Value {
    let mut labels = json!({"alertname": name, "namespace": namespace, "severity": "warning"});
    if let (Some(l), Some(e)) = (labels.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            l.insert(k.clone(), v.clone());
        }
    }
    json!({
        "status": status,
        "labels": labels,
        "annotations": {"summary": format!("{name} is firing")},
        "startsAt": "2026-12-01T07:55:00Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "fingerprint": "abc123"
    })
}
