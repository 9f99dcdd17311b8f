//! The Alertmanager webhook receiver: turns a webhook payload (version 4) into observations.
//!
//! Pure apart from the redactor: the API handler validates the whole payload first and applies
//! nothing unless every alert in it is well-formed, so a malformed batch has no side effects.
//!
//! Identity: an alert is keyed on its namespace, on the workload named by its labels when it has
//! one (`deployment`, `statefulset`, …, so an alert per pod collapses to the workload), else on
//! the alert name, plus a discriminator over its *stable* labels. Volatile labels (pod,
//! instance, container ids, replica) never enter the fingerprint, so pod churn cannot open new
//! incidents.

use std::collections::BTreeMap;

use guardian_core::redact::Redactor;
use guardian_core::signal::{Observation, Signal};
use guardian_core::time::{Millis, parse_rfc3339};
use guardian_core::{Category, ObjectRef, Severity, fingerprint};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::config::AlertmanagerConfig;

/// Detector name recorded on alert-driven incidents.
pub const DETECTOR: &str = "alertmanager";

/// Labels that change with replicas and restarts; they never identify an incident.
const VOLATILE_LABELS: &[&str] = &[
    "pod",
    "pod_name",
    "instance",
    "container_id",
    "uid",
    "pod_ip",
    "endpoint",
    "prometheus_replica",
    "replica",
    "__replica__",
    "severity",
];

/// Labels naming a workload, strongest first, with the kind they name.
const OWNER_LABELS: &[(&str, &str)] = &[
    ("deployment", "Deployment"),
    ("statefulset", "StatefulSet"),
    ("daemonset", "DaemonSet"),
    ("cronjob", "CronJob"),
    ("job_name", "Job"),
    ("persistentvolumeclaim", "PersistentVolumeClaim"),
    ("node", "Node"),
];

/// The webhook body.
#[derive(Debug, Deserialize)]
pub struct Payload {
    /// The alerts of this notification group.
    pub alerts: Vec<Alert>,
}

/// One alert.
#[derive(Debug, Deserialize)]
pub struct Alert {
    /// `firing` or `resolved`.
    pub status: String,
    /// Identifying labels.
    pub labels: BTreeMap<String, String>,
    /// Descriptive annotations (`summary`, `description`, `runbook_url`).
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    /// When it started firing.
    #[serde(default, rename = "startsAt")]
    pub starts_at: Option<String>,
}

/// Why a payload was rejected (HTTP 400).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Not the webhook shape.
    #[error("not an Alertmanager webhook payload: {0}")]
    Shape(String),
    /// An alert has a status other than firing/resolved.
    #[error("alerts[{index}].status must be `firing` or `resolved`, got `{status}`")]
    Status {
        /// Position in `alerts`.
        index: usize,
        /// What it said.
        status: String,
    },
}

impl Error {
    /// Bounded label for metrics.
    pub fn metric_label(&self) -> &'static str {
        match self {
            Error::Shape(_) => "shape",
            Error::Status { .. } => "status",
        }
    }
}

/// Why an alert was skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    /// No `alertname` label.
    NoAlertname,
    /// Listed in `alertmanager.ignored_alertnames` (Watchdog, InfoInhibitor).
    IgnoredAlertname,
    /// Its namespace is not in `alertmanager.namespaces`.
    NamespaceNotWatched,
}

impl Skip {
    /// Bounded label for metrics.
    pub fn metric_label(self) -> &'static str {
        match self {
            Skip::NoAlertname => "no_alertname",
            Skip::IgnoredAlertname => "ignored_alertname",
            Skip::NamespaceNotWatched => "namespace_not_watched",
        }
    }
}

/// The payload, translated.
#[derive(Debug, Default)]
pub struct Translated {
    /// Observations to apply, in payload order.
    pub observations: Vec<Observation>,
    /// Alerts skipped, with why.
    pub skipped: Vec<Skip>,
}

