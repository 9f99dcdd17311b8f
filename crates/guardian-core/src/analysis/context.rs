//! Context collection: the numbered, redacted evidence an analysis may cite.
//!
//! Every item gets an id (`E1`, `E2`, …) in collection order; hypotheses cite them and
//! [`super::grounding`] checks the citations. Items are whole facts (one container's state, one
//! event, one log excerpt), never byte ranges, so trimming to a budget drops or shortens items
//! and can never cut a structure in half.
//!
//! What is collected, by the incident's object:
//! - always `E1`: the incident itself (detector, reason, latest message);
//! - workloads (Deployment, StatefulSet, DaemonSet, Job, CronJob, ReplicaSet, Pod): the owner's
//!   rollout status and conditions, up to [`Limits::max_pods`] of its pods (failing ones first)
//!   with phase, non-true conditions and every container's state, last termination and exit-code
//!   meaning, the node conditions of those pods' nodes, recent events of the owner and the pods
//!   (Warning first, newest first), and log excerpts (previous instance first, error lines
//!   first);
//! - PVCs, Certificates, Services, Nodes, HPAs and Flux objects: their status and conditions, and
//!   their events.
//!
//! Everything passes one redaction session, so the same secret gets the same placeholder in
//! every item, and the session's receipt is the incident's redaction receipt.

use serde::{Deserialize, Serialize};

use crate::detect::Snapshot;
use crate::detect::objects::{Condition, ContainerState, Event, Meta, Pod};
use crate::detect::owners;
use crate::incident::Incident;
use crate::redact::{Receipt, Redactor};
use crate::time::{Millis, to_rfc3339};

/// What an evidence item is; also its trimming priority (see [`EvidenceKind::keep_rank`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum EvidenceKind {
    /// The incident's own signal.
    Incident,
    /// An object's status and conditions.
    Status,
    /// One container's state.
    Container,
    /// The owner chain and rollout state.
    Owner,
    /// A node's conditions.
    Node,
    /// One Kubernetes event.
    Event,
    /// A log excerpt.
    Log,
}

impl EvidenceKind {
    /// Lower is kept longer when trimming: structured status is the strongest evidence, logs
    /// the most voluminous.
    pub fn keep_rank(self) -> u8 {
        match self {
            EvidenceKind::Incident => 0,
            EvidenceKind::Container => 1,
            EvidenceKind::Status => 2,
            EvidenceKind::Owner => 3,
            EvidenceKind::Node => 4,
            EvidenceKind::Event => 5,
            EvidenceKind::Log => 6,
        }
    }
}

/// One numbered fact.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// `E1`, `E2`, …
    pub id: String,
    /// What it is.
    pub kind: EvidenceKind,
    /// Where it comes from (`Pod/api-7d9f-x container app`), redacted.
    pub source: String,
    /// The fact, redacted. Logs are newline-separated lines.
    pub text: String,
}

/// The incident facts every prompt starts with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Facts {
    /// Cluster.
    pub cluster: String,
    /// Namespace (absent for cluster-scoped objects).
    pub namespace: Option<String>,
    /// Top owner (`Deployment/api`).
    pub object: String,
    /// Failure class the detector assigned.
    pub category: String,
    /// Machine reason.
    pub reason: String,
    /// Detector severity.
    pub severity: String,
    /// Sightings so far.
    pub occurrences: u64,
    /// First and last sighting (RFC 3339).
    pub first_seen: String,
    /// Latest sighting.
    pub last_seen: String,
}

/// The collected context of one incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Context {
    /// The incident.
    pub facts: Facts,
    /// The evidence, in id order.
    pub evidence: Vec<Evidence>,
    /// What [`super::fit::fit`] removed or shortened, in order.
    pub trimmed: Vec<String>,
    /// Categories and counts of what was redacted (never values).
    pub receipt: Receipt,
}

impl Context {
    /// The item with this id.
    pub fn get(&self, id: &str) -> Option<&Evidence> {
        self.evidence.iter().find(|e| e.id == id)
    }

    /// Items of one kind.
    pub fn of_kind(&self, kind: EvidenceKind) -> impl Iterator<Item = &Evidence> {
        self.evidence.iter().filter(move |e| e.kind == kind)
    }
}

