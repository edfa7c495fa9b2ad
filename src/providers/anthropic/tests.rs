//! Translation tests over fixtures in Anthropic's wire format.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use serde_json::json;

use super::*;
use crate::config::secret::{Resolved, Secret, SecretRef};
use crate::providers::client::Client;
use crate::providers::sse;
use crate::schemas::openai::{ChunkFunctionCall, ChunkToolCall};

// --- helpers ---------------------------------------------------------------------------

fn chat_req(body: Value) -> ChatRequest {
    serde_json::from_value(body).unwrap()
}

fn translate(body: Value) -> Value {
    serde_json::to_value(to_messages_request("claude-sonnet-4-20250514", &chat_req(body)).unwrap())
        .unwrap()
}

fn translate_err(body: Value) -> String {
    match to_messages_request("claude", &chat_req(body)) {
        Err(Error::BadRequest(m)) => m,
        other => panic!("expected BadRequest, got {other:?}"),
    }
}

fn response(json: &str) -> ChatResponse {
    to_chat_response(serde_json::from_str(json).unwrap(), 1_700_000_000)
}

/// Runs SSE text through the real SSE parser and the translation, split into small byte
/// chunks so that events straddle reads as they do on the network.
async fn run_stream(sse_text: &str) -> Vec<Result<ChatChunk>> {
    let bytes: Vec<Result<Bytes>> = sse_text
        .as_bytes()
        .chunks(37)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    let events = sse::events(futures_util::stream::iter(bytes));
    translate_events("anthropic", events).collect().await
}

fn sse_body(events: &[(&str, &str)]) -> String {
    events
        .iter()
        .map(|(name, data)| format!("event: {name}\ndata: {data}\n\n"))
        .collect()
}

fn secret() -> Secret {
    match SecretRef::new("sk-ant-test").resolve() {
        Resolved::Value(s) => s,
        other => panic!("literal must resolve, got {other:?}"),
    }
}

fn call<'a>(base_url: &'a str, key: &'a Secret, passthrough: bool) -> Call<'a> {
    Call {
        provider: "anthropic",
        base_url,
        path_prefix: "/v1",
        api_key: Some(key),
        key_config: None,
        model: "claude-sonnet-4-20250514",
        extra_headers: &[],
        passthrough_extra: passthrough,
        timeout: Duration::from_secs(5),
        path_override: None,
    }
}

async fn serve(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    format!("http://{addr}")
}

// --- request translation ---------------------------------------------------------------

#[test]
fn system_and_developer_messages_become_the_system_prompt() {
    let one = translate(json!({"model": "anthropic/claude", "messages": [
        {"role": "system", "content": "Be terse."},
        {"role": "user", "content": "hi"}
    ]}));
    assert_eq!(one["system"], "Be terse.");
    assert_eq!(one["model"], "claude-sonnet-4-20250514");
    assert_eq!(one["messages"], json!([{"role": "user", "content": "hi"}]));

    let several = translate(json!({"model": "anthropic/claude", "messages": [
        {"role": "system", "content": "Be terse."},
        {"role": "user", "content": "hi"},
        {"role": "developer", "content": [{"type": "text", "text": "Use French.", "cache_control": {"type": "ephemeral"}}]}
    ]}));
    assert_eq!(
        several["system"],
        json!([
            {"type": "text", "text": "Be terse."},
            {"type": "text", "text": "Use French.", "cache_control": {"type": "ephemeral"}}
        ])
    );
    assert_eq!(several["messages"].as_array().unwrap().len(), 1);
}

#[test]
fn consecutive_same_role_messages_merge() {
    let out = translate(json!({"model": "m", "messages": [
        {"role": "user", "content": "first"},
        {"role": "user", "content": "second"},
        {"role": "assistant", "content": "answer"}
    ]}));
    assert_eq!(
        out["messages"],
        json!([
            {"role": "user", "content": [{"type": "text", "text": "first"}, {"type": "text", "text": "second"}]},
            {"role": "assistant", "content": "answer"}
        ])
    );
}

#[test]
fn tool_calls_and_results_map_to_tool_use_and_grouped_tool_result() {
    let out = translate(json!({"model": "m", "messages": [
        {"role": "user", "content": "Weather in Paris and Rome?"},
        {"role": "assistant", "content": "", "tool_calls": [
            {"id": "toolu_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}},
            {"id": "toolu_2", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Rome\"}"}}
        ]},
        {"role": "tool", "tool_call_id": "toolu_1", "content": "18C"},
        {"role": "tool", "tool_call_id": "toolu_2", "content": [{"type": "text", "text": "24C"}]},
        {"role": "user", "content": "Thanks"}
    ]}));
    let msgs = out["messages"].as_array().unwrap();
    assert_eq!(msgs.len(), 3, "{msgs:#?}");
    // The empty assistant text is dropped; the calls carry parsed JSON input.
    assert_eq!(
        msgs[1],
        json!({"role": "assistant", "content": [
            {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}},
            {"type": "tool_use", "id": "toolu_2", "name": "get_weather", "input": {"city": "Rome"}}
        ]})
    );
    // Both results and the following user text share one user turn.
    assert_eq!(
        msgs[2],
        json!({"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_1", "content": "18C"},
            {"type": "tool_result", "tool_use_id": "toolu_2", "content": [{"type": "text", "text": "24C"}]},
            {"type": "text", "text": "Thanks"}
        ]})
    );
}

