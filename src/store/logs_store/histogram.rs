//! Time-bucketed views of the logs for the dashboard's charts (`/api/logs/histogram*`), in
//! Bifrost's shapes: request counts by status, tokens, cost, per-model counts and latency
//! percentiles, overall or per model or provider.
//!
//! Buckets are aligned on multiples of their size since the Unix epoch. With both ends of the
//! time range given, empty buckets inside it are filled in, so a chart has no holes.

use std::collections::{BTreeMap, BTreeSet};

use rusqlite::types::Value as SqlValue;
use rusqlite::{params_from_iter, Connection};
use serde::Serialize;

use super::filter::{self, Clause};
use super::{sums, LogFilter, LogsStore};
use crate::error::Result;
use crate::store::timefmt::format_ms;

/// Most buckets filled in for a range; past it only buckets holding data are returned.
const MAX_FILLED_BUCKETS: i64 = 10_000;

/// Bucket width for a time range, as Bifrost picks it: about 30-170 bars whatever the range.
pub fn bucket_size_seconds(start_ms: Option<i64>, end_ms: Option<i64>) -> i64 {
    const HOUR: i64 = 3600;
    const DAY: i64 = 24 * HOUR;
    let (Some(start), Some(end)) = (start_ms, end_ms) else {
        return HOUR;
    };
    let secs = (end - start) / 1000;
    match secs {
        s if s >= 365 * DAY => 30 * DAY,
        s if s >= 90 * DAY => 7 * DAY,
        s if s > 31 * DAY => 3 * DAY,
        s if s >= 7 * DAY => DAY,
        s if s >= 3 * DAY => 8 * HOUR,
        s if s >= DAY => HOUR,
        s if s >= 2 * HOUR => 600,
        _ => 60,
    }
}

/// A histogram: its buckets, oldest first, and their width.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Histogram<B> {
    /// The buckets.
    pub buckets: Vec<B>,
    /// Width of a bucket.
    pub bucket_size_seconds: i64,
}

/// Requests in a bucket by status.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CountBucket {
    /// Start of the bucket (RFC 3339).
    pub timestamp: String,
    /// All requests.
    pub count: u64,
    /// Succeeded.
    pub success: u64,
    /// Failed.
    pub error: u64,
    /// Cancelled by the client.
    pub cancelled: u64,
}

/// Token sums.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TokenStats {
    /// Input tokens.
    pub prompt_tokens: u64,
    /// Output tokens.
    pub completion_tokens: u64,
    /// Both.
    pub total_tokens: u64,
}

/// Token sums in a bucket.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TokenBucket {
    /// Start of the bucket (RFC 3339).
    pub timestamp: String,
    /// The sums.
    #[serde(flatten)]
    pub tokens: TokenStats,
}

/// Latency figures (ms) of some requests.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct LatencyStats {
    /// Mean.
    pub avg_latency: f64,
    /// 90th percentile.
    pub p90_latency: f64,
    /// 95th percentile.
    pub p95_latency: f64,
    /// 99th percentile.
    pub p99_latency: f64,
    /// Requests with a latency.
    pub total_requests: u64,
}

/// Latency figures in a bucket.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LatencyBucket {
    /// Start of the bucket (RFC 3339).
    pub timestamp: String,
    /// The figures.
    #[serde(flatten)]
    pub latency: LatencyStats,
}

/// Requests of one model (or provider) by status.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ModelCounts {
    /// All.
    pub total: u64,
    /// Succeeded.
    pub success: u64,
    /// Failed.
    pub error: u64,
    /// Cancelled.
    pub cancelled: u64,
}

/// What a grouped histogram splits by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    /// `by_model` / `models`.
    Model,
    /// `by_provider` / `providers`.
    Provider,
}

