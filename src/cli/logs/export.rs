//! `bifrost logs export`: every selected log as JSON lines or CSV, oldest first, with a
//! progress bar on a terminal.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;

use super::{since_filter, ExportFormat};
use crate::store::logs_store::LogEntry;
use crate::store::timefmt::format_ms;
use crate::store::LogsStore;

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

pub(super) fn export(
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
}
