//! Shared helpers of the `detect_*` tests: fixture loading and compact signal summaries.
#![allow(dead_code)] // each test crate uses a different subset

use guardian_core::Signal;
use guardian_core::detect::{Settings, Snapshot};
use guardian_core::time::{Millis, parse_rfc3339};
use serde::Deserialize;

/// The instant every fixture is written against.
pub const NOW: &str = "2026-03-10T14:30:00Z";

/// `NOW` in milliseconds.
pub fn now() -> Millis {
    parse_rfc3339(NOW).expect("NOW parses")
}

/// `NOW` shifted by `secs` seconds.
pub fn now_plus(secs: i64) -> Millis {
    now() + secs * 1000
}

/// Loads `fixtures/detect/<rel>` (a multi-document YAML stream) as an offline snapshot.
pub fn load(rel: &str) -> Snapshot {
    let path = format!("{}/../../fixtures/detect/{rel}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let values: Vec<serde_json::Value> = yaml_serde::Deserializer::from_str(&text)
        .map(|doc| serde_json::Value::deserialize(doc).expect("fixture is YAML"))
        .filter(|v| !v.is_null())
        .collect();
    let (snapshot, errors) = Snapshot::from_values(values);
    assert!(errors.is_empty(), "{rel}: {errors:?}");
    snapshot
}

/// Default settings with a fixed cluster name.
pub fn settings() -> Settings {
    Settings {
        cluster_name: "test".into(),
        ..Settings::default()
    }
}

/// `(top owner, class, severity)` per signal, sorted and deduplicated: what incidents they
/// make.
pub fn owners(signals: &[Signal]) -> Vec<(String, String, String)> {
    let mut out: Vec<(String, String, String)> = signals
        .iter()
        .map(|s| {
            (
                s.top_owner.to_string(),
                s.failure_class.to_string(),
                s.severity.to_string(),
            )
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Builds an expected `owners` row.
pub fn row(owner: &str, class: &str, severity: &str) -> (String, String, String) {
    (owner.into(), class.into(), severity.into())
}

/// Distinct fingerprints.
pub fn fingerprints(signals: &[Signal]) -> Vec<String> {
    let mut f: Vec<String> = signals.iter().map(guardian_core::fingerprint::of).collect();
    f.sort();
    f.dedup();
    f
}
