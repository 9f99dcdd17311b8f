//! Shared support for integration tests that run against the real local control plane started by
//! `scripts/testenv up` (etcd + kube-apiserver + a trimmed kube-controller-manager; no kubelet,
//! no scheduler). Include it from a test file with `mod support;`.
//!
//! ```ignore
//! mod support;
//! use support::{TestCluster, eventually, DEFAULT_TIMEOUT};
//!
//! #[tokio::test]
//! async fn sees_crashloop() {
//!     let cluster = TestCluster::connect().await;      // panics loudly if no plane is running
//!     let ns = cluster.fresh_namespace().await;        // random namespace, never deleted
//!     let pod = ns.crashloop_pod("web").await;         // a real Pod whose status says CrashLoopBackOff
//!     // ... run the detector, assert ...
//!     ns.make_pod_healthy("web").await;                // repair it again
//! }
//! ```
//!
//! How failures are simulated: nothing runs containers, so every failure shape is an object
//! created through the API with its **status subresource** patched to what the real controller
//! (kubelet, scheduler, Flux, cert-manager, ...) would write. The API server validates those
//! writes, so shapes that pass here are shapes a real cluster can hold.
//!
//! Rules the helpers follow (see docs/testing.md):
//! - Pods are bound at creation to [`UNMANAGED_NODE`], a node name no kubelet owns, except the
//!   unschedulable pod (a real one has no node).
//! - Merge patches replace whole lists, so every status write sends the complete
//!   `conditions` / `containerStatuses` list.
//! - Nodes are cluster-scoped and shared by all tests: node helpers prefix the name with the
//!   namespace and label the node with [`NAMESPACE_LABEL`]. Filter on it.
//! - Reads right after writes may be stale through watch caches: assert with [`eventually`].

// Each test binary compiles this module separately and uses a different subset of it.
#![allow(dead_code, unused_imports)]

pub mod cluster;
pub mod custom;
pub mod objects;
pub mod pods;
pub mod wait;

pub use cluster::{TestCluster, TestNamespace, repo_root, testenv};
pub use custom::CustomKind;
pub use pods::{ContainerShape, UNMANAGED_NODE};
pub use wait::{DEFAULT_TIMEOUT, eventually, wait_for};

/// Label put on every namespace created by [`TestCluster::fresh_namespace`] and on
/// cluster-scoped objects (Nodes) created from a [`TestNamespace`]; the value is the namespace.
pub const NAMESPACE_LABEL: &str = "guardian.test/namespace";

/// Field manager used for every write the helpers make.
pub const FIELD_MANAGER: &str = "guardian-tests";

/// RFC 3339 timestamp (whole seconds, like the API server writes) `offset_secs` from now;
/// negative values are in the past.
pub fn ts(offset_secs: i64) -> String {
    let t = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(offset_secs);
    t.round(jiff::Unit::Second)
        .expect("rounding a timestamp to seconds cannot overflow")
        .to_string()
}

/// A status condition in the shape Kubernetes and Flux/cert-manager write:
/// `{type, status, reason, message, lastTransitionTime}`.
pub fn condition(type_: &str, status: bool, reason: &str, message: &str) -> serde_json::Value {
    serde_json::json!({
        "type": type_,
        "status": if status { "True" } else { "False" },
        "reason": reason,
        "message": message,
        "lastTransitionTime": ts(-60),
    })
}
