//! The rules engine: the embedded default analyzer and the LLM's fallback.
//!
//! The detector already decided the failure class from structured status; the rules engine
//! explains it: which evidence shows it, what usually causes it, what to check and do next, and
//! how sure it is. Confidence comes from where the evidence is, not from prose: a matching
//! container state or object condition (structured, authoritative) scores [`STRONG`], only
//! events or logs score [`MEDIUM`], nothing but the detector's own signal scores [`WEAK`] —
//! below the review threshold, so a human looks.
//!
//! Logs refine crash loops: connection refused / timeouts / DNS failures towards another
//! service add a `dependency_unavailable` hypothesis, `No space left on device` a `disk_full`
//! one, and an OOM kill in the last termination promotes `oom_killed`.

use super::context::{Context, Evidence, EvidenceKind};
use super::{Analysis, Hypothesis, RecommendedAction, Risk};
use crate::incident::{Incident, Severity};
use crate::taxonomy::Category;

/// Confidence when structured status shows the cause.
pub const STRONG: f64 = 0.9;
/// Confidence when only events or logs show it.
pub const MEDIUM: f64 = 0.72;
/// Confidence with nothing but the detector's signal.
pub const WEAK: f64 = 0.45;

/// One category's knowledge.
struct Rule {
    category: Category,
    /// The usual cause, as a sentence.
    cause: &'static str,
    /// Lower-case substrings that show it in evidence.
    markers: &'static [&'static str],
    /// A second, less likely cause.
    alternative: Option<(&'static str, Category)>,
    /// What to do, in order; `{ns}`, `{kind}`, `{name}` are filled in. The risk is derived
    /// from the command ([`risk`]).
    actions: &'static [(&'static str, Option<&'static str>)],
    /// What would raise confidence.
    missing: &'static [&'static str],
}

const DESCRIBE: (&str, Option<&str>) = (
    "Inspect the object and its recent events",
    Some("kubectl -n {ns} describe {kind} {name}"),
);

/// Changing commands are `high` (a human must decide), reading ones `read_only`; advice without
/// a command is `low`: it names a change but leaves the how to the operator.
fn risk(command: Option<&str>) -> Risk {
    match command {
        None => Risk::Low,
        Some(c)
            if [
                "rollout undo",
                "uncordon",
                "delete",
                "scale",
                "patch",
                "apply",
                "reconcile",
            ]
            .iter()
            .any(|w| c.contains(w)) =>
        {
            Risk::High
        }
        Some(_) => Risk::ReadOnly,
    }
}

