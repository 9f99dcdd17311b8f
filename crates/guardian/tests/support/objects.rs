//! Non-pod failure shapes: Warning Events, PVCs, Services without ready endpoints, Nodes,
//! failed Jobs, stuck Deployments — and their repairs.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Event, Node, PersistentVolumeClaim, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::{Resource, ResourceExt};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::pods::UNMANAGED_NODE;
use super::{FIELD_MANAGER, NAMESPACE_LABEL, TestNamespace, condition, ts};

/// Who/what a Warning Event is about (`involvedObject`). Build it from a typed object with
/// [`InvolvedObject::of`], or by hand for custom resources.
#[derive(Clone, Debug)]
pub struct InvolvedObject {
    pub api_version: String,
    pub kind: String,
    pub name: String,
    pub uid: String,
    /// e.g. `spec.containers{app}` for container-level pod events.
    pub field_path: Option<String>,
}

impl InvolvedObject {
    /// Reference to a typed object (Pod, Node, PVC, ...).
    pub fn of<K: Resource<DynamicType = ()>>(obj: &K) -> Self {
        InvolvedObject {
            api_version: K::api_version(&()).into_owned(),
            kind: K::kind(&()).into_owned(),
            name: obj.meta().name.clone().unwrap_or_default(),
            uid: obj.meta().uid.clone().unwrap_or_default(),
            field_path: None,
        }
    }

    /// Reference to a custom resource created with [`TestNamespace::create_custom`].
    pub fn of_dynamic(obj: &kube::api::DynamicObject) -> Self {
        let types = obj.types.clone().unwrap_or_default();
        InvolvedObject {
            api_version: types.api_version,
            kind: types.kind,
            name: obj.name_any(),
            uid: obj.uid().unwrap_or_default(),
            field_path: None,
        }
    }

    /// Same reference with `fieldPath` set (e.g. `spec.containers{app}`).
    pub fn with_field_path(mut self, path: &str) -> Self {
        self.field_path = Some(path.into());
        self
    }
}

