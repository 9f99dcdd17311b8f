//! Minimal serde views of the Kubernetes objects the detectors read.
//!
//! Only the fields a detector looks at are declared; everything else in the object is ignored,
//! so these structs deserialize the output of `kubectl get -o yaml|json`, a reflector's cached
//! object (serialised to `serde_json::Value`) or a `DynamicObject` alike. Every field has a
//! default: a missing or malformed field must never make a whole object disappear, since an
//! object we cannot read would look healthy.
//!
//! NB: `guardian-core` must not depend on `k8s-openapi`/`kube`, which is why these exist at
//! all; they follow the upstream field names (camelCase) exactly.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};

use crate::time::{Millis, parse_rfc3339};

/// Deserializes an RFC 3339 timestamp into Unix milliseconds; anything unparsable is `None`
/// (a bad timestamp must not drop the object).
fn timestamp<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Millis>, D::Error> {
    let value = Option::<serde_json::Value>::deserialize(deserializer)?;
    Ok(value
        .as_ref()
        .and_then(|v| v.as_str())
        .and_then(parse_rfc3339))
}

/// Deserializes a string-or-null, `null` becoming the empty string.
fn nullable_string<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    let value = Option::<serde_json::Value>::deserialize(deserializer)?;
    Ok(match value {
        Some(serde_json::Value::String(s)) => s,
        Some(serde_json::Value::Number(n)) => n.to_string(),
        Some(serde_json::Value::Bool(b)) => b.to_string(),
        _ => String::new(),
    })
}

/// Deserializes an integer that may be absent, null, or (in hand-written YAML) a string.
fn lenient_i64<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
    let value = Option::<serde_json::Value>::deserialize(deserializer)?;
    Ok(match value {
        Some(serde_json::Value::Number(n)) => n.as_i64(),
        Some(serde_json::Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    })
}

/// Deserializes a string map, dropping non-string values instead of failing.
fn string_map<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<BTreeMap<String, String>, D::Error> {
    let value = Option::<serde_json::Value>::deserialize(deserializer)?;
    let mut out = BTreeMap::new();
    if let Some(serde_json::Value::Object(map)) = value {
        for (k, v) in map {
            match v {
                serde_json::Value::String(s) => {
                    out.insert(k, s);
                }
                serde_json::Value::Number(n) => {
                    out.insert(k, n.to_string());
                }
                serde_json::Value::Bool(b) => {
                    out.insert(k, b.to_string());
                }
                _ => {}
            }
        }
    }
    Ok(out)
}

/// `metadata` of any object.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Meta {
    /// Object name.
    #[serde(deserialize_with = "nullable_string")]
    pub name: String,
    /// Namespace; `None` for cluster-scoped objects.
    pub namespace: Option<String>,
    /// UID.
    pub uid: Option<String>,
    /// Labels (selectors, `pod-template-hash`, `kubernetes.io/service-name`).
    #[serde(deserialize_with = "string_map")]
    pub labels: BTreeMap<String, String>,
    /// Annotations (e.g. `volume.kubernetes.io/selected-node`).
    #[serde(deserialize_with = "string_map")]
    pub annotations: BTreeMap<String, String>,
    /// Owners, for the top-owner walk.
    pub owner_references: Vec<OwnerReference>,
    /// Creation time.
    #[serde(deserialize_with = "timestamp")]
    pub creation_timestamp: Option<Millis>,
    /// Set while the object is being deleted; terminating objects are not diagnosed.
    #[serde(deserialize_with = "timestamp")]
    pub deletion_timestamp: Option<Millis>,
}

impl Meta {
    /// The namespace, or `""` for cluster-scoped objects.
    pub fn ns(&self) -> &str {
        self.namespace.as_deref().unwrap_or("")
    }
}

/// One `metadata.ownerReferences` entry.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct OwnerReference {
    /// Owner kind.
    #[serde(deserialize_with = "nullable_string")]
    pub kind: String,
    /// Owner name (same namespace as the owned object).
    #[serde(deserialize_with = "nullable_string")]
    pub name: String,
    /// Whether this owner is the managing controller; preferred when several owners exist.
    pub controller: Option<bool>,
}

