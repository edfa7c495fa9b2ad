//! Server-sent event responses: the headers every SSE answer carries, and the batching of
//! events that are ready together into one body chunk.

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::{Body, Bytes};
use axum::response::{IntoResponse, Response};
use bytes::BytesMut;
use futures_util::stream::Fuse;
use futures_util::{Stream, StreamExt};
use http::StatusCode;

/// Most bytes joined into one chunk; a larger batch is sent as it is.
const MAX_BATCH: usize = 64 * 1024;

/// A `text/event-stream` response whose body is `events`, each item one or more whole events.
pub fn response<S>(events: S) -> Response
where
    S: Stream<Item = Bytes> + Send + 'static,
{
    Response::builder()
        .header(http::header::CONTENT_TYPE, "text/event-stream")
        .header(http::header::CACHE_CONTROL, "no-cache")
        .header("x-accel-buffering", "no")
        .body(Body::from_stream(Coalesce::new(Box::pin(events))))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

/// Yields, as one chunk, every item its inner stream has ready, so that events which arrive
/// together from upstream (or pile up behind a slow client) leave in one write instead of one
/// write and one TCP segment each. It never waits for more: a lone event goes out at once.
struct Coalesce<S> {
    inner: Fuse<Pin<Box<S>>>,
}

impl<S: Stream<Item = Bytes>> Coalesce<S> {
    fn new(inner: Pin<Box<S>>) -> Self {
        Self {
            inner: inner.fuse(),
        }
    }
}

impl<S: Stream<Item = Bytes>> Stream for Coalesce<S> {
    type Item = Result<Bytes, Infallible>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let first = match self.inner.poll_next_unpin(cx) {
            Poll::Ready(Some(bytes)) => bytes,
            Poll::Ready(None) => return Poll::Ready(None),
            Poll::Pending => return Poll::Pending,
        };
        let mut batch: Option<BytesMut> = None;
        let mut len = first.len();
        while len < MAX_BATCH {
            // A `Pending` here registers the waker for the next round, as it should.
            match self.inner.poll_next_unpin(cx) {
                Poll::Ready(Some(more)) => {
                    let buf = batch.get_or_insert_with(|| {
                        let mut b = BytesMut::with_capacity(first.len() + more.len() * 4);
                        b.extend_from_slice(&first);
                        b
                    });
                    buf.extend_from_slice(&more);
                    len = buf.len();
                }
                Poll::Ready(None) | Poll::Pending => break,
            }
        }
        Poll::Ready(Some(Ok(batch.map_or(first, BytesMut::freeze))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::stream;

    #[tokio::test]
    async fn ready_events_leave_as_one_chunk_and_nothing_is_lost() {
        let events = stream::iter([b"a\n\n", b"b\n\n", b"c\n\n"].map(|e| Bytes::from_static(e)));
        let chunks: Vec<Bytes> = Coalesce::new(Box::pin(events))
            .map(|c| c.unwrap())
            .collect()
            .await;
        assert_eq!(chunks, vec![Bytes::from_static(b"a\n\nb\n\nc\n\n")]);
    }

    #[tokio::test]
    async fn an_event_is_not_held_back_waiting_for_the_next() {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<Bytes>();
        let mut out = Coalesce::new(Box::pin(
            tokio_stream::wrappers::UnboundedReceiverStream::new(rx),
        ));
        tx.send(Bytes::from_static(b"first\n\n")).unwrap();
        assert_eq!(
            out.next().await.unwrap().unwrap(),
            Bytes::from_static(b"first\n\n"),
            "sent although the stream has not ended"
        );
        tx.send(Bytes::from_static(b"x")).unwrap();
        tx.send(Bytes::from_static(b"y")).unwrap();
        drop(tx);
        assert_eq!(
            out.next().await.unwrap().unwrap(),
            Bytes::from_static(b"xy")
        );
        assert!(out.next().await.is_none());
    }
}
