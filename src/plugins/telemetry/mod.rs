//! The `telemetry` plugin: Prometheus metrics at `/metrics` with Bifrost's metric names and
//! labels (contract §7.3), plus the gateway's own overhead.
//!
//! # Why a small registry of our own
//! `prometheus-client` keeps each family behind one `RwLock<HashMap<LabelSet, Metric>>` and looks
//! a series up by an owned label struct, so every request would allocate its 16+ label strings
//! and take a lock once per metric (about ten metrics per request). Here a request builds one
//! key in a reused buffer, finds one [`series::BifrostSeries`] holding all its metrics in a
//! sharded map under a read lock, and updates plain atomics: no allocation once the label set
//! exists. The text format is simple enough to write directly ([`render`]).
//!
//! # Cardinality
//! Values a client chooses are bounded ([`labels::Bounded`]) and each family is capped
//! ([`family::MAX_SERIES`]), so no sequence of requests can grow memory without bound.

pub mod family;
pub mod histogram;
pub mod labels;
mod process;
mod render;
pub mod series;
#[cfg(test)]
mod tests;

use std::borrow::Cow;
use std::cell::RefCell;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use http::{HeaderMap, HeaderName, HeaderValue};

use crate::engine::tracking::{Observer, RequestRecord, Status};
use family::{Entry, Family};
use labels::{Bounded, Custom, OTHER};
use series::{BifrostSeries, HttpSeries};

/// A counter owned elsewhere (the log writer's drops, the span exporter's drops), read when
/// `/metrics` is scraped.
pub struct ExternalCounter {
    name: &'static str,
    help: &'static str,
    read: Box<dyn Fn() -> u64 + Send + Sync>,
}

impl std::fmt::Debug for ExternalCounter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExternalCounter")
            .field("name", &self.name)
            .finish()
    }
}

/// One HTTP request as the middleware saw it.
#[derive(Debug, Clone, Copy)]
pub struct HttpObservation<'a> {
    /// The matched route template (`/v1/chat/completions`, `/api/providers/{name}`), or
    /// `unmatched`: never the raw path, which a client could vary at will.
    pub path: &'a str,
    /// The method as a bounded label ([`labels::method`]).
    pub method: &'static str,
    /// The status answered.
    pub status: u16,
    /// `x-bf-prom-*` values from [`Telemetry::http_custom_values`].
    pub custom: &'a [Option<HeaderValue>],
    /// Seconds until the response head was ready.
    pub seconds: f64,
    /// Request body size, when known.
    pub request_bytes: Option<u64>,
    /// Response body size, when known (not for streams).
    pub response_bytes: Option<u64>,
}

/// Whether the telemetry plugin runs: always, unless config.json's `plugins` has its entry
/// with `"enabled": false` (Bifrost: "default-on; only an explicit `enabled: false` disables
/// it", so upgraders never lose `/metrics` silently). Off means no registry, no `http_*`
/// middleware, no observer, and `/metrics` answers Bifrost's JSON 404, as Bifrost does when it
/// registers no metrics route.
pub fn enabled_in(plugins: Option<&serde_json::Value>) -> bool {
    super::entry(plugins, "telemetry")
        .and_then(|e| e.get("enabled"))
        .and_then(serde_json::Value::as_bool)
        .unwrap_or(true)
}

/// The metrics registry; an [`Observer`] of every finished request and the HTTP middleware's
/// sink.
#[derive(Debug)]
pub struct Telemetry {
    customs: Vec<Custom>,
    /// `x-bf-prom-<label>` header names, in the order of `customs` (None when not a valid name).
    custom_headers: Vec<Option<HeaderName>>,
    providers: Bounded,
    models: Bounded,
    bifrost: Family<BifrostSeries>,
    http: Family<HttpSeries>,
    external: Vec<ExternalCounter>,
}

thread_local! {
    /// The series key of the current lookup, reused so that a lookup allocates nothing.
    static KEY: RefCell<String> = RefCell::new(String::with_capacity(256));
}

/// Runs `f` with the thread's key buffer, cleared (or a fresh one if it is already in use).
fn with_key<T>(f: impl FnOnce(&mut String) -> T) -> T {
    KEY.with(|cell| match cell.try_borrow_mut() {
        Ok(mut key) => {
            key.clear();
            f(&mut key)
        }
        Err(_) => f(&mut String::new()),
    })
}

