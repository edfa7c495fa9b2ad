//! OpenAI wire types, which are also the canonical types every other format converts to.
//!
//! Fields the gateway understands are typed; the rest of a request lands in `extra`, which is
//! forwarded only when the client asks for it (`x-bf-passthrough-extra-params: true`), as
//! Bifrost does. Response types keep unknown fields so that nothing a provider adds is lost.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::open::deserialize_keeping_extra;
use super::ExtraFields;

/// Any JSON object.
pub type JsonObject = Map<String, Value>;

/// `POST /v1/chat/completions` body.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ChatRequest {
    /// `provider/model` as the client sent it. Not serialized: the upstream model is set per call.
    #[serde(skip_serializing)]
    pub model: String,
    /// The conversation.
    pub messages: Vec<ChatMessage>,
    /// Bifrost: `provider/model` strings tried in order when the primary fails.
    #[serde(default, skip_serializing)]
    pub fallbacks: Vec<String>,
    /// Stream the answer as server-sent events. Set per upstream call, not serialized.
    #[serde(default, skip_serializing)]
    pub stream: Option<bool>,
    /// Stream options (`include_usage`). Set per upstream call, not serialized.
    #[serde(default, skip_serializing)]
    pub stream_options: Option<StreamOptions>,
    /// Sampling temperature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// Nucleus sampling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    /// Legacy output-token limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    /// Output-token limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_completion_tokens: Option<u32>,
    /// Stop sequence(s): a string or an array of strings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop: Option<Value>,
    /// Number of choices.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<u32>,
    /// Presence penalty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub presence_penalty: Option<f64>,
    /// Frequency penalty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frequency_penalty: Option<f64>,
    /// Token bias map.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logit_bias: Option<Value>,
    /// Return log probabilities.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logprobs: Option<bool>,
    /// How many top log probabilities.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_logprobs: Option<u32>,
    /// Deterministic sampling seed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<i64>,
    /// End-user id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// `{"type":"text"|"json_object"|"json_schema", ...}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_format: Option<Value>,
    /// Tools the model may call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools: Option<Vec<Tool>>,
    /// `"auto"`, `"none"`, `"required"` or `{"type":"function","function":{"name":..}}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<Value>,
    /// Allow several tool calls in one turn.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parallel_tool_calls: Option<bool>,
    /// `low`, `medium`, `high` for reasoning models.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning_effort: Option<String>,
    /// Request metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
    /// Store the completion upstream.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store: Option<bool>,
    /// Service tier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_tier: Option<String>,
    /// Output modalities.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modalities: Option<Value>,
    /// Audio output parameters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audio: Option<Value>,
    /// Predicted output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prediction: Option<Value>,
    /// Prompt cache key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_cache_key: Option<String>,
    /// Safety identifier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub safety_identifier: Option<String>,
    /// Verbosity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verbosity: Option<String>,
    /// Web search options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub web_search_options: Option<Value>,
    /// Fields the gateway does not know; forwarded only on request.
    #[serde(flatten, skip_serializing)]
    pub extra: JsonObject,
}

/// `stream_options`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct StreamOptions {
    /// Send a last chunk with usage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include_usage: Option<bool>,
    /// Anything else.
    #[serde(flatten)]
    pub extra: JsonObject,
}

/// One message of a conversation, in a request or a response.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ChatMessage {
    /// `system`, `developer`, `user`, `assistant` or `tool`.
    pub role: String,
    /// Text or content parts; absent on assistant messages that only call tools.
    #[serde(default)]
    pub content: Option<MessageContent>,
    /// Participant name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Tool calls made by the assistant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_calls: Option<Vec<ToolCall>>,
    /// The call a `tool` message answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
    /// Refusal text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refusal: Option<String>,
    /// Reasoning text some providers return (`reasoning_content`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning_content: Option<String>,
    /// Anything else (`audio`, `annotations`, ...).
    #[serde(flatten)]
    pub extra: JsonObject,
}

/// Message content: a plain string or a list of typed parts.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum MessageContent {
    /// Plain text.
    Text(String),
    /// Typed parts (text, image_url, input_audio, file, ...).
    Parts(Vec<ContentPart>),
}