/// Parses and translates a payload. Nothing is applied here.
pub fn translate(
    body: &[u8],
    config: &AlertmanagerConfig,
    cluster: &str,
    redactor: &Redactor,
    now: Millis,
) -> Result<Translated, Error> {
    let payload: Payload = serde_json::from_slice(body).map_err(|e| Error::Shape(e.to_string()))?;
    let mut out = Translated::default();
    for (index, alert) in payload.alerts.iter().enumerate() {
        let firing = match alert.status.as_str() {
            "firing" => true,
            "resolved" => false,
            other => {
                return Err(Error::Status {
                    index,
                    status: other.to_string(),
                });
            }
        };
        let Some(name) = alert
            .labels
            .get("alertname")
            .filter(|n| !n.trim().is_empty())
        else {
            out.skipped.push(Skip::NoAlertname);
            continue;
        };
        if config.ignored_alertnames.iter().any(|n| n == name) {
            out.skipped.push(Skip::IgnoredAlertname);
            continue;
        }
        let namespace = alert.labels.get("namespace").cloned();
        if let Some(ns) = &namespace
            && !config.namespaces.is_empty()
            && !config.namespaces.contains(ns)
        {
            out.skipped.push(Skip::NamespaceNotWatched);
            continue;
        }
        let signal = signal(alert, name, namespace, config, cluster, redactor, now);
        out.observations.push(if firing {
            Observation::Firing(signal)
        } else {
            Observation::Recovered {
                fingerprint: fingerprint::of(&signal),
                detector: DETECTOR.into(),
                note: format!("alert {name} resolved in Alertmanager"),
            }
        });
    }
    Ok(out)
}

fn signal(
    alert: &Alert,
    name: &str,
    namespace: Option<String>,
    config: &AlertmanagerConfig,
    cluster: &str,
    redactor: &Redactor,
    now: Millis,
) -> Signal {
    let owner = OWNER_LABELS
        .iter()
        .find_map(|(label, kind)| alert.labels.get(*label).map(|v| ObjectRef::new(*kind, v)));
    let top_owner = owner.unwrap_or_else(|| ObjectRef::new("Alert", name));
    let object = alert
        .labels
        .get("pod")
        .map(|p| ObjectRef::new("Pod", p))
        .unwrap_or_else(|| top_owner.clone());
    let text = alert
        .annotations
        .get("summary")
        .or_else(|| alert.annotations.get("description"))
        .map_or_else(|| format!("Alert {name}"), |t| t.clone());
    let (message, _receipt) = redactor.redact_text(&text);
    let first_seen = alert
        .starts_at
        .as_deref()
        .and_then(parse_rfc3339)
        .filter(|&t| t > 0 && t <= now)
        .unwrap_or(now);
    Signal {
        detector: DETECTOR.into(),
        cluster: cluster.to_string(),
        namespace,
        object,
        top_owner,
        reason: name.to_string(),
        failure_class: Category::AlertFiring,
        severity: severity(alert.labels.get("severity"), config.default_severity),
        discriminator: Some(discriminator(&alert.labels)),
        first_seen,
        last_seen: now,
        message,
    }
}

/// Maps the common spellings of an alert's `severity` label. "high" and "page" are critical:
/// routing them as non-critical was a bug of the earlier implementation.
fn severity(label: Option<&String>, default: Severity) -> Severity {
    match label.map(|s| s.to_ascii_lowercase()).as_deref() {
        Some("critical" | "page" | "high" | "error" | "fatal" | "emergency") => Severity::Critical,
        Some("warning" | "warn" | "medium") => Severity::Warning,
        Some("info" | "none" | "low" | "informational") => Severity::Info,
        _ => default,
    }
}

