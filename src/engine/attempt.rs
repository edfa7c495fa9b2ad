//! Routing one request: the primary and each fallback in turn, key choice, the provider slot,
//! the call, and retries with backoff.

use std::borrow::Cow;
use std::time::Instant;

use futures_util::StreamExt;
use http::header::{HeaderName, HeaderValue};
use tokio::sync::OwnedSemaphorePermit;

use super::op::{Op, Outcome};
use super::snapshot::{ProviderRuntime, Snapshot};
use super::{
    keys, retry, routing, stream, text_compat, Gateway, KeyFilter, RequestOptions, Served, Target,
};
use crate::config::secret::{Resolved, Secret};
use crate::error::{Error, Result};
use crate::providers::vendors::KeyPolicy;
use crate::providers::{Call, TextStream};
use crate::schemas::{ExtraFields, RequestType};

/// What the caller and the admission policy allow one request.
#[derive(Clone, Copy)]
pub(super) struct Scope<'r> {
    /// The request's options (pins, forwarded headers, ...).
    pub opts: &'r RequestOptions,
    /// The keys a virtual key restricts the request to, if it does.
    pub key_filter: Option<&'r dyn KeyFilter>,
}

/// What the attempts of one request cost and where they went, for its record.
#[derive(Debug, Default)]
pub(super) struct Attempts {
    /// Time spent waiting on providers (calls only; queueing and backoff are the gateway's).
    pub upstream: std::time::Duration,
    /// Where the primary failed, when it did: the error returned is the primary's.
    pub primary_failure: Option<Served>,
}

impl Gateway {
    /// The primary, then each fallback, until one succeeds.
    pub(super) async fn run(
        &self,
        model: &str,
        fallbacks: &[String],
        scope: Scope<'_>,
        op: Op<'_>,
        attempts: &mut Attempts,
    ) -> Result<(Outcome, Served)> {
        let snap = self.snapshot.load_full();
        let primary = routing::target(&snap, model)?;
        let targets = std::iter::once(primary).chain(routing::fallbacks(&snap, fallbacks));
        let mut primary_error = None;
        for (index, target) in targets.enumerate() {
            match self
                .attempt(&snap, &target, scope, &op, index, attempts)
                .await
            {
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
        scope: Scope<'_>,
        op: &Op<'_>,
        fallback_index: usize,
        attempts: &mut Attempts,
    ) -> Result<(Outcome, Served)> {
        let Scope { opts, key_filter } = scope;
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
            let key_index = self.choose_key(p, &target.model, pin, key_filter, &tried)?;
            let key = key_index.map(|i| &p.keys[i]);
            let secret = resolve_key(p, key)?;
            let upstream_model =
                key.map_or(target.model.as_str(), |k| k.upstream_model(&target.model));
            let base_url = key
                .and_then(|k| k.vllm.as_ref().map(|(url, _)| url.as_str()))
                .or(p.base_url.as_deref())
                // An Azure key carries its endpoint, resolved by the wire format per call.
                .or_else(|| {
                    key.and_then(|k| k.config.azure_key_config.as_ref())
                        .map(|_| "")
                })
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
                key_config: key.map(|k| &*k.config),
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
            let called = Instant::now();
            let result = dispatch(p, &call, op, text_via_chat, extra, started, slot).await;
            attempts.upstream += called.elapsed();
            let served = || Served {
                provider: p.name.clone(),
                model: target.model.clone(),
                key_id: key.map(|k| k.id.clone()),
                key_name: key.map(|k| k.name.clone()),
                retries,
                fallback_index,
            };
            match result {
                Ok(outcome) => return Ok((outcome, served())),
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
                Err(e) => {
                    if fallback_index == 0 {
                        attempts.primary_failure = Some(served());
                    }
                    return Err(e);
                }
            }
        }
    }

    /// The key for this call, or none for keyless providers.
    fn choose_key(
        &self,
        p: &ProviderRuntime,
        model: &str,
        pin: keys::KeyPin<'_>,
        key_filter: Option<&dyn KeyFilter>,
        tried: &[usize],
    ) -> Result<Option<usize>> {
        match p.key_policy {
            KeyPolicy::None if p.keys.is_empty() => Ok(None),
            KeyPolicy::Optional if p.keys.is_empty() => Ok(None),
            _ => {
                let allowed = |k: &keys::RuntimeKey| {
                    key_filter.is_none_or(|f| f.allows(&p.name, &k.id, &k.name))
                };
                keys::select(&p.name, &p.keys, model, pin, &allowed, tried).map(Some)
            }
        }
    }
}

/// Resolves the key's value now; a missing `env.VAR` is an error, never an empty header.
pub(super) fn resolve_key(
    p: &ProviderRuntime,
    key: Option<&keys::RuntimeKey>,
) -> Result<Option<Secret>> {
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
        Op::Rerank(req) => {
            let mut r = client.rerank(call, req).await?;
            extra.latency = stream::millis(started.elapsed());
            r.extra_fields = Some(extra);
            Ok(Outcome::Rerank(r))
        }
        Op::Passthrough(req) => {
            let mut r = client.passthrough(call, req).await?;
            r.body = super::passthrough::hold(r.body, idle, &p.name, slot);
            Ok(Outcome::Passthrough(r))
        }
    }
}
