//! Translation tests with fixtures in Bedrock's wire format.

use bytes::Bytes;
use futures_util::StreamExt;
use serde_json::{json, Value};

use super::eventstream::{self, encode};
use super::*;
use crate::config::secret::SecretRef;

fn chat_request(body: Value) -> ChatRequest {
    serde_json::from_value(body).unwrap()
}

fn converse_json(body: Value) -> Value {
    serde_json::to_value(to_converse_request("m", &chat_request(body), false).unwrap()).unwrap()
}

#[test]
fn system_roles_and_sampling_are_translated() {
    let out = converse_json(json!({
        "model": "m",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "developer", "content": [{"type": "text", "text": "Use French."}]},
            {"role": "user", "content": "Hello"},
            {"role": "assistant", "content": "Bonjour"},
            {"role": "user", "content": "Again"},
            {"role": "user", "content": [{"type": "text", "text": "please"}]}
        ],
        "max_tokens": 100, "temperature": 0.5, "top_p": 0.9, "stop": "END"
    }));
    assert_eq!(
        out,
        json!({
            "messages": [
                {"role": "user", "content": [{"text": "Hello"}]},
                {"role": "assistant", "content": [{"text": "Bonjour"}]},
                {"role": "user", "content": [{"text": "Again"}, {"text": "please"}]}
            ],
            "system": [{"text": "Be brief."}, {"text": "Use French."}],
            "inferenceConfig": {"maxTokens": 100, "temperature": 0.5, "topP": 0.9, "stopSequences": ["END"]}
        })
    );
}

