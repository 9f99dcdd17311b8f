//! The rules engine: one fixture per taxonomy category, plus the refinements and grounding.

use guardian_core::analysis::context::{Context, Evidence, EvidenceKind, Facts};
use guardian_core::analysis::grounding::{self, Policy};
use guardian_core::analysis::rules::{self, STRONG, WEAK};
use guardian_core::incident::{Incident, Severity, Status};
use guardian_core::redact::Receipt;
use guardian_core::{Category, ObjectRef};

fn incident(category: Category, kind: &str) -> Incident {
    Incident {
        id: "i".into(),
        fingerprint: "f".into(),
        cluster: "prod".into(),
        namespace: Some("shop".into()),
        object: ObjectRef::new(kind, "api"),
        detector: "pod_scanner".into(),
        reason: "r".into(),
        category,
        message: "m".into(),
        severity: Severity::Warning,
        detector_severity: Severity::Warning,
        status: Status::Open,
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
    }
}

fn context(items: &[(EvidenceKind, &str)]) -> Context {
    let mut evidence = vec![Evidence {
        id: "E1".into(),
        kind: EvidenceKind::Incident,
        source: "detector signal".into(),
        text: "reason=r".into(),
    }];
    for (i, (kind, text)) in items.iter().enumerate() {
        evidence.push(Evidence {
            id: format!("E{}", i + 2),
            kind: *kind,
            source: "fixture".into(),
            text: text.to_string(),
        });
    }
    Context {
        facts: Facts {
            cluster: "prod".into(),
            namespace: Some("shop".into()),
            object: "Deployment/api".into(),
            category: "x".into(),
            reason: "r".into(),
            severity: "warning".into(),
            occurrences: 1,
            first_seen: "t".into(),
            last_seen: "t".into(),
        },
        evidence,
        trimmed: vec![],
        receipt: Receipt::new(),
    }
}

use EvidenceKind::{Container, Event, Log, Node, Owner, Status as St};

/// (category, object kind, the evidence a real incident of that class carries)
type Fixture = (Category, &'static str, Vec<(EvidenceKind, &'static str)>);

