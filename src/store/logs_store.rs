//! `logs.db`: one row per accepted inference request, and the queries behind `/api/logs`,
//! its stats and histograms, and `bifrost logs`.
//!
//! Calls are blocking; async callers run them on the blocking pool. The request path never
//! touches this store: the log writer (`plugins::logging`) owns its own connection and inserts
//! in batches, while queries take connections from a small pool here, so a slow dashboard
//! query never holds up the writer (SQLite WAL lets readers and the writer run together).

mod filter;
mod histogram;
mod sums;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rusqlite::types::Value as SqlValue;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension, Row};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::schemas::openai::Usage;

pub use histogram::{
    bucket_size_seconds, CountBucket, GroupBy, GroupedHistogram, Histogram, LatencyBucket,
    LatencyStats, ModelCounts, TokenBucket, TokenStats,
};

/// Migrations of logs.db in order; the position is the version.
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/logs/0001_logs.sql"),
    include_str!("migrations/logs/0002_logs_rollup.sql"),
];

/// Idle query connections kept open.
const MAX_IDLE: usize = 4;

/// Page cache of the writer's connection (negative: KiB, SQLite's convention).
const WRITER_CACHE_KIB: i64 = -65_536;

/// Ids per `DELETE ... IN (...)` statement, well under SQLite's parameter limit.
const DELETE_CHUNK: usize = 500;

/// Rows per retention transaction, so that a large purge never holds the write lock long.
const PURGE_CHUNK: i64 = 5_000;

/// One request log, as stored and as served: Bifrost's log row.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct LogEntry {
    /// Insertion order, for following new rows; not part of the API.
    #[serde(skip)]
    pub seq: i64,
    /// Request id (UUID v7).
    pub id: String,
    /// When the request was accepted (unix ms; RFC 3339 in JSON).
    #[serde(with = "rfc3339_ms")]
    pub timestamp: i64,
    /// Request type (`chat_completion`, `chat_completion_stream`, `embedding`, ...).
    pub object: String,
    /// Provider that answered, else the one asked for.
    pub provider: String,
    /// Model.
    pub model: String,
    /// `processing` (live events only), `success`, `error` or `cancelled`.
    pub status: String,
    /// Whether the answer was streamed.
    pub stream: bool,
    /// Milliseconds from acceptance to the last byte.
    pub latency: Option<f64>,
    /// Milliseconds to the first stream chunk.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttft: Option<f64>,
    /// Token usage.
    pub token_usage: Option<Usage>,
    /// Cost in USD, when pricing knows the model.
    pub cost: Option<f64>,
    /// Key used (empty when none).
    #[serde(default)]
    pub selected_key_id: String,
    /// Its name.
    #[serde(default)]
    pub selected_key_name: String,
    /// Virtual key (with governance).
    pub virtual_key_id: Option<String>,
    /// Its name.
    pub virtual_key_name: Option<String>,
    /// Retries on the provider that answered.
    #[serde(default)]
    pub number_of_retries: u32,
    /// 0 for the primary, n for the n-th fallback.
    #[serde(default)]
    pub fallback_index: u32,
    /// Bifrost's error object: `{"status_code", "error": {"type", "message"}}`.
    pub error_details: Option<Box<RawValue>>,
    /// The request's messages (or prompt, or input).
    pub input_history: Option<Box<RawValue>>,
    /// The answer's message.
    pub output_message: Option<Box<RawValue>>,
    /// Request parameters without the content.
    pub params: Option<Box<RawValue>>,
    /// `x-bf-lh-*` and `client.logging_headers` values.
    pub metadata: Option<BTreeMap<String, Value>>,
}

impl LogEntry {
    /// Total tokens, 0 when unknown.
    pub fn total_tokens(&self) -> u64 {
        self.token_usage.as_ref().map_or(0, |u| u.total_tokens)
    }

    /// The error message, if the request failed.
    pub fn error_message(&self) -> Option<String> {
        let v: Value = serde_json::from_str(self.error_details.as_ref()?.get()).ok()?;
        v["error"]["message"].as_str().map(str::to_owned)
    }
}

