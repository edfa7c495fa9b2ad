//! The gateway engine: what the HTTP server, the dashboard's API and the CLI all drive.
//!
//! A request goes: parse `provider/model` → for the primary and each fallback in turn →
//! choose a key → take a provider slot → call the provider, retrying retryable errors with
//! backoff on (preferably) another key → stamp `extra_fields`. When everything fails, the
//! primary's error is returned (Bifrost §5.3).

pub mod admin;
mod attempt;
pub mod keys;
mod models;
mod op;
mod passthrough;
pub mod queue;
pub mod retry;
pub mod routing;
pub mod settings;
pub mod snapshot;
pub mod stream;
pub mod text_compat;
pub mod tracking;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arc_swap::ArcSwap;
use http::header::{HeaderName, HeaderValue};

use crate::error::{Error, Result};
use crate::providers::{ChatStream, TextStream};
use crate::schemas::openai::{
    ChatRequest, ChatResponse, EmbeddingRequest, EmbeddingResponse, TextRequest, TextResponse,
};
use crate::schemas::rerank::{RerankRequest, RerankResponse};
use crate::schemas::RequestType;
use crate::store::ConfigStore;
use op::{Op, Outcome};
pub use routing::Target;
use snapshot::Snapshot;
use tracking::{Observer, Settle, Tracker};

pub mod capture;

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
    /// `x-bf-prom-<label>` values for `client.prometheus_labels`, as (label, value).
    pub prom_labels: Vec<(String, String)>,
    /// The W3C `traceparent` header, for the trace's parent span.
    pub traceparent: Option<String>,
    /// The body exactly as the client sent it, when it is the OpenAI-shaped request the call
    /// carries (the `/v1` routes): the request log keeps it instead of serializing the request.
    pub raw_body: Option<bytes::Bytes>,
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
    /// The `client` section the server started with, for [`Gateway::restart_required`].
    boot_client: crate::config::ClientConfig,
    /// Serialises snapshot rebuilds so two reloads cannot interleave.
    reload_lock: tokio::sync::Mutex<()>,
    /// `PRAGMA data_version` read just before the configuration in use was loaded: the store
    /// watcher reloads when the store's version differs. Read before loading, so a write that
    /// lands in between makes one reload too many, never one too few.
    loaded_version: std::sync::atomic::AtomicI64,
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
    /// Set by the policy: which provider keys the request may use (a virtual key's
    /// `key_ids`); `None` allows every key.
    pub key_filter: Option<Arc<dyn KeyFilter>>,
}

