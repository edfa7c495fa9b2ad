//! Metrics and tracing end to end: exact `/metrics` values and label sets after a known
//! sequence of requests, cardinality bounds against a hostile client, and OTLP spans decoded by
//! a local receiver (HTTP and gRPC) with the official protobuf types.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::post;
use axum::Router;
use futures_util::future::join_all;
use http_body_util::{BodyExt, Full};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;
use serde_json::{json, Value};

use crate::common::{
    assert_error_shape, chat_body, config, eventually, http, key, provider, within, Gateway,
};
use crate::mock::{openai, Mock};

const KEY: &str = "sk-e2e-metrics-0123456789";

/// Bifrost's base labels (contract §7.3).
const BASE: [&str; 16] = [
    "provider",
    "model",
    "method",
    "virtual_key_id",
    "virtual_key_name",
    "routing_engine_used",
    "routing_rule_id",
    "routing_rule_name",
    "selected_key_id",
    "selected_key_name",
    "number_of_retries",
    "fallback_index",
    "team_id",
    "team_name",
    "customer_id",
    "customer_name",
];

#[derive(Debug, Clone)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// Parses the text exposition format (samples only).
fn parse(text: &str) -> Vec<Sample> {
    let mut out = Vec::new();
    for line in text
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let (head, value) = line.rsplit_once(' ').unwrap();
        let value = match value {
            "+Inf" => f64::INFINITY,
            v => v
                .parse()
                .unwrap_or_else(|_| panic!("bad value in {line:?}")),
        };
        let (name, labels) = match head.split_once('{') {
            None => (head.to_owned(), BTreeMap::new()),
            Some((name, rest)) => (
                name.to_owned(),
                parse_labels(rest.strip_suffix('}').unwrap()),
            ),
        };
        out.push(Sample {
            name,
            labels,
            value,
        });
    }
    out
}

fn parse_labels(mut s: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    while !s.is_empty() {
        let (name, rest) = s.split_once("=\"").unwrap();
        let mut value = String::new();
        let mut chars = rest.char_indices();
        let end = loop {
            match chars.next().unwrap() {
                (_, '\\') => match chars.next().unwrap().1 {
                    'n' => value.push('\n'),
                    c => value.push(c),
                },
                (i, '"') => break i,
                (_, c) => value.push(c),
            }
        };
        out.insert(name.to_owned(), value);
        s = rest[end + 1..].trim_start_matches(',');
    }
    out
}