#[test]
fn invalid_tool_arguments_are_a_bad_request_naming_the_call() {
    let msg = translate_err(json!({"model": "m", "messages": [
        {"role": "user", "content": "x"},
        {"role": "assistant", "tool_calls": [
            {"id": "call_bad", "type": "function", "function": {"name": "f", "arguments": "{not json"}}
        ]}
    ]}));
    assert!(msg.contains("call_bad"), "{msg}");
    let msg = translate_err(json!({"model": "m", "messages": [
        {"role": "assistant", "tool_calls": [
            {"id": "call_arr", "type": "function", "function": {"name": "f", "arguments": "[1]"}}
        ]}
    ]}));
    assert!(msg.contains("call_arr") && msg.contains("object"), "{msg}");
    let msg = translate_err(json!({"model": "m", "messages": [{"role": "tool", "content": "x"}]}));
    assert!(msg.contains("tool_call_id"), "{msg}");
}

#[test]
fn images_become_base64_or_url_sources() {
    let out = translate(
        json!({"model": "m", "messages": [{"role": "user", "content": [
            {"type": "text", "text": "Compare"},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
            {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg", "detail": "high"}}
        ]}]}),
    );
    assert_eq!(
        out["messages"][0]["content"],
        json!([
            {"type": "text", "text": "Compare"},
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}},
            {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}}
        ])
    );
    let msg = translate_err(
        json!({"model": "m", "messages": [{"role": "user", "content": [
            {"type": "image_url", "image_url": {"url": "data:image/png,rawbytes"}}
        ]}]}),
    );
    assert!(msg.contains("base64"), "{msg}");
    let msg = translate_err(
        json!({"model": "m", "messages": [{"role": "user", "content": [
            {"type": "input_audio", "input_audio": {"data": "AA", "format": "wav"}}
        ]}]}),
    );
    assert!(msg.contains("input_audio"), "{msg}");
}

#[test]
fn tool_choice_variants_and_parallel_flag() {
    let tools = json!([{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}]);
    let choice = |tc: Value, parallel: Option<bool>| {
        let mut body = json!({"model": "m", "messages": [{"role": "user", "content": "x"}], "tools": tools, "tool_choice": tc});
        if let Some(p) = parallel {
            body["parallel_tool_calls"] = json!(p);
        }
        translate(body)["tool_choice"].clone()
    };
    assert_eq!(choice(json!("auto"), None), json!({"type": "auto"}));
    assert_eq!(choice(json!("required"), None), json!({"type": "any"}));
    assert_eq!(choice(json!("none"), None), json!({"type": "none"}));
    assert_eq!(
        choice(
            json!({"type": "function", "function": {"name": "get_weather"}}),
            None
        ),
        json!({"type": "tool", "name": "get_weather"})
    );
    assert_eq!(
        choice(json!("required"), Some(false)),
        json!({"type": "any", "disable_parallel_tool_use": true})
    );
    assert_eq!(
        choice(Value::Null, Some(false)),
        json!({"type": "auto", "disable_parallel_tool_use": true})
    );
    assert_eq!(choice(Value::Null, Some(true)), Value::Null);
    let msg = translate_err(json!({"model": "m", "messages": [], "tool_choice": "sometimes"}));
    assert!(msg.contains("tool_choice"), "{msg}");
}

