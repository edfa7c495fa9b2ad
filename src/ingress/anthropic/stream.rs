//! Canonical chat chunks to Anthropic's SSE event sequence: `message_start`, `ping`, then per
//! block `content_block_start` / `content_block_delta`* / `content_block_stop`, and at the end
//! `message_delta` (stop reason, usage) and `message_stop`.
//!
//! Anthropic blocks are sequential, so a change of kind (thinking, text, a tool call) closes
//! the open block and starts the next one. Usage arrives on OpenAI's last chunk, after the
//! finish reason, so `message_delta` waits for the end of the stream.

use super::response::{cached_tokens, message_id};
use super::{error_body, stop_reason};
use crate::error::Error;
use crate::ingress::{write_event, DeltaEvents, StreamEncoder};
use crate::schemas::anthropic as wire;
use crate::schemas::openai::{ChatChunk, JsonObject, Usage};

/// The block being written.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Open {
    None,
    Thinking(u32),
    Text(u32),
    /// Block index and the OpenAI tool-call index it carries.
    Tool(u32, u32),
}

/// Encodes one chat stream as Anthropic events.
#[derive(Debug)]
pub struct MessagesStream {
    started: bool,
    open: Open,
    next_index: u32,
    /// OpenAI tool-call index -> Anthropic block index, for fragments of a call whose block
    /// is no longer the open one.
    tool_blocks: Vec<(u32, u32)>,
    finish_reason: Option<String>,
    usage: Option<Usage>,
}

impl Default for MessagesStream {
    fn default() -> Self {
        Self::new()
    }
}

impl MessagesStream {
    /// A new stream encoder.
    pub fn new() -> Self {
        MessagesStream {
            started: false,
            open: Open::None,
            next_index: 0,
            tool_blocks: Vec::new(),
            finish_reason: None,
            usage: None,
        }
    }

    fn start(&mut self, id: &str, model: &str, out: &mut Vec<u8>) {
        if self.started {
            return;
        }
        self.started = true;
        let event = wire::StreamEvent::MessageStart {
            message: wire::MessagesResponse {
                id: message_id(id),
                kind: "message".into(),
                role: "assistant".into(),
                content: Vec::new(),
                model: model.to_owned(),
                stop_reason: None,
                stop_sequence: None,
                usage: wire::Usage::default(),
            },
        };
        write_event(out, "message_start", &event);
        write_event(out, "ping", &wire::StreamEvent::Ping);
    }

    fn close(&mut self, out: &mut Vec<u8>) {
        let index = match self.open {
            Open::None => return,
            Open::Thinking(i) | Open::Text(i) | Open::Tool(i, _) => i,
        };
        self.open = Open::None;
        write_event(
            out,
            "content_block_stop",
            &wire::StreamEvent::ContentBlockStop { index },
        );
    }

    fn begin(&mut self, block: wire::ContentBlock, out: &mut Vec<u8>) -> u32 {
        self.close(out);
        let index = self.next_index;
        self.next_index += 1;
        write_event(
            out,
            "content_block_start",
            &wire::StreamEvent::ContentBlockStart {
                index,
                content_block: block,
            },
        );
        index
    }

    fn delta(index: u32, delta: wire::BlockDelta, out: &mut Vec<u8>) {
        write_event(
            out,
            "content_block_delta",
            &wire::StreamEvent::ContentBlockDelta { index, delta },
        );
    }

    fn thinking(&mut self, text: String, out: &mut Vec<u8>) {
        let index = match self.open {
            Open::Thinking(i) => i,
            _ => {
                let block = wire::ContentBlock::Thinking {
                    thinking: String::new(),
                    signature: String::new(),
                };
                let i = self.begin(block, out);
                self.open = Open::Thinking(i);
                i
            }
        };
        Self::delta(
            index,
            wire::BlockDelta::ThinkingDelta { thinking: text },
            out,
        );
    }

    fn text(&mut self, text: String, out: &mut Vec<u8>) {
        let index = match self.open {
            Open::Text(i) => i,
            _ => {
                let block = wire::ContentBlock::Text {
                    text: String::new(),
                    citations: None,
                    cache_control: None,
                };
                let i = self.begin(block, out);
                self.open = Open::Text(i);
                i
            }
        };
        Self::delta(index, wire::BlockDelta::TextDelta { text }, out);
    }

    fn tool_fragment(
        &mut self,
        call_index: u32,
        id: Option<String>,
        name: Option<String>,
        arguments: Option<String>,
        out: &mut Vec<u8>,
    ) {
        let known = self
            .tool_blocks
            .iter()
            .find(|(c, _)| *c == call_index)
            .map(|(_, b)| *b);
        let index = match known {
            Some(b) => b,
            None => {
                // A call's first fragment carries its id and name.
                let block = wire::ContentBlock::ToolUse {
                    id: id.unwrap_or_else(|| format!("toolu_{}", uuid::Uuid::new_v4().simple())),
                    name: name.unwrap_or_default(),
                    input: serde_json::Value::Object(JsonObject::new()),
                };
                let b = self.begin(block, out);
                self.open = Open::Tool(b, call_index);
                self.tool_blocks.push((call_index, b));
                b
            }
        };
        if let Some(partial_json) = arguments.filter(|a| !a.is_empty()) {
            Self::delta(
                index,
                wire::BlockDelta::InputJsonDelta { partial_json },
                out,
            );
        }
    }
}

impl DeltaEvents for MessagesStream {
    fn reasoning(&mut self, text: String, out: &mut Vec<u8>) {
        MessagesStream::thinking(self, text, out);
    }

    fn text(&mut self, text: String, out: &mut Vec<u8>) {
        MessagesStream::text(self, text, out);
    }

    fn tool_fragment(
        &mut self,
        index: u32,
        id: Option<String>,
        name: Option<String>,
        arguments: Option<String>,
        out: &mut Vec<u8>,
    ) {
        MessagesStream::tool_fragment(self, index, id, name, arguments, out);
    }
}

impl StreamEncoder for MessagesStream {
    fn chunk(&mut self, mut chunk: ChatChunk, out: &mut Vec<u8>) {
        self.start(&chunk.id, &chunk.model, out);
        if let Some(u) = chunk.usage.take() {
            self.usage = Some(u);
        }
        if let Some(reason) = self.apply(chunk, out) {
            self.finish_reason = Some(reason);
        }
    }

    fn finish(&mut self, out: &mut Vec<u8>) {
        self.start("", "", out);
        self.close(out);
        let usage = self.usage.as_ref().map(|u| {
            let cached = cached_tokens(u);
            wire::DeltaUsage {
                input_tokens: Some(u.prompt_tokens.saturating_sub(cached)),
                output_tokens: Some(u.completion_tokens),
                cache_creation_input_tokens: None,
                cache_read_input_tokens: Some(cached),
            }
        });
        write_event(
            out,
            "message_delta",
            &wire::StreamEvent::MessageDelta {
                delta: wire::MessageDeltaBody {
                    stop_reason: Some(stop_reason(self.finish_reason.as_deref()).to_owned()),
                    stop_sequence: None,
                },
                usage: Some(usage.unwrap_or(wire::DeltaUsage {
                    output_tokens: Some(0),
                    ..wire::DeltaUsage::default()
                })),
            },
        );
        write_event(out, "message_stop", &wire::StreamEvent::MessageStop);
    }

    fn fail(&mut self, error: &Error, out: &mut Vec<u8>) {
        let body = error_body(error);
        write_event(
            out,
            "error",
            &wire::StreamEvent::Error { error: body.error },
        );
    }
}
