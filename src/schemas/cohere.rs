//! Cohere's v2 API wire types: `/v2/chat` (JSON and its SSE events), `/v2/embed`,
//! `/v2/rerank`, `/v1/models` and its error body.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `POST /v2/chat` body.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ChatRequest {
    /// Model name.
    pub model: String,
    /// The conversation, system messages included.
    pub messages: Vec<Message>,
    /// Tools the model may call.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tools: Option<Vec<Tool>>,
    /// `REQUIRED` or `NONE` (absent: the model decides).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<&'static str>,
    /// Only tools that follow their schema exactly.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub strict_tools: Option<bool>,
    /// `{"type":"json_object","json_schema":{...}}` or `{"type":"text"}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_format: Option<Value>,
    /// Stream the answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream: Option<bool>,
    /// Output-token limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    /// Sampling temperature.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// Nucleus sampling.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p: Option<f64>,
    /// Top-k sampling.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub k: Option<u32>,
    /// Stop sequences.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_sequences: Option<Vec<String>>,
    /// Deterministic sampling seed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<i64>,
    /// Frequency penalty.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frequency_penalty: Option<f64>,
    /// Presence penalty.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub presence_penalty: Option<f64>,
    /// Return log probabilities.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logprobs: Option<bool>,
}

/// One message.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// `system`, `user`, `assistant` or `tool`.
    pub role: String,
    /// Text, or content blocks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<Content>,
    /// Tool calls of an assistant message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_calls: Option<Vec<ToolCall>>,
    /// The call a `tool` message answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
    /// The model's plan before its tool calls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_plan: Option<String>,
    /// Citations of an answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub citations: Option<Value>,
}

/// Message content: a string or blocks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Content {
    /// Plain text.
    Text(String),
    /// `text`, `image_url`, `thinking` and (tool results) `document` blocks.
    Blocks(Vec<Block>),
}

/// A content block.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Block {
    /// `text`, `image_url`, `thinking` or `document`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Text of a `text` block.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Image of an `image_url` block.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_url: Option<ImageUrl>,
    /// Reasoning of a `thinking` block.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thinking: Option<String>,
    /// A tool result as a document.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document: Option<Value>,
}

/// `image_url` of a block: an https or `data:` URL.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ImageUrl {
    /// The URL.
    pub url: String,
    /// `auto`, `low` or `high`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// A tool definition (OpenAI's shape).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Tool {
    /// Always `function`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The function.
    pub function: Function,
}

/// A function the model may call.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Function {
    /// Name.
    pub name: String,
    /// What it does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// JSON schema of the arguments.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parameters: Option<Value>,
}

/// A tool call.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    /// Call id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Always `function`.
    #[serde(rename = "type", default)]
    pub kind: String,
    /// Name and JSON-encoded arguments.
    #[serde(default)]
    pub function: FunctionCall,
}

/// Name and arguments of a call.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FunctionCall {
    /// Function name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Arguments as a JSON string (a piece of it in stream deltas).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arguments: Option<String>,
}

/// `POST /v2/chat` answer.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ChatResponse {
    /// Id.
    #[serde(default)]
    pub id: String,
    /// `COMPLETE`, `STOP_SEQUENCE`, `MAX_TOKENS`, `TOOL_CALL`, `ERROR`, `TIMEOUT`.
    #[serde(default)]
    pub finish_reason: Option<String>,
    /// The assistant message.
    #[serde(default)]
    pub message: Option<Message>,
    /// Usage.
    #[serde(default)]
    pub usage: Option<Usage>,
    /// Log probabilities, when asked for.
    #[serde(default)]
    pub logprobs: Option<Value>,
}

/// Usage: what was billed and what was used.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Usage {
    /// Billed units.
    #[serde(default)]
    pub billed_units: Option<Units>,
    /// Tokens used (including the prompt template).
    #[serde(default)]
    pub tokens: Option<Units>,
    /// Prompt tokens served from cache.
    #[serde(default)]
    pub cached_tokens: Option<u64>,
}

/// Counts of `billed_units` or `tokens`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Units {
    /// Input tokens.
    #[serde(default)]
    pub input_tokens: Option<f64>,
    /// Output tokens.
    #[serde(default)]
    pub output_tokens: Option<f64>,
    /// Rerank search units.
    #[serde(default)]
    pub search_units: Option<f64>,
}