/// Which logs a query reads. Empty lists and `None` do not filter.
#[derive(Debug, Clone, Default)]
pub struct LogFilter {
    /// Any of these providers.
    pub providers: Vec<String>,
    /// Any of these models.
    pub models: Vec<String>,
    /// Any of these statuses.
    pub statuses: Vec<String>,
    /// Any of these request types.
    pub objects: Vec<String>,
    /// Any of these keys.
    pub selected_key_ids: Vec<String>,
    /// Any of these virtual keys.
    pub virtual_key_ids: Vec<String>,
    /// From this time (unix ms, inclusive).
    pub start_ms: Option<i64>,
    /// Until this time (unix ms, inclusive).
    pub end_ms: Option<i64>,
    /// Latency at least (ms).
    pub min_latency: Option<f64>,
    /// Latency at most (ms).
    pub max_latency: Option<f64>,
    /// Total tokens at least.
    pub min_tokens: Option<i64>,
    /// Total tokens at most.
    pub max_tokens: Option<i64>,
    /// Cost at least (USD).
    pub min_cost: Option<f64>,
    /// Cost at most (USD).
    pub max_cost: Option<f64>,
    /// Only rows without a cost.
    pub missing_cost_only: bool,
    /// Words that must appear in the messages, the answer or the error.
    pub content_search: Option<String>,
}

/// Sort keys of a page.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SortBy {
    /// Acceptance time.
    #[default]
    Timestamp,
    /// Latency.
    Latency,
    /// Total tokens.
    Tokens,
    /// Cost.
    Cost,
}

impl SortBy {
    /// Parses Bifrost's `sort_by` value.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "timestamp" => Some(Self::Timestamp),
            "latency" => Some(Self::Latency),
            "tokens" => Some(Self::Tokens),
            "cost" => Some(Self::Cost),
            _ => None,
        }
    }
}

/// Sort direction.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Order {
    /// Smallest first.
    Asc,
    /// Largest (newest) first.
    #[default]
    Desc,
}

impl Order {
    /// Parses Bifrost's `order` value.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "asc" => Some(Self::Asc),
            "desc" => Some(Self::Desc),
            _ => None,
        }
    }
}

/// One page of a search: Bifrost's `pagination` object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page {
    /// Rows per page.
    pub limit: u32,
    /// Rows skipped.
    pub offset: u64,
    /// Sort key.
    pub sort_by: SortBy,
    /// Sort direction.
    pub order: Order,
}

impl Default for Page {
    fn default() -> Self {
        Self {
            limit: 50,
            offset: 0,
            sort_by: SortBy::Timestamp,
            order: Order::Desc,
        }
    }
}

/// Aggregates over the logs a filter selects (Bifrost's `stats`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    /// Matching requests.
    pub total_requests: u64,
    /// Percentage of them that succeeded (0-100).
    pub success_rate: f64,
    /// Mean latency in ms.
    pub average_latency: f64,
    /// Sum of total tokens.
    pub total_tokens: u64,
    /// Sum of cost in USD.
    pub total_cost: f64,
}

/// A page of logs, the total behind it and the stats of the whole selection.
#[derive(Debug, Clone)]
pub struct SearchResult {
    /// The page.
    pub logs: Vec<LogEntry>,
    /// Rows matching the filter.
    pub total: u64,
    /// Stats over the rows matching the filter.
    pub stats: Stats,
    /// Whether logs.db holds any row at all (the dashboard's empty state).
    pub has_logs: bool,
}

/// A key or virtual key seen in the logs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyRef {
    /// Its id.
    pub id: String,
    /// Its last recorded name.
    pub name: String,
}

/// The values the dashboard's filter menus offer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FilterData {
    /// Providers seen.
    pub providers: Vec<String>,
    /// Models seen.
    pub models: Vec<String>,
    /// Keys seen.
    pub selected_keys: Vec<KeyRef>,
    /// Virtual keys seen.
    pub virtual_keys: Vec<KeyRef>,
}

/// Totals for one provider and model (`bifrost logs stats`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct GroupStats {
    /// Provider.
    pub provider: String,
    /// Model.
    pub model: String,
    /// Requests.
    pub requests: u64,
    /// Of which succeeded.
    pub success: u64,
    /// Of which failed.
    pub errors: u64,
    /// Of which the client cancelled.
    pub cancelled: u64,
    /// Mean latency (ms).
    pub average_latency: f64,
    /// Sum of total tokens.
    pub total_tokens: u64,
    /// Sum of cost, `None` when no row has a cost.
    pub total_cost: Option<f64>,
}

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

/// The writer's own connection: batched inserts, one transaction per batch.
pub struct Inserter {
    conn: Connection,
}

