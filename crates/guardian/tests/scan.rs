//! `guardian scan` over every example snapshot in `examples/`: exactly the expected incidents.
//!
//! The library tests go through `guardian::scan::scan` (the same code `guardian scan` runs);
//! the binary tests run the built `guardian` executable end to end.

use std::path::PathBuf;
use std::process::Command;

use guardian::config::Config;
use guardian::scan::{Format, ScanArgs, render, scan};
use guardian_core::redact::Redactor;

const BIN: &str = env!("CARGO_BIN_EXE_guardian");

fn example(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples")
        .join(name)
}

fn args(name: &str) -> ScanArgs {
    ScanArgs {
        snapshot: example(name),
        now: None,
        format: Some(Format::Json),
        show_prompt: false,
        config: None,
    }
}

/// `(namespace, kind, name, category, severity)` of every incident, in output order.
type Row = (Option<String>, String, String, String, String);

async fn incidents(name: &str) -> Vec<Row> {
    let result = scan(&args(name), &Config::default(), &Redactor::default())
        .await
        .unwrap_or_else(|e| panic!("scan of {name} failed: {e:#}"));
    result
        .incidents
        .iter()
        .map(|i| {
            (
                i.namespace.clone(),
                i.object.kind.clone(),
                i.object.name.clone(),
                i.category.clone(),
                i.severity.clone(),
            )
        })
        .collect()
}

fn row(ns: Option<&str>, kind: &str, name: &str, category: &str, severity: &str) -> Row {
    (
        ns.map(str::to_string),
        kind.into(),
        name.into(),
        category.into(),
        severity.into(),
    )
}

#[tokio::test]
async fn healthy_snapshot_has_no_incidents() {
    assert_eq!(incidents("healthy").await, vec![]);
}

#[tokio::test]
async fn oom_kill_is_one_critical_incident_on_the_deployment() {
    assert_eq!(
        incidents("oom-kill").await,
        vec![row(
            Some("payments"),
            "Deployment",
            "ledger",
            "oom_killed",
            "critical"
        )]
    );
}

#[tokio::test]
async fn bad_image_tag_is_a_pull_failure_and_a_stuck_rollout() {
    assert_eq!(
        incidents("bad-image-tag").await,
        vec![
            row(
                Some("storefront"),
                "Deployment",
                "web",
                "image_pull_not_found",
                "warning"
            ),
            row(
                Some("storefront"),
                "Deployment",
                "web",
                "rollout_stuck",
                "warning"
            ),
        ]
    );
}

#[tokio::test]
async fn missing_configmap_key_is_a_config_error_and_no_service_incident() {
    assert_eq!(
        incidents("missing-configmap-key").await,
        vec![row(
            Some("billing"),
            "Deployment",
            "invoicer",
            "config_error",
            "warning"
        )]
    );
}

#[tokio::test]
async fn crash_loop_in_the_cluster_info_dump_layout_is_one_incident() {
    let result = scan(
        &args("crash-loop"),
        &Config::default(),
        &Redactor::default(),
    )
    .await
    .unwrap();
    assert_eq!(result.incidents.len(), 1, "{:#?}", result.incidents);
    let i = &result.incidents[0];
    assert_eq!(
        (
            i.object.kind.as_str(),
            i.object.name.as_str(),
            i.category.as_str()
        ),
        ("Deployment", "api", "crash_loop")
    );
    // Three pods from the pod scanner plus three BackOff events, merged.
    assert_eq!(i.occurrences, 6);
    assert_eq!(i.detector, "pod_scanner");
}

#[tokio::test]
async fn network_isolation_is_a_dependency_failure_from_the_logs() {
    assert_eq!(
        incidents("network-isolation").await,
        vec![row(
            Some("orders"),
            "Deployment",
            "orders",
            "dependency_unavailable",
            "warning"
        )]
    );
}

#[tokio::test]
async fn pvc_full_is_a_critical_disk_full_on_the_stateful_set() {
    assert_eq!(
        incidents("pvc-full").await,
        vec![row(
            Some("analytics"),
            "StatefulSet",
            "ingest",
            "disk_full",
            "critical"
        )]
    );
}

