//! Wire and canonical types, no logic.
//!
//! The canonical request and response types are OpenAI-shaped (`openai`); every other wire
//! format converts to and from them (hub and spoke). `bifrost` holds what Bifrost adds on top:
//! request types and `extra_fields`.

pub mod anthropic;
pub mod bifrost;
pub mod cohere;
pub mod genai;
mod open;
pub mod openai;
pub mod rerank;
pub mod responses;

pub use bifrost::{ExtraFields, RequestType};
