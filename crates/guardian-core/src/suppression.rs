//! Silences: match on namespace / kind / name glob / category, with an expiry and a reason.
//! Suppressed signals are still counted; they are never notified.

use globset::{Glob, GlobMatcher};
use serde::{Deserialize, Serialize};

use crate::taxonomy::Category;
use crate::time::Millis;

/// A stored suppression.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Suppression {
    /// Opaque id.
    pub id: String,
    /// Namespace glob (`shop-*`); `None` = any namespace.
    pub namespace: Option<String>,
    /// Exact kind of the incident's object (`Deployment`); `None` = any.
    pub kind: Option<String>,
    /// Name glob matched against the top owner's name; `None` = any.
    pub name: Option<String>,
    /// Category (failure class); `None` = any.
    pub category: Option<Category>,
    /// Why (required: a silence nobody can explain is a silence nobody can remove).
    pub reason: String,
    /// Who created it.
    pub created_by: String,
    /// When it was created.
    pub created_at: Millis,
    /// When it stops applying.
    pub expires_at: Millis,
}

/// What a suppression is matched against.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    /// Namespace, `None` when cluster-scoped.
    pub namespace: Option<&'a str>,
    /// Kind of the top owner.
    pub kind: &'a str,
    /// Name of the top owner.
    pub name: &'a str,
    /// Failure class.
    pub category: Category,
}

/// A suppression request that cannot be stored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidSuppression {
    /// No matcher at all would silence everything; refuse it.
    #[error("a suppression needs at least one of namespace, kind, name or category")]
    MatchesEverything,
    /// A glob does not parse.
    #[error("`{field}` is not a valid glob: {message}")]
    BadGlob {
        /// Which field.
        field: &'static str,
        /// The parser's message.
        message: String,
    },
    /// The reason is empty.
    #[error("`reason` must not be empty")]
    NoReason,
    /// Expiry not in the future.
    #[error("`expires_at` must be in the future")]
    AlreadyExpired,
}

fn glob(field: &'static str, pattern: &str) -> Result<GlobMatcher, InvalidSuppression> {
    Glob::new(pattern)
        .map(|g| g.compile_matcher())
        .map_err(|e| InvalidSuppression::BadGlob {
            field,
            message: e.kind().to_string(),
        })
}

impl Suppression {
    /// Checks a suppression before it is stored.
    pub fn validate(&self, now: Millis) -> Result<(), InvalidSuppression> {
        if self.namespace.is_none()
            && self.kind.is_none()
            && self.name.is_none()
            && self.category.is_none()
        {
            return Err(InvalidSuppression::MatchesEverything);
        }
        if self.reason.trim().is_empty() {
            return Err(InvalidSuppression::NoReason);
        }
        if self.expires_at <= now {
            return Err(InvalidSuppression::AlreadyExpired);
        }
        if let Some(ns) = &self.namespace {
            glob("namespace", ns)?;
        }
        if let Some(name) = &self.name {
            glob("name", name)?;
        }
        Ok(())
    }

    /// Whether this suppression is in force at `now`.
    pub fn is_active(&self, now: Millis) -> bool {
        self.expires_at > now
    }

    /// Whether it silences `target` at `now`. Every given matcher must match.
    pub fn matches(&self, target: &Target<'_>, now: Millis) -> bool {
        if !self.is_active(now) {
            return false;
        }
        let glob_ok = |field, pattern: &Option<String>, value: &str| match pattern {
            None => true,
            Some(p) => glob(field, p).is_ok_and(|m| m.is_match(value)),
        };
        glob_ok("namespace", &self.namespace, target.namespace.unwrap_or(""))
            && self.kind.as_deref().is_none_or(|k| k == target.kind)
            && glob_ok("name", &self.name, target.name)
            && self.category.is_none_or(|c| c == target.category)
    }
}

/// The first active suppression that silences `target`, if any.
pub fn find<'s>(
    suppressions: &'s [Suppression],
    target: &Target<'_>,
    now: Millis,
) -> Option<&'s Suppression> {
    suppressions.iter().find(|s| s.matches(target, now))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sup() -> Suppression {
        Suppression {
            id: "s1".into(),
            namespace: Some("shop-*".into()),
            kind: None,
            name: Some("api*".into()),
            category: Some(Category::CrashLoop),
            reason: "known bad deploy".into(),
            created_by: "alice".into(),
            created_at: 0,
            expires_at: 1_000,
        }
    }

    fn target(ns: &str, name: &str, category: Category) -> Target<'static> {
        Target {
            namespace: Some(Box::leak(ns.to_string().into_boxed_str())),
            kind: "Deployment",
            name: Box::leak(name.to_string().into_boxed_str()),
            category,
        }
    }

    #[test]
    fn all_matchers_must_match() {
        let s = sup();
        assert!(s.matches(&target("shop-eu", "api-v2", Category::CrashLoop), 10));
        assert!(!s.matches(&target("billing", "api-v2", Category::CrashLoop), 10));
        assert!(!s.matches(&target("shop-eu", "web", Category::CrashLoop), 10));
        assert!(!s.matches(&target("shop-eu", "api", Category::OomKilled), 10));
    }

    #[test]
    fn expiry_ends_the_silence() {
        let s = sup();
        let t = target("shop-eu", "api", Category::CrashLoop);
        assert!(s.matches(&t, 999));
        assert!(!s.matches(&t, 1_000));
    }

    #[test]
    fn validation_rejects_catch_all_bad_glob_and_past_expiry() {
        let mut s = sup();
        assert_eq!(s.validate(0), Ok(()));
        s.name = Some("api[".into());
        assert!(matches!(
            s.validate(0),
            Err(InvalidSuppression::BadGlob { field: "name", .. })
        ));
        let mut s = sup();
        s.namespace = None;
        s.name = None;
        s.category = None;
        assert_eq!(s.validate(0), Err(InvalidSuppression::MatchesEverything));
        assert_eq!(
            sup().validate(1_000),
            Err(InvalidSuppression::AlreadyExpired)
        );
    }
}
