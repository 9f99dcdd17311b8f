//! Start-up self check: the guardian asks the API server what its own identity may do.
//!
//! Uses `SelfSubjectAccessReview` (one yes/no question per verb and resource) rather than
//! `SelfSubjectRulesReview`: the rules review is per namespace and explicitly incomplete
//! (webhook authorizers may not enumerate rules), while an access review asks the authorizer
//! chain the exact question and also answers "across all namespaces".
//!
//! **Broad permissions** (refuse to run unless `kubernetes.allow_broad_permissions`):
//! `get`/`list`/`watch` on Secrets, any write (`create`/`update`/`patch`/`delete`) on Pods and
//! workloads, `create pods/exec`. Asked cluster-wide, and in every configured namespace when
//! `kubernetes.namespaces` is set (a RoleBinding there would not show cluster-wide).
//!
//! **Missing reads** (a warning, never fatal): `list`/`watch` on a watched kind. That kind's
//! watch will fail with 403, its detectors stay paused, and nothing is wrongly resolved; the
//! log line says which role rule to add.

use futures::{StreamExt, stream};
use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec,
};
use kube::api::{Api, PostParams};

use super::kinds::WatchedKind;
use super::{Error, Result};
use crate::config::KubernetesConfig;

/// Reviews in flight at once: start-up asks a few dozen questions, and the API server's
/// priority-and-fairness limits should not see a burst of hundreds.
const CONCURRENCY: usize = 8;

/// Verbs that change objects.
const WRITE_VERBS: &[&str] = &["create", "update", "patch", "delete"];

/// Workload resources the guardian must never write: `(group, resource)`.
const WORKLOADS: &[(&str, &str)] = &[
    ("", "pods"),
    ("apps", "deployments"),
    ("apps", "replicasets"),
    ("apps", "statefulsets"),
    ("apps", "daemonsets"),
    ("batch", "jobs"),
    ("batch", "cronjobs"),
];

/// One access question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Question {
    /// Verb.
    pub verb: &'static str,
    /// API group (`""` = core).
    pub group: String,
    /// Resource (plural).
    pub resource: String,
    /// Subresource (`exec`).
    pub subresource: Option<&'static str>,
    /// Namespace; `None` = all namespaces / cluster-scoped.
    pub namespace: Option<String>,
}

impl std::fmt::Display for Question {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.verb, self.resource)?;
        if let Some(sub) = self.subresource {
            write!(f, "/{sub}")?;
        }
        if !self.group.is_empty() {
            write!(f, ".{}", self.group)?;
        }
        match &self.namespace {
            Some(ns) => write!(f, " ({ns})"),
            None => write!(f, " (all namespaces)"),
        }
    }
}

/// What the review found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Review {
    /// Broad permissions the identity has.
    pub broad: Vec<Question>,
    /// Reads it needs and lacks.
    pub missing_reads: Vec<Question>,
}

fn scopes(config: &KubernetesConfig) -> Vec<Option<String>> {
    let mut out = vec![None];
    out.extend(config.namespaces.iter().cloned().map(Some));
    out
}

/// The broad-permission questions for this configuration.
pub fn broad_questions(config: &KubernetesConfig) -> Vec<Question> {
    let mut out = Vec::new();
    for namespace in scopes(config) {
        for verb in ["get", "list", "watch"] {
            out.push(Question {
                verb,
                group: String::new(),
                resource: "secrets".into(),
                subresource: None,
                namespace: namespace.clone(),
            });
        }
        for (group, resource) in WORKLOADS {
            for verb in WRITE_VERBS {
                out.push(Question {
                    verb,
                    group: (*group).into(),
                    resource: (*resource).into(),
                    subresource: None,
                    namespace: namespace.clone(),
                });
            }
        }
        out.push(Question {
            verb: "create",
            group: String::new(),
            resource: "pods".into(),
            subresource: Some("exec"),
            namespace: namespace.clone(),
        });
    }
    out
}

/// The read questions for the watched kinds, in the scopes they are watched.
pub fn read_questions(kinds: &[WatchedKind], config: &KubernetesConfig) -> Vec<Question> {
    let mut out = Vec::new();
    for kind in kinds {
        let namespaces: Vec<Option<String>> = if kind.namespaced && !config.namespaces.is_empty() {
            config.namespaces.iter().cloned().map(Some).collect()
        } else {
            vec![None]
        };
        for namespace in namespaces {
            for verb in ["list", "watch"] {
                out.push(Question {
                    verb,
                    group: kind.resource.group.clone(),
                    resource: kind.resource.plural.clone(),
                    subresource: None,
                    namespace: namespace.clone(),
                });
            }
        }
    }
    out
}

