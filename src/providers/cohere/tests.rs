//! Translation tests against Cohere's v2 wire format.

use bytes::Bytes;
use serde_json::json;

use super::*;
use crate::providers::sse;

fn chat_req(v: serde_json::Value) -> ChatRequest {
    serde_json::from_value(v).unwrap()
}

#[test]
fn a_conversation_with_system_images_tools_and_results_translates() {
    let req = chat_req(json!({
        "model": "cohere/command-a-03-2025",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": [
                {"type": "text", "text": "Weather where this was taken?"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBO", "detail": "low"}}
            ]},
            {"role": "assistant", "content": "I will look it up.", "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}
            ]},
            {"role": "tool", "tool_call_id": "call_1", "content": "{\"temp\":21}"}
        ],
        "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Weather",
                   "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}],
        "tool_choice": "required",
        "temperature": 0.3, "top_p": 0.9, "max_completion_tokens": 200, "stop": "END", "seed": 7,
        "frequency_penalty": 0.1, "presence_penalty": 0.2,
        "response_format": {"type": "json_schema", "json_schema": {"name": "w", "schema": {"type": "object"}}}
    }));
    let body = serde_json::to_value(to_chat_request("command-a-03-2025", &req).unwrap()).unwrap();
    assert_eq!(
        body,
        json!({
            "model": "command-a-03-2025",
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": [
                    {"type": "text", "text": "Weather where this was taken?"},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBO", "detail": "low"}}
                ]},
                {"role": "assistant", "tool_plan": "I will look it up.", "tool_calls": [
                    {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}
                ]},
                {"role": "tool", "tool_call_id": "call_1", "content": "{\"temp\":21}"}
            ],
            "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Weather",
                       "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}],
            "tool_choice": "REQUIRED",
            "response_format": {"type": "json_object", "json_schema": {"type": "object"}},
            "max_tokens": 200, "temperature": 0.3, "p": 0.9, "stop_sequences": ["END"], "seed": 7,
            "frequency_penalty": 0.1, "presence_penalty": 0.2
        })
    );
}

#[test]
fn a_named_tool_choice_sends_only_that_tool_and_n_above_one_is_refused() {
    let req = chat_req(json!({
        "model": "m", "messages": [{"role": "user", "content": "x"}],
        "tools": [
            {"type": "function", "function": {"name": "a"}},
            {"type": "function", "function": {"name": "b"}}
        ],
        "tool_choice": {"type": "function", "function": {"name": "b"}}
    }));
    let body = serde_json::to_value(to_chat_request("m", &req).unwrap()).unwrap();
    assert_eq!(body["tool_choice"], "REQUIRED");
    assert_eq!(body["tools"].as_array().unwrap().len(), 1);
    assert_eq!(body["tools"][0]["function"]["name"], "b");
    let req =
        chat_req(json!({"model": "m", "n": 2, "messages": [{"role": "user", "content": "x"}]}));
    assert!(matches!(
        to_chat_request("m", &req),
        Err(Error::BadRequest(_))
    ));
}