impl GroupBy {
    /// The column, on `logs` and `logs_rollup` alike.
    fn name(self) -> &'static str {
        match self {
            GroupBy::Model => "model",
            GroupBy::Provider => "provider",
        }
    }

    fn column(self) -> &'static str {
        match self {
            GroupBy::Model => "l.model",
            GroupBy::Provider => "l.provider",
        }
    }

    fn bucket_field(self) -> &'static str {
        match self {
            GroupBy::Model => "by_model",
            GroupBy::Provider => "by_provider",
        }
    }

    fn list_field(self) -> &'static str {
        match self {
            GroupBy::Model => "models",
            GroupBy::Provider => "providers",
        }
    }
}

/// A bucket split by model or provider (`by_model` or `by_provider`), with the cost total on
/// cost histograms.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupedBucket<T> {
    /// Start of the bucket (RFC 3339).
    pub timestamp: String,
    /// Cost of the whole bucket (cost histograms only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_cost: Option<f64>,
    /// One entry: `by_model` or `by_provider` → name → value.
    #[serde(flatten)]
    pub groups: BTreeMap<&'static str, BTreeMap<String, T>>,
}

/// A histogram split by model or provider, with the names seen (`models` or `providers`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupedHistogram<T> {
    /// The buckets.
    pub buckets: Vec<GroupedBucket<T>>,
    /// Width of a bucket.
    pub bucket_size_seconds: i64,
    /// One entry: `models` or `providers` → the names, sorted.
    #[serde(flatten)]
    pub names: BTreeMap<&'static str, Vec<String>>,
}

/// Sums of one group in one bucket.
struct Agg {
    bucket: i64,
    group: String,
    counts: ModelCounts,
    tokens: TokenStats,
    cost: f64,
}

impl LogsStore {
    /// Requests per bucket by status (`/api/logs/histogram`).
    pub fn histogram(&self, filter: &LogFilter) -> Result<Histogram<CountBucket>> {
        let (size, rows) = self.aggregate(filter, None)?;
        let mut by_bucket: BTreeMap<i64, ModelCounts> =
            rows.into_iter().map(|a| (a.bucket, a.counts)).collect();
        let buckets = bucket_keys(filter, size, by_bucket.keys().copied())
            .into_iter()
            .map(|b| {
                let c = by_bucket.remove(&b).unwrap_or_default();
                CountBucket {
                    timestamp: format_ms(b),
                    count: c.total,
                    success: c.success,
                    error: c.error,
                    cancelled: c.cancelled,
                }
            })
            .collect();
        Ok(histogram(buckets, size))
    }

    /// Tokens per bucket (`/api/logs/histogram/tokens`).
    pub fn token_histogram(&self, filter: &LogFilter) -> Result<Histogram<TokenBucket>> {
        let (size, rows) = self.aggregate(filter, None)?;
        let mut by_bucket: BTreeMap<i64, TokenStats> =
            rows.into_iter().map(|a| (a.bucket, a.tokens)).collect();
        let buckets = bucket_keys(filter, size, by_bucket.keys().copied())
            .into_iter()
            .map(|b| TokenBucket {
                timestamp: format_ms(b),
                tokens: by_bucket.remove(&b).unwrap_or_default(),
            })
            .collect();
        Ok(histogram(buckets, size))
    }

    /// Cost per bucket, split by model or provider (`/histogram/cost[/by-provider]`).
    pub fn cost_histogram(&self, filter: &LogFilter, by: GroupBy) -> Result<GroupedHistogram<f64>> {
        let (size, rows) = self.aggregate(filter, Some(by))?;
        Ok(grouped(filter, size, by, rows, |a| a.cost, true))
    }

    /// Requests per bucket and model by status (`/histogram/models`).
    pub fn model_histogram(&self, filter: &LogFilter) -> Result<GroupedHistogram<ModelCounts>> {
        let (size, rows) = self.aggregate(filter, Some(GroupBy::Model))?;
        Ok(grouped(
            filter,
            size,
            GroupBy::Model,
            rows,
            |a| a.counts.clone(),
            false,
        ))
    }

