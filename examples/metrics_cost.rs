//! Temporary: cost of one metrics observation.
#![allow(clippy::unwrap_used)]
use std::time::Instant;
use bifrost::engine::tracking::{RecordTelemetry, RequestRecord, Status};
use bifrost::plugins::telemetry::{HttpObservation, Telemetry};
use bifrost::schemas::openai::Usage;
use bifrost::schemas::RequestType;

fn main() {
    let t = Telemetry::new(&["team".to_owned()]);
    let r = RequestRecord {
        id: "r".into(), timestamp_ms: 0, request_type: RequestType::ChatCompletion, stream: false,
        provider: "openai".into(), model: "gpt-4o-mini".into(), selected_key_id: Some("030bb17d-73eb-50c4-863b-1453c9e8003c".into()),
        selected_key_name: Some("main".into()), number_of_retries: 0, fallback_index: 0, status: Status::Success,
        latency_ms: 1.2, ttft_ms: None, usage: Some(Usage { prompt_tokens: 9, completion_tokens: 3, total_tokens: 12, ..Usage::default() }),
        error: None, input: None, params: None, output: None, metadata: vec![], virtual_key_id: None, virtual_key_name: None,
        cost: Some(0.000001), telemetry: RecordTelemetry { upstream_ms: Some(1.0), prom_labels: vec![("team".into(), "search".into())], ..Default::default() },
    };
    let n = 2_000_000;
    for _ in 0..1000 { t.observe(&r); }
    let s = Instant::now();
    for _ in 0..n { t.observe(&r); }
    println!("observe(record): {:.0} ns", s.elapsed().as_nanos() as f64 / n as f64);
    let custom = vec![Some(http::HeaderValue::from_static("search"))];
    let h = HttpObservation { path: "/v1/chat/completions", method: "POST", status: 200, custom: &custom, seconds: 0.001, request_bytes: Some(200), response_bytes: Some(400) };
    let s = Instant::now();
    for _ in 0..n { t.observe_http(&h); }
    println!("observe_http: {:.0} ns", s.elapsed().as_nanos() as f64 / n as f64);
    let s = Instant::now();
    let text = t.render();
    println!("render: {:?} ({} bytes)", s.elapsed(), text.len());
}