/// A status condition (`type`, `status`, `reason`, `message`, transition time).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Condition {
    /// Condition type (`Ready`, `Stalled`, `Progressing`, …).
    #[serde(rename = "type", deserialize_with = "nullable_string")]
    pub type_: String,
    /// `True`, `False` or `Unknown`.
    #[serde(deserialize_with = "nullable_string")]
    pub status: String,
    /// Machine reason.
    #[serde(deserialize_with = "nullable_string")]
    pub reason: String,
    /// Human message.
    #[serde(deserialize_with = "nullable_string")]
    pub message: String,
    /// When `status` last changed: the start of the current state, which is what graces are
    /// measured from.
    #[serde(deserialize_with = "timestamp")]
    pub last_transition_time: Option<Millis>,
    /// Last update (Deployments); a fallback when the transition time is missing.
    #[serde(deserialize_with = "timestamp")]
    pub last_update_time: Option<Millis>,
}

impl Condition {
    /// The start of the current state: the transition time, else the last update.
    pub fn since(&self) -> Option<Millis> {
        self.last_transition_time.or(self.last_update_time)
    }

    /// Whether `status` is `True`.
    pub fn is_true(&self) -> bool {
        self.status.eq_ignore_ascii_case("true")
    }

    /// Whether `status` is `False`.
    pub fn is_false(&self) -> bool {
        self.status.eq_ignore_ascii_case("false")
    }
}

/// Finds a condition by type.
pub fn condition<'a>(conditions: &'a [Condition], type_: &str) -> Option<&'a Condition> {
    conditions.iter().find(|c| c.type_ == type_)
}

// --- Pods -----------------------------------------------------------------------------------

/// A Pod.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Pod {
    /// Metadata.
    pub metadata: Meta,
    /// Spec.
    pub spec: PodSpec,
    /// Status.
    pub status: PodStatus,
}

/// `Pod.spec`, the parts we read.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PodSpec {
    /// Node the pod is bound to.
    pub node_name: Option<String>,
    /// Containers (probe budgets).
    pub containers: Vec<ContainerSpec>,
    /// Init containers.
    pub init_containers: Vec<ContainerSpec>,
    /// Volumes (which PVCs a pod uses).
    pub volumes: Vec<Volume>,
}

/// A container's spec, the parts we read.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ContainerSpec {
    /// Container name.
    #[serde(deserialize_with = "nullable_string")]
    pub name: String,
    /// Image reference.
    pub image: Option<String>,
    /// Startup probe.
    pub startup_probe: Option<Probe>,
    /// Liveness probe.
    pub liveness_probe: Option<Probe>,
    /// Readiness probe.
    pub readiness_probe: Option<Probe>,
}

/// A probe's timing (the handler is irrelevant to detection).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Probe {
    /// Seconds before the first probe (default 0).
    #[serde(deserialize_with = "lenient_i64")]
    pub initial_delay_seconds: Option<i64>,
    /// Seconds between probes (default 10).
    #[serde(deserialize_with = "lenient_i64")]
    pub period_seconds: Option<i64>,
    /// Failures before the probe counts as failed (default 3).
    #[serde(deserialize_with = "lenient_i64")]
    pub failure_threshold: Option<i64>,
}

impl Probe {
    /// Seconds a probe may legitimately fail before Kubernetes acts on it:
    /// `initialDelaySeconds + failureThreshold × periodSeconds` with the API defaults.
    pub fn budget_secs(&self) -> i64 {
        let delay = self.initial_delay_seconds.unwrap_or(0).max(0);
        let period = self.period_seconds.unwrap_or(10).max(1);
        let threshold = self.failure_threshold.unwrap_or(3).max(1);
        delay.saturating_add(threshold.saturating_mul(period))
    }
}

/// A pod volume; only PVC references matter.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Volume {
    /// Volume name.
    #[serde(deserialize_with = "nullable_string")]
    pub name: String,
    /// PVC source, if any.
    pub persistent_volume_claim: Option<PvcSource>,
}

