//! Unit tests of the Responses ingress translations, on fixtures in the real wire format.

use serde_json::{json, Value};

use super::*;
use crate::ingress::StreamEncoder;
use crate::schemas::openai::{
    ChatChoice, ChatChunk, ChatMessage, ChatResponse, ChunkChoice, ChunkDelta, ChunkFunctionCall,
    ChunkToolCall, TokenDetails, Usage,
};
use crate::schemas::responses::ResponsesRequest;

/// A tool round trip as the OpenAI SDK sends it: the earlier output items fed back, plus the
/// function's output.
const ROUND_TRIP: &str = r#"{
  "model": "openai/gpt-4o-mini",
  "instructions": "Be brief.",
  "input": [
    {"role": "user", "content": "Weather in Paris?"},
    {"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "Need the tool."}]},
    {"type": "message", "id": "msg_1", "role": "assistant", "status": "completed",
     "content": [{"type": "output_text", "text": "Checking.", "annotations": []}]},
    {"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "get_weather", "arguments": "{\"city\":\"Paris\"}", "status": "completed"},
    {"type": "function_call_output", "call_id": "call_1", "output": "sunny"},
    {"role": "user", "content": [
      {"type": "input_text", "text": "And this?"},
      {"type": "input_image", "image_url": "https://example.com/a.png", "detail": "low"}
    ]}
  ],
  "tools": [{"type": "function", "name": "get_weather", "description": "Weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}, "strict": true}],
  "tool_choice": {"type": "function", "name": "get_weather"},
  "max_output_tokens": 300,
  "reasoning": {"effort": "low"},
  "text": {"format": {"type": "json_schema", "name": "w", "schema": {"type": "object"}, "strict": true}},
  "include": ["reasoning.encrypted_content"],
  "store": false,
  "fallbacks": ["anthropic/claude-3-5-haiku-20241022"]
}"#;

#[test]
fn items_become_chat_messages() {
    let req: ResponsesRequest = serde_json::from_str(ROUND_TRIP).unwrap();
    let chat = to_chat_request(req).unwrap();
    assert_eq!(chat.model, "openai/gpt-4o-mini");
    assert_eq!(chat.max_completion_tokens, Some(300));
    assert_eq!(chat.reasoning_effort.as_deref(), Some("low"));
    assert_eq!(chat.fallbacks, vec!["anthropic/claude-3-5-haiku-20241022"]);
    assert!(chat.extra.get("include").is_none());
    assert_eq!(
        chat.tool_choice,
        Some(json!({"type": "function", "function": {"name": "get_weather"}}))
    );
    assert_eq!(
        chat.response_format,
        Some(
            json!({"type": "json_schema", "json_schema": {"name": "w", "schema": {"type": "object"}, "strict": true}})
        )
    );
    assert_eq!(chat.tools.as_ref().unwrap()[0].function.strict, Some(true));
    let m = serde_json::to_value(&chat.messages).unwrap();
    assert_eq!(m.as_array().unwrap().len(), 5, "{m:#}");
    assert_eq!(m[0], json!({"role": "system", "content": "Be brief."}));
    assert_eq!(
        m[1],
        json!({"role": "user", "content": "Weather in Paris?"})
    );
    // Reasoning, text and the call are one assistant turn.
    assert_eq!(m[2]["role"], "assistant");
    assert_eq!(m[2]["content"], "Checking.");
    assert_eq!(m[2]["reasoning_content"], "Need the tool.");
    assert_eq!(m[2]["tool_calls"][0]["id"], "call_1");
    assert_eq!(
        m[2]["tool_calls"][0]["function"]["arguments"],
        "{\"city\":\"Paris\"}"
    );
    assert_eq!(
        m[3],
        json!({"role": "tool", "content": "sunny", "tool_call_id": "call_1"})
    );
    assert_eq!(
        m[4]["content"][1]["image_url"],
        json!({"url": "https://example.com/a.png", "detail": "low"})
    );
}

#[test]
fn string_input_and_refusals() {
    let req: ResponsesRequest =
        serde_json::from_value(json!({"model": "openai/x", "input": "hi"})).unwrap();
    let chat = to_chat_request(req).unwrap();
    assert_eq!(
        serde_json::to_value(&chat.messages).unwrap(),
        json!([{"role": "user", "content": "hi"}])
    );

    for (body, needle) in [
        (
            json!({"model": "m", "input": "x", "previous_response_id": "resp_1"}),
            "previous_response_id",
        ),
        (
            json!({"model": "m", "input": "x", "tools": [{"type": "web_search"}]}),
            "web_search",
        ),
        (
            json!({"model": "m", "input": [{"type": "item_reference", "id": "x"}]}),
            "item_reference",
        ),
        (
            json!({"model": "m", "input": [{"type": "function_call", "name": "f"}]}),
            "call_id",
        ),
    ] {
        let req: ResponsesRequest = serde_json::from_value(body).unwrap();
        let err = to_chat_request(req).unwrap_err();
        assert_eq!(err.status(), 400);
        assert!(err.to_string().contains(needle), "{err}");
    }
}

fn echo() -> Echo {
    let req: ResponsesRequest = serde_json::from_value(json!({
        "model": "openai/gpt-4o-mini", "input": "x", "instructions": "Be brief.",
        "tools": [{"type": "function", "name": "f", "parameters": {"type": "object"}}]
    }))
    .unwrap();
    Echo::from_request(&req)
}

#[test]
fn chat_response_becomes_a_response() {
    let message: ChatMessage = serde_json::from_value(json!({
        "role": "assistant", "content": "Hi", "reasoning_content": "thinking",
        "tool_calls": [{"id": "call_7", "type": "function", "function": {"name": "f", "arguments": "{}"}}]
    }))
    .unwrap();
    let resp = ChatResponse {
        id: "chatcmpl-1".into(),
        created: 1_700_000_000,
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
            prompt_tokens_details: Some(TokenDetails::from_value(&json!({"cached_tokens": 4}))),
            completion_tokens_details: Some(TokenDetails::from_value(
                &json!({"reasoning_tokens": 1}),
            )),
        }),
        ..ChatResponse::default()
    };
    let v = serde_json::to_value(to_response(resp, &echo())).unwrap();
    assert!(v["id"].as_str().unwrap().starts_with("resp_"));
    assert_eq!(v["object"], "response");
    assert_eq!(v["status"], "completed");
    assert_eq!(v["created_at"], 1_700_000_000);
    assert_eq!(v["model"], "gpt-4o-mini");
    assert_eq!(v["instructions"], "Be brief.");
    assert_eq!(v["tools"][0]["name"], "f");
    assert_eq!(v["tool_choice"], "auto");
    assert_eq!(v["parallel_tool_calls"], true);
    assert_eq!(v["output"][0]["type"], "reasoning");
    assert_eq!(
        v["output"][0]["content"][0],
        json!({"type": "reasoning_text", "text": "thinking"})
    );
    assert_eq!(v["output"][1]["type"], "message");
    assert_eq!(
        v["output"][1]["content"][0],
        json!({"type": "output_text", "text": "Hi", "annotations": [], "logprobs": []})
    );
    assert_eq!(v["output"][2]["type"], "function_call");
    assert_eq!(v["output"][2]["call_id"], "call_7");
    assert_eq!(v["output"][2]["arguments"], "{}");
    assert_eq!(
        v["usage"],
        json!({"input_tokens": 9, "input_tokens_details": {"cached_tokens": 4}, "output_tokens": 3,
               "output_tokens_details": {"reasoning_tokens": 1}, "total_tokens": 12})
    );
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

fn events(out: &[u8]) -> Vec<(String, Value)> {
    let text = std::str::from_utf8(out).unwrap();
    assert!(!text.contains("[DONE]"));
    text.split("\n\n")
        .filter(|f| !f.is_empty())
        .map(|frame| {
            let (ev, data) = frame.split_once('\n').unwrap();
            let name = ev.strip_prefix("event: ").unwrap().to_owned();
            let data: Value = serde_json::from_str(data.strip_prefix("data: ").unwrap()).unwrap();
            assert_eq!(data["type"], name.as_str(), "{frame}");
            (name, data)
        })
        .collect()
}

#[test]
fn chunks_become_typed_events() {
    let mut enc = ResponsesStream::new(echo());
    let mut out = Vec::new();
    for t in ["Hel", "lo"] {
        let d = ChunkDelta {
            content: Some(t.into()),
            ..ChunkDelta::default()
        };
        enc.chunk(chunk(d, None), &mut out);
    }
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
                prompt_tokens: 5,
                completion_tokens: 2,
                total_tokens: 7,
                ..Usage::default()
            }),
            ..ChatChunk::default()
        },
        &mut out,
    );
    enc.finish(&mut out);
    let ev = events(&out);
    let names: Vec<&str> = ev.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "response.created",
            "response.in_progress",
            "response.output_item.added",
            "response.content_part.added",
            "response.output_text.delta",
            "response.output_text.delta",
            "response.output_text.done",
            "response.content_part.done",
            "response.output_item.done",
            "response.output_item.added",
            "response.function_call_arguments.delta",
            "response.function_call_arguments.delta",
            "response.function_call_arguments.done",
            "response.output_item.done",
            "response.completed"
        ]
    );
    let seqs: Vec<u64> = ev
        .iter()
        .map(|(_, d)| d["sequence_number"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, (0..15).collect::<Vec<u64>>());
    assert_eq!(ev[0].1["response"]["status"], "in_progress");
    assert_eq!(ev[2].1["item"]["type"], "message");
    assert_eq!(ev[4].1["delta"], "Hel");
    assert_eq!(ev[4].1["item_id"], ev[2].1["item"]["id"]);
    assert_eq!(ev[6].1["text"], "Hello");
    assert_eq!(ev[9].1["output_index"], 1);
    assert_eq!(ev[9].1["item"]["call_id"], "call_1");
    assert_eq!(ev[12].1["arguments"], "{\"a\":1}");
    let done = &ev[14].1["response"];
    assert_eq!(done["status"], "completed");
    assert_eq!(done["id"], ev[0].1["response"]["id"]);
    assert_eq!(done["output"][0]["content"][0]["text"], "Hello");
    assert_eq!(done["output"][1]["arguments"], "{\"a\":1}");
    assert_eq!(done["usage"]["total_tokens"], 7);
}

#[test]
fn a_cut_off_stream_is_incomplete_and_failures_are_error_events() {
    let mut enc = ResponsesStream::new(echo());
    let mut out = Vec::new();
    let d = ChunkDelta {
        content: Some("x".into()),
        ..ChunkDelta::default()
    };
    enc.chunk(chunk(d, Some("length")), &mut out);
    enc.finish(&mut out);
    let ev = events(&out);
    let last = ev.last().unwrap();
    assert_eq!(last.0, "response.incomplete");
    assert_eq!(
        last.1["response"]["incomplete_details"]["reason"],
        "max_output_tokens"
    );

    let mut enc = ResponsesStream::new(echo());
    let mut out = Vec::new();
    enc.fail(
        &crate::error::Error::Timeout {
            provider: "openai".into(),
            seconds: 3,
        },
        &mut out,
    );
    let ev = events(&out);
    assert_eq!(ev[0].0, "error");
    assert_eq!(ev[0].1["code"], "request_timed_out");
    assert_eq!(ev[0].1["sequence_number"], 0);
}
