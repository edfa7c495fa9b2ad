//! Store tests against a real logs.db in a temp dir: every filter, sort, page, the full-text
//! search, stats, histograms, deletion and retention.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::json;

use super::*;

const T0: i64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z
const MIN: i64 = 60_000;

struct Db {
    _dir: tempfile::TempDir,
    store: LogsStore,
}

fn db() -> Db {
    let dir = tempfile::tempdir().unwrap();
    let store = LogsStore::open(&dir.path().join("logs.db")).unwrap();
    Db { _dir: dir, store }
}

fn raw(v: serde_json::Value) -> Option<Box<RawValue>> {
    Some(serde_json::value::to_raw_value(&v).unwrap())
}

fn usage(prompt: u64, completion: u64) -> Option<Usage> {
    Some(Usage {
        prompt_tokens: prompt,
        completion_tokens: completion,
        total_tokens: prompt + completion,
        ..Usage::default()
    })
}

fn entry(id: &str, minute: i64, provider: &str, model: &str, status: &str) -> LogEntry {
    LogEntry {
        id: id.into(),
        timestamp: T0 + minute * MIN,
        object: "chat_completion".into(),
        provider: provider.into(),
        model: model.into(),
        status: status.into(),
        latency: Some(100.0),
        ..LogEntry::default()
    }
}

/// Ten logs over ten minutes with every filtered field varied.
fn fixture() -> Db {
    let d = db();
    let mut rows = vec![
        LogEntry {
            latency: Some(50.0),
            token_usage: usage(10, 5),
            cost: Some(0.001),
            selected_key_id: "k1".into(),
            selected_key_name: "primary".into(),
            input_history: raw(json!([{"role": "user", "content": "Tell me about penguins"}])),
            output_message: raw(json!({"role": "assistant", "content": "Penguins are birds"})),
            ..entry("a", 0, "openai", "gpt-4o", "success")
        },
        LogEntry {
            latency: Some(150.0),
            token_usage: usage(100, 50),
            cost: Some(0.01),
            selected_key_id: "k1".into(),
            selected_key_name: "primary".into(),
            input_history: raw(json!([{"role": "user", "content": "weather in Paris"}])),
            ..entry("b", 1, "openai", "gpt-4o-mini", "success")
        },
        LogEntry {
            latency: Some(900.0),
            error_details: raw(
                json!({"status_code": 429, "error": {"type": "rate_limit", "message": "quota exhausted"}}),
            ),
            selected_key_id: "k2".into(),
            selected_key_name: "backup".into(),
            ..entry("c", 2, "openai", "gpt-4o", "error")
        },
        LogEntry {
            latency: Some(300.0),
            token_usage: usage(1000, 500),
            cost: Some(0.5),
            stream: true,
            object: "chat_completion_stream".into(),
            virtual_key_id: Some("vk1".into()),
            virtual_key_name: Some("team-a".into()),
            ..entry("d", 3, "anthropic", "claude-sonnet", "success")
        },
        LogEntry {
            latency: Some(20.0),
            ..entry("e", 4, "anthropic", "claude-sonnet", "cancelled")
        },
        LogEntry {
            object: "embedding".into(),
            token_usage: usage(7, 0),
            latency: Some(10.0),
            ..entry("f", 5, "openai", "text-embedding-3-small", "success")
        },
        LogEntry {
            token_usage: usage(40, 40),
            cost: Some(0.02),
            ..entry("g", 6, "groq", "llama", "success")
        },
        LogEntry {
            token_usage: usage(1, 1),
            latency: None,
            ..entry("h", 7, "groq", "llama", "error")
        },
        LogEntry {
            token_usage: usage(5, 5),
            cost: Some(0.2),
            latency: Some(2000.0),
            ..entry("i", 8, "openai", "gpt-4o", "success")
        },
        LogEntry {
            input_history: raw(json!([{"role": "user", "content": "role play as a pirate"}])),
            ..entry("j", 9, "openai", "gpt-4o", "success")
        },
    ];
    // Insert out of time order so that sorting is not an accident of insertion order.
    rows.reverse();
    assert_eq!(d.store.inserter().unwrap().insert(&rows).unwrap(), 10);
    d
}

fn all() -> Page {
    Page {
        limit: 1000,
        offset: 0,
        sort_by: SortBy::Timestamp,
        order: Order::Asc,
    }
}

fn ids(store: &LogsStore, filter: LogFilter) -> String {
    let r = store.search(&filter, &all()).unwrap();
    assert_eq!(r.total, r.logs.len() as u64, "total agrees with the rows");
    r.logs.iter().map(|l| l.id.as_str()).collect()
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_owned()).collect()
}