#[test]
fn tools_keep_schema_and_get_a_default_one() {
    let out = translate(
        json!({"model": "m", "messages": [{"role": "user", "content": "x"}], "tools": [
            {"type": "function", "function": {"name": "get_weather", "description": "Weather now",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}},
            {"type": "function", "function": {"name": "now"}}
        ]}),
    );
    assert_eq!(
        out["tools"],
        json!([
            {"name": "get_weather", "description": "Weather now",
             "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}},
            {"name": "now", "input_schema": {"type": "object", "properties": {}}}
        ])
    );
}

#[test]
fn stop_sequences_max_tokens_sampling_and_user() {
    let out = translate(
        json!({"model": "m", "messages": [{"role": "user", "content": "x"}],
        "stop": "END", "temperature": 0.3, "top_p": 0.9, "user": "u-42", "seed": 7, "presence_penalty": 1.0}),
    );
    assert_eq!(out["stop_sequences"], json!(["END"]));
    assert_eq!(out["max_tokens"], DEFAULT_MAX_TOKENS);
    assert_eq!(out["temperature"], 0.3);
    assert_eq!(out["top_p"], 0.9);
    assert_eq!(out["metadata"], json!({"user_id": "u-42"}));
    assert!(out.get("seed").is_none() && out.get("presence_penalty").is_none());
    assert!(
        out.get("thinking").is_none() && out.get("tools").is_none() && out.get("stream").is_none()
    );

    let out =
        translate(json!({"model": "m", "messages": [], "stop": ["a", "b"], "max_tokens": 100}));
    assert_eq!(out["stop_sequences"], json!(["a", "b"]));
    assert_eq!(out["max_tokens"], 100);
    let out = translate(
        json!({"model": "m", "messages": [], "max_tokens": 100, "max_completion_tokens": 300}),
    );
    assert_eq!(out["max_tokens"], 300);
    let msg = translate_err(json!({"model": "m", "messages": [], "stop": [1]}));
    assert!(msg.contains("stop"), "{msg}");
}

#[test]
fn reasoning_effort_enables_thinking_within_max_tokens() {
    let out = translate(json!({"model": "m", "messages": [], "reasoning_effort": "medium"}));
    assert_eq!(
        out["thinking"],
        json!({"type": "enabled", "budget_tokens": 4096})
    );
    assert!(out["max_tokens"].as_u64().unwrap() > 4096);
    let out = translate(
        json!({"model": "m", "messages": [], "reasoning_effort": "high", "max_tokens": 32000}),
    );
    assert_eq!(out["thinking"]["budget_tokens"], 16384);
    assert_eq!(out["max_tokens"], 32000);
    let out = translate(
        json!({"model": "m", "messages": [], "reasoning_effort": "low", "max_tokens": 500}),
    );
    assert_eq!(out["thinking"]["budget_tokens"], 1024);
    assert_eq!(out["max_tokens"], 1524);
    assert!(
        translate_err(json!({"model": "m", "messages": [], "reasoning_effort": "max"}))
            .contains("reasoning_effort")
    );
}

#[test]
fn response_format_adds_a_json_instruction_to_the_system_prompt() {
    let out = translate(
        json!({"model": "m", "messages": [{"role": "user", "content": "x"}],
        "response_format": {"type": "json_object"}}),
    );
    assert!(
        out["system"].as_str().unwrap().contains("JSON object"),
        "{out}"
    );

    let out = translate(json!({"model": "m", "messages": [
        {"role": "system", "content": "You extract data."}, {"role": "user", "content": "x"}],
        "response_format": {"type": "json_schema", "json_schema": {"name": "p", "schema": {"type": "object", "properties": {"age": {"type": "integer"}}}}}}));
    let system = out["system"].as_array().unwrap();
    assert_eq!(system[0]["text"], "You extract data.");
    let instruction = system[1]["text"].as_str().unwrap();
    assert!(
        instruction.contains(r#""age":{"type":"integer"}"#),
        "{instruction}"
    );

    let out = translate(json!({"model": "m", "messages": [], "response_format": {"type": "text"}}));
    assert!(out.get("system").is_none());
}

#[test]
fn extra_fields_pass_through_only_when_asked_and_never_override() {
    let key = secret();
    let req = chat_req(
        json!({"model": "m", "messages": [{"role": "user", "content": "x"}], "top_k": 5, "max_tokens": 9}),
    );
    let mut extra = req.extra.clone();
    extra.insert("max_tokens".into(), json!(1));
    let body = |passthrough: bool| {
        let c = call("http://x", &key, passthrough);
        let typed = to_messages_request(c.model, &req).unwrap();
        serde_json::to_value(Outgoing::new(typed, &extra, c.passthrough_extra).unwrap()).unwrap()
    };
    assert!(body(false).get("top_k").is_none());
    let merged = body(true);
    assert_eq!(merged["top_k"], 5);
    assert_eq!(merged["max_tokens"], 9);
}

#[test]
fn text_requests_become_one_user_message() {
    let req: TextRequest = serde_json::from_value(json!({"model": "anthropic/claude", "prompt": ["Once upon"], "max_tokens": 20, "stop": "\n"})).unwrap();
    let out = serde_json::to_value(text_to_messages_request("claude", &req).unwrap()).unwrap();
    assert_eq!(
        out["messages"],
        json!([{"role": "user", "content": "Once upon"}])
    );
    assert_eq!(out["max_tokens"], 20);
    assert_eq!(out["stop_sequences"], json!(["\n"]));
    let req: TextRequest =
        serde_json::from_value(json!({"model": "m", "prompt": ["a", "b"]})).unwrap();
    assert!(matches!(
        text_to_messages_request("claude", &req),
        Err(Error::BadRequest(_))
    ));
}

// --- response translation --------------------------------------------------------------

#[test]
fn text_response_with_cached_usage() {
    let r = response(
        r#"{"id":"msg_01XFDUDYJgAACzvnptvVoYEL","type":"message","role":"assistant",
            "content":[{"type":"text","text":"Hello"},{"type":"text","text":", world"}],
            "model":"claude-sonnet-4-20250514","stop_reason":"end_turn","stop_sequence":null,
            "usage":{"input_tokens":12,"cache_creation_input_tokens":100,"cache_read_input_tokens":2000,"output_tokens":6}}"#,
    );
    assert_eq!(r.id, "msg_01XFDUDYJgAACzvnptvVoYEL");
    assert_eq!(r.object, "chat.completion");
    assert_eq!(r.created, 1_700_000_000);
    assert_eq!(r.model, "claude-sonnet-4-20250514");
    let choice = &r.choices[0];
    assert_eq!(choice.message.role, "assistant");
    assert_eq!(
        choice.message.content,
        Some(MessageContent::Text("Hello, world".into()))
    );
    assert_eq!(choice.message.tool_calls, None);
    assert_eq!(choice.finish_reason.as_deref(), Some("stop"));
    let usage = r.usage.unwrap();
    assert_eq!(usage.prompt_tokens, 2112);
    assert_eq!(usage.completion_tokens, 6);
    assert_eq!(usage.total_tokens, 2118);
    assert_eq!(
        usage.prompt_tokens_details.map(|d| d.to_value()),
        Some(json!({"cached_tokens": 2000}))
    );
}

#[test]
fn tool_use_response_becomes_tool_calls() {
    let r = response(
        r#"{"id":"msg_1","type":"message","role":"assistant","model":"claude-3-5-haiku-20241022",
            "content":[{"type":"tool_use","id":"toolu_01A09q90qw90lq917835lq9","name":"get_weather",
                        "input":{"location":"San Francisco, CA","unit":"celsius"}}],
            "stop_reason":"tool_use","stop_sequence":null,"usage":{"input_tokens":400,"output_tokens":50}}"#,
    );
    let msg = &r.choices[0].message;
    assert_eq!(msg.content, None);
    let calls = msg.tool_calls.as_ref().unwrap();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].id, "toolu_01A09q90qw90lq917835lq9");
    assert_eq!(calls[0].kind, "function");
    assert_eq!(calls[0].function.name, "get_weather");
    assert_eq!(
        calls[0].function.arguments,
        r#"{"location":"San Francisco, CA","unit":"celsius"}"#
    );
    assert_eq!(r.choices[0].finish_reason.as_deref(), Some("tool_calls"));
    assert_eq!(
        r.usage.unwrap().prompt_tokens_details.map(|d| d.to_value()),
        Some(json!({"cached_tokens": 0}))
    );
}