impl MessageContent {
    /// The text of the content, parts joined; images and other parts are skipped.
    pub fn joined_text(&self) -> String {
        match self {
            MessageContent::Text(t) => t.clone(),
            MessageContent::Parts(parts) => parts
                .iter()
                .filter_map(|p| p.text.as_deref())
                .collect::<Vec<_>>()
                .join(""),
        }
    }
}

/// One content part.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ContentPart {
    /// `text`, `image_url`, `input_audio`, `file`, ...
    #[serde(rename = "type")]
    pub kind: String,
    /// The text of a `text` part.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// The image of an `image_url` part.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_url: Option<ImageUrl>,
    /// Anything else (`input_audio`, `file`, `cache_control`).
    #[serde(flatten)]
    pub extra: JsonObject,
}

impl ContentPart {
    /// The text a `text` or `refusal` part carries (an assistant's refusal is text it said);
    /// empty when there is none.
    pub fn text_or_refusal(&self) -> &str {
        self.text
            .as_deref()
            .or_else(|| self.extra.get("refusal").and_then(Value::as_str))
            .unwrap_or_default()
    }

    /// The image of an `image_url` part of message `i`; a part without one is a client error.
    pub fn required_image(&self, i: usize) -> crate::Result<&ImageUrl> {
        self.image_url.as_ref().ok_or_else(|| {
            crate::Error::BadRequest(format!(
                "messages[{i}]: an image_url part needs image_url.url"
            ))
        })
    }
}

/// `image_url` of a content part: an https URL or a `data:` URL.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ImageUrl {
    /// The URL.
    pub url: String,
    /// `auto`, `low` or `high`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// A tool definition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tool {
    /// Always `function` for chat.
    #[serde(rename = "type")]
    pub kind: String,
    /// The function.
    pub function: FunctionDefinition,
}

/// A function the model may call.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FunctionDefinition {
    /// Name.
    pub name: String,
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

/// A tool call made by the assistant.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    /// Call id, echoed by the `tool` message that answers it.
    pub id: String,
    /// Always `function`.
    #[serde(rename = "type", default = "function_kind")]
    pub kind: String,
    /// Name and JSON-encoded arguments.
    pub function: FunctionCall,
}

fn function_kind() -> String {
    "function".to_owned()
}

/// Name and arguments of a call.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FunctionCall {
    /// Function name.
    #[serde(default)]
    pub name: String,
    /// Arguments as a JSON string.
    #[serde(default)]
    pub arguments: String,
}

/// `chat.completion` response. Fields a provider adds beyond OpenAI's (Perplexity's
/// `citations`, Azure's `prompt_filter_results`, ...) are kept in `extra` and passed on.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ChatResponse {
    /// Completion id.
    #[serde(default)]
    pub id: String,
    /// `chat.completion` (also when the provider leaves it out; see the `Deserialize` below).
    pub object: String,
    /// Unix seconds.
    #[serde(default)]
    pub created: u64,
    /// The model that answered.
    #[serde(default)]
    pub model: String,
    /// The choices.
    #[serde(default)]
    pub choices: Vec<ChatChoice>,
    /// Token usage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    /// Backend fingerprint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_fingerprint: Option<String>,
    /// Service tier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_tier: Option<String>,
    /// Bifrost's metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra_fields: Option<ExtraFields>,
    /// Top-level fields not modelled above, as the provider sent them.
    #[serde(flatten)]
    pub extra: JsonObject,
}

fn chat_completion_object() -> String {
    "chat.completion".to_owned()
}

/// One choice of a chat response.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ChatChoice {
    /// Position.
    #[serde(default)]
    pub index: u32,
    /// The assistant message.
    pub message: ChatMessage,
    /// `stop`, `length`, `tool_calls`, `content_filter`.
    #[serde(default)]
    pub finish_reason: Option<String>,
    /// Log probabilities.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logprobs: Option<Value>,
    /// Fields not modelled above (Azure's `content_filter_results`, ...).
    #[serde(flatten)]
    pub extra: JsonObject,
}