/// `volumes[].persistentVolumeClaim`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PvcSource {
    /// Claim name.
    #[serde(deserialize_with = "nullable_string")]
    pub claim_name: String,
}

/// `Pod.status`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PodStatus {
    /// `Pending`, `Running`, `Succeeded`, `Failed`, `Unknown`.
    #[serde(deserialize_with = "nullable_string")]
    pub phase: String,
    /// Pod-level reason (`Evicted`, `NodeLost`, …).
    #[serde(deserialize_with = "nullable_string")]
    pub reason: String,
    /// Pod-level message.
    #[serde(deserialize_with = "nullable_string")]
    pub message: String,
    /// When the kubelet accepted the pod.
    #[serde(deserialize_with = "timestamp")]
    pub start_time: Option<Millis>,
    /// Conditions (`PodScheduled`, `Ready`, `ContainersReady`, …).
    pub conditions: Vec<Condition>,
    /// Regular containers.
    pub container_statuses: Vec<ContainerStatus>,
    /// Init containers.
    pub init_container_statuses: Vec<ContainerStatus>,
}

/// One container's status.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ContainerStatus {
    /// Container name.
    #[serde(deserialize_with = "nullable_string")]
    pub name: String,
    /// Readiness as the kubelet reports it.
    pub ready: bool,
    /// Restarts so far.
    #[serde(deserialize_with = "lenient_i64")]
    pub restart_count: Option<i64>,
    /// Image reference.
    pub image: Option<String>,
    /// Current state.
    pub state: ContainerState,
    /// Previous termination (where an OOM kill hides once the container restarted).
    pub last_state: ContainerState,
}

/// A container state: exactly one of the three is normally set.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ContainerState {
    /// Waiting (`CrashLoopBackOff`, `ImagePullBackOff`, …).
    pub waiting: Option<StateWaiting>,
    /// Running.
    pub running: Option<StateRunning>,
    /// Terminated.
    pub terminated: Option<StateTerminated>,
}

/// `state.waiting`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct StateWaiting {
    /// Reason.
    #[serde(deserialize_with = "nullable_string")]
    pub reason: String,
    /// Message.
    #[serde(deserialize_with = "nullable_string")]
    pub message: String,
}

/// `state.running`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct StateRunning {
    /// Start of the current run.
    #[serde(deserialize_with = "timestamp")]
    pub started_at: Option<Millis>,
}

/// `state.terminated`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct StateTerminated {
    /// Reason (`OOMKilled`, `Error`, `Completed`).
    #[serde(deserialize_with = "nullable_string")]
    pub reason: String,
    /// Message.
    #[serde(deserialize_with = "nullable_string")]
    pub message: String,
    /// Exit code.
    #[serde(deserialize_with = "lenient_i64")]
    pub exit_code: Option<i64>,
    /// Start of the run that ended.
    #[serde(deserialize_with = "timestamp")]
    pub started_at: Option<Millis>,
    /// End of the run.
    #[serde(deserialize_with = "timestamp")]
    pub finished_at: Option<Millis>,
}

// --- Events ---------------------------------------------------------------------------------

/// An event, normalised from either `v1 Event` or `events.k8s.io/v1 Event`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Metadata of the event object itself.
    pub metadata: Meta,
    /// The object the event is about.
    pub involved: InvolvedObject,
    /// `Warning` or `Normal`.
    pub type_: String,
    /// Machine reason (`BackOff`, `FailedScheduling`, …).
    pub reason: String,
    /// Message (`note` in events.k8s.io/v1).
    pub message: String,
    /// First occurrence.
    pub first_seen: Option<Millis>,
    /// Latest occurrence.
    pub last_seen: Option<Millis>,
    /// How many times it occurred (≥ 1).
    pub count: i64,
}

