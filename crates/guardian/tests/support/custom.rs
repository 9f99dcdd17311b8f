//! Flux and cert-manager custom resources (CRDs from `tests/fixtures/crds`, installed by
//! `scripts/testenv up`): creation, failed status shapes, repairs.
//!
//! Flux follows kstatus: `Ready` is always present; `Stalled` and `Reconciling` are
//! "abnormal-true" conditions, present only when True.

use kube::api::{
    Api, ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams, PostParams,
};
use serde_json::{Value, json};

use super::{FIELD_MANAGER, TestNamespace, condition, ts};

/// The custom kinds the test plane serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CustomKind {
    /// `kustomize.toolkit.fluxcd.io/v1` Kustomization
    Kustomization,
    /// `helm.toolkit.fluxcd.io/v2` HelmRelease
    HelmRelease,
    /// `source.toolkit.fluxcd.io/v1` GitRepository
    GitRepository,
    /// `source.toolkit.fluxcd.io/v1` HelmRepository
    HelmRepository,
    /// `source.toolkit.fluxcd.io/v1` OCIRepository
    OciRepository,
    /// `cert-manager.io/v1` Certificate
    Certificate,
}

impl CustomKind {
    /// Every kind, in CRD fixture order.
    pub const ALL: [CustomKind; 6] = [
        CustomKind::Kustomization,
        CustomKind::HelmRelease,
        CustomKind::GitRepository,
        CustomKind::HelmRepository,
        CustomKind::OciRepository,
        CustomKind::Certificate,
    ];

    /// The five Flux kinds.
    pub const FLUX: [CustomKind; 5] = [
        CustomKind::Kustomization,
        CustomKind::HelmRelease,
        CustomKind::GitRepository,
        CustomKind::HelmRepository,
        CustomKind::OciRepository,
    ];

    /// `(group, version, kind, plural)`.
    pub fn gvkp(self) -> (&'static str, &'static str, &'static str, &'static str) {
        match self {
            CustomKind::Kustomization => (
                "kustomize.toolkit.fluxcd.io",
                "v1",
                "Kustomization",
                "kustomizations",
            ),
            CustomKind::HelmRelease => (
                "helm.toolkit.fluxcd.io",
                "v2",
                "HelmRelease",
                "helmreleases",
            ),
            CustomKind::GitRepository => (
                "source.toolkit.fluxcd.io",
                "v1",
                "GitRepository",
                "gitrepositories",
            ),
            CustomKind::HelmRepository => (
                "source.toolkit.fluxcd.io",
                "v1",
                "HelmRepository",
                "helmrepositories",
            ),
            CustomKind::OciRepository => (
                "source.toolkit.fluxcd.io",
                "v1",
                "OCIRepository",
                "ocirepositories",
            ),
            CustomKind::Certificate => ("cert-manager.io", "v1", "Certificate", "certificates"),
        }
    }

