//! `bifrost logs tail|show|stats|export`: the request logs from the terminal.
//!
//! Local commands read the app dir's `logs.db` in-process (WAL lets them read while `serve`
//! writes). `tail --url` and `show --url` ask a remote gateway's `/api/logs` instead, for a
//! gateway in a container or on another machine.

mod export;
mod tail;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::{Args, Subcommand, ValueEnum};

use super::{block_on, output};
use crate::store::logs_store::LogEntry;
use crate::store::timefmt::{now_ms, parse_duration};
use crate::store::{LogFilter, LogsStore};

/// `bifrost logs ...`.
#[derive(Debug, Subcommand)]
pub enum LogsCommand {
    /// Print the latest requests, one line each; with -f, keep printing new ones.
    ///
    /// Examples:
    ///   bifrost logs tail -f
    ///   bifrost logs tail -n 100 --status error --provider openai
    ///   bifrost logs tail -f --url http://gateway:8080 --json | jq .
    ///   bifrost logs tail -f --vk team-a
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
    /// Only these virtual keys, by name or id (with --url: by id).
    #[arg(long, value_delimiter = ',', value_name = "NAME")]
    pub vk: Vec<String>,
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
            Some(url) => block_on(tail::tail_remote(args, url))?,
            None => tail::tail_local(&args, &open(app_dir)?),
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
        } => export::export(&open(app_dir)?, format, since.as_deref(), output.as_deref()),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_needs_a_unit() {
        assert!(since_filter(Some("1h")).unwrap().start_ms.is_some());
        assert!(since_filter(Some("60")).is_err());
        assert!(since_filter(None).unwrap().start_ms.is_none());
    }
}
