//! `generateContent`, embedding and model-list answers to canonical responses.

use super::*;
use crate::schemas::openai::TokenDetails;

/// Translates a `generateContent` answer into a `chat.completion` for `model` (the name asked
/// for, used when the answer names no model version), created at `created`.
pub fn to_chat_response(
    resp: wire::GenerateContentResponse,
    model: &str,
    created: u64,
) -> ChatResponse {
    let usage = resp.usage_metadata.as_ref().map(to_usage);
    let mut choices: Vec<ChatChoice> = resp
        .candidates
        .into_iter()
        .map(|candidate| {
            let index = candidate.index;
            let reason = candidate.finish_reason;
            let parts = split_parts(candidate.content.parts);
            let has_calls = !parts.tool_calls.is_empty();
            // OpenAI sends `content: null` next to tool calls and a string otherwise.
            let content =
                (!parts.text.is_empty() || !has_calls).then_some(MessageContent::Text(parts.text));
            ChatChoice {
                extra: Default::default(),
                index,
                message: ChatMessage {
                    role: "assistant".into(),
                    content,
                    tool_calls: has_calls.then_some(parts.tool_calls),
                    reasoning_content: (!parts.reasoning.is_empty()).then_some(parts.reasoning),
                    ..ChatMessage::default()
                },
                finish_reason: reason.as_deref().map(|r| finish_reason(r, has_calls)),
                logprobs: None,
            }
        })
        .collect();
    if choices.is_empty() {
        // A blocked prompt has no candidates, only `promptFeedback.blockReason`.
        let blocked = resp.prompt_feedback.and_then(|f| f.block_reason).is_some();
        choices.push(ChatChoice {
            extra: Default::default(),
            index: 0,
            message: ChatMessage {
                role: "assistant".into(),
                content: Some(MessageContent::Text(String::new())),
                ..ChatMessage::default()
            },
            finish_reason: Some(if blocked { "content_filter" } else { "stop" }.to_owned()),
            logprobs: None,
        });
    }
    ChatResponse {
        id: resp.response_id.unwrap_or_else(new_id),
        object: "chat.completion".into(),
        created,
        model: resp.model_version.unwrap_or_else(|| model.to_owned()),
        choices,
        usage,
        ..ChatResponse::default()
    }
}

/// A candidate's parts sorted into what OpenAI keeps apart.
pub(super) struct SplitParts {
    pub text: String,
    pub reasoning: String,
    pub tool_calls: Vec<ToolCall>,
}

pub(super) fn split_parts(parts: Vec<wire::Part>) -> SplitParts {
    let mut out = SplitParts {
        text: String::new(),
        reasoning: String::new(),
        tool_calls: Vec::new(),
    };
    for part in parts {
        if let Some(call) = part.function_call {
            out.tool_calls.push(to_tool_call(call));
        } else if let Some(text) = part.text {
            if part.thought == Some(true) {
                out.reasoning.push_str(&text);
            } else {
                out.text.push_str(&text);
            }
        }
        // Inline data, executable code and other parts have no chat-completion counterpart.
    }
    out
}

/// A `functionCall` as an OpenAI tool call. Gemini's ids are optional; calls without one get
/// a fresh id, which the gateway maps back to the function's name when the result comes back.
pub(super) fn to_tool_call(call: wire::FunctionCall) -> ToolCall {
    let args = call
        .args
        .unwrap_or_else(|| Value::Object(JsonObject::new()));
    ToolCall {
        id: call.id.unwrap_or_else(new_call_id),
        kind: "function".into(),
        function: FunctionCall {
            name: call.name,
            arguments: args.to_string(),
        },
    }
}

fn new_call_id() -> String {
    format!("call_{}", uuid::Uuid::new_v4().simple())
}

/// An id for answers that carry none.
pub(super) fn new_id() -> String {
    format!("chatcmpl-{}", uuid::Uuid::new_v4().simple())
}

/// Gemini's finish reason as OpenAI's. Gemini says `STOP` after function calls, which OpenAI
/// reports as `tool_calls`.
pub fn finish_reason(reason: &str, has_tool_calls: bool) -> String {
    match reason {
        "MAX_TOKENS" => "length",
        "SAFETY" | "RECITATION" | "BLOCKLIST" | "PROHIBITED_CONTENT" | "SPII" | "IMAGE_SAFETY"
        | "LANGUAGE" => "content_filter",
        _ if has_tool_calls => "tool_calls",
        // STOP, OTHER, MALFORMED_FUNCTION_CALL, FINISH_REASON_UNSPECIFIED and reasons added later.
        _ => "stop",
    }
    .to_owned()
}

/// OpenAI usage. Gemini's `promptTokenCount` includes cached tokens, as OpenAI's
/// `prompt_tokens` does; its `candidatesTokenCount` excludes thinking, which OpenAI's
/// `completion_tokens` includes.
pub fn to_usage(u: &wire::UsageMetadata) -> Usage {
    let thoughts = u.thoughts_token_count.unwrap_or(0);
    let completion = u.candidates_token_count + thoughts;
    let total = if u.total_token_count > 0 {
        u.total_token_count
    } else {
        u.prompt_token_count + completion
    };
    Usage {
        prompt_tokens: u.prompt_token_count,
        completion_tokens: completion,
        total_tokens: total,
        prompt_tokens_details: Some(TokenDetails::of(
            "cached_tokens",
            u.cached_content_token_count.unwrap_or(0),
        )),
        completion_tokens_details: (thoughts > 0)
            .then(|| TokenDetails::of("reasoning_tokens", thoughts)),
    }
}

/// Embeddings in input order, as floats or, when asked, OpenAI's base64 of little-endian f32.
pub fn to_embedding_response(
    embeddings: Vec<wire::ContentEmbedding>,
    model: &str,
    encoding_format: Option<&str>,
) -> Result<EmbeddingResponse> {
    let base64 = encoding_format == Some("base64");
    let data = embeddings
        .into_iter()
        .enumerate()
        .map(|(i, e)| {
            let embedding = if base64 {
                Value::String(base64_floats(&e.values)?)
            } else {
                e.values
            };
            Ok(Embedding {
                object: "embedding".into(),
                embedding,
                index: u32::try_from(i).unwrap_or(u32::MAX),
            })
        })
        .collect::<Result<_>>()?;
    Ok(EmbeddingResponse {
        object: "list".into(),
        data,
        model: model.to_owned(),
        usage: None,
        extra_fields: None,
    })
}

fn base64_floats(values: &Value) -> Result<String> {
    use base64::Engine as _;
    let floats = values
        .as_array()
        .ok_or_else(|| Error::BadUpstreamResponse {
            provider: "gemini".into(),
            message: "embedding values are not an array".into(),
        })?;
    let mut bytes = Vec::with_capacity(floats.len() * 4);
    for v in floats {
        // OpenAI's base64 encoding is of f32s; the precision lost is the same as OpenAI's.
        #[allow(clippy::cast_possible_truncation)]
        let f = v.as_f64().unwrap_or(0.0) as f32;
        bytes.extend_from_slice(&f.to_le_bytes());
    }
    Ok(base64::engine::general_purpose::STANDARD.encode(bytes))
}

/// A model of `GET /v1beta/models`: `models/<id>` to the bare id.
pub fn to_model(m: wire::ModelInfo) -> Model {
    let id = m
        .name
        .strip_prefix("models/")
        .map(str::to_owned)
        .unwrap_or(m.name);
    Model {
        id,
        object: "model".into(),
        created: 0,
        owned_by: "google".into(),
    }
}
