//! The OpenAI wire format, shared by OpenAI and every OpenAI-compatible vendor (groq, mistral,
//! vLLM, Ollama, custom providers, ...).

use futures_util::StreamExt;
use serde::Serialize;

use super::http::{self, Auth};
use super::{Call, ChatStream, TextStream};
use crate::error::{Error, Result, UpstreamError};
use crate::schemas::openai::{
    ChatChunk, ChatRequest, ChatResponse, EmbeddingRequest, EmbeddingResponse, ErrorBody,
    JsonObject, Model, ModelList, StreamOptions, TextRequest, TextResponse,
};
use crate::schemas::rerank::{RerankRequest, RerankResponse};

/// An outgoing body: the canonical params with the upstream model and stream flags, plus the
/// unknown fields when the client asked for them to pass through.
#[derive(Serialize)]
struct Outgoing<'a, T: Serialize> {
    model: &'a str,
    #[serde(flatten)]
    params: &'a T,
    #[serde(skip_serializing_if = "Option::is_none")]
    stream: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stream_options: Option<StreamOptions>,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    extra: Option<&'a JsonObject>,
}

impl<'a, T: Serialize> Outgoing<'a, T> {
    fn new(call: &'a Call<'_>, params: &'a T, extra: &'a JsonObject, stream: bool) -> Self {
        Outgoing {
            model: call.model,
            params,
            stream: stream.then_some(true),
            // Usage arrives only when asked for; the gateway always needs it (Bifrost does the
            // same).
            stream_options: stream.then(|| StreamOptions {
                include_usage: Some(true),
                extra: JsonObject::new(),
            }),
            extra: (call.passthrough_extra && !extra.is_empty()).then_some(extra),
        }
    }
}

fn error(provider: &str, status: u16, body: &[u8]) -> UpstreamError {
    http::parse_openai_error(provider, status, body)
}

/// `POST /chat/completions`.
pub async fn chat(
    http: &reqwest::Client,
    call: &Call<'_>,
    req: &ChatRequest,
) -> Result<ChatResponse> {
    chat_at(
        http,
        call,
        &call.url("/chat/completions"),
        Auth::Bearer,
        req,
    )
    .await
}

/// `POST /chat/completions` with `stream: true`.
pub async fn chat_stream(
    http: &reqwest::Client,
    call: &Call<'_>,
    req: &ChatRequest,
) -> Result<ChatStream> {
    chat_stream_at(
        http,
        call,
        &call.url("/chat/completions"),
        Auth::Bearer,
        req,
    )
    .await
}

/// `POST /completions`.
pub async fn text(
    http: &reqwest::Client,
    call: &Call<'_>,
    req: &TextRequest,
) -> Result<TextResponse> {
    text_at(http, call, &call.url("/completions"), Auth::Bearer, req).await
}

/// `POST /completions` with `stream: true`.
pub async fn text_stream(
    http: &reqwest::Client,
    call: &Call<'_>,
    req: &TextRequest,
) -> Result<TextStream> {
    text_stream_at(http, call, &call.url("/completions"), Auth::Bearer, req).await
}

/// `POST /embeddings`.
pub async fn embed(
    http: &reqwest::Client,
    call: &Call<'_>,
    req: &EmbeddingRequest,
) -> Result<EmbeddingResponse> {
    embed_at(http, call, &call.url("/embeddings"), Auth::Bearer, req).await
}

/// Chat at a URL with an auth of the caller's choosing (Azure's deployments and `api-key`).
pub async fn chat_at(
    http: &reqwest::Client,
    call: &Call<'_>,
    url: &str,
    auth: Auth,
    req: &ChatRequest,
) -> Result<ChatResponse> {
    let body = Outgoing::new(call, req, &req.extra, false);
    let resp = http::post_json(http, call, url, auth, &[], &body, error).await?;
    http::read_json(call, resp).await
}

/// Streamed chat at a URL; see [`chat_at`].
pub async fn chat_stream_at(
    http: &reqwest::Client,
    call: &Call<'_>,
    url: &str,
    auth: Auth,
    req: &ChatRequest,
) -> Result<ChatStream> {
    let body = Outgoing::new(call, req, &req.extra, true);
    let resp = http::post_json(http, call, url, auth, &[], &body, error).await?;
    Ok(Box::pin(data_stream::<ChatChunk>(call, resp)))
}

/// A text completion at a URL; see [`chat_at`].
pub async fn text_at(
    http: &reqwest::Client,
    call: &Call<'_>,
    url: &str,
    auth: Auth,
    req: &TextRequest,
) -> Result<TextResponse> {
    let body = Outgoing::new(call, req, &req.extra, false);
    let resp = http::post_json(http, call, url, auth, &[], &body, error).await?;
    http::read_json(call, resp).await
}

/// A streamed text completion at a URL; see [`chat_at`].
pub async fn text_stream_at(
    http: &reqwest::Client,
    call: &Call<'_>,
    url: &str,
    auth: Auth,
    req: &TextRequest,
) -> Result<TextStream> {
    let body = Outgoing::new(call, req, &req.extra, true);
    let resp = http::post_json(http, call, url, auth, &[], &body, error).await?;
    Ok(Box::pin(data_stream::<TextResponse>(call, resp)))
}

