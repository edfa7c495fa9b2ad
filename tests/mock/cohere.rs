//! Cohere's v2 API: `/v2/chat` JSON and its SSE event sequence (message-start, content-start,
//! content-delta, content-end, tool-plan-delta, tool-call-start/delta/end, message-end with
//! usage; `max_tokens: 1` or `[max_tokens]` in the user text ends it for `MAX_TOKENS`),
//! `/v2/embed`, `/v2/rerank`, `/v1/models`, and Cohere's error JSON.

use std::sync::Arc;

use axum::response::Response;
use serde_json::{json, Value};

use super::{json_response, sse_response, MockState, Recorded};

/// Cohere's error body.
pub fn error(message: &str) -> Value {
    json!({"id": "err-mock-1", "message": message})
}

pub fn route(state: &Arc<MockState>, rec: &Recorded) -> Response {
    match (rec.method.as_str(), rec.path.as_str()) {
        ("POST", "/v2/chat") if rec.body["stream"] == true => chat_stream(state, rec),
        ("POST", "/v2/chat") => json_response(200, &chat(state, rec)),
        ("POST", "/v2/embed") => json_response(200, &embed(rec)),
        ("POST", "/v2/rerank") => json_response(200, &rerank(rec)),
        ("GET", "/v1/models") => json_response(200, &models(state)),
        _ => json_response(
            404,
            &error(&format!("no route {} {}", rec.method, rec.path)),
        ),
    }
}

/// The text of the last user message of a Cohere message list.
pub fn last_user_text(messages: &Value) -> String {
    let Some(msg) = messages
        .as_array()
        .and_then(|m| m.iter().rev().find(|m| m["role"] == "user"))
    else {
        return String::new();
    };
    match &msg["content"] {
        Value::String(s) => s.clone(),
        Value::Array(blocks) => blocks
            .iter()
            .filter_map(|b| b["text"].as_str())
            .collect::<Vec<_>>()
            .join(""),
        _ => String::new(),
    }
}

/// The answer's text: the label and the last user message.
pub fn answer_text(state: &MockState, body: &Value) -> String {
    format!(
        "{} says: {}",
        state.label,
        last_user_text(&body["messages"])
    )
}

/// The tool the model calls: the first tool, unless a tool result was just sent.
fn wants_tool_call(body: &Value) -> Option<String> {
    let name = body["tools"][0]["function"]["name"].as_str()?;
    let answered = body["messages"]
        .as_array()
        .and_then(|m| m.last())
        .is_some_and(|m| m["role"] == "tool");
    (!answered).then(|| name.to_owned())
}

/// `MAX_TOKENS` when the client allowed a single token or the last user message asks for it
/// with [`super::openai::MAX_TOKENS_MARKER`], else `COMPLETE`.
fn text_finish(body: &Value) -> &'static str {
    if body["max_tokens"] == 1
        || last_user_text(&body["messages"]).contains(super::openai::MAX_TOKENS_MARKER)
    {
        "MAX_TOKENS"
    } else {
        "COMPLETE"
    }
}

fn usage() -> Value {
    json!({"billed_units": {"input_tokens": 11, "output_tokens": 7},
           "tokens": {"input_tokens": 211, "output_tokens": 7}})
}

fn chat(state: &MockState, rec: &Recorded) -> Value {
    let body = &rec.body;
    let (message, finish) = if let Some(tool) = wants_tool_call(body) {
        (
            json!({"role": "assistant", "tool_plan": "I will check the weather.", "tool_calls": [{
                "id": "get_weather_mock_1", "type": "function",
                "function": {"name": tool, "arguments": "{\"city\":\"Paris\"}"}}]}),
            "TOOL_CALL",
        )
    } else if body["response_format"]["type"] == "json_object" {
        (
            json!({"role": "assistant", "content": [{"type": "text", "text": "{\"answer\":42}"}]}),
            "COMPLETE",
        )
    } else {
        (
            json!({"role": "assistant", "content": [{"type": "text", "text": answer_text(state, body)}]}),
            text_finish(body),
        )
    };
    json!({"id": "chat-mock-1", "message": message, "finish_reason": finish, "usage": usage()})
}

