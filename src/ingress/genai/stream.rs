//! Canonical chat chunks to `streamGenerateContent?alt=sse` chunks (`data: <json>` frames,
//! no end marker).
//!
//! Text and thoughts go out as they arrive. Gemini sends a function call whole, in one part,
//! so tool-call fragments are gathered and sent with the last chunk, which also carries the
//! finish reason and the usage (OpenAI's usage comes after its finish reason).

use super::error_body;
use super::response::{call_part, finish_reason, text_part, thought_part, to_usage_metadata};
use crate::error::Error;
use crate::ingress::{write_data, StreamEncoder};
use crate::schemas::genai as wire;
use crate::schemas::openai::{ChatChunk, FunctionCall, ToolCall, Usage};

/// Encodes one chat stream as Gemini stream chunks.
#[derive(Debug, Default)]
pub struct GenerateStream {
    id: String,
    model: String,
    /// (chat tool-call index, the call so far).
    calls: Vec<(u32, ToolCall)>,
    finish_reason: Option<String>,
    usage: Option<Usage>,
}

impl GenerateStream {
    /// A new stream encoder.
    pub fn new() -> Self {
        Self::default()
    }

    fn frame(&self, parts: Vec<wire::Part>, last: bool, out: &mut Vec<u8>) {
        let chunk = wire::GenerateContentResponse {
            candidates: vec![wire::Candidate {
                content: wire::Content {
                    role: Some("model".into()),
                    parts,
                },
                finish_reason: last
                    .then(|| finish_reason(self.finish_reason.as_deref()).to_owned()),
                index: 0,
            }],
            usage_metadata: if last {
                self.usage.as_ref().map(to_usage_metadata)
            } else {
                None
            },
            model_version: (!self.model.is_empty()).then(|| self.model.clone()),
            response_id: (!self.id.is_empty()).then(|| self.id.clone()),
            prompt_feedback: None,
        };
        write_data(out, &chunk);
    }
}

impl StreamEncoder for GenerateStream {
    fn chunk(&mut self, chunk: ChatChunk, out: &mut Vec<u8>) {
        if self.id.is_empty() {
            self.id = chunk.id;
        }
        if self.model.is_empty() {
            self.model = chunk.model;
        }
        if let Some(u) = chunk.usage {
            self.usage = Some(u);
        }
        let Some(choice) = chunk.choices.into_iter().find(|c| c.index == 0) else {
            return;
        };
        let delta = choice.delta;
        let mut parts = Vec::new();
        if let Some(r) = delta.reasoning_content.filter(|r| !r.is_empty()) {
            parts.push(thought_part(r));
        }
        if let Some(t) = delta.content.filter(|t| !t.is_empty()) {
            parts.push(text_part(t));
        }
        for frag in delta.tool_calls.into_iter().flatten() {
            let at = match self.calls.iter().position(|(i, _)| *i == frag.index) {
                Some(at) => at,
                None => {
                    self.calls.push((
                        frag.index,
                        ToolCall {
                            id: String::new(),
                            kind: "function".into(),
                            function: FunctionCall::default(),
                        },
                    ));
                    self.calls.len() - 1
                }
            };
            let call = &mut self.calls[at].1;
            if let Some(id) = frag.id {
                call.id = id;
            }
            if let Some(f) = frag.function {
                if let Some(name) = f.name {
                    call.function.name.push_str(&name);
                }
                if let Some(args) = f.arguments {
                    call.function.arguments.push_str(&args);
                }
            }
        }
        if let Some(reason) = choice.finish_reason {
            self.finish_reason = Some(reason);
        }
        if !parts.is_empty() {
            self.frame(parts, false, out);
        }
    }

    fn finish(&mut self, out: &mut Vec<u8>) {
        let calls = std::mem::take(&mut self.calls);
        let parts: Vec<wire::Part> = if calls.is_empty() {
            // An empty text part keeps `response.text` a string on the last chunk.
            vec![text_part(String::new())]
        } else {
            calls.into_iter().map(|(_, c)| call_part(c)).collect()
        };
        self.frame(parts, true, out);
    }

    fn fail(&mut self, error: &Error, out: &mut Vec<u8>) {
        write_data(out, &error_body(error));
    }
}
