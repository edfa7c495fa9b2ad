//! Canonical (OpenAI-shaped) chat requests to Converse requests.

use serde_json::Value;

use super::wire;
use crate::error::{Error, Result};
use crate::providers::anthropic;
use crate::schemas::anthropic::Source;
use crate::schemas::openai::{
    ChatMessage, ChatRequest, ContentPart, JsonObject, MessageContent, Tool, ToolCall,
};

/// Translates a canonical chat request for `model` into a Converse request. With
/// `passthrough_extra`, unknown body fields go to `additionalModelRequestFields`, Bedrock's
/// place for model-specific parameters.
pub fn to_converse_request(
    model: &str,
    req: &ChatRequest,
    passthrough_extra: bool,
) -> Result<wire::ConverseRequest> {
    if req.n.is_some_and(|n| n > 1) {
        return Err(Error::BadRequest(
            "n > 1 is not supported by the Bedrock Converse API".into(),
        ));
    }
    let mut conv = Conversation::default();
    for (i, msg) in req.messages.iter().enumerate() {
        conv.push_message(i, msg)?;
    }
    if let Some(instruction) = json_instruction(req.response_format.as_ref())? {
        conv.system.push(wire::SystemBlock { text: instruction });
    }
    let mut additional = (passthrough_extra && !req.extra.is_empty()).then(|| req.extra.clone());
    let mut max_tokens = req.max_completion_tokens.or(req.max_tokens);
    if let Some(budget) = thinking_budget(model, req.reasoning_effort.as_deref())? {
        // Claude on Bedrock takes Anthropic's thinking block as a model-specific field. The
        // budget counts inside maxTokens, which must exceed it: keep the client's limit for
        // the visible answer on top of the budget.
        let limit = max_tokens.unwrap_or(anthropic::DEFAULT_MAX_TOKENS);
        max_tokens = Some(if limit <= budget {
            limit.saturating_add(budget)
        } else {
            limit
        });
        additional.get_or_insert_with(JsonObject::new).insert(
            "thinking".into(),
            serde_json::json!({"type": "enabled", "budget_tokens": budget}),
        );
    }
    let inference = wire::InferenceConfig {
        max_tokens,
        temperature: req.temperature,
        top_p: req.top_p,
        stop_sequences: anthropic::stop_sequences(req.stop.as_ref())?,
    };
    let tool_config = tool_config(req, conv.has_tool_blocks)?;
    Ok(wire::ConverseRequest {
        messages: conv.finish(),
        system: conv.system,
        inference_config: (!inference.is_empty()).then_some(inference),
        tool_config,
        additional_model_request_fields: additional,
    })
}

/// The extended-thinking budget for `reasoning_effort`, for Claude models. Other model families
/// have no common reasoning switch; the effort is dropped for them, as Bifrost does with knobs
/// a provider lacks.
fn thinking_budget(model: &str, effort: Option<&str>) -> Result<Option<u32>> {
    let claude = model.contains("anthropic") || model.contains("claude");
    if !claude {
        return Ok(None);
    }
    anthropic::thinking_budget(effort)
}

/// The conversation being built: system blocks apart, turns merged by role (Converse requires
/// alternating turns).
#[derive(Default)]
struct Conversation {
    system: Vec<wire::SystemBlock>,
    turns: Vec<wire::Message>,
    /// Tool calls or results appear: Converse then requires `toolConfig`.
    has_tool_blocks: bool,
}

