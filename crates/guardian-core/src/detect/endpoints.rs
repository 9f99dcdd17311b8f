//! Service scanner: Services with a selector and no ready endpoint.
//!
//! What an SRE expects: "Service X has no endpoints" is worth an incident when nothing else
//! explains it. So:
//!
//! - Services without a selector (endpoints managed by hand) and `ExternalName` Services are
//!   skipped;
//! - when pods match the selector and one of them has a problem the pod scanner reports
//!   (crash loop, image pull, probe failure …), that incident already explains the outage:
//!   no second incident;
//! - when no pod matches and a workload whose pod template matches is scaled to zero, the
//!   Service is idle on purpose: skipped;
//! - otherwise, no ready endpoint for [`Settings::service_no_endpoints_grace_secs`] (300 s; from
//!   the newest matching pod's Ready transition, or from the Service's creation when no pod
//!   matches — typically a selector that matches nothing after a label change) →
//!   `service_no_endpoints`, warning.
//!
//! Ready endpoints come from the Service's EndpointSlices (`kubernetes.io/service-name`),
//! else its legacy Endpoints, else — when neither was listed — from the readiness of the
//! matching pods.
//!
//! **Resolution:** absence — a ready endpoint resolves.

use std::collections::BTreeMap;

use crate::incident::Severity;
use crate::signal::{ObjectRef, Signal};
use crate::taxonomy::Category;
use crate::time::{Millis, secs};

use super::objects::{Pod, condition};
use super::pods;
use super::snapshot::Snapshot;
use super::{Settings, signal};

/// Detector name.
pub const DETECTOR: &str = "service_scanner";

fn matches(selector: &BTreeMap<String, String>, labels: &BTreeMap<String, String>) -> bool {
    selector.iter().all(|(k, v)| labels.get(k) == Some(v))
}

fn pod_ready(p: &Pod) -> bool {
    condition(&p.status.conditions, "Ready").is_some_and(|c| c.is_true())
}

/// The Service scanner.
pub fn detect(snap: &Snapshot, settings: &Settings, now: Millis) -> Vec<Signal> {
    let mut out = Vec::new();
    for svc in snap.services() {
        let selector = &svc.spec.selector;
        if selector.is_empty()
            || svc.spec.type_.as_deref() == Some("ExternalName")
            || svc.metadata.deletion_timestamp.is_some()
        {
            continue;
        }
        let ns = svc.metadata.ns();
        let name = &svc.metadata.name;
        let pods: Vec<&Pod> = snap
            .pods_in(ns)
            .filter(|p| p.metadata.deletion_timestamp.is_none())
            .filter(|p| !matches!(p.status.phase.as_str(), "Succeeded" | "Failed"))
            .filter(|p| matches(selector, &p.metadata.labels))
            .collect();
        let slices: Vec<_> = snap.endpoint_slices_of(ns, name).collect();
        let has_ready = if !slices.is_empty() {
            slices
                .iter()
                .flat_map(|s| &s.endpoints)
                .any(|e| e.conditions.ready != Some(false))
        } else if let Some(ep) = snap.endpoints(ns, name) {
            ep.subsets.iter().any(|s| !s.addresses.is_empty())
        } else if snap.listed("EndpointSlice").is_some() || snap.listed("Endpoints").is_some() {
            false
        } else {
            pods.iter().any(|p| pod_ready(p))
        };
        if has_ready {
            continue;
        }
        // An explained outage: the pod scanner's incident says why.
        if pods
            .iter()
            .any(|p| !pods::assess(snap, settings, now, p).is_empty())
        {
            continue;
        }
        let (since, detail) = if pods.is_empty() {
            let scaled_to_zero = ["Deployment", "StatefulSet", "ReplicaSet"].iter().any(|k| {
                snap.workloads(k).any(|w| {
                    w.metadata.ns() == ns
                        && w.spec.replicas == Some(0)
                        && matches(selector, &w.spec.template.metadata.labels)
                })
            });
            if scaled_to_zero {
                continue;
            }
            (
                svc.metadata.creation_timestamp.unwrap_or(now),
                format!("its selector {} matches no pod", render(selector)),
            )
        } else {
            let since = pods
                .iter()
                .filter_map(|p| condition(&p.status.conditions, "Ready").and_then(|c| c.since()))
                .max()
                .unwrap_or(now);
            (
                since,
                format!("none of its {} matching pod(s) is ready", pods.len()),
            )
        };
        if since > now - secs(settings.service_no_endpoints_grace_secs) {
            continue;
        }
        let obj = ObjectRef::new("Service", name);
        out.push(signal(
            DETECTOR,
            settings,
            Some(ns),
            obj.clone(),
            obj,
            "NoReadyEndpoints",
            Category::ServiceNoEndpoints,
            Severity::Warning,
            since,
            now,
            format!("Service {name} has no ready endpoints: {detail}"),
        ));
    }
    out
}

fn render(selector: &BTreeMap<String, String>) -> String {
    selector
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}
