//! Finishing a provider stream for the client: idle timeout, Bifrost's per-chunk
//! `extra_fields`, and the provider slot held until the stream ends.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures_util::Stream;
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
    let answer = tracker.captures_content().then(Answer::default);
    Box::pin(Observed {
        inner,
        tracker: Some(tracker),
        answer,
    })
}

/// The stream [`observe`] returns. Written out rather than built with `unfold`, which moves its
/// whole state through a new future for every chunk.
struct Observed<T> {
    inner: ChunkStream<T>,
    tracker: Option<Tracker>,
    answer: Option<Answer>,
}

impl<T: StreamChunk> Stream for Observed<T> {
    type Item = Result<T>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.tracker.is_none() {
            return Poll::Ready(None);
        }
        let next = std::task::ready!(this.inner.as_mut().poll_next(cx));
        match next {
            Some(Ok(chunk)) => {
                if let Some(tracker) = this.tracker.as_mut() {
                    tracker.first_chunk();
                    if let Some(u) = chunk.usage() {
                        tracker.usage(u);
                    }
                }
                if let Some(a) = this.answer.as_mut() {
                    chunk.record_into(a);
                }
                Poll::Ready(Some(Ok(chunk)))
            }
            Some(Err(e)) => {
                if let Some(t) = this.tracker.take() {
                    t.fail(&e);
                }
                Poll::Ready(Some(Err(e)))
            }
            None => {
                if let Some(t) = this.tracker.take() {
                    t.succeed(this.answer.as_ref().map(Answer::to_json));
                }
                Poll::Ready(None)
            }
        }
    }
}

/// Wraps a provider stream. Each chunk gets `extra_fields` from `template` with its index and
/// the milliseconds since the previous chunk; the usage chunk (the last) gets the total. A
/// silence longer than `idle` ends the stream with a timeout error.
pub fn finish<T: StreamChunk>(
    inner: ChunkStream<T>,
    template: ExtraFields,
    idle: Duration,
    started: Instant,
    slot: Option<OwnedSemaphorePermit>,
) -> ChunkStream<T> {
    Box::pin(Finished {
        inner,
        template,
        idle,
        started: tokio::time::Instant::from_std(started),
        last: tokio::time::Instant::now(),
        index: 0,
        done: false,
        idle_timer: None,
        _slot: slot,
    })
}

/// The stream [`finish`] returns.
struct Finished<T> {
    inner: ChunkStream<T>,
    template: ExtraFields,
    idle: Duration,
    /// Tokio's clock (the same as the system's outside tests, which pause it).
    started: tokio::time::Instant,
    /// When the last chunk (or the stream's head) arrived.
    last: tokio::time::Instant,
    index: u64,
    done: bool,
    /// Armed the first time the provider keeps the stream waiting and left alone while chunks
    /// come: when it fires it checks the silence since the last chunk and, if that is shorter
    /// than `idle`, re-arms for the rest. A timer per chunk would cost a timer-wheel insertion
    /// and removal for every token.
    idle_timer: Option<Pin<Box<tokio::time::Sleep>>>,
    _slot: Option<OwnedSemaphorePermit>,
}

impl<T: StreamChunk> Finished<T> {
    fn idle_deadline(&self) -> tokio::time::Instant {
        self.last + self.idle
    }

    /// Pending while the silence is shorter than `idle`; the timeout error once it is not.
    fn poll_idle(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<T>>> {
        loop {
            let deadline = self.idle_deadline();
            let timer = self
                .idle_timer
                .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
            std::task::ready!(timer.as_mut().poll(cx));
            if tokio::time::Instant::now() >= deadline {
                self.done = true;
                return Poll::Ready(Some(Err(Error::Timeout {
                    provider: self.template.provider.clone(),
                    seconds: self.idle.as_secs(),
                })));
            }
            timer.as_mut().reset(deadline);
        }
    }
}

impl<T: StreamChunk> Stream for Finished<T> {
    type Item = Result<T>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(None);
        }
        match this.inner.as_mut().poll_next(cx) {
            Poll::Pending => this.poll_idle(cx),
            Poll::Ready(None) => {
                this.done = true;
                Poll::Ready(None)
            }
            Poll::Ready(Some(Err(e))) => {
                this.done = true;
                Poll::Ready(Some(Err(e)))
            }
            Poll::Ready(Some(Ok(mut chunk))) => {
                let now = tokio::time::Instant::now();
                let since = if chunk.has_usage() {
                    this.started
                } else {
                    this.last
                };
                let mut extra = this.template.clone();
                extra.chunk_index = Some(this.index);
                extra.latency = millis(now - since);
                chunk.set_extra_fields(extra);
                this.index += 1;
                this.last = now;
                Poll::Ready(Some(Ok(chunk)))
            }
        }
    }
}

/// Whole milliseconds of a duration.
pub fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;

    fn with_idle_limit_of_5s(provider_stream: ChunkStream<ChatChunk>) -> ChunkStream<ChatChunk> {
        let template = ExtraFields {
            provider: "openai".into(),
            ..ExtraFields::default()
        };
        finish(
            provider_stream,
            template,
            Duration::from_secs(5),
            Instant::now(),
            None,
        )
    }

    #[tokio::test(start_paused = true)]
    async fn steady_chunks_never_time_out_however_long_the_stream() {
        // A chunk every 3 s for 12 s, then a 6 s silence: only the silence is over the 5 s idle
        // limit, although the first timer was armed for 5 s after the start.
        let gaps = [3u64, 3, 3, 3, 6];
        let slow = futures_util::stream::unfold(0usize, move |i| async move {
            let gap = *gaps.get(i)?;
            tokio::time::sleep(Duration::from_secs(gap)).await;
            Some((Ok(ChatChunk::default()), i + 1))
        });
        let mut s = with_idle_limit_of_5s(Box::pin(slow));
        for i in 0..4 {
            let chunk = s.next().await.unwrap().unwrap();
            assert_eq!(chunk.extra_fields.unwrap().chunk_index, Some(i));
        }
        assert!(matches!(s.next().await, Some(Err(Error::Timeout { .. }))));
        assert!(s.next().await.is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn chunks_are_numbered_and_silence_times_out() {
        let slow = futures_util::stream::iter(vec![Ok(ChatChunk::default())])
            .chain(futures_util::stream::pending());
        let mut s = with_idle_limit_of_5s(Box::pin(slow));
        let first = s.next().await.unwrap().unwrap();
        assert_eq!(first.extra_fields.unwrap().chunk_index, Some(0));
        assert!(matches!(s.next().await, Some(Err(Error::Timeout { .. }))));
        assert!(s.next().await.is_none());
    }
}