const RULES: &[Rule] = &[
    Rule {
        category: Category::OomKilled,
        cause: "The container exceeded its memory limit and was killed by the kernel OOM killer (exit code 137).",
        markers: &["oomkilled", "exitcode=137", "oom"],
        alternative: Some((
            "A memory leak or a traffic spike grew the working set past the limit.",
            Category::OomKilled,
        )),
        actions: &[
            (
                "Compare memory usage with the container's limit",
                Some("kubectl -n {ns} top pod --containers"),
            ),
            (
                "Read the previous instance's last log lines",
                Some("kubectl -n {ns} logs deploy/{name} --previous --tail=100"),
            ),
            (
                "Raise the memory limit or fix the leak, then roll out",
                None,
            ),
        ],
        missing: &["memory usage over time (to tell a leak from a spike)"],
    },
    Rule {
        category: Category::CrashLoop,
        cause: "The application exits soon after start and Kubernetes keeps restarting it with back-off.",
        markers: &[
            "crashloopbackoff",
            "back-off restarting",
            "exitcode=",
            "terminated",
            "error",
        ],
        alternative: Some((
            "A bad configuration value or missing dependency makes the process exit at start-up.",
            Category::ConfigError,
        )),
        actions: &[
            (
                "Read the crashed instance's logs",
                Some("kubectl -n {ns} logs {kind}/{name} --previous --tail=100"),
            ),
            DESCRIBE,
            (
                "Roll back to the last working revision if a deploy started this",
                Some("kubectl -n {ns} rollout undo {kind}/{name}"),
            ),
        ],
        missing: &[
            "the previous container's logs",
            "what changed in the last rollout",
        ],
    },
    Rule {
        category: Category::ConfigError,
        cause: "The pod references a ConfigMap, Secret or key that does not exist (CreateContainerConfigError).",
        markers: &[
            "createcontainerconfigerror",
            "configmap",
            "not found",
            "couldn't find key",
            "secret",
        ],
        alternative: None,
        actions: &[
            DESCRIBE,
            (
                "List the ConfigMaps the pod refers to",
                Some("kubectl -n {ns} get configmap"),
            ),
            (
                "Create the missing key or fix the reference, then restart the rollout",
                None,
            ),
        ],
        missing: &["the exact reference from the pod spec"],
    },
    Rule {
        category: Category::ImagePullNotFound,
        cause: "The image or tag does not exist in the registry (typo or unpushed tag).",
        markers: &[
            "not found",
            "manifest unknown",
            "imagepullbackoff",
            "errimagepull",
        ],
        alternative: Some((
            "The registry is unreachable from the node.",
            Category::ImagePullOther,
        )),
        actions: &[
            DESCRIBE,
            ("Check the tag exists in the registry", None),
            (
                "Roll back to the previous image",
                Some("kubectl -n {ns} rollout undo {kind}/{name}"),
            ),
        ],
        missing: &["the registry's answer for the tag"],
    },
    Rule {
        category: Category::ImagePullAuth,
        cause: "The registry refused the pull: missing or wrong imagePullSecret, or no access to the repository.",
        markers: &[
            "unauthorized",
            "denied",
            "authentication required",
            "403",
            "401",
        ],
        alternative: Some((
            "The image does not exist and the registry answers it as unauthorized.",
            Category::ImagePullNotFound,
        )),
        actions: &[
            DESCRIBE,
            (
                "Check which imagePullSecrets the pod's service account uses (names only)",
                Some("kubectl -n {ns} get serviceaccount -o yaml"),
            ),
            (
                "Fix the registry credential or repository permissions",
                None,
            ),
        ],
        missing: &["the pull secret's registry host"],
    },
    Rule {
        category: Category::ImagePullOther,
        cause: "The node cannot pull the image (registry unreachable, rate limit, or TLS problem).",
        markers: &[
            "imagepullbackoff",
            "errimagepull",
            "pull",
            "timeout",
            "toomanyrequests",
        ],
        alternative: Some((
            "The image or tag does not exist.",
            Category::ImagePullNotFound,
        )),
        actions: &[
            DESCRIBE,
            ("Check the node's network path to the registry", None),
        ],
        missing: &["the container runtime's error on the node"],
    },
    Rule {
        category: Category::ProbeFailure,
        cause: "A liveness or readiness probe keeps failing, so the container is restarted or kept out of the Service.",
        markers: &["unhealthy", "probe failed", "liveness", "readiness"],
        alternative: Some((
            "The probe's timeout or initial delay is too short for the application's start-up.",
            Category::ProbeFailure,
        )),
        actions: &[
            DESCRIBE,
            ("Check the probe endpoint from inside the pod", None),
            ("Tune probe timings if start-up is slow", None),
        ],
        missing: &["the probe's HTTP status or command output"],
    },
    Rule {
        category: Category::DependencyUnavailable,
        cause: "The application cannot reach a service it depends on (connection refused, timeouts or DNS failures in its logs).",
        markers: &[
            "connection refused",
            "econnrefused",
            "timeout",
            "timed out",
            "no such host",
            "i/o timeout",
            "unreachable",
        ],
        alternative: Some((
            "A NetworkPolicy or DNS problem isolates the pod from the dependency.",
            Category::DependencyUnavailable,
        )),
        actions: &[
            (
                "Check the dependency's own health and endpoints",
                Some("kubectl -n {ns} get endpointslices"),
            ),
            (
                "Check NetworkPolicies in the namespace",
                Some("kubectl -n {ns} get networkpolicy"),
            ),
            (
                "Read the application's recent logs",
                Some("kubectl -n {ns} logs {kind}/{name} --tail=100"),
            ),
        ],
        missing: &["the dependency's status at the same time"],
    },
    Rule {
        category: Category::DiskFull,
        cause: "A volume the application writes to is full (ENOSPC: no space left on device).",
        markers: &["no space left", "enospc", "disk full", "volume usage"],
        alternative: None,
        actions: &[
            (
                "Check the volume's usage",
                Some("kubectl -n {ns} exec {kind}/{name} -- df -h"),
            ),
            ("Expand the PVC or clean up old data", None),
        ],
        missing: &["volume usage metrics"],
    },
    Rule {
        category: Category::UnschedulableResources,
        cause: "No node has enough free CPU or memory for the pod's requests.",
        markers: &[
            "insufficient cpu",
            "insufficient memory",
            "failedscheduling",
            "unschedulable",
        ],
        alternative: Some((
            "The cluster autoscaler has not (yet) added capacity.",
            Category::UnschedulableResources,
        )),
        actions: &[
            DESCRIBE,
            (
                "Compare requests with node allocatable",
                Some("kubectl describe nodes"),
            ),
            ("Lower requests or add capacity", None),
        ],
        missing: &["node allocatable vs requested"],
    },
    Rule {
        category: Category::UnschedulableConstraints,
        cause: "The pod's node selector, affinity, topology spread or tolerations match no node.",
        markers: &[
            "node affinity",
            "didn't match",
            "taint",
            "selector",
            "unschedulable",
        ],
        alternative: None,
        actions: &[
            DESCRIBE,
            (
                "List node labels and taints",
                Some("kubectl get nodes --show-labels"),
            ),
        ],
        missing: &["the pod's affinity and tolerations"],
    },
    Rule {
        category: Category::VolumeBinding,
        cause: "The PersistentVolumeClaim cannot bind: no matching volume, or the storage class cannot provision one.",
        markers: &[
            "pending",
            "provisioningfailed",
            "waiting for a volume",
            "storageclass",
            "failedbinding",
        ],
        alternative: Some((
            "The storage class uses WaitForFirstConsumer and no pod is scheduled yet.",
            Category::VolumeBinding,
        )),
        actions: &[
            DESCRIBE,
            (
                "Check the storage class and provisioner",
                Some("kubectl get storageclass"),
            ),
        ],
        missing: &["the provisioner's logs"],
    },
    Rule {
        category: Category::VolumeMount,
        cause: "The node could not attach or mount a volume for the pod.",
        markers: &[
            "failedmount",
            "failedattachvolume",
            "unable to attach",
            "mount",
        ],
        alternative: None,
        actions: &[
            DESCRIBE,
            (
                "Check the volume attachment",
                Some("kubectl get volumeattachments"),
            ),
        ],
        missing: &["the CSI driver's logs on the node"],
    },
    Rule {
        category: Category::VolumeLost,
        cause: "The PersistentVolumeClaim lost its volume (phase Lost): the bound PersistentVolume is gone.",
        markers: &["lost"],
        alternative: None,
        actions: &[
            DESCRIBE,
            (
                "Check whether the PersistentVolume still exists",
                Some("kubectl get pv"),
            ),
            ("Restore from backup if the data is gone", None),
        ],
        missing: &["what deleted the volume"],
    },
    Rule {
        category: Category::CertificateNotReady,
        cause: "cert-manager cannot issue the certificate (issuer error, failing ACME challenge, or a missing issuer).",
        markers: &["ready=false", "failed", "issuing", "challenge"],
        alternative: None,
        actions: &[
            DESCRIBE,
            (
                "Check the certificate requests and orders",
                Some("kubectl -n {ns} get certificaterequests,orders,challenges"),
            ),
        ],
        missing: &["the issuer's status"],
    },
    Rule {
        category: Category::CertificateExpiring,
        cause: "The certificate expires soon and has not been renewed.",
        markers: &["notafter", "renewaltime", "ready=false"],
        alternative: Some((
            "Renewal is failing at the issuer.",
            Category::CertificateNotReady,
        )),
        actions: &[
            DESCRIBE,
            (
                "Check the latest CertificateRequest",
                Some("kubectl -n {ns} get certificaterequests"),
            ),
        ],
        missing: &["the renewal attempt's error"],
    },
    Rule {
        category: Category::ServiceNoEndpoints,
        cause: "The Service selects no ready pods, so traffic to it fails.",
        markers: &["readyendpoints=0", "selector=", "matchingpods"],
        alternative: Some((
            "The Service selector does not match the pods' labels.",
            Category::ServiceNoEndpoints,
        )),
        actions: &[
            DESCRIBE,
            (
                "Compare the selector with pod labels",
                Some("kubectl -n {ns} get pods --show-labels"),
            ),
        ],
        missing: &["the backing pods' readiness"],
    },
    Rule {
        category: Category::RolloutStuck,
        cause: "The rollout exceeded its progress deadline: new pods do not become ready.",
        markers: &[
            "progressdeadlineexceeded",
            "progressing=false",
            "available=false",
        ],
        alternative: Some((
            "The new pods fail (image, config or crash); see the pod evidence.",
            Category::CrashLoop,
        )),
        actions: &[
            (
                "Check the rollout",
                Some("kubectl -n {ns} rollout status {kind}/{name}"),
            ),
            DESCRIBE,
            (
                "Roll back if the new revision is broken",
                Some("kubectl -n {ns} rollout undo {kind}/{name}"),
            ),
        ],
        missing: &["the new ReplicaSet's pod errors"],
    },
    Rule {
        category: Category::FluxSourceError,
        cause: "Flux cannot fetch its source (Git, Helm or OCI repository): authentication, URL or network problem.",
        markers: &[
            "gitoperationfailed",
            "fetch",
            "authentication",
            "ready=false",
            "stalled=true",
        ],
        alternative: None,
        actions: &[
            DESCRIBE,
            (
                "Reconcile the source after fixing it",
                Some("flux reconcile source git {name} -n {ns}"),
            ),
        ],
        missing: &["the source-controller's logs"],
    },
    Rule {
        category: Category::FluxBuildError,
        cause: "Flux cannot build or apply the manifests (kustomize build error, invalid resource, or failing health check).",
        markers: &[
            "buildfailed",
            "reconciliationfailed",
            "healthcheckfailed",
            "ready=false",
            "stalled=true",
        ],
        alternative: None,
        actions: &[DESCRIBE, ("Build locally to see the error", None)],
        missing: &["the kustomize-controller's logs"],
    },
    Rule {
        category: Category::FluxDependencyNotReady,
        cause: "A Flux object this one depends on is not ready yet.",
        markers: &["dependencynotready", "dependency"],
        alternative: None,
        actions: &[("Check the dependency chain", Some("flux get all -n {ns}"))],
        missing: &["the dependency's status"],
    },
    Rule {
        category: Category::HelmReleaseFailed,
        cause: "The Helm release failed to install or upgrade (chart error, failing hooks or tests, or remediation exhausted).",
        markers: &[
            "installfailed",
            "upgradefailed",
            "testfailed",
            "rollbackfailed",
            "ready=false",
        ],
        alternative: None,
        actions: &[
            DESCRIBE,
            (
                "Check the release history",
                Some("helm -n {ns} history {name}"),
            ),
        ],
        missing: &["the helm-controller's logs"],
    },
    Rule {
        category: Category::NodeNotReady,
        cause: "The node stopped reporting Ready: kubelet down, node unreachable or out of resources.",
        markers: &["ready=false", "ready=unknown", "nodenotready", "kubelet"],
        alternative: Some((
            "The node is being drained or replaced.",
            Category::NodeCordoned,
        )),
        actions: &[
            ("Inspect the node", Some("kubectl describe node {name}")),
            ("Check the node's kubelet and network", None),
        ],
        missing: &["kubelet logs on the node"],
    },
    Rule {
        category: Category::NodePressure,
        cause: "The node is under memory, disk or PID pressure and may evict pods.",
        markers: &[
            "memorypressure=true",
            "diskpressure=true",
            "pidpressure=true",
            "pressure",
        ],
        alternative: None,
        actions: &[
            ("Inspect the node", Some("kubectl describe node {name}")),
            (
                "Find the largest consumers on the node",
                Some("kubectl top pods -A --sort-by=memory"),
            ),
        ],
        missing: &["node resource usage"],
    },
    Rule {
        category: Category::NodeCordoned,
        cause: "The node was cordoned (unschedulable) and left that way.",
        markers: &["unschedulable=true", "cordon", "nodenotschedulable"],
        alternative: None,
        actions: &[
            (
                "Check who cordoned the node and why",
                Some("kubectl describe node {name}"),
            ),
            (
                "Uncordon when maintenance is over",
                Some("kubectl uncordon {name}"),
            ),
        ],
        missing: &["the maintenance ticket"],
    },
    Rule {
        category: Category::PodEvicted,
        cause: "The kubelet evicted the pod because its node ran short of a resource.",
        markers: &["evicted", "the node was low on resource"],
        alternative: Some((
            "The pod has no or too low resource requests.",
            Category::PodEvicted,
        )),
        actions: &[
            DESCRIBE,
            (
                "Check the node's pressure conditions",
                Some("kubectl describe nodes"),
            ),
        ],
        missing: &["the node's resource usage at eviction time"],
    },
    Rule {
        category: Category::JobFailed,
        cause: "The Job's pods kept failing until its backoff limit (or deadline) was reached.",
        markers: &[
            "backofflimitexceeded",
            "deadlineexceeded",
            "failed=",
            "failed",
        ],
        alternative: None,
        actions: &[
            (
                "Read the failed pods' logs",
                Some("kubectl -n {ns} logs job/{name} --tail=100"),
            ),
            DESCRIBE,
        ],
        missing: &["the failed pod's logs"],
    },
    Rule {
        category: Category::HpaAtMax,
        cause: "The autoscaler is pinned at its maximum replicas: demand exceeds the configured ceiling.",
        markers: &["scalinglimited", "toomanyreplicas", "max="],
        alternative: None,
        actions: &[DESCRIBE, ("Raise maxReplicas or reduce per-pod load", None)],
        missing: &["request rate and per-pod utilisation"],
    },
    Rule {
        category: Category::QuotaExceeded,
        cause: "A ResourceQuota in the namespace forbids creating the pods.",
        markers: &[
            "exceeded quota",
            "forbidden",
            "resourcequota",
            "failedcreate",
        ],
        alternative: None,
        actions: &[(
            "Check the namespace quotas",
            Some("kubectl -n {ns} describe resourcequota"),
        )],
        missing: &["the quota's used vs hard values"],
    },
    Rule {
        category: Category::AlertFiring,
        cause: "A Prometheus alert is firing; its rule and annotations describe the symptom.",
        markers: &["alert", "firing"],
        alternative: None,
        actions: &[("Open the alert's runbook and dashboard", None)],
        missing: &[
            "the alert's query results",
            "the affected workload's status",
        ],
    },
    Rule {
        category: Category::Unknown,
        cause: "The evidence does not point to a known cause.",
        markers: &[],
        alternative: None,
        actions: &[DESCRIBE],
        missing: &["the object's status, events and logs"],
    },
];

