//! `POST /v1/responses` (and `/openai/v1/responses`, `/openai/responses`): the OpenAI Responses
//! API served through chat, JSON or typed SSE events; errors in Bifrost's error JSON.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, StatusCode};

use super::dropin::{event_stream, json, limit_mb, request_options};
use super::request::parse_json;
use super::AppState;
use crate::error::Error;
use crate::ingress::responses::{to_chat_request, to_response, Echo, ResponsesStream};
use crate::schemas::responses::ResponsesRequest;

/// Bifrost's error JSON with the request's provider and model.
fn failed(state: &AppState, model: &str, error: Error) -> Response {
    super::inference::in_context(state, model, None, error).into_response()
}

/// `POST /v1/responses`.
pub async fn create(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let req: ResponsesRequest = match parse_json(body, limit_mb(&state)) {
        Ok(r) => r,
        Err(e) => return failed(&state, "", e),
    };
    let model = req.model.clone();
    let stream = req.stream == Some(true);
    let echo = Echo::from_request(&req);
    let chat = match to_chat_request(req) {
        Ok(c) => c,
        Err(e) => return failed(&state, &model, e),
    };
    if chat.messages.is_empty() {
        let e = Error::BadRequest("input is required and must not be empty".into());
        return failed(&state, &model, e);
    }
    let opts = request_options(&state, &headers);
    if stream {
        match state.gateway.chat_stream(&chat, &opts).await {
            Ok((s, _)) => event_stream(s, ResponsesStream::new(echo)),
            Err(e) => failed(&state, &model, e),
        }
    } else {
        match state.gateway.chat(&chat, &opts).await {
            Ok((r, _)) => json(StatusCode::OK, &to_response(r, &echo)),
            Err(e) => failed(&state, &model, e),
        }
    }
}
