//! What one series holds: the atomics of every `bifrost_*` metric for one base label set, and
//! of every `http_*` metric for one route, method and status. Grouping them means a request
//! looks its label set up once, not once per metric.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

use super::histogram::{
    AtomicF64, Histogram, DEF_BUCKETS, OVERHEAD_BUCKETS, SIZE_BUCKETS, UPSTREAM_BUCKETS,
};

/// The `bifrost_*` metrics of one base label set.
#[derive(Debug, Default)]
pub struct BifrostSeries {
    /// `bifrost_upstream_requests_total`.
    pub upstream_requests: AtomicU64,
    /// `bifrost_success_requests_total`.
    pub success: AtomicU64,
    /// `bifrost_error_requests_total` by `status_code`; errors are rare, so a short lock.
    pub errors: Mutex<Vec<(u16, u64)>>,
    /// `bifrost_upstream_latency_seconds{is_success="true"}`.
    pub latency_ok: OnceLock<Histogram>,
    /// `bifrost_upstream_latency_seconds{is_success="false"}`.
    pub latency_err: OnceLock<Histogram>,
    /// Whether the token counters exist (Bifrost creates them on every success).
    pub tokens_seen: AtomicBool,
    /// `bifrost_input_tokens_total`.
    pub input_tokens: AtomicU64,
    /// `bifrost_output_tokens_total`.
    pub output_tokens: AtomicU64,
    /// Whether a cost was ever added (Bifrost only adds positive costs).
    pub cost_seen: AtomicBool,
    /// `bifrost_cost_total` in USD.
    pub cost: AtomicF64,
    /// `bifrost_stream_first_token_latency_seconds`.
    pub first_token: OnceLock<Histogram>,
    /// `bifrost_stream_inter_token_latency_seconds`.
    pub inter_token: OnceLock<Histogram>,
    /// `bifrost_gateway_overhead_seconds`.
    pub overhead: OnceLock<Histogram>,
}

impl BifrostSeries {
    /// Counts an error answered with `status`.
    pub fn error(&self, status: u16) {
        let Ok(mut errors) = self.errors.lock() else {
            return;
        };
        match errors.iter_mut().find(|(s, _)| *s == status) {
            Some((_, n)) => *n += 1,
            None => errors.push((status, 1)),
        }
    }

    /// The upstream latency histogram for this outcome.
    pub fn latency(&self, success: bool) -> &Histogram {
        let cell = if success {
            &self.latency_ok
        } else {
            &self.latency_err
        };
        cell.get_or_init(|| Histogram::new(&UPSTREAM_BUCKETS))
    }

    /// Adds token usage.
    pub fn tokens(&self, input: u64, output: u64) {
        self.tokens_seen.store(true, Ordering::Relaxed);
        self.input_tokens.fetch_add(input, Ordering::Relaxed);
        self.output_tokens.fetch_add(output, Ordering::Relaxed);
    }

    /// Adds a cost in USD.
    pub fn add_cost(&self, usd: f64) {
        if usd > 0.0 && usd.is_finite() {
            self.cost_seen.store(true, Ordering::Relaxed);
            self.cost.add(usd);
        }
    }

    /// The first-token histogram (Bifrost leaves the stream histograms at `DefBuckets`).
    pub fn first_token(&self) -> &Histogram {
        self.first_token
            .get_or_init(|| Histogram::new(&DEF_BUCKETS))
    }

    /// The inter-token histogram.
    pub fn inter_token(&self) -> &Histogram {
        self.inter_token
            .get_or_init(|| Histogram::new(&DEF_BUCKETS))
    }

    /// The gateway-overhead histogram.
    pub fn overhead(&self) -> &Histogram {
        self.overhead
            .get_or_init(|| Histogram::new(&OVERHEAD_BUCKETS))
    }
}

/// The `http_*` metrics of one route, method and status (and custom label values).
#[derive(Debug)]
pub struct HttpSeries {
    /// `http_requests_total`.
    pub requests: AtomicU64,
    /// `http_request_duration_seconds`.
    pub duration: Histogram,
    /// `http_request_size_bytes`, when the size was known.
    pub request_size: OnceLock<Histogram>,
    /// `http_response_size_bytes`, when the size was known (not for streams).
    pub response_size: OnceLock<Histogram>,
}

impl Default for HttpSeries {
    fn default() -> Self {
        Self {
            requests: AtomicU64::new(0),
            duration: Histogram::new(&DEF_BUCKETS),
            request_size: OnceLock::new(),
            response_size: OnceLock::new(),
        }
    }
}

impl HttpSeries {
    /// Records one request.
    pub fn observe(&self, seconds: f64, request_bytes: Option<u64>, response_bytes: Option<u64>) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        self.duration.observe(seconds);
        if let Some(n) = request_bytes {
            self.request_size
                .get_or_init(|| Histogram::new(&SIZE_BUCKETS))
                .observe(n as f64);
        }
        if let Some(n) = response_bytes {
            self.response_size
                .get_or_init(|| Histogram::new(&SIZE_BUCKETS))
                .observe(n as f64);
        }
    }
}
