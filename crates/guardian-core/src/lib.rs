//! SRE Guardian's pure domain.
//!
//! Everything that decides *what an incident is* lives here, free of I/O so it is tested in
//! seconds with an injected clock:
//!
//! ```text
//!  detect ─────► decide ─────────────► analyze ─────► notify
//!  Signal        fingerprint            (later)        NotificationKind records
//!                lifecycle / escalation                written with the state change
//!                suppressions
//! ```
//!
//! - [`signal`]: what a detector (or the Alertmanager receiver) reports.
//! - [`fingerprint`]: the deterministic identity of an incident.
//! - [`incident`]: the incident record, its severity and status.
//! - [`lifecycle`]: legal transitions and the audit rows they produce.
//! - [`decide`]: what one sighting, one operator action or one clock tick does to an incident.
//! - [`suppression`]: silences and how they match.
//! - [`policy`]: the tunables of [`decide`] (grace, cooldown, escalation thresholds).
//! - [`analysis`]: the analysis answer schema shared by the rules engine and LLMs.
//! - [`budget`]: token and cost windows as plain arithmetic.
//! - [`redact`]: the mandatory redactor.
//!
//! The binary crate owns the store; it calls into [`decide`] inside one write transaction, so
//! the state change and the notification decisions it causes are persisted together.

#![warn(missing_docs)]

pub mod analysis;
pub mod budget;
pub mod decide;
pub mod detect;
pub mod fingerprint;
pub mod incident;
pub mod lifecycle;
pub mod policy;
pub mod redact;
pub mod signal;
pub mod suppression;
pub mod taxonomy;
pub mod time;

pub use incident::{Incident, Severity, Status};
pub use signal::{ObjectRef, Signal};
pub use taxonomy::Category;
