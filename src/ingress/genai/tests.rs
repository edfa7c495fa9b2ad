//! Unit tests of the GenAI ingress translations, on fixtures in the real wire format.

use serde_json::{json, Value};

use super::*;
use crate::error::Error;
use crate::ingress::StreamEncoder;
use crate::schemas::openai::{
    ChatChoice, ChatChunk, ChatMessage, ChatResponse, ChunkChoice, ChunkDelta, ChunkFunctionCall,
    ChunkToolCall, Embedding, Usage,
};

/// What the google-genai SDK sends for a function-calling round trip (ids omitted, as the SDK's
/// `Part.from_function_response` does).
const ROUND_TRIP: &str = r#"{
  "contents": [
    {"role": "user", "parts": [{"text": "Weather in Paris?"}]},
    {"role": "model", "parts": [
      {"text": "thinking...", "thought": true},
      {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}}
    ]},
    {"role": "user", "parts": [
      {"functionResponse": {"name": "get_weather", "response": {"result": "sunny"}}},
      {"text": "Thanks"},
      {"inlineData": {"mimeType": "image/png", "data": "iVBOR"}}
    ]}
  ],
  "systemInstruction": {"parts": [{"text": "Be brief."}]},
  "tools": [{"functionDeclarations": [{"name": "get_weather", "description": "Weather",
    "parameters": {"type": "OBJECT", "properties": {"city": {"type": "STRING", "nullable": true}}, "required": ["city"], "propertyOrdering": ["city"]}}]}],
  "toolConfig": {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["get_weather"]}},
  "generationConfig": {"temperature": 0.3, "topP": 0.9, "topK": 20, "maxOutputTokens": 100,
    "stopSequences": ["END"], "candidateCount": 1, "responseMimeType": "application/json",
    "thinkingConfig": {"thinkingBudget": 2048}},
  "safetySettings": [{"category": "HARM_CATEGORY_HATE_SPEECH", "threshold": "BLOCK_NONE"}]
}"#;

#[test]
fn contents_become_chat_messages() {
    let req: crate::schemas::genai::GenerateContentRequest =
        serde_json::from_str(ROUND_TRIP).unwrap();
    let chat = to_chat_request("openai/gpt-4o-mini".into(), req).unwrap();
    assert_eq!(chat.model, "openai/gpt-4o-mini");
    assert_eq!(chat.temperature, Some(0.3));
    assert_eq!(chat.top_p, Some(0.9));
    assert_eq!(chat.max_completion_tokens, Some(100));
    assert_eq!(chat.stop, Some(json!(["END"])));
    assert_eq!(chat.n, Some(1));
    assert_eq!(chat.extra.get("top_k"), Some(&json!(20.0)));
    assert_eq!(chat.response_format, Some(json!({"type": "json_object"})));
    assert_eq!(chat.reasoning_effort.as_deref(), Some("medium"));
    assert_eq!(
        chat.tool_choice,
        Some(json!({"type": "function", "function": {"name": "get_weather"}}))
    );
    let params = chat.tools.as_ref().unwrap()[0]
        .function
        .parameters
        .clone()
        .unwrap();
    assert_eq!(
        params,
        json!({"type": "object", "properties": {"city": {"type": ["string", "null"]}}, "required": ["city"]})
    );
    let m = serde_json::to_value(&chat.messages).unwrap();
    assert_eq!(m.as_array().unwrap().len(), 5, "{m:#}");
    assert_eq!(m[0], json!({"role": "system", "content": "Be brief."}));
    assert_eq!(
        m[1],
        json!({"role": "user", "content": "Weather in Paris?"})
    );
    assert_eq!(m[2]["role"], "assistant");
    assert_eq!(m[2]["content"], Value::Null);
    assert_eq!(m[2]["reasoning_content"], "thinking...");
    let id = m[2]["tool_calls"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        m[2]["tool_calls"][0]["function"]["arguments"],
        "{\"city\":\"Paris\"}"
    );
    // The response without an id is matched to the call by name.
    assert_eq!(m[3]["role"], "tool");
    assert_eq!(m[3]["tool_call_id"], id.as_str());
    assert_eq!(m[3]["content"], "{\"result\":\"sunny\"}");
    assert_eq!(
        m[4]["content"][0],
        json!({"type": "text", "text": "Thanks"})
    );
    assert_eq!(
        m[4]["content"][1]["image_url"]["url"],
        "data:image/png;base64,iVBOR"
    );
}

