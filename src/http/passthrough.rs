//! The passthrough routes: `/openai_passthrough/*`, `/anthropic_passthrough/*`,
//! `/azure_passthrough/*` and `/genai_passthrough/*` forward a native request (any method, its path after the prefix, its
//! query and body) to the route's provider with one of the gateway's keys in the native auth
//! header. The client's own credentials are never forwarded. Unlike Bifrost (#2873), the
//! request still goes through admission: the virtual key is checked and budgets and rate
//! limits apply and are charged; it is logged and measured like any other request.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, MethodRouter};
use axum::Router;
use http::{HeaderMap, Method, Uri};
use serde::Deserialize;

use super::dropin::{limit_mb, request_options};
use super::inference::in_context;
use super::request::read_body;
use super::AppState;
use crate::providers::http::Auth;
use crate::providers::passthrough::{forwardable_headers, PassthroughRequest, PassthroughResponse};
use crate::schemas::RequestType;

/// A native API the gateway forwards.
struct Native {
    /// The route's prefix, stripped before forwarding.
    prefix: &'static str,
    /// The provider that serves it.
    provider: &'static str,
    /// How the native API carries a key.
    auth: Auth,
}

const OPENAI: Native = Native {
    prefix: "/openai_passthrough",
    provider: "openai",
    auth: Auth::Bearer,
};

const ANTHROPIC: Native = Native {
    prefix: "/anthropic_passthrough",
    provider: "anthropic",
    auth: Auth::XApiKey,
};

const AZURE: Native = Native {
    prefix: "/azure_passthrough",
    provider: "azure",
    // The wire format chooses `api-key` or an Entra token per key.
    auth: Auth::Header("api-key"),
};

const GENAI: Native = Native {
    prefix: "/genai_passthrough",
    provider: "gemini",
    auth: Auth::Header("x-goog-api-key"),
};

/// The passthrough route set: `{prefix}/{*rest}` for each native API.
pub fn routes() -> Router<Arc<AppState>> {
    [&OPENAI, &ANTHROPIC, &AZURE, &GENAI]
        .into_iter()
        .fold(Router::new(), |router, native| {
            router.route(
                &format!("{}/{{*rest}}", native.prefix),
                native_route(native),
            )
        })
}

/// Every method of one native API's routes, forwarded by [`forward`].
fn native_route(native: &'static Native) -> MethodRouter<Arc<AppState>> {
    any(
        move |state: State<Arc<AppState>>,
              method: Method,
              uri: Uri,
              headers: HeaderMap,
              body: Result<Bytes, BytesRejection>| {
            forward(native, state, method, uri, headers, body)
        },
    )
}

async fn forward(
    native: &Native,
    State(state): State<Arc<AppState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let path = uri.path().strip_prefix(native.prefix).unwrap_or("/");
    let fields = BodyFields::read(&headers, body.as_ref().ok());
    let stream = fields.stream == Some(true)
        || path.contains(":streamGenerateContent")
        || uri
            .query()
            .is_some_and(|q| q.split('&').any(|p| p == "alt=sse"));
    let request_type = if stream {
        RequestType::PassthroughStream
    } else {
        RequestType::Passthrough
    };
    let model = fields.model.clone().or_else(|| model_in_path(path));
    let routed_model = format!("{}/{}", native.provider, model.as_deref().unwrap_or("*"));
    let body = match read_body(body, limit_mb(&state)) {
        Ok(b) => b,
        Err(e) => return in_context(&state, &routed_model, Some(request_type), e).into_response(),
    };
    // As in Bifrost, `x-model-provider` may only repeat the route's provider: a native body
    // cannot be sent to another provider's API.
    let named = headers
        .get("x-model-provider")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|p| !p.is_empty());
    if let Some(other) = named.filter(|p| *p != native.provider) {
        let e = crate::error::Error::BadRequest(format!(
            "x-model-provider `{other}` does not match this passthrough route's provider `{}`",
            native.provider
        ));
        return in_context(&state, &routed_model, Some(request_type), e).into_response();
    }
    let req = PassthroughRequest {
        routed_model,
        method,
        path: path.to_owned(),
        query: uri.query().map(str::to_owned),
        headers: forwardable_headers(&headers),
        body,
        stream,
        max_output_tokens: fields.output_limit(),
        auth: native.auth,
    };
    let opts = request_options(&state, &headers);
    match state.gateway.passthrough(&req, &opts).await {
        Ok((resp, _)) => respond(resp),
        Err(e) => in_context(&state, &req.routed_model, Some(request_type), e).into_response(),
    }
}

