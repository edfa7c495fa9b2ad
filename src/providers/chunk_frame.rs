//! The OpenAI chunk envelope that every translated stream (Anthropic, Bedrock, Gemini) emits:
//! the answer's id, model and creation time repeated on each chunk, and the one-choice delta
//! shapes the translators build from their provider's events.

use crate::schemas::openai::{
    ChatChunk, ChunkChoice, ChunkDelta, ChunkFunctionCall, ChunkToolCall,
};

/// What every chunk of one translated answer carries, and whether the role chunk went out.
#[derive(Debug, Default)]
pub struct ChunkFrame {
    /// The answer's id (the provider's, or one made up when it sends none).
    pub id: String,
    /// The model as the provider names it.
    pub model: String,
    /// Unix seconds, as OpenAI's `created`.
    pub created: u64,
    role_sent: bool,
}

impl ChunkFrame {
    /// A frame for an answer.
    pub fn new(id: String, model: String, created: u64) -> Self {
        Self {
            id,
            model,
            created,
            role_sent: false,
        }
    }

    /// A chunk without choices (the usage chunk is one).
    pub fn empty(&self) -> ChatChunk {
        ChatChunk {
            id: self.id.clone(),
            object: "chat.completion.chunk".into(),
            created: self.created,
            model: self.model.clone(),
            ..ChatChunk::default()
        }
    }

    /// A chunk with one choice: `delta`, and the finish reason when the answer ends here.
    pub fn chunk(&self, delta: ChunkDelta, finish_reason: Option<String>) -> ChatChunk {
        ChatChunk {
            choices: vec![ChunkChoice {
                extra: Default::default(),
                index: 0,
                delta,
                finish_reason,
                logprobs: None,
            }],
            ..self.empty()
        }
    }

    /// A chunk with one choice carrying `delta`.
    pub fn delta(&self, delta: ChunkDelta) -> ChatChunk {
        self.chunk(delta, None)
    }

    /// The `assistant` role chunk the first time, nothing after.
    pub fn role(&mut self) -> Option<ChatChunk> {
        if self.role_sent {
            return None;
        }
        self.role_sent = true;
        Some(self.delta(ChunkDelta {
            role: Some("assistant".into()),
            ..ChunkDelta::default()
        }))
    }

    /// A fragment of tool call `index`: the first carries its id and name, later ones only
    /// more of the arguments.
    pub fn tool(
        &self,
        index: u32,
        id: Option<String>,
        name: Option<String>,
        arguments: String,
    ) -> ChatChunk {
        let kind = id.as_ref().map(|_| "function".to_owned());
        self.delta(ChunkDelta {
            tool_calls: Some(vec![ChunkToolCall {
                index,
                id,
                kind,
                function: Some(ChunkFunctionCall {
                    name,
                    arguments: Some(arguments),
                }),
            }]),
            ..ChunkDelta::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_role_goes_out_once_and_every_chunk_carries_the_frame() {
        let mut frame = ChunkFrame::new("msg_1".into(), "claude".into(), 7);
        let first = frame.role().unwrap();
        assert_eq!(first.choices[0].delta.role.as_deref(), Some("assistant"));
        assert!(frame.role().is_none());
        let tool = frame.tool(2, Some("call_9".into()), Some("f".into()), String::new());
        assert_eq!(
            (
                tool.id.as_str(),
                tool.model.as_str(),
                tool.created,
                tool.object.as_str()
            ),
            ("msg_1", "claude", 7, "chat.completion.chunk")
        );
        let call = &tool.choices[0].delta.tool_calls.as_ref().unwrap()[0];
        assert_eq!((call.index, call.kind.as_deref()), (2, Some("function")));
        let more = frame.tool(2, None, None, "{\"a\":".into());
        let call = &more.choices[0].delta.tool_calls.as_ref().unwrap()[0];
        assert_eq!((call.id.as_deref(), call.kind.as_deref()), (None, None));
        assert!(frame.empty().choices.is_empty());
    }
}
