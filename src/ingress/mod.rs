//! Drop-in SDK formats on the way in: the Anthropic Messages API, the OpenAI Responses API and
//! Google's GenAI API, translated to the canonical OpenAI-shaped types and back (hub and spoke,
//! DESIGN.md §2).
//!
//! Everything here is pure translation: requests to [`ChatRequest`] / [`EmbeddingRequest`],
//! canonical answers back to the native shape, canonical stream chunks to the native event
//! sequence (a [`StreamEncoder`]), and errors to the native error body. The HTTP handlers in
//! `http/` only parse, call the engine and write.
//!
//! [`ChatRequest`]: crate::schemas::openai::ChatRequest
//! [`EmbeddingRequest`]: crate::schemas::openai::EmbeddingRequest

pub mod anthropic;
pub mod genai;
pub mod responses;

use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;
use serde_json::Value;

use crate::error::Error;
use crate::schemas::openai::{ChatChunk, ChatRequest, JsonObject};

/// Turns a canonical chunk stream into a native SSE byte stream, one chunk at a time.
///
/// The HTTP layer calls [`chunk`](Self::chunk) per upstream chunk, then exactly one of
/// [`finish`](Self::finish) (the stream ended) or [`fail`](Self::fail) (it broke), and flushes
/// whatever was written after each call.
pub trait StreamEncoder: Send + 'static {
    /// Writes the events one canonical chunk makes (possibly none).
    fn chunk(&mut self, chunk: ChatChunk, out: &mut Vec<u8>);
    /// Writes the closing events.
    fn finish(&mut self, out: &mut Vec<u8>);
    /// Writes the native error event for a failure after the stream began.
    fn fail(&mut self, error: &Error, out: &mut Vec<u8>);
}

/// An encoder whose native events follow the parts of a chunk's first choice: reasoning text,
/// answer text and tool-call fragments, in that order (Anthropic's and the Responses API's
/// streams). [`DeltaEvents::apply`] walks a chunk once for all of them.
pub trait DeltaEvents {
    /// Reasoning text added.
    fn reasoning(&mut self, text: String, out: &mut Vec<u8>);
    /// Answer text added.
    fn text(&mut self, text: String, out: &mut Vec<u8>);
    /// A fragment of the tool call at `index` (the id and name arrive on its first fragment).
    fn tool_fragment(
        &mut self,
        index: u32,
        id: Option<String>,
        name: Option<String>,
        arguments: Option<String>,
        out: &mut Vec<u8>,
    );

    /// Writes the events of the first choice's delta and returns its finish reason, if any.
    fn apply(&mut self, chunk: ChatChunk, out: &mut Vec<u8>) -> Option<String> {
        let choice = chunk.choices.into_iter().find(|c| c.index == 0)?;
        let delta = choice.delta;
        if let Some(r) = delta.reasoning_content.filter(|r| !r.is_empty()) {
            self.reasoning(r, out);
        }
        if let Some(t) = delta.content.filter(|t| !t.is_empty()) {
            self.text(t, out);
        }
        for call in delta.tool_calls.into_iter().flatten() {
            let (name, arguments) = match call.function {
                Some(f) => (f.name, f.arguments),
                None => (None, None),
            };
            self.tool_fragment(call.index, call.id, name, arguments, out);
        }
        choice.finish_reason
    }
}

/// Appends one `event: <name>` / `data: <json>` SSE frame.
pub fn write_event<T: Serialize>(out: &mut Vec<u8>, name: &str, payload: &T) {
    out.extend_from_slice(b"event: ");
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"\ndata: ");
    write_json(out, payload);
    out.extend_from_slice(b"\n\n");
}

/// Appends one `data: <json>` SSE frame (no event name).
pub fn write_data<T: Serialize>(out: &mut Vec<u8>, payload: &T) {
    out.extend_from_slice(b"data: ");
    write_json(out, payload);
    out.extend_from_slice(b"\n\n");
}

fn write_json<T: Serialize>(out: &mut Vec<u8>, payload: &T) {
    // Our own types always serialize; an error here would be a bug, and an empty object keeps
    // the frame well-formed for the client rather than tearing the stream down.
    if crate::json::append(out, payload).is_err() {
        out.extend_from_slice(b"{}");
    }
}