#[test]
fn images_must_be_bytes() {
    let out = converse_json(json!({
        "model": "m",
        "messages": [{"role": "user", "content": [
            {"type": "text", "text": "What is this?"},
            {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,/9j/4AAQ"}}
        ]}]
    }));
    assert_eq!(
        out["messages"][0]["content"][1],
        json!({"image": {"format": "jpeg", "source": {"bytes": "/9j/4AAQ"}}})
    );
    let err = to_converse_request(
        "m",
        &chat_request(
            json!({"model": "m", "messages": [{"role": "user", "content": [
            {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}]}]}),
        ),
        false,
    )
    .unwrap_err();
    assert!(err.to_string().contains("data: URL"), "{err}");
}

#[test]
fn tools_calls_and_results_round_trip() {
    let out = converse_json(json!({
        "model": "m",
        "messages": [
            {"role": "user", "content": "Weather in Paris?"},
            {"role": "assistant", "content": "", "tool_calls": [{"id": "call_1", "type": "function",
                "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}]},
            {"role": "tool", "tool_call_id": "call_1", "content": "18C"}
        ],
        "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Weather",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}],
        "tool_choice": {"type": "function", "function": {"name": "get_weather"}}
    }));
    assert_eq!(
        out["messages"][1],
        json!({"role": "assistant", "content": [{"toolUse": {"toolUseId": "call_1", "name": "get_weather", "input": {"city": "Paris"}}}]})
    );
    assert_eq!(
        out["messages"][2],
        json!({"role": "user", "content": [{"toolResult": {"toolUseId": "call_1", "content": [{"text": "18C"}]}}]})
    );
    assert_eq!(
        out["toolConfig"],
        json!({
            "tools": [{"toolSpec": {"name": "get_weather", "description": "Weather",
                "inputSchema": {"json": {"type": "object", "properties": {"city": {"type": "string"}}}}}}],
            "toolChoice": {"tool": {"name": "get_weather"}}
        })
    );
    let tools = json!([{"type": "function", "function": {"name": "f"}}]);
    let with_choice = |choice: Value| {
        converse_json(
            json!({"model": "m", "messages": [{"role": "user", "content": "x"}],
            "tools": tools.clone(), "tool_choice": choice}),
        )
    };
    assert_eq!(
        with_choice(json!("required"))["toolConfig"]["toolChoice"],
        json!({"any": {}})
    );
    assert_eq!(
        with_choice(json!("auto"))["toolConfig"]["toolChoice"],
        json!({"auto": {}})
    );
    assert!(with_choice(json!("none")).get("toolConfig").is_none());
    assert_eq!(
        with_choice(json!("auto"))["toolConfig"]["tools"][0]["toolSpec"]["inputSchema"]["json"],
        json!({"type": "object", "properties": {}})
    );
}

#[test]
fn unknown_fields_go_to_additional_model_request_fields_when_passed_through() {
    let req = chat_request(
        json!({"model": "m", "messages": [{"role": "user", "content": "x"}], "top_k": 5}),
    );
    let out = serde_json::to_value(to_converse_request("m", &req, true).unwrap()).unwrap();
    assert_eq!(out["additionalModelRequestFields"], json!({"top_k": 5}));
    let out = serde_json::to_value(to_converse_request("m", &req, false).unwrap()).unwrap();
    assert!(out.get("additionalModelRequestFields").is_none());
}

#[test]
fn reasoning_effort_becomes_a_thinking_budget_for_claude_only() {
    let req = chat_request(
        json!({"model": "m", "messages": [{"role": "user", "content": "x"}],
        "reasoning_effort": "low", "max_tokens": 500}),
    );
    let claude = serde_json::to_value(
        to_converse_request("anthropic.claude-sonnet-4-v1:0", &req, false).unwrap(),
    )
    .unwrap();
    assert_eq!(
        claude["additionalModelRequestFields"],
        json!({"thinking": {"type": "enabled", "budget_tokens": 1024}})
    );
    assert_eq!(claude["inferenceConfig"]["maxTokens"], 1524);
    let nova =
        serde_json::to_value(to_converse_request("amazon.nova-pro-v1:0", &req, false).unwrap())
            .unwrap();
    assert!(nova.get("additionalModelRequestFields").is_none());
    assert_eq!(nova["inferenceConfig"]["maxTokens"], 500);
}

#[test]
fn converse_answers_become_chat_completions() {
    let answer: wire::ConverseResponse = serde_json::from_value(json!({
        "output": {"message": {"role": "assistant", "content": [
            {"reasoningContent": {"reasoningText": {"text": "Thinking.", "signature": "sig"}}},
            {"text": "Let me check."},
            {"toolUse": {"toolUseId": "tooluse_1", "name": "get_weather", "input": {"city": "Paris"}}}
        ]}},
        "stopReason": "tool_use",
        "usage": {"inputTokens": 10, "outputTokens": 5, "totalTokens": 19, "cacheReadInputTokens": 4},
        "metrics": {"latencyMs": 120}
    }))
    .unwrap();
    let resp = to_chat_response(answer, "id-1".into(), "anthropic.claude", 7);
    let v = serde_json::to_value(&resp).unwrap();
    assert_eq!(v["id"], "id-1");
    assert_eq!(v["model"], "anthropic.claude");
    let msg = &v["choices"][0]["message"];
    assert_eq!(msg["content"], "Let me check.");
    assert_eq!(msg["reasoning_content"], "Thinking.");
    assert_eq!(msg["tool_calls"][0]["id"], "tooluse_1");
    assert_eq!(
        msg["tool_calls"][0]["function"]["arguments"],
        "{\"city\":\"Paris\"}"
    );
    assert_eq!(v["choices"][0]["finish_reason"], "tool_calls");
    assert_eq!(v["usage"]["prompt_tokens"], 14);
    assert_eq!(v["usage"]["completion_tokens"], 5);
    assert_eq!(v["usage"]["total_tokens"], 19);
    assert_eq!(v["usage"]["prompt_tokens_details"]["cached_tokens"], 4);
}

#[test]
fn stop_reasons_map_to_finish_reasons() {
    for (stop, finish) in [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("max_tokens", "length"),
        ("tool_use", "tool_calls"),
        ("guardrail_intervened", "content_filter"),
        ("content_filtered", "content_filter"),
    ] {
        assert_eq!(finish_reason(stop), finish, "{stop}");
    }
}

#[test]
fn errors_keep_the_exception_name() {
    let e = parse_error(
        "bedrock",
        400,
        Some("ValidationException:http://internal.amazon.com/coral/com.amazon.bedrock/"),
        br#"{"message":"The model returned the following errors: max_tokens: Field required"}"#,
    );
    assert_eq!(e.error_type.as_deref(), Some("ValidationException"));
    assert!(e.message.starts_with("The model returned"));
    let e = parse_error(
        "bedrock",
        403,
        None,
        br#"{"__type":"com.amazon.coral.service#UnrecognizedClientException","Message":"The security token included in the request is invalid."}"#,
    );
    assert_eq!(e.error_type.as_deref(), Some("UnrecognizedClientException"));
    assert_eq!(
        e.message,
        "The security token included in the request is invalid."
    );
    assert_eq!(
        parse_error("bedrock", 502, None, b"<html>").message,
        "<html>"
    );
    assert_eq!(exception_status("throttlingException"), 429);
    assert_eq!(exception_status("modelStreamErrorException"), 503);
    assert_eq!(exception_status("validationException"), 400);
}

#[test]
fn deployments_and_arns_name_the_model() {
    let key = BedrockKeyConfig {
        deployments: [("claude".to_owned(), "us.anthropic.claude-v1:0".to_owned())].into(),
        ..BedrockKeyConfig::default()
    };
    assert_eq!(
        model_id("b", "claude", Some(&key)).unwrap(),
        "us.anthropic.claude-v1:0"
    );
    assert_eq!(model_id("b", "other", Some(&key)).unwrap(), "other");
    let key = BedrockKeyConfig {
        arn: Some(SecretRef::new(
            "arn:aws:bedrock:us-east-1:123456789012:inference-profile",
        )),
        ..key
    };
    let id = model_id("b", "claude", Some(&key)).unwrap();
    assert_eq!(
        id,
        "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-v1:0"
    );
    assert_eq!(
        crate::providers::http::percent_encode(&id),
        "arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Ainference-profile%2Fus.anthropic.claude-v1%3A0"
    );
}

fn event(kind: &str, payload: Value) -> Vec<u8> {
    encode(
        &[
            (":event-type", kind),
            (":content-type", "application/json"),
            (":message-type", "event"),
        ],
        payload.to_string().as_bytes(),
    )
}

/// Decodes `frames`, delivered in chunks of `chunk` bytes, and translates them.
async fn translate(frames: Vec<Vec<u8>>, chunk: usize) -> Vec<Result<Value>> {
    let wire: Vec<u8> = frames.concat();
    let chunks: Vec<Result<Bytes>> = wire
        .chunks(chunk)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    let messages = eventstream::messages(futures_util::stream::iter(chunks), |e| {
        Error::BadUpstreamResponse {
            provider: "bedrock".into(),
            message: e.to_string(),
        }
    });
    translate_messages("bedrock", "id".into(), "m", 1, messages)
        .map(|r| r.map(|c| serde_json::to_value(c).unwrap()))
        .collect()
        .await
}

fn stream_fixture() -> Vec<Vec<u8>> {
    vec![
        event("messageStart", json!({"p": "abc", "role": "assistant"})),
        event(
            "contentBlockDelta",
            json!({"contentBlockIndex": 0, "delta": {"text": "Hel"}}),
        ),
        event(
            "contentBlockDelta",
            json!({"contentBlockIndex": 0, "delta": {"text": "lo"}}),
        ),
        event("contentBlockStop", json!({"contentBlockIndex": 0})),
        event(
            "contentBlockStart",
            json!({"contentBlockIndex": 1, "start": {"toolUse": {"toolUseId": "tooluse_9", "name": "get_weather"}}}),
        ),
        event(
            "contentBlockDelta",
            json!({"contentBlockIndex": 1, "delta": {"toolUse": {"input": "{\"city\":"}}}),
        ),
        event(
            "contentBlockDelta",
            json!({"contentBlockIndex": 1, "delta": {"toolUse": {"input": "\"Paris\"}"}}}),
        ),
        event("contentBlockStop", json!({"contentBlockIndex": 1})),
        event("messageStop", json!({"stopReason": "tool_use"})),
        event(
            "metadata",
            json!({"usage": {"inputTokens": 12, "outputTokens": 6, "totalTokens": 18}, "metrics": {"latencyMs": 9}}),
        ),
    ]
}

#[tokio::test]
async fn stream_events_become_chunks_whatever_the_chunking() {
    for chunk in [1, 7, 64, 100_000] {
        let out = translate(stream_fixture(), chunk).await;
        let chunks: Vec<Value> = out.into_iter().map(Result::unwrap).collect();
        assert_eq!(chunks.len(), 8, "chunk size {chunk}: {chunks:#?}");
        assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
        assert_eq!(chunks[1]["choices"][0]["delta"]["content"], "Hel");
        assert_eq!(chunks[2]["choices"][0]["delta"]["content"], "lo");
        let call = &chunks[3]["choices"][0]["delta"]["tool_calls"][0];
        assert_eq!(call["index"], 0);
        assert_eq!(call["id"], "tooluse_9");
        assert_eq!(call["function"]["name"], "get_weather");
        assert_eq!(
            chunks[4]["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"],
            "{\"city\":"
        );
        assert_eq!(chunks[6]["choices"][0]["finish_reason"], "tool_calls");
        assert_eq!(chunks[7]["usage"]["prompt_tokens"], 12);
        assert_eq!(chunks[7]["usage"]["total_tokens"], 18);
        assert!(chunks
            .iter()
            .all(|c| c["object"] == "chat.completion.chunk" && c["id"] == "id"));
    }
}

#[tokio::test]
async fn exceptions_and_truncation_end_the_stream_with_errors() {
    let mut frames = stream_fixture()[..2].to_vec();
    frames.push(encode(
        &[
            (":exception-type", "throttlingException"),
            (":content-type", "application/json"),
            (":message-type", "exception"),
        ],
        br#"{"message":"Too many requests, please wait before trying again."}"#,
    ));
    let out = translate(frames, 5).await;
    assert_eq!(out.len(), 3);
    match &out[2] {
        Err(Error::Upstream(u)) => {
            assert_eq!(u.status, 429);
            assert_eq!(u.error_type.as_deref(), Some("throttlingException"));
            assert!(u.message.starts_with("Too many requests"));
        }
        other => panic!("expected an upstream error, got {other:?}"),
    }

    let out = translate(stream_fixture()[..3].to_vec(), 16).await;
    assert!(matches!(
        out.last(),
        Some(Err(Error::BadUpstreamResponse { .. }))
    ));

    let mut corrupt = stream_fixture();
    let last = corrupt[1].len() - 1;
    corrupt[1][last] ^= 0xff;
    let out = translate(corrupt, 16).await;
    match out.last() {
        Some(Err(Error::BadUpstreamResponse { message, .. })) => {
            assert!(message.contains("checksum"), "{message}")
        }
        other => panic!("expected a checksum error, got {other:?}"),
    }
}
