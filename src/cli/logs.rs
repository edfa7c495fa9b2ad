//! `bifrost logs tail|show|stats|export`: the request logs from the terminal.
//!
//! Local commands read the app dir's `logs.db` in-process (WAL lets them read while `serve`
//! writes). `tail --url` and `show --url` ask a remote gateway's `/api/logs` instead, for a
//! gateway in a container or on another machine.

use std::collections::{HashSet, VecDeque};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::{Args, Subcommand, ValueEnum};
use serde::Deserialize;

use super::{block_on, output};
use crate::store::logs_store::LogEntry;
use crate::store::timefmt::{format_ms, now_ms, parse_duration};
use crate::store::{LogFilter, LogsStore};

/// How often `tail -f` looks for new records.
const LOCAL_POLL: Duration = Duration::from_millis(300);
/// How often `tail -f --url` asks the remote gateway.
const REMOTE_POLL: Duration = Duration::from_secs(1);
/// How far back `tail -f --url` re-reads, for requests accepted earlier that finish later.
const REMOTE_LOOKBACK_MS: i64 = 10 * 60 * 1000;
/// Ids remembered by `tail -f --url` to print each record once.
const REMOTE_SEEN: usize = 20_000;

/// `bifrost logs ...`.
#[derive(Debug, Subcommand)]
pub enum LogsCommand {
    /// Print the latest requests, one line each; with -f, keep printing new ones.
    ///
    /// Examples:
    ///   bifrost logs tail -f
    ///   bifrost logs tail -n 100 --status error --provider openai
    ///   bifrost logs tail -f --url http://gateway:8080 --json | jq .
    ///
    /// Filtering by virtual key (--vk NAME) arrives with governance.
    Tail(TailArgs),
    /// Show one request in full (request, answer, error, metadata) as JSON.
    ///
    /// Example: bifrost logs show 0198c5d2-7a3e-7c41-9a0e-5f1f2b3c4d5e
    Show {
        /// The request id (the `id` of the log, also in `tail --json`).
        id: String,
        /// Ask a running gateway instead of reading logs.db.
        #[arg(long, value_name = "URL")]
        url: Option<String>,
    },
    /// Totals by provider and model: requests, errors, latency, tokens, cost.
    ///
    /// Example: bifrost logs stats --since 24h
    Stats {
        /// Only requests from this long ago (30m, 24h, 7d, ...).
        #[arg(long, value_name = "DURATION")]
        since: Option<String>,
    },
    /// Write logs as JSON lines or CSV, oldest first.
    ///
    /// Example: bifrost logs export --format csv --since 7d --output week.csv
    Export {
        /// Output format.
        #[arg(long, value_enum, default_value_t = ExportFormat::Jsonl)]
        format: ExportFormat,
        /// Only requests from this long ago (30m, 24h, 7d, ...).
        #[arg(long, value_name = "DURATION")]
        since: Option<String>,
        /// Write to this file instead of standard output.
        #[arg(long, short, value_name = "FILE")]
        output: Option<PathBuf>,
    },
}

/// Options of `bifrost logs tail`.
#[derive(Debug, Args)]
pub struct TailArgs {
    /// Keep printing new requests as they finish (Ctrl-C to stop).
    #[arg(short, long)]
    pub follow: bool,
    /// Only these providers (comma separated or repeated).
    #[arg(long, value_delimiter = ',')]
    pub provider: Vec<String>,
    /// Only these models.
    #[arg(long, value_delimiter = ',')]
    pub model: Vec<String>,
    /// Only these statuses: success, error, cancelled.
    #[arg(long, value_delimiter = ',')]
    pub status: Vec<String>,
    /// How many recent requests to print first.
    #[arg(short = 'n', long, default_value_t = 50)]
    pub lines: u32,
    /// One JSON object per line (for jq and other tools).
    #[arg(long)]
    pub json: bool,
    /// Follow a running gateway through its API instead of reading logs.db.
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
}

/// Export formats.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ExportFormat {
    /// One JSON object per line.
    Jsonl,
    /// Comma-separated values with a header row.
    Csv,
}

