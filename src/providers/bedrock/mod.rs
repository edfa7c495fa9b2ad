//! AWS Bedrock: chat through the Converse API (`/model/{modelId}/converse`, and
//! `converse-stream` in AWS EventStream framing), text completions through chat, embeddings
//! through InvokeModel (Titan and Cohere bodies).
//!
//! Requests are signed with SigV4 (credentials from the key, the environment, web identity, or
//! an assumed role), or carry a Bedrock API key as a bearer token when the key has a `value`
//! and no access key. The model id is the key's `deployments` entry when it has one, prefixed
//! by its inference-profile `arn` when set, and is URL-encoded into the path.

mod credentials;
mod embed;
pub mod eventstream;
mod request;
mod response;
pub mod sigv4;
mod stream;
#[cfg(test)]
mod tests;
mod wire;

use ::http::header::{ACCEPT, CONTENT_TYPE};
use futures_util::StreamExt;
use serde::Serialize;

use crate::config::types::BedrockKeyConfig;
// Text completions are served through chat exactly as the litellm fallback does it.
use crate::engine::text_compat;
use crate::error::{Error, Result, UpstreamError};
use crate::providers::client::{Client, RequestBuilder, Response};
use crate::providers::http;
use crate::providers::{unix_now, Call, ChatStream};
use crate::schemas::openai::{
    ChatRequest, ChatResponse, EmbeddingRequest, EmbeddingResponse, TextRequest, TextResponse,
};

pub use credentials::Credentials;
pub use request::to_converse_request;
pub use response::{finish_reason, to_chat_response};
pub use stream::translate_messages;

/// The default base URL; `{region}` is replaced by the key's region.
pub const DEFAULT_BASE_URL: &str = "https://bedrock-runtime.{region}.amazonaws.com";
const REGION_PLACEHOLDER: &str = "{region}";
/// AWS's default region, as Bifrost uses it when none is configured.
const DEFAULT_REGION: &str = "us-east-1";
/// The SigV4 service name of bedrock-runtime.
const SERVICE: &str = "bedrock";
const EVENT_STREAM: &str = "application/vnd.amazon.eventstream";

/// `POST /model/{modelId}/converse`.
pub async fn chat(http: &Client, call: &Call<'_>, req: &ChatRequest) -> Result<ChatResponse> {
    let body = to_converse_request(call.model, req, call.passthrough_extra)?;
    let resp = post(http, call, "converse", &body, "application/json").await?;
    let answer: wire::ConverseResponse = http::read_json(call, resp).await?;
    Ok(to_chat_response(answer, new_id(), call.model, unix_now()))
}

/// `POST /model/{modelId}/converse-stream`; resolves once Bedrock accepted the request.
pub async fn chat_stream(http: &Client, call: &Call<'_>, req: &ChatRequest) -> Result<ChatStream> {
    let body = to_converse_request(call.model, req, call.passthrough_extra)?;
    let resp = post(http, call, "converse-stream", &body, EVENT_STREAM).await?;
    let provider = call.provider.to_owned();
    let on_transport = provider.clone();
    let bytes = resp.bytes_stream().map(move |r| {
        r.map_err(|_| Error::Network {
            provider: on_transport.clone(),
            message: "stream interrupted".into(),
        })
    });
    let messages = eventstream::messages(Box::pin(bytes), move |e| Error::BadUpstreamResponse {
        provider: provider.clone(),
        message: e.to_string(),
    });
    Ok(translate_messages(
        call.provider,
        new_id(),
        call.model,
        unix_now(),
        messages,
    ))
}

/// A text completion through Converse: the prompt is one user message.
pub async fn text(http: &Client, call: &Call<'_>, req: &TextRequest) -> Result<TextResponse> {
    let chat_req = text_compat::to_chat(req)?;
    Ok(text_compat::from_chat(chat(http, call, &chat_req).await?))
}

/// Embeddings through InvokeModel.
pub async fn embed(
    http: &Client,
    call: &Call<'_>,
    req: &EmbeddingRequest,
) -> Result<EmbeddingResponse> {
    embed::embed(http, call, req).await
}

/// POSTs `body` to `/model/{modelId}/{operation}`, authenticated, and returns the response
/// once its status is a success.
async fn post<B: Serialize + ?Sized>(
    http: &Client,
    call: &Call<'_>,
    operation: &str,
    body: &B,
    accept: &'static str,
) -> Result<Response> {
    let key = call.key_config.and_then(|k| k.bedrock_key_config.as_ref());
    let region = region(call.provider, key)?;
    let model_id = model_id(call.provider, call.model, key)?;
    let path = format!("/model/{}/{operation}", http::percent_encode(&model_id));
    let url = call.url(&path).replace(REGION_PLACEHOLDER, &region);
    let url = reqwest::Url::parse(&url)
        .map_err(|e| Error::Config(format!("provider {}: bad Bedrock URL ({e})", call.provider)))?;
    let payload = crate::json::to_vec(body).map_err(|e| Error::Internal(e.to_string()))?;
    let mut req = http
        .post(url.clone())
        .header(CONTENT_TYPE, "application/json")
        .header(ACCEPT, accept);
    for (name, value) in call.extra_headers {
        req = req.header(name, value);
    }
    let bearer = call
        .api_key
        .filter(|_| key.is_none_or(|k| k.access_key.is_empty()));
    if let Some(api_key) = bearer {
        req = req.bearer_auth(api_key.expose());
    } else {
        let creds = credentials::resolve(http, call.provider, key, &region).await?;
        let signable = sigv4::Signable {
            method: "POST",
            url: &url,
            payload: &payload,
        };
        let scope = sigv4::Scope {
            region: &region,
            service: SERVICE,
        };
        for (name, value) in sigv4::sign(signable, &creds, scope, unix_now())? {
            req = req.header(name, value);
        }
    }
    send(call, req.body(payload)).await
}

