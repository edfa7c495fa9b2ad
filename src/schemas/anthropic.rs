//! Anthropic Messages API wire types (`POST /v1/messages`, its stream events, errors, models).
//!
//! Only shapes, no logic: `providers::anthropic` translates between these and the canonical
//! OpenAI-shaped types. Enums that Anthropic grows over time (content blocks, deltas, stream
//! events) carry an `Unknown` variant so that a new kind is skipped rather than failing a whole
//! response or stream.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::openai::JsonObject;

/// `POST /v1/messages` body.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct MessagesRequest {
    /// The model to use.
    pub model: String,
    /// The conversation; roles must alternate between `user` and `assistant`.
    pub messages: Vec<Message>,
    /// Output-token limit; required by Anthropic.
    pub max_tokens: u32,
    /// The system prompt: a string or text blocks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<SystemPrompt>,
    /// Sampling temperature (0 to 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// Nucleus sampling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    /// Top-k sampling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_k: Option<u32>,
    /// Custom stop sequences.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_sequences: Option<Vec<String>>,
    /// Stream the answer as server-sent events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<bool>,
    /// Tools the model may use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools: Option<Vec<ToolDefinition>>,
    /// How the model should use the tools.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<ToolChoice>,
    /// Request metadata (`user_id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Metadata>,
    /// Extended thinking.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thinking: Option<ThinkingConfig>,
    /// Fields not modelled here (`service_tier`, `container`, ...), kept for passthrough.
    #[serde(flatten)]
    pub extra: JsonObject,
}

/// The top-level system prompt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum SystemPrompt {
    /// Plain text.
    Text(String),
    /// Text blocks (which may carry `cache_control`).
    Blocks(Vec<ContentBlock>),
}

/// One message of the conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// `user` or `assistant`.
    pub role: String,
    /// A string or content blocks.
    pub content: MessageContent,
}

/// Message content: a plain string or typed blocks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum MessageContent {
    /// Plain text, shorthand for one text block.
    Text(String),
    /// Typed blocks.
    Blocks(Vec<ContentBlock>),
}

/// A content block, in a request or in a response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ContentBlock {
    /// Text.
    Text {
        /// The text.
        text: String,
        /// Citations attached to the text (responses).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        citations: Option<Value>,
        /// Prompt-caching breakpoint.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cache_control: Option<Value>,
    },
    /// An image (requests).
    Image {
        /// Where the image comes from.
        source: Source,
        /// Prompt-caching breakpoint.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cache_control: Option<Value>,
    },
    /// A document such as a PDF (requests).
    Document {
        /// Where the document comes from.
        source: Source,
        /// Prompt-caching breakpoint.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cache_control: Option<Value>,
    },
    /// A call of a client tool by the model.
    ToolUse {
        /// Call id, echoed by the `tool_result` that answers it.
        id: String,
        /// Tool name.
        name: String,
        /// The arguments, a JSON object.
        input: Value,
    },
    /// The result of a tool call (requests, in a `user` message).
    ToolResult {
        /// The `tool_use` block this answers.
        tool_use_id: String,
        /// Text or blocks.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        content: Option<ToolResultContent>,
        /// Whether the tool failed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        is_error: Option<bool>,
        /// Prompt-caching breakpoint.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cache_control: Option<Value>,
    },
    /// Extended-thinking text.
    Thinking {
        /// The reasoning.
        thinking: String,
        /// Signature that lets the block be sent back in a later turn.
        #[serde(default)]
        signature: String,
    },
    /// Thinking the safety systems encrypted.
    RedactedThinking {
        /// Opaque data.
        data: String,
    },
    /// A block type this crate does not know (server tools, web search results, ...). Only
    /// produced when reading; it would serialize as `{"type":"unknown"}`, so it is never sent.
    #[serde(other)]
    Unknown,
}

/// The source of an image or a document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Source {
    /// Inline base64 data.
    Base64 {
        /// `image/png`, `application/pdf`, ...
        media_type: String,
        /// The base64 payload.
        data: String,
    },
    /// A URL Anthropic fetches.
    Url {
        /// The URL.
        url: String,
    },
    /// Plain text (documents).
    Text {
        /// `text/plain`.
        media_type: String,
        /// The text.
        data: String,
    },
    /// A file uploaded through the Files API.
    File {
        /// The file id.
        file_id: String,
    },
}

/// The content of a `tool_result` block.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ToolResultContent {
    /// Plain text.
    Text(String),
    /// Text and image blocks.
    Blocks(Vec<ContentBlock>),
}

/// A tool definition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolDefinition {
    /// Server tools (`web_search_20250305`, ...) have a type; client tools do not.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Tool name.
    pub name: String,
    /// What the tool does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// JSON schema of the input; required for client tools.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_schema: Option<Value>,
    /// Prompt-caching breakpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_control: Option<Value>,
    /// Server-tool settings (`max_uses`, ...).
    #[serde(flatten)]
    pub extra: JsonObject,
}

/// How the model should use tools.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ToolChoice {
    /// The model decides.
    Auto {
        /// At most one tool call per turn.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        disable_parallel_tool_use: Option<bool>,
    },
    /// The model must use some tool.
    Any {
        /// At most one tool call per turn.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        disable_parallel_tool_use: Option<bool>,
    },
    /// The model must use the named tool.
    Tool {
        /// The tool.
        name: String,
        /// At most one tool call per turn.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        disable_parallel_tool_use: Option<bool>,
    },
    /// The model must not use tools.
    None,
}

