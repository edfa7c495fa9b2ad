//! Driving a stream translation: a provider's events in, OpenAI chat chunks out, one event at
//! a time, for the wire formats whose events each make at most one chunk (Anthropic, Bedrock,
//! Gemini).

use std::pin::Pin;
use std::task::{Context, Poll};

use futures_util::Stream;

use super::ChatStream;
use crate::error::{Error, Result};
use crate::schemas::openai::ChatChunk;

/// What a wire format's stream translation remembers between events, and how it answers them.
pub(crate) trait ChunkTranslator: Send + 'static {
    /// One upstream event (an SSE event, an AWS event-stream message, ...).
    type Event;

    /// The chunk this event makes, if any; an error ends the stream.
    fn on_event(&mut self, event: &Self::Event) -> Result<Option<ChatChunk>>;

    /// The events ended: a last chunk if one is owed, or an error when the answer was cut short.
    fn on_end(&mut self) -> Option<Result<ChatChunk>>;

    /// Whether the provider's last event arrived: nothing after it is read.
    fn is_done(&self) -> bool {
        false
    }
}

/// The error for a stream that ended before the provider's last event: a truncated answer must
/// not look complete.
pub(crate) fn cut_short(provider: &str) -> Error {
    Error::BadUpstreamResponse {
        provider: provider.to_owned(),
        message: "stream ended before the message was complete".into(),
    }
}

/// The chunks `translator` makes of `events`, each yielded as soon as the event that makes it
/// arrives. A transport error or a translation error ends the stream with that error.
pub(crate) fn translate<S, T>(events: S, translator: T) -> ChatStream
where
    S: Stream<Item = Result<T::Event>> + Send + 'static,
    T: ChunkTranslator + Unpin,
{
    Box::pin(Translated {
        events: Box::pin(events),
        translator,
        done: false,
    })
}

/// The stream [`translate`] returns.
struct Translated<S, T> {
    events: Pin<Box<S>>,
    translator: T,
    /// The stream ended or failed.
    done: bool,
}

impl<S, T> Stream for Translated<S, T>
where
    S: Stream<Item = Result<T::Event>>,
    T: ChunkTranslator + Unpin,
{
    type Item = Result<ChatChunk>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            if this.done || this.translator.is_done() {
                return Poll::Ready(None);
            }
            let item = match std::task::ready!(this.events.as_mut().poll_next(cx)) {
                None => {
                    this.done = true;
                    this.translator.on_end()
                }
                Some(Err(e)) => {
                    this.done = true;
                    Some(Err(e))
                }
                Some(Ok(event)) => match this.translator.on_event(&event) {
                    Ok(chunk) => chunk.map(Ok),
                    Err(e) => {
                        this.done = true;
                        Some(Err(e))
                    }
                },
            };
            if item.is_some() {
                return Poll::Ready(item);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use futures_util::StreamExt;

    use super::*;

    /// Makes a chunk of every even number, stops reading at 100, and owes nothing at the end.
    struct Evens {
        done: bool,
    }

    impl ChunkTranslator for Evens {
        type Event = u32;

        fn on_event(&mut self, n: &u32) -> Result<Option<ChatChunk>> {
            self.done = *n == 100;
            Ok((n % 2 == 0).then(|| ChatChunk {
                id: n.to_string(),
                ..ChatChunk::default()
            }))
        }

        fn on_end(&mut self) -> Option<Result<ChatChunk>> {
            Some(Err(cut_short("test")))
        }

        fn is_done(&self) -> bool {
            self.done
        }
    }

    async fn ids(events: Vec<Result<u32>>) -> Vec<std::result::Result<String, String>> {
        translate(futures_util::stream::iter(events), Evens { done: false })
            .map(|r| r.map(|c| c.id).map_err(|e| e.to_string()))
            .collect()
            .await
    }

    #[tokio::test]
    async fn events_make_chunks_until_the_last_event_or_the_end() {
        // The translator's own last event ends the stream: what follows is not read.
        let done = ids(vec![Ok(1), Ok(2), Ok(100), Ok(4)]).await;
        assert_eq!(done, vec![Ok("2".into()), Ok("100".into())]);
        // Input that ends first gets the translator's verdict.
        let cut = ids(vec![Ok(2), Ok(3)]).await;
        assert_eq!(cut.len(), 2);
        assert!(cut[1].as_ref().unwrap_err().contains("ended before"));
        // A transport error ends the stream with it.
        let failed = ids(vec![Ok(2), Err(Error::Internal("boom".into())), Ok(4)]).await;
        assert_eq!(failed.len(), 2);
        assert!(failed[1].as_ref().unwrap_err().contains("boom"));
    }
}
