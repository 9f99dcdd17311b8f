//! Pod failure shapes: CrashLoopBackOff, OOMKilled, image pull errors, config errors,
//! unschedulable — and the repair back to Running/Ready.
//!
//! Pods are created bound to [`UNMANAGED_NODE`] (no kubelet, so nobody overwrites the status we
//! write) with one container named `app`. Status is then written to the `status` subresource.

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Patch, PatchParams, PostParams};
use serde_json::{Value, json};

use super::{FIELD_MANAGER, TestNamespace, condition, ts};

/// Node name pods are bound to. No Node object of that name exists and no kubelet manages it.
pub const UNMANAGED_NODE: &str = "guardian-test-unmanaged-node";

/// Name of the single container in pods made by [`TestNamespace::pod_manifest`].
pub const CONTAINER: &str = "app";

/// What the `app` container's status should say. Used with
/// [`TestNamespace::set_container_shape`]; the named helpers (`crashloop_pod`, ...) are shortcuts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ContainerShape {
    /// Running and ready, `restarts` earlier restarts (no `lastState`).
    Running { restarts: i32 },
    /// `state.waiting = CrashLoopBackOff`; `lastState.terminated` with `last_reason`
    /// (`"Error"`, `"OOMKilled"`, ...) and `exit_code`.
    CrashLoop {
        last_reason: String,
        exit_code: i32,
        restarts: i32,
    },
    /// Running again after being OOM-killed: `state.running`, `lastState.terminated.reason =
    /// OOMKilled`, exit code 137.
    RunningAfterOomKill { restarts: i32 },
    /// Never started: `state.waiting {reason, message}` in a `Pending` pod (image pull errors,
    /// `CreateContainerConfigError`, `ContainerCreating`, ...).
    Waiting { reason: String, message: String },
}

impl ContainerShape {
    /// CrashLoopBackOff after exit code 1 (`Error`), 7 restarts.
    pub fn crash_loop() -> Self {
        ContainerShape::CrashLoop {
            last_reason: "Error".into(),
            exit_code: 1,
            restarts: 7,
        }
    }

    /// CrashLoopBackOff after an OOM kill (exit 137), 5 restarts.
    pub fn oom_crash_loop() -> Self {
        ContainerShape::CrashLoop {
            last_reason: "OOMKilled".into(),
            exit_code: 137,
            restarts: 5,
        }
    }
}

fn image_for(name: &str) -> String {
    format!("registry.example.invalid/guardian-tests/{name}:1.0")
}

fn fake_hex(seed: &str, len: usize) -> String {
    // Deterministic, hex-looking ids (container IDs, image digests) without a hashing crate.
    let mut out = String::with_capacity(len);
    let mut x: u64 = 0xcbf2_9ce4_8422_2325;
    while out.len() < len {
        for b in seed.bytes() {
            x ^= u64::from(b);
            x = x.wrapping_mul(0x0100_0000_01b3);
        }
        out.push_str(&format!("{x:016x}"));
    }
    out.truncate(len);
    out
}