/// Samples named `name` whose labels include every pair of `with`.
fn find<'a>(samples: &'a [Sample], name: &str, with: &[(&str, &str)]) -> Vec<&'a Sample> {
    samples
        .iter()
        .filter(|s| {
            s.name == name
                && with
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .collect()
}

/// The one sample named `name` matching `with`.
fn one(samples: &[Sample], name: &str, with: &[(&str, &str)]) -> f64 {
    let found = find(samples, name, with);
    assert_eq!(found.len(), 1, "{name} {with:?}: {found:#?}");
    found[0].value
}

async fn scrape(gw: &Gateway) -> (String, Vec<Sample>) {
    let resp = http()
        .get(format!("{}/metrics", gw.url))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let ct = resp.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(ct.starts_with("text/plain; version=0.0.4"), "{ct}");
    let text = resp.text().await.unwrap();
    let samples = parse(&text);
    (text, samples)
}

async fn gateway(mock: &Mock, extra: Value, env: &[(&str, &str)]) -> Gateway {
    let mut cfg =
        config(json!({"openai": provider(&mock.url, json!([key("main", "env.E2E_METRICS_KEY")]))}));
    cfg["client"] = json!({"prometheus_labels": ["team"]});
    if let Value::Object(extra) = extra {
        for (k, v) in extra {
            cfg[k] = v;
        }
    }
    let mut all = vec![("E2E_METRICS_KEY", KEY)];
    all.extend_from_slice(env);
    Gateway::launch(&cfg, &all).await
}

const TEAM: (&str, &str) = ("x-bf-prom-team", "search");

#[tokio::test]
async fn metrics_count_a_known_sequence_exactly() {
    within(90, async {
        let mock = Mock::openai("m").await;
        let gw = gateway(&mock, json!({}), &[]).await;
        let chat = chat_body("openai/gpt-4o-mini", "hello");
        for _ in 0..2 {
            assert_eq!(
                gw.post_with("/v1/chat/completions", &chat, &[TEAM]).await.0,
                200
            );
        }
        assert_eq!(gw.chat(&chat).await.0, 200);
        mock.fail_next(1, 500, openai::error("boom", "server_error", "internal"));
        let (failed_status, _) = gw.post_with("/v1/chat/completions", &chat, &[TEAM]).await;
        assert!(failed_status >= 400, "{failed_status}");
        let mut stream = chat.clone();
        stream["stream"] = json!(true);
        let sse = gw.stream("/v1/chat/completions", &stream, &[TEAM]).await;
        assert_eq!(sse.status, 200);
        let chunks = sse.chunks().len();
        assert!(chunks >= 4, "{}", sse.raw);
        assert_eq!(gw.get("/api/providers/openai").await.0, 200);
        assert_eq!(gw.get("/nope/123").await.0, 404);

        let samples = eventually(10, "the stream's record", || async {
            let (_, s) = scrape(&gw).await;
            let streamed = find(
                &s,
                "bifrost_upstream_requests_total",
                &[("method", "chat_completion_stream")],
            );
            (!streamed.is_empty()).then_some(s)
        })
        .await;

        // The chats with the team header on the primary key: the two successes and the upstream
        // 500 (a failed request is labelled with the key it tried), every base label.
        let ok = [
            ("provider", "openai"),
            ("model", "gpt-4o-mini"),
            ("method", "chat_completion"),
            ("selected_key_name", "main"),
            ("number_of_retries", "0"),
            ("fallback_index", "0"),
            ("team", "search"),
        ];
        let series = find(&samples, "bifrost_upstream_requests_total", &ok);
        assert_eq!(series.len(), 1, "{series:#?}");
        let names: BTreeSet<&str> = series[0].labels.keys().map(String::as_str).collect();
        let expected: BTreeSet<&str> = BASE.iter().copied().chain(["team"]).collect();
        assert_eq!(names, expected);
        assert_eq!(series[0].value, 3.0);
        assert_eq!(series[0].labels["virtual_key_id"], "");
        assert_eq!(one(&samples, "bifrost_success_requests_total", &ok), 2.0);
        assert_eq!(one(&samples, "bifrost_input_tokens_total", &ok), 18.0);
        assert_eq!(one(&samples, "bifrost_output_tokens_total", &ok), 6.0);
        let ok_latency: Vec<(&str, &str)> =
            ok.iter().copied().chain([("is_success", "true")]).collect();
        assert_eq!(
            one(
                &samples,
                "bifrost_upstream_latency_seconds_count",
                &ok_latency
            ),
            2.0
        );
        let inf: Vec<(&str, &str)> = ok_latency.iter().copied().chain([("le", "+Inf")]).collect();
        assert_eq!(
            one(&samples, "bifrost_upstream_latency_seconds_bucket", &inf),
            2.0
        );
        // Overhead is recorded for every request of the series, the failed one too.
        assert_eq!(
            one(&samples, "bifrost_gateway_overhead_seconds_count", &ok),
            3.0
        );
        let overhead = one(&samples, "bifrost_gateway_overhead_seconds_sum", &ok);
        let latency: f64 = find(&samples, "bifrost_upstream_latency_seconds_sum", &ok)
            .iter()
            .map(|s| s.value)
            .sum();
        assert!(
            overhead > 0.0 && overhead < latency,
            "overhead {overhead} latency {latency}"
        );
        // Governance prices gpt-4o-mini from the catalog: 2 × (9 in + 3 out).
        assert!(one(&samples, "bifrost_cost_total", &ok) > 0.0);

        // The chat without the header: its own series, team empty.
        let plain = [
            ("method", "chat_completion"),
            ("selected_key_name", "main"),
            ("team", ""),
        ];
        assert_eq!(
            one(&samples, "bifrost_upstream_requests_total", &plain),
            1.0
        );

        // The upstream 500.
        let failed = [
            ("method", "chat_completion"),
            ("team", "search"),
            ("selected_key_name", "main"),
            ("status_code", "500"),
        ];
        assert_eq!(one(&samples, "bifrost_error_requests_total", &failed), 1.0);
        let errors: f64 = find(&samples, "bifrost_error_requests_total", &[])
            .iter()
            .map(|s| s.value)
            .sum();
        assert_eq!(errors, 1.0);
        let failed_latency = [
            ("method", "chat_completion"),
            ("team", "search"),
            ("is_success", "false"),
        ];
        assert_eq!(
            one(
                &samples,
                "bifrost_upstream_latency_seconds_count",
                &failed_latency
            ),
            1.0
        );

        // The stream.
        let st = [
            ("method", "chat_completion_stream"),
            ("team", "search"),
            ("selected_key_name", "main"),
        ];
        assert_eq!(one(&samples, "bifrost_upstream_requests_total", &st), 1.0);
        assert_eq!(one(&samples, "bifrost_success_requests_total", &st), 1.0);
        assert_eq!(
            one(
                &samples,
                "bifrost_stream_first_token_latency_seconds_count",
                &st
            ),
            1.0
        );
        assert_eq!(
            one(
                &samples,
                "bifrost_stream_inter_token_latency_seconds_count",
                &st
            ),
            (chunks - 1) as f64
        );
        if sse.chunks().last().is_some_and(|c| c["usage"].is_object()) {
            assert_eq!(one(&samples, "bifrost_input_tokens_total", &st), 9.0);
        }

        // Every request counted once in total.
        let total: f64 = find(&samples, "bifrost_upstream_requests_total", &[])
            .iter()
            .map(|s| s.value)
            .sum();
        assert_eq!(total, 5.0);

        // HTTP metrics: route templates, never raw paths.
        let route = ("path", "/v1/chat/completions");
        let post = ("method", "POST");
        assert_eq!(
            one(
                &samples,
                "http_requests_total",
                &[route, post, ("status", "200"), ("team", "search")]
            ),
            3.0
        );
        assert_eq!(
            one(
                &samples,
                "http_requests_total",
                &[route, post, ("status", "200"), ("team", "")]
            ),
            1.0
        );
        let failed_status = failed_status.to_string();
        assert_eq!(
            one(
                &samples,
                "http_requests_total",
                &[route, post, ("status", &failed_status), ("team", "search")]
            ),
            1.0
        );
        assert_eq!(
            one(
                &samples,
                "http_requests_total",
                &[
                    ("path", "/api/providers/{name}"),
                    ("method", "GET"),
                    ("status", "200")
                ]
            ),
            1.0
        );
        assert_eq!(
            one(
                &samples,
                "http_requests_total",
                &[("path", "unmatched"), ("method", "GET"), ("status", "404")]
            ),
            1.0
        );
        assert!(samples.iter().all(|s| !s
            .labels
            .get("path")
            .is_some_and(|p| p.contains("nope") || p == "/api/providers/openai")));
        let ok_http = [route, post, ("status", "200"), ("team", "search")];
        assert_eq!(
            one(&samples, "http_request_duration_seconds_count", &ok_http),
            3.0
        );
        assert_eq!(
            one(&samples, "http_request_size_bytes_count", &ok_http),
            3.0
        );
        // The stream's body size is not known when its head is sent.
        assert_eq!(
            one(&samples, "http_response_size_bytes_count", &ok_http),
            2.0
        );
        let http_names: BTreeSet<&str> = find(&samples, "http_requests_total", &[route])[0]
            .labels
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            http_names,
            BTreeSet::from(["path", "method", "status", "team"])
        );

        // Logging is on by default: its drop counter is exported, and nothing was dropped.
        assert_eq!(one(&samples, "bifrost_log_records_dropped_total", &[]), 0.0);
    })
    .await;
}