/// One SSE event of a chat stream (its `type` repeats the SSE event name).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct StreamEvent {
    /// `message-start`, `content-start`, `content-delta`, `content-end`, `tool-plan-delta`,
    /// `tool-call-start`, `tool-call-delta`, `tool-call-end`, `citation-start`, `citation-end`,
    /// `message-end`, `debug`.
    #[serde(rename = "type", default)]
    pub kind: String,
    /// The message id (`message-start`).
    #[serde(default)]
    pub id: Option<String>,
    /// The content block or tool call the event is about.
    #[serde(default)]
    pub index: Option<u32>,
    /// What the event carries.
    #[serde(default)]
    pub delta: Option<StreamDelta>,
}

/// `delta` of a stream event.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct StreamDelta {
    /// Message pieces.
    #[serde(default)]
    pub message: Option<StreamMessage>,
    /// `message-end`: why generation stopped.
    #[serde(default)]
    pub finish_reason: Option<String>,
    /// `message-end`: usage.
    #[serde(default)]
    pub usage: Option<Usage>,
    /// `message-end` after a failure: what went wrong.
    #[serde(default)]
    pub error: Option<String>,
}

/// `delta.message` of a stream event.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct StreamMessage {
    /// `content-start`/`content-delta`: a block (an array on `message-start`, ignored).
    #[serde(default)]
    pub content: Option<Value>,
    /// `tool-plan-delta`: a piece of the plan.
    #[serde(default)]
    pub tool_plan: Option<String>,
    /// `tool-call-start`/`tool-call-delta`: the call or a piece of its arguments.
    #[serde(default)]
    pub tool_calls: Option<Value>,
}

/// `POST /v2/embed` body.
#[derive(Debug, Clone, Serialize)]
pub struct EmbedRequest<'a> {
    /// Model.
    pub model: &'a str,
    /// Texts to embed.
    pub texts: Vec<String>,
    /// `search_document`, `search_query`, `classification` or `clustering`.
    pub input_type: String,
    /// `float` (the OpenAI shape), or others on request.
    pub embedding_types: Vec<String>,
    /// Dimensions of the output (v4 models).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_dimension: Option<u32>,
    /// `NONE`, `START` or `END`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub truncate: Option<String>,
}

/// `POST /v2/embed` answer.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct EmbedResponse {
    /// Id.
    #[serde(default)]
    pub id: String,
    /// Embeddings by type (`float`, `int8`, `base64`, ...), one list per type.
    #[serde(default)]
    pub embeddings: serde_json::Map<String, Value>,
    /// Billing metadata.
    #[serde(default)]
    pub meta: Option<Meta>,
}

/// `meta` of embed and rerank answers.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Meta {
    /// Billed units.
    #[serde(default)]
    pub billed_units: Option<Units>,
    /// Tokens used.
    #[serde(default)]
    pub tokens: Option<Units>,
}

/// `POST /v2/rerank` body.
#[derive(Debug, Clone, Serialize)]
pub struct RerankRequest<'a> {
    /// Model.
    pub model: &'a str,
    /// The query.
    pub query: &'a str,
    /// The documents, as text.
    pub documents: Vec<&'a str>,
    /// How many results to return.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_n: Option<u32>,
    /// Longer documents are truncated to this many tokens.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_tokens_per_doc: Option<u32>,
    /// Request priority.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority: Option<i64>,
}

/// `POST /v2/rerank` answer.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RerankResponse {
    /// Id.
    #[serde(default)]
    pub id: String,
    /// Results, most relevant first.
    #[serde(default)]
    pub results: Vec<RerankResult>,
    /// Billing metadata.
    #[serde(default)]
    pub meta: Option<Meta>,
}

/// One rerank result.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RerankResult {
    /// Index of the document in the request.
    pub index: usize,
    /// Relevance, 0 to 1.
    pub relevance_score: f64,
}

/// `GET /v1/models` answer.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ModelList {
    /// The models.
    #[serde(default)]
    pub models: Vec<ModelInfo>,
    /// The next page, if any.
    #[serde(default)]
    pub next_page_token: Option<String>,
}

/// One model.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ModelInfo {
    /// Model name.
    pub name: String,
}

/// Cohere's error body: `{"id": ..., "message": "..."}` (some gateways add `type` or `code`).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ErrorBody {
    /// What went wrong.
    #[serde(default)]
    pub message: String,
    /// Error type, when given.
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    /// Error code, when given.
    #[serde(default)]
    pub code: Option<String>,
}