/// Runs a logs subcommand.
pub fn run(cmd: LogsCommand, app_dir: &Path) -> anyhow::Result<ExitCode> {
    match cmd {
        LogsCommand::Tail(args) => match args.url.clone() {
            Some(url) => block_on(tail_remote(args, url))?,
            None => tail_local(&args, &open(app_dir)?),
        },
        LogsCommand::Show { id, url } => {
            let entry = match url {
                Some(url) => block_on(fetch_one(url, id.clone()))??,
                None => open(app_dir)?.get(&id)?,
            };
            let Some(entry) = entry else {
                bail!("no log with id {id}");
            };
            println!("{}", serde_json::to_string_pretty(&entry)?);
            Ok(ExitCode::SUCCESS)
        }
        LogsCommand::Stats { since } => stats(&open(app_dir)?, since.as_deref()),
        LogsCommand::Export {
            format,
            since,
            output,
        } => export(&open(app_dir)?, format, since.as_deref(), output.as_deref()),
    }
}

fn open(app_dir: &Path) -> anyhow::Result<LogsStore> {
    let path = app_dir.join("logs.db");
    if !path.exists() {
        bail!(
            "no request logs in {}: `bifrost serve` creates logs.db there when \
             client.enable_logging is on (the default)",
            app_dir.display()
        );
    }
    Ok(LogsStore::open(&path)?)
}

fn since_filter(since: Option<&str>) -> anyhow::Result<LogFilter> {
    let mut filter = LogFilter::default();
    if let Some(text) = since {
        let d = parse_duration(text)
            .with_context(|| format!("--since {text}: expected a duration like 30m, 24h or 7d"))?;
        let ms = i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
        filter.start_ms = Some(now_ms().saturating_sub(ms));
    }
    Ok(filter)
}

fn tail_filter(args: &TailArgs) -> LogFilter {
    LogFilter {
        providers: args.provider.clone(),
        models: args.model.clone(),
        statuses: args.status.clone(),
        ..LogFilter::default()
    }
}