#[test]
fn thinking_blocks_become_reasoning_content_and_unknown_blocks_are_skipped() {
    let r = response(
        r#"{"id":"msg_2","type":"message","role":"assistant","model":"claude-sonnet-4-20250514",
            "content":[
              {"type":"thinking","thinking":"Let me add 2 and 2.","signature":"EqQBCgIYAhIM1gbcDa"},
              {"type":"redacted_thinking","data":"EmwKAhgBEgy3va3pzix"},
              {"type":"server_tool_use","id":"srvtoolu_1","name":"web_search","input":{"query":"x"}},
              {"type":"text","text":"4","citations":null}],
            "stop_reason":"end_turn","usage":{"input_tokens":10,"output_tokens":30}}"#,
    );
    let msg = &r.choices[0].message;
    assert_eq!(
        msg.reasoning_content.as_deref(),
        Some("Let me add 2 and 2.")
    );
    assert_eq!(msg.content, Some(MessageContent::Text("4".into())));
}

#[test]
fn stop_reasons_map_to_finish_reasons() {
    for (anthropic, openai) in [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("pause_turn", "stop"),
        ("max_tokens", "length"),
        ("tool_use", "tool_calls"),
        ("refusal", "content_filter"),
    ] {
        assert_eq!(finish_reason(anthropic), openai, "{anthropic}");
    }
}