/// Token usage.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Usage {
    /// Input tokens.
    #[serde(default)]
    pub prompt_tokens: u64,
    /// Output tokens.
    #[serde(default)]
    pub completion_tokens: u64,
    /// Sum.
    #[serde(default)]
    pub total_tokens: u64,
    /// `cached_tokens`, `audio_tokens`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_tokens_details: Option<TokenDetails>,
    /// `reasoning_tokens`, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completion_tokens_details: Option<TokenDetails>,
}

impl Usage {
    /// A counter of `prompt_tokens_details` (`cached_tokens`, ...), 0 when absent.
    pub fn prompt_detail(&self, name: &str) -> u64 {
        self.prompt_tokens_details
            .as_ref()
            .map_or(0, |d| d.count(name))
    }

    /// A counter of `completion_tokens_details` (`reasoning_tokens`, ...), 0 when absent.
    pub fn completion_detail(&self, name: &str) -> u64 {
        self.completion_tokens_details
            .as_ref()
            .map_or(0, |d| d.count(name))
    }
}

/// `prompt_tokens_details` or `completion_tokens_details`: the counters a provider breaks usage
/// into (`cached_tokens`, `reasoning_tokens`, ...), kept as the JSON text they arrived as. The
/// gateway reads one or two of them; building a map of each on every answer, and copying it
/// with every copy of the usage, cost more than the rest of the usage did.
///
/// Only `serde_json` can deserialize it (it is a [`RawValue`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TokenDetails(Box<RawValue>);

impl TokenDetails {
    /// `{"<name>": count}`. `name` is a plain field name (letters, digits, `_`).
    pub fn of(name: &str, count: u64) -> Self {
        let text = format!("{{\"{name}\":{count}}}");
        Self(RawValue::from_string(text).unwrap_or_else(|_| RawValue::NULL.to_owned()))
    }

    /// Counters given as a JSON object.
    pub fn from_value(value: &Value) -> Self {
        Self(serde_json::value::to_raw_value(value).unwrap_or_else(|_| RawValue::NULL.to_owned()))
    }

    /// The counter `name`, 0 when it is absent or not a whole number.
    pub fn count(&self, name: &str) -> u64 {
        let mut de = serde_json::Deserializer::from_str(self.0.get());
        serde::Deserializer::deserialize_map(&mut de, FindCount(name)).unwrap_or(0)
    }

    /// The counters as a JSON value.
    pub fn to_value(&self) -> Value {
        serde_json::from_str(self.0.get()).unwrap_or(Value::Null)
    }
}

impl PartialEq for TokenDetails {
    fn eq(&self, other: &Self) -> bool {
        self.0.get() == other.0.get()
    }
}

/// Reads one counter of a details object without building a map of it.
struct FindCount<'a>(&'a str);

impl<'de> serde::de::Visitor<'de> for FindCount<'_> {
    type Value = u64;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an object of token counts")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<u64, A::Error> {
        let mut found = 0;
        while let Some(key) = map.next_key::<super::open::Key<'de>>()? {
            if key.as_str() == self.0 {
                found = map.next_value::<Value>()?.as_u64().unwrap_or(0);
            } else {
                map.next_value::<serde::de::IgnoredAny>()?;
            }
        }
        Ok(found)
    }
}

/// `chat.completion.chunk` stream event. Like [`ChatResponse`], it keeps and passes on the
/// fields a provider adds in `extra`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ChatChunk {
    /// Completion id, the same on every chunk.
    #[serde(default)]
    pub id: String,
    /// `chat.completion.chunk` (also when the provider leaves it out).
    pub object: String,
    /// Unix seconds.
    #[serde(default)]
    pub created: u64,
    /// The model that answers.
    #[serde(default)]
    pub model: String,
    /// Deltas.
    #[serde(default)]
    pub choices: Vec<ChunkChoice>,
    /// Usage, on the last chunk.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    /// Backend fingerprint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_fingerprint: Option<String>,
    /// Service tier, as the provider reports it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_tier: Option<String>,
    /// Bifrost's metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra_fields: Option<ExtraFields>,
    /// Top-level fields not modelled above, as the provider sent them.
    #[serde(flatten)]
    pub extra: JsonObject,
}

