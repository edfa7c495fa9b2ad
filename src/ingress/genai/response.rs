//! Canonical chat responses to `generateContent` answers.

use crate::ingress::arguments_object;
use crate::schemas::genai as wire;
use crate::schemas::openai::{ChatResponse, ToolCall, Usage};

/// An OpenAI finish reason as Gemini's: a tool call is a normal `STOP` in Gemini.
pub fn finish_reason(reason: Option<&str>) -> &'static str {
    match reason {
        Some("length") => "MAX_TOKENS",
        Some("content_filter") => "SAFETY",
        _ => "STOP",
    }
}

/// Translates a `chat.completion` into a `generateContent` answer, one candidate per choice.
pub fn to_generate_response(resp: ChatResponse) -> wire::GenerateContentResponse {
    let candidates = resp
        .choices
        .into_iter()
        .map(|choice| {
            let msg = choice.message;
            let mut parts = Vec::new();
            if let Some(r) = msg.reasoning_content.filter(|r| !r.is_empty()) {
                parts.push(thought_part(r));
            }
            let text = msg.content.map(|c| c.joined_text()).unwrap_or_default();
            let calls = msg.tool_calls.unwrap_or_default();
            if !text.is_empty() || calls.is_empty() {
                parts.push(text_part(text));
            }
            parts.extend(calls.into_iter().map(call_part));
            wire::Candidate {
                content: wire::Content {
                    role: Some("model".into()),
                    parts,
                },
                finish_reason: Some(finish_reason(choice.finish_reason.as_deref()).to_owned()),
                index: choice.index,
            }
        })
        .collect();
    wire::GenerateContentResponse {
        candidates,
        usage_metadata: resp.usage.as_ref().map(to_usage_metadata),
        model_version: Some(resp.model),
        response_id: (!resp.id.is_empty()).then_some(resp.id),
        prompt_feedback: None,
    }
}

pub(super) fn text_part(text: String) -> wire::Part {
    wire::Part {
        text: Some(text),
        ..wire::Part::default()
    }
}

pub(super) fn thought_part(text: String) -> wire::Part {
    wire::Part {
        text: Some(text),
        thought: Some(true),
        ..wire::Part::default()
    }
}

pub(super) fn call_part(call: ToolCall) -> wire::Part {
    wire::Part {
        function_call: Some(wire::FunctionCall {
            id: (!call.id.is_empty()).then_some(call.id),
            args: Some(arguments_object(&call.function.arguments)),
            name: call.function.name,
        }),
        ..wire::Part::default()
    }
}

/// Gemini usage: `candidatesTokenCount` excludes thinking, which OpenAI's
/// `completion_tokens` includes.
pub(super) fn to_usage_metadata(u: &Usage) -> wire::UsageMetadata {
    let thoughts = u.completion_detail("reasoning_tokens");
    let cached = u.prompt_detail("cached_tokens");
    wire::UsageMetadata {
        prompt_token_count: u.prompt_tokens,
        candidates_token_count: u.completion_tokens.saturating_sub(thoughts),
        total_token_count: u.total_tokens,
        thoughts_token_count: (thoughts > 0).then_some(thoughts),
        cached_content_token_count: (cached > 0).then_some(cached),
    }
}
