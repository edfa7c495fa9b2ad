//! Starting and stopping the real `bifrost` binary on port 0 with a temp app dir, and talking
//! to it: JSON calls, SSE reading, config helpers, and a per-test timeout.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use serde_json::{json, Value};
use tempfile::TempDir;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_bifrost");

/// Variables of the test environment that must not leak into the server.
const SCRUBBED_ENV: &[&str] = &[
    "APP_DIR",
    "APP_HOST",
    "APP_PORT",
    "LOG_LEVEL",
    "LOG_STYLE",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_PROFILE",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ENDPOINT_URL_STS",
];

/// Runs a test body with a hard limit, so that nothing can hang the suite.
pub async fn within<F: Future<Output = ()>>(secs: u64, body: F) {
    if tokio::time::timeout(Duration::from_secs(secs), body)
        .await
        .is_err()
    {
        panic!("test did not finish within {secs} s");
    }
}

/// A `Command` for the binary with a clean environment and the given variables.
pub fn command(env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(BIN);
    for var in SCRUBBED_ENV {
        cmd.env_remove(var);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.kill_on_drop(true);
    cmd
}

/// Writes `config.json` into an app dir.
pub fn write_config(dir: &Path, config: &Value) {
    std::fs::write(
        dir.join("config.json"),
        serde_json::to_string_pretty(config).unwrap(),
    )
    .unwrap();
}

/// A provider entry with its base URL at a mock and quick retries.
pub fn provider(base_url: &str, keys: Value) -> Value {
    json!({
        "keys": keys,
        "network_config": {
            "base_url": base_url,
            "max_retries": 0,
            "retry_backoff_initial_ms": 10,
            "retry_backoff_max_ms": 50,
            "default_request_timeout_in_seconds": 20
        }
    })
}

/// One key.
pub fn key(name: &str, value: &str) -> Value {
    json!({"name": name, "value": value, "models": ["*"], "weight": 1.0})
}

/// A config with these providers.
pub fn config(providers: Value) -> Value {
    json!({"$schema": "https://www.getbifrost.ai/schema", "client": {}, "providers": providers})
}

/// An HTTP client that never uses a proxy.
pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

/// A running `bifrost serve`.
pub struct Gateway {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// The app dir.
    pub app_dir: PathBuf,
    dir: Option<TempDir>,
    child: Child,
    stderr: Arc<Mutex<String>>,
    env: Vec<(String, String)>,
    client: reqwest::Client,
}

impl Drop for Gateway {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "---- bifrost stderr ----\n{}\n------------------------",
                self.stderr()
            );
        }
    }
}

/// What a finished `bifrost` run printed.
#[derive(Debug)]
pub struct Finished {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

/// Runs the binary to completion (up to 30 s).
pub async fn run(args: &[&str], env: &[(&str, &str)]) -> Finished {
    let mut cmd = command(env);
    cmd.args(args).stdin(Stdio::null());
    let out = tokio::time::timeout(Duration::from_secs(30), cmd.output())
        .await
        .unwrap_or_else(|_| panic!("bifrost {args:?} did not finish within 30 s"))
        .unwrap();
    Finished {
        status: out.status,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

impl Gateway {
    /// Starts a gateway on a fresh temp app dir with this config.json.
    pub async fn launch(config: &Value, env: &[(&str, &str)]) -> Gateway {
        let dir = tempfile::tempdir().unwrap();
        write_config(dir.path(), config);
        Self::start_in(dir, env).await
    }

    /// Starts a gateway on an existing app dir (which it then owns).
    pub async fn start_in(dir: TempDir, env: &[(&str, &str)]) -> Gateway {
        match Self::try_start(dir.path(), env).await {
            Ok(mut gw) => {
                gw.dir = Some(dir);
                gw
            }
            Err(e) => panic!("bifrost serve did not start: {e}"),
        }
    }

    /// Starts `bifrost serve` on `dir`; the error carries what it printed.
    pub async fn try_start(dir: &Path, env: &[(&str, &str)]) -> Result<Gateway, String> {
        let mut cmd = command(env);
        cmd.args(["serve", "--app-dir"])
            .arg(dir)
            .args(["--port", "0", "--host", "127.0.0.1", "--log-level", "debug"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("cannot spawn {BIN}: {e}"))?;
        let stderr = Arc::new(Mutex::new(String::new()));
        let err_pipe = child.stderr.take().unwrap();
        let sink = Arc::clone(&stderr);
        tokio::spawn(async move {
            let mut lines = BufReader::new(err_pipe).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                let mut s = sink.lock().unwrap();
                s.push_str(&line);
                s.push('\n');
            }
        });
        let out_pipe = child.stdout.take().unwrap();
        let mut lines = BufReader::new(out_pipe).lines();
        let find_url = async {
            let mut printed = String::new();
            while let Ok(Some(line)) = lines.next_line().await {
                printed.push_str(&line);
                printed.push('\n');
                if let Some(i) = line.find("listening on http://") {
                    return Ok(line[i + "listening on ".len()..].trim().to_owned());
                }
            }
            Err(printed)
        };
        let url = match tokio::time::timeout(Duration::from_secs(20), find_url).await {
            Ok(Ok(url)) => url,
            Ok(Err(stdout)) => {
                let status = tokio::time::timeout(Duration::from_secs(5), child.wait()).await;
                tokio::time::sleep(Duration::from_millis(100)).await;
                return Err(format!(
                    "exited ({status:?}) before listening\nstdout:\n{stdout}\nstderr:\n{}",
                    stderr.lock().unwrap()
                ));
            }
            Err(_) => {
                return Err(format!(
                    "no listening line within 20 s\nstderr:\n{}",
                    stderr.lock().unwrap()
                ));
            }
        };
        // Keep draining stdout so the server never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(Gateway {
            url,
            app_dir: dir.to_owned(),
            dir: None,
            child,
            stderr,
            env: env
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            client: http(),
        })
    }

    /// Everything the server logged so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id().expect("bifrost already exited")
    }

