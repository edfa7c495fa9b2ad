//! What a request log keeps of a request and its answer, as JSON text. Only called when a log
//! observer exists; content (messages, prompts, answers) only when content logging is on.

use std::collections::BTreeMap;

use bytes::Bytes;
use serde_json::value::RawValue;
use serde_json::Value;

use crate::providers::passthrough::PassthroughRequest;
use crate::schemas::openai::{
    ChatRequest, ChatResponse, EmbeddingRequest, TextRequest, TextResponse,
};
use crate::schemas::rerank::{RerankRequest, RerankResponse};

/// What a request log keeps of a request.
#[derive(Debug)]
pub enum Captured {
    /// Content and parameters already as JSON text.
    Typed {
        /// The content (messages, prompt or input), unless content logging is off.
        input: Option<String>,
        /// The other parameters.
        params: Option<String>,
    },
    /// The body as the client sent it, split later by the log writer.
    Raw(RawRequest),
}

/// An OpenAI-shaped request body kept as received (a reference-counted buffer, no copy), so
/// that the request path does not serialize the request again for the log: the writer thread
/// splits it into content and parameters when it writes the row.
#[derive(Debug, Clone)]
pub struct RawRequest {
    /// The body.
    pub body: Bytes,
    /// The field holding the content: `messages`, `prompt` or `input`.
    pub content_field: &'static str,
    /// Whether content is logged.
    pub with_content: bool,
}

impl RawRequest {
    /// Keeps the client's body for the log. A small body is usually a slice of the
    /// connection's read buffer (hyper hands out the bytes it read with the headers): kept as
    /// it is, it would pin that whole buffer (8 KB or more) for as long as the record waits for
    /// the log writer, and hyper would allocate a new buffer for the connection's next read. So
    /// a shared body is copied to an allocation of its own; one assembled from several reads
    /// already is one, and is kept without a copy.
    pub fn keep(body: &Bytes, content_field: &'static str, with_content: bool) -> Self {
        let body = if body.is_unique() {
            body.clone()
        } else {
            Bytes::copy_from_slice(body)
        };
        Self {
            body,
            content_field,
            with_content,
        }
    }

    /// (input, params) as JSON text; nothing when the body is not a JSON object. The values
    /// are sliced out of the body as sent (no tree is built): the content verbatim, the other
    /// fields reassembled into an object.
    pub fn split(&self) -> (Option<String>, Option<String>) {
        let Ok(fields) = crate::json::from_slice::<BTreeMap<String, &RawValue>>(&self.body) else {
            return (None, None);
        };
        let input = self
            .with_content
            .then(|| fields.get(self.content_field).map(|c| c.get().to_owned()))
            .flatten();
        let mut params = String::new();
        for (key, value) in fields.iter().filter(|(k, _)| *k != self.content_field) {
            params.push(if params.is_empty() { '{' } else { ',' });
            params.push_str(&Value::from(key.as_str()).to_string());
            params.push(':');
            params.push_str(value.get());
        }
        if params.is_empty() {
            return (input, None);
        }
        params.push('}');
        (input, Some(params))
    }
}

/// (input, params) of a chat request.
pub fn chat(req: &ChatRequest, with_content: bool) -> (Option<String>, Option<String>) {
    let input = with_content.then(|| serde_json::to_string(&req.messages).unwrap_or_default());
    (input, params(serde_json::to_value(req).ok(), &["messages"]))
}

/// (input, params) of a text request.
pub fn text(req: &TextRequest, with_content: bool) -> (Option<String>, Option<String>) {
    let input = with_content.then(|| req.prompt.to_string());
    (input, params(serde_json::to_value(req).ok(), &["prompt"]))
}

/// (input, params) of an embedding request.
pub fn embedding(req: &EmbeddingRequest, with_content: bool) -> (Option<String>, Option<String>) {
    let input = with_content.then(|| req.input.to_string());
    (input, params(serde_json::to_value(req).ok(), &["input"]))
}

