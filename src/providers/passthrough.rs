//! Raw forwarding for the passthrough routes: a native request goes upstream as it came
//! (method, path, query, body) with the gateway's key in the native API's auth header, and the
//! answer comes back unchanged, its body streamed chunk by chunk.

use std::pin::Pin;

use ::http::{HeaderMap, HeaderName, HeaderValue, Method};
use bytes::Bytes;
use futures_util::{Stream, StreamExt};

use super::http::{self, Auth};
use super::Call;
use crate::error::Result;
use crate::providers::client::Client;

/// A stream of raw body bytes.
pub type ByteStream = Pin<Box<dyn Stream<Item = Result<Bytes>> + Send>>;

/// One native request to forward.
#[derive(Debug, Clone)]
pub struct PassthroughRequest {
    /// `provider/model` for routing, key choice and governance. The model is the one the body
    /// or path names, or `*` when it names none (then only keys and virtual keys that allow
    /// every model may serve it).
    pub routed_model: String,
    /// HTTP method.
    pub method: Method,
    /// The native path after the route's prefix (`/v1/chat/completions`).
    pub path: String,
    /// The raw query string, without `?`.
    pub query: Option<String>,
    /// Client headers that may go upstream: credentials, hop-by-hop and `x-bf-*` headers are
    /// already removed.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// The body as sent.
    pub body: Bytes,
    /// Whether the client asked for a streamed answer.
    pub stream: bool,
    /// The output limit the body sets, if any, for budget reservations.
    pub max_output_tokens: Option<u64>,
    /// How the native API carries the key.
    pub auth: Auth,
}

/// The upstream's answer, unchanged.
pub struct PassthroughResponse {
    /// Status code.
    pub status: u16,
    /// Response headers, hop-by-hop ones removed.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// The body, as it arrives.
    pub body: ByteStream,
}

impl std::fmt::Debug for PassthroughResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PassthroughResponse")
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

/// Client headers never forwarded: credentials (the gateway sends its own key), hop-by-hop
/// headers, cookies (the dashboard's session lives there) and `accept-encoding` (so that the
/// gateway can read usage from the answer).
const DROPPED_REQUEST_HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "api-key",
    "x-api-key",
    "x-goog-api-key",
    "cookie",
    "host",
    "content-length",
    "connection",
    "keep-alive",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
    "accept-encoding",
];

/// Response headers not copied back: the body is re-framed by our server.
const DROPPED_RESPONSE_HEADERS: &[&str] = &[
    "connection",
    "keep-alive",
    "transfer-encoding",
    "content-length",
    "trailer",
    "upgrade",
];

/// The client headers a passthrough request may forward.
pub fn forwardable_headers(headers: &HeaderMap) -> Vec<(HeaderName, HeaderValue)> {
    headers
        .iter()
        .filter(|(name, _)| {
            let n = name.as_str();
            !n.starts_with("x-bf-") && !DROPPED_REQUEST_HEADERS.contains(&n)
        })
        .map(|(n, v)| (n.clone(), v.clone()))
        .collect()
}

/// The upstream URL: the provider's base URL, the native path (without a repeated version
/// prefix when the base already ends with it) and the query.
pub fn url(call: &Call<'_>, path: &str, query: Option<&str>) -> String {
    let prefix = call.path_prefix;
    let path = if !prefix.is_empty() && call.base_url.ends_with(prefix) {
        path.strip_prefix(prefix)
            .filter(|rest| rest.is_empty() || rest.starts_with('/'))
            .unwrap_or(path)
    } else {
        path
    };
    match query.filter(|q| !q.is_empty()) {
        Some(q) => format!("{}{path}?{q}", call.base_url),
        None => format!("{}{path}", call.base_url),
    }
}

/// Sends the request to the call's base URL and returns the answer, whatever its status.
pub async fn forward(
    client: &Client,
    call: &Call<'_>,
    req: &PassthroughRequest,
) -> Result<PassthroughResponse> {
    let url = url(call, &req.path, req.query.as_deref());
    forward_to(client, call, req, &url, req.auth).await
}

/// Sends the request to `url` with `auth` (Azure decides both per key).
pub async fn forward_to(
    client: &Client,
    call: &Call<'_>,
    req: &PassthroughRequest,
    url: &str,
    auth: Auth,
) -> Result<PassthroughResponse> {
    let builder = client
        .request(req.method.clone(), url)
        .body(req.body.clone());
    let resp = http::send_unchecked(builder, call, auth, &req.headers).await?;
    let status = resp.status().as_u16();
    let headers = resp
        .headers()
        .iter()
        .filter(|(n, _)| !DROPPED_RESPONSE_HEADERS.contains(&n.as_str()))
        .map(|(n, v)| (n.clone(), v.clone()))
        .collect();
    let provider = call.provider.to_owned();
    let body = resp
        .bytes_stream()
        .map(move |chunk| chunk.map_err(|e| http::interrupted(&provider, &e)));
    Ok(PassthroughResponse {
        status,
        headers,
        body: Box::pin(body),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn call(base: &str) -> Call<'_> {
        Call {
            provider: "openai",
            base_url: base,
            path_prefix: "/v1",
            api_key: None,
            key_config: None,
            model: "gpt-4o",
            extra_headers: &[],
            passthrough_extra: false,
            timeout: Duration::from_secs(1),
            path_override: None,
        }
    }

    #[test]
    fn urls_keep_the_native_path_and_query() {
        let c = call("http://up");
        assert_eq!(
            url(&c, "/v1/chat/completions", Some("a=1")),
            "http://up/v1/chat/completions?a=1"
        );
        let c = call("http://up/v1");
        assert_eq!(url(&c, "/v1/models", None), "http://up/v1/models");
        assert_eq!(url(&c, "/v1beta/x", Some("")), "http://up/v1/v1beta/x");
    }

    #[test]
    fn credentials_and_gateway_headers_never_go_upstream() {
        let mut h = HeaderMap::new();
        for (n, v) in [
            ("authorization", "Bearer sk-bf-vk"),
            ("x-api-key", "client-key"),
            ("api-key", "azure-client-key"),
            ("x-goog-api-key", "g"),
            ("cookie", "token=admin"),
            ("x-bf-vk", "sk-bf-vk"),
            ("anthropic-version", "2023-06-01"),
            ("openai-beta", "assistants=v2"),
        ] {
            h.insert(n, HeaderValue::from_static(v));
        }
        let mut names: Vec<String> = forwardable_headers(&h)
            .into_iter()
            .map(|(n, _)| n.to_string())
            .collect();
        names.sort();
        assert_eq!(names, vec!["anthropic-version", "openai-beta"]);
    }
}
