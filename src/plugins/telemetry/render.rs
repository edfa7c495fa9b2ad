//! The Prometheus text exposition format (0.0.4) of the registry: `# HELP`, `# TYPE`, then one
//! line per sample. Families are always listed, even before their first series, as Bifrost's
//! registry lists every registered metric.

use std::fmt::Write as _;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::family::{join, Entry};
use super::histogram::{fmt_f64, Histogram};
use super::series::{BifrostSeries, HttpSeries};
use super::{process, Telemetry};

/// Renders everything.
pub fn render(t: &Telemetry) -> String {
    let http = t.http.all();
    let bifrost = t.bifrost.all();
    let mut out = String::with_capacity(4096 + 2048 * (http.len() + bifrost.len()));

    header(
        &mut out,
        "http_requests_total",
        "Total number of HTTP requests.",
        "counter",
    );
    for e in &http {
        counter(
            &mut out,
            "http_requests_total",
            &labels(e, ""),
            e.series.requests.load(Ordering::Relaxed),
        );
    }
    http_histogram(
        &mut out,
        &http,
        "http_request_duration_seconds",
        "Duration of HTTP requests.",
        |s| Some(&s.duration),
    );
    http_histogram(
        &mut out,
        &http,
        "http_request_size_bytes",
        "Size of HTTP requests.",
        |s| s.request_size.get(),
    );
    http_histogram(
        &mut out,
        &http,
        "http_response_size_bytes",
        "Size of HTTP responses.",
        |s| s.response_size.get(),
    );

    let name = "bifrost_upstream_requests_total";
    header(
        &mut out,
        name,
        "Total number of requests forwarded to upstream providers by Bifrost.",
        "counter",
    );
    for e in &bifrost {
        counter(
            &mut out,
            name,
            &labels(e, ""),
            e.series.upstream_requests.load(Ordering::Relaxed),
        );
    }

    let name = "bifrost_upstream_latency_seconds";
    header(
        &mut out,
        name,
        "Latency of requests forwarded to upstream providers by Bifrost.",
        "histogram",
    );
    for e in &bifrost {
        for (ok, cell) in [
            ("true", &e.series.latency_ok),
            ("false", &e.series.latency_err),
        ] {
            if let Some(h) = cell.get() {
                h.render(&mut out, name, &labels(e, &format!("is_success=\"{ok}\"")));
            }
        }
    }

    let name = "bifrost_success_requests_total";
    header(
        &mut out,
        name,
        "Total number of successful requests forwarded to upstream providers by Bifrost.",
        "counter",
    );
    for e in &bifrost {
        let n = e.series.success.load(Ordering::Relaxed);
        if n > 0 {
            counter(&mut out, name, &labels(e, ""), n);
        }
    }

    let name = "bifrost_error_requests_total";
    header(
        &mut out,
        name,
        "Total number of error requests forwarded to upstream providers by Bifrost.",
        "counter",
    );
    for e in &bifrost {
        let mut errors = e
            .series
            .errors
            .lock()
            .map(|v| v.clone())
            .unwrap_or_default();
        errors.sort_unstable();
        for (status, n) in errors {
            counter(
                &mut out,
                name,
                &labels(e, &format!("status_code=\"{status}\"")),
                n,
            );
        }
    }

    for (name, help, input) in [
        (
            "bifrost_input_tokens_total",
            "Total number of input tokens forwarded to upstream providers by Bifrost.",
            true,
        ),
        (
            "bifrost_output_tokens_total",
            "Total number of output tokens forwarded to upstream providers by Bifrost.",
            false,
        ),
    ] {
        header(&mut out, name, help, "counter");
        for e in bifrost
            .iter()
            .filter(|e| e.series.tokens_seen.load(Ordering::Relaxed))
        {
            let s = &e.series;
            let n = if input {
                &s.input_tokens
            } else {
                &s.output_tokens
            };
            counter(&mut out, name, &labels(e, ""), n.load(Ordering::Relaxed));
        }
    }

    // Registered for compatibility; this gateway has no response cache yet, so no series.
    header(&mut out, "bifrost_cache_hits_total", "Total number of cache hits forwarded to upstream providers by Bifrost, separated by cache type (direct/semantic).", "counter");

    let name = "bifrost_cost_total";
    header(
        &mut out,
        name,
        "Total cost in USD for requests to upstream providers.",
        "counter",
    );
    for e in bifrost
        .iter()
        .filter(|e| e.series.cost_seen.load(Ordering::Relaxed))
    {
        let _ = writeln!(
            out,
            "{name}{{{}}} {}",
            labels(e, ""),
            fmt_f64(e.series.cost.get())
        );
    }

    bifrost_histogram(
        &mut out,
        &bifrost,
        "bifrost_stream_inter_token_latency_seconds",
        "Latency of the intermediate tokens of a stream response.",
        |s| s.inter_token.get(),
    );
    bifrost_histogram(
        &mut out,
        &bifrost,
        "bifrost_stream_first_token_latency_seconds",
        "Latency of the first token of a stream response.",
        |s| s.first_token.get(),
    );
    bifrost_histogram(&mut out, &bifrost, "bifrost_gateway_overhead_seconds", "Time a request spent in the gateway itself: its latency minus the time spent waiting on upstream providers.", |s| s.overhead.get());

    for c in &t.external {
        header(&mut out, c.name, c.help, "counter");
        let _ = writeln!(out, "{} {}", c.name, (c.read)());
    }
    process::render(&mut out);
    out
}

fn header(out: &mut String, name: &str, help: &str, kind: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

fn counter(out: &mut String, name: &str, labels: &str, value: u64) {
    let _ = writeln!(out, "{name}{{{labels}}} {value}");
}

/// A series' label text with a metric-specific label between Bifrost's and the custom ones.
fn labels<S>(e: &Entry<S>, middle: &str) -> String {
    join(&[&e.head, middle, &e.tail])
}

fn http_histogram(
    out: &mut String,
    entries: &[Arc<Entry<HttpSeries>>],
    name: &str,
    help: &str,
    pick: impl Fn(&HttpSeries) -> Option<&Histogram>,
) {
    header(out, name, help, "histogram");
    for e in entries {
        if let Some(h) = pick(&e.series) {
            h.render(out, name, &labels(e, ""));
        }
    }
}

fn bifrost_histogram(
    out: &mut String,
    entries: &[Arc<Entry<BifrostSeries>>],
    name: &str,
    help: &str,
    pick: impl Fn(&BifrostSeries) -> Option<&Histogram>,
) {
    header(out, name, help, "histogram");
    for e in entries {
        if let Some(h) = pick(&e.series).filter(|h| h.count() > 0) {
            h.render(out, name, &labels(e, ""));
        }
    }
}