/// (input, params) of a passthrough request: the body as sent when it is text, and Bifrost's
/// passthrough log params (method, path, query, model).
pub fn passthrough(
    req: &PassthroughRequest,
    with_content: bool,
) -> (Option<String>, Option<String>) {
    let input = with_content
        .then(|| std::str::from_utf8(&req.body).ok().map(str::to_owned))
        .flatten();
    let model = req
        .routed_model
        .split_once('/')
        .map_or("", |(_, m)| m)
        .trim_start_matches('*');
    let mut params = serde_json::json!({
        "method": req.method.as_str(),
        "path": req.path,
        "raw_query": req.query.as_deref().unwrap_or_default(),
    });
    if !model.is_empty() {
        params["model"] = Value::from(model);
    }
    (input, Some(params.to_string()))
}

/// (input, params) of a rerank request: the query and documents, and the rest.
pub fn rerank(req: &RerankRequest, with_content: bool) -> (Option<String>, Option<String>) {
    let input = with_content
        .then(|| serde_json::json!({"query": req.query, "documents": req.documents}).to_string());
    (
        input,
        params(serde_json::to_value(req).ok(), &["query", "documents"]),
    )
}

/// The answer of a rerank response: its results.
pub fn rerank_output(resp: &RerankResponse) -> Option<String> {
    serde_json::to_string(&resp.results).ok()
}

/// The request's parameters without its content.
fn params(value: Option<Value>, content: &[&str]) -> Option<String> {
    let mut value = value?;
    let obj = value.as_object_mut()?;
    for key in content {
        obj.remove(*key);
    }
    (!obj.is_empty()).then(|| value.to_string())
}

/// The answer of a chat response: the first choice's message.
pub fn chat_output(resp: &ChatResponse) -> Option<String> {
    let choice = resp.choices.first()?;
    crate::json::to_string(&choice.message).ok()
}

/// The answer of a text response.
pub fn text_output(resp: &TextResponse) -> Option<String> {
    let choice = resp.choices.first()?;
    Some(serde_json::json!({"role": "assistant", "content": choice.text}).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(body: &str, with_content: bool) -> RawRequest {
        RawRequest {
            body: Bytes::from(body.to_owned()),
            content_field: "messages",
            with_content,
        }
    }

    #[test]
    fn a_kept_body_never_pins_the_buffer_it_was_cut_from() {
        let mut read_buffer = bytes::BytesMut::from(&b"POST ... {\"messages\":[]}"[..]);
        let body = read_buffer.split_off(9).freeze();
        let kept = RawRequest::keep(&body, "messages", true);
        assert_eq!(kept.body, body);
        assert!(kept.body.is_unique(), "a copy of its own");
        drop(read_buffer);
        let own = Bytes::from(b"{\"messages\":[]}".to_vec());
        let kept = RawRequest::keep(&own, "messages", true);
        assert_eq!(
            kept.body.as_ptr(),
            own.as_ptr(),
            "an unshared body is not copied"
        );
    }

    #[test]
    fn a_raw_body_splits_into_content_and_parameters() {
        let body = r#"{"model":"openai/gpt-4o","messages":[{"role":"user","content":"hi"}],"temperature":0.2}"#;
        let (input, params) = raw(body, true).split();
        assert_eq!(
            input.as_deref(),
            Some(r#"[{"role":"user","content":"hi"}]"#)
        );
        let params: Value = serde_json::from_str(&params.unwrap()).unwrap();
        assert_eq!(
            params,
            serde_json::json!({"model": "openai/gpt-4o", "temperature": 0.2})
        );
        let (input, params) = raw(body, false).split();
        assert_eq!(input, None, "content logging off keeps no content");
        assert!(params.unwrap().contains("temperature"));
        assert_eq!(raw("not json", true).split(), (None, None));
        // Keys that need escaping stay valid JSON; a body of only content has no params.
        let (_, params) = raw(r#"{"a\"b": 1, "messages": []}"#, true).split();
        let params: Value = serde_json::from_str(&params.unwrap()).unwrap();
        assert_eq!(params, serde_json::json!({"a\"b": 1}));
        assert_eq!(
            raw(r#"{"messages":[]}"#, true).split(),
            (Some("[]".into()), None)
        );
    }
}
