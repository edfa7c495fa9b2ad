//! OpenAI Responses API wire types (`POST /v1/responses`): the request with its input items,
//! the `response` object with its output items, and the typed stream events.
//!
//! Input items are one flat struct rather than a tagged enum: the "easy" message form has no
//! `type`, and the item kinds share most fields, so optional fields read every kind without a
//! `Value` detour.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::openai::JsonObject;

/// `POST /v1/responses` body.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ResponsesRequest {
    /// `provider/model`.
    #[serde(default)]
    pub model: String,
    /// A string (one user message) or a list of items.
    #[serde(default)]
    pub input: Option<Input>,
    /// The system prompt.
    #[serde(default)]
    pub instructions: Option<String>,
    /// Tools the model may call.
    #[serde(default)]
    pub tools: Option<Vec<ToolDefinition>>,
    /// `"auto"`, `"none"`, `"required"` or `{"type":"function","name":..}`.
    #[serde(default)]
    pub tool_choice: Option<Value>,
    /// Allow several tool calls in one turn.
    #[serde(default)]
    pub parallel_tool_calls: Option<bool>,
    /// Output-token limit (reasoning included).
    #[serde(default)]
    pub max_output_tokens: Option<u32>,
    /// Sampling temperature.
    #[serde(default)]
    pub temperature: Option<f64>,
    /// Nucleus sampling.
    #[serde(default)]
    pub top_p: Option<f64>,
    /// Stream the answer as typed events.
    #[serde(default)]
    pub stream: Option<bool>,
    /// Reasoning effort and summary settings.
    #[serde(default)]
    pub reasoning: Option<ReasoningConfig>,
    /// Output format (`text`, `json_object`, `json_schema`).
    #[serde(default)]
    pub text: Option<TextConfig>,
    /// Request metadata, echoed in the response.
    #[serde(default)]
    pub metadata: Option<Value>,
    /// Store the response upstream (not possible through chat; echoed as false).
    #[serde(default)]
    pub store: Option<bool>,
    /// Continue a stored response.
    #[serde(default)]
    pub previous_response_id: Option<String>,
    /// End-user id.
    #[serde(default)]
    pub user: Option<String>,
    /// Service tier.
    #[serde(default)]
    pub service_tier: Option<String>,
    /// Prompt cache key.
    #[serde(default)]
    pub prompt_cache_key: Option<String>,
    /// Safety identifier.
    #[serde(default)]
    pub safety_identifier: Option<String>,
    /// Bifrost: `provider/model` strings tried in order when the primary fails.
    #[serde(default)]
    pub fallbacks: Vec<String>,
    /// Fields not modelled here (`include`, `truncation`, ...).
    #[serde(flatten)]
    pub extra: JsonObject,
}

/// `input`: a string or items.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Input {
    /// One user message.
    Text(String),
    /// Messages, function calls, their outputs, reasoning.
    Items(Vec<InputItem>),
}

/// One input item: a message (with or without `type: "message"`), a `function_call`, a
/// `function_call_output` or a `reasoning` item.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct InputItem {
    /// `message`, `function_call`, `function_call_output`, `reasoning`; absent on easy messages.
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    /// `user`, `assistant`, `system`, `developer` (messages).
    #[serde(default)]
    pub role: Option<String>,
    /// Text or parts (messages).
    #[serde(default)]
    pub content: Option<ItemContent>,
    /// The call id (function calls and their outputs).
    #[serde(default)]
    pub call_id: Option<String>,
    /// Function name (function calls).
    #[serde(default)]
    pub name: Option<String>,
    /// JSON-encoded arguments (function calls).
    #[serde(default)]
    pub arguments: Option<String>,
    /// The tool's answer (function call outputs).
    #[serde(default)]
    pub output: Option<ItemContent>,
    /// Reasoning summary parts (reasoning items).
    #[serde(default)]
    pub summary: Option<Vec<InputPart>>,
    /// Anything else (`id`, `status`, `encrypted_content`, ...).
    #[serde(flatten)]
    pub extra: JsonObject,
}

