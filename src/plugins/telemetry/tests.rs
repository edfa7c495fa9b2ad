//! Registry tests: label bounding, the series cap, and the exact text rendered for known
//! records.

use http::{HeaderMap, HeaderValue};

use super::family::{Family, MAX_SERIES};
use super::histogram::{Histogram, DEF_BUCKETS, SIZE_BUCKETS};
use super::labels::{self, Bounded, MAX_VALUES, MAX_VALUE_LEN};
use super::*;
use crate::engine::tracking::{RecordTelemetry, RecordedError};
use crate::schemas::openai::Usage;
use crate::schemas::RequestType;

fn record(status: Status) -> RequestRecord {
    RequestRecord {
        id: "r1".into(),
        timestamp_ms: 0,
        request_type: RequestType::ChatCompletion,
        stream: false,
        provider: "openai".into(),
        model: "gpt-4o".into(),
        selected_key_id: Some("k1".into()),
        selected_key_name: Some("main".into()),
        number_of_retries: 0,
        fallback_index: 0,
        status,
        latency_ms: 120.0,
        ttft_ms: None,
        usage: (status == Status::Success).then(|| Usage {
            prompt_tokens: 9,
            completion_tokens: 3,
            total_tokens: 12,
            ..Usage::default()
        }),
        error: (status != Status::Success).then(|| RecordedError {
            status_code: 500,
            kind: "api_error".into(),
            message: "boom".into(),
        }),
        input: None,
        params: None,
        raw_request: None,
        output: None,
        metadata: vec![],
        virtual_key_id: None,
        virtual_key_name: None,
        cost: None,
        telemetry: RecordTelemetry {
            upstream_ms: Some(119.5),
            prom_labels: vec![("team".into(), "search".into())],
            ..RecordTelemetry::default()
        },
    }
}

/// The sample lines of one metric name (no `_bucket`/`_sum`/`_count` suffix matching).
fn lines<'a>(text: &'a str, name: &str) -> Vec<&'a str> {
    text.lines()
        .filter(|l| l.starts_with(&format!("{name}{{")) || l.starts_with(&format!("{name} ")))
        .collect()
}

const BASE_LABELS: &str = r#"provider="openai",model="gpt-4o",method="chat_completion",virtual_key_id="",virtual_key_name="",routing_engine_used="",routing_rule_id="",routing_rule_name="",selected_key_id="k1",selected_key_name="main",number_of_retries="0",fallback_index="0",team_id="",team_name="",customer_id="",customer_name="""#;

#[test]
fn bounded_keeps_the_first_values_then_reports_other() {
    let b = Bounded::new(3);
    for v in ["a", "b", "c"] {
        assert_eq!(b.admit(v), v);
    }
    assert_eq!(b.admit("d"), labels::OTHER);
    assert_eq!(b.admit("a"), "a", "admitted values stay");
    assert_eq!(b.admit(""), "", "unknown is always empty");
    assert_eq!(b.len(), 3);
    let long = "é".repeat(MAX_VALUE_LEN);
    let cut = labels::truncate(&long);
    assert!(cut.len() <= MAX_VALUE_LEN && cut.len() > MAX_VALUE_LEN - 2);
    assert!(long.starts_with(cut));
}

#[test]
fn custom_labels_are_sanitized_deduplicated_and_never_built_in() {
    let names: Vec<String> = ["Team-ID", "team_id", "provider", "env", "9lives", ""]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    let customs = labels::customs(&names);
    let got: Vec<(&str, &str)> = customs
        .iter()
        .map(|c| (c.config.as_str(), c.label.as_str()))
        .collect();
    // `team_id` is a built-in label; `Team-ID` sanitizes to it and is dropped too.
    assert_eq!(got, vec![("env", "env"), ("9lives", "_9lives")]);
}

#[test]
fn header_values_are_read_only_for_configured_labels() {
    let mut h = HeaderMap::new();
    h.insert("x-bf-prom-team", HeaderValue::from_static("search"));
    h.insert("x-bf-prom-unknown", HeaderValue::from_static("x"));
    h.insert("x-bf-lh-team", HeaderValue::from_static("nope"));
    assert_eq!(
        labels::from_headers(&h, &["Team".to_owned()]),
        vec![("team".to_owned(), "search".to_owned())]
    );
    assert!(labels::from_headers(&h, &[]).is_empty());
}

