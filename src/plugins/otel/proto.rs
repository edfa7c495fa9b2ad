//! The OTLP trace request (`ExportTraceServiceRequest`, opentelemetry-proto v1) in protobuf
//! wire format, written by hand.
//!
//! Why by hand: the messages we send are a handful of fields, and the generated `prost` types
//! would bring `opentelemetry`, `opentelemetry_sdk`, `prost` and its derive macros into the
//! release build for about a hundred lines of encoding. The tests decode our bytes with the
//! official generated types, so a wrong field number cannot go unnoticed.

use super::span::{Resource, SpanData, Value};

/// Protobuf wire types.
const VARINT: u8 = 0;
const FIXED64: u8 = 1;
const LEN: u8 = 2;

/// `Span.SpanKind`: CLIENT, as the GenAI semantic conventions ask for model calls.
const SPAN_KIND_CLIENT: u64 = 3;

/// `ExportTraceServiceRequest` with one resource and one scope holding `spans`.
pub fn export_request(resource: &Resource, spans: &[SpanData]) -> Vec<u8> {
    let mut out = Vec::with_capacity(256 + spans.len() * 512);
    // ExportTraceServiceRequest.resource_spans = 1
    message(&mut out, 1, |rs| {
        // ResourceSpans.resource = 1
        message(rs, 1, |r| {
            for (k, v) in &resource.attributes {
                // Resource.attributes = 1
                key_value(r, 1, k, v);
            }
        });
        // ResourceSpans.scope_spans = 2
        message(rs, 2, |ss| {
            // ScopeSpans.scope = 1 (InstrumentationScope: name = 1, version = 2)
            message(ss, 1, |scope| {
                string(scope, 1, &resource.scope_name);
                string(scope, 2, &resource.scope_version);
            });
            for span in spans {
                // ScopeSpans.spans = 2
                message(ss, 2, |s| encode_span(s, span));
            }
        });
    });
    out
}

fn encode_span(out: &mut Vec<u8>, span: &SpanData) {
    bytes(out, 1, &span.trace_id);
    bytes(out, 2, &span.span_id);
    if let Some(parent) = &span.parent_span_id {
        bytes(out, 4, parent);
    }
    string(out, 5, span.name);
    varint_field(out, 6, SPAN_KIND_CLIENT);
    fixed64(out, 7, span.start_unix_nano);
    fixed64(out, 8, span.end_unix_nano);
    for (k, v) in &span.attributes {
        key_value(out, 9, k, v);
    }
    // Span.status = 15 (Status: message = 2, code = 3)
    message(out, 15, |st| {
        if !span.status_message.is_empty() {
            string(st, 2, &span.status_message);
        }
        varint_field(st, 3, span.status_code);
    });
}

/// A `KeyValue` (key = 1, value = 2) as field `field`.
fn key_value(out: &mut Vec<u8>, field: u32, key: &str, value: &Value) {
    message(out, field, |kv| {
        string(kv, 1, key);
        // AnyValue: string_value = 1, bool_value = 2, int_value = 3, double_value = 4. A oneof
        // member is written even when it holds its default, or the value would read as unset.
        message(kv, 2, |any| match value {
            Value::Str(s) => string(any, 1, s),
            Value::Bool(b) => varint_field(any, 2, u64::from(*b)),
            // int64 is a varint of the two's complement.
            Value::Int(i) => varint_field(any, 3, *i as u64),
            Value::Double(d) => fixed64(any, 4, d.to_bits()),
        });
    });
}

fn tag(out: &mut Vec<u8>, field: u32, wire_type: u8) {
    varint(out, (u64::from(field) << 3) | u64::from(wire_type));
}

fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn varint_field(out: &mut Vec<u8>, field: u32, v: u64) {
    tag(out, field, VARINT);
    varint(out, v);
}

fn fixed64(out: &mut Vec<u8>, field: u32, v: u64) {
    tag(out, field, FIXED64);
    out.extend_from_slice(&v.to_le_bytes());
}

fn bytes(out: &mut Vec<u8>, field: u32, b: &[u8]) {
    tag(out, field, LEN);
    varint(out, b.len() as u64);
    out.extend_from_slice(b);
}

fn string(out: &mut Vec<u8>, field: u32, s: &str) {
    bytes(out, field, s.as_bytes());
}

/// A nested message: encoded apart, then written with its length.
fn message(out: &mut Vec<u8>, field: u32, body: impl FnOnce(&mut Vec<u8>)) {
    let mut inner = Vec::new();
    body(&mut inner);
    bytes(out, field, &inner);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_match_the_protobuf_examples() {
        let mut out = Vec::new();
        varint(&mut out, 150);
        assert_eq!(out, [0x96, 0x01]);
        let mut out = Vec::new();
        varint(&mut out, 1);
        assert_eq!(out, [0x01]);
        let mut out = Vec::new();
        varint_field(&mut out, 3, u64::MAX);
        assert_eq!(out.len(), 11);
    }
}
