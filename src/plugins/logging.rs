//! The `logging` plugin: every finished request becomes one row in `logs.db`, written off the
//! request path, and live events for the dashboard's `/ws`.
//!
//! `finished` only does a non-blocking `try_send` into a bounded channel; it never wakes the
//! writer. One dedicated thread, at the lowest CPU priority, wakes every [`BATCH_WAIT`], drains
//! the channel and inserts in batches (one transaction per up to [`BATCH_ROWS`] rows), so a busy
//! gateway spends its request path on requests and the log catches up in the idle time between
//! them. When the channel is full the request still succeeds and its record is dropped —
//! counted in [`LogWriter::dropped`] (`GET /api/logs/dropped`) and warned about at most every
//! [`WARN_EVERY`], never silently. [`LogWriter::flush_and_stop`] drains the channel at shutdown.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TryRecvError, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread::{JoinHandle, Thread};
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;
use tokio::sync::broadcast;

use crate::engine::tracking::{Observer, RequestRecord};
use crate::engine::Gateway;
use crate::error::{Error, Result};
use crate::store::logs_store::{raw_json, Inserter};
use crate::store::timefmt::now_ms;
use crate::store::{LogEntry, LogsStore};

/// Records the channel holds before new ones are dropped.
pub const CHANNEL_CAPACITY: usize = 10_000;
/// Most rows per insert transaction.
pub const BATCH_ROWS: usize = 2_000;
/// How often the writer wakes to drain the channel: the longest a record waits to be written
/// (and to reach `/ws`) when nothing asks for a flush. Longer waits make bigger transactions,
/// and a page that many rows of a batch touch (the end of an index) is written once per batch.
pub const BATCH_WAIT: Duration = Duration::from_millis(200);
/// At most one warning about dropped records per this interval.
pub const WARN_EVERY: Duration = Duration::from_secs(10);
/// Live events buffered per `/ws` client before a slow client starts missing some.
const EVENT_CAPACITY: usize = 1024;
/// How often retention runs.
const RETENTION_EVERY: Duration = Duration::from_secs(3600);

/// The request log: the store it writes and reads, and its writer.
#[derive(Debug)]
pub struct Logging {
    /// logs.db, for queries.
    pub store: Arc<LogsStore>,
    /// The writer, registered as an observer of the gateway.
    pub writer: Arc<LogWriter>,
}

impl Logging {
    /// Opens `logs.db` in the app dir and starts the writer.
    pub fn open(app_dir: &Path) -> Result<Self> {
        let store = Arc::new(LogsStore::open(&app_dir.join("logs.db"))?);
        let writer = LogWriter::start(&store, CHANNEL_CAPACITY)?;
        Ok(Self { store, writer })
    }

    /// Deletes logs older than `client.log_retention_days` now and then every hour (0 keeps
    /// everything). The setting is read at each run, so a change applies without a restart.
    pub fn spawn_retention(&self, gateway: Arc<Gateway>) -> tokio::task::JoinHandle<()> {
        let store = Arc::clone(&self.store);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(RETENTION_EVERY);
            loop {
                tick.tick().await;
                let days = gateway.snapshot().client.log_retention_days;
                let store = Arc::clone(&store);
                let run = tokio::task::spawn_blocking(move || -> Result<usize> {
                    let purged = match days {
                        0 => 0,
                        d => store.purge_before(now_ms() - i64::from(d) * 86_400_000)?,
                    };
                    store.optimize()?;
                    Ok(purged)
                });
                match run.await {
                    Ok(Ok(0)) => {}
                    Ok(Ok(n)) => {
                        tracing::info!(purged = n, days, "request logs past retention deleted")
                    }
                    Ok(Err(e)) => tracing::warn!(error = %e, "request log retention failed"),
                    Err(e) => tracing::warn!(error = %e, "request log retention task failed"),
                }
            }
        })
    }
}

enum Msg {
    Record(Arc<RequestRecord>),
    /// Write everything received so far, then answer.
    Flush(SyncSender<()>),
    /// Write everything received so far, answer and exit.
    Stop(SyncSender<()>),
}

/// Dropped-record accounting shared by the observer and the writer thread.
#[derive(Debug, Default)]
struct Drops {
    count: AtomicU64,
    /// Unix seconds of the last warning.
    last_warn: AtomicU64,
}

impl Drops {
    fn add(&self, n: u64, why: &str) {
        let total = self.count.fetch_add(n, Ordering::Relaxed) + n;
        let now = u64::try_from(now_ms() / 1000).unwrap_or(0);
        let last = self.last_warn.load(Ordering::Relaxed);
        // One thread wins the right to warn per interval; the others only count.
        if (last == 0 || now >= last + WARN_EVERY.as_secs())
            && self
                .last_warn
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            tracing::warn!(dropped_total = total, "request log records dropped: {why}");
        }
    }
}

