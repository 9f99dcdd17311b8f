//! cert-manager Certificate scanner.
//!
//! **Signals** (on the Certificate itself):
//! - `certificate_expiring`: `notAfter` within 14 days → warning, within 7 days (or past) →
//!   critical; a renewal more than 24 h past `renewalTime` → at least warning ("renewal
//!   overdue": cert-manager keeps failing to renew). Expiry and overdue renewal are one story
//!   and one signal; the message says why renewal is failing (the `Issuing` condition, failed
//!   attempts).
//! - `certificate_not_ready`: `Ready=False` for at least 10 minutes → critical (an ACME order
//!   normally completes in a minute or two). Not raised for an already expired certificate,
//!   which the expiry signal reports.
//!
//! **Resolution:** absence — a renewed (Ready, far from expiry) or deleted Certificate
//! resolves.

use crate::incident::Severity;
use crate::signal::{ObjectRef, Signal};
use crate::taxonomy::Category;
use crate::time::{Millis, secs, to_rfc3339};

use super::objects::condition;
use super::snapshot::Snapshot;
use super::{Settings, signal};

/// Detector name.
pub const DETECTOR: &str = "certificate_scanner";

/// Milliseconds per day.
const DAY_MS: Millis = 86_400_000;

/// The Certificate scanner.
pub fn detect(snap: &Snapshot, settings: &Settings, now: Millis) -> Vec<Signal> {
    let mut out = Vec::new();
    for cert in snap.certificates() {
        if cert.metadata.deletion_timestamp.is_some() {
            continue;
        }
        let name = &cert.metadata.name;
        let ns = cert.metadata.ns();
        let obj = ObjectRef::new("Certificate", name);
        let st = &cert.status;
        let issuing = condition(&st.conditions, "Issuing")
            .filter(|c| c.is_false() && !c.message.is_empty())
            .map(|c| format!(" Renewal is failing ({}): {}", c.reason, c.message))
            .unwrap_or_default();
        let attempts = st
            .failed_issuance_attempts
            .filter(|n| *n > 0)
            .map(|n| format!(" ({n} failed issuance attempts)"))
            .unwrap_or_default();
        let expired = st.not_after.is_some_and(|t| t <= now);
        if let Some(not_after) = st.not_after {
            let left = not_after - now;
            let overdue = st
                .renewal_time
                .is_some_and(|r| r <= now - secs(settings.certificate_renewal_overdue_secs));
            let critical = left <= days(settings.certificate_expiry_critical_days);
            let warning = left <= days(settings.certificate_expiry_warning_days) || overdue;
            if critical || warning {
                let (reason, what) = if expired {
                    ("Expired", format!("expired at {}", to_rfc3339(not_after)))
                } else if critical || left <= days(settings.certificate_expiry_warning_days) {
                    (
                        "Expiring",
                        format!(
                            "expires in {} days ({})",
                            left / DAY_MS,
                            to_rfc3339(not_after)
                        ),
                    )
                } else {
                    (
                        "RenewalOverdue",
                        format!(
                            "was due for renewal at {} and has not been renewed (expires {})",
                            st.renewal_time.map(to_rfc3339).unwrap_or_default(),
                            to_rfc3339(not_after)
                        ),
                    )
                };
                let since = st
                    .renewal_time
                    .unwrap_or(not_after - days(settings.certificate_expiry_warning_days))
                    .min(now);
                out.push(signal(
                    DETECTOR,
                    settings,
                    Some(ns),
                    obj.clone(),
                    obj.clone(),
                    reason,
                    Category::CertificateExpiring,
                    if critical {
                        Severity::Critical
                    } else {
                        Severity::Warning
                    },
                    since,
                    now,
                    format!("Certificate {name} {what}.{issuing}{attempts}"),
                ));
            }
        }
        if !expired
            && let Some(ready) = condition(&st.conditions, "Ready")
            && ready.is_false()
            && let Some(since) = ready.since()
            && since <= now - secs(settings.certificate_not_ready_grace_secs)
        {
            out.push(signal(
                DETECTOR,
                settings,
                Some(ns),
                obj.clone(),
                obj,
                &ready.reason,
                Category::CertificateNotReady,
                Severity::Critical,
                since,
                now,
                format!(
                    "Certificate {name} is not Ready ({}): {}.{issuing}{attempts}",
                    ready.reason, ready.message
                ),
            ));
        }
    }
    out
}

fn days(n: u64) -> Millis {
    secs(n.saturating_mul(86_400))
}
