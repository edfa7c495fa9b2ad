//! Gateway overhead: open-loop load at fixed rates against a local OpenAI-style mock, measured
//! direct, through `bifrost serve` and through a plain nginx `proxy_pass` (the floor), in one run;
//! plus, through gateways too, the costs of the features issues ask about: logging and metrics
//! (a second gateway with both off), a virtual key with a budget and rate limits, and the
//! `/anthropic` ingress translating to an OpenAI upstream.
//!
//! `cargo bench --bench overhead -- [--rates 1000,5000] [--duration 10] [--warmup 2]
//! [--latency-ms 0] [--no-stream] [--repeat 1] [--quick]`; `--help` lists every flag.
//!
//! Layout: this process (the load generator) pins itself to CPU 0 (`taskset -a -p`) and, when
//! allowed, moves to SCHED_FIFO (`chrt -f -a -p`) before it starts any thread; the mock is this
//! same executable re-run with `--mock-child`, a child that inherits both; the gateway and nginx
//! are started under `taskset -c 1 chrt -f 10`. A pacing thread writes each request at its
//! scheduled instant onto an idle keep-alive connection, and every latency is measured from that
//! scheduled instant, so a stall anywhere is charged to the requests it delayed (no coordinated
//! omission). The generator and the mock speak HTTP/1.1 themselves (a few syscalls per request)
//! so that the client side stays cheap next to what it measures. Method and figures:
//! BENCHMARKS.md.

// A benchmark harness, not library code: a broken setup should fail loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

// ---------------------------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------------------------

const USAGE: &str = "\
cargo bench --bench overhead -- [flags]

  --rates LIST        requests per second, comma separated        [1000,5000]
  --duration SECS     measured window per rate/kind/path          [10]
  --warmup SECS       warm-up at the same rate before each window [2]
  --latency-ms MS     fixed latency added by the mock             [0]
  --stream-gap-ms MS  pause between the mock's stream events, like tokens [0]
  --no-request-log    the main gateway (paths gateway, gateway-vk, gateway-anthropic) with
                      client.enable_logging = false; gateway-off has log and metrics off anyway
  --no-stream         skip the streaming (SSE) windows
  --no-nginx          skip the nginx floor even if nginx is installed
  --no-rt             do not put the generator and the mock under SCHED_FIFO (chrt -f)
  --server-sched S    gateway and nginx scheduling: fifo (chrt -f 10), nice (SCHED_OTHER,
                      nice -20) or normal                          [fifo]
  --paths LIST        which of direct, nginx, gateway, gateway-off, gateway-vk and
                      gateway-anthropic to measure                 [all]
  --repeat N          repeat every window N times, report medians [1]
  --quick             smoke run: 1.5 s windows after 0.5 s warm-up
  --client-cpu CPU    CPU for the load generator and the mock      [0]
  --gateway-cpu CPU   CPU for the gateway and nginx                [1]
  --bifrost PATH      gateway binary [the bench's own build of target/release/bifrost]

The gateways' app dirs (config.db, logs.db) are temporary directories under TMPDIR [/tmp];
TMPDIR=/dev/shm keeps the request log in memory, which separates the log's CPU cost from
what its disk writes cost on this machine. The report names the filesystem used.
";

#[derive(Debug, Clone)]
struct Opts {
    rates: Vec<u64>,
    duration: f64,
    warmup: f64,
    latency_ms: u64,
    gap_ms: u64,
    request_log: bool,
    stream: bool,
    nginx: bool,
    repeat: usize,
    quick: bool,
    client_cpu: String,
    gateway_cpu: String,
    bifrost: PathBuf,
    paths: Vec<Route>,
    rt: bool,
    server_sched: ServerSched,
    mock_child: bool,
}

/// How the gateway and nginx are scheduled on their CPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ServerSched {
    Fifo,
    Nice,
    Normal,
}

fn parse_args() -> Result<Option<Opts>> {
    let mut o = Opts {
        rates: vec![1000, 5000],
        duration: 10.0,
        warmup: 2.0,
        latency_ms: 0,
        gap_ms: 0,
        request_log: true,
        stream: true,
        nginx: true,
        repeat: 1,
        quick: false,
        client_cpu: "0".into(),
        gateway_cpu: "1".into(),
        bifrost: PathBuf::from(env!("CARGO_BIN_EXE_bifrost")),
        paths: Route::ALL.to_vec(),
        rt: true,
        server_sched: ServerSched::Fifo,
        mock_child: false,
    };
    let (mut duration, mut warmup) = (None, None);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_owned(), Some(v.to_owned())),
            _ => (arg.clone(), None),
        };
        let mut value = || -> Result<String> {
            match &inline {
                Some(v) => Ok(v.clone()),
                None => args.next().ok_or_else(|| anyhow!("{flag} needs a value")),
            }
        };
        match flag.as_str() {
            // cargo passes `--bench` to every bench binary.
            "--bench" => {}
            "--rates" => {
                o.rates = value()?
                    .split(',')
                    .filter(|s| !s.trim().is_empty())
                    .map(|s| {
                        s.trim()
                            .parse::<u64>()
                            .context("--rates: integers, comma separated")
                    })
                    .collect::<Result<_>>()?;
            }
            "--duration" => duration = Some(value()?.parse::<f64>().context("--duration")?),
            "--warmup" => warmup = Some(value()?.parse::<f64>().context("--warmup")?),
            "--latency-ms" => o.latency_ms = value()?.parse().context("--latency-ms")?,
            "--stream-gap-ms" => o.gap_ms = value()?.parse().context("--stream-gap-ms")?,
            "--no-request-log" => o.request_log = false,
            "--repeat" => o.repeat = value()?.parse().context("--repeat")?,
            "--client-cpu" => o.client_cpu = value()?,
            "--gateway-cpu" => o.gateway_cpu = value()?,
            "--bifrost" => o.bifrost = PathBuf::from(value()?),
            "--no-stream" => o.stream = false,
            "--no-nginx" => o.nginx = false,
            "--no-rt" => o.rt = false,
            "--server-sched" => {
                o.server_sched = match value()?.as_str() {
                    "fifo" => ServerSched::Fifo,
                    "nice" => ServerSched::Nice,
                    "normal" => ServerSched::Normal,
                    other => bail!("--server-sched: fifo, nice or normal, not {other:?}"),
                };
            }
            "--paths" => {
                o.paths = value()?
                    .split(',')
                    .map(|p| {
                        let p = p.trim();
                        Route::ALL
                            .into_iter()
                            .find(|r| r.name() == p)
                            .ok_or_else(|| anyhow!("--paths: unknown path {p:?}"))
                    })
                    .collect::<Result<_>>()?;
            }
            "--quick" => o.quick = true,
            "--mock-child" => o.mock_child = true,
            "-h" | "--help" => {
                print!("{USAGE}");
                return Ok(None);
            }
            other => bail!("unknown argument {other:?}\n\n{USAGE}"),
        }
    }
    let (qd, qw) = if o.quick { (1.5, 0.5) } else { (10.0, 2.0) };
    o.duration = duration.unwrap_or(qd);
    o.warmup = warmup.unwrap_or(qw);
    if o.rates.is_empty() || o.rates.contains(&0) {
        bail!("--rates: give at least one rate > 0");
    }
    let duration_ok = o.duration > 0.0 && o.duration <= 600.0;
    let warmup_ok = (0.0..=600.0).contains(&o.warmup);
    if !duration_ok || !warmup_ok {
        bail!("--duration must be in (0, 600] s and --warmup in [0, 600] s");
    }
    if o.repeat == 0 || o.repeat > 20 {
        bail!("--repeat must be 1..=20");
    }
    Ok(Some(o))
}

// ---------------------------------------------------------------------------------------------
// The mock upstream (child process)
// ---------------------------------------------------------------------------------------------

const CHAT_RESPONSE: &str = r#"{"id":"chatcmpl-bench0000000000000000000000","object":"chat.completion","created":1767225600,"model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"message":{"role":"assistant","content":"Hello! How can I help you today?","refusal":null,"annotations":[]},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":24,"completion_tokens":9,"total_tokens":33,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}},"service_tier":"default","system_fingerprint":"fp_bench0000"}"#;

macro_rules! chunk {
    ($choices:literal) => {
        concat!(
            r#"data: {"id":"chatcmpl-bench0000000000000000000000","object":"chat.completion.chunk","created":1767225600,"model":"gpt-4o-mini-2024-07-18","service_tier":"default","system_fingerprint":"fp_bench0000","choices":"#,
            $choices,
            "}\n\n"
        )
    };
}

const STREAM_CHUNKS: &[&str] = &[
    chunk!(
        r#"[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}],"usage":null"#
    ),
    chunk!(
        r#"[{"index":0,"delta":{"content":"Hello"},"logprobs":null,"finish_reason":null}],"usage":null"#
    ),
    chunk!(
        r#"[{"index":0,"delta":{"content":"!"},"logprobs":null,"finish_reason":null}],"usage":null"#
    ),
    chunk!(
        r#"[{"index":0,"delta":{"content":" How can"},"logprobs":null,"finish_reason":null}],"usage":null"#
    ),
    chunk!(
        r#"[{"index":0,"delta":{"content":" I help"},"logprobs":null,"finish_reason":null}],"usage":null"#
    ),
    chunk!(
        r#"[{"index":0,"delta":{"content":" you today?"},"logprobs":null,"finish_reason":null}],"usage":null"#
    ),
    chunk!(r#"[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}],"usage":null"#),
];
const USAGE_CHUNK: &str = chunk!(
    r#"[],"usage":{"prompt_tokens":24,"completion_tokens":9,"total_tokens":33,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}"#
);
const DONE_CHUNK: &str = "data: [DONE]\n\n";

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    memchr::memmem::find(haystack, needle).is_some()
}

/// Compact or pretty JSON: `"key":true` or `"key": true`.
fn json_true(body: &[u8], key: &str) -> bool {
    contains(body, format!("\"{key}\":true").as_bytes())
        || contains(body, format!("\"{key}\": true").as_bytes())
}

/// Parsed head of an HTTP/1.1 message (request or response).
struct Head {
    /// Status code (responses) or 0 (requests).
    status: u16,
    /// Request path (requests) or empty.
    path: String,
    /// Bytes up to and including the blank line.
    len: usize,
    content_length: Option<usize>,
    chunked: bool,
    close: bool,
}

/// Parses a head once `\r\n\r\n` has arrived; `None` while incomplete.
fn parse_head(buf: &[u8]) -> Option<Result<Head>> {
    let len = memchr::memmem::find(buf, b"\r\n\r\n")? + 4;
    let text = match std::str::from_utf8(&buf[..len]) {
        Ok(t) => t,
        Err(_) => return Some(Err(anyhow!("head is not UTF-8"))),
    };
    let mut lines = text.split("\r\n");
    let first = lines.next().unwrap_or_default();
    let mut head = Head {
        status: 0,
        path: String::new(),
        len,
        content_length: None,
        chunked: false,
        close: false,
    };
    let mut parts = first.split(' ');
    let a = parts.next().unwrap_or_default();
    let b = parts.next().unwrap_or_default();
    if a.starts_with("HTTP/") {
        head.status = match b.parse() {
            Ok(s) => s,
            Err(_) => return Some(Err(anyhow!("bad status line {first:?}"))),
        };
    } else {
        head.path = b.to_owned();
    }
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            head.content_length = value.parse().ok();
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            head.chunked = value.to_ascii_lowercase().contains("chunked");
        } else if name.eq_ignore_ascii_case("connection") {
            head.close = value.eq_ignore_ascii_case("close");
        }
    }
    Some(Ok(head))
}