impl TestNamespace {
    /// A Pod manifest (not created): label `app=<name>`, one container `app`, bound to
    /// [`UNMANAGED_NODE`]. Customise it (owner references, labels, more containers) and pass it
    /// to [`create_pod_from`](Self::create_pod_from).
    pub fn pod_manifest(&self, name: &str) -> Pod {
        serde_json::from_value(json!({
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name, "namespace": self.name, "labels": {"app": name}},
            "spec": {
                "nodeName": UNMANAGED_NODE,
                "containers": [{
                    "name": CONTAINER,
                    "image": image_for(name),
                    "resources": {"limits": {"memory": "128Mi"}, "requests": {"cpu": "10m", "memory": "64Mi"}},
                }],
            },
        }))
        .expect("valid Pod")
    }

    /// Create `pod` as is. The API server gives it `phase: Pending` and no container statuses.
    pub async fn create_pod_from(&self, pod: &Pod) -> Pod {
        let name = pod.metadata.name.clone().unwrap_or_default();
        self.api::<Pod>()
            .create(&PostParams::default(), pod)
            .await
            .unwrap_or_else(|e| panic!("creating pod {}/{name}: {e}", self.name))
    }

    /// Create [`pod_manifest(name)`](Self::pod_manifest) without touching its status.
    pub async fn create_pod(&self, name: &str) -> Pod {
        self.create_pod_from(&self.pod_manifest(name)).await
    }

    /// Merge-patch the pod's **status subresource** with `status` (the value of `.status`).
    /// Lists (`conditions`, `containerStatuses`) are replaced as a whole.
    pub async fn patch_pod_status(&self, name: &str, status: Value) -> Pod {
        self.api::<Pod>()
            .patch_status(
                name,
                &PatchParams::apply(FIELD_MANAGER),
                &Patch::Merge(json!({ "status": status })),
            )
            .await
            .unwrap_or_else(|e| panic!("patching status of pod {}/{name}: {e}", self.name))
    }

    /// Set the `app` container of pod `name` to `shape`, with the phase and pod conditions the
    /// kubelet would write for it.
    pub async fn set_container_shape(&self, name: &str, shape: ContainerShape) -> Pod {
        let pod = self
            .api::<Pod>()
            .get(name)
            .await
            .unwrap_or_else(|e| panic!("reading pod {}/{name}: {e}", self.name));
        let uid = pod.metadata.uid.clone().unwrap_or_default();
        let image = pod
            .spec
            .as_ref()
            .and_then(|s| s.containers.first())
            .and_then(|c| c.image.clone())
            .unwrap_or_else(|| image_for(name));
        let image_id = format!(
            "{}@sha256:{}",
            image.split(':').next().unwrap_or(&image),
            fake_hex(&image, 64)
        );
        let container_id = format!("containerd://{}", fake_hex(&format!("{uid}{shape:?}"), 64));
        let unready = "containers with unready status: [app]";

        let (phase, ready, started, restarts, state, last_state) = match &shape {
            ContainerShape::Running { restarts } => (
                "Running",
                true,
                true,
                *restarts,
                json!({"running": {"startedAt": ts(-300)}}),
                json!({}),
            ),
            ContainerShape::RunningAfterOomKill { restarts } => (
                "Running",
                true,
                true,
                *restarts,
                json!({"running": {"startedAt": ts(-30)}}),
                json!({"terminated": {
                    "exitCode": 137, "reason": "OOMKilled",
                    "startedAt": ts(-600), "finishedAt": ts(-31), "containerID": container_id,
                }}),
            ),
            ContainerShape::CrashLoop {
                last_reason,
                exit_code,
                restarts,
            } => (
                "Running",
                false,
                false,
                *restarts,
                json!({"waiting": {
                    "reason": "CrashLoopBackOff",
                    "message": format!(
                        "back-off 5m0s restarting failed container={CONTAINER} pod={name}_{}({uid})",
                        self.name
                    ),
                }}),
                json!({"terminated": {
                    "exitCode": exit_code, "reason": last_reason,
                    "startedAt": ts(-95), "finishedAt": ts(-90), "containerID": container_id,
                }}),
            ),
            ContainerShape::Waiting { reason, message } => (
                "Pending",
                false,
                false,
                0,
                json!({"waiting": {"reason": reason, "message": message}}),
                json!({}),
            ),
        };
        let never_started = matches!(shape, ContainerShape::Waiting { .. });
        let mut container = json!({
            "name": CONTAINER,
            "image": image,
            "imageID": if never_started { String::new() } else { image_id },
            "ready": ready,
            "started": started,
            "restartCount": restarts,
            "state": state,
            "lastState": last_state,
        });
        if !never_started {
            container["containerID"] = json!(container_id);
        }
        let (ready_cond, containers_ready_cond) = if ready {
            (
                condition("Ready", true, "", ""),
                condition("ContainersReady", true, "", ""),
            )
        } else {
            (
                condition("Ready", false, "ContainersNotReady", unready),
                condition("ContainersReady", false, "ContainersNotReady", unready),
            )
        };
        self.patch_pod_status(
            name,
            json!({
                "phase": phase,
                "startTime": ts(-900),
                "conditions": [
                    condition("PodReadyToStartContainers", true, "", ""),
                    condition("Initialized", true, "", ""),
                    ready_cond,
                    containers_ready_cond,
                    condition("PodScheduled", true, "", ""),
                ],
                "containerStatuses": [container],
                "qosClass": "Burstable",
            }),
        )
        .await
    }

    /// A Running, Ready pod.
    pub async fn healthy_pod(&self, name: &str) -> Pod {
        self.create_pod(name).await;
        self.set_container_shape(name, ContainerShape::Running { restarts: 0 })
            .await
    }

    /// A pod in CrashLoopBackOff: waiting `CrashLoopBackOff`, last exit `Error` (code 1),
    /// 7 restarts, Ready=False.
    pub async fn crashloop_pod(&self, name: &str) -> Pod {
        self.create_pod(name).await;
        self.set_container_shape(name, ContainerShape::crash_loop())
            .await
    }

    /// A pod in CrashLoopBackOff whose last termination was `OOMKilled` (exit 137).
    pub async fn oom_crashloop_pod(&self, name: &str) -> Pod {
        self.create_pod(name).await;
        self.set_container_shape(name, ContainerShape::oom_crash_loop())
            .await
    }

    /// A pod running again after an OOM kill: `lastState.terminated.reason = OOMKilled`,
    /// `restartCount = restarts`, Ready=True.
    pub async fn oom_killed_pod(&self, name: &str, restarts: i32) -> Pod {
        self.create_pod(name).await;
        self.set_container_shape(name, ContainerShape::RunningAfterOomKill { restarts })
            .await
    }

    /// A Pending pod whose container waits in `ImagePullBackOff`.
    pub async fn image_pull_backoff_pod(&self, name: &str) -> Pod {
        let image = image_for(name);
        self.waiting_pod(
            name,
            "ImagePullBackOff",
            &format!("Back-off pulling image \"{image}\": ErrImagePull: failed to pull and unpack image \"{image}\": failed to resolve reference \"{image}\": {image}: not found"),
        )
        .await
    }

    /// A Pending pod whose container waits in `ErrImagePull`.
    pub async fn err_image_pull_pod(&self, name: &str) -> Pod {
        let image = image_for(name);
        self.waiting_pod(
            name,
            "ErrImagePull",
            &format!("failed to pull and unpack image \"{image}\": failed to resolve reference \"{image}\": pull access denied, repository does not exist or may require authorization"),
        )
        .await
    }

    /// A Pending pod whose container waits in `CreateContainerConfigError`
    /// (a referenced Secret is missing).
    pub async fn create_container_config_error_pod(&self, name: &str) -> Pod {
        self.waiting_pod(
            name,
            "CreateContainerConfigError",
            &format!("secret \"{name}-credentials\" not found"),
        )
        .await
    }

    /// A Pending pod whose container waits with any `reason`/`message`.
    pub async fn waiting_pod(&self, name: &str, reason: &str, message: &str) -> Pod {
        self.create_pod(name).await;
        self.set_container_shape(
            name,
            ContainerShape::Waiting {
                reason: reason.into(),
                message: message.into(),
            },
        )
        .await
    }

    /// A Pending pod the scheduler could not place: **no** `nodeName` (a real unschedulable pod
    /// has none; no scheduler runs here, so it stays unbound), condition `PodScheduled=False`,
    /// reason `Unschedulable`, message like the default scheduler's.
    pub async fn unschedulable_pod(&self, name: &str) -> Pod {
        let mut pod = self.pod_manifest(name);
        if let Some(spec) = pod.spec.as_mut() {
            spec.node_name = None;
        }
        self.create_pod_from(&pod).await;
        self.patch_pod_status(
            name,
            json!({
                "phase": "Pending",
                "conditions": [condition(
                    "PodScheduled",
                    false,
                    "Unschedulable",
                    "0/3 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, 2 Insufficient memory. preemption: 0/3 nodes are available: 1 Preemption is not helpful for scheduling, 2 No preemption victims found for incoming pod.",
                )],
                "qosClass": "Burstable",
            }),
        )
        .await
    }

    /// Repair: make pod `name` Running and Ready (keeping its restart count). An unbound pod is
    /// first bound to [`UNMANAGED_NODE`] through the `binding` subresource, as the scheduler would.
    pub async fn make_pod_healthy(&self, name: &str) -> Pod {
        let pods = self.api::<Pod>();
        let pod = pods
            .get(name)
            .await
            .unwrap_or_else(|e| panic!("reading pod {}/{name}: {e}", self.name));
        let restarts = pod
            .status
            .as_ref()
            .and_then(|s| s.container_statuses.as_ref())
            .and_then(|c| c.first())
            .map_or(0, |c| c.restart_count);
        let bound = pod
            .spec
            .as_ref()
            .and_then(|s| s.node_name.as_ref())
            .is_some();
        if !bound {
            let binding = json!({
                "apiVersion": "v1",
                "kind": "Binding",
                "metadata": {"name": name, "namespace": self.name},
                "target": {"apiVersion": "v1", "kind": "Node", "name": UNMANAGED_NODE},
            });
            pods.create_subresource::<Value, Value>(
                "binding",
                name,
                &PostParams::default(),
                &binding,
            )
            .await
            .unwrap_or_else(|e| panic!("binding pod {}/{name}: {e}", self.name));
        }
        self.set_container_shape(name, ContainerShape::Running { restarts })
            .await
    }
}
