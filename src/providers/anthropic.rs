//! The Anthropic Messages API wire format: canonical (OpenAI-shaped) requests to `/v1/messages`,
//! its answers, JSON and streamed, back to canonical types.
//!
//! Translation is pure (`to_messages_request`, `to_chat_response`, [`translate_events`]); the
//! async entry points only add HTTP. Anything the Messages API cannot express is rejected with a
//! 400 rather than silently changed, except the sampling knobs Anthropic lacks (penalties,
//! seed, logprobs, logit bias), which are dropped as Bifrost does.

use std::time::{SystemTime, UNIX_EPOCH};

use futures_util::{Stream, StreamExt};
use reqwest::header::{HeaderName, HeaderValue};
use serde::Serialize;
use serde_json::Value;

use super::http::{self, Auth};
use super::sse::SseEvent;
use super::{Call, ChatStream};
use crate::error::{Error, Result, UpstreamError};
use crate::schemas::anthropic as wire;
use crate::schemas::openai::{
    ChatChoice, ChatChunk, ChatMessage, ChatRequest, ChatResponse, ChunkChoice, ChunkDelta,
    ChunkFunctionCall, ChunkToolCall, ContentPart, FunctionCall, JsonObject, MessageContent, Model,
    TextChoice, TextRequest, TextResponse, Tool, ToolCall, Usage,
};

/// The API version every request pins; a client may override it with an extra header.
const API_VERSION: &str = "2023-06-01";
/// Anthropic requires `max_tokens`; OpenAI clients usually leave it out.
pub const DEFAULT_MAX_TOKENS: u32 = 4096;
/// Page size of `GET /v1/models` (Anthropic's maximum).
const MODELS_PAGE_SIZE: u32 = 1000;
/// Upper bound on model-list pages, so a misbehaving upstream cannot loop us forever.
const MODELS_MAX_PAGES: usize = 20;

/// `POST /v1/messages`.
pub async fn chat(
    http: &reqwest::Client,
    call: &Call<'_>,
    req: &ChatRequest,
) -> Result<ChatResponse> {
    let body = to_messages_request(call.model, req)?;
    let body = Outgoing::new(call, body, &req.extra)?;
    let url = call.url("/messages");
    let resp = http::post_json(
        http,
        call,
        &url,
        Auth::XApiKey,
        &fixed_headers(call),
        &body,
        parse_error,
    )
    .await?;
    let msg: wire::MessagesResponse = http::read_json(call, resp).await?;
    Ok(to_chat_response(msg, unix_now()))
}

/// `POST /v1/messages` with `stream: true`; resolves once Anthropic accepted the request.
pub async fn chat_stream(
    http: &reqwest::Client,
    call: &Call<'_>,
    req: &ChatRequest,
) -> Result<ChatStream> {
    let mut body = to_messages_request(call.model, req)?;
    body.stream = Some(true);
    let body = Outgoing::new(call, body, &req.extra)?;
    let url = call.url("/messages");
    let resp = http::post_json(
        http,
        call,
        &url,
        Auth::XApiKey,
        &fixed_headers(call),
        &body,
        parse_error,
    )
    .await?;
    Ok(translate_events(
        call.provider,
        http::sse_events(call, resp),
    ))
}

/// A text completion through the Messages API: the prompt becomes one user message and the
/// answer's text the completion.
pub async fn text(
    http: &reqwest::Client,
    call: &Call<'_>,
    req: &TextRequest,
) -> Result<TextResponse> {
    let body = text_to_messages_request(call.model, req)?;
    let body = Outgoing::new(call, body, &req.extra)?;
    let url = call.url("/messages");
    let resp = http::post_json(
        http,
        call,
        &url,
        Auth::XApiKey,
        &fixed_headers(call),
        &body,
        parse_error,
    )
    .await?;
    let msg: wire::MessagesResponse = http::read_json(call, resp).await?;
    Ok(to_text_response(msg, unix_now()))
}

/// `GET /v1/models`, following Anthropic's pagination.
pub async fn list_models(http: &reqwest::Client, call: &Call<'_>) -> Result<Vec<Model>> {
    let base = call.url("/models");
    let sep = if base.contains('?') { '&' } else { '?' };
    let headers = fixed_headers(call);
    let mut models = Vec::new();
    let mut after: Option<String> = None;
    for _ in 0..MODELS_MAX_PAGES {
        let mut url = format!("{base}{sep}limit={MODELS_PAGE_SIZE}");
        if let Some(id) = &after {
            url.push_str("&after_id=");
            url.push_str(&percent_encode(id));
        }
        let resp = http::get(http, call, &url, Auth::XApiKey, &headers, parse_error).await?;
        let page: wire::ModelList = http::read_json(call, resp).await?;
        models.extend(page.data.into_iter().map(to_model));
        match page.last_id {
            Some(last) if page.has_more => after = Some(last),
            _ => break,
        }
    }
    Ok(models)
}

/// Parses Anthropic's error body (`{"type":"error","error":{"type","message"}}`), falling back to
/// the raw text for anything else (proxies' HTML pages, empty bodies).
pub fn parse_error(provider: &str, status: u16, body: &[u8]) -> UpstreamError {
    match serde_json::from_slice::<wire::ErrorResponse>(body) {
        Ok(b) if !b.error.message.is_empty() || !b.error.kind.is_empty() => UpstreamError {
            provider: provider.to_owned(),
            status,
            message: b.error.message,
            error_type: (!b.error.kind.is_empty()).then_some(b.error.kind),
            code: None,
            param: None,
        },
        _ => http::raw_error(provider, status, body),
    }
}

/// `anthropic-version`, unless the client pinned another version through an extra header
/// (sending both would make the header ambiguous).
fn fixed_headers(call: &Call<'_>) -> Vec<(HeaderName, HeaderValue)> {
    let name = HeaderName::from_static("anthropic-version");
    if call.extra_headers.iter().any(|(n, _)| *n == name) {
        return Vec::new();
    }
    vec![(name, HeaderValue::from_static(API_VERSION))]
}

/// The request body: the typed request, or, when unknown client fields pass through, the typed
/// request as a JSON object with those fields added. Translated fields win over passed-through
/// ones so that a stray field cannot produce a duplicate key.
#[derive(Serialize)]
#[serde(untagged)]
enum Outgoing {
    Typed(Box<wire::MessagesRequest>),
    Merged(JsonObject),
}

impl Outgoing {
    fn new(call: &Call<'_>, body: wire::MessagesRequest, extra: &JsonObject) -> Result<Self> {
        if !call.passthrough_extra || extra.is_empty() {
            return Ok(Outgoing::Typed(Box::new(body)));
        }
        let mut map = match serde_json::to_value(&body) {
            Ok(Value::Object(map)) => map,
            Ok(_) => {
                return Err(Error::Internal(
                    "request did not serialize to an object".into(),
                ))
            }
            Err(e) => return Err(Error::Internal(e.to_string())),
        };
        for (k, v) in extra {
            map.entry(k.clone()).or_insert_with(|| v.clone());
        }
        Ok(Outgoing::Merged(map))
    }
}