#[tokio::test]
async fn certificate_expiry_is_critical_within_seven_days() {
    assert_eq!(
        incidents("certificate-expiry").await,
        vec![row(
            Some("shop"),
            "Certificate",
            "shop-tls",
            "certificate_expiring",
            "critical"
        )]
    );
}

#[tokio::test]
async fn backup_job_failure_lands_on_the_cron_job() {
    assert_eq!(
        incidents("backup-job-failure").await,
        vec![row(
            Some("db"),
            "CronJob",
            "pg-backup",
            "job_failed",
            "warning"
        )]
    );
}

#[tokio::test]
async fn node_drain_reports_the_node_and_the_displaced_workloads() {
    assert_eq!(
        incidents("node-drain").await,
        vec![
            row(None, "Node", "kind-worker2", "node_cordoned", "warning"),
            row(None, "Node", "kind-worker2", "node_not_ready", "critical"),
            row(
                Some("shop"),
                "Deployment",
                "checkout",
                "unschedulable_resources",
                "warning"
            ),
            row(
                Some("shop"),
                "Deployment",
                "recommendations",
                "pod_evicted",
                "warning"
            ),
        ]
    );
}

#[tokio::test]
async fn now_moves_the_verdict() {
    // The healthy cluster judged 70 days later: its certificate (valid for 80 more days at the
    // snapshot's time) now expires within 14 days; everything else is still fine, and the old
    // BackOff event is long expired.
    let mut a = args("healthy");
    a.now = guardian_core::time::parse_rfc3339("2026-05-19T14:30:00Z");
    let result = scan(&a, &Config::default(), &Redactor::default())
        .await
        .unwrap();
    let rows: Vec<(&str, &str, &str)> = result
        .incidents
        .iter()
        .map(|i| {
            (
                i.object.name.as_str(),
                i.category.as_str(),
                i.severity.as_str(),
            )
        })
        .collect();
    assert_eq!(rows, vec![("web-tls", "certificate_expiring", "warning")]);
}

#[tokio::test]
async fn json_and_table_renderings() {
    let result = scan(&args("oom-kill"), &Config::default(), &Redactor::default())
        .await
        .unwrap();
    let json: serde_json::Value =
        serde_json::from_str(&render(&result, Format::Json).unwrap()).unwrap();
    let first = &json["incidents"][0];
    for field in [
        "id",
        "fingerprint",
        "detector",
        "namespace",
        "object",
        "reason",
        "severity",
        "status",
        "first_seen",
        "last_seen",
        "occurrences",
        "analysis",
    ] {
        assert!(first.get(field).is_some(), "missing {field}: {first}");
    }
    assert_eq!(first["status"], "open");
    let table = render(&result, Format::Table).unwrap();
    assert!(table.starts_with("NAMESPACE"), "{table}");
    assert!(
        table.contains("CONFIDENCE") && table.contains("90%"),
        "{table}"
    );
    assert!(
        table.contains("Deployment/ledger") && table.contains("oom_killed"),
        "{table}"
    );
}

#[tokio::test]
async fn a_bad_directory_is_a_clear_error() {
    let mut a = args("healthy");
    a.snapshot = example("does-not-exist");
    let err = scan(&a, &Config::default(), &Redactor::default())
        .await
        .unwrap_err();
    assert!(format!("{err:#}").contains("does-not-exist"), "{err:#}");
}

// --- the binary -------------------------------------------------------------------------
// NB: these need the `scan` subcommand wired into `cli.rs`.

fn guardian(args: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .args(args)
        .env_remove("GUARDIAN_CONFIG")
        .output()
        .expect("run guardian")
}

#[test]
fn binary_scans_every_example_as_json() {
    for (name, expected) in [
        ("healthy", 0),
        ("oom-kill", 1),
        ("bad-image-tag", 2),
        ("missing-configmap-key", 1),
        ("crash-loop", 1),
        ("network-isolation", 1),
        ("pvc-full", 1),
        ("certificate-expiry", 1),
        ("backup-job-failure", 1),
        ("node-drain", 4),
    ] {
        let dir = example(name);
        let out = guardian(&[
            "scan",
            "--snapshot",
            dir.to_str().unwrap(),
            "--format",
            "json",
        ]);
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(
            json["incidents"].as_array().map(Vec::len),
            Some(expected),
            "{name}: {json:#}"
        );
    }
}