impl TestNamespace {
    /// Merge-patch the status subresource of a namespaced typed object.
    pub async fn patch_status_of<K>(&self, name: &str, status: Value) -> K
    where
        K: Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
            + Clone
            + DeserializeOwned
            + std::fmt::Debug,
    {
        self.api::<K>()
            .patch_status(
                name,
                &PatchParams::apply(FIELD_MANAGER),
                &Patch::Merge(json!({ "status": status })),
            )
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "patching status of {} {}/{name}: {e}",
                    K::kind(&()),
                    self.name
                )
            })
    }

    async fn create_json<K>(&self, manifest: Value) -> K
    where
        K: Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
            + Clone
            + DeserializeOwned
            + serde::Serialize
            + std::fmt::Debug,
    {
        let obj: K = serde_json::from_value(manifest)
            .unwrap_or_else(|e| panic!("invalid {} manifest: {e}", K::kind(&())));
        self.api::<K>()
            .create(&PostParams::default(), &obj)
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "creating {} {}/{}: {e}",
                    K::kind(&()),
                    self.name,
                    obj.meta().name.as_deref().unwrap_or("")
                )
            })
    }

    // ----------------------------------------------------------------------------- events

    /// A core/v1 Warning Event about `involved`, as a kubelet or controller writes it:
    /// `count`, `firstTimestamp`/`lastTimestamp`, `source`. `eventTime` is deliberately unset
    /// (it switches on the strict events.k8s.io validation). The name is `<object>.<random>`.
    pub async fn warning_event(
        &self,
        involved: &InvolvedObject,
        reason: &str,
        message: &str,
    ) -> Event {
        self.event(involved, "Warning", reason, message, 1).await
    }

    /// A core/v1 Event of any `type_` (`Warning`/`Normal`) with a repeat `count`.
    pub async fn event(
        &self,
        involved: &InvolvedObject,
        type_: &str,
        reason: &str,
        message: &str,
        count: i32,
    ) -> Event {
        let mut obj = json!({
            "apiVersion": involved.api_version,
            "kind": involved.kind,
            "name": involved.name,
            "namespace": self.name,
            "uid": involved.uid,
        });
        if let Some(path) = &involved.field_path {
            obj["fieldPath"] = json!(path);
        }
        let name = format!("{}.{}", involved.name, super::cluster::random_suffix());
        self.create_json(json!({
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": name, "namespace": self.name},
            "involvedObject": obj,
            "type": type_,
            "reason": reason,
            "message": message,
            "count": count,
            "firstTimestamp": ts(-120),
            "lastTimestamp": ts(0),
            "source": {"component": "kubelet", "host": UNMANAGED_NODE},
            "reportingComponent": "kubelet",
            "reportingInstance": UNMANAGED_NODE,
        }))
        .await
    }

    // ----------------------------------------------------------------------------- PVCs

    /// A PVC that stays `Pending` (no provisioner runs), storage class `standard`, 1Gi.
    pub async fn pending_pvc(&self, name: &str) -> PersistentVolumeClaim {
        self.create_json(json!({
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": {"name": name, "namespace": self.name},
            "spec": {
                "accessModes": ["ReadWriteOnce"],
                "storageClassName": "standard",
                "resources": {"requests": {"storage": "1Gi"}},
            },
        }))
        .await
    }

    /// A PVC whose phase is `Lost` (its bound PersistentVolume disappeared).
    pub async fn lost_pvc(&self, name: &str) -> PersistentVolumeClaim {
        self.pending_pvc(name).await;
        self.patch_status_of(name, json!({"phase": "Lost"})).await
    }

    /// Repair: mark the PVC `Bound` with capacity 1Gi.
    pub async fn make_pvc_bound(&self, name: &str) -> PersistentVolumeClaim {
        self.patch_status_of(
            name,
            json!({"phase": "Bound", "accessModes": ["ReadWriteOnce"], "capacity": {"storage": "1Gi"}}),
        )
        .await
    }

    // ----------------------------------------------------------------------------- Services

    /// A ClusterIP Service selecting `app=<name>` on port 80 and its EndpointSlice
    /// (`<name>-abcde`) holding one backend `10.244.1.5` with `ready: false` — "service has no
    /// ready endpoints". The slice uses its own `managed-by` so no controller claims it.
    pub async fn service_without_ready_endpoints(&self, name: &str) -> (Service, EndpointSlice) {
        let svc = self.service(name).await;
        let slice = self
            .endpoint_slice(name, json!([endpoint("10.244.1.5", false)]))
            .await;
        (svc, slice)
    }

    /// A Service selecting `app=<name>` whose EndpointSlice has no endpoints at all.
    pub async fn service_with_empty_endpoints(&self, name: &str) -> (Service, EndpointSlice) {
        let svc = self.service(name).await;
        let slice = self.endpoint_slice(name, json!([])).await;
        (svc, slice)
    }

    /// A ClusterIP Service `name` selecting `app=<name>`, port 80 → 8080. No EndpointSlice.
    pub async fn service(&self, name: &str) -> Service {
        self.create_json(json!({
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": name, "namespace": self.name},
            "spec": {
                "selector": {"app": name},
                "ports": [{"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"}],
            },
        }))
        .await
    }

    /// An EndpointSlice `<service>-abcde` for `service` with the given `endpoints` JSON list
    /// (see [`endpoint`]).
    pub async fn endpoint_slice(&self, service: &str, endpoints: Value) -> EndpointSlice {
        self.create_json(json!({
            "apiVersion": "discovery.k8s.io/v1",
            "kind": "EndpointSlice",
            "metadata": {
                "name": format!("{service}-abcde"),
                "namespace": self.name,
                "labels": {
                    "kubernetes.io/service-name": service,
                    "endpointslice.kubernetes.io/managed-by": "guardian-tests",
                },
            },
            "addressType": "IPv4",
            "endpoints": endpoints,
            "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
        }))
        .await
    }

    /// Repair: make every endpoint of service `name`'s slice ready (one ready backend if the
    /// slice was empty). EndpointSlices have no status subresource; this patches the object.
    pub async fn make_endpoints_ready(&self, service: &str) -> EndpointSlice {
        self.api::<EndpointSlice>()
            .patch(
                &format!("{service}-abcde"),
                &PatchParams::apply(FIELD_MANAGER),
                &Patch::Merge(json!({"endpoints": [endpoint("10.244.1.5", true)]})),
            )
            .await
            .unwrap_or_else(|e| panic!("patching EndpointSlice of {}/{service}: {e}", self.name))
    }

    // ----------------------------------------------------------------------------- Nodes

    /// The cluster-wide Node name used for `name` in this namespace: `<namespace>-<name>`.
    /// Nodes are cluster-scoped and shared by all tests; this keeps names unique.
    pub fn node_name(&self, name: &str) -> String {
        format!("{}-{name}", self.name)
    }

    /// A Node `<namespace>-<name>` (label [`NAMESPACE_LABEL`]) reporting Ready with no pressure.
    pub async fn healthy_node(&self, name: &str) -> Node {
        let full = self.node_name(name);
        let node: Node = serde_json::from_value(json!({
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {"name": full, "labels": {
                NAMESPACE_LABEL: self.name,
                "kubernetes.io/hostname": full,
                "kubernetes.io/os": "linux",
            }},
        }))
        .expect("valid Node");
        Api::<Node>::all(self.client.clone())
            .create(&PostParams::default(), &node)
            .await
            .unwrap_or_else(|e| panic!("creating node {full}: {e}"));
        self.set_node_conditions(name, true, false, false).await
    }

    /// A Node that stopped reporting: `Ready=Unknown` (`NodeStatusUnknown`, "Kubelet stopped
    /// posting node status.") plus the `node.kubernetes.io/unreachable` taint.
    pub async fn not_ready_node(&self, name: &str) -> Node {
        self.healthy_node(name).await;
        let full = self.node_name(name);
        self.patch_node(
            &full,
            json!({"spec": {"taints": [
                {"key": "node.kubernetes.io/unreachable", "effect": "NoSchedule", "timeAdded": ts(-60)},
                {"key": "node.kubernetes.io/unreachable", "effect": "NoExecute", "timeAdded": ts(-60)},
            ]}}),
        )
        .await;
        let mut conds = node_conditions(false, false);
        for c in conds.iter_mut() {
            c["status"] = json!("Unknown");
            c["reason"] = json!("NodeStatusUnknown");
            c["message"] = json!("Kubelet stopped posting node status.");
        }
        self.patch_node_status(&full, json!({"conditions": conds}))
            .await
    }

    /// A Ready Node that is cordoned: `spec.unschedulable = true` plus the
    /// `node.kubernetes.io/unschedulable` taint (what `kubectl cordon` leads to).
    pub async fn cordoned_node(&self, name: &str) -> Node {
        self.healthy_node(name).await;
        self.patch_node(
            &self.node_name(name),
            json!({"spec": {"unschedulable": true, "taints": [
                {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule", "timeAdded": ts(-60)},
            ]}}),
        )
        .await
    }

    /// A Ready Node under memory pressure: `MemoryPressure=True` (`KubeletHasInsufficientMemory`)
    /// plus the `node.kubernetes.io/memory-pressure` taint.
    pub async fn memory_pressure_node(&self, name: &str) -> Node {
        self.healthy_node(name).await;
        self.patch_node(
            &self.node_name(name),
            json!({"spec": {"taints": [
                {"key": "node.kubernetes.io/memory-pressure", "effect": "NoSchedule", "timeAdded": ts(-60)},
            ]}}),
        )
        .await;
        self.set_node_conditions(name, true, true, false).await
    }

    /// Write Ready / MemoryPressure / DiskPressure (PIDPressure and NetworkUnavailable stay
    /// False) on node `<namespace>-<name>`.
    pub async fn set_node_conditions(
        &self,
        name: &str,
        ready: bool,
        memory_pressure: bool,
        disk_pressure: bool,
    ) -> Node {
        let mut conds = node_conditions(memory_pressure, disk_pressure);
        if !ready {
            let last = conds.len() - 1;
            conds[last] = condition(
                "Ready",
                false,
                "KubeletNotReady",
                "container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized",
            );
        }
        self.patch_node_status(&self.node_name(name), json!({
            "conditions": conds,
            "capacity": {"cpu": "4", "memory": "16Gi", "pods": "110"},
            "allocatable": {"cpu": "3800m", "memory": "15Gi", "pods": "110"},
            "addresses": [{"type": "Hostname", "address": self.node_name(name)}],
            "nodeInfo": {
                "kubeletVersion": "v1.36.3", "kubeProxyVersion": "", "containerRuntimeVersion": "containerd://2.1.0",
                "osImage": "Debian GNU/Linux 13", "kernelVersion": "6.12.0", "operatingSystem": "linux",
                "architecture": "amd64", "machineID": "", "systemUUID": "", "bootID": "",
            },
        }))
        .await
    }

    /// Repair: node `<namespace>-<name>` Ready, no pressure, schedulable, no taints.
    pub async fn make_node_ready(&self, name: &str) -> Node {
        let full = self.node_name(name);
        self.patch_node(
            &full,
            json!({"spec": {"unschedulable": null, "taints": null}}),
        )
        .await;
        self.set_node_conditions(name, true, false, false).await
    }

    async fn patch_node(&self, full_name: &str, patch: Value) -> Node {
        Api::<Node>::all(self.client.clone())
            .patch(
                full_name,
                &PatchParams::apply(FIELD_MANAGER),
                &Patch::Merge(patch),
            )
            .await
            .unwrap_or_else(|e| panic!("patching node {full_name}: {e}"))
    }

    async fn patch_node_status(&self, full_name: &str, status: Value) -> Node {
        Api::<Node>::all(self.client.clone())
            .patch_status(
                full_name,
                &PatchParams::apply(FIELD_MANAGER),
                &Patch::Merge(json!({ "status": status })),
            )
            .await
            .unwrap_or_else(|e| panic!("patching status of node {full_name}: {e}"))
    }

    // ----------------------------------------------------------------------------- Jobs

    /// A Job that failed: `backoffLimit: 3`, `failed: 4`, conditions `FailureTarget=True` and
    /// `Failed=True` with reason `BackoffLimitExceeded` (the API server requires the
    /// FailureTarget condition before Failed). No job controller runs, so nothing changes it.
    pub async fn failed_job(&self, name: &str) -> Job {
        self.create_json::<Job>(job_manifest(&self.name, name))
            .await;
        let msg = "Job has reached the specified backoff limit";
        self.patch_status_of(
            name,
            json!({
                "startTime": ts(-600),
                "failed": 4,
                "active": 0,
                "ready": 0,
                "terminating": 0,
                "conditions": [
                    condition("FailureTarget", true, "BackoffLimitExceeded", msg),
                    condition("Failed", true, "BackoffLimitExceeded", msg),
                ],
            }),
        )
        .await
    }

    /// A Job that succeeded (`Complete=True`, after `SuccessCriteriaMet=True`).
    pub async fn complete_job(&self, name: &str) -> Job {
        self.create_json::<Job>(job_manifest(&self.name, name))
            .await;
        let msg = "Reached expected number of succeeded pods";
        self.patch_status_of(
            name,
            json!({
                "startTime": ts(-600),
                "completionTime": ts(-500),
                "succeeded": 1,
                "active": 0,
                "ready": 0,
                "terminating": 0,
                "conditions": [
                    condition("SuccessCriteriaMet", true, "CompletionsReached", msg),
                    condition("Complete", true, "CompletionsReached", msg),
                ],
            }),
        )
        .await
    }

    // ----------------------------------------------------------------------------- Deployments

    /// A Deployment `name` (3 replicas, `app=<name>`) whose rollout timed out:
    /// `Progressing=False` reason `ProgressDeadlineExceeded`, `Available=False`
    /// (`MinimumReplicasUnavailable`), 1 of 3 replicas available.
    pub async fn stuck_deployment(&self, name: &str) -> Deployment {
        self.create_json::<Deployment>(deployment_manifest(&self.name, name))
            .await;
        let rs = format!("{name}-5d8f7c9b6d");
        self.patch_status_of(
            name,
            json!({
                "observedGeneration": 1,
                "replicas": 3,
                "updatedReplicas": 1,
                "readyReplicas": 1,
                "availableReplicas": 1,
                "unavailableReplicas": 2,
                "conditions": [
                    condition("Available", false, "MinimumReplicasUnavailable", "Deployment does not have minimum availability."),
                    condition("Progressing", false, "ProgressDeadlineExceeded", &format!("ReplicaSet \"{rs}\" has timed out progressing.")),
                ],
            }),
        )
        .await
    }

    /// Repair: Deployment fully rolled out and available.
    pub async fn make_deployment_healthy(&self, name: &str) -> Deployment {
        let rs = format!("{name}-5d8f7c9b6d");
        self.patch_status_of(
            name,
            json!({
                "observedGeneration": 1,
                "replicas": 3,
                "updatedReplicas": 3,
                "readyReplicas": 3,
                "availableReplicas": 3,
                "unavailableReplicas": null,
                "conditions": [
                    condition("Available", true, "MinimumReplicasAvailable", "Deployment has minimum availability."),
                    condition("Progressing", true, "NewReplicaSetAvailable", &format!("ReplicaSet \"{rs}\" has successfully progressed.")),
                ],
            }),
        )
        .await
    }
}