#[tokio::test]
async fn hostile_clients_cannot_mint_series() {
    within(120, async {
        let mock = Mock::openai("m").await;
        let gw = gateway(&mock, json!({}), &[]).await;
        let client = http();
        let chat = chat_body("openai/gpt-4o-mini", "x");
        for batch in 0..10 {
            let calls = (0..100).map(|i| {
                let req = client
                    .post(format!("{}/v1/chat/completions", gw.url))
                    .header("x-bf-prom-team", format!("team-{batch}-{i}"))
                    .json(&chat);
                async move { req.send().await.unwrap().status() }
            });
            for status in join_all(calls).await {
                assert_eq!(status, 200);
            }
        }
        // Random paths and made-up methods must not become label values either.
        let odd = (0..100).map(|i| {
            let method = reqwest::Method::from_bytes(format!("FOO{i}").as_bytes()).unwrap();
            let req = client.request(method, format!("{}/v1/chat/completions", gw.url));
            let get = client.get(format!("{}/random/{i}", gw.url));
            async move {
                (
                    req.send().await.unwrap().status(),
                    get.send().await.unwrap().status(),
                )
            }
        });
        join_all(odd).await;

        let (_, samples) = scrape(&gw).await;
        let upstream = find(&samples, "bifrost_upstream_requests_total", &[]);
        let teams: BTreeSet<&str> = upstream.iter().map(|s| s.labels["team"].as_str()).collect();
        assert_eq!(teams.len(), 101, "100 values, then `other`");
        assert!(teams.contains("other"));
        assert_eq!(upstream.iter().map(|s| s.value).sum::<f64>(), 1000.0);
        let other = find(
            &samples,
            "bifrost_upstream_requests_total",
            &[("team", "other")],
        );
        assert_eq!(other[0].value, 900.0);

        let http_teams: BTreeSet<&str> = find(
            &samples,
            "http_requests_total",
            &[("path", "/v1/chat/completions")],
        )
        .iter()
        .map(|s| s.labels["team"].as_str())
        .collect();
        assert!(http_teams.len() <= 102, "{}", http_teams.len());
        let paths: BTreeSet<&str> = find(&samples, "http_requests_total", &[])
            .iter()
            .map(|s| s.labels["path"].as_str())
            .collect();
        assert_eq!(paths, BTreeSet::from(["/v1/chat/completions", "unmatched"]));
        let methods: BTreeSet<&str> = find(&samples, "http_requests_total", &[])
            .iter()
            .map(|s| s.labels["method"].as_str())
            .collect();
        assert_eq!(methods, BTreeSet::from(["GET", "POST", "other"]));
        assert_eq!(
            one(
                &samples,
                "http_requests_total",
                &[("path", "unmatched"), ("method", "GET")]
            ),
            100.0
        );
    })
    .await;
}

