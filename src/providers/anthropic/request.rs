//! Canonical (OpenAI-shaped) requests to Anthropic Messages API requests.

use super::*;

/// Translates a canonical chat request into a Messages API request for `model`.
pub fn to_messages_request(model: &str, req: &ChatRequest) -> Result<wire::MessagesRequest> {
    if req.n.is_some_and(|n| n > 1) {
        return Err(Error::BadRequest(
            "n > 1 is not supported by the Anthropic Messages API".into(),
        ));
    }
    let mut conv = Conversation::default();
    for (i, msg) in req.messages.iter().enumerate() {
        conv.push_message(i, msg)?;
    }
    if let Some(instruction) = json_instruction(req.response_format.as_ref())? {
        conv.system.push(text_block(instruction, None));
    }

    let thinking_budget = thinking_budget(req.reasoning_effort.as_deref())?;
    let mut max_tokens = req
        .max_completion_tokens
        .or(req.max_tokens)
        .unwrap_or(DEFAULT_MAX_TOKENS);
    if let Some(budget) = thinking_budget {
        // Anthropic counts thinking inside max_tokens and requires budget < max_tokens; keep
        // the client's limit for the visible answer on top of the budget.
        if max_tokens <= budget {
            max_tokens = max_tokens.saturating_add(budget);
        }
    }

    let tools = match &req.tools {
        Some(tools) if !tools.is_empty() => {
            Some(tools.iter().map(to_tool).collect::<Result<Vec<_>>>()?)
        }
        _ => None,
    };
    let disable_parallel = (req.parallel_tool_calls == Some(false)).then_some(true);
    let tool_choice = match &req.tool_choice {
        Some(Value::Null) | None => None,
        Some(choice) => Some(to_tool_choice(choice, disable_parallel)?),
    }
    .or_else(|| {
        // OpenAI puts "no parallel calls" on the request; Anthropic on tool_choice, which then
        // has to exist.
        (tools.is_some() && disable_parallel.is_some()).then_some(wire::ToolChoice::Auto {
            disable_parallel_tool_use: disable_parallel,
        })
    });

    let user_id = req.user.clone().or_else(|| req.safety_identifier.clone());
    Ok(wire::MessagesRequest {
        model: model.to_owned(),
        messages: conv.finish(),
        max_tokens,
        system: conv.system_prompt(),
        temperature: req.temperature,
        top_p: req.top_p,
        top_k: None,
        stop_sequences: stop_sequences(req.stop.as_ref())?,
        stream: None,
        tools,
        tool_choice,
        metadata: user_id.map(|id| wire::Metadata { user_id: Some(id) }),
        thinking: thinking_budget
            .map(|budget_tokens| wire::ThinkingConfig::Enabled { budget_tokens }),
        extra: JsonObject::new(),
    })
}

/// Translates a text-completion request: the prompt is one user message.
pub fn text_to_messages_request(model: &str, req: &TextRequest) -> Result<wire::MessagesRequest> {
    if req.n.is_some_and(|n| n > 1) || req.best_of.is_some_and(|n| n > 1) {
        return Err(Error::BadRequest(
            "n and best_of > 1 are not supported by the Anthropic Messages API".into(),
        ));
    }
    let prompt = prompt_text(&req.prompt)?;
    Ok(wire::MessagesRequest {
        model: model.to_owned(),
        messages: vec![wire::Message {
            role: "user".into(),
            content: wire::MessageContent::Text(prompt),
        }],
        max_tokens: req.max_tokens.unwrap_or(DEFAULT_MAX_TOKENS),
        temperature: req.temperature,
        top_p: req.top_p,
        stop_sequences: stop_sequences(req.stop.as_ref())?,
        metadata: req
            .user
            .clone()
            .map(|id| wire::Metadata { user_id: Some(id) }),
        ..wire::MessagesRequest::default()
    })
}

