//! `generateContent` requests to canonical chat requests.
//!
//! `model` turns become assistant messages (thought parts as `reasoning_content`,
//! `functionCall` parts as `tool_calls`), `user` turns user messages, each `functionResponse`
//! a `tool` message. Gemini's call ids are optional, so calls without one get a generated id
//! and responses without one are matched to the oldest unanswered call of the same name.

use serde_json::Value;

use crate::error::{Error, Result};
use crate::ingress::effort_for_budget;
use crate::schemas::genai as wire;
use crate::schemas::openai::{
    ChatMessage, ChatRequest, ContentPart, FunctionCall, FunctionDefinition, ImageUrl, JsonObject,
    MessageContent, Tool, ToolCall,
};

/// Calls made so far that no response answered yet, for id matching.
#[derive(Default)]
struct Calls {
    pending: Vec<(String, String)>,
    made: usize,
}

impl Calls {
    fn call_id(&mut self, name: &str, id: Option<String>) -> String {
        self.made += 1;
        let id = id.unwrap_or_else(|| format!("call_{}_{name}", self.made));
        self.pending.push((name.to_owned(), id.clone()));
        id
    }

    fn response_id(&mut self, name: &str, id: Option<String>) -> String {
        let at = match &id {
            Some(id) => self.pending.iter().position(|(_, p)| p == id),
            None => self.pending.iter().position(|(n, _)| n == name),
        };
        match (at, id) {
            (Some(i), _) => self.pending.remove(i).1,
            (None, Some(id)) => id,
            (None, None) => format!("call_unmatched_{name}"),
        }
    }
}

/// Translates a `generateContent` body for `model` (as the handler resolved it).
pub fn to_chat_request(model: String, req: wire::GenerateContentRequest) -> Result<ChatRequest> {
    let mut messages = Vec::with_capacity(req.contents.len() + 1);
    if let Some(system) = req.system_instruction {
        let text: Vec<String> = system.parts.into_iter().filter_map(|p| p.text).collect();
        if !text.is_empty() {
            messages.push(message(
                "system",
                Some(MessageContent::Text(text.join("\n"))),
            ));
        }
    }
    let mut calls = Calls::default();
    for (i, content) in req.contents.into_iter().enumerate() {
        match content.role.as_deref() {
            Some("model") => messages.push(model_message(&mut calls, content.parts)),
            None | Some("user" | "function" | "tool") => {
                push_user(&mut messages, &mut calls, i, content.parts)?
            }
            Some(other) => {
                return Err(Error::BadRequest(format!(
                    "contents[{i}].role: {other:?} is not one of user, model"
                )))
            }
        }
    }
    let tools = to_tools(req.tools)?;
    let tool_choice = req
        .tool_config
        .and_then(|c| c.function_calling_config)
        .and_then(to_tool_choice);
    let mut out = ChatRequest {
        model,
        messages,
        tools,
        tool_choice,
        extra: req.extra,
        ..ChatRequest::default()
    };
    if let Some(config) = req.generation_config {
        apply_config(&mut out, config);
    }
    Ok(out)
}

fn message(role: &str, content: Option<MessageContent>) -> ChatMessage {
    ChatMessage {
        role: role.to_owned(),
        content,
        ..ChatMessage::default()
    }
}

fn model_message(calls: &mut Calls, parts: Vec<wire::Part>) -> ChatMessage {
    let (mut text, mut reasoning, mut tool_calls) = (String::new(), String::new(), Vec::new());
    for part in parts {
        if let Some(call) = part.function_call {
            let id = calls.call_id(&call.name, call.id);
            let arguments = call
                .args
                .map(|a| a.to_string())
                .unwrap_or_else(|| "{}".to_owned());
            tool_calls.push(ToolCall {
                id,
                kind: "function".into(),
                function: FunctionCall {
                    name: call.name,
                    arguments,
                },
            });
        } else if let Some(t) = part.text {
            if part.thought == Some(true) {
                reasoning.push_str(&t);
            } else {
                text.push_str(&t);
            }
        }
    }
    // OpenAI wants `content: null` next to tool calls rather than an empty string.
    let content = (!text.is_empty() || tool_calls.is_empty()).then_some(MessageContent::Text(text));
    ChatMessage {
        tool_calls: (!tool_calls.is_empty()).then_some(tool_calls),
        reasoning_content: (!reasoning.is_empty()).then_some(reasoning),
        ..message("assistant", content)
    }
}

/// A user turn: function responses become `tool` messages first, the rest one user message.
fn push_user(
    out: &mut Vec<ChatMessage>,
    calls: &mut Calls,
    i: usize,
    parts: Vec<wire::Part>,
) -> Result<()> {
    let mut content = Vec::with_capacity(parts.len());
    for (j, part) in parts.into_iter().enumerate() {
        if let Some(resp) = part.function_response {
            let id = calls.response_id(&resp.name, resp.id);
            out.push(ChatMessage {
                tool_call_id: Some(id),
                ..message(
                    "tool",
                    Some(MessageContent::Text(resp.response.to_string())),
                )
            });
        } else if part.function_call.is_some() {
            return Err(Error::BadRequest(format!(
                "contents[{i}].parts[{j}]: functionCall parts belong in model turns"
            )));
        } else if let Some(text) = part.text {
            content.push(ContentPart {
                kind: "text".into(),
                text: Some(text),
                ..ContentPart::default()
            });
        } else if let Some(blob) = part.inline_data {
            let url = format!("data:{};base64,{}", blob.mime_type, blob.data);
            content.push(media_part(url, Some(&blob.mime_type)));
        } else if let Some(file) = part.file_data {
            content.push(media_part(file.file_uri, file.mime_type.as_deref()));
        }
        // Other part kinds (executable code, video metadata) have no chat counterpart.
    }
    if content.is_empty() {
        return Ok(());
    }
    let content = if content.len() == 1 && content[0].kind == "text" {
        MessageContent::Text(content.pop().and_then(|p| p.text).unwrap_or_default())
    } else {
        MessageContent::Parts(content)
    };
    out.push(message("user", Some(content)));
    Ok(())
}

