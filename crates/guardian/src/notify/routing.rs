//! Which channels hear about a decision.
//!
//! Routes are evaluated in order. The first route whose matchers all match contributes its
//! channels, and evaluation stops there unless the route says `continue: true` (Alertmanager's
//! semantics, so an SRE's intuition carries over). When no route matches, the default route
//! applies: `default_channels`, or every configured channel when that list is empty. Suppressed
//! incidents never reach routing: the decision stage records no notification for them.

use globset::{Glob, GlobMatcher};
use guardian_core::{Category, Incident, Severity};

use crate::config::{NotificationsConfig, RouteConfig};

/// A compiled route.
#[derive(Debug, Clone)]
struct Route {
    severities: Vec<Severity>,
    namespaces: Vec<GlobMatcher>,
    categories: Vec<Category>,
    detectors: Vec<String>,
    clusters: Vec<String>,
    channels: Vec<String>,
    continue_matching: bool,
}

impl Route {
    fn compile(config: &RouteConfig) -> Self {
        Self {
            severities: config.severities.clone(),
            // Globs were validated with the config; an invalid one cannot reach here.
            namespaces: config
                .namespaces
                .iter()
                .filter_map(|g| Glob::new(g).ok().map(|g| g.compile_matcher()))
                .collect(),
            categories: config.categories.clone(),
            detectors: config.detectors.clone(),
            clusters: config.clusters.clone(),
            channels: config.channels.clone(),
            continue_matching: config.continue_matching,
        }
    }

    fn matches(&self, incident: &Incident) -> bool {
        let any = |empty: bool, hit: bool| empty || hit;
        any(
            self.severities.is_empty(),
            self.severities.contains(&incident.severity),
        ) && any(
            self.namespaces.is_empty(),
            incident
                .namespace
                .as_deref()
                .is_some_and(|ns| self.namespaces.iter().any(|g| g.is_match(ns))),
        ) && any(
            self.categories.is_empty(),
            self.categories.contains(&incident.category),
        ) && any(
            self.detectors.is_empty(),
            self.detectors.contains(&incident.detector),
        ) && any(
            self.clusters.is_empty(),
            self.clusters.contains(&incident.cluster),
        )
    }
}

/// The routing table.
#[derive(Debug, Clone)]
pub struct Router {
    routes: Vec<Route>,
    default: Vec<String>,
}

impl Router {
    /// Compiles the configured routes. `channels` are the names of the channels actually built
    /// (the console channel when none is configured).
    pub fn new(config: &NotificationsConfig, channels: &[String]) -> Self {
        let default = if config.default_channels.is_empty() {
            channels.to_vec()
        } else {
            config.default_channels.clone()
        };
        Self {
            routes: config.routes.iter().map(Route::compile).collect(),
            default,
        }
    }

    /// Channels for a decision about `incident`, deduplicated, in route order.
    pub fn channels(&self, incident: &Incident) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let mut matched = false;
        for route in &self.routes {
            if !route.matches(incident) {
                continue;
            }
            matched = true;
            for c in &route.channels {
                if !out.contains(c) {
                    out.push(c.clone());
                }
            }
            if !route.continue_matching {
                break;
            }
        }
        if !matched {
            out = self.default.clone();
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use guardian_core::{ObjectRef, Status};

    fn incident(ns: Option<&str>, severity: Severity, category: Category) -> Incident {
        Incident {
            id: "i".into(),
            fingerprint: "f".into(),
            cluster: "prod".into(),
            namespace: ns.map(str::to_string),
            object: ObjectRef::new("Deployment", "api"),
            detector: "alertmanager".into(),
            reason: "r".into(),
            category,
            message: String::new(),
            severity,
            detector_severity: severity,
            status: Status::Open,
            escalations: vec![],
            first_seen: 0,
            last_seen: 0,
            opened_at: 0,
            occurrences: 1,
            suppressed_occurrences: 0,
            acknowledged_at: None,
            acknowledged_by: None,
            ack_expires_at: None,
            resolved_at: None,
            resolved_by: None,
            last_notified_at: None,
            announced: true,
            needs_review: false,
        }
    }

    fn router(yaml: &str) -> Router {
        let config: NotificationsConfig = yaml_serde::from_str(yaml).unwrap();
        Router::new(
            &config,
            &["console".into(), "slack".into(), "pd".into(), "hook".into()],
        )
    }

    const TABLE: &str = r#"
routes:
  - severities: [critical]
    namespaces: ["shop-*"]
    channels: [pd, slack]
  - categories: [certificate_expiring]
    channels: [hook]
    continue: true
  - detectors: [alertmanager]
    clusters: [prod]
    channels: [slack]
default_channels: [console]
"#;

    #[test]
    fn first_match_wins() {
        let r = router(TABLE);
        let crit = incident(Some("shop-eu"), Severity::Critical, Category::CrashLoop);
        assert_eq!(r.channels(&crit), ["pd", "slack"]);
        // warning in shop-eu skips route 1 and lands on route 3
        let warn = incident(Some("shop-eu"), Severity::Warning, Category::CrashLoop);
        assert_eq!(r.channels(&warn), ["slack"]);
    }

    #[test]
    fn continue_collects_later_routes() {
        let r = router(TABLE);
        let cert = incident(
            Some("infra"),
            Severity::Warning,
            Category::CertificateExpiring,
        );
        assert_eq!(r.channels(&cert), ["hook", "slack"]);
    }

    #[test]
    fn default_route_when_nothing_matches() {
        let r = router(TABLE);
        let mut other = incident(Some("batch"), Severity::Info, Category::JobFailed);
        other.detector = "pod_scanner".into();
        assert_eq!(r.channels(&other), ["console"]);
        // cluster-scoped incidents never match a namespace glob
        let mut node = incident(None, Severity::Critical, Category::NodeNotReady);
        node.detector = "node_scanner".into();
        assert_eq!(r.channels(&node), ["console"]);
    }

    #[test]
    fn empty_default_means_every_channel() {
        let r = router("routes: []\n");
        let i = incident(Some("a"), Severity::Info, Category::Unknown);
        assert_eq!(r.channels(&i), ["console", "slack", "pd", "hook"]);
    }
}