    /// Sends SIGTERM.
    pub fn sigterm(&self) {
        let status = std::process::Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill -TERM failed");
    }

    /// Waits for the process to exit (up to `secs`).
    pub async fn wait_exit(&mut self, secs: u64) -> ExitStatus {
        match tokio::time::timeout(Duration::from_secs(secs), self.child.wait()).await {
            Ok(status) => status.unwrap(),
            Err(_) => panic!(
                "bifrost did not exit within {secs} s\nstderr:\n{}",
                self.stderr()
            ),
        }
    }

    /// SIGTERM, then waits for a clean exit; returns the app dir for a restart.
    pub async fn stop(mut self) -> TempDir {
        self.sigterm();
        let status = self.wait_exit(20).await;
        assert!(
            status.success(),
            "bifrost exited with {status:?}\nstderr:\n{}",
            self.stderr()
        );
        self.dir
            .take()
            .expect("the gateway does not own its app dir")
    }

    /// Stops and starts again on the same app dir with the same environment.
    pub async fn restart(self) -> Gateway {
        let env = self.env.clone();
        let dir = self.stop().await;
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        Gateway::start_in(dir, &env).await
    }

    /// POSTs JSON with extra headers; returns status and body (`Null` when not JSON).
    pub async fn post_with(
        &self,
        path: &str,
        body: &Value,
        headers: &[(&str, &str)],
    ) -> (u16, Value) {
        let mut req = self.client.post(format!("{}{path}", self.url)).json(body);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        read(req.send().await.unwrap()).await
    }

