//! The analyze stage end to end: due flags, stored records, the API, and redaction of
//! everything that leaves the process (API responses, the store file, notifications).

mod harness;

use std::sync::Arc;

use guardian_core::detect::Snapshot;
use harness::{TOKEN, TestServer, alert};
use serde_json::{Value, json};

/// Values shaped like real secrets, planted in a pod log and an event message.
const DB_PASSWORD: &str = "Zx9-hunter2-correct-horse";
const BEARER: &str = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhcGkifQ.c2VjcmV0c2lnbmF0dXJlMTIz";

fn snapshot_with_secrets() -> Snapshot {
    let (mut snapshot, errors) = Snapshot::from_values([
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "api-7d9f8c6b5-x2kq9", "namespace": "shop",
            "labels": {"app": "api", "pod-template-hash": "7d9f8c6b5"},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "api-7d9f8c6b5", "controller": true, "uid": "u1"}]},
          "spec": {"nodeName": "n1", "containers": [{"name": "app", "image": "shop/api:1.4.2"}]},
          "status": {"phase": "Running", "containerStatuses": [{"name": "app", "ready": false, "restartCount": 7, "image": "shop/api:1.4.2",
            "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 5m0s restarting failed container"}},
            "lastState": {"terminated": {"reason": "Error", "exitCode": 1, "finishedAt": "2026-12-01T07:59:00Z"}}}]}}),
        json!({"apiVersion": "v1", "kind": "Event", "metadata": {"name": "e1", "namespace": "shop"},
          "involvedObject": {"kind": "Pod", "name": "api-7d9f8c6b5-x2kq9", "namespace": "shop"},
          "type": "Warning", "reason": "BackOff", "count": 12,
          "message": format!("Back-off restarting failed container; last error: auth with Bearer {BEARER} rejected"),
          "firstTimestamp": "2026-12-01T07:40:00Z", "lastTimestamp": "2026-12-01T07:59:00Z"}),
    ]);
    assert!(errors.is_empty(), "{errors:?}");
    snapshot.add_log(
        "shop",
        "api-7d9f8c6b5-x2kq9",
        Some("app"),
        true,
        &format!("INFO starting\nERROR connecting to postgres://app:{DB_PASSWORD}@db.shop.svc:5432/orders: connection refused\nFATAL exiting\n"),
    );
    snapshot
}

async fn incident_on_api(s: &TestServer) -> String {
    // The signal the pod scanner would send for this pod, through the Alertmanager path's
    // sibling: observe directly with the same top owner.
    let signal = guardian_core::Signal {
        detector: "pod_scanner".into(),
        cluster: "test".into(),
        namespace: Some("shop".into()),
        object: guardian_core::ObjectRef::new("Pod", "api-7d9f8c6b5-x2kq9"),
        top_owner: guardian_core::ObjectRef::new("Deployment", "api"),
        reason: "CrashLoopBackOff".into(),
        failure_class: guardian_core::Category::CrashLoop,
        severity: guardian_core::Severity::Warning,
        discriminator: None,
        first_seen: harness::T0,
        last_seen: harness::T0,
        message: "back-off restarting failed container".into(),
    };
    let applied = s
        .engine
        .observe(&guardian_core::signal::Observation::Firing(signal))
        .await
        .unwrap()
        .unwrap();
    applied.incident.id
}

