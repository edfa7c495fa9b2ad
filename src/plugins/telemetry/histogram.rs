//! Lock-free counters and histograms: an observation is a few relaxed atomic adds, never a lock.
//!
//! Bucket bounds come with their `le` label text spelled the way Go's Prometheus client spells
//! them (`1e+06`, `5e-05`), so that dashboards written for Bifrost that match on `le` strings
//! keep working.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

/// A histogram's upper bounds and their `le` label text.
#[derive(Debug)]
pub struct Buckets {
    /// Upper bounds, ascending.
    pub bounds: &'static [f64],
    /// The same bounds as Go's `strconv.FormatFloat(b, 'g', -1, 64)` writes them.
    pub labels: &'static [&'static str],
}

/// Prometheus' `DefBuckets` (seconds).
pub static DEF_BUCKETS: Buckets = Buckets {
    bounds: &[
        0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
    ],
    labels: &[
        "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10",
    ],
};

/// Bifrost's upstream latency buckets: 5 ms to 90 s, for model inference times.
pub static UPSTREAM_BUCKETS: Buckets = Buckets {
    bounds: &[
        0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 15.0, 30.0, 45.0, 60.0, 90.0,
    ],
    labels: &[
        "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "15", "30",
        "45", "60", "90",
    ],
};

/// Bifrost's HTTP size buckets: `ExponentialBuckets(100, 10, 8)`, 100 B to 1 GB.
pub static SIZE_BUCKETS: Buckets = Buckets {
    bounds: &[1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9],
    labels: &[
        "100", "1000", "10000", "100000", "1e+06", "1e+07", "1e+08", "1e+09",
    ],
};

/// The gateway's own overhead: 50 µs to 250 ms, because the interesting range is far below
/// what `DefBuckets` resolves.
pub static OVERHEAD_BUCKETS: Buckets = Buckets {
    bounds: &[
        0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
    ],
    labels: &[
        "5e-05", "0.0001", "0.00025", "0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025",
        "0.05", "0.1", "0.25",
    ],
};

/// An `f64` that many threads add to.
#[derive(Debug, Default)]
pub struct AtomicF64(AtomicU64);

impl AtomicF64 {
    /// Adds `v` (a compare-and-swap loop; contention is rare because each series has its own).
    pub fn add(&self, v: f64) {
        let _ = self
            .0
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |bits| {
                Some((f64::from_bits(bits) + v).to_bits())
            });
    }

    /// The current value.
    pub fn get(&self) -> f64 {
        f64::from_bits(self.0.load(Ordering::Relaxed))
    }
}

/// A histogram with fixed buckets.
#[derive(Debug)]
pub struct Histogram {
    buckets: &'static Buckets,
    /// Observations per bucket, not cumulative; the last slot is above every bound (+Inf).
    counts: Box<[AtomicU64]>,
    sum: AtomicF64,
}

impl Histogram {
    /// An empty histogram.
    pub fn new(buckets: &'static Buckets) -> Self {
        Self {
            buckets,
            counts: (0..=buckets.bounds.len())
                .map(|_| AtomicU64::new(0))
                .collect(),
            sum: AtomicF64::default(),
        }
    }

    /// Records one value.
    pub fn observe(&self, v: f64) {
        self.observe_n(v, 1);
    }

    /// Records the same value `n` times (a stream's mean inter-token gap, once per gap, keeps
    /// `_sum` and `_count` exact). Non-finite or negative values are ignored: they can only come
    /// from a clock oddity and would poison `_sum` for good.
    pub fn observe_n(&self, v: f64, n: u64) {
        if n == 0 || !v.is_finite() || v < 0.0 {
            return;
        }
        let bounds = self.buckets.bounds;
        let i = bounds.iter().position(|b| v <= *b).unwrap_or(bounds.len());
        if let Some(slot) = self.counts.get(i) {
            slot.fetch_add(n, Ordering::Relaxed);
        }
        self.sum.add(v * n as f64);
    }

    /// Observations so far.
    pub fn count(&self) -> u64 {
        self.counts.iter().map(|c| c.load(Ordering::Relaxed)).sum()
    }

    /// Writes `_bucket`, `_sum` and `_count` lines. `labels` is the series' label text (may be
    /// empty). `_count` is the +Inf bucket, so the two never disagree within one scrape.
    pub fn render(&self, out: &mut String, name: &str, labels: &str) {
        let sep = if labels.is_empty() { "" } else { "," };
        let mut cumulative = 0u64;
        for (i, le) in self.buckets.labels.iter().enumerate() {
            cumulative += self.counts.get(i).map_or(0, |c| c.load(Ordering::Relaxed));
            let _ = writeln!(
                out,
                "{name}_bucket{{{labels}{sep}le=\"{le}\"}} {cumulative}"
            );
        }
        cumulative += self.counts.last().map_or(0, |c| c.load(Ordering::Relaxed));
        let _ = writeln!(
            out,
            "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {cumulative}"
        );
        let braces = |out: &mut String| {
            if !labels.is_empty() {
                let _ = write!(out, "{{{labels}}}");
            }
        };
        out.push_str(name);
        out.push_str("_sum");
        braces(out);
        let _ = writeln!(out, " {}", fmt_f64(self.sum.get()));
        out.push_str(name);
        out.push_str("_count");
        braces(out);
        let _ = writeln!(out, " {cumulative}");
    }
}

/// A sample value in the text format (`+Inf`, `-Inf`, `NaN` spelled as Prometheus wants).
pub fn fmt_f64(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v == f64::INFINITY {
        "+Inf".into()
    } else if v == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        v.to_string()
    }
}