/// Collection bounds. Defaults follow the earlier implementation's budget (reference-behaviour
/// §2): enough to diagnose, small enough for a cheap model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Pods of the owner described.
    pub max_pods: usize,
    /// Events kept.
    pub max_events: usize,
    /// Log lines per excerpt.
    pub max_log_lines: usize,
    /// Characters per log line.
    pub max_line_chars: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_pods: 3,
            max_events: 15,
            max_log_lines: 30,
            max_line_chars: 500,
        }
    }
}

/// Words that make a log line worth reading first.
const ERROR_WORDS: &[&str] = &[
    "error",
    "warn",
    "fatal",
    "exception",
    "traceback",
    "panic",
    "oom",
    "killed",
    "exit code",
    "refused",
    "timeout",
    "timed out",
    "no space left",
    "enospc",
    "denied",
    "unauthorized",
    "not found",
    "no such host",
    "failed",
];

/// What a container exit code usually means (shown to the model and to humans).
pub fn exit_code_meaning(code: i64) -> &'static str {
    match code {
        0 => "completed successfully",
        1 => "application error",
        2 => "misuse of a shell builtin or bad arguments",
        126 => "command cannot execute (permissions)",
        127 => "command not found (bad image entrypoint or PATH)",
        128 => "invalid exit argument",
        134 => "SIGABRT: the process aborted (assertion or fatal runtime error)",
        137 => {
            "SIGKILL: almost always the cgroup OOM killer (or a forced kill after the grace period)"
        }
        139 => "SIGSEGV: segmentation fault",
        143 => "SIGTERM: terminated on request (shutdown, liveness probe failure)",
        c if c > 128 => "killed by a signal",
        _ => "application-defined failure",
    }
}

struct Builder<'a> {
    session: crate::redact::RedactionSession<'a>,
    evidence: Vec<Evidence>,
}

impl Builder<'_> {
    fn push(&mut self, kind: EvidenceKind, source: &str, text: &str) {
        let id = format!("E{}", self.evidence.len() + 1);
        let source = self.session.text(source);
        let text = self.session.text(text);
        self.evidence.push(Evidence {
            id,
            kind,
            source,
            text,
        });
    }
}