/// Now, in unix seconds.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// A function call's JSON-encoded arguments as the JSON object Anthropic and Gemini carry.
///
/// Empty arguments are an empty object. Arguments that are not a JSON object (a model that
/// produced broken JSON) are kept under `"_raw_arguments"` rather than dropped, so the client's
/// tool sees, and can report, what the model actually said.
pub fn arguments_object(arguments: &str) -> Value {
    let trimmed = arguments.trim();
    if trimmed.is_empty() {
        return Value::Object(JsonObject::new());
    }
    match serde_json::from_str::<Value>(trimmed) {
        Ok(v @ Value::Object(_)) => v,
        _ => {
            let mut raw = JsonObject::new();
            raw.insert("_raw_arguments".into(), Value::String(arguments.to_owned()));
            Value::Object(raw)
        }
    }
}

/// A thinking-token budget as an OpenAI reasoning effort, inverting the budgets the Anthropic
/// provider uses for each effort (low 1024, medium 4096, high 16384).
pub fn effort_for_budget(budget: u64) -> &'static str {
    match budget {
        0..=2047 => "low",
        2048..=8191 => "medium",
        _ => "high",
    }
}

/// A rough input-token count for the count-tokens routes: about four characters per token.
///
/// The engine has no tokenizer and no upstream count-tokens call, so this is an estimate, good
/// for budgeting a context window, not for billing.
pub fn estimate_tokens(chars: usize) -> u64 {
    u64::try_from(chars.div_ceil(4)).unwrap_or(u64::MAX)
}

/// [`estimate_tokens`] of a whole chat request: message text, tool calls and tool
/// definitions, plus a few tokens of framing per message as chat formats add.
pub fn estimate_chat_tokens(req: &ChatRequest) -> u64 {
    const PER_MESSAGE: u64 = 4;
    let mut chars = 0usize;
    for m in &req.messages {
        chars += m.content.as_ref().map_or(0, |c| c.joined_text().len());
        chars += m.reasoning_content.as_ref().map_or(0, String::len);
        for call in m.tool_calls.iter().flatten() {
            chars += call.function.name.len() + call.function.arguments.len();
        }
    }
    for t in req.tools.iter().flatten() {
        chars += t.function.name.len();
        chars += t.function.description.as_ref().map_or(0, String::len);
        chars += t
            .function
            .parameters
            .as_ref()
            .map_or(0, |p| p.to_string().len());
    }
    let framing = PER_MESSAGE.saturating_mul(u64::try_from(req.messages.len()).unwrap_or(0));
    estimate_tokens(chars).saturating_add(framing)
}

/// Bifrost's `fallbacks` from a native body's unknown fields: a list of `provider/model`
/// strings; anything else is ignored, as Bifrost drops fallbacks that do not parse.
pub fn take_fallbacks(extra: &mut JsonObject) -> Vec<String> {
    match extra.remove("fallbacks") {
        Some(Value::Array(items)) => items
            .into_iter()
            .filter_map(|v| match v {
                Value::String(s) => Some(s),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_keep_broken_json() {
        assert_eq!(arguments_object(""), serde_json::json!({}));
        assert_eq!(arguments_object("{\"a\":1}"), serde_json::json!({"a": 1}));
        assert_eq!(
            arguments_object("{\"a\":"),
            serde_json::json!({"_raw_arguments": "{\"a\":"})
        );
    }

    #[test]
    fn budgets_map_back_to_the_efforts_they_came_from() {
        assert_eq!(effort_for_budget(1024), "low");
        assert_eq!(effort_for_budget(4096), "medium");
        assert_eq!(effort_for_budget(16384), "high");
    }

    #[test]
    fn frames_are_sse() {
        let mut out = Vec::new();
        write_event(&mut out, "ping", &serde_json::json!({"type": "ping"}));
        write_data(&mut out, &serde_json::json!({"a": 1}));
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "event: ping\ndata: {\"type\":\"ping\"}\n\ndata: {\"a\":1}\n\n"
        );
    }
}