#[test]
fn text_response_maps_to_a_text_completion() {
    let msg: wire::MessagesResponse = serde_json::from_str(
        r#"{"id":"msg_3","type":"message","role":"assistant","model":"claude-3-haiku-20240307",
            "content":[{"type":"text","text":" there was a cat."}],"stop_reason":"max_tokens",
            "usage":{"input_tokens":3,"output_tokens":5}}"#,
    )
    .unwrap();
    let r = to_text_response(msg, 5);
    assert_eq!(r.object, "text_completion");
    assert_eq!(r.choices[0].text, " there was a cat.");
    assert_eq!(r.choices[0].finish_reason.as_deref(), Some("length"));
    assert_eq!(r.usage.unwrap().total_tokens, 8);
}

// --- errors ----------------------------------------------------------------------------

#[test]
fn errors_keep_type_and_message_and_fall_back_to_raw_text() {
    let e = parse_error(
        "anthropic",
        400,
        br#"{"type":"error","error":{"type":"invalid_request_error","message":"max_tokens: Field required"},"request_id":"req_1"}"#,
    );
    assert_eq!(e.status, 400);
    assert_eq!(e.provider, "anthropic");
    assert_eq!(e.error_type.as_deref(), Some("invalid_request_error"));
    assert_eq!(e.message, "max_tokens: Field required");

    let e = parse_error(
        "anthropic",
        529,
        br#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#,
    );
    assert_eq!(
        (e.status, e.error_type.as_deref()),
        (529, Some("overloaded_error"))
    );

    let e = parse_error("anthropic", 502, b"<html>Bad Gateway</html>");
    assert_eq!(e.message, "<html>Bad Gateway</html>");
    assert_eq!(e.error_type, None);
    let e = parse_error("anthropic", 503, b"");
    assert_eq!(e.message, "provider answered HTTP 503");
}

// --- streaming -------------------------------------------------------------------------

