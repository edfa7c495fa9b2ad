//! Anthropic's stream events to canonical chat chunks, one event at a time.

use super::*;
use crate::providers::chunk_frame::ChunkFrame;
use crate::providers::translated::{cut_short, translate, ChunkTranslator};

/// Translates Anthropic's stream events into OpenAI chunks, one event at a time: a chunk is
/// yielded as soon as the event that makes it arrives. An `error` event or a transport error
/// ends the stream with that error.
pub fn translate_events<S>(provider: &str, events: S) -> ChatStream
where
    S: Stream<Item = Result<SseEvent>> + Send + 'static,
{
    translate(events, StreamState::new(provider, unix_now()))
}

/// What the stream translation remembers between events.
struct StreamState {
    provider: String,
    frame: ChunkFrame,
    input_tokens: u64,
    output_tokens: u64,
    cache_read: u64,
    cache_creation: u64,
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
            frame: ChunkFrame::new(String::new(), String::new(), created),
            input_tokens: 0,
            output_tokens: 0,
            cache_read: 0,
            cache_creation: 0,
            finished: false,
            done: false,
            tool_blocks: Vec::new(),
        }
    }

    fn on_wire_event(&mut self, event: wire::StreamEvent) -> Result<Option<ChatChunk>> {
        use wire::StreamEvent as E;
        Ok(match event {
            E::MessageStart { message } => {
                self.frame.id = message.id;
                self.frame.model = message.model;
                self.input_tokens = message.usage.input_tokens;
                self.output_tokens = message.usage.output_tokens;
                self.cache_read = message.usage.cache_read_input_tokens.unwrap_or(0);
                self.cache_creation = message.usage.cache_creation_input_tokens.unwrap_or(0);
                self.frame.role()
            }
            E::ContentBlockStart {
                index,
                content_block,
            } => match content_block {
                wire::ContentBlock::ToolUse { id, name, .. } => {
                    let tool_index = u32::try_from(self.tool_blocks.len()).unwrap_or(u32::MAX);
                    self.tool_blocks.push((index, tool_index));
                    Some(
                        self.frame
                            .tool(tool_index, Some(id), Some(name), String::new()),
                    )
                }
                wire::ContentBlock::Text { text, .. } if !text.is_empty() => {
                    Some(self.frame.delta(ChunkDelta {
                        content: Some(text),
                        ..ChunkDelta::default()
                    }))
                }
                wire::ContentBlock::Thinking { thinking, .. } if !thinking.is_empty() => {
                    Some(self.frame.delta(ChunkDelta {
                        reasoning_content: Some(thinking),
                        ..ChunkDelta::default()
                    }))
                }
                _ => None,
            },
            E::ContentBlockDelta { index, delta } => match delta {
                wire::BlockDelta::TextDelta { text } => Some(self.frame.delta(ChunkDelta {
                    content: Some(text),
                    ..ChunkDelta::default()
                })),
                wire::BlockDelta::ThinkingDelta { thinking } => {
                    Some(self.frame.delta(ChunkDelta {
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
                        .map(|tool_index| self.frame.tool(tool_index, None, None, partial_json))
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
                        let mut chunk = self.frame.delta(ChunkDelta::default());
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

    fn usage_chunk(&self) -> ChatChunk {
        ChatChunk {
            usage: Some(to_usage(
                self.input_tokens,
                self.output_tokens,
                self.cache_read,
                self.cache_creation,
            )),
            ..self.frame.empty()
        }
    }
}

impl ChunkTranslator for StreamState {
    type Event = SseEvent;

    fn on_event(&mut self, ev: &SseEvent) -> Result<Option<ChatChunk>> {
        if ev.data.trim().is_empty() {
            return Ok(None);
        }
        let event: wire::StreamEvent = http::decode_event(&self.provider, &ev.data)?;
        self.on_wire_event(event)
    }

    /// The end of the byte stream. After a stop reason the usage chunk is still owed; before
    /// one the answer is truncated, which must not look like a complete answer.
    fn on_end(&mut self) -> Option<Result<ChatChunk>> {
        if self.finished {
            Some(Ok(self.usage_chunk()))
        } else {
            Some(Err(cut_short(&self.provider)))
        }
    }

    fn is_done(&self) -> bool {
        self.done
    }
}
