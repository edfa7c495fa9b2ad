//! The OpenAI wire format: chat completions (JSON, tool calls, JSON mode, SSE with a final usage
//! chunk and `[DONE]`; `[max_tokens]` in the user text ends it for `length`), text completions,
//! embeddings and the model list.

use std::sync::Arc;

use axum::response::Response;
use serde_json::{json, Value};

use super::{json_response, last_user_text, sse_response, MockState, Recorded};

pub const CREATED: u64 = 1_700_000_000;

/// A user text containing this makes the answer stop for length (as if `max_tokens` cut it).
pub const MAX_TOKENS_MARKER: &str = "[max_tokens]";

/// OpenAI's error body.
pub fn error(message: &str, kind: &str, code: &str) -> Value {
    json!({"error": {"message": message, "type": kind, "param": null, "code": code}})
}

pub fn route(state: &Arc<MockState>, rec: &Recorded) -> Response {
    let stream = rec.body["stream"] == true;
    // Azure OpenAI serves the same API under `/openai/deployments/{deployment}/...`.
    let path = match rec.path.strip_prefix("/openai/deployments/") {
        Some(rest) => rest
            .split_once('/')
            .map_or_else(|| rec.path.clone(), |(_, op)| format!("/v1/{op}")),
        None => rec.path.clone(),
    };
    match (rec.method.as_str(), path.as_str()) {
        ("POST", "/v1/chat/completions") if stream => chat_stream(state, rec),
        ("POST", "/v1/chat/completions") => json_response(200, &chat(state, rec)),
        ("POST", "/v1/completions") if stream => text_stream(state, rec),
        ("POST", "/v1/completions") => json_response(200, &text(state, rec)),
        ("POST", "/v1/embeddings") => json_response(200, &embeddings(rec)),
        // vLLM's rerank API (Cohere-shaped, with usage and documents in the results).
        ("POST", "/v1/rerank") => json_response(200, &rerank(rec)),
        ("GET", "/v1/models") => json_response(200, &models(state)),
        _ => json_response(
            404,
            &error(
                &format!("no route {} {}", rec.method, rec.path),
                "invalid_request_error",
                "not_found",
            ),
        ),
    }
}

fn usage() -> Value {
    json!({"prompt_tokens": 9, "completion_tokens": 3, "total_tokens": 12})
}

fn wants_tool_call(body: &Value) -> Option<String> {
    let name = body["tools"][0]["function"]["name"].as_str()?;
    // After the tool answered, the model answers in text.
    let last_is_tool = body["messages"]
        .as_array()
        .and_then(|m| m.last())
        .is_some_and(|m| m["role"] == "tool");
    (!last_is_tool).then(|| name.to_owned())
}

/// `length` when the last user message asks for it with `[max_tokens]`, else `stop`.
fn text_finish(body: &Value) -> &'static str {
    if last_user_text(&body["messages"]).contains(MAX_TOKENS_MARKER) {
        "length"
    } else {
        "stop"
    }
}

/// The answer's text: the label and the last user message, so a test can tell who answered.
pub fn answer_text(state: &MockState, body: &Value) -> String {
    format!(
        "{} says: {}",
        state.label,
        last_user_text(&body["messages"])
    )
}

fn chat(state: &MockState, rec: &Recorded) -> Value {
    let body = &rec.body;
    let model = body["model"].clone();
    let (message, finish) = if let Some(tool) = wants_tool_call(body) {
        (
            json!({"role": "assistant", "content": null, "tool_calls": [{
                "id": "call_mock_1", "type": "function",
                "function": {"name": tool, "arguments": "{\"city\":\"Paris\"}"}
            }]}),
            "tool_calls",
        )
    } else if last_user_text(&body["messages"]).contains("trip the content filter") {
        // Azure's content filter: no content, and the filter's verdict beside the choice.
        (
            json!({"role": "assistant", "content": null}),
            "content_filter",
        )
    } else if body["response_format"]["type"] == "json_object"
        || body["response_format"]["type"] == "json_schema"
    {
        (
            json!({"role": "assistant", "content": "{\"answer\":42}"}),
            "stop",
        )
    } else {
        (
            json!({"role": "assistant", "content": answer_text(state, body)}),
            text_finish(body),
        )
    };
    let mut answer = json!({
        "id": "chatcmpl-mock-1",
        "object": "chat.completion",
        "created": CREATED,
        "model": model,
        "choices": [{"index": 0, "message": message, "logprobs": null, "finish_reason": finish}],
        "usage": usage(),
        "system_fingerprint": "fp_mock"
    });
    add_search_fields(&model, &mut answer);
    answer
}

/// Perplexity's `sonar` models answer with their sources beside the choices, on the answer
/// and on every chunk (fields OpenAI does not have).
fn add_search_fields(model: &Value, answer: &mut Value) {
    if model.as_str().is_some_and(|m| m.starts_with("sonar")) {
        answer["citations"] = json!(["https://example.com/penguins"]);
        answer["search_results"] =
            json!([{"title": "Penguins", "url": "https://example.com/penguins", "date": null}]);
        for choice in answer["choices"].as_array_mut().into_iter().flatten() {
            choice["native_finish_reason"] = choice["finish_reason"].clone();
        }
    }
}