const TOOL_STREAM: &[(&str, &str)] = &[
    (
        "message_start",
        r#"{"type":"message_start","message":{"id":"msg_014p7gG3wDgGV9EUtLvnow3U","type":"message","role":"assistant","model":"claude-sonnet-4-20250514","stop_sequence":null,"usage":{"input_tokens":472,"output_tokens":2},"content":[],"stop_reason":null}}"#,
    ),
    (
        "content_block_start",
        r#"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#,
    ),
    ("ping", r#"{"type": "ping"}"#),
    (
        "content_block_delta",
        r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Okay"}}"#,
    ),
    (
        "content_block_delta",
        r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":", let's check the weather for San Francisco, CA:"}}"#,
    ),
    (
        "content_block_stop",
        r#"{"type":"content_block_stop","index":0}"#,
    ),
    (
        "content_block_start",
        r#"{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_01T1x1fJ34qAmk2tNTrN7Up6","name":"get_weather","input":{}}}"#,
    ),
    (
        "content_block_delta",
        r#"{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":""}}"#,
    ),
    (
        "content_block_delta",
        r#"{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"location\":"}}"#,
    ),
    (
        "content_block_delta",
        r#"{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":" \"San Francisco, CA\", \"unit\": \"fahrenheit\"}"}}"#,
    ),
    (
        "content_block_stop",
        r#"{"type":"content_block_stop","index":1}"#,
    ),
    (
        "message_delta",
        r#"{"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":89}}"#,
    ),
    ("message_stop", r#"{"type":"message_stop"}"#),
];

#[tokio::test]
async fn stream_with_text_and_tool_use_translates_event_by_event() {
    let chunks: Vec<ChatChunk> = run_stream(&sse_body(TOOL_STREAM))
        .await
        .into_iter()
        .collect::<Result<_>>()
        .unwrap();
    assert_eq!(chunks.len(), 8, "{chunks:#?}");
    for c in &chunks {
        assert_eq!(c.id, "msg_014p7gG3wDgGV9EUtLvnow3U");
        assert_eq!(c.model, "claude-sonnet-4-20250514");
        assert_eq!(c.object, "chat.completion.chunk");
        assert_eq!(c.created, chunks[0].created);
    }
    let delta = |i: usize| &chunks[i].choices[0].delta;
    assert_eq!(delta(0).role.as_deref(), Some("assistant"));
    assert_eq!(delta(1).content.as_deref(), Some("Okay"));
    assert_eq!(
        delta(2).content.as_deref(),
        Some(", let's check the weather for San Francisco, CA:")
    );
    assert_eq!(
        delta(3).tool_calls,
        Some(vec![ChunkToolCall {
            index: 0,
            id: Some("toolu_01T1x1fJ34qAmk2tNTrN7Up6".into()),
            kind: Some("function".into()),
            function: Some(ChunkFunctionCall {
                name: Some("get_weather".into()),
                arguments: Some(String::new())
            }),
        }])
    );
    let args: String = [4, 5]
        .iter()
        .map(|&i| {
            let call = &delta(i).tool_calls.as_ref().unwrap()[0];
            assert_eq!((call.index, call.id.as_ref()), (0, None));
            call.function.as_ref().unwrap().arguments.clone().unwrap()
        })
        .collect();
    assert_eq!(
        serde_json::from_str::<Value>(&args).unwrap(),
        json!({"location": "San Francisco, CA", "unit": "fahrenheit"})
    );
    assert_eq!(
        chunks[6].choices[0].finish_reason.as_deref(),
        Some("tool_calls")
    );
    assert!(chunks[7].choices.is_empty());
    let usage = chunks[7].usage.as_ref().unwrap();
    assert_eq!(
        (
            usage.prompt_tokens,
            usage.completion_tokens,
            usage.total_tokens
        ),
        (472, 89, 561)
    );
    assert!(chunks[..7].iter().all(|c| c.usage.is_none()));
}

#[tokio::test]
async fn stream_thinking_and_tool_indexes_count_only_tool_use_blocks() {
    let body = sse_body(&[
        (
            "message_start",
            r#"{"type":"message_start","message":{"id":"msg_t","type":"message","role":"assistant","model":"claude-opus-4-20250514","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":20,"cache_read_input_tokens":1000,"cache_creation_input_tokens":0,"output_tokens":1}}}"#,
        ),
        (
            "content_block_start",
            r#"{"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":"","signature":""}}"#,
        ),
        (
            "content_block_delta",
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"Two cities, two calls."}}"#,
        ),
        (
            "content_block_delta",
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"EqQBCgIYAhIM"}}"#,
        ),
        (
            "content_block_stop",
            r#"{"type":"content_block_stop","index":0}"#,
        ),
        (
            "content_block_start",
            r#"{"type":"content_block_start","index":1,"content_block":{"type":"server_tool_use","id":"srvtoolu_1","name":"web_search","input":{}}}"#,
        ),
        (
            "content_block_delta",
            r#"{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"query\":\"x\"}"}}"#,
        ),
        (
            "content_block_stop",
            r#"{"type":"content_block_stop","index":1}"#,
        ),
        (
            "some_future_event",
            r#"{"type":"some_future_event","payload":{"a":1}}"#,
        ),
        (
            "content_block_start",
            r#"{"type":"content_block_start","index":2,"content_block":{"type":"tool_use","id":"toolu_a","name":"get_weather","input":{}}}"#,
        ),
        (
            "content_block_delta",
            r#"{"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":"{\"city\":\"Paris\"}"}}"#,
        ),
        (
            "content_block_stop",
            r#"{"type":"content_block_stop","index":2}"#,
        ),
        (
            "content_block_start",
            r#"{"type":"content_block_start","index":3,"content_block":{"type":"tool_use","id":"toolu_b","name":"get_weather","input":{}}}"#,
        ),
        (
            "content_block_delta",
            r#"{"type":"content_block_delta","index":3,"delta":{"type":"input_json_delta","partial_json":"{\"city\":\"Rome\"}"}}"#,
        ),
        (
            "content_block_stop",
            r#"{"type":"content_block_stop","index":3}"#,
        ),
        (
            "message_delta",
            r#"{"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":120}}"#,
        ),
        ("message_stop", r#"{"type":"message_stop"}"#),
    ]);
    let chunks: Vec<ChatChunk> = run_stream(&body)
        .await
        .into_iter()
        .collect::<Result<_>>()
        .unwrap();
    let reasoning: Vec<_> = chunks
        .iter()
        .filter_map(|c| c.choices.first()?.delta.reasoning_content.clone())
        .collect();
    assert_eq!(reasoning, vec!["Two cities, two calls."]);
    let calls: Vec<ChunkToolCall> = chunks
        .iter()
        .filter_map(|c| c.choices.first()?.delta.tool_calls.clone())
        .flatten()
        .collect();
    // The server tool's input is not a client tool call; the two tool_use blocks (Anthropic
    // indexes 2 and 3) are OpenAI calls 0 and 1.
    assert_eq!(calls.len(), 4, "{calls:#?}");
    assert_eq!(
        (calls[0].index, calls[0].id.as_deref()),
        (0, Some("toolu_a"))
    );
    assert_eq!(calls[1].index, 0);
    assert_eq!(
        calls[1].function.as_ref().unwrap().arguments.as_deref(),
        Some(r#"{"city":"Paris"}"#)
    );
    assert_eq!(
        (calls[2].index, calls[2].id.as_deref()),
        (1, Some("toolu_b"))
    );
    assert_eq!(calls[3].index, 1);
    let usage = chunks.last().unwrap().usage.clone().unwrap();
    assert_eq!((usage.prompt_tokens, usage.completion_tokens), (1020, 120));
    assert_eq!(
        usage.prompt_tokens_details.map(|d| d.to_value()),
        Some(json!({"cached_tokens": 1000}))
    );
}