/// The log writer: an [`Observer`] feeding one writer thread.
pub struct LogWriter {
    tx: SyncSender<Msg>,
    drops: Arc<Drops>,
    events: broadcast::Sender<Arc<str>>,
    thread: Mutex<Option<JoinHandle<()>>>,
    /// The writer thread, to wake it for a flush or a stop.
    waker: Thread,
    /// `client.enable_logging` turned off while serving: requests are not recorded until it
    /// is turned on again.
    paused: AtomicBool,
}

impl std::fmt::Debug for LogWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogWriter")
            .field("dropped", &self.dropped())
            .finish()
    }
}

/// A `/ws` message: `{"type":"log","operation":"create"|"update","payload":Log}`.
#[derive(Serialize)]
struct Event<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    operation: &'static str,
    payload: &'a LogEntry,
}

impl LogWriter {
    /// Starts the writer thread on a connection of its own, with a channel of `capacity`.
    pub fn start(store: &LogsStore, capacity: usize) -> Result<Arc<Self>> {
        let inserter = store.inserter()?;
        let (tx, rx) = mpsc::sync_channel(capacity);
        let (events, _) = broadcast::channel(EVENT_CAPACITY);
        let drops = Arc::new(Drops::default());
        let worker = Worker {
            rx,
            inserter,
            events: events.clone(),
            drops: Arc::clone(&drops),
            batch: Vec::with_capacity(BATCH_ROWS),
        };
        let thread = std::thread::Builder::new()
            .name("bifrost-log-writer".into())
            .spawn(move || worker.run())
            .map_err(|e| Error::Internal(format!("cannot start the log writer: {e}")))?;
        Ok(Arc::new(Self {
            tx,
            drops,
            events,
            waker: thread.thread().clone(),
            thread: Mutex::new(Some(thread)),
            paused: AtomicBool::new(false),
        }))
    }

    /// Records dropped so far (channel full, writer stopped, or a failed write).
    pub fn dropped(&self) -> u64 {
        self.drops.count.load(Ordering::Relaxed)
    }

    /// Live events, as JSON text, for one `/ws` client.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<str>> {
        self.events.subscribe()
    }

    /// Blocks until every record received before this call is written.
    pub fn flush(&self) {
        let (ack, done) = mpsc::sync_channel(1);
        if self.tx.send(Msg::Flush(ack)).is_ok() {
            self.waker.unpark();
            let _ = done.recv();
        }
    }

    /// Writes everything still queued and stops the writer thread; blocks until done. Later
    /// records are counted as dropped.
    pub fn flush_and_stop(&self) {
        let (ack, done) = mpsc::sync_channel(1);
        if self.tx.send(Msg::Stop(ack)).is_ok() {
            self.waker.unpark();
            let _ = done.recv();
        }
        let thread = self.thread.lock().ok().and_then(|mut t| t.take());
        if let Some(t) = thread {
            if t.join().is_err() {
                tracing::error!("the log writer thread panicked");
            }
        }
    }

    fn broadcast(&self, operation: &'static str, entry: &LogEntry) {
        broadcast(&self.events, operation, entry);
    }
}

impl Observer for LogWriter {
    fn configure(&self, client: &crate::config::ClientConfig) {
        self.paused.store(!client.enable_logging, Ordering::Relaxed);
    }

    fn wants_capture(&self) -> bool {
        !self.paused.load(Ordering::Relaxed)
    }

    fn started(&self, record: &RequestRecord) {
        // Only build the event when a dashboard is listening.
        if self.events.receiver_count() == 0 || self.paused.load(Ordering::Relaxed) {
            return;
        }
        let mut entry = entry_from_record(record.clone());
        entry.status = "processing".into();
        entry.latency = None;
        entry.error_details = None;
        entry.output_message = None;
        self.broadcast("create", &entry);
    }

    fn finished(&self, record: &Arc<RequestRecord>) {
        if self.paused.load(Ordering::Relaxed) {
            return;
        }
        match self.tx.try_send(Msg::Record(Arc::clone(record))) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => self.drops.add(1, "the log channel is full"),
            Err(TrySendError::Disconnected(_)) => self.drops.add(1, "the log writer has stopped"),
        }
    }
}

fn broadcast(events: &broadcast::Sender<Arc<str>>, operation: &'static str, entry: &LogEntry) {
    let event = Event {
        kind: "log",
        operation,
        payload: entry,
    };
    if let Ok(text) = serde_json::to_string(&event) {
        // An error only means nobody is listening any more.
        let _ = events.send(Arc::from(text));
    }
}

/// The writer thread's state.
struct Worker {
    rx: Receiver<Msg>,
    inserter: Inserter,
    events: broadcast::Sender<Arc<str>>,
    drops: Arc<Drops>,
    batch: Vec<LogEntry>,
}