/// Embeddings at a URL; see [`chat_at`].
pub async fn embed_at(
    http: &reqwest::Client,
    call: &Call<'_>,
    url: &str,
    auth: Auth,
    req: &EmbeddingRequest,
) -> Result<EmbeddingResponse> {
    let body = Outgoing::new(call, req, &req.extra, false);
    let resp = http::post_json(http, call, url, auth, &[], &body, error).await?;
    http::read_json(call, resp).await
}

/// `POST /rerank` (vLLM's rerank API, Cohere-shaped): documents go as text, and the answer's
/// results are ordered and given their documents as the client asked.
pub async fn rerank(
    http: &reqwest::Client,
    call: &Call<'_>,
    req: &RerankRequest,
) -> Result<RerankResponse> {
    #[derive(Serialize)]
    struct Params<'a> {
        query: &'a str,
        documents: Vec<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        top_n: Option<u32>,
    }
    let params = Params {
        query: &req.query,
        documents: req.documents.iter().map(|d| d.text.as_str()).collect(),
        top_n: req.top_n,
    };
    let body = Outgoing::new(call, &params, &req.extra, false);
    let url = call.url("/rerank");
    let resp = http::post_json(http, call, &url, Auth::Bearer, &[], &body, error).await?;
    let mut answer: RerankResponse = http::read_json(call, resp).await?;
    answer.model = call.model.to_owned();
    answer.extra_fields = None;
    answer.finish(req);
    Ok(answer)
}

/// `GET /models`.
pub async fn list_models(http: &reqwest::Client, call: &Call<'_>) -> Result<Vec<Model>> {
    let url = call.url("/models");
    let resp = http::get(http, call, &url, Auth::Bearer, &[], error).await?;
    let list: ModelList = http::read_json(call, resp).await?;
    Ok(list.data)
}

/// `data:` events decoded as `T` until `[DONE]`; an `{"error":...}` event becomes an error.
fn data_stream<T>(
    call: &Call<'_>,
    resp: reqwest::Response,
) -> impl futures_util::Stream<Item = Result<T>> + Send + 'static
where
    T: serde::de::DeserializeOwned + Send + 'static,
{
    let provider = call.provider.to_owned();
    http::sse_events(call, resp)
        .take_while(|ev| {
            let done = matches!(ev, Ok(e) if e.data.trim() == "[DONE]");
            std::future::ready(!done)
        })
        .filter_map(move |ev| {
            let item = match ev {
                Err(e) => Some(Err(e)),
                Ok(ev) if ev.data.trim().is_empty() => None,
                Ok(ev) if ev.data.starts_with("{\"error\"") => {
                    Some(Err(stream_error(&provider, &ev.data)))
                }
                Ok(ev) => Some(http::decode_event::<T>(&provider, &ev.data)),
            };
            std::future::ready(item)
        })
}

fn stream_error(provider: &str, data: &str) -> Error {
    let detail = serde_json::from_str::<ErrorBody>(data)
        .map(|b| b.error)
        .unwrap_or_default();
    Error::Upstream(Box::new(UpstreamError {
        provider: provider.to_owned(),
        status: 500,
        message: detail.message,
        error_type: detail.kind,
        code: detail.code.map(|c| c.to_string()),
        param: None,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn call<'a>(passthrough: bool) -> Call<'a> {
        Call {
            provider: "openai",
            base_url: "http://x",
            path_prefix: "/v1",
            api_key: None,
            key_config: None,
            model: "gpt-4o-mini",
            extra_headers: &[],
            passthrough_extra: passthrough,
            timeout: Duration::from_secs(1),
            path_override: None,
        }
    }

    #[test]
    fn outgoing_body_has_upstream_model_and_no_bifrost_fields() {
        let req: ChatRequest = serde_json::from_str(
            r#"{"model":"openai/gpt-4o-mini","messages":[{"role":"user","content":"hi"}],
                "fallbacks":["groq/x"],"temperature":0.5,"custom":1,"stream":true}"#,
        )
        .unwrap();
        let c = call(false);
        let json = serde_json::to_value(Outgoing::new(&c, &req, &req.extra, true)).unwrap();
        assert_eq!(json["model"], "gpt-4o-mini");
        assert_eq!(json["temperature"], 0.5);
        assert_eq!(json["stream"], true);
        assert_eq!(json["stream_options"]["include_usage"], true);
        assert!(json.get("fallbacks").is_none());
        assert!(json.get("custom").is_none());
        let c = call(true);
        let json = serde_json::to_value(Outgoing::new(&c, &req, &req.extra, false)).unwrap();
        assert_eq!(json["custom"], 1);
        assert!(json.get("stream").is_none());
    }

    #[test]
    fn urls_tolerate_a_v1_base() {
        let mut c = call(false);
        assert_eq!(c.url("/chat/completions"), "http://x/v1/chat/completions");
        c.base_url = "http://x/v1";
        assert_eq!(c.url("/chat/completions"), "http://x/v1/chat/completions");
        c.path_override = Some("/custom/chat");
        assert_eq!(c.url("/chat/completions"), "http://x/v1/custom/chat");
    }
}
