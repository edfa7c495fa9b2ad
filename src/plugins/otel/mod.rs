//! The `otel` plugin: one OpenTelemetry span per request, exported over OTLP/HTTP or OTLP/gRPC
//! to `collector_url` (Bifrost's `plugins[]` entry `{"name": "otel", "config": {...}}`).
//!
//! The request path does one non-blocking `try_send` of the trimmed record into a bounded
//! queue ([`QUEUE_CAPACITY`]). One background task turns records into spans, batches them (up
//! to [`MAX_BATCH`] spans or [`BATCH_DELAY`]) and exports each batch. A full queue or a failed
//! export drops spans and counts them (`bifrost_otel_spans_dropped_total`): tracing never
//! slows or fails a request. Shutdown exports what is queued, within a deadline.

pub mod export;
pub mod proto;
pub mod span;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

use crate::engine::tracking::{Observer, RequestRecord};
use crate::error::{Error, Result};
use export::{Protocol, Transport};
use span::{Pending, Resource};

/// Spans waiting for export before new ones are dropped.
pub const QUEUE_CAPACITY: usize = 8192;
/// Most spans per export.
pub const MAX_BATCH: usize = 512;
/// Longest a span waits for its batch to fill.
pub const BATCH_DELAY: Duration = Duration::from_secs(1);
/// At most one warning about failed exports per this interval.
const WARN_EVERY: Duration = Duration::from_secs(30);

/// The `config` object of the `otel` plugin entry.
#[derive(Debug, Clone, Deserialize)]
pub struct OtelConfig {
    /// `service.name` of the resource (default `bifrost`).
    #[serde(default = "default_service_name")]
    pub service_name: String,
    /// The collector: `http://host:4318` (HTTP) or `host:4317` (gRPC).
    pub collector_url: String,
    /// `genai_extension`; Bifrost's other types are not released there either.
    #[serde(default = "default_trace_type")]
    pub trace_type: String,
    /// `http` (default) or `grpc`.
    #[serde(default = "default_protocol")]
    pub protocol: String,
    /// Extra headers, values literal or `env.VAR`.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// A PEM file of the CA that signs the collector's certificate.
    #[serde(default)]
    pub tls_ca_cert: Option<String>,
    /// Accepted for compatibility: a URL without a scheme is plain text unless a CA is given.
    #[serde(default)]
    pub insecure: bool,
    /// OTLP metrics push: not implemented; Prometheus `/metrics` carries the same metrics.
    #[serde(default)]
    pub metrics_enabled: bool,
    /// Everything else Bifrost accepts (`metrics_endpoint`, `metrics_push_interval`, ...).
    #[serde(flatten)]
    pub other: BTreeMap<String, Value>,
}

fn default_service_name() -> String {
    "bifrost".into()
}
fn default_trace_type() -> String {
    "genai_extension".into()
}
fn default_protocol() -> String {
    "http".into()
}

/// The enabled `otel` entry of config.json's `plugins`, if any.
pub fn config_from_plugins(plugins: Option<&Value>) -> Result<Option<OtelConfig>> {
    let Some(entry) = super::entry(plugins, "otel").filter(|e| super::is_enabled(e)) else {
        return Ok(None);
    };
    let config = entry.get("config").cloned().unwrap_or(Value::Null);
    serde_json::from_value(config)
        .map(Some)
        .map_err(|e| Error::Config(format!("plugins[otel].config: {e}")))
}

/// The observer half: enqueues each finished request.
#[derive(Debug)]
pub struct Otel {
    queue: mpsc::Sender<Arc<RequestRecord>>,
    dropped: Arc<AtomicU64>,
}