impl Conversation {
    fn push_message(&mut self, i: usize, msg: &ChatMessage) -> Result<()> {
        match msg.role.as_str() {
            "system" | "developer" => {
                for block in blocks(msg.content.as_ref(), i, false)? {
                    if let Some(text) = block.text {
                        self.system.push(wire::SystemBlock { text });
                    }
                }
            }
            "user" => {
                let blocks = blocks(msg.content.as_ref(), i, true)?;
                self.push("user", blocks);
            }
            "assistant" => {
                let mut blocks = blocks(msg.content.as_ref(), i, false)?;
                for call in msg.tool_calls.iter().flatten() {
                    blocks.push(tool_use_block(call)?);
                    self.has_tool_blocks = true;
                }
                self.push("assistant", blocks);
            }
            "tool" => {
                let Some(id) = msg.tool_call_id.clone() else {
                    return Err(Error::BadRequest(format!(
                        "messages[{i}]: a tool message needs a tool_call_id"
                    )));
                };
                let content = match &msg.content {
                    Some(MessageContent::Text(t)) => vec![wire::ToolResultContent {
                        text: Some(t.clone()),
                        ..Default::default()
                    }],
                    Some(c @ MessageContent::Parts(_)) => blocks(Some(c), i, true)?
                        .into_iter()
                        .map(|b| wire::ToolResultContent {
                            text: b.text,
                            image: b.image,
                            ..Default::default()
                        })
                        .collect(),
                    None => Vec::new(),
                };
                self.has_tool_blocks = true;
                self.push(
                    "user",
                    vec![wire::ContentBlock {
                        tool_result: Some(wire::ToolResult {
                            tool_use_id: id,
                            content,
                            status: None,
                        }),
                        ..Default::default()
                    }],
                );
            }
            other => {
                return Err(Error::BadRequest(format!(
                    "messages[{i}]: role {other:?} is not supported by Bedrock"
                )))
            }
        }
        Ok(())
    }

    fn push(&mut self, role: &str, blocks: Vec<wire::ContentBlock>) {
        if blocks.is_empty() {
            return;
        }
        match self.turns.last_mut() {
            Some(last) if last.role == role => last.content.extend(blocks),
            _ => self.turns.push(wire::Message {
                role: role.to_owned(),
                content: blocks,
            }),
        }
    }

    fn finish(&mut self) -> Vec<wire::Message> {
        std::mem::take(&mut self.turns)
    }
}

/// Content to blocks. Empty text is dropped: Converse rejects blank text blocks, and OpenAI
/// clients send `""` next to tool calls.
fn blocks(
    content: Option<&MessageContent>,
    i: usize,
    media: bool,
) -> Result<Vec<wire::ContentBlock>> {
    match content {
        None => Ok(Vec::new()),
        Some(MessageContent::Text(t)) if t.is_empty() => Ok(Vec::new()),
        Some(MessageContent::Text(t)) => Ok(vec![text_block(t.clone())]),
        Some(MessageContent::Parts(parts)) => {
            let mut out = Vec::with_capacity(parts.len());
            for part in parts {
                if let Some(b) = part_block(part, i, media)? {
                    out.push(b);
                }
            }
            Ok(out)
        }
    }
}

fn text_block(text: String) -> wire::ContentBlock {
    wire::ContentBlock {
        text: Some(text),
        ..Default::default()
    }
}

fn part_block(part: &ContentPart, i: usize, media: bool) -> Result<Option<wire::ContentBlock>> {
    match part.kind.as_str() {
        "text" | "refusal" => {
            let text = part.text_or_refusal();
            Ok((!text.is_empty()).then(|| text_block(text.to_owned())))
        }
        "image_url" if media => {
            let image = part.required_image(i)?;
            Ok(Some(wire::ContentBlock {
                image: Some(image_block(&image.url, i)?),
                ..Default::default()
            }))
        }
        other => Err(Error::BadRequest(format!(
            "messages[{i}]: content part type {other:?} is not supported by Bedrock for this role"
        ))),
    }
}

/// Converse takes image bytes only: a `data:` URL of a PNG, JPEG, GIF or WebP image.
fn image_block(url: &str, i: usize) -> Result<wire::ImageBlock> {
    let Source::Base64 { media_type, data } = anthropic::media_source(url, i)? else {
        return Err(Error::BadRequest(format!(
            "messages[{i}]: Bedrock needs the image's bytes; send it as a data: URL"
        )));
    };
    let format = match media_type.as_str() {
        "image/png" => "png",
        "image/jpeg" | "image/jpg" => "jpeg",
        "image/gif" => "gif",
        "image/webp" => "webp",
        other => {
            return Err(Error::BadRequest(format!(
                "messages[{i}]: image type {other:?} is not supported by Bedrock (png, jpeg, gif, webp)"
            )))
        }
    };
    Ok(wire::ImageBlock {
        format: format.to_owned(),
        source: wire::ImageSource { bytes: data },
    })
}