fn discriminator(labels: &BTreeMap<String, String>) -> String {
    let mut hasher = Sha256::new();
    for (k, v) in labels {
        if VOLATILE_LABELS.contains(&k.as_str()) {
            continue;
        }
        hasher.update(k.as_bytes());
        hasher.update([0x1f]);
        hasher.update(v.as_bytes());
        hasher.update([0x1e]);
    }
    hex::encode(&hasher.finalize()[..8])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(body: serde_json::Value) -> Result<Translated, Error> {
        translate(
            body.to_string().as_bytes(),
            &AlertmanagerConfig::default(),
            "prod",
            &Redactor::default(),
            1_000_000,
        )
    }

    fn alert(status: &str, labels: serde_json::Value) -> serde_json::Value {
        json!({"status": status, "labels": labels, "annotations": {"summary": "high error rate"}, "startsAt": "1970-01-01T00:10:00Z"})
    }

    fn firing(t: &Translated, i: usize) -> &Signal {
        match &t.observations[i] {
            Observation::Firing(s) => s,
            other => panic!("expected firing, got {other:?}"),
        }
    }

    #[test]
    fn pods_of_one_deployment_share_a_fingerprint() {
        let t = run(json!({"alerts": [
            alert("firing", json!({"alertname": "HighErrors", "namespace": "shop", "deployment": "api", "pod": "api-1", "severity": "critical"})),
            alert("firing", json!({"alertname": "HighErrors", "namespace": "shop", "deployment": "api", "pod": "api-2", "severity": "critical"})),
        ]}))
        .unwrap();
        let (a, b) = (firing(&t, 0), firing(&t, 1));
        assert_eq!(fingerprint::of(a), fingerprint::of(b));
        assert_eq!(a.top_owner, ObjectRef::new("Deployment", "api"));
        assert_eq!(a.object, ObjectRef::new("Pod", "api-1"));
        assert_eq!(a.severity, Severity::Critical);
        assert_eq!(a.first_seen, 600_000);
    }

    #[test]
    fn resolved_names_the_firing_fingerprint() {
        let labels =
            json!({"alertname": "DiskFull", "namespace": "db", "persistentvolumeclaim": "data"});
        let t =
            run(json!({"alerts": [alert("firing", labels.clone()), alert("resolved", labels)]}))
                .unwrap();
        let fp = fingerprint::of(firing(&t, 0));
        assert!(
            matches!(&t.observations[1], Observation::Recovered { fingerprint, .. } if *fingerprint == fp)
        );
    }

    #[test]
    fn watchdog_and_nameless_alerts_are_skipped() {
        let t = run(json!({"alerts": [
            alert("firing", json!({"alertname": "Watchdog"})),
            alert("firing", json!({"severity": "critical"})),
        ]}))
        .unwrap();
        assert!(t.observations.is_empty());
        assert_eq!(t.skipped, [Skip::IgnoredAlertname, Skip::NoAlertname]);
    }

    #[test]
    fn malformed_payloads_are_errors() {
        assert!(matches!(run(json!({"nope": []})), Err(Error::Shape(_))));
        assert!(matches!(run(json!([1, 2])), Err(Error::Shape(_))));
        assert!(matches!(
            run(json!({"alerts": [alert("pending", json!({"alertname": "X"}))]})),
            Err(Error::Status { index: 0, .. })
        ));
        assert!(matches!(
            run(json!({"alerts": [{"status": "firing"}]})),
            Err(Error::Shape(_))
        ));
    }

    #[test]
    fn severity_spellings() {
        let d = Severity::Warning;
        assert_eq!(severity(Some(&"High".to_string()), d), Severity::Critical);
        assert_eq!(severity(Some(&"none".to_string()), d), Severity::Info);
        assert_eq!(severity(Some(&"whatever".to_string()), d), d);
        assert_eq!(severity(None, Severity::Info), Severity::Info);
    }

    #[test]
    fn summaries_are_redacted() {
        let mut a = alert("firing", json!({"alertname": "Leak", "namespace": "x"}));
        a["annotations"]["summary"] = json!("login failed for postgres://app:hunter2@db:5432/app");
        let t = run(json!({"alerts": [a]})).unwrap();
        assert!(
            !firing(&t, 0).message.contains("hunter2"),
            "{}",
            firing(&t, 0).message
        );
    }
}