/// The one prompt of a text-completion request. Anthropic answers one prompt per call, so a
/// batch of prompts or token arrays cannot be served.
fn prompt_text(prompt: &Value) -> Result<String> {
    match prompt {
        Value::String(s) => Ok(s.clone()),
        Value::Array(items) => match items.as_slice() {
            [Value::String(s)] => Ok(s.clone()),
            _ => Err(Error::BadRequest(
                "Anthropic accepts exactly one text prompt per request".into(),
            )),
        },
        _ => Err(Error::BadRequest("prompt must be a string".into())),
    }
}

/// The conversation being built: system blocks apart, turns merged by role.
#[derive(Default)]
struct Conversation {
    system: Vec<wire::ContentBlock>,
    turns: Vec<(&'static str, Vec<wire::ContentBlock>)>,
}

impl Conversation {
    fn push_message(&mut self, i: usize, msg: &ChatMessage) -> Result<()> {
        match msg.role.as_str() {
            "system" | "developer" => {
                let blocks = match &msg.content {
                    Some(c) => content_blocks(c, i, PartsAllowed::TextOnly)?,
                    None => Vec::new(),
                };
                self.system.extend(blocks);
            }
            "user" => {
                let blocks = match &msg.content {
                    Some(c) => content_blocks(c, i, PartsAllowed::Media)?,
                    None => Vec::new(),
                };
                self.push("user", blocks);
            }
            "assistant" => {
                let mut blocks = match &msg.content {
                    Some(c) => content_blocks(c, i, PartsAllowed::TextOnly)?,
                    None => Vec::new(),
                };
                for call in msg.tool_calls.iter().flatten() {
                    blocks.push(tool_use_block(call)?);
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
                    Some(MessageContent::Text(t)) => Some(wire::ToolResultContent::Text(t.clone())),
                    Some(c @ MessageContent::Parts(_)) => Some(wire::ToolResultContent::Blocks(
                        content_blocks(c, i, PartsAllowed::Media)?,
                    )),
                    None => None,
                };
                // Anthropic takes tool results as blocks of a user turn; consecutive results
                // (and a user message right after them) merge into one turn.
                self.push(
                    "user",
                    vec![wire::ContentBlock::ToolResult {
                        tool_use_id: id,
                        content,
                        is_error: None,
                        cache_control: None,
                    }],
                );
            }
            other => {
                return Err(Error::BadRequest(format!(
                    "messages[{i}]: role {other:?} is not supported by Anthropic"
                )))
            }
        }
        Ok(())
    }

    /// Appends blocks to the last turn when it has the same role: Anthropic requires turns to
    /// alternate.
    fn push(&mut self, role: &'static str, blocks: Vec<wire::ContentBlock>) {
        if blocks.is_empty() {
            return;
        }
        match self.turns.last_mut() {
            Some((r, existing)) if *r == role => existing.extend(blocks),
            _ => self.turns.push((role, blocks)),
        }
    }

    fn finish(&mut self) -> Vec<wire::Message> {
        std::mem::take(&mut self.turns)
            .into_iter()
            .map(|(role, blocks)| wire::Message {
                role: role.to_owned(),
                content: compact_content(blocks),
            })
            .collect()
    }

