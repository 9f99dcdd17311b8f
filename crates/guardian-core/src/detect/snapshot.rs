//! The snapshot: every object the detectors may read, plus pod logs and what was listed.
//!
//! Built from `serde_json::Value` objects ([`Snapshot::insert`]), so the same type is filled by
//! the offline loader (`guardian scan --snapshot DIR`, `kubectl get -o json` Lists) and by the
//! live operator (one value per reflector-store entry). Objects are kept per kind in ordered
//! maps keyed by `(namespace, name)`: lookups (owner walks, event → pod) stay O(log n) on
//! large clusters and iteration order, hence detector output, is deterministic.
//!
//! [`Snapshot::listed`] records which kinds were actually read and where. It is what makes
//! auto-resolution safe: a detector only counts as having *run* over a namespace when its
//! inputs were listed there (see [`crate::detect::coverage`]). Inserting an object marks its
//! kind listed cluster-wide only through [`Snapshot::from_values`] (offline: a dump is
//! complete for the kinds it contains); the live operator marks kinds itself once a reflector
//! has synced.

use std::collections::{BTreeMap, BTreeSet};

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::objects::{
    Certificate, CronJob, EndpointSlice, Endpoints, Event, FluxObject, Hpa, Job, Node, Pod, Pvc,
    Service, StorageClass, WireEvent, Workload,
};
use crate::time::{Millis, parse_rfc3339};

/// Flux kinds the flux detector reads (all kstatus-conformant).
pub const FLUX_KINDS: &[&str] = &[
    "Kustomization",
    "HelmRelease",
    "GitRepository",
    "HelmRepository",
    "OCIRepository",
    "Bucket",
    "HelmChart",
];

/// Largest log text kept per container and stream: detectors only look at the tail, and a
/// support bundle may hold gigabytes of logs.
pub const MAX_LOG_BYTES: usize = 256 * 1024;

/// Where a kind was listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Every namespace (or, for cluster-scoped kinds, the whole cluster).
    Cluster,
    /// Only these namespaces.
    Namespaces(BTreeSet<String>),
}

impl Scope {
    /// Whether `namespace` (`None` = cluster-scoped object) lies inside the scope. A
    /// namespace-limited listing says nothing about cluster-scoped objects.
    pub fn covers(&self, namespace: Option<&str>) -> bool {
        match (self, namespace) {
            (Scope::Cluster, _) => true,
            (Scope::Namespaces(set), Some(ns)) => set.contains(ns),
            (Scope::Namespaces(_), None) => false,
        }
    }

    /// The intersection of two scopes.
    pub fn intersect(&self, other: &Scope) -> Scope {
        match (self, other) {
            (Scope::Cluster, s) | (s, Scope::Cluster) => s.clone(),
            (Scope::Namespaces(a), Scope::Namespaces(b)) => {
                Scope::Namespaces(a.intersection(b).cloned().collect())
            }
        }
    }

    /// The union of two scopes.
    pub fn union(&self, other: &Scope) -> Scope {
        match (self, other) {
            (Scope::Cluster, _) | (_, Scope::Cluster) => Scope::Cluster,
            (Scope::Namespaces(a), Scope::Namespaces(b)) => {
                Scope::Namespaces(a.union(b).cloned().collect())
            }
        }
    }
}

/// One container's log text.
#[derive(Debug, Clone, PartialEq)]
pub struct ContainerLog {
    /// Container name; `None` when the source mixes all containers (`kubectl cluster-info
    /// dump`'s `logs.txt`).
    pub container: Option<String>,
    /// The previous (crashed) instance's log rather than the current one.
    pub previous: bool,
    /// The text (its tail, at most [`MAX_LOG_BYTES`]).
    pub text: String,
}

/// Why an object was not inserted.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum InsertError {
    /// Not a JSON object with a `kind`.
    #[error("not a Kubernetes object (no `kind`)")]
    NotAnObject,
    /// The object's kind is one we read but its shape does not deserialize.
    #[error("malformed {kind} {name}: {message}")]
    Malformed {
        /// Kind.
        kind: String,
        /// Name, if readable.
        name: String,
        /// The serde error.
        message: String,
    },
}

/// Namespace and name: the key of every per-kind map.
pub type Key = (String, String);