fn fixtures() -> Vec<Fixture> {
    vec![
        (
            Category::OomKilled,
            "Deployment",
            vec![(
                Container,
                "lastState: terminated reason=OOMKilled exitCode=137",
            )],
        ),
        (
            Category::CrashLoop,
            "Deployment",
            vec![(
                Container,
                "state: waiting reason=CrashLoopBackOff\nlastState: terminated reason=Error exitCode=1",
            )],
        ),
        (
            Category::ConfigError,
            "Deployment",
            vec![(
                Container,
                "state: waiting reason=CreateContainerConfigError message=\"couldn't find key DB_HOST in ConfigMap shop/api\"",
            )],
        ),
        (
            Category::ImagePullNotFound,
            "Deployment",
            vec![
                (Container, "state: waiting reason=ImagePullBackOff"),
                (Event, "Warning Failed: manifest unknown: not found"),
            ],
        ),
        (
            Category::ImagePullAuth,
            "Deployment",
            vec![(
                Event,
                "Warning Failed: pull access denied, unauthorized: authentication required",
            )],
        ),
        (
            Category::ImagePullOther,
            "Deployment",
            vec![(
                Container,
                "state: waiting reason=ErrImagePull message=\"dial tcp: i/o timeout\"",
            )],
        ),
        (
            Category::ProbeFailure,
            "Deployment",
            vec![(
                Event,
                "Warning Unhealthy: Liveness probe failed: HTTP probe failed with statuscode: 500",
            )],
        ),
        (
            Category::DependencyUnavailable,
            "Deployment",
            vec![(
                Log,
                "ERROR dial tcp 10.0.0.7:5432: connect: connection refused",
            )],
        ),
        (
            Category::DiskFull,
            "Deployment",
            vec![(Log, "FATAL could not write: No space left on device")],
        ),
        (
            Category::UnschedulableResources,
            "Deployment",
            vec![(
                St,
                "phase=Pending conditions: PodScheduled=False reason=Unschedulable message=\"0/3 nodes are available: 3 Insufficient memory\"",
            )],
        ),
        (
            Category::UnschedulableConstraints,
            "Deployment",
            vec![(
                St,
                "phase=Pending conditions: PodScheduled=False reason=Unschedulable message=\"node(s) didn't match Pod's node affinity/selector\"",
            )],
        ),
        (
            Category::VolumeBinding,
            "PersistentVolumeClaim",
            vec![
                (St, "phase=Pending storageClass=fast"),
                (
                    Event,
                    "Warning ProvisioningFailed: storageclass fast not found",
                ),
            ],
        ),
        (
            Category::VolumeMount,
            "Deployment",
            vec![(Event, "Warning FailedMount: MountVolume.SetUp failed")],
        ),
        (
            Category::VolumeLost,
            "PersistentVolumeClaim",
            vec![(St, "phase=Lost storageClass=fast")],
        ),
        (
            Category::CertificateNotReady,
            "Certificate",
            vec![(
                St,
                "conditions: Ready=False reason=Failed message=\"issuer not found\"",
            )],
        ),
        (
            Category::CertificateExpiring,
            "Certificate",
            vec![(
                St,
                "notAfter=2026-12-05T00:00:00Z renewalTime=2026-11-01T00:00:00Z; conditions: Ready=False",
            )],
        ),
        (
            Category::ServiceNoEndpoints,
            "Service",
            vec![(St, "selector=app=api readyEndpoints=0 matchingPods=3")],
        ),
        (
            Category::RolloutStuck,
            "Deployment",
            vec![(
                Owner,
                "conditions: Progressing=False reason=ProgressDeadlineExceeded",
            )],
        ),
        (
            Category::FluxSourceError,
            "GitRepository",
            vec![(
                St,
                "conditions: Ready=False reason=GitOperationFailed message=\"authentication required\"",
            )],
        ),
        (
            Category::FluxBuildError,
            "Kustomization",
            vec![(
                St,
                "conditions: Ready=False reason=BuildFailed; Stalled=True reason=BuildFailed",
            )],
        ),
        (
            Category::FluxDependencyNotReady,
            "Kustomization",
            vec![(St, "conditions: Ready=False reason=DependencyNotReady")],
        ),
        (
            Category::HelmReleaseFailed,
            "HelmRelease",
            vec![(St, "conditions: Ready=False reason=UpgradeFailed")],
        ),
        (
            Category::NodeNotReady,
            "Node",
            vec![(
                St,
                "conditions: Ready=Unknown reason=NodeStatusUnknown message=\"Kubelet stopped posting node status.\"",
            )],
        ),
        (
            Category::NodePressure,
            "Node",
            vec![(
                St,
                "conditions: MemoryPressure=True reason=KubeletHasInsufficientMemory",
            )],
        ),
        (
            Category::NodeCordoned,
            "Node",
            vec![(
                St,
                "unschedulable=true taints=[node.kubernetes.io/unschedulable:NoSchedule]",
            )],
        ),
        (
            Category::PodEvicted,
            "Deployment",
            vec![(
                St,
                "phase=Failed reason=Evicted message=\"The node was low on resource: memory.\"",
            )],
        ),
        (
            Category::JobFailed,
            "CronJob",
            vec![(
                St,
                "active=0 failed=6 succeeded=0; conditions: Failed=True reason=BackoffLimitExceeded",
            )],
        ),
        (
            Category::HpaAtMax,
            "HorizontalPodAutoscaler",
            vec![(
                St,
                "current=10 desired=10 max=10; conditions: ScalingLimited=True reason=TooManyReplicas",
            )],
        ),
        (
            Category::QuotaExceeded,
            "Deployment",
            vec![(
                Event,
                "Warning FailedCreate: pods \"api-1\" is forbidden: exceeded quota: compute",
            )],
        ),
        (Category::AlertFiring, "Alert", vec![]),
        (Category::Unknown, "Deployment", vec![]),
    ]
}

