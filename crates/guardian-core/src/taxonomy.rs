//! The root-cause category taxonomy (architecture.md "Category taxonomy").
//!
//! It doubles as the *failure class* of a signal: the fingerprint is built from it, so the
//! spelling of each variant is a persisted contract. Add variants; never rename one.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A root-cause class. Serialised in `snake_case`, exactly as listed in the architecture.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)] // the names are the documentation; see architecture.md
pub enum Category {
    OomKilled,
    CrashLoop,
    ConfigError,
    ImagePullNotFound,
    ImagePullAuth,
    ImagePullOther,
    ProbeFailure,
    DependencyUnavailable,
    DiskFull,
    UnschedulableResources,
    UnschedulableConstraints,
    VolumeBinding,
    VolumeMount,
    VolumeLost,
    CertificateNotReady,
    CertificateExpiring,
    ServiceNoEndpoints,
    RolloutStuck,
    FluxSourceError,
    FluxBuildError,
    FluxDependencyNotReady,
    HelmReleaseFailed,
    NodeNotReady,
    NodePressure,
    NodeCordoned,
    PodEvicted,
    JobFailed,
    HpaAtMax,
    QuotaExceeded,
    AlertFiring,
    Unknown,
}

impl Category {
    /// Every category, in taxonomy order.
    pub const ALL: [Category; 31] = [
        Category::OomKilled,
        Category::CrashLoop,
        Category::ConfigError,
        Category::ImagePullNotFound,
        Category::ImagePullAuth,
        Category::ImagePullOther,
        Category::ProbeFailure,
        Category::DependencyUnavailable,
        Category::DiskFull,
        Category::UnschedulableResources,
        Category::UnschedulableConstraints,
        Category::VolumeBinding,
        Category::VolumeMount,
        Category::VolumeLost,
        Category::CertificateNotReady,
        Category::CertificateExpiring,
        Category::ServiceNoEndpoints,
        Category::RolloutStuck,
        Category::FluxSourceError,
        Category::FluxBuildError,
        Category::FluxDependencyNotReady,
        Category::HelmReleaseFailed,
        Category::NodeNotReady,
        Category::NodePressure,
        Category::NodeCordoned,
        Category::PodEvicted,
        Category::JobFailed,
        Category::HpaAtMax,
        Category::QuotaExceeded,
        Category::AlertFiring,
        Category::Unknown,
    ];

    /// The persisted spelling (`snake_case`).
    pub fn as_str(self) -> &'static str {
        match self {
            Category::OomKilled => "oom_killed",
            Category::CrashLoop => "crash_loop",
            Category::ConfigError => "config_error",
            Category::ImagePullNotFound => "image_pull_not_found",
            Category::ImagePullAuth => "image_pull_auth",
            Category::ImagePullOther => "image_pull_other",
            Category::ProbeFailure => "probe_failure",
            Category::DependencyUnavailable => "dependency_unavailable",
            Category::DiskFull => "disk_full",
            Category::UnschedulableResources => "unschedulable_resources",
            Category::UnschedulableConstraints => "unschedulable_constraints",
            Category::VolumeBinding => "volume_binding",
            Category::VolumeMount => "volume_mount",
            Category::VolumeLost => "volume_lost",
            Category::CertificateNotReady => "certificate_not_ready",
            Category::CertificateExpiring => "certificate_expiring",
            Category::ServiceNoEndpoints => "service_no_endpoints",
            Category::RolloutStuck => "rollout_stuck",
            Category::FluxSourceError => "flux_source_error",
            Category::FluxBuildError => "flux_build_error",
            Category::FluxDependencyNotReady => "flux_dependency_not_ready",
            Category::HelmReleaseFailed => "helm_release_failed",
            Category::NodeNotReady => "node_not_ready",
            Category::NodePressure => "node_pressure",
            Category::NodeCordoned => "node_cordoned",
            Category::PodEvicted => "pod_evicted",
            Category::JobFailed => "job_failed",
            Category::HpaAtMax => "hpa_at_max",
            Category::QuotaExceeded => "quota_exceeded",
            Category::AlertFiring => "alert_firing",
            Category::Unknown => "unknown",
        }
    }

    /// Parses the persisted spelling.
    pub fn parse(text: &str) -> Option<Category> {
        Category::ALL.into_iter().find(|c| c.as_str() == text)
    }
}

impl std::fmt::Display for Category {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spelling_matches_serde_and_round_trips() {
        for c in Category::ALL {
            let json = serde_json::to_string(&c).unwrap();
            assert_eq!(json, format!("\"{}\"", c.as_str()));
            assert_eq!(Category::parse(c.as_str()), Some(c));
        }
        assert_eq!(Category::parse("no_such"), None);
    }
}
