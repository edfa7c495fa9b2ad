//! Sort ranks: a coarse, order-preserving bucket of a value, indexed instead of the value.
//!
//! An index on the exact latency (or tokens, or cost) puts each new row at a random place in
//! a large B-tree, so every row of a batch dirties a page of its own that must be written out.
//! An index on a bucket puts each new row at the end of its bucket (row numbers only grow),
//! and a batch touches one hot page per bucket in use. Because the rank never decreases as
//! the value grows, `ORDER BY rank, value` is the order of `ORDER BY value`, and SQLite reads
//! the rank index in order and sorts only within the buckets a page needs.

use rusqlite::functions::FunctionFlags;
use rusqlite::Connection;

/// Buckets per doubling of the value: each spans about 9%, so the buckets a page needs hold
/// few rows more than the page.
const STEPS_PER_DOUBLING: f64 = 8.0;

/// Cost is ranked in millionths of a dollar, so that sub-cent costs spread over buckets.
const COST_SCALE: f64 = 1_000_000.0;

/// The SQL name of [`rank`], registered on every connection for the migration that fills the
/// rank columns of rows logged before them.
pub(super) const SQL_FUNCTION: &str = "bifrost_rank";

/// The bucket of a non-negative value (`None` stays `None`, so unknown values sort together
/// as SQLite sorts NULLs). Negative values and NaN share bucket 0 with zero.
pub(super) fn rank(value: Option<f64>) -> Option<i64> {
    let v = value?;
    let v = if v.is_finite() && v > 0.0 { v } else { 0.0 };
    // The float-to-int cast saturates, so even an absurd value gets a (last) bucket.
    Some(((1.0 + v).log2() * STEPS_PER_DOUBLING).floor() as i64)
}

/// The rank of a cost in USD.
pub(super) fn cost_rank(cost: Option<f64>) -> Option<i64> {
    rank(cost.map(|c| c * COST_SCALE))
}

/// Registers [`SQL_FUNCTION`]: `bifrost_rank(x)` is `rank(x)`. Only migrations use it; the
/// writer computes ranks in Rust, so the file stays readable and writable by any SQLite.
pub(super) fn register(conn: &Connection) -> rusqlite::Result<()> {
    conn.create_scalar_function(
        SQL_FUNCTION,
        1,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| Ok(rank(ctx.get::<Option<f64>>(0)?)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_never_decrease_as_values_grow() {
        let mut values: Vec<f64> = (0..2000).map(|i| f64::from(i) * 0.37).collect();
        values.extend([1e6, 1e9, 1e300, f64::MAX]);
        let ranks: Vec<i64> = values
            .iter()
            .map(|v| rank(Some(*v)).unwrap_or(-1))
            .collect();
        assert!(ranks.windows(2).all(|w| w[0] <= w[1]), "{ranks:?}");
        // Coarse: a wide range of values shares few buckets.
        assert_eq!(rank(Some(0.0)), Some(0));
        assert_eq!(rank(Some(1.0)), Some(8));
        assert_eq!(rank(Some(3.0)), Some(16));
        assert!(rank(Some(60_000.0)).is_some_and(|r| r < 130));
    }

    #[test]
    fn unknown_and_odd_values() {
        assert_eq!(rank(None), None);
        assert_eq!(rank(Some(-5.0)), Some(0));
        assert_eq!(rank(Some(f64::NAN)), Some(0));
        assert_eq!(rank(Some(f64::INFINITY)), Some(0));
        assert_eq!(cost_rank(Some(0.000_001)), Some(8));
    }

    #[test]
    fn the_sql_function_agrees() {
        let conn = Connection::open_in_memory().unwrap();
        register(&conn).unwrap();
        let got: (Option<i64>, Option<i64>, Option<i64>) = conn
            .query_row(
                "SELECT bifrost_rank(1234.5), bifrost_rank(NULL), bifrost_rank(7)",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap();
        assert_eq!(got, (rank(Some(1234.5)), None, rank(Some(7.0))));
    }
}