#[test]
fn built_in_tools_and_bad_roles_are_refused() {
    let req = serde_json::from_value(
        json!({"contents": [{"parts": [{"text": "x"}]}], "tools": [{"googleSearch": {}}]}),
    )
    .unwrap();
    let err = to_chat_request("gemini/x".into(), req).unwrap_err();
    assert!(err.to_string().contains("googleSearch"), "{err}");
    let req =
        serde_json::from_value(json!({"contents": [{"role": "system", "parts": [{"text": "x"}]}]}))
            .unwrap();
    assert_eq!(
        to_chat_request("gemini/x".into(), req)
            .unwrap_err()
            .status(),
        400
    );
}

#[test]
fn paths_split_into_model_and_method() {
    assert_eq!(
        split_model_method("gemini-2.0-flash:generateContent"),
        Some(("gemini-2.0-flash", Method::Generate))
    );
    assert_eq!(
        split_model_method("models/openai/gpt-4o-mini:streamGenerateContent"),
        Some(("openai/gpt-4o-mini", Method::StreamGenerate))
    );
    assert_eq!(
        split_model_method("x:batchEmbedContents"),
        Some(("x", Method::BatchEmbed))
    );
    assert_eq!(split_model_method("x:predictLongRunning"), None);
    assert_eq!(split_model_method("gemini-pro"), None);
}

#[test]
fn chat_response_becomes_candidates() {
    let message: ChatMessage = serde_json::from_value(json!({
        "role": "assistant", "content": null,
        "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}]
    }))
    .unwrap();
    let resp = ChatResponse {
        id: "chatcmpl-1".into(),
        model: "gpt-4o-mini".into(),
        choices: vec![ChatChoice {
            extra: Default::default(),
            index: 0,
            message,
            finish_reason: Some("tool_calls".into()),
            logprobs: None,
        }],
        usage: Some(Usage {
            prompt_tokens: 9,
            completion_tokens: 3,
            total_tokens: 12,
            ..Usage::default()
        }),
        ..ChatResponse::default()
    };
    let v = serde_json::to_value(to_generate_response(resp)).unwrap();
    assert_eq!(
        v,
        json!({
            "candidates": [{"content": {"role": "model", "parts": [
                {"functionCall": {"id": "call_1", "name": "get_weather", "args": {"city": "Paris"}}}
            ]}, "finishReason": "STOP", "index": 0}],
            "usageMetadata": {"promptTokenCount": 9, "candidatesTokenCount": 3, "totalTokenCount": 12},
            "modelVersion": "gpt-4o-mini",
            "responseId": "chatcmpl-1"
        })
    );
    assert_eq!(finish_reason(Some("length")), "MAX_TOKENS");
    assert_eq!(finish_reason(Some("content_filter")), "SAFETY");
}

fn chunk(delta: ChunkDelta, finish: Option<&str>) -> ChatChunk {
    ChatChunk {
        id: "chatcmpl-s".into(),
        model: "gpt-4o-mini".into(),
        choices: vec![ChunkChoice {
            extra: Default::default(),
            index: 0,
            delta,
            finish_reason: finish.map(str::to_owned),
            logprobs: None,
        }],
        ..ChatChunk::default()
    }
}

fn frames(out: &[u8]) -> Vec<Value> {
    std::str::from_utf8(out)
        .unwrap()
        .split("\n\n")
        .filter(|f| !f.is_empty())
        .map(|f| serde_json::from_str(f.strip_prefix("data: ").unwrap()).unwrap())
        .collect()
}

