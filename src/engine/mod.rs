//! The gateway engine: what the HTTP server, the dashboard's API and the CLI all drive.
//!
//! A request goes: parse `provider/model` → for the primary and each fallback in turn →
//! choose a key → take a provider slot → call the provider, retrying retryable errors with
//! backoff on (preferably) another key → stamp `extra_fields`. When everything fails, the
//! primary's error is returned (Bifrost §5.3).

pub mod admin;
pub mod keys;
mod models;
pub mod queue;
pub mod retry;
pub mod routing;
pub mod snapshot;
pub mod stream;
pub mod text_compat;
pub mod tracking;

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use arc_swap::ArcSwap;
use futures_util::StreamExt;
use reqwest::header::{HeaderName, HeaderValue};
use tokio::sync::OwnedSemaphorePermit;

use crate::config::secret::{Resolved, Secret};
use crate::error::{Error, Result};
use crate::providers::vendors::KeyPolicy;
use crate::providers::{Call, ChatStream, TextStream};
use crate::schemas::openai::{
    ChatRequest, ChatResponse, EmbeddingRequest, EmbeddingResponse, TextRequest, TextResponse,
};
use crate::schemas::{ExtraFields, RequestType};
use crate::store::ConfigStore;
pub use routing::Target;
use snapshot::{ProviderRuntime, Snapshot};
use tracking::{Observer, Settle, Tracker};

mod capture;

/// Per-request options taken from headers.
#[derive(Debug, Clone, Default)]
pub struct RequestOptions {
    /// `x-bf-api-key-id`.
    pub pinned_key_id: Option<String>,
    /// `x-bf-api-key`.
    pub pinned_key_name: Option<String>,
    /// `x-bf-eh-*` headers, already filtered.
    pub forwarded_headers: Vec<(HeaderName, HeaderValue)>,
    /// `x-bf-passthrough-extra-params: true`.
    pub passthrough_extra: bool,
    /// `x-bf-lh-*` and `client.logging_headers` values for the request log.
    pub log_metadata: Vec<(String, String)>,
    /// The virtual key the client sent, if any.
    pub virtual_key: Option<String>,
}

/// Which provider and key served a request, for the caller and (later) the log.
#[derive(Debug, Clone, Default)]
pub struct Served {
    /// Provider that answered.
    pub provider: String,
    /// Model asked of it.
    pub model: String,
    /// Key used, if any.
    pub key_id: Option<String>,
    /// Its name.
    pub key_name: Option<String>,
    /// Retries on the provider that answered.
    pub retries: u32,
    /// 0 for the primary, n for the n-th fallback.
    pub fallback_index: usize,
}

/// The gateway: the configuration snapshot and the store behind it.
pub struct Gateway {
    snapshot: ArcSwap<Snapshot>,
    store: Arc<ConfigStore>,
    app_dir: PathBuf,
    /// Serialises snapshot rebuilds so two reloads cannot interleave.
    reload_lock: tokio::sync::Mutex<()>,
    /// Who hears about every finished request (request logs, metrics).
    observers: Arc<[Arc<dyn Observer>]>,
    /// The policy consulted before routing (governance), if any.
    admission: Option<Arc<dyn Admission>>,
}

/// A policy consulted before a request is routed: governance checks the virtual key, rate
/// limits and budgets, may choose the provider (rewriting `model` and `fallbacks`), and returns
/// a settler that charges the request's real usage and cost when it ends.
pub trait Admission: Send + Sync + 'static {
    /// Admits (possibly rewriting) or refuses a request. Must not wait on disk or the network.
    fn admit(&self, request: &mut Admit<'_>) -> Result<Option<Box<dyn Settle>>>;
}

/// A request as admission sees it.
#[derive(Debug)]
pub struct Admit<'a> {
    /// Request type.
    pub request_type: RequestType,
    /// The virtual key sent by the client (`x-bf-vk`, `Authorization: Bearer sk-bf-...`, ...).
    pub virtual_key: Option<&'a str>,
    /// `provider/model`, or a bare model for the policy to route; may be rewritten.
    pub model: String,
    /// Fallbacks; may be rewritten.
    pub fallbacks: Vec<String>,
    /// Estimated prompt tokens.
    pub estimated_input_tokens: u64,
    /// The client's output limit, if it set one.
    pub max_output_tokens: Option<u64>,
    /// Set by the policy: the key's id, for logs.
    pub virtual_key_id: Option<String>,
    /// Set by the policy: the key's name, for logs.
    pub virtual_key_name: Option<String>,
}

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway")
            .field("app_dir", &self.app_dir)
            .finish()
    }
}

