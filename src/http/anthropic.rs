//! `/anthropic/v1/*` handlers: the Anthropic SDK's Messages API, token counting and model
//! list, answered in Anthropic's own shapes and errors, for any provider.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::response::Response;
use http::{HeaderMap, HeaderName, StatusCode};
use serde_json::Value;

use super::dropin::{
    event_stream, json, limit_mb, request_options, wire_of, with_default_provider,
};
use super::request::parse_json;
use super::AppState;
use crate::engine::{routing, RequestOptions};
use crate::error::{Error, Result};
use crate::ingress::anthropic::{self as ingress, MessagesStream, TokenCount};
use crate::ingress::estimate_chat_tokens;
use crate::providers::WireFormat;
use crate::schemas::anthropic::MessagesRequest;
use crate::schemas::openai::ChatRequest;

/// The Anthropic error response for an error.
pub fn error(e: Error) -> Response {
    let body = serde_json::to_vec(&ingress::error_body(&e)).unwrap_or_default();
    super::error::respond(&e, body)
}

/// Translates a Messages request for its target. A bare model goes to the `anthropic`
/// provider; `cache_control` is kept only for an Anthropic-format provider, which then also
/// gets the client's `anthropic-beta` header.
fn prepare(
    state: &AppState,
    headers: &HeaderMap,
    mut req: MessagesRequest,
) -> Result<(ChatRequest, RequestOptions)> {
    req.model = with_default_provider(state, &req.model, "anthropic")?;
    let anthropic = wire_of(state, &req.model) == Some(WireFormat::Anthropic);
    let chat = ingress::to_chat_request(req, anthropic)?;
    if chat.messages.is_empty() {
        return Err(Error::BadRequest(
            "messages: at least one message is required".into(),
        ));
    }
    let mut opts = request_options(state, headers);
    if anthropic {
        let beta = HeaderName::from_static("anthropic-beta");
        if let Some(v) = headers.get(&beta) {
            if !opts.forwarded_headers.iter().any(|(n, _)| *n == beta) {
                opts.forwarded_headers.push((beta, v.clone()));
            }
        }
    }
    Ok((chat, opts))
}

/// `POST /anthropic/v1/messages`.
pub async fn messages(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let req: MessagesRequest = match parse_json(body, limit_mb(&state)) {
        Ok(r) => r,
        Err(e) => return error(e),
    };
    let stream = req.stream == Some(true);
    let (chat, opts) = match prepare(&state, &headers, req) {
        Ok(p) => p,
        Err(e) => return error(e),
    };
    if stream {
        match state.gateway.chat_stream(&chat, &opts).await {
            Ok((s, _)) => event_stream(s, MessagesStream::new()),
            Err(e) => error(e),
        }
    } else {
        match state.gateway.chat(&chat, &opts).await {
            Ok((r, _)) => json(StatusCode::OK, &ingress::to_messages_response(r)),
            Err(e) => error(e),
        }
    }
}

/// `POST /anthropic/v1/messages/count_tokens`: an estimate (see
/// [`crate::ingress::estimate_tokens`]) for a request that would be routable.
pub async fn count_tokens(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let mut value: Value = match parse_json(body, limit_mb(&state)) {
        Ok(v) => v,
        Err(e) => return error(e),
    };
    // A count-tokens body is a Messages body without the required max_tokens.
    if let Value::Object(map) = &mut value {
        map.entry("max_tokens").or_insert(Value::from(1));
    }
    let req: MessagesRequest = match serde_json::from_value(value) {
        Ok(r) => r,
        Err(e) => return error(Error::BadRequest(format!("invalid request body: {e}"))),
    };
    let chat = match prepare(&state, &headers, req) {
        Ok((chat, _)) => chat,
        Err(e) => return error(e),
    };
    if let Err(e) = routing::target(&state.gateway.current(), &chat.model) {
        return error(e);
    }
    json(
        StatusCode::OK,
        &TokenCount {
            input_tokens: estimate_chat_tokens(&chat),
        },
    )
}

/// `GET /anthropic/v1/models`: every provider's models, as `provider/model` ids.
pub async fn list_models(State(state): State<Arc<AppState>>) -> Response {
    match state.gateway.list_models(None).await {
        Ok(list) => json(StatusCode::OK, &ingress::to_model_page(list)),
        Err(e) => error(e),
    }
}