fn chat_chunk_object() -> String {
    "chat.completion.chunk".to_owned()
}

/// One choice's delta in a chunk.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ChunkChoice {
    /// Position.
    #[serde(default)]
    pub index: u32,
    /// What this chunk adds.
    #[serde(default)]
    pub delta: ChunkDelta,
    /// Set on the choice's last chunk.
    #[serde(default)]
    pub finish_reason: Option<String>,
    /// Log probabilities.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logprobs: Option<Value>,
    /// Fields not modelled above.
    #[serde(flatten)]
    pub extra: JsonObject,
}

/// The incremental part of a message.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ChunkDelta {
    /// `assistant`, on the first chunk.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// Text added.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// Reasoning text added.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning_content: Option<String>,
    /// Tool-call fragments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_calls: Option<Vec<ChunkToolCall>>,
    /// Refusal text added.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refusal: Option<String>,
    /// Anything else.
    #[serde(flatten)]
    pub extra: JsonObject,
}

/// A fragment of a tool call in a stream.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChunkToolCall {
    /// Which call of the message this fragment belongs to.
    #[serde(default)]
    pub index: u32,
    /// Call id, on the call's first fragment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `function`, on the first fragment.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Name (first fragment) and a piece of the arguments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function: Option<ChunkFunctionCall>,
}

/// Name and argument fragment.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChunkFunctionCall {
    /// Function name, on the first fragment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A piece of the JSON arguments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arguments: Option<String>,
}

/// `POST /v1/completions` body.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TextRequest {
    /// `provider/model` as the client sent it. Not serialized: the upstream model is set per call.
    #[serde(skip_serializing)]
    pub model: String,
    /// A string, an array of strings, or token arrays.
    pub prompt: Value,
    /// Bifrost fallbacks.
    #[serde(default, skip_serializing)]
    pub fallbacks: Vec<String>,
    /// Stream the answer. Set per upstream call, not serialized.
    #[serde(default, skip_serializing)]
    pub stream: Option<bool>,
    /// Stream options. Set per upstream call, not serialized.
    #[serde(default, skip_serializing)]
    pub stream_options: Option<StreamOptions>,
    /// Output-token limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    /// Sampling temperature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// Nucleus sampling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    /// Number of choices.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<u32>,
    /// Stop sequence(s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop: Option<Value>,
    /// Presence penalty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub presence_penalty: Option<f64>,
    /// Frequency penalty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frequency_penalty: Option<f64>,
    /// Log probabilities.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logprobs: Option<u32>,
    /// Echo the prompt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub echo: Option<bool>,
    /// Best-of sampling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub best_of: Option<u32>,
    /// Text after the completion.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suffix: Option<String>,
    /// Seed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<i64>,
    /// Token bias.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logit_bias: Option<Value>,
    /// End-user id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Unknown fields; forwarded only on request.
    #[serde(flatten, skip_serializing)]
    pub extra: JsonObject,
}

/// `text_completion` response and stream chunk (the same shape).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TextResponse {
    /// Id.
    #[serde(default)]
    pub id: String,
    /// `text_completion`.
    #[serde(default = "text_completion_object")]
    pub object: String,
    /// Unix seconds.
    #[serde(default)]
    pub created: u64,
    /// Model.
    #[serde(default)]
    pub model: String,
    /// Choices.
    #[serde(default)]
    pub choices: Vec<TextChoice>,
    /// Usage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    /// Backend fingerprint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_fingerprint: Option<String>,
    /// Bifrost's metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra_fields: Option<ExtraFields>,
}

fn text_completion_object() -> String {
    "text_completion".to_owned()
}

/// One text choice.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TextChoice {
    /// Generated text.
    #[serde(default)]
    pub text: String,
    /// Position.
    #[serde(default)]
    pub index: u32,
    /// Log probabilities.
    #[serde(default)]
    pub logprobs: Option<Value>,
    /// Why it stopped.
    #[serde(default)]
    pub finish_reason: Option<String>,
}