/// What opening the app dir did.
#[derive(Debug, Default)]
pub struct OpenReport {
    /// Whether a config.json was found.
    pub config_file: Option<PathBuf>,
    /// Warnings about config.json.
    pub warnings: Vec<String>,
    /// Entries imported from config.json.
    pub imported: Vec<String>,
}

enum Op<'a> {
    Chat(&'a ChatRequest),
    ChatStream(&'a ChatRequest),
    Text(&'a TextRequest),
    TextStream(&'a TextRequest),
    Embed(&'a EmbeddingRequest),
}

enum Outcome {
    Chat(ChatResponse),
    ChatStream(ChatStream),
    Text(TextResponse),
    TextStream(TextStream),
    Embed(EmbeddingResponse),
}

impl Op<'_> {
    fn model(&self) -> &str {
        match self {
            Op::Chat(r) | Op::ChatStream(r) => &r.model,
            Op::Text(r) | Op::TextStream(r) => &r.model,
            Op::Embed(r) => &r.model,
        }
    }

    fn fallbacks(&self) -> &[String] {
        match self {
            Op::Chat(r) | Op::ChatStream(r) => &r.fallbacks,
            Op::Text(r) | Op::TextStream(r) => &r.fallbacks,
            Op::Embed(r) => &r.fallbacks,
        }
    }

    fn is_stream(&self) -> bool {
        matches!(self, Op::ChatStream(_) | Op::TextStream(_))
    }

    fn capture(&self, with_content: bool) -> (Option<String>, Option<String>) {
        match self {
            Op::Chat(r) | Op::ChatStream(r) => capture::chat(r, with_content),
            Op::Text(r) | Op::TextStream(r) => capture::text(r, with_content),
            Op::Embed(r) => capture::embedding(r, with_content),
        }
    }

    /// A cheap estimate of the prompt's tokens (about four bytes each), for budget
    /// reservations made before the provider counts them.
    fn estimated_input_tokens(&self) -> u64 {
        let bytes = match self {
            Op::Chat(r) | Op::ChatStream(r) => r
                .messages
                .iter()
                .map(|m| {
                    m.content.as_ref().map_or(0, |c| match c {
                        crate::schemas::openai::MessageContent::Text(t) => t.len(),
                        crate::schemas::openai::MessageContent::Parts(parts) => parts
                            .iter()
                            .map(|p| p.text.as_ref().map_or(256, String::len))
                            .sum(),
                    }) + 16
                })
                .sum(),
            Op::Text(r) | Op::TextStream(r) => r.prompt.to_string().len(),
            Op::Embed(r) => r.input.to_string().len(),
        };
        (bytes as u64).div_ceil(4)
    }

    fn max_output_tokens(&self) -> Option<u64> {
        match self {
            Op::Chat(r) | Op::ChatStream(r) => {
                r.max_completion_tokens.or(r.max_tokens).map(u64::from)
            }
            Op::Text(r) | Op::TextStream(r) => r.max_tokens.map(u64::from),
            Op::Embed(_) => Some(0),
        }
    }

    fn request_type(&self) -> RequestType {
        match self {
            Op::Chat(_) => RequestType::ChatCompletion,
            Op::ChatStream(_) => RequestType::ChatCompletionStream,
            Op::Text(_) => RequestType::TextCompletion,
            Op::TextStream(_) => RequestType::TextCompletionStream,
            Op::Embed(_) => RequestType::Embedding,
        }
    }
}

impl Gateway {
    /// Opens the app dir: creates it, opens `config.db`, imports `config.json` by Bifrost's
    /// bootstrap rules and builds the first snapshot. Fails without side effects on the
    /// running process if the file is invalid.
    pub fn open(app_dir: &Path) -> Result<(Self, OpenReport)> {
        std::fs::create_dir_all(app_dir).map_err(|e| {
            Error::Config(format!("cannot create app dir {}: {e}", app_dir.display()))
        })?;
        let file_path = app_dir.join("config.json");
        let loaded = crate::config::load_file(&file_path)?;
        let store = Arc::new(ConfigStore::open(&app_dir.join("config.db"))?);
        let mut report = OpenReport::default();
        if let Some(loaded) = loaded {
            let import = store.import_file(&loaded.config)?;
            report.config_file = Some(file_path);
            report.warnings = loaded.warnings;
            report.imported = import.imported;
        }
        let snapshot = snapshot::build(store.load()?, None)?;
        Ok((
            Self {
                snapshot: ArcSwap::from_pointee(snapshot),
                store,
                app_dir: app_dir.to_owned(),
                reload_lock: tokio::sync::Mutex::new(()),
                observers: Arc::from(Vec::new()),
                admission: None,
            },
            report,
        ))
    }

    /// Adds observers of finished requests (before the gateway is shared).
    pub fn with_observers(mut self, observers: Vec<Arc<dyn Observer>>) -> Self {
        let mut all: Vec<Arc<dyn Observer>> = self.observers.iter().cloned().collect();
        all.extend(observers);
        self.observers = Arc::from(all);
        self
    }

    /// Sets the admission policy (before the gateway is shared).
    pub fn with_admission(mut self, admission: Arc<dyn Admission>) -> Self {
        self.admission = Some(admission);
        self
    }

    /// The app dir.
    pub fn app_dir(&self) -> &Path {
        &self.app_dir
    }

    /// The current snapshot.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.snapshot.load_full()
    }

    /// The current snapshot without taking a reference count: for a quick read on the request
    /// path. Do not hold it across an await.
    pub fn current(&self) -> arc_swap::Guard<Arc<Snapshot>> {
        self.snapshot.load()
    }

    /// The config store.
    pub fn store(&self) -> &Arc<ConfigStore> {
        &self.store
    }

    /// Rebuilds the snapshot from the store and swaps it in.
    pub async fn reload(&self) -> Result<()> {
        let _one_at_a_time = self.reload_lock.lock().await;
        let store = Arc::clone(&self.store);
        let stored = tokio::task::spawn_blocking(move || store.load())
            .await
            .map_err(|e| Error::Internal(e.to_string()))??;
        let previous = self.snapshot.load_full();
        let next = snapshot::build(stored, Some(&previous))?;
        self.snapshot.store(Arc::new(next));
        Ok(())
    }

    /// Polls `PRAGMA data_version` and reloads when another process (the CLI) wrote to
    /// config.db, so that its changes are live within about a second.
    pub fn watch_store(
        self: &Arc<Self>,
        every: std::time::Duration,
    ) -> tokio::task::JoinHandle<()> {
        let gateway = Arc::clone(self);
        tokio::spawn(async move {
            let mut last = None;
            let mut tick = tokio::time::interval(every);
            loop {
                tick.tick().await;
                let store = Arc::clone(&gateway.store);
                let version = tokio::task::spawn_blocking(move || store.data_version()).await;
                let Ok(Ok(version)) = version else { continue };
                if last.is_some_and(|l| l != version) {
                    match gateway.reload().await {
                        Ok(()) => tracing::info!("configuration changed on disk; reloaded"),
                        Err(e) => {
                            tracing::warn!(error = %e, "configuration changed on disk but could not be loaded")
                        }
                    }
                }
                last = Some(version);
            }
        })
    }

    /// Tracks, admits and routes one request. The tracker comes back with the result so that
    /// the caller can end it (JSON) or hand it to the stream.
    async fn execute(
        &self,
        op: Op<'_>,
        opts: &RequestOptions,
    ) -> (Option<Tracker>, Result<(Outcome, Served)>) {
        let with_content = !self.snapshot.load().client.disable_content_logging;
        let admission = self.admission.clone();
        let mut tracker = Tracker::start(
            &self.observers,
            admission.is_some(),
            op.request_type(),
            op.is_stream(),
            op.model(),
            || op.capture(with_content),
            opts.log_metadata.clone(),
        );
        let mut admit = Admit {
            request_type: op.request_type(),
            virtual_key: opts.virtual_key.as_deref(),
            model: op.model().to_owned(),
            fallbacks: op.fallbacks().to_vec(),
            estimated_input_tokens: op.estimated_input_tokens(),
            max_output_tokens: op.max_output_tokens(),
            virtual_key_id: None,
            virtual_key_name: None,
        };
        if let Some(admission) = admission {
            match admission.admit(&mut admit) {
                Ok(settler) => {
                    if let Some(t) = tracker.as_mut() {
                        t.virtual_key(admit.virtual_key_id.take(), admit.virtual_key_name.take());
                        if let Some(s) = settler {
                            t.add_settler(s);
                        }
                    }
                }
                Err(e) => return (tracker, Err(e)),
            }
        }
        let result = self.run(&admit.model, &admit.fallbacks, opts, op).await;
        (tracker, result)
    }

    /// `POST /v1/chat/completions`.
    pub async fn chat(
        &self,
        req: &ChatRequest,
        opts: &RequestOptions,
    ) -> Result<(ChatResponse, Served)> {
        let (tracker, result) = self.execute(Op::Chat(req), opts).await;
        let result = result.and_then(|(out, served)| match out {
            Outcome::Chat(r) => Ok((r, served)),
            _ => Err(unexpected()),
        });
        settle(tracker, result, |r| r.usage.as_ref(), capture::chat_output)
    }

    /// `POST /v1/chat/completions` with `stream: true`. Resolves when a provider accepted the
    /// request; errors after that arrive in the stream.
    pub async fn chat_stream(
        &self,
        req: &ChatRequest,
        opts: &RequestOptions,
    ) -> Result<(ChatStream, Served)> {
        let (tracker, result) = self.execute(Op::ChatStream(req), opts).await;
        let result = result.and_then(|(out, served)| match out {
            Outcome::ChatStream(s) => Ok((s, served)),
            _ => Err(unexpected()),
        });
        settle_stream(tracker, result)
    }

    /// `POST /v1/completions`.
    pub async fn text(
        &self,
        req: &TextRequest,
        opts: &RequestOptions,
    ) -> Result<(TextResponse, Served)> {
        let (tracker, result) = self.execute(Op::Text(req), opts).await;
        let result = result.and_then(|(out, served)| match out {
            Outcome::Text(r) => Ok((r, served)),
            _ => Err(unexpected()),
        });
        settle(tracker, result, |r| r.usage.as_ref(), capture::text_output)
    }

    /// `POST /v1/completions` with `stream: true`.
    pub async fn text_stream(
        &self,
        req: &TextRequest,
        opts: &RequestOptions,
    ) -> Result<(TextStream, Served)> {
        let (tracker, result) = self.execute(Op::TextStream(req), opts).await;
        let result = result.and_then(|(out, served)| match out {
            Outcome::TextStream(s) => Ok((s, served)),
            _ => Err(unexpected()),
        });
        settle_stream(tracker, result)
    }

    /// `POST /v1/embeddings`.
    pub async fn embed(
        &self,
        req: &EmbeddingRequest,
        opts: &RequestOptions,
    ) -> Result<(EmbeddingResponse, Served)> {
        let (tracker, result) = self.execute(Op::Embed(req), opts).await;
        let result = result.and_then(|(out, served)| match out {
            Outcome::Embed(r) => Ok((r, served)),
            _ => Err(unexpected()),
        });
        settle(tracker, result, |r| r.usage.as_ref(), |_| None)
    }

    /// The primary, then each fallback, until one succeeds.
    async fn run(
        &self,
        model: &str,
        fallbacks: &[String],
        opts: &RequestOptions,
        op: Op<'_>,
    ) -> Result<(Outcome, Served)> {
        let snap = self.snapshot.load_full();
        let primary = routing::target(&snap, model)?;
        let targets = std::iter::once(primary).chain(routing::fallbacks(&snap, fallbacks));
        let mut primary_error = None;
        for (index, target) in targets.enumerate() {
            match self.attempt(&snap, &target, opts, &op, index).await {
                Ok(done) => return Ok(done),
                Err(e) => {
                    let go_on = e.allows_fallback();
                    if index > 0 {
                        tracing::debug!(provider = %target.provider.name, error = %e, "fallback failed");
                    }
                    let e = primary_error.get_or_insert(e);
                    if !go_on && index == 0 {
                        tracing::debug!(error = %e, "error does not allow fallbacks");
                        break;
                    }
                }
            }
        }
        Err(primary_error.unwrap_or_else(|| Error::Internal("no target was tried".into())))
    }

    /// One target: key choice, slot, call, retries.
    async fn attempt(
        &self,
        snap: &Snapshot,
        target: &Target,
        opts: &RequestOptions,
        op: &Op<'_>,
        fallback_index: usize,
    ) -> Result<(Outcome, Served)> {
        let p = &target.provider;
        let request_type = op.request_type();
        let text_via_chat = matches!(op, Op::Text(_) | Op::TextStream(_))
            && !p.supports(request_type)
            && snap.client.enable_litellm_fallbacks
            && p.supports(RequestType::ChatCompletion);
        if !p.supports(request_type) && !text_via_chat {
            return Err(Error::UnsupportedOperation {
                provider: p.name.clone(),
                request_type: request_type.as_str(),
            });
        }
        // Pins name keys of the primary provider; fallbacks choose their own.
        let pin = if fallback_index == 0 {
            keys::KeyPin {
                id: opts.pinned_key_id.as_deref(),
                name: opts.pinned_key_name.as_deref(),
            }
        } else {
            keys::KeyPin::default()
        };
        let headers: Cow<'_, [(HeaderName, HeaderValue)]> = if opts.forwarded_headers.is_empty() {
            Cow::Borrowed(&p.extra_headers)
        } else {
            Cow::Owned(
                p.extra_headers
                    .iter()
                    .chain(&opts.forwarded_headers)
                    .cloned()
                    .collect(),
            )
        };
        let net = p.network();
        let mut tried = Vec::new();
        let mut retries = 0;
        loop {
            let started = Instant::now();
            let key_index = self.choose_key(p, &target.model, pin, &tried)?;
            let key = key_index.map(|i| &p.keys[i]);
            let secret = resolve_key(p, key)?;
            let upstream_model =
                key.map_or(target.model.as_str(), |k| k.upstream_model(&target.model));
            let base_url = key
                .and_then(|k| k.vllm.as_ref().map(|(url, _)| url.as_str()))
                .or(p.base_url.as_deref())
                .ok_or_else(|| {
                    Error::Config(format!(
                        "providers.{}.network_config.base_url is not set",
                        p.name
                    ))
                })?;
            let call_type = if text_via_chat {
                if matches!(op, Op::TextStream(_)) {
                    RequestType::ChatCompletionStream
                } else {
                    RequestType::ChatCompletion
                }
            } else {
                request_type
            };
            let call = Call {
                provider: &p.name,
                base_url,
                path_prefix: p.vendor.path_prefix,
                api_key: secret.as_ref(),
                model: upstream_model,
                extra_headers: &headers,
                passthrough_extra: opts.passthrough_extra,
                timeout: p.timeout(),
                path_override: p.path_override(call_type),
            };
            let slot = p
                .queue
                .enter(&p.name, snap.client.drop_excess_requests)
                .await?;
            let extra = ExtraFields {
                request_type: Some(request_type),
                provider: p.name.clone(),
                model_requested: target.model.clone(),
                model_deployment: (upstream_model != target.model)
                    .then(|| upstream_model.to_owned()),
                litellm_compat: text_via_chat.then_some(true),
                ..ExtraFields::default()
            };
            match dispatch(p, &call, op, text_via_chat, extra, started, slot).await {
                Ok(outcome) => {
                    let served = Served {
                        provider: p.name.clone(),
                        model: target.model.clone(),
                        key_id: key.map(|k| k.id.clone()),
                        key_name: key.map(|k| k.name.clone()),
                        retries,
                        fallback_index,
                    };
                    return Ok((outcome, served));
                }
                Err(e) if e.is_retryable() && retries < net.max_retries => {
                    tracing::debug!(provider = %p.name, attempt = retries + 1, error = %e, "retrying");
                    if let Some(i) = key_index {
                        tried.push(i);
                    }
                    let wait = retry::backoff(
                        retries,
                        net.retry_backoff_initial_ms,
                        net.retry_backoff_max_ms,
                    );
                    tokio::time::sleep(wait).await;
                    retries += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// The key for this call, or none for keyless providers.
    fn choose_key(
        &self,
        p: &ProviderRuntime,
        model: &str,
        pin: keys::KeyPin<'_>,
        tried: &[usize],
    ) -> Result<Option<usize>> {
        match p.key_policy {
            KeyPolicy::None if p.keys.is_empty() => Ok(None),
            KeyPolicy::Optional if p.keys.is_empty() => Ok(None),
            _ => keys::select(&p.name, &p.keys, model, pin, tried).map(Some),
        }
    }
}

fn unexpected() -> Error {
    Error::Internal("unexpected outcome".into())
}

/// Ends a JSON request's tracker with its result.
fn settle<T>(
    tracker: Option<Tracker>,
    result: Result<(T, Served)>,
    usage: impl FnOnce(&T) -> Option<&crate::schemas::openai::Usage>,
    output: impl FnOnce(&T) -> Option<String>,
) -> Result<(T, Served)> {
    if let Some(mut t) = tracker {
        match &result {
            Ok((r, served)) => {
                t.served(served);
                if let Some(u) = usage(r) {
                    t.usage(u);
                }
                let out = if t.captures_content() {
                    output(r)
                } else {
                    None
                };
                t.succeed(out);
            }
            Err(e) => t.fail(e),
        }
    }
    result
}

/// Hands a stream's tracker to the stream, which ends it; a failure before the stream is
/// ended here.
fn settle_stream<T: stream::StreamChunk>(
    tracker: Option<Tracker>,
    result: Result<(stream::ChunkStream<T>, Served)>,
) -> Result<(stream::ChunkStream<T>, Served)> {
    match (tracker, result) {
        (Some(mut t), Ok((s, served))) => {
            t.served(&served);
            Ok((stream::observe(s, t), served))
        }
        (Some(t), Err(e)) => {
            t.fail(&e);
            Err(e)
        }
        (None, result) => result,
    }
}

/// Resolves the key's value now; a missing `env.VAR` is an error, never an empty header.
fn resolve_key(p: &ProviderRuntime, key: Option<&keys::RuntimeKey>) -> Result<Option<Secret>> {
    let Some(key) = key else { return Ok(None) };
    match key.value.resolve() {
        Resolved::Value(s) => Ok(Some(s)),
        Resolved::Empty if p.key_policy != KeyPolicy::Required => Ok(None),
        Resolved::Empty => Err(Error::Config(format!(
            "key {} of provider {} has no value",
            key.name, p.name
        ))),
        Resolved::MissingEnv(var) => Err(Error::MissingEnvVar {
            provider: p.name.clone(),
            var,
        }),
    }
}

/// Calls the provider and stamps the result. The provider slot is released when a JSON answer
/// is complete, and at the end of a stream for streams.
async fn dispatch(
    p: &ProviderRuntime,
    call: &Call<'_>,
    op: &Op<'_>,
    text_via_chat: bool,
    mut extra: ExtraFields,
    started: Instant,
    slot: OwnedSemaphorePermit,
) -> Result<Outcome> {
    let client = &p.client;
    let idle = p.stream_idle_timeout();
    match op {
        Op::Chat(req) => {
            let mut r = client.chat(call, req).await?;
            extra.latency = stream::millis(started.elapsed());
            r.extra_fields = Some(extra);
            Ok(Outcome::Chat(r))
        }
        Op::ChatStream(req) => {
            let s = client.chat_stream(call, req).await?;
            Ok(Outcome::ChatStream(stream::finish(
                s,
                extra,
                idle,
                started,
                Some(slot),
            )))
        }
        Op::Text(req) if text_via_chat => {
            let chat = text_compat::to_chat(req)?;
            let mut r = text_compat::from_chat(client.chat(call, &chat).await?);
            extra.latency = stream::millis(started.elapsed());
            r.extra_fields = Some(extra);
            Ok(Outcome::Text(r))
        }
        Op::Text(req) => {
            let mut r = client.text(call, req).await?;
            extra.latency = stream::millis(started.elapsed());
            r.extra_fields = Some(extra);
            Ok(Outcome::Text(r))
        }
        Op::TextStream(req) if text_via_chat => {
            let chat = text_compat::to_chat(req)?;
            let s = client.chat_stream(call, &chat).await?;
            let s: TextStream = Box::pin(s.map(|c| c.map(text_compat::chunk_from_chat)));
            Ok(Outcome::TextStream(stream::finish(
                s,
                extra,
                idle,
                started,
                Some(slot),
            )))
        }
        Op::TextStream(req) => {
            let s = client.text_stream(call, req).await?;
            Ok(Outcome::TextStream(stream::finish(
                s,
                extra,
                idle,
                started,
                Some(slot),
            )))
        }
        Op::Embed(req) => {
            let mut r = client.embed(call, req).await?;
            extra.latency = stream::millis(started.elapsed());
            r.extra_fields = Some(extra);
            Ok(Outcome::Embed(r))
        }
    }
}