#[test]
fn a_row_round_trips_with_every_field() {
    let d = db();
    let mut e = entry("x", 0, "openai", "gpt-4o", "error");
    e.stream = true;
    e.ttft = Some(12.5);
    e.token_usage = usage(3, 4);
    e.cost = Some(0.25);
    e.selected_key_id = "kid".into();
    e.selected_key_name = "kname".into();
    e.number_of_retries = 2;
    e.fallback_index = 1;
    e.error_details = raw(json!({"status_code": 502, "error": {"type": "t", "message": "m"}}));
    e.input_history = raw(json!([{"role": "user", "content": "hi"}]));
    e.output_message = raw(json!({"role": "assistant", "content": "yo"}));
    e.params = raw(json!({"temperature": 0.5}));
    e.metadata = Some(BTreeMap::from([("tenant".to_owned(), json!("acme"))]));
    let mut ins = d.store.inserter().unwrap();
    assert_eq!(ins.insert(std::slice::from_ref(&e)).unwrap(), 1);
    // The same id again is not written a second time.
    assert_eq!(ins.insert(std::slice::from_ref(&e)).unwrap(), 0);
    assert_eq!(
        d.store.search(&LogFilter::default(), &all()).unwrap().total,
        1
    );

    let got = d.store.get("x").unwrap().unwrap();
    let mut want = serde_json::to_value(&e).unwrap();
    want["timestamp"] = json!("2026-01-01T00:00:00.000Z");
    assert_eq!(serde_json::to_value(&got).unwrap(), want);
    assert_eq!(got.error_message().as_deref(), Some("m"));
    assert!(d.store.get("nope").unwrap().is_none());
}

#[test]
fn every_filter_selects_exactly_its_rows() {
    let d = fixture();
    let s = &d.store;
    let f = LogFilter::default;
    assert_eq!(ids(s, f()), "abcdefghij");
    let cases: Vec<(LogFilter, &str)> = vec![
        (
            LogFilter {
                providers: strings(&["groq", "anthropic"]),
                ..f()
            },
            "degh",
        ),
        (
            LogFilter {
                models: strings(&["gpt-4o"]),
                ..f()
            },
            "acij",
        ),
        (
            LogFilter {
                statuses: strings(&["error", "cancelled"]),
                ..f()
            },
            "ceh",
        ),
        (
            LogFilter {
                objects: strings(&["embedding", "chat_completion_stream"]),
                ..f()
            },
            "df",
        ),
        (
            LogFilter {
                selected_key_ids: strings(&["k1"]),
                ..f()
            },
            "ab",
        ),
        (
            LogFilter {
                virtual_key_ids: strings(&["vk1"]),
                ..f()
            },
            "d",
        ),
        (
            LogFilter {
                virtual_keys: strings(&["team-a"]),
                ..f()
            },
            "d",
        ),
        (
            LogFilter {
                virtual_keys: strings(&["vk1", "nobody"]),
                ..f()
            },
            "d",
        ),
        (
            LogFilter {
                virtual_keys: strings(&["nobody"]),
                statuses: strings(&["success"]),
                ..f()
            },
            "",
        ),
        (
            LogFilter {
                start_ms: Some(T0 + 7 * MIN),
                ..f()
            },
            "hij",
        ),
        (
            LogFilter {
                end_ms: Some(T0 + 2 * MIN),
                ..f()
            },
            "abc",
        ),
        (
            LogFilter {
                start_ms: Some(T0 + 3 * MIN),
                end_ms: Some(T0 + 4 * MIN),
                ..f()
            },
            "de",
        ),
        (
            LogFilter {
                min_latency: Some(300.0),
                ..f()
            },
            "cdi",
        ),
        (
            LogFilter {
                max_latency: Some(50.0),
                ..f()
            },
            "aef",
        ),
        (
            LogFilter {
                min_tokens: Some(80),
                ..f()
            },
            "bdg",
        ),
        (
            LogFilter {
                max_tokens: Some(10),
                ..f()
            },
            "cefhij",
        ),
        (
            LogFilter {
                min_cost: Some(0.02),
                ..f()
            },
            "dgi",
        ),
        (
            LogFilter {
                max_cost: Some(0.01),
                ..f()
            },
            "ab",
        ),
        (
            LogFilter {
                missing_cost_only: true,
                ..f()
            },
            "cefhj",
        ),
        (
            LogFilter {
                providers: strings(&["openai"]),
                statuses: strings(&["success"]),
                min_latency: Some(100.0),
                ..f()
            },
            "bij",
        ),
    ];
    for (filter, want) in cases {
        assert_eq!(ids(s, filter.clone()), want, "{filter:?}");
    }
}

#[test]
fn content_search_finds_words_in_messages_answers_and_errors() {
    let d = fixture();
    let search = |text: &str| {
        ids(
            &d.store,
            LogFilter {
                content_search: Some(text.into()),
                ..LogFilter::default()
            },
        )
    };
    assert_eq!(search("penguins"), "a", "input");
    assert_eq!(search("BIRDS"), "a", "output, case-insensitive");
    assert_eq!(search("pengu"), "a", "word prefix");
    assert_eq!(search("weather paris"), "b", "all words, any order");
    assert_eq!(search("weather penguins"), "", "every word must match");
    assert_eq!(search("quota"), "c", "the error message");
    // JSON keys and role names are not content; the word "role" typed by a user is.
    assert_eq!(search("assistant"), "");
    assert_eq!(search("content"), "");
    assert_eq!(search("role"), "j");
    // FTS5 syntax in the input is searched as text, never obeyed or rejected.
    assert_eq!(search("penguins OR paris"), "");
    assert_eq!(search("\"pirate\" NEAR(x"), "");
    assert_eq!(search("col:pirate"), "");
    assert_eq!(search("!!!"), "");
    assert_eq!(search("pirate*"), "j");
}