/// `involvedObject` / `regarding`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct InvolvedObject {
    /// Kind.
    #[serde(deserialize_with = "nullable_string")]
    pub kind: String,
    /// Name.
    #[serde(deserialize_with = "nullable_string")]
    pub name: String,
    /// Namespace (empty for cluster-scoped objects).
    pub namespace: Option<String>,
    /// Field path, e.g. `spec.containers{api}`.
    pub field_path: Option<String>,
}

/// The wire shape of both event APIs; [`Event::from_wire`] normalises it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct WireEvent {
    metadata: Meta,
    involved_object: Option<InvolvedObject>,
    regarding: Option<InvolvedObject>,
    #[serde(rename = "type", deserialize_with = "nullable_string")]
    type_: String,
    #[serde(deserialize_with = "nullable_string")]
    reason: String,
    #[serde(deserialize_with = "nullable_string")]
    message: String,
    #[serde(deserialize_with = "nullable_string")]
    note: String,
    #[serde(deserialize_with = "timestamp")]
    first_timestamp: Option<Millis>,
    #[serde(deserialize_with = "timestamp")]
    last_timestamp: Option<Millis>,
    #[serde(deserialize_with = "timestamp")]
    deprecated_first_timestamp: Option<Millis>,
    #[serde(deserialize_with = "timestamp")]
    deprecated_last_timestamp: Option<Millis>,
    #[serde(deserialize_with = "timestamp")]
    event_time: Option<Millis>,
    series: Option<WireSeries>,
    #[serde(deserialize_with = "lenient_i64")]
    count: Option<i64>,
    #[serde(deserialize_with = "lenient_i64")]
    deprecated_count: Option<i64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct WireSeries {
    #[serde(deserialize_with = "lenient_i64")]
    count: Option<i64>,
    #[serde(deserialize_with = "timestamp")]
    last_observed_time: Option<Millis>,
}

impl Event {
    /// Normalises the wire shape. Time precedence follows what each API actually fills:
    /// legacy `firstTimestamp/lastTimestamp`, then `eventTime` + `series.lastObservedTime`
    /// (new-style recorders leave the legacy ones null), then the object's creation time.
    pub(crate) fn from_wire(w: WireEvent) -> Event {
        let series_last = w.series.as_ref().and_then(|s| s.last_observed_time);
        let series_count = w.series.as_ref().and_then(|s| s.count);
        let created = w.metadata.creation_timestamp;
        let first = w
            .first_timestamp
            .or(w.deprecated_first_timestamp)
            .or(w.event_time)
            .or(created);
        let last = w
            .last_timestamp
            .or(w.deprecated_last_timestamp)
            .or(series_last)
            .or(w.event_time)
            .or(first);
        let message = if w.message.is_empty() {
            w.note
        } else {
            w.message
        };
        Event {
            involved: w.involved_object.or(w.regarding).unwrap_or_default(),
            type_: w.type_,
            reason: w.reason,
            message,
            first_seen: first,
            last_seen: last,
            count: w
                .count
                .or(w.deprecated_count)
                .or(series_count)
                .unwrap_or(1)
                .max(1),
            metadata: w.metadata,
        }
    }

    /// Namespace of the involved object (falling back to the event's own).
    pub fn namespace(&self) -> Option<&str> {
        self.involved
            .namespace
            .as_deref()
            .filter(|n| !n.is_empty())
            .or(self.metadata.namespace.as_deref().filter(|n| !n.is_empty()))
    }
}

// --- Workloads ------------------------------------------------------------------------------

/// A ReplicaSet, Deployment, StatefulSet or DaemonSet: their status fields overlap enough to
/// share one view.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Workload {
    /// Metadata.
    pub metadata: Meta,
    /// Spec.
    pub spec: WorkloadSpec,
    /// Status.
    pub status: WorkloadStatus,
}

/// Workload spec, the parts we read.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct WorkloadSpec {
    /// Desired replicas (`None` = the API default of 1; DaemonSets have none).
    #[serde(deserialize_with = "lenient_i64")]
    pub replicas: Option<i64>,
    /// A paused Deployment does not progress on purpose.
    pub paused: bool,
    /// Pod template (its labels, to recognise a Service's workload).
    pub template: PodTemplate,
}

