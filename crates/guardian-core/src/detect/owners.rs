//! Top-owner resolution: which workload an object's failure belongs to.
//!
//! Incidents are keyed on the top owner (architecture.md "Fingerprint"), so three crashing
//! replicas, a pod restart or a new ReplicaSet never open new incidents. The walk follows
//! `metadata.ownerReferences` (the controller reference first) through the owner objects in
//! the snapshot: Pod → ReplicaSet → Deployment, Pod → Job → CronJob, Pod → StatefulSet /
//! DaemonSet. When an owner object is missing from the snapshot, the walk stops at the owner
//! *reference* — except for a ReplicaSet, where the `pod-template-hash` label lets us strip the
//! hash suffix and name the Deployment, and for a Job whose name is `<cronjob>-<digits>` when
//! that CronJob exists. Owners of kinds we do not read (a CNPG `Cluster`, an Argo `Rollout`)
//! are top owners by definition.
//!
//! [`owner_health`] answers "is the owner fine?", used to ignore finished pods ("corpses")
//! of healthy workloads.

use crate::signal::ObjectRef;

use super::objects::{Meta, OwnerReference, condition};
use super::snapshot::Snapshot;

/// Longest owner chain followed; real chains are at most three deep, and a cycle in
/// hand-written YAML must not loop forever.
const MAX_DEPTH: usize = 8;

fn controller_ref(meta: &Meta) -> Option<&OwnerReference> {
    meta.owner_references
        .iter()
        .find(|o| o.controller == Some(true))
        .or_else(|| meta.owner_references.first())
        .filter(|o| !o.kind.is_empty() && !o.name.is_empty())
}

/// The owners' metadata, where the snapshot holds the owner object.
fn owner_meta<'a>(snap: &'a Snapshot, ns: &str, kind: &str, name: &str) -> Option<&'a Meta> {
    match kind {
        "ReplicaSet" | "Deployment" | "StatefulSet" | "DaemonSet" => {
            snap.workload(kind, ns, name).map(|w| &w.metadata)
        }
        "Job" => snap.job(ns, name).map(|j| &j.metadata),
        "CronJob" => snap.cron_job(ns, name).map(|c| &c.metadata),
        _ => None,
    }
}

/// Resolves the top owner of an object given its kind and metadata.
pub fn top_owner(snap: &Snapshot, kind: &str, meta: &Meta) -> ObjectRef {
    let ns = meta.ns();
    let mut current = ObjectRef::new(kind, &meta.name);
    let mut current_meta = Some(meta);
    // The labels of the object we started from: a pod carries `pod-template-hash`.
    let origin_labels = &meta.labels;
    for _ in 0..MAX_DEPTH {
        let Some(m) = current_meta else { break };
        let Some(owner) = controller_ref(m) else {
            break;
        };
        match owner_meta(snap, ns, &owner.kind, &owner.name) {
            Some(next) => {
                current = ObjectRef::new(&owner.kind, &owner.name);
                current_meta = Some(next);
            }
            None => {
                current = fallback_owner(snap, ns, &owner.kind, &owner.name, origin_labels);
                break;
            }
        }
    }
    current
}

/// The owner when the owner object itself is not in the snapshot.
fn fallback_owner(
    snap: &Snapshot,
    ns: &str,
    kind: &str,
    name: &str,
    labels: &std::collections::BTreeMap<String, String>,
) -> ObjectRef {
    if kind == "ReplicaSet"
        && let Some(hash) = labels.get("pod-template-hash")
        && let Some(base) = name.strip_suffix(&format!("-{hash}"))
        && !base.is_empty()
    {
        return ObjectRef::new("Deployment", base);
    }
    if kind == "Job"
        && let Some(base) = cron_job_base(name)
        && snap.cron_job(ns, base).is_some()
    {
        return ObjectRef::new("CronJob", base);
    }
    ObjectRef::new(kind, name)
}

/// `<cronjob>-<scheduled minute>` → `<cronjob>`: the CronJob controller names its Jobs with
/// the scheduled time in minutes since the epoch (all digits).
fn cron_job_base(job: &str) -> Option<&str> {
    let (base, suffix) = job.rsplit_once('-')?;
    (!base.is_empty() && !suffix.is_empty() && suffix.bytes().all(|b| b.is_ascii_digit()))
        .then_some(base)
}

/// The top owner of a pod known only by name (an event about a pod that is not in the
/// snapshot): the pod name minus its random suffix names a ReplicaSet, StatefulSet, DaemonSet
/// or Job that *is* in the snapshot, or the pod is its own top owner. Never guesses a
/// Deployment without evidence.
pub fn top_owner_of_pod_name(snap: &Snapshot, ns: &str, pod: &str) -> ObjectRef {
    if let Some((base, _)) = pod.rsplit_once('-') {
        for kind in ["ReplicaSet", "StatefulSet", "DaemonSet"] {
            if let Some(w) = snap.workload(kind, ns, base) {
                return top_owner(snap, kind, &w.metadata);
            }
        }
        if let Some(j) = snap.job(ns, base) {
            return top_owner(snap, "Job", &j.metadata);
        }
    }
    ObjectRef::new("Pod", pod)
}

/// Health of a top owner, as far as the snapshot tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OwnerHealth {
    /// Fully available (ready ≥ desired > 0), or a Job/CronJob whose latest run succeeded.
    Healthy,
    /// Known and not healthy (degraded, scaled to zero, failed).
    Degraded,
    /// Not in the snapshot, or a kind we cannot judge (an ownerless pod, a custom resource).
    Unknown,
}