/// Everything the detectors read. See the module docs.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pods: BTreeMap<Key, Pod>,
    events: Vec<Event>,
    /// Event positions by involved object `(kind, namespace, name)`.
    events_by_object: BTreeMap<(String, String, String), Vec<usize>>,
    replica_sets: BTreeMap<Key, Workload>,
    deployments: BTreeMap<Key, Workload>,
    stateful_sets: BTreeMap<Key, Workload>,
    daemon_sets: BTreeMap<Key, Workload>,
    jobs: BTreeMap<Key, Job>,
    cron_jobs: BTreeMap<Key, CronJob>,
    pvcs: BTreeMap<Key, Pvc>,
    storage_classes: BTreeMap<String, StorageClass>,
    certificates: BTreeMap<Key, Certificate>,
    services: BTreeMap<Key, Service>,
    endpoint_slices: Vec<EndpointSlice>,
    endpoints: BTreeMap<Key, Endpoints>,
    nodes: BTreeMap<String, Node>,
    hpas: BTreeMap<Key, Hpa>,
    flux: BTreeMap<(String, String, String), FluxObject>,
    logs: BTreeMap<Key, Vec<ContainerLog>>,
    listed: BTreeMap<String, Scope>,
    newest: Option<Millis>,
}

/// Timestamp fields that record something that already happened: the newest of them
/// approximates when the snapshot was taken. Future-dated fields (`notAfter`, `renewalTime`,
/// a pending `deletionTimestamp`) are deliberately absent.
const PAST_TIME_KEYS: &[&str] = &[
    "creationTimestamp",
    "lastTransitionTime",
    "lastUpdateTime",
    "lastHeartbeatTime",
    "lastProbeTime",
    "startTime",
    "startedAt",
    "finishedAt",
    "firstTimestamp",
    "lastTimestamp",
    "eventTime",
    "lastObservedTime",
    "lastScheduleTime",
    "lastSuccessfulTime",
    "completionTime",
    "timeAdded",
];

fn newest_past_timestamp(value: &Value, newest: &mut Option<Millis>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                if let Value::String(s) = v
                    && PAST_TIME_KEYS.contains(&k.as_str())
                    && let Some(t) = parse_rfc3339(s)
                {
                    *newest = Some(newest.map_or(t, |n| n.max(t)));
                } else {
                    newest_past_timestamp(v, newest);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| newest_past_timestamp(v, newest)),
        _ => {}
    }
}

fn key_of(meta: &super::objects::Meta) -> Key {
    (meta.ns().to_string(), meta.name.clone())
}

/// Removes `null` members recursively: `kubectl -o json` prints `"endpoints": null` and the
/// like, and a null must mean "absent" (the field's default), not a type error.
fn strip_nulls(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|_, v| !v.is_null());
            map.values_mut().for_each(strip_nulls);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_nulls),
        _ => {}
    }
}

fn parse<T: DeserializeOwned>(kind: &str, mut value: Value) -> Result<T, InsertError> {
    strip_nulls(&mut value);
    let name = value
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    serde_json::from_value(value).map_err(|e| InsertError::Malformed {
        kind: kind.to_string(),
        name,
        message: e.to_string(),
    })
}

impl Snapshot {
    /// An empty snapshot (nothing listed).
    pub fn new() -> Self {
        Self::default()
    }

    /// Builds an offline snapshot: inserts every value (Lists are flattened) and marks every
    /// kind that appeared (even in an empty typed List such as `PodList`) as listed
    /// cluster-wide. Values that are not objects we read are skipped; the errors are returned
    /// for the caller to report.
    pub fn from_values(values: impl IntoIterator<Item = Value>) -> (Self, Vec<InsertError>) {
        let mut snapshot = Snapshot::new();
        let mut errors = Vec::new();
        for value in values {
            match snapshot.insert(value) {
                Ok(kinds) => {
                    for kind in kinds {
                        snapshot.mark_listed(&kind, Scope::Cluster);
                    }
                }
                Err(e) => errors.push(e),
            }
        }
        (snapshot, errors)
    }

