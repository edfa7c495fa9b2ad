//! Translation tests over fixtures in Gemini's wire format.

use bytes::Bytes;
use futures_util::StreamExt;
use serde_json::json;

use super::*;
use crate::providers::sse;

fn translate(body: Value) -> Value {
    let req: ChatRequest = serde_json::from_value(body).unwrap();
    serde_json::to_value(to_generate_request(&req).unwrap()).unwrap()
}

fn translate_err(body: Value) -> String {
    let req: ChatRequest = serde_json::from_value(body).unwrap();
    match to_generate_request(&req) {
        Err(Error::BadRequest(m)) => m,
        other => panic!("expected BadRequest, got {other:?}"),
    }
}

fn response(json: Value) -> ChatResponse {
    to_chat_response(
        serde_json::from_value(json).unwrap(),
        "gemini-2.0-flash",
        1_700_000_000,
    )
}

/// Runs SSE text through the real SSE parser and the translation, in small byte chunks so
/// that events straddle reads as they do on the network.
async fn run_stream(sse_text: &str) -> Vec<Result<ChatChunk>> {
    let bytes: Vec<Result<Bytes>> = sse_text
        .as_bytes()
        .chunks(29)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    let events = sse::events(futures_util::stream::iter(bytes));
    translate_events("gemini", "gemini-2.0-flash", events)
        .collect()
        .await
}

/// Gemini's SSE framing: `data: <json>` and a CRLF blank line.
fn sse_body(chunks: &[Value]) -> String {
    chunks
        .iter()
        .map(|c| format!("data: {c}\r\n\r\n"))
        .collect()
}

// --- request translation ---------------------------------------------------------------

#[test]
fn system_prompt_and_roles() {
    let out = translate(json!({"model": "gemini/gemini-2.0-flash", "messages": [
        {"role": "system", "content": "Be terse."},
        {"role": "developer", "content": [{"type": "text", "text": "Use French."}]},
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "bonjour"},
        {"role": "user", "content": "again"},
        {"role": "user", "content": "and again"}
    ]}));
    assert_eq!(
        out["systemInstruction"],
        json!({"parts": [{"text": "Be terse."}, {"text": "Use French."}]})
    );
    assert_eq!(
        out["contents"],
        json!([
            {"role": "user", "parts": [{"text": "hi"}]},
            {"role": "model", "parts": [{"text": "bonjour"}]},
            {"role": "user", "parts": [{"text": "again"}, {"text": "and again"}]}
        ])
    );
    assert!(out.get("generationConfig").is_none());
    assert!(out.get("tools").is_none());
    assert!(out.get("model").is_none(), "the model is in the URL");
}

