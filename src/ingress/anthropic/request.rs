//! Anthropic Messages requests to canonical chat requests.
//!
//! Blocks map one to one where OpenAI has a counterpart: text and images to parts, `tool_use`
//! to `tool_calls`, each `tool_result` to a `tool` message (placed before the rest of its user
//! turn, where OpenAI expects tool answers), `thinking` to `reasoning_content`. `cache_control`
//! rides along on parts, where the Anthropic provider picks it up again. Server tools, which
//! Anthropic runs itself, have no counterpart and are refused.

use serde_json::Value;

use crate::error::{Error, Result};
use crate::ingress::{effort_for_budget, take_fallbacks};
use crate::schemas::anthropic as wire;
use crate::schemas::openai::{
    ChatMessage, ChatRequest, ContentPart, FunctionCall, FunctionDefinition, ImageUrl, JsonObject,
    MessageContent, Tool, ToolCall,
};

/// Translates a Messages API request. The model is kept as sent; the handler applies the
/// `/anthropic` default provider.
///
/// `keep_cache_control` is true when the request goes to an Anthropic-format provider, which
/// honours `cache_control`; other providers would reject the unknown field, so it is dropped.
pub fn to_chat_request(
    mut req: wire::MessagesRequest,
    keep_cache_control: bool,
) -> Result<ChatRequest> {
    if !keep_cache_control {
        drop_cache_control(&mut req);
    }
    let wire::MessagesRequest {
        model,
        messages,
        max_tokens,
        system,
        temperature,
        top_p,
        top_k,
        stop_sequences,
        stream,
        tools,
        tool_choice,
        metadata,
        thinking,
        mut extra,
    } = req;
    let mut out = Vec::with_capacity(messages.len() + 1);
    if let Some(system) = system {
        out.push(system_message(system)?);
    }
    for (i, msg) in messages.into_iter().enumerate() {
        match msg.role.as_str() {
            "user" => push_user(&mut out, i, msg.content)?,
            "assistant" => out.push(assistant_message(i, msg.content)?),
            other => {
                return Err(Error::BadRequest(format!(
                    "messages.{i}.role: {other:?} is not one of user, assistant"
                )))
            }
        }
    }
    let fallbacks = take_fallbacks(&mut extra);
    // OpenAI has no top_k; it travels with the unknown fields (forwarded on request).
    if let Some(k) = top_k {
        extra.insert("top_k".into(), Value::from(k));
    }
    let tools = match tools {
        Some(list) if !list.is_empty() => {
            Some(list.into_iter().map(to_tool).collect::<Result<Vec<_>>>()?)
        }
        _ => None,
    };
    let (tool_choice, parallel_tool_calls) = match tool_choice {
        Some(choice) => to_tool_choice(choice),
        None => (None, None),
    };
    let reasoning_effort = match thinking {
        Some(wire::ThinkingConfig::Enabled { budget_tokens }) => {
            Some(effort_for_budget(u64::from(budget_tokens)).to_owned())
        }
        _ => None,
    };
    Ok(ChatRequest {
        model,
        messages: out,
        fallbacks,
        stream,
        // OpenAI's current name for the output limit; the Anthropic provider reads it back.
        max_completion_tokens: Some(max_tokens),
        temperature,
        top_p,
        stop: stop_sequences
            .filter(|s| !s.is_empty())
            .map(|s| Value::Array(s.into_iter().map(Value::String).collect())),
        tools,
        tool_choice,
        parallel_tool_calls,
        reasoning_effort,
        user: metadata.and_then(|m| m.user_id),
        extra,
        ..ChatRequest::default()
    })
}

/// Removes every `cache_control` breakpoint of a request's blocks.
fn drop_cache_control(req: &mut wire::MessagesRequest) {
    fn clear(blocks: &mut [wire::ContentBlock]) {
        for block in blocks {
            match block {
                wire::ContentBlock::Text { cache_control, .. }
                | wire::ContentBlock::Image { cache_control, .. }
                | wire::ContentBlock::Document { cache_control, .. } => *cache_control = None,
                wire::ContentBlock::ToolResult {
                    cache_control,
                    content,
                    ..
                } => {
                    *cache_control = None;
                    if let Some(wire::ToolResultContent::Blocks(inner)) = content {
                        clear(inner);
                    }
                }
                _ => {}
            }
        }
    }
    if let Some(wire::SystemPrompt::Blocks(blocks)) = &mut req.system {
        clear(blocks);
    }
    for msg in &mut req.messages {
        if let wire::MessageContent::Blocks(blocks) = &mut msg.content {
            clear(blocks);
        }
    }
}

