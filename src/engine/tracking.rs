//! Request tracking: every accepted inference request ends in exactly one [`RequestRecord`],
//! handed to the observers (request logs, metrics) whether it succeeded, failed or was
//! cancelled by the client.
//!
//! A [`Tracker`] is created when the engine accepts a request and travels with it — inside the
//! engine call for JSON answers, inside the response stream for streams. Finishing it sends the
//! record; dropping it unfinished (the client went away and the future or stream was dropped)
//! sends it as cancelled, with status 499. Observers run on the request's thread and must only
//! enqueue: nothing here waits on disk.

use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use serde::Serialize;

use super::capture::{Captured, RawRequest};
use super::Served;
use crate::error::Error;
use crate::schemas::openai::Usage;
use crate::schemas::RequestType;

/// Final state of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Answered.
    Success,
    /// Failed; see `error`.
    Error,
    /// The client went away first.
    Cancelled,
}

impl Status {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Success => "success",
            Status::Error => "error",
            Status::Cancelled => "cancelled",
        }
    }
}

/// An error as recorded.
#[derive(Debug, Clone, Serialize)]
pub struct RecordedError {
    /// HTTP status answered.
    pub status_code: u16,
    /// Error type.
    #[serde(rename = "type")]
    pub kind: String,
    /// Message (never contains secrets: errors are built without them).
    pub message: String,
}

/// Everything known about one finished request.
#[derive(Debug, Clone, Serialize)]
pub struct RequestRecord {
    /// Request id (UUID v7, time ordered).
    pub id: String,
    /// Unix milliseconds when the request was accepted.
    pub timestamp_ms: i64,
    /// Request type.
    pub request_type: RequestType,
    /// Whether the answer was streamed.
    pub stream: bool,
    /// Provider that answered, else the one asked for.
    pub provider: String,
    /// Model asked of it.
    pub model: String,
    /// Key used.
    pub selected_key_id: Option<String>,
    /// Key name.
    pub selected_key_name: Option<String>,
    /// Retries on the provider that answered.
    pub number_of_retries: u32,
    /// 0 for the primary, n for the n-th fallback.
    pub fallback_index: u32,
    /// Final state.
    pub status: Status,
    /// Milliseconds from acceptance to the last byte.
    pub latency_ms: f64,
    /// Milliseconds to the first stream chunk.
    pub ttft_ms: Option<f64>,
    /// Token usage.
    pub usage: Option<Usage>,
    /// The error, for failed and cancelled requests.
    pub error: Option<RecordedError>,
    /// Request content as JSON text (messages, prompt or input), unless content logging is off.
    pub input: Option<String>,
    /// Parameters as JSON text.
    pub params: Option<String>,
    /// The client's body, not yet split into `input` and `params` (see
    /// [`RequestRecord::expand_raw_request`]).
    #[serde(skip)]
    pub raw_request: Option<RawRequest>,
    /// Answer content as JSON text, unless content logging is off.
    pub output: Option<String>,
    /// `x-bf-lh-*` and `client.logging_headers` values.
    pub metadata: Vec<(String, String)>,
    /// The virtual key's id, when governance admitted one.
    pub virtual_key_id: Option<String>,
    /// The virtual key's name.
    pub virtual_key_name: Option<String>,
    /// Cost in USD, when a price is known (set by a settler).
    pub cost: Option<f64>,
    /// Timing and labels for metrics and traces; not part of the stored log.
    #[serde(skip)]
    pub telemetry: RecordTelemetry,
}

impl RequestRecord {
    /// Whether the request's content is logged.
    pub fn captures_content(&self) -> bool {
        self.input.is_some() || self.raw_request.as_ref().is_some_and(|r| r.with_content)
    }

    /// Splits a kept client body into `input` and `params`; the log writer calls this off the
    /// request path.
    pub fn expand_raw_request(&mut self) {
        if let Some(raw) = self.raw_request.take() {
            (self.input, self.params) = raw.split();
        }
    }
}