    /// `ApiResource` for `Api<DynamicObject>` (no discovery call needed).
    pub fn api_resource(self) -> ApiResource {
        let (g, v, k, plural) = self.gvkp();
        ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(g, v, k), plural)
    }

    /// `group/version`.
    pub fn api_version(self) -> String {
        let (g, v, _, _) = self.gvkp();
        format!("{g}/{v}")
    }

    /// A plausible `spec` for a new object of this kind.
    pub fn sample_spec(self, name: &str) -> Value {
        match self {
            CustomKind::Kustomization => json!({
                "interval": "10m", "path": format!("./apps/{name}"), "prune": true,
                "sourceRef": {"kind": "GitRepository", "name": "flux-system"},
            }),
            CustomKind::HelmRelease => json!({
                "interval": "10m",
                "chart": {"spec": {"chart": name, "version": "1.2.x",
                    "sourceRef": {"kind": "HelmRepository", "name": "charts"}}},
            }),
            CustomKind::GitRepository => json!({
                "interval": "1m", "url": format!("https://git.example.invalid/org/{name}.git"),
                "ref": {"branch": "main"},
            }),
            CustomKind::HelmRepository => json!({
                "interval": "10m", "url": "https://charts.example.invalid/stable",
            }),
            CustomKind::OciRepository => json!({
                "interval": "5m", "url": format!("oci://registry.example.invalid/manifests/{name}"),
                "ref": {"tag": "latest"},
            }),
            CustomKind::Certificate => json!({
                "secretName": format!("{name}-tls"),
                "dnsNames": [format!("{name}.example.invalid")],
                "issuerRef": {"name": "letsencrypt-prod", "kind": "ClusterIssuer", "group": "cert-manager.io"},
            }),
        }
    }

    /// The failure a real controller reports most often for this kind:
    /// `(reason, message)` for `Ready=False` (Flux also sets `Stalled=True` with the same reason
    /// for the terminal ones, see [`TestNamespace::failed_custom`]).
    pub fn typical_failure(self, name: &str) -> (&'static str, String) {
        match self {
            CustomKind::Kustomization => (
                "HealthCheckFailed",
                format!("health check failed after 5m0s: timeout waiting for: [Deployment/{name}/{name} status: 'InProgress']"),
            ),
            CustomKind::HelmRelease => (
                "UpgradeFailed",
                format!("Helm upgrade failed for release {name}/{name} with chart {name}@1.2.3: context deadline exceeded"),
            ),
            CustomKind::GitRepository => (
                "GitOperationFailed",
                format!("failed to checkout and determine revision: unable to clone 'https://git.example.invalid/org/{name}.git': authentication required"),
            ),
            CustomKind::HelmRepository => (
                "FailedFetch",
                "failed to fetch Helm repository index: failed to cache index to temporary file: Get \"https://charts.example.invalid/stable/index.yaml\": dial tcp: lookup charts.example.invalid: no such host".to_string(),
            ),
            CustomKind::OciRepository => (
                "OCIArtifactPullFailed",
                format!("failed to pull artifact from 'oci://registry.example.invalid/manifests/{name}': GET https://registry.example.invalid/v2/manifests/{name}/manifests/latest: UNAUTHORIZED: authentication required"),
            ),
            CustomKind::Certificate => (
                "Failed",
                format!("The certificate request has failed to complete and will be retried: Failed to wait for order resource \"{name}-1-2846391\" to become ready: order is in \"invalid\" state: "),
            ),
        }
    }
}

impl TestNamespace {
    /// `Api<DynamicObject>` for `kind` in this namespace.
    pub fn custom_api(&self, kind: CustomKind) -> Api<DynamicObject> {
        Api::namespaced_with(self.client.clone(), &self.name, &kind.api_resource())
    }

    /// Create a `kind` object `name` with [`CustomKind::sample_spec`] and no status.
    pub async fn create_custom(&self, kind: CustomKind, name: &str) -> DynamicObject {
        self.create_custom_with_spec(kind, name, kind.sample_spec(name))
            .await
    }

    /// Create a `kind` object `name` with the given `spec`.
    pub async fn create_custom_with_spec(
        &self,
        kind: CustomKind,
        name: &str,
        spec: Value,
    ) -> DynamicObject {
        let obj = DynamicObject::new(name, &kind.api_resource())
            .within(&self.name)
            .data(json!({ "spec": spec }));
        self.custom_api(kind)
            .create(&PostParams::default(), &obj)
            .await
            .unwrap_or_else(|e| panic!("creating {kind:?} {}/{name}: {e}", self.name))
    }

    /// Merge-patch the status subresource of a custom object (`status` is the value of
    /// `.status`; lists are replaced whole).
    pub async fn patch_custom_status(
        &self,
        kind: CustomKind,
        name: &str,
        status: Value,
    ) -> DynamicObject {
        self.custom_api(kind)
            .patch_status(
                name,
                &PatchParams::apply(FIELD_MANAGER),
                &Patch::Merge(json!({ "status": status })),
            )
            .await
            .unwrap_or_else(|e| panic!("patching status of {kind:?} {}/{name}: {e}", self.name))
    }

    /// A Flux object (any [`CustomKind::FLUX`] kind) that failed for good: `Ready=False` and
    /// `Stalled=True`, both with `reason`/`message`, plus `observedGeneration` and the revision
    /// fields Flux writes. Use [`CustomKind::typical_failure`] for realistic values.
    pub async fn stalled_flux(
        &self,
        kind: CustomKind,
        name: &str,
        reason: &str,
        message: &str,
    ) -> DynamicObject {
        self.create_custom(kind, name).await;
        self.patch_custom_status(
            kind,
            name,
            flux_status(
                kind,
                vec![
                    condition("Ready", false, reason, message),
                    condition("Stalled", true, reason, message),
                ],
            ),
        )
        .await
    }

    /// A Flux object failing but still retrying: `Ready=False` (reason/message) and
    /// `Reconciling=True` (`ProgressingWithRetry`), no Stalled.
    pub async fn failing_flux(
        &self,
        kind: CustomKind,
        name: &str,
        reason: &str,
        message: &str,
    ) -> DynamicObject {
        self.create_custom(kind, name).await;
        self.patch_custom_status(
            kind,
            name,
            flux_status(
                kind,
                vec![
                    condition("Ready", false, reason, message),
                    condition(
                        "Reconciling",
                        true,
                        "ProgressingWithRetry",
                        &format!("Detecting drift for revision main@sha1:{}", REVISION),
                    ),
                ],
            ),
        )
        .await
    }