/// One EndpointSlice endpoint `{addresses: [ip], conditions: {ready, serving, terminating}}`.
pub fn endpoint(ip: &str, ready: bool) -> Value {
    json!({
        "addresses": [ip],
        "conditions": {"ready": ready, "serving": ready, "terminating": false},
        "nodeName": UNMANAGED_NODE,
    })
}

/// Node conditions with the given pressures, Ready=True last.
fn node_conditions(memory_pressure: bool, disk_pressure: bool) -> Vec<Value> {
    let heartbeat = ts(0);
    let mut conds = vec![
        if memory_pressure {
            condition(
                "MemoryPressure",
                true,
                "KubeletHasInsufficientMemory",
                "kubelet has insufficient memory available",
            )
        } else {
            condition(
                "MemoryPressure",
                false,
                "KubeletHasSufficientMemory",
                "kubelet has sufficient memory available",
            )
        },
        if disk_pressure {
            condition(
                "DiskPressure",
                true,
                "KubeletHasDiskPressure",
                "kubelet has disk pressure",
            )
        } else {
            condition(
                "DiskPressure",
                false,
                "KubeletHasNoDiskPressure",
                "kubelet has no disk pressure",
            )
        },
        condition(
            "PIDPressure",
            false,
            "KubeletHasSufficientPID",
            "kubelet has sufficient PID available",
        ),
        condition(
            "Ready",
            true,
            "KubeletReady",
            "kubelet is posting ready status",
        ),
    ];
    for c in conds.iter_mut() {
        c["lastHeartbeatTime"] = json!(heartbeat);
    }
    conds
}

fn job_manifest(ns: &str, name: &str) -> Value {
    json!({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "namespace": ns},
        "spec": {
            "backoffLimit": 3,
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [{"name": "app", "image": format!("registry.example.invalid/guardian-tests/{name}:1.0")}],
                },
            },
        },
    })
}

fn deployment_manifest(ns: &str, name: &str) -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": ns},
        "spec": {
            "replicas": 3,
            "progressDeadlineSeconds": 600,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "app", "image": format!("registry.example.invalid/guardian-tests/{name}:1.0")}]},
            },
        },
    })
}