fn rule(category: Category) -> &'static Rule {
    RULES
        .iter()
        .find(|r| r.category == category)
        .unwrap_or(&RULES[RULES.len() - 1])
}

fn mentions(e: &Evidence, markers: &[&str]) -> bool {
    let text = format!("{} {}", e.source, e.text).to_ascii_lowercase();
    markers.iter().any(|m| text.contains(m))
}

/// Evidence ids supporting `markers`, the strength they give, and whether any is structured.
fn support(context: &Context, markers: &[&str]) -> (Vec<String>, f64) {
    let cited: Vec<&Evidence> = context
        .evidence
        .iter()
        .filter(|e| e.kind != EvidenceKind::Incident && mentions(e, markers))
        .take(4)
        .collect();
    let structured = cited.iter().any(|e| {
        matches!(
            e.kind,
            EvidenceKind::Container
                | EvidenceKind::Status
                | EvidenceKind::Owner
                | EvidenceKind::Node
        )
    });
    let strength = if structured {
        STRONG
    } else if cited.is_empty() {
        WEAK
    } else {
        MEDIUM
    };
    let mut ids: Vec<String> = vec!["E1".to_string()];
    ids.extend(cited.into_iter().map(|e| e.id.clone()));
    (ids, strength)
}

fn fill(template: &str, incident: &Incident) -> String {
    let kind = incident.object.kind.to_ascii_lowercase();
    template
        .replace("{ns}", incident.namespace.as_deref().unwrap_or("default"))
        .replace("{kind}", &kind)
        .replace("{name}", &incident.object.name)
}