    /// One plain block is sent as a string, anything else as blocks.
    fn system_prompt(&mut self) -> Option<wire::SystemPrompt> {
        let blocks = std::mem::take(&mut self.system);
        match plain_text(&blocks) {
            Some(text) => Some(wire::SystemPrompt::Text(text)),
            None if blocks.is_empty() => None,
            None => Some(wire::SystemPrompt::Blocks(blocks)),
        }
    }
}

/// A single text block without annotations becomes a string (the shorter, equivalent form).
fn compact_content(blocks: Vec<wire::ContentBlock>) -> wire::MessageContent {
    match plain_text(&blocks) {
        Some(text) => wire::MessageContent::Text(text),
        None => wire::MessageContent::Blocks(blocks),
    }
}

fn plain_text(blocks: &[wire::ContentBlock]) -> Option<String> {
    match blocks {
        [wire::ContentBlock::Text {
            text,
            citations: None,
            cache_control: None,
        }] => Some(text.clone()),
        _ => None,
    }
}

fn text_block(text: String, cache_control: Option<Value>) -> wire::ContentBlock {
    wire::ContentBlock::Text {
        text,
        citations: None,
        cache_control,
    }
}

/// Which OpenAI content parts a role may carry.
#[derive(Clone, Copy, PartialEq)]
enum PartsAllowed {
    TextOnly,
    Media,
}

/// Content to blocks. Empty text is dropped: Anthropic rejects empty text blocks, and OpenAI
/// clients send `""` next to tool calls.
fn content_blocks(
    content: &MessageContent,
    i: usize,
    allowed: PartsAllowed,
) -> Result<Vec<wire::ContentBlock>> {
    match content {
        MessageContent::Text(t) if t.is_empty() => Ok(Vec::new()),
        MessageContent::Text(t) => Ok(vec![text_block(t.clone(), None)]),
        MessageContent::Parts(parts) => {
            let mut blocks = Vec::with_capacity(parts.len());
            for part in parts {
                if let Some(b) = part_block(part, i, allowed)? {
                    blocks.push(b);
                }
            }
            Ok(blocks)
        }
    }
}

fn part_block(
    part: &ContentPart,
    i: usize,
    allowed: PartsAllowed,
) -> Result<Option<wire::ContentBlock>> {
    // Bifrost lets clients put Anthropic's `cache_control` on OpenAI parts; keep it.
    let cache_control = part.extra.get("cache_control").cloned();
    match part.kind.as_str() {
        // An assistant's refusal part is text it said.
        "text" | "refusal" => {
            let text = part.text_or_refusal();
            Ok((!text.is_empty()).then(|| text_block(text.to_owned(), cache_control)))
        }
        "image_url" if allowed == PartsAllowed::Media => {
            let image = part.required_image(i)?;
            let source = media_source(&image.url, i)?;
            Ok(Some(wire::ContentBlock::Image {
                source,
                cache_control,
            }))
        }
        "file" if allowed == PartsAllowed::Media => {
            let file = part.extra.get("file");
            let data = file
                .and_then(|f| f.get("file_data"))
                .and_then(Value::as_str);
            let id = file.and_then(|f| f.get("file_id")).and_then(Value::as_str);
            let source = match (data, id) {
                (Some(data), _) => media_source(data, i)?,
                (None, Some(id)) => wire::Source::File {
                    file_id: id.to_owned(),
                },
                (None, None) => {
                    return Err(Error::BadRequest(format!(
                        "messages[{i}]: a file part needs file.file_data or file.file_id"
                    )))
                }
            };
            Ok(Some(wire::ContentBlock::Document {
                source,
                cache_control,
            }))
        }
        other => Err(Error::BadRequest(format!(
            "messages[{i}]: content part type {other:?} is not supported by Anthropic for this role"
        ))),
    }
}

/// A `data:<media type>;base64,<data>` URL becomes inline data, an http(s) URL a URL source.
pub(crate) fn media_source(url: &str, i: usize) -> Result<wire::Source> {
    if let Some(rest) = url.strip_prefix("data:") {
        let bad = || Error::BadRequest(format!("messages[{i}]: data URLs must be base64 encoded"));
        let (header, data) = rest.split_once(',').ok_or_else(bad)?;
        let mut params = header.split(';');
        let media_type = params.next().unwrap_or_default();
        if !params.any(|p| p.eq_ignore_ascii_case("base64")) || media_type.is_empty() {
            return Err(bad());
        }
        return Ok(wire::Source::Base64 {
            media_type: media_type.to_owned(),
            data: data.to_owned(),
        });
    }
    if url.starts_with("https://") || url.starts_with("http://") {
        return Ok(wire::Source::Url {
            url: url.to_owned(),
        });
    }
    Err(Error::BadRequest(format!(
        "messages[{i}]: media URLs must be http(s) or data: URLs"
    )))
}

/// An OpenAI tool call (JSON-encoded arguments) to a `tool_use` block (a JSON object).
fn tool_use_block(call: &ToolCall) -> Result<wire::ContentBlock> {
    let input = crate::providers::tool_call_arguments(call)?;
    Ok(wire::ContentBlock::ToolUse {
        id: call.id.clone(),
        name: call.function.name.clone(),
        input,
    })
}

fn to_tool(tool: &Tool) -> Result<wire::ToolDefinition> {
    if tool.kind != "function" {
        return Err(Error::BadRequest(format!(
            "tool type {:?} is not supported by Anthropic",
            tool.kind
        )));
    }
    let f = &tool.function;
    Ok(wire::ToolDefinition {
        kind: None,
        name: f.name.clone(),
        description: f.description.clone(),
        // Anthropic requires a schema even for tools without parameters.
        input_schema: Some(
            f.parameters
                .clone()
                .unwrap_or_else(|| serde_json::json!({"type": "object", "properties": {}})),
        ),
        cache_control: None,
        extra: JsonObject::new(),
    })
}

fn to_tool_choice(choice: &Value, disable_parallel: Option<bool>) -> Result<wire::ToolChoice> {
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
        (Some(name), _) => Ok(wire::ToolChoice::Tool {
            name: name.to_owned(),
            disable_parallel_tool_use: disable_parallel,
        }),
        (None, Some("auto")) => Ok(wire::ToolChoice::Auto {
            disable_parallel_tool_use: disable_parallel,
        }),
        (None, Some("required" | "any")) => Ok(wire::ToolChoice::Any {
            disable_parallel_tool_use: disable_parallel,
        }),
        (None, Some("none")) => Ok(wire::ToolChoice::None),
        _ => Err(Error::BadRequest(format!(
            "tool_choice {choice} is not supported by Anthropic"
        ))),
    }
}

