//! The notification channels against real HTTP servers on 127.0.0.1 that answer like Slack,
//! PagerDuty and a webhook receiver: exact request bodies (snapshots), threading, the
//! PagerDuty event life cycle, webhook signatures, error classification, and that no secret
//! leaks into an error reason or a log line.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use guardian::api::views::{IncidentView, ObjectView};
use guardian::notify::console::{self, Console};
use guardian::notify::pagerduty::PagerDuty;
use guardian::notify::slack::{SECTION_LIMIT, SlackBot, SlackWebhook};
use guardian::notify::webhook::{self, Webhook};
use guardian::notify::{Delivered, Message, Notifier, SendError};
use guardian_core::decide::NoticeKind;
use guardian_core::incident::EscalationLevel;
use hmac::Mac;
use secrecy::SecretString;
use serde_json::{Value, json};

// --- secrets: every one is checked against every error reason and captured log line ---------

/// Path of the Slack incoming webhook; the real URL embeds the credential the same way.
const SLACK_HOOK_PATH: &str = "/services/T0000000/B0000000/hookSECRETxyz123";
const SLACK_TOKEN: &str = "xoxb-1111-2222-botSECRETtoken";
const ROUTING_KEY: &str = "R0123456789abcdefSECRETrk012345";
const WEBHOOK_PATH: &str = "/hooks/guardian?token=urlSECRETtoken";
const WEBHOOK_SECRET: &str = "whsec-signingSECRET-0123";
const SECRETS: &[&str] = &[
    SLACK_HOOK_PATH,
    "hookSECRETxyz123",
    SLACK_TOKEN,
    ROUTING_KEY,
    "urlSECRETtoken",
    WEBHOOK_SECRET,
];

const ROOT_TS: &str = "1700000000.000100";

// --- fake providers -----------------------------------------------------------------------

/// One request as the fake saw it.
#[derive(Debug, Clone)]
struct Recorded {
    method: String,
    /// Path and query.
    path: String,
    /// Lower-case names.
    headers: BTreeMap<String, String>,
    raw: Vec<u8>,
    /// The body as JSON (`null` when it is not JSON).
    json: Value,
}

impl Recorded {
    fn header(&self, name: &str) -> &str {
        self.headers.get(name).map(String::as_str).unwrap_or("")
    }
}

