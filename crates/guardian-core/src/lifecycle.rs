//! Legal status transitions and the audit rows that record them.
//!
//! ```text
//!   (new) ──► open ──ack──► acknowledged
//!              ▲  ╲            │  ╲
//!   reopen /   │   resolve     │   resolve
//!   ack expiry │     ╲         │     ╲
//!              └──────────── resolved ◄┘
//! ```

use serde::{Deserialize, Serialize};

use crate::incident::Status;
use crate::time::Millis;

/// What happened, as recorded in the audit timeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AuditAction {
    /// A new incident.
    Opened,
    /// A human acknowledged it.
    Acknowledged,
    /// Resolved by a human or auto-resolved by a detector.
    Resolved,
    /// A new sighting on a resolved incident inside the reopen window.
    Reopened,
    /// The acknowledgement lapsed while the incident was still open.
    AckExpired,
    /// An escalation level fired (status unchanged).
    Escalated,
    /// A detector reported a higher severity (status unchanged).
    SeverityRaised,
}

impl AuditAction {
    /// The persisted spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::Opened => "opened",
            AuditAction::Acknowledged => "acknowledged",
            AuditAction::Resolved => "resolved",
            AuditAction::Reopened => "reopened",
            AuditAction::AckExpired => "ack_expired",
            AuditAction::Escalated => "escalated",
            AuditAction::SeverityRaised => "severity_raised",
        }
    }

    /// Parses the persisted spelling.
    pub fn parse(text: &str) -> Option<AuditAction> {
        [
            AuditAction::Opened,
            AuditAction::Acknowledged,
            AuditAction::Resolved,
            AuditAction::Reopened,
            AuditAction::AckExpired,
            AuditAction::Escalated,
            AuditAction::SeverityRaised,
        ]
        .into_iter()
        .find(|a| a.as_str() == text)
    }
}

/// One audit row: every transition has one (actor, time, note, from, to).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// When.
    pub at: Millis,
    /// Who: an operator name, a detector name, or `guardian` for clock-driven changes.
    pub actor: String,
    /// What happened.
    pub action: AuditAction,
    /// Status before (`None` for a new incident).
    pub from: Option<Status>,
    /// Status after.
    pub to: Status,
    /// Free text: the operator's note or the machine's reason.
    pub note: String,
}

/// An operator asked for a transition the lifecycle forbids (HTTP 409).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot {action} an incident that is {from}")]
pub struct IllegalTransition {
    /// The requested action (`acknowledge`, `resolve`).
    pub action: &'static str,
    /// The status it was in.
    pub from: Status,
}

/// Operator-driven transitions, checked. Clock- and detector-driven ones (reopen, ack expiry,
/// auto-resolve) are decided in [`crate::decide`] and never illegal by construction.
pub fn check(from: Status, to: Status) -> Result<(), IllegalTransition> {
    match (from, to) {
        (Status::Open, Status::Acknowledged)
        | (Status::Open, Status::Resolved)
        | (Status::Acknowledged, Status::Resolved)
        | (Status::Acknowledged, Status::Open)
        | (Status::Resolved, Status::Open) => Ok(()),
        (from, Status::Acknowledged) => Err(IllegalTransition {
            action: "acknowledge",
            from,
        }),
        (from, Status::Resolved) => Err(IllegalTransition {
            action: "resolve",
            from,
        }),
        (from, Status::Open) => Err(IllegalTransition {
            action: "reopen",
            from,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Status::*;

    #[test]
    fn every_pair_is_classified() {
        let legal = [
            (Open, Acknowledged),
            (Open, Resolved),
            (Acknowledged, Resolved),
            (Acknowledged, Open),
            (Resolved, Open),
        ];
        for from in [Open, Acknowledged, Resolved] {
            for to in [Open, Acknowledged, Resolved] {
                assert_eq!(
                    check(from, to).is_ok(),
                    legal.contains(&(from, to)),
                    "{from} -> {to}"
                );
            }
        }
    }

    #[test]
    fn illegal_message_is_readable() {
        let err = check(Resolved, Acknowledged).unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot acknowledge an incident that is resolved"
        );
    }
}
