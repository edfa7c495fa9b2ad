//! Wiring metrics and tracing into `bifrost serve`: the Prometheus registry (on unless
//! config.json's `plugins` turns the `telemetry` entry off, like Bifrost's telemetry plugin) and
//! the `otel` plugin when config.json enables it, both registered as observers of the gateway.

use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use super::logging::Logging;
use super::otel::{self, Exporter, ExporterHandle, Otel};
use super::telemetry::Telemetry;
use crate::engine::tracking::Observer;
use crate::engine::Gateway;
use crate::error::Result;

/// How long shutdown waits for queued spans to be exported.
pub const OTEL_DRAIN: Duration = Duration::from_secs(5);

/// Metrics and tracing, set up before the gateway is shared.
#[derive(Debug)]
pub struct Observability {
    telemetry: Option<Arc<Telemetry>>,
    exporter: Option<Exporter>,
}

/// Builds the registry and the otel plugin (from config.json's `plugins`) and registers them
/// on the gateway. The custom labels are `client.prometheus_labels` as loaded now: changing
/// them needs a restart, as in Bifrost.
pub fn setup(
    app_dir: &Path,
    gateway: Gateway,
    logs: Option<&Logging>,
) -> Result<(Gateway, Observability)> {
    let plugins = crate::config::load_file(&app_dir.join("config.json"))?
        .and_then(|loaded| loaded.config.plugins);
    let otel = match otel::config_from_plugins(plugins.as_ref())? {
        Some(config) => Some(Otel::new(&config)?),
        None => None,
    };
    let mut telemetry = super::telemetry::enabled_in(plugins.as_ref())
        .then(|| Telemetry::new(&gateway.snapshot().client.prometheus_labels));
    if let Some(logs) = logs {
        let writer = Arc::clone(&logs.writer);
        telemetry = telemetry.map(|t| {
            t.with_counter(
                "bifrost_log_records_dropped_total",
                "Request log records dropped because the log writer's queue was full or a write failed.",
                move || writer.dropped(),
            )
        });
    }
    let mut observers: Vec<Arc<dyn Observer>> = Vec::new();
    let exporter = match otel {
        Some((plugin, exporter)) => {
            let dropped = plugin.dropped();
            telemetry = telemetry.map(|t| {
                t.with_counter(
                    "bifrost_otel_spans_dropped_total",
                    "OpenTelemetry spans dropped because the export queue was full or an export failed.",
                    move || dropped.load(Ordering::Relaxed),
                )
            });
            observers.push(plugin);
            Some(exporter)
        }
        None => None,
    };
    let telemetry = telemetry.map(Arc::new);
    if let Some(t) = &telemetry {
        observers.insert(0, Arc::clone(t) as Arc<dyn Observer>);
    }
    Ok((
        gateway.with_observers(observers),
        Observability {
            telemetry,
            exporter,
        },
    ))
}

impl Observability {
    /// Starts the span exporter (inside the runtime); returns the registry for the router (none
    /// when the telemetry plugin is off) and the exporter's handle for shutdown.
    pub fn start(self) -> (Option<Arc<Telemetry>>, Option<ExporterHandle>) {
        (self.telemetry, self.exporter.map(Exporter::spawn))
    }
}