/// `spec.template`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PodTemplate {
    /// Template metadata.
    pub metadata: Meta,
}

/// Workload status, the union of the fields we read.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct WorkloadStatus {
    /// Ready replicas.
    #[serde(deserialize_with = "lenient_i64")]
    pub ready_replicas: Option<i64>,
    /// Available replicas.
    #[serde(deserialize_with = "lenient_i64")]
    pub available_replicas: Option<i64>,
    /// DaemonSet: nodes that should run the pod.
    #[serde(deserialize_with = "lenient_i64")]
    pub desired_number_scheduled: Option<i64>,
    /// DaemonSet: available pods.
    #[serde(deserialize_with = "lenient_i64")]
    pub number_available: Option<i64>,
    /// Conditions (`Progressing`, `Available`, `ReplicaFailure`).
    pub conditions: Vec<Condition>,
}

/// A Job.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Job {
    /// Metadata.
    pub metadata: Meta,
    /// Status.
    pub status: JobStatus,
}

/// `Job.status`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct JobStatus {
    /// Conditions (`Complete`, `Failed`, `FailureTarget`, …).
    pub conditions: Vec<Condition>,
    /// Pods still running.
    #[serde(deserialize_with = "lenient_i64")]
    pub active: Option<i64>,
    /// Failed pods.
    #[serde(deserialize_with = "lenient_i64")]
    pub failed: Option<i64>,
    /// Succeeded pods.
    #[serde(deserialize_with = "lenient_i64")]
    pub succeeded: Option<i64>,
    /// When the Job started.
    #[serde(deserialize_with = "timestamp")]
    pub start_time: Option<Millis>,
}

/// A CronJob (only its identity matters: it is a top owner).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CronJob {
    /// Metadata.
    pub metadata: Meta,
}

// --- Storage --------------------------------------------------------------------------------

/// A PersistentVolumeClaim.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Pvc {
    /// Metadata.
    pub metadata: Meta,
    /// Spec.
    pub spec: PvcSpec,
    /// Status.
    pub status: PvcStatus,
}

/// `PersistentVolumeClaim.spec`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PvcSpec {
    /// Storage class.
    pub storage_class_name: Option<String>,
}

/// `PersistentVolumeClaim.status`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PvcStatus {
    /// `Pending`, `Bound` or `Lost`.
    #[serde(deserialize_with = "nullable_string")]
    pub phase: String,
}

/// A StorageClass (its binding mode explains legitimate Pending claims).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct StorageClass {
    /// Metadata.
    pub metadata: Meta,
    /// `Immediate` or `WaitForFirstConsumer`.
    pub volume_binding_mode: Option<String>,
}

// --- cert-manager ---------------------------------------------------------------------------

/// A cert-manager Certificate.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Certificate {
    /// Metadata.
    pub metadata: Meta,
    /// Status.
    pub status: CertificateStatus,
}

/// `Certificate.status`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CertificateStatus {
    /// Conditions (`Ready`, `Issuing`).
    pub conditions: Vec<Condition>,
    /// Expiry of the current certificate.
    #[serde(deserialize_with = "timestamp")]
    pub not_after: Option<Millis>,
    /// When cert-manager intends to renew.
    #[serde(deserialize_with = "timestamp")]
    pub renewal_time: Option<Millis>,
    /// Last failed issuance.
    #[serde(deserialize_with = "timestamp")]
    pub last_failure_time: Option<Millis>,
    /// Consecutive failed issuances.
    #[serde(deserialize_with = "lenient_i64")]
    pub failed_issuance_attempts: Option<i64>,
}

// --- Services -------------------------------------------------------------------------------

/// A Service.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Service {
    /// Metadata.
    pub metadata: Meta,
    /// Spec.
    pub spec: ServiceSpec,
}