fn system_message(system: wire::SystemPrompt) -> Result<ChatMessage> {
    let content = match system {
        wire::SystemPrompt::Text(t) => MessageContent::Text(t),
        wire::SystemPrompt::Blocks(blocks) => {
            let mut parts = Vec::with_capacity(blocks.len());
            for block in blocks {
                match block {
                    wire::ContentBlock::Text {
                        text,
                        cache_control,
                        ..
                    } => parts.push(text_part(text, cache_control)),
                    _ => {
                        return Err(Error::BadRequest(
                            "system: only text blocks are allowed".into(),
                        ))
                    }
                }
            }
            compact(parts, "\n\n")
        }
    };
    Ok(message("system", Some(content)))
}

/// A user turn: its tool results become `tool` messages first, then the rest is one user
/// message (if anything is left).
fn push_user(out: &mut Vec<ChatMessage>, i: usize, content: wire::MessageContent) -> Result<()> {
    let blocks = match content {
        wire::MessageContent::Text(t) => {
            out.push(message("user", Some(MessageContent::Text(t))));
            return Ok(());
        }
        wire::MessageContent::Blocks(blocks) => blocks,
    };
    let mut parts = Vec::with_capacity(blocks.len());
    for (j, block) in blocks.into_iter().enumerate() {
        match block {
            wire::ContentBlock::ToolResult {
                tool_use_id,
                content,
                ..
            } => {
                let content = match content {
                    None => MessageContent::Text(String::new()),
                    Some(wire::ToolResultContent::Text(t)) => MessageContent::Text(t),
                    Some(wire::ToolResultContent::Blocks(blocks)) => {
                        let mut parts = Vec::with_capacity(blocks.len());
                        for b in blocks {
                            parts.extend(media_part(b, i, j)?);
                        }
                        compact(parts, "\n")
                    }
                };
                out.push(ChatMessage {
                    tool_call_id: Some(tool_use_id),
                    ..message("tool", Some(content))
                });
            }
            wire::ContentBlock::ToolUse { .. } => {
                return Err(Error::BadRequest(format!(
                    "messages.{i}.content.{j}: tool_use blocks belong in assistant messages"
                )))
            }
            other => parts.extend(media_part(other, i, j)?),
        }
    }
    if !parts.is_empty() {
        out.push(message("user", Some(compact(parts, "\n\n"))));
    }
    Ok(())
}

/// A text, image or document block as a content part; thinking and unknown blocks (server
/// tool results, search results) have no place in a user turn and are skipped.
fn media_part(block: wire::ContentBlock, i: usize, j: usize) -> Result<Option<ContentPart>> {
    let unsupported = |what: &str| {
        Error::BadRequest(format!(
            "messages.{i}.content.{j}: {what} cannot be translated for this route"
        ))
    };
    Ok(match block {
        wire::ContentBlock::Text {
            text,
            cache_control,
            ..
        } => Some(text_part(text, cache_control)),
        wire::ContentBlock::Image {
            source,
            cache_control,
        } => {
            let url = match source {
                wire::Source::Base64 { media_type, data } => {
                    format!("data:{media_type};base64,{data}")
                }
                wire::Source::Url { url } => url,
                wire::Source::Text { .. } => return Err(unsupported("a text image source")),
                wire::Source::File { .. } => return Err(unsupported("an image file_id source")),
            };
            let mut part = ContentPart {
                kind: "image_url".into(),
                image_url: Some(ImageUrl { url, detail: None }),
                ..ContentPart::default()
            };
            put_cache_control(&mut part.extra, cache_control);
            Some(part)
        }
        wire::ContentBlock::Document {
            source,
            cache_control,
        } => {
            let mut file = JsonObject::new();
            match source {
                // Plain-text documents are just text to every provider.
                wire::Source::Text { data, .. } => return Ok(Some(text_part(data, cache_control))),
                wire::Source::Base64 { media_type, data } => {
                    file.insert(
                        "file_data".into(),
                        Value::String(format!("data:{media_type};base64,{data}")),
                    );
                }
                wire::Source::Url { url } => {
                    file.insert("file_data".into(), Value::String(url));
                }
                wire::Source::File { file_id } => {
                    file.insert("file_id".into(), Value::String(file_id));
                }
            }
            let mut part = ContentPart {
                kind: "file".into(),
                ..ContentPart::default()
            };
            part.extra.insert("file".into(), Value::Object(file));
            put_cache_control(&mut part.extra, cache_control);
            Some(part)
        }
        wire::ContentBlock::ToolUse { .. } | wire::ContentBlock::ToolResult { .. } => {
            return Err(unsupported("a nested tool block"))
        }
        wire::ContentBlock::Thinking { .. }
        | wire::ContentBlock::RedactedThinking { .. }
        | wire::ContentBlock::Unknown => None,
    })
}