/// Images become `image_url` parts, other media `file` parts.
fn media_part(url: String, mime: Option<&str>) -> ContentPart {
    if mime.is_none_or(|m| m.starts_with("image/")) {
        return ContentPart {
            kind: "image_url".into(),
            image_url: Some(ImageUrl { url, detail: None }),
            ..ContentPart::default()
        };
    }
    let mut file = JsonObject::new();
    file.insert("file_data".into(), Value::String(url));
    let mut part = ContentPart {
        kind: "file".into(),
        ..ContentPart::default()
    };
    part.extra.insert("file".into(), Value::Object(file));
    part
}

fn to_tools(tools: Option<Vec<wire::Tool>>) -> Result<Option<Vec<Tool>>> {
    let mut out = Vec::new();
    for tool in tools.into_iter().flatten() {
        if let Some(name) = tool.extra.keys().next() {
            return Err(Error::BadRequest(format!(
                "tools: {name:?} is a built-in Gemini tool; only functionDeclarations can be \
                 translated"
            )));
        }
        for f in tool.function_declarations.into_iter().flatten() {
            let parameters = f.parameters_json_schema.or(f.parameters.map(json_schema));
            out.push(Tool {
                kind: "function".into(),
                function: FunctionDefinition {
                    name: f.name,
                    description: f.description,
                    parameters,
                    strict: None,
                },
            });
        }
    }
    Ok((!out.is_empty()).then_some(out))
}

/// Gemini's OpenAPI-subset schema as plain JSON schema: type names lower-cased, `nullable`
/// folded into the type, Gemini-only keys dropped, recursively.
pub fn json_schema(schema: Value) -> Value {
    let Value::Object(mut map) = schema else {
        return schema;
    };
    let nullable = map.remove("nullable") == Some(Value::Bool(true));
    map.remove("propertyOrdering");
    map.remove("property_ordering");
    if let Some(Value::String(t)) = map.get_mut("type") {
        t.make_ascii_lowercase();
        if nullable {
            let t = Value::String(std::mem::take(t));
            map.insert("type".into(), Value::Array(vec![t, Value::from("null")]));
        }
    }
    if let Some(Value::Object(props)) = map.get_mut("properties") {
        for v in props.values_mut() {
            *v = json_schema(std::mem::take(v));
        }
    }
    for key in ["items", "additionalProperties"] {
        if let Some(v) = map.get_mut(key) {
            *v = json_schema(std::mem::take(v));
        }
    }
    for key in ["anyOf", "any_of"] {
        if let Some(Value::Array(list)) = map.get_mut(key) {
            for v in list.iter_mut() {
                *v = json_schema(std::mem::take(v));
            }
        }
    }
    if let Some(v) = map.remove("any_of") {
        map.insert("anyOf".into(), v);
    }
    Value::Object(map)
}

/// `functionCallingConfig` as chat's `tool_choice`.
fn to_tool_choice(config: wire::FunctionCallingConfig) -> Option<Value> {
    match config.mode.as_deref() {
        Some("NONE") => Some(Value::from("none")),
        Some("ANY") => match config.allowed_function_names.as_deref() {
            Some([one]) => Some(serde_json::json!({"type": "function", "function": {"name": one}})),
            _ => Some(Value::from("required")),
        },
        Some("AUTO" | "VALIDATED") => Some(Value::from("auto")),
        _ => None,
    }
}

fn apply_config(out: &mut ChatRequest, c: wire::GenerationConfig) {
    out.temperature = c.temperature;
    out.top_p = c.top_p;
    out.n = c.candidate_count;
    out.max_completion_tokens = c.max_output_tokens;
    out.presence_penalty = c.presence_penalty;
    out.frequency_penalty = c.frequency_penalty;
    out.seed = c.seed;
    out.stop = c
        .stop_sequences
        .filter(|s| !s.is_empty())
        .map(|s| Value::Array(s.into_iter().map(Value::String).collect()));
    if let Some(k) = c.top_k {
        out.extra.insert("top_k".into(), Value::from(k));
    }
    if c.response_mime_type.as_deref() == Some("application/json") {
        let schema = c
            .response_json_schema
            .or(c.response_schema.map(json_schema));
        out.response_format = Some(match schema {
            Some(schema) => {
                serde_json::json!({"type": "json_schema", "json_schema": {"name": "response", "schema": schema}})
            }
            None => serde_json::json!({"type": "json_object"}),
        });
    }
    if let Some(t) = c.thinking_config {
        out.reasoning_effort = match (t.thinking_level, t.thinking_budget) {
            (Some(level), _) => Some(level.to_ascii_lowercase()),
            (None, Some(-1)) => Some("medium".to_owned()),
            (None, Some(b)) if b > 0 => Some(effort_for_budget(b.unsigned_abs()).to_owned()),
            _ => None,
        };
    }
}