/// What metrics and traces need beyond the log record.
#[derive(Debug, Clone, Default)]
pub struct RecordTelemetry {
    /// Milliseconds spent waiting on providers, over every attempt (for streams, until the
    /// stream ended); `None` when no provider was called. Latency minus this is the gateway's
    /// own overhead.
    pub upstream_ms: Option<f64>,
    /// Stream chunks delivered.
    pub chunks: u32,
    /// Milliseconds from acceptance to the last stream chunk.
    pub last_chunk_ms: Option<f64>,
    /// `x-bf-prom-<label>` values for `client.prometheus_labels`, as (label, value).
    pub prom_labels: Vec<(String, String)>,
    /// The W3C `traceparent` header the client sent.
    pub traceparent: Option<String>,
}

/// Runs when a request ends, before the observers see the record: prices it, charges budgets
/// and rate limits. Called exactly once, also for failed and cancelled requests.
pub trait Settle: Send + Sync {
    /// Settles the request; may fill in `record.cost`.
    fn settle(self: Box<Self>, record: &mut RequestRecord);
}

/// Receives finished records. Implementations must not block: enqueue and return.
pub trait Observer: Send + Sync + 'static {
    /// The `client` section is now `client` (at start and after every change), for observers
    /// that follow a setting such as `enable_logging`.
    fn configure(&self, _client: &crate::config::ClientConfig) {}
    /// Whether this observer reads the record's `input`, `params` or `output`. Capturing them
    /// serializes the request, so it is skipped when no observer wants it.
    fn wants_capture(&self) -> bool {
        true
    }
    /// A request was accepted.
    fn started(&self, _record: &RequestRecord) {}
    /// A request ended; called exactly once per accepted request. The record is shared by
    /// every observer: one that keeps it keeps the `Arc` (a clone of the record is made only
    /// if it must be owned while another observer still holds it).
    fn finished(&self, record: &Arc<RequestRecord>);
}

/// The guard that ends in exactly one record.
pub struct Tracker {
    record: Option<RequestRecord>,
    observers: Arc<[Arc<dyn Observer>]>,
    settlers: Vec<Box<dyn Settle>>,
    started: Instant,
    /// Time waited on providers before the answer (or stream head) arrived.
    upstream: Option<std::time::Duration>,
    /// When a stream's head arrived: from then on the stream waits on its provider.
    stream_since: Option<Instant>,
}

impl std::fmt::Debug for Tracker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tracker")
            .field("id", &self.record.as_ref().map(|r| &r.id))
            .finish()
    }
}

impl Tracker {
    /// Starts tracking; `None` when nobody observes and nothing will settle, so that a bare
    /// gateway does no work.
    pub fn start(
        observers: &Arc<[Arc<dyn Observer>]>,
        settles: bool,
        request_type: RequestType,
        stream: bool,
        model: &str,
        input: impl FnOnce() -> Captured,
        metadata: Vec<(String, String)>,
    ) -> Option<Self> {
        if observers.is_empty() && !settles {
            return None;
        }
        let (provider, model) = match model.split_once('/') {
            Some((p, m)) => (p.to_owned(), m.to_owned()),
            None => (String::new(), model.to_owned()),
        };
        let (input, params, raw_request) = if observers.iter().any(|o| o.wants_capture()) {
            match input() {
                Captured::Typed { input, params } => (input, params, None),
                Captured::Raw(raw) => (None, None, Some(raw)),
            }
        } else {
            (None, None, None)
        };
        let record = RequestRecord {
            id: uuid::Uuid::now_v7().to_string(),
            timestamp_ms: unix_ms(),
            request_type,
            stream,
            provider,
            model,
            selected_key_id: None,
            selected_key_name: None,
            number_of_retries: 0,
            fallback_index: 0,
            status: Status::Cancelled,
            latency_ms: 0.0,
            ttft_ms: None,
            usage: None,
            error: None,
            input,
            params,
            raw_request,
            output: None,
            metadata,
            virtual_key_id: None,
            virtual_key_name: None,
            cost: None,
            telemetry: RecordTelemetry::default(),
        };
        for o in observers.iter() {
            o.started(&record);
        }
        Some(Self {
            record: Some(record),
            observers: Arc::clone(observers),
            settlers: Vec::new(),
            started: Instant::now(),
            upstream: None,
            stream_since: None,
        })
    }

