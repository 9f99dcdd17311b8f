//! SRE Guardian, the binary crate: every side effect lives here (store, HTTP, CLI; Kubernetes
//! and notifications later). The domain rules are in `guardian_core`.
//!
//! Modules, in data-flow order:
//! - [`alertmanager`]: the first signal source (webhook payload → observations).
//! - [`engine`]: applies observations, operator actions and clock ticks to the store.
//! - [`store`]: the single source of truth (SQLite).
//! - [`api`]: the HTTP API; [`client`]: the CLI's client of it.
//! - [`k8s`]: the Kubernetes detectors of `guardian run` (watch caches, scan timer, RBAC
//!   self check); [`run`]: the operator command.
//! - [`config`], [`cli`], [`serve`], [`telemetry`], [`metrics`]: plumbing.

pub mod alertmanager;
pub mod analyze;
pub mod api;
pub mod cli;
pub mod client;
pub mod config;
pub mod engine;
pub mod k8s;
pub mod llm;
pub mod metrics;
pub mod notify;
pub mod redact_cmd;
pub mod run;
pub mod scan;
pub mod serve;
pub mod snapshot;
pub mod store;
pub mod telemetry;
