//! The OpenAI wire format, shared by OpenAI and every OpenAI-compatible vendor (groq, mistral,
//! vLLM, Ollama, custom providers, ...).

use std::pin::Pin;

use futures_util::{Stream, StreamExt};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::http::{self, Auth};
use super::sse::SseEvent;
use super::{Call, ChatStream, TextStream};
use crate::error::{Error, Result, UpstreamError};
use crate::providers::client::{Client, Response};
use crate::schemas::openai::{
    ChatRequest, ChatResponse, EmbeddingRequest, EmbeddingResponse, ErrorBody, JsonObject, Model,
    ModelList, StreamOptions, TextRequest, TextResponse,
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
pub async fn chat(http: &Client, call: &Call<'_>, req: &ChatRequest) -> Result<ChatResponse> {
    let url = call.url("/chat/completions");
    json_at(http, call, &url, Auth::Bearer, req, &req.extra).await
}

/// `POST /chat/completions` with `stream: true`.
pub async fn chat_stream(http: &Client, call: &Call<'_>, req: &ChatRequest) -> Result<ChatStream> {
    let url = call.url("/chat/completions");
    stream_at(http, call, &url, Auth::Bearer, req, &req.extra).await
}

/// `POST /completions`.
pub async fn text(http: &Client, call: &Call<'_>, req: &TextRequest) -> Result<TextResponse> {
    let url = call.url("/completions");
    json_at(http, call, &url, Auth::Bearer, req, &req.extra).await
}

/// `POST /completions` with `stream: true`.
pub async fn text_stream(http: &Client, call: &Call<'_>, req: &TextRequest) -> Result<TextStream> {
    let url = call.url("/completions");
    stream_at(http, call, &url, Auth::Bearer, req, &req.extra).await
}

/// `POST /embeddings`.
pub async fn embed(
    http: &Client,
    call: &Call<'_>,
    req: &EmbeddingRequest,
) -> Result<EmbeddingResponse> {
    let url = call.url("/embeddings");
    json_at(http, call, &url, Auth::Bearer, req, &req.extra).await
}

/// Any JSON operation of this wire format at `url` with `auth` (Azure brings its deployment
/// URLs and `api-key`): the canonical `params` with the upstream model, plus the client's
/// unknown `extra` fields when it asked for them to pass through.
pub async fn json_at<P: Serialize, R: DeserializeOwned>(
    http: &Client,
    call: &Call<'_>,
    url: &str,
    auth: Auth,
    params: &P,
    extra: &JsonObject,
) -> Result<R> {
    let body = Outgoing::new(call, params, extra, false);
    let resp = http::post_json(http, call, url, auth, &[], &body, error).await?;
    http::read_json(call, resp).await
}

/// The streamed form of [`json_at`]: `data:` events decoded as `T` until `[DONE]`.
pub async fn stream_at<P: Serialize, T: DeserializeOwned + Send + 'static>(
    http: &Client,
    call: &Call<'_>,
    url: &str,
    auth: Auth,
    params: &P,
    extra: &JsonObject,
) -> Result<Pin<Box<dyn Stream<Item = Result<T>> + Send>>> {
    let body = Outgoing::new(call, params, extra, true);
    let resp = http::post_json(http, call, url, auth, &[], &body, error).await?;
    Ok(Box::pin(data_stream::<T>(call, resp)))
}

/// `POST /rerank` (vLLM's rerank API, Cohere-shaped): documents go as text, and the answer's
/// results are ordered and given their documents as the client asked.
pub async fn rerank(http: &Client, call: &Call<'_>, req: &RerankRequest) -> Result<RerankResponse> {
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
pub async fn list_models(http: &Client, call: &Call<'_>) -> Result<Vec<Model>> {
    let url = call.url("/models");
    let resp = http::get(http, call, &url, Auth::Bearer, &[], error).await?;
    let list: ModelList = http::read_json(call, resp).await?;
    Ok(list.data)
}

/// `data:` events decoded as `T` until `[DONE]`; an `{"error":...}` event becomes an error.
fn data_stream<T>(
    call: &Call<'_>,
    resp: Response,
) -> impl futures_util::Stream<Item = Result<T>> + Send + 'static
where
    T: serde::de::DeserializeOwned + Send + 'static,
{
    let provider = call.provider.to_owned();
    UntilDone {
        events: Some(Box::pin(http::sse_events(call, resp))),
    }
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

/// How long the rest of a body after `data: [DONE]` is read in the background at most.
const DRAIN_WAIT: std::time::Duration = std::time::Duration::from_secs(1);

type Events = Pin<Box<dyn Stream<Item = Result<SseEvent>> + Send>>;

/// The events before `data: [DONE]`. The body's rest is still read to its end (normally it is
/// just the chunked encoding's last chunk, already received): a response dropped before its end
/// closes its connection, and the next request would pay for a new one.
struct UntilDone {
    events: Option<Events>,
}

impl Stream for UntilDone {
    type Item = Result<SseEvent>;

    fn poll_next(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        let Some(events) = self.events.as_mut() else {
            return std::task::Poll::Ready(None);
        };
        let next = std::task::ready!(events.poll_next_unpin(cx));
        match next {
            Some(Ok(ev)) if ev.data.trim() == "[DONE]" => {
                if let Some(rest) = self.events.take() {
                    drain(rest);
                }
                std::task::Poll::Ready(None)
            }
            None => {
                self.events = None;
                std::task::Poll::Ready(None)
            }
            item => std::task::Poll::Ready(item),
        }
    }
}

/// Reads what is left of a body: at once what has already arrived, then, if the body goes on,
/// in the background for at most [`DRAIN_WAIT`].
fn drain(mut rest: Events) {
    use futures_util::FutureExt;
    for _ in 0..64 {
        match rest.next().now_or_never() {
            Some(Some(_)) => continue,
            Some(None) => return,
            None => break,
        }
    }
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        runtime.spawn(async move {
            let to_end = async { while rest.next().await.is_some() {} };
            let _ = tokio::time::timeout(DRAIN_WAIT, to_end).await;
        });
    }
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