/// Walks a chunked body that starts at `start`: `Ok(Some(end))` once the last chunk is in,
/// copying the data into `out` when given; `Ok(None)` while incomplete.
fn chunked_end(buf: &[u8], start: usize, mut out: Option<&mut Vec<u8>>) -> Result<Option<usize>> {
    let mut pos = start;
    loop {
        let Some(eol) = memchr::memmem::find(&buf[pos..], b"\r\n") else {
            return Ok(None);
        };
        let line = std::str::from_utf8(&buf[pos..pos + eol])?;
        let size_text = line.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16)
            .with_context(|| format!("bad chunk size {size_text:?}"))?;
        let data = pos + eol + 2;
        if size == 0 {
            if buf.len() < data + 2 {
                return Ok(None);
            }
            if &buf[data..data + 2] == b"\r\n" {
                return Ok(Some(data + 2));
            }
            // Trailers: they end with an empty line.
            return Ok(memchr::memmem::find(&buf[data..], b"\r\n\r\n").map(|i| data + i + 4));
        }
        if buf.len() < data + size + 2 {
            return Ok(None);
        }
        if let Some(out) = out.as_deref_mut() {
            out.extend_from_slice(&buf[data..data + size]);
        }
        pos = data + size + 2;
    }
}

/// Where a message's body ends, once it is all in `buf`.
fn body_end(buf: &[u8], head: &Head) -> Result<Option<usize>> {
    if head.chunked {
        chunked_end(buf, head.len, None)
    } else {
        let end = head.len + head.content_length.unwrap_or(0);
        Ok((buf.len() >= end).then_some(end))
    }
}

struct MockState {
    requests: AtomicU64,
    latency: Duration,
    gap: Duration,
    chat: Bytes,
    stream: Vec<Bytes>,
    stream_usage: Vec<Bytes>,
}

fn http_chunk(data: &str) -> String {
    format!("{:x}\r\n{data}\r\n", data.len())
}

impl MockState {
    fn new(latency: Duration, gap: Duration) -> MockState {
        let chat = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{CHAT_RESPONSE}",
            CHAT_RESPONSE.len()
        );
        let frames = |usage: bool| {
            let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\ntransfer-encoding: chunked\r\n\r\n";
            let mut frames: Vec<String> = STREAM_CHUNKS.iter().map(|c| http_chunk(c)).collect();
            if usage {
                frames.push(http_chunk(USAGE_CHUNK));
            }
            frames.push(format!("{}0\r\n\r\n", http_chunk(DONE_CHUNK)));
            frames[0] = format!("{head}{}", frames[0]);
            frames.into_iter().map(Bytes::from).collect::<Vec<_>>()
        };
        MockState {
            requests: AtomicU64::new(0),
            latency,
            gap,
            chat: Bytes::from(chat),
            stream: frames(false),
            stream_usage: frames(true),
        }
    }
}

/// One keep-alive connection of the mock: requests in, canned responses out. A stream is
/// written one SSE event per write (and so per TCP segment), as a provider sends tokens.
async fn mock_conn(mut sock: tokio::net::TcpStream, st: Arc<MockState>) -> Result<()> {
    let mut buf: Vec<u8> = Vec::with_capacity(16 * 1024);
    loop {
        while let Some(head) = parse_head(&buf) {
            let head = head?;
            let Some(end) = body_end(&buf, &head)? else {
                break;
            };
            let body = &buf[head.len..end];
            if head.path == "/__stats" {
                let n = st.requests.load(Ordering::Relaxed).to_string();
                let resp = format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n{n}", n.len());
                sock.write_all(resp.as_bytes()).await?;
            } else if head.path.starts_with("/v1/chat/completions") {
                st.requests.fetch_add(1, Ordering::Relaxed);
                let stream = json_true(body, "stream");
                let usage = json_true(body, "include_usage");
                if !st.latency.is_zero() {
                    tokio::time::sleep(st.latency).await;
                }
                if stream {
                    let frames = if usage { &st.stream_usage } else { &st.stream };
                    for (k, f) in frames.iter().enumerate() {
                        if k > 0 && !st.gap.is_zero() {
                            tokio::time::sleep(st.gap).await;
                        }
                        sock.write_all(f).await?;
                    }
                } else {
                    sock.write_all(&st.chat).await?;
                }
            } else {
                sock.write_all(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n")
                    .await?;
            }
            let close = head.close;
            buf.drain(..end);
            if close {
                return Ok(());
            }
        }
        if sock.read_buf(&mut buf).await? == 0 {
            return Ok(());
        }
    }
}

/// `--mock-child`: serve the mock on a single-threaded runtime until stdin closes.
fn mock_child_main(latency_ms: u64, gap_ms: u64) -> Result<()> {
    // The parent holds our stdin: when it exits, for whatever reason, so do we.
    std::thread::spawn(|| {
        let mut buf = [0u8; 64];
        let mut stdin = std::io::stdin();
        loop {
            match stdin.read(&mut buf) {
                Ok(0) | Err(_) => std::process::exit(0),
                Ok(_) => {}
            }
        }
    });
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let state = Arc::new(MockState::new(
            Duration::from_millis(latency_ms),
            Duration::from_millis(gap_ms),
        ));
        println!("mock listening on {port}");
        std::io::stdout().flush()?;
        loop {
            let (sock, _) = listener.accept().await?;
            sock.set_nodelay(true)?;
            let st = state.clone();
            tokio::spawn(async move {
                if let Err(e) = mock_conn(sock, st).await {
                    eprintln!("mock: connection error: {e:#}");
                }
            });
        }
    })
}

// ---------------------------------------------------------------------------------------------
// Processes: pinning, /proc, children
// ---------------------------------------------------------------------------------------------

/// PIDs the watchdog kills if the run overstays its deadline.
static CHILDREN: Mutex<Vec<u32>> = Mutex::new(Vec::new());
static TIMER_SLACK_SET: AtomicBool = AtomicBool::new(false);
/// The generator, the mock and the servers run under SCHED_FIFO at this priority.
static RT_ACTIVE: AtomicBool = AtomicBool::new(false);
const RT_PRIORITY: u32 = 10;

fn kill_registered_children() {
    let pids = CHILDREN.lock().map(|v| v.clone()).unwrap_or_default();
    for pid in pids {
        let _ = Command::new("kill")
            .arg("-9")
            .arg(pid.to_string())
            .stderr(Stdio::null())
            .status();
    }
}

fn have_taskset() -> bool {
    Command::new("taskset")
        .arg("-V")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// Pins every thread of this process to `cpu` (threads created later inherit it).
fn pin_self(cpu: &str) -> bool {
    Command::new("taskset")
        .args(["-a", "-p", "-c", cpu, &std::process::id().to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

fn cpus_allowed(pid: &str) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix("Cpus_allowed_list:")
                    .map(|v| v.trim().to_owned())
            })
        })
        .unwrap_or_else(|| "?".into())
}

/// How the servers are started: pinned to a CPU, and scheduled per `--server-sched`.
struct Launch {
    cpu: Option<String>,
    /// Wrapper commands that exec the next one (`chrt ...`, `nice ...`).
    sched: Vec<&'static str>,
}

impl Launch {
    /// `[taskset -c CPU] [sched wrappers] program`; every wrapper execs the next program, so
    /// the child's PID is the program's.
    fn command(&self, program: &Path) -> Command {
        let mut argv: Vec<std::ffi::OsString> = Vec::new();
        if let Some(cpu) = &self.cpu {
            argv.extend(["taskset".into(), "-c".into(), cpu.into()]);
        }
        argv.extend(self.sched.iter().map(std::ffi::OsString::from));
        argv.push(program.into());
        let mut c = Command::new(&argv[0]);
        c.args(&argv[1..]);
        c
    }
}

/// Moves every thread of this process to SCHED_FIFO `priority` (later threads inherit it).
fn realtime_self(priority: u32) -> bool {
    Command::new("chrt")
        .args([
            "-f",
            "-a",
            "-p",
            &priority.to_string(),
            &std::process::id().to_string(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// Raises the calling thread alone to SCHED_FIFO `priority` (best effort).
fn realtime_this_thread(priority: u32) {
    let tid = std::fs::read_to_string("/proc/thread-self/stat")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_owned));
    if let Some(tid) = tid {
        let _ = Command::new("chrt")
            .args(["-f", "-p", &priority.to_string(), &tid])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// System-wide TCP counters from /proc/net/netstat: (DelayedACKs, ListenOverflows).
fn tcp_counters() -> Option<(u64, u64)> {
    let text = std::fs::read_to_string("/proc/net/netstat").ok()?;
    let mut rows = text.lines().filter(|l| l.starts_with("TcpExt:"));
    let names: Vec<&str> = rows.next()?.split_whitespace().collect();
    let values: Vec<&str> = rows.next()?.split_whitespace().collect();
    let get = |key: &str| -> Option<u64> {
        let i = names.iter().position(|n| *n == key)?;
        values.get(i)?.parse().ok()
    };
    Some((get("DelayedACKs")?, get("ListenOverflows")?))
}

/// Non-idle ticks of one CPU from /proc/stat (user, nice, system, irq, softirq, steal).
fn cpu_busy_ticks(cpu: &str) -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let name = format!("cpu{cpu}");
    let line = stat
        .lines()
        .find(|l| l.split_whitespace().next() == Some(name.as_str()))?;
    let v: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    Some([0, 1, 2, 5, 6, 7].iter().filter_map(|&i| v.get(i)).sum())
}

/// The type of the filesystem `path` lives on (`tmpfs`, `ext4`, ...), from the longest mount
/// point in /proc/mounts that holds it: the request log's writes cost very differently on a
/// disk and in memory, so the report says which the run used (`TMPDIR` moves the app dirs).
fn filesystem_of(path: &std::path::Path) -> String {
    let mounts = std::fs::read_to_string("/proc/mounts").unwrap_or_default();
    mounts
        .lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let (_device, mount_point, kind) = (fields.next()?, fields.next()?, fields.next()?);
            path.starts_with(mount_point)
                .then(|| (mount_point.len(), kind.to_owned()))
        })
        .max_by_key(|(len, _)| *len)
        .map_or_else(|| "filesystem unknown".to_owned(), |(_, kind)| kind)
}

/// utime + stime of a process (all its threads), in clock ticks.
fn cpu_ticks(pid: &str) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the parenthesised command name start at field 3 (state).
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// The gateway's request log writer thread, by the name it gives itself (`comm` keeps 15
/// bytes of `bifrost-log-writer`).
const WRITER_THREAD: &str = "bifrost-log-wri";

/// utime + stime of a process's threads named `comm`, in clock ticks; `None` when it has none.
fn thread_ticks(pid: &str, comm: &str) -> Option<u64> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).ok()?;
    let mut total = None;
    for task in tasks.flatten() {
        let tid = task.file_name();
        let tid = tid.to_string_lossy();
        let name = std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/comm"));
        if name.is_ok_and(|n| n.trim_end() == comm) {
            let ticks = cpu_ticks(&format!("{pid}/task/{tid}")).unwrap_or(0);
            total = Some(total.unwrap_or(0) + ticks);
        }
    }
    total
}

/// A `kB` line of /proc/PID/status (`VmHWM`, `VmRSS`).
fn status_kb(pid: u32, key: &str) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

fn clock_ticks() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|t| *t > 0.0)
        .unwrap_or(100.0)
}