    /// The request id.
    pub fn id(&self) -> &str {
        self.record.as_ref().map_or("", |r| r.id.as_str())
    }

    /// Notes which provider, model and key served (or last tried).
    pub fn served(&mut self, served: &Served) {
        if let Some(r) = self.record.as_mut() {
            r.provider.clone_from(&served.provider);
            r.model.clone_from(&served.model);
            r.selected_key_id.clone_from(&served.key_id);
            r.selected_key_name.clone_from(&served.key_name);
            r.number_of_retries = served.retries;
            r.fallback_index = u32::try_from(served.fallback_index).unwrap_or(u32::MAX);
        }
    }

    /// Notes the virtual key admitted.
    pub fn virtual_key(&mut self, id: Option<String>, name: Option<String>) {
        if let Some(r) = self.record.as_mut() {
            r.virtual_key_id = id;
            r.virtual_key_name = name;
        }
    }

    /// Adds a settler, run when the request ends.
    pub fn add_settler(&mut self, settler: Box<dyn Settle>) {
        self.settlers.push(settler);
    }

    /// Notes a stream chunk: the first one's time is the time to first token.
    pub fn first_chunk(&mut self) {
        let elapsed = self.elapsed_ms();
        if let Some(r) = self.record.as_mut() {
            r.ttft_ms.get_or_insert(elapsed);
            r.telemetry.chunks = r.telemetry.chunks.saturating_add(1);
            r.telemetry.last_chunk_ms = Some(elapsed);
        }
    }

    /// Notes the `x-bf-prom-*` label values and the `traceparent` of the request.
    pub fn tag(&mut self, prom_labels: &[(String, String)], traceparent: Option<&str>) {
        if let Some(r) = self.record.as_mut() {
            if !prom_labels.is_empty() {
                r.telemetry.prom_labels = prom_labels.to_vec();
            }
            r.telemetry.traceparent = traceparent.map(str::to_owned);
        }
    }

    /// Notes the time waited on providers until the answer, or a stream's head, arrived; a
    /// stream's remaining time is counted as upstream time too.
    pub fn upstream(&mut self, waited: std::time::Duration) {
        self.upstream = Some(waited);
        if self.record.as_ref().is_some_and(|r| r.stream) {
            self.stream_since = Some(Instant::now());
        }
    }

    /// Notes usage.
    pub fn usage(&mut self, usage: &Usage) {
        if let Some(r) = self.record.as_mut() {
            r.usage = Some(usage.clone());
        }
    }

    /// Whether content (input/output) is being captured.
    pub fn captures_content(&self) -> bool {
        self.record
            .as_ref()
            .is_some_and(RequestRecord::captures_content)
    }

    /// Ends successfully with the answer's content (as JSON text).
    pub fn succeed(mut self, output: Option<String>) {
        if let Some(r) = self.record.as_mut() {
            r.status = Status::Success;
            if r.captures_content() {
                r.output = output;
            }
        }
        self.finish();
    }

    /// Ends with an error.
    pub fn fail(mut self, error: &Error) {
        let status = if matches!(error, Error::Cancelled) {
            Status::Cancelled
        } else {
            Status::Error
        };
        if let Some(r) = self.record.as_mut() {
            r.status = status;
            r.error = Some(RecordedError {
                status_code: error.status(),
                kind: error.error_type().to_owned(),
                message: error.to_string(),
            });
        }
        self.finish();
    }

    fn elapsed_ms(&self) -> f64 {
        self.started.elapsed().as_secs_f64() * 1000.0
    }

