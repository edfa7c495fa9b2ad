//! Writing logs: the writer's connection inserts a batch per transaction, each row with its
//! content and its full-text entry, and adds the batch to the hourly rollup.

use std::collections::HashMap;

use rusqlite::{params, Connection};
use serde_json::value::RawValue;

use super::rank::{cost_rank, rank};
use super::words::{append_json_words, append_word};
use super::LogEntry;
use crate::error::Result;
use crate::schemas::openai::Usage;

/// The writer's own connection: batched inserts, one transaction per batch.
pub struct Inserter {
    pub(super) conn: Connection,
}

impl std::fmt::Debug for Inserter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Inserter")
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
        let mut rollup = Rollup::default();
        {
            let mut row = tx.prepare_cached(
                "INSERT INTO logs (id, timestamp, object, provider, model, status, stream, \
                   latency, ttft, prompt_tokens, completion_tokens, total_tokens, token_usage, \
                   cost, selected_key_id, selected_key_name, virtual_key_id, virtual_key_name, \
                   number_of_retries, fallback_index, error_details, metadata, latency_rank, \
                   tokens_rank, cost_rank) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, \
                   ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25) \
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
                let tokens = |f: fn(&Usage) -> u64| token_count(e, f);
                let total_tokens = tokens(|u| u.total_tokens);
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
                    total_tokens,
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
                    rank(e.latency),
                    rank(Some(total_tokens as f64)),
                    cost_rank(e.cost),
                ])?;
                if n == 0 {
                    continue;
                }
                inserted += 1;
                rollup.add(e);
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
            rollup.write(&tx)?;
        }
        tx.commit()?;
        Ok(inserted)
    }
}

/// One token count of a log's usage as SQLite stores it (0 when the usage is unknown).
fn token_count(e: &LogEntry, count: fn(&Usage) -> u64) -> i64 {
    e.token_usage
        .as_ref()
        .map_or(0, |u| i64::try_from(count(u)).unwrap_or(i64::MAX))
}

/// The dimensions of one `logs_rollup` row.
#[derive(Debug, PartialEq, Eq, Hash)]
struct RollupKey<'a> {
    hour: i64,
    provider: &'a str,
    model: &'a str,
    status: &'a str,
    object: &'a str,
    selected_key_id: &'a str,
    selected_key_name: &'a str,
    virtual_key_id: &'a str,
    virtual_key_name: &'a str,
}

/// What one batch adds to a rollup row.
#[derive(Debug, Default)]
struct RollupSums {
    requests: i64,
    latency_sum: f64,
    latency_count: i64,
    prompt_tokens: i64,
    completion_tokens: i64,
    total_tokens: i64,
    cost_sum: f64,
}

/// A batch's additions to the hourly rollup, summed in memory so that the batch costs one
/// upsert per distinct key (usually a handful) instead of one per row.
#[derive(Debug, Default)]
struct Rollup<'a> {
    rows: HashMap<RollupKey<'a>, RollupSums>,
}

impl<'a> Rollup<'a> {
    fn add(&mut self, e: &'a LogEntry) {
        const HOUR_MS: i64 = 3_600_000;
        let key = RollupKey {
            // As the delete trigger computes it (`%` truncates in both Rust and SQLite).
            hour: e.timestamp - e.timestamp % HOUR_MS,
            provider: &e.provider,
            model: &e.model,
            status: &e.status,
            object: &e.object,
            selected_key_id: &e.selected_key_id,
            selected_key_name: &e.selected_key_name,
            virtual_key_id: e.virtual_key_id.as_deref().unwrap_or(""),
            virtual_key_name: e.virtual_key_name.as_deref().unwrap_or(""),
        };
        let tokens = |f: fn(&Usage) -> u64| token_count(e, f);
        let sums = self.rows.entry(key).or_default();
        sums.requests += 1;
        if let Some(latency) = e.latency {
            sums.latency_sum += latency;
            sums.latency_count += 1;
        }
        sums.prompt_tokens = sums
            .prompt_tokens
            .saturating_add(tokens(|u| u.prompt_tokens));
        sums.completion_tokens = sums
            .completion_tokens
            .saturating_add(tokens(|u| u.completion_tokens));
        sums.total_tokens = sums.total_tokens.saturating_add(tokens(|u| u.total_tokens));
        sums.cost_sum += e.cost.unwrap_or(0.0);
    }

    fn write(&self, conn: &Connection) -> rusqlite::Result<()> {
        let mut upsert = conn.prepare_cached(
            "INSERT INTO logs_rollup VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, \
               ?13, ?14, ?15, ?16) \
             ON CONFLICT DO UPDATE SET \
               requests = requests + excluded.requests, \
               latency_sum = latency_sum + excluded.latency_sum, \
               latency_count = latency_count + excluded.latency_count, \
               prompt_tokens = prompt_tokens + excluded.prompt_tokens, \
               completion_tokens = completion_tokens + excluded.completion_tokens, \
               total_tokens = total_tokens + excluded.total_tokens, \
               cost_sum = cost_sum + excluded.cost_sum",
        )?;
        for (k, s) in &self.rows {
            upsert.execute(params![
                k.hour,
                k.provider,
                k.model,
                k.status,
                k.object,
                k.selected_key_id,
                k.selected_key_name,
                k.virtual_key_id,
                k.virtual_key_name,
                s.requests,
                s.latency_sum,
                s.latency_count,
                s.prompt_tokens,
                s.completion_tokens,
                s.total_tokens,
                s.cost_sum,
            ])?;
        }
        Ok(())
    }
}

/// The words of a log worth searching: string values of the messages and the answer (see
/// `words`) and the error message.
fn search_text(e: &LogEntry) -> String {
    let mut out = String::new();
    for raw in [&e.input_history, &e.output_message].into_iter().flatten() {
        append_json_words(raw.get(), &mut out);
    }
    if let Some(message) = e.error_message() {
        append_word(&mut out, &message);
    }
    out
}
