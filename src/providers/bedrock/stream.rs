//! ConverseStream events (EventStream messages) to canonical chat chunks, one at a time.

use futures_util::Stream;
use serde::de::DeserializeOwned;

use super::eventstream::Message;
use super::response::{finish_reason, to_usage};
use super::{exception_status, wire};
use crate::error::{Error, Result, UpstreamError};
use crate::providers::chunk_frame::ChunkFrame;
use crate::providers::translated::{cut_short, translate, ChunkTranslator};
use crate::providers::ChatStream;
use crate::schemas::openai::{ChatChunk, ChunkDelta};

/// Translates ConverseStream messages into OpenAI chunks: a chunk is yielded as soon as the
/// message that makes it arrives. An exception message or a transport error ends the stream
/// with that error.
pub fn translate_messages<S>(
    provider: &str,
    id: String,
    model: &str,
    created: u64,
    messages: S,
) -> ChatStream
where
    S: Stream<Item = Result<Message>> + Send + 'static,
{
    let state = StreamState {
        provider: provider.to_owned(),
        frame: ChunkFrame::new(id, model.to_owned(), created),
        finished: false,
        done: false,
        tool_blocks: Vec::new(),
    };
    translate(messages, state)
}

/// What the translation remembers between messages.
struct StreamState {
    provider: String,
    frame: ChunkFrame,
    /// `messageStop` arrived.
    finished: bool,
    /// Nothing more is yielded.
    done: bool,
    /// Converse block index -> OpenAI tool-call index: OpenAI numbers tool calls among
    /// themselves, Converse numbers every block.
    tool_blocks: Vec<(u32, u32)>,
}

impl StreamState {
    fn translate_message(&mut self, m: &Message) -> Result<Option<ChatChunk>> {
        match m.header(":message-type") {
            Some("event") | None => {}
            Some("exception") => return Err(self.exception(m)),
            Some(other) => {
                // `error` messages carry their code and text in headers.
                let code = m.header(":error-code").unwrap_or(other).to_owned();
                let message = m
                    .header(":error-message")
                    .unwrap_or("stream error")
                    .to_owned();
                return Err(self.upstream_error(500, code, message));
            }
        }
        Ok(match m.header(":event-type").unwrap_or_default() {
            "messageStart" => self.frame.role(),
            "contentBlockStart" => {
                // Only tool calls announce themselves; text starts with its first delta.
                let ev: wire::BlockStartEvent = self.decode(m)?;
                ev.start.tool_use.map(|tool| {
                    let tool_index = u32::try_from(self.tool_blocks.len()).unwrap_or(u32::MAX);
                    self.tool_blocks.push((ev.content_block_index, tool_index));
                    self.frame.tool(
                        tool_index,
                        Some(tool.tool_use_id),
                        Some(tool.name),
                        String::new(),
                    )
                })
            }
            "contentBlockDelta" => {
                let ev: wire::BlockDeltaEvent = self.decode(m)?;
                let d = ev.delta;
                if let Some(text) = d.text {
                    Some(self.frame.delta(ChunkDelta {
                        content: Some(text),
                        ..ChunkDelta::default()
                    }))
                } else if let Some(tool) = d.tool_use.filter(|t| !t.input.is_empty()) {
                    self.tool_blocks
                        .iter()
                        .find(|(block, _)| *block == ev.content_block_index)
                        .map(|&(_, tool_index)| tool_index)
                        .map(|tool_index| self.frame.tool(tool_index, None, None, tool.input))
                } else {
                    d.reasoning_content.and_then(|r| r.text).map(|text| {
                        self.frame.delta(ChunkDelta {
                            reasoning_content: Some(text),
                            ..ChunkDelta::default()
                        })
                    })
                }
            }
            "messageStop" => {
                let ev: wire::MessageStopEvent = self.decode(m)?;
                self.finished = true;
                let mut chunk = self.frame.delta(ChunkDelta::default());
                if let Some(choice) = chunk.choices.first_mut() {
                    choice.finish_reason = Some(finish_reason(&ev.stop_reason));
                }
                Some(chunk)
            }
            "metadata" => {
                let ev: wire::MetadataEvent = self.decode(m)?;
                self.done = true;
                Some(ChatChunk {
                    usage: Some(to_usage(ev.usage)),
                    ..self.frame.empty()
                })
            }
            // contentBlockStop and events added later.
            _ => None,
        })
    }

    fn decode<T: DeserializeOwned>(&self, m: &Message) -> Result<T> {
        serde_json::from_slice(&m.payload).map_err(|e| Error::BadUpstreamResponse {
            provider: self.provider.clone(),
            message: format!("bad stream event: {e}"),
        })
    }

    /// An exception message: `:exception-type` names it, the payload says why.
    fn exception(&self, m: &Message) -> Error {
        let kind = m
            .header(":exception-type")
            .unwrap_or("exception")
            .to_owned();
        let body: wire::ErrorBody = serde_json::from_slice(&m.payload).unwrap_or_default();
        let message = if body.message.is_empty() {
            String::from_utf8_lossy(&m.payload).into_owned()
        } else {
            body.message
        };
        self.upstream_error(exception_status(&kind), kind, message)
    }

    fn upstream_error(&self, status: u16, kind: String, message: String) -> Error {
        Error::Upstream(Box::new(UpstreamError {
            provider: self.provider.clone(),
            status,
            message,
            error_type: Some(kind),
            code: None,
            param: None,
        }))
    }
}

impl ChunkTranslator for StreamState {
    type Event = Message;

    fn on_event(&mut self, m: &Message) -> Result<Option<ChatChunk>> {
        self.translate_message(m)
    }

    /// The end of the body. After `messageStop` the answer is complete (the usage `metadata`
    /// is optional); before it the answer is truncated, which must not look complete.
    fn on_end(&mut self) -> Option<Result<ChatChunk>> {
        if self.finished {
            None
        } else {
            Some(Err(cut_short(&self.provider)))
        }
    }

    fn is_done(&self) -> bool {
        self.done
    }
}