impl std::fmt::Debug for Inserter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Inserter")
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
        // Each row touches a dozen indexes, several at random positions (latency, tokens,
        // cost); a page cache that holds their working set keeps inserts off the disk.
        conn.pragma_update(None, "cache_size", WRITER_CACHE_KIB)?;
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
            // Pick the page's rows by their numbers first, so that an offset skips index
            // entries rather than whole rows with their content.
            let order = filter::order_by(page.sort_by, page.order);
            let sql = format!(
                "SELECT {COLUMNS} FROM (SELECT l.seq FROM logs l WHERE {} ORDER BY {order} \
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
            let stats = sums::stats(&tx, filter)?;
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

impl Inserter {
    /// Inserts a batch in one transaction. An id already stored is skipped, so a record can
    /// never be written twice. Returns how many rows were new.
    pub fn insert(&mut self, entries: &[LogEntry]) -> Result<usize> {
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let mut inserted = 0;
        {
            let mut row = tx.prepare_cached(
                "INSERT INTO logs (id, timestamp, object, provider, model, status, stream, \
                   latency, ttft, prompt_tokens, completion_tokens, total_tokens, token_usage, \
                   cost, selected_key_id, selected_key_name, virtual_key_id, virtual_key_name, \
                   number_of_retries, fallback_index, error_details, metadata) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, \
                   ?17, ?18, ?19, ?20, ?21, ?22) \
                 ON CONFLICT(id) DO NOTHING",
            )?;
            let mut content = tx.prepare_cached(
                "INSERT INTO logs_content (seq, input_history, output_message, params) \
                 VALUES (?1, ?2, ?3, ?4)",
            )?;
            let mut fts =
                tx.prepare_cached("INSERT INTO logs_fts (rowid, body) VALUES (?1, ?2)")?;
            for e in entries {
                let usage = e.token_usage.as_ref();
                let tokens = |f: fn(&Usage) -> u64| {
                    usage.map_or(0, |u| i64::try_from(f(u)).unwrap_or(i64::MAX))
                };
                let n = row.execute(params![
                    e.id,
                    e.timestamp,
                    e.object,
                    e.provider,
                    e.model,
                    e.status,
                    e.stream,
                    e.latency,
                    e.ttft,
                    tokens(|u| u.prompt_tokens),
                    tokens(|u| u.completion_tokens),
                    tokens(|u| u.total_tokens),
                    usage.map(serde_json::to_string).transpose().ok().flatten(),
                    e.cost,
                    e.selected_key_id,
                    e.selected_key_name,
                    e.virtual_key_id,
                    e.virtual_key_name,
                    e.number_of_retries,
                    e.fallback_index,
                    e.error_details.as_deref().map(RawValue::get),
                    e.metadata
                        .as_ref()
                        .map(serde_json::to_string)
                        .transpose()
                        .ok()
                        .flatten(),
                ])?;
                if n == 0 {
                    continue;
                }
                inserted += 1;
                let seq = tx.last_insert_rowid();
                let (input, output, p) = (
                    e.input_history.as_deref().map(RawValue::get),
                    e.output_message.as_deref().map(RawValue::get),
                    e.params.as_deref().map(RawValue::get),
                );
                if input.is_some() || output.is_some() || p.is_some() {
                    content.execute(params![seq, input, output, p])?;
                }
                let body = search_text(e);
                if !body.is_empty() {
                    fts.execute(params![seq, body])?;
                }
            }
        }
        tx.commit()?;
        Ok(inserted)
    }
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

/// The words of a log worth searching: string values of the messages and the answer (not
/// JSON keys, roles or ids) and the error message.
fn search_text(e: &LogEntry) -> String {
    let mut out = String::new();
    for raw in [&e.input_history, &e.output_message].into_iter().flatten() {
        match serde_json::from_str::<Value>(raw.get()) {
            Ok(v) => collect_strings(&v, None, &mut out),
            Err(_) => push_word(&mut out, raw.get()),
        }
    }
    if let Some(message) = e.error_message() {
        push_word(&mut out, &message);
    }
    out
}

fn collect_strings(v: &Value, key: Option<&str>, out: &mut String) {
    const SKIPPED: &[&str] = &["role", "type", "id", "tool_call_id", "object"];
    match v {
        Value::String(s) if !key.is_some_and(|k| SKIPPED.contains(&k)) => push_word(out, s),
        Value::Array(items) => items.iter().for_each(|i| collect_strings(i, key, out)),
        Value::Object(map) => map
            .iter()
            .for_each(|(k, v)| collect_strings(v, Some(k), out)),
        _ => {}
    }
}

fn push_word(out: &mut String, s: &str) {
    if !out.is_empty() {
        out.push(' ');
    }
    out.push_str(s);
}

/// (De)serialises unix milliseconds as RFC 3339 text.
mod rfc3339_ms {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(ms: &i64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&crate::store::timefmt::format_ms(*ms))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
        let text = String::deserialize(d)?;
        crate::store::timefmt::parse_rfc3339(&text)
            .ok_or_else(|| serde::de::Error::custom(format!("not an RFC 3339 time: {text}")))
    }
}
