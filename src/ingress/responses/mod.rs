//! The OpenAI Responses API as an ingress (`/v1/responses`), served through chat: Responses
//! requests to canonical chat requests, chat answers back to `response` objects, chat chunk
//! streams to the typed Responses events (Bifrost §1.5: `event:` lines, no `[DONE]`).
//!
//! Responses are not stored, so `previous_response_id` is refused and `store` is echoed false;
//! a client sends the whole conversation as input items instead.

mod request;
mod response;
mod stream;
#[cfg(test)]
mod tests;

pub use request::to_chat_request;
pub use response::{to_response, Echo};
pub use stream::ResponsesStream;

/// A fresh id with a Responses-style prefix (`resp_`, `msg_`, `fc_`, `rs_`).
fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::new_v4().simple())
}
