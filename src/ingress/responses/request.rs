//! Responses API requests to canonical chat requests.
//!
//! `instructions` become the system message; input messages keep their roles; consecutive
//! assistant-side items (an assistant message, `reasoning`, `function_call`s) merge into one
//! assistant message, since chat puts a turn's text and its tool calls together; each
//! `function_call_output` becomes a `tool` message.

use serde_json::Value;

use crate::error::{Error, Result};
use crate::schemas::openai::{
    ChatMessage, ChatRequest, ContentPart, FunctionCall, FunctionDefinition, ImageUrl, JsonObject,
    MessageContent, Tool, ToolCall,
};
use crate::schemas::responses::{
    Input, InputItem, InputPart, ItemContent, ResponsesRequest, TextFormat, ToolDefinition,
};

/// Fields of the Responses API that chat has no use for; dropped rather than forwarded.
const RESPONSES_ONLY: &[&str] = &[
    "include",
    "truncation",
    "background",
    "conversation",
    "max_tool_calls",
    "prompt",
    "stream_options",
];

/// Translates a Responses API request into a chat request with the same model string.
pub fn to_chat_request(req: ResponsesRequest) -> Result<ChatRequest> {
    if req.previous_response_id.is_some() {
        return Err(Error::BadRequest(
            "previous_response_id is not supported: the gateway does not store responses; send \
             the whole conversation as input items"
                .into(),
        ));
    }
    let mut messages = Vec::new();
    if let Some(instructions) = req.instructions.filter(|i| !i.is_empty()) {
        messages.push(message("system", Some(MessageContent::Text(instructions))));
    }
    match req.input {
        None => {}
        Some(Input::Text(text)) => messages.push(message("user", Some(MessageContent::Text(text)))),
        Some(Input::Items(items)) => {
            for (i, item) in items.into_iter().enumerate() {
                push_item(&mut messages, i, item)?;
            }
        }
    }
    let tools = match req.tools {
        Some(list) if !list.is_empty() => {
            Some(list.into_iter().map(to_tool).collect::<Result<Vec<_>>>()?)
        }
        _ => None,
    };
    let mut extra = req.extra;
    for key in RESPONSES_ONLY {
        extra.remove(*key);
    }
    Ok(ChatRequest {
        model: req.model,
        messages,
        fallbacks: req.fallbacks,
        stream: req.stream,
        max_completion_tokens: req.max_output_tokens,
        temperature: req.temperature,
        top_p: req.top_p,
        tools,
        tool_choice: req.tool_choice.map(to_tool_choice).transpose()?,
        parallel_tool_calls: req.parallel_tool_calls,
        reasoning_effort: req.reasoning.and_then(|r| r.effort),
        response_format: req.text.and_then(|t| t.format).and_then(to_response_format),
        user: req.user,
        service_tier: req.service_tier,
        prompt_cache_key: req.prompt_cache_key,
        safety_identifier: req.safety_identifier,
        extra,
        ..ChatRequest::default()
    })
}

fn push_item(out: &mut Vec<ChatMessage>, i: usize, item: InputItem) -> Result<()> {
    match item.kind.as_deref() {
        None | Some("message") => {
            let role = item.role.unwrap_or_else(|| "user".to_owned());
            match role.as_str() {
                "user" | "system" | "developer" => {
                    let content = item.content.map(|c| user_content(c, i)).transpose()?;
                    out.push(message(&role, content));
                }
                "assistant" => {
                    let (text, refusal) = assistant_text(item.content);
                    let msg = assistant(out);
                    if !text.is_empty() {
                        let mut joined = msg
                            .content
                            .take()
                            .map(|c| c.joined_text())
                            .unwrap_or_default();
                        joined.push_str(&text);
                        msg.content = Some(MessageContent::Text(joined));
                    }
                    if !refusal.is_empty() {
                        msg.refusal = Some(refusal);
                    }
                }
                other => {
                    return Err(Error::BadRequest(format!(
                    "input[{i}].role: {other:?} is not one of user, assistant, system, developer"
                )))
                }
            }
        }
        Some("function_call") => {
            let call = ToolCall {
                id: item
                    .call_id
                    .ok_or_else(|| missing(i, "function_call", "call_id"))?,
                kind: "function".into(),
                function: FunctionCall {
                    name: item
                        .name
                        .ok_or_else(|| missing(i, "function_call", "name"))?,
                    arguments: item.arguments.unwrap_or_default(),
                },
            };
            assistant(out)
                .tool_calls
                .get_or_insert_with(Vec::new)
                .push(call);
        }
        Some("function_call_output") => {
            let id = item
                .call_id
                .ok_or_else(|| missing(i, "function_call_output", "call_id"))?;
            let output = match item.output {
                None => String::new(),
                Some(ItemContent::Text(t)) => t,
                Some(ItemContent::Parts(parts)) => {
                    parts.into_iter().filter_map(|p| p.text).collect()
                }
            };
            out.push(ChatMessage {
                tool_call_id: Some(id),
                ..message("tool", Some(MessageContent::Text(output)))
            });
        }
        Some("reasoning") => {
            let mut text: String = item
                .summary
                .into_iter()
                .flatten()
                .filter_map(|p| p.text)
                .collect();
            if let Some(ItemContent::Parts(parts)) = item.content {
                text.extend(parts.into_iter().filter_map(|p| p.text));
            }
            if !text.is_empty() {
                assistant(out)
                    .reasoning_content
                    .get_or_insert_with(String::new)
                    .push_str(&text);
            }
        }
        Some(other) => {
            return Err(Error::BadRequest(format!(
                "input[{i}]: item type {other:?} is not supported by the gateway's Responses API"
            )))
        }
    }
    Ok(())
}