#[tokio::test(flavor = "multi_thread")]
async fn an_opened_incident_is_analysed_once_with_evidence_and_no_secret_leaves() {
    let s = TestServer::start(Some(TOKEN)).await;
    s.latest.set(Arc::new(snapshot_with_secrets()));
    let id = incident_on_api(&s).await;

    assert_eq!(s.analyzer.run_once().await.unwrap(), 1, "opened → due");
    assert_eq!(
        s.analyzer.run_once().await.unwrap(),
        0,
        "stored → not due again"
    );
    // repeated sightings never cost another analysis
    for _ in 0..5 {
        incident_on_api(&s).await;
    }
    assert_eq!(s.analyzer.run_once().await.unwrap(), 0);

    let (status, detail) = s.get(&format!("/incidents/{id}")).await;
    assert_eq!(status, 200);
    let a = &detail["analysis"];
    assert_eq!(a["source"], "rules");
    assert_eq!(a["trigger"], "opened");
    assert_eq!(a["category"], "crash_loop");
    let categories: Vec<&str> = a["hypotheses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["category"].as_str().unwrap())
        .collect();
    assert!(
        categories.contains(&"dependency_unavailable"),
        "the log's connection refused is used: {categories:?}"
    );
    let kinds: Vec<&str> = a["context"]["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    for kind in ["incident", "status", "container", "event", "log"] {
        assert!(kinds.contains(&kind), "{kind} evidence missing: {kinds:?}");
    }
    let receipt = &detail["redaction_receipt"];
    assert!(
        receipt.as_object().is_some_and(|r| !r.is_empty()),
        "{receipt}"
    );

    // nothing unredacted in the API, the list, or the store file
    let (_, list) = s.get("/incidents").await;
    for text in [detail.to_string(), list.to_string()] {
        assert!(!text.contains(DB_PASSWORD), "password leaked");
        assert!(!text.contains(BEARER), "token leaked");
    }
    let db = std::fs::read(&s.db).unwrap();
    let wal = std::fs::read(s.db.with_extension("db-wal")).unwrap_or_default();
    for bytes in [db, wal] {
        let text = String::from_utf8_lossy(&bytes);
        assert!(
            !text.contains(DB_PASSWORD) && !text.contains(BEARER),
            "a secret reached the store file"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn escalation_and_reopen_call_for_a_new_analysis() {
    let s = TestServer::start(Some(TOKEN)).await;
    let a = alert(
        "firing",
        "KubePodCrashLooping",
        "shop",
        json!({"deployment": "api"}),
    );
    s.alert(json!([a.clone()])).await;
    assert_eq!(s.analyzer.run_once().await.unwrap(), 1);
    let id = s.incidents("").await[0]["id"].as_str().unwrap().to_string();
    let first: Value = s.get(&format!("/incidents/{id}")).await.1["analysis"].clone();
    assert_eq!(
        first["category"], "crash_loop",
        "the alert name maps to its class"
    );
    // without a cluster view, the alert's own signal is the only evidence: low confidence
    assert_eq!(first["needs_human_review"], true);

    s.advance_secs(3700);
    s.engine.tick().await.unwrap();
    assert_eq!(s.analyzer.run_once().await.unwrap(), 1, "escalation → due");
    let second = s.get(&format!("/incidents/{id}")).await.1["analysis"].clone();
    assert_eq!(second["trigger"], "escalated");

    let mut resolved = a.clone();
    resolved["status"] = json!("resolved");
    s.alert(json!([resolved])).await;
    s.advance_secs(60);
    s.alert(json!([a])).await;
    assert_eq!(s.analyzer.run_once().await.unwrap(), 1, "reopen → due");
    assert_eq!(
        s.get(&format!("/incidents/{id}")).await.1["analysis"]["trigger"],
        "reopened"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_reason_is_new_evidence_but_flips_cannot_churn() {
    let s = TestServer::start(Some(TOKEN)).await;
    let id = incident_on_api(&s).await;
    assert_eq!(s.analyzer.run_once().await.unwrap(), 1);
    let mut signal = guardian_core::Signal {
        detector: "warning_events".into(),
        cluster: "test".into(),
        namespace: Some("shop".into()),
        object: guardian_core::ObjectRef::new("Pod", "api-7d9f8c6b5-x2kq9"),
        top_owner: guardian_core::ObjectRef::new("Deployment", "api"),
        reason: "BackOff".into(),
        failure_class: guardian_core::Category::CrashLoop,
        severity: guardian_core::Severity::Warning,
        discriminator: None,
        first_seen: harness::T0,
        last_seen: harness::T0,
        message: "Back-off restarting failed container".into(),
    };
    let observe = |signal: guardian_core::Signal| {
        let engine = s.engine.clone();
        async move {
            engine
                .observe(&guardian_core::signal::Observation::Firing(signal))
                .await
                .unwrap()
        }
    };
    observe(signal.clone()).await;
    assert_eq!(
        s.analyzer.run_once().await.unwrap(),
        0,
        "a fresh analysis is not redone for a new reason"
    );
    s.advance_secs(16 * 60);
    signal.last_seen = harness::T0 + 16 * 60_000;
    observe(signal).await;
    assert_eq!(
        s.analyzer.run_once().await.unwrap(),
        1,
        "a new reason after 15 min is new evidence"
    );
    let a = s.get(&format!("/incidents/{id}")).await.1["analysis"].clone();
    assert_eq!(a["trigger"], "new_evidence");
    assert_eq!(a["analyzed_reason"], "BackOff");
    assert_eq!(s.analyzer.run_once().await.unwrap(), 0);
}