#[test]
fn sorting_and_pages() {
    let d = fixture();
    let page = |sort_by, order, limit, offset| {
        let r = d
            .store
            .search(
                &LogFilter::default(),
                &Page {
                    limit,
                    offset,
                    sort_by,
                    order,
                },
            )
            .unwrap();
        assert_eq!(r.total, 10, "total is the whole selection, not the page");
        r.logs.iter().map(|l| l.id.clone()).collect::<String>()
    };
    assert_eq!(page(SortBy::Timestamp, Order::Desc, 100, 0), "jihgfedcba");
    assert_eq!(page(SortBy::Timestamp, Order::Asc, 3, 0), "abc");
    assert_eq!(page(SortBy::Timestamp, Order::Asc, 3, 3), "def");
    assert_eq!(page(SortBy::Timestamp, Order::Asc, 3, 9), "j");
    assert_eq!(page(SortBy::Timestamp, Order::Asc, 3, 10), "");
    // Latency: h has none (sorts as smallest); ties (g, j at 100) break by insertion order.
    assert_eq!(page(SortBy::Latency, Order::Asc, 100, 0), "hfeajgbdci");
    assert_eq!(page(SortBy::Latency, Order::Desc, 3, 0), "icd");
    assert_eq!(page(SortBy::Tokens, Order::Desc, 4, 0), "dbga");
    // Rows without a cost come last when sorting by cost, largest first (ties: newest row
    // first, and the fixture was inserted newest-timestamp first).
    assert_eq!(page(SortBy::Cost, Order::Desc, 100, 0), "digbacefhj");
    // Walking every page sorted by a key with ties never repeats or skips a row.
    let mut seen = String::new();
    for offset in (0..10).step_by(3) {
        seen.push_str(&page(SortBy::Latency, Order::Desc, 3, offset));
    }
    let unique: BTreeSet<char> = seen.chars().collect();
    assert_eq!((seen.len(), unique.len()), (10, 10), "{seen}");
}

#[test]
fn stats_and_has_logs() {
    let empty = db();
    let r = empty.store.search(&LogFilter::default(), &all()).unwrap();
    assert!(!r.has_logs);
    assert_eq!(r.stats, Stats::default());

    let d = fixture();
    let stats = d
        .store
        .stats(&LogFilter {
            providers: strings(&["openai"]),
            ..LogFilter::default()
        })
        .unwrap();
    // a b c f i j: 5 of 6 succeeded; latencies 50 150 900 10 2000 100.
    assert_eq!(stats.total_requests, 6);
    assert!((stats.success_rate - 500.0 / 6.0).abs() < 1e-9);
    assert!((stats.average_latency - 3210.0 / 6.0).abs() < 1e-9);
    assert_eq!(stats.total_tokens, 15 + 150 + 7 + 10);
    assert!((stats.total_cost - 0.211).abs() < 1e-9);

    let none = d
        .store
        .search(
            &LogFilter {
                providers: strings(&["nobody"]),
                ..LogFilter::default()
            },
            &all(),
        )
        .unwrap();
    assert_eq!((none.total, none.logs.len()), (0, 0));
    assert!(
        none.has_logs,
        "has_logs speaks of the table, not the filter"
    );
}