/// Log-derived refinements for pod failures: (category, markers) checked in log and event
/// evidence, strongest first.
const LOG_HINTS: &[(Category, &[&str])] = &[
    (Category::DiskFull, &["no space left on device", "enospc"]),
    (
        Category::DependencyUnavailable,
        &[
            "connection refused",
            "econnrefused",
            "i/o timeout",
            "timed out",
            "no such host",
            "deadline exceeded",
        ],
    ),
];

/// Well-known alert names (kube-prometheus, node-exporter and cert-manager mixins) and the
/// class they describe, so an alert-driven incident gets a real category.
const ALERT_CLASSES: &[(&str, Category)] = &[
    ("KubePodCrashLooping", Category::CrashLoop),
    ("KubeContainerOOMKilled", Category::OomKilled),
    ("KubeDeploymentReplicasMismatch", Category::RolloutStuck),
    ("KubeDeploymentRolloutStuck", Category::RolloutStuck),
    ("KubeStatefulSetReplicasMismatch", Category::RolloutStuck),
    ("KubeDaemonSetRolloutStuck", Category::RolloutStuck),
    ("KubePersistentVolumeFillingUp", Category::DiskFull),
    ("KubePersistentVolumeErrors", Category::VolumeLost),
    ("NodeFilesystemSpaceFillingUp", Category::DiskFull),
    ("NodeFilesystemAlmostOutOfSpace", Category::DiskFull),
    ("KubeNodeNotReady", Category::NodeNotReady),
    ("KubeNodeUnreachable", Category::NodeNotReady),
    ("KubeNodePressure", Category::NodePressure),
    ("KubeJobFailed", Category::JobFailed),
    ("KubeJobNotCompleted", Category::JobFailed),
    ("KubeHpaMaxedOut", Category::HpaAtMax),
    ("KubeQuotaExceeded", Category::QuotaExceeded),
    ("KubeQuotaFullyUsed", Category::QuotaExceeded),
    ("CertManagerCertExpirySoon", Category::CertificateExpiring),
    ("CertManagerCertNotReady", Category::CertificateNotReady),
    ("TargetDown", Category::DependencyUnavailable),
];