fn event(data: &Value) -> String {
    format!(
        "event: {}\ndata: {data}\n\n",
        data["type"].as_str().unwrap_or_default()
    )
}

/// The text deltas of a streamed answer.
pub const STREAM_PIECES: [&str; 3] = ["Bon", "jour", " from cohere"];

fn chat_stream(state: &Arc<MockState>, rec: &Recorded) -> Response {
    let body = &rec.body;
    let mut events = vec![event(&json!({
        "id": "chat-mock-stream", "type": "message-start",
        "delta": {"message": {"role": "assistant", "content": [], "tool_plan": "", "tool_calls": [], "citations": []}}
    }))];
    let finish = if let Some(tool) = wants_tool_call(body) {
        events.push(event(
            &json!({"type": "tool-plan-delta", "delta": {"message": {"tool_plan": "Checking."}}}),
        ));
        events.push(event(&json!({"type": "tool-call-start", "index": 0, "delta": {"message": {"tool_calls": {
            "id": "get_weather_stream_1", "type": "function", "function": {"name": tool, "arguments": ""}}}}})));
        for part in ["{\"city\":", "\"Paris\"}"] {
            events.push(event(&json!({"type": "tool-call-delta", "index": 0,
                "delta": {"message": {"tool_calls": {"function": {"arguments": part}}}}})));
        }
        events.push(event(&json!({"type": "tool-call-end", "index": 0})));
        "TOOL_CALL"
    } else {
        events.push(event(&json!({"type": "content-start", "index": 0,
            "delta": {"message": {"content": {"type": "text", "text": ""}}}})));
        for piece in STREAM_PIECES {
            events.push(event(&json!({"type": "content-delta", "index": 0,
                "delta": {"message": {"content": {"text": piece}}}})));
        }
        events.push(event(&json!({"type": "content-end", "index": 0})));
        text_finish(body)
    };
    events.push(event(
        &json!({"type": "message-end", "delta": {"finish_reason": finish, "usage": usage()}}),
    ));
    sse_response(state, events)
}

fn embed(rec: &Recorded) -> Value {
    let texts = rec.body["texts"].as_array().cloned().unwrap_or_default();
    let kind = rec.body["embedding_types"][0]
        .as_str()
        .unwrap_or("float")
        .to_owned();
    let vectors: Vec<Value> = (0..texts.len())
        .map(|i| json!([0.5 * (i as f64 + 1.0), -0.25, 0.125]))
        .collect();
    json!({
        "id": "embed-mock-1",
        "embeddings": {kind: vectors},
        "texts": texts,
        "meta": {"api_version": {"version": "2"}, "billed_units": {"input_tokens": 3 * texts.len()}},
        "response_type": "embeddings_by_type"
    })
}

/// Scores each document by how many of the query's words it contains, most relevant first.
fn rerank(rec: &Recorded) -> Value {
    let query = rec.body["query"]
        .as_str()
        .unwrap_or_default()
        .to_lowercase();
    let docs = rec.body["documents"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let mut results: Vec<(usize, f64)> = docs
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let text = d.as_str().unwrap_or_default().to_lowercase();
            let hits = query
                .split_whitespace()
                .filter(|w| text.contains(w))
                .count();
            (i, hits as f64 / 10.0 + 0.01 * (docs.len() - i) as f64)
        })
        .collect();
    results.sort_by(|a, b| b.1.total_cmp(&a.1));
    if let Some(n) = rec.body["top_n"].as_u64() {
        results.truncate(n as usize);
    }
    json!({
        "id": "rerank-mock-1",
        "results": results.iter().map(|(i, s)| json!({"index": i, "relevance_score": s})).collect::<Vec<_>>(),
        "meta": {"api_version": {"version": "2"}, "billed_units": {"search_units": 1}}
    })
}

fn models(state: &MockState) -> Value {
    let models: Vec<Value> = state
        .models()
        .iter()
        .map(|name| json!({"name": name, "endpoints": ["chat"], "finetuned": false, "context_length": 128000.0}))
        .collect();
    json!({"models": models})
}
