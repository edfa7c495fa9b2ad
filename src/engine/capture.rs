//! What a request log keeps of a request and its answer, as JSON text. Only called when a log
//! observer exists; content (messages, prompts, answers) only when content logging is on.

use serde_json::Value;

use crate::providers::passthrough::PassthroughRequest;
use crate::schemas::openai::{
    ChatRequest, ChatResponse, EmbeddingRequest, TextRequest, TextResponse,
};
use crate::schemas::rerank::{RerankRequest, RerankResponse};

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
    serde_json::to_string(&choice.message).ok()
}

/// The answer of a text response.
pub fn text_output(resp: &TextResponse) -> Option<String> {
    let choice = resp.choices.first()?;
    Some(serde_json::json!({"role": "assistant", "content": choice.text}).to_string())
}