    /// [`failed_custom`](Self::failed_custom) with the kind's [`CustomKind::typical_failure`]:
    /// Flux kinds get `Ready=False` + `Stalled=True`; a Certificate gets
    /// [`expiring_certificate`](Self::expiring_certificate) with 3 days left.
    pub async fn failed_custom(&self, kind: CustomKind, name: &str) -> DynamicObject {
        if kind == CustomKind::Certificate {
            return self.expiring_certificate(name, 3 * 24 * 3600).await;
        }
        let (reason, message) = kind.typical_failure(name);
        self.stalled_flux(kind, name, reason, &message).await
    }

    /// Repair any custom object: `Ready=True` (Flux reason `ReconciliationSucceeded`; Certificate
    /// reason `Ready`, `notAfter` 90 days out), Stalled/Reconciling removed.
    pub async fn make_custom_ready(&self, kind: CustomKind, name: &str) -> DynamicObject {
        let status = if kind == CustomKind::Certificate {
            json!({
                "conditions": [condition("Ready", true, "Ready", "Certificate is up to date and has not expired")],
                "notBefore": ts(-3600),
                "notAfter": ts(90 * 24 * 3600),
                "renewalTime": ts(60 * 24 * 3600),
                "revision": 2,
                "failedIssuanceAttempts": null,
                "lastFailureTime": null,
            })
        } else {
            flux_status(
                kind,
                vec![condition(
                    "Ready",
                    true,
                    "ReconciliationSucceeded",
                    &format!("Applied revision: main@sha1:{REVISION}"),
                )],
            )
        };
        self.patch_custom_status(kind, name, status).await
    }

    /// A cert-manager Certificate that failed to renew: `Ready=False` reason `Failed`,
    /// `Issuing=False`, `notAfter` `expires_in_secs` from now (negative: already expired),
    /// `renewalTime` in the past, `failedIssuanceAttempts: 3`.
    pub async fn expiring_certificate(&self, name: &str, expires_in_secs: i64) -> DynamicObject {
        self.create_custom(CustomKind::Certificate, name).await;
        let (reason, message) = CustomKind::Certificate.typical_failure(name);
        self.patch_custom_status(
            CustomKind::Certificate,
            name,
            json!({
                "conditions": [
                    condition("Ready", false, reason, &message),
                    condition("Issuing", false, "Failed", &message),
                ],
                "notBefore": ts(expires_in_secs - 90 * 24 * 3600),
                "notAfter": ts(expires_in_secs),
                "renewalTime": ts(expires_in_secs - 30 * 24 * 3600),
                "revision": 1,
                "failedIssuanceAttempts": 3,
                "lastFailureTime": ts(-600),
            }),
        )
        .await
    }
}

const REVISION: &str = "4c1b2d3e5f60718293a4b5c6d7e8f90123456789";

/// The non-condition status fields Flux writes for `kind`, with `conditions`.
fn flux_status(kind: CustomKind, conditions: Vec<Value>) -> Value {
    let rev = format!("main@sha1:{REVISION}");
    let mut status = json!({"observedGeneration": 1, "conditions": conditions});
    match kind {
        CustomKind::Kustomization => {
            status["lastAttemptedRevision"] = json!(rev);
            status["lastAppliedRevision"] = json!(rev);
        }
        CustomKind::HelmRelease => {
            status["lastAttemptedRevision"] = json!("1.2.3");
            status["lastAttemptedGeneration"] = json!(1);
            status["upgradeFailures"] = json!(1);
            status["history"] = json!([{"chartName": "app", "chartVersion": "1.2.2", "status": "deployed", "version": 3}]);
        }
        CustomKind::GitRepository | CustomKind::OciRepository | CustomKind::HelmRepository => {
            status["artifact"] = json!({
                "path": "gitrepository/flux-system/flux-system/4c1b2d3e.tar.gz",
                "url": "http://source-controller.flux-system.svc.cluster.local./gitrepository/flux-system/flux-system/4c1b2d3e.tar.gz",
                "revision": rev,
                "digest": "sha256:2f1e3d4c5b6a79881726354453627180a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4",
                "lastUpdateTime": ts(-3600),
            });
        }
        CustomKind::Certificate => {}
    }
    status
}