#[test]
fn chunks_become_sse_chunks_with_calls_gathered() {
    let mut enc = GenerateStream::new();
    let mut out = Vec::new();
    let d = ChunkDelta {
        role: Some("assistant".into()),
        content: Some(String::new()),
        ..ChunkDelta::default()
    };
    enc.chunk(chunk(d, None), &mut out);
    assert!(out.is_empty(), "an empty role chunk makes no frame");
    let d = ChunkDelta {
        content: Some("Hi".into()),
        ..ChunkDelta::default()
    };
    enc.chunk(chunk(d, None), &mut out);
    for (id, name, args) in [(Some("call_1"), Some("f"), "{\"a\""), (None, None, ":1}")] {
        let d = ChunkDelta {
            tool_calls: Some(vec![ChunkToolCall {
                index: 0,
                id: id.map(str::to_owned),
                kind: None,
                function: Some(ChunkFunctionCall {
                    name: name.map(str::to_owned),
                    arguments: Some(args.into()),
                }),
            }]),
            ..ChunkDelta::default()
        };
        enc.chunk(chunk(d, None), &mut out);
    }
    enc.chunk(chunk(ChunkDelta::default(), Some("tool_calls")), &mut out);
    enc.chunk(
        ChatChunk {
            usage: Some(Usage {
                prompt_tokens: 4,
                completion_tokens: 2,
                total_tokens: 6,
                ..Usage::default()
            }),
            ..ChatChunk::default()
        },
        &mut out,
    );
    enc.finish(&mut out);
    let f = frames(&out);
    assert_eq!(f.len(), 2, "{f:#?}");
    assert_eq!(
        f[0]["candidates"][0]["content"]["parts"],
        json!([{"text": "Hi"}])
    );
    assert!(f[0]["candidates"][0].get("finishReason").is_none());
    assert_eq!(
        f[1]["candidates"][0]["content"]["parts"],
        json!([{"functionCall": {"id": "call_1", "name": "f", "args": {"a": 1}}}])
    );
    assert_eq!(f[1]["candidates"][0]["finishReason"], "STOP");
    assert_eq!(f[1]["usageMetadata"]["totalTokenCount"], 6);

    let mut out = Vec::new();
    enc.fail(&Error::BadRequest("no".into()), &mut out);
    assert_eq!(
        frames(&out)[0],
        json!({"error": {"code": 400, "message": "no", "status": "INVALID_ARGUMENT"}})
    );
}

#[test]
fn embeddings_translate_both_ways() {
    let batch: crate::schemas::genai::BatchEmbedContentsRequest = serde_json::from_value(json!({
        "requests": [
            {"model": "models/x", "content": {"parts": [{"text": "a"}]}, "outputDimensionality": 3},
            {"model": "models/x", "content": {"parts": [{"text": "b"}]}}
        ]
    }))
    .unwrap();
    let req = to_embedding_request("openai/te".into(), &batch.requests);
    assert_eq!(req.input, json!(["a", "b"]));
    assert_eq!(req.dimensions, Some(3));
    let single = to_embedding_request("openai/te".into(), &batch.requests[..1]);
    assert_eq!(single.input, json!("a"));
    let resp = crate::schemas::openai::EmbeddingResponse {
        data: vec![
            Embedding {
                object: "embedding".into(),
                embedding: json!([0.5]),
                index: 1,
            },
            Embedding {
                object: "embedding".into(),
                embedding: json!([0.25]),
                index: 0,
            },
        ],
        ..Default::default()
    };
    let v = serde_json::to_value(to_batch_embed_response(resp)).unwrap();
    assert_eq!(
        v,
        json!({"embeddings": [{"values": [0.25]}, {"values": [0.5]}]})
    );
}

#[test]
fn errors_take_google_statuses() {
    let v =
        serde_json::to_value(error_body(&Error::ProviderNotConfigured("gemini".into()))).unwrap();
    assert_eq!(v["error"]["code"], 400);
    assert_eq!(v["error"]["status"], "INVALID_ARGUMENT");
    assert_eq!(status_name(429), "RESOURCE_EXHAUSTED");
    assert_eq!(status_name(401), "UNAUTHENTICATED");
    assert_eq!(status_name(502), "INTERNAL");
    assert_eq!(status_name(504), "DEADLINE_EXCEEDED");
}