/// A started child process, killed on drop (before its temp dir is removed).
struct Proc {
    name: &'static str,
    child: Child,
    pid: u32,
    /// Kept open so a `--mock-child` notices when we exit.
    _stdin: Option<ChildStdin>,
    dir: Option<tempfile::TempDir>,
    log: Option<PathBuf>,
}

impl Proc {
    fn new(
        name: &'static str,
        mut child: Child,
        dir: Option<tempfile::TempDir>,
        log: Option<PathBuf>,
    ) -> Self {
        let pid = child.id();
        if let Ok(mut v) = CHILDREN.lock() {
            v.push(pid);
        }
        let stdin = child.stdin.take();
        Proc {
            name,
            child,
            pid,
            _stdin: stdin,
            dir,
            log,
        }
    }

    fn log_tail(&self) -> String {
        let Some(path) = &self.log else {
            return String::new();
        };
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = self.dir.take();
    }
}

/// Reads the child's stdout until a line containing `needle` (then keeps draining it).
fn wait_for_line(
    stdout: std::process::ChildStdout,
    needle: &str,
    timeout: Duration,
) -> Result<String> {
    let (tx, rx) = std::sync::mpsc::channel();
    let needle = needle.to_owned();
    std::thread::spawn(move || {
        let mut sent = false;
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if !sent && line.contains(&needle) {
                sent = tx.send(line).is_ok();
            }
        }
    });
    rx.recv_timeout(timeout)
        .map_err(|_| anyhow!("no line containing the expected text within {timeout:?}"))
}

fn port_after(line: &str, marker: &str) -> Result<u16> {
    let rest = line.rsplit(marker).next().unwrap_or_default();
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits
        .parse()
        .with_context(|| format!("no port in {line:?}"))
}

fn start_mock(latency_ms: u64, gap_ms: u64) -> Result<(Proc, u16)> {
    let exe = std::env::current_exe()?;
    let mut child = Command::new(exe)
        .args(["--mock-child", "--latency-ms", &latency_ms.to_string()])
        .args(["--stream-gap-ms", &gap_ms.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .context("starting the mock child")?;
    let stdout = child.stdout.take().ok_or_else(|| anyhow!("mock stdout"))?;
    let proc = Proc::new("mock", child, None, None);
    let line = wait_for_line(stdout, "mock listening on ", Duration::from_secs(10))?;
    let port = port_after(&line, "mock listening on ")?;
    Ok((proc, port))
}

struct GatewayStart {
    proc: Proc,
    port: u16,
    startup: Duration,
}

/// How a gateway process is configured.
#[derive(Clone, Copy, Debug)]
struct GatewaySetup {
    name: &'static str,
    /// `client.enable_logging` (the request log in `logs.db`).
    request_log: bool,
    /// The telemetry plugin (Prometheus `/metrics`); off is Bifrost's
    /// `plugins: [{"enabled": false, "name": "telemetry"}]`.
    metrics: bool,
}

/// The virtual key the `gateway-vk` path sends (`x-bf-vk`), from config.json.
const BENCH_VK: &str = "sk-bf-00000000-0000-4000-8000-00000000bench";

/// config.json's `governance` section: one virtual key for openai with a budget and request and
/// token rate limits far above what any run spends, so every check runs and none refuses.
fn governance_config() -> serde_json::Value {
    serde_json::json!({
        "budgets": [{ "id": "bench-budget", "max_limit": 1e9, "reset_duration": "1d" }],
        "rate_limits": [{
            "id": "bench-limits",
            "request_max_limit": 1_000_000_000u64, "request_reset_duration": "1m",
            "token_max_limit": 1_000_000_000_000u64, "token_reset_duration": "1m"
        }],
        "virtual_keys": [{
            "id": "bench-vk", "name": "bench", "value": BENCH_VK,
            "budget_id": "bench-budget", "rate_limit_id": "bench-limits",
            "provider_configs": [{ "provider": "openai", "weight": 1.0, "allowed_models": ["*"] }]
        }]
    })
}

fn start_gateway(
    bin: &Path,
    mock_port: u16,
    setup: GatewaySetup,
    launch: &Launch,
) -> Result<GatewayStart> {
    if !bin.exists() {
        bail!(
            "gateway binary {} not found (cargo build --release)",
            bin.display()
        );
    }
    let dir = tempfile::tempdir()?;
    let mut config = serde_json::json!({
        "client": { "enable_logging": setup.request_log },
        "providers": {
            "openai": {
                "keys": [{ "name": "bench", "value": "env.BENCH_KEY", "models": ["*"], "weight": 1.0 }],
                "network_config": { "base_url": format!("http://127.0.0.1:{mock_port}") }
            }
        },
        "governance": governance_config()
    });
    if !setup.metrics {
        config["plugins"] =
            serde_json::json!([{ "enabled": false, "name": "telemetry", "config": {} }]);
    }
    std::fs::write(
        dir.path().join("config.json"),
        serde_json::to_vec_pretty(&config)?,
    )?;
    let log = dir.path().join("gateway.stderr");
    let started = Instant::now();
    let mut child = launch
        .command(bin)
        .arg("serve")
        .args([
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--log-level",
            "warn",
            "--app-dir",
        ])
        .arg(dir.path())
        .env("BENCH_KEY", "sk-bench-not-a-real-key")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log)?)
        .spawn()
        .with_context(|| format!("starting {}", bin.display()))?;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| anyhow!("gateway stdout"))?;
    let mut proc = Proc::new(setup.name, child, Some(dir), Some(log));
    let line = match wait_for_line(stdout, "listening on http://", Duration::from_secs(30)) {
        Ok(l) => l,
        Err(e) => bail!(
            "{} did not start ({e}; exit {:?}):\n{}",
            setup.name,
            proc.exited(),
            proc.log_tail()
        ),
    };
    let startup = started.elapsed();
    let port = port_after(&line, ":")?;
    Ok(GatewayStart {
        proc,
        port,
        startup,
    })
}

fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        // Debian installs it in /usr/sbin, which is not on every user's PATH.
        .or_else(|| Some(PathBuf::from("/usr/sbin").join(name)).filter(|p| p.is_file()))
}

fn start_nginx(nginx: &Path, mock_port: u16, launch: &Launch) -> Result<(Proc, u16)> {
    let dir = tempfile::tempdir()?;
    let prefix = dir
        .path()
        .to_str()
        .ok_or_else(|| anyhow!("temp dir path is not UTF-8"))?
        .to_owned();
    std::fs::create_dir_all(dir.path().join("tmp"))?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let conf = include_str!("nginx.conf.tmpl")
        .replace("{{PREFIX}}", &prefix)
        .replace("{{PORT}}", &port.to_string())
        .replace("{{MOCK_PORT}}", &mock_port.to_string());
    let conf_path = dir.path().join("nginx.conf");
    std::fs::write(&conf_path, conf)?;
    let log = dir.path().join("error.log");
    let child = launch
        .command(nginx)
        .arg("-p")
        .arg(format!("{prefix}/"))
        .arg("-c")
        .arg(&conf_path)
        .arg("-e")
        .arg(&log)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("starting {}", nginx.display()))?;
    let mut proc = Proc::new("nginx", child, Some(dir), Some(log));
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok((proc, port));
        }
        if let Some(status) = proc.exited() {
            bail!("nginx exited ({status}):\n{}", proc.log_tail());
        }
        if Instant::now() > deadline {
            bail!(
                "nginx not listening on {port} after 10 s:\n{}",
                proc.log_tail()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

// ---------------------------------------------------------------------------------------------
// Load generator
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Chat,
    Stream,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Chat => "chat",
            Kind::Stream => "stream",
        }
    }
}

/// The API a path speaks to the load generator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Api {
    /// `POST /v1/chat/completions`, OpenAI's shapes.
    OpenAi,
    /// `POST /anthropic/v1/messages`, Anthropic's Messages shapes.
    Anthropic,
}

impl Api {
    fn path(self) -> &'static str {
        match self {
            Api::OpenAi => "/v1/chat/completions",
            Api::Anthropic => "/anthropic/v1/messages",
        }
    }

    /// The same conversation on every path: a system prompt, one user message, 32 tokens.
    fn body(self, kind: Kind) -> &'static str {
        match (self, kind) {
            (Api::OpenAi, Kind::Chat) => {
                r#"{"model":"openai/gpt-4o-mini","messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"Say hello in one short sentence."}],"max_tokens":32}"#
            }
            (Api::OpenAi, Kind::Stream) => {
                r#"{"model":"openai/gpt-4o-mini","messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"Say hello in one short sentence."}],"max_tokens":32,"stream":true,"stream_options":{"include_usage":true}}"#
            }
            (Api::Anthropic, Kind::Chat) => {
                r#"{"model":"openai/gpt-4o-mini","system":"You are a helpful assistant.","messages":[{"role":"user","content":"Say hello in one short sentence."}],"max_tokens":32}"#
            }
            (Api::Anthropic, Kind::Stream) => {
                r#"{"model":"openai/gpt-4o-mini","system":"You are a helpful assistant.","messages":[{"role":"user","content":"Say hello in one short sentence."}],"max_tokens":32,"stream":true}"#
            }
        }
    }

    /// Whether a decoded 2xx body is a whole answer carrying the mock's text, in this API's
    /// shape: a chat completion or `data: [DONE]`; a `message` or `event: message_stop`.
    fn answered(self, kind: Kind, body: &[u8]) -> bool {
        let complete: &[u8] = match (self, kind) {
            (Api::OpenAi, Kind::Chat) => b"\"choices\"",
            (Api::OpenAi, Kind::Stream) => b"data: [DONE]",
            (Api::Anthropic, Kind::Chat) => b"\"type\":\"message\"",
            (Api::Anthropic, Kind::Stream) => b"event: message_stop",
        };
        contains(body, complete) && contains(body, b"you today?")
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Route {
    Direct,
    Nginx,
    /// The main gateway, default config (request log and metrics on, a virtual key configured
    /// but not sent).
    Gateway,
    /// A second gateway process with the request log and metrics off.
    GatewayOff,
    /// The main gateway, requests carrying the virtual key (budget and rate limits checked).
    GatewayVk,
    /// The main gateway, Anthropic Messages requests on `/anthropic` translated to openai.
    GatewayAnthropic,
}

impl Route {
    /// Every path, in the order each cell measures them.
    const ALL: [Route; 6] = [
        Route::Direct,
        Route::Nginx,
        Route::Gateway,
        Route::GatewayOff,
        Route::GatewayVk,
        Route::GatewayAnthropic,
    ];

    fn name(self) -> &'static str {
        match self {
            Route::Direct => "direct",
            Route::Nginx => "nginx",
            Route::Gateway => "gateway",
            Route::GatewayOff => "gateway-off",
            Route::GatewayVk => "gateway-vk",
            Route::GatewayAnthropic => "gateway-anthropic",
        }
    }

    fn api(self) -> Api {
        match self {
            Route::GatewayAnthropic => Api::Anthropic,
            _ => Api::OpenAi,
        }
    }

    /// Header lines (each ending in CRLF) this path adds to every request.
    fn extra_headers(self) -> String {
        match self {
            Route::GatewayVk => format!("x-bf-vk: {BENCH_VK}\r\n"),
            _ => String::new(),
        }
    }

    fn is_gateway(self) -> bool {
        !matches!(self, Route::Direct | Route::Nginx)
    }
}