#[test]
fn answers_translate_with_tool_calls_reasoning_usage_and_stop_reasons() {
    let answer: wire::ChatResponse = serde_json::from_value(json!({
        "id": "c0ffee",
        "finish_reason": "TOOL_CALL",
        "message": {
            "role": "assistant",
            "tool_plan": "I will call get_weather.",
            "tool_calls": [{"id": "get_weather_x1", "type": "function",
                            "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}]
        },
        "usage": {"billed_units": {"input_tokens": 31, "output_tokens": 12},
                  "tokens": {"input_tokens": 980, "output_tokens": 40}, "cached_tokens": 8}
    }))
    .unwrap();
    let r = to_chat_response(answer, "command-a", 1);
    let choice = &r.choices[0];
    assert_eq!(choice.finish_reason.as_deref(), Some("tool_calls"));
    assert_eq!(
        choice.message.content,
        Some(MessageContent::Text("I will call get_weather.".into()))
    );
    let call = &choice.message.tool_calls.as_ref().unwrap()[0];
    assert_eq!(call.id, "get_weather_x1");
    assert_eq!(call.function.arguments, "{\"city\":\"Paris\"}");
    let u = r.usage.unwrap();
    assert_eq!(
        (u.prompt_tokens, u.completion_tokens, u.total_tokens),
        (31, 12, 43)
    );
    assert_eq!(
        u.prompt_tokens_details.map(|d| d.to_value()),
        Some(json!({"cached_tokens": 8}))
    );

    let answer: wire::ChatResponse = serde_json::from_value(json!({
        "id": "x", "finish_reason": "MAX_TOKENS",
        "message": {"role": "assistant", "content": [
            {"type": "thinking", "thinking": "hmm"}, {"type": "text", "text": "Hello"}]},
        "usage": {"tokens": {"input_tokens": 5, "output_tokens": 2}}
    }))
    .unwrap();
    let r = to_chat_response(answer, "command-a", 1);
    assert_eq!(r.choices[0].finish_reason.as_deref(), Some("length"));
    assert_eq!(
        r.choices[0].message.reasoning_content.as_deref(),
        Some("hmm")
    );
    assert_eq!(r.usage.unwrap().total_tokens, 7);
    for (cohere, openai) in [
        ("COMPLETE", "stop"),
        ("STOP_SEQUENCE", "stop"),
        ("ERROR", "error"),
        ("TIMEOUT", "error"),
    ] {
        assert_eq!(finish_reason(Some(cohere)), openai);
    }
}

/// Cohere's v2 stream as it is sent: `event:` names and `data:` JSON.
fn cohere_stream(events: &[serde_json::Value]) -> Vec<Result<Bytes>> {
    events
        .iter()
        .map(|e| {
            Ok(Bytes::from(format!(
                "event: {}\ndata: {e}\n\n",
                e["type"].as_str().unwrap()
            )))
        })
        .collect()
}

async fn translate(events: &[serde_json::Value]) -> Vec<Result<ChatChunk>> {
    let bytes = futures_util::stream::iter(cohere_stream(events));
    translate_events("cohere", "command-a", sse::events(bytes))
        .collect()
        .await
}

#[tokio::test]
async fn a_text_stream_becomes_chunks_with_a_usage_chunk_last() {
    let chunks = translate(&[
        json!({"id": "m1", "type": "message-start", "delta": {"message": {"role": "assistant", "content": [], "tool_plan": "", "tool_calls": [], "citations": []}}}),
        json!({"type": "content-start", "index": 0, "delta": {"message": {"content": {"type": "text", "text": ""}}}}),
        json!({"type": "content-delta", "index": 0, "delta": {"message": {"content": {"text": "Hel"}}}}),
        json!({"type": "content-delta", "index": 0, "delta": {"message": {"content": {"text": "lo"}}}}),
        json!({"type": "content-end", "index": 0}),
        json!({"type": "message-end", "delta": {"finish_reason": "COMPLETE", "usage": {"billed_units": {"input_tokens": 3, "output_tokens": 2}, "tokens": {"input_tokens": 70, "output_tokens": 2}}}}),
    ])
    .await;
    let chunks: Vec<ChatChunk> = chunks.into_iter().map(|c| c.unwrap()).collect();
    assert_eq!(chunks[0].id, "m1");
    assert_eq!(
        chunks[0].choices[0].delta.role.as_deref(),
        Some("assistant")
    );
    let text: String = chunks
        .iter()
        .filter_map(|c| c.choices.first()?.delta.content.clone())
        .collect();
    assert_eq!(text, "Hello");
    let finish = &chunks[chunks.len() - 2];
    assert_eq!(finish.choices[0].finish_reason.as_deref(), Some("stop"));
    let last = chunks.last().unwrap();
    assert!(last.choices.is_empty());
    assert_eq!(last.usage.as_ref().unwrap().total_tokens, 5);
}

#[tokio::test]
async fn tool_call_events_become_tool_call_fragments() {
    let chunks = translate(&[
        json!({"id": "m2", "type": "message-start", "delta": {"message": {"role": "assistant"}}}),
        json!({"type": "tool-plan-delta", "delta": {"message": {"tool_plan": "Checking."}}}),
        json!({"type": "tool-call-start", "index": 0, "delta": {"message": {"tool_calls": {"id": "get_weather_1", "type": "function", "function": {"name": "get_weather", "arguments": ""}}}}}),
        json!({"type": "tool-call-delta", "index": 0, "delta": {"message": {"tool_calls": {"function": {"arguments": "{\"city\":"}}}}}),
        json!({"type": "tool-call-delta", "index": 0, "delta": {"message": {"tool_calls": {"function": {"arguments": "\"Paris\"}"}}}}}),
        json!({"type": "tool-call-end", "index": 0}),
        json!({"type": "message-end", "delta": {"finish_reason": "TOOL_CALL", "usage": {"billed_units": {"input_tokens": 9, "output_tokens": 4}}}}),
    ])
    .await;
    let chunks: Vec<ChatChunk> = chunks.into_iter().map(|c| c.unwrap()).collect();
    let calls: Vec<&ChunkToolCall> = chunks
        .iter()
        .filter_map(|c| c.choices.first()?.delta.tool_calls.as_ref())
        .flatten()
        .collect();
    assert_eq!(calls[0].id.as_deref(), Some("get_weather_1"));
    assert_eq!(
        calls[0].function.as_ref().unwrap().name.as_deref(),
        Some("get_weather")
    );
    let args: String = calls
        .iter()
        .filter_map(|c| c.function.as_ref()?.arguments.clone())
        .collect();
    assert_eq!(args, "{\"city\":\"Paris\"}");
    assert_eq!(
        chunks[chunks.len() - 2].choices[0].finish_reason.as_deref(),
        Some("tool_calls")
    );
}

#[tokio::test]
async fn a_stream_cut_before_message_end_ends_with_an_error() {
    let chunks = translate(&[
        json!({"id": "m3", "type": "message-start", "delta": {"message": {"role": "assistant"}}}),
        json!({"type": "content-delta", "index": 0, "delta": {"message": {"content": {"text": "Hi"}}}}),
    ])
    .await;
    assert!(matches!(
        chunks.last(),
        Some(Err(Error::BadUpstreamResponse { .. }))
    ));
}

#[test]
fn embeddings_translate_both_ways() {
    let req: EmbeddingRequest = serde_json::from_value(json!({
        "model": "cohere/embed-v4.0", "input": ["a", "b"], "dimensions": 256
    }))
    .unwrap();
    let body = serde_json::to_value(to_embed_request("embed-v4.0", &req).unwrap()).unwrap();
    assert_eq!(
        body,
        json!({"model": "embed-v4.0", "texts": ["a", "b"], "input_type": "search_document",
               "embedding_types": ["float"], "output_dimension": 256})
    );
    let req: EmbeddingRequest = serde_json::from_value(json!({
        "model": "m", "input": "q", "input_type": "search_query"
    }))
    .unwrap();
    assert_eq!(
        to_embed_request("m", &req).unwrap().input_type,
        "search_query"
    );
    let req: EmbeddingRequest =
        serde_json::from_value(json!({"model": "m", "input": [[1, 2]]})).unwrap();
    assert!(to_embed_request("m", &req).is_err());

    let answer: wire::EmbedResponse = serde_json::from_value(json!({
        "id": "e1", "response_type": "embeddings_by_type",
        "embeddings": {"float": [[0.5, -0.25], [0.125, 1.0]]},
        "texts": ["a", "b"],
        "meta": {"api_version": {"version": "2"}, "billed_units": {"input_tokens": 4}}
    }))
    .unwrap();
    let r = to_embedding_response("cohere", answer, "float", "embed-v4.0").unwrap();
    assert_eq!(r.data.len(), 2);
    assert_eq!(r.data[1].index, 1);
    assert_eq!(r.data[1].embedding, json!([0.125, 1.0]));
    assert_eq!(r.usage.unwrap().prompt_tokens, 4);
}

#[test]
fn errors_keep_cohere_s_message() {
    let e = parse_error(
        "cohere",
        400,
        br#"{"id":"x","message":"invalid request: model 'nope' not found"}"#,
    );
    assert_eq!(e.message, "invalid request: model 'nope' not found");
    assert_eq!(e.status, 400);
    let e = parse_error("cohere", 502, b"<html>bad gateway</html>");
    assert_eq!(e.message, "<html>bad gateway</html>");
}
