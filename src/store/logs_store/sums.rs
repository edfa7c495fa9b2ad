//! Totals over what a filter selects — requests by status, tokens, cost, latency — optionally
//! per time bucket and per model or provider. The one place counts, stats and histograms come
//! from.
//!
//! When the filter only names dimensions (provider, model, status, type, keys) and a time
//! range, whole hours are read from `logs_rollup` and only the partial hours at the range's
//! edges from `logs`, so a count over a million rows reads a few thousand.

use std::collections::BTreeMap;

use rusqlite::types::Value as SqlValue;
use rusqlite::{params_from_iter, Connection};

use super::filter::{self, Clause};
use super::{count, LogFilter, Stats};
use crate::error::Result;

const HOUR_MS: i64 = 3_600_000;

/// Sums of one group in one bucket.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct Sums {
    pub requests: u64,
    pub success: u64,
    pub error: u64,
    pub cancelled: u64,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub total_tokens: u64,
    pub cost: f64,
    pub latency_sum: f64,
    pub latency_count: u64,
}

impl Sums {
    fn add(&mut self, o: &Sums) {
        self.requests += o.requests;
        self.success += o.success;
        self.error += o.error;
        self.cancelled += o.cancelled;
        self.prompt_tokens += o.prompt_tokens;
        self.completion_tokens += o.completion_tokens;
        self.total_tokens += o.total_tokens;
        self.cost += o.cost;
        self.latency_sum += o.latency_sum;
        self.latency_count += o.latency_count;
    }

    /// Bifrost's `stats` from the sums.
    pub fn stats(&self) -> Stats {
        let ratio = |a: f64, b: u64| if b == 0 { 0.0 } else { a / b as f64 };
        Stats {
            total_requests: self.requests,
            success_rate: ratio(self.success as f64 * 100.0, self.requests),
            average_latency: ratio(self.latency_sum, self.latency_count),
            total_tokens: self.total_tokens,
            total_cost: self.cost,
        }
    }
}

/// Where a part of the time range is read from.
#[derive(Debug, PartialEq, Eq)]
enum Part {
    /// `logs`, timestamps in `[from, to]`.
    Rows(Option<i64>, Option<i64>),
    /// `logs_rollup`, hours in `[from, to)`.
    Hours(Option<i64>, Option<i64>),
}

/// Splits the filter's time range into whole hours (rollup) and the partial hours at its
/// edges (rows); everything is rows when the rollup cannot answer the filter or the buckets
/// are finer than an hour.
fn parts(f: &LogFilter, bucket_ms: Option<i64>) -> Vec<Part> {
    let whole_hours = bucket_ms.is_none_or(|b| b % HOUR_MS == 0);
    if !whole_hours || !filter::rollup_answers(f) {
        return vec![Part::Rows(f.start_ms, f.end_ms)];
    }
    let first = f
        .start_ms
        .map(|s| (s + HOUR_MS - 1).div_euclid(HOUR_MS) * HOUR_MS);
    let end = f.end_ms.map(|e| (e + 1).div_euclid(HOUR_MS) * HOUR_MS);
    if let (Some(a), Some(b)) = (first, end) {
        if a >= b {
            return vec![Part::Rows(f.start_ms, f.end_ms)];
        }
    }
    let mut out = vec![Part::Hours(first, end)];
    if let (Some(s), Some(a)) = (f.start_ms, first) {
        if s < a {
            out.push(Part::Rows(Some(s), Some(a - 1)));
        }
    }
    if let (Some(e), Some(b)) = (f.end_ms, end) {
        if b <= e {
            out.push(Part::Rows(Some(b), Some(e)));
        }
    }
    out
}

/// What a query needs summed: everything, or what `stats` shows (which the covering indexes
/// hold, so that rows need not be read).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Detail {
    /// Requests by status, latency, total tokens, cost.
    Stats,
    /// Also prompt and completion tokens.
    Tokens,
}

