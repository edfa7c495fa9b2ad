//! Passthrough through the engine: the native answer's body is watched as it streams to the
//! client, so that the request still ends in exactly one record, with the usage read from the
//! native answer (JSON or SSE) for cost, budgets and token rate limits.

use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use serde_json::Value;
use tokio::sync::OwnedSemaphorePermit;

use super::op::{Op, Outcome};
use super::tracking::Tracker;
use super::{unexpected, Gateway, RequestOptions, Served};
use crate::error::{Error, Result};
use crate::providers::http::parse_openai_error;
use crate::providers::passthrough::{ByteStream, PassthroughRequest, PassthroughResponse};
use crate::schemas::openai::Usage;

/// The most of a JSON answer kept to read its usage and error message; larger answers (file
/// contents, say) are forwarded without being read.
const JSON_CAP: usize = 1 << 20;

impl Gateway {
    /// A passthrough request (`/openai_passthrough/*`, ...): admitted, routed to the route's
    /// provider with one of its keys, and answered with the upstream's status, headers and
    /// body unchanged. Upstream error statuses are answered as they are (and logged as
    /// errors); only failures to reach the upstream are the gateway's errors.
    pub async fn passthrough(
        &self,
        req: &PassthroughRequest,
        opts: &RequestOptions,
    ) -> Result<(PassthroughResponse, Served)> {
        let (tracker, result) = self.execute(Op::Passthrough(req), opts).await;
        let result = result.and_then(|(out, served)| match out {
            Outcome::Passthrough(r) => Ok((r, served)),
            _ => Err(unexpected()),
        });
        match (tracker, result) {
            (Some(mut t), Ok((mut resp, served))) => {
                t.served(&served);
                let sse = resp.headers.iter().any(|(n, v)| {
                    n == http::header::CONTENT_TYPE
                        && v.as_bytes().starts_with(b"text/event-stream")
                });
                let body =
                    std::mem::replace(&mut resp.body, Box::pin(futures_util::stream::empty()));
                resp.body = observe(body, resp.status, sse, t, served.provider.clone());
                Ok((resp, served))
            }
            (Some(t), Err(e)) => {
                t.fail(&e);
                Err(e)
            }
            (None, result) => result,
        }
    }
}

/// Holds the provider slot until the body ends and bounds the silences between its chunks.
pub(super) fn hold(
    body: ByteStream,
    idle: Duration,
    provider: &str,
    slot: OwnedSemaphorePermit,
) -> ByteStream {
    let provider = provider.to_owned();
    let state = (body, slot, false);
    Box::pin(futures_util::stream::unfold(
        state,
        move |(mut body, slot, done)| {
            let provider = provider.clone();
            async move {
                if done {
                    return None;
                }
                match tokio::time::timeout(idle, body.next()).await {
                    Ok(Some(Ok(bytes))) => Some((Ok(bytes), (body, slot, false))),
                    Ok(Some(Err(e))) => Some((Err(e), (body, slot, true))),
                    Ok(None) => None,
                    Err(_) => {
                        let e = Error::Timeout {
                            provider,
                            seconds: idle.as_secs(),
                        };
                        Some((Err(e), (body, slot, true)))
                    }
                }
            }
        },
    ))
}

/// Ends the tracker with the body: success (or the upstream's error status) at its end, the
/// error if it breaks off, cancelled (by the tracker's `Drop`) if the client goes away.
fn observe(
    body: ByteStream,
    status: u16,
    sse: bool,
    tracker: Tracker,
    provider: String,
) -> ByteStream {
    struct Watch {
        body: ByteStream,
        tracker: Option<Tracker>,
        meter: Meter,
        status: u16,
        provider: String,
    }
    let state = Watch {
        body,
        tracker: Some(tracker),
        meter: Meter::new(sse),
        status,
        provider,
    };
    Box::pin(futures_util::stream::unfold(state, |mut s| async move {
        let next = s.body.next().await;
        let tracker = s.tracker.as_mut()?;
        match next {
            Some(Ok(bytes)) => {
                tracker.first_chunk();
                s.meter.feed(&bytes);
                Some((Ok(bytes), s))
            }
            Some(Err(e)) => {
                if let Some(t) = s.tracker.take() {
                    t.fail(&e);
                }
                Some((Err(e), s))
            }
            None => {
                if let Some(t) = s.tracker.take() {
                    s.meter.end(t, s.status, &s.provider);
                }
                None
            }
        }
    }))
}

/// Reads usage from a native answer as it passes: the whole JSON body (up to a cap), or the
/// `data:` lines of an SSE stream that carry usage.
struct Meter {
    sse: bool,
    /// The JSON body so far, or the SSE line not yet complete.
    buf: Vec<u8>,
    /// The JSON body was larger than the cap and is not read.
    overflow: bool,
    tokens: Tokens,
}

/// Token counts found so far; counts only grow (streams repeat cumulative totals).
#[derive(Default)]
struct Tokens {
    prompt: u64,
    completion: u64,
    total: u64,
    seen: bool,
}

impl Meter {
    fn new(sse: bool) -> Self {
        Self {
            sse,
            buf: Vec::new(),
            overflow: false,
            tokens: Tokens::default(),
        }
    }

    fn feed(&mut self, bytes: &Bytes) {
        if !self.sse {
            if self.overflow || self.buf.len() + bytes.len() > JSON_CAP {
                self.overflow = true;
                self.buf = Vec::new();
            } else {
                self.buf.extend_from_slice(bytes);
            }
            return;
        }
        self.buf.extend_from_slice(bytes);
        while let Some(pos) = memchr::memchr(b'\n', &self.buf) {
            let line: Vec<u8> = self.buf.drain(..=pos).collect();
            self.line(&line[..pos]);
        }
        if self.buf.len() > JSON_CAP {
            self.buf.clear();
        }
    }