/// What a local OTLP receiver got: request headers and the decoded request.
#[derive(Default)]
struct Received {
    exports: Mutex<Vec<(HeaderMap, ExportTraceServiceRequest)>>,
    /// Answer gRPC exports with `grpc-status: 13`.
    fail: AtomicBool,
}

impl Received {
    fn spans(&self) -> Vec<Span> {
        self.exports
            .lock()
            .unwrap()
            .iter()
            .flat_map(|(_, r)| r.resource_spans.iter())
            .flat_map(|rs| rs.scope_spans.iter())
            .flat_map(|ss| ss.spans.iter().cloned())
            .collect()
    }
}

async fn otlp_http(State(rx): State<Arc<Received>>, headers: HeaderMap, body: Bytes) -> Response {
    assert_eq!(headers["content-type"], "application/x-protobuf");
    let req = ExportTraceServiceRequest::decode(body).unwrap();
    rx.exports.lock().unwrap().push((headers, req));
    Response::builder()
        .header("content-type", "application/x-protobuf")
        .body(Body::empty())
        .unwrap()
}

async fn otlp_grpc(State(rx): State<Arc<Received>>, headers: HeaderMap, body: Bytes) -> Response {
    assert_eq!(headers["content-type"], "application/grpc");
    assert_eq!(body[0], 0, "not compressed");
    let len = u32::from_be_bytes(body[1..5].try_into().unwrap()) as usize;
    assert_eq!(body.len(), 5 + len);
    let req = ExportTraceServiceRequest::decode(&body[5..]).unwrap();
    rx.exports.lock().unwrap().push((headers, req));
    let status = if rx.fail.load(Ordering::SeqCst) {
        "13"
    } else {
        "0"
    };
    let mut trailers = HeaderMap::new();
    trailers.insert("grpc-status", status.parse().unwrap());
    // An empty ExportTraceServiceResponse, framed, then the status in the trailers.
    let body = Full::new(Bytes::from_static(&[0, 0, 0, 0, 0]))
        .with_trailers(async move { Some(Ok(trailers)) });
    Response::builder()
        .status(StatusCode::OK)
        .header("content-type", "application/grpc")
        .body(Body::new(body))
        .unwrap()
}

/// A receiver on 127.0.0.1 (HTTP/1.1 and cleartext HTTP/2).
async fn receiver() -> (String, Arc<Received>, tokio::task::JoinHandle<()>) {
    let rx = Arc::new(Received::default());
    let app = Router::new()
        .route("/v1/traces", post(otlp_http))
        .route(
            "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
            post(otlp_grpc),
        )
        .with_state(Arc::clone(&rx));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, rx, task)
}