#[tokio::test]
async fn error_event_mid_stream_ends_the_stream_with_an_upstream_error() {
    let body = sse_body(&[
        TOOL_STREAM[0],
        TOOL_STREAM[1],
        TOOL_STREAM[3],
        (
            "error",
            r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#,
        ),
        TOOL_STREAM[4],
    ]);
    let items = run_stream(&body).await;
    assert_eq!(items.len(), 3, "{items:#?}");
    assert_eq!(
        items[1].as_ref().unwrap().choices[0]
            .delta
            .content
            .as_deref(),
        Some("Okay")
    );
    match &items[2] {
        Err(Error::Upstream(e)) => {
            assert_eq!(e.status, 529);
            assert_eq!(e.error_type.as_deref(), Some("overloaded_error"));
            assert_eq!(e.message, "Overloaded");
        }
        other => panic!("expected an upstream error, got {other:?}"),
    }

    let body = sse_body(&[
        TOOL_STREAM[0],
        (
            "error",
            r#"{"type":"error","error":{"type":"api_error","message":"Internal server error"}}"#,
        ),
    ]);
    match run_stream(&body).await.pop() {
        Some(Err(Error::Upstream(e))) => assert_eq!(
            (e.status, e.error_type.as_deref()),
            (500, Some("api_error"))
        ),
        other => panic!("expected an upstream error, got {other:?}"),
    }
}

#[tokio::test]
async fn truncated_stream_is_an_error_not_a_short_answer() {
    let items = run_stream(&sse_body(&TOOL_STREAM[..5])).await;
    assert!(items[..items.len() - 1].iter().all(Result::is_ok));
    assert!(
        matches!(items.last(), Some(Err(Error::BadUpstreamResponse { .. }))),
        "{items:#?}"
    );
    // A malformed event is an error too.
    let items = run_stream("event: message_start\ndata: {not json\n\n").await;
    assert!(
        matches!(items.as_slice(), [Err(Error::BadUpstreamResponse { .. })]),
        "{items:#?}"
    );
}

#[tokio::test]
async fn stream_yields_chunks_before_the_upstream_finishes() {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<Result<SseEvent>>();
    let events =
        futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|e| (e, rx)) });
    let mut stream = translate_events("anthropic", events);
    let event = |(name, data): (&str, &str)| {
        Ok(SseEvent {
            event: name.into(),
            data: data.into(),
        })
    };
    tx.send(event(TOOL_STREAM[0])).unwrap();
    let first = tokio::time::timeout(Duration::from_secs(2), stream.next())
        .await
        .expect("first chunk is not lazy");
    assert_eq!(
        first.unwrap().unwrap().choices[0].delta.role.as_deref(),
        Some("assistant")
    );
    tx.send(event(TOOL_STREAM[3])).unwrap();
    let second = tokio::time::timeout(Duration::from_secs(2), stream.next())
        .await
        .expect("second chunk is not lazy");
    assert_eq!(
        second.unwrap().unwrap().choices[0].delta.content.as_deref(),
        Some("Okay")
    );
}

// --- HTTP, against a local fake of the API ---------------------------------------------

#[tokio::test]
async fn chat_sends_anthropic_headers_url_and_body() {
    use axum::http::HeaderMap;
    use axum::routing::post;
    let seen: Arc<Mutex<Option<(HeaderMap, Value)>>> = Arc::default();
    let seen2 = seen.clone();
    let router = axum::Router::new().route(
        "/v1/messages",
        post(
            move |headers: HeaderMap, axum::Json(body): axum::Json<Value>| async move {
                *seen2.lock().unwrap() = Some((headers, body));
                axum::Json(
                    json!({"id": "msg_x", "type": "message", "role": "assistant",
                "model": "claude-sonnet-4-20250514", "content": [{"type": "text", "text": "Hi!"}],
                "stop_reason": "end_turn", "stop_sequence": null,
                "usage": {"input_tokens": 9, "output_tokens": 3}}),
                )
            },
        ),
    );
    let base = serve(router).await;
    let key = secret();
    let c = call(&base, &key, false);
    let req = chat_req(
        json!({"model": "anthropic/claude-sonnet-4-20250514", "messages": [{"role": "user", "content": "Hello"}], "custom": 1}),
    );
    let resp = chat(&Client::with_defaults(), &c, &req).await.unwrap();
    assert_eq!(
        resp.choices[0].message.content,
        Some(MessageContent::Text("Hi!".into()))
    );
    assert_eq!(resp.usage.unwrap().total_tokens, 12);
    let (headers, body) = seen.lock().unwrap().take().unwrap();
    assert_eq!(headers["x-api-key"], "sk-ant-test");
    assert_eq!(headers["anthropic-version"], API_VERSION);
    assert!(headers.get("authorization").is_none());
    assert_eq!(body["model"], "claude-sonnet-4-20250514");
    assert_eq!(body["max_tokens"], DEFAULT_MAX_TOKENS);
    assert!(body.get("custom").is_none() && body.get("stream").is_none());
}

