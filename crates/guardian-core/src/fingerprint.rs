//! The deterministic identity of an incident.
//!
//! `cluster / namespace / top-owner kind+name / failure class [/ discriminator]`, hashed. Never
//! built from LLM text, pod names or replica hashes: pods of one Deployment are one incident,
//! and a restart or a new ReplicaSet does not open another one.

use sha2::{Digest, Sha256};

use crate::signal::Signal;

/// Version prefix of the hashed key: bump it only with a migration, since every stored
/// incident is found again by its fingerprint.
const SCHEME: &str = "v1";

/// Unit separator: cannot appear in Kubernetes names, so no two keys collide by concatenation.
const SEP: char = '\u{1f}';

/// Computes the fingerprint of a signal: 32 lowercase hex characters (128 bits of SHA-256).
pub fn of(signal: &Signal) -> String {
    let mut key = String::with_capacity(128);
    for part in [
        SCHEME,
        signal.cluster.as_str(),
        signal.namespace.as_deref().unwrap_or(""),
        signal.top_owner.kind.as_str(),
        signal.top_owner.name.as_str(),
        signal.failure_class.as_str(),
        signal.discriminator.as_deref().unwrap_or(""),
    ] {
        key.push_str(part);
        key.push(SEP);
    }
    let digest = Sha256::digest(key.as_bytes());
    hex::encode(&digest[..16])
}

/// Why a sighting was merged into an existing incident (recorded with each occurrence), or why
/// it opened one.
pub fn merge_reason(signal: &Signal, new_incident: bool) -> String {
    let owner = &signal.top_owner;
    let class = signal.failure_class;
    let via = if signal.object != *owner {
        format!("{} collapses to its top owner {owner}", signal.object)
    } else {
        format!("same object {owner}")
    };
    if new_incident {
        format!("new fingerprint: {via}, failure class {class}")
    } else {
        format!("merged: {via}, same failure class {class}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Category, ObjectRef, Severity};

    fn signal(pod: &str) -> Signal {
        Signal {
            detector: "pod_scanner".into(),
            cluster: "prod".into(),
            namespace: Some("shop".into()),
            object: ObjectRef::new("Pod", pod),
            top_owner: ObjectRef::new("Deployment", "api"),
            reason: "CrashLoopBackOff".into(),
            failure_class: Category::CrashLoop,
            severity: Severity::Warning,
            discriminator: None,
            first_seen: 0,
            last_seen: 0,
            message: String::new(),
        }
    }

    #[test]
    fn pods_of_one_owner_share_a_fingerprint() {
        assert_eq!(
            of(&signal("api-7d9f8c6b5-x2kq9")),
            of(&signal("api-5c4b-aa11"))
        );
        assert_eq!(of(&signal("a")).len(), 32);
    }

    #[test]
    fn class_namespace_and_cluster_separate_incidents() {
        let base = signal("p");
        let mut other = base.clone();
        other.failure_class = Category::OomKilled;
        assert_ne!(of(&base), of(&other));
        let mut other = base.clone();
        other.namespace = None;
        assert_ne!(of(&base), of(&other));
        let mut other = base.clone();
        other.cluster = "staging".into();
        assert_ne!(of(&base), of(&other));
    }

    #[test]
    fn concatenation_cannot_collide() {
        let mut a = signal("p");
        a.top_owner = ObjectRef::new("Deployment", "ab");
        a.namespace = Some("c".into());
        let mut b = a.clone();
        b.top_owner = ObjectRef::new("Deployment", "a");
        b.namespace = Some("bc".into());
        assert_ne!(of(&a), of(&b));
    }

    #[test]
    fn merge_reason_names_the_collapse() {
        let s = signal("api-1");
        assert!(
            merge_reason(&s, false).contains("Pod/api-1 collapses to its top owner Deployment/api")
        );
        assert!(merge_reason(&s, true).starts_with("new fingerprint"));
    }
}
