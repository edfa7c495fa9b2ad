//! Plugins: the work done around every request that is not routing itself.
//!
//! # Order
//! Bifrost's built-in order is kept: telemetry (1), logging (2), governance (3), otel (4),
//! semantic_cache (5). Pre-hooks run in that order before the provider is called; post-hooks
//! run in reverse after it, always, with the error if there was one.
//!
//! Post-hooks that only observe (the request log, metrics) are [`Observer`]s: the engine hands
//! each of them exactly one record per accepted request, finished, failed or cancelled, in the
//! order they were registered with `Gateway::with_observers`. They must only enqueue: nothing
//! on the request path waits on disk or network.
//!
//! - [`logging`]: request logs in `logs.db` and live `/ws` events.
//! - [`governance`]: virtual keys, budgets, rate limits, cost, admin auth (an `Admission`).
//! - [`telemetry`]: Prometheus metrics at `/metrics` (on unless config.json's `plugins` has
//!   `{"name": "telemetry", "enabled": false}`).
//! - [`otel`]: OpenTelemetry spans exported over OTLP (HTTP or gRPC).
//!
//! [`Observer`]: crate::engine::tracking::Observer

pub mod governance;
pub mod logging;
pub mod observability;
pub mod otel;
pub mod telemetry;

use serde_json::Value;

/// The entry named `name` in config.json's `plugins` array (`{"enabled", "name", "config"}`),
/// if there is one.
pub fn entry<'a>(plugins: Option<&'a Value>, name: &str) -> Option<&'a Value> {
    plugins?
        .as_array()?
        .iter()
        .find(|e| e.get("name").and_then(Value::as_str) == Some(name))
}

/// The `enabled` flag of a `plugins` entry (a missing flag is off, as in Bifrost).
pub fn is_enabled(entry: &Value) -> bool {
    entry
        .get("enabled")
        .and_then(Value::as_bool)
        .unwrap_or(false)
}