    /// Inserts one object or a List (`kind: List` or a typed `…List`), returning the kinds
    /// seen (those we read). Unknown kinds are ignored (`Ok` with no kinds). Does **not** mark
    /// anything listed: see [`Snapshot::mark_listed`].
    pub fn insert(&mut self, value: Value) -> Result<Vec<String>, InsertError> {
        let kind = value
            .get("kind")
            .and_then(Value::as_str)
            .ok_or(InsertError::NotAnObject)?
            .to_string();
        if let Some(item_kind) = kind.strip_suffix("List") {
            let items = match value {
                Value::Object(mut map) => match map.remove("items") {
                    Some(Value::Array(items)) => items,
                    _ => Vec::new(),
                },
                _ => Vec::new(),
            };
            let mut kinds = Vec::new();
            // An empty typed List still proves the kind was listed (a namespace without pods).
            if !item_kind.is_empty() && Self::reads(item_kind) {
                kinds.push(item_kind.to_string());
            }
            for mut item in items {
                // Items of typed Lists often omit `kind`.
                if item.get("kind").is_none()
                    && !item_kind.is_empty()
                    && let Value::Object(map) = &mut item
                {
                    map.insert("kind".into(), Value::String(item_kind.to_string()));
                }
                for k in self.insert(item)? {
                    if !kinds.contains(&k) {
                        kinds.push(k);
                    }
                }
            }
            return Ok(kinds);
        }
        if !Self::reads(&kind) {
            return Ok(Vec::new());
        }
        let mut newest = self.newest;
        newest_past_timestamp(&value, &mut newest);
        self.newest = newest;
        match kind.as_str() {
            "Pod" => {
                let pod: Pod = parse(&kind, value)?;
                self.pods.insert(key_of(&pod.metadata), pod);
            }
            "Event" => {
                let wire: WireEvent = parse(&kind, value)?;
                let event = Event::from_wire(wire);
                let key = (
                    event.involved.kind.clone(),
                    event.namespace().unwrap_or("").to_string(),
                    event.involved.name.clone(),
                );
                self.events_by_object
                    .entry(key)
                    .or_default()
                    .push(self.events.len());
                self.events.push(event);
            }
            "ReplicaSet" | "Deployment" | "StatefulSet" | "DaemonSet" => {
                let w: Workload = parse(&kind, value)?;
                let map = match kind.as_str() {
                    "ReplicaSet" => &mut self.replica_sets,
                    "Deployment" => &mut self.deployments,
                    "StatefulSet" => &mut self.stateful_sets,
                    _ => &mut self.daemon_sets,
                };
                map.insert(key_of(&w.metadata), w);
            }
            "Job" => {
                let j: Job = parse(&kind, value)?;
                self.jobs.insert(key_of(&j.metadata), j);
            }
            "CronJob" => {
                let c: CronJob = parse(&kind, value)?;
                self.cron_jobs.insert(key_of(&c.metadata), c);
            }
            "PersistentVolumeClaim" => {
                let p: Pvc = parse(&kind, value)?;
                self.pvcs.insert(key_of(&p.metadata), p);
            }
            "StorageClass" => {
                let s: StorageClass = parse(&kind, value)?;
                self.storage_classes.insert(s.metadata.name.clone(), s);
            }
            "Certificate" => {
                let c: Certificate = parse(&kind, value)?;
                self.certificates.insert(key_of(&c.metadata), c);
            }
            "Service" => {
                let s: Service = parse(&kind, value)?;
                self.services.insert(key_of(&s.metadata), s);
            }
            "EndpointSlice" => {
                let s: EndpointSlice = parse(&kind, value)?;
                self.endpoint_slices.push(s);
            }
            "Endpoints" => {
                let e: Endpoints = parse(&kind, value)?;
                self.endpoints.insert(key_of(&e.metadata), e);
            }
            "Node" => {
                let n: Node = parse(&kind, value)?;
                self.nodes.insert(n.metadata.name.clone(), n);
            }
            "HorizontalPodAutoscaler" => {
                let h: Hpa = parse(&kind, value)?;
                self.hpas.insert(key_of(&h.metadata), h);
            }
            _ => {
                // Only Flux kinds are left (see `reads`).
                let f: FluxObject = parse(&kind, value)?;
                let (ns, name) = key_of(&f.metadata);
                self.flux.insert((kind.clone(), ns, name), f);
            }
        }
        Ok(vec![kind])
    }

    /// Whether the snapshot stores objects of this kind.
    pub fn reads(kind: &str) -> bool {
        matches!(
            kind,
            "Pod"
                | "Event"
                | "ReplicaSet"
                | "Deployment"
                | "StatefulSet"
                | "DaemonSet"
                | "Job"
                | "CronJob"
                | "PersistentVolumeClaim"
                | "StorageClass"
                | "Certificate"
                | "Service"
                | "EndpointSlice"
                | "Endpoints"
                | "Node"
                | "HorizontalPodAutoscaler"
        ) || FLUX_KINDS.contains(&kind)
    }

    /// Records that `kind` was listed over `scope` (merged with earlier listings).
    pub fn mark_listed(&mut self, kind: &str, scope: Scope) {
        let merged = match self.listed.get(kind) {
            Some(old) => old.union(&scope),
            None => scope,
        };
        self.listed.insert(kind.to_string(), merged);
    }