impl Telemetry {
    /// A registry whose custom labels are `prometheus_labels` (`client.prometheus_labels`).
    pub fn new(prometheus_labels: &[String]) -> Self {
        let customs = labels::customs(prometheus_labels);
        let custom_headers = customs
            .iter()
            .map(|c| {
                HeaderName::from_bytes(format!("{}{}", labels::HEADER_PREFIX, c.config).as_bytes())
                    .ok()
            })
            .collect();
        Self {
            customs,
            custom_headers,
            providers: Bounded::new(labels::MAX_VALUES),
            models: Bounded::new(labels::MAX_MODELS),
            bifrost: Family::default(),
            http: Family::default(),
            external: Vec::new(),
        }
    }

    /// Adds a counter read at scrape time (before the registry is shared).
    pub fn with_counter(
        mut self,
        name: &'static str,
        help: &'static str,
        read: impl Fn() -> u64 + Send + Sync + 'static,
    ) -> Self {
        self.external.push(ExternalCounter {
            name,
            help,
            read: Box::new(read),
        });
        self
    }

    /// The exposed custom label names, in order.
    pub fn custom_labels(&self) -> impl Iterator<Item = &str> {
        self.customs.iter().map(|c| c.label.as_str())
    }

    /// Records one finished inference request.
    pub fn observe(&self, r: &RequestRecord) {
        let Some(entry) = self.bifrost_series(r) else {
            return;
        };
        let s = &entry.series;
        s.upstream_requests.fetch_add(1, Ordering::Relaxed);
        let success = r.status == Status::Success;
        s.latency(success).observe(r.latency_ms / 1000.0);
        match &r.error {
            Some(e) if !success => s.error(e.status_code),
            _ => {
                s.success.fetch_add(1, Ordering::Relaxed);
            }
        }
        match &r.usage {
            Some(u) => s.tokens(u.prompt_tokens, u.completion_tokens),
            None if success => s.tokens(0, 0),
            None => {}
        }
        if let Some(cost) = r.cost {
            s.add_cost(cost);
        }
        let t = &r.telemetry;
        if r.stream {
            if let Some(ttft) = r.ttft_ms {
                s.first_token().observe(ttft / 1000.0);
                // The record has the first and last chunk times and the count, so each of the
                // n-1 gaps is recorded as their mean: `_sum` and `_count` are exact, only the
                // spread across buckets is averaged.
                if let (Some(last), true) = (t.last_chunk_ms, t.chunks > 1) {
                    let gaps = u64::from(t.chunks - 1);
                    let mean = (last - ttft).max(0.0) / gaps as f64 / 1000.0;
                    s.inter_token().observe_n(mean, gaps);
                }
            }
        }
        if let Some(upstream) = t.upstream_ms {
            s.overhead()
                .observe((r.latency_ms - upstream).max(0.0) / 1000.0);
        }
    }