/// `POST /v1/embeddings` body.
#[derive(Debug, Clone, Default, Serialize)]
pub struct EmbeddingRequest {
    /// `provider/model` as the client sent it. Not serialized: the upstream model is set per call.
    #[serde(skip_serializing)]
    pub model: String,
    /// A string, an array of strings, or token arrays.
    pub input: Value,
    /// Bifrost fallbacks.
    #[serde(default, skip_serializing)]
    pub fallbacks: Vec<String>,
    /// `float` or `base64`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoding_format: Option<String>,
    /// Output dimensions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dimensions: Option<u32>,
    /// End-user id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Unknown fields; forwarded only on request.
    #[serde(flatten, skip_serializing)]
    pub extra: JsonObject,
}

/// Embeddings response.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct EmbeddingResponse {
    /// `list`.
    #[serde(default = "list_object")]
    pub object: String,
    /// One entry per input.
    #[serde(default)]
    pub data: Vec<Embedding>,
    /// Model.
    #[serde(default)]
    pub model: String,
    /// Usage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    /// Bifrost's metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra_fields: Option<ExtraFields>,
}

fn list_object() -> String {
    "list".to_owned()
}

/// One embedding.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Embedding {
    /// `embedding`.
    #[serde(default)]
    pub object: String,
    /// Floats, or a base64 string.
    pub embedding: Value,
    /// Input position.
    #[serde(default)]
    pub index: u32,
}

/// `GET /v1/models` response.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ModelList {
    /// `list`.
    #[serde(default = "list_object")]
    pub object: String,
    /// Models.
    #[serde(default)]
    pub data: Vec<Model>,
}

/// One model entry.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Model {
    /// `provider/model` in the gateway's list; the bare id in a provider's.
    pub id: String,
    /// `model`.
    #[serde(default = "model_object")]
    pub object: String,
    /// Unix seconds.
    #[serde(default)]
    pub created: u64,
    /// Owner.
    #[serde(default)]
    pub owned_by: String,
}

fn model_object() -> String {
    "model".to_owned()
}

/// OpenAI's error body: `{"error":{"message","type","param","code"}}`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// The inner error object.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ErrorDetail {
    /// Message.
    #[serde(default)]
    pub message: String,
    /// Type.
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    /// Parameter.
    #[serde(default)]
    pub param: Option<Value>,
    /// Code: a string or a number.
    #[serde(default)]
    pub code: Option<Value>,
}

// Parsing without the buffering of `#[serde(flatten)]`: see `schemas::open`.

/// A string or an array of parts, told apart by the JSON value's type (what
/// `#[serde(untagged)]` does by buffering the value and trying each variant in turn).
impl<'de> Deserialize<'de> for MessageContent {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        struct ContentVisitor;

        impl<'de> serde::de::Visitor<'de> for ContentVisitor {
            type Value = MessageContent;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string or an array of content parts")
            }

            fn visit_str<E>(self, s: &str) -> Result<MessageContent, E> {
                Ok(MessageContent::Text(s.to_owned()))
            }

            fn visit_string<E>(self, s: String) -> Result<MessageContent, E> {
                Ok(MessageContent::Text(s))
            }

            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                seq: A,
            ) -> Result<MessageContent, A::Error> {
                let parts = Vec::<ContentPart>::deserialize(
                    serde::de::value::SeqAccessDeserializer::new(seq),
                )?;
                Ok(MessageContent::Parts(parts))
            }
        }

        de.deserialize_any(ContentVisitor)
    }
}

deserialize_keeping_extra! {
    ChatRequest, "a chat completion request",
    required { model: "model", messages: "messages" }
    optional {
        fallbacks: "fallbacks",
        stream: "stream",
        stream_options: "stream_options",
        temperature: "temperature",
        top_p: "top_p",
        max_tokens: "max_tokens",
        max_completion_tokens: "max_completion_tokens",
        stop: "stop",
        n: "n",
        presence_penalty: "presence_penalty",
        frequency_penalty: "frequency_penalty",
        logit_bias: "logit_bias",
        logprobs: "logprobs",
        top_logprobs: "top_logprobs",
        seed: "seed",
        user: "user",
        response_format: "response_format",
        tools: "tools",
        tool_choice: "tool_choice",
        parallel_tool_calls: "parallel_tool_calls",
        reasoning_effort: "reasoning_effort",
        metadata: "metadata",
        store: "store",
        service_tier: "service_tier",
        modalities: "modalities",
        audio: "audio",
        prediction: "prediction",
        prompt_cache_key: "prompt_cache_key",
        safety_identifier: "safety_identifier",
        verbosity: "verbosity",
        web_search_options: "web_search_options",
    }
    extra: extra,
}