pub(crate) fn stop_sequences(stop: Option<&Value>) -> Result<Option<Vec<String>>> {
    let seqs = match stop {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_str().map(str::to_owned).ok_or_else(|| {
                    Error::BadRequest("stop must be a string or an array of strings".into())
                })
            })
            .collect::<Result<Vec<_>>>()?,
        Some(_) => {
            return Err(Error::BadRequest(
                "stop must be a string or an array of strings".into(),
            ))
        }
    };
    Ok((!seqs.is_empty()).then_some(seqs))
}

/// OpenAI's reasoning effort as an extended-thinking budget (Anthropic's minimum is 1024).
pub(crate) fn thinking_budget(effort: Option<&str>) -> Result<Option<u32>> {
    match effort {
        None | Some("none") => Ok(None),
        Some("minimal" | "low") => Ok(Some(1024)),
        Some("medium") => Ok(Some(4096)),
        Some("high") => Ok(Some(16384)),
        Some(other) => Err(Error::BadRequest(format!(
            "reasoning_effort {other:?} is not supported; use low, medium or high"
        ))),
    }
}

/// The instruction that stands in for `response_format`.
///
/// The Messages API of version 2023-06-01 has no JSON mode, so JSON output is asked for in the
/// system prompt. This is best effort: the model usually complies, but nothing enforces the
/// schema. (Forcing a tool call would enforce it, but would turn the answer into a tool call the
/// client did not ask for.)
pub(crate) fn json_instruction(format: Option<&Value>) -> Result<Option<String>> {
    let Some(format) = format else {
        return Ok(None);
    };
    match format.get("type").and_then(Value::as_str) {
        None | Some("text") => Ok(None),
        Some("json_object") => Ok(Some(
            "Respond only with a single valid JSON object. Do not write anything before or after \
             it, and do not wrap it in Markdown code fences."
                .to_owned(),
        )),
        Some("json_schema") => {
            let schema = format
                .get("json_schema")
                .and_then(|s| s.get("schema"))
                .map(Value::to_string)
                .unwrap_or_else(|| "{}".to_owned());
            Ok(Some(format!(
                "Respond only with a single valid JSON value that conforms to this JSON schema: \
                 {schema}\nDo not write anything before or after it, and do not wrap it in \
                 Markdown code fences."
            )))
        }
        Some(other) => Err(Error::BadRequest(format!(
            "response_format type {other:?} is not supported by Anthropic"
        ))),
    }
}
