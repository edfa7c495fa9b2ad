//! HTTP plumbing shared by the wire formats: sending, error mapping, SSE decoding.

use ::http::header::{HeaderName, HeaderValue, CONTENT_TYPE};
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::client::{self, Client, Response};
use super::sse::{self, SseEvent};
use super::Call;
use crate::error::{Error, Result, UpstreamError};
use crate::schemas::openai::{ErrorBody, JsonObject};

/// How a wire format authenticates.
#[derive(Debug, Clone, Copy)]
pub enum Auth {
    /// `Authorization: Bearer <key>`.
    Bearer,
    /// `x-api-key: <key>` (Anthropic).
    XApiKey,
    /// The key as the whole value of a header of its own: `api-key` for Azure,
    /// `x-goog-api-key` for Google's GenAI API (a header rather than the `?key=` query parameter
    /// Google also accepts, so the key never sits in a URL).
    Header(&'static str),
}

const X_API_KEY: HeaderName = HeaderName::from_static("x-api-key");

/// POSTs a JSON body and returns the response once its status is a success; a failure status is
/// turned into [`Error::Upstream`] by `parse_error`.
pub async fn post_json<B: Serialize + ?Sized>(
    http: &Client,
    call: &Call<'_>,
    url: &str,
    auth: Auth,
    fixed_headers: &[(HeaderName, HeaderValue)],
    body: &B,
    parse_error: fn(&str, u16, &[u8]) -> UpstreamError,
) -> Result<Response> {
    let payload = crate::json::to_vec(body).map_err(|e| Error::Internal(e.to_string()))?;
    let req = http
        .post(url)
        .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
        .body(payload);
    send(req, call, auth, fixed_headers, parse_error).await
}

/// GETs a URL with the call's auth and headers.
pub async fn get(
    http: &Client,
    call: &Call<'_>,
    url: &str,
    auth: Auth,
    fixed_headers: &[(HeaderName, HeaderValue)],
    parse_error: fn(&str, u16, &[u8]) -> UpstreamError,
) -> Result<Response> {
    send(http.get(url), call, auth, fixed_headers, parse_error).await
}

/// POSTs a form (`application/x-www-form-urlencoded`: an OAuth token request) without the
/// call's auth or extra headers, and returns the status and the whole body, whatever the status.
/// Both waits are bounded by the call's timeout.
pub async fn post_form(
    http: &Client,
    call: &Call<'_>,
    url: &str,
    form: String,
) -> Result<(u16, Bytes)> {
    let req = http
        .post(url)
        .header(
            CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        )
        .body(form);
    let resp = tokio::time::timeout(call.timeout, req.send())
        .await
        .map_err(|_| timeout(call))?
        .map_err(|e| transport_error(call, &e))?;
    let status = resp.status().as_u16();
    Ok((status, whole_body(call, resp).await?))
}

/// The whole body of a (small) answer, the wait bounded by the call's timeout.
async fn whole_body(call: &Call<'_>, resp: Response) -> Result<Bytes> {
    tokio::time::timeout(call.timeout, resp.bytes())
        .await
        .map_err(|_| timeout(call))?
        .map_err(|e| transport_error(call, &e))
}

async fn send(
    req: client::RequestBuilder<'_>,
    call: &Call<'_>,
    auth: Auth,
    fixed_headers: &[(HeaderName, HeaderValue)],
    parse_error: fn(&str, u16, &[u8]) -> UpstreamError,
) -> Result<Response> {
    let resp = send_unchecked(req, call, auth, fixed_headers).await?;
    let status = resp.status().as_u16();
    if (200..300).contains(&status) {
        return Ok(resp);
    }
    if (300..400).contains(&status) {
        return Err(Error::Upstream(Box::new(redirect_refused(
            call.provider,
            status,
        ))));
    }
    let body = whole_body(call, resp).await?;
    Err(Error::Upstream(Box::new(parse_error(
        call.provider,
        status,
        &body,
    ))))
}

/// A provider that answered with a redirect: a bad gateway, with what to fix (the URL it named
/// is left out, as it may carry anything).
fn redirect_refused(provider: &str, status: u16) -> UpstreamError {
    UpstreamError {
        provider: provider.to_owned(),
        status: 502,
        message: format!(
            "the provider answered HTTP {status}, a redirect; upstream redirects are not \
             followed: check the provider's base_url"
        ),
        error_type: None,
        code: None,
        param: None,
    }
}

/// Sends a request with the call's headers and auth and returns the response head whatever
/// its status (passthrough hands error answers back as they are).
pub async fn send_unchecked(
    mut req: client::RequestBuilder<'_>,
    call: &Call<'_>,
    auth: Auth,
    fixed_headers: &[(HeaderName, HeaderValue)],
) -> Result<Response> {
    for (name, value) in fixed_headers.iter().chain(call.extra_headers) {
        req = req.header(name, value);
    }
    if let Some(key) = call.api_key {
        req = match auth {
            Auth::Bearer => req.bearer_auth(key.expose()),
            Auth::XApiKey => req.secret_header(X_API_KEY, key.expose()),
            Auth::Header(name) => req.secret_header(HeaderName::from_static(name), key.expose()),
        };
    }
    // The timeout bounds the wait for the response head, not the body: a stream may run longer
    // than the request timeout, and its silences are bounded by the stream idle timeout
    // instead. JSON bodies are bounded again
    // in `read_json`.
    tokio::time::timeout(call.timeout, req.send())
        .await
        .map_err(|_| timeout(call))?
        .map_err(|e| transport_error(call, &e))
}

fn timeout(call: &Call<'_>) -> Error {
    Error::Timeout {
        provider: call.provider.to_owned(),
        seconds: call.timeout.as_secs(),
    }
}

/// Maps a client failure to a network error naming what failed and why, without the URL (it
/// may carry a key in its query for some providers).
pub fn transport_error(call: &Call<'_>, e: &client::Error) -> Error {
    Error::Network {
        provider: call.provider.to_owned(),
        message: with_causes(e),
    }
}

/// The error's message followed by its causes', `: `-separated (what failed, then why: the
/// refused connection, the certificate rustls rejected, ...).
pub fn with_causes(e: &client::Error) -> String {
    let mut message = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        message.push_str(": ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    message
}

/// Reads a whole JSON body into `T`.
pub async fn read_json<T: DeserializeOwned>(call: &Call<'_>, resp: Response) -> Result<T> {
    let bytes = tokio::time::timeout(call.timeout, resp.bytes())
        .await
        .map_err(|_| timeout(call))?
        .map_err(|e| transport_error(call, &e))?;
    crate::json::from_slice(&bytes).map_err(|e| Error::BadUpstreamResponse {
        provider: call.provider.to_owned(),
        message: e.to_string(),
    })
}

/// The response body as a stream of SSE events, with transport errors mapped.
pub fn sse_events(
    call: &Call<'_>,
    resp: Response,
) -> impl Stream<Item = Result<SseEvent>> + Send + 'static {
    let provider = call.provider.to_owned();
    let bytes = resp
        .bytes_stream()
        .map(move |r: std::result::Result<Bytes, client::Error>| {
            r.map_err(|e| interrupted(&provider, &e))
        });
    sse::events(Box::pin(bytes))
}

/// A body that broke off after the head arrived, without the URL.
pub fn interrupted(provider: &str, e: &client::Error) -> Error {
    Error::Network {
        provider: provider.to_owned(),
        message: format!("stream interrupted: {e}"),
    }
}

/// Parses OpenAI's error body (`{"error":{...}}`), falling back to the raw text.
pub fn parse_openai_error(provider: &str, status: u16, body: &[u8]) -> UpstreamError {
    let parsed: Option<ErrorBody> = serde_json::from_slice(body).ok();
    match parsed {
        Some(b) => UpstreamError {
            provider: provider.to_owned(),
            status,
            message: b.error.message,
            error_type: b.error.kind,
            code: b.error.code.map(value_text),
            param: b.error.param.map(value_text),
        },
        None => raw_error(provider, status, body),
    }
}

/// An error whose body is not in a known shape: its text, bounded.
pub fn raw_error(provider: &str, status: u16, body: &[u8]) -> UpstreamError {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    let message = if text.is_empty() {
        format!("provider answered HTTP {status}")
    } else {
        text.chars().take(2000).collect()
    };
    UpstreamError {
        provider: provider.to_owned(),
        status,
        message,
        error_type: None,
        code: None,
        param: None,
    }
}

fn value_text(v: serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s,
        other => other.to_string(),
    }
}