/// Analyzes `incident` from its context. Never fails: with no evidence the answer is a
/// low-confidence `unknown` that needs review.
pub fn analyze(context: &Context, incident: &Incident) -> Analysis {
    let mut primary = incident.category;
    if primary == Category::AlertFiring
        && let Some((_, class)) = ALERT_CLASSES
            .iter()
            .find(|(name, _)| *name == incident.reason)
    {
        primary = *class;
    }
    // An OOM kill in the last termination explains a crash loop better than the loop itself.
    if primary == Category::CrashLoop
        && context
            .of_kind(EvidenceKind::Container)
            .any(|e| mentions(e, &["reason=oomkilled"]))
    {
        primary = Category::OomKilled;
    }
    let r = rule(primary);
    let (ids, strength) = support(context, r.markers);
    let mut hypotheses = vec![Hypothesis {
        cause: r.cause.to_string(),
        category: primary,
        confidence: strength,
        evidence: ids,
    }];
    if matches!(
        primary,
        Category::CrashLoop | Category::ProbeFailure | Category::RolloutStuck
    ) {
        for (category, markers) in LOG_HINTS {
            let hits: Vec<String> = context
                .evidence
                .iter()
                .filter(|e| {
                    matches!(e.kind, EvidenceKind::Log | EvidenceKind::Event)
                        && mentions(e, markers)
                })
                .map(|e| e.id.clone())
                .take(3)
                .collect();
            if !hits.is_empty() {
                hypotheses.push(Hypothesis {
                    cause: rule(*category).cause.to_string(),
                    category: *category,
                    confidence: MEDIUM.min(strength - 0.05).max(0.5),
                    evidence: hits,
                });
            }
        }
    }
    if let Some((cause, category)) = r.alternative
        && hypotheses.len() < 3
    {
        hypotheses.push(Hypothesis {
            cause: cause.to_string(),
            category,
            confidence: (strength * 0.4).min(0.35),
            evidence: vec!["E1".to_string()],
        });
    }
    hypotheses.sort_by(|a, b| b.confidence.total_cmp(&a.confidence));
    hypotheses.truncate(5);
    let confidence = hypotheses[0].confidence;
    let summary = format!(
        "{} {}: {}",
        incident.object,
        primary.as_str().replace('_', " "),
        hypotheses[0].cause
    );
    let summary: String = summary.chars().take(super::MAX_SUMMARY_CHARS).collect();
    let mut missing: Vec<String> = r.missing.iter().map(|m| m.to_string()).collect();
    if context.of_kind(EvidenceKind::Log).next().is_none()
        && matches!(
            primary,
            Category::CrashLoop | Category::OomKilled | Category::ProbeFailure
        )
    {
        missing.push("container logs".into());
    }
    Analysis {
        summary,
        category: primary,
        // The rules engine proposes the detector's severity; only escalation raises it.
        severity: incident.detector_severity.max(Severity::Info),
        recommended_actions: r
            .actions
            .iter()
            .take(super::MAX_ACTIONS)
            .map(|(action, command)| RecommendedAction {
                action: action.to_string(),
                command: command.map(|c| fill(c, incident)),
                risk: risk(*command),
            })
            .collect(),
        hypotheses,
        confidence,
        needs_human_review: confidence < 0.7,
        missing_evidence: missing,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_known_alerts_get_their_class() {
        let mut i = crate::incident::Incident {
            id: String::new(),
            fingerprint: String::new(),
            cluster: String::new(),
            namespace: None,
            object: crate::signal::ObjectRef::new("Alert", "KubePodCrashLooping"),
            detector: "alertmanager".into(),
            reason: "KubePodCrashLooping".into(),
            category: Category::AlertFiring,
            message: String::new(),
            severity: Severity::Warning,
            detector_severity: Severity::Warning,
            status: crate::incident::Status::Open,
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
            announced: false,
            needs_review: false,
        };
        let ctx = Context {
            facts: super::super::context::Facts {
                cluster: String::new(),
                namespace: None,
                object: String::new(),
                category: String::new(),
                reason: String::new(),
                severity: String::new(),
                occurrences: 0,
                first_seen: String::new(),
                last_seen: String::new(),
            },
            evidence: vec![],
            trimmed: vec![],
            receipt: crate::redact::Receipt::new(),
        };
        assert_eq!(analyze(&ctx, &i).category, Category::CrashLoop);
        i.reason = "SomethingCustom".into();
        assert_eq!(analyze(&ctx, &i).category, Category::AlertFiring);
    }

    #[test]
    fn every_category_has_a_rule() {
        for c in Category::ALL {
            assert_eq!(rule(c).category, c, "{c} has no rule");
        }
    }
}