deserialize_keeping_extra! {
    StreamOptions, "stream options",
    required {  }
    optional {
        include_usage: "include_usage",
    }
    extra: extra,
}

deserialize_keeping_extra! {
    ChatMessage, "a chat message",
    required { role: "role" }
    optional {
        content: "content",
        name: "name",
        tool_calls: "tool_calls",
        tool_call_id: "tool_call_id",
        refusal: "refusal",
        reasoning_content: "reasoning_content",
    }
    extra: extra,
}

deserialize_keeping_extra! {
    ContentPart, "a content part",
    required { kind: "type" }
    optional {
        text: "text",
        image_url: "image_url",
    }
    extra: extra,
}

deserialize_keeping_extra! {
    ChatResponse, "a chat completion",
    required {  }
    optional {
        id: "id",
        created: "created",
        model: "model",
        choices: "choices",
        usage: "usage",
        system_fingerprint: "system_fingerprint",
        service_tier: "service_tier",
        extra_fields: "extra_fields",
    }
    defaults {
        object: "object" = chat_completion_object,
    }
    extra: extra,
}

deserialize_keeping_extra! {
    ChatChoice, "a chat completion choice",
    required { message: "message" }
    optional {
        index: "index",
        finish_reason: "finish_reason",
        logprobs: "logprobs",
    }
    extra: extra,
}

deserialize_keeping_extra! {
    ChatChunk, "a chat completion chunk",
    required {  }
    optional {
        id: "id",
        created: "created",
        model: "model",
        choices: "choices",
        usage: "usage",
        system_fingerprint: "system_fingerprint",
        service_tier: "service_tier",
        extra_fields: "extra_fields",
    }
    defaults {
        object: "object" = chat_chunk_object,
    }
    extra: extra,
}

deserialize_keeping_extra! {
    ChunkChoice, "a chunk choice",
    required {  }
    optional {
        index: "index",
        delta: "delta",
        finish_reason: "finish_reason",
        logprobs: "logprobs",
    }
    extra: extra,
}

deserialize_keeping_extra! {
    ChunkDelta, "a chunk delta",
    required {  }
    optional {
        role: "role",
        content: "content",
        reasoning_content: "reasoning_content",
        tool_calls: "tool_calls",
        refusal: "refusal",
    }
    extra: extra,
}

deserialize_keeping_extra! {
    TextRequest, "a text completion request",
    required { model: "model", prompt: "prompt" }
    optional {
        fallbacks: "fallbacks",
        stream: "stream",
        stream_options: "stream_options",
        max_tokens: "max_tokens",
        temperature: "temperature",
        top_p: "top_p",
        n: "n",
        stop: "stop",
        presence_penalty: "presence_penalty",
        frequency_penalty: "frequency_penalty",
        logprobs: "logprobs",
        echo: "echo",
        best_of: "best_of",
        suffix: "suffix",
        seed: "seed",
        logit_bias: "logit_bias",
        user: "user",
    }
    extra: extra,
}