    /// Where `kind` was listed, if at all.
    pub fn listed(&self, kind: &str) -> Option<&Scope> {
        self.listed.get(kind)
    }

    /// Attaches a container log. Only the tail ([`MAX_LOG_BYTES`]) is kept.
    pub fn add_log(
        &mut self,
        namespace: &str,
        pod: &str,
        container: Option<&str>,
        previous: bool,
        text: &str,
    ) {
        let mut start = text.len().saturating_sub(MAX_LOG_BYTES);
        while !text.is_char_boundary(start) {
            start += 1;
        }
        self.logs
            .entry((namespace.to_string(), pod.to_string()))
            .or_default()
            .push(ContainerLog {
                container: container.map(str::to_string),
                previous,
                text: text[start..].to_string(),
            });
    }

    /// The newest past timestamp found in any inserted object: the offline "now".
    pub fn newest_timestamp(&self) -> Option<Millis> {
        self.newest
    }

    /// Number of objects stored (events included, logs excluded).
    pub fn object_count(&self) -> usize {
        self.pods.len()
            + self.events.len()
            + self.replica_sets.len()
            + self.deployments.len()
            + self.stateful_sets.len()
            + self.daemon_sets.len()
            + self.jobs.len()
            + self.cron_jobs.len()
            + self.pvcs.len()
            + self.storage_classes.len()
            + self.certificates.len()
            + self.services.len()
            + self.endpoint_slices.len()
            + self.endpoints.len()
            + self.nodes.len()
            + self.hpas.len()
            + self.flux.len()
    }

    // --- accessors ------------------------------------------------------------------------

    /// All pods, ordered by namespace and name.
    pub fn pods(&self) -> impl Iterator<Item = &Pod> {
        self.pods.values()
    }

