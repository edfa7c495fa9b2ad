//! Per-provider concurrency and queueing (`concurrency_and_buffer_size`).
//!
//! `concurrency` requests run at once; up to `buffer_size` more wait for a slot. Past that a
//! request either waits too or, with `client.drop_excess_requests`, is refused at once.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::{Error, Result};

/// A provider's slots and its waiting line.
#[derive(Debug)]
pub struct Queue {
    slots: Arc<Semaphore>,
    waiting: AtomicUsize,
    buffer: usize,
}

/// Decrements the waiting count even when the waiting request is cancelled.
struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Queue {
    /// A queue with `concurrency` slots and room for `buffer` waiting requests.
    pub fn new(concurrency: usize, buffer: usize) -> Self {
        Self {
            slots: Arc::new(Semaphore::new(concurrency.max(1))),
            waiting: AtomicUsize::new(0),
            buffer,
        }
    }

    /// Takes a slot, waiting for one if needed. The slot is released when the permit drops.
    pub async fn enter(&self, provider: &str, drop_excess: bool) -> Result<OwnedSemaphorePermit> {
        if let Ok(permit) = Arc::clone(&self.slots).try_acquire_owned() {
            return Ok(permit);
        }
        let before = self.waiting.fetch_add(1, Ordering::Relaxed);
        let _waiting = Waiting(&self.waiting);
        if before >= self.buffer && drop_excess {
            return Err(Error::QueueFull {
                provider: provider.to_owned(),
            });
        }
        Arc::clone(&self.slots)
            .acquire_owned()
            .await
            .map_err(|_| Error::Internal("provider queue closed".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn excess_requests_are_dropped_only_when_asked() {
        let q = Arc::new(Queue::new(1, 1));
        let held = q.enter("p", true).await.unwrap();
        // One may wait...
        let q2 = Arc::clone(&q);
        let waiter = tokio::spawn(async move { q2.enter("p", true).await.map(|_| ()) });
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        // ...the next is dropped.
        assert!(matches!(
            q.enter("p", true).await,
            Err(Error::QueueFull { .. })
        ));
        drop(held);
        waiter.await.unwrap().unwrap();
    }
}