struct Target {
    route: Route,
    port: u16,
    /// The process serving this path, whose CPU we charge per request (the mock for direct).
    pid: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    Ok,
    Status(u16),
    Transport,
    BadBody,
}

#[derive(Clone, Copy, Debug)]
struct Rec {
    i: u64,
    /// Scheduled send → the request written to the socket (the generator's own delay).
    lag_ns: u64,
    /// Scheduled send → last byte of the response.
    lat_ns: u64,
    /// Scheduled send → first body bytes (streams).
    ttfb_ns: u64,
    outcome: Outcome,
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// What a request is waiting for on its connection.
#[derive(Clone, Copy)]
struct Job {
    i: u64,
    sched: Instant,
    sent: Instant,
}

/// A keep-alive connection of the generator. The pacing thread writes requests through a dup
/// of the socket; a reader task on the runtime parses the responses.
struct Conn {
    write: std::net::TcpStream,
    job: Mutex<Option<Job>>,
}

/// Everything the pacing thread and the reader tasks of one window share.
struct Shared {
    addr: std::net::SocketAddr,
    request: Bytes,
    kind: Kind,
    api: Api,
    handle: tokio::runtime::Handle,
    pool: Mutex<Pool>,
    /// Most connections a window may open (pre-opened and on demand): an overloaded server
    /// would otherwise make the generator open one per due request until it runs out of file
    /// descriptors, and the windows after it measure nothing.
    max_conns: u64,
    readers: Mutex<Vec<tokio::task::JoinHandle<()>>>,
    recs: tokio::sync::mpsc::UnboundedSender<Rec>,
    /// Connections opened because none was idle, after the warm-up began.
    opened_on_demand: AtomicU64,
    opened_in_window: AtomicU64,
    /// Requests that waited for a connection to come free (all `max_conns` busy).
    waited_for_conn: AtomicU64,
}

/// Bounds of a window's connection cap (file descriptors: each connection holds two).
const MIN_CONN_CAP: u64 = 1024;
const MAX_CONN_CAP: u64 = 4096;

/// The window's connections: the idle ones, and the requests due while none was idle and no
/// more could be opened (sent, oldest first, on the next connection that comes free; their
/// latency still counts from their scheduled time).
#[derive(Default)]
struct Pool {
    idle: Vec<Arc<Conn>>,
    opened: u64,
    waiting: std::collections::VecDeque<(u64, Instant)>,
}

/// What the pacer does with a due request.
enum Due {
    Send(Arc<Conn>),
    Open,
    Wait,
}

impl Pool {
    fn due(&mut self, i: u64, sched: Instant, max_conns: u64) -> Due {
        if let Some(conn) = self.idle.pop() {
            return Due::Send(conn);
        }
        if self.opened < max_conns {
            self.opened += 1;
            return Due::Open;
        }
        self.waiting.push_back((i, sched));
        Due::Wait
    }

