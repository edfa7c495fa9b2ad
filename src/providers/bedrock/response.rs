//! Converse answers to canonical responses.

use serde_json::Value;

use super::wire;
use crate::providers::anthropic;
use crate::schemas::openai::{
    ChatChoice, ChatMessage, ChatResponse, FunctionCall, MessageContent, ToolCall, Usage,
};

/// Translates a Converse answer. Converse names neither the answer nor the model, so the id
/// and model are the caller's.
pub fn to_chat_response(
    resp: wire::ConverseResponse,
    id: String,
    model: &str,
    created: u64,
) -> ChatResponse {
    let mut text = String::new();
    let mut reasoning = String::new();
    let mut tool_calls = Vec::new();
    for block in resp.output.message.map(|m| m.content).unwrap_or_default() {
        if let Some(t) = block.text {
            text.push_str(&t);
        }
        if let Some(r) = block.reasoning_content {
            if let Some(t) = r
                .get("reasoningText")
                .and_then(|rt| rt.get("text"))
                .and_then(Value::as_str)
            {
                reasoning.push_str(t);
            }
        }
        if let Some(call) = block.tool_use {
            tool_calls.push(ToolCall {
                id: call.tool_use_id,
                kind: "function".into(),
                function: FunctionCall {
                    name: call.name,
                    arguments: call.input.to_string(),
                },
            });
        }
    }
    // OpenAI sends `content: null` next to tool calls and a string otherwise.
    let content = (!text.is_empty() || tool_calls.is_empty()).then_some(MessageContent::Text(text));
    ChatResponse {
        id,
        object: "chat.completion".into(),
        created,
        model: model.to_owned(),
        choices: vec![ChatChoice {
            extra: Default::default(),
            index: 0,
            message: ChatMessage {
                role: "assistant".into(),
                content,
                tool_calls: (!tool_calls.is_empty()).then_some(tool_calls),
                reasoning_content: (!reasoning.is_empty()).then_some(reasoning),
                ..ChatMessage::default()
            },
            finish_reason: Some(finish_reason(&resp.stop_reason)),
            logprobs: None,
        }],
        usage: Some(to_usage(resp.usage)),
        ..ChatResponse::default()
    }
}

/// Bedrock's stop reason as an OpenAI finish reason.
pub fn finish_reason(stop_reason: &str) -> String {
    match stop_reason {
        "max_tokens" | "model_context_window_exceeded" => "length",
        "tool_use" => "tool_calls",
        "guardrail_intervened" | "content_filtered" => "content_filter",
        // end_turn, stop_sequence and reasons added later.
        _ => "stop",
    }
    .to_owned()
}

/// OpenAI usage: like Anthropic's, Bedrock's `inputTokens` leaves out cached tokens.
pub fn to_usage(u: wire::TokenUsage) -> Usage {
    anthropic::to_usage(
        u.input_tokens,
        u.output_tokens,
        u.cache_read_input_tokens,
        u.cache_write_input_tokens,
    )
}