#[test]
fn binary_prints_a_table_and_reports_bad_directories() {
    let dir = example("healthy");
    let out = guardian(&[
        "scan",
        "--snapshot",
        dir.to_str().unwrap(),
        "--format",
        "table",
    ]);
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "No incidents found.\n"
    );

    let dir = example("node-drain");
    let out = guardian(&[
        "scan",
        "--snapshot",
        dir.to_str().unwrap(),
        "--format",
        "table",
    ]);
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        table.starts_with("NAMESPACE") && table.contains("Node/kind-worker2"),
        "{table}"
    );

    let out = guardian(&[
        "scan",
        "--snapshot",
        "/nonexistent/snapshot",
        "--format",
        "json",
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/nonexistent/snapshot"), "{err}");

    let out = guardian(&[
        "scan",
        "--snapshot",
        dir.to_str().unwrap(),
        "--now",
        "yesterday",
    ]);
    assert!(!out.status.success());
}

/// The rules engine explains every shipped example with the incident's own class (or, for a
/// crash loop whose last termination was an OOM kill, the OOM kill), grounded in evidence.
#[tokio::test]
async fn every_example_gets_a_grounded_analysis_of_the_right_category() {
    for name in [
        "oom-kill",
        "bad-image-tag",
        "missing-configmap-key",
        "crash-loop",
        "network-isolation",
        "pvc-full",
        "certificate-expiry",
        "backup-job-failure",
        "node-drain",
    ] {
        let result = scan(&args(name), &Config::default(), &Redactor::default())
            .await
            .unwrap();
        assert!(!result.incidents.is_empty(), "{name}");
        for i in &result.incidents {
            let a = i
                .analysis
                .as_ref()
                .unwrap_or_else(|| panic!("{name}: no analysis"));
            assert_eq!(a["source"], "rules", "{name}");
            assert_eq!(
                a["category"],
                i.category.as_str(),
                "{name}: {}",
                a["summary"]
            );
            let parsed: guardian_core::analysis::Analysis = {
                let mut v = a.clone();
                let map = v.as_object_mut().unwrap();
                for extra in [
                    "source",
                    "provider",
                    "model",
                    "tokens_in",
                    "tokens_out",
                    "cost_micros",
                    "latency_ms",
                    "fallback_reason",
                    "trigger",
                    "analyzed_at",
                    "analyzed_reason",
                    "analyzed_at_ms",
                    "grounding",
                    "trimmed",
                    "receipt",
                ] {
                    map.remove(extra);
                }
                serde_json::from_value(v).unwrap_or_else(|e| panic!("{name}: {e}"))
            };
            assert!(parsed.check().is_empty(), "{name}: {:?}", parsed.check());
            let cited: Vec<&String> = parsed.hypotheses.iter().flat_map(|h| &h.evidence).collect();
            assert!(
                cited.iter().any(|id| id.as_str() != "E1"),
                "{name}/{}: only the signal is cited",
                i.category
            );
            assert!(
                a.get("context").is_none(),
                "listed analyses carry no context"
            );
        }
    }
}

#[tokio::test]
async fn show_prompt_returns_the_redacted_request_with_the_data_block() {
    let mut a = args("network-isolation");
    a.show_prompt = true;
    let result = scan(&a, &Config::default(), &Redactor::default())
        .await
        .unwrap();
    assert_eq!(result.prompts.len(), result.incidents.len());
    let prompt = &result.prompts[0];
    assert!(prompt.contains(guardian_core::analysis::prompt::SYSTEM));
    assert!(prompt.contains("<<<EVIDENCE") && prompt.contains("EVIDENCE>>>"));
    assert!(
        prompt.contains("\"needs_human_review\""),
        "the schema travels with the request"
    );
    assert!(prompt.contains("\"id\": \"E1\""));
}