    fn finish(&mut self) {
        let streamed = self.stream_since.map(|t| t.elapsed()).unwrap_or_default();
        let latency = self.elapsed_ms();
        if let Some(mut r) = self.record.take() {
            r.latency_ms = latency;
            if let Some(waited) = self.upstream {
                r.telemetry.upstream_ms = Some((waited + streamed).as_secs_f64() * 1000.0);
            }
            for s in self.settlers.drain(..) {
                s.settle(&mut r);
            }
            let r = Arc::new(r);
            for o in self.observers.iter() {
                o.finished(&r);
            }
        }
    }
}

impl Drop for Tracker {
    fn drop(&mut self) {
        if let Some(r) = self.record.as_mut() {
            // Dropped before it was finished: the client went away.
            r.status = Status::Cancelled;
            r.error.get_or_insert(RecordedError {
                status_code: 499,
                kind: "request_cancelled".into(),
                message: "request cancelled by the client".into(),
            });
        }
        self.finish();
    }
}

fn unix_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[derive(Default)]
    struct Collect(Mutex<Vec<RequestRecord>>);
    impl Observer for Collect {
        fn finished(&self, record: &Arc<RequestRecord>) {
            self.0.lock().unwrap().push(RequestRecord::clone(record));
        }
    }

    fn observers() -> (Arc<Collect>, Arc<[Arc<dyn Observer>]>) {
        let c = Arc::new(Collect::default());
        let list: Arc<[Arc<dyn Observer>]> = Arc::from(vec![c.clone() as Arc<dyn Observer>]);
        (c, list)
    }

    #[test]
    fn exactly_one_record_whatever_the_ending() {
        let (c, obs) = observers();
        let t = Tracker::start(
            &obs,
            false,
            RequestType::ChatCompletion,
            false,
            "openai/gpt-4o",
            || Captured::Typed {
                input: None,
                params: None,
            },
            vec![],
        )
        .unwrap();
        t.succeed(None);
        let t = Tracker::start(
            &obs,
            false,
            RequestType::ChatCompletion,
            false,
            "openai/gpt-4o",
            || Captured::Typed {
                input: None,
                params: None,
            },
            vec![],
        )
        .unwrap();
        t.fail(&Error::BadRequest("x".into()));
        let t = Tracker::start(
            &obs,
            false,
            RequestType::ChatCompletionStream,
            true,
            "openai/gpt-4o",
            || Captured::Typed {
                input: None,
                params: None,
            },
            vec![],
        )
        .unwrap();
        drop(t);
        let records = c.0.lock().unwrap();
        let statuses: Vec<Status> = records.iter().map(|r| r.status).collect();
        assert_eq!(
            statuses,
            vec![Status::Success, Status::Error, Status::Cancelled]
        );
        assert_eq!(records[2].error.as_ref().unwrap().status_code, 499);
        assert_eq!(records[0].provider, "openai");
        assert_eq!(records[0].model, "gpt-4o");
    }

    struct Price(f64);
    impl Settle for Price {
        fn settle(self: Box<Self>, record: &mut RequestRecord) {
            record.cost = Some(self.0);
        }
    }

    #[test]
    fn settlers_run_before_observers_even_on_cancel() {
        let (c, obs) = observers();
        let mut t = Tracker::start(
            &obs,
            true,
            RequestType::ChatCompletion,
            false,
            "openai/gpt-4o",
            || Captured::Typed {
                input: None,
                params: None,
            },
            vec![],
        )
        .unwrap();
        t.add_settler(Box::new(Price(0.25)));
        drop(t);
        assert_eq!(c.0.lock().unwrap()[0].cost, Some(0.25));
    }

    #[test]
    fn no_observers_no_work() {
        let obs: Arc<[Arc<dyn Observer>]> = Arc::from(Vec::new());
        assert!(Tracker::start(
            &obs,
            false,
            RequestType::Embedding,
            false,
            "m",
            || unreachable!(),
            vec![]
        )
        .is_none());
    }
}