/// Judges a top owner. Scaled-to-zero counts as degraded: a finished pod of a workload nobody
/// runs any more still deserves a look (reference-behaviour.md §9 "Scanners").
pub fn owner_health(snap: &Snapshot, ns: &str, owner: &ObjectRef) -> OwnerHealth {
    let judge = |ready: Option<i64>, desired: Option<i64>| {
        let desired = desired.unwrap_or(1);
        if desired > 0 && ready.unwrap_or(0) >= desired {
            OwnerHealth::Healthy
        } else {
            OwnerHealth::Degraded
        }
    };
    match owner.kind.as_str() {
        "Deployment" | "ReplicaSet" => snap
            .workload(&owner.kind, ns, &owner.name)
            .map_or(OwnerHealth::Unknown, |w| {
                judge(w.status.available_replicas, w.spec.replicas)
            }),
        "StatefulSet" => snap
            .workload(&owner.kind, ns, &owner.name)
            .map_or(OwnerHealth::Unknown, |w| {
                judge(w.status.ready_replicas, w.spec.replicas)
            }),
        "DaemonSet" => {
            snap.workload(&owner.kind, ns, &owner.name)
                .map_or(OwnerHealth::Unknown, |w| {
                    let desired = w.status.desired_number_scheduled.unwrap_or(0);
                    if desired > 0 && w.status.number_available.unwrap_or(0) >= desired {
                        OwnerHealth::Healthy
                    } else {
                        OwnerHealth::Degraded
                    }
                })
        }
        "Job" => snap
            .job(ns, &owner.name)
            .map_or(OwnerHealth::Unknown, job_health),
        "CronJob" => match latest_job_of_cron(snap, ns, &owner.name) {
            Some(j) => job_health(j),
            None => OwnerHealth::Unknown,
        },
        _ => OwnerHealth::Unknown,
    }
}

fn job_health(job: &super::objects::Job) -> OwnerHealth {
    let c = &job.status.conditions;
    if condition(c, "Complete").is_some_and(|c| c.is_true()) {
        OwnerHealth::Healthy
    } else if condition(c, "Failed").is_some_and(|c| c.is_true()) {
        OwnerHealth::Degraded
    } else if job.status.active.unwrap_or(0) > 0 {
        // Still running: not a verdict yet, and certainly not a reason to alert on its
        // finished pods.
        OwnerHealth::Healthy
    } else {
        OwnerHealth::Unknown
    }
}

/// The newest Job (by start, else creation time) owned by a CronJob. A CronJob keeps a failed
/// Job in its history after a later run succeeded; only the newest run says how it is doing.
pub fn latest_job_of_cron<'a>(
    snap: &'a Snapshot,
    ns: &str,
    cron: &str,
) -> Option<&'a super::objects::Job> {
    snap.jobs()
        .filter(|j| j.metadata.ns() == ns)
        .filter(|j| {
            controller_ref(&j.metadata).is_some_and(|o| o.kind == "CronJob" && o.name == cron)
        })
        .max_by_key(|j| {
            (
                j.status.start_time.or(j.metadata.creation_timestamp),
                j.metadata.name.clone(),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn snap(values: Vec<serde_json::Value>) -> Snapshot {
        Snapshot::from_values(values).0
    }

    fn pod_meta(name: &str, rs: &str, hash: &str) -> Meta {
        serde_json::from_value(json!({
            "name": name, "namespace": "shop",
            "labels": {"pod-template-hash": hash},
            "ownerReferences": [{"kind": "ReplicaSet", "name": rs, "controller": true}]
        }))
        .unwrap()
    }

    #[test]
    fn missing_replica_set_falls_back_to_the_template_hash() {
        let s = snap(vec![]);
        let m = pod_meta("api-7d9f8c6b5-x2kq9", "api-7d9f8c6b5", "7d9f8c6b5");
        assert_eq!(
            top_owner(&s, "Pod", &m),
            ObjectRef::new("Deployment", "api")
        );
        // Without the label the ReplicaSet itself is the best we know.
        let mut m = m;
        m.labels.clear();
        assert_eq!(
            top_owner(&s, "Pod", &m),
            ObjectRef::new("ReplicaSet", "api-7d9f8c6b5")
        );
    }

    #[test]
    fn owner_chain_is_followed_through_the_snapshot() {
        let s = snap(vec![json!({
            "kind": "ReplicaSet",
            "metadata": {"name": "web-abc", "namespace": "shop",
                "ownerReferences": [{"kind": "Deployment", "name": "frontend", "controller": true}]}
        })]);
        // The Deployment is named differently from the hash-stripped RS: the chain wins.
        let m = pod_meta("web-abc-1", "web-abc", "abc");
        assert_eq!(
            top_owner(&s, "Pod", &m),
            ObjectRef::new("Deployment", "frontend")
        );
    }

    #[test]
    fn cron_job_names_are_recognised_only_when_the_cron_job_exists() {
        assert_eq!(cron_job_base("backup-29012345"), Some("backup"));
        assert_eq!(cron_job_base("backup-x1"), None);
        let s = snap(vec![
            json!({"kind": "CronJob", "metadata": {"name": "backup", "namespace": "db"}}),
        ]);
        let m: Meta =
            serde_json::from_value(json!({"name": "backup-29012345-abcde", "namespace": "db",
            "ownerReferences": [{"kind": "Job", "name": "backup-29012345", "controller": true}]}))
            .unwrap();
        assert_eq!(
            top_owner(&s, "Pod", &m),
            ObjectRef::new("CronJob", "backup")
        );
    }
}