    /// Tokens per bucket, split by model or provider (`/histogram/tokens/by-provider`).
    pub fn token_group_histogram(
        &self,
        filter: &LogFilter,
        by: GroupBy,
    ) -> Result<GroupedHistogram<TokenStats>> {
        let (size, rows) = self.aggregate(filter, Some(by))?;
        Ok(grouped(filter, size, by, rows, |a| a.tokens.clone(), false))
    }

    /// Latency mean and percentiles per bucket (`/histogram/latency`).
    pub fn latency_histogram(&self, filter: &LogFilter) -> Result<Histogram<LatencyBucket>> {
        let (size, samples) = self.latencies(filter, None)?;
        let mut by_bucket: BTreeMap<i64, LatencyStats> = samples
            .into_iter()
            .map(|((b, _), v)| (b, latency_stats(v)))
            .collect();
        let buckets = bucket_keys(filter, size, by_bucket.keys().copied())
            .into_iter()
            .map(|b| LatencyBucket {
                timestamp: format_ms(b),
                latency: by_bucket.remove(&b).unwrap_or_default(),
            })
            .collect();
        Ok(histogram(buckets, size))
    }

    /// Latency per bucket, split by model or provider (`/histogram/latency/by-provider`).
    pub fn latency_group_histogram(
        &self,
        filter: &LogFilter,
        by: GroupBy,
    ) -> Result<GroupedHistogram<LatencyStats>> {
        let (size, samples) = self.latencies(filter, Some(by))?;
        let mut names = BTreeSet::new();
        let mut by_bucket: BTreeMap<i64, BTreeMap<String, LatencyStats>> = BTreeMap::new();
        for ((b, g), v) in samples {
            names.insert(g.clone());
            by_bucket.entry(b).or_default().insert(g, latency_stats(v));
        }
        Ok(assemble(filter, size, by, names, by_bucket, |_| None))
    }

    /// Sums per bucket (and group), with the bucket width in seconds.
    fn aggregate(&self, filter: &LogFilter, by: Option<GroupBy>) -> Result<(i64, Vec<Agg>)> {
        let size = bucket_size_seconds(filter.start_ms, filter.end_ms);
        let group = by.map(GroupBy::name);
        let all = self.with(|conn| {
            sums::sums(conn, filter, Some(size * 1000), group, sums::Detail::Tokens)
        })?;
        let rows = all
            .into_iter()
            .map(|((bucket, group), s)| Agg {
                bucket,
                group,
                counts: ModelCounts {
                    total: s.requests,
                    success: s.success,
                    error: s.error,
                    cancelled: s.cancelled,
                },
                tokens: TokenStats {
                    prompt_tokens: s.prompt_tokens,
                    completion_tokens: s.completion_tokens,
                    total_tokens: s.total_tokens,
                },
                cost: s.cost,
            })
            .collect();
        Ok((size, rows))
    }

    /// Latencies per bucket (and group), each list sorted ascending.
    #[allow(clippy::type_complexity)]
    fn latencies(
        &self,
        filter: &LogFilter,
        by: Option<GroupBy>,
    ) -> Result<(i64, BTreeMap<(i64, String), Vec<f64>>)> {
        let size = bucket_size_seconds(filter.start_ms, filter.end_ms);
        let clause = filter::build(filter);
        let group = by.map_or("''", GroupBy::column);
        let sql = format!(
            "SELECT (l.timestamp / ?) * ? AS b, {group}, l.latency FROM logs l \
             WHERE {} AND l.latency IS NOT NULL ORDER BY b, l.latency",
            clause.sql
        );
        let samples = self.with(|conn: &mut Connection| {
            let mut stmt = conn.prepare(&sql)?;
            let mut rows = stmt.query(params_from_iter(bucket_params(size, &clause)))?;
            let mut out: BTreeMap<(i64, String), Vec<f64>> = BTreeMap::new();
            while let Some(r) = rows.next()? {
                out.entry((r.get(0)?, r.get(1)?))
                    .or_default()
                    .push(r.get(2)?);
            }
            Ok(out)
        })?;
        Ok((size, samples))
    }
}