/// Message content or a tool output: a string or parts.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum ItemContent {
    /// Plain text.
    Text(String),
    /// Typed parts.
    Parts(Vec<InputPart>),
}

/// One content part: `input_text`, `output_text`, `input_image`, `input_file`, `refusal`,
/// `summary_text`, `reasoning_text`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct InputPart {
    /// The part type.
    #[serde(rename = "type", default)]
    pub kind: String,
    /// Text of text parts.
    #[serde(default)]
    pub text: Option<String>,
    /// An https or `data:` URL (images).
    #[serde(default)]
    pub image_url: Option<String>,
    /// `auto`, `low`, `high` (images).
    #[serde(default)]
    pub detail: Option<String>,
    /// An uploaded file's id (images, files).
    #[serde(default)]
    pub file_id: Option<String>,
    /// A `data:` URL (files).
    #[serde(default)]
    pub file_data: Option<String>,
    /// File name (files).
    #[serde(default)]
    pub filename: Option<String>,
    /// Refusal text.
    #[serde(default)]
    pub refusal: Option<String>,
}

/// `reasoning`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReasoningConfig {
    /// `minimal`, `low`, `medium`, `high`.
    #[serde(default)]
    pub effort: Option<String>,
    /// `auto`, `concise`, `detailed`.
    #[serde(default)]
    pub summary: Option<String>,
}

/// `text`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TextConfig {
    /// The output format; plain text when absent.
    #[serde(default)]
    pub format: Option<TextFormat>,
    /// `low`, `medium`, `high`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verbosity: Option<String>,
}

/// `text.format`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TextFormat {
    /// `text`, `json_object` or `json_schema`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Schema name (`json_schema`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The JSON schema (`json_schema`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<Value>,
    /// Strict adherence (`json_schema`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strict: Option<bool>,
    /// What the format is for (`json_schema`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// A tool definition: `{"type":"function","name","description","parameters","strict"}` or a
/// built-in tool (`web_search`, `file_search`, ...).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolDefinition {
    /// `function` or a built-in tool type.
    #[serde(rename = "type")]
    pub kind: String,
    /// Function name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// What it does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// JSON schema of the arguments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<Value>,
    /// Strict schema adherence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strict: Option<bool>,
}

/// The `response` object, returned by `POST /v1/responses` and carried by stream events.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Response {
    /// `resp_...`.
    pub id: String,
    /// Always `response`.
    pub object: &'static str,
    /// Unix seconds.
    pub created_at: u64,
    /// `in_progress`, `completed`, `incomplete` or `failed`.
    pub status: &'static str,
    /// Set when the response failed.
    pub error: Option<Value>,
    /// Why the response is incomplete.
    pub incomplete_details: Option<IncompleteDetails>,
    /// The request's instructions, echoed.
    pub instructions: Option<String>,
    /// The request's limit, echoed.
    pub max_output_tokens: Option<u32>,
    /// The model that answered.
    pub model: String,
    /// The output items.
    pub output: Vec<OutputItem>,
    /// Echoed, `true` by default.
    pub parallel_tool_calls: bool,
    /// Always null: responses are not stored.
    pub previous_response_id: Option<String>,
    /// The request's reasoning settings, echoed.
    pub reasoning: Option<ReasoningConfig>,
    /// Always false: responses are not stored.
    pub store: bool,
    /// Echoed.
    pub temperature: Option<f64>,
    /// Echoed; plain text by default.
    pub text: TextConfig,
    /// Echoed; `auto` by default.
    pub tool_choice: Value,
    /// Echoed.
    pub tools: Vec<ToolDefinition>,
    /// Echoed.
    pub top_p: Option<f64>,
    /// Always `disabled`.
    pub truncation: &'static str,
    /// Token usage; absent until the response is complete.
    pub usage: Option<ResponseUsage>,
    /// Echoed.
    pub user: Option<String>,
    /// Echoed; `{}` by default.
    pub metadata: Value,
}

/// `incomplete_details`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IncompleteDetails {
    /// `max_output_tokens` or `content_filter`.
    pub reason: &'static str,
}

