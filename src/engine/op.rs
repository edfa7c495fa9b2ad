//! One inference operation as the engine handles it: the request borrowed, and its outcome.

use bytes::Bytes;

use super::capture::{self, Captured, RawRequest};
use crate::providers::passthrough::{PassthroughRequest, PassthroughResponse};
use crate::providers::{ChatStream, TextStream};
use crate::schemas::openai::{
    ChatRequest, ChatResponse, EmbeddingRequest, EmbeddingResponse, MessageContent, TextRequest,
    TextResponse,
};
use crate::schemas::rerank::{RerankRequest, RerankResponse};
use crate::schemas::RequestType;

pub(super) enum Op<'a> {
    Chat(&'a ChatRequest),
    ChatStream(&'a ChatRequest),
    Text(&'a TextRequest),
    TextStream(&'a TextRequest),
    Embed(&'a EmbeddingRequest),
    Passthrough(&'a PassthroughRequest),
    Rerank(&'a RerankRequest),
}

pub(super) enum Outcome {
    Chat(ChatResponse),
    ChatStream(ChatStream),
    Text(TextResponse),
    TextStream(TextStream),
    Embed(EmbeddingResponse),
    Passthrough(PassthroughResponse),
    Rerank(RerankResponse),
}

impl Op<'_> {
    pub(super) fn model(&self) -> &str {
        match self {
            Op::Chat(r) | Op::ChatStream(r) => &r.model,
            Op::Text(r) | Op::TextStream(r) => &r.model,
            Op::Embed(r) => &r.model,
            Op::Passthrough(r) => &r.routed_model,
            Op::Rerank(r) => &r.model,
        }
    }

    pub(super) fn fallbacks(&self) -> &[String] {
        match self {
            Op::Chat(r) | Op::ChatStream(r) => &r.fallbacks,
            Op::Text(r) | Op::TextStream(r) => &r.fallbacks,
            Op::Embed(r) => &r.fallbacks,
            // A native body cannot go to another provider.
            Op::Passthrough(_) => &[],
            Op::Rerank(r) => &r.fallbacks,
        }
    }

    pub(super) fn is_stream(&self) -> bool {
        match self {
            Op::ChatStream(_) | Op::TextStream(_) => true,
            Op::Passthrough(r) => r.stream,
            Op::Chat(_) | Op::Text(_) | Op::Embed(_) | Op::Rerank(_) => false,
        }
    }

    /// What the log keeps of the request: the client's own body when the caller has it (no
    /// serialization on the request path), else the typed request as JSON text.
    pub(super) fn capture(&self, with_content: bool, raw_body: Option<&Bytes>) -> Captured {
        let content_field = match self {
            Op::Chat(_) | Op::ChatStream(_) => Some("messages"),
            Op::Text(_) | Op::TextStream(_) => Some("prompt"),
            Op::Embed(_) => Some("input"),
            // Passthrough logs Bifrost's own params (method, path, query), and rerank's content
            // is two fields (query, documents): both are always captured from the typed request.
            Op::Passthrough(_) | Op::Rerank(_) => None,
        };
        if let (Some(body), Some(content_field)) = (raw_body, content_field) {
            return Captured::Raw(RawRequest::keep(body, content_field, with_content));
        }
        let (input, params) = match self {
            Op::Chat(r) | Op::ChatStream(r) => capture::chat(r, with_content),
            Op::Text(r) | Op::TextStream(r) => capture::text(r, with_content),
            Op::Embed(r) => capture::embedding(r, with_content),
            Op::Passthrough(r) => capture::passthrough(r, with_content),
            Op::Rerank(r) => capture::rerank(r, with_content),
        };
        Captured::Typed { input, params }
    }

    /// A cheap estimate of the prompt's tokens (about four bytes each), for budget
    /// reservations made before the provider counts them.
    pub(super) fn estimated_input_tokens(&self) -> u64 {
        let bytes = match self {
            Op::Chat(r) | Op::ChatStream(r) => r
                .messages
                .iter()
                .map(|m| {
                    m.content.as_ref().map_or(0, |c| match c {
                        MessageContent::Text(t) => t.len(),
                        MessageContent::Parts(parts) => parts
                            .iter()
                            .map(|p| p.text.as_ref().map_or(256, String::len))
                            .sum(),
                    }) + 16
                })
                .sum(),
            Op::Text(r) | Op::TextStream(r) => r.prompt.to_string().len(),
            Op::Embed(r) => r.input.to_string().len(),
            Op::Passthrough(r) => r.body.len(),
            Op::Rerank(r) => {
                r.query.len() + r.documents.iter().map(|d| d.text.len()).sum::<usize>()
            }
        };
        (bytes as u64).div_ceil(4)
    }

    pub(super) fn max_output_tokens(&self) -> Option<u64> {
        match self {
            Op::Chat(r) | Op::ChatStream(r) => {
                r.max_completion_tokens.or(r.max_tokens).map(u64::from)
            }
            Op::Text(r) | Op::TextStream(r) => r.max_tokens.map(u64::from),
            Op::Embed(_) | Op::Rerank(_) => Some(0),
            Op::Passthrough(r) => r.max_output_tokens,
        }
    }

    pub(super) fn request_type(&self) -> RequestType {
        match self {
            Op::Chat(_) => RequestType::ChatCompletion,
            Op::ChatStream(_) => RequestType::ChatCompletionStream,
            Op::Text(_) => RequestType::TextCompletion,
            Op::TextStream(_) => RequestType::TextCompletionStream,
            Op::Embed(_) => RequestType::Embedding,
            Op::Passthrough(r) if r.stream => RequestType::PassthroughStream,
            Op::Passthrough(_) => RequestType::Passthrough,
            Op::Rerank(_) => RequestType::Rerank,
        }
    }
}
