//! Which kinds the operator watches, and discovery of the optional custom kinds.
//!
//! Built-in kinds are fixed at compile time: their [`ApiResource`] comes from the k8s-openapi
//! types (so group, version and plural cannot be misspelt), and every one exists on every
//! supported cluster (≥ 1.33). Custom kinds (cert-manager, Flux) are looked up once at
//! start-up with one discovery run over their API groups: a kind whose CRD is not installed is
//! skipped with a log line instead of a watch that fails forever; an installed kind is watched
//! at the version the API server recommends (so an older Flux serving `v2beta2` works too —
//! the detectors read only kstatus conditions, which every version has).

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{Event, Node, PersistentVolumeClaim, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::api::storage::v1::StorageClass;
use kube::api::ApiResource;
use kube::discovery::{Discovery, Scope};

use super::{Error, Result};

/// One kind to watch.
#[derive(Debug, Clone)]
pub struct WatchedKind {
    /// Group, version, kind and plural.
    pub resource: ApiResource,
    /// Namespaced (watched per configured namespace) or cluster-scoped (watched once).
    pub namespaced: bool,
    /// Server-side field selector specific to the kind (Events: `type=Warning`).
    pub field_selector: Option<&'static str>,
}

impl WatchedKind {
    /// The kind name (`Pod`, `Kustomization`).
    pub fn kind(&self) -> &str {
        &self.resource.kind
    }
}

fn builtin<K>(namespaced: bool, field_selector: Option<&'static str>) -> WatchedKind
where
    K: kube::Resource<DynamicType = ()>,
{
    WatchedKind {
        resource: ApiResource::erase::<K>(&()),
        namespaced,
        field_selector,
    }
}

/// The built-in kinds: exactly what the detectors read (see `Snapshot::reads`), minus the
/// legacy `v1 Endpoints` (deprecated since 1.33; EndpointSlices replace it).
pub fn builtins() -> Vec<WatchedKind> {
    vec![
        builtin::<Pod>(true, None),
        // Only Warnings matter, and filtering server-side keeps the (high-volume) Normal
        // events off the wire and out of memory.
        builtin::<Event>(true, Some("type=Warning")),
        builtin::<ReplicaSet>(true, None),
        builtin::<Deployment>(true, None),
        builtin::<StatefulSet>(true, None),
        builtin::<DaemonSet>(true, None),
        builtin::<Job>(true, None),
        builtin::<CronJob>(true, None),
        builtin::<PersistentVolumeClaim>(true, None),
        builtin::<StorageClass>(false, None),
        builtin::<Service>(true, None),
        builtin::<EndpointSlice>(true, None),
        builtin::<Node>(false, None),
        builtin::<HorizontalPodAutoscaler>(true, None),
    ]
}

/// Optional custom kinds: `(group, kind)`. The Flux list matches the detector's
/// `FLUX_KINDS`; a unit test keeps them in step.
pub const CUSTOM: &[(&str, &str)] = &[
    ("cert-manager.io", "Certificate"),
    ("kustomize.toolkit.fluxcd.io", "Kustomization"),
    ("helm.toolkit.fluxcd.io", "HelmRelease"),
    ("source.toolkit.fluxcd.io", "GitRepository"),
    ("source.toolkit.fluxcd.io", "HelmRepository"),
    ("source.toolkit.fluxcd.io", "OCIRepository"),
    ("source.toolkit.fluxcd.io", "Bucket"),
    ("source.toolkit.fluxcd.io", "HelmChart"),
];

/// Every kind to watch on this cluster: the built-ins plus the custom kinds discovery finds.
/// Logs one line per custom kind skipped.
pub async fn discover(client: &kube::Client) -> Result<Vec<WatchedKind>> {
    let mut groups: Vec<&str> = CUSTOM.iter().map(|(g, _)| *g).collect();
    groups.dedup();
    let discovery = Discovery::new(client.clone())
        .filter(&groups)
        .run()
        .await
        .map_err(|source| Error::Discovery { source })?;
    let mut kinds = builtins();
    for (group, kind) in CUSTOM {
        let found = discovery.get(group).and_then(|g| g.recommended_kind(kind));
        match found {
            Some((resource, caps)) => {
                tracing::info!(
                    kind, api_version = %resource.api_version,
                    "Found a custom kind; watching it."
                );
                kinds.push(WatchedKind {
                    resource,
                    namespaced: matches!(caps.scope, Scope::Namespaced),
                    field_selector: None,
                });
            }
            None => {
                tracing::info!(
                    kind,
                    group,
                    "A custom kind is not installed; its detector is skipped."
                );
            }
        }
    }
    Ok(kinds)
}

#[cfg(test)]
mod tests {
    use super::*;
    use guardian_core::detect::Snapshot;
    use guardian_core::detect::snapshot::FLUX_KINDS;

    #[test]
    fn every_watched_kind_is_read_by_the_detectors() {
        for k in builtins() {
            assert!(
                Snapshot::reads(k.kind()),
                "{} is watched but never read",
                k.kind()
            );
        }
        for (_, kind) in CUSTOM {
            assert!(Snapshot::reads(kind), "{kind} is watched but never read");
        }
        for kind in FLUX_KINDS {
            assert!(
                CUSTOM.iter().any(|(_, k)| k == kind),
                "the flux detector reads {kind} but it is never watched"
            );
        }
    }

    #[test]
    fn builtin_resources_have_the_expected_paths() {
        let by_kind = |kind: &str| {
            builtins()
                .into_iter()
                .find(|k| k.kind() == kind)
                .unwrap()
                .resource
        };
        assert_eq!(by_kind("EndpointSlice").api_version, "discovery.k8s.io/v1");
        assert_eq!(
            by_kind("HorizontalPodAutoscaler").api_version,
            "autoscaling/v2"
        );
        assert_eq!(by_kind("Event").api_version, "v1");
        assert_eq!(
            by_kind("PersistentVolumeClaim").plural,
            "persistentvolumeclaims"
        );
    }
}