impl Worker {
    fn run(mut self) {
        lower_priority();
        loop {
            // Senders never wake this thread (a wake-up per record costs the request path a
            // system call); it polls, and only flushes and stops unpark it early.
            std::thread::park_timeout(BATCH_WAIT);
            let mut control = None;
            let mut gone = false;
            while control.is_none() {
                match self.rx.try_recv() {
                    Ok(msg) => control = self.take(msg),
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected) => {
                        gone = true;
                        break;
                    }
                }
                if self.batch.len() >= BATCH_ROWS {
                    self.write();
                }
            }
            self.write();
            match control {
                Some(Msg::Flush(ack)) => {
                    let _ = ack.send(());
                    // More may have queued behind the flush: drain it now, not in 50 ms.
                    std::thread::current().unpark();
                }
                Some(Msg::Stop(ack)) => {
                    self.drain();
                    let _ = ack.send(());
                    return;
                }
                Some(Msg::Record(_)) | None => {}
            }
            if gone {
                // Every sender is gone: nothing can arrive any more.
                return;
            }
        }
    }

    /// Queues a record, or hands back a control message.
    fn take(&mut self, msg: Msg) -> Option<Msg> {
        match msg {
            Msg::Record(r) => {
                // Usually the last reference by now (the request path let go of it), so
                // this takes the record rather than copying it.
                self.batch.push(entry_from_record(Arc::unwrap_or_clone(r)));
                None
            }
            control => Some(control),
        }
    }

    /// At stop: writes whatever is still in the channel.
    fn drain(&mut self) {
        while let Ok(msg) = self.rx.try_recv() {
            if let Some(Msg::Flush(ack) | Msg::Stop(ack)) = self.take(msg) {
                let _ = ack.send(());
            }
            if self.batch.len() >= BATCH_ROWS {
                self.write();
            }
        }
        self.write();
    }

    fn write(&mut self) {
        if self.batch.is_empty() {
            return;
        }
        match self.inserter.insert(&self.batch) {
            Ok(_) => {
                if self.events.receiver_count() > 0 {
                    for entry in &self.batch {
                        broadcast(&self.events, "update", entry);
                    }
                }
            }
            Err(e) => {
                tracing::error!(error = %e, rows = self.batch.len(), "writing request logs failed");
                self.drops
                    .add(self.batch.len() as u64, "writing to logs.db failed");
            }
        }
        self.batch.clear();
    }
}

/// A finished request as a log row.
pub fn entry_from_record(mut r: RequestRecord) -> LogEntry {
    r.expand_raw_request();
    let error_details = r.error.as_ref().and_then(|e| {
        let details = serde_json::json!({
            "status_code": e.status_code,
            "error": {"type": e.kind, "message": e.message},
        });
        serde_json::value::to_raw_value(&details).ok()
    });
    let metadata = (!r.metadata.is_empty()).then(|| {
        r.metadata
            .into_iter()
            .map(|(k, v)| (k, Value::String(v)))
            .collect()
    });
    LogEntry {
        seq: 0,
        id: r.id,
        timestamp: r.timestamp_ms,
        object: r.request_type.as_str().to_owned(),
        provider: r.provider,
        model: r.model,
        status: r.status.as_str().to_owned(),
        stream: r.stream,
        latency: Some(r.latency_ms),
        ttft: r.ttft_ms,
        token_usage: r.usage,
        cost: r.cost,
        selected_key_id: r.selected_key_id.unwrap_or_default(),
        selected_key_name: r.selected_key_name.unwrap_or_default(),
        virtual_key_id: r.virtual_key_id,
        virtual_key_name: r.virtual_key_name,
        number_of_retries: r.number_of_retries,
        fallback_index: r.fallback_index,
        error_details,
        input_history: raw_json(r.input),
        output_message: raw_json(r.output),
        params: raw_json(r.params),
        metadata,
    }
}

#[cfg(test)]
mod tests;

/// Puts the calling (writer) thread at the lowest priority of the normal scheduler (nice 19),
/// also when the gateway runs under a real-time policy: request threads preempt it at once,
/// and it writes in the CPU time they leave idle.
#[cfg(unix)]
fn lower_priority() {
    use thread_priority::{
        set_thread_priority_and_policy, thread_native_id, NormalThreadSchedulePolicy,
        ThreadPriority, ThreadSchedulePolicy,
    };
    let lowest = ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Other);
    if let Err(e) = set_thread_priority_and_policy(thread_native_id(), ThreadPriority::Min, lowest)
    {
        tracing::debug!(error = ?e, "cannot lower the log writer's priority");
    }
}

#[cfg(not(unix))]
fn lower_priority() {}
