//! Finishing a provider stream for the client: idle timeout, Bifrost's per-chunk
//! `extra_fields`, and the provider slot held until the stream ends.

use std::pin::Pin;
use std::time::{Duration, Instant};

use futures_util::{Stream, StreamExt};
use tokio::sync::OwnedSemaphorePermit;

use crate::error::{Error, Result};
use crate::schemas::openai::{ChatChunk, TextResponse};
use crate::schemas::ExtraFields;

/// A stream chunk that carries `extra_fields` and maybe usage.
pub trait StreamChunk: Send + 'static {
    /// Sets Bifrost's metadata.
    fn set_extra_fields(&mut self, extra: ExtraFields);
    /// Whether this chunk carries usage (the last one does).
    fn has_usage(&self) -> bool;
}

impl StreamChunk for ChatChunk {
    fn set_extra_fields(&mut self, extra: ExtraFields) {
        self.extra_fields = Some(extra);
    }
    fn has_usage(&self) -> bool {
        self.usage.is_some()
    }
}

impl StreamChunk for TextResponse {
    fn set_extra_fields(&mut self, extra: ExtraFields) {
        self.extra_fields = Some(extra);
    }
    fn has_usage(&self) -> bool {
        self.usage.is_some()
    }
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
                let err = Error::Timeout { provider: s.provider.clone(), seconds: s.idle.as_secs() };
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
            ExtraFields { provider: "openai".into(), ..ExtraFields::default() },
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