fn conditions(list: &[Condition]) -> String {
    list.iter()
        .map(|c| {
            let mut line = format!("{}={}", c.type_, c.status);
            if !c.reason.is_empty() {
                line.push_str(&format!(" reason={}", c.reason));
            }
            if !c.message.is_empty() {
                line.push_str(&format!(" message={:?}", c.message));
            }
            if let Some(at) = c.last_transition_time {
                line.push_str(&format!(" since={}", to_rfc3339(at)));
            }
            line
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn state(label: &str, s: &ContainerState) -> Option<String> {
    if let Some(w) = &s.waiting {
        return Some(format!(
            "{label}: waiting reason={} message={:?}",
            w.reason, w.message
        ));
    }
    if let Some(r) = &s.running {
        let since = r.started_at.map(to_rfc3339).unwrap_or_default();
        return Some(format!("{label}: running since {since}"));
    }
    if let Some(t) = &s.terminated {
        let code = t.exit_code.unwrap_or(-1);
        let finished = t.finished_at.map(to_rfc3339).unwrap_or_default();
        return Some(format!(
            "{label}: terminated reason={} exitCode={code} ({}) finishedAt={finished} message={:?}",
            t.reason,
            exit_code_meaning(code),
            t.message
        ));
    }
    None
}

fn pod_is_failing(p: &Pod) -> bool {
    p.status.phase != "Running" && p.status.phase != "Succeeded"
        || p.status
            .container_statuses
            .iter()
            .any(|c| !c.ready || c.state.waiting.is_some())
}

fn describe_pod(b: &mut Builder<'_>, p: &Pod) {
    let name = &p.metadata.name;
    let failing = p
        .status
        .conditions
        .iter()
        .filter(|c| c.status != "True")
        .cloned()
        .collect::<Vec<_>>();
    let mut text = format!(
        "phase={} node={}",
        p.status.phase,
        p.spec.node_name.as_deref().unwrap_or("(unscheduled)")
    );
    if !p.status.reason.is_empty() {
        text.push_str(&format!(
            " reason={} message={:?}",
            p.status.reason, p.status.message
        ));
    }
    if !failing.is_empty() {
        text.push_str(&format!(" conditions: {}", conditions(&failing)));
    }
    b.push(EvidenceKind::Status, &format!("Pod/{name} status"), &text);
    for c in p
        .status
        .init_container_statuses
        .iter()
        .chain(&p.status.container_statuses)
    {
        let spec = p
            .spec
            .containers
            .iter()
            .chain(&p.spec.init_containers)
            .find(|s| s.name == c.name);
        let mut lines = vec![format!(
            "image={} ready={} restarts={}",
            spec.and_then(|s| s.image.as_deref())
                .or(c.image.as_deref())
                .unwrap_or("?"),
            c.ready,
            c.restart_count.unwrap_or(0)
        )];
        lines.extend(state("state", &c.state));
        lines.extend(state("lastState", &c.last_state));
        b.push(
            EvidenceKind::Container,
            &format!("Pod/{name} container {}", c.name),
            &lines.join("\n"),
        );
    }
}

fn event_text(e: &Event) -> String {
    let last = e
        .last_seen
        .or(e.first_seen)
        .map(to_rfc3339)
        .unwrap_or_default();
    format!(
        "{} {} x{} last={last}: {}",
        e.type_,
        e.reason,
        e.count.max(1),
        e.message
    )
}

/// Error lines first, then the rest, newest last, bounded.
fn excerpt(text: &str, limits: &Limits) -> String {
    let cut = |line: &str| {
        if line.chars().count() > limits.max_line_chars {
            let mut s: String = line.chars().take(limits.max_line_chars).collect();
            s.push_str("…[truncated]");
            s
        } else {
            line.to_string()
        }
    };
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let is_error = |l: &&str| {
        let lower = l.to_ascii_lowercase();
        ERROR_WORDS.iter().any(|w| lower.contains(w))
    };
    let errors: Vec<&str> = lines.iter().copied().filter(is_error).collect();
    let take_errors = errors.len().min(limits.max_log_lines);
    let mut chosen: Vec<String> = errors[errors.len() - take_errors..]
        .iter()
        .map(|l| cut(l))
        .collect();
    let room = limits.max_log_lines - chosen.len();
    if room > 0 {
        let rest: Vec<&str> = lines.iter().copied().filter(|l| !is_error(l)).collect();
        let tail = &rest[rest.len().saturating_sub(room)..];
        chosen.extend(tail.iter().map(|l| cut(l)));
    }
    let omitted = lines.len().saturating_sub(chosen.len());
    if omitted > 0 {
        chosen.push(format!("... [{omitted} more lines not shown]"));
    }
    chosen.join("\n")
}

fn events_of(
    snapshot: &Snapshot,
    objects: &[(String, String, String)],
    limits: &Limits,
) -> Vec<Event> {
    let mut events: Vec<Event> = objects
        .iter()
        .flat_map(|(k, ns, n)| snapshot.events_for(k, ns, n).cloned().collect::<Vec<_>>())
        .collect();
    events.sort_by_key(|e| {
        (
            e.type_ != "Warning",
            std::cmp::Reverse(e.last_seen.or(e.first_seen).unwrap_or(0)),
        )
    });
    events.truncate(limits.max_events);
    events
}

/// Flux labels naming the object that applied a workload, and that object's kind.
const FLUX_MANAGERS: &[(&str, &str, &str)] = &[
    (
        "kustomize.toolkit.fluxcd.io/name",
        "kustomize.toolkit.fluxcd.io/namespace",
        "Kustomization",
    ),
    (
        "helm.toolkit.fluxcd.io/name",
        "helm.toolkit.fluxcd.io/namespace",
        "HelmRelease",
    ),
];

/// The status of the Flux object that applied this workload, when it is labelled and known: a
/// failing Kustomization or HelmRelease often explains a broken rollout.
fn flux_manager(b: &mut Builder<'_>, snap: &Snapshot, meta: &Meta) {
    for (name_label, ns_label, kind) in FLUX_MANAGERS {
        let Some(name) = meta.labels.get(*name_label) else {
            continue;
        };
        let ns = meta.labels.get(*ns_label).map_or(meta.ns(), String::as_str);
        if let Some(f) = snap.flux_object(kind, ns, name) {
            let text = format!(
                "suspend={}; conditions: {}",
                f.spec.suspend,
                conditions(&f.status.conditions)
            );
            b.push(
                EvidenceKind::Status,
                &format!("{kind}/{name} (applied this workload)"),
                &text,
            );
        }
    }
}

fn owner_chain(snapshot: &Snapshot, ns: &str, meta: &Meta) -> Vec<String> {
    let mut chain = Vec::new();
    let mut current = meta
        .owner_references
        .iter()
        .find(|o| o.controller.unwrap_or(true))
        .cloned();
    let mut guard = 0;
    while let Some(o) = current.take() {
        guard += 1;
        if guard > 4 {
            break;
        }
        chain.push(format!("{}/{}", o.kind, o.name));
        current = snapshot
            .workload(&o.kind, ns, &o.name)
            .and_then(|w| w.metadata.owner_references.first().cloned())
            .or_else(|| {
                (o.kind == "Job")
                    .then(|| snapshot.job(ns, &o.name))
                    .flatten()
                    .and_then(|j| j.metadata.owner_references.first().cloned())
            });
    }
    chain
}

/// Collects the context of `incident` from `snapshot` (`None` when there is no cluster view,
/// e.g. an Alertmanager alert served without Kubernetes: only the incident itself is evidence).
pub fn collect(
    incident: &Incident,
    snapshot: Option<&Snapshot>,
    redactor: &Redactor,
    limits: &Limits,
) -> Context {
    let mut b = Builder {
        session: redactor.session(),
        evidence: Vec::new(),
    };
    b.push(
        EvidenceKind::Incident,
        &format!("{} signal", incident.detector),
        &format!("reason={} message={}", incident.reason, incident.message),
    );
    if let Some(snap) = snapshot {
        collect_object(&mut b, incident, snap, limits);
    }
    let facts = Facts {
        cluster: incident.cluster.clone(),
        namespace: incident.namespace.clone(),
        object: b.session.text(&incident.object.to_string()),
        category: incident.category.as_str().to_string(),
        reason: b.session.text(&incident.reason),
        severity: incident.detector_severity.as_str().to_string(),
        occurrences: incident.occurrences,
        first_seen: to_rfc3339(incident.first_seen),
        last_seen: to_rfc3339(incident.last_seen),
    };
    let Builder { session, evidence } = b;
    Context {
        facts,
        evidence,
        trimmed: Vec::new(),
        receipt: session.into_receipt(),
    }
}

fn collect_object(b: &mut Builder<'_>, incident: &Incident, snap: &Snapshot, limits: &Limits) {
    let ns = incident.namespace.clone().unwrap_or_default();
    let kind = incident.object.kind.as_str();
    let name = incident.object.name.as_str();
    let mut event_objects = vec![(kind.to_string(), ns.clone(), name.to_string())];
    match kind {
        "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" | "Job" | "CronJob" | "Pod" => {
            if let Some(w) = snap.workload(kind, &ns, name) {
                let text = format!(
                    "replicas desired={} ready={} available={}; conditions: {}",
                    w.spec.replicas.map_or("?".into(), |r| r.to_string()),
                    w.status.ready_replicas.unwrap_or(0),
                    w.status.available_replicas.unwrap_or(0),
                    conditions(&w.status.conditions)
                );
                b.push(
                    EvidenceKind::Owner,
                    &format!("{kind}/{name} rollout"),
                    &text,
                );
                flux_manager(b, snap, &w.metadata);
            }
            if let Some(j) = (kind == "Job").then(|| snap.job(&ns, name)).flatten() {
                let text = format!(
                    "active={} failed={} succeeded={}; conditions: {}",
                    j.status.active.unwrap_or(0),
                    j.status.failed.unwrap_or(0),
                    j.status.succeeded.unwrap_or(0),
                    conditions(&j.status.conditions)
                );
                b.push(EvidenceKind::Status, &format!("Job/{name} status"), &text);
            }
            let mut pods: Vec<&Pod> = snap
                .pods_in(&ns)
                .filter(|p| {
                    (kind == "Pod" && p.metadata.name == name)
                        || owners::top_owner(snap, "Pod", &p.metadata) == incident.object
                })
                .collect();
            pods.sort_by_key(|p| (!pod_is_failing(p), p.metadata.name.clone()));
            pods.truncate(limits.max_pods);
            if let Some(first) = pods.first() {
                let chain = owner_chain(snap, &ns, &first.metadata);
                if !chain.is_empty() {
                    b.push(
                        EvidenceKind::Owner,
                        &format!("Pod/{} owner chain", first.metadata.name),
                        &chain.join(" -> "),
                    );
                }
            }
            let mut nodes = Vec::new();
            for p in &pods {
                describe_pod(b, p);
                event_objects.push(("Pod".into(), ns.clone(), p.metadata.name.clone()));
                if let Some(n) = &p.spec.node_name
                    && !nodes.contains(n)
                {
                    nodes.push(n.clone());
                }
            }
            for n in nodes {
                if let Some(node) = snap.node(&n) {
                    let bad: Vec<Condition> = node
                        .status
                        .conditions
                        .iter()
                        .filter(|c| (c.type_ == "Ready") != (c.status == "True"))
                        .cloned()
                        .collect();
                    if !bad.is_empty() || node.spec.unschedulable {
                        let text = format!(
                            "unschedulable={}; conditions: {}",
                            node.spec.unschedulable,
                            conditions(&bad)
                        );
                        b.push(EvidenceKind::Node, &format!("Node/{n}"), &text);
                    }
                }
            }
            for e in events_of(snap, &event_objects, limits) {
                let source = format!("Event on {}/{}", e.involved.kind, e.involved.name);
                b.push(EvidenceKind::Event, &source, &event_text(&e));
            }
            for p in &pods {
                let mut logs: Vec<_> = snap.logs(&ns, &p.metadata.name).iter().collect();
                logs.sort_by_key(|l| !l.previous);
                for log in logs {
                    let which = if log.previous { "previous" } else { "current" };
                    let container = log.container.as_deref().unwrap_or("all");
                    let source = format!("Pod/{} {which} log of {container}", p.metadata.name);
                    b.push(EvidenceKind::Log, &source, &excerpt(&log.text, limits));
                }
            }
            return;
        }
        "PersistentVolumeClaim" => {
            if let Some(p) = snap.pvc(&ns, name) {
                let text = format!(
                    "phase={} storageClass={}",
                    p.status.phase,
                    p.spec.storage_class_name.as_deref().unwrap_or("(default)")
                );
                b.push(
                    EvidenceKind::Status,
                    &format!("PersistentVolumeClaim/{name}"),
                    &text,
                );
            }
        }
        "Certificate" => {
            if let Some(c) = snap
                .certificates()
                .find(|c| c.metadata.ns() == ns && c.metadata.name == name)
            {
                let t = |m: Option<Millis>| m.map(to_rfc3339).unwrap_or_else(|| "-".into());
                let text = format!(
                    "notAfter={} renewalTime={} failedIssuanceAttempts={}; conditions: {}",
                    t(c.status.not_after),
                    t(c.status.renewal_time),
                    c.status.failed_issuance_attempts.unwrap_or(0),
                    conditions(&c.status.conditions)
                );
                b.push(EvidenceKind::Status, &format!("Certificate/{name}"), &text);
            }
        }
        "Service" => {
            if let Some(s) = snap
                .services()
                .find(|s| s.metadata.ns() == ns && s.metadata.name == name)
            {
                let ready: usize = snap
                    .endpoint_slices_of(&ns, name)
                    .flat_map(|e| e.endpoints.iter())
                    .filter(|e| e.conditions.ready.unwrap_or(false))
                    .count();
                let selector: Vec<String> = s
                    .spec
                    .selector
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect();
                let matching = snap
                    .pods_in(&ns)
                    .filter(|p| {
                        s.spec
                            .selector
                            .iter()
                            .all(|(k, v)| p.metadata.labels.get(k) == Some(v))
                    })
                    .count();
                let text = format!(
                    "selector={} readyEndpoints={ready} matchingPods={matching}",
                    selector.join(",")
                );
                b.push(EvidenceKind::Status, &format!("Service/{name}"), &text);
            }
        }
        "Node" => {
            if let Some(n) = snap.node(name) {
                let taints: Vec<String> = n
                    .spec
                    .taints
                    .iter()
                    .map(|t| format!("{}:{}", t.key, t.effect))
                    .collect();
                let text = format!(
                    "unschedulable={} taints=[{}]; conditions: {}",
                    n.spec.unschedulable,
                    taints.join(","),
                    conditions(&n.status.conditions)
                );
                b.push(EvidenceKind::Status, &format!("Node/{name}"), &text);
            }
        }
        "HorizontalPodAutoscaler" => {
            if let Some(h) = snap
                .hpas()
                .find(|h| h.metadata.ns() == ns && h.metadata.name == name)
            {
                let text = format!(
                    "current={} desired={} max={}; conditions: {}",
                    h.status.current_replicas.unwrap_or(0),
                    h.status.desired_replicas.unwrap_or(0),
                    h.spec.max_replicas.unwrap_or(0),
                    conditions(&h.status.conditions)
                );
                b.push(
                    EvidenceKind::Status,
                    &format!("HorizontalPodAutoscaler/{name}"),
                    &text,
                );
            }
        }
        flux if snap.flux_object(flux, &ns, name).is_some() => {
            if let Some(f) = snap.flux_object(flux, &ns, name) {
                let text = format!(
                    "suspend={}; conditions: {}",
                    f.spec.suspend,
                    conditions(&f.status.conditions)
                );
                b.push(EvidenceKind::Status, &format!("{flux}/{name}"), &text);
            }
        }
        _ => {}
    }
    for e in events_of(snap, &event_objects, limits) {
        let source = format!("Event on {}/{}", e.involved.kind, e.involved.name);
        b.push(EvidenceKind::Event, &source, &event_text(&e));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpts_put_error_lines_first_and_bound_everything() {
        let mut log = String::new();
        for i in 0..100 {
            log.push_str(&format!("INFO line {i}\n"));
        }
        log.push_str("ERROR connect ECONNREFUSED 10.0.0.7:5432\n");
        log.push_str(&"x".repeat(1000));
        let limits = Limits {
            max_log_lines: 5,
            ..Limits::default()
        };
        let text = excerpt(&log, &limits);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "ERROR connect ECONNREFUSED 10.0.0.7:5432");
        assert_eq!(lines.len(), 6);
        assert!(
            lines[5].starts_with("... [97 more lines not shown]"),
            "{text}"
        );
        assert!(lines.iter().all(|l| l.chars().count() <= 500 + 12));
    }

    #[test]
    fn the_flux_object_that_applied_a_workload_is_evidence() {
        use crate::signal::ObjectRef;
        let (snap, errors) = Snapshot::from_values([
            serde_json::json!({"apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": "api", "namespace": "shop",
                    "labels": {"kustomize.toolkit.fluxcd.io/name": "apps", "kustomize.toolkit.fluxcd.io/namespace": "flux-system"}},
                "spec": {"replicas": 2, "template": {"metadata": {}}},
                "status": {"conditions": [{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"}]}}),
            serde_json::json!({"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
                "metadata": {"name": "apps", "namespace": "flux-system"},
                "spec": {},
                "status": {"conditions": [{"type": "Ready", "status": "False", "reason": "HealthCheckFailed", "message": "timeout waiting for Deployment/shop/api"}]}}),
        ]);
        assert!(errors.is_empty(), "{errors:?}");
        let incident = crate::incident::Incident {
            id: "i".into(),
            fingerprint: "f".into(),
            cluster: "c".into(),
            namespace: Some("shop".into()),
            object: ObjectRef::new("Deployment", "api"),
            detector: "deployment_scanner".into(),
            reason: "ProgressDeadlineExceeded".into(),
            category: crate::Category::RolloutStuck,
            message: String::new(),
            severity: crate::Severity::Warning,
            detector_severity: crate::Severity::Warning,
            status: crate::Status::Open,
            escalations: vec![],
            first_seen: 0,
            last_seen: 0,
            opened_at: 0,
            occurrences: 1,
            suppressed_occurrences: 0,
            acknowledged_at: None,
            acknowledged_by: None,
            ack_expires_at: None,
            resolved_at: None,
            resolved_by: None,
            last_notified_at: None,
            announced: true,
            needs_review: false,
        };
        let ctx = collect(
            &incident,
            Some(&snap),
            &Redactor::default(),
            &Limits::default(),
        );
        let flux = ctx
            .evidence
            .iter()
            .find(|e| e.source.starts_with("Kustomization/apps"))
            .expect("the Kustomization is evidence");
        assert!(flux.text.contains("HealthCheckFailed"), "{}", flux.text);
    }

    #[test]
    fn exit_codes_are_explained() {
        assert!(exit_code_meaning(137).contains("OOM"));
        assert!(exit_code_meaning(127).contains("not found"));
        assert_eq!(exit_code_meaning(3), "application-defined failure");
    }
}