#[test]
fn a_success_and_an_error_render_exactly() {
    let t = Telemetry::new(&["team".to_owned()]);
    t.observe(&record(Status::Success));
    t.observe(&record(Status::Success));
    let mut failed = record(Status::Error);
    failed.telemetry.upstream_ms = None;
    t.observe(&failed);
    let text = t.render();
    let labels = format!(r#"{BASE_LABELS},team="search""#);
    assert_eq!(
        lines(&text, "bifrost_upstream_requests_total"),
        vec![format!("bifrost_upstream_requests_total{{{labels}}} 3")]
    );
    assert_eq!(
        lines(&text, "bifrost_success_requests_total"),
        vec![format!("bifrost_success_requests_total{{{labels}}} 2")]
    );
    assert_eq!(
        lines(&text, "bifrost_error_requests_total"),
        vec![format!(
            r#"bifrost_error_requests_total{{{BASE_LABELS},status_code="500",team="search"}} 1"#
        )]
    );
    assert_eq!(
        lines(&text, "bifrost_input_tokens_total"),
        vec![format!("bifrost_input_tokens_total{{{labels}}} 18")]
    );
    assert_eq!(
        lines(&text, "bifrost_output_tokens_total"),
        vec![format!("bifrost_output_tokens_total{{{labels}}} 6")]
    );
    assert!(text.contains(&format!(
        r#"bifrost_upstream_latency_seconds_bucket{{{BASE_LABELS},is_success="true",team="search",le="0.25"}} 2"#
    )));
    assert!(text.contains(&format!(
        r#"bifrost_upstream_latency_seconds_bucket{{{BASE_LABELS},is_success="true",team="search",le="0.1"}} 0"#
    )));
    assert!(text.contains(&format!(
        r#"bifrost_upstream_latency_seconds_count{{{BASE_LABELS},is_success="false",team="search"}} 1"#
    )));
    // Overhead is 0.5 ms, twice (the failed record had no upstream time).
    assert!(text.contains(&format!(
        r#"bifrost_gateway_overhead_seconds_bucket{{{labels},le="0.00025"}} 0"#
    )));
    assert!(text.contains(&format!(
        r#"bifrost_gateway_overhead_seconds_bucket{{{labels},le="0.0005"}} 2"#
    )));
    assert!(text.contains(&format!(
        "bifrost_gateway_overhead_seconds_count{{{labels}}} 2"
    )));
    // No cost was priced, no stream ran: the families are listed without series.
    assert!(text.contains("# TYPE bifrost_cost_total counter"));
    assert!(lines(&text, "bifrost_cost_total").is_empty());
    assert!(text.contains("# TYPE bifrost_cache_hits_total counter"));
    assert!(!text.contains("bifrost_stream_first_token_latency_seconds_count"));
}

#[test]
fn a_stream_records_first_token_and_exact_inter_token_totals() {
    let t = Telemetry::new(&[]);
    let mut r = record(Status::Success);
    r.request_type = RequestType::ChatCompletionStream;
    r.stream = true;
    r.ttft_ms = Some(40.0);
    r.telemetry.chunks = 5;
    r.telemetry.last_chunk_ms = Some(80.0);
    r.cost = Some(0.25);
    t.observe(&r);
    let text = t.render();
    let labels = BASE_LABELS.replace("chat_completion", "chat_completion_stream");
    assert!(text.contains(&format!(
        "bifrost_stream_first_token_latency_seconds_count{{{labels}}} 1"
    )));
    // Four gaps of 10 ms each.
    assert!(text.contains(&format!(
        "bifrost_stream_inter_token_latency_seconds_count{{{labels}}} 4"
    )));
    assert!(text.contains(&format!(
        r#"bifrost_stream_inter_token_latency_seconds_bucket{{{labels},le="0.005"}} 0"#
    )));
    assert!(text.contains(&format!(
        r#"bifrost_stream_inter_token_latency_seconds_bucket{{{labels},le="0.01"}} 4"#
    )));
    assert!(text.contains(&format!("bifrost_cost_total{{{labels}}} 0.25")));
}

#[test]
fn hostile_label_values_are_bounded_and_escaped() {
    let t = Telemetry::new(&["team".to_owned()]);
    for i in 0..1000 {
        let mut r = record(Status::Success);
        r.telemetry.prom_labels = vec![("team".into(), format!("t{i}"))];
        t.observe(&r);
    }
    // 100 team values admitted, then `other`.
    assert_eq!(t.series_counts().0, MAX_VALUES + 1);
    let text = t.render();
    let teams: std::collections::HashSet<&str> = lines(&text, "bifrost_upstream_requests_total")
        .iter()
        .filter_map(|l| l.split("team=\"").nth(1)?.split('"').next())
        .collect();
    assert_eq!(teams.len(), MAX_VALUES + 1);
    assert!(teams.contains("other"));

    // Models are chosen by clients too.
    let t = Telemetry::new(&[]);
    for i in 0..labels::MAX_MODELS + 500 {
        let mut r = record(Status::Success);
        r.model = format!("model-{i}");
        t.observe(&r);
    }
    assert_eq!(t.series_counts().0, labels::MAX_MODELS + 1);

    let t = Telemetry::new(&["team".to_owned()]);
    let mut r = record(Status::Success);
    r.telemetry.prom_labels = vec![("team".into(), "a\"b\\c\nd".into())];
    t.observe(&r);
    assert!(t.render().contains(r#"team="a\"b\\c\nd""#));
}

#[test]
fn http_requests_render_with_route_templates_and_sizes() {
    let t = Telemetry::new(&["team".to_owned()]);
    let custom = vec![Some(HeaderValue::from_static("search"))];
    let obs = HttpObservation {
        path: "/v1/chat/completions",
        method: "POST",
        status: 200,
        custom: &custom,
        seconds: 0.003,
        request_bytes: Some(250),
        response_bytes: None,
    };
    t.observe_http(&obs);
    t.observe_http(&obs);
    let text = t.render();
    let l = r#"path="/v1/chat/completions",method="POST",status="200",team="search""#;
    assert_eq!(
        lines(&text, "http_requests_total"),
        vec![format!("http_requests_total{{{l}}} 2")]
    );
    assert!(text.contains(&format!(
        r#"http_request_size_bytes_bucket{{{l},le="1000"}} 2"#
    )));
    assert!(text.contains(&format!(
        r#"http_request_size_bytes_bucket{{{l},le="100"}} 0"#
    )));
    assert!(text.contains(&format!(
        r#"http_request_duration_seconds_bucket{{{l},le="0.005"}} 2"#
    )));
    assert!(
        !text.contains("http_response_size_bytes_count"),
        "no size known for streams"
    );
}

#[test]
fn external_counters_are_read_at_scrape_time() {
    let n = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let read = Arc::clone(&n);
    let t = Telemetry::new(&[]).with_counter("x_dropped_total", "Dropped.", move || {
        read.load(Ordering::Relaxed)
    });
    n.store(7, Ordering::Relaxed);
    assert!(t.render().contains("\nx_dropped_total 7\n"));
}

#[test]
fn a_family_stops_growing_at_its_cap() {
    let f: Family<u8> = Family::default();
    for i in 0..MAX_SERIES + 50 {
        let key = format!("1:{i}");
        let e = f
            .get_or_insert(
                &key,
                || ("a".into(), String::new(), 1),
                || ("other".into(), String::new(), 2),
            )
            .unwrap();
        if i >= MAX_SERIES {
            assert_eq!(e.series, 2, "past the cap, the overflow series");
        }
    }
    assert_eq!(f.len(), MAX_SERIES + 1);
}

#[test]
fn histograms_are_cumulative_with_gos_le_spelling() {
    let h = Histogram::new(&SIZE_BUCKETS);
    h.observe(50.0);
    h.observe(2e6);
    h.observe(5e9);
    let mut out = String::new();
    h.render(&mut out, "s", "a=\"b\"");
    assert!(out.contains("s_bucket{a=\"b\",le=\"100\"} 1\n"));
    assert!(out.contains("s_bucket{a=\"b\",le=\"1e+06\"} 1\n"));
    assert!(out.contains("s_bucket{a=\"b\",le=\"1e+07\"} 2\n"));
    assert!(out.contains("s_bucket{a=\"b\",le=\"+Inf\"} 3\n"));
    assert!(out.contains("s_count{a=\"b\"} 3\n"));
    let d = Histogram::new(&DEF_BUCKETS);
    d.observe_n(0.02, 3);
    d.observe(f64::NAN);
    d.observe(-1.0);
    assert_eq!(d.count(), 3, "NaN and negative values are ignored");
}