fn missing(i: usize, kind: &str, field: &str) -> Error {
    Error::BadRequest(format!("input[{i}]: a {kind} item needs {field}"))
}

/// The assistant message that assistant-side items join: the last message when it is one,
/// else a new one.
fn assistant(out: &mut Vec<ChatMessage>) -> &mut ChatMessage {
    if out.last().is_none_or(|m| m.role != "assistant") {
        out.push(message("assistant", None));
    }
    let last = out.len() - 1;
    &mut out[last]
}

fn message(role: &str, content: Option<MessageContent>) -> ChatMessage {
    ChatMessage {
        role: role.to_owned(),
        content,
        ..ChatMessage::default()
    }
}

/// The text and refusal of an assistant message item.
fn assistant_text(content: Option<ItemContent>) -> (String, String) {
    match content {
        None => (String::new(), String::new()),
        Some(ItemContent::Text(t)) => (t, String::new()),
        Some(ItemContent::Parts(parts)) => {
            let (mut text, mut refusal) = (String::new(), String::new());
            for p in parts {
                if let Some(t) = p.text {
                    text.push_str(&t);
                }
                if let Some(r) = p.refusal {
                    refusal.push_str(&r);
                }
            }
            (text, refusal)
        }
    }
}

/// User-side content: one text part becomes a string, anything else parts.
fn user_content(content: ItemContent, i: usize) -> Result<MessageContent> {
    let parts = match content {
        ItemContent::Text(t) => return Ok(MessageContent::Text(t)),
        ItemContent::Parts(parts) => parts,
    };
    let mut out = Vec::with_capacity(parts.len());
    for part in parts {
        out.push(to_part(part, i)?);
    }
    if let [ContentPart {
        kind,
        text: Some(_),
        extra,
        ..
    }] = out.as_slice()
    {
        if kind == "text" && extra.is_empty() {
            let text = out.pop().and_then(|p| p.text).unwrap_or_default();
            return Ok(MessageContent::Text(text));
        }
    }
    Ok(MessageContent::Parts(out))
}

fn to_part(part: InputPart, i: usize) -> Result<ContentPart> {
    match part.kind.as_str() {
        "input_text" | "output_text" | "text" => Ok(ContentPart {
            kind: "text".into(),
            text: Some(part.text.unwrap_or_default()),
            ..ContentPart::default()
        }),
        "input_image" => {
            let url = part.image_url.ok_or_else(|| {
                Error::BadRequest(format!(
                    "input[{i}]: input_image needs image_url (file_id images are not supported)"
                ))
            })?;
            Ok(ContentPart {
                kind: "image_url".into(),
                image_url: Some(ImageUrl {
                    url,
                    detail: part.detail,
                }),
                ..ContentPart::default()
            })
        }
        "input_file" => {
            let mut file = JsonObject::new();
            for (k, v) in [
                ("file_data", part.file_data),
                ("file_id", part.file_id),
                ("filename", part.filename),
            ] {
                if let Some(v) = v {
                    file.insert(k.into(), Value::String(v));
                }
            }
            let mut out = ContentPart {
                kind: "file".into(),
                ..ContentPart::default()
            };
            out.extra.insert("file".into(), Value::Object(file));
            Ok(out)
        }
        other => Err(Error::BadRequest(format!(
            "input[{i}]: content part type {other:?} is not supported"
        ))),
    }
}

fn to_tool(tool: ToolDefinition) -> Result<Tool> {
    if tool.kind != "function" {
        return Err(Error::BadRequest(format!(
            "tools: {:?} is a built-in tool of OpenAI's Responses API; only function tools can \
             be served through chat",
            tool.kind
        )));
    }
    let name = tool
        .name
        .ok_or_else(|| Error::BadRequest("tools: a function tool needs a name".into()))?;
    Ok(Tool {
        kind: "function".into(),
        function: FunctionDefinition {
            name,
            description: tool.description,
            parameters: tool.parameters,
            strict: tool.strict,
        },
    })
}

/// `{"type":"function","name":..}` becomes chat's `{"type":"function","function":{"name":..}}`;
/// the string modes are the same in both APIs.
fn to_tool_choice(choice: Value) -> Result<Value> {
    match &choice {
        Value::String(_) => Ok(choice),
        Value::Object(o) if o.get("type").and_then(Value::as_str) == Some("function") => {
            let name = o.get("name").and_then(Value::as_str).ok_or_else(|| {
                Error::BadRequest("tool_choice: a function choice needs a name".into())
            })?;
            Ok(serde_json::json!({"type": "function", "function": {"name": name}}))
        }
        _ => Err(Error::BadRequest(format!(
            "tool_choice {choice} is not supported; use auto, none, required or a function"
        ))),
    }
}

/// `text.format` as chat's `response_format`.
fn to_response_format(format: TextFormat) -> Option<Value> {
    match format.kind.as_str() {
        "json_object" => Some(serde_json::json!({"type": "json_object"})),
        "json_schema" => {
            let mut schema = JsonObject::new();
            schema.insert(
                "name".into(),
                Value::String(format.name.unwrap_or_else(|| "response".into())),
            );
            if let Some(s) = format.schema {
                schema.insert("schema".into(), s);
            }
            if let Some(strict) = format.strict {
                schema.insert("strict".into(), Value::Bool(strict));
            }
            if let Some(d) = format.description {
                schema.insert("description".into(), Value::String(d));
            }
            Some(serde_json::json!({"type": "json_schema", "json_schema": schema}))
        }
        _ => None,
    }
}
