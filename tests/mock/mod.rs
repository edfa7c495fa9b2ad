//! Mock upstreams of our own, speaking each provider's wire format exactly: an OpenAI-shaped
//! server (chat JSON and SSE, completions, embeddings, models), an Anthropic Messages server
//! (JSON and the native SSE event sequence), a Cohere v2 server and a Google server (Gemini and
//! Vertex AI, with an OAuth token endpoint). All record every request they receive and can be
//! scripted to fail, to answer slowly, to hold a stream until released, or to stall a stream.

pub mod anthropic;
pub mod bedrock;
pub mod cohere;
pub mod entra;
pub mod gemini;
pub mod openai;

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use futures_util::Stream;
use serde_json::Value;
use tokio::sync::Notify;

/// Which wire format a mock speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// OpenAI's API (`/v1/chat/completions`, ...).
    OpenAi,
    /// Anthropic's Messages API (`/v1/messages`, ...).
    Anthropic,
    /// Cohere's v2 API (`/v2/chat`, ...).
    Cohere,
    /// Google's Gemini API and Vertex AI (`/v1beta/models/...`, `/v1/projects/...`, `/token`).
    Gemini,
}

/// One request as the mock received it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub query: String,
    /// Header names lower-cased, in arrival order.
    pub headers: Vec<(String, String)>,
    /// The body parsed as JSON (`Null` when empty or not JSON).
    pub body: Value,
    /// The body as text (form bodies).
    pub raw_body: String,
}

impl Recorded {
    /// The first value of a header.
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The bearer token of `Authorization`, if any.
    pub fn bearer(&self) -> Option<&str> {
        self.header("authorization")
            .and_then(|v| v.strip_prefix("Bearer "))
    }
}

/// Everything a mock knows and how it is told to behave.
#[derive(Default)]
pub struct MockState {
    /// A label put into answers so a test can tell which upstream answered.
    pub label: String,
    requests: Mutex<Vec<Recorded>>,
    /// Failures served to the next inference calls, one each, before normal answers resume.
    failures: Mutex<VecDeque<(u16, Value)>>,
    /// A failure served to every inference call.
    always_fail: Mutex<Option<(u16, Value)>>,
    /// Failure per key value (bearer token or x-api-key): that key always gets it.
    key_failures: Mutex<Vec<(String, u16, Value)>>,
    delay_ms: AtomicU64,
    /// Streams send this many events and then go silent forever.
    stall_after: Mutex<Option<usize>>,
    /// Streams send their first event and then wait for this to be notified.
    gate: Mutex<Option<Arc<Notify>>>,
    /// Upstream model ids `GET /v1/models` answers with.
    models: Mutex<Vec<String>>,
    /// Streams that began sending.
    pub streams_started: AtomicUsize,
    /// Streams that sent everything.
    pub streams_finished: AtomicUsize,
    /// Streams whose body was dropped before the end (the peer went away).
    pub streams_dropped: AtomicUsize,
    /// TCP connections accepted.
    pub connections: AtomicUsize,
    /// Streams wait this long after their last event before the body ends.
    linger_ms: AtomicU64,
    /// Inference calls are answered `307` to this URL plus their path.
    redirect_to: Mutex<Option<String>>,
    /// The mock's own URL (the audience its token endpoint expects).
    pub self_url: Mutex<String>,
    /// Access tokens the token endpoint issued.
    pub issued_tokens: Mutex<Vec<String>>,
    /// How many tokens the token endpoint issued.
    pub tokens_issued: AtomicUsize,
    /// `expires_in` of issued tokens (0: an hour).
    pub token_lifetime_secs: AtomicU64,
}

impl MockState {
    fn record(&self, r: Recorded) {
        self.requests.lock().unwrap().push(r);
    }

    fn next_failure(&self, key: Option<&str>) -> Option<(u16, Value)> {
        if let Some(key) = key {
            let by_key = self.key_failures.lock().unwrap();
            if let Some((_, status, body)) = by_key.iter().find(|(k, _, _)| k == key) {
                return Some((*status, body.clone()));
            }
        }
        if let Some(f) = self.failures.lock().unwrap().pop_front() {
            return Some(f);
        }
        self.always_fail.lock().unwrap().clone()
    }

    pub fn models(&self) -> Vec<String> {
        self.models.lock().unwrap().clone()
    }

    pub fn stall_after(&self) -> Option<usize> {
        *self.stall_after.lock().unwrap()
    }

    pub fn gate(&self) -> Option<Arc<Notify>> {
        self.gate.lock().unwrap().clone()
    }
}

