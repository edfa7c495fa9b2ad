//! `streamGenerateContent?alt=sse` chunks to canonical chat chunks, one event at a time.
//!
//! Every Gemini chunk is a whole `GenerateContentResponse` holding the new parts; the last one
//! carries the finish reason, and `usageMetadata` (cumulative) may come on any of them. The
//! usage goes out in a chunk of its own after the finish reason, as OpenAI sends it.

use super::*;
use crate::providers::chunk_frame::ChunkFrame;
use crate::providers::translated::{cut_short, translate, ChunkTranslator};

/// Translates Gemini's SSE events into OpenAI chunks for `model` (the name asked for, used when
/// the chunks name no model version). An error event or a transport error ends the stream with
/// that error.
pub fn translate_events<S>(provider: &str, model: &str, events: S) -> ChatStream
where
    S: Stream<Item = Result<SseEvent>> + Send + 'static,
{
    let state = StreamState {
        provider: provider.to_owned(),
        frame: ChunkFrame::new(String::new(), model.to_owned(), unix_now()),
        usage: None,
        started: false,
        finished: false,
        tool_calls: 0,
    };
    translate(events, state)
}

/// What the translation remembers between chunks.
struct StreamState {
    provider: String,
    frame: ChunkFrame,
    usage: Option<wire::UsageMetadata>,
    /// The role went out.
    started: bool,
    /// A chunk carried the finish reason.
    finished: bool,
    /// Tool calls sent so far: OpenAI numbers them across the whole message.
    tool_calls: u32,
}

/// An SSE payload: a chunk, or Google's error object when the stream fails midway.
#[derive(Deserialize)]
#[serde(untagged)]
enum Payload {
    Error { error: wire::ErrorDetail },
    Chunk(Box<wire::GenerateContentResponse>),
}

impl StreamState {
    fn translate_event(&mut self, ev: &SseEvent) -> Result<Option<ChatChunk>> {
        let data = ev.data.trim();
        if data.is_empty() || data == "[DONE]" {
            return Ok(None);
        }
        match http::decode_event::<Payload>(&self.provider, data)? {
            Payload::Error { error } => Err(Error::Upstream(Box::new(upstream_error(
                &self.provider,
                if error.code >= 400 { error.code } else { 500 },
                error,
            )))),
            Payload::Chunk(chunk) => Ok(self.on_chunk(*chunk)),
        }
    }

    fn on_chunk(&mut self, chunk: wire::GenerateContentResponse) -> Option<ChatChunk> {
        if let Some(id) = chunk.response_id {
            self.frame.id = id;
        } else if self.frame.id.is_empty() {
            self.frame.id = response::new_id();
        }
        if let Some(version) = chunk.model_version {
            self.frame.model = version;
        }
        if chunk.usage_metadata.is_some() {
            self.usage = chunk.usage_metadata;
        }
        let blocked = chunk.prompt_feedback.and_then(|f| f.block_reason).is_some();
        let Some(candidate) = chunk.candidates.into_iter().next() else {
            if blocked {
                self.finished = true;
                return Some(
                    self.frame
                        .chunk(ChunkDelta::default(), Some("content_filter".into())),
                );
            }
            return None;
        };
        let parts = response::split_parts(candidate.content.parts);
        let tool_calls: Vec<ChunkToolCall> = parts
            .tool_calls
            .into_iter()
            .map(|call| {
                let index = self.tool_calls;
                self.tool_calls += 1;
                // Gemini sends each call whole, so one fragment carries all of it.
                ChunkToolCall {
                    index,
                    id: Some(call.id),
                    kind: Some("function".into()),
                    function: Some(ChunkFunctionCall {
                        name: Some(call.function.name),
                        arguments: Some(call.function.arguments),
                    }),
                }
            })
            .collect();
        let finish = candidate
            .finish_reason
            .as_deref()
            .map(|r| finish_reason(r, self.tool_calls > 0));
        if finish.is_some() {
            self.finished = true;
        }
        let delta = ChunkDelta {
            role: (!self.started).then(|| "assistant".to_owned()),
            content: (!parts.text.is_empty()).then_some(parts.text),
            reasoning_content: (!parts.reasoning.is_empty()).then_some(parts.reasoning),
            tool_calls: (!tool_calls.is_empty()).then_some(tool_calls),
            ..ChunkDelta::default()
        };
        if delta == ChunkDelta::default() && finish.is_none() {
            return None;
        }
        self.started = true;
        Some(self.frame.chunk(delta, finish))
    }

    /// The end of the byte stream: the usage chunk after a finish reason; before one the
    /// answer is truncated, which must not look like a complete answer.
    fn end(&mut self) -> Result<ChatChunk> {
        if !self.finished {
            return Err(cut_short(&self.provider));
        }
        Ok(ChatChunk {
            usage: Some(self.usage.as_ref().map(to_usage).unwrap_or_default()),
            ..self.frame.empty()
        })
    }
}

impl ChunkTranslator for StreamState {
    type Event = SseEvent;

    fn on_event(&mut self, ev: &SseEvent) -> Result<Option<ChatChunk>> {
        self.translate_event(ev)
    }

    fn on_end(&mut self) -> Option<Result<ChatChunk>> {
        Some(self.end())
    }
}