/// An OpenAI tool call (JSON-encoded arguments) to a `toolUse` block (a JSON object).
fn tool_use_block(call: &ToolCall) -> Result<wire::ContentBlock> {
    let input = crate::providers::tool_call_arguments(call)?;
    Ok(wire::ContentBlock {
        tool_use: Some(wire::ToolUse {
            tool_use_id: call.id.clone(),
            name: call.function.name.clone(),
            input,
        }),
        ..Default::default()
    })
}

/// `tools` and `tool_choice` as `toolConfig`. Converse has no "none" choice: the tools are
/// then left out, unless the conversation already holds tool blocks, which Converse only
/// accepts next to a `toolConfig` (the model then still may, but rarely does, call one).
fn tool_config(req: &ChatRequest, has_tool_blocks: bool) -> Result<Option<wire::ToolConfig>> {
    let tools = match &req.tools {
        Some(tools) if !tools.is_empty() => {
            tools.iter().map(to_tool).collect::<Result<Vec<_>>>()?
        }
        _ => return Ok(None),
    };
    let choice = match &req.tool_choice {
        None | Some(Value::Null) => None,
        Some(choice) => to_tool_choice(choice)?,
    };
    let none = matches!(&req.tool_choice, Some(Value::String(s)) if s == "none");
    if none && !has_tool_blocks {
        return Ok(None);
    }
    Ok(Some(wire::ToolConfig {
        tools,
        tool_choice: choice,
    }))
}

fn to_tool(tool: &Tool) -> Result<wire::ToolEntry> {
    if tool.kind != "function" {
        return Err(Error::BadRequest(format!(
            "tool type {:?} is not supported by Bedrock",
            tool.kind
        )));
    }
    let f = &tool.function;
    Ok(wire::ToolEntry {
        tool_spec: wire::ToolSpec {
            name: f.name.clone(),
            description: f.description.clone(),
            // Converse requires a schema even for tools without parameters.
            input_schema: wire::InputSchema {
                json: f
                    .parameters
                    .clone()
                    .unwrap_or_else(|| serde_json::json!({"type": "object", "properties": {}})),
            },
        },
    })
}

fn to_tool_choice(choice: &Value) -> Result<Option<wire::ToolChoice>> {
    let named = choice
        .get("function")
        .and_then(|f| f.get("name"))
        .and_then(Value::as_str);
    let mode = match choice {
        Value::String(s) => Some(s.as_str()),
        Value::Object(o) => o.get("type").and_then(Value::as_str),
        _ => None,
    };
    match (named, mode) {
        (Some(name), _) => Ok(Some(wire::ToolChoice::Tool {
            name: name.to_owned(),
        })),
        (None, Some("auto")) => Ok(Some(wire::ToolChoice::Auto(JsonObject::new()))),
        (None, Some("required" | "any")) => Ok(Some(wire::ToolChoice::Any(JsonObject::new()))),
        (None, Some("none")) => Ok(None),
        _ => Err(Error::BadRequest(format!(
            "tool_choice {choice} is not supported by Bedrock"
        ))),
    }
}

/// `response_format` as a system instruction (Converse has no JSON mode), worded as for
/// Anthropic; unknown types are refused in Bedrock's name.
fn json_instruction(format: Option<&Value>) -> Result<Option<String>> {
    match format.and_then(|f| f.get("type")).and_then(Value::as_str) {
        None | Some("text" | "json_object" | "json_schema") => anthropic::json_instruction(format),
        Some(other) => Err(Error::BadRequest(format!(
            "response_format type {other:?} is not supported by Bedrock"
        ))),
    }
}
