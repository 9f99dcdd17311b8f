//! SRE Guardian, the binary crate: every side effect lives here (store, HTTP, CLI; Kubernetes
//! and notifications later). The domain rules are in `guardian_core`.
//!
//! Modules, in data-flow order:
//! - [`alertmanager`]: the first signal source (webhook payload → observations).
//! - [`engine`]: applies observations, operator actions and clock ticks to the store.
//! - [`store`]: the single source of truth (SQLite).
//! - [`api`]: the HTTP API; [`client`]: the CLI's client of it.
//! - [`config`], [`cli`], [`serve`], [`telemetry`], [`metrics`]: plumbing.

pub mod alertmanager;
pub mod api;
pub mod cli;
pub mod client;
pub mod config;
pub mod engine;
pub mod metrics;
pub mod notify;
pub mod serve;
pub mod store;
pub mod telemetry;
