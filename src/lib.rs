//! bifrost: an AI gateway that puts every LLM provider behind one OpenAI-compatible API,
//! drop-in compatible with the Go gateway Bifrost (its HTTP API, `config.json` and headers).
//!
//! # Layout
//! One engine, three faces: the HTTP server, the dashboard's API and the CLI all call
//! [`engine::Gateway`].
//!
//! - [`cli`]: subcommands; the one place that prints.
//! - [`config`]: Bifrost's config.json types, loading, validation, secrets.
//! - [`dashboard`]: the embedded web UI (`ui/dist`) and its SPA fallback.
//! - [`engine`]: the gateway: routing, keys, retries, fallbacks, streams, admin.
//! - [`error`]: the one error type and its status table.
//! - [`http`]: router, thin handlers, the one error renderer.
//! - [`ingress`]: the Anthropic, Responses and GenAI formats to and from the canonical types.
//! - [`plugins`]: work around each request: the request log (logs.db, `/ws` events),
//!   Prometheus metrics, OpenTelemetry spans.
//! - [`providers`]: one module per wire format and the vendor table.
//! - [`schemas`]: wire and canonical types.
//! - [`server`]: binding, serving, graceful shutdown.
//! - [`store`]: the config store (config.db) and the logs store (logs.db).

pub mod cli;
pub mod config;
pub mod dashboard;
pub mod engine;
pub mod error;
pub mod http;
pub mod ingress;
pub mod json;
pub mod plugins;
pub mod providers;
pub mod schemas;
pub mod server;
pub mod store;

pub use error::{Error, Result};

/// The crate version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The git commit the binary was built from (12 hex digits), or `unknown`; set by build.rs.
pub const GIT_COMMIT: &str = env!("BIFROST_GIT_COMMIT");