/// A running mock upstream on 127.0.0.1 and a port of its own.
pub struct Mock {
    pub url: String,
    pub state: Arc<MockState>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Mock {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Mock {
    /// An OpenAI-format upstream.
    pub async fn openai(label: &str) -> Mock {
        Self::start(Kind::OpenAi, label).await
    }

    /// An Anthropic-format upstream.
    pub async fn anthropic(label: &str) -> Mock {
        Self::start(Kind::Anthropic, label).await
    }

    /// A Cohere v2 upstream.
    pub async fn cohere(label: &str) -> Mock {
        Self::start(Kind::Cohere, label).await
    }

    /// A Google upstream: the Gemini API, Vertex AI and an OAuth token endpoint.
    pub async fn gemini(label: &str) -> Mock {
        Self::start(Kind::Gemini, label).await
    }

    /// Tokens the mock's token endpoint issued so far.
    pub fn tokens_issued(&self) -> usize {
        self.state.tokens_issued.load(Ordering::SeqCst)
    }

    /// Issued tokens expire after this many seconds.
    pub fn set_token_lifetime(&self, secs: u64) {
        self.state.token_lifetime_secs.store(secs, Ordering::SeqCst);
    }

    async fn start(kind: Kind, label: &str) -> Mock {
        let default_models = match kind {
            Kind::OpenAi => vec!["gpt-4o-mini", "gpt-4o", "text-embedding-3-small"],
            Kind::Anthropic => vec!["claude-3-5-haiku-20241022", "claude-sonnet-4-20250514"],
            Kind::Cohere => vec!["command-a-03-2025", "embed-v4.0", "rerank-v3.5"],
            Kind::Gemini => vec!["gemini-2.0-flash", "gemini-2.5-pro", "text-embedding-004"],
        };
        let state = Arc::new(MockState {
            label: label.to_owned(),
            models: Mutex::new(default_models.into_iter().map(str::to_owned).collect()),
            ..MockState::default()
        });
        let app = Router::new()
            .fallback(handle)
            .with_state((kind, Arc::clone(&state)));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let counted = Arc::clone(&state);
        let listener = axum::serve::ListenerExt::tap_io(listener, move |_| {
            counted.connections.fetch_add(1, Ordering::SeqCst);
        });
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        let url = format!("http://{addr}");
        state.self_url.lock().unwrap().clone_from(&url);
        Mock { url, state, task }
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.state.requests.lock().unwrap().clone()
    }

    /// Requests received on one path.
    pub fn requests_to(&self, path: &str) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(|r| r.path == path)
            .collect()
    }

    /// How many requests arrived.
    pub fn count(&self) -> usize {
        self.state.requests.lock().unwrap().len()
    }

    /// The last request received.
    pub fn last(&self) -> Recorded {
        self.requests().pop().expect("the mock received no request")
    }

    /// The next `n` inference calls get `status` with `body`.
    pub fn fail_next(&self, n: usize, status: u16, body: Value) {
        let mut f = self.state.failures.lock().unwrap();
        for _ in 0..n {
            f.push_back((status, body.clone()));
        }
    }

    /// Every inference call gets `status` with `body`.
    pub fn fail_always(&self, status: u16, body: Value) {
        *self.state.always_fail.lock().unwrap() = Some((status, body));
    }

    /// Calls made with this key value always get `status`.
    pub fn fail_key(&self, key: &str, status: u16, body: Value) {
        self.state
            .key_failures
            .lock()
            .unwrap()
            .push((key.to_owned(), status, body));
    }

    /// Inference calls wait this long before answering.
    pub fn set_delay(&self, d: Duration) {
        self.state
            .delay_ms
            .store(u64::try_from(d.as_millis()).unwrap(), Ordering::SeqCst);
    }

    /// Streams send `n` events, then stay silent forever.
    pub fn stall_streams_after(&self, n: usize) {
        *self.state.stall_after.lock().unwrap() = Some(n);
    }

    /// Streams end their body this long after their last event (a provider whose chunked
    /// encoding's last chunk comes in a packet of its own).
    pub fn linger_after_streams(&self, d: Duration) {
        self.state
            .linger_ms
            .store(u64::try_from(d.as_millis()).unwrap(), Ordering::SeqCst);
    }

    /// Inference calls are answered `307 Temporary Redirect` to `url` (plus the call's path),
    /// as a moved or hijacked endpoint would.
    pub fn redirect_inference_to(&self, url: &str) {
        *self.state.redirect_to.lock().unwrap() = Some(url.to_owned());
    }

    /// Streams send one event and then wait until the returned notify is notified.
    pub fn gate_streams(&self) -> Arc<Notify> {
        let n = Arc::new(Notify::new());
        *self.state.gate.lock().unwrap() = Some(Arc::clone(&n));
        n
    }

    /// What `GET /v1/models` lists.
    pub fn set_models(&self, models: &[&str]) {
        *self.state.models.lock().unwrap() = models.iter().map(|m| (*m).to_owned()).collect();
    }

    /// Waits until at least `n` requests arrived (up to 10 s).
    pub async fn wait_for_requests(&self, n: usize) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while self.count() < n {
            assert!(
                tokio::time::Instant::now() < deadline,
                "mock {} got {} request(s), expected {n}",
                self.state.label,
                self.count()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

type Shared = (Kind, Arc<MockState>);

async fn handle(
    State((kind, state)): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let rec = Recorded {
        method: method.to_string(),
        path: uri.path().to_owned(),
        query: uri.query().unwrap_or_default().to_owned(),
        headers: headers
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_ascii_lowercase(),
                    v.to_str().unwrap_or_default().to_owned(),
                )
            })
            .collect(),
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
        raw_body: String::from_utf8_lossy(&body).into_owned(),
    };
    state.record(rec.clone());
    let inference = method == Method::POST && rec.path != "/token";
    if inference {
        let key = match kind {
            // Azure OpenAI keys come in `api-key`.
            Kind::OpenAi => rec.bearer().or(rec.header("api-key")),
            Kind::Cohere => rec.bearer(),
            Kind::Anthropic => rec.header("x-api-key"),
            Kind::Gemini => rec.header("x-goog-api-key").or(rec.bearer()),
        };
        let redirect = state.redirect_to.lock().unwrap().clone();
        if let Some(url) = redirect {
            return Response::builder()
                .status(307)
                .header("location", format!("{url}{}", rec.path))
                .body(Body::empty())
                .unwrap();
        }
        if let Some((status, body)) = state.next_failure(key) {
            return json_response(status, &body);
        }
        let delay = state.delay_ms.load(Ordering::SeqCst);
        if delay > 0 {
            tokio::time::sleep(Duration::from_millis(delay)).await;
        }
    }
    match kind {
        Kind::OpenAi => openai::route(&state, &rec),
        Kind::Anthropic => anthropic::route(&state, &rec),
        Kind::Cohere => cohere::route(&state, &rec),
        Kind::Gemini => gemini::route(&state, &rec),
    }
}

/// A JSON response with a status.
pub fn json_response(status: u16, body: &Value) -> Response {
    let status = StatusCode::from_u16(status).unwrap();
    let mut resp = (status, body.to_string()).into_response();
    resp.headers_mut()
        .insert("content-type", "application/json".parse().unwrap());
    resp
}

/// Counts a stream's end: finished, or dropped before the end.
struct StreamGuard {
    state: Arc<MockState>,
    finished: bool,
}

impl Drop for StreamGuard {
    fn drop(&mut self) {
        let counter = if self.finished {
            &self.state.streams_finished
        } else {
            &self.state.streams_dropped
        };
        counter.fetch_add(1, Ordering::SeqCst);
    }
}

/// An SSE response of pre-rendered events, sent one by one (one write each). Honours the
/// mock's gate and stall settings, and counts how the stream ended.
pub fn sse_response(state: &Arc<MockState>, events: Vec<String>) -> Response {
    state.streams_started.fetch_add(1, Ordering::SeqCst);
    let guard = StreamGuard {
        state: Arc::clone(state),
        finished: false,
    };
    let stall = state.stall_after();
    let gate = state.gate();
    let linger = Duration::from_millis(state.linger_ms.load(Ordering::SeqCst));
    let events: VecDeque<String> = events.into();
    let stream = futures_util::stream::unfold(
        (events, guard, 0usize),
        move |(mut events, mut guard, sent)| {
            let gate = gate.clone();
            async move {
                if stall.is_some_and(|n| sent >= n) {
                    std::future::pending::<()>().await;
                }
                if sent == 1 {
                    if let Some(g) = &gate {
                        g.notified().await;
                    }
                }
                match events.pop_front() {
                    Some(ev) => {
                        if events.is_empty() {
                            guard.finished = true;
                        }
                        Some((
                            Ok::<_, Infallible>(Bytes::from(ev)),
                            (events, guard, sent + 1),
                        ))
                    }
                    None => {
                        if !linger.is_zero() {
                            tokio::time::sleep(linger).await;
                        }
                        None
                    }
                }
            }
        },
    );
    sse_body(stream)
}

fn sse_body<S>(stream: S) -> Response
where
    S: Stream<Item = Result<Bytes, Infallible>> + Send + 'static,
{
    Response::builder()
        .status(200)
        .header("content-type", "text/event-stream")
        .header("cache-control", "no-cache")
        .body(Body::from_stream(stream))
        .unwrap()
}

/// The text of the last user message of an OpenAI-shaped message list.
pub fn last_user_text(messages: &Value) -> String {
    let Some(list) = messages.as_array() else {
        return String::new();
    };
    let Some(msg) = list.iter().rev().find(|m| m["role"] == "user") else {
        return String::new();
    };
    match &msg["content"] {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| p["text"].as_str())
            .collect::<Vec<_>>()
            .join(""),
        _ => String::new(),
    }
}
