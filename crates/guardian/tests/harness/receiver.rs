//! A scripted HTTP receiver on 127.0.0.1 standing in for Slack, PagerDuty or a webhook
//! consumer: it records every request and answers from a script, then with 200.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

/// How to answer one request.
#[derive(Debug, Clone)]
pub enum Answer {
    /// This status, with an optional `Retry-After` in seconds.
    Status(u16, Option<u64>),
    /// Wait this long, then 200.
    Slow(Duration),
    /// Never answer (the client times out, or the process under test is killed).
    Hang,
    /// This status with this JSON body.
    Json(u16, Value),
}

/// One recorded request.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub path: String,
    pub headers: HeaderMap,
    pub body: Value,
    pub raw: Bytes,
}

#[derive(Default)]
struct Inner {
    script: VecDeque<Answer>,
    requests: Vec<Recorded>,
}

/// The receiver.
#[derive(Clone)]
pub struct Receiver {
    inner: Arc<Mutex<Inner>>,
    pub url: String,
    /// What a successful answer's body is (PagerDuty wants JSON, Slack webhooks "ok").
    ok_body: Arc<String>,
}

async fn handle(State(r): State<Receiver>, uri: Uri, headers: HeaderMap, raw: Bytes) -> Response {
    let answer = {
        let mut inner = r.inner.lock().unwrap();
        inner.requests.push(Recorded {
            path: uri.path().to_string(),
            headers,
            body: serde_json::from_slice(&raw).unwrap_or(Value::Null),
            raw,
        });
        inner.script.pop_front()
    };
    let ok = || (StatusCode::OK, r.ok_body.as_str().to_string()).into_response();
    match answer {
        None => ok(),
        Some(Answer::Status(code, retry_after)) => {
            let mut response = (StatusCode::from_u16(code).unwrap(), "scripted").into_response();
            if let Some(secs) = retry_after {
                response
                    .headers_mut()
                    .insert("retry-after", secs.to_string().parse().unwrap());
            }
            response
        }
        Some(Answer::Slow(d)) => {
            tokio::time::sleep(d).await;
            ok()
        }
        Some(Answer::Json(code, body)) => {
            (StatusCode::from_u16(code).unwrap(), axum::Json(body)).into_response()
        }
        Some(Answer::Hang) => {
            std::future::pending::<()>().await;
            ok()
        }
    }
}

impl Receiver {
    /// Starts a receiver answering `ok_body` on success.
    pub async fn start(ok_body: &str) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let receiver = Self {
            inner: Arc::default(),
            url,
            ok_body: Arc::new(ok_body.to_string()),
        };
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(receiver.clone());
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        receiver
    }

    /// Queues answers for the next requests.
    pub fn script(&self, answers: impl IntoIterator<Item = Answer>) {
        self.inner.lock().unwrap().script.extend(answers);
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.inner.lock().unwrap().requests.clone()
    }
}