/// Status, extra headers, body.
type Answer = (StatusCode, Vec<(&'static str, String)>, String);
/// Decides the answer from the request and its index (0-based).
type Responder = Arc<dyn Fn(&Recorded, usize) -> Answer + Send + Sync>;

#[derive(Clone)]
struct FakeState {
    requests: Arc<Mutex<Vec<Recorded>>>,
    respond: Responder,
    /// Wait this long before answering (the "never answers" server).
    delay: Option<Duration>,
}

/// A provider fake on an ephemeral loopback port.
struct Fake {
    url: String,
    requests: Arc<Mutex<Vec<Recorded>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Fake {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Fake {
    async fn start(respond: impl Fn(&Recorded, usize) -> Answer + Send + Sync + 'static) -> Fake {
        Self::start_with(Arc::new(respond), None).await
    }

    /// A server that accepts the request but answers only after `delay`.
    async fn slow(delay: Duration) -> Fake {
        Self::start_with(
            Arc::new(|_, _| (StatusCode::OK, vec![], "ok".into())),
            Some(delay),
        )
        .await
    }

    async fn start_with(respond: Responder, delay: Option<Duration>) -> Fake {
        let requests = Arc::new(Mutex::new(Vec::new()));
        let state = FakeState {
            requests: requests.clone(),
            respond,
            delay,
        };
        let app = Router::new().fallback(record).with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Fake {
            url,
            requests,
            task,
        }
    }

    fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }

    fn only_request(&self) -> Recorded {
        let all = self.requests();
        assert_eq!(all.len(), 1, "expected exactly one request, got {all:#?}");
        all.into_iter().next().unwrap()
    }
}

async fn record(
    State(s): State<FakeState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let recorded = Recorded {
        method: method.to_string(),
        path: uri
            .path_and_query()
            .map(|p| p.to_string())
            .unwrap_or_default(),
        headers: headers
            .iter()
            .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
            .collect(),
        raw: body.to_vec(),
        json: serde_json::from_slice(&body).unwrap_or(Value::Null),
    };
    let index = {
        let mut all = s.requests.lock().unwrap();
        all.push(recorded.clone());
        all.len() - 1
    };
    if let Some(delay) = s.delay {
        tokio::time::sleep(delay).await;
    }
    let (status, extra, body) = (s.respond)(&recorded, index);
    let mut response = (status, body).into_response();
    for (name, value) in extra {
        response.headers_mut().insert(name, value.parse().unwrap());
    }
    response
}

/// Slack incoming webhook: `200 ok`.
fn slack_hook_ok(_: &Recorded, _: usize) -> Answer {
    (
        StatusCode::OK,
        vec![("content-type", "text/html".into())],
        "ok".into(),
    )
}

/// Slack `chat.postMessage`: 200 with a fresh `ts` per message (`…000100`, `…000200`, …).
fn slack_bot_ok(r: &Recorded, index: usize) -> Answer {
    let ts = format!("1700000000.{:06}", (index + 1) * 100);
    let body = json!({"ok": true, "channel": r.json["channel"], "ts": ts, "message": {"ts": ts}});
    json_answer(StatusCode::OK, body)
}

/// PagerDuty Events API v2: `202 success`.
fn pagerduty_ok(r: &Recorded, _: usize) -> Answer {
    json_answer(
        StatusCode::ACCEPTED,
        json!({"status": "success", "message": "Event processed", "dedup_key": r.json["dedup_key"]}),
    )
}

fn json_answer(status: StatusCode, body: Value) -> Answer {
    (
        status,
        vec![("content-type", "application/json".into())],
        body.to_string(),
    )
}

/// The documented signature check, implemented from the documentation (not with
/// `webhook::verify`), as a receiver in another language would.
fn receiver_accepts(r: &Recorded) -> bool {
    let Ok(timestamp) = r.header("x-guardian-timestamp").parse::<i64>() else {
        return false;
    };
    let Some(hex_sig) = r.header("x-guardian-signature").strip_prefix("v1=") else {
        return false;
    };
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(WEBHOOK_SECRET.as_bytes()).unwrap();
    mac.update(format!("{timestamp}.").as_bytes());
    mac.update(&r.raw);
    let expected = hex::encode(mac.finalize().into_bytes());
    let fresh = (jiff::Timestamp::now().as_second() - timestamp).abs() <= 300;
    fresh && expected == hex_sig
}

/// A webhook receiver that verifies signatures: 204 when valid, 401 otherwise.
fn webhook_receiver(r: &Recorded, _: usize) -> Answer {
    if receiver_accepts(r) {
        (StatusCode::NO_CONTENT, vec![], String::new())
    } else {
        (StatusCode::UNAUTHORIZED, vec![], "bad signature".into())
    }
}

// --- channels and messages ------------------------------------------------------------------

fn http(timeout: Duration) -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().timeout(timeout).build().unwrap()
}

fn client() -> reqwest::Client {
    http(Duration::from_secs(5))
}

fn secret(s: &str) -> SecretString {
    SecretString::from(s.to_string())
}

fn slack_webhook(base: &str, http: reqwest::Client) -> SlackWebhook {
    SlackWebhook::new(
        "slack-hook".into(),
        secret(&format!("{base}{SLACK_HOOK_PATH}")),
        http,
    )
}

fn slack_bot(base: &str, http: reqwest::Client) -> SlackBot {
    SlackBot::new(
        "slack-bot".into(),
        secret(SLACK_TOKEN),
        "C0123ABCD".into(),
        // a trailing slash, as people paste it
        format!("{base}/api/"),
        http,
    )
}

fn pagerduty(base: &str, http: reqwest::Client) -> PagerDuty {
    PagerDuty::new(
        "pagerduty".into(),
        secret(ROUTING_KEY),
        format!("{base}/v2/enqueue"),
        http,
    )
}

fn signed_webhook(base: &str, http: reqwest::Client) -> Webhook {
    Webhook::new(
        "webhook".into(),
        secret(&format!("{base}{WEBHOOK_PATH}")),
        secret(WEBHOOK_SECRET),
        http,
    )
}

/// The four HTTP channels, for tests that hold for all of them.
#[derive(Debug, Clone, Copy)]
enum Http {
    SlackWebhook,
    SlackBot,
    PagerDuty,
    Webhook,
}

const ALL_HTTP: [Http; 4] = [
    Http::SlackWebhook,
    Http::SlackBot,
    Http::PagerDuty,
    Http::Webhook,
];

fn channel(which: Http, base: &str, http: reqwest::Client) -> Box<dyn Notifier> {
    match which {
        Http::SlackWebhook => Box::new(slack_webhook(base, http)),
        Http::SlackBot => Box::new(slack_bot(base, http)),
        Http::PagerDuty => Box::new(pagerduty(base, http)),
        Http::Webhook => Box::new(signed_webhook(base, http)),
    }
}

/// 2023-11-14T22:15:23Z.
const DECIDED_AT: i64 = 1_700_000_123_000;

/// A realistic incident: a crash-looping Deployment with an analysis of two hypotheses. The
/// summary carries Slack control characters to prove they are escaped.
fn incident() -> IncidentView {
    IncidentView {
        id: "0192f6c4-6b1e-7c3a-9d2e-5f4a3b2c1d0e".into(),
        fingerprint: "3f2a9c1e7b6d5a4f8e9d0c1b2a3f4e5d".into(),
        cluster: "prod-eu".into(),
        detector: "pod_scanner".into(),
        namespace: Some("shop".into()),
        object: ObjectView {
            kind: "Deployment".into(),
            name: "checkout".into(),
        },
        reason: "CrashLoopBackOff".into(),
        category: "crash_loop".into(),
        severity: "critical".into(),
        status: "open".into(),
        summary: "Back-off restarting failed container app in pod checkout-7d9f8-x2k4q: exit 1 \
                  <!channel> & \"config\" missing"
            .into(),
        first_seen: "2023-11-14T21:55:00Z".into(),
        last_seen: "2023-11-14T22:15:00Z".into(),
        opened_at: "2023-11-14T21:55:00Z".into(),
        occurrences: 14,
        suppressed_occurrences: 0,
        escalations: vec!["recurring".into()],
        needs_review: true,
        acknowledged_by: None,
        acknowledged_at: None,
        ack_expires_at: None,
        resolved_by: None,
        resolved_at: None,
        analysis: Some(json!({
            "summary": "checkout exits at start-up because CHECKOUT_DB_URL is not set.",
            "category": "config_error",
            "severity": "critical",
            "hypotheses": [
                {
                    "cause": "The ConfigMap key CHECKOUT_DB_URL was removed in the last rollout.",
                    "category": "config_error",
                    "confidence": 0.35,
                    "evidence": ["E3"]
                },
                {
                    "cause": "The container crashes on a missing environment variable <DB_URL>.",
                    "category": "crash_loop",
                    "confidence": 0.6,
                    "evidence": ["E1", "E2"]
                }
            ],
            "recommended_actions": [
                {
                    "action": "Read the previous container's logs",
                    "command": "kubectl -n shop logs deploy/checkout --previous",
                    "risk": "read_only"
                },
                {
                    "action": "Roll back to the previous revision",
                    "command": "kubectl -n shop rollout undo deploy/checkout",
                    "risk": "high"
                }
            ],
            "confidence": 0.6,
            "needs_human_review": true,
            "missing_evidence": ["the ConfigMap's previous revision"]
        })),
    }
}

fn message(kind: NoticeKind) -> Message {
    let incident = incident();
    Message {
        kind,
        idempotency_key: format!("{}:{}:test", incident.id, kind.as_str()),
        link: Some(format!(
            "https://guardian.example.com/incidents/{}",
            incident.id
        )),
        incident,
        thread_ts: None,
        decided_at: DECIDED_AT,
    }
}

/// No secret (nor the receiver's address, which stands for the URL) in an error.
fn assert_clean(error: &SendError) {
    for text in [error.to_string(), format!("{error:?}")] {
        for s in SECRETS {
            assert!(!text.contains(s), "error leaks `{s}`: {text}");
        }
        assert!(
            !text.contains("127.0.0.1") && !text.contains("http://"),
            "error leaks the URL: {text}"
        );
    }
}

// --- payloads -------------------------------------------------------------------------------

#[tokio::test]
async fn slack_webhook_posts_a_block_kit_message() {
    let fake = Fake::start(slack_hook_ok).await;
    let hook = slack_webhook(&fake.url, client());
    assert_eq!(hook.name(), "slack-hook");

    let delivered = hook.send(&message(NoticeKind::Opened)).await.unwrap();

    assert_eq!(
        delivered,
        Delivered { thread_ts: None },
        "webhooks cannot thread"
    );
    let r = fake.only_request();
    assert_eq!(
        (r.method.as_str(), r.path.as_str()),
        ("POST", SLACK_HOOK_PATH)
    );
    assert!(r.header("content-type").starts_with("application/json"));
    assert!(
        !r.headers.contains_key("authorization"),
        "the URL is the credential"
    );
    let text = r.json.to_string();
    assert!(
        text.contains("&lt;!channel&gt; &amp;"),
        "mrkdwn is escaped: {text}"
    );
    assert!(
        !text.contains("<!channel>"),
        "no mass mention from cluster data"
    );
    insta::assert_json_snapshot!("slack_webhook_opened", r.json);
}

#[tokio::test]
async fn slack_bot_posts_a_root_then_replies_in_its_thread() {
    let fake = Fake::start(slack_bot_ok).await;
    let bot = slack_bot(&fake.url, client());

    let root = bot.send(&message(NoticeKind::Opened)).await.unwrap();
    assert_eq!(
        root.thread_ts.as_deref(),
        Some(ROOT_TS),
        "the root's ts comes back"
    );

    let mut follow_up = message(NoticeKind::Escalated(EscalationLevel::Persistent));
    follow_up.thread_ts = root.thread_ts.clone();
    let reply = bot.send(&follow_up).await.unwrap();
    assert_eq!(
        reply.thread_ts.as_deref(),
        Some("1700000000.000200"),
        "the reply's own ts"
    );

    let requests = fake.requests();
    assert_eq!(requests.len(), 2);
    for r in &requests {
        assert_eq!(
            (r.method.as_str(), r.path.as_str()),
            ("POST", "/api/chat.postMessage")
        );
        assert_eq!(r.header("authorization"), format!("Bearer {SLACK_TOKEN}"));
        assert_eq!(r.header("content-type"), "application/json; charset=utf-8");
        assert_eq!(r.json["channel"], "C0123ABCD");
    }
    assert!(
        requests[0].json.get("thread_ts").is_none(),
        "a root is top-level"
    );
    assert_eq!(
        requests[1].json["thread_ts"], ROOT_TS,
        "the reply names the root"
    );
    insta::assert_json_snapshot!("slack_bot_root", requests[0].json);
    insta::assert_json_snapshot!("slack_bot_reply", requests[1].json);
}

#[tokio::test]
async fn slack_message_shows_top_hypotheses_and_marks_actions_as_not_executed() {
    let fake = Fake::start(slack_hook_ok).await;
    let mut m = message(NoticeKind::Opened);
    if let Some(Value::Object(a)) = &mut m.incident.analysis {
        // four hypotheses, unsorted: only the best three are shown, highest first
        a.insert(
            "hypotheses".into(),
            json!([
                {"cause": "fourth", "category": "crash_loop", "confidence": 0.05, "evidence": []},
                {"cause": "second", "category": "crash_loop", "confidence": 0.3, "evidence": []},
                {"cause": "first", "category": "crash_loop", "confidence": 0.5, "evidence": []},
                {"cause": "third", "category": "crash_loop", "confidence": 0.15, "evidence": []}
            ]),
        );
    }
    slack_webhook(&fake.url, client()).send(&m).await.unwrap();

    let sections = section_texts(&fake.only_request().json);
    let hypotheses = sections
        .iter()
        .find(|t| t.starts_with("*Top hypotheses*"))
        .expect("a hypotheses section");
    assert_eq!(
        hypotheses.as_str(),
        "*Top hypotheses*\n1. first — *50%* (`crash_loop`)\n2. second — *30%* (`crash_loop`)\n\
         3. third — *15%* (`crash_loop`)"
    );
    let actions = sections
        .iter()
        .find(|t| t.starts_with("*Suggested actions*"))
        .expect("an actions section");
    assert!(actions.contains("(suggested, not executed)"));
    assert!(actions.contains("```kubectl -n shop rollout undo deploy/checkout```"));
}

#[tokio::test]
async fn slack_message_without_analysis_or_link_and_with_huge_text_stays_within_limits() {
    let fake = Fake::start(slack_hook_ok).await;
    let mut m = message(NoticeKind::Resolved);
    m.incident.summary = "<&>".repeat(4_000);
    m.incident.object.name = "n".repeat(300);
    m.incident.namespace = None;
    m.incident.analysis = Some(json!("not an analysis object"));
    m.incident.needs_review = false;
    m.incident.status = "resolved".into();
    m.incident.resolved_by = Some("alice".into());
    m.link = None;
    slack_webhook(&fake.url, client()).send(&m).await.unwrap();

    let body = fake.only_request().json;
    let blocks = body["blocks"].as_array().unwrap();
    let header = blocks[0]["text"]["text"].as_str().unwrap();
    assert!(header.starts_with("✅ "), "{header}");
    assert!(
        header.chars().count() <= 150,
        "header is {} chars",
        header.chars().count()
    );
    for text in section_texts(&body) {
        assert!(
            text.chars().count() <= SECTION_LIMIT,
            "section of {} chars",
            text.chars().count()
        );
    }
    let summary = blocks[1]["text"]["text"].as_str().unwrap();
    assert!(
        summary.ends_with("&gt;…") || summary.ends_with("&lt;…") || summary.ends_with("&amp;…")
    );
    for field in blocks[2]["fields"].as_array().unwrap() {
        assert!(field["text"].as_str().unwrap().chars().count() <= 2_000);
    }
    let all = body.to_string();
    assert!(all.contains("(cluster-scoped)"));
    assert!(all.contains("resolved by alice"));
    assert!(!all.contains("Needs human review"));
    assert!(
        !all.contains("Top hypotheses"),
        "a non-object analysis is skipped"
    );
    assert!(
        blocks.iter().all(|b| b["type"] != "actions"),
        "no link, no button"
    );
}

/// Every section text of a Block Kit message.
fn section_texts(body: &Value) -> Vec<String> {
    body["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["type"] == "section")
        .filter_map(|b| b["text"]["text"].as_str().map(str::to_string))
        .collect()
}

#[tokio::test]
async fn pagerduty_triggers_acknowledges_and_resolves_one_alert() {
    let fake = Fake::start(pagerduty_ok).await;
    let pd = pagerduty(&fake.url, client());
    for kind in [
        NoticeKind::Opened,
        NoticeKind::Acknowledged,
        NoticeKind::Resolved,
    ] {
        assert_eq!(pd.send(&message(kind)).await.unwrap(), Delivered::default());
    }

    let requests = fake.requests();
    let actions: Vec<&str> = requests
        .iter()
        .map(|r| r.json["event_action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["trigger", "acknowledge", "resolve"]);
    for r in &requests {
        assert_eq!(
            (r.method.as_str(), r.path.as_str()),
            ("POST", "/v2/enqueue")
        );
        assert_eq!(
            r.json["dedup_key"],
            incident().fingerprint,
            "one alert per incident"
        );
        assert_eq!(r.json["routing_key"], ROUTING_KEY);
    }
    for r in &requests[1..] {
        let keys: Vec<&String> = r.json.as_object().unwrap().keys().collect();
        assert_eq!(
            keys.len(),
            3,
            "ack/resolve carry only the key, action and dedup key: {keys:?}"
        );
    }
    let bodies: Vec<&Value> = requests.iter().map(|r| &r.json).collect();
    insta::assert_json_snapshot!("pagerduty_round_trip", bodies);
}

#[tokio::test]
async fn pagerduty_maps_severities_and_trigger_kinds() {
    let fake = Fake::start(pagerduty_ok).await;
    let pd = pagerduty(&fake.url, client());
    let cases = [
        (NoticeKind::Reopened, "critical", "critical"),
        (
            NoticeKind::Escalated(EscalationLevel::Recurring),
            "warning",
            "warning",
        ),
        (NoticeKind::SeverityRaised, "info", "info"),
        (NoticeKind::AckExpired, "warning", "warning"),
        (NoticeKind::Repeat, "critical", "critical"),
    ];
    for (kind, ours, _) in cases {
        let mut m = message(kind);
        m.incident.severity = ours.into();
        m.incident.summary = "x".repeat(2_000);
        pd.send(&m).await.unwrap();
    }
    let requests = fake.requests();
    for (r, (kind, _, theirs)) in requests.iter().zip(cases) {
        assert_eq!(r.json["event_action"], "trigger", "{kind:?}");
        assert_eq!(r.json["payload"]["severity"], theirs, "{kind:?}");
        assert_eq!(r.json["payload"]["custom_details"]["notice"], kind.as_str());
        let summary = r.json["payload"]["summary"].as_str().unwrap();
        assert_eq!(summary.chars().count(), 1_024, "summary is capped");
        assert!(summary.ends_with('…'));
    }
}

#[tokio::test]
async fn webhook_body_is_versioned_and_signed() {
    let fake = Fake::start(webhook_receiver).await;
    let hook = signed_webhook(&fake.url, client());
    let m = message(NoticeKind::Escalated(EscalationLevel::Recurring));

    // the receiver answers 401 unless the signature verifies
    assert_eq!(hook.send(&m).await.unwrap(), Delivered::default());

    let r = fake.only_request();
    assert_eq!((r.method.as_str(), r.path.as_str()), ("POST", WEBHOOK_PATH));
    assert_eq!(r.header("content-type"), "application/json");
    assert_eq!(r.header("x-guardian-idempotency-key"), m.idempotency_key);
    assert_eq!(r.json["schema"], webhook::SCHEMA);
    assert_eq!(r.json["idempotency_key"], m.idempotency_key);
    assert_eq!(
        r.json["incident"],
        serde_json::to_value(&m.incident).unwrap(),
        "the incident is the API's JSON"
    );
    insta::assert_json_snapshot!("webhook_body", r.json);

    // the library's verify agrees with the receiver, and rejects tampering
    let timestamp: i64 = r.header("x-guardian-timestamp").parse().unwrap();
    let signature = r.header("x-guardian-signature");
    let key = WEBHOOK_SECRET.as_bytes();
    assert!(webhook::verify(key, timestamp, &r.raw, signature));
    assert_eq!(webhook::sign(key, timestamp, &r.raw), signature);
    let mut tampered = r.raw.clone();
    tampered[10] ^= 1;
    assert!(
        !webhook::verify(key, timestamp, &tampered, signature),
        "tampered body"
    );
    assert!(
        !webhook::verify(key, timestamp + 1, &r.raw, signature),
        "tampered timestamp"
    );
    assert!(
        !webhook::verify(b"wrong secret", timestamp, &r.raw, signature),
        "other secret"
    );
    assert!(
        !webhook::verify(key, timestamp, &r.raw, "v1=00"),
        "malformed signature"
    );
}

#[tokio::test]
async fn webhook_with_a_wrong_secret_is_refused_permanently() {
    let fake = Fake::start(webhook_receiver).await;
    let hook = Webhook::new(
        "webhook".into(),
        secret(&format!("{}{WEBHOOK_PATH}", fake.url)),
        secret("not-the-shared-secret"),
        client(),
    );
    let error = hook.send(&message(NoticeKind::Opened)).await.unwrap_err();
    assert!(matches!(error, SendError::Permanent { .. }), "{error:?}");
    assert_clean(&error);
}

#[test]
fn webhook_signature_matches_the_documented_test_vector() {
    // The vector in docs/notifications.md, computed independently with
    // `printf '%s' '1700000000.{"schema":"guardian.notification/v1"}' \
    //    | openssl dgst -sha256 -hmac 'whsec-example'`.
    let body = br#"{"schema":"guardian.notification/v1"}"#;
    assert_eq!(
        webhook::sign(b"whsec-example", 1_700_000_000, body),
        "v1=fcf1d36566b2b5e4ce789ea5ccc7855a9c7f3b6a6e0462ac511bc1700c1858ca"
    );
}

#[tokio::test]
async fn console_writes_one_line_per_decision_and_never_fails() {
    let written = Captured::default();
    let console = Console::with_writer("console".into(), Box::new(written.clone()));
    assert_eq!(console.name(), "console");
    let mut m = message(NoticeKind::Opened);
    m.incident.summary = "line one\nline two\u{1b}[31m".into();
    assert_eq!(console.send(&m).await.unwrap(), Delivered::default());
    m.link = None;
    m.kind = NoticeKind::Resolved;
    assert_eq!(console.send(&m).await.unwrap(), Delivered::default());

    let text = written.text();
    assert_eq!(
        text.lines().collect::<Vec<_>>(),
        [
            "[critical] Opened: prod-eu/shop Deployment/checkout — crash_loop · line one line two \
             [31m · https://guardian.example.com/incidents/0192f6c4-6b1e-7c3a-9d2e-5f4a3b2c1d0e",
            "[critical] Resolved: prod-eu/shop Deployment/checkout — crash_loop · line one line \
             two [31m",
        ],
        "newlines and terminal escapes from cluster data are neutralised"
    );
    assert_eq!(text.lines().nth(1), Some(console::line(&m).as_str()));

    // a writer that always fails is ignored, not reported
    let broken = Console::with_writer("console".into(), Box::new(Broken));
    assert_eq!(broken.send(&m).await.unwrap(), Delivered::default());
}

/// A writer whose every write fails (a closed stdout).
struct Broken;

impl std::io::Write for Broken {
    fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
        Err(std::io::ErrorKind::BrokenPipe.into())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Err(std::io::ErrorKind::BrokenPipe.into())
    }
}

// --- error classification ---------------------------------------------------------------------

/// What each HTTP failure must classify as, on every HTTP channel.
#[tokio::test]
async fn http_failures_are_classified_on_every_channel() {
    type Expect = fn(&SendError) -> bool;
    let cases: [(u16, Option<&str>, Expect); 6] = [
        (500, None, |e| {
            matches!(e, SendError::Retryable { after: None, .. })
        }),
        (503, None, |e| {
            matches!(e, SendError::Retryable { after: None, .. })
        }),
        (
            429,
            Some("3"),
            |e| matches!(e, SendError::Retryable { after: Some(d), .. } if *d == Duration::from_secs(3)),
        ),
        (400, None, |e| matches!(e, SendError::Permanent { .. })),
        (403, None, |e| matches!(e, SendError::Permanent { .. })),
        (404, None, |e| matches!(e, SendError::Permanent { .. })),
    ];
    for (status, retry_after, expect) in cases {
        let fake = Fake::start(move |_, _| {
            let status = StatusCode::from_u16(status).unwrap();
            let headers = retry_after
                .map(|s| vec![("retry-after", s.to_string())])
                .unwrap_or_default();
            (status, headers, String::new())
        })
        .await;
        for which in ALL_HTTP {
            let error = channel(which, &fake.url, client())
                .send(&message(NoticeKind::Opened))
                .await
                .unwrap_err();
            assert!(expect(&error), "{which:?} answered {status}: {error:?}");
            assert_clean(&error);
        }
    }
}

#[tokio::test]
async fn slack_webhook_error_codes_are_quoted() {
    let fake = Fake::start(|_, _| (StatusCode::FORBIDDEN, vec![], "invalid_token".into())).await;
    let error = slack_webhook(&fake.url, client())
        .send(&message(NoticeKind::Opened))
        .await
        .unwrap_err();
    assert_eq!(
        error,
        SendError::Permanent {
            reason: "the receiver answered 403 Forbidden (invalid_token)".into()
        }
    );

    // an answer that is not a code (here: one echoing the URL) is never quoted
    let echo = Fake::start(|r, _| {
        (
            StatusCode::NOT_FOUND,
            vec![],
            format!("no such hook {}", r.path),
        )
    })
    .await;
    let error = slack_webhook(&echo.url, client())
        .send(&message(NoticeKind::Opened))
        .await
        .unwrap_err();
    assert_eq!(
        error,
        SendError::Permanent {
            reason: "the receiver answered 404 Not Found".into()
        }
    );
}

#[tokio::test]
async fn slack_bot_api_errors_are_classified() {
    let cases: [(&str, bool); 6] = [
        ("invalid_auth", false),
        ("channel_not_found", false),
        ("not_in_channel", false),
        ("ratelimited", true),
        ("internal_error", true),
        ("service_unavailable", true),
    ];
    for (code, retryable) in cases {
        let fake = Fake::start(move |_, _| {
            let (status, mut headers, body) =
                json_answer(StatusCode::OK, json!({"ok": false, "error": code}));
            if code == "ratelimited" {
                headers.push(("retry-after", "2".into()));
            }
            (status, headers, body)
        })
        .await;
        let error = slack_bot(&fake.url, client())
            .send(&message(NoticeKind::Opened))
            .await
            .unwrap_err();
        let reason = format!("Slack refused the message: {code}");
        let expected = match (retryable, code) {
            (true, "ratelimited") => SendError::Retryable {
                after: Some(Duration::from_secs(2)),
                reason,
            },
            (true, _) => SendError::Retryable {
                after: None,
                reason,
            },
            (false, _) => SendError::Permanent { reason },
        };
        assert_eq!(error, expected, "{code}");
        assert_clean(&error);
    }

    // a real 429 from the bot API carries Retry-After and the code
    let fake = Fake::start(|_, _| {
        let (_, mut headers, body) = json_answer(
            StatusCode::TOO_MANY_REQUESTS,
            json!({"ok": false, "error": "ratelimited"}),
        );
        headers.push(("retry-after", "3".into()));
        (StatusCode::TOO_MANY_REQUESTS, headers, body)
    })
    .await;
    let error = slack_bot(&fake.url, client())
        .send(&message(NoticeKind::Opened))
        .await
        .unwrap_err();
    assert_eq!(
        error,
        SendError::Retryable {
            after: Some(Duration::from_secs(3)),
            reason: "the receiver answered 429 Too Many Requests (ratelimited)".into()
        }
    );

    // a 200 that is not Slack's answer (a captive proxy): retry, it may not have been posted
    let fake = Fake::start(|_, _| (StatusCode::OK, vec![], "<html>login</html>".into())).await;
    let error = slack_bot(&fake.url, client())
        .send(&message(NoticeKind::Opened))
        .await
        .unwrap_err();
    assert!(matches!(error, SendError::Retryable { .. }), "{error:?}");
}

#[tokio::test]
async fn pagerduty_invalid_event_details_are_quoted_without_the_key() {
    let fake = Fake::start(|_, _| {
        json_answer(
            StatusCode::BAD_REQUEST,
            json!({
                "status": "invalid event",
                "message": "Event object is invalid",
                "errors": [format!("Invalid routing key {ROUTING_KEY}")]
            }),
        )
    })
    .await;
    let error = pagerduty(&fake.url, client())
        .send(&message(NoticeKind::Opened))
        .await
        .unwrap_err();
    assert_eq!(
        error,
        SendError::Permanent {
            reason: "the receiver answered 400 Bad Request (Event object is invalid: Invalid \
                     routing key <routing key>)"
                .into()
        }
    );
    assert_clean(&error);
}

#[tokio::test]
async fn a_receiver_that_never_answers_is_retryable() {
    let fake = Fake::slow(Duration::from_secs(10)).await;
    for which in ALL_HTTP {
        let started = Instant::now();
        let error = channel(which, &fake.url, http(Duration::from_millis(300)))
            .send(&message(NoticeKind::Opened))
            .await
            .unwrap_err();
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{which:?} waited too long"
        );
        assert_eq!(
            error,
            SendError::Retryable {
                after: None,
                reason: "the request timed out".into()
            },
            "{which:?}"
        );
        assert_clean(&error);
    }
    assert_eq!(
        fake.requests().len(),
        ALL_HTTP.len(),
        "each request reached the server"
    );
}

#[tokio::test]
async fn an_unreachable_receiver_is_retryable_and_a_malformed_url_permanent() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    for which in ALL_HTTP {
        let error = channel(which, &closed, client())
            .send(&message(NoticeKind::Opened))
            .await
            .unwrap_err();
        assert_eq!(
            error,
            SendError::Retryable {
                after: None,
                reason: "the request could not connect".into()
            },
            "{which:?}"
        );
        assert_clean(&error);
    }
    for which in ALL_HTTP {
        let error = channel(which, "not a url", client())
            .send(&message(NoticeKind::Opened))
            .await
            .unwrap_err();
        assert!(
            matches!(error, SendError::Permanent { .. }),
            "{which:?}: {error:?}"
        );
        assert_clean(&error);
    }
}

// --- logs ---------------------------------------------------------------------------------

/// Captured log output.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Every log line (all crates, TRACE) of successful and failed deliveries on every channel is
/// free of secrets. A current-thread runtime keeps every event on the thread that holds the
/// subscriber.
#[tokio::test(flavor = "current_thread")]
async fn no_log_line_carries_a_secret() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let slack_hook = Fake::start(slack_hook_ok).await;
    let slack_api = Fake::start(slack_bot_ok).await;
    let pd = Fake::start(pagerduty_ok).await;
    let hook = Fake::start(webhook_receiver).await;
    let refusing =
        Fake::start(|_, _| (StatusCode::FORBIDDEN, vec![], "invalid_token".into())).await;
    let slow = Fake::slow(Duration::from_secs(10)).await;
    let m = message(NoticeKind::Opened);

    slack_webhook(&slack_hook.url, client())
        .send(&m)
        .await
        .unwrap();
    slack_bot(&slack_api.url, client()).send(&m).await.unwrap();
    pagerduty(&pd.url, client()).send(&m).await.unwrap();
    signed_webhook(&hook.url, client()).send(&m).await.unwrap();
    Console::with_writer("console".into(), Box::new(std::io::sink()))
        .send(&m)
        .await
        .unwrap();
    for which in ALL_HTTP {
        let _ = channel(which, &refusing.url, client())
            .send(&m)
            .await
            .unwrap_err();
        let _ = channel(which, &slow.url, http(Duration::from_millis(300)))
            .send(&m)
            .await
            .unwrap_err();
    }

    let logs = captured.text();
    assert!(
        logs.contains("Notification written to the console."),
        "the capture works: {logs}"
    );
    for s in SECRETS {
        assert!(!logs.contains(s), "a log line carries `{s}`:\n{logs}");
    }
}