    /// POSTs JSON.
    pub async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        self.post_with(path, body, &[]).await
    }

    /// POSTs raw bytes as JSON.
    pub async fn post_raw(&self, path: &str, body: Vec<u8>) -> (u16, Value) {
        let req = self
            .client
            .post(format!("{}{path}", self.url))
            .header("content-type", "application/json")
            .body(body);
        read(req.send().await.unwrap()).await
    }

    /// `POST /v1/chat/completions`.
    pub async fn chat(&self, body: &Value) -> (u16, Value) {
        self.post("/v1/chat/completions", body).await
    }

    /// `POST /v1/chat/completions` with an owned body (for building many futures at once).
    pub async fn chat_owned(&self, body: Value) -> (u16, Value) {
        self.post("/v1/chat/completions", &body).await
    }

    /// GET.
    pub async fn get(&self, path: &str) -> (u16, Value) {
        read(
            self.client
                .get(format!("{}{path}", self.url))
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    /// PUT JSON.
    pub async fn put(&self, path: &str, body: &Value) -> (u16, Value) {
        read(
            self.client
                .put(format!("{}{path}", self.url))
                .json(body)
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    /// DELETE.
    pub async fn delete(&self, path: &str) -> (u16, Value) {
        read(
            self.client
                .delete(format!("{}{path}", self.url))
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    /// POSTs and reads the answer as SSE `data:` events until the body ends.
    pub async fn stream(&self, path: &str, body: &Value, headers: &[(&str, &str)]) -> Sse {
        let mut req = self.client.post(format!("{}{path}", self.url)).json(body);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let content_type = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let text = resp.text().await.unwrap();
        Sse {
            status,
            content_type,
            raw: text.clone(),
            events: parse_sse(&text),
        }
    }
}

async fn read(resp: reqwest::Response) -> (u16, Value) {
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// One SSE `data:` payload.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Json(Value),
    Done,
}

/// A whole SSE answer.
#[derive(Debug)]
pub struct Sse {
    pub status: u16,
    pub content_type: String,
    pub raw: String,
    pub events: Vec<Event>,
}

impl Sse {
    /// The JSON payloads, in order.
    pub fn chunks(&self) -> Vec<Value> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::Json(v) => Some(v.clone()),
                Event::Done => None,
            })
            .collect()
    }

    /// Whether the stream ended with `data: [DONE]`.
    pub fn ends_with_done(&self) -> bool {
        self.events.last() == Some(&Event::Done)
    }

    /// Concatenated `choices[0].delta.content`.
    pub fn content(&self) -> String {
        self.chunks()
            .iter()
            .filter_map(|c| {
                c["choices"][0]["delta"]["content"]
                    .as_str()
                    .map(str::to_owned)
            })
            .collect()
    }
}

/// Splits an SSE body into its `data:` payloads.
pub fn parse_sse(text: &str) -> Vec<Event> {
    text.split("\n\n")
        .filter_map(|block| {
            let data: Vec<&str> = block
                .lines()
                .filter_map(|l| l.strip_prefix("data:").map(str::trim_start))
                .collect();
            if data.is_empty() {
                return None;
            }
            let data = data.join("\n");
            if data.trim() == "[DONE]" {
                Some(Event::Done)
            } else {
                Some(Event::Json(
                    serde_json::from_str(&data)
                        .unwrap_or_else(|e| panic!("bad SSE data {data:?}: {e}")),
                ))
            }
        })
        .collect()
}

/// Reads SSE events one by one from a live response.
pub struct SseReader {
    body: std::pin::Pin<Box<dyn futures_util::Stream<Item = reqwest::Result<bytes::Bytes>> + Send>>,
    buf: String,
}

impl SseReader {
    pub fn new(resp: reqwest::Response) -> Self {
        Self {
            body: Box::pin(resp.bytes_stream()),
            buf: String::new(),
        }
    }

    /// The next event, or `None` at the end of the body.
    pub async fn next(&mut self) -> Option<Event> {
        loop {
            if let Some(i) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..i + 2).collect();
                if let Some(ev) = parse_sse(&block).into_iter().next() {
                    return Some(ev);
                }
                continue;
            }
            match self.body.next().await {
                Some(Ok(bytes)) => self.buf.push_str(&String::from_utf8_lossy(&bytes)),
                Some(Err(e)) => panic!("stream broke: {e}"),
                None => return None,
            }
        }
    }
}

/// Polls `check` every 100 ms until it returns `Some`, for up to `secs`.
pub async fn eventually<T, F, Fut>(secs: u64, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {secs} s waiting for: {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Asserts Bifrost's error JSON shape and returns `error.message`.
pub fn assert_error_shape(body: &Value, status: u16) -> String {
    assert_eq!(body["status_code"], status, "status_code in {body}");
    assert!(body.get("event_id").is_some(), "event_id missing in {body}");
    assert!(
        body["is_bifrost_error"].is_boolean(),
        "is_bifrost_error missing in {body}"
    );
    assert!(body["type"].is_string(), "type missing in {body}");
    assert!(
        body["error"]["type"].is_string(),
        "error.type missing in {body}"
    );
    let message = body["error"]["message"]
        .as_str()
        .unwrap_or_else(|| panic!("error.message missing in {body}"));
    assert!(!message.is_empty(), "empty error.message in {body}");
    message.to_owned()
}

/// A simple chat body.
pub fn chat_body(model: &str, text: &str) -> Value {
    json!({"model": model, "messages": [{"role": "user", "content": text}]})
}

/// An OpenAI `tools` array with one function, `get_weather(city)`.
pub fn weather_tool() -> Value {
    json!([{"type": "function", "function": {
        "name": "get_weather", "description": "Weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}])
}
