//! Writer tests on a real logs.db: a burst is written exactly once, a full channel counts its
//! drops, stop drains, and live events carry Bifrost's shape.

use std::time::{Duration, Instant};

use serde_json::json;

use super::*;
use crate::engine::tracking::{RecordedError, Status};
use crate::schemas::openai::Usage;
use crate::schemas::RequestType;
use crate::store::LogFilter;

struct Setup {
    dir: tempfile::TempDir,
    store: Arc<LogsStore>,
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(LogsStore::open(&dir.path().join("logs.db")).unwrap());
    Setup { dir, store }
}

fn record(id: String) -> RequestRecord {
    RequestRecord {
        id,
        timestamp_ms: 1_767_225_600_000,
        request_type: RequestType::ChatCompletion,
        stream: false,
        provider: "openai".into(),
        model: "gpt-4o".into(),
        selected_key_id: Some("k1".into()),
        selected_key_name: Some("primary".into()),
        number_of_retries: 0,
        fallback_index: 0,
        status: Status::Success,
        latency_ms: 12.0,
        ttft_ms: None,
        usage: Some(Usage {
            prompt_tokens: 3,
            completion_tokens: 4,
            total_tokens: 7,
            ..Usage::default()
        }),
        error: None,
        input: Some(r#"[{"role":"user","content":"hello"}]"#.into()),
        params: Some(r#"{"temperature":0.2}"#.into()),
        raw_request: None,
        output: Some(r#"{"role":"assistant","content":"hi"}"#.into()),
        metadata: vec![("tenant".into(), "acme".into())],
        virtual_key_id: None,
        virtual_key_name: None,
        cost: None,
        telemetry: Default::default(),
    }
}

fn rows(store: &LogsStore) -> (u64, usize) {
    let page = crate::store::logs_store::Page {
        limit: 1,
        ..Default::default()
    };
    let total = store.search(&LogFilter::default(), &page).unwrap().total;
    let mut ids = std::collections::HashSet::new();
    store
        .for_each(&LogFilter::default(), |e| {
            ids.insert(e.id);
            Ok(())
        })
        .unwrap();
    (total, ids.len())
}

#[test]
fn a_burst_from_many_threads_is_written_exactly_once() {
    let s = setup();
    let writer = LogWriter::start(&s.store, CHANNEL_CAPACITY).unwrap();
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let w = Arc::clone(&writer);
            std::thread::spawn(move || {
                for i in 0..1000 {
                    w.finished(&Arc::new(record(format!("{t}-{i}"))));
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    writer.flush();
    assert_eq!(rows(&s.store), (8000, 8000));
    assert_eq!(writer.dropped(), 0);
    writer.flush_and_stop();
}

#[test]
fn a_full_channel_drops_and_counts_never_blocks() {
    let s = setup();
    let writer = LogWriter::start(&s.store, 4).unwrap();
    // Another connection holds the write lock, so the writer thread stalls on its first batch
    // and the channel fills up behind it.
    let blocker = rusqlite::Connection::open(s.dir.path().join("logs.db")).unwrap();
    blocker.execute_batch("BEGIN IMMEDIATE").unwrap();
    let started = Instant::now();
    for i in 0..2000 {
        writer.finished(&Arc::new(record(format!("r{i}"))));
    }
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "finished() must never wait for the writer"
    );
    std::thread::sleep(Duration::from_millis(200));
    blocker.execute_batch("ROLLBACK").unwrap();
    writer.flush();
    let (written, _) = rows(&s.store);
    let dropped = writer.dropped();
    assert_eq!(
        written + dropped,
        2000,
        "every record is written or counted"
    );
    assert!(
        dropped >= 1000,
        "only a batch and the channel fit: {dropped}"
    );
    writer.flush_and_stop();
}

#[test]
fn stop_writes_everything_queued_and_later_records_count_as_dropped() {
    let s = setup();
    let writer = LogWriter::start(&s.store, CHANNEL_CAPACITY).unwrap();
    for i in 0..1234 {
        writer.finished(&Arc::new(record(format!("q{i}"))));
    }
    writer.flush_and_stop();
    assert_eq!(rows(&s.store), (1234, 1234));
    writer.finished(&Arc::new(record("late".into())));
    assert_eq!(writer.dropped(), 1);
    // Stopping twice is harmless.
    writer.flush_and_stop();
}

#[test]
fn live_events_say_create_then_update() {
    let s = setup();
    let writer = LogWriter::start(&s.store, CHANNEL_CAPACITY).unwrap();
    let mut events = writer.subscribe();
    let r = record("live".into());
    writer.started(&r);
    writer.finished(&Arc::new(r));
    writer.flush();
    let create: Value = serde_json::from_str(&events.try_recv().unwrap()).unwrap();
    assert_eq!(create["type"], "log");
    assert_eq!(create["operation"], "create");
    assert_eq!(create["payload"]["status"], "processing");
    assert_eq!(create["payload"]["output_message"], Value::Null);
    let update: Value = serde_json::from_str(&events.try_recv().unwrap()).unwrap();
    assert_eq!(update["operation"], "update");
    assert_eq!(update["payload"]["id"], "live");
    assert_eq!(update["payload"]["status"], "success");
    assert_eq!(update["payload"]["output_message"]["content"], "hi");
    writer.flush_and_stop();
}

#[test]
fn a_record_maps_to_bifrosts_log_row() {
    let mut r = record("m".into());
    r.status = Status::Error;
    r.request_type = RequestType::ChatCompletionStream;
    r.stream = true;
    r.ttft_ms = Some(3.5);
    r.error = Some(RecordedError {
        status_code: 429,
        kind: "rate_limit_error".into(),
        message: "slow down".into(),
    });
    let v = serde_json::to_value(entry_from_record(r)).unwrap();
    assert_eq!(v["object"], "chat_completion_stream");
    assert_eq!(v["status"], "error");
    assert_eq!(v["timestamp"], "2026-01-01T00:00:00.000Z");
    assert_eq!(v["ttft"], 3.5);
    assert_eq!(
        v["token_usage"],
        json!({"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7})
    );
    assert_eq!(
        v["error_details"],
        json!({"status_code": 429, "error": {"type": "rate_limit_error", "message": "slow down"}})
    );
    assert_eq!(v["metadata"], json!({"tenant": "acme"}));
    assert_eq!(v["input_history"][0]["content"], "hello");
    assert_eq!(v["params"], json!({"temperature": 0.2}));
    assert_eq!(v["cost"], Value::Null);
    assert_eq!(v["virtual_key_id"], Value::Null);
    assert_eq!(v["selected_key_name"], "primary");

    // Governance's virtual key and the settled cost are carried into the row.
    let mut r = record("vk".into());
    r.virtual_key_id = Some("vk-1".into());
    r.virtual_key_name = Some("team-a".into());
    r.cost = Some(0.0042);
    let v = serde_json::to_value(entry_from_record(r)).unwrap();
    assert_eq!(
        (&v["virtual_key_id"], &v["virtual_key_name"], &v["cost"]),
        (&json!("vk-1"), &json!("team-a"), &json!(0.0042))
    );
}

/// The writer runs at nice 19 under the normal scheduler, so request threads always win the CPU.
#[cfg(target_os = "linux")]
#[test]
fn the_writer_thread_runs_at_the_lowest_priority() {
    let s = setup();
    let writer = LogWriter::start(&s.store, 16).unwrap();
    // The thread lowers itself first thing; a flush proves it has run that far.
    writer.flush();
    let mut found = None;
    for task in std::fs::read_dir("/proc/self/task").unwrap() {
        let dir = task.unwrap().path();
        let name = std::fs::read_to_string(dir.join("comm")).unwrap_or_default();
        if name.trim() == "bifrost-log-wri" {
            let stat = std::fs::read_to_string(dir.join("stat")).unwrap();
            // Fields after the parenthesised name: state is field 3; nice is 19, policy 41.
            let rest: Vec<&str> = stat
                .rsplit_once(')')
                .unwrap()
                .1
                .split_whitespace()
                .collect();
            found = Some((rest[16].to_owned(), rest[38].to_owned()));
        }
    }
    let (nice, policy) = found.expect("the writer thread is running");
    assert_eq!(nice, "19", "nice of the writer thread");
    assert_eq!(policy, "0", "SCHED_OTHER");
    writer.flush_and_stop();
}