/// `Service.spec`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ServiceSpec {
    /// Pod selector; empty = endpoints managed by hand (not diagnosed).
    #[serde(deserialize_with = "string_map")]
    pub selector: BTreeMap<String, String>,
    /// `ClusterIP`, `NodePort`, `LoadBalancer`, `ExternalName`.
    #[serde(rename = "type")]
    pub type_: Option<String>,
}

/// A `discovery.k8s.io/v1` EndpointSlice.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EndpointSlice {
    /// Metadata (label `kubernetes.io/service-name` names the Service).
    pub metadata: Meta,
    /// Endpoints.
    pub endpoints: Vec<SliceEndpoint>,
}

/// One endpoint of a slice.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SliceEndpoint {
    /// Conditions.
    pub conditions: EndpointConditions,
}

/// `endpoints[].conditions`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EndpointConditions {
    /// Ready; the API says a missing value means ready.
    pub ready: Option<bool>,
}

/// A legacy `v1 Endpoints` (used only when no EndpointSlice names the Service).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Endpoints {
    /// Metadata (same name as the Service).
    pub metadata: Meta,
    /// Subsets.
    pub subsets: Vec<EndpointSubset>,
}

/// `subsets[]`; only whether ready addresses exist matters.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EndpointSubset {
    /// Ready addresses.
    pub addresses: Vec<serde_json::Value>,
}

// --- Nodes ----------------------------------------------------------------------------------

/// A Node.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Node {
    /// Metadata.
    pub metadata: Meta,
    /// Spec.
    pub spec: NodeSpec,
    /// Status.
    pub status: NodeStatus,
}

/// `Node.spec`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct NodeSpec {
    /// Cordoned.
    pub unschedulable: bool,
    /// Taints (the cordon taint carries `timeAdded`).
    pub taints: Vec<Taint>,
}

/// A node taint.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Taint {
    /// Key.
    #[serde(deserialize_with = "nullable_string")]
    pub key: String,
    /// Effect.
    #[serde(deserialize_with = "nullable_string")]
    pub effect: String,
    /// When the taint was added.
    #[serde(deserialize_with = "timestamp")]
    pub time_added: Option<Millis>,
}

/// `Node.status`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct NodeStatus {
    /// Conditions (`Ready`, `MemoryPressure`, `DiskPressure`, `PIDPressure`).
    pub conditions: Vec<Condition>,
}

// --- Autoscaling ----------------------------------------------------------------------------

/// An `autoscaling/v2` HorizontalPodAutoscaler.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Hpa {
    /// Metadata.
    pub metadata: Meta,
    /// Spec.
    pub spec: HpaSpec,
    /// Status.
    pub status: HpaStatus,
}

/// `HorizontalPodAutoscaler.spec`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct HpaSpec {
    /// Ceiling.
    #[serde(deserialize_with = "lenient_i64")]
    pub max_replicas: Option<i64>,
}

/// `HorizontalPodAutoscaler.status`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct HpaStatus {
    /// Current replicas.
    #[serde(deserialize_with = "lenient_i64")]
    pub current_replicas: Option<i64>,
    /// Desired replicas.
    #[serde(deserialize_with = "lenient_i64")]
    pub desired_replicas: Option<i64>,
    /// Conditions (`ScalingLimited`).
    pub conditions: Vec<Condition>,
}

// --- Flux -----------------------------------------------------------------------------------

/// Any Flux object (Kustomization, HelmRelease, GitRepository, HelmRepository,
/// OCIRepository, Bucket, HelmChart): they all follow kstatus.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FluxObject {
    /// Kind (kept because one struct serves all Flux kinds).
    #[serde(deserialize_with = "nullable_string")]
    pub kind: String,
    /// Metadata.
    pub metadata: Meta,
    /// Spec.
    pub spec: FluxSpec,
    /// Status.
    pub status: FluxStatus,
}

/// Flux `spec`, the parts we read.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FluxSpec {
    /// Suspended objects are not reconciled on purpose.
    pub suspend: bool,
}

/// Flux `status`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FluxStatus {
    /// Conditions (`Ready`, `Stalled`, `Reconciling`).
    pub conditions: Vec<Condition>,
}