/// The upstream's status, headers and body, the body streamed as it arrives.
fn respond(resp: PassthroughResponse) -> Response {
    let mut builder = Response::builder().status(resp.status);
    for (name, value) in resp.headers {
        builder = builder.header(name, value);
    }
    // A body that breaks off mid-way aborts the response, so the client sees it as broken
    // rather than complete.
    builder
        .body(Body::from_stream(resp.body))
        .unwrap_or_else(|_| {
            crate::error::Error::Internal("could not build the passthrough response".into())
                .into_response()
        })
}

/// The few body fields passthrough looks at.
#[derive(Debug, Default, Deserialize)]
struct BodyFields {
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    stream: Option<bool>,
    /// OpenAI and Anthropic.
    #[serde(default)]
    max_tokens: Option<u64>,
    /// OpenAI chat.
    #[serde(default)]
    max_completion_tokens: Option<u64>,
    /// OpenAI Responses.
    #[serde(default)]
    max_output_tokens: Option<u64>,
    /// GenAI.
    #[serde(default, rename = "generationConfig")]
    generation_config: Option<GenerationConfig>,
}

/// GenAI's `generationConfig`, for its output limit.
#[derive(Debug, Default, Deserialize)]
struct GenerationConfig {
    #[serde(default, rename = "maxOutputTokens")]
    max_output_tokens: Option<u64>,
}

impl BodyFields {
    /// Reads `model` and `stream` from a JSON body; anything else reads as neither.
    fn read(headers: &HeaderMap, body: Option<&Bytes>) -> Self {
        let json = headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_none_or(|ct| ct.contains("json"));
        match body {
            Some(b) if json && b.first() == Some(&b'{') => {
                serde_json::from_slice(b).unwrap_or_default()
            }
            _ => Self::default(),
        }
    }
}

impl BodyFields {
    /// The output-token limit the body sets, in whichever native field it uses.
    fn output_limit(&self) -> Option<u64> {
        self.max_completion_tokens
            .or(self.max_tokens)
            .or(self.max_output_tokens)
            .or(self
                .generation_config
                .as_ref()
                .and_then(|g| g.max_output_tokens))
    }
}

/// The model of a GenAI path (`.../models/{model}:{action}`) or the deployment of an Azure one
/// (`/openai/deployments/{deployment}/...`).
fn model_in_path(path: &str) -> Option<String> {
    let (_, rest) = path
        .rsplit_once("/models/")
        .or_else(|| path.split_once("/deployments/"))?;
    let model = rest.split([':', '/']).next()?;
    (!model.is_empty()).then(|| model.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn models_come_from_the_body_or_the_genai_path() {
        let mut h = HeaderMap::new();
        h.insert("content-type", "application/json".parse().unwrap());
        let body = Bytes::from_static(br#"{"model":"gpt-4o","stream":true,"messages":[]}"#);
        let f = BodyFields::read(&h, Some(&body));
        assert_eq!(f.model.as_deref(), Some("gpt-4o"));
        assert_eq!(f.stream, Some(true));
        let f = BodyFields::read(&h, Some(&Bytes::from_static(b"[1,2]")));
        assert!(f.model.is_none());
        assert_eq!(
            model_in_path("/v1beta/models/gemini-2.5-flash:streamGenerateContent").as_deref(),
            Some("gemini-2.5-flash")
        );
        assert_eq!(
            model_in_path(
                "/v1/projects/p/locations/l/publishers/google/models/g-1:generateContent"
            )
            .as_deref(),
            Some("g-1")
        );
        assert_eq!(model_in_path("/v1/files"), None);
        assert_eq!(
            model_in_path("/openai/deployments/prod-gpt4o/chat/completions").as_deref(),
            Some("prod-gpt4o")
        );
    }
}
