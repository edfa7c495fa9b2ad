//! Unit tests of the Anthropic ingress translations, on fixtures in the real wire format.

use serde_json::{json, Value};

use super::*;
use crate::error::UpstreamError;
use crate::ingress::StreamEncoder;
use crate::schemas::openai::{
    ChatChoice, ChatChunk, ChatMessage, ChatResponse, ChunkChoice, ChunkDelta, ChunkFunctionCall,
    ChunkToolCall, MessageContent, TokenDetails, Usage,
};

/// A coding-agent style request: system blocks with a cache breakpoint, tools, a tool round
/// trip with thinking, an image.
const AGENT_REQUEST: &str = r#"{
  "model": "claude-sonnet-4-20250514",
  "max_tokens": 8192,
  "system": [
    {"type": "text", "text": "You are a coding agent."},
    {"type": "text", "text": "Repository: bifrost", "cache_control": {"type": "ephemeral"}}
  ],
  "messages": [
    {"role": "user", "content": [
      {"type": "text", "text": "Read main.rs"},
      {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBOR"}}
    ]},
    {"role": "assistant", "content": [
      {"type": "thinking", "thinking": "I should read it.", "signature": "sig"},
      {"type": "text", "text": "Reading."},
      {"type": "tool_use", "id": "toolu_01", "name": "read_file", "input": {"path": "src/main.rs"}}
    ]},
    {"role": "user", "content": [
      {"type": "tool_result", "tool_use_id": "toolu_01", "content": "fn main() {}"},
      {"type": "text", "text": "Now explain it."}
    ]}
  ],
  "tools": [
    {"name": "read_file", "description": "Read a file", "input_schema": {"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]}},
    {"name": "bash", "input_schema": {"type": "object", "properties": {"command": {"type": "string"}}}}
  ],
  "tool_choice": {"type": "auto", "disable_parallel_tool_use": true},
  "thinking": {"type": "enabled", "budget_tokens": 4096},
  "temperature": 0.5,
  "top_k": 40,
  "stop_sequences": ["END"],
  "metadata": {"user_id": "u-1"},
  "stream": true,
  "fallbacks": ["openai/gpt-4o-mini"]
}"#;

fn parse(body: &str) -> crate::schemas::anthropic::MessagesRequest {
    serde_json::from_str(body).unwrap()
}

#[test]
fn agent_request_becomes_canonical_chat() {
    let chat = to_chat_request(parse(AGENT_REQUEST), true).unwrap();
    assert_eq!(chat.model, "claude-sonnet-4-20250514");
    assert_eq!(chat.max_completion_tokens, Some(8192));
    assert_eq!(chat.temperature, Some(0.5));
    assert_eq!(chat.stop, Some(json!(["END"])));
    assert_eq!(chat.user.as_deref(), Some("u-1"));
    assert_eq!(chat.stream, Some(true));
    assert_eq!(chat.fallbacks, vec!["openai/gpt-4o-mini"]);
    assert_eq!(chat.extra.get("top_k"), Some(&json!(40)));
    assert!(chat.extra.get("fallbacks").is_none());
    assert_eq!(chat.reasoning_effort.as_deref(), Some("medium"));
    assert_eq!(chat.tool_choice, Some(json!("auto")));
    assert_eq!(chat.parallel_tool_calls, Some(false));
    let tools = chat.tools.as_ref().unwrap();
    assert_eq!(tools.len(), 2);
    assert_eq!(tools[0].function.name, "read_file");
    assert_eq!(
        tools[0].function.parameters.as_ref().unwrap()["required"],
        json!(["path"])
    );

    let m = serde_json::to_value(&chat.messages).unwrap();
    assert_eq!(m.as_array().unwrap().len(), 5, "{m:#}");
    // The cache breakpoint stays on its system part.
    assert_eq!(m[0]["role"], "system");
    assert_eq!(
        m[0]["content"][1]["cache_control"],
        json!({"type": "ephemeral"})
    );
    assert_eq!(m[1]["role"], "user");
    assert_eq!(
        m[1]["content"][1]["image_url"]["url"],
        "data:image/png;base64,iVBOR"
    );
    assert_eq!(m[2]["role"], "assistant");
    assert_eq!(m[2]["content"], "Reading.");
    assert_eq!(m[2]["reasoning_content"], "I should read it.");
    assert_eq!(m[2]["tool_calls"][0]["id"], "toolu_01");
    let args: Value = serde_json::from_str(
        m[2]["tool_calls"][0]["function"]["arguments"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(args, json!({"path": "src/main.rs"}));
    // The tool result comes first, as a tool message, then the rest of the user turn.
    assert_eq!(m[3]["role"], "tool");
    assert_eq!(m[3]["tool_call_id"], "toolu_01");
    assert_eq!(m[3]["content"], "fn main() {}");
    assert_eq!(m[4]["role"], "user");
    assert_eq!(m[4]["content"], "Now explain it.");
}

#[test]
fn cache_control_is_dropped_for_other_providers() {
    let chat = to_chat_request(parse(AGENT_REQUEST), false).unwrap();
    // Without breakpoints, the system blocks are one plain string.
    assert_eq!(
        chat.messages[0].content,
        Some(MessageContent::Text(
            "You are a coding agent.\n\nRepository: bifrost".into()
        ))
    );
    let all = serde_json::to_string(&chat.messages).unwrap();
    assert!(!all.contains("cache_control"), "{all}");
}

#[test]
fn named_tool_choice_and_server_tools() {
    let body = json!({"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}],
        "tools": [{"name": "f", "input_schema": {"type": "object"}}],
        "tool_choice": {"type": "tool", "name": "f"}});
    let chat = to_chat_request(serde_json::from_value(body).unwrap(), false).unwrap();
    assert_eq!(
        chat.tool_choice,
        Some(json!({"type": "function", "function": {"name": "f"}}))
    );
    assert_eq!(chat.parallel_tool_calls, None);

    let body = json!({"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}],
        "tools": [{"type": "web_search_20250305", "name": "web_search", "max_uses": 3}]});
    let err = to_chat_request(serde_json::from_value(body).unwrap(), false).unwrap_err();
    assert_eq!(err.status(), 400);
    assert!(err.to_string().contains("web_search_20250305"), "{err}");
}

#[test]
fn tool_result_blocks_and_documents() {
    let body = json!({"model": "m", "max_tokens": 5, "messages": [
    {"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": "t1", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]},
        {"type": "tool_result", "tool_use_id": "t2", "is_error": true},
        {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBER"}}
    ]}]});
    let chat = to_chat_request(serde_json::from_value(body).unwrap(), false).unwrap();
    let m = serde_json::to_value(&chat.messages).unwrap();
    assert_eq!(m[0]["content"], "a\nb");
    assert_eq!(m[1]["tool_call_id"], "t2");
    assert_eq!(m[1]["content"], "");
    assert_eq!(m[2]["content"][0]["type"], "file");
    assert_eq!(
        m[2]["content"][0]["file"]["file_data"],
        "data:application/pdf;base64,JVBER"
    );
}

#[test]
fn bad_role_is_rejected() {
    let body =
        json!({"model": "m", "max_tokens": 5, "messages": [{"role": "system", "content": "x"}]});
    let err = to_chat_request(serde_json::from_value(body).unwrap(), false).unwrap_err();
    assert!(err.to_string().contains("messages.0.role"), "{err}");
}

fn chat_response(message: ChatMessage, finish: &str) -> ChatResponse {
    ChatResponse {
        id: "chatcmpl-1".into(),
        model: "gpt-4o-mini".into(),
        choices: vec![ChatChoice {
            extra: Default::default(),
            index: 0,
            message,
            finish_reason: Some(finish.into()),
            logprobs: None,
        }],
        usage: Some(Usage {
            prompt_tokens: 30,
            completion_tokens: 7,
            total_tokens: 37,
            prompt_tokens_details: Some(TokenDetails::from_value(&json!({"cached_tokens": 10}))),
            completion_tokens_details: None,
        }),
        ..ChatResponse::default()
    }
}

#[test]
fn chat_response_becomes_a_message() {
    let resp: ChatMessage = serde_json::from_value(json!({
        "role": "assistant", "content": "Let me look.", "reasoning_content": "hmm",
        "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "read_file", "arguments": "{\"path\":\"a\"}"}}]
    }))
    .unwrap();
    let msg = to_messages_response(chat_response(resp, "tool_calls"));
    let v = serde_json::to_value(&msg).unwrap();
    assert_eq!(
        v,
        json!({
            "id": "msg_chatcmpl-1", "type": "message", "role": "assistant", "model": "gpt-4o-mini",
            "content": [
                {"type": "thinking", "thinking": "hmm", "signature": ""},
                {"type": "text", "text": "Let me look."},
                {"type": "tool_use", "id": "call_1", "name": "read_file", "input": {"path": "a"}}
            ],
            "stop_reason": "tool_use", "stop_sequence": null,
            "usage": {"input_tokens": 20, "output_tokens": 7, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 10}
        })
    );
    let plain = ChatMessage {
        role: "assistant".into(),
        content: Some(MessageContent::Text("cut".into())),
        ..ChatMessage::default()
    };
    assert_eq!(
        to_messages_response(chat_response(plain, "length"))
            .stop_reason
            .as_deref(),
        Some("max_tokens")
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

fn tool_delta(id: Option<&str>, name: Option<&str>, args: &str) -> ChunkDelta {
    ChunkDelta {
        tool_calls: Some(vec![ChunkToolCall {
            index: 0,
            id: id.map(str::to_owned),
            kind: id.map(|_| "function".to_owned()),
            function: Some(ChunkFunctionCall {
                name: name.map(str::to_owned),
                arguments: Some(args.to_owned()),
            }),
        }]),
        ..ChunkDelta::default()
    }
}

/// Splits SSE output into (event name, data) pairs, checking that each frame names its type.
fn events(out: &[u8]) -> Vec<(String, Value)> {
    let text = std::str::from_utf8(out).unwrap();
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
fn chunks_become_the_anthropic_event_sequence() {
    let mut enc = MessagesStream::new();
    let mut out = Vec::new();
    let role = ChunkDelta {
        role: Some("assistant".into()),
        content: Some(String::new()),
        ..ChunkDelta::default()
    };
    enc.chunk(chunk(role, None), &mut out);
    for (r, t) in [
        (Some("think"), None),
        (None, Some("Hel")),
        (None, Some("lo")),
    ] {
        let d = ChunkDelta {
            reasoning_content: r.map(str::to_owned),
            content: t.map(str::to_owned),
            ..ChunkDelta::default()
        };
        enc.chunk(chunk(d, None), &mut out);
    }
    enc.chunk(
        chunk(tool_delta(Some("call_9"), Some("bash"), ""), None),
        &mut out,
    );
    enc.chunk(
        chunk(tool_delta(None, None, "{\"command\":"), None),
        &mut out,
    );
    enc.chunk(chunk(tool_delta(None, None, "\"ls\"}"), None), &mut out);
    enc.chunk(chunk(ChunkDelta::default(), Some("tool_calls")), &mut out);
    let mut usage = ChatChunk {
        usage: Some(Usage {
            prompt_tokens: 12,
            completion_tokens: 5,
            total_tokens: 17,
            ..Usage::default()
        }),
        ..ChatChunk::default()
    };
    usage.id = "chatcmpl-s".into();
    enc.chunk(usage, &mut out);
    enc.finish(&mut out);

    let ev = events(&out);
    let names: Vec<&str> = ev.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "message_start",
            "ping",
            "content_block_start",
            "content_block_delta",
            "content_block_stop",
            "content_block_start",
            "content_block_delta",
            "content_block_delta",
            "content_block_stop",
            "content_block_start",
            "content_block_delta",
            "content_block_delta",
            "content_block_stop",
            "message_delta",
            "message_stop"
        ]
    );
    assert_eq!(ev[0].1["message"]["id"], "msg_chatcmpl-s");
    assert_eq!(ev[0].1["message"]["model"], "gpt-4o-mini");
    assert_eq!(ev[0].1["message"]["content"], json!([]));
    assert_eq!(
        ev[2].1["content_block"],
        json!({"type": "thinking", "thinking": "", "signature": ""})
    );
    assert_eq!(
        ev[3].1["delta"],
        json!({"type": "thinking_delta", "thinking": "think"})
    );
    assert_eq!(ev[5].1["index"], 1);
    assert_eq!(
        ev[6].1["delta"],
        json!({"type": "text_delta", "text": "Hel"})
    );
    assert_eq!(
        ev[9].1["content_block"],
        json!({"type": "tool_use", "id": "call_9", "name": "bash", "input": {}})
    );
    assert_eq!(
        ev[10].1["delta"],
        json!({"type": "input_json_delta", "partial_json": "{\"command\":"})
    );
    assert_eq!(ev[12].1["index"], 2);
    assert_eq!(ev[13].1["delta"]["stop_reason"], "tool_use");
    assert_eq!(ev[13].1["usage"]["output_tokens"], 5);
    assert_eq!(ev[13].1["usage"]["input_tokens"], 12);
}

#[test]
fn a_failure_mid_stream_is_an_error_event() {
    let mut enc = MessagesStream::new();
    let mut out = Vec::new();
    let d = ChunkDelta {
        content: Some("x".into()),
        ..ChunkDelta::default()
    };
    enc.chunk(chunk(d, None), &mut out);
    out.clear();
    let e = Error::Upstream(Box::new(UpstreamError {
        provider: "openai".into(),
        status: 503,
        message: "busy".into(),
        error_type: None,
        code: None,
        param: None,
    }));
    enc.fail(&e, &mut out);
    let ev = events(&out);
    assert_eq!(ev.len(), 1);
    assert_eq!(
        ev[0].1,
        json!({"type": "error", "error": {"type": "overloaded_error", "message": "busy"}})
    );
}

#[test]
fn errors_take_anthropic_types() {
    let up = |status, kind: Option<&str>| {
        Error::Upstream(Box::new(UpstreamError {
            provider: "p".into(),
            status,
            message: "m".into(),
            error_type: kind.map(str::to_owned),
            code: None,
            param: None,
        }))
    };
    assert_eq!(
        error_type(&Error::BadRequest("x".into())),
        "invalid_request_error"
    );
    assert_eq!(
        error_type(&up(401, Some("invalid_api_key"))),
        "authentication_error"
    );
    assert_eq!(error_type(&up(429, None)), "rate_limit_error");
    assert_eq!(
        error_type(&up(529, Some("overloaded_error"))),
        "overloaded_error"
    );
    assert_eq!(error_type(&up(500, None)), "api_error");
    assert_eq!(
        error_type(&Error::RouteNotFound("/x".into())),
        "not_found_error"
    );
    let body = serde_json::to_value(error_body(&up(403, None))).unwrap();
    assert_eq!(
        body,
        json!({"type": "error", "error": {"type": "permission_error", "message": "m"}})
    );
}

#[test]
fn model_page_uses_rfc3339() {
    let list = crate::schemas::openai::ModelList {
        object: "list".into(),
        data: vec![crate::schemas::openai::Model {
            id: "openai/gpt-4o".into(),
            object: "model".into(),
            created: 1_700_000_000,
            owned_by: "openai".into(),
        }],
    };
    let v = serde_json::to_value(to_model_page(list)).unwrap();
    assert_eq!(v["data"][0]["type"], "model");
    assert_eq!(v["data"][0]["created_at"], "2023-11-14T22:13:20.000Z");
    assert_eq!(v["first_id"], "openai/gpt-4o");
    assert_eq!(v["has_more"], false);
}
