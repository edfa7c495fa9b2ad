//! From a finished request to a GenAI span (`trace_type: genai_extension`): the span name by
//! request type, the `gen_ai.*` attributes, the parent from the client's W3C `traceparent`,
//! and the resource from `service_name` and `OTEL_RESOURCE_ATTRIBUTES`.
//!
//! The request path only moves the record's strings into a [`Pending`]; parsing the
//! parameters and generating ids happen on the exporter task.

use serde_json::Value as Json;

use crate::engine::tracking::{RequestRecord, Status};
use crate::schemas::RequestType;

/// An attribute value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `string_value`.
    Str(String),
    /// `bool_value`.
    Bool(bool),
    /// `int_value`.
    Int(i64),
    /// `double_value`.
    Double(f64),
}

/// What every span of the process shares.
#[derive(Debug, Clone)]
pub struct Resource {
    /// `service.name`, `service.version`, `OTEL_RESOURCE_ATTRIBUTES`, ...
    pub attributes: Vec<(String, Value)>,
    /// The instrumentation scope's name.
    pub scope_name: String,
    /// Its version.
    pub scope_version: String,
}

impl Resource {
    /// The resource for `service_name`, merged with `OTEL_RESOURCE_ATTRIBUTES` (the raw
    /// variable, if set). The configured service name wins over one in the variable, as it is
    /// the more specific setting.
    pub fn new(service_name: &str, env_attributes: Option<&str>) -> Self {
        let mut attributes: Vec<(String, Value)> = vec![
            ("service.name".into(), Value::Str(service_name.into())),
            ("service.version".into(), Value::Str(crate::VERSION.into())),
            ("telemetry.sdk.name".into(), Value::Str("bifrost".into())),
            ("telemetry.sdk.language".into(), Value::Str("rust".into())),
        ];
        for (k, v) in parse_resource_attributes(env_attributes.unwrap_or("")) {
            if k == "service.name" {
                continue;
            }
            match attributes.iter_mut().find(|(name, _)| *name == k) {
                Some(slot) => slot.1 = Value::Str(v),
                None => attributes.push((k, Value::Str(v))),
            }
        }
        Self {
            attributes,
            scope_name: "bifrost".into(),
            scope_version: crate::VERSION.into(),
        }
    }
}