async fn allowed(api: &Api<SelfSubjectAccessReview>, q: &Question) -> Result<bool> {
    let review = SelfSubjectAccessReview {
        spec: SelfSubjectAccessReviewSpec {
            resource_attributes: Some(ResourceAttributes {
                verb: Some(q.verb.to_string()),
                group: Some(q.group.clone()),
                resource: Some(q.resource.clone()),
                subresource: q.subresource.map(str::to_string),
                namespace: q.namespace.clone(),
                ..ResourceAttributes::default()
            }),
            ..SelfSubjectAccessReviewSpec::default()
        },
        ..SelfSubjectAccessReview::default()
    };
    let answer = api
        .create(&PostParams::default(), &review)
        .await
        .map_err(|source| Error::PermissionCheck { source })?;
    Ok(answer.status.is_some_and(|s| s.allowed))
}

/// Asks every question; returns those whose answer equals `want`.
async fn ask(client: &kube::Client, questions: Vec<Question>, want: bool) -> Result<Vec<Question>> {
    let api: Api<SelfSubjectAccessReview> = Api::all(client.clone());
    let answers: Vec<Result<(Question, bool)>> = stream::iter(questions)
        .map(|q| {
            let api = api.clone();
            async move { allowed(&api, &q).await.map(|a| (q, a)) }
        })
        .buffered(CONCURRENCY)
        .collect()
        .await;
    let mut out = Vec::new();
    for answer in answers {
        let (q, allowed) = answer?;
        if allowed == want {
            out.push(q);
        }
    }
    Ok(out)
}

fn join(questions: &[Question]) -> String {
    questions
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The broad-permission check: refuses with [`Error::BroadPermissions`] unless allowed.
pub async fn check(client: &kube::Client, config: &KubernetesConfig) -> Result<Review> {
    let broad = ask(client, broad_questions(config), true).await?;
    let review = Review {
        broad,
        missing_reads: Vec::new(),
    };
    if review.broad.is_empty() {
        tracing::info!(
            "Reviewed the guardian's permissions: it cannot read Secrets or write workloads."
        );
        return Ok(review);
    }
    let findings = join(&review.broad);
    if config.allow_broad_permissions {
        tracing::warn!(
            findings = %findings,
            "This identity can read Secrets or write workloads; running anyway because kubernetes.allow_broad_permissions is set."
        );
        Ok(review)
    } else {
        tracing::error!(
            findings = %findings,
            "This identity can read Secrets or write workloads; refusing to run."
        );
        Err(Error::BroadPermissions { findings })
    }
}

/// The read check: logs (never fails on) reads the watched kinds need and the identity lacks.
pub async fn check_reads(
    client: &kube::Client,
    kinds: &[WatchedKind],
    config: &KubernetesConfig,
) -> Result<Vec<Question>> {
    let missing = ask(client, read_questions(kinds, config), false).await?;
    if missing.is_empty() {
        tracing::info!(
            kinds = kinds.len(),
            "Reviewed the guardian's read permissions: every watched kind is readable."
        );
    } else {
        tracing::warn!(
            missing = %join(&missing),
            "The guardian cannot read some watched kinds; their detectors stay paused. Grant get/list/watch on them (see deploy/rbac.yaml)."
        );
    }
    Ok(missing)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn questions_cover_secrets_writes_and_exec_in_every_scope() {
        let config = KubernetesConfig {
            namespaces: vec!["shop".into()],
            ..KubernetesConfig::default()
        };
        let q = broad_questions(&config);
        let per_scope = 3 + WORKLOADS.len() * WRITE_VERBS.len() + 1;
        assert_eq!(q.len(), 2 * per_scope);
        let text: Vec<String> = q.iter().map(ToString::to_string).collect();
        assert!(text.contains(&"list secrets (all namespaces)".to_string()));
        assert!(text.contains(&"patch deployments.apps (shop)".to_string()));
        assert!(text.contains(&"create pods/exec (shop)".to_string()));
    }

    #[test]
    fn reads_follow_the_watch_scopes() {
        let config = KubernetesConfig {
            namespaces: vec!["a".into(), "b".into()],
            ..KubernetesConfig::default()
        };
        let kinds = crate::k8s::kinds::builtins();
        let q = read_questions(&kinds, &config);
        let text: Vec<String> = q.iter().map(ToString::to_string).collect();
        assert!(text.contains(&"watch pods (a)".to_string()));
        assert!(text.contains(&"list pods (b)".to_string()));
        assert!(text.contains(&"list nodes (all namespaces)".to_string()));
        assert!(!text.contains(&"list pods (all namespaces)".to_string()));
    }
}