    /// One SSE line: a `data:` payload that mentions usage is parsed.
    fn line(&mut self, line: &[u8]) {
        let Some(data) = line.strip_prefix(b"data:") else {
            return;
        };
        if memchr::memmem::find(data, b"sage").is_none() {
            return; // neither `usage` nor `usageMetadata`
        }
        if let Ok(v) = serde_json::from_slice::<Value>(data) {
            self.tokens.merge(&v);
        }
    }

    /// Ends the record: usage, then success or the upstream's error.
    fn end(&mut self, mut tracker: Tracker, status: u16, provider: &str) {
        let json = (!self.sse && !self.overflow)
            .then(|| serde_json::from_slice::<Value>(&self.buf).ok())
            .flatten();
        if let Some(v) = &json {
            self.tokens.merge(v);
        }
        if let Some(u) = self.tokens.usage() {
            tracker.usage(&u);
        }
        if status >= 400 {
            let body = if self.sse { &[][..] } else { &self.buf[..] };
            let e = parse_openai_error(provider, status, body);
            tracker.fail(&Error::Upstream(Box::new(e)));
        } else {
            let output = (tracker.captures_content() && json.is_some())
                .then(|| String::from_utf8_lossy(&self.buf).into_owned());
            tracker.succeed(output);
        }
    }
}

impl Tokens {
    /// Takes the counts of any usage object Bifrost's native formats put in an answer or a
    /// stream event: OpenAI (`usage.prompt_tokens`), Anthropic and the Responses API
    /// (`usage`/`message.usage`/`response.usage` with `input_tokens`), GenAI
    /// (`usageMetadata.promptTokenCount`).
    fn merge(&mut self, v: &Value) {
        for u in [&v["usage"], &v["message"]["usage"], &v["response"]["usage"]] {
            if u.is_object() {
                self.take(
                    u,
                    &["prompt_tokens", "input_tokens"],
                    &["completion_tokens", "output_tokens"],
                    "total_tokens",
                );
            }
        }
        let g = &v["usageMetadata"];
        if g.is_object() {
            self.take(
                g,
                &["promptTokenCount"],
                &["candidatesTokenCount"],
                "totalTokenCount",
            );
        }
    }

    fn take(&mut self, u: &Value, prompt: &[&str], completion: &[&str], total: &str) {
        let first = |names: &[&str]| names.iter().find_map(|n| u[*n].as_u64());
        if let Some(p) = first(prompt) {
            self.prompt = self.prompt.max(p);
            self.seen = true;
        }
        if let Some(c) = first(completion) {
            self.completion = self.completion.max(c);
            self.seen = true;
        }
        if let Some(t) = u[total].as_u64() {
            self.total = self.total.max(t);
            self.seen = true;
        }
    }

    fn usage(&self) -> Option<Usage> {
        self.seen.then(|| Usage {
            prompt_tokens: self.prompt,
            completion_tokens: self.completion,
            total_tokens: self.total.max(self.prompt + self.completion),
            ..Usage::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens_of(sse: bool, chunks: &[&'static str]) -> Option<Usage> {
        let mut m = Meter::new(sse);
        for c in chunks {
            m.feed(&Bytes::from_static(c.as_bytes()));
        }
        if !sse {
            let v: Value = serde_json::from_slice(&m.buf).ok()?;
            m.tokens.merge(&v);
        }
        m.tokens.usage()
    }

    #[test]
    fn usage_is_read_from_each_native_json_answer() {
        let openai = tokens_of(
            false,
            &[
                r#"{"id":"x","usage":{"prompt_tokens":9,"completion_tokens":3,"#,
                r#""total_tokens":12}}"#,
            ],
        )
        .unwrap();
        assert_eq!(
            (
                openai.prompt_tokens,
                openai.completion_tokens,
                openai.total_tokens
            ),
            (9, 3, 12)
        );
        let anthropic = tokens_of(
            false,
            &[r#"{"type":"message","usage":{"input_tokens":25,"output_tokens":15}}"#],
        )
        .unwrap();
        assert_eq!(
            (
                anthropic.prompt_tokens,
                anthropic.completion_tokens,
                anthropic.total_tokens
            ),
            (25, 15, 40)
        );
        let genai = tokens_of(
            false,
            &[r#"{"candidates":[],"usageMetadata":{"promptTokenCount":4,"candidatesTokenCount":6,"totalTokenCount":10}}"#],
        )
        .unwrap();
        assert_eq!(genai.total_tokens, 10);
        assert!(tokens_of(false, &[r#"{"data":[]}"#]).is_none());
    }

    #[test]
    fn usage_is_read_from_sse_events_split_anywhere() {
        let anthropic = tokens_of(
            true,
            &[
                "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":25,\"output_tokens\":1}}}\n\n",
                "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"delta\":{\"text\":\"hi\"}}\n\nevent: message_de",
                "lta\ndata: {\"type\":\"message_delta\",\"usage\":{\"output_tokens\":15}}\n\n",
            ],
        )
        .unwrap();
        assert_eq!(
            (
                anthropic.prompt_tokens,
                anthropic.completion_tokens,
                anthropic.total_tokens
            ),
            (25, 15, 40)
        );
        let openai = tokens_of(
            true,
            &["data: {\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":3,\"total_tokens\":12}}\n\ndata: [DONE]\n\n"],
        )
        .unwrap();
        assert_eq!(openai.total_tokens, 12);
    }
}
