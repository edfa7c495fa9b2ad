//! Canonical chat responses to Anthropic `message` objects.

use crate::ingress::arguments_object;
use crate::schemas::anthropic as wire;
use crate::schemas::openai::{ChatResponse, Usage};

/// An OpenAI finish reason as Anthropic's stop reason.
pub fn stop_reason(finish_reason: Option<&str>) -> &'static str {
    match finish_reason {
        Some("length") => "max_tokens",
        Some("tool_calls" | "function_call") => "tool_use",
        Some("content_filter") => "refusal",
        _ => "end_turn",
    }
}

/// Translates a `chat.completion` into a Messages API `message`: reasoning first (a thinking
/// block), then the text, then one `tool_use` block per tool call, as Claude orders them.
pub fn to_messages_response(resp: ChatResponse) -> wire::MessagesResponse {
    let usage = to_usage(resp.usage.as_ref());
    let choice = resp.choices.into_iter().find(|c| c.index == 0);
    let mut content = Vec::new();
    let mut finish = None;
    if let Some(choice) = choice {
        finish = choice.finish_reason;
        let msg = choice.message;
        if let Some(thinking) = msg.reasoning_content.filter(|r| !r.is_empty()) {
            content.push(wire::ContentBlock::Thinking {
                thinking,
                signature: String::new(),
            });
        }
        let text = msg.content.map(|c| c.joined_text()).unwrap_or_default();
        let text = if text.is_empty() {
            msg.refusal.unwrap_or_default()
        } else {
            text
        };
        if !text.is_empty() {
            content.push(wire::ContentBlock::Text {
                text,
                citations: None,
                cache_control: None,
            });
        }
        for call in msg.tool_calls.into_iter().flatten() {
            content.push(wire::ContentBlock::ToolUse {
                id: call.id,
                name: call.function.name,
                input: arguments_object(&call.function.arguments),
            });
        }
    }
    wire::MessagesResponse {
        id: message_id(&resp.id),
        kind: "message".into(),
        role: "assistant".into(),
        content,
        model: resp.model,
        stop_reason: Some(stop_reason(finish.as_deref()).to_owned()),
        stop_sequence: None,
        usage,
    }
}

/// Anthropic ids start with `msg_`; upstream ids of other providers get the prefix.
pub(super) fn message_id(id: &str) -> String {
    if id.starts_with("msg_") {
        id.to_owned()
    } else if id.is_empty() {
        format!("msg_{}", uuid::Uuid::new_v4().simple())
    } else {
        format!("msg_{id}")
    }
}

/// Anthropic usage: `input_tokens` excludes cached tokens, OpenAI's `prompt_tokens` includes
/// them.
pub(super) fn to_usage(usage: Option<&Usage>) -> wire::Usage {
    let Some(u) = usage else {
        return wire::Usage::default();
    };
    let cached = cached_tokens(u);
    wire::Usage {
        input_tokens: u.prompt_tokens.saturating_sub(cached),
        output_tokens: u.completion_tokens,
        cache_creation_input_tokens: Some(0),
        cache_read_input_tokens: Some(cached),
    }
}

/// `prompt_tokens_details.cached_tokens`, 0 when absent.
pub(super) fn cached_tokens(u: &Usage) -> u64 {
    u.prompt_detail("cached_tokens")
}