impl Otel {
    /// Builds the plugin from its config. The exporter must then be started with
    /// [`Exporter::spawn`] inside the runtime.
    pub fn new(config: &OtelConfig) -> Result<(Arc<Self>, Exporter)> {
        let protocol = match config.protocol.to_ascii_lowercase().as_str() {
            "http" | "" => Protocol::Http,
            "grpc" => Protocol::Grpc,
            other => {
                return Err(Error::Config(format!(
                    "plugins[otel].config.protocol: {other:?} is not http or grpc"
                )))
            }
        };
        if config.trace_type != "genai_extension" {
            tracing::warn!(trace_type = %config.trace_type, "otel trace_type is not supported; spans use genai_extension");
        }
        if config.metrics_enabled {
            tracing::warn!("otel metrics_enabled: OTLP metrics push is not implemented; scrape /metrics instead");
        }
        if config.collector_url.trim().is_empty() {
            return Err(Error::Config(
                "plugins[otel].config.collector_url is required".into(),
            ));
        }
        let headers: Vec<(String, String)> = config.headers.clone().into_iter().collect();
        let transport = Transport::new(
            protocol,
            &config.collector_url,
            &headers,
            config.tls_ca_cert.as_deref(),
        )?;
        let env = std::env::var("OTEL_RESOURCE_ATTRIBUTES").ok();
        let resource = Resource::new(&config.service_name, env.as_deref());
        let (tx, rx) = mpsc::channel(QUEUE_CAPACITY);
        let dropped = Arc::new(AtomicU64::new(0));
        tracing::info!(url = %transport.url(), ?protocol, "otel: exporting spans");
        Ok((
            Arc::new(Self {
                queue: tx,
                dropped: Arc::clone(&dropped),
            }),
            Exporter {
                queue: rx,
                transport,
                resource,
                dropped,
            },
        ))
    }

    /// Spans that never reached the collector: queue full or export failed.
    pub fn dropped(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.dropped)
    }
}

impl Observer for Otel {
    fn finished(&self, record: &Arc<RequestRecord>) {
        // The record is turned into a span by the exporter, off the request path.
        if self.queue.try_send(Arc::clone(record)).is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// The background half: batches and exports.
#[derive(Debug)]
pub struct Exporter {
    queue: mpsc::Receiver<Arc<RequestRecord>>,
    transport: Transport,
    resource: Resource,
    dropped: Arc<AtomicU64>,
}

/// A running exporter.
#[derive(Debug)]
pub struct ExporterHandle {
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl ExporterHandle {
    /// Exports what is queued and stops, waiting at most `within`.
    pub async fn shutdown(self, within: Duration) {
        let _ = self.stop.send(());
        if tokio::time::timeout(within, self.task).await.is_err() {
            tracing::warn!("otel: queued spans were not all exported before shutdown");
        }
    }
}

impl Exporter {
    /// Starts the export task on the current runtime.
    pub fn spawn(self) -> ExporterHandle {
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(self.run(stopped));
        ExporterHandle { stop, task }
    }

    async fn run(mut self, mut stopped: oneshot::Receiver<()>) {
        let mut batch: Vec<Pending> = Vec::with_capacity(MAX_BATCH);
        let mut tick = tokio::time::interval(BATCH_DELAY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_warn: Option<Instant> = None;
        loop {
            tokio::select! {
                item = self.queue.recv() => match item {
                    Some(record) => {
                        batch.push(Pending::from(Arc::unwrap_or_clone(record)));
                        if batch.len() >= MAX_BATCH {
                            self.flush(&mut batch, &mut last_warn).await;
                        }
                    }
                    None => break,
                },
                _ = tick.tick() => {
                    if !batch.is_empty() {
                        self.flush(&mut batch, &mut last_warn).await;
                    }
                }
                _ = &mut stopped => break,
            }
        }
        // Shutting down: everything already queued goes out.
        while let Ok(record) = self.queue.try_recv() {
            batch.push(Pending::from(Arc::unwrap_or_clone(record)));
            if batch.len() >= MAX_BATCH {
                self.flush(&mut batch, &mut last_warn).await;
            }
        }
        if !batch.is_empty() {
            self.flush(&mut batch, &mut last_warn).await;
        }
    }

    async fn flush(&self, batch: &mut Vec<Pending>, last_warn: &mut Option<Instant>) {
        let n = batch.len() as u64;
        let spans: Vec<span::SpanData> = batch.drain(..).map(Pending::into_span).collect();
        let body = proto::export_request(&self.resource, &spans);
        if let Err(e) = self.transport.send(body).await {
            let total = self.dropped.fetch_add(n, Ordering::Relaxed) + n;
            if last_warn.is_none_or(|t| t.elapsed() >= WARN_EVERY) {
                *last_warn = Some(Instant::now());
                tracing::warn!(error = %e, dropped_total = total, "otel: span export failed");
            }
        }
    }
}