    /// A connection came free: the oldest waiting request, if any, else back to idle.
    fn free(&mut self, conn: &Arc<Conn>) -> Option<(u64, Instant)> {
        let next = self.waiting.pop_front();
        if next.is_none() {
            self.idle.push(conn.clone());
        }
        next
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Blocking connect, for pre-opening before a window.
fn open_conn(sh: &Arc<Shared>) -> Result<Arc<Conn>> {
    adopt(sh, std::net::TcpStream::connect(sh.addr)?)
}

/// No idle connection when a request is due: connect on the runtime (the pacer never waits on
/// a connect, so a server with a full accept queue cannot stall the schedule), then send.
async fn connect_and_send(sh: Arc<Shared>, i: u64, sched: Instant) {
    let conn = async {
        let tcp = tokio::net::TcpStream::connect(sh.addr).await?;
        adopt(&sh, tcp.into_std()?)
    }
    .await;
    match conn {
        Ok(conn) => send(&sh, &conn, i, sched),
        Err(_) => {
            lock(&sh.pool).opened -= 1;
            let now = Instant::now();
            finish(
                &sh,
                Job {
                    i,
                    sched,
                    sent: now,
                },
                now,
                None,
                Outcome::Transport,
            );
        }
    }
}

/// Writes request `i` on `conn`; the job is recorded first so the reader finds it.
fn send(sh: &Shared, conn: &Conn, i: u64, sched: Instant) {
    let sent = Instant::now();
    *lock(&conn.job) = Some(Job { i, sched, sent });
    let written = (&conn.write).write(&sh.request);
    if !matches!(written, Ok(n) if n == sh.request.len()) {
        // Never seen on loopback with a few hundred bytes; reported if it happens.
        if let Some(job) = lock(&conn.job).take() {
            finish(sh, job, Instant::now(), None, Outcome::Transport);
        }
        let _ = conn.write.shutdown(std::net::Shutdown::Both);
    }
}

/// Takes a connected socket into the pool's world: a non-blocking dup for writes and a reader
/// task on the runtime.
fn adopt(sh: &Arc<Shared>, s: std::net::TcpStream) -> Result<Arc<Conn>> {
    s.set_nodelay(true)?;
    s.set_nonblocking(true)?;
    let conn = Arc::new(Conn {
        write: s.try_clone()?,
        job: Mutex::new(None),
    });
    let _guard = sh.handle.enter();
    let read = tokio::net::TcpStream::from_std(s)?;
    let task = sh.handle.spawn(reader(read, conn.clone(), sh.clone()));
    lock(&sh.readers).push(task);
    Ok(conn)
}

fn finish(sh: &Shared, job: Job, done: Instant, ttfb: Option<Instant>, outcome: Outcome) {
    let _ = sh.recs.send(Rec {
        i: job.i,
        lag_ns: nanos(job.sent.saturating_duration_since(job.sched)),
        lat_ns: nanos(done.saturating_duration_since(job.sched)),
        ttfb_ns: ttfb.map_or(0, |t| nanos(t.saturating_duration_since(job.sched))),
        outcome,
    });
}

/// Judges a complete response: status, and the content the mock sent made it through.
fn judge(buf: &[u8], head: &Head, end: usize, kind: Kind, api: Api) -> Outcome {
    if !(200..300).contains(&head.status) {
        return Outcome::Status(head.status);
    }
    let mut dechunked = Vec::new();
    let body: &[u8] = if head.chunked {
        match chunked_end(buf, head.len, Some(&mut dechunked)) {
            Ok(Some(_)) => &dechunked,
            _ => return Outcome::BadBody,
        }
    } else {
        &buf[head.len..end]
    };
    if api.answered(kind, body) {
        Outcome::Ok
    } else {
        Outcome::BadBody
    }
}

/// Reads responses off one connection, records them, and returns the connection to the pool.
async fn reader(mut sock: tokio::net::TcpStream, conn: Arc<Conn>, sh: Arc<Shared>) {
    let mut buf: Vec<u8> = Vec::with_capacity(16 * 1024);
    let mut ttfb: Option<Instant> = None;
    loop {
        let read = sock.read_buf(&mut buf).await;
        let now = Instant::now();
        if !matches!(read, Ok(n) if n > 0) {
            // Closed or broken: whatever was in flight failed.
            if let Some(job) = lock(&conn.job).take() {
                finish(&sh, job, now, ttfb, Outcome::Transport);
            }
            return;
        }
        loop {
            let head = match parse_head(&buf) {
                None => break,
                Some(Ok(h)) => h,
                Some(Err(_)) => {
                    if let Some(job) = lock(&conn.job).take() {
                        finish(&sh, job, now, ttfb, Outcome::BadBody);
                    }
                    return;
                }
            };
            if ttfb.is_none() && buf.len() > head.len {
                ttfb = Some(now);
            }
            let end = match body_end(&buf, &head) {
                Ok(Some(end)) => end,
                Ok(None) => break,
                Err(_) => {
                    if let Some(job) = lock(&conn.job).take() {
                        finish(&sh, job, now, ttfb, Outcome::BadBody);
                    }
                    return;
                }
            };
            let outcome = judge(&buf, &head, end, sh.kind, sh.api);
            let job = lock(&conn.job).take();
            buf.drain(..end);
            let first_byte = ttfb.take();
            if head.close {
                if let Some(job) = job {
                    finish(&sh, job, now, first_byte, outcome);
                }
                return;
            }
            let waiting = lock(&sh.pool).free(&conn);
            if let Some(job) = job {
                finish(&sh, job, now, first_byte, outcome);
            }
            if let Some((i, sched)) = waiting {
                send(&sh, &conn, i, sched);
            }
        }
    }
}

/// Sets this thread's timer slack to 1 µs so `sleep` wakes close to the deadline (best effort).
fn tighten_timer_slack() {
    let tid = std::fs::read_to_string("/proc/thread-self/stat")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_owned));
    if let Some(tid) = tid {
        if std::fs::write(format!("/proc/{tid}/timerslack_ns"), "1000").is_ok() {
            TIMER_SLACK_SET.store(true, Ordering::Relaxed);
        }
    }
}

struct Plan {
    t0: Instant,
    rate: u64,
    warm_n: u64,
    total: u64,
    probe: Probe,
}

/// The pacing thread: request `i` is due at `t0 + i / rate` and is written at once onto an idle
/// connection (a new one if none is idle); late requests go out immediately (open loop).
fn pace(sh: Arc<Shared>, plan: Plan, start: Arc<Mutex<Option<Sample>>>) {
    tighten_timer_slack();
    if RT_ACTIVE.load(Ordering::Relaxed) {
        // Above the generator's runtime and the mock, so a due request is never kept waiting
        // behind them.
        realtime_this_thread(RT_PRIORITY + 10);
    }
    for i in 0..plan.total {
        let sched = plan.t0 + Duration::from_nanos(i.saturating_mul(1_000_000_000) / plan.rate);
        let now = Instant::now();
        if sched > now {
            std::thread::sleep(sched - now);
        }
        if i == plan.warm_n {
            *lock(&start) = Some(Sample::take(&plan.probe));
        }
        let due = lock(&sh.pool).due(i, sched, sh.max_conns);
        match due {
            Due::Send(conn) => send(&sh, &conn, i, sched),
            Due::Open => {
                sh.opened_on_demand.fetch_add(1, Ordering::Relaxed);
                if i >= plan.warm_n {
                    sh.opened_in_window.fetch_add(1, Ordering::Relaxed);
                }
                let task = sh.handle.spawn(connect_and_send(sh.clone(), i, sched));
                lock(&sh.readers).push(task);
            }
            Due::Wait => {
                sh.waited_for_conn.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// What to read at the edges of a measured window.
#[derive(Clone)]
struct Probe {
    /// The process serving the path (the mock for direct).
    server: String,
    mock: String,
    /// Our processes on the server CPU (gateway, nginx).
    on_server_cpu: Vec<String>,
    client_cpu: String,
    server_cpu: String,
}

#[derive(Clone, Copy)]
struct Sample {
    at: Instant,
    server: u64,
    /// The gateway's log writer thread, when it has one.
    writer: Option<u64>,
    mock: u64,
    client: u64,
    ours_on_server_cpu: u64,
    client_cpu_busy: Option<u64>,
    server_cpu_busy: Option<u64>,
    tcp: Option<(u64, u64)>,
}

impl Sample {
    fn take(p: &Probe) -> Sample {
        Sample {
            at: Instant::now(),
            server: cpu_ticks(&p.server).unwrap_or(0),
            writer: thread_ticks(&p.server, WRITER_THREAD),
            mock: cpu_ticks(&p.mock).unwrap_or(0),
            client: cpu_ticks("self").unwrap_or(0),
            ours_on_server_cpu: p
                .on_server_cpu
                .iter()
                .filter_map(|pid| cpu_ticks(pid))
                .sum(),
            client_cpu_busy: cpu_busy_ticks(&p.client_cpu),
            server_cpu_busy: cpu_busy_ticks(&p.server_cpu),
            tcp: tcp_counters(),
        }
    }
}

struct Window {
    recs: Vec<Rec>,
    /// Measured requests that got no answer before the drain deadline.
    unanswered: u64,
    sent: u64,
    start: Sample,
    end: Sample,
    mock_seen: Option<u64>,
    server_hwm_kb: Option<u64>,
    preopened: u64,
    opened_on_demand: u64,
    opened_in_window: u64,
    waited_for_conn: u64,
}

struct Env {
    mock_pid: u32,
    /// Gateway and nginx PIDs (our processes on the server CPU).
    server_side: Vec<u32>,
    client_cpu: String,
    server_cpu: String,
    mock_stats: reqwest::Url,
    stats_client: reqwest::Client,
    latency: Duration,
}

async fn mock_count(env: &Env) -> Option<u64> {
    let r = env
        .stats_client
        .get(env.mock_stats.clone())
        .send()
        .await
        .ok()?;
    r.text().await.ok()?.trim().parse().ok()
}

fn http_request(target: &Target, kind: Kind) -> Bytes {
    let api = target.route.api();
    let body = api.body(kind);
    Bytes::from(format!(
        "POST {} HTTP/1.1\r\nhost: 127.0.0.1:{}\r\ncontent-type: application/json\r\naccept: */*\r\n{}content-length: {}\r\n\r\n{body}",
        api.path(),
        target.port,
        target.route.extra_headers(),
        body.len()
    ))
}

async fn run_window(
    env: &Env,
    target: &Target,
    kind: Kind,
    rate: u64,
    warmup: f64,
    duration: f64,
) -> Result<Window> {
    let warm_n = (warmup * rate as f64).round() as u64;
    let meas_n = ((duration * rate as f64).round() as u64).max(1);
    let total = warm_n + meas_n;
    let before = mock_count(env).await;

    // Enough keep-alive connections for the expected concurrency, twice over; more are opened
    // (and counted) if a burst needs them, up to a cap.
    let expect_in_flight = rate as f64 * (env.latency.as_secs_f64() + 0.002);
    let preopen = (expect_in_flight * 2.0).ceil().max(16.0) as u64;
    let (rec_tx, mut rec_rx) = tokio::sync::mpsc::unbounded_channel::<Rec>();
    let sh = Arc::new(Shared {
        addr: std::net::SocketAddr::from(([127, 0, 0, 1], target.port)),
        request: http_request(target, kind),
        kind,
        api: target.route.api(),
        handle: tokio::runtime::Handle::current(),
        pool: Mutex::new(Pool::default()),
        max_conns: (preopen * 8).clamp(MIN_CONN_CAP, MAX_CONN_CAP),
        readers: Mutex::new(Vec::new()),
        recs: rec_tx,
        opened_on_demand: AtomicU64::new(0),
        opened_in_window: AtomicU64::new(0),
        waited_for_conn: AtomicU64::new(0),
    });
    for _ in 0..preopen {
        let c = open_conn(&sh)?;
        let mut pool = lock(&sh.pool);
        pool.idle.push(c);
        pool.opened += 1;
    }
    tokio::time::sleep(Duration::from_millis(50)).await;

    let start = Arc::new(Mutex::new(None));
    let probe = Probe {
        server: target.pid.to_string(),
        mock: env.mock_pid.to_string(),
        on_server_cpu: env.server_side.iter().map(u32::to_string).collect(),
        client_cpu: env.client_cpu.clone(),
        server_cpu: env.server_cpu.clone(),
    };
    let plan = Plan {
        t0: Instant::now() + Duration::from_millis(20),
        rate,
        warm_n,
        total,
        probe: probe.clone(),
    };
    let pacer = {
        let (sh, start) = (sh.clone(), start.clone());
        std::thread::Builder::new()
            .name("pacer".into())
            .spawn(move || pace(sh, plan, start))?
    };
    let span = Duration::from_secs_f64((warmup + duration).max(0.0));
    let deadline = tokio::time::Instant::now() + span + Duration::from_secs(10) + env.latency * 4;
    let mut recs = Vec::with_capacity(usize::try_from(meas_n).unwrap_or(0));
    let mut received = 0u64;
    while received < total {
        match tokio::time::timeout_at(deadline, rec_rx.recv()).await {
            Ok(Some(r)) => {
                received += 1;
                if r.i >= warm_n {
                    recs.push(r);
                }
            }
            Ok(None) | Err(_) => break,
        }
    }
    let end = Sample::take(&probe);
    // The pacer has sent everything by now (it ends `warmup + duration` after it starts).
    let _ = pacer.join();
    for task in lock(&sh.readers).drain(..) {
        task.abort();
    }
    {
        let mut pool = lock(&sh.pool);
        pool.idle.clear();
        pool.waiting.clear();
    }
    let after = mock_count(env).await;
    let start = lock(&start).take();
    Ok(Window {
        unanswered: meas_n.saturating_sub(recs.len() as u64),
        recs,
        sent: total,
        start: start.ok_or_else(|| anyhow!("measured window never started"))?,
        end,
        mock_seen: before.zip(after).map(|(b, a)| a.saturating_sub(b)),
        server_hwm_kb: status_kb(target.pid, "VmHWM:"),
        preopened: preopen,
        opened_on_demand: sh.opened_on_demand.load(Ordering::Relaxed),
        opened_in_window: sh.opened_in_window.load(Ordering::Relaxed),
        waited_for_conn: sh.waited_for_conn.load(Ordering::Relaxed),
    })
}

/// What the virtual key's counters say after the run: evidence that `gateway-vk` went through
/// the budget and rate-limit accounting (the request window is 1 minute, so it holds only the
/// last minute's requests; the budget's spend covers the whole run, when the model has a price).
async fn vk_usage_note(env: &Env, port: u16) -> String {
    let url = format!("http://127.0.0.1:{port}/api/governance/virtual-keys/bench-vk/quota");
    let quota = async {
        let text = env
            .stats_client
            .get(url)
            .send()
            .await
            .ok()?
            .text()
            .await
            .ok()?;
        serde_json::from_str::<serde_json::Value>(&text).ok()
    }
    .await;
    match quota {
        Some(q) => {
            let (b, r) = (&q["budgets"][0], &q["rate_limits"][0]);
            format!(
                "Virtual key `bench-vk` after the run: budget {} of {} USD used ({}); rate limit ({} requests / {} tokens per window): {} requests and {} tokens counted in the current window.",
                b["current_usage"], b["max_limit"], b["reset_duration"],
                r["request_max_limit"], r["token_max_limit"],
                r["request_current_usage"], r["token_current_usage"],
            )
        }
        None => "**Could not read the virtual key's quota after the run.**".into(),
    }
}

/// Waits (up to 60 s) until the mock and the servers are idle, so that one window's backlog (an
/// overloaded gateway still draining its queue or its log) never runs into the next window.
async fn settle(pids: &[u32]) -> Duration {
    let started = Instant::now();
    let ticks = || -> u64 { pids.iter().filter_map(|p| cpu_ticks(&p.to_string())).sum() };
    loop {
        let a = ticks();
        tokio::time::sleep(Duration::from_millis(250)).await;
        if ticks().saturating_sub(a) <= 1 || started.elapsed() > Duration::from_secs(60) {
            return started.elapsed();
        }
    }
}

/// One request of each kind must succeed before any load is sent.
async fn preflight(env: &Env, target: &Target, kinds: &[Kind], gateway_log: &str) -> Result<()> {
    let api = target.route.api();
    let mut headers = reqwest::header::HeaderMap::new();
    for line in target.route.extra_headers().lines() {
        if let Some((name, value)) = line.split_once(": ") {
            headers.insert(
                reqwest::header::HeaderName::from_bytes(name.as_bytes())?,
                value.parse()?,
            );
        }
    }
    for &kind in kinds {
        let r = env
            .stats_client
            .post(format!("http://127.0.0.1:{}{}", target.port, api.path()))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .headers(headers.clone())
            .body(api.body(kind))
            .send()
            .await
            .with_context(|| format!("preflight {} {}", target.route.name(), kind.name()))?;
        let status = r.status();
        let text = r.text().await.unwrap_or_default();
        if !status.is_success() || !api.answered(kind, text.as_bytes()) {
            bail!(
                "preflight {} {}: HTTP {status}: {}\n{gateway_log}",
                target.route.name(),
                kind.name(),
                &text[..text.len().min(600)]
            );
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Statistics
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, Default)]
struct Pct {
    p50: f64,
    p90: f64,
    p99: f64,
    max: f64,
}

/// The load generator's lag (sent after the scheduled time) at p99 above which a window's
/// comparison gets no verdict: the rate was not offered as scheduled.
const MAX_JUDGED_LAG_US: f64 = 1_000.0;

/// Nearest-rank percentiles, in µs.
fn percentiles(mut ns: Vec<u64>) -> Option<Pct> {
    if ns.is_empty() {
        return None;
    }
    ns.sort_unstable();
    let at = |p: f64| {
        let rank = ((p / 100.0) * ns.len() as f64).ceil() as usize;
        ns[rank.clamp(1, ns.len()) - 1] as f64 / 1000.0
    };
    Some(Pct {
        p50: at(50.0),
        p90: at(90.0),
        p99: at(99.0),
        max: at(100.0),
    })
}

#[derive(Clone, Debug, Default)]
struct Stats {
    measured: u64,
    ok: u64,
    status_err: BTreeMap<u16, u64>,
    transport: u64,
    timeouts: u64,
    bad_body: u64,
    lat: Pct,
    ttfb: Option<Pct>,
    lag: Pct,
    ok_per_s: f64,
    /// CPU of the serving process per measured request, µs.
    server_cpu_us: f64,
    /// Of it, the request log writer thread's, µs per request (NaN without one).
    writer_cpu_us: f64,
    /// Share of one core the serving process used over the window.
    server_busy: f64,
    mock_cpu_us: f64,
    /// CPU of this process (the load generator) per measured request, µs.
    gen_cpu_us: f64,
    /// Load generator + mock, share of one core (both live on the client CPU).
    client_busy: f64,
    sent: u64,
    mock_seen: Option<u64>,
    server_hwm_kb: Option<u64>,
    preopened: u64,
    opened_on_demand: u64,
    opened_in_window: u64,
    /// Requests that waited for a free connection (the window's connection cap was reached).
    waited_for_conn: u64,
    /// Share of the client / server CPU used by anything but our processes over the window.
    foreign_client_cpu: f64,
    foreign_server_cpu: f64,
    /// Delayed-ACK timer expiries per measured request (system-wide counter).
    delayed_acks_per_req: f64,
    /// Accept-queue overflows over the window (system-wide counter).
    listen_overflows: u64,
}

impl Stats {
    fn errors(&self) -> u64 {
        self.status_err.values().sum::<u64>() + self.transport + self.timeouts + self.bad_body
    }

    fn from_window(w: &Window, kind: Kind, duration: f64, tck: f64) -> Stats {
        let mut s = Stats {
            measured: w.recs.len() as u64 + w.unanswered,
            timeouts: w.unanswered,
            sent: w.sent,
            mock_seen: w.mock_seen,
            preopened: w.preopened,
            opened_on_demand: w.opened_on_demand,
            opened_in_window: w.opened_in_window,
            waited_for_conn: w.waited_for_conn,
            ..Stats::default()
        };
        let (mut lat, mut ttfb, mut lag) = (Vec::new(), Vec::new(), Vec::new());
        for r in &w.recs {
            lag.push(r.lag_ns);
            match r.outcome {
                Outcome::Ok => {
                    s.ok += 1;
                    lat.push(r.lat_ns);
                    if kind == Kind::Stream {
                        ttfb.push(r.ttfb_ns);
                    }
                }
                Outcome::Status(code) => *s.status_err.entry(code).or_default() += 1,
                Outcome::Transport => s.transport += 1,
                Outcome::BadBody => s.bad_body += 1,
            }
        }
        s.lat = percentiles(lat).unwrap_or_default();
        s.ttfb = percentiles(ttfb);
        s.lag = percentiles(lag).unwrap_or_default();
        s.ok_per_s = s.ok as f64 / duration;
        let wall = w
            .end
            .at
            .saturating_duration_since(w.start.at)
            .as_secs_f64()
            .max(1e-9);
        let secs = |a: u64, b: u64| b.saturating_sub(a) as f64 / tck;
        let n = (s.measured as f64).max(1.0);
        let server = secs(w.start.server, w.end.server);
        let mock = secs(w.start.mock, w.end.mock);
        let own = secs(w.start.client, w.end.client);
        s.server_cpu_us = server * 1e6 / n;
        s.writer_cpu_us = w
            .start
            .writer
            .zip(w.end.writer)
            .map_or(f64::NAN, |(a, b)| secs(a, b) * 1e6 / n);
        s.server_busy = server / wall;
        s.mock_cpu_us = mock * 1e6 / n;
        s.gen_cpu_us = own * 1e6 / n;
        s.client_busy = (own + mock) / wall;
        let foreign = |a: Option<u64>, b: Option<u64>, ours: f64| {
            a.zip(b)
                .map_or(f64::NAN, |(a, b)| (secs(a, b) - ours).max(0.0) / wall)
        };
        s.foreign_client_cpu = foreign(w.start.client_cpu_busy, w.end.client_cpu_busy, own + mock);
        let ours_server = secs(w.start.ours_on_server_cpu, w.end.ours_on_server_cpu);
        s.foreign_server_cpu = foreign(w.start.server_cpu_busy, w.end.server_cpu_busy, ours_server);
        if let (Some(a), Some(b)) = (w.start.tcp, w.end.tcp) {
            s.delayed_acks_per_req = b.0.saturating_sub(a.0) as f64 / n;
            s.listen_overflows = b.1.saturating_sub(a.1);
        } else {
            s.delayed_acks_per_req = f64::NAN;
        }
        s.server_hwm_kb = w.server_hwm_kb;
        s
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    }
}

// ---------------------------------------------------------------------------------------------
// Report
// ---------------------------------------------------------------------------------------------

type Key = (u64, Kind, Route);

struct Report {
    opts: Opts,
    /// The paths measured, in cell order.
    routes: Vec<Route>,
    cells: BTreeMap<Key, Vec<Stats>>,
    notes: Vec<String>,
    gateway_startup_ms: f64,
    gateway_idle_rss_kb: Option<u64>,
    gateway_peak_kb: Option<u64>,
    nginx_peak_kb: Option<u64>,
    have_nginx: bool,
}

fn us(x: f64) -> String {
    if x.is_nan() {
        "–".into()
    } else {
        format!("{x:.0}")
    }
}

fn plus(x: f64) -> String {
    if x.is_nan() {
        "–".into()
    } else {
        format!("{x:+.0}")
    }
}

fn ratio(x: f64, floor: f64) -> String {
    if x.is_nan() || floor.is_nan() {
        "–".into()
    } else if floor < 1.0 {
        "n/a (floor < 1 µs)".into()
    } else {
        format!("{:.1}x", x / floor)
    }
}

fn mb(kb: Option<u64>) -> String {
    kb.map(|k| format!("{:.1} MB", k as f64 / 1024.0))
        .unwrap_or_else(|| "–".into())
}

impl Report {
    fn runs(&self, rate: u64, kind: Kind, route: Route) -> &[Stats] {
        self.cells
            .get(&(rate, kind, route))
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    fn med(&self, rate: u64, kind: Kind, route: Route, f: impl Fn(&Stats) -> f64) -> f64 {
        median(self.runs(rate, kind, route).iter().map(f).collect())
    }

    /// The load generator's worst p99 lag (µs) over the windows of these routes and of
    /// `direct`, which every added figure subtracts.
    fn generator_lag(&self, rate: u64, kind: Kind, routes: &[Route]) -> f64 {
        routes
            .iter()
            .chain([&Route::Direct])
            .map(|&r| self.med(rate, kind, r, |s| s.lag.p99))
            .fold(0.0, f64::max)
    }

    /// Median over repeats of (route − direct), paired run by run.
    fn added(&self, rate: u64, kind: Kind, route: Route, f: impl Fn(&Stats) -> f64) -> f64 {
        let d = self.runs(rate, kind, Route::Direct);
        let r = self.runs(rate, kind, route);
        median(d.iter().zip(r).map(|(d, r)| f(r) - f(d)).collect())
    }

    fn kinds(&self) -> Vec<Kind> {
        if self.opts.stream {
            vec![Kind::Chat, Kind::Stream]
        } else {
            vec![Kind::Chat]
        }
    }

    fn routes(&self) -> Vec<Route> {
        self.routes.clone()
    }

    /// One "path against a baseline" table, per rate and kind: the added p50 and p99 (over
    /// direct) and the CPU per request of both, their ratios, and, given a target, whether both
    /// latency ratios are within it.
    fn comparison(
        &self,
        title: &str,
        path: Route,
        base: Route,
        target: Option<f64>,
    ) -> Vec<String> {
        let mut out = vec![format!("### {title}"), String::new()];
        let (p, b) = (path.name(), base.name());
        let target_cols = match target {
            Some(t) => (format!(" target: both <= {t}x |"), "---|"),
            None => (String::new(), ""),
        };
        out.push(format!(
            "| rate/s | kind | added p50 {p} / {b} | ratio | added p99 {p} / {b} | ratio | CPU µs/req {p} / {b} | ratio |{}",
            target_cols.0
        ));
        out.push(format!(
            "|---:|---|---:|---:|---:|---:|---:|---:|{}",
            target_cols.1
        ));
        let (mut met, mut judged) = (0, 0);
        for &rate in &self.opts.rates {
            for kind in self.kinds() {
                let a50 = self.added(rate, kind, path, |s| s.lat.p50);
                let b50 = self.added(rate, kind, base, |s| s.lat.p50);
                let a99 = self.added(rate, kind, path, |s| s.lat.p99);
                let b99 = self.added(rate, kind, base, |s| s.lat.p99);
                let ac = self.med(rate, kind, path, |s| s.server_cpu_us);
                let bc = self.med(rate, kind, base, |s| s.server_cpu_us);
                // A generator that fell behind its schedule did not offer the rate: such a
                // window measures the client, not the gateway.
                let lag = self.generator_lag(rate, kind, &[path, base]);
                let verdict = match target {
                    None => String::new(),
                    Some(_) if lag > MAX_JUDGED_LAG_US => {
                        format!(" no verdict: the generator lagged {} µs at p99 |", us(lag))
                    }
                    Some(t) => {
                        let ratios = [a50 / b50, a99 / b99];
                        let judgeable = [b50, b99].iter().all(|b| *b >= 1.0)
                            && ratios.iter().all(|r| r.is_finite());
                        if judgeable {
                            judged += 1;
                            if ratios.iter().all(|r| *r <= t) {
                                met += 1;
                                " met |".into()
                            } else {
                                " **not met** |".into()
                            }
                        } else {
                            " n/a |".into()
                        }
                    }
                };
                out.push(format!(
                    "| {rate} | {} | {} / {} | {} | {} / {} | {} | {ac:.1} / {bc:.1} | {} |{verdict}",
                    kind.name(),
                    plus(a50),
                    plus(b50),
                    ratio(a50, b50),
                    plus(a99),
                    plus(b99),
                    ratio(a99, b99),
                    ratio(ac, bc),
                ));
            }
        }
        if target.is_some() {
            out.push(String::new());
            out.push(format!(
                "Met in {met} of {judged} cells (a cell is met when both its p50 and p99 ratios are within the target; with `--repeat 1` a single window decides, and p99 differences under ~0.1 ms are noise here; a cell whose load generator lagged more than {MAX_JUDGED_LAG_US} µs at p99 gets no verdict)."
            ));
        }
        out.push(String::new());
        out
    }

    /// The comparison tables the issues ask for, for the paths this run measured.
    fn issue_tables(&self) -> Vec<String> {
        let has = |r: Route| self.routes.contains(&r);
        let mut out = Vec::new();
        if has(Route::Gateway) && has(Route::GatewayOff) {
            let on = if self.opts.request_log {
                "request log and metrics on"
            } else {
                "metrics on, request log off (--no-request-log)"
            };
            out.extend(self.comparison(
                &format!("Issue 5 (observability): gateway ({on}) against gateway-off (both off)"),
                Route::Gateway,
                Route::GatewayOff,
                Some(1.2),
            ));
        }
        if has(Route::GatewayVk) && has(Route::Gateway) {
            out.extend(self.comparison(
                "Issue 4 (governance): gateway-vk (virtual key, budget, request and token rate limits) against gateway (no key)",
                Route::GatewayVk,
                Route::Gateway,
                Some(1.2),
            ));
        }
        if has(Route::GatewayAnthropic) && has(Route::Gateway) {
            out.extend(self.comparison(
                "Issue 3 (translation): gateway-anthropic (/anthropic/v1/messages -> openai) against gateway (/v1/chat/completions -> openai)",
                Route::GatewayAnthropic,
                Route::Gateway,
                Some(1.3),
            ));
        }
        out
    }

    fn total_errors(&self) -> u64 {
        self.cells.values().flatten().map(Stats::errors).sum()
    }

    fn render(&self) -> String {
        let o = &self.opts;
        let mut out = Vec::<String>::new();
        out.push(format!(
            "## Gateway overhead — mock latency {} ms{}, main gateway's request log {}, {} s windows after {} s warm-up, {} run(s) per cell{}",
            o.latency_ms,
            if o.gap_ms > 0 { format!(" and {} ms between stream events", o.gap_ms) } else { String::new() },
            if o.request_log { "on (default config)" } else { "off (client.enable_logging = false)" },
            o.duration,
            o.warmup,
            o.repeat,
            if o.repeat > 1 { " (medians)" } else { "" }
        ));
        out.push(String::new());
        out.push("Latency in µs from the scheduled send time (open loop). added = path − direct, same rate, same conversation, same run. TTFB = first body byte of the stream. Paths: gateway = the main gateway (metrics on, a virtual key configured but not sent); gateway-off = a second gateway process, request log and metrics off; gateway-vk = the main gateway with `x-bf-vk` (budget and rate limits checked); gateway-anthropic = the main gateway's `/anthropic/v1/messages` translated to openai. CPU µs/req is the whole serving process's; in parentheses, the part of it the request log writer thread used.".into());
        out.push(String::new());
        out.push("| rate/s | kind | path | requests | errors | p50 | p90 | p99 | max | added p50 | added p90 | added p99 | TTFB p50 | TTFB p99 | added TTFB p50 / p99 | CPU µs/req | core busy |".into());
        out.push(
            "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
                .into(),
        );
        for &rate in &o.rates {
            for kind in self.kinds() {
                for route in self.routes() {
                    let runs = self.runs(rate, kind, route);
                    if runs.is_empty() {
                        continue;
                    }
                    let m = |f: fn(&Stats) -> f64| self.med(rate, kind, route, f);
                    let a = |f: fn(&Stats) -> f64| {
                        if route == Route::Direct {
                            "–".to_owned()
                        } else {
                            plus(self.added(rate, kind, route, f))
                        }
                    };
                    let requests: u64 = runs.iter().map(|s| s.measured).sum();
                    let errors: u64 = runs.iter().map(Stats::errors).sum();
                    let (t50, t99, at) = if kind == Kind::Stream {
                        let t50 = m(|s| s.ttfb.map_or(f64::NAN, |t| t.p50));
                        let t99 = m(|s| s.ttfb.map_or(f64::NAN, |t| t.p99));
                        let at = if route == Route::Direct {
                            "–".to_owned()
                        } else {
                            format!(
                                "{} / {}",
                                a(|s| s.ttfb.map_or(f64::NAN, |t| t.p50)),
                                a(|s| s.ttfb.map_or(f64::NAN, |t| t.p99))
                            )
                        };
                        (us(t50), us(t99), at)
                    } else {
                        ("–".into(), "–".into(), "–".into())
                    };
                    let writer = m(|s| s.writer_cpu_us);
                    let who = if route == Route::Direct {
                        " (mock)".to_owned()
                    } else if writer.is_finite() {
                        format!(" (log writer {writer:.1})")
                    } else {
                        String::new()
                    };
                    out.push(format!(
                        "| {rate} | {} | {} | {requests} | {}{errors} | {} | {} | {} | {} | {} | {} | {} | {t50} | {t99} | {at} | {:.1}{who} | {:.0}% |",
                        kind.name(),
                        route.name(),
                        if errors > 0 { "**" } else { "" },
                        us(m(|s| s.lat.p50)),
                        us(m(|s| s.lat.p90)),
                        us(m(|s| s.lat.p99)),
                        us(m(|s| s.lat.max)),
                        a(|s| s.lat.p50),
                        a(|s| s.lat.p90),
                        a(|s| s.lat.p99),
                        m(|s| s.server_cpu_us),
                        m(|s| s.server_busy) * 100.0,
                    ));
                }
            }
        }
        out.push(String::new());

        if self.have_nginx && self.routes.contains(&Route::Gateway) {
            out.extend(self.comparison(
                "Gateway against the nginx floor (added latency and CPU per request; ratio = gateway / nginx)",
                Route::Gateway,
                Route::Nginx,
                None,
            ));
        }
        out.extend(self.issue_tables());

        out.push("### Targets (issue 2, \"Speed\")".into());
        out.push(String::new());
        out.push("| target | measured | |".into());
        out.push("|---|---:|---|".into());
        let verdict = |ok: bool| if ok { "met" } else { "**not met**" };
        if o.rates.contains(&5000) {
            for kind in self.kinds() {
                let a50 = self.added(5000, kind, Route::Gateway, |s| s.lat.p50);
                let a99 = self.added(5000, kind, Route::Gateway, |s| s.lat.p99);
                let lag = self.generator_lag(5000, kind, &[Route::Gateway]);
                let judged = |ok: bool| {
                    if lag > MAX_JUDGED_LAG_US {
                        format!("no verdict: the generator lagged {} µs at p99", us(lag))
                    } else {
                        verdict(ok).to_owned()
                    }
                };
                out.push(format!(
                    "| added p50 <= 50 µs at 5k req/s ({}) | {} µs | {} |",
                    kind.name(),
                    plus(a50),
                    judged(a50 <= 50.0)
                ));
                out.push(format!(
                    "| added p99 <= 250 µs at 5k req/s ({}) | {} µs | {} |",
                    kind.name(),
                    plus(a99),
                    judged(a99 <= 250.0)
                ));
            }
        } else {
            out.push(
                "| added p50 / p99 at 5k req/s | not measured (5000 not in --rates) | – |".into(),
            );
        }
        let mut worst_cpu = f64::NAN;
        for &rate in &o.rates {
            for kind in self.kinds() {
                let c = self.med(rate, kind, Route::Gateway, |s| s.server_cpu_us);
                if worst_cpu.is_nan() || c > worst_cpu {
                    worst_cpu = c;
                }
            }
        }
        out.push(format!(
            "| gateway CPU <= 25 µs per request (worst window) | {worst_cpu:.1} µs | {} |",
            verdict(worst_cpu <= 25.0)
        ));
        let peak_mb = self.gateway_peak_kb.map_or(f64::NAN, |k| k as f64 / 1024.0);
        out.push(format!(
            "| gateway peak RSS <= 60 MB (VmHWM, whole run) | {} | {} |",
            mb(self.gateway_peak_kb),
            verdict(peak_mb <= 60.0)
        ));
        out.push(String::new());

        out.push("### Harness checks".into());
        out.push(String::new());
        out.push("| rate/s | kind | path | ok/s | generator lag p50 / p99 µs | client CPU busy (generator + mock) | generator CPU µs/req | mock CPU µs/req | mock saw / sent | connections pre-opened + on demand (in window) | other load on client / server CPU | delayed ACKs per request | accept-queue overflows | gateway VmHWM after |".into());
        out.push("|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|".into());
        for &rate in &o.rates {
            for kind in self.kinds() {
                for route in self.routes() {
                    let runs = self.runs(rate, kind, route);
                    if runs.is_empty() {
                        continue;
                    }
                    let m = |f: fn(&Stats) -> f64| self.med(rate, kind, route, f);
                    let seen: Option<u64> = runs.iter().map(|s| s.mock_seen).sum();
                    let sent: u64 = runs.iter().map(|s| s.sent).sum();
                    let hwm = if route.is_gateway() {
                        mb(runs.iter().filter_map(|s| s.server_hwm_kb).max())
                    } else {
                        "–".into()
                    };
                    out.push(format!(
                        "| {rate} | {} | {} | {:.0} | {:.0} / {:.0} | {:.0}% | {:.1} | {:.1} | {} / {sent}{} | {} + {} ({}){} | {:.0}% / {:.0}% | {:.2} | {} | {hwm} |",
                        kind.name(),
                        route.name(),
                        m(|s| s.ok_per_s),
                        m(|s| s.lag.p50),
                        m(|s| s.lag.p99),
                        m(|s| s.client_busy) * 100.0,
                        m(|s| s.gen_cpu_us),
                        m(|s| s.mock_cpu_us),
                        seen.map_or("?".into(), |v| v.to_string()),
                        if seen.is_some_and(|v| v != sent) { " (!)" } else { "" },
                        runs.iter().map(|s| s.preopened).max().unwrap_or(0),
                        runs.iter().map(|s| s.opened_on_demand).max().unwrap_or(0),
                        runs.iter().map(|s| s.opened_in_window).max().unwrap_or(0),
                        match runs.iter().map(|s| s.waited_for_conn).max().unwrap_or(0) {
                            0 => String::new(),
                            n => format!("; {n} requests waited for one (cap reached)"),
                        },
                        m(|s| s.foreign_client_cpu) * 100.0,
                        m(|s| s.foreign_server_cpu) * 100.0,
                        m(|s| s.delayed_acks_per_req),
                        runs.iter().map(|s| s.listen_overflows).sum::<u64>(),
                    ));
                }
            }
        }
        out.push(String::new());
        out.push(format!(
            "Gateway: start to `listening` line {:.0} ms; idle RSS {}; peak RSS (VmHWM) {}. nginx peak RSS {}.",
            self.gateway_startup_ms,
            mb(self.gateway_idle_rss_kb),
            mb(self.gateway_peak_kb),
            mb(self.nginx_peak_kb),
        ));
        for n in &self.notes {
            out.push(format!("- {n}"));
        }
        for ((rate, kind, route), runs) in &self.cells {
            let name = format!("{rate}/s {} {}", kind.name(), route.name());
            let busy = median(runs.iter().map(|s| s.server_busy).collect());
            if *route != Route::Direct && busy >= 0.85 {
                out.push(format!(
                    "- **{name}: the server CPU was {:.0}% busy — at or near saturation, so its latency is mostly queueing.**",
                    busy * 100.0
                ));
            }
            let acks = median(runs.iter().map(|s| s.delayed_acks_per_req).collect());
            if acks >= 0.3 {
                out.push(format!(
                    "- **{name}: {acks:.2} delayed-ACK timer expiries per request (system-wide counter) — Nagle / delayed-ACK stalls (~40 ms each) are likely on this path.**"
                ));
            }
            let client = median(runs.iter().map(|s| s.client_busy).collect());
            if client >= 0.8 {
                out.push(format!(
                    "- **{name}: the client CPU (generator + mock) was {:.0}% busy; the harness itself may limit this figure.**",
                    client * 100.0
                ));
            }
        }
        let errors = self.total_errors();
        if errors > 0 {
            out.push(String::new());
            out.push(format!("**!!! {errors} request(s) failed (non-2xx, transport error, timeout or malformed body) — see the errors column and the details above. Latency percentiles cover successful requests only.**"));
            for ((rate, kind, route), runs) in &self.cells {
                for s in runs.iter().filter(|s| s.errors() > 0) {
                    out.push(format!(
                        "- {rate}/s {} {}: statuses {:?}, transport {}, timeouts {}, bad bodies {}",
                        kind.name(),
                        route.name(),
                        s.status_err,
                        s.transport,
                        s.timeouts,
                        s.bad_body
                    ));
                }
            }
        }
        out.join("\n")
    }
}

// ---------------------------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------------------------

fn main() -> ExitCode {
    match real_main() {
        Ok(code) => code,
        Err(e) => {
            kill_registered_children();
            eprintln!("overhead bench failed: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn real_main() -> Result<ExitCode> {
    let Some(opts) = parse_args()? else {
        return Ok(ExitCode::SUCCESS);
    };
    if opts.mock_child {
        mock_child_main(opts.latency_ms, opts.gap_ms)?;
        return Ok(ExitCode::SUCCESS);
    }
    // Pin before any thread exists; every later thread and the mock child inherit it.
    let mut notes = Vec::new();
    let can_pin = have_taskset() && pin_self(&opts.client_cpu);
    if !can_pin {
        notes.push("**taskset unavailable or pinning failed: nothing is pinned; figures are less trustworthy.**".to_owned());
        eprintln!(
            "warning: could not pin (taskset missing or CPU {} not allowed)",
            opts.client_cpu
        );
    }
    let rt_ok = opts.rt && realtime_self(RT_PRIORITY);
    RT_ACTIVE.store(rt_ok, Ordering::Relaxed);
    if opts.rt && !rt_ok {
        notes.push("**SCHED_FIFO unavailable (needs root or CAP_SYS_NICE): the measured processes compete with everything else on the machine at normal priority.**".to_owned());
        eprintln!("warning: could not switch to SCHED_FIFO (chrt); running at normal priority");
    } else if rt_ok {
        notes.push(format!(
            "Generator and mock run under SCHED_FIFO priority {RT_PRIORITY} (`chrt -f`; the pacing thread at {}), so other work on this shared machine cannot delay the client side by a scheduler slice.",
            RT_PRIORITY + 10
        ));
    } else {
        notes.push("SCHED_FIFO disabled (--no-rt): normal priority.".to_owned());
    }
    notes.push(format!(
        "Load generator and mock on CPU {} (allowed: {}), gateway and nginx on CPU {} (`taskset -c`); this machine exposes {} CPU(s) to the run.",
        opts.client_cpu,
        cpus_allowed("self"),
        opts.gateway_cpu,
        std::fs::read_to_string("/proc/cpuinfo").map(|s| s.matches("processor\t:").count()).unwrap_or(0),
    ));

    // Watchdog: the run always ends, even if something hangs.
    let kinds = if opts.stream { 2.0 } else { 1.0 };
    let windows = opts.rates.len() as f64 * kinds * opts.paths.len() as f64 * opts.repeat as f64;
    let per_window =
        opts.warmup + opts.duration + 12.0 + (opts.latency_ms + 10 * opts.gap_ms) as f64 / 1000.0;
    let budget = Duration::from_secs_f64(2.0 * windows * per_window + 120.0);
    std::thread::spawn(move || {
        std::thread::sleep(budget);
        eprintln!("overhead bench: watchdog: still running after {budget:?}; killing children and exiting");
        kill_registered_children();
        std::process::exit(3);
    });

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    // A child inherits our SCHED_FIFO unless told otherwise (`chrt -o 0`).
    let sched = match opts.server_sched {
        ServerSched::Fifo if rt_ok => vec!["chrt", "-f", "10"],
        ServerSched::Fifo if opts.rt => {
            notes.push("**--server-sched fifo: SCHED_FIFO unavailable; gateway and nginx run at normal priority.**".into());
            vec![]
        }
        ServerSched::Fifo => vec![],
        ServerSched::Nice => vec!["chrt", "-o", "0", "nice", "-n", "-20"],
        ServerSched::Normal => vec!["chrt", "-o", "0"],
    };
    notes.push(match opts.server_sched {
        ServerSched::Fifo => "Gateway and nginx: SCHED_FIFO 10 (`--server-sched fifo`). Their own threads then run until they block: a CPU-bound background thread delays the request path for as long as it runs, which SCHED_OTHER would bound to a slice.".into(),
        ServerSched::Nice => "Gateway and nginx: SCHED_OTHER at nice -20 (`--server-sched nice`); other work on their CPU can still delay them by up to a scheduler slice.".into(),
        ServerSched::Normal => "Gateway and nginx: SCHED_OTHER at nice 0 (`--server-sched normal`).".into(),
    });
    let launch = Launch {
        cpu: can_pin.then(|| opts.gateway_cpu.clone()),
        sched,
    };
    let report = rt.block_on(run(opts, launch, notes))?;
    println!("{}", report.render());
    let errors = report.total_errors();
    if errors > 0 {
        eprintln!(
            "\n!!! overhead bench: {errors} request(s) failed; the figures above are suspect !!!"
        );
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

async fn run(opts: Opts, launch: Launch, mut notes: Vec<String>) -> Result<Report> {
    let tck = clock_ticks();
    let kinds: Vec<Kind> = if opts.stream {
        vec![Kind::Chat, Kind::Stream]
    } else {
        vec![Kind::Chat]
    };

    let (mock, mock_port) = start_mock(opts.latency_ms, opts.gap_ms)?;
    eprintln!(
        "mock on 127.0.0.1:{mock_port} (pid {}, {} ms latency)",
        mock.pid, opts.latency_ms
    );
    let main_setup = GatewaySetup {
        name: "gateway",
        request_log: opts.request_log,
        metrics: true,
    };
    let gw = start_gateway(&opts.bifrost, mock_port, main_setup, &launch)?;
    let gateway_idle_rss_kb = status_kb(gw.proc.pid, "VmRSS:");
    // The same binary, CPU and scheduling, with the request log and metrics off.
    let gw_off = if opts.paths.contains(&Route::GatewayOff) {
        let setup = GatewaySetup {
            name: "gateway-off",
            request_log: false,
            metrics: false,
        };
        Some(start_gateway(&opts.bifrost, mock_port, setup, &launch)?)
    } else {
        None
    };
    for g in std::iter::once(&gw).chain(gw_off.as_ref()) {
        eprintln!(
            "{} {} on 127.0.0.1:{} (pid {}, CPUs {}), up in {:.0} ms",
            g.proc.name,
            opts.bifrost.display(),
            g.port,
            g.proc.pid,
            cpus_allowed(&g.proc.pid.to_string()),
            g.startup.as_secs_f64() * 1000.0
        );
    }

    let nginx_bin = if opts.nginx && opts.paths.contains(&Route::Nginx) {
        find_on_path("nginx")
    } else {
        None
    };
    let nginx = match &nginx_bin {
        Some(bin) => {
            let (p, port) = start_nginx(bin, mock_port, &launch)?;
            eprintln!(
                "nginx {} on 127.0.0.1:{port} (pid {})",
                bin.display(),
                p.pid
            );
            Some((p, port))
        }
        None => {
            let why = if opts.nginx && opts.paths.contains(&Route::Nginx) {
                "nginx not found on PATH"
            } else {
                "not requested (--no-nginx or --paths)"
            };
            notes.push(format!("**No nginx floor in this run ({why}); install nginx (Debian: `apt-get install -y nginx`) for the floor column.**"));
            eprintln!("warning: {why}: skipping the nginx floor");
            None
        }
    };

    let mut targets = vec![Target {
        route: Route::Direct,
        port: mock_port,
        pid: mock.pid,
    }];
    if let Some((p, port)) = &nginx {
        targets.push(Target {
            route: Route::Nginx,
            port: *port,
            pid: p.pid,
        });
    }
    for route in [Route::Gateway, Route::GatewayVk, Route::GatewayAnthropic] {
        targets.push(Target {
            route,
            port: gw.port,
            pid: gw.proc.pid,
        });
    }
    if let Some(g) = &gw_off {
        targets.push(Target {
            route: Route::GatewayOff,
            port: g.port,
            pid: g.proc.pid,
        });
    }
    targets.retain(|t| opts.paths.contains(&t.route));
    targets.sort_by_key(|t| t.route);
    let gateways: Vec<&Proc> = std::iter::once(&gw.proc)
        .chain(gw_off.as_ref().map(|g| &g.proc))
        .collect();
    let servers: Vec<&Proc> = gateways
        .iter()
        .copied()
        .chain(nginx.as_ref().map(|(p, _)| p))
        .collect();
    for p in servers.iter().copied().chain([&mock]) {
        notes.push(format!(
            "{} pid {} runs on CPU(s) {}.",
            p.name,
            p.pid,
            cpus_allowed(&p.pid.to_string())
        ));
    }

    let env = Env {
        mock_pid: mock.pid,
        server_side: servers.iter().map(|p| p.pid).collect(),
        client_cpu: opts.client_cpu.clone(),
        server_cpu: opts.gateway_cpu.clone(),
        mock_stats: reqwest::Url::parse(&format!("http://127.0.0.1:{mock_port}/__stats"))?,
        stats_client: reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(10))
            .build()?,
        latency: Duration::from_millis(opts.latency_ms + 10 * opts.gap_ms),
    };
    for t in &targets {
        let log = gateways
            .iter()
            .find(|p| p.pid == t.pid)
            .map(|p| p.log_tail())
            .unwrap_or_default();
        preflight(&env, t, &kinds, &log).await?;
    }

    // Prime every path once (discarded): first-touch page faults, lazy initialisation, the
    // gateway's upstream pool.
    let prime = if opts.quick { 0.3 } else { 1.0 };
    let quiet: Vec<u32> = env.server_side.iter().copied().chain([mock.pid]).collect();
    for t in &targets {
        for &kind in &kinds {
            settle(&quiet).await;
            run_window(&env, t, kind, opts.rates[0].min(1000), 0.0, prime).await?;
        }
    }

    let mut cells: BTreeMap<Key, Vec<Stats>> = BTreeMap::new();
    let total_windows = opts.rates.len() * kinds.len() * targets.len() * opts.repeat;
    let mut done = 0;
    for &rate in &opts.rates {
        for &kind in &kinds {
            for _ in 0..opts.repeat {
                for t in &targets {
                    done += 1;
                    let waited = settle(&quiet).await;
                    if waited > Duration::from_secs(2) {
                        notes.push(format!(
                            "Before {rate}/s {} {}: waited {:.1} s for the servers to go idle (backlog of the previous window){}.",
                            kind.name(),
                            t.route.name(),
                            waited.as_secs_f64(),
                            if waited >= Duration::from_secs(60) { "; **they never did**" } else { "" }
                        ));
                    }
                    let w = run_window(&env, t, kind, rate, opts.warmup, opts.duration).await?;
                    let s = Stats::from_window(&w, kind, opts.duration, tck);
                    eprintln!(
                        "[{done}/{total_windows}] {rate}/s {:<6} {:<17} p50 {:>6} p90 {:>6} p99 {:>7} µs  cpu {:>5.1} µs/req  busy {:>3.0}%  lag p99 {:>5} µs  errors {}",
                        kind.name(),
                        t.route.name(),
                        us(s.lat.p50),
                        us(s.lat.p90),
                        us(s.lat.p99),
                        s.server_cpu_us,
                        s.server_busy * 100.0,
                        us(s.lag.p99),
                        s.errors()
                    );
                    if s.errors() > 0 {
                        eprintln!("  !!! {} failed requests in this window", s.errors());
                        if let Some(p) = gateways.iter().find(|p| p.pid == t.pid) {
                            eprintln!("  {} stderr tail:\n{}", p.name, p.log_tail());
                        }
                    }
                    cells.entry((rate, kind, t.route)).or_default().push(s);
                }
            }
        }
    }

    if targets.iter().any(|t| t.route == Route::GatewayVk) {
        notes.push(vk_usage_note(&env, gw.port).await);
    }
    if TIMER_SLACK_SET.load(Ordering::Relaxed) {
        notes.push("Pacing thread timer slack set to 1 µs (/proc/TID/timerslack_ns).".into());
    }
    for g in &gateways {
        let Some(dir) = &g.dir else { continue };
        let files: Vec<String> = std::fs::read_dir(dir.path())
            .map(|rd| {
                rd.filter_map(|e| e.ok())
                    .filter_map(|e| {
                        let len = e.metadata().ok()?.len();
                        (len > 0).then(|| {
                            format!(
                                "{} {:.1} MB",
                                e.file_name().to_string_lossy(),
                                len as f64 / 1e6
                            )
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        notes.push(format!(
            "{} app dir ({}, {}) at the end: {}.",
            g.name,
            dir.path().display(),
            filesystem_of(dir.path()),
            files.join(", ")
        ));
        let tail = g.log_tail();
        if !tail.trim().is_empty() {
            notes.push(format!(
                "{} stderr (last lines): `{}`",
                g.name,
                tail.replace('\n', " ⏎ ")
            ));
        }
    }
    if let Some(g) = &gw_off {
        notes.push(format!(
            "gateway-off (request log and metrics off): start to `listening` line {:.0} ms; peak RSS (VmHWM) {}.",
            g.startup.as_secs_f64() * 1000.0,
            mb(status_kb(g.proc.pid, "VmHWM:")),
        ));
    }
    let gateway_peak_kb = status_kb(gw.proc.pid, "VmHWM:");
    let nginx_peak_kb = nginx.as_ref().and_then(|(p, _)| status_kb(p.pid, "VmHWM:"));
    Ok(Report {
        opts,
        routes: targets.iter().map(|t| t.route).collect(),
        cells,
        notes,
        gateway_startup_ms: gw.startup.as_secs_f64() * 1000.0,
        gateway_idle_rss_kb,
        gateway_peak_kb,
        nginx_peak_kb,
        have_nginx: nginx.is_some(),
    })
}
