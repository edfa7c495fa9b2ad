//! `logs.db`: one row per accepted inference request, and the queries behind `/api/logs`,
//! its stats and histograms, and `bifrost logs`.
//!
//! Calls are blocking; async callers run them on the blocking pool. The request path never
//! touches this store: the log writer (`plugins::logging`) owns its own connection and inserts
//! in batches, while queries take connections from a small pool here, so a slow dashboard
//! query never holds up the writer (SQLite WAL lets readers and the writer run together).

mod filter;
mod histogram;
mod insert;
mod model;
mod rank;
mod sums;
#[cfg(test)]
mod tests;
mod words;

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rusqlite::types::Value as SqlValue;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension, Row};
use serde_json::value::RawValue;

use crate::error::{Error, Result};
use crate::schemas::openai::Usage;

pub use insert::Inserter;
pub use model::{
    FilterData, GroupStats, KeyRef, LogEntry, LogFilter, Order, Page, SearchResult, SortBy, Stats,
};

pub use histogram::{
    bucket_size_seconds, CountBucket, GroupBy, GroupedHistogram, Histogram, LatencyBucket,
    LatencyStats, ModelCounts, TokenBucket, TokenStats,
};

/// Migrations of logs.db in order; the position is the version.
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/logs/0001_logs.sql"),
    include_str!("migrations/logs/0002_logs_rollup.sql"),
    include_str!("migrations/logs/0003_sort_ranks.sql"),
];

/// Idle query connections kept open.
const MAX_IDLE: usize = 4;

/// Page cache of the writer's connection (negative: KiB, SQLite's convention). New rows land
/// at the ends of indexes and rank buckets, a working set of a few hundred pages.
const WRITER_CACHE_KIB: i64 = -8_192;

/// WAL pages written before the writer copies them back into the database (SQLite's default
/// is 1,000). The same hot pages are rewritten by every batch; checkpointing less often copies
/// each of them once for many batches. The WAL grows to about 40 MB between checkpoints.
const WRITER_AUTOCHECKPOINT_PAGES: i64 = 10_000;

/// Ids per `DELETE ... IN (...)` statement, well under SQLite's parameter limit.
const DELETE_CHUNK: usize = 500;

/// Rows per retention transaction, so that a large purge never holds the write lock long.
const PURGE_CHUNK: i64 = 5_000;

/// The logs store: a pool of query connections on `logs.db`.
pub struct LogsStore {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl std::fmt::Debug for LogsStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogsStore")
            .field("path", &self.path)
            .finish()
    }
}

/// Column list of every row read, in the order [`read_row`] expects.
const COLUMNS: &str = "l.seq, l.id, l.timestamp, l.object, l.provider, l.model, l.status, \
     l.stream, l.latency, l.ttft, l.token_usage, l.prompt_tokens, l.completion_tokens, \
     l.total_tokens, l.cost, l.selected_key_id, l.selected_key_name, l.virtual_key_id, \
     l.virtual_key_name, l.number_of_retries, l.fallback_index, l.error_details, l.metadata, \
     c.input_history, c.output_message, c.params";

const FROM: &str = "FROM logs l LEFT JOIN logs_content c ON c.seq = l.seq";