/// An assistant turn: text, thinking and tool calls become one assistant message.
fn assistant_message(i: usize, content: wire::MessageContent) -> Result<ChatMessage> {
    let blocks = match content {
        wire::MessageContent::Text(t) => {
            return Ok(message("assistant", Some(MessageContent::Text(t))))
        }
        wire::MessageContent::Blocks(blocks) => blocks,
    };
    let mut parts = Vec::new();
    let mut reasoning = String::new();
    let mut calls = Vec::new();
    for (j, block) in blocks.into_iter().enumerate() {
        match block {
            wire::ContentBlock::Text {
                text,
                cache_control,
                ..
            } => parts.push(text_part(text, cache_control)),
            wire::ContentBlock::Thinking { thinking, .. } => reasoning.push_str(&thinking),
            wire::ContentBlock::ToolUse { id, name, input } => calls.push(ToolCall {
                id,
                kind: "function".into(),
                function: FunctionCall {
                    name,
                    arguments: input.to_string(),
                },
            }),
            wire::ContentBlock::RedactedThinking { .. } | wire::ContentBlock::Unknown => {}
            _ => {
                return Err(Error::BadRequest(format!(
                    "messages.{i}.content.{j}: only text, thinking and tool_use blocks are \
                     allowed in assistant messages"
                )))
            }
        }
    }
    // OpenAI wants `content: null` next to tool calls rather than an empty string.
    let content = if parts.is_empty() && !calls.is_empty() {
        None
    } else {
        Some(compact(parts, "\n\n"))
    };
    Ok(ChatMessage {
        tool_calls: (!calls.is_empty()).then_some(calls),
        reasoning_content: (!reasoning.is_empty()).then_some(reasoning),
        ..message("assistant", content)
    })
}

fn message(role: &str, content: Option<MessageContent>) -> ChatMessage {
    ChatMessage {
        role: role.to_owned(),
        content,
        ..ChatMessage::default()
    }
}

fn text_part(text: String, cache_control: Option<Value>) -> ContentPart {
    let mut part = ContentPart {
        kind: "text".into(),
        text: Some(text),
        ..ContentPart::default()
    };
    put_cache_control(&mut part.extra, cache_control);
    part
}

fn put_cache_control(extra: &mut JsonObject, cache_control: Option<Value>) {
    if let Some(cc) = cache_control {
        extra.insert("cache_control".into(), cc);
    }
}

/// Parts that are all plain text become one string (what every OpenAI-compatible vendor
/// accepts); parts with images, files or cache breakpoints stay parts.
fn compact(parts: Vec<ContentPart>, separator: &str) -> MessageContent {
    let plain = parts
        .iter()
        .all(|p| p.kind == "text" && p.extra.is_empty() && p.text.is_some());
    if !plain {
        return MessageContent::Parts(parts);
    }
    let texts: Vec<String> = parts.into_iter().filter_map(|p| p.text).collect();
    MessageContent::Text(texts.join(separator))
}

fn to_tool(tool: wire::ToolDefinition) -> Result<Tool> {
    match tool.kind.as_deref() {
        None | Some("custom") => {}
        Some(kind) => {
            return Err(Error::BadRequest(format!(
                "tools: {kind:?} ({}) is a server tool that only Anthropic runs; it cannot be \
                 translated to a function tool",
                tool.name
            )))
        }
    }
    Ok(Tool {
        kind: "function".into(),
        function: FunctionDefinition {
            name: tool.name,
            description: tool.description,
            parameters: tool.input_schema,
            strict: None,
        },
    })
}

/// Anthropic's tool_choice as OpenAI's, plus `parallel_tool_calls: false` when parallel use
/// is disabled.
fn to_tool_choice(choice: wire::ToolChoice) -> (Option<Value>, Option<bool>) {
    let (value, disable) = match choice {
        wire::ToolChoice::Auto {
            disable_parallel_tool_use,
        } => (Value::from("auto"), disable_parallel_tool_use),
        wire::ToolChoice::Any {
            disable_parallel_tool_use,
        } => (Value::from("required"), disable_parallel_tool_use),
        wire::ToolChoice::Tool {
            name,
            disable_parallel_tool_use,
        } => (
            serde_json::json!({"type": "function", "function": {"name": name}}),
            disable_parallel_tool_use,
        ),
        wire::ToolChoice::None => (Value::from("none"), None),
    };
    (Some(value), (disable == Some(true)).then_some(false))
}
