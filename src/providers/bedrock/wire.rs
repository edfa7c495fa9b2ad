//! Bedrock's Converse API JSON, both directions. AWS unions (content blocks, tool choice) are
//! objects with exactly one member; they are structs of optional members here so that a member
//! added by AWS later is ignored instead of failing the whole answer.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::schemas::openai::JsonObject;

/// `POST /model/{modelId}/converse` (and `converse-stream`).
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConverseRequest {
    /// The conversation, alternating user and assistant turns.
    pub messages: Vec<Message>,
    /// System prompt blocks.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub system: Vec<SystemBlock>,
    /// Sampling and length settings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inference_config: Option<InferenceConfig>,
    /// Tools the model may call.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_config: Option<ToolConfig>,
    /// Model-specific fields passed through as they are.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub additional_model_request_fields: Option<JsonObject>,
}

/// One turn.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// `user` or `assistant`.
    pub role: String,
    /// Its blocks.
    #[serde(default)]
    pub content: Vec<ContentBlock>,
}

/// A content block: exactly one member is set.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContentBlock {
    /// Text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// An image, as bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<ImageBlock>,
    /// A tool call by the model.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_use: Option<ToolUse>,
    /// A tool's result, sent back by the client.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_result: Option<ToolResult>,
    /// The model's reasoning (`reasoningText{text,signature}` or `redactedContent`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reasoning_content: Option<Value>,
}

/// `image{format, source{bytes}}`; bytes are base64 in JSON.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ImageBlock {
    /// `png`, `jpeg`, `gif` or `webp`.
    pub format: String,
    /// The image data.
    pub source: ImageSource,
}

/// Where an image's bytes are.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ImageSource {
    /// Base64 of the image.
    pub bytes: String,
}

/// `toolUse{toolUseId, name, input}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolUse {
    /// The call's id.
    pub tool_use_id: String,
    /// The tool's name.
    pub name: String,
    /// The arguments, a JSON object.
    #[serde(default)]
    pub input: Value,
}

/// `toolResult{toolUseId, content[], status}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolResult {
    /// The call answered.
    pub tool_use_id: String,
    /// The result's blocks.
    pub content: Vec<ToolResultContent>,
    /// `success` or `error`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

/// A block of a tool result: exactly one member is set.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ToolResultContent {
    /// Text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// JSON.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub json: Option<Value>,
    /// An image.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<ImageBlock>,
}

/// A system prompt block.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SystemBlock {
    /// Its text.
    pub text: String,
}

/// `inferenceConfig`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InferenceConfig {
    /// Longest answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    /// Sampling temperature.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// Nucleus sampling.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    /// Sequences that end the answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_sequences: Option<Vec<String>>,
}

impl InferenceConfig {
    /// Whether nothing is set (the field is then left out).
    pub fn is_empty(&self) -> bool {
        *self == InferenceConfig::default()
    }
}

/// `toolConfig`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolConfig {
    /// The tools.
    pub tools: Vec<ToolEntry>,
    /// How the model must use them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<ToolChoice>,
}

/// `{toolSpec: {...}}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolEntry {
    /// The tool.
    pub tool_spec: ToolSpec,
}

/// `toolSpec{name, description, inputSchema{json}}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolSpec {
    /// Name.
    pub name: String,
    /// What it does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Its parameters.
    pub input_schema: InputSchema,
}

/// `inputSchema{json}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InputSchema {
    /// A JSON schema.
    pub json: Value,
}

/// `toolChoice`: `{"auto":{}}`, `{"any":{}}` or `{"tool":{"name":...}}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ToolChoice {
    /// The model decides.
    Auto(JsonObject),
    /// The model must call some tool.
    Any(JsonObject),
    /// The model must call this tool.
    Tool {
        /// The tool's name.
        name: String,
    },
}

/// The answer of `converse`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConverseResponse {
    /// The model's message.
    #[serde(default)]
    pub output: Output,
    /// Why the model stopped.
    #[serde(default)]
    pub stop_reason: String,
    /// Token counts.
    #[serde(default)]
    pub usage: TokenUsage,
}

/// `output{message}`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Output {
    /// The assistant's message.
    #[serde(default)]
    pub message: Option<Message>,
}

/// `usage`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TokenUsage {
    /// Input tokens not read from or written to the cache.
    pub input_tokens: u64,
    /// Output tokens.
    pub output_tokens: u64,
    /// Input tokens read from the prompt cache.
    pub cache_read_input_tokens: u64,
    /// Input tokens written to the prompt cache.
    pub cache_write_input_tokens: u64,
}

/// `contentBlockStart` payload.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct BlockStartEvent {
    /// What starts (only tool calls announce themselves).
    pub start: BlockStart,
    /// The block's index.
    pub content_block_index: u32,
}

/// `start{toolUse{toolUseId, name}}`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct BlockStart {
    /// A tool call.
    pub tool_use: Option<ToolUseStart>,
}

/// A tool call's id and name.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ToolUseStart {
    /// The call's id.
    pub tool_use_id: String,
    /// The tool's name.
    pub name: String,
}

/// `contentBlockDelta` payload.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct BlockDeltaEvent {
    /// The delta.
    pub delta: BlockDelta,
    /// The block's index.
    pub content_block_index: u32,
}

/// A delta: exactly one member is set.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct BlockDelta {
    /// Text.
    pub text: Option<String>,
    /// A piece of a tool call's JSON arguments.
    pub tool_use: Option<ToolUseDelta>,
    /// Reasoning text (`{text}` or `{signature}`).
    pub reasoning_content: Option<ReasoningDelta>,
}

/// `toolUse{input}`: a piece of JSON text.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ToolUseDelta {
    /// The piece.
    pub input: String,
}

/// `reasoningContent{text}`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ReasoningDelta {
    /// Reasoning text, when this delta carries some.
    pub text: Option<String>,
}

/// `messageStop` payload.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct MessageStopEvent {
    /// Why the model stopped.
    pub stop_reason: String,
}

/// `metadata` payload.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct MetadataEvent {
    /// Token counts of the whole answer.
    pub usage: TokenUsage,
}

/// An error body: `{"message": ...}` (`Message` in some services), sometimes with `__type`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ErrorBody {
    /// Human-readable message.
    #[serde(default, alias = "Message")]
    pub message: String,
    /// `com.amazon.coral...#ValidationException` or just the name.
    #[serde(default, rename = "__type")]
    pub kind: Option<String>,
}