/// Sums per (bucket start, group value). Without a bucket width everything is in bucket 0;
/// without a group column the group is "".
pub(super) fn sums(
    conn: &Connection,
    f: &LogFilter,
    bucket_ms: Option<i64>,
    group: Option<&'static str>,
    detail: Detail,
) -> Result<BTreeMap<(i64, String), Sums>> {
    let mut out: BTreeMap<(i64, String), Sums> = BTreeMap::new();
    for part in parts(f, bucket_ms) {
        let (table, clause, select) = match part {
            Part::Rows(from, to) => {
                let edge = LogFilter {
                    start_ms: from,
                    end_ms: to,
                    ..f.clone()
                };
                (
                    "logs l",
                    filter::build(&edge),
                    match detail {
                        Detail::Tokens => {
                            "COUNT(*), SUM(l.status = 'success'), SUM(l.status = 'error'), \
                             SUM(l.status = 'cancelled'), SUM(l.prompt_tokens), \
                             SUM(l.completion_tokens), SUM(l.total_tokens), SUM(l.cost), \
                             SUM(l.latency), COUNT(l.latency)"
                        }
                        Detail::Stats => {
                            "COUNT(*), SUM(l.status = 'success'), SUM(l.status = 'error'), \
                             SUM(l.status = 'cancelled'), 0, 0, SUM(l.total_tokens), \
                             SUM(l.cost), SUM(l.latency), COUNT(l.latency)"
                        }
                    },
                )
            }
            Part::Hours(from, to) => (
                "logs_rollup r",
                filter::rollup(f, from, to),
                "SUM(r.requests), SUM(CASE WHEN r.status = 'success' THEN r.requests END), \
                 SUM(CASE WHEN r.status = 'error' THEN r.requests END), \
                 SUM(CASE WHEN r.status = 'cancelled' THEN r.requests END), \
                 SUM(r.prompt_tokens), SUM(r.completion_tokens), SUM(r.total_tokens), \
                 SUM(r.cost_sum), SUM(r.latency_sum), SUM(r.latency_count)",
            ),
        };
        let alias = if table.ends_with(" l") { "l" } else { "r" };
        let time = if alias == "l" {
            "l.timestamp"
        } else {
            "r.hour"
        };
        let bucket = if bucket_ms.is_some() {
            format!("({time} / ?) * ?")
        } else {
            "0".to_owned()
        };
        let group_sql = group.map_or_else(|| "''".to_owned(), |g| format!("{alias}.{g}"));
        let sql = format!(
            "SELECT {bucket} AS b, {group_sql} AS g, {select} FROM {table} \
             WHERE {} GROUP BY b, g HAVING COUNT(*) > 0",
            clause.sql
        );
        let mut stmt = conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(params_from_iter(values(bucket_ms, &clause)), |r| {
            let n = |i: usize| -> rusqlite::Result<u64> {
                Ok(count(r.get::<_, Option<i64>>(i)?.unwrap_or(0)))
            };
            let x = |i: usize| -> rusqlite::Result<f64> {
                Ok(r.get::<_, Option<f64>>(i)?.unwrap_or(0.0))
            };
            Ok((
                (r.get::<_, i64>(0)?, r.get::<_, String>(1)?),
                Sums {
                    requests: n(2)?,
                    success: n(3)?,
                    error: n(4)?,
                    cancelled: n(5)?,
                    prompt_tokens: n(6)?,
                    completion_tokens: n(7)?,
                    total_tokens: n(8)?,
                    cost: x(9)?,
                    latency_sum: x(10)?,
                    latency_count: n(11)?,
                },
            ))
        })?;
        for row in rows {
            let (key, s) = row?;
            out.entry(key).or_default().add(&s);
        }
    }
    // Rollup rows whose requests were all deleted can still exist for a moment; drop them.
    out.retain(|_, s| s.requests > 0);
    Ok(out)
}

/// The bucket width twice (for `(time / ?) * ?`), then the clause's values.
fn values(bucket_ms: Option<i64>, clause: &Clause) -> Vec<SqlValue> {
    let mut v = Vec::with_capacity(clause.params.len() + 2);
    if let Some(ms) = bucket_ms {
        v.push(SqlValue::Integer(ms));
        v.push(SqlValue::Integer(ms));
    }
    v.extend(clause.params.iter().cloned());
    v
}

/// Stats over everything the filter selects.
pub(super) fn stats(conn: &Connection, f: &LogFilter) -> Result<Stats> {
    let all = sums(conn, f, None, None, Detail::Stats)?;
    Ok(all
        .get(&(0, String::new()))
        .cloned()
        .unwrap_or_default()
        .stats())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts_of(f: &LogFilter) -> Vec<Part> {
        parts(f, None)
    }

    #[test]
    fn ranges_split_into_whole_hours_and_edges() {
        let h = HOUR_MS;
        let f = |start, end| LogFilter {
            start_ms: start,
            end_ms: end,
            ..LogFilter::default()
        };
        assert_eq!(parts_of(&f(None, None)), vec![Part::Hours(None, None)]);
        assert_eq!(
            parts_of(&f(Some(10 * h + 5), Some(15 * h + 7))),
            vec![
                Part::Hours(Some(11 * h), Some(15 * h)),
                Part::Rows(Some(10 * h + 5), Some(11 * h - 1)),
                Part::Rows(Some(15 * h), Some(15 * h + 7)),
            ]
        );
        assert_eq!(
            parts_of(&f(Some(10 * h), Some(12 * h - 1))),
            vec![Part::Hours(Some(10 * h), Some(12 * h))]
        );
        // Inside one hour: rows only.
        assert_eq!(
            parts_of(&f(Some(10 * h + 1), Some(10 * h + 9))),
            vec![Part::Rows(Some(10 * h + 1), Some(10 * h + 9))]
        );
        // Filters the rollup cannot answer read rows.
        let mut g = f(Some(0), Some(5 * h));
        g.min_latency = Some(1.0);
        assert_eq!(parts_of(&g), vec![Part::Rows(Some(0), Some(5 * h))]);
        // Buckets finer than an hour cannot come from hourly totals.
        assert_eq!(
            parts(&f(None, None), Some(600_000)),
            vec![Part::Rows(None, None)]
        );
        assert_eq!(
            parts(&f(None, None), Some(3 * h)),
            vec![Part::Hours(None, None)]
        );
    }
}