impl LogsStore {
    /// Opens (creating if needed) and migrates the database at `path`.
    pub fn open(path: &Path) -> Result<Self> {
        let mut conn = connect(path)?;
        crate::store::migrate(&mut conn, MIGRATIONS)?;
        Ok(Self {
            path: path.to_owned(),
            idle: Mutex::new(vec![conn]),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A connection of its own for the log writer.
    pub fn inserter(&self) -> Result<Inserter> {
        let conn = connect(&self.path)?;
        // Each row touches a dozen indexes; a page cache that holds their hot pages keeps
        // inserts off the disk.
        conn.pragma_update(None, "cache_size", WRITER_CACHE_KIB)?;
        conn.pragma_update(None, "wal_autocheckpoint", WRITER_AUTOCHECKPOINT_PAGES)?;
        Ok(Inserter { conn })
    }

    fn with<T>(&self, f: impl FnOnce(&mut Connection) -> Result<T>) -> Result<T> {
        let pooled = self
            .idle
            .lock()
            .map_err(|_| Error::Internal("logs store pool poisoned".into()))?
            .pop();
        let mut conn = match pooled {
            Some(c) => c,
            None => connect(&self.path)?,
        };
        let out = f(&mut conn);
        if let Ok(mut idle) = self.idle.lock() {
            if idle.len() < MAX_IDLE {
                idle.push(conn);
            }
        }
        out
    }

    /// A page of logs with the total and stats of everything the filter selects, read in one
    /// snapshot so that the three agree.
    pub fn search(&self, filter: &LogFilter, page: &Page) -> Result<SearchResult> {
        let clause = filter::build(filter);
        self.with(|conn| {
            let tx = conn.transaction()?;
            // The selection's size first: it decides how a ranked sort finds its page.
            let stats = sums::stats(&tx, filter)?;
            let walk = walk_rank_index(&tx, page, stats.total_requests)?;
            let (source, order) = filter::sorted_source(page.sort_by, page.order, walk);
            // Pick the page's rows by their numbers first, so that an offset skips index
            // entries rather than whole rows with their content.
            let sql = format!(
                "SELECT {COLUMNS} FROM (SELECT l.seq FROM {source} WHERE {} ORDER BY {order} \
                   LIMIT ? OFFSET ?) p \
                 JOIN logs l ON l.seq = p.seq LEFT JOIN logs_content c ON c.seq = l.seq \
                 ORDER BY {order}",
                clause.sql
            );
            let mut values = clause.params.clone();
            values.push(SqlValue::Integer(i64::from(page.limit)));
            values.push(SqlValue::Integer(
                i64::try_from(page.offset).unwrap_or(i64::MAX),
            ));
            let logs = query_entries(&tx, &sql, values)?;
            let has_logs = stats.total_requests > 0
                || tx.query_row("SELECT EXISTS (SELECT 1 FROM logs)", [], |r| r.get(0))?;
            tx.commit()?;
            Ok(SearchResult {
                logs,
                total: stats.total_requests,
                stats,
                has_logs,
            })
        })
    }

    /// One log by id.
    pub fn get(&self, id: &str) -> Result<Option<LogEntry>> {
        self.with(|conn| {
            let sql = format!("SELECT {COLUMNS} {FROM} WHERE l.id = ?1");
            Ok(conn.query_row(&sql, [id], read_row).optional()?)
        })
    }

    /// Stats over what the filter selects.
    pub fn stats(&self, filter: &LogFilter) -> Result<Stats> {
        self.with(|conn| sums::stats(conn, filter))
    }

    /// Rows inserted after `after_seq` (oldest first, at most `limit`); with `None`, the last
    /// `limit` rows. For following the log as it grows.
    pub fn tail(
        &self,
        filter: &LogFilter,
        after_seq: Option<i64>,
        limit: u32,
    ) -> Result<Vec<LogEntry>> {
        let clause = filter::build(filter);
        let mut values = clause.params;
        let limit = SqlValue::Integer(i64::from(limit));
        self.with(|conn| match after_seq {
            Some(seq) => {
                values.push(SqlValue::Integer(seq));
                values.push(limit);
                let sql = format!(
                    "SELECT {COLUMNS} {FROM} WHERE {} AND l.seq > ? ORDER BY l.seq ASC LIMIT ?",
                    clause.sql
                );
                query_entries(conn, &sql, values)
            }
            None => {
                values.push(limit);
                let sql = format!(
                    "SELECT {COLUMNS} {FROM} WHERE {} ORDER BY l.seq DESC LIMIT ?",
                    clause.sql
                );
                let mut rows = query_entries(conn, &sql, values)?;
                rows.reverse();
                Ok(rows)
            }
        })
    }

    /// The highest row number so far (0 when empty): where following starts.
    pub fn last_seq(&self) -> Result<i64> {
        self.with(|conn| {
            Ok(conn.query_row("SELECT COALESCE(MAX(seq), 0) FROM logs", [], |r| r.get(0))?)
        })
    }

    /// Calls `each` for every selected row, oldest first, without holding them all in memory.
    pub fn for_each(
        &self,
        filter: &LogFilter,
        mut each: impl FnMut(LogEntry) -> Result<()>,
    ) -> Result<u64> {
        let clause = filter::build(filter);
        self.with(|conn| {
            let sql = format!(
                "SELECT {COLUMNS} {FROM} WHERE {} ORDER BY l.timestamp ASC, l.seq ASC",
                clause.sql
            );
            let mut stmt = conn.prepare(&sql)?;
            let mut rows = stmt.query(params_from_iter(clause.params.iter()))?;
            let mut n = 0;
            while let Some(row) = rows.next()? {
                each(read_row(row)?)?;
                n += 1;
            }
            Ok(n)
        })
    }

    /// Totals per provider and model, busiest first.
    pub fn summary(&self, filter: &LogFilter) -> Result<Vec<GroupStats>> {
        let clause = filter::build(filter);
        self.with(|conn| {
            let sql = format!(
                "SELECT l.provider, l.model, COUNT(*), \
                   COALESCE(SUM(l.status = 'success'), 0), COALESCE(SUM(l.status = 'error'), 0), \
                   COALESCE(SUM(l.status = 'cancelled'), 0), COALESCE(AVG(l.latency), 0), \
                   COALESCE(SUM(l.total_tokens), 0), SUM(l.cost) \
                 FROM logs l WHERE {} GROUP BY l.provider, l.model \
                 ORDER BY COUNT(*) DESC, l.provider, l.model",
                clause.sql
            );
            let mut stmt = conn.prepare(&sql)?;
            let rows = stmt.query_map(params_from_iter(clause.params.iter()), |r| {
                Ok(GroupStats {
                    provider: r.get(0)?,
                    model: r.get(1)?,
                    requests: count(r.get(2)?),
                    success: count(r.get(3)?),
                    errors: count(r.get(4)?),
                    cancelled: count(r.get(5)?),
                    average_latency: r.get(6)?,
                    total_tokens: count(r.get(7)?),
                    total_cost: r.get(8)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    /// Distinct providers, models, keys and virtual keys, for filter menus (from the rollup:
    /// a few rows per hour, not one per request).
    pub fn filter_data(&self) -> Result<FilterData> {
        self.with(|conn| {
            let strings = |sql: &str| -> Result<Vec<String>> {
                let mut stmt = conn.prepare(sql)?;
                let rows = stmt.query_map([], |r| r.get(0))?;
                Ok(rows.collect::<rusqlite::Result<Vec<String>>>()?)
            };
            let keys = |sql: &str| -> Result<Vec<KeyRef>> {
                let mut stmt = conn.prepare(sql)?;
                let rows = stmt.query_map([], |r| {
                    Ok(KeyRef {
                        id: r.get(0)?,
                        name: r.get::<_, Option<String>>(1)?.unwrap_or_default(),
                    })
                })?;
                Ok(rows.collect::<rusqlite::Result<Vec<KeyRef>>>()?)
            };
            Ok(FilterData {
                providers: strings(
                    "SELECT DISTINCT provider FROM logs_rollup WHERE requests > 0 \
                     ORDER BY provider",
                )?,
                models: strings(
                    "SELECT DISTINCT model FROM logs_rollup WHERE requests > 0 ORDER BY model",
                )?,
                selected_keys: keys(
                    "SELECT selected_key_id, MAX(selected_key_name) FROM logs_rollup \
                     WHERE selected_key_id != '' AND requests > 0 \
                     GROUP BY selected_key_id ORDER BY 2",
                )?,
                virtual_keys: keys(
                    "SELECT virtual_key_id, MAX(virtual_key_name) FROM logs_rollup \
                     WHERE virtual_key_id != '' AND requests > 0 \
                     GROUP BY virtual_key_id ORDER BY 2",
                )?,
            })
        })
    }

    /// Deletes logs by id; returns how many existed.
    pub fn delete(&self, ids: &[String]) -> Result<usize> {
        self.with(|conn| {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let mut deleted = 0;
            for chunk in ids.chunks(DELETE_CHUNK) {
                let marks = vec!["?"; chunk.len()].join(", ");
                let sql = format!("DELETE FROM logs WHERE id IN ({marks})");
                deleted += tx.execute(&sql, params_from_iter(chunk.iter()))?;
            }
            tx.commit()?;
            Ok(deleted)
        })
    }

    /// Deletes logs accepted before `cutoff_ms`, in small transactions; returns how many.
    pub fn purge_before(&self, cutoff_ms: i64) -> Result<usize> {
        self.with(|conn| {
            let mut total = 0;
            loop {
                let n = conn.execute(
                    "DELETE FROM logs WHERE seq IN \
                       (SELECT seq FROM logs WHERE timestamp < ?1 LIMIT ?2)",
                    params![cutoff_ms, PURGE_CHUNK],
                )?;
                total += n;
                if i64::try_from(n).unwrap_or(i64::MAX) < PURGE_CHUNK {
                    return Ok(total);
                }
            }
        })
    }

    /// Lets SQLite refresh the statistics its query planner uses, for every table and on a
    /// bounded sample (cheap when little changed), so that it picks the right index as the
    /// table grows.
    pub fn optimize(&self) -> Result<()> {
        self.with(|conn| {
            Ok(conn.execute_batch("PRAGMA analysis_limit = 1000; PRAGMA optimize = 0x10002;")?)
        })
    }
}

/// Whether a page sorted by latency, tokens or cost should walk the sort's rank index (reading
/// entries until enough match the filter) rather than sort the whole selection. Walking reads
/// about `(offset + limit) × rows / selected` entries, sorting reads `selected` rows, so a
/// large selection walks and a small one sorts. SQLite's planner cannot make this choice
/// well: it does not weigh the `LIMIT` against how many rows the filter keeps.
fn walk_rank_index(conn: &Connection, page: &Page, selected: u64) -> Result<bool> {
    if page.sort_by == SortBy::Timestamp || selected == 0 {
        return Ok(false);
    }
    // The highest row number bounds the row count (deleted rows only make it larger).
    let rows: i64 = conn.query_row("SELECT COALESCE(MAX(seq), 0) FROM logs", [], |r| r.get(0))?;
    let wanted = (page.offset + u64::from(page.limit)).max(1) as f64;
    let selected = selected as f64;
    Ok(wanted * rows.max(0) as f64 / selected < selected)
}

/// Opens a connection with the pragmas every user of logs.db needs.
fn connect(path: &Path) -> Result<Connection> {
    let conn = Connection::open(path)
        .map_err(|e| Error::Store(format!("cannot open {}: {e}", path.display())))?;
    // WAL: the CLI and the dashboard read while the writer writes. NORMAL sync: a crash may
    // lose the last transactions but never corrupts, the usual trade for logs. The busy
    // timeout makes concurrent writers (retention, DELETE) wait instead of failing.
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    rank::register(&conn)?;
    Ok(conn)
}

fn query_entries(conn: &Connection, sql: &str, values: Vec<SqlValue>) -> Result<Vec<LogEntry>> {
    let mut stmt = conn.prepare(sql)?;
    let rows = stmt.query_map(params_from_iter(values.iter()), read_row)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

fn read_row(r: &Row<'_>) -> rusqlite::Result<LogEntry> {
    let usage_text: Option<String> = r.get(10)?;
    let (prompt, completion, total): (i64, i64, i64) = (r.get(11)?, r.get(12)?, r.get(13)?);
    let token_usage = usage_text
        .and_then(|t| serde_json::from_str::<Usage>(&t).ok())
        .or_else(|| {
            (total > 0).then(|| Usage {
                prompt_tokens: count(prompt),
                completion_tokens: count(completion),
                total_tokens: count(total),
                ..Usage::default()
            })
        });
    let metadata: Option<String> = r.get(22)?;
    Ok(LogEntry {
        seq: r.get(0)?,
        id: r.get(1)?,
        timestamp: r.get(2)?,
        object: r.get(3)?,
        provider: r.get(4)?,
        model: r.get(5)?,
        status: r.get(6)?,
        stream: r.get(7)?,
        latency: r.get(8)?,
        ttft: r.get(9)?,
        token_usage,
        cost: r.get(14)?,
        selected_key_id: r.get(15)?,
        selected_key_name: r.get(16)?,
        virtual_key_id: r.get(17)?,
        virtual_key_name: r.get(18)?,
        number_of_retries: r.get(19)?,
        fallback_index: r.get(20)?,
        error_details: raw_json(r.get(21)?),
        metadata: metadata.and_then(|m| serde_json::from_str(&m).ok()),
        input_history: raw_json(r.get(23)?),
        output_message: raw_json(r.get(24)?),
        params: raw_json(r.get(25)?),
    })
}

/// Stored JSON text as a raw JSON value; text that is not JSON is served as a JSON string
/// rather than breaking the response.
pub fn raw_json(text: Option<String>) -> Option<Box<RawValue>> {
    let text = text?;
    match serde_json::from_str::<&RawValue>(&text) {
        Ok(raw) => Some(raw.to_owned()),
        Err(_) => serde_json::value::to_raw_value(&text).ok(),
    }
}

fn count(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}