/// The bucket width in ms twice (`(timestamp / ?) * ?`), then the filter's values.
fn bucket_params(size_secs: i64, clause: &Clause) -> Vec<SqlValue> {
    let ms = SqlValue::Integer(size_secs * 1000);
    let mut values = vec![ms.clone(), ms];
    values.extend(clause.params.iter().cloned());
    values
}

fn histogram<B>(buckets: Vec<B>, size: i64) -> Histogram<B> {
    Histogram {
        buckets,
        bucket_size_seconds: size,
    }
}

/// The buckets to show: those with data, plus the empty ones inside a closed time range.
fn bucket_keys(filter: &LogFilter, size_secs: i64, present: impl Iterator<Item = i64>) -> Vec<i64> {
    let size = size_secs * 1000;
    let mut keys: BTreeSet<i64> = present.collect();
    if let (Some(start), Some(end)) = (filter.start_ms, filter.end_ms) {
        let (first, last) = (start / size * size, end / size * size);
        if first <= last && (last - first) / size <= MAX_FILLED_BUCKETS {
            keys.extend((0..=(last - first) / size).map(|i| first + i * size));
        }
    }
    keys.into_iter().collect()
}

/// Builds a grouped histogram from per-(bucket, group) sums.
fn grouped<T: Clone>(
    filter: &LogFilter,
    size: i64,
    by: GroupBy,
    rows: Vec<Agg>,
    value: impl Fn(&Agg) -> T,
    with_cost_total: bool,
) -> GroupedHistogram<T> {
    let mut names = BTreeSet::new();
    let mut by_bucket: BTreeMap<i64, BTreeMap<String, T>> = BTreeMap::new();
    let mut costs: BTreeMap<i64, f64> = BTreeMap::new();
    for a in rows {
        names.insert(a.group.clone());
        *costs.entry(a.bucket).or_default() += a.cost;
        by_bucket
            .entry(a.bucket)
            .or_default()
            .insert(a.group.clone(), value(&a));
    }
    assemble(filter, size, by, names, by_bucket, |b| {
        with_cost_total.then(|| costs.get(&b).copied().unwrap_or(0.0))
    })
}

fn assemble<T>(
    filter: &LogFilter,
    size: i64,
    by: GroupBy,
    names: BTreeSet<String>,
    mut by_bucket: BTreeMap<i64, BTreeMap<String, T>>,
    total_cost: impl Fn(i64) -> Option<f64>,
) -> GroupedHistogram<T> {
    let buckets = bucket_keys(filter, size, by_bucket.keys().copied())
        .into_iter()
        .map(|b| GroupedBucket {
            timestamp: format_ms(b),
            total_cost: total_cost(b),
            groups: BTreeMap::from([(by.bucket_field(), by_bucket.remove(&b).unwrap_or_default())]),
        })
        .collect();
    GroupedHistogram {
        buckets,
        bucket_size_seconds: size,
        names: BTreeMap::from([(by.list_field(), names.into_iter().collect())]),
    }
}

/// Mean and nearest-rank percentiles of sorted latencies.
fn latency_stats(sorted: Vec<f64>) -> LatencyStats {
    if sorted.is_empty() {
        return LatencyStats::default();
    }
    let n = sorted.len();
    let rank = |p: f64| {
        let i = ((p * n as f64).ceil() as usize).clamp(1, n) - 1;
        sorted.get(i).copied().unwrap_or_default()
    };
    LatencyStats {
        avg_latency: sorted.iter().sum::<f64>() / n as f64,
        p90_latency: rank(0.90),
        p95_latency: rank(0.95),
        p99_latency: rank(0.99),
        total_requests: n as u64,
    }
}
