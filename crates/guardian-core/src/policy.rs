//! The tunables of [`crate::decide`], in domain units (milliseconds). The binary's config maps
//! onto this; defaults follow architecture.md.

use crate::time::{Millis, secs};

/// How incidents open, merge, escalate, notify and age.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// A sighting this long after a resolve reopens the same incident; later ones open a new
    /// incident with the same fingerprint.
    pub reopen_window_ms: Millis,
    /// A silence this long between sightings of a still-open incident ends an episode, so the
    /// next sighting counts as a new one for the recurring rule.
    pub episode_gap_ms: Millis,
    /// Minimum time between two announcements (opened/reopened) of one incident, so
    /// a flapping cause does not page on every flap. Escalations and resolves are not delayed.
    pub notify_cooldown_ms: Millis,
    /// Default lifetime of an acknowledgement; `None` = acknowledgements never expire.
    pub ack_expiry_ms: Option<Millis>,
    /// Recurring: this many episodes …
    pub recurring_episodes: u32,
    /// … within this window.
    pub recurring_window_ms: Millis,
    /// Persistent: open and unacknowledged for longer than this.
    pub persistent_unacked_ms: Millis,
    /// Persistent: open (even when acknowledged) for longer than this.
    pub persistent_open_ms: Millis,
    /// Resolved incidents older than this are deleted with their history.
    pub resolved_retention_ms: Millis,
    /// Re-notify a critical, open, unacknowledged incident this long after its last notice;
    /// `None` (the default) = never: "still firing" is not news.
    pub repeat_interval_ms: Option<Millis>,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            reopen_window_ms: secs(24 * 3600),
            episode_gap_ms: secs(30 * 60),
            notify_cooldown_ms: secs(5 * 60),
            ack_expiry_ms: Some(secs(4 * 3600)),
            recurring_episodes: 3,
            recurring_window_ms: secs(24 * 3600),
            persistent_unacked_ms: secs(3600),
            persistent_open_ms: secs(24 * 3600),
            resolved_retention_ms: secs(30 * 24 * 3600),
            repeat_interval_ms: None,
        }
    }
}