fn tail_local(args: &TailArgs, store: &LogsStore) -> anyhow::Result<ExitCode> {
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

async fn tail_remote(args: TailArgs, url: String) -> anyhow::Result<ExitCode> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()?;
    let base = format!("{}/api/logs", url.trim_end_matches('/'));
    let mut query: Vec<(&str, String)> = vec![("sort_by", "timestamp".into())];
    for (name, values) in [
        ("providers", &args.provider),
        ("models", &args.model),
        ("status", &args.status),
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

async fn fetch_one(url: String, id: String) -> anyhow::Result<Option<LogEntry>> {
    let url = format!("{}/api/logs/{id}", url.trim_end_matches('/'));
    let resp = reqwest::get(&url)
        .await
        .context("cannot reach the gateway")?;
    match resp.status() {
        s if s.is_success() => Ok(Some(resp.json().await?)),
        reqwest::StatusCode::NOT_FOUND => Ok(None),
        s => bail!("{url}: {s}: {}", resp.text().await.unwrap_or_default()),
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

fn human_ms(ms: f64) -> String {
    if ms >= 10_000.0 {
        format!("{:.1}s", ms / 1000.0)
    } else {
        format!("{ms:.0}ms")
    }
}

fn stats(store: &LogsStore, since: Option<&str>) -> anyhow::Result<ExitCode> {
    let filter = since_filter(since)?;
    let groups = store.summary(&filter)?;
    if groups.is_empty() {
        println!(
            "no requests logged{}",
            since
                .map(|s| format!(" in the last {s}"))
                .unwrap_or_default()
        );
        return Ok(ExitCode::SUCCESS);
    }
    let cost = |c: Option<f64>| c.map_or_else(|| "-".to_owned(), |c| format!("${c:.4}"));
    let mut rows: Vec<Vec<String>> = groups
        .iter()
        .map(|g| {
            vec![
                g.provider.clone(),
                g.model.clone(),
                g.requests.to_string(),
                percent(g.success, g.requests),
                g.errors.to_string(),
                g.cancelled.to_string(),
                human_ms(g.average_latency),
                g.total_tokens.to_string(),
                cost(g.total_cost),
            ]
        })
        .collect();
    let total = store.stats(&filter)?;
    let any_cost = groups.iter().any(|g| g.total_cost.is_some());
    rows.push(vec![
        "TOTAL".into(),
        String::new(),
        total.total_requests.to_string(),
        format!("{:.1}%", total.success_rate),
        groups.iter().map(|g| g.errors).sum::<u64>().to_string(),
        groups.iter().map(|g| g.cancelled).sum::<u64>().to_string(),
        human_ms(total.average_latency),
        total.total_tokens.to_string(),
        cost(any_cost.then_some(total.total_cost)),
    ]);
    print!(
        "{}",
        output::table(
            &[
                "PROVIDER",
                "MODEL",
                "REQUESTS",
                "SUCCESS",
                "ERRORS",
                "CANCELLED",
                "AVG LATENCY",
                "TOKENS",
                "COST",
            ],
            &rows,
        )
    );
    Ok(ExitCode::SUCCESS)
}

fn percent(part: u64, whole: u64) -> String {
    if whole == 0 {
        return "-".into();
    }
    format!("{:.1}%", part as f64 * 100.0 / whole as f64)
}

const CSV_HEADER: &[&str] = &[
    "id",
    "timestamp",
    "object",
    "provider",
    "model",
    "status",
    "stream",
    "latency_ms",
    "ttft_ms",
    "prompt_tokens",
    "completion_tokens",
    "total_tokens",
    "cost",
    "selected_key_id",
    "selected_key_name",
    "virtual_key_id",
    "virtual_key_name",
    "number_of_retries",
    "fallback_index",
    "error_details",
    "input_history",
    "output_message",
    "params",
    "metadata",
];

fn export(
    store: &LogsStore,
    format: ExportFormat,
    since: Option<&str>,
    output: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    let filter = since_filter(since)?;
    let total = store.stats(&filter)?.total_requests;
    let sink: Box<dyn Write> = match output {
        Some(path) => Box::new(
            std::fs::File::create(path)
                .with_context(|| format!("cannot create {}", path.display()))?,
        ),
        None => Box::new(std::io::stdout().lock()),
    };
    let mut out = std::io::BufWriter::new(sink);
    let bar = if std::io::stderr().is_terminal() {
        let bar = indicatif::ProgressBar::new(total);
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{spinner} exporting {bar:40} {pos}/{len} logs ({eta})",
        ) {
            bar.set_style(style);
        }
        bar
    } else {
        indicatif::ProgressBar::hidden()
    };
    if matches!(format, ExportFormat::Csv) {
        writeln!(out, "{}", CSV_HEADER.join(","))?;
    }
    let written = store.for_each(&filter, |e| {
        let io = match format {
            ExportFormat::Jsonl => serde_json::to_writer(&mut out, &e)
                .map_err(std::io::Error::other)
                .and_then(|()| writeln!(out)),
            ExportFormat::Csv => writeln!(out, "{}", csv_row(&e)),
        };
        io.map_err(|e| crate::Error::Internal(format!("cannot write the export: {e}")))?;
        bar.inc(1);
        Ok(())
    })?;
    out.flush()?;
    bar.finish_and_clear();
    if let Some(path) = output {
        eprintln!("exported {written} logs to {}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// One CSV record (RFC 4180 quoting).
fn csv_row(e: &LogEntry) -> String {
    let usage = e.token_usage.as_ref();
    let opt = |v: Option<String>| v.unwrap_or_default();
    let raw = |v: &Option<Box<serde_json::value::RawValue>>| {
        v.as_ref().map(|r| r.get().to_owned()).unwrap_or_default()
    };
    let fields = [
        e.id.clone(),
        format_ms(e.timestamp),
        e.object.clone(),
        e.provider.clone(),
        e.model.clone(),
        e.status.clone(),
        e.stream.to_string(),
        opt(e.latency.map(|v| v.to_string())),
        opt(e.ttft.map(|v| v.to_string())),
        opt(usage.map(|u| u.prompt_tokens.to_string())),
        opt(usage.map(|u| u.completion_tokens.to_string())),
        opt(usage.map(|u| u.total_tokens.to_string())),
        opt(e.cost.map(|v| v.to_string())),
        e.selected_key_id.clone(),
        e.selected_key_name.clone(),
        opt(e.virtual_key_id.clone()),
        opt(e.virtual_key_name.clone()),
        e.number_of_retries.to_string(),
        e.fallback_index.to_string(),
        raw(&e.error_details),
        raw(&e.input_history),
        raw(&e.output_message),
        raw(&e.params),
        opt(e
            .metadata
            .as_ref()
            .and_then(|m| serde_json::to_string(m).ok())),
    ];
    fields
        .iter()
        .map(|f| csv_field(f))
        .collect::<Vec<_>>()
        .join(",")
}

fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_only_what_needs_it() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\"\n"), "\"say \"\"hi\"\"\n\"");
    }

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

    #[test]
    fn since_needs_a_unit() {
        assert!(since_filter(Some("1h")).unwrap().start_ms.is_some());
        assert!(since_filter(Some("60")).is_err());
        assert!(since_filter(None).unwrap().start_ms.is_none());
    }
}