/// An output item.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum OutputItem {
    /// An assistant message.
    Message {
        /// `msg_...`.
        id: String,
        /// `in_progress` or `completed`.
        status: &'static str,
        /// Always `assistant`.
        role: &'static str,
        /// The message's parts.
        content: Vec<OutputContent>,
    },
    /// A function call.
    FunctionCall {
        /// `fc_...`.
        id: String,
        /// The id a `function_call_output` answers.
        call_id: String,
        /// Function name.
        name: String,
        /// JSON-encoded arguments.
        arguments: String,
        /// `in_progress` or `completed`.
        status: &'static str,
    },
    /// The model's reasoning.
    Reasoning {
        /// `rs_...`.
        id: String,
        /// Summary parts (none: chat models give raw reasoning, not summaries).
        summary: Vec<OutputContent>,
        /// The reasoning text.
        content: Vec<OutputContent>,
    },
}

/// A part of an output item.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum OutputContent {
    /// Answer text.
    OutputText {
        /// The text.
        text: String,
        /// Always empty.
        annotations: Vec<Value>,
        /// Always empty.
        logprobs: Vec<Value>,
    },
    /// A refusal.
    Refusal {
        /// The refusal text.
        refusal: String,
    },
    /// Reasoning text.
    ReasoningText {
        /// The text.
        text: String,
    },
}

/// `usage`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ResponseUsage {
    /// Input tokens.
    pub input_tokens: u64,
    /// Cached input tokens.
    pub input_tokens_details: InputTokensDetails,
    /// Output tokens (reasoning included).
    pub output_tokens: u64,
    /// Reasoning tokens.
    pub output_tokens_details: OutputTokensDetails,
    /// Sum.
    pub total_tokens: u64,
}

/// `usage.input_tokens_details`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct InputTokensDetails {
    /// Input tokens read from the cache.
    pub cached_tokens: u64,
}

/// `usage.output_tokens_details`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct OutputTokensDetails {
    /// Reasoning tokens.
    pub reasoning_tokens: u64,
}

