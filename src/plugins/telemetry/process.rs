//! The standard `process_*` metrics (Bifrost registers Go's process collector), read from
//! `/proc` at scrape time on Linux; absent elsewhere. Scrapes are rare and off the request path,
//! so reading a few small files then is cheaper than keeping anything up to date.

use std::fmt::Write as _;

/// Linux reports CPU times in clock ticks of `USER_HZ`, which is 100 on every architecture
/// Linux supports for user space (reading `sysconf` would need `unsafe` for no gain).
const TICKS_PER_SECOND: f64 = 100.0;

/// Appends the process metrics that could be read.
pub fn render(out: &mut String) {
    if let Some(stat) = read("/proc/self/stat") {
        // Fields after the command name, which may contain spaces, start at field 3.
        let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let field = |n: usize| fields.get(n - 3).and_then(|v| v.parse::<f64>().ok());
        if let (Some(utime), Some(stime)) = (field(14), field(15)) {
            metric(
                out,
                "process_cpu_seconds_total",
                "Total user and system CPU time spent in seconds.",
                "counter",
                (utime + stime) / TICKS_PER_SECOND,
            );
        }
        if let Some(vsize) = field(23) {
            metric(
                out,
                "process_virtual_memory_bytes",
                "Virtual memory size in bytes.",
                "gauge",
                vsize,
            );
        }
        let boot = read("/proc/stat").and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("btime "))
                .and_then(|v| v.trim().parse::<f64>().ok())
        });
        if let (Some(start), Some(boot)) = (field(22), boot) {
            metric(
                out,
                "process_start_time_seconds",
                "Start time of the process since unix epoch in seconds.",
                "gauge",
                boot + start / TICKS_PER_SECOND,
            );
        }
    }
    let rss_kb = read("/proc/self/status").and_then(|s| {
        s.lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
    });
    if let Some(kb) = rss_kb {
        metric(
            out,
            "process_resident_memory_bytes",
            "Resident memory size in bytes.",
            "gauge",
            kb * 1024.0,
        );
    }
    if let Ok(dir) = std::fs::read_dir("/proc/self/fd") {
        metric(
            out,
            "process_open_fds",
            "Number of open file descriptors.",
            "gauge",
            dir.count() as f64,
        );
    }
    let max_fds = read("/proc/self/limits").and_then(|s| {
        s.lines()
            .find_map(|l| l.strip_prefix("Max open files"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse::<f64>().ok())
    });
    if let Some(n) = max_fds {
        metric(
            out,
            "process_max_fds",
            "Maximum number of open file descriptors.",
            "gauge",
            n,
        );
    }
}

fn read(path: &str) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

fn metric(out: &mut String, name: &str, help: &str, kind: &str, value: f64) {
    let _ = writeln!(
        out,
        "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {}",
        super::histogram::fmt_f64(value)
    );
}