// ---------------------------------------------------------------------------------------------
// Request: canonical -> Anthropic
// ---------------------------------------------------------------------------------------------

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
            let text = part
                .text
                .clone()
                .or_else(|| {
                    part.extra
                        .get("refusal")
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                })
                .unwrap_or_default();
            Ok((!text.is_empty()).then(|| text_block(text, cache_control)))
        }
        "image_url" if allowed == PartsAllowed::Media => {
            let Some(image) = &part.image_url else {
                return Err(Error::BadRequest(format!(
                    "messages[{i}]: an image_url part needs image_url.url"
                )));
            };
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
fn media_source(url: &str, i: usize) -> Result<wire::Source> {
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
    let args = call.function.arguments.trim();
    // Clients send "" for tools without parameters.
    let input = if args.is_empty() {
        Value::Object(JsonObject::new())
    } else {
        serde_json::from_str::<Value>(args).map_err(|e| {
            Error::BadRequest(format!(
                "tool call {} ({}) has invalid JSON arguments: {e}",
                call.id, call.function.name
            ))
        })?
    };
    if !input.is_object() {
        return Err(Error::BadRequest(format!(
            "tool call {} ({}): arguments must be a JSON object",
            call.id, call.function.name
        )));
    }
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

fn stop_sequences(stop: Option<&Value>) -> Result<Option<Vec<String>>> {
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
fn thinking_budget(effort: Option<&str>) -> Result<Option<u32>> {
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
fn json_instruction(format: Option<&Value>) -> Result<Option<String>> {
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

// ---------------------------------------------------------------------------------------------
// Response: Anthropic -> canonical
// ---------------------------------------------------------------------------------------------

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
fn to_usage(input: u64, output: u64, cache_read: u64, cache_creation: u64) -> Usage {
    let prompt = input + cache_read + cache_creation;
    Usage {
        prompt_tokens: prompt,
        completion_tokens: output,
        total_tokens: prompt + output,
        prompt_tokens_details: Some(serde_json::json!({ "cached_tokens": cache_read })),
        completion_tokens_details: None,
    }
}

fn to_model(m: wire::ModelInfo) -> Model {
    Model {
        id: m.id,
        object: "model".into(),
        created: parse_rfc3339(&m.created_at).unwrap_or(0),
        owned_by: "anthropic".into(),
    }
}

// ---------------------------------------------------------------------------------------------
// Streaming
// ---------------------------------------------------------------------------------------------

/// Translates Anthropic's stream events into OpenAI chunks, one event at a time: a chunk is
/// yielded as soon as the event that makes it arrives. An `error` event or a transport error
/// ends the stream with that error.
pub fn translate_events<S>(provider: &str, events: S) -> ChatStream
where
    S: Stream<Item = Result<SseEvent>> + Send + 'static,
{
    let state = StreamState::new(provider, unix_now());
    Box::pin(futures_util::stream::unfold(
        (Box::pin(events), state),
        |(mut events, mut state)| async move {
            loop {
                if state.done {
                    return None;
                }
                let item = match events.next().await {
                    None => {
                        state.done = true;
                        state.on_end()
                    }
                    Some(Err(e)) => {
                        state.done = true;
                        Some(Err(e))
                    }
                    Some(Ok(ev)) => match state.on_sse(&ev) {
                        Ok(chunk) => chunk.map(Ok),
                        Err(e) => {
                            state.done = true;
                            Some(Err(e))
                        }
                    },
                };
                if let Some(item) = item {
                    return Some((item, (events, state)));
                }
            }
        },
    ))
}

/// What the stream translation remembers between events.
struct StreamState {
    provider: String,
    id: String,
    model: String,
    created: u64,
    input_tokens: u64,
    output_tokens: u64,
    cache_read: u64,
    cache_creation: u64,
    /// The role chunk went out.
    started: bool,
    /// A `message_delta` carried the stop reason.
    finished: bool,
    /// Nothing more is yielded.
    done: bool,
    /// Anthropic block index -> OpenAI tool-call index, for `tool_use` blocks only: OpenAI
    /// numbers tool calls among themselves, Anthropic numbers every block.
    tool_blocks: Vec<(u32, u32)>,
}

impl StreamState {
    fn new(provider: &str, created: u64) -> Self {
        StreamState {
            provider: provider.to_owned(),
            id: String::new(),
            model: String::new(),
            created,
            input_tokens: 0,
            output_tokens: 0,
            cache_read: 0,
            cache_creation: 0,
            started: false,
            finished: false,
            done: false,
            tool_blocks: Vec::new(),
        }
    }

    fn on_sse(&mut self, ev: &SseEvent) -> Result<Option<ChatChunk>> {
        if ev.data.trim().is_empty() {
            return Ok(None);
        }
        let event: wire::StreamEvent = http::decode_event(&self.provider, &ev.data)?;
        self.on_event(event)
    }

    fn on_event(&mut self, event: wire::StreamEvent) -> Result<Option<ChatChunk>> {
        use wire::StreamEvent as E;
        Ok(match event {
            E::MessageStart { message } => {
                self.id = message.id;
                self.model = message.model;
                self.input_tokens = message.usage.input_tokens;
                self.output_tokens = message.usage.output_tokens;
                self.cache_read = message.usage.cache_read_input_tokens.unwrap_or(0);
                self.cache_creation = message.usage.cache_creation_input_tokens.unwrap_or(0);
                self.role_chunk()
            }
            E::ContentBlockStart {
                index,
                content_block,
            } => match content_block {
                wire::ContentBlock::ToolUse { id, name, .. } => {
                    let tool_index = u32::try_from(self.tool_blocks.len()).unwrap_or(u32::MAX);
                    self.tool_blocks.push((index, tool_index));
                    Some(self.tool_chunk(tool_index, Some(id), Some(name), String::new()))
                }
                wire::ContentBlock::Text { text, .. } if !text.is_empty() => {
                    Some(self.delta_chunk(ChunkDelta {
                        content: Some(text),
                        ..ChunkDelta::default()
                    }))
                }
                wire::ContentBlock::Thinking { thinking, .. } if !thinking.is_empty() => {
                    Some(self.delta_chunk(ChunkDelta {
                        reasoning_content: Some(thinking),
                        ..ChunkDelta::default()
                    }))
                }
                _ => None,
            },
            E::ContentBlockDelta { index, delta } => match delta {
                wire::BlockDelta::TextDelta { text } => Some(self.delta_chunk(ChunkDelta {
                    content: Some(text),
                    ..ChunkDelta::default()
                })),
                wire::BlockDelta::ThinkingDelta { thinking } => {
                    Some(self.delta_chunk(ChunkDelta {
                        reasoning_content: Some(thinking),
                        ..ChunkDelta::default()
                    }))
                }
                // Server tools stream their input too; only client tool_use blocks are tool
                // calls for the client.
                wire::BlockDelta::InputJsonDelta { partial_json } if !partial_json.is_empty() => {
                    self.tool_blocks
                        .iter()
                        .find(|(block, _)| *block == index)
                        .map(|&(_, tool_index)| tool_index)
                        .map(|tool_index| self.tool_chunk(tool_index, None, None, partial_json))
                }
                _ => None,
            },
            E::MessageDelta { delta, usage } => {
                if let Some(u) = usage {
                    // Cumulative counts: later values replace earlier ones.
                    self.output_tokens = u.output_tokens.unwrap_or(self.output_tokens);
                    self.input_tokens = u.input_tokens.unwrap_or(self.input_tokens);
                    self.cache_read = u.cache_read_input_tokens.unwrap_or(self.cache_read);
                    self.cache_creation =
                        u.cache_creation_input_tokens.unwrap_or(self.cache_creation);
                }
                match delta.stop_reason {
                    Some(reason) => {
                        self.finished = true;
                        let mut chunk = self.delta_chunk(ChunkDelta::default());
                        if let Some(choice) = chunk.choices.first_mut() {
                            choice.finish_reason = Some(finish_reason(&reason));
                        }
                        Some(chunk)
                    }
                    None => None,
                }
            }
            E::MessageStop => {
                self.done = true;
                Some(self.usage_chunk())
            }
            E::Error { error } => {
                // Anthropic signals overload with 529; other stream errors are server errors.
                let status = if error.kind == "overloaded_error" {
                    529
                } else {
                    500
                };
                return Err(Error::Upstream(Box::new(UpstreamError {
                    provider: self.provider.clone(),
                    status,
                    message: error.message,
                    error_type: (!error.kind.is_empty()).then_some(error.kind),
                    code: None,
                    param: None,
                })));
            }
            E::ContentBlockStop { .. } | E::Ping | E::Unknown => None,
        })
    }

    /// The end of the byte stream. After a stop reason the usage chunk is still owed; before
    /// one the answer is truncated, which must not look like a complete answer.
    fn on_end(&mut self) -> Option<Result<ChatChunk>> {
        if self.finished {
            Some(Ok(self.usage_chunk()))
        } else {
            Some(Err(Error::BadUpstreamResponse {
                provider: self.provider.clone(),
                message: "stream ended before the message was complete".into(),
            }))
        }
    }

    fn role_chunk(&mut self) -> Option<ChatChunk> {
        if self.started {
            return None;
        }
        self.started = true;
        Some(self.delta_chunk(ChunkDelta {
            role: Some("assistant".into()),
            ..ChunkDelta::default()
        }))
    }

    fn tool_chunk(
        &self,
        index: u32,
        id: Option<String>,
        name: Option<String>,
        arguments: String,
    ) -> ChatChunk {
        let kind = id.as_ref().map(|_| "function".to_owned());
        self.delta_chunk(ChunkDelta {
            tool_calls: Some(vec![ChunkToolCall {
                index,
                id,
                kind,
                function: Some(ChunkFunctionCall {
                    name,
                    arguments: Some(arguments),
                }),
            }]),
            ..ChunkDelta::default()
        })
    }

    fn delta_chunk(&self, delta: ChunkDelta) -> ChatChunk {
        ChatChunk {
            choices: vec![ChunkChoice {
                index: 0,
                delta,
                finish_reason: None,
                logprobs: None,
            }],
            ..self.empty_chunk()
        }
    }

    fn usage_chunk(&self) -> ChatChunk {
        ChatChunk {
            usage: Some(to_usage(
                self.input_tokens,
                self.output_tokens,
                self.cache_read,
                self.cache_creation,
            )),
            ..self.empty_chunk()
        }
    }

    fn empty_chunk(&self) -> ChatChunk {
        ChatChunk {
            id: self.id.clone(),
            object: "chat.completion.chunk".into(),
            created: self.created,
            model: self.model.clone(),
            ..ChatChunk::default()
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------------------

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Model ids are `[a-z0-9-.]`, but the query must stay well-formed whatever the upstream sends.
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Parses an RFC 3339 timestamp (`2025-02-19T00:00:00Z`, optional fraction and offset) into
/// unix seconds. `None` for anything malformed or before 1970.
fn parse_rfc3339(s: &str) -> Option<u64> {
    let b = s.as_bytes();
    let num = |from: usize, to: usize| -> Option<i64> {
        let part = s.get(from..to)?;
        if !part.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        part.parse().ok()
    };
    let sep = |at: usize, allowed: &[u8]| b.get(at).is_some_and(|c| allowed.contains(c));
    if !(sep(4, b"-") && sep(7, b"-") && sep(10, b"Tt ") && sep(13, b":") && sep(16, b":")) {
        return None;
    }
    let (year, month, day) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
    let (hour, minute, second) = (num(11, 13)?, num(14, 16)?, num(17, 19)?);
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut rest = s.get(19..)?;
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        rest = &frac[digits..];
    }
    let offset = match rest.as_bytes() {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), _, _, b':', _, _] => {
            let h = num(s.len() - 5, s.len() - 3)?;
            let m = num(s.len() - 2, s.len())?;
            let secs = h * 3600 + m * 60;
            if *sign == b'+' {
                secs
            } else {
                -secs
            }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset;
    u64::try_from(secs).ok()
}

/// Days since 1970-01-01 of a proleptic Gregorian date (eras of 400 years, March-based years
/// so that the leap day falls at the end).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use bytes::Bytes;
    use serde_json::json;

    use super::*;
    use crate::config::secret::{Resolved, Secret, SecretRef};
    use crate::providers::sse;

    // --- helpers ---------------------------------------------------------------------------

    fn chat_req(body: Value) -> ChatRequest {
        serde_json::from_value(body).unwrap()
    }

    fn translate(body: Value) -> Value {
        serde_json::to_value(
            to_messages_request("claude-sonnet-4-20250514", &chat_req(body)).unwrap(),
        )
        .unwrap()
    }

    fn translate_err(body: Value) -> String {
        match to_messages_request("claude", &chat_req(body)) {
            Err(Error::BadRequest(m)) => m,
            other => panic!("expected BadRequest, got {other:?}"),
        }
    }

    fn response(json: &str) -> ChatResponse {
        to_chat_response(serde_json::from_str(json).unwrap(), 1_700_000_000)
    }

    /// Runs SSE text through the real SSE parser and the translation, split into small byte
    /// chunks so that events straddle reads as they do on the network.
    async fn run_stream(sse_text: &str) -> Vec<Result<ChatChunk>> {
        let bytes: Vec<Result<Bytes>> = sse_text
            .as_bytes()
            .chunks(37)
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect();
        let events = sse::events(futures_util::stream::iter(bytes));
        translate_events("anthropic", events).collect().await
    }

    fn sse_body(events: &[(&str, &str)]) -> String {
        events
            .iter()
            .map(|(name, data)| format!("event: {name}\ndata: {data}\n\n"))
            .collect()
    }

    fn secret() -> Secret {
        match SecretRef::new("sk-ant-test").resolve() {
            Resolved::Value(s) => s,
            other => panic!("literal must resolve, got {other:?}"),
        }
    }

    fn call<'a>(base_url: &'a str, key: &'a Secret, passthrough: bool) -> Call<'a> {
        Call {
            provider: "anthropic",
            base_url,
            path_prefix: "/v1",
            api_key: Some(key),
            model: "claude-sonnet-4-20250514",
            extra_headers: &[],
            passthrough_extra: passthrough,
            timeout: Duration::from_secs(5),
            path_override: None,
        }
    }

    async fn serve(router: axum::Router) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        format!("http://{addr}")
    }

    // --- request translation ---------------------------------------------------------------

    #[test]
    fn system_and_developer_messages_become_the_system_prompt() {
        let one = translate(json!({"model": "anthropic/claude", "messages": [
            {"role": "system", "content": "Be terse."},
            {"role": "user", "content": "hi"}
        ]}));
        assert_eq!(one["system"], "Be terse.");
        assert_eq!(one["model"], "claude-sonnet-4-20250514");
        assert_eq!(one["messages"], json!([{"role": "user", "content": "hi"}]));

        let several = translate(json!({"model": "anthropic/claude", "messages": [
            {"role": "system", "content": "Be terse."},
            {"role": "user", "content": "hi"},
            {"role": "developer", "content": [{"type": "text", "text": "Use French.", "cache_control": {"type": "ephemeral"}}]}
        ]}));
        assert_eq!(
            several["system"],
            json!([
                {"type": "text", "text": "Be terse."},
                {"type": "text", "text": "Use French.", "cache_control": {"type": "ephemeral"}}
            ])
        );
        assert_eq!(several["messages"].as_array().unwrap().len(), 1);
    }

    #[test]
    fn consecutive_same_role_messages_merge() {
        let out = translate(json!({"model": "m", "messages": [
            {"role": "user", "content": "first"},
            {"role": "user", "content": "second"},
            {"role": "assistant", "content": "answer"}
        ]}));
        assert_eq!(
            out["messages"],
            json!([
                {"role": "user", "content": [{"type": "text", "text": "first"}, {"type": "text", "text": "second"}]},
                {"role": "assistant", "content": "answer"}
            ])
        );
    }

    #[test]
    fn tool_calls_and_results_map_to_tool_use_and_grouped_tool_result() {
        let out = translate(json!({"model": "m", "messages": [
            {"role": "user", "content": "Weather in Paris and Rome?"},
            {"role": "assistant", "content": "", "tool_calls": [
                {"id": "toolu_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}},
                {"id": "toolu_2", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Rome\"}"}}
            ]},
            {"role": "tool", "tool_call_id": "toolu_1", "content": "18C"},
            {"role": "tool", "tool_call_id": "toolu_2", "content": [{"type": "text", "text": "24C"}]},
            {"role": "user", "content": "Thanks"}
        ]}));
        let msgs = out["messages"].as_array().unwrap();
        assert_eq!(msgs.len(), 3, "{msgs:#?}");
        // The empty assistant text is dropped; the calls carry parsed JSON input.
        assert_eq!(
            msgs[1],
            json!({"role": "assistant", "content": [
                {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}},
                {"type": "tool_use", "id": "toolu_2", "name": "get_weather", "input": {"city": "Rome"}}
            ]})
        );
        // Both results and the following user text share one user turn.
        assert_eq!(
            msgs[2],
            json!({"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": "18C"},
                {"type": "tool_result", "tool_use_id": "toolu_2", "content": [{"type": "text", "text": "24C"}]},
                {"type": "text", "text": "Thanks"}
            ]})
        );
    }

    #[test]
    fn invalid_tool_arguments_are_a_bad_request_naming_the_call() {
        let msg = translate_err(json!({"model": "m", "messages": [
            {"role": "user", "content": "x"},
            {"role": "assistant", "tool_calls": [
                {"id": "call_bad", "type": "function", "function": {"name": "f", "arguments": "{not json"}}
            ]}
        ]}));
        assert!(msg.contains("call_bad"), "{msg}");
        let msg = translate_err(json!({"model": "m", "messages": [
            {"role": "assistant", "tool_calls": [
                {"id": "call_arr", "type": "function", "function": {"name": "f", "arguments": "[1]"}}
            ]}
        ]}));
        assert!(msg.contains("call_arr") && msg.contains("object"), "{msg}");
        let msg =
            translate_err(json!({"model": "m", "messages": [{"role": "tool", "content": "x"}]}));
        assert!(msg.contains("tool_call_id"), "{msg}");
    }

    #[test]
    fn images_become_base64_or_url_sources() {
        let out = translate(
            json!({"model": "m", "messages": [{"role": "user", "content": [
                {"type": "text", "text": "Compare"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
                {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg", "detail": "high"}}
            ]}]}),
        );
        assert_eq!(
            out["messages"][0]["content"],
            json!([
                {"type": "text", "text": "Compare"},
                {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}},
                {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}}
            ])
        );
        let msg = translate_err(
            json!({"model": "m", "messages": [{"role": "user", "content": [
                {"type": "image_url", "image_url": {"url": "data:image/png,rawbytes"}}
            ]}]}),
        );
        assert!(msg.contains("base64"), "{msg}");
        let msg = translate_err(
            json!({"model": "m", "messages": [{"role": "user", "content": [
                {"type": "input_audio", "input_audio": {"data": "AA", "format": "wav"}}
            ]}]}),
        );
        assert!(msg.contains("input_audio"), "{msg}");
    }

    #[test]
    fn tool_choice_variants_and_parallel_flag() {
        let tools = json!([{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}]);
        let choice = |tc: Value, parallel: Option<bool>| {
            let mut body = json!({"model": "m", "messages": [{"role": "user", "content": "x"}], "tools": tools, "tool_choice": tc});
            if let Some(p) = parallel {
                body["parallel_tool_calls"] = json!(p);
            }
            translate(body)["tool_choice"].clone()
        };
        assert_eq!(choice(json!("auto"), None), json!({"type": "auto"}));
        assert_eq!(choice(json!("required"), None), json!({"type": "any"}));
        assert_eq!(choice(json!("none"), None), json!({"type": "none"}));
        assert_eq!(
            choice(
                json!({"type": "function", "function": {"name": "get_weather"}}),
                None
            ),
            json!({"type": "tool", "name": "get_weather"})
        );
        assert_eq!(
            choice(json!("required"), Some(false)),
            json!({"type": "any", "disable_parallel_tool_use": true})
        );
        assert_eq!(
            choice(Value::Null, Some(false)),
            json!({"type": "auto", "disable_parallel_tool_use": true})
        );
        assert_eq!(choice(Value::Null, Some(true)), Value::Null);
        let msg = translate_err(json!({"model": "m", "messages": [], "tool_choice": "sometimes"}));
        assert!(msg.contains("tool_choice"), "{msg}");
    }

    #[test]
    fn tools_keep_schema_and_get_a_default_one() {
        let out = translate(
            json!({"model": "m", "messages": [{"role": "user", "content": "x"}], "tools": [
                {"type": "function", "function": {"name": "get_weather", "description": "Weather now",
                    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}},
                {"type": "function", "function": {"name": "now"}}
            ]}),
        );
        assert_eq!(
            out["tools"],
            json!([
                {"name": "get_weather", "description": "Weather now",
                 "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}},
                {"name": "now", "input_schema": {"type": "object", "properties": {}}}
            ])
        );
    }

    #[test]
    fn stop_sequences_max_tokens_sampling_and_user() {
        let out = translate(
            json!({"model": "m", "messages": [{"role": "user", "content": "x"}],
            "stop": "END", "temperature": 0.3, "top_p": 0.9, "user": "u-42", "seed": 7, "presence_penalty": 1.0}),
        );
        assert_eq!(out["stop_sequences"], json!(["END"]));
        assert_eq!(out["max_tokens"], DEFAULT_MAX_TOKENS);
        assert_eq!(out["temperature"], 0.3);
        assert_eq!(out["top_p"], 0.9);
        assert_eq!(out["metadata"], json!({"user_id": "u-42"}));
        assert!(out.get("seed").is_none() && out.get("presence_penalty").is_none());
        assert!(
            out.get("thinking").is_none()
                && out.get("tools").is_none()
                && out.get("stream").is_none()
        );

        let out =
            translate(json!({"model": "m", "messages": [], "stop": ["a", "b"], "max_tokens": 100}));
        assert_eq!(out["stop_sequences"], json!(["a", "b"]));
        assert_eq!(out["max_tokens"], 100);
        let out = translate(
            json!({"model": "m", "messages": [], "max_tokens": 100, "max_completion_tokens": 300}),
        );
        assert_eq!(out["max_tokens"], 300);
        let msg = translate_err(json!({"model": "m", "messages": [], "stop": [1]}));
        assert!(msg.contains("stop"), "{msg}");
    }

    #[test]
    fn reasoning_effort_enables_thinking_within_max_tokens() {
        let out = translate(json!({"model": "m", "messages": [], "reasoning_effort": "medium"}));
        assert_eq!(
            out["thinking"],
            json!({"type": "enabled", "budget_tokens": 4096})
        );
        assert!(out["max_tokens"].as_u64().unwrap() > 4096);
        let out = translate(
            json!({"model": "m", "messages": [], "reasoning_effort": "high", "max_tokens": 32000}),
        );
        assert_eq!(out["thinking"]["budget_tokens"], 16384);
        assert_eq!(out["max_tokens"], 32000);
        let out = translate(
            json!({"model": "m", "messages": [], "reasoning_effort": "low", "max_tokens": 500}),
        );
        assert_eq!(out["thinking"]["budget_tokens"], 1024);
        assert_eq!(out["max_tokens"], 1524);
        assert!(
            translate_err(json!({"model": "m", "messages": [], "reasoning_effort": "max"}))
                .contains("reasoning_effort")
        );
    }

    #[test]
    fn response_format_adds_a_json_instruction_to_the_system_prompt() {
        let out = translate(
            json!({"model": "m", "messages": [{"role": "user", "content": "x"}],
            "response_format": {"type": "json_object"}}),
        );
        assert!(
            out["system"].as_str().unwrap().contains("JSON object"),
            "{out}"
        );

        let out = translate(json!({"model": "m", "messages": [
            {"role": "system", "content": "You extract data."}, {"role": "user", "content": "x"}],
            "response_format": {"type": "json_schema", "json_schema": {"name": "p", "schema": {"type": "object", "properties": {"age": {"type": "integer"}}}}}}));
        let system = out["system"].as_array().unwrap();
        assert_eq!(system[0]["text"], "You extract data.");
        let instruction = system[1]["text"].as_str().unwrap();
        assert!(
            instruction.contains(r#""age":{"type":"integer"}"#),
            "{instruction}"
        );

        let out =
            translate(json!({"model": "m", "messages": [], "response_format": {"type": "text"}}));
        assert!(out.get("system").is_none());
    }

    #[test]
    fn extra_fields_pass_through_only_when_asked_and_never_override() {
        let key = secret();
        let req = chat_req(
            json!({"model": "m", "messages": [{"role": "user", "content": "x"}], "top_k": 5, "max_tokens": 9}),
        );
        let mut extra = req.extra.clone();
        extra.insert("max_tokens".into(), json!(1));
        let body = |passthrough: bool| {
            let c = call("http://x", &key, passthrough);
            let typed = to_messages_request(c.model, &req).unwrap();
            serde_json::to_value(Outgoing::new(&c, typed, &extra).unwrap()).unwrap()
        };
        assert!(body(false).get("top_k").is_none());
        let merged = body(true);
        assert_eq!(merged["top_k"], 5);
        assert_eq!(merged["max_tokens"], 9);
    }

    #[test]
    fn text_requests_become_one_user_message() {
        let req: TextRequest = serde_json::from_value(json!({"model": "anthropic/claude", "prompt": ["Once upon"], "max_tokens": 20, "stop": "\n"})).unwrap();
        let out = serde_json::to_value(text_to_messages_request("claude", &req).unwrap()).unwrap();
        assert_eq!(
            out["messages"],
            json!([{"role": "user", "content": "Once upon"}])
        );
        assert_eq!(out["max_tokens"], 20);
        assert_eq!(out["stop_sequences"], json!(["\n"]));
        let req: TextRequest =
            serde_json::from_value(json!({"model": "m", "prompt": ["a", "b"]})).unwrap();
        assert!(matches!(
            text_to_messages_request("claude", &req),
            Err(Error::BadRequest(_))
        ));
    }

    // --- response translation --------------------------------------------------------------

    #[test]
    fn text_response_with_cached_usage() {
        let r = response(
            r#"{"id":"msg_01XFDUDYJgAACzvnptvVoYEL","type":"message","role":"assistant",
                "content":[{"type":"text","text":"Hello"},{"type":"text","text":", world"}],
                "model":"claude-sonnet-4-20250514","stop_reason":"end_turn","stop_sequence":null,
                "usage":{"input_tokens":12,"cache_creation_input_tokens":100,"cache_read_input_tokens":2000,"output_tokens":6}}"#,
        );
        assert_eq!(r.id, "msg_01XFDUDYJgAACzvnptvVoYEL");
        assert_eq!(r.object, "chat.completion");
        assert_eq!(r.created, 1_700_000_000);
        assert_eq!(r.model, "claude-sonnet-4-20250514");
        let choice = &r.choices[0];
        assert_eq!(choice.message.role, "assistant");
        assert_eq!(
            choice.message.content,
            Some(MessageContent::Text("Hello, world".into()))
        );
        assert_eq!(choice.message.tool_calls, None);
        assert_eq!(choice.finish_reason.as_deref(), Some("stop"));
        let usage = r.usage.unwrap();
        assert_eq!(usage.prompt_tokens, 2112);
        assert_eq!(usage.completion_tokens, 6);
        assert_eq!(usage.total_tokens, 2118);
        assert_eq!(
            usage.prompt_tokens_details,
            Some(json!({"cached_tokens": 2000}))
        );
    }

    #[test]
    fn tool_use_response_becomes_tool_calls() {
        let r = response(
            r#"{"id":"msg_1","type":"message","role":"assistant","model":"claude-3-5-haiku-20241022",
                "content":[{"type":"tool_use","id":"toolu_01A09q90qw90lq917835lq9","name":"get_weather",
                            "input":{"location":"San Francisco, CA","unit":"celsius"}}],
                "stop_reason":"tool_use","stop_sequence":null,"usage":{"input_tokens":400,"output_tokens":50}}"#,
        );
        let msg = &r.choices[0].message;
        assert_eq!(msg.content, None);
        let calls = msg.tool_calls.as_ref().unwrap();
        assert_eq!(calls.len(), 1);
        assert_eq!(calls[0].id, "toolu_01A09q90qw90lq917835lq9");
        assert_eq!(calls[0].kind, "function");
        assert_eq!(calls[0].function.name, "get_weather");
        assert_eq!(
            calls[0].function.arguments,
            r#"{"location":"San Francisco, CA","unit":"celsius"}"#
        );
        assert_eq!(r.choices[0].finish_reason.as_deref(), Some("tool_calls"));
        assert_eq!(
            r.usage.unwrap().prompt_tokens_details,
            Some(json!({"cached_tokens": 0}))
        );
    }

    #[test]
    fn thinking_blocks_become_reasoning_content_and_unknown_blocks_are_skipped() {
        let r = response(
            r#"{"id":"msg_2","type":"message","role":"assistant","model":"claude-sonnet-4-20250514",
                "content":[
                  {"type":"thinking","thinking":"Let me add 2 and 2.","signature":"EqQBCgIYAhIM1gbcDa"},
                  {"type":"redacted_thinking","data":"EmwKAhgBEgy3va3pzix"},
                  {"type":"server_tool_use","id":"srvtoolu_1","name":"web_search","input":{"query":"x"}},
                  {"type":"text","text":"4","citations":null}],
                "stop_reason":"end_turn","usage":{"input_tokens":10,"output_tokens":30}}"#,
        );
        let msg = &r.choices[0].message;
        assert_eq!(
            msg.reasoning_content.as_deref(),
            Some("Let me add 2 and 2.")
        );
        assert_eq!(msg.content, Some(MessageContent::Text("4".into())));
    }

    #[test]
    fn stop_reasons_map_to_finish_reasons() {
        for (anthropic, openai) in [
            ("end_turn", "stop"),
            ("stop_sequence", "stop"),
            ("pause_turn", "stop"),
            ("max_tokens", "length"),
            ("tool_use", "tool_calls"),
            ("refusal", "content_filter"),
        ] {
            assert_eq!(finish_reason(anthropic), openai, "{anthropic}");
        }
    }

    #[test]
    fn text_response_maps_to_a_text_completion() {
        let msg: wire::MessagesResponse = serde_json::from_str(
            r#"{"id":"msg_3","type":"message","role":"assistant","model":"claude-3-haiku-20240307",
                "content":[{"type":"text","text":" there was a cat."}],"stop_reason":"max_tokens",
                "usage":{"input_tokens":3,"output_tokens":5}}"#,
        )
        .unwrap();
        let r = to_text_response(msg, 5);
        assert_eq!(r.object, "text_completion");
        assert_eq!(r.choices[0].text, " there was a cat.");
        assert_eq!(r.choices[0].finish_reason.as_deref(), Some("length"));
        assert_eq!(r.usage.unwrap().total_tokens, 8);
    }

    // --- errors ----------------------------------------------------------------------------

    #[test]
    fn errors_keep_type_and_message_and_fall_back_to_raw_text() {
        let e = parse_error(
            "anthropic",
            400,
            br#"{"type":"error","error":{"type":"invalid_request_error","message":"max_tokens: Field required"},"request_id":"req_1"}"#,
        );
        assert_eq!(e.status, 400);
        assert_eq!(e.provider, "anthropic");
        assert_eq!(e.error_type.as_deref(), Some("invalid_request_error"));
        assert_eq!(e.message, "max_tokens: Field required");

        let e = parse_error(
            "anthropic",
            529,
            br#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#,
        );
        assert_eq!(
            (e.status, e.error_type.as_deref()),
            (529, Some("overloaded_error"))
        );

        let e = parse_error("anthropic", 502, b"<html>Bad Gateway</html>");
        assert_eq!(e.message, "<html>Bad Gateway</html>");
        assert_eq!(e.error_type, None);
        let e = parse_error("anthropic", 503, b"");
        assert_eq!(e.message, "provider answered HTTP 503");
    }

    // --- streaming -------------------------------------------------------------------------

    const TOOL_STREAM: &[(&str, &str)] = &[
        (
            "message_start",
            r#"{"type":"message_start","message":{"id":"msg_014p7gG3wDgGV9EUtLvnow3U","type":"message","role":"assistant","model":"claude-sonnet-4-20250514","stop_sequence":null,"usage":{"input_tokens":472,"output_tokens":2},"content":[],"stop_reason":null}}"#,
        ),
        (
            "content_block_start",
            r#"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#,
        ),
        ("ping", r#"{"type": "ping"}"#),
        (
            "content_block_delta",
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Okay"}}"#,
        ),
        (
            "content_block_delta",
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":", let's check the weather for San Francisco, CA:"}}"#,
        ),
        (
            "content_block_stop",
            r#"{"type":"content_block_stop","index":0}"#,
        ),
        (
            "content_block_start",
            r#"{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_01T1x1fJ34qAmk2tNTrN7Up6","name":"get_weather","input":{}}}"#,
        ),
        (
            "content_block_delta",
            r#"{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":""}}"#,
        ),
        (
            "content_block_delta",
            r#"{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"location\":"}}"#,
        ),
        (
            "content_block_delta",
            r#"{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":" \"San Francisco, CA\", \"unit\": \"fahrenheit\"}"}}"#,
        ),
        (
            "content_block_stop",
            r#"{"type":"content_block_stop","index":1}"#,
        ),
        (
            "message_delta",
            r#"{"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":89}}"#,
        ),
        ("message_stop", r#"{"type":"message_stop"}"#),
    ];

    #[tokio::test]
    async fn stream_with_text_and_tool_use_translates_event_by_event() {
        let chunks: Vec<ChatChunk> = run_stream(&sse_body(TOOL_STREAM))
            .await
            .into_iter()
            .collect::<Result<_>>()
            .unwrap();
        assert_eq!(chunks.len(), 8, "{chunks:#?}");
        for c in &chunks {
            assert_eq!(c.id, "msg_014p7gG3wDgGV9EUtLvnow3U");
            assert_eq!(c.model, "claude-sonnet-4-20250514");
            assert_eq!(c.object, "chat.completion.chunk");
            assert_eq!(c.created, chunks[0].created);
        }
        let delta = |i: usize| &chunks[i].choices[0].delta;
        assert_eq!(delta(0).role.as_deref(), Some("assistant"));
        assert_eq!(delta(1).content.as_deref(), Some("Okay"));
        assert_eq!(
            delta(2).content.as_deref(),
            Some(", let's check the weather for San Francisco, CA:")
        );
        assert_eq!(
            delta(3).tool_calls,
            Some(vec![ChunkToolCall {
                index: 0,
                id: Some("toolu_01T1x1fJ34qAmk2tNTrN7Up6".into()),
                kind: Some("function".into()),
                function: Some(ChunkFunctionCall {
                    name: Some("get_weather".into()),
                    arguments: Some(String::new())
                }),
            }])
        );
        let args: String = [4, 5]
            .iter()
            .map(|&i| {
                let call = &delta(i).tool_calls.as_ref().unwrap()[0];
                assert_eq!((call.index, call.id.as_ref()), (0, None));
                call.function.as_ref().unwrap().arguments.clone().unwrap()
            })
            .collect();
        assert_eq!(
            serde_json::from_str::<Value>(&args).unwrap(),
            json!({"location": "San Francisco, CA", "unit": "fahrenheit"})
        );
        assert_eq!(
            chunks[6].choices[0].finish_reason.as_deref(),
            Some("tool_calls")
        );
        assert!(chunks[7].choices.is_empty());
        let usage = chunks[7].usage.as_ref().unwrap();
        assert_eq!(
            (
                usage.prompt_tokens,
                usage.completion_tokens,
                usage.total_tokens
            ),
            (472, 89, 561)
        );
        assert!(chunks[..7].iter().all(|c| c.usage.is_none()));
    }

    #[tokio::test]
    async fn stream_thinking_and_tool_indexes_count_only_tool_use_blocks() {
        let body = sse_body(&[
            (
                "message_start",
                r#"{"type":"message_start","message":{"id":"msg_t","type":"message","role":"assistant","model":"claude-opus-4-20250514","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":20,"cache_read_input_tokens":1000,"cache_creation_input_tokens":0,"output_tokens":1}}}"#,
            ),
            (
                "content_block_start",
                r#"{"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":"","signature":""}}"#,
            ),
            (
                "content_block_delta",
                r#"{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"Two cities, two calls."}}"#,
            ),
            (
                "content_block_delta",
                r#"{"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"EqQBCgIYAhIM"}}"#,
            ),
            (
                "content_block_stop",
                r#"{"type":"content_block_stop","index":0}"#,
            ),
            (
                "content_block_start",
                r#"{"type":"content_block_start","index":1,"content_block":{"type":"server_tool_use","id":"srvtoolu_1","name":"web_search","input":{}}}"#,
            ),
            (
                "content_block_delta",
                r#"{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"query\":\"x\"}"}}"#,
            ),
            (
                "content_block_stop",
                r#"{"type":"content_block_stop","index":1}"#,
            ),
            (
                "some_future_event",
                r#"{"type":"some_future_event","payload":{"a":1}}"#,
            ),
            (
                "content_block_start",
                r#"{"type":"content_block_start","index":2,"content_block":{"type":"tool_use","id":"toolu_a","name":"get_weather","input":{}}}"#,
            ),
            (
                "content_block_delta",
                r#"{"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":"{\"city\":\"Paris\"}"}}"#,
            ),
            (
                "content_block_stop",
                r#"{"type":"content_block_stop","index":2}"#,
            ),
            (
                "content_block_start",
                r#"{"type":"content_block_start","index":3,"content_block":{"type":"tool_use","id":"toolu_b","name":"get_weather","input":{}}}"#,
            ),
            (
                "content_block_delta",
                r#"{"type":"content_block_delta","index":3,"delta":{"type":"input_json_delta","partial_json":"{\"city\":\"Rome\"}"}}"#,
            ),
            (
                "content_block_stop",
                r#"{"type":"content_block_stop","index":3}"#,
            ),
            (
                "message_delta",
                r#"{"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":120}}"#,
            ),
            ("message_stop", r#"{"type":"message_stop"}"#),
        ]);
        let chunks: Vec<ChatChunk> = run_stream(&body)
            .await
            .into_iter()
            .collect::<Result<_>>()
            .unwrap();
        let reasoning: Vec<_> = chunks
            .iter()
            .filter_map(|c| c.choices.first()?.delta.reasoning_content.clone())
            .collect();
        assert_eq!(reasoning, vec!["Two cities, two calls."]);
        let calls: Vec<ChunkToolCall> = chunks
            .iter()
            .filter_map(|c| c.choices.first()?.delta.tool_calls.clone())
            .flatten()
            .collect();
        // The server tool's input is not a client tool call; the two tool_use blocks (Anthropic
        // indexes 2 and 3) are OpenAI calls 0 and 1.
        assert_eq!(calls.len(), 4, "{calls:#?}");
        assert_eq!(
            (calls[0].index, calls[0].id.as_deref()),
            (0, Some("toolu_a"))
        );
        assert_eq!(calls[1].index, 0);
        assert_eq!(
            calls[1].function.as_ref().unwrap().arguments.as_deref(),
            Some(r#"{"city":"Paris"}"#)
        );
        assert_eq!(
            (calls[2].index, calls[2].id.as_deref()),
            (1, Some("toolu_b"))
        );
        assert_eq!(calls[3].index, 1);
        let usage = chunks.last().unwrap().usage.clone().unwrap();
        assert_eq!((usage.prompt_tokens, usage.completion_tokens), (1020, 120));
        assert_eq!(
            usage.prompt_tokens_details,
            Some(json!({"cached_tokens": 1000}))
        );
    }

    #[tokio::test]
    async fn error_event_mid_stream_ends_the_stream_with_an_upstream_error() {
        let body = sse_body(&[
            TOOL_STREAM[0],
            TOOL_STREAM[1],
            TOOL_STREAM[3],
            (
                "error",
                r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#,
            ),
            TOOL_STREAM[4],
        ]);
        let items = run_stream(&body).await;
        assert_eq!(items.len(), 3, "{items:#?}");
        assert_eq!(
            items[1].as_ref().unwrap().choices[0]
                .delta
                .content
                .as_deref(),
            Some("Okay")
        );
        match &items[2] {
            Err(Error::Upstream(e)) => {
                assert_eq!(e.status, 529);
                assert_eq!(e.error_type.as_deref(), Some("overloaded_error"));
                assert_eq!(e.message, "Overloaded");
            }
            other => panic!("expected an upstream error, got {other:?}"),
        }

        let body = sse_body(&[
            TOOL_STREAM[0],
            (
                "error",
                r#"{"type":"error","error":{"type":"api_error","message":"Internal server error"}}"#,
            ),
        ]);
        match run_stream(&body).await.pop() {
            Some(Err(Error::Upstream(e))) => assert_eq!(
                (e.status, e.error_type.as_deref()),
                (500, Some("api_error"))
            ),
            other => panic!("expected an upstream error, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn truncated_stream_is_an_error_not_a_short_answer() {
        let items = run_stream(&sse_body(&TOOL_STREAM[..5])).await;
        assert!(items[..items.len() - 1].iter().all(Result::is_ok));
        assert!(
            matches!(items.last(), Some(Err(Error::BadUpstreamResponse { .. }))),
            "{items:#?}"
        );
        // A malformed event is an error too.
        let items = run_stream("event: message_start\ndata: {not json\n\n").await;
        assert!(
            matches!(items.as_slice(), [Err(Error::BadUpstreamResponse { .. })]),
            "{items:#?}"
        );
    }

    #[tokio::test]
    async fn stream_yields_chunks_before_the_upstream_finishes() {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<Result<SseEvent>>();
        let events =
            futures_util::stream::unfold(
                rx,
                |mut rx| async move { rx.recv().await.map(|e| (e, rx)) },
            );
        let mut stream = translate_events("anthropic", events);
        let event = |(name, data): (&str, &str)| {
            Ok(SseEvent {
                event: name.into(),
                data: data.into(),
            })
        };
        tx.send(event(TOOL_STREAM[0])).unwrap();
        let first = tokio::time::timeout(Duration::from_secs(2), stream.next())
            .await
            .expect("first chunk is not lazy");
        assert_eq!(
            first.unwrap().unwrap().choices[0].delta.role.as_deref(),
            Some("assistant")
        );
        tx.send(event(TOOL_STREAM[3])).unwrap();
        let second = tokio::time::timeout(Duration::from_secs(2), stream.next())
            .await
            .expect("second chunk is not lazy");
        assert_eq!(
            second.unwrap().unwrap().choices[0].delta.content.as_deref(),
            Some("Okay")
        );
    }

    // --- HTTP, against a local fake of the API ---------------------------------------------

    #[tokio::test]
    async fn chat_sends_anthropic_headers_url_and_body() {
        use axum::http::HeaderMap;
        use axum::routing::post;
        let seen: Arc<Mutex<Option<(HeaderMap, Value)>>> = Arc::default();
        let seen2 = seen.clone();
        let router = axum::Router::new().route(
            "/v1/messages",
            post(move |headers: HeaderMap, axum::Json(body): axum::Json<Value>| async move {
                *seen2.lock().unwrap() = Some((headers, body));
                axum::Json(json!({"id": "msg_x", "type": "message", "role": "assistant",
                    "model": "claude-sonnet-4-20250514", "content": [{"type": "text", "text": "Hi!"}],
                    "stop_reason": "end_turn", "stop_sequence": null,
                    "usage": {"input_tokens": 9, "output_tokens": 3}}))
            }),
        );
        let base = serve(router).await;
        let key = secret();
        let c = call(&base, &key, false);
        let req = chat_req(
            json!({"model": "anthropic/claude-sonnet-4-20250514", "messages": [{"role": "user", "content": "Hello"}], "custom": 1}),
        );
        let resp = chat(&reqwest::Client::new(), &c, &req).await.unwrap();
        assert_eq!(
            resp.choices[0].message.content,
            Some(MessageContent::Text("Hi!".into()))
        );
        assert_eq!(resp.usage.unwrap().total_tokens, 12);
        let (headers, body) = seen.lock().unwrap().take().unwrap();
        assert_eq!(headers["x-api-key"], "sk-ant-test");
        assert_eq!(headers["anthropic-version"], API_VERSION);
        assert!(headers.get("authorization").is_none());
        assert_eq!(body["model"], "claude-sonnet-4-20250514");
        assert_eq!(body["max_tokens"], DEFAULT_MAX_TOKENS);
        assert!(body.get("custom").is_none() && body.get("stream").is_none());
    }

    #[tokio::test]
    async fn chat_stream_and_errors_over_http() {
        use axum::routing::post;
        let router = axum::Router::new().route(
            "/v1/messages",
            post(|axum::Json(body): axum::Json<Value>| async move {
                if body["messages"][0]["content"] == "fail" {
                    return (
                        axum::http::StatusCode::TOO_MANY_REQUESTS,
                        [("content-type", "application/json")],
                        r#"{"type":"error","error":{"type":"rate_limit_error","message":"Number of request tokens has exceeded your per-minute rate limit"}}"#.to_owned(),
                    );
                }
                assert_eq!(body["stream"], true);
                (axum::http::StatusCode::OK, [("content-type", "text/event-stream")], sse_body(TOOL_STREAM))
            }),
        );
        let base = serve(router).await;
        let key = secret();
        let c = call(&base, &key, false);
        let http = reqwest::Client::new();
        let req =
            chat_req(json!({"model": "m", "messages": [{"role": "user", "content": "weather?"}]}));
        let chunks: Vec<ChatChunk> = chat_stream(&http, &c, &req)
            .await
            .unwrap()
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect::<Result<_>>()
            .unwrap();
        assert_eq!(chunks.len(), 8);
        assert_eq!(
            chunks[6].choices[0].finish_reason.as_deref(),
            Some("tool_calls")
        );

        let req =
            chat_req(json!({"model": "m", "messages": [{"role": "user", "content": "fail"}]}));
        match chat_stream(&http, &c, &req).await {
            Err(Error::Upstream(e)) => {
                assert_eq!(e.status, 429);
                assert_eq!(e.error_type.as_deref(), Some("rate_limit_error"));
                assert!(e.message.contains("rate limit"));
            }
            Ok(_) => panic!("expected an error"),
            Err(other) => panic!("expected an upstream error, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn list_models_follows_pages_and_converts_dates() {
        use axum::extract::Query;
        use axum::routing::get;
        use std::collections::HashMap;
        let router = axum::Router::new().route(
            "/v1/models",
            get(|Query(q): Query<HashMap<String, String>>| async move {
                assert_eq!(q.get("limit").map(String::as_str), Some("1000"));
                axum::Json(match q.get("after_id").map(String::as_str) {
                    None => json!({"data": [{"type": "model", "id": "claude-sonnet-4-20250514", "display_name": "Claude Sonnet 4", "created_at": "2025-05-22T00:00:00Z"}],
                                   "has_more": true, "first_id": "claude-sonnet-4-20250514", "last_id": "claude-sonnet-4-20250514"}),
                    Some("claude-sonnet-4-20250514") => json!({"data": [{"type": "model", "id": "claude-3-haiku-20240307", "display_name": "Claude Haiku 3", "created_at": "2024-03-07T12:30:00.5+01:00"}],
                                   "has_more": false, "first_id": "claude-3-haiku-20240307", "last_id": "claude-3-haiku-20240307"}),
                    Some(other) => json!({"unexpected": other}),
                })
            }),
        );
        let base = serve(router).await;
        let key = secret();
        let models = list_models(&reqwest::Client::new(), &call(&base, &key, false))
            .await
            .unwrap();
        let ids: Vec<_> = models.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(ids, ["claude-sonnet-4-20250514", "claude-3-haiku-20240307"]);
        assert_eq!(models[0].created, 1_747_872_000);
        assert_eq!(models[1].created, 1_709_811_000);
        assert!(models
            .iter()
            .all(|m| m.owned_by == "anthropic" && m.object == "model"));
    }

    #[test]
    fn rfc3339_timestamps_parse_to_unix_seconds() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_rfc3339("2000-02-29T12:00:00Z"), Some(951_825_600));
        assert_eq!(
            parse_rfc3339("2025-02-19T00:00:00.123456Z"),
            Some(1_739_923_200)
        );
        assert_eq!(
            parse_rfc3339("2025-02-19T02:00:00+02:00"),
            Some(1_739_923_200)
        );
        assert_eq!(
            parse_rfc3339("2025-02-18T19:00:00-05:00"),
            Some(1_739_923_200)
        );
        for bad in [
            "",
            "2025-02-19",
            "2025-13-01T00:00:00Z",
            "2025-02-19T00:00:00",
            "1969-12-31T23:59:59Z",
            "2025-02-19T00:00:00.Z",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }
}