fn attr(span: &Span, key: &str) -> Option<Any> {
    span.attributes
        .iter()
        .find(|a| a.key == key)
        .and_then(|a| a.value.clone()?.value)
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn otel_plugin(url: &str, protocol: &str) -> Value {
    json!({"plugins": [{"enabled": true, "name": "otel", "config": {
        "service_name": "bifrost-e2e", "collector_url": url, "trace_type": "genai_extension",
        "protocol": protocol, "headers": {"x-otel-key": "env.E2E_OTEL_KEY"}}}]})
}

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT: &str = "00f067aa0ba902b7";

#[tokio::test]
async fn otel_exports_genai_spans_over_http() {
    within(90, async {
        let mock = Mock::openai("m").await;
        let (url, rx, _task) = receiver().await;
        let env = [
            ("E2E_OTEL_KEY", "otel-secret"),
            (
                "OTEL_RESOURCE_ATTRIBUTES",
                "deployment.environment=e2e,team.name=plat%20form",
            ),
        ];
        let gw = gateway(&mock, otel_plugin(&url, "http"), &env).await;
        let mut chat = chat_body("openai/gpt-4o-mini", "hello");
        chat["temperature"] = json!(0.3);
        chat["max_tokens"] = json!(64);
        let traceparent = format!("00-{TRACE_ID}-{PARENT}-01");
        let (status, _) = gw
            .post_with(
                "/v1/chat/completions",
                &chat,
                &[("traceparent", &traceparent)],
            )
            .await;
        assert_eq!(status, 200);
        let embed = json!({"model": "openai/text-embedding-3-small", "input": "hi"});
        assert_eq!(gw.post("/v1/embeddings", &embed).await.0, 200);
        mock.fail_next(1, 500, openai::error("boom", "server_error", "internal"));
        assert!(gw.chat(&chat_body("openai/gpt-4o-mini", "x")).await.0 >= 400);

        let spans = eventually(15, "three spans", || async {
            let spans = rx.spans();
            (spans.len() >= 3).then_some(spans)
        })
        .await;
        assert_eq!(spans.len(), 3);
        let ok = spans
            .iter()
            .find(|s| hex(&s.trace_id) == TRACE_ID)
            .expect("the span of the traced request");
        assert_eq!(ok.name, "gen_ai.chat");
        assert_eq!(hex(&ok.parent_span_id), PARENT);
        assert_ne!(hex(&ok.span_id), PARENT);
        assert_eq!(
            attr(ok, "gen_ai.provider.name"),
            Some(Any::StringValue("openai".into()))
        );
        assert_eq!(
            attr(ok, "gen_ai.request.model"),
            Some(Any::StringValue("gpt-4o-mini".into()))
        );
        assert_eq!(
            attr(ok, "gen_ai.request.temperature"),
            Some(Any::DoubleValue(0.3))
        );
        assert_eq!(
            attr(ok, "gen_ai.request.max_tokens"),
            Some(Any::IntValue(64))
        );
        assert_eq!(
            attr(ok, "gen_ai.usage.prompt_tokens"),
            Some(Any::IntValue(9))
        );
        assert_eq!(
            attr(ok, "gen_ai.usage.completion_tokens"),
            Some(Any::IntValue(3))
        );
        assert_eq!(
            attr(ok, "gen_ai.usage.total_tokens"),
            Some(Any::IntValue(12))
        );
        // Governance prices the request from the catalog.
        let cost = attr(ok, "gen_ai.usage.cost");
        assert!(
            matches!(cost, Some(Any::DoubleValue(c)) if c > 0.0),
            "{cost:?}"
        );
        assert_eq!(ok.status.as_ref().unwrap().code, 1);
        assert!(ok.end_time_unix_nano > ok.start_time_unix_nano);

        let embedding = spans
            .iter()
            .find(|s| s.name == "gen_ai.embedding")
            .expect("an embedding span");
        assert!(
            embedding.parent_span_id.is_empty(),
            "no traceparent, no parent"
        );
        let failed = spans
            .iter()
            .find(|s| s.status.as_ref().is_some_and(|st| st.code == 2))
            .expect("an error span");
        assert_eq!(failed.name, "gen_ai.chat");
        assert_eq!(
            attr(failed, "http.response.status_code"),
            Some(Any::IntValue(500))
        );

        let exports = rx.exports.lock().unwrap().clone();
        for (headers, req) in &exports {
            assert_eq!(headers["x-otel-key"], "otel-secret", "env. header resolved");
            let resource = req.resource_spans[0].resource.as_ref().unwrap();
            let get = |k: &str| {
                resource
                    .attributes
                    .iter()
                    .find(|a| a.key == k)
                    .and_then(|a| a.value.clone()?.value)
            };
            assert_eq!(
                get("service.name"),
                Some(Any::StringValue("bifrost-e2e".into()))
            );
            assert_eq!(
                get("deployment.environment"),
                Some(Any::StringValue("e2e".into()))
            );
            assert_eq!(get("team.name"), Some(Any::StringValue("plat form".into())));
        }
        let (_, samples) = scrape(&gw).await;
        assert_eq!(one(&samples, "bifrost_otel_spans_dropped_total", &[]), 0.0);
    })
    .await;
}

#[tokio::test]
async fn otel_exports_over_grpc_and_counts_failed_exports() {
    within(90, async {
        let mock = Mock::openai("m").await;
        let (url, rx, _task) = receiver().await;
        // No scheme, as in Bifrost's gRPC examples: plain text to a local collector.
        let endpoint = url.trim_start_matches("http://").to_owned();
        let gw = gateway(
            &mock,
            otel_plugin(&endpoint, "grpc"),
            &[("E2E_OTEL_KEY", "k")],
        )
        .await;
        let traceparent = format!("00-{TRACE_ID}-{PARENT}-01");
        let chat = chat_body("openai/gpt-4o-mini", "hello");
        assert_eq!(
            gw.post_with(
                "/v1/chat/completions",
                &chat,
                &[("traceparent", &traceparent)]
            )
            .await
            .0,
            200
        );
        let spans = eventually(15, "a span over gRPC", || async {
            let spans = rx.spans();
            (!spans.is_empty()).then_some(spans)
        })
        .await;
        assert_eq!(spans[0].name, "gen_ai.chat");
        assert_eq!(hex(&spans[0].trace_id), TRACE_ID);
        assert_eq!(hex(&spans[0].parent_span_id), PARENT);
        assert_eq!(rx.exports.lock().unwrap()[0].0["x-otel-key"], "k");
        let (_, samples) = scrape(&gw).await;
        assert_eq!(one(&samples, "bifrost_otel_spans_dropped_total", &[]), 0.0);

        // The collector refuses: the span is dropped and counted, the request unaffected.
        rx.fail.store(true, Ordering::SeqCst);
        assert_eq!(gw.chat(&chat).await.0, 200);
        eventually(15, "the failed export to be counted", || async {
            let (_, samples) = scrape(&gw).await;
            (one(&samples, "bifrost_otel_spans_dropped_total", &[]) == 1.0).then_some(())
        })
        .await;
        assert_eq!(rx.spans().len(), 2, "the refused batch did arrive");
    })
    .await;
}

#[tokio::test]
async fn telemetry_plugin_off_means_no_metrics_route_and_requests_still_flow() {
    within(60, async {
        let mock = Mock::openai("m").await;
        let off = json!({"plugins": [{"enabled": false, "name": "telemetry", "config": {}}]});
        let gw = gateway(&mock, off, &[]).await;
        let chat = chat_body("openai/gpt-4o-mini", "hello");
        let (status, body) = gw.post_with("/v1/chat/completions", &chat, &[TEAM]).await;
        assert_eq!(status, 200, "{body}");
        let mut stream = chat.clone();
        stream["stream"] = json!(true);
        let sse = gw.stream("/v1/chat/completions", &stream, &[]).await;
        assert_eq!(sse.status, 200);
        assert!(sse.ends_with_done(), "{}", sse.raw);
        assert_eq!(mock.requests().len(), 2, "both reached the upstream");

        // No registry: Bifrost registers no /metrics route, so the router's JSON 404 answers,
        // for a scraper and for a browser alike (never the dashboard page).
        let (status, body) = gw.get("/metrics").await;
        assert_eq!(status, 404, "{body}");
        let message = assert_error_shape(&body, 404);
        assert!(message.contains("/metrics"), "{message}");
        let page = http()
            .get(format!("{}/metrics", gw.url))
            .header("accept", "text/html")
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), 404);

        // The other observers still get every record: the request log has both requests.
        eventually(15, "both requests in the request log", || async {
            let (_, logs) = gw.get("/api/logs?limit=10").await;
            (logs["pagination"]["total_count"] == 2).then_some(())
        })
        .await;
    })
    .await;
}