deserialize_keeping_extra! {
    EmbeddingRequest, "an embedding request",
    required { model: "model", input: "input" }
    optional {
        fallbacks: "fallbacks",
        encoding_format: "encoding_format",
        dimensions: "dimensions",
        user: "user",
    }
    extra: extra,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parts_give_their_text_or_refusal_and_require_their_image() {
        let part = |v: serde_json::Value| serde_json::from_value::<ContentPart>(v).unwrap();
        assert_eq!(
            part(json!({"type": "text", "text": "hi"})).text_or_refusal(),
            "hi"
        );
        let refusal = part(json!({"type": "refusal", "refusal": "I can't"}));
        assert_eq!(refusal.text_or_refusal(), "I can't");
        assert_eq!(part(json!({"type": "text"})).text_or_refusal(), "");
        let image = part(json!({"type": "image_url", "image_url": {"url": "https://x/y.png"}}));
        assert_eq!(image.required_image(0).unwrap().url, "https://x/y.png");
        let missing = part(json!({"type": "image_url"}))
            .required_image(3)
            .unwrap_err();
        assert!(missing.to_string().contains("messages[3]"), "{missing}");
    }

    #[test]
    fn chat_request_keeps_unknown_fields_apart() {
        let body = r#"{"model":"openai/gpt-4o-mini","messages":[{"role":"user","content":[
            {"type":"text","text":"hi"},{"type":"image_url","image_url":{"url":"data:image/png;base64,AA"}}]}],
            "temperature":0.2,"my_param":7,"fallbacks":["groq/llama"]}"#;
        let req: ChatRequest = serde_json::from_str(body).unwrap();
        assert_eq!(req.temperature, Some(0.2));
        assert_eq!(req.fallbacks, vec!["groq/llama"]);
        assert_eq!(req.extra.get("my_param"), Some(&Value::from(7)));
        let Some(MessageContent::Parts(parts)) = &req.messages[0].content else {
            panic!("parts expected")
        };
        assert_eq!(
            parts[1].image_url.as_ref().unwrap().url,
            "data:image/png;base64,AA"
        );
    }

    #[test]
    fn assistant_tool_call_message_round_trips() {
        let json = r#"{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"f","arguments":"{}"}}]}"#;
        let msg: ChatMessage = serde_json::from_str(json).unwrap();
        assert_eq!(serde_json::to_string(&msg).unwrap(), json);
    }

    #[test]
    fn a_missing_required_field_is_named() {
        let err = serde_json::from_str::<ChatRequest>(r#"{"model":"openai/gpt-4o"}"#).unwrap_err();
        assert!(
            err.to_string().contains("missing field `messages`"),
            "{err}"
        );
        let err = serde_json::from_str::<ChatMessage>(r#"{"content":"hi"}"#).unwrap_err();
        assert!(err.to_string().contains("missing field `role`"), "{err}");
        let err = serde_json::from_str::<ContentPart>(r#"{"text":"hi"}"#).unwrap_err();
        assert!(err.to_string().contains("missing field `type`"), "{err}");
    }

    #[test]
    fn keys_with_escapes_and_repeated_keys_read_like_any_json_object() {
        // `\u0074emperature` is "temperature"; a repeated key keeps its last value.
        let req: ChatRequest = serde_json::from_str(
            r#"{"model":"m","messages":[],"\u0074emperature":0.5,"x":1,"x":2,"top_p":0.1,"top_p":0.9}"#,
        )
        .unwrap();
        assert_eq!(req.temperature, Some(0.5));
        assert_eq!(req.top_p, Some(0.9));
        assert_eq!(req.extra.get("x"), Some(&Value::from(2)));
        assert_eq!(req.extra.len(), 1);
    }

    #[test]
    fn content_is_text_or_parts_and_nothing_else() {
        let text: ChatMessage = serde_json::from_str(r#"{"role":"user","content":"hi"}"#).unwrap();
        assert_eq!(text.content, Some(MessageContent::Text("hi".into())));
        let parts: ChatMessage =
            serde_json::from_str(r#"{"role":"user","content":[{"type":"text","text":"a","cache_control":{"type":"ephemeral"}}]}"#)
                .unwrap();
        let Some(MessageContent::Parts(p)) = parts.content else {
            panic!("parts expected")
        };
        assert_eq!(p[0].text.as_deref(), Some("a"));
        assert_eq!(
            p[0].extra.get("cache_control"),
            Some(&json!({"type": "ephemeral"}))
        );
        let null: ChatMessage =
            serde_json::from_str(r#"{"role":"assistant","content":null}"#).unwrap();
        assert_eq!(null.content, None);
        let err =
            serde_json::from_str::<ChatMessage>(r#"{"role":"user","content":7}"#).unwrap_err();
        assert!(
            err.to_string()
                .contains("a string or an array of content parts"),
            "{err}"
        );
        let err = serde_json::from_str::<ChatMessage>(r#"["user","hi"]"#).unwrap_err();
        assert!(err.to_string().contains("a chat message"), "{err}");
    }

    #[test]
    fn chunk_deltas_keep_what_they_do_not_know() {
        let chunk: ChatChunk = serde_json::from_str(
            r#"{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"He","annotations":[]},"finish_reason":null}]}"#,
        )
        .unwrap();
        let delta = &chunk.choices[0].delta;
        assert_eq!(delta.content.as_deref(), Some("He"));
        assert_eq!(delta.extra.get("annotations"), Some(&json!([])));
        let out = serde_json::to_value(&chunk).unwrap();
        assert_eq!(
            out["choices"][0]["delta"],
            json!({"content": "He", "annotations": []})
        );
    }

    #[test]
    fn answers_and_chunks_pass_on_provider_specific_fields() {
        // Perplexity's citations and search results, Azure's content filter results.
        let answer: ChatResponse = serde_json::from_str(
            r#"{"id":"a","object":"chat.completion","created":1,"model":"sonar",
                "citations":["https://example.com/a"],
                "search_results":[{"title":"A","url":"https://example.com/a"}],
                "prompt_filter_results":[{"prompt_index":0}],
                "choices":[{"index":0,"message":{"role":"assistant","content":"Hi"},
                    "finish_reason":"stop","content_filter_results":{"hate":{"filtered":false}}}]}"#,
        )
        .unwrap();
        assert_eq!(answer.choices[0].message.role, "assistant");
        let out = serde_json::to_value(&answer).unwrap();
        assert_eq!(out["citations"], json!(["https://example.com/a"]));
        assert_eq!(out["search_results"][0]["title"], "A");
        assert_eq!(out["prompt_filter_results"], json!([{"prompt_index": 0}]));
        assert_eq!(
            out["choices"][0]["content_filter_results"],
            json!({"hate": {"filtered": false}})
        );
        assert_eq!(out["choices"][0]["finish_reason"], "stop");

        let chunk: ChatChunk = serde_json::from_str(
            r#"{"id":"c","created":1,"model":"sonar","citations":["https://example.com/b"],
                "choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":null,
                    "native_finish_reason":null}]}"#,
        )
        .unwrap();
        let out = serde_json::to_value(&chunk).unwrap();
        assert_eq!(out["citations"], json!(["https://example.com/b"]));
        assert_eq!(out["choices"][0]["native_finish_reason"], Value::Null);
        // Absent from the provider's JSON, `object` still says what the event is.
        assert_eq!(out["object"], "chat.completion.chunk");
        let bare: ChatResponse = serde_json::from_str(r#"{"choices":[]}"#).unwrap();
        assert_eq!(bare.object, "chat.completion");
        let no_message = serde_json::from_str::<ChatResponse>(r#"{"choices":[{"index":0}]}"#);
        assert!(no_message.unwrap_err().to_string().contains("message"));
    }

    #[test]
    fn token_details_keep_their_text_and_give_single_counts() {
        let usage: Usage = serde_json::from_str(
            r#"{"prompt_tokens":9,"completion_tokens":3,"total_tokens":12,
                "prompt_tokens_details":{"audio_tokens":0,"cached_tokens":4},
                "completion_tokens_details":{"reasoning_tokens":2.5,"x":{"y":[1]}}}"#,
        )
        .unwrap();
        assert_eq!(usage.prompt_detail("cached_tokens"), 4);
        assert_eq!(usage.prompt_detail("missing"), 0);
        assert_eq!(
            usage.completion_detail("reasoning_tokens"),
            0,
            "not a whole number"
        );
        let out = serde_json::to_string(&usage).unwrap();
        assert!(
            out.contains(r#""prompt_tokens_details":{"audio_tokens":0,"cached_tokens":4}"#),
            "{out}"
        );
        assert_eq!(
            TokenDetails::of("cached_tokens", 7).to_value(),
            json!({"cached_tokens": 7})
        );
        assert_eq!(
            TokenDetails::of("cached_tokens", 7).count("cached_tokens"),
            7
        );
        assert_eq!(
            TokenDetails::from_value(&json!({"cached_tokens": 1})),
            TokenDetails::of("cached_tokens", 1)
        );
    }
}