#[tokio::test]
async fn chat_stream_and_errors_over_http() {
    use axum::routing::post;
    let router = axum::Router::new().route(
        "/v1/messages",
        post(|axum::Json(body): axum::Json<Value>| async move {
            if body["messages"][0]["content"] == "fail" {
                return (
                    axum::http::StatusCode::TOO_MANY_REQUESTS,
                    [("content-type", "application/json")],
                    r#"{"type":"error","error":{"type":"rate_limit_error","message":"Number of request tokens has exceeded your per-minute rate limit"}}"#.to_owned(),
                );
            }
            assert_eq!(body["stream"], true);
            (axum::http::StatusCode::OK, [("content-type", "text/event-stream")], sse_body(TOOL_STREAM))
        }),
    );
    let base = serve(router).await;
    let key = secret();
    let c = call(&base, &key, false);
    let http = Client::with_defaults();
    let req =
        chat_req(json!({"model": "m", "messages": [{"role": "user", "content": "weather?"}]}));
    let chunks: Vec<ChatChunk> = chat_stream(&http, &c, &req)
        .await
        .unwrap()
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<_>>()
        .unwrap();
    assert_eq!(chunks.len(), 8);
    assert_eq!(
        chunks[6].choices[0].finish_reason.as_deref(),
        Some("tool_calls")
    );

    let req = chat_req(json!({"model": "m", "messages": [{"role": "user", "content": "fail"}]}));
    match chat_stream(&http, &c, &req).await {
        Err(Error::Upstream(e)) => {
            assert_eq!(e.status, 429);
            assert_eq!(e.error_type.as_deref(), Some("rate_limit_error"));
            assert!(e.message.contains("rate limit"));
        }
        Ok(_) => panic!("expected an error"),
        Err(other) => panic!("expected an upstream error, got {other:?}"),
    }
}

#[tokio::test]
async fn list_models_follows_pages_and_converts_dates() {
    use axum::extract::Query;
    use axum::routing::get;
    use std::collections::HashMap;
    let router = axum::Router::new().route(
        "/v1/models",
        get(|Query(q): Query<HashMap<String, String>>| async move {
            assert_eq!(q.get("limit").map(String::as_str), Some("1000"));
            axum::Json(match q.get("after_id").map(String::as_str) {
                None => json!({"data": [{"type": "model", "id": "claude-sonnet-4-20250514", "display_name": "Claude Sonnet 4", "created_at": "2025-05-22T00:00:00Z"}],
                               "has_more": true, "first_id": "claude-sonnet-4-20250514", "last_id": "claude-sonnet-4-20250514"}),
                Some("claude-sonnet-4-20250514") => json!({"data": [{"type": "model", "id": "claude-3-haiku-20240307", "display_name": "Claude Haiku 3", "created_at": "2024-03-07T12:30:00.5+01:00"}],
                               "has_more": false, "first_id": "claude-3-haiku-20240307", "last_id": "claude-3-haiku-20240307"}),
                Some(other) => json!({"unexpected": other}),
            })
        }),
    );
    let base = serve(router).await;
    let key = secret();
    let models = list_models(&Client::with_defaults(), &call(&base, &key, false))
        .await
        .unwrap();
    let ids: Vec<_> = models.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(ids, ["claude-sonnet-4-20250514", "claude-3-haiku-20240307"]);
    assert_eq!(models[0].created, 1_747_872_000);
    assert_eq!(models[1].created, 1_709_811_000);
    assert!(models
        .iter()
        .all(|m| m.owned_by == "anthropic" && m.object == "model"));
}

#[test]
fn rfc3339_timestamps_parse_to_unix_seconds() {
    assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
    assert_eq!(parse_rfc3339("2000-02-29T12:00:00Z"), Some(951_825_600));
    assert_eq!(
        parse_rfc3339("2025-02-19T00:00:00.123456Z"),
        Some(1_739_923_200)
    );
    assert_eq!(
        parse_rfc3339("2025-02-19T02:00:00+02:00"),
        Some(1_739_923_200)
    );
    assert_eq!(
        parse_rfc3339("2025-02-18T19:00:00-05:00"),
        Some(1_739_923_200)
    );
    for bad in [
        "",
        "2025-02-19",
        "2025-13-01T00:00:00Z",
        "2025-02-19T00:00:00",
        "1969-12-31T23:59:59Z",
        "2025-02-19T00:00:00.Z",
    ] {
        assert_eq!(parse_rfc3339(bad), None, "{bad}");
    }
}
