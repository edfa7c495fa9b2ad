//! Anthropic's Messages API: `/v1/messages` JSON and the native SSE event sequence
//! (message_start, content_block_start, ping, content_block_delta with text_delta and
//! input_json_delta, content_block_stop, message_delta, message_stop), `/v1/models`, and
//! Anthropic's error JSON. A user text containing `[max_tokens]` stops for `max_tokens`.

use std::sync::Arc;

use axum::response::Response;
use serde_json::{json, Value};

use super::{json_response, last_user_text, sse_response, MockState, Recorded};

/// Anthropic's error body.
pub fn error(kind: &str, message: &str) -> Value {
    json!({"type": "error", "error": {"type": kind, "message": message}})
}

pub fn route(state: &Arc<MockState>, rec: &Recorded) -> Response {
    match (rec.method.as_str(), rec.path.as_str()) {
        ("POST", "/v1/messages") if rec.body["stream"] == true => stream(state, rec),
        ("POST", "/v1/messages") => json_response(200, &message(state, rec)),
        ("GET", "/v1/models") => json_response(200, &models(state)),
        _ => json_response(
            404,
            &error(
                "not_found_error",
                &format!("no route {} {}", rec.method, rec.path),
            ),
        ),
    }
}

fn tool_name(body: &Value) -> Option<String> {
    let name = body["tools"][0]["name"].as_str()?;
    // After a tool_result the model answers in text.
    let answered = body["messages"]
        .as_array()
        .and_then(|m| m.last())
        .and_then(|m| m["content"].as_array())
        .is_some_and(|blocks| blocks.iter().any(|b| b["type"] == "tool_result"));
    (!answered).then(|| name.to_owned())
}

/// `max_tokens` when the last user text contains [`openai::MAX_TOKENS_MARKER`], else
/// `end_turn`.
fn text_stop(body: &Value) -> &'static str {
    if last_user_text(&body["messages"]).contains(super::openai::MAX_TOKENS_MARKER) {
        "max_tokens"
    } else {
        "end_turn"
    }
}

/// The text the model answers with.
pub fn answer_text(state: &MockState, body: &Value) -> String {
    format!(
        "{} says: {}",
        state.label,
        last_user_text(&body["messages"])
    )
}

fn message(state: &MockState, rec: &Recorded) -> Value {
    let body = &rec.body;
    let mut content = vec![json!({"type": "text", "text": answer_text(state, body)})];
    let mut stop = text_stop(body);
    if let Some(tool) = tool_name(body) {
        content.push(json!({"type": "tool_use", "id": "toolu_mock_1", "name": tool, "input": {"city": "Paris"}}));
        stop = "tool_use";
    }
    json!({
        "id": "msg_mock_1",
        "type": "message",
        "role": "assistant",
        "model": body["model"],
        "content": content,
        "stop_reason": stop,
        "stop_sequence": null,
        "usage": {"input_tokens": 25, "output_tokens": 15}
    })
}

fn event(name: &str, data: &Value) -> String {
    format!("event: {name}\ndata: {data}\n\n")
}

/// The text deltas of a streamed answer.
pub const STREAM_PIECES: [&str; 2] = ["Hello", " from claude"];

fn stream(state: &Arc<MockState>, rec: &Recorded) -> Response {
    let body = &rec.body;
    let mut events = vec![
        event(
            "message_start",
            &json!({"type": "message_start", "message": {
                "id": "msg_mock_stream", "type": "message", "role": "assistant", "content": [],
                "model": body["model"], "stop_reason": null, "stop_sequence": null,
                "usage": {"input_tokens": 25, "output_tokens": 1}}}),
        ),
        event(
            "content_block_start",
            &json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
        ),
        event("ping", &json!({"type": "ping"})),
    ];
    for piece in STREAM_PIECES {
        events.push(event(
            "content_block_delta",
            &json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": piece}}),
        ));
    }
    events.push(event(
        "content_block_stop",
        &json!({"type": "content_block_stop", "index": 0}),
    ));
    let mut stop = text_stop(body);
    if let Some(tool) = tool_name(body) {
        events.push(event(
            "content_block_start",
            &json!({"type": "content_block_start", "index": 1,
                    "content_block": {"type": "tool_use", "id": "toolu_mock_stream", "name": tool, "input": {}}}),
        ));
        for part in ["", "{\"city\":", " \"Paris\"}"] {
            events.push(event(
                "content_block_delta",
                &json!({"type": "content_block_delta", "index": 1,
                        "delta": {"type": "input_json_delta", "partial_json": part}}),
            ));
        }
        events.push(event(
            "content_block_stop",
            &json!({"type": "content_block_stop", "index": 1}),
        ));
        stop = "tool_use";
    }
    events.push(event(
        "message_delta",
        &json!({"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": null},
                "usage": {"output_tokens": 15}}),
    ));
    events.push(event("message_stop", &json!({"type": "message_stop"})));
    sse_response(state, events)
}

fn models(state: &MockState) -> Value {
    let ids = state.models();
    let data: Vec<Value> = ids
        .iter()
        .map(|id| json!({"type": "model", "id": id, "display_name": id, "created_at": "2024-10-22T00:00:00Z"}))
        .collect();
    json!({"data": data, "has_more": false, "first_id": ids.first(), "last_id": ids.last()})
}
