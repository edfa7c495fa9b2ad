//! Finishing a provider stream for the client: idle timeout, Bifrost's per-chunk
//! `extra_fields`, and the provider slot held until the stream ends.

use std::pin::Pin;
use std::time::{Duration, Instant};

use futures_util::{Stream, StreamExt};
use tokio::sync::OwnedSemaphorePermit;

use super::tracking::Tracker;
use crate::error::{Error, Result};
use crate::schemas::openai::{ChatChunk, TextResponse, Usage};
use crate::schemas::ExtraFields;

/// A boxed stream of chunks.
pub type ChunkStream<T> = Pin<Box<dyn Stream<Item = Result<T>> + Send>>;

/// A stream chunk that carries `extra_fields` and maybe usage.
pub trait StreamChunk: Send + 'static {
    /// Sets Bifrost's metadata.
    fn set_extra_fields(&mut self, extra: ExtraFields);
    /// Usage, on the last chunk.
    fn usage(&self) -> Option<&Usage>;
    /// Whether this chunk carries usage (the last one does).
    fn has_usage(&self) -> bool {
        self.usage().is_some()
    }
    /// Adds this chunk's text and tool-call fragments to the recorded answer.
    fn record_into(&self, answer: &mut Answer);
}

impl StreamChunk for ChatChunk {
    fn set_extra_fields(&mut self, extra: ExtraFields) {
        self.extra_fields = Some(extra);
    }
    fn usage(&self) -> Option<&Usage> {
        self.usage.as_ref()
    }
    fn record_into(&self, answer: &mut Answer) {
        let Some(choice) = self.choices.iter().find(|c| c.index == 0) else {
            return;
        };
        if let Some(text) = &choice.delta.content {
            answer.content.push_str(text);
        }
        for call in choice.delta.tool_calls.iter().flatten() {
            let i = call.index as usize;
            if answer.tool_calls.len() <= i {
                answer.tool_calls.resize_with(i + 1, Default::default);
            }
            let slot = &mut answer.tool_calls[i];
            if let Some(id) = &call.id {
                slot.0.clone_from(id);
            }
            if let Some(f) = &call.function {
                if let Some(name) = &f.name {
                    slot.1.push_str(name);
                }
                if let Some(args) = &f.arguments {
                    slot.2.push_str(args);
                }
            }
        }
    }
}

impl StreamChunk for TextResponse {
    fn set_extra_fields(&mut self, extra: ExtraFields) {
        self.extra_fields = Some(extra);
    }
    fn usage(&self) -> Option<&Usage> {
        self.usage.as_ref()
    }
    fn record_into(&self, answer: &mut Answer) {
        if let Some(choice) = self.choices.iter().find(|c| c.index == 0) {
            answer.content.push_str(&choice.text);
        }
    }
}

/// A streamed answer assembled for the request log.
#[derive(Debug, Default)]
pub struct Answer {
    content: String,
    /// (id, name, arguments) per tool-call index.
    tool_calls: Vec<(String, String, String)>,
}

impl Answer {
    fn to_json(&self) -> String {
        let calls: Vec<serde_json::Value> = self
            .tool_calls
            .iter()
            .map(|(id, name, args)| {
                serde_json::json!({"id": id, "type": "function", "function": {"name": name, "arguments": args}})
            })
            .collect();
        let mut msg = serde_json::json!({"role": "assistant", "content": self.content});
        if !calls.is_empty() {
            msg["tool_calls"] = serde_json::Value::Array(calls);
        }
        msg.to_string()
    }
}

/// Ends the tracker with the stream: success at its end, the error if one arrives, and
/// cancelled (by the tracker's `Drop`) if the client drops the stream first.
pub fn observe<T: StreamChunk>(inner: ChunkStream<T>, tracker: Tracker) -> ChunkStream<T> {
    struct Observed<T> {
        inner: ChunkStream<T>,
        tracker: Option<Tracker>,
        answer: Option<Answer>,
    }
    let answer = tracker.captures_content().then(Answer::default);
    let state = Observed {
        inner,
        tracker: Some(tracker),
        answer,
    };
    Box::pin(futures_util::stream::unfold(state, |mut s| async move {
        let next = s.inner.next().await;
        let tracker = s.tracker.as_mut()?;
        match next {
            Some(Ok(chunk)) => {
                tracker.first_chunk();
                if let Some(u) = chunk.usage() {
                    tracker.usage(u);
                }
                if let Some(a) = s.answer.as_mut() {
                    chunk.record_into(a);
                }
                Some((Ok(chunk), s))
            }
            Some(Err(e)) => {
                if let Some(t) = s.tracker.take() {
                    t.fail(&e);
                }
                Some((Err(e), s))
            }
            None => {
                if let Some(t) = s.tracker.take() {
                    t.succeed(s.answer.as_ref().map(Answer::to_json));
                }
                None
            }
        }
    }))
}

struct State<T> {
    inner: Pin<Box<dyn Stream<Item = Result<T>> + Send>>,
    template: ExtraFields,
    provider: String,
    idle: Duration,
    started: Instant,
    last: Instant,
    index: u64,
    done: bool,
    _slot: Option<OwnedSemaphorePermit>,
}

/// Wraps a provider stream. Each chunk gets `extra_fields` from `template` with its index and
/// the milliseconds since the previous chunk; the usage chunk (the last) gets the total. A
/// silence longer than `idle` ends the stream with a timeout error.
pub fn finish<T: StreamChunk>(
    inner: Pin<Box<dyn Stream<Item = Result<T>> + Send>>,
    template: ExtraFields,
    idle: Duration,
    started: Instant,
    slot: Option<OwnedSemaphorePermit>,
) -> Pin<Box<dyn Stream<Item = Result<T>> + Send>> {
    let state = State {
        inner,
        provider: template.provider.clone(),
        template,
        idle,
        started,
        last: Instant::now(),
        index: 0,
        done: false,
        _slot: slot,
    };
    Box::pin(futures_util::stream::unfold(state, |mut s| async move {
        if s.done {
            return None;
        }
        let next = match tokio::time::timeout(s.idle, s.inner.next()).await {
            Ok(next) => next,
            Err(_) => {
                s.done = true;
                let err = Error::Timeout {
                    provider: s.provider.clone(),
                    seconds: s.idle.as_secs(),
                };
                return Some((Err(err), s));
            }
        };
        match next {
            None => None,
            Some(Err(e)) => {
                s.done = true;
                Some((Err(e), s))
            }
            Some(Ok(mut chunk)) => {
                let now = Instant::now();
                let since = if chunk.has_usage() { s.started } else { s.last };
                let mut extra = s.template.clone();
                extra.chunk_index = Some(s.index);
                extra.latency = millis(now - since);
                chunk.set_extra_fields(extra);
                s.index += 1;
                s.last = now;
                Some((Ok(chunk), s))
            }
        }
    }))
}

/// Whole milliseconds of a duration.
pub fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn chunks_are_numbered_and_silence_times_out() {
        let slow = futures_util::stream::iter(vec![Ok(ChatChunk::default())])
            .chain(futures_util::stream::pending());
        let mut s = finish::<ChatChunk>(
            Box::pin(slow),
            ExtraFields {
                provider: "openai".into(),
                ..ExtraFields::default()
            },
            Duration::from_secs(5),
            Instant::now(),
            None,
        );
        let first = s.next().await.unwrap().unwrap();
        assert_eq!(first.extra_fields.unwrap().chunk_index, Some(0));
        assert!(matches!(s.next().await, Some(Err(Error::Timeout { .. }))));
        assert!(s.next().await.is_none());
    }
}