/// `OTEL_RESOURCE_ATTRIBUTES`: `key=value` pairs separated by commas, values percent-encoded
/// (W3C Baggage octets). Malformed pairs are skipped, as the specification asks.
pub fn parse_resource_attributes(raw: &str) -> Vec<(String, String)> {
    raw.split(',')
        .filter_map(|pair| {
            let (k, v) = pair.split_once('=')?;
            let k = k.trim();
            (!k.is_empty()).then(|| (k.to_owned(), percent_decode(v.trim())))
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| char::from(b).to_digit(16);
        match (bytes[i], bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&h), Some(&l)) if hex(h).is_some() && hex(l).is_some() => {
                let (h, l) = (hex(h).unwrap_or(0), hex(l).unwrap_or(0));
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A W3C trace context: the caller's trace and its span, our parent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parent {
    /// The trace id.
    pub trace_id: [u8; 16],
    /// The caller's span id.
    pub span_id: [u8; 8],
}

/// Parses `traceparent` (`00-<32 hex>-<16 hex>-<2 hex>`); `None` when invalid (then the span
/// starts a new trace, as the W3C specification asks). Later versions may append fields.
pub fn parse_traceparent(header: &str) -> Option<Parent> {
    let mut parts = header.trim().split('-');
    let version = parts.next()?;
    let trace = parts.next()?;
    let span = parts.next()?;
    let flags = parts.next()?;
    if version.len() != 2 || version.eq_ignore_ascii_case("ff") || flags.len() != 2 {
        return None;
    }
    if version == "00" && parts.next().is_some() {
        return None;
    }
    hex::<1>(version)?;
    hex::<1>(flags)?;
    let trace_id = hex::<16>(trace)?;
    let span_id = hex::<8>(span)?;
    if trace_id == [0; 16] || span_id == [0; 8] {
        return None;
    }
    Some(Parent { trace_id, span_id })
}

fn hex<const N: usize>(s: &str) -> Option<[u8; N]> {
    if s.len() != N * 2 {
        return None;
    }
    let mut out = [0u8; N];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(s.get(i * 2..i * 2 + 2)?, 16).ok()?;
    }
    Some(out)
}

/// A finished request, trimmed to what its span needs (moved out of the record, not copied).
#[derive(Debug)]
pub struct Pending {
    request_type: RequestType,
    provider: String,
    model: String,
    timestamp_ms: i64,
    latency_ms: f64,
    status: Status,
    error: Option<(u16, String, String)>,
    usage: Option<(u64, u64, u64)>,
    cost: Option<f64>,
    params: Option<String>,
    /// The client's body when the log kept it raw: its top-level fields are the parameters.
    raw_params: Option<bytes::Bytes>,
    traceparent: Option<String>,
    request_id: String,
}

impl From<RequestRecord> for Pending {
    fn from(r: RequestRecord) -> Self {
        Self {
            request_type: r.request_type,
            provider: r.provider,
            model: r.model,
            timestamp_ms: r.timestamp_ms,
            latency_ms: r.latency_ms,
            status: r.status,
            error: r.error.map(|e| (e.status_code, e.kind, e.message)),
            usage: r
                .usage
                .map(|u| (u.prompt_tokens, u.completion_tokens, u.total_tokens)),
            cost: r.cost,
            params: r.params,
            raw_params: r.raw_request.map(|raw| raw.body),
            traceparent: r.telemetry.traceparent,
            request_id: r.id,
        }
    }
}

/// One span ready to encode.
#[derive(Debug, Clone)]
pub struct SpanData {
    /// 16 bytes.
    pub trace_id: [u8; 16],
    /// 8 bytes.
    pub span_id: [u8; 8],
    /// The caller's span, from `traceparent`.
    pub parent_span_id: Option<[u8; 8]>,
    /// `gen_ai.chat`, `gen_ai.text` or `gen_ai.embedding`.
    pub name: &'static str,
    /// Start, Unix nanoseconds.
    pub start_unix_nano: u64,
    /// End, Unix nanoseconds.
    pub end_unix_nano: u64,
    /// `gen_ai.*` and error attributes.
    pub attributes: Vec<(&'static str, Value)>,
    /// `Status.code`: 1 OK, 2 ERROR.
    pub status_code: u64,
    /// `Status.message` for errors.
    pub status_message: String,
}

/// The span name and `gen_ai.operation.name` of a request type.
fn names(t: RequestType) -> (&'static str, &'static str) {
    match t {
        RequestType::ChatCompletion | RequestType::ChatCompletionStream => ("gen_ai.chat", "chat"),
        RequestType::TextCompletion | RequestType::TextCompletionStream => {
            ("gen_ai.text", "text_completion")
        }
        RequestType::Embedding => ("gen_ai.embedding", "embeddings"),
        RequestType::ListModels => ("gen_ai.list_models", "list_models"),
        RequestType::Rerank => ("gen_ai.rerank", "rerank"),
        RequestType::Passthrough | RequestType::PassthroughStream => {
            ("gen_ai.passthrough", "passthrough")
        }
    }
}

impl Pending {
    /// The span, with fresh ids (and the caller's trace when `traceparent` was valid).
    pub fn into_span(self) -> SpanData {
        let parent = self.traceparent.as_deref().and_then(parse_traceparent);
        let trace_id = parent.map_or_else(random_trace_id, |p| p.trace_id);
        let (name, operation) = names(self.request_type);
        let mut attributes: Vec<(&'static str, Value)> = vec![
            ("gen_ai.provider.name", Value::Str(self.provider)),
            ("gen_ai.request.model", Value::Str(self.model)),
            ("gen_ai.operation.name", Value::Str(operation.into())),
            ("bifrost.request.id", Value::Str(self.request_id)),
        ];
        let params = match (&self.params, &self.raw_params) {
            (Some(p), _) => serde_json::from_str::<Json>(p).ok(),
            (None, Some(body)) => serde_json::from_slice::<Json>(body).ok(),
            (None, None) => None,
        };
        if let Some(params) = params {
            request_attributes(&params, &mut attributes);
        }
        if let Some((prompt, completion, total)) = self.usage {
            let int = |n: u64| Value::Int(i64::try_from(n).unwrap_or(i64::MAX));
            attributes.extend([
                ("gen_ai.usage.prompt_tokens", int(prompt)),
                ("gen_ai.usage.completion_tokens", int(completion)),
                ("gen_ai.usage.total_tokens", int(total)),
                // The current semantic-convention names, for backends that read only those.
                ("gen_ai.usage.input_tokens", int(prompt)),
                ("gen_ai.usage.output_tokens", int(completion)),
            ]);
        }
        if let Some(cost) = self.cost {
            attributes.push(("gen_ai.usage.cost", Value::Double(cost)));
        }
        let (status_code, status_message) = match (self.status, self.error) {
            (Status::Success, _) => (1, String::new()),
            (_, Some((code, kind, message))) => {
                attributes.push(("error.type", Value::Str(kind)));
                attributes.push(("http.response.status_code", Value::Int(i64::from(code))));
                (2, message)
            }
            (_, None) => (2, "request failed".into()),
        };
        let start = u64::try_from(self.timestamp_ms).unwrap_or(0) * 1_000_000;
        let duration = (self.latency_ms.max(0.0) * 1_000_000.0) as u64;
        SpanData {
            trace_id,
            span_id: random_span_id(),
            parent_span_id: parent.map(|p| p.span_id),
            name,
            start_unix_nano: start,
            end_unix_nano: start.saturating_add(duration),
            attributes,
            status_code,
            status_message,
        }
    }
}

/// `gen_ai.request.*` from the request's parameters.
fn request_attributes(params: &Json, out: &mut Vec<(&'static str, Value)>) {
    let number = |k: &str| params.get(k).and_then(Json::as_f64);
    if let Some(t) = number("temperature") {
        out.push(("gen_ai.request.temperature", Value::Double(t)));
    }
    let max = params
        .get("max_completion_tokens")
        .or_else(|| params.get("max_tokens"))
        .and_then(Json::as_i64);
    if let Some(m) = max {
        out.push(("gen_ai.request.max_tokens", Value::Int(m)));
    }
    for (key, attr) in [
        ("top_p", "gen_ai.request.top_p"),
        ("frequency_penalty", "gen_ai.request.frequency_penalty"),
        ("presence_penalty", "gen_ai.request.presence_penalty"),
    ] {
        if let Some(v) = number(key) {
            out.push((attr, Value::Double(v)));
        }
    }
    if let Some(stream) = params.get("stream").and_then(Json::as_bool) {
        out.push(("gen_ai.request.stream", Value::Bool(stream)));
    }
}

fn random_trace_id() -> [u8; 16] {
    loop {
        let id: [u8; 16] = rand::random();
        if id != [0; 16] {
            return id;
        }
    }
}

fn random_span_id() -> [u8; 8] {
    loop {
        let id: [u8; 8] = rand::random();
        if id != [0; 8] {
            return id;
        }
    }
}
