//! `bifrost logs tail`: the latest requests, one line each, and with `-f` the new ones as they
//! finish — from logs.db in-process, or from a remote gateway's `/api/logs`.

use std::collections::{HashSet, VecDeque};
use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context};
use serde::Deserialize;

use super::{human_ms, TailArgs};
use crate::store::logs_store::LogEntry;
use crate::store::timefmt::format_ms;
use crate::store::{LogFilter, LogsStore};

/// How often `tail -f` looks for new records.
const LOCAL_POLL: Duration = Duration::from_millis(300);
/// How often `tail -f --url` asks the remote gateway.
const REMOTE_POLL: Duration = Duration::from_secs(1);
/// How far back `tail -f --url` re-reads, for requests accepted earlier that finish later.
const REMOTE_LOOKBACK_MS: i64 = 10 * 60 * 1000;
/// Ids remembered by `tail -f --url` to print each record once.
const REMOTE_SEEN: usize = 20_000;

fn tail_filter(args: &TailArgs) -> LogFilter {
    LogFilter {
        providers: args.provider.clone(),
        models: args.model.clone(),
        statuses: args.status.clone(),
        virtual_keys: args.vk.clone(),
        ..LogFilter::default()
    }
}

pub(super) fn tail_local(args: &TailArgs, store: &LogsStore) -> anyhow::Result<ExitCode> {
    let filter = tail_filter(args);
    let printer = Printer::new(args.json);
    // Read the cursor before the first page, so that nothing written in between is missed.
    let mut cursor = store.last_seq()?;
    let first = store.tail(&filter, None, args.lines)?;
    cursor = first.iter().map(|e| e.seq).fold(cursor, i64::max);
    if !printer.print(&first) || !args.follow {
        return Ok(ExitCode::SUCCESS);
    }
    loop {
        std::thread::sleep(LOCAL_POLL);
        let rows = store.tail(&filter, Some(cursor), 1000)?;
        if let Some(last) = rows.last() {
            cursor = last.seq;
        }
        if !printer.print(&rows) {
            return Ok(ExitCode::SUCCESS);
        }
    }
}

/// `GET /api/logs` as far as `tail` reads it.
#[derive(Deserialize)]
struct RemotePage {
    logs: Vec<LogEntry>,
}

pub(super) async fn tail_remote(args: TailArgs, url: String) -> anyhow::Result<ExitCode> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()?;
    let base = format!("{}/api/logs", url.trim_end_matches('/'));
    let mut query: Vec<(&str, String)> = vec![("sort_by", "timestamp".into())];
    for (name, values) in [
        ("providers", &args.provider),
        ("models", &args.model),
        ("status", &args.status),
        ("virtual_key_ids", &args.vk),
    ] {
        if !values.is_empty() {
            query.push((name, values.join(",")));
        }
    }
    let remote = Remote {
        client,
        base,
        query,
    };
    let printer = Printer::new(args.json);
    let mut seen = Seen::default();
    // Everything already there counts as seen, so that following prints only new records;
    // the last `lines` of it are printed first.
    let limit = if args.follow {
        crate::http::logs::MAX_LIMIT
    } else {
        args.lines.clamp(1, crate::http::logs::MAX_LIMIT)
    };
    let mut first = remote.fetch(limit, None).await?;
    first.iter().for_each(|e| seen.insert(&e.id));
    let mut newest = first.iter().map(|e| e.timestamp).max();
    first.truncate(usize::try_from(args.lines).unwrap_or(usize::MAX));
    first.reverse();
    if !printer.print(&first) || !args.follow {
        return Ok(ExitCode::SUCCESS);
    }
    loop {
        tokio::time::sleep(REMOTE_POLL).await;
        // Re-read a window behind the newest time seen (the server's clock, not ours): a long
        // request is logged when it ends but carries the time it began.
        let start = newest.map(|t| t - REMOTE_LOOKBACK_MS);
        let mut rows = match remote.fetch(crate::http::logs::MAX_LIMIT, start).await {
            Ok(rows) => rows,
            Err(e) => {
                eprintln!("bifrost logs tail: {e:#}; retrying");
                continue;
            }
        };
        rows.retain(|e| !seen.contains(&e.id));
        rows.sort_by_key(|e| e.timestamp);
        rows.iter().for_each(|e| seen.insert(&e.id));
        newest = rows.iter().map(|e| e.timestamp).chain(newest).max();
        if !printer.print(&rows) {
            return Ok(ExitCode::SUCCESS);
        }
    }
}

/// A remote gateway's `/api/logs` with the tail's filter.
struct Remote<'a> {
    client: reqwest::Client,
    base: String,
    query: Vec<(&'a str, String)>,
}