/// A request body: the typed request, or, when unknown client fields pass through
/// (`x-bf-passthrough-extra-params`), the typed request as a JSON object with those fields
/// added. Translated fields win over passed-through ones so that a stray field cannot produce a
/// duplicate key.
#[derive(Serialize)]
#[serde(untagged)]
pub enum Outgoing<T> {
    /// Only the translated fields.
    Typed(T),
    /// Translated fields plus the client's extra ones.
    Merged(JsonObject),
}

impl<T: Serialize> Outgoing<T> {
    /// The body to send for `body`, with `extra` merged in when `passthrough` is on.
    pub fn new(body: T, extra: &JsonObject, passthrough: bool) -> Result<Self> {
        if !passthrough || extra.is_empty() {
            return Ok(Outgoing::Typed(body));
        }
        let mut map = to_object(&body)?;
        for (k, v) in extra {
            map.entry(k.clone()).or_insert_with(|| v.clone());
        }
        Ok(Outgoing::Merged(map))
    }

    /// The body as a JSON object, for wire formats that edit it further.
    pub fn into_object(self) -> Result<JsonObject> {
        match self {
            Outgoing::Typed(body) => to_object(&body),
            Outgoing::Merged(map) => Ok(map),
        }
    }
}

fn to_object<T: Serialize>(body: &T) -> Result<JsonObject> {
    match serde_json::to_value(body) {
        Ok(serde_json::Value::Object(map)) => Ok(map),
        Ok(_) => Err(Error::Internal(
            "request did not serialize to an object".into(),
        )),
        Err(e) => Err(Error::Internal(e.to_string())),
    }
}

/// Percent-encodes a query or form value: everything but RFC 3986's unreserved characters.
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Decodes a JSON event payload, naming the provider on failure.
pub fn decode_event<T: DeserializeOwned>(provider: &str, data: &str) -> Result<T> {
    serde_json::from_str(data).map_err(|e| Error::BadUpstreamResponse {
        provider: provider.to_owned(),
        message: format!("bad stream event: {e}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openai_errors_keep_type_and_code() {
        let body = br#"{"error":{"message":"Incorrect API key","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}"#;
        let e = parse_openai_error("openai", 401, body);
        assert_eq!(e.message, "Incorrect API key");
        assert_eq!(e.error_type.as_deref(), Some("invalid_request_error"));
        assert_eq!(e.code.as_deref(), Some("invalid_api_key"));
        let e = parse_openai_error("vllm", 502, b"<html>bad gateway</html>");
        assert_eq!(e.message, "<html>bad gateway</html>");
    }
}
