//! Kill `guardian serve` between "sent" and "marked sent": after a restart nothing is lost and
//! the redelivery carries the same idempotency key (PagerDuty `dedup_key`, webhook
//! `X-Guardian-Idempotency-Key`), so an idempotent receiver sees the page once.

mod harness;

use std::collections::BTreeSet;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use harness::receiver::{Answer, Receiver};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_guardian");
const TOKEN: &str = "crash-test-token-0123456789";

fn spawn(config: &std::path::Path, db: &std::path::Path, port: u16, hook: &Receiver) -> Child {
    let child = Command::new(BIN)
        .args(["serve", "--config"])
        .arg(config)
        .args(["--listen", &format!("127.0.0.1:{port}"), "--store"])
        .arg(db)
        .env("GUARDIAN_API_TOKEN", TOKEN)
        .env("HOOK_URL", format!("{}/hook", hook.url))
        .env("HOOK_SECRET", "crash-test-signing-secret")
        .env("PD_ROUTING_KEY", "crash-test-routing-key-0123")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_until("guardian serve listens", || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    child
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn kill(mut child: Child) {
    child.kill().unwrap(); // SIGKILL: no graceful shutdown, no chance to record the outcome
    child.wait().unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_crash_after_sending_redelivers_with_the_same_key() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let hook = Receiver::start("ok").await;
    let pd = Receiver::start(r#"{"status":"success"}"#).await;
    // the first request to each receiver is accepted but never answered
    hook.script([Answer::Hang]);
    pd.script([Answer::Hang]);
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("guardian.yaml");
    std::fs::write(
        &config,
        format!(
            "notifications:\n  poll_interval_ms: 100\n  request_timeout_ms: 60000\n  channels:\n\
             \x20   - {{type: webhook, name: hook, url: {{env: HOOK_URL}}, secret: {{env: HOOK_SECRET}}}}\n\
             \x20   - {{type: pagerduty, name: pd, routing_key: {{env: PD_ROUTING_KEY}}, events_url: \"{}/v2/enqueue\"}}\n",
            pd.url
        ),
    )
    .unwrap();
    let db = dir.path().join("guardian.db");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let http = reqwest::Client::new();
    let api = format!("http://127.0.0.1:{port}");

    let child = spawn(&config, &db, port, &hook);
    let body = json!({"alerts": [{"status": "firing", "labels": {"alertname": "KubeJobFailed", "namespace": "backup", "job_name": "nightly", "severity": "critical"}, "annotations": {"summary": "nightly backup failed"}}]});
    let response = http
        .post(format!("{api}/alertmanager"))
        .bearer_auth(TOKEN)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    wait_until("the webhook receives the page", || {
        hook.requests().len() == 1
    });
    kill(child);

    let child = spawn(&config, &db, port, &hook);
    wait_until(
        "the webhook gets the redelivery and PagerDuty the page",
        || hook.requests().len() == 2 && pd.requests().len() == 1,
    );
    kill(child);

    let child = spawn(&config, &db, port, &hook);
    wait_until("PagerDuty gets the redelivery", || pd.requests().len() == 2);
    // give the worker time to (wrongly) send anything else
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(
        hook.requests().len(),
        2,
        "the acknowledged webhook delivery is not sent again"
    );
    assert_eq!(pd.requests().len(), 2);

    let keys: BTreeSet<String> = hook
        .requests()
        .iter()
        .map(|r| {
            r.headers["x-guardian-idempotency-key"]
                .to_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(
        keys.len(),
        1,
        "an idempotent webhook consumer sees one page: {keys:?}"
    );
    let dedup: BTreeSet<(String, String)> = pd
        .requests()
        .iter()
        .map(|r| {
            (
                r.body["dedup_key"].to_string(),
                r.body["event_action"].to_string(),
            )
        })
        .collect();
    assert_eq!(
        dedup.len(),
        1,
        "PagerDuty deduplicates the repeat: {dedup:?}"
    );

    let list: Value = http
        .get(format!("{api}/incidents"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = list["incidents"][0]["id"].as_str().unwrap();
    let detail: Value = http
        .get(format!("{api}/incidents/{id}"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let n = &detail["notifications"][0];
    assert_eq!(n["kind"], "opened");
    let deliveries: Vec<(String, String)> = n["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["channel"].as_str().unwrap().into(),
                d["status"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        deliveries,
        [("hook".into(), "sent".into()), ("pd".into(), "sent".into())]
    );
    kill(child);
}
