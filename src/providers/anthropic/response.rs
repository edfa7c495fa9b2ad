//! Anthropic Messages API answers to canonical responses.

use super::*;
use crate::schemas::openai::TokenDetails;

/// Translates a Messages API response into a `chat.completion` created at `created`.
pub fn to_chat_response(msg: wire::MessagesResponse, created: u64) -> ChatResponse {
    let usage = to_usage(
        msg.usage.input_tokens,
        msg.usage.output_tokens,
        msg.usage.cache_read_input_tokens.unwrap_or(0),
        msg.usage.cache_creation_input_tokens.unwrap_or(0),
    );
    let finish_reason = msg.stop_reason.as_deref().map(finish_reason);
    let mut text = String::new();
    let mut reasoning = String::new();
    let mut tool_calls = Vec::new();
    for block in msg.content {
        match block {
            wire::ContentBlock::Text { text: t, .. } => text.push_str(&t),
            wire::ContentBlock::Thinking { thinking, .. } => reasoning.push_str(&thinking),
            wire::ContentBlock::ToolUse { id, name, input } => tool_calls.push(ToolCall {
                id,
                kind: "function".into(),
                function: FunctionCall {
                    name,
                    arguments: input.to_string(),
                },
            }),
            // Redacted thinking, server-tool blocks and request-only blocks have no OpenAI
            // counterpart.
            _ => {}
        }
    }
    // OpenAI sends `content: null` next to tool calls and a string otherwise.
    let content = (!text.is_empty() || tool_calls.is_empty()).then_some(MessageContent::Text(text));
    ChatResponse {
        id: msg.id,
        object: "chat.completion".into(),
        created,
        model: msg.model,
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
            finish_reason,
            logprobs: None,
        }],
        usage: Some(usage),
        ..ChatResponse::default()
    }
}

/// Translates a Messages API response into a `text_completion`.
pub fn to_text_response(msg: wire::MessagesResponse, created: u64) -> TextResponse {
    let chat = to_chat_response(msg, created);
    let (text, finish_reason) = chat
        .choices
        .into_iter()
        .next()
        .map(|c| {
            (
                c.message
                    .content
                    .map(|m| m.joined_text())
                    .unwrap_or_default(),
                c.finish_reason,
            )
        })
        .unwrap_or_default();
    TextResponse {
        id: chat.id,
        object: "text_completion".into(),
        created,
        model: chat.model,
        choices: vec![TextChoice {
            text,
            index: 0,
            logprobs: None,
            finish_reason,
        }],
        usage: chat.usage,
        ..TextResponse::default()
    }
}

/// Anthropic's stop reason as an OpenAI finish reason.
pub fn finish_reason(stop_reason: &str) -> String {
    match stop_reason {
        "max_tokens" | "model_context_window_exceeded" => "length",
        "tool_use" => "tool_calls",
        "refusal" => "content_filter",
        // end_turn, stop_sequence, pause_turn and reasons added later.
        _ => "stop",
    }
    .to_owned()
}

/// OpenAI usage: Anthropic's `input_tokens` excludes cached tokens, OpenAI's `prompt_tokens`
/// includes them.
pub(crate) fn to_usage(input: u64, output: u64, cache_read: u64, cache_creation: u64) -> Usage {
    let prompt = input + cache_read + cache_creation;
    Usage {
        prompt_tokens: prompt,
        completion_tokens: output,
        total_tokens: prompt + output,
        prompt_tokens_details: Some(TokenDetails::of("cached_tokens", cache_read)),
        completion_tokens_details: None,
    }
}

pub(super) fn to_model(m: wire::ModelInfo) -> Model {
    Model {
        id: m.id,
        object: "model".into(),
        created: parse_rfc3339(&m.created_at).unwrap_or(0),
        owned_by: "anthropic".into(),
    }
}
