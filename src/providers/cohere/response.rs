//! Cohere's `/v2/chat` answers to canonical chat responses.

use super::*;
use crate::schemas::openai::TokenDetails;

/// Translates a chat answer. Text blocks become the content, `thinking` blocks the
/// `reasoning_content`; the tool plan stands in for the content when the model only called
/// tools.
pub fn to_chat_response(answer: wire::ChatResponse, model: &str, created: u64) -> ChatResponse {
    let msg = answer.message.unwrap_or_default();
    let (mut text, reasoning) = split_content(msg.content.as_ref());
    let calls: Vec<ToolCall> = msg
        .tool_calls
        .unwrap_or_default()
        .into_iter()
        .enumerate()
        .map(|(i, c)| ToolCall {
            id: c.id.unwrap_or_else(|| format!("call_{i}")),
            kind: "function".into(),
            function: FunctionCall {
                name: c.function.name.unwrap_or_default(),
                arguments: c.function.arguments.unwrap_or_else(|| "{}".into()),
            },
        })
        .collect();
    if text.is_empty() {
        text = msg.tool_plan.unwrap_or_default();
    }
    let message = ChatMessage {
        role: "assistant".into(),
        content: (!text.is_empty() || calls.is_empty()).then_some(MessageContent::Text(text)),
        tool_calls: (!calls.is_empty()).then_some(calls),
        reasoning_content: (!reasoning.is_empty()).then_some(reasoning),
        ..ChatMessage::default()
    };
    ChatResponse {
        extra: Default::default(),
        id: answer.id,
        object: "chat.completion".into(),
        created,
        model: model.to_owned(),
        choices: vec![ChatChoice {
            extra: Default::default(),
            index: 0,
            message,
            finish_reason: Some(finish_reason(answer.finish_reason.as_deref()).into()),
            logprobs: answer.logprobs,
        }],
        usage: answer.usage.and_then(|u| {
            let cached = u.cached_tokens;
            to_usage(u.billed_units.or(u.tokens), cached)
        }),
        system_fingerprint: None,
        service_tier: None,
        extra_fields: None,
    }
}

/// The text and the reasoning of a message's content.
fn split_content(content: Option<&wire::Content>) -> (String, String) {
    match content {
        None => (String::new(), String::new()),
        Some(wire::Content::Text(t)) => (t.clone(), String::new()),
        Some(wire::Content::Blocks(blocks)) => {
            let (mut text, mut reasoning) = (String::new(), String::new());
            for b in blocks {
                match b.kind.as_str() {
                    "text" => text.push_str(b.text.as_deref().unwrap_or_default()),
                    "thinking" => reasoning.push_str(b.thinking.as_deref().unwrap_or_default()),
                    _ => {}
                }
            }
            (text, reasoning)
        }
    }
}

/// Cohere's finish reasons in OpenAI's words (`ERROR` and `TIMEOUT` as `error`, as Bifrost
/// reports a failed generation).
pub fn finish_reason(reason: Option<&str>) -> &'static str {
    match reason {
        Some("MAX_TOKENS") => "length",
        Some("TOOL_CALL") => "tool_calls",
        Some("ERROR" | "TIMEOUT") => "error",
        _ => "stop",
    }
}

/// Usage from billed units (what Cohere charges) or, without them, the tokens used.
pub fn to_usage(units: Option<wire::Units>, cached: Option<u64>) -> Option<Usage> {
    let u = units?;
    // Counts arrive as JSON numbers that may be written as floats (`12.0`).
    let count = |v: Option<f64>| v.map_or(0, |n| n.max(0.0).round() as u64);
    let (prompt, completion) = (count(u.input_tokens), count(u.output_tokens));
    if u.input_tokens.is_none() && u.output_tokens.is_none() {
        return None;
    }
    Some(Usage {
        prompt_tokens: prompt,
        completion_tokens: completion,
        total_tokens: prompt + completion,
        prompt_tokens_details: cached
            .filter(|c| *c > 0)
            .map(|c| TokenDetails::of("cached_tokens", c)),
        completion_tokens_details: None,
    })
}
