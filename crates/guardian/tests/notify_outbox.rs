//! The notification outbox end to end: real channels against real HTTP receivers on 127.0.0.1,
//! a real SQLite file, a manual clock. Faults, retries, ordering, storms and routing.

mod harness;

use std::time::Duration;

use guardian::config::{ChannelConfig, PagerdutyConfig, RouteConfig, SecretRef, WebhookConfig};
use harness::receiver::{Answer, Receiver};
use harness::{TOKEN, TestServer, alert};
use secrecy::SecretString;
use serde_json::{Value, json};

const HOOK_SECRET: &str = "hook-signing-secret-for-tests";
const PD_KEY: &str = "pd-routing-key-0123456789abcdef";

fn secret_ref() -> SecretRef {
    SecretRef {
        env: Some("UNUSED_IN_TESTS".into()),
        file: None,
    }
}

struct Setup {
    server: TestServer,
    hook: Receiver,
    pd: Receiver,
}

async fn setup(tune: impl FnOnce(&mut guardian::config::Config)) -> Setup {
    let hook = Receiver::start("ok").await;
    let pd = Receiver::start(r#"{"status":"success","message":"Event processed"}"#).await;
    let dir = tempfile::tempdir().unwrap();
    let mut settings = harness::settings(dir.path().join("g.db"), Some(TOKEN));
    let n = &mut settings.config.notifications;
    n.channels = vec![
        ChannelConfig::Webhook(WebhookConfig {
            name: "hook".into(),
            url: secret_ref(),
            secret: secret_ref(),
        }),
        ChannelConfig::Pagerduty(PagerdutyConfig {
            name: "pd".into(),
            routing_key: secret_ref(),
            events_url: format!("{}/v2/enqueue", pd.url),
        }),
    ];
    n.request_timeout_ms = 300;
    n.public_url = Some("https://guardian.example.com".into());
    tune(&mut settings.config);
    let secrets = &mut settings.secrets.channels;
    secrets.insert(
        ("hook".into(), "url".into()),
        SecretString::from(format!("{}/hook", hook.url)),
    );
    secrets.insert(
        ("hook".into(), "secret".into()),
        SecretString::from(HOOK_SECRET.to_string()),
    );
    secrets.insert(
        ("pd".into(), "routing_key".into()),
        SecretString::from(PD_KEY.to_string()),
    );
    let server = TestServer::start_with(settings, dir).await;
    Setup { server, hook, pd }
}

fn only_hook(config: &mut guardian::config::Config) {
    config.notifications.default_channels = vec!["hook".into()];
}

fn kinds(requests: &[harness::receiver::Recorded]) -> Vec<String> {
    requests
        .iter()
        .map(|r| r.body["kind"].as_str().unwrap_or("?").to_string())
        .collect()
}

async fn detail(s: &TestServer) -> Value {
    let id = s.incidents("?status=all").await[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    s.get(&format!("/incidents/{id}")).await.1
}

#[tokio::test(flavor = "multi_thread")]
async fn server_error_then_success_is_retried_with_the_same_key() {
    let Setup {
        server: s, hook, ..
    } = setup(only_hook).await;
    hook.script([Answer::Status(500, None)]);
    s.alert(json!([alert(
        "firing",
        "HighErrors",
        "shop",
        json!({"deployment": "api"})
    )]))
    .await;
    let report = s.outbox().run_once().await.unwrap();
    assert_eq!((report.routed, report.sent, report.retried), (1, 0, 1));
    let d = detail(&s).await;
    let delivery = &d["notifications"][0]["deliveries"][0];
    assert_eq!(delivery["status"], "pending");
    assert_eq!(delivery["attempts"], 1);
    assert!(
        delivery["last_error"].as_str().unwrap().contains("500"),
        "{delivery}"
    );
    // not due yet: nothing is sent
    s.outbox().run_once().await.unwrap();
    assert_eq!(hook.requests().len(), 1);
    s.advance_secs(2);
    let report = s.outbox().run_once().await.unwrap();
    assert_eq!(report.sent, 1);
    let requests = hook.requests();
    assert_eq!(requests.len(), 2);
    let key = |i: usize| {
        requests[i].headers["x-guardian-idempotency-key"]
            .to_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(key(0), key(1), "a retry carries the same idempotency key");
    assert!(key(0).ends_with(":hook"));
    let d = detail(&s).await;
    assert_eq!(d["notifications"][0]["status"], "sent");
    assert_eq!(d["notifications"][0]["deliveries"][0]["attempts"], 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn retry_after_is_honoured() {
    let Setup {
        server: s, hook, ..
    } = setup(only_hook).await;
    hook.script([Answer::Status(429, Some(120))]);
    s.alert(json!([alert("firing", "HighErrors", "shop", json!({}))]))
        .await;
    s.outbox().run_once().await.unwrap();
    s.advance_secs(100);
    s.outbox().run_once().await.unwrap();
    assert_eq!(hook.requests().len(), 1, "no retry before Retry-After");
    s.advance_secs(21);
    s.outbox().run_once().await.unwrap();
    assert_eq!(hook.requests().len(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_timeout_is_retried() {
    let Setup {
        server: s, hook, ..
    } = setup(only_hook).await;
    hook.script([Answer::Slow(Duration::from_secs(3))]);
    s.alert(json!([alert("firing", "HighErrors", "shop", json!({}))]))
        .await;
    let report = s.outbox().run_once().await.unwrap();
    assert_eq!(report.retried, 1);
    let d = detail(&s).await;
    assert!(
        d["notifications"][0]["deliveries"][0]["last_error"]
            .as_str()
            .unwrap()
            .contains("timed out")
    );
    s.advance_secs(2);
    assert_eq!(s.outbox().run_once().await.unwrap().sent, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn permanent_errors_fail_at_once_and_show_in_api_and_metrics() {
    let Setup {
        server: s, hook, ..
    } = setup(only_hook).await;
    hook.script([Answer::Status(400, None)]);
    s.alert(json!([alert("firing", "HighErrors", "shop", json!({}))]))
        .await;
    let report = s.outbox().run_once().await.unwrap();
    assert_eq!(report.failed, 1);
    for _ in 0..3 {
        s.advance_secs(3600);
        s.outbox().run_once().await.unwrap();
    }
    assert_eq!(
        hook.requests().len(),
        1,
        "a permanent failure is never retried"
    );
    let d = detail(&s).await;
    assert_eq!(d["notifications"][0]["status"], "failed");
    assert_eq!(d["notifications"][0]["deliveries"][0]["status"], "failed");
    let metrics = s.metrics().await;
    assert!(metrics.contains("guardian_outbox_failed 1"), "{metrics}");
    assert!(
        metrics.contains(
            "guardian_notifications_failed_total{channel=\"hook\",error=\"permanent\"} 1"
        ),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn retries_are_bounded() {
    let Setup {
        server: s, hook, ..
    } = setup(|c| {
        only_hook(c);
        c.notifications.max_attempts = 3;
    })
    .await;
    hook.script((0..10).map(|_| Answer::Status(503, None)));
    s.alert(json!([alert("firing", "HighErrors", "shop", json!({}))]))
        .await;
    for _ in 0..10 {
        s.outbox().run_once().await.unwrap();
        s.advance_secs(600);
    }
    assert_eq!(hook.requests().len(), 3);
    assert_eq!(
        detail(&s).await["notifications"][0]["deliveries"][0]["status"],
        "failed"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_storm_of_sightings_sends_one_opened() {
    let Setup {
        server: s,
        hook,
        pd,
    } = setup(|_| {}).await;
    let a = alert(
        "firing",
        "KubePodCrashLooping",
        "shop",
        json!({"deployment": "api"}),
    );
    for batch in 0..100 {
        let alerts: Vec<Value> = (0..10)
            .map(|i| {
                let mut a = a.clone();
                a["labels"]["pod"] = json!(format!("api-{batch}-{i}"));
                a
            })
            .collect();
        s.alert(Value::Array(alerts)).await;
    }
    assert_eq!(s.incidents("").await[0]["occurrences"], 1000);
    s.outbox().run_once().await.unwrap();
    s.outbox().run_once().await.unwrap();
    assert_eq!(kinds(&hook.requests()), ["opened"]);
    assert_eq!(pd.requests().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn resolved_never_overtakes_a_pending_opened() {
    let Setup {
        server: s, hook, ..
    } = setup(only_hook).await;
    hook.script([Answer::Status(500, None)]);
    let a = alert("firing", "HighErrors", "shop", json!({}));
    s.alert(json!([a.clone()])).await;
    s.outbox().run_once().await.unwrap();
    let mut resolved = a;
    resolved["status"] = json!("resolved");
    s.alert(json!([resolved])).await;
    s.outbox().run_once().await.unwrap();
    assert_eq!(
        kinds(&hook.requests()),
        ["opened"],
        "resolved waits for opened"
    );
    s.advance_secs(5);
    s.outbox().run_once().await.unwrap();
    s.outbox().run_once().await.unwrap();
    assert_eq!(kinds(&hook.requests()), ["opened", "opened", "resolved"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn pagerduty_follows_the_lifecycle_with_one_dedup_key() {
    let Setup { server: s, pd, .. } =
        setup(|c| c.notifications.default_channels = vec!["pd".into()]).await;
    s.alert(json!([alert(
        "firing",
        "HighErrors",
        "shop",
        json!({"deployment": "api", "severity": "critical"})
    )]))
    .await;
    let inc = s.incidents("").await[0].clone();
    let id = inc["id"].as_str().unwrap();
    s.post(&format!("/incidents/{id}/ack"), json!({"actor": "alice"}))
        .await;
    s.post(
        &format!("/incidents/{id}/resolve"),
        json!({"actor": "alice"}),
    )
    .await;
    for _ in 0..3 {
        s.outbox().run_once().await.unwrap();
    }
    let events = pd.requests();
    let actions: Vec<&str> = events
        .iter()
        .map(|r| r.body["event_action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["trigger", "acknowledge", "resolve"]);
    for e in &events {
        assert_eq!(e.body["dedup_key"], inc["fingerprint"]);
        assert_eq!(e.body["routing_key"], PD_KEY);
    }
    assert_eq!(events[0].body["payload"]["severity"], "critical");
}

#[tokio::test(flavor = "multi_thread")]
async fn routing_default_route_and_suppression() {
    let Setup {
        server: s,
        hook,
        pd,
    } = setup(|c| {
        c.notifications.routes = vec![RouteConfig {
            severities: vec![guardian_core::Severity::Critical],
            channels: vec!["pd".into()],
            ..RouteConfig::default()
        }];
        c.notifications.default_channels = vec!["hook".into()];
    })
    .await;
    s.alert(json!([alert(
        "firing",
        "Paging",
        "shop",
        json!({"severity": "critical"})
    )]))
    .await;
    s.alert(json!([alert(
        "firing",
        "Ticket",
        "shop",
        json!({"severity": "warning"})
    )]))
    .await;
    let (status, _) = s
        .post(
            "/suppressions",
            json!({"namespace": "quiet", "reason": "migration", "expires_in_secs": 3600}),
        )
        .await;
    assert_eq!(status, 201);
    s.alert(json!([alert(
        "firing",
        "Paging",
        "quiet",
        json!({"severity": "critical"})
    )]))
    .await;
    s.outbox().run_once().await.unwrap();
    let pd_summaries: Vec<String> = pd
        .requests()
        .iter()
        .map(|r| r.body["payload"]["summary"].to_string())
        .collect();
    assert_eq!(
        pd.requests().len(),
        1,
        "critical → pd only: {pd_summaries:?}"
    );
    assert!(pd_summaries[0].contains("Paging"));
    let hooks = hook.requests();
    assert_eq!(hooks.len(), 1, "warning → default route (hook)");
    assert_eq!(hooks[0].body["incident"]["reason"], "Ticket");
    assert_eq!(
        hooks[0].body["link"]
            .as_str()
            .unwrap()
            .split("/incidents/")
            .next(),
        Some("https://guardian.example.com")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn no_secret_reaches_the_api_or_the_payloads() {
    let Setup {
        server: s,
        hook,
        pd,
    } = setup(|_| {}).await;
    // an alert that quotes the routing key and the webhook URL (e.g. a misconfigured annotation)
    let mut a = alert("firing", "Leaky", "shop", json!({}));
    a["annotations"]["summary"] = json!(format!("posting to {}/hook with key {PD_KEY}", hook.url));
    s.alert(json!([a])).await;
    s.outbox().run_once().await.unwrap();
    let api = detail(&s).await.to_string();
    for text in [
        api,
        hook.requests()[0].body.to_string(),
        pd.requests()[0].body["payload"].to_string(),
    ] {
        assert!(!text.contains(PD_KEY), "{text}");
        assert!(!text.contains(&format!("{}/hook", hook.url)), "{text}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn slack_threads_follow_ups_under_the_stored_root_and_reopen_starts_a_new_one() {
    let slack = Receiver::start(r#"{"ok":true,"ts":"0"}"#).await;
    let dir = tempfile::tempdir().unwrap();
    let mut settings = harness::settings(dir.path().join("g.db"), Some(TOKEN));
    settings.config.notifications.channels =
        vec![ChannelConfig::SlackBot(guardian::config::SlackBotConfig {
            name: "oncall".into(),
            token: secret_ref(),
            channel: "C0123".into(),
            api_url: slack.url.clone(),
        })];
    settings.secrets.channels.insert(
        ("oncall".into(), "token".into()),
        SecretString::from("xoxb-test-token".to_string()),
    );
    let s = TestServer::start_with(settings, dir).await;
    let ts = |t: &str| Answer::Json(200, json!({"ok": true, "ts": t}));
    slack.script([ts("111.1"), ts("222.2"), ts("333.3"), ts("444.4")]);

    let a = alert(
        "firing",
        "KubePodCrashLooping",
        "shop",
        json!({"deployment": "api"}),
    );
    s.alert(json!([a.clone()])).await;
    s.outbox().run_once().await.unwrap();
    let mut resolved = a.clone();
    resolved["status"] = json!("resolved");
    s.alert(json!([resolved])).await;
    s.outbox().run_once().await.unwrap();
    // a reopen after the cooldown is a new episode: a new root
    s.advance_secs(600);
    s.alert(json!([a])).await;
    s.outbox().run_once().await.unwrap();
    let id = s.incidents("").await[0]["id"].as_str().unwrap().to_string();
    s.post(&format!("/incidents/{id}/ack"), json!({"actor": "alice"}))
        .await;
    s.outbox().run_once().await.unwrap();

    let posts = slack.requests();
    let threads: Vec<Option<&str>> = posts.iter().map(|p| p.body["thread_ts"].as_str()).collect();
    assert_eq!(
        threads,
        [None, Some("111.1"), None, Some("333.3")],
        "roots and replies"
    );
    assert!(
        posts
            .iter()
            .all(|p| p.path == "/chat.postMessage" && p.body["channel"] == "C0123")
    );
    assert_eq!(posts[0].headers["authorization"], "Bearer xoxb-test-token");
}