/// Sends a request; a failure status becomes [`Error::Upstream`] in Bedrock's words.
async fn send(call: &Call<'_>, req: RequestBuilder<'_>) -> Result<Response> {
    let timeout = || Error::Timeout {
        provider: call.provider.to_owned(),
        seconds: call.timeout.as_secs(),
    };
    // The timeout bounds the wait for the response head; streams are bounded by the stream
    // idle timeout instead (as in `http::send`).
    let resp = tokio::time::timeout(call.timeout, req.send())
        .await
        .map_err(|_| timeout())?
        .map_err(|e| http::transport_error(call, &e))?;
    let status = resp.status().as_u16();
    if (200..300).contains(&status) {
        return Ok(resp);
    }
    let error_type = resp
        .headers()
        .get("x-amzn-errortype")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = tokio::time::timeout(call.timeout, resp.bytes())
        .await
        .map_err(|_| timeout())?
        .map_err(|e| http::transport_error(call, &e))?;
    Err(Error::Upstream(Box::new(parse_error(
        call.provider,
        status,
        error_type.as_deref(),
        &body,
    ))))
}

/// Parses Bedrock's error body (`{"message": ...}`), the exception name coming from `__type`
/// or the `x-amzn-ErrorType` header; anything else is kept as raw text.
pub fn parse_error(
    provider: &str,
    status: u16,
    error_type_header: Option<&str>,
    body: &[u8],
) -> UpstreamError {
    let parsed: wire::ErrorBody = match serde_json::from_slice(body) {
        Ok(b) => b,
        Err(_) => return http::raw_error(provider, status, body),
    };
    if parsed.message.is_empty() {
        return http::raw_error(provider, status, body);
    }
    let kind = parsed
        .kind
        .as_deref()
        .or(error_type_header)
        .map(exception_name)
        .filter(|k| !k.is_empty());
    UpstreamError {
        provider: provider.to_owned(),
        status,
        message: parsed.message,
        error_type: kind,
        code: None,
        param: None,
    }
}

/// `com.amazon.coral.service#ValidationException` and
/// `ValidationException:http://internal.amazon.com/...` both name `ValidationException`.
fn exception_name(raw: &str) -> String {
    let name = raw.rsplit('#').next().unwrap_or(raw);
    name.split(':').next().unwrap_or(name).trim().to_owned()
}

/// The HTTP status an in-stream exception stands for. Transient ones get a status the retry
/// logic recognises (AWS asks to retry model stream errors and model timeouts).
pub(crate) fn exception_status(kind: &str) -> u16 {
    match kind.to_ascii_lowercase().as_str() {
        "throttlingexception" | "servicequotaexceededexception" => 429,
        "serviceunavailableexception" | "modelnotreadyexception" | "modelstreamerrorexception" => {
            503
        }
        "modeltimeoutexception" => 504,
        "validationexception" => 400,
        "accessdeniedexception" => 403,
        "resourcenotfoundexception" => 404,
        _ => 500,
    }
}

/// The key's region, else `AWS_REGION` / `AWS_DEFAULT_REGION`, else `us-east-1`.
fn region(provider: &str, key: Option<&BedrockKeyConfig>) -> Result<String> {
    if let Some(region) = credentials::optional(provider, key.and_then(|k| k.region.as_ref()))? {
        return Ok(region);
    }
    Ok(["AWS_REGION", "AWS_DEFAULT_REGION"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|r| !r.is_empty()))
        .unwrap_or_else(|| DEFAULT_REGION.to_owned()))
}

/// The model id for the path: the key's deployment for `model` (an inference profile id,
/// under the key's `arn` when set), else the model name itself.
fn model_id(provider: &str, model: &str, key: Option<&BedrockKeyConfig>) -> Result<String> {
    let Some(deployment) = key.and_then(|k| k.deployments.get(model)) else {
        return Ok(model.to_owned());
    };
    let arn = credentials::optional(provider, key.and_then(|k| k.arn.as_ref()))?;
    Ok(match arn {
        Some(arn) => format!("{}/{deployment}", arn.trim_end_matches('/')),
        None => deployment.clone(),
    })
}

fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}