/// One event of a streamed response; `sequence_number` counts from 0.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type")]
pub enum StreamEvent {
    /// The response exists (status `in_progress`).
    #[serde(rename = "response.created")]
    Created {
        /// The response so far.
        response: Box<Response>,
        /// Position in the stream.
        sequence_number: u64,
    },
    /// The model is working.
    #[serde(rename = "response.in_progress")]
    InProgress {
        /// The response so far.
        response: Box<Response>,
        /// Position in the stream.
        sequence_number: u64,
    },
    /// An output item begins.
    #[serde(rename = "response.output_item.added")]
    OutputItemAdded {
        /// Its position in `output`.
        output_index: usize,
        /// The item, empty.
        item: OutputItem,
        /// Position in the stream.
        sequence_number: u64,
    },
    /// An output item is complete.
    #[serde(rename = "response.output_item.done")]
    OutputItemDone {
        /// Its position in `output`.
        output_index: usize,
        /// The whole item.
        item: OutputItem,
        /// Position in the stream.
        sequence_number: u64,
    },
    /// A content part of a message begins.
    #[serde(rename = "response.content_part.added")]
    ContentPartAdded {
        /// The message's id.
        item_id: String,
        /// The message's position in `output`.
        output_index: usize,
        /// The part's position in the message.
        content_index: usize,
        /// The part, empty.
        part: OutputContent,
        /// Position in the stream.
        sequence_number: u64,
    },
    /// A content part is complete.
    #[serde(rename = "response.content_part.done")]
    ContentPartDone {
        /// The message's id.
        item_id: String,
        /// The message's position in `output`.
        output_index: usize,
        /// The part's position in the message.
        content_index: usize,
        /// The whole part.
        part: OutputContent,
        /// Position in the stream.
        sequence_number: u64,
    },
    /// Answer text grows.
    #[serde(rename = "response.output_text.delta")]
    OutputTextDelta {
        /// The message's id.
        item_id: String,
        /// The message's position in `output`.
        output_index: usize,
        /// The part's position in the message.
        content_index: usize,
        /// The text added.
        delta: String,
        /// Always empty.
        logprobs: Vec<Value>,
        /// Position in the stream.
        sequence_number: u64,
    },
    /// Answer text is complete.
    #[serde(rename = "response.output_text.done")]
    OutputTextDone {
        /// The message's id.
        item_id: String,
        /// The message's position in `output`.
        output_index: usize,
        /// The part's position in the message.
        content_index: usize,
        /// The whole text.
        text: String,
        /// Always empty.
        logprobs: Vec<Value>,
        /// Position in the stream.
        sequence_number: u64,
    },
    /// Reasoning text grows.
    #[serde(rename = "response.reasoning_text.delta")]
    ReasoningTextDelta {
        /// The reasoning item's id.
        item_id: String,
        /// The item's position in `output`.
        output_index: usize,
        /// The part's position in the item.
        content_index: usize,
        /// The text added.
        delta: String,
        /// Position in the stream.
        sequence_number: u64,
    },
    /// Reasoning text is complete.
    #[serde(rename = "response.reasoning_text.done")]
    ReasoningTextDone {
        /// The reasoning item's id.
        item_id: String,
        /// The item's position in `output`.
        output_index: usize,
        /// The part's position in the item.
        content_index: usize,
        /// The whole text.
        text: String,
        /// Position in the stream.
        sequence_number: u64,
    },
    /// A function call's arguments grow.
    #[serde(rename = "response.function_call_arguments.delta")]
    FunctionCallArgumentsDelta {
        /// The call item's id.
        item_id: String,
        /// The item's position in `output`.
        output_index: usize,
        /// The fragment added.
        delta: String,
        /// Position in the stream.
        sequence_number: u64,
    },
    /// A function call's arguments are complete.
    #[serde(rename = "response.function_call_arguments.done")]
    FunctionCallArgumentsDone {
        /// The call item's id.
        item_id: String,
        /// The item's position in `output`.
        output_index: usize,
        /// Function name.
        name: String,
        /// The whole arguments.
        arguments: String,
        /// Position in the stream.
        sequence_number: u64,
    },
    /// The response is complete.
    #[serde(rename = "response.completed")]
    Completed {
        /// The whole response with usage.
        response: Box<Response>,
        /// Position in the stream.
        sequence_number: u64,
    },
    /// The response stopped early (output limit, content filter).
    #[serde(rename = "response.incomplete")]
    Incomplete {
        /// The whole response with usage.
        response: Box<Response>,
        /// Position in the stream.
        sequence_number: u64,
    },
    /// The stream failed.
    #[serde(rename = "error")]
    Error {
        /// The error type or code.
        code: Option<String>,
        /// What went wrong.
        message: String,
        /// The offending parameter, if any.
        param: Option<String>,
        /// Position in the stream.
        sequence_number: u64,
    },
}

impl StreamEvent {
    /// The event's `type`, also its SSE `event:` name.
    pub fn name(&self) -> &'static str {
        match self {
            StreamEvent::Created { .. } => "response.created",
            StreamEvent::InProgress { .. } => "response.in_progress",
            StreamEvent::OutputItemAdded { .. } => "response.output_item.added",
            StreamEvent::OutputItemDone { .. } => "response.output_item.done",
            StreamEvent::ContentPartAdded { .. } => "response.content_part.added",
            StreamEvent::ContentPartDone { .. } => "response.content_part.done",
            StreamEvent::OutputTextDelta { .. } => "response.output_text.delta",
            StreamEvent::OutputTextDone { .. } => "response.output_text.done",
            StreamEvent::ReasoningTextDelta { .. } => "response.reasoning_text.delta",
            StreamEvent::ReasoningTextDone { .. } => "response.reasoning_text.done",
            StreamEvent::FunctionCallArgumentsDelta { .. } => {
                "response.function_call_arguments.delta"
            }
            StreamEvent::FunctionCallArgumentsDone { .. } => {
                "response.function_call_arguments.done"
            }
            StreamEvent::Completed { .. } => "response.completed",
            StreamEvent::Incomplete { .. } => "response.incomplete",
            StreamEvent::Error { .. } => "error",
        }
    }
}