#[test]
fn histograms_bucket_by_time() {
    let d = fixture();
    let s = &d.store;
    // A 10-minute range gets 1-minute buckets, one per log, empty ones filled in.
    let range = LogFilter {
        start_ms: Some(T0),
        end_ms: Some(T0 + 11 * MIN - 1),
        ..LogFilter::default()
    };
    let h = s.histogram(&range).unwrap();
    assert_eq!(h.bucket_size_seconds, 60);
    assert_eq!(h.buckets.len(), 11);
    assert_eq!(h.buckets[0].timestamp, "2026-01-01T00:00:00.000Z");
    let statuses: Vec<(u64, u64, u64, u64)> = h
        .buckets
        .iter()
        .map(|b| (b.count, b.success, b.error, b.cancelled))
        .collect();
    assert_eq!(statuses[2], (1, 0, 1, 0));
    assert_eq!(statuses[4], (1, 0, 0, 1));
    assert_eq!(statuses[10], (0, 0, 0, 0), "filled");
    assert_eq!(h.buckets.iter().map(|b| b.count).sum::<u64>(), 10);

    // Without a range: hour buckets, only those with data.
    let h = s.histogram(&LogFilter::default()).unwrap();
    assert_eq!((h.bucket_size_seconds, h.buckets.len()), (3600, 1));
    assert_eq!(h.buckets[0].count, 10);

    let t = s.token_histogram(&range).unwrap();
    assert_eq!(t.buckets[3].tokens.total_tokens, 1500);
    assert_eq!(t.buckets[3].tokens.prompt_tokens, 1000);

    let c = serde_json::to_value(
        s.cost_histogram(&LogFilter::default(), GroupBy::Model)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(c["bucket_size_seconds"], 3600);
    assert_eq!(c["models"].as_array().unwrap().len(), 5);
    let bucket = &c["buckets"][0];
    assert!((bucket["total_cost"].as_f64().unwrap() - 0.731).abs() < 1e-9);
    assert!((bucket["by_model"]["gpt-4o"].as_f64().unwrap() - 0.201).abs() < 1e-9);

    let c = serde_json::to_value(s.cost_histogram(&range, GroupBy::Provider).unwrap()).unwrap();
    assert_eq!(c["providers"], json!(["anthropic", "groq", "openai"]));
    assert_eq!(c["buckets"][3]["by_provider"]["anthropic"], 0.5);

    let m = serde_json::to_value(s.model_histogram(&LogFilter::default()).unwrap()).unwrap();
    assert_eq!(
        m["buckets"][0]["by_model"]["gpt-4o"],
        json!({"total": 4, "success": 3, "error": 1, "cancelled": 0})
    );

    let tp = serde_json::to_value(
        s.token_group_histogram(&LogFilter::default(), GroupBy::Provider)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(tp["buckets"][0]["by_provider"]["groq"]["total_tokens"], 82);

    // Latency over the openai rows with a latency: 10 50 100 150 900 2000.
    let openai = LogFilter {
        providers: strings(&["openai"]),
        ..LogFilter::default()
    };
    let l = s.latency_histogram(&openai).unwrap();
    let stats = &l.buckets[0].latency;
    assert_eq!(stats.total_requests, 6);
    assert!((stats.avg_latency - 535.0).abs() < 1e-9);
    assert_eq!(
        (stats.p90_latency, stats.p95_latency, stats.p99_latency),
        (2000.0, 2000.0, 2000.0)
    );
    let lp = s
        .latency_group_histogram(&LogFilter::default(), GroupBy::Provider)
        .unwrap();
    let groq = &lp.buckets[0].groups["by_provider"]["groq"];
    assert_eq!(groq.total_requests, 1, "h has no latency");
}

#[test]
fn bucket_sizes_follow_the_range() {
    let h = 3_600_000;
    assert_eq!(bucket_size_seconds(None, Some(0)), 3600);
    assert_eq!(bucket_size_seconds(Some(0), Some(h)), 60);
    assert_eq!(bucket_size_seconds(Some(0), Some(6 * h)), 600);
    assert_eq!(bucket_size_seconds(Some(0), Some(24 * h)), 3600);
    assert_eq!(bucket_size_seconds(Some(0), Some(7 * 24 * h)), 86_400);
    assert_eq!(
        bucket_size_seconds(Some(0), Some(400 * 24 * h)),
        30 * 86_400
    );
}

#[test]
fn filter_data_lists_what_was_seen() {
    let d = fixture();
    let fd = d.store.filter_data().unwrap();
    assert_eq!(fd.providers, strings(&["anthropic", "groq", "openai"]));
    assert_eq!(fd.models.len(), 5);
    assert_eq!(
        fd.selected_keys,
        vec![
            KeyRef {
                id: "k2".into(),
                name: "backup".into()
            },
            KeyRef {
                id: "k1".into(),
                name: "primary".into()
            },
        ]
    );
    assert_eq!(
        fd.virtual_keys,
        vec![KeyRef {
            id: "vk1".into(),
            name: "team-a".into()
        }]
    );
}

#[test]
fn delete_removes_rows_content_and_search_entries() {
    let d = fixture();
    let n = d.store.delete(&strings(&["a", "c", "missing"])).unwrap();
    assert_eq!(n, 2);
    assert_eq!(ids(&d.store, LogFilter::default()), "bdefghij");
    let search = |text: &str| LogFilter {
        content_search: Some(text.into()),
        ..LogFilter::default()
    };
    assert_eq!(ids(&d.store, search("penguins")), "");
    assert_eq!(ids(&d.store, search("quota")), "");
    let orphans: i64 = d
        .store
        .with(|c| {
            Ok(c.query_row(
                "SELECT (SELECT COUNT(*) FROM logs_content WHERE seq NOT IN (SELECT seq FROM logs)) \
                      + (SELECT COUNT(*) FROM logs_fts WHERE rowid NOT IN (SELECT seq FROM logs))",
                [],
                |r| r.get(0),
            )?)
        })
        .unwrap();
    assert_eq!(orphans, 0);
}

#[test]
fn retention_deletes_only_older_rows_in_chunks() {
    let d = db();
    let old = PURGE_CHUNK as usize + 7; // more than one chunk
    let mut rows: Vec<LogEntry> = (0..old)
        .map(|i| entry(&format!("old-{i}"), -100, "openai", "m", "success"))
        .collect();
    rows.push(entry("edge", 0, "openai", "m", "success"));
    rows.push(entry("new", 5, "openai", "m", "success"));
    d.store.inserter().unwrap().insert(&rows).unwrap();
    assert_eq!(d.store.purge_before(T0).unwrap(), old);
    assert_eq!(ids(&d.store, LogFilter::default()), "edgenew");
    assert_eq!(d.store.purge_before(T0).unwrap(), 0);
}

#[test]
fn tail_follows_insertion_order() {
    let d = fixture();
    let f = LogFilter {
        providers: strings(&["openai"]),
        ..LogFilter::default()
    };
    // The fixture was inserted newest first, so the last two inserted are b and a.
    let last: String = d
        .store
        .tail(&f, None, 2)
        .unwrap()
        .iter()
        .map(|l| l.id.clone())
        .collect();
    assert_eq!(last, "ba");
    let seq = d.store.last_seq().unwrap();
    assert!(d.store.tail(&f, Some(seq), 10).unwrap().is_empty());
    d.store
        .inserter()
        .unwrap()
        .insert(&[
            entry("k", 20, "openai", "m", "success"),
            entry("l", 21, "groq", "m", "success"),
        ])
        .unwrap();
    let next: Vec<String> = d
        .store
        .tail(&f, Some(seq), 10)
        .unwrap()
        .into_iter()
        .map(|l| l.id)
        .collect();
    assert_eq!(next, ["k"]);
}

#[test]
fn summary_groups_by_provider_and_model() {
    let d = fixture();
    let rows = d.store.summary(&LogFilter::default()).unwrap();
    let top = &rows[0];
    assert_eq!(
        (top.provider.as_str(), top.model.as_str()),
        ("openai", "gpt-4o")
    );
    assert_eq!(
        (top.requests, top.success, top.errors, top.cancelled),
        (4, 3, 1, 0)
    );
    assert_eq!(top.total_tokens, 15 + 10);
    let groq = rows.iter().find(|r| r.provider == "groq").unwrap();
    assert_eq!(groq.total_cost, Some(0.02));
    let emb = rows
        .iter()
        .find(|r| r.model == "text-embedding-3-small")
        .unwrap();
    assert_eq!(emb.total_cost, None);
    let mut exported = Vec::new();
    let n = d
        .store
        .for_each(&LogFilter::default(), |e| {
            exported.push(e.id);
            Ok(())
        })
        .unwrap();
    assert_eq!((n, exported.concat()), (10, "abcdefghij".to_owned()));
}

/// The budget: with 1,000,000 rows a filtered, sorted page answers in under 100 ms.
/// A benchmark rather than a timed test (it needs a release build and a minute to fill the
/// table): `cargo test --release --lib million_rows -- --ignored --nocapture`.
#[test]
#[ignore = "benchmark: run in release with --ignored"]
fn million_rows_pages_stay_fast() {
    const ROWS: i64 = 1_000_000;
    const DAY: i64 = 86_400_000;
    let d = db();
    let providers = ["openai", "anthropic", "groq", "mistral"];
    let models = [
        "gpt-4o",
        "gpt-4o-mini",
        "claude-sonnet",
        "llama",
        "mistral-large",
        "o3",
    ];
    let statuses = [
        "success",
        "success",
        "success",
        "success",
        "error",
        "cancelled",
    ];
    let mut ins = d.store.inserter().unwrap();
    let fill = std::time::Instant::now();
    for chunk in 0..(ROWS / 10_000) {
        let rows: Vec<LogEntry> = (0..10_000)
            .map(|j| {
                let i = chunk * 10_000 + j;
                let p = providers[(i % 4) as usize];
                let m = models[(i % 6) as usize];
                let s = statuses[(i % 6 + i / 6 % 2) as usize % 6];
                LogEntry {
                    latency: Some((i * 7919 % 5000) as f64),
                    token_usage: usage((i % 500) as u64, (i % 300) as u64),
                    cost: (i % 3 != 0).then_some((i % 1000) as f64 / 1e5),
                    selected_key_id: format!("k{}", i % 10),
                    input_history: raw(json!([{"role": "user", "content": format!("question number {i} about topic{}", i % 1000)}])),
                    ..entry(&format!("id-{i}"), 0, p, m, s)
                }
            })
            .map(|mut e| {
                // Thirty days of traffic, oldest first.
                e.timestamp = T0 + (chunk * 10_000) * 30 * DAY / ROWS + e.timestamp % 1000;
                e
            })
            .collect();
        ins.insert(&rows).unwrap();
    }
    println!("filled {ROWS} rows in {:?}", fill.elapsed());
    d.store.optimize().unwrap();
    let end = T0 + 30 * DAY;
    let f = LogFilter::default;
    let page = |sort_by, order| Page {
        limit: 50,
        offset: 0,
        sort_by,
        order,
    };
    let cases: Vec<(&str, LogFilter, Page)> = vec![
        ("no filter, newest first", f(), Page::default()),
        (
            "provider",
            LogFilter {
                providers: strings(&["groq"]),
                ..f()
            },
            Page::default(),
        ),
        (
            "model + status",
            LogFilter {
                models: strings(&["o3"]),
                statuses: strings(&["error"]),
                ..f()
            },
            Page::default(),
        ),
        (
            "last 24h",
            LogFilter {
                start_ms: Some(end - DAY),
                end_ms: Some(end),
                ..f()
            },
            Page::default(),
        ),
        (
            "provider + last 7d",
            LogFilter {
                providers: strings(&["openai"]),
                start_ms: Some(end - 7 * DAY),
                ..f()
            },
            Page::default(),
        ),
        (
            "two providers, by latency",
            LogFilter {
                providers: strings(&["openai", "groq"]),
                ..f()
            },
            page(SortBy::Latency, Order::Desc),
        ),
        ("by cost", f(), page(SortBy::Cost, Order::Desc)),
        ("by tokens asc", f(), page(SortBy::Tokens, Order::Asc)),
        (
            "key",
            LogFilter {
                selected_key_ids: strings(&["k3"]),
                ..f()
            },
            Page::default(),
        ),
        (
            "min latency",
            LogFilter {
                min_latency: Some(4900.0),
                ..f()
            },
            Page::default(),
        ),
        (
            "content search",
            LogFilter {
                content_search: Some("topic77".into()),
                ..f()
            },
            Page::default(),
        ),
        (
            "key, by latency",
            LogFilter {
                selected_key_ids: strings(&["k3"]),
                ..f()
            },
            page(SortBy::Latency, Order::Desc),
        ),
        (
            "last 24h, by cost",
            LogFilter {
                start_ms: Some(end - DAY),
                end_ms: Some(end),
                ..f()
            },
            page(SortBy::Cost, Order::Desc),
        ),
        (
            "model + status, by tokens",
            LogFilter {
                models: strings(&["o3"]),
                statuses: strings(&["cancelled"]),
                ..f()
            },
            page(SortBy::Tokens, Order::Desc),
        ),
        (
            "content search, by latency",
            LogFilter {
                content_search: Some("topic77".into()),
                ..f()
            },
            page(SortBy::Latency, Order::Asc),
        ),
        (
            "deep page",
            f(),
            Page {
                offset: 100_000,
                ..Page::default()
            },
        ),
    ];
    let size = std::fs::metadata(d.store.path())
        .map(|m| m.len())
        .unwrap_or(0);
    println!("logs.db: {} MB", size / 1_000_000);
    let mut worst = std::time::Duration::ZERO;
    for (name, filter, page) in cases {
        let t = std::time::Instant::now();
        let r = d.store.search(&filter, &page).unwrap();
        let took = t.elapsed();
        worst = worst.max(took);
        println!("{name:<28} {:>9} rows  {took:?}", r.total);
    }
    for (name, run) in [
        (
            "histogram 30d",
            Box::new(|| {
                d.store
                    .histogram(&LogFilter {
                        start_ms: Some(T0),
                        end_ms: Some(end),
                        ..f()
                    })
                    .map(|_| ())
            }) as Box<dyn Fn() -> Result<()>>,
        ),
        (
            "histogram 24h",
            Box::new(|| {
                d.store
                    .histogram(&LogFilter {
                        start_ms: Some(end - DAY),
                        end_ms: Some(end),
                        ..f()
                    })
                    .map(|_| ())
            }),
        ),
        (
            "latency histogram 24h",
            Box::new(|| {
                d.store
                    .latency_histogram(&LogFilter {
                        start_ms: Some(end - DAY),
                        end_ms: Some(end),
                        ..f()
                    })
                    .map(|_| ())
            }),
        ),
        (
            "filter data",
            Box::new(|| d.store.filter_data().map(|_| ())),
        ),
    ] {
        let t = std::time::Instant::now();
        run().unwrap();
        println!("{name:<28} {:?}", t.elapsed());
    }
    assert!(
        worst < std::time::Duration::from_millis(100),
        "slowest page took {worst:?}"
    );
}

/// A logs.db with only the first `version` migrations applied and `rows` (the VALUES of an
/// insert of id, timestamp, object, provider, model, status, latency, total_tokens, cost) in it:
/// what an older gateway left behind.
fn database_at_version(version: usize, rows: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("logs.db");
    let mut conn = Connection::open(&path).unwrap();
    crate::store::migrate(&mut conn, &MIGRATIONS[..version]).unwrap();
    conn.execute_batch(&format!(
        "INSERT INTO logs (id, timestamp, object, provider, model, status, latency, \
           total_tokens, cost) VALUES {rows}"
    ))
    .unwrap();
    (dir, path)
}

#[test]
fn a_version_1_database_gets_its_rollup_filled() {
    let (_dir, path) = database_at_version(
        1,
        "('a', 1767225600000, 'chat_completion', 'openai', 'm', 'success', 10, 5, 0.5), \
         ('b', 1767225600001, 'chat_completion', 'openai', 'm', 'error', 30, 0, NULL)",
    );
    let store = LogsStore::open(&path).unwrap();
    let stats = store.stats(&LogFilter::default()).unwrap();
    assert_eq!(
        (
            stats.total_requests,
            stats.total_tokens,
            stats.average_latency,
            stats.total_cost
        ),
        (2, 5, 20.0, 0.5)
    );
    assert_eq!(store.filter_data().unwrap().providers, strings(&["openai"]));
    // The new delete trigger keeps the rollup in step.
    store.delete(&strings(&["a"])).unwrap();
    let stats = store.stats(&LogFilter::default()).unwrap();
    assert_eq!((stats.total_requests, stats.total_tokens), (1, 0));
}

#[test]
fn the_rollup_agrees_with_the_rows() {
    let d = fixture();
    // Ranges that cut hours in different places; whole-hour stats come from the rollup, the
    // edges from rows, and the sum must equal a scan of the rows themselves.
    for (start, end) in [
        (None, None),
        (Some(T0 - 3 * 3_600_000), Some(T0 + 3_600_000)),
        (Some(T0 + 2 * MIN), None),
        (None, Some(T0 + 5 * MIN)),
        (Some(T0 + MIN), Some(T0 + 4 * MIN)),
    ] {
        let f = LogFilter {
            providers: strings(&["openai", "groq", "anthropic"]),
            virtual_keys: if start.is_none() && end.is_none() {
                strings(&["team-a"])
            } else {
                Vec::new()
            },
            start_ms: start,
            end_ms: end,
            ..LogFilter::default()
        };
        let rollup = d.store.stats(&f).unwrap();
        // A condition the rollup cannot answer, true for every row, forces a row scan.
        let rows = d
            .store
            .stats(&LogFilter {
                max_tokens: Some(i64::MAX),
                ..f.clone()
            })
            .unwrap();
        assert_eq!(rollup.total_requests, rows.total_requests, "{f:?}");
        assert_eq!(rollup.total_tokens, rows.total_tokens, "{f:?}");
        assert!((rollup.total_cost - rows.total_cost).abs() < 1e-9, "{f:?}");
        assert!(
            (rollup.average_latency - rows.average_latency).abs() < 1e-9,
            "{f:?}"
        );
        assert!(
            (rollup.success_rate - rows.success_rate).abs() < 1e-9,
            "{f:?}"
        );
    }
    // After deletions the rollup still agrees, and empty groups leave the menus.
    d.store.delete(&strings(&["g", "h"])).unwrap();
    assert_eq!(
        d.store.filter_data().unwrap().providers,
        strings(&["anthropic", "openai"])
    );
    let all = d.store.stats(&LogFilter::default()).unwrap();
    assert_eq!(all.total_requests, 8);
}

/// Ranked sorts give exactly the order of the values themselves, page after page, with many
/// values sharing a bucket, ties, and unknown values.
#[test]
fn ranked_sorts_page_in_exact_value_order() {
    let d = db();
    let rows: Vec<LogEntry> = (0..400i64)
        .map(|i| {
            // Close values (many per bucket), repeats (ties broken by row number) and NULLs.
            let latency = (i % 13 != 0).then(|| 100.0 + ((i * 7919) % 997) as f64 / 10.0);
            let tokens = (i * 31) % 250;
            LogEntry {
                latency,
                token_usage: usage(tokens as u64, 0),
                cost: (i % 11 != 0).then(|| ((i * 104_729) % 5000) as f64 / 1e7),
                ..entry(&format!("r{i:03}"), i, "openai", "m", "success")
            }
        })
        .collect();
    d.store.inserter().unwrap().insert(&rows).unwrap();
    let key = |e: &LogEntry, sort: SortBy| -> Option<f64> {
        match sort {
            SortBy::Latency => e.latency,
            SortBy::Tokens => e.token_usage.as_ref().map(|u| u.total_tokens as f64),
            SortBy::Cost => e.cost,
            SortBy::Timestamp => Some(e.timestamp as f64),
        }
    };
    for sort in [SortBy::Latency, SortBy::Tokens, SortBy::Cost] {
        for order in [Order::Asc, Order::Desc] {
            // SQLite's order: NULLs first ascending, last descending; ties by row number.
            let mut want: Vec<(Option<f64>, usize, &str)> = rows
                .iter()
                .enumerate()
                .map(|(i, e)| (key(e, sort), i, e.id.as_str()))
                .collect();
            want.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap().then(a.1.cmp(&b.1)));
            if order == Order::Desc {
                want.reverse();
            }
            let want: Vec<&str> = want.into_iter().map(|w| w.2).collect();
            let mut got = Vec::new();
            for offset in (0..rows.len()).step_by(37) {
                let page = Page {
                    limit: 37,
                    offset: offset as u64,
                    sort_by: sort,
                    order,
                };
                let r = d.store.search(&LogFilter::default(), &page).unwrap();
                got.extend(r.logs.into_iter().map(|e| e.id));
            }
            assert_eq!(got, want, "{sort:?} {order:?}");
        }
    }
}

#[test]
fn a_version_2_database_gets_its_sort_ranks() {
    let (_dir, path) = database_at_version(
        2,
        "('a', 1767225600000, 'chat_completion', 'openai', 'm', 'success', 10, 500, 0.5), \
         ('b', 1767225600001, 'chat_completion', 'openai', 'm', 'error', 30, 0, NULL), \
         ('c', 1767225600002, 'chat_completion', 'openai', 'm', 'success', 20, 7, 0.01)",
    );
    let store = LogsStore::open(&path).unwrap();
    let ids = |sort_by, order| -> String {
        let page = Page {
            sort_by,
            order,
            ..Page::default()
        };
        let r = store.search(&LogFilter::default(), &page).unwrap();
        r.logs.into_iter().map(|e| e.id).collect()
    };
    assert_eq!(ids(SortBy::Latency, Order::Desc), "bca");
    assert_eq!(ids(SortBy::Tokens, Order::Desc), "acb");
    assert_eq!(ids(SortBy::Cost, Order::Asc), "bca");
    // Rows the writer adds afterwards are ranked by it, consistently with the migration.
    store
        .inserter()
        .unwrap()
        .insert(&[LogEntry {
            latency: Some(25.0),
            ..entry("d", 1, "openai", "m", "success")
        }])
        .unwrap();
    assert_eq!(ids(SortBy::Latency, Order::Desc), "bdca");
}

/// The log writer's cost per row, for judging schema and writer changes: rows shaped like the
/// overhead bench's chat requests (its messages, answer, usage with details, a cost) inserted
/// in batches of 1,000 (what the writer commits at 5k requests/s) into a logs.db that already
/// holds `BIFROST_INSERT_PREFILL` rows (default 100,000). Prints the median wall time per row
/// over the measured batches. Run natively, or under callgrind with
/// `--toggle-collect='*measured_insert*'` to count the instructions of the measured batches
/// (then set a smaller prefill): `cargo test --release --lib insert_cost -- --ignored
/// --nocapture`. `BIFROST_INSERT_SQL` runs SQL on the writer's connection first (drop an index,
/// set an FTS5 option), to try a schema change without a rebuild.
#[test]
#[ignore = "benchmark: run in release with --ignored"]
fn insert_cost_per_row() {
    const BATCH: usize = 1_000;
    let prefill: usize = std::env::var("BIFROST_INSERT_PREFILL")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let measured: usize = std::env::var("BIFROST_INSERT_BATCHES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(30);
    let d = db();
    let mut ins = d.store.inserter().unwrap();
    if let Ok(sql) = std::env::var("BIFROST_INSERT_SQL") {
        ins.conn.execute_batch(&sql).unwrap();
    }
    let details = |v: serde_json::Value| serde_json::from_value(v).ok();
    let row = |i: usize| LogEntry {
        id: uuid::Uuid::now_v7().to_string(),
        timestamp: T0 + (i as i64) / 5,
        latency: Some(0.2 + (i % 97) as f64 / 100.0),
        token_usage: Some(Usage {
            prompt_tokens: 24,
            completion_tokens: 9,
            total_tokens: 33,
            prompt_tokens_details: details(json!({"cached_tokens": 0, "audio_tokens": 0})),
            completion_tokens_details: details(json!({"reasoning_tokens": 0, "audio_tokens": 0,
                "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0})),
        }),
        cost: Some(0.000_009_0),
        selected_key_id: "9f1c2b7e-6a41-4d0c-9a57-3f1e8f6d2c10".into(),
        selected_key_name: "bench".into(),
        input_history: raw(json!([
            {"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": "Say hello in one short sentence."}
        ])),
        output_message: raw(json!({"role": "assistant",
            "content": "Hello! How can I help you today?", "refusal": null})),
        params: raw(json!({"max_tokens": 32})),
        ..entry("", 0, "openai", "gpt-4o-mini", "success")
    };
    let mut next = 0;
    let mut batch = || {
        let rows: Vec<LogEntry> = (next..next + BATCH).map(row).collect();
        next += BATCH;
        rows
    };
    for _ in 0..prefill.div_ceil(BATCH) {
        ins.insert(&batch()).unwrap();
    }
    let mut per_row_us: Vec<f64> = (0..measured)
        .map(|_| {
            let rows = batch();
            let start = std::time::Instant::now();
            assert_eq!(measured_insert(&mut ins, &rows), BATCH);
            start.elapsed().as_secs_f64() * 1e6 / BATCH as f64
        })
        .collect();
    per_row_us.sort_by(f64::total_cmp);
    println!(
        "{prefill} rows before, {measured} batches of {BATCH}: median {:.1} µs per row \
         (min {:.1}, max {:.1})",
        per_row_us[measured / 2],
        per_row_us[0],
        per_row_us[measured - 1]
    );
}

/// One measured batch of [`insert_cost_per_row`], a function of its own so that callgrind can
/// count it apart from the prefill.
#[inline(never)]
fn measured_insert(ins: &mut Inserter, rows: &[LogEntry]) -> usize {
    ins.insert(rows).unwrap()
}
