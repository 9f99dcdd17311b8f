//! The HTTP API through a real server on 127.0.0.1 and a real SQLite file.

mod harness;

use harness::{TOKEN, TestServer, alert, send};
use reqwest::Method;
use serde_json::{Value, json};

/// Every protected route, with a body where it takes one.
fn protected() -> Vec<(Method, &'static str, Option<Value>)> {
    vec![
        (Method::GET, "/incidents", None),
        (Method::GET, "/incidents/x", None),
        (Method::POST, "/incidents/x/ack", Some(json!({}))),
        (Method::POST, "/incidents/x/resolve", Some(json!({}))),
        (Method::GET, "/suppressions", None),
        (
            Method::POST,
            "/suppressions",
            Some(json!({"namespace": "a", "reason": "r", "expires_in_secs": 60})),
        ),
        (Method::DELETE, "/suppressions/x", None),
        (Method::POST, "/alertmanager", Some(json!({"alerts": []}))),
    ]
}

fn request(
    s: &TestServer,
    method: &Method,
    path: &str,
    body: &Option<Value>,
) -> reqwest::RequestBuilder {
    let r = s.http.request(method.clone(), format!("{}{path}", s.url));
    match body {
        Some(b) => r.json(b),
        None => r,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn no_token_configured_locks_everything_but_probes() {
    let s = TestServer::start(None).await;
    for (method, path, body) in protected() {
        // even a "correct looking" token cannot open a locked API
        let (status, body) = send(request(&s, &method, path, &body).bearer_auth("anything")).await;
        assert_eq!(status, 401, "{method} {path}");
        assert_eq!(body["error"], "api_locked", "{method} {path}: {body}");
    }
    for path in ["/healthz", "/readyz", "/metrics", "/openapi.json"] {
        let (status, _) = send(s.http.get(format!("{}{path}", s.url))).await;
        assert_eq!(status, 200, "{path}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn token_matrix_with_both_header_styles() {
    let s = TestServer::start(Some(TOKEN)).await;
    for (method, path, body) in protected() {
        let (status, b) = send(request(&s, &method, path, &body)).await;
        assert_eq!(
            (status, b["error"].as_str()),
            (401, Some("unauthorized")),
            "{method} {path}"
        );
        let (status, b) = send(request(&s, &method, path, &body).bearer_auth("wrong")).await;
        assert_eq!(
            (status, b["error"].as_str()),
            (403, Some("forbidden")),
            "{method} {path}"
        );
        let (status, _) =
            send(request(&s, &method, path, &body).header("X-Internal-Token", "wrong")).await;
        assert_eq!(status, 403, "{method} {path}");
        let (status, _) = send(
            request(&s, &method, path, &body).header("Authorization", format!("Basic {TOKEN}")),
        )
        .await;
        assert_eq!(status, 401, "{method} {path}: only Bearer is accepted");
        // a prefix of the real token is still wrong
        let (status, _) = send(request(&s, &method, path, &body).bearer_auth(&TOKEN[..5])).await;
        assert_eq!(status, 403, "{method} {path}");
    }
    let (status, _) = send(
        s.http
            .get(format!("{}/incidents", s.url))
            .bearer_auth(TOKEN),
    )
    .await;
    assert_eq!(status, 200);
    let (status, _) = send(
        s.http
            .get(format!("{}/incidents", s.url))
            .header("X-Internal-Token", TOKEN),
    )
    .await;
    assert_eq!(status, 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn error_bodies_are_json_with_the_right_codes() {
    let s = TestServer::start(Some(TOKEN)).await;
    let (status, body) = s.get("/incidents/nope").await;
    assert_eq!((status, body["error"].as_str()), (404, Some("not_found")));
    assert!(body["message"].as_str().unwrap().contains("nope"));
    let (status, body) = s.post("/incidents/nope/ack", json!({})).await;
    assert_eq!((status, body["error"].as_str()), (404, Some("not_found")));
    let (status, body) = s.get("/no/such/route").await;
    assert_eq!((status, body["error"].as_str()), (404, Some("not_found")));
    for query in [
        "?status=bogus",
        "?severity=high",
        "?limit=0",
        "?limit=x",
        "?needs_review=maybe",
    ] {
        let (status, body) = s.get(&format!("/incidents{query}")).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("bad_request")),
            "{query}: {body}"
        );
    }

    s.alert(json!([alert(
        "firing",
        "HighErrors",
        "shop",
        json!({"deployment": "api"})
    )]))
    .await;
    let id = s.incidents("").await[0]["id"].as_str().unwrap().to_string();
    // malformed transition bodies
    let (status, body) = send(
        s.req(Method::POST, &format!("/incidents/{id}/ack"))
            .header("content-type", "application/json")
            .body("{not json"),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("bad_request")),
        "{body}"
    );
    let (status, _) = s
        .post(&format!("/incidents/{id}/ack"), json!({"actr": "typo"}))
        .await;
    assert_eq!(status, 400, "unknown fields are rejected");
    let (status, _) = s
        .post(&format!("/incidents/{id}/ack"), json!({"actor": ""}))
        .await;
    assert_eq!(status, 400);
    // illegal transitions
    let (status, _) = s
        .post(&format!("/incidents/{id}/ack"), json!({"actor": "alice"}))
        .await;
    assert_eq!(status, 200);
    let (status, body) = s
        .post(&format!("/incidents/{id}/ack"), json!({"actor": "bob"}))
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (409, Some("illegal_transition")),
        "{body}"
    );
    assert_eq!(
        body["message"],
        "cannot acknowledge an incident that is acknowledged"
    );
    let (status, _) = s.post(&format!("/incidents/{id}/resolve"), json!({})).await;
    assert_eq!(status, 200);
    let (status, body) = s.post(&format!("/incidents/{id}/resolve"), json!({})).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (409, Some("illegal_transition"))
    );
    let (status, _) = s.post(&format!("/incidents/{id}/ack"), json!({})).await;
    assert_eq!(status, 409);
}

#[tokio::test(flavor = "multi_thread")]
async fn body_size_is_limited() {
    let s = TestServer::start(Some(TOKEN)).await;
    let huge = "x".repeat(1_100_000);
    let (status, body) = send(
        s.req(Method::POST, "/alertmanager")
            .header("content-type", "application/json")
            .body(format!("{{\"alerts\": [], \"pad\": \"{huge}\"}}")),
    )
    .await;
    assert_eq!(status, 413, "{body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn ack_and_resolve_round_trip_with_audit_timeline() {
    let s = TestServer::start(Some(TOKEN)).await;
    let (status, receipt) = s
        .alert(json!([
            alert(
                "firing",
                "KubePodCrashLooping",
                "shop",
                json!({"deployment": "api", "pod": "api-7d9f-1"})
            ),
            alert(
                "firing",
                "KubePodCrashLooping",
                "shop",
                json!({"deployment": "api", "pod": "api-7d9f-2"})
            ),
        ]))
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        receipt,
        json!({"received": 2, "processed": 2, "ignored": 0})
    );
    let list = s.incidents("").await;
    assert_eq!(
        list.len(),
        1,
        "two pods of one Deployment are one incident: {list:?}"
    );
    let inc = &list[0];
    assert_eq!(inc["object"], json!({"kind": "Deployment", "name": "api"}));
    assert_eq!(inc["status"], "open");
    assert_eq!(inc["occurrences"], 2);
    assert_eq!(inc["category"], "alert_firing");
    let id = inc["id"].as_str().unwrap();

    s.advance_secs(60);
    let (status, acked) = s
        .post(
            &format!("/incidents/{id}/ack"),
            json!({"actor": "alice", "note": "looking", "expires_in_secs": 600}),
        )
        .await;
    assert_eq!(status, 200, "{acked}");
    assert_eq!(acked["status"], "acknowledged");
    assert_eq!(acked["acknowledged_by"], "alice");
    assert_eq!(acked["ack_expires_at"], "2026-12-01T08:11:00Z");

    s.advance_secs(60);
    let (status, resolved) = s
        .post(
            &format!("/incidents/{id}/resolve"),
            json!({"actor": "bob", "note": "rolled back"}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(resolved["status"], "resolved");
    assert_eq!(resolved["resolved_by"], "bob");

    let (status, detail) = s.get(&format!("/incidents/{id}")).await;
    assert_eq!(status, 200);
    let timeline: Vec<(String, String, Value, String, String)> = detail["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["action"].as_str().unwrap().into(),
                a["actor"].as_str().unwrap().into(),
                a["from"].clone(),
                a["to"].as_str().unwrap().into(),
                a["at"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        timeline,
        vec![
            (
                "opened".into(),
                "alertmanager".into(),
                Value::Null,
                "open".into(),
                "2026-12-01T08:00:00Z".into()
            ),
            (
                "acknowledged".into(),
                "alice".into(),
                json!("open"),
                "acknowledged".into(),
                "2026-12-01T08:01:00Z".into()
            ),
            (
                "resolved".into(),
                "bob".into(),
                json!("acknowledged"),
                "resolved".into(),
                "2026-12-01T08:02:00Z".into()
            ),
        ]
    );
    assert_eq!(detail["timeline"][1]["note"], "looking");
    let kinds: Vec<&str> = detail["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["opened", "acknowledged", "resolved"]);
    let occ = detail["recent_occurrences"].as_array().unwrap();
    assert_eq!(occ.len(), 2);
    assert!(
        occ[0]["merge_reason"]
            .as_str()
            .unwrap()
            .contains("collapses to its top owner Deployment/api")
    );

    assert!(
        s.incidents("").await.is_empty(),
        "default list shows active incidents only"
    );
    assert_eq!(s.incidents("?status=resolved").await.len(), 1);
    assert_eq!(s.incidents("?status=all").await.len(), 1);
    assert_eq!(s.incidents("?status=open,acknowledged").await.len(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn alertmanager_firing_then_resolved_closes_the_incident() {
    let s = TestServer::start(Some(TOKEN)).await;
    let labels = json!({"persistentvolumeclaim": "data-db-0", "severity": "critical"});
    s.alert(json!([alert(
        "firing",
        "KubePersistentVolumeFillingUp",
        "db",
        labels.clone()
    )]))
    .await;
    let open = s.incidents("").await;
    assert_eq!(open.len(), 1);
    assert_eq!(open[0]["severity"], "critical");
    assert_eq!(open[0]["object"]["kind"], "PersistentVolumeClaim");

    s.advance_secs(300);
    let (status, receipt) = s
        .alert(json!([alert(
            "resolved",
            "KubePersistentVolumeFillingUp",
            "db",
            labels.clone()
        )]))
        .await;
    assert_eq!(status, 200);
    assert_eq!(receipt["processed"], 1);
    assert!(s.incidents("").await.is_empty());
    let all = s.incidents("?status=resolved").await;
    assert_eq!(all[0]["resolved_by"], "alertmanager");

    // firing again inside the reopen window reopens the same incident
    s.advance_secs(60);
    s.alert(json!([alert(
        "firing",
        "KubePersistentVolumeFillingUp",
        "db",
        labels
    )]))
    .await;
    let open = s.incidents("").await;
    assert_eq!(open.len(), 1);
    assert_eq!(open[0]["id"], all[0]["id"]);
    let (_, detail) = s
        .get(&format!("/incidents/{}", open[0]["id"].as_str().unwrap()))
        .await;
    let actions: Vec<&str> = detail["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["opened", "resolved", "reopened"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn watchdog_and_unknown_resolutions_are_harmless() {
    let s = TestServer::start(Some(TOKEN)).await;
    let (status, receipt) = s
        .alert(json!([
            alert("firing", "Watchdog", "monitoring", json!({})),
            alert("firing", "InfoInhibitor", "monitoring", json!({})),
            alert("resolved", "NeverFired", "shop", json!({})),
        ]))
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        receipt,
        json!({"received": 3, "processed": 1, "ignored": 2})
    );
    assert!(s.incidents("?status=all").await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_webhooks_are_rejected_without_side_effects() {
    let s = TestServer::start(Some(TOKEN)).await;
    let good = alert("firing", "HighErrors", "shop", json!({}));
    let bad_payloads = vec![
        json!({"alerts": [good.clone(), {"status": "pending", "labels": {"alertname": "X"}}]}),
        json!({"alerts": [good.clone(), {"status": "firing"}]}),
        json!({"alerts": "nope"}),
        json!({"receiver": "x"}),
        json!([good.clone()]),
    ];
    for payload in bad_payloads {
        let (status, body) = s.post("/alertmanager", payload.clone()).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("bad_request")),
            "{payload}: {body}"
        );
    }
    let (status, _) = send(
        s.req(Method::POST, "/alertmanager")
            .header("content-type", "application/json")
            .body("{\"alerts\": [ {\"status\": \"firing\""),
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        s.incidents("?status=all").await.is_empty(),
        "a rejected batch applies nothing"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn persistent_escalation_fires_once_through_the_clock() {
    let s = TestServer::start(Some(TOKEN)).await;
    let a = alert(
        "firing",
        "HighLatency",
        "shop",
        json!({"deployment": "web"}),
    );
    s.alert(json!([a.clone()])).await;
    // re-detected every 5 minutes for 70 minutes: still one "opened", and persistent at 60 min
    for _ in 0..14 {
        s.advance_secs(300);
        s.alert(json!([a.clone()])).await;
        s.engine.tick().await.unwrap();
    }
    let inc = &s.incidents("").await[0];
    assert_eq!(inc["escalations"], json!(["persistent"]));
    assert_eq!(
        inc["severity"], "critical",
        "escalation raises warning one step"
    );
    assert_eq!(inc["occurrences"], 15);
    let (_, detail) = s
        .get(&format!("/incidents/{}", inc["id"].as_str().unwrap()))
        .await;
    let kinds: Vec<&str> = detail["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["opened", "escalated_persistent"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn suppressions_silence_but_count() {
    let s = TestServer::start(Some(TOKEN)).await;
    let (status, body) = s
        .post(
            "/suppressions",
            json!({"reason": "everything"  , "expires_in_secs": 60}),
        )
        .await;
    assert_eq!(status, 400, "a catch-all suppression is refused: {body}");
    let (status, body) = s
        .post(
            "/suppressions",
            json!({"namespace": "shop", "category": "nope", "reason": "x", "expires_in_secs": 60}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    let (status, created) = s
        .post("/suppressions", json!({"namespace": "shop-*", "reason": "planned migration", "created_by": "alice", "expires_in_secs": 3600}))
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["expires_at"], "2026-12-01T09:00:00Z");
    let sid = created["id"].as_str().unwrap().to_string();

    s.alert(json!([alert(
        "firing",
        "HighErrors",
        "shop-eu",
        json!({"deployment": "api"})
    )]))
    .await;
    s.alert(json!([alert(
        "firing",
        "HighErrors",
        "shop-eu",
        json!({"deployment": "api"})
    )]))
    .await;
    let inc = &s.incidents("").await[0];
    assert_eq!(inc["suppressed_occurrences"], 2);
    let (_, detail) = s
        .get(&format!("/incidents/{}", inc["id"].as_str().unwrap()))
        .await;
    assert!(
        detail["notifications"].as_array().unwrap().is_empty(),
        "suppressed: never notified"
    );
    assert_eq!(
        detail["recent_occurrences"][0]["suppressed_by"],
        sid.as_str()
    );

    let (_, list) = s.get("/suppressions").await;
    assert_eq!(list["suppressions"].as_array().unwrap().len(), 1);
    let (status, _) = send(s.req(Method::DELETE, &format!("/suppressions/{sid}"))).await;
    assert_eq!(status, 204);
    let (status, body) = send(s.req(Method::DELETE, &format!("/suppressions/{sid}"))).await;
    assert_eq!((status, body["error"].as_str()), (404, Some("not_found")));

    // with the silence gone, the next tick announces what is still open
    s.engine.tick().await.unwrap();
    let (_, detail) = s
        .get(&format!("/incidents/{}", inc["id"].as_str().unwrap()))
        .await;
    let kinds: Vec<&str> = detail["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["opened"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn healthz_fails_when_the_store_file_is_gone() {
    let s = TestServer::start(Some(TOKEN)).await;
    let (status, body) = send(s.http.get(format!("{}/healthz", s.url))).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("ok")));
    std::fs::remove_file(&s.db).unwrap();
    let (status, body) = send(s.http.get(format!("{}/healthz", s.url))).await;
    assert_eq!(status, 503);
    assert_eq!(body["error"], "store_unavailable");
    assert!(!s.db.exists(), "the health check never recreates the store");
}

#[tokio::test(flavor = "multi_thread")]
async fn openapi_and_metrics_describe_the_api() {
    let s = TestServer::start(Some(TOKEN)).await;
    let (status, doc) = send(s.http.get(format!("{}/openapi.json", s.url))).await;
    assert_eq!(status, 200);
    for path in [
        "/incidents",
        "/incidents/{id}",
        "/incidents/{id}/ack",
        "/incidents/{id}/resolve",
        "/suppressions",
        "/suppressions/{id}",
        "/alertmanager",
        "/healthz",
        "/metrics",
    ] {
        assert!(
            doc["paths"].get(path).is_some(),
            "{path} missing from the OpenAPI document"
        );
    }
    assert!(doc["components"]["securitySchemes"].get("bearer").is_some());

    s.alert(json!([alert("firing", "HighErrors", "shop", json!({}))]))
        .await;
    let text = s.metrics().await;
    assert!(
        text.contains(
            "guardian_incidents_opened_total{detector=\"alertmanager\",severity=\"warning\"} 1"
        ),
        "{text}"
    );
    assert!(
        text.contains("guardian_notification_decisions_total{kind=\"opened\"} 1"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn readyz_follows_the_readiness_flag() {
    let s = TestServer::start(Some(TOKEN)).await;
    let (status, _) = send(s.http.get(format!("{}/readyz", s.url))).await;
    assert_eq!(status, 200);
    s.ready.store(false, std::sync::atomic::Ordering::Release);
    let (status, body) = send(s.http.get(format!("{}/readyz", s.url))).await;
    assert_eq!((status, body["error"].as_str()), (503, Some("not_ready")));
}