    /// Pods of one namespace.
    pub fn pods_in<'a>(&'a self, namespace: &'a str) -> impl Iterator<Item = &'a Pod> + 'a {
        self.pods
            .range((namespace.to_string(), String::new())..)
            .take_while(move |((ns, _), _)| ns == namespace)
            .map(|(_, p)| p)
    }

    /// One pod.
    pub fn pod(&self, namespace: &str, name: &str) -> Option<&Pod> {
        self.pods.get(&(namespace.to_string(), name.to_string()))
    }

    /// All events, in insertion order.
    pub fn events(&self) -> &[Event] {
        &self.events
    }

    /// Events about one object.
    pub fn events_for<'a>(
        &'a self,
        kind: &str,
        namespace: &str,
        name: &str,
    ) -> impl Iterator<Item = &'a Event> + 'a {
        self.events_by_object
            .get(&(kind.to_string(), namespace.to_string(), name.to_string()))
            .into_iter()
            .flatten()
            .filter_map(|&i| self.events.get(i))
    }

    /// A workload by kind (`ReplicaSet`, `Deployment`, `StatefulSet`, `DaemonSet`).
    pub fn workload(&self, kind: &str, namespace: &str, name: &str) -> Option<&Workload> {
        let key = (namespace.to_string(), name.to_string());
        match kind {
            "ReplicaSet" => self.replica_sets.get(&key),
            "Deployment" => self.deployments.get(&key),
            "StatefulSet" => self.stateful_sets.get(&key),
            "DaemonSet" => self.daemon_sets.get(&key),
            _ => None,
        }
    }

    /// All workloads of one kind.
    pub fn workloads(&self, kind: &str) -> impl Iterator<Item = &Workload> {
        let map = match kind {
            "ReplicaSet" => Some(&self.replica_sets),
            "Deployment" => Some(&self.deployments),
            "StatefulSet" => Some(&self.stateful_sets),
            "DaemonSet" => Some(&self.daemon_sets),
            _ => None,
        };
        map.into_iter().flat_map(|m| m.values())
    }

    /// All Jobs.
    pub fn jobs(&self) -> impl Iterator<Item = &Job> {
        self.jobs.values()
    }

    /// One Job.
    pub fn job(&self, namespace: &str, name: &str) -> Option<&Job> {
        self.jobs.get(&(namespace.to_string(), name.to_string()))
    }

    /// One CronJob.
    pub fn cron_job(&self, namespace: &str, name: &str) -> Option<&CronJob> {
        self.cron_jobs
            .get(&(namespace.to_string(), name.to_string()))
    }

    /// All PVCs.
    pub fn pvcs(&self) -> impl Iterator<Item = &Pvc> {
        self.pvcs.values()
    }

    /// One PVC.
    pub fn pvc(&self, namespace: &str, name: &str) -> Option<&Pvc> {
        self.pvcs.get(&(namespace.to_string(), name.to_string()))
    }

    /// One StorageClass.
    pub fn storage_class(&self, name: &str) -> Option<&StorageClass> {
        self.storage_classes.get(name)
    }

    /// All Certificates.
    pub fn certificates(&self) -> impl Iterator<Item = &Certificate> {
        self.certificates.values()
    }

    /// All Services.
    pub fn services(&self) -> impl Iterator<Item = &Service> {
        self.services.values()
    }

    /// EndpointSlices of one Service.
    pub fn endpoint_slices_of<'a>(
        &'a self,
        namespace: &'a str,
        service: &'a str,
    ) -> impl Iterator<Item = &'a EndpointSlice> + 'a {
        self.endpoint_slices.iter().filter(move |s| {
            s.metadata.ns() == namespace
                && s.metadata
                    .labels
                    .get("kubernetes.io/service-name")
                    .map(String::as_str)
                    == Some(service)
        })
    }

    /// The legacy Endpoints of one Service.
    pub fn endpoints(&self, namespace: &str, name: &str) -> Option<&Endpoints> {
        self.endpoints
            .get(&(namespace.to_string(), name.to_string()))
    }

    /// All Nodes.
    pub fn nodes(&self) -> impl Iterator<Item = &Node> {
        self.nodes.values()
    }

    /// One Node.
    pub fn node(&self, name: &str) -> Option<&Node> {
        self.nodes.get(name)
    }

    /// All HPAs.
    pub fn hpas(&self) -> impl Iterator<Item = &Hpa> {
        self.hpas.values()
    }

    /// All Flux objects, ordered by kind, namespace, name.
    pub fn flux_objects(&self) -> impl Iterator<Item = &FluxObject> {
        self.flux.values()
    }

    /// One Flux object.
    pub fn flux_object(&self, kind: &str, namespace: &str, name: &str) -> Option<&FluxObject> {
        self.flux
            .get(&(kind.to_string(), namespace.to_string(), name.to_string()))
    }

    /// Logs of one pod.
    pub fn logs(&self, namespace: &str, pod: &str) -> &[ContainerLog] {
        self.logs
            .get(&(namespace.to_string(), pod.to_string()))
            .map_or(&[], Vec::as_slice)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lists_are_flattened_and_mark_their_kind_even_when_empty() {
        let (snap, errors) = Snapshot::from_values([
            json!({"kind": "PodList", "items": []}),
            json!({"kind": "List", "items": [
                {"kind": "Node", "metadata": {"name": "n1",
                    "creationTimestamp": "2026-01-01T00:00:00Z"}},
                {"kind": "ConfigMap", "metadata": {"name": "ignored"}}
            ]}),
        ]);
        assert!(errors.is_empty());
        assert_eq!(snap.listed("Pod"), Some(&Scope::Cluster));
        assert_eq!(snap.listed("Node"), Some(&Scope::Cluster));
        assert_eq!(snap.listed("ConfigMap"), None);
        assert_eq!(snap.object_count(), 1);
        assert!(snap.newest_timestamp().is_some());
    }

    #[test]
    fn future_timestamps_do_not_move_now() {
        let (snap, _) = Snapshot::from_values([json!({
            "kind": "Certificate",
            "metadata": {"name": "c", "namespace": "a", "creationTimestamp": "2026-01-01T00:00:00Z"},
            "status": {"notAfter": "2027-01-01T00:00:00Z", "renewalTime": "2026-12-01T00:00:00Z"}
        })]);
        assert_eq!(
            snap.newest_timestamp(),
            parse_rfc3339("2026-01-01T00:00:00Z")
        );
    }

    #[test]
    fn scopes_compose() {
        let a = Scope::Namespaces(["x".to_string(), "y".to_string()].into());
        let b = Scope::Namespaces(["y".to_string()].into());
        assert!(a.intersect(&b).covers(Some("y")));
        assert!(!a.intersect(&b).covers(Some("x")));
        assert!(!a.covers(None));
        assert!(Scope::Cluster.intersect(&a).covers(Some("x")));
        assert_eq!(a.union(&Scope::Cluster), Scope::Cluster);
    }

    #[test]
    fn log_tail_is_bounded_on_a_char_boundary() {
        let mut snap = Snapshot::new();
        let text = "é".repeat(MAX_LOG_BYTES);
        snap.add_log("a", "p", None, false, &text);
        let kept = &snap.logs("a", "p")[0].text;
        assert!(kept.len() <= MAX_LOG_BYTES);
        assert!(kept.starts_with('é'));
    }
}