/// Request metadata.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Metadata {
    /// An opaque id of the end user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
}

/// Extended-thinking configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ThinkingConfig {
    /// Think with up to `budget_tokens` tokens (at least 1024, less than `max_tokens`).
    Enabled {
        /// Thinking budget.
        budget_tokens: u32,
    },
    /// No thinking.
    Disabled,
}

/// A `message` response, also the `message` of the `message_start` stream event.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct MessagesResponse {
    /// `msg_...`.
    #[serde(default)]
    pub id: String,
    /// `message`.
    #[serde(rename = "type", default)]
    pub kind: String,
    /// `assistant`.
    #[serde(default)]
    pub role: String,
    /// The answer's blocks.
    #[serde(default)]
    pub content: Vec<ContentBlock>,
    /// The model that answered.
    #[serde(default)]
    pub model: String,
    /// `end_turn`, `max_tokens`, `stop_sequence`, `tool_use`, `pause_turn`, `refusal`.
    #[serde(default)]
    pub stop_reason: Option<String>,
    /// The stop sequence that matched, if any.
    #[serde(default)]
    pub stop_sequence: Option<String>,
    /// Token usage.
    #[serde(default)]
    pub usage: Usage,
}

/// Token usage of a response.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Usage {
    /// Input tokens not read from or written to the cache.
    #[serde(default)]
    pub input_tokens: u64,
    /// Output tokens.
    #[serde(default)]
    pub output_tokens: u64,
    /// Input tokens written to the cache.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_creation_input_tokens: Option<u64>,
    /// Input tokens read from the cache.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_read_input_tokens: Option<u64>,
}

/// One event of a streamed response, tagged by its `type`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum StreamEvent {
    /// The message begins: id, model, input usage.
    MessageStart {
        /// The message so far (empty content).
        message: MessagesResponse,
    },
    /// A content block begins.
    ContentBlockStart {
        /// The block's position in the message.
        index: u32,
        /// The block, with empty text/input.
        content_block: ContentBlock,
    },
    /// A content block grows.
    ContentBlockDelta {
        /// The block's position in the message.
        index: u32,
        /// What it adds.
        delta: BlockDelta,
    },
    /// A content block is complete.
    ContentBlockStop {
        /// The block's position in the message.
        index: u32,
    },
    /// Top-level changes: stop reason and cumulative output usage.
    MessageDelta {
        /// Stop reason and sequence.
        delta: MessageDeltaBody,
        /// Cumulative usage.
        #[serde(default)]
        usage: Option<DeltaUsage>,
    },
    /// The message is complete.
    MessageStop,
    /// Keep-alive.
    Ping,
    /// The stream failed (`overloaded_error`, ...).
    Error {
        /// What went wrong.
        error: ErrorDetail,
    },
    /// An event type this crate does not know; skipped.
    #[serde(other)]
    Unknown,
}

/// The `delta` of a `content_block_delta` event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum BlockDelta {
    /// Text of a text block.
    TextDelta {
        /// The text added.
        text: String,
    },
    /// A fragment of a tool_use block's JSON input.
    InputJsonDelta {
        /// The fragment; fragments concatenate to the input.
        partial_json: String,
    },
    /// Text of a thinking block.
    ThinkingDelta {
        /// The reasoning added.
        thinking: String,
    },
    /// The signature of a thinking block.
    SignatureDelta {
        /// The signature.
        signature: String,
    },
    /// A delta type this crate does not know (`citations_delta`, ...); skipped.
    #[serde(other)]
    Unknown,
}

/// The `delta` of a `message_delta` event.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MessageDeltaBody {
    /// Why the message stopped.
    #[serde(default)]
    pub stop_reason: Option<String>,
    /// The stop sequence that matched, if any.
    #[serde(default)]
    pub stop_sequence: Option<String>,
}

/// Usage in a `message_delta` event; every field may be absent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DeltaUsage {
    /// Cumulative input tokens (newer API versions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_tokens: Option<u64>,
    /// Cumulative output tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_tokens: Option<u64>,
    /// Input tokens written to the cache.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_creation_input_tokens: Option<u64>,
    /// Input tokens read from the cache.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_read_input_tokens: Option<u64>,
}

/// Anthropic's error body: `{"type":"error","error":{"type":..,"message":..}}`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ErrorResponse {
    /// `error`.
    #[serde(rename = "type", default)]
    pub kind: String,
    /// The error.
    pub error: ErrorDetail,
}

/// The inner error object.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ErrorDetail {
    /// `invalid_request_error`, `authentication_error`, `rate_limit_error`,
    /// `overloaded_error`, ...
    #[serde(rename = "type", default)]
    pub kind: String,
    /// Human-readable message.
    #[serde(default)]
    pub message: String,
}

/// `GET /v1/models` response page.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ModelList {
    /// The models of this page.
    #[serde(default)]
    pub data: Vec<ModelInfo>,
    /// Whether another page follows.
    #[serde(default)]
    pub has_more: bool,
    /// First id of the page.
    #[serde(default)]
    pub first_id: Option<String>,
    /// Last id of the page; the `after_id` of the next request.
    #[serde(default)]
    pub last_id: Option<String>,
}

/// One model of Anthropic's list.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ModelInfo {
    /// Model id (`claude-sonnet-4-20250514`).
    pub id: String,
    /// Human-readable name.
    #[serde(default)]
    pub display_name: String,
    /// RFC 3339 release time.
    #[serde(default)]
    pub created_at: String,
}