#[test]
fn every_category_fixture_gets_its_category() {
    let all = fixtures();
    assert_eq!(all.len(), Category::ALL.len(), "one fixture per category");
    for (category, kind, items) in all {
        let ctx = context(&items);
        let answer = rules::analyze(&ctx, &incident(category, kind));
        assert_eq!(answer.category, category, "{category}");
        assert!(
            answer.check().is_empty(),
            "{category}: {:?}",
            answer.check()
        );
        assert!(!answer.recommended_actions.is_empty(), "{category}");
        let top = &answer.hypotheses[0];
        assert!(
            top.evidence.iter().all(|id| ctx.get(id).is_some()),
            "{category} cites unknown ids"
        );
        if items
            .iter()
            .any(|(k, _)| matches!(k, Container | St | Owner | Node))
        {
            assert_eq!(
                top.confidence, STRONG,
                "{category}: structured evidence is strong"
            );
            assert!(!answer.needs_human_review, "{category}");
        }
    }
}

#[test]
fn no_evidence_means_low_confidence_and_review() {
    let answer = rules::analyze(&context(&[]), &incident(Category::CrashLoop, "Deployment"));
    assert_eq!(answer.confidence, WEAK);
    assert!(answer.needs_human_review);
    assert!(answer.missing_evidence.iter().any(|m| m.contains("logs")));
}

#[test]
fn an_oom_kill_in_the_last_state_explains_a_crash_loop() {
    let ctx = context(&[(
        Container,
        "state: waiting reason=CrashLoopBackOff\nlastState: terminated reason=OOMKilled exitCode=137",
    )]);
    let answer = rules::analyze(&ctx, &incident(Category::CrashLoop, "Deployment"));
    assert_eq!(answer.category, Category::OomKilled);
}

#[test]
fn logs_add_dependency_and_disk_hypotheses_to_a_crash_loop() {
    let ctx = context(&[
        (Container, "state: waiting reason=CrashLoopBackOff"),
        (
            Log,
            "ERROR upstream orders.shop.svc:8080: connection refused",
        ),
        (Log, "open /data/wal: no space left on device"),
    ]);
    let answer = rules::analyze(&ctx, &incident(Category::CrashLoop, "Deployment"));
    let categories: Vec<Category> = answer.hypotheses.iter().map(|h| h.category).collect();
    assert_eq!(categories[0], Category::CrashLoop);
    assert!(
        categories.contains(&Category::DependencyUnavailable),
        "{categories:?}"
    );
    assert!(categories.contains(&Category::DiskFull), "{categories:?}");
    let disk = answer
        .hypotheses
        .iter()
        .find(|h| h.category == Category::DiskFull)
        .unwrap();
    assert_eq!(disk.evidence, ["E4"]);
}

#[test]
fn commands_are_filled_in_and_risk_rated() {
    let ctx = context(&[(Owner, "Progressing=False reason=ProgressDeadlineExceeded")]);
    let answer = rules::analyze(&ctx, &incident(Category::RolloutStuck, "Deployment"));
    let undo = answer
        .recommended_actions
        .iter()
        .find(|a| {
            a.command
                .as_deref()
                .is_some_and(|c| c.contains("rollout undo"))
        })
        .unwrap();
    assert_eq!(
        undo.command.as_deref(),
        Some("kubectl -n shop rollout undo deployment/api")
    );
    assert_eq!(undo.risk, guardian_core::analysis::Risk::High);
    let status = &answer.recommended_actions[0];
    assert_eq!(status.risk, guardian_core::analysis::Risk::ReadOnly);
}

#[test]
fn rules_answers_survive_grounding_unchanged_in_substance() {
    for (category, kind, items) in fixtures() {
        let ctx = context(&items);
        let answer = rules::analyze(&ctx, &incident(category, kind));
        let (grounded, report) = grounding::ground(
            answer.clone(),
            &ctx,
            Severity::Warning,
            &Policy::default(),
            false,
        );
        assert!(report.unknown_citations.is_empty(), "{category}");
        assert_eq!(grounded.category, answer.category);
        assert_eq!(
            grounded.hypotheses[0].confidence, answer.hypotheses[0].confidence,
            "{category}"
        );
    }
}