#[test]
fn images_become_inline_data_or_file_data() {
    let out = translate(
        json!({"model": "m", "messages": [{"role": "user", "content": [
            {"type": "text", "text": "What is this?"},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
            {"type": "image_url", "image_url": {"url": "https://example.com/cat.JPG?size=large"}},
            {"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}}
        ]}]}),
    );
    assert_eq!(
        out["contents"][0]["parts"],
        json!([
            {"text": "What is this?"},
            {"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}},
            {"fileData": {"mimeType": "image/jpeg", "fileUri": "https://example.com/cat.JPG?size=large"}},
            {"inlineData": {"mimeType": "audio/wav", "data": "UklGRg=="}}
        ])
    );
    assert!(translate_err(
        json!({"model": "m", "messages": [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": "data:image/png,notbase64"}}]}]})
    )
    .contains("base64"));
    assert!(translate_err(
        json!({"model": "m", "messages": [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": "ftp://x/y.png"}}]}]})
    )
    .contains("media URLs"));
}

#[test]
fn tools_calls_and_results_round_trip() {
    let out = translate(json!({"model": "m",
        "messages": [
            {"role": "user", "content": "Weather in Paris and Rome?"},
            {"role": "assistant", "content": "", "tool_calls": [
                {"id": "call_a", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}},
                {"id": "call_b", "type": "function", "function": {"name": "get_time", "arguments": ""}}
            ]},
            {"role": "tool", "tool_call_id": "call_a", "content": "{\"temp\":21}"},
            {"role": "tool", "tool_call_id": "call_b", "content": "noon"}
        ],
        "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Weather",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "additionalProperties": false}}}],
        "tool_choice": {"type": "function", "function": {"name": "get_weather"}}
    }));
    assert_eq!(
        out["tools"],
        json!([{"functionDeclarations": [{"name": "get_weather", "description": "Weather",
            "parametersJsonSchema": {"type": "object", "properties": {"city": {"type": "string"}}, "additionalProperties": false}}]}])
    );
    assert_eq!(
        out["toolConfig"],
        json!({"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["get_weather"]}})
    );
    assert_eq!(
        out["contents"][1],
        json!({"role": "model", "parts": [
            {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}},
            {"functionCall": {"name": "get_time", "args": {}}}
        ]})
    );
    // Both results in one user turn, names found from the calls' ids.
    assert_eq!(
        out["contents"][2],
        json!({"role": "user", "parts": [
            {"functionResponse": {"name": "get_weather", "response": {"temp": 21}}},
            {"functionResponse": {"name": "get_time", "response": {"content": "noon"}}}
        ]})
    );
    assert_eq!(out["contents"].as_array().unwrap().len(), 3);

    for (choice, mode) in [("auto", "AUTO"), ("required", "ANY"), ("none", "NONE")] {
        let out = translate(json!({"model": "m", "messages": [], "tool_choice": choice}));
        assert_eq!(out["toolConfig"]["functionCallingConfig"]["mode"], mode);
    }
    assert!(translate_err(json!({"model": "m", "messages": [
        {"role": "tool", "tool_call_id": "nope", "content": "x"}]}))
    .contains("matches no earlier assistant tool call"));
    assert!(translate_err(json!({"model": "m", "messages": [
        {"role": "assistant", "tool_calls": [{"id": "c", "type": "function", "function": {"name": "f", "arguments": "[1]"}}]}]}))
    .contains("must be a JSON object"));
}

#[test]
fn sampling_limits_format_and_thinking_go_in_generation_config() {
    let out = translate(
        json!({"model": "m", "messages": [{"role": "user", "content": "x"}],
            "temperature": 0.3, "top_p": 0.9, "max_tokens": 100, "max_completion_tokens": 200,
            "stop": "END", "n": 2, "presence_penalty": 0.1, "frequency_penalty": 0.2, "seed": 7,
            "reasoning_effort": "medium",
            "response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "object"}}}
        }),
    );
    assert_eq!(
        out["generationConfig"],
        json!({
            "temperature": 0.3, "topP": 0.9, "candidateCount": 2, "maxOutputTokens": 200,
            "stopSequences": ["END"], "presencePenalty": 0.1, "frequencyPenalty": 0.2, "seed": 7,
            "responseMimeType": "application/json", "responseJsonSchema": {"type": "object"},
            "thinkingConfig": {"thinkingBudget": 8192, "includeThoughts": true}
        })
    );
    let json_mode = translate(json!({"model": "m", "messages": [],
        "response_format": {"type": "json_object"}, "reasoning_effort": "none"}));
    assert_eq!(
        json_mode["generationConfig"],
        json!({"responseMimeType": "application/json", "thinkingConfig": {"thinkingBudget": 0}})
    );
    assert!(translate_err(json!({"model": "m", "messages": [], "stop": 5})).contains("stop"));
    assert!(
        translate_err(json!({"model": "m", "messages": [], "reasoning_effort": "max"}))
            .contains("reasoning_effort")
    );
}

#[test]
fn embedding_inputs_become_entries() {
    let req: EmbeddingRequest = serde_json::from_value(
        json!({"model": "gemini/text-embedding-004", "input": ["a", "b"], "dimensions": 8}),
    )
    .unwrap();
    let entries =
        serde_json::to_value(to_embed_entries("text-embedding-004", &req).unwrap()).unwrap();
    assert_eq!(
        entries,
        json!([
            {"model": "models/text-embedding-004", "content": {"parts": [{"text": "a"}]}, "outputDimensionality": 8},
            {"model": "models/text-embedding-004", "content": {"parts": [{"text": "b"}]}, "outputDimensionality": 8}
        ])
    );
    let tokens: EmbeddingRequest =
        serde_json::from_value(json!({"model": "m", "input": [[1, 2, 3]]})).unwrap();
    assert!(matches!(
        to_embed_entries("m", &tokens),
        Err(Error::BadRequest(_))
    ));
}

// --- responses -------------------------------------------------------------------------

#[test]
fn text_answer_with_thoughts_and_usage() {
    let r = response(json!({
        "candidates": [{"content": {"role": "model", "parts": [
            {"text": "Let me think.", "thought": true},
            {"text": "Hello"}, {"text": " world"}
        ]}, "finishReason": "STOP", "index": 0, "safetyRatings": []}],
        "usageMetadata": {"promptTokenCount": 12, "candidatesTokenCount": 5, "totalTokenCount": 27,
            "thoughtsTokenCount": 10, "cachedContentTokenCount": 4,
            "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 12}]},
        "modelVersion": "gemini-2.5-flash",
        "responseId": "resp-1"
    }));
    assert_eq!(r.id, "resp-1");
    assert_eq!(r.model, "gemini-2.5-flash");
    assert_eq!(r.created, 1_700_000_000);
    let msg = &r.choices[0].message;
    assert_eq!(
        msg.content,
        Some(MessageContent::Text("Hello world".into()))
    );
    assert_eq!(msg.reasoning_content.as_deref(), Some("Let me think."));
    assert_eq!(r.choices[0].finish_reason.as_deref(), Some("stop"));
    let u = r.usage.unwrap();
    assert_eq!(
        (u.prompt_tokens, u.completion_tokens, u.total_tokens),
        (12, 15, 27)
    );
    assert_eq!(
        u.prompt_tokens_details.map(|d| d.to_value()),
        Some(json!({"cached_tokens": 4}))
    );
    assert_eq!(
        u.completion_tokens_details.map(|d| d.to_value()),
        Some(json!({"reasoning_tokens": 10}))
    );
}

#[test]
fn function_calls_become_tool_calls() {
    let r = response(
        json!({"candidates": [{"content": {"role": "model", "parts": [
        {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}},
        {"functionCall": {"id": "fc-2", "name": "get_time"}}
    ]}, "finishReason": "STOP"}]}),
    );
    let choice = &r.choices[0];
    assert_eq!(choice.finish_reason.as_deref(), Some("tool_calls"));
    assert_eq!(choice.message.content, None);
    let calls = choice.message.tool_calls.as_ref().unwrap();
    assert!(calls[0].id.starts_with("call_"));
    assert_ne!(calls[0].id, calls[1].id);
    assert_eq!(calls[0].function.name, "get_weather");
    assert_eq!(calls[0].function.arguments, r#"{"city":"Paris"}"#);
    assert_eq!(calls[1].id, "fc-2");
    assert_eq!(calls[1].function.arguments, "{}");
    assert_eq!(
        r.model, "gemini-2.0-flash",
        "falls back to the model asked for"
    );
    assert!(r.id.starts_with("chatcmpl-"));
}

#[test]
fn finish_reasons_map_to_openai() {
    for (gemini, openai) in [
        ("STOP", "stop"),
        ("MAX_TOKENS", "length"),
        ("SAFETY", "content_filter"),
        ("RECITATION", "content_filter"),
        ("PROHIBITED_CONTENT", "content_filter"),
        ("BLOCKLIST", "content_filter"),
        ("SPII", "content_filter"),
        ("OTHER", "stop"),
    ] {
        assert_eq!(finish_reason(gemini, false), openai, "{gemini}");
    }
    assert_eq!(finish_reason("STOP", true), "tool_calls");
    assert_eq!(finish_reason("MAX_TOKENS", true), "length");

    let blocked = response(json!({"promptFeedback": {"blockReason": "SAFETY"},
        "usageMetadata": {"promptTokenCount": 3, "totalTokenCount": 3}}));
    assert_eq!(blocked.choices.len(), 1);
    assert_eq!(
        blocked.choices[0].finish_reason.as_deref(),
        Some("content_filter")
    );
    assert_eq!(blocked.usage.unwrap().total_tokens, 3);
}

#[test]
fn errors_keep_message_and_status_name() {
    let body = br#"{"error": {"code": 400, "message": "API key not valid. Please pass a valid API key.", "status": "INVALID_ARGUMENT",
        "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID"}]}}"#;
    let e = parse_error("gemini", 400, body);
    assert_eq!(e.status, 400);
    assert_eq!(e.message, "API key not valid. Please pass a valid API key.");
    assert_eq!(e.error_type.as_deref(), Some("INVALID_ARGUMENT"));
    assert_eq!(e.code.as_deref(), Some("400"));
    let wrapped = br#"[{"error": {"code": 429, "message": "Resource has been exhausted", "status": "RESOURCE_EXHAUSTED"}}]"#;
    assert_eq!(
        parse_error("gemini", 429, wrapped).error_type.as_deref(),
        Some("RESOURCE_EXHAUSTED")
    );
    assert_eq!(
        parse_error("gemini", 502, b"<html>bad</html>").message,
        "<html>bad</html>"
    );
}

#[test]
fn embeddings_as_floats_or_base64_and_models() {
    let embeddings: Vec<wire::ContentEmbedding> =
        serde_json::from_value(json!([{"values": [0.5, -1.0]}, {"values": [1.0, 2.0]}])).unwrap();
    let r = to_embedding_response(embeddings.clone(), "text-embedding-004", None).unwrap();
    assert_eq!(r.data[1].index, 1);
    assert_eq!(r.data[0].embedding, json!([0.5, -1.0]));
    let b = to_embedding_response(embeddings, "text-embedding-004", Some("base64")).unwrap();
    // 0.5f32 = 00 00 00 3f, -1.0f32 = 00 00 80 bf (little endian).
    assert_eq!(b.data[0].embedding, json!("AAAAPwAAgL8="));

    let m = to_model(
        serde_json::from_value(json!({"name": "models/gemini-2.0-flash",
        "displayName": "Gemini 2.0 Flash", "supportedGenerationMethods": ["generateContent"]}))
        .unwrap(),
    );
    assert_eq!(m.id, "gemini-2.0-flash");
    assert_eq!(m.owned_by, "google");
}

#[test]
fn urls_name_the_model_and_method() {
    assert_eq!(
        model_path("gemini-2.0-flash", "generateContent"),
        "/models/gemini-2.0-flash:generateContent"
    );
    assert_eq!(
        model_path("tunedModels/mine", "generateContent"),
        "/tunedModels/mine:generateContent"
    );
    assert_eq!(
        sse_url("http://h/x:streamGenerateContent".into()),
        "http://h/x:streamGenerateContent?alt=sse"
    );
    assert_eq!(sse_url("http://h/x?a=1".into()), "http://h/x?a=1&alt=sse");
}

// --- streams ---------------------------------------------------------------------------

#[tokio::test]
async fn stream_chunks_translate_with_usage_last() {
    let body = sse_body(&[
        json!({"candidates": [{"content": {"role": "model", "parts": [{"text": "Hel"}]}, "index": 0}],
            "usageMetadata": {"promptTokenCount": 7, "totalTokenCount": 7}, "modelVersion": "gemini-2.0-flash-001", "responseId": "r-9"}),
        json!({"candidates": [{"content": {"role": "model", "parts": [{"text": "lo"}]}, "index": 0}],
            "modelVersion": "gemini-2.0-flash-001", "responseId": "r-9"}),
        json!({"candidates": [{"content": {"role": "model", "parts": [{"text": "!"}]}, "finishReason": "STOP", "index": 0}],
            "usageMetadata": {"promptTokenCount": 7, "candidatesTokenCount": 3, "totalTokenCount": 10},
            "modelVersion": "gemini-2.0-flash-001", "responseId": "r-9"}),
    ]);
    let chunks: Vec<ChatChunk> = run_stream(&body)
        .await
        .into_iter()
        .map(|c| c.unwrap())
        .collect();
    assert_eq!(chunks.len(), 4);
    assert_eq!(
        chunks[0].choices[0].delta.role.as_deref(),
        Some("assistant")
    );
    assert_eq!(chunks[1].choices[0].delta.role, None);
    let text: String = chunks
        .iter()
        .flat_map(|c| c.choices.iter())
        .filter_map(|c| c.delta.content.clone())
        .collect();
    assert_eq!(text, "Hello!");
    assert_eq!(chunks[2].choices[0].finish_reason.as_deref(), Some("stop"));
    assert!(chunks
        .iter()
        .all(|c| c.id == "r-9" && c.model == "gemini-2.0-flash-001"));
    let last = chunks.last().unwrap();
    assert!(last.choices.is_empty());
    let u = last.usage.clone().unwrap();
    assert_eq!(
        (u.prompt_tokens, u.completion_tokens, u.total_tokens),
        (7, 3, 10)
    );
}

#[tokio::test]
async fn stream_function_calls_are_whole_tool_call_chunks() {
    let body = sse_body(&[
        json!({"candidates": [{"content": {"role": "model", "parts": [
        {"functionCall": {"name": "a", "args": {"x": 1}}},
        {"functionCall": {"name": "b", "args": {}}}
    ]}, "finishReason": "STOP"}]}),
    ]);
    let chunks: Vec<ChatChunk> = run_stream(&body)
        .await
        .into_iter()
        .map(|c| c.unwrap())
        .collect();
    let first = &chunks[0].choices[0];
    assert_eq!(first.finish_reason.as_deref(), Some("tool_calls"));
    let calls = first.delta.tool_calls.as_ref().unwrap();
    assert_eq!((calls[0].index, calls[1].index), (0, 1));
    assert_eq!(calls[0].kind.as_deref(), Some("function"));
    let f = calls[0].function.as_ref().unwrap();
    assert_eq!(
        (f.name.as_deref(), f.arguments.as_deref()),
        (Some("a"), Some(r#"{"x":1}"#))
    );
}

#[tokio::test]
async fn truncated_streams_and_error_events_fail() {
    let cut = sse_body(&[json!({"candidates": [{"content": {"parts": [{"text": "Hel"}]}}]})]);
    let items = run_stream(&cut).await;
    assert!(items[0].is_ok());
    assert!(matches!(
        items.last(),
        Some(Err(Error::BadUpstreamResponse { .. }))
    ));

    let failed = sse_body(&[
        json!({"candidates": [{"content": {"parts": [{"text": "Hel"}]}}]}),
        json!({"error": {"code": 503, "message": "The model is overloaded.", "status": "UNAVAILABLE"}}),
    ]);
    let items = run_stream(&failed).await;
    match items.last() {
        Some(Err(Error::Upstream(e))) => {
            assert_eq!(e.status, 503);
            assert_eq!(e.message, "The model is overloaded.");
        }
        other => panic!("expected an upstream error, got {other:?}"),
    }
}