impl Remote<'_> {
    /// The newest `limit` logs, from `start` on when given.
    async fn fetch(&self, limit: u32, start: Option<i64>) -> anyhow::Result<Vec<LogEntry>> {
        let mut q = self.query.clone();
        q.push(("limit", limit.to_string()));
        q.push(("order", "desc".into()));
        if let Some(ms) = start {
            q.push(("start_time", format_ms(ms)));
        }
        let resp = self
            .client
            .get(&self.base)
            .query(&q)
            .send()
            .await
            .context("cannot reach the gateway")?;
        let status = resp.status();
        if !status.is_success() {
            bail!(
                "{}: {status}: {}",
                self.base,
                resp.text().await.unwrap_or_default()
            );
        }
        let page: RemotePage = resp.json().await.context("unexpected /api/logs answer")?;
        Ok(page.logs)
    }
}

/// Ids already printed, bounded.
#[derive(Default)]
struct Seen {
    set: HashSet<String>,
    order: VecDeque<String>,
}

impl Seen {
    fn insert(&mut self, id: &str) {
        if self.set.insert(id.to_owned()) {
            self.order.push_back(id.to_owned());
            if self.order.len() > REMOTE_SEEN {
                if let Some(old) = self.order.pop_front() {
                    self.set.remove(&old);
                }
            }
        }
    }

    fn contains(&self, id: &str) -> bool {
        self.set.contains(id)
    }
}

/// Prints log lines; colored when standard output is a terminal (and `NO_COLOR` is unset).
struct Printer {
    json: bool,
    color: bool,
}

impl Printer {
    fn new(json: bool) -> Self {
        let color =
            !json && std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
        Self { json, color }
    }

    /// Prints the rows; `false` when standard output is gone (e.g. piped into `head`).
    fn print(&self, rows: &[LogEntry]) -> bool {
        if rows.is_empty() {
            return true;
        }
        let mut out = std::io::stdout().lock();
        for e in rows {
            let line = if self.json {
                serde_json::to_string(e).unwrap_or_default()
            } else {
                line(e, self.color)
            };
            if writeln!(out, "{line}").is_err() {
                return false;
            }
        }
        out.flush().is_ok()
    }
}

/// One compact line: time, status, provider/model, latency, tokens, cost, key, error.
pub fn line(e: &LogEntry, color: bool) -> String {
    let paint = |code: &str, text: String| {
        if color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text
        }
    };
    let time = format_ms(e.timestamp).replace('T', " ");
    let status_color = match e.status.as_str() {
        "success" => "32",
        "error" => "31",
        _ => "33",
    };
    let mut latency = e.latency.map_or_else(|| "-".to_owned(), human_ms);
    if let Some(ttft) = e.ttft {
        latency.push_str(&format!(" (ttft {})", human_ms(ttft)));
    }
    let tokens = match e.total_tokens() {
        0 => "-".to_owned(),
        n => format!("{n} tok"),
    };
    let cost = e
        .cost
        .map_or_else(|| "-".to_owned(), |c| format!("${c:.4}"));
    let target = if e.provider.is_empty() {
        e.model.clone()
    } else {
        format!("{}/{}", e.provider, e.model)
    };
    let mut out = format!(
        "{}  {}  {}  {:>8}  {:>9}  {:>8}",
        paint("2", time),
        paint(status_color, format!("{:<9}", e.status)),
        paint("36", format!("{target:<32}")),
        latency,
        tokens,
        cost,
    );
    if !e.selected_key_name.is_empty() {
        out.push_str(&format!(
            "  {}",
            paint("2", format!("key={}", e.selected_key_name))
        ));
    }
    if let Some(message) = e.error_message() {
        let code = e
            .error_details
            .as_ref()
            .and_then(|d| serde_json::from_str::<serde_json::Value>(d.get()).ok())
            .and_then(|v| v["status_code"].as_u64())
            .map(|c| format!("{c} "))
            .unwrap_or_default();
        out.push_str(&format!("  {}", paint("31", format!("{code}{message}"))));
    }
    out.trim_end().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_has_every_column_and_color_only_when_asked() {
        let e = LogEntry {
            id: "x".into(),
            timestamp: 1_767_225_600_123,
            provider: "openai".into(),
            model: "gpt-4o".into(),
            status: "error".into(),
            latency: Some(1234.4),
            ttft: Some(80.0),
            cost: Some(0.00125),
            selected_key_name: "primary".into(),
            error_details: crate::store::logs_store::raw_json(Some(
                r#"{"status_code":429,"error":{"type":"t","message":"slow down"}}"#.into(),
            )),
            ..LogEntry::default()
        };
        let plain = line(&e, false);
        for part in [
            "2026-01-01 00:00:00.123Z",
            "error",
            "openai/gpt-4o",
            "1234ms (ttft 80ms)",
            "$0.0013",
            "key=primary",
            "429 slow down",
        ] {
            assert!(plain.contains(part), "{part:?} missing in {plain:?}");
        }
        assert!(!plain.contains('\x1b'));
        assert!(line(&e, true).contains("\x1b[31merror"));
    }
}
