//! Span building and encoding: `traceparent` and `OTEL_RESOURCE_ATTRIBUTES` parsing, collector
//! URLs, the plugin entry, and our protobuf bytes decoded by the official generated types.

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;
use prost::Message;
use serde_json::json;

use super::export::{endpoint, Protocol};
use super::span::{parse_resource_attributes, parse_traceparent, Pending, Resource, Value};
use super::*;
use crate::engine::tracking::{RecordTelemetry, RecordedError, RequestRecord, Status};
use crate::schemas::openai::Usage;
use crate::schemas::RequestType;

fn record() -> RequestRecord {
    RequestRecord {
        id: "req-1".into(),
        timestamp_ms: 1_767_225_600_000,
        request_type: RequestType::ChatCompletion,
        stream: false,
        provider: "openai".into(),
        model: "gpt-4o".into(),
        selected_key_id: None,
        selected_key_name: None,
        number_of_retries: 0,
        fallback_index: 0,
        status: Status::Success,
        latency_ms: 250.0,
        ttft_ms: None,
        usage: Some(Usage {
            prompt_tokens: 45,
            completion_tokens: 128,
            total_tokens: 173,
            ..Usage::default()
        }),
        error: None,
        input: None,
        params: Some(r#"{"temperature":0.7,"max_tokens":1000}"#.into()),
        raw_request: None,
        output: None,
        metadata: vec![],
        virtual_key_id: None,
        virtual_key_name: None,
        cost: Some(0.0052),
        telemetry: RecordTelemetry {
            traceparent: Some("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".into()),
            ..RecordTelemetry::default()
        },
    }
}

#[test]
fn traceparent_is_parsed_and_invalid_ones_start_a_new_trace() {
    let p = parse_traceparent("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01").unwrap();
    assert_eq!(p.trace_id[0], 0x0a);
    assert_eq!(p.span_id[7], 0x31);
    for bad in [
        "",
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331",
        "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        "00-00000000000000000000000000000000-b7ad6b7169203331-01",
        "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",
        "00-0af7651916cd43dd8448eb211c80319z-b7ad6b7169203331-01",
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-extra",
    ] {
        assert!(parse_traceparent(bad).is_none(), "{bad}");
    }
    // A later version may append fields.
    assert!(
        parse_traceparent("01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-x").is_some()
    );
}

#[test]
fn resource_attributes_follow_the_environment_variable() {
    assert_eq!(
        parse_resource_attributes("deployment.environment=prod, team.name=plat%20form,bad,=x"),
        vec![
            ("deployment.environment".to_owned(), "prod".to_owned()),
            ("team.name".to_owned(), "plat form".to_owned()),
        ]
    );
    let r = Resource::new("gw", Some("service.name=ignored,service.version=9"));
    let get = |k: &str| {
        r.attributes
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(get("service.name"), Some(Value::Str("gw".into())));
    assert_eq!(get("service.version"), Some(Value::Str("9".into())));
}

#[test]
fn collector_urls_get_their_paths() {
    assert_eq!(
        endpoint(Protocol::Http, "http://localhost:4318/", false),
        "http://localhost:4318/v1/traces"
    );
    assert_eq!(
        endpoint(
            Protocol::Http,
            "https://x.io/api/public/otel/v1/traces",
            false
        ),
        "https://x.io/api/public/otel/v1/traces"
    );
    assert_eq!(
        endpoint(Protocol::Grpc, "localhost:4317", false),
        "http://localhost:4317/opentelemetry.proto.collector.trace.v1.TraceService/Export"
    );
    assert!(endpoint(Protocol::Grpc, "collector:4317", true).starts_with("https://"));
}

#[test]
fn the_plugin_entry_is_found_only_when_enabled() {
    let entry = |enabled: bool| {
        json!([{"name": "telemetry", "enabled": true, "config": {}},
               {"name": "otel", "enabled": enabled,
                "config": {"collector_url": "http://c:4318", "protocol": "grpc", "metrics_push_interval": 15}}])
    };
    let c = config_from_plugins(Some(&entry(true))).unwrap().unwrap();
    assert_eq!(c.protocol, "grpc");
    assert_eq!(c.service_name, "bifrost");
    assert!(config_from_plugins(Some(&entry(false))).unwrap().is_none());
    assert!(config_from_plugins(None).unwrap().is_none());
    let bad = json!([{"name": "otel", "enabled": true, "config": {"protocol": "http"}}]);
    assert!(
        config_from_plugins(Some(&bad)).is_err(),
        "collector_url is required"
    );
}

#[test]
fn spans_decode_with_the_official_types() {
    let mut failed = record();
    failed.status = Status::Error;
    failed.usage = None;
    failed.cost = None;
    failed.request_type = RequestType::Embedding;
    failed.telemetry.traceparent = None;
    failed.error = Some(RecordedError {
        status_code: 502,
        kind: "api_error".into(),
        message: "upstream down".into(),
    });
    let spans = vec![
        Pending::from(record()).into_span(),
        Pending::from(failed).into_span(),
    ];
    let resource = Resource::new("bifrost-test", Some("deployment.environment=test"));
    let bytes = proto::export_request(&resource, &spans);
    let req = ExportTraceServiceRequest::decode(bytes.as_slice()).unwrap();
    let rs = &req.resource_spans[0];
    let res_attr = |k: &str| {
        rs.resource
            .as_ref()
            .unwrap()
            .attributes
            .iter()
            .find(|a| a.key == k)
            .and_then(|a| a.value.clone()?.value)
    };
    assert_eq!(
        res_attr("service.name"),
        Some(Any::StringValue("bifrost-test".into()))
    );
    assert_eq!(
        res_attr("deployment.environment"),
        Some(Any::StringValue("test".into()))
    );
    let ss = &rs.scope_spans[0];
    assert_eq!(ss.scope.as_ref().unwrap().name, "bifrost");
    let ok = &ss.spans[0];
    assert_eq!(ok.name, "gen_ai.chat");
    assert_eq!(hex(&ok.trace_id), "0af7651916cd43dd8448eb211c80319c");
    assert_eq!(hex(&ok.parent_span_id), "b7ad6b7169203331");
    assert_eq!(ok.span_id.len(), 8);
    assert_eq!(ok.kind, 3);
    assert_eq!(ok.start_time_unix_nano, 1_767_225_600_000_000_000);
    assert_eq!(ok.end_time_unix_nano - ok.start_time_unix_nano, 250_000_000);
    assert_eq!(ok.status.as_ref().unwrap().code, 1);
    let attr = |s: &opentelemetry_proto::tonic::trace::v1::Span, k: &str| {
        s.attributes
            .iter()
            .find(|a| a.key == k)
            .and_then(|a| a.value.clone()?.value)
    };
    assert_eq!(
        attr(ok, "gen_ai.provider.name"),
        Some(Any::StringValue("openai".into()))
    );
    assert_eq!(
        attr(ok, "gen_ai.request.model"),
        Some(Any::StringValue("gpt-4o".into()))
    );
    assert_eq!(
        attr(ok, "gen_ai.request.temperature"),
        Some(Any::DoubleValue(0.7))
    );
    assert_eq!(
        attr(ok, "gen_ai.request.max_tokens"),
        Some(Any::IntValue(1000))
    );
    assert_eq!(
        attr(ok, "gen_ai.usage.prompt_tokens"),
        Some(Any::IntValue(45))
    );
    assert_eq!(
        attr(ok, "gen_ai.usage.completion_tokens"),
        Some(Any::IntValue(128))
    );
    assert_eq!(
        attr(ok, "gen_ai.usage.total_tokens"),
        Some(Any::IntValue(173))
    );
    assert_eq!(
        attr(ok, "gen_ai.usage.cost"),
        Some(Any::DoubleValue(0.0052))
    );

    let bad = &ss.spans[1];
    assert_eq!(bad.name, "gen_ai.embedding");
    assert!(bad.parent_span_id.is_empty());
    assert_eq!(bad.trace_id.len(), 16);
    assert_ne!(bad.trace_id, ok.trace_id, "no traceparent: a new trace");
    let status = bad.status.as_ref().unwrap();
    assert_eq!((status.code, status.message.as_str()), (2, "upstream down"));
    assert_eq!(
        attr(bad, "http.response.status_code"),
        Some(Any::IntValue(502))
    );
    assert_eq!(attr(bad, "gen_ai.usage.cost"), None);
}

#[test]
fn a_full_queue_drops_and_counts_without_blocking() {
    let config: OtelConfig =
        serde_json::from_value(json!({"collector_url": "http://127.0.0.1:9"})).unwrap();
    let (otel, _exporter) = Otel::new(&config).unwrap();
    for _ in 0..QUEUE_CAPACITY + 3 {
        otel.finished(&Arc::new(record()));
    }
    assert_eq!(otel.dropped().load(Ordering::Relaxed), 3);
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