/// Restricts which configured provider keys a request may use.
pub trait KeyFilter: Send + Sync + std::fmt::Debug {
    /// Whether the key `key_id` (named `key_name`) of `provider` may serve the request.
    fn allows(&self, provider: &str, key_id: &str, key_name: &str) -> bool;
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
        let loaded_version = store.data_version()?;
        let snapshot = snapshot::build(store.load()?, None)?;
        Ok((
            Self {
                boot_client: snapshot.client.clone(),
                snapshot: ArcSwap::from_pointee(snapshot),
                store,
                app_dir: app_dir.to_owned(),
                reload_lock: tokio::sync::Mutex::new(()),
                loaded_version: std::sync::atomic::AtomicI64::new(loaded_version),
                observers: Arc::from(Vec::new()),
                admission: None,
            },
            report,
        ))
    }

    /// Adds observers of finished requests (before the gateway is shared).
    pub fn with_observers(mut self, observers: Vec<Arc<dyn Observer>>) -> Self {
        let mut all: Vec<Arc<dyn Observer>> = self.observers.iter().cloned().collect();
        let client = &self.snapshot.load().client;
        for o in &observers {
            o.configure(client);
        }
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
        let (version, stored) = tokio::task::spawn_blocking(move || {
            Ok::<_, Error>((store.data_version()?, store.load()?))
        })
        .await
        .map_err(|e| Error::Internal(e.to_string()))??;
        let previous = self.snapshot.load_full();
        let next = snapshot::build(stored, Some(&previous))?;
        for o in self.observers.iter() {
            o.configure(&next.client);
        }
        self.snapshot.store(Arc::new(next));
        self.loaded_version
            .store(version, std::sync::atomic::Ordering::Relaxed);
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
            let mut tick = tokio::time::interval(every);
            loop {
                tick.tick().await;
                let store = Arc::clone(&gateway.store);
                let version = tokio::task::spawn_blocking(move || store.data_version()).await;
                let Ok(Ok(version)) = version else { continue };
                let loaded = gateway
                    .loaded_version
                    .load(std::sync::atomic::Ordering::Relaxed);
                if version != loaded {
                    match gateway.reload().await {
                        Ok(()) => tracing::info!("configuration changed on disk; reloaded"),
                        Err(e) => {
                            tracing::warn!(error = %e, "configuration changed on disk but could not be loaded");
                            // Warn once per change, not on every tick until the next one.
                            gateway
                                .loaded_version
                                .store(version, std::sync::atomic::Ordering::Relaxed);
                        }
                    }
                }
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
            || op.capture(with_content, opts.raw_body.as_ref()),
            opts.log_metadata.clone(),
        );
        if let Some(t) = tracker.as_mut() {
            t.tag(&opts.prom_labels, opts.traceparent.as_deref());
        }
        let mut admit = Admit {
            request_type: op.request_type(),
            virtual_key: opts.virtual_key.as_deref(),
            model: op.model().to_owned(),
            fallbacks: op.fallbacks().to_vec(),
            estimated_input_tokens: op.estimated_input_tokens(),
            max_output_tokens: op.max_output_tokens(),
            virtual_key_id: None,
            virtual_key_name: None,
            key_filter: None,
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
        // Nanoseconds spent waiting on providers, for the gateway-overhead metric.
        let mut attempts = attempt::Attempts::default();
        let result = self
            .run(
                &admit.model,
                &admit.fallbacks,
                attempt::Scope {
                    opts,
                    key_filter: admit.key_filter.as_deref(),
                },
                op,
                &mut attempts,
            )
            .await;
        if let Some(t) = tracker.as_mut() {
            t.upstream(attempts.upstream);
            if let (Err(_), Some(failed)) = (&result, &attempts.primary_failure) {
                t.served(failed);
            }
        }
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

    /// `POST /v1/rerank`.
    pub async fn rerank(
        &self,
        req: &RerankRequest,
        opts: &RequestOptions,
    ) -> Result<(RerankResponse, Served)> {
        let (tracker, result) = self.execute(Op::Rerank(req), opts).await;
        let result = result.and_then(|(out, served)| match out {
            Outcome::Rerank(r) => Ok((r, served)),
            _ => Err(unexpected()),
        });
        settle(
            tracker,
            result,
            |r| r.usage.as_ref(),
            capture::rerank_output,
        )
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::Gateway;
    use crate::config::ProviderConfig;
    use crate::store::ConfigStore;

    /// Another process (the CLI) may write config.db after the gateway loaded it but before the
    /// store watcher's first look: that change must still be picked up.
    #[tokio::test]
    async fn a_change_made_before_the_watcher_starts_is_reloaded() {
        let dir = tempfile::tempdir().unwrap();
        let (gateway, _) = Gateway::open(dir.path()).unwrap();
        assert!(!gateway.snapshot().providers.contains_key("openai"));
        let cli = ConfigStore::open(&dir.path().join("config.db")).unwrap();
        let cfg: ProviderConfig = serde_json::from_value(serde_json::json!({
            "keys": [{"name": "k", "value": "sk-test", "models": ["*"], "weight": 1.0}]
        }))
        .unwrap();
        cli.insert_provider("openai", &cfg).unwrap();
        let gateway = Arc::new(gateway);
        let watcher = gateway.watch_store(Duration::from_millis(20));
        let mut live = false;
        for _ in 0..250 {
            if gateway.snapshot().providers.contains_key("openai") {
                live = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        watcher.abort();
        assert!(
            live,
            "the provider written before the watcher started never went live"
        );
    }
}