fn chunk(model: &Value, delta: Value, finish: Value) -> Value {
    let mut chunk = json!({
        "id": "chatcmpl-mock-stream",
        "object": "chat.completion.chunk",
        "created": CREATED,
        "model": model,
        "service_tier": "default",
        "system_fingerprint": "fp_mock",
        "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}]
    });
    add_search_fields(model, &mut chunk);
    chunk
}

fn data(v: &Value) -> String {
    format!("data: {v}\n\n")
}

/// The pieces a streamed answer is made of.
pub const STREAM_PIECES: [&str; 3] = ["Hel", "lo", " world"];

fn chat_stream(state: &Arc<MockState>, rec: &Recorded) -> Response {
    let body = &rec.body;
    let model = &body["model"];
    let mut events = vec![data(&chunk(
        model,
        json!({"role": "assistant", "content": ""}),
        Value::Null,
    ))];
    let finish = if let Some(tool) = wants_tool_call(body) {
        events.push(data(&chunk(
            model,
            json!({"tool_calls": [{"index": 0, "id": "call_stream_1", "type": "function",
                   "function": {"name": tool, "arguments": ""}}]}),
            Value::Null,
        )));
        for part in ["{\"city\":", "\"Paris\"}"] {
            events.push(data(&chunk(
                model,
                json!({"tool_calls": [{"index": 0, "function": {"arguments": part}}]}),
                Value::Null,
            )));
        }
        "tool_calls"
    } else {
        for piece in STREAM_PIECES {
            events.push(data(&chunk(model, json!({"content": piece}), Value::Null)));
        }
        text_finish(body)
    };
    events.push(data(&chunk(model, json!({}), json!(finish))));
    // Like OpenAI, usage only when asked for, in a last chunk without choices.
    if body["stream_options"]["include_usage"] == true {
        let mut last = json!({
            "id": "chatcmpl-mock-stream", "object": "chat.completion.chunk", "created": CREATED,
            "model": model, "service_tier": "default", "system_fingerprint": "fp_mock",
            "choices": [], "usage": usage()
        });
        add_search_fields(model, &mut last);
        events.push(data(&last));
    }
    events.push("data: [DONE]\n\n".to_owned());
    sse_response(state, events)
}

fn text(state: &MockState, rec: &Recorded) -> Value {
    let prompt = rec.body["prompt"].as_str().unwrap_or_default();
    json!({
        "id": "cmpl-mock-1",
        "object": "text_completion",
        "created": CREATED,
        "model": rec.body["model"],
        "choices": [{"text": format!("{} completes: {prompt}", state.label), "index": 0, "logprobs": null, "finish_reason": "length"}],
        "usage": {"prompt_tokens": 4, "completion_tokens": 5, "total_tokens": 9}
    })
}

fn text_stream(state: &Arc<MockState>, rec: &Recorded) -> Response {
    let model = &rec.body["model"];
    let mut events: Vec<String> = ["Once", " upon", " a time"]
        .iter()
        .map(|t| {
            data(&json!({"id": "cmpl-mock-s", "object": "text_completion", "created": CREATED, "model": model,
                         "choices": [{"text": t, "index": 0, "logprobs": null, "finish_reason": null}]}))
        })
        .collect();
    events.push(data(&json!({"id": "cmpl-mock-s", "object": "text_completion", "created": CREATED, "model": model,
                             "choices": [{"text": "", "index": 0, "logprobs": null, "finish_reason": "length"}]})));
    if rec.body["stream_options"]["include_usage"] == true {
        events.push(data(&json!({"id": "cmpl-mock-s", "object": "text_completion", "created": CREATED, "model": model,
                                 "choices": [], "usage": {"prompt_tokens": 4, "completion_tokens": 3, "total_tokens": 7}})));
    }
    events.push("data: [DONE]\n\n".to_owned());
    sse_response(state, events)
}

fn embeddings(rec: &Recorded) -> Value {
    let inputs: Vec<Value> = match &rec.body["input"] {
        Value::Array(items) => items.clone(),
        other => vec![other.clone()],
    };
    let data: Vec<Value> = inputs
        .iter()
        .enumerate()
        .map(|(i, _)| json!({"object": "embedding", "index": i, "embedding": [0.25 * (i as f64 + 1.0), -0.5, 0.125]}))
        .collect();
    let n = inputs.len() * 2;
    json!({"object": "list", "data": data, "model": rec.body["model"], "usage": {"prompt_tokens": n, "total_tokens": n}})
}

fn rerank(rec: &Recorded) -> Value {
    let docs = rec.body["documents"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    // The last document is the most relevant, so a test can tell the order was applied.
    let mut results: Vec<Value> = docs
        .iter()
        .enumerate()
        .map(|(i, d)| json!({"index": i, "document": {"text": d}, "relevance_score": 0.1 * (i as f64 + 1.0)}))
        .collect();
    if let Some(n) = rec.body["top_n"].as_u64() {
        results.reverse();
        results.truncate(n as usize);
    }
    json!({"id": "rerank-vllm-1", "model": rec.body["model"], "usage": {"total_tokens": 21}, "results": results})
}

fn models(state: &MockState) -> Value {
    let data: Vec<Value> = state
        .models()
        .iter()
        .map(
            |id| json!({"id": id, "object": "model", "created": 1_686_935_002, "owned_by": "mock"}),
        )
        .collect();
    json!({"object": "list", "data": data})
}