    /// The series of a record's base label set, created (with bounded values) if new.
    fn bifrost_series(&self, r: &RequestRecord) -> Option<Arc<Entry<BifrostSeries>>> {
        let retries = small_number(r.number_of_retries);
        let fallback = small_number(r.fallback_index);
        let base = base_values(r, &retries, &fallback);
        let custom = |c: &Custom| {
            r.telemetry
                .prom_labels
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(&c.config))
                .map_or("", |(_, v)| v.as_str())
        };
        with_key(|key| {
            for v in base {
                labels::push_key(key, v);
            }
            for c in &self.customs {
                labels::push_key(key, custom(c));
            }
            if let Some(e) = self.bifrost.get(key) {
                return Some(e);
            }
            // A new label set: bound the values a client chose, then look up again.
            let mut bounded: Vec<Cow<'_, str>> = base.iter().map(|v| Cow::Borrowed(*v)).collect();
            bounded[0] = self.providers.admit(base[0]);
            bounded[1] = self.models.admit(base[1]);
            let customs: Vec<Cow<'_, str>> = self
                .customs
                .iter()
                .map(|c| c.values.admit(custom(c)))
                .collect();
            key.clear();
            for v in bounded.iter().chain(&customs) {
                labels::push_key(key, v);
            }
            self.bifrost.get_or_insert(
                key,
                || {
                    let names = labels::BASE.iter().copied();
                    (
                        label_text(names.zip(bounded.iter().map(|v| &**v))),
                        self.custom_text(customs.iter().map(|v| &**v)),
                        BifrostSeries::default(),
                    )
                },
                || self.overflow(&labels::BASE),
            )
        })
    }

    /// The `x-bf-prom-*` values of a request for the HTTP metrics, in label order (empty when no
    /// custom label is configured). Header values are reference-counted: no copy is made.
    pub fn http_custom_values(&self, headers: &HeaderMap) -> Vec<Option<HeaderValue>> {
        self.custom_headers
            .iter()
            .map(|h| h.as_ref().and_then(|h| headers.get(h)).cloned())
            .collect()
    }

    /// Records one HTTP request.
    pub fn observe_http(&self, h: &HttpObservation<'_>) {
        let HttpObservation {
            path,
            method,
            status,
            custom,
            ..
        } = *h;
        let status_text = small_number(u32::from(status));
        let value = |i: usize| {
            custom
                .get(i)
                .and_then(Option::as_ref)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
        };
        let entry = with_key(|key| {
            labels::push_key(key, path);
            labels::push_key(key, method);
            labels::push_key(key, &status_text);
            for i in 0..self.customs.len() {
                labels::push_key(key, value(i));
            }
            if let Some(e) = self.http.get(key) {
                return Some(e);
            }
            let customs: Vec<Cow<'_, str>> = self
                .customs
                .iter()
                .enumerate()
                .map(|(i, c)| c.values.admit(value(i)))
                .collect();
            key.clear();
            labels::push_key(key, path);
            labels::push_key(key, method);
            labels::push_key(key, &status_text);
            for v in &customs {
                labels::push_key(key, v);
            }
            self.http.get_or_insert(
                key,
                || {
                    let values = [path, method, &status_text];
                    (
                        label_text(labels::HTTP.iter().copied().zip(values)),
                        self.custom_text(customs.iter().map(|v| &**v)),
                        HttpSeries::default(),
                    )
                },
                || self.overflow(&labels::HTTP),
            )
        });
        if let Some(e) = entry {
            e.series
                .observe(h.seconds, h.request_bytes, h.response_bytes);
        }
    }

    fn custom_text<'a>(&self, values: impl Iterator<Item = &'a str>) -> String {
        label_text(self.customs.iter().map(|c| c.label.as_str()).zip(values))
    }

    /// The label texts of the overflow series: every label `other`.
    fn overflow<S: Default>(&self, names: &[&str]) -> (String, String, S) {
        (
            label_text(names.iter().map(|n| (*n, OTHER))),
            self.custom_text(self.customs.iter().map(|_| OTHER)),
            S::default(),
        )
    }

    /// Series counts per family (bifrost, http), for tests and diagnostics.
    pub fn series_counts(&self) -> (usize, usize) {
        (self.bifrost.len(), self.http.len())
    }

    /// The whole registry in the Prometheus text format (version 0.0.4).
    pub fn render(&self) -> String {
        render::render(self)
    }
}

impl Observer for Telemetry {
    fn wants_capture(&self) -> bool {
        false
    }

    fn finished(&self, record: &Arc<RequestRecord>) {
        self.observe(record);
    }
}

/// The 16 base label values of a record, unbounded, in [`labels::BASE`] order. Routing rules,
/// teams and customers are not known to this gateway yet: empty, as Bifrost reports unknowns.
fn base_values<'a>(r: &'a RequestRecord, retries: &'a str, fallback: &'a str) -> [&'a str; 16] {
    let opt = |v: &'a Option<String>| v.as_deref().unwrap_or("");
    [
        &r.provider,
        &r.model,
        r.request_type.as_str(),
        opt(&r.virtual_key_id),
        opt(&r.virtual_key_name),
        "",
        "",
        "",
        opt(&r.selected_key_id),
        opt(&r.selected_key_name),
        retries,
        fallback,
        "",
        "",
        "",
        "",
    ]
}

/// A number as label text, without allocating for the usual small ones.
fn small_number(n: u32) -> Cow<'static, str> {
    const SMALL: [&str; 10] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];
    match SMALL.get(n as usize) {
        Some(s) => Cow::Borrowed(s),
        None => Cow::Owned(n.to_string()),
    }
}

/// `name="value",...` for the pairs.
fn label_text<'a, 'b>(pairs: impl Iterator<Item = (&'a str, &'b str)>) -> String {
    let mut out = String::new();
    for (name, value) in pairs {
        labels::push_pair(&mut out, name, value);
    }
    out
}
