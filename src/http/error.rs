//! The one place an [`Error`] becomes an HTTP response: Bifrost's error JSON (§1.6).

use axum::response::{IntoResponse, Response};
use http::StatusCode;
use serde::Serialize;

use crate::error::Error;
use crate::schemas::RequestType;

/// An error with the request context Bifrost puts in `extra_fields`.
#[derive(Debug)]
pub struct ApiError {
    /// The error.
    pub error: Error,
    /// The request type, on inference routes.
    pub request_type: Option<RequestType>,
    /// The provider named by the request.
    pub provider: Option<String>,
    /// The model named by the request, without the provider prefix.
    pub model: Option<String>,
}

impl From<Error> for ApiError {
    fn from(error: Error) -> Self {
        Self {
            error,
            request_type: None,
            provider: None,
            model: None,
        }
    }
}

#[derive(Serialize)]
struct Body<'a> {
    event_id: Option<&'a str>,
    #[serde(rename = "type")]
    kind: &'a str,
    is_bifrost_error: bool,
    status_code: u16,
    error: Detail<'a>,
    #[serde(skip_serializing_if = "Extra::is_empty")]
    extra_fields: Extra<'a>,
}

#[derive(Serialize)]
struct Detail<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    code: Option<&'a str>,
    message: String,
    param: Option<&'a str>,
}

#[derive(Serialize)]
struct Extra<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    provider: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    model_requested: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    request_type: Option<RequestType>,
}

impl Extra<'_> {
    fn is_empty(&self) -> bool {
        self.provider.is_none() && self.model_requested.is_none() && self.request_type.is_none()
    }
}

impl ApiError {
    /// The JSON body, also used for an error event inside a stream.
    pub fn body(&self) -> Vec<u8> {
        let e = &self.error;
        let param = match e {
            Error::Upstream(u) => u.param.as_deref(),
            _ => None,
        };
        let body = Body {
            event_id: None,
            kind: e.error_type(),
            is_bifrost_error: e.is_bifrost_error(),
            status_code: e.status(),
            error: Detail {
                kind: e.error_type(),
                code: e.code(),
                message: e.to_string(),
                param,
            },
            extra_fields: Extra {
                provider: e.provider().or(self.provider.as_deref()),
                model_requested: self.model.as_deref(),
                request_type: self.request_type,
            },
        };
        serde_json::to_vec(&body)
            .unwrap_or_else(|_| b"{\"error\":{\"message\":\"internal error\"}}".to_vec())
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        respond(&self.error, self.body())
    }
}

/// The one place an error becomes a response, whatever the body's shape (Bifrost's JSON here,
/// Anthropic's or Google's on their SDK routes): the status, the JSON body, `Retry-After` for
/// rate limits, `Connection: close` for a body too large to read, and one log line.
pub fn respond(error: &Error, body: Vec<u8>) -> Response {
    let status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if status.is_server_error() {
        tracing::warn!(error = %error, kind = error.metric_label(), "request failed");
    } else {
        tracing::debug!(error = %error, kind = error.metric_label(), "request rejected");
    }
    let mut resp = (status, body).into_response();
    resp.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    if let Some(secs) = error.retry_after() {
        resp.headers_mut()
            .insert(http::header::RETRY_AFTER, http::HeaderValue::from(secs));
    }
    if matches!(error, Error::PayloadTooLarge { .. }) {
        // The rest of the body was never read, so the connection cannot carry another request;
        // saying so keeps clients from sending their next request into a closing socket.
        resp.headers_mut().insert(
            http::header::CONNECTION,
            http::HeaderValue::from_static("close"),
        );
    }
    resp
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        ApiError::from(self).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::UpstreamError;

    #[test]
    fn bifrost_shape_with_context() {
        let e = ApiError {
            error: Error::Upstream(Box::new(UpstreamError {
                provider: "openai".into(),
                status: 429,
                message: "slow down".into(),
                error_type: Some("rate_limit_error".into()),
                code: Some("rate_limit_exceeded".into()),
                param: None,
            })),
            request_type: Some(RequestType::ChatCompletion),
            provider: None,
            model: Some("gpt-4o-mini".into()),
        };
        let v: serde_json::Value = serde_json::from_slice(&e.body()).unwrap();
        assert_eq!(v["status_code"], 429);
        assert_eq!(v["is_bifrost_error"], false);
        assert_eq!(v["type"], "rate_limit_error");
        assert_eq!(v["error"]["type"], "rate_limit_error");
        assert_eq!(v["error"]["code"], "rate_limit_exceeded");
        assert_eq!(v["error"]["message"], "slow down");
        assert_eq!(v["extra_fields"]["provider"], "openai");
        assert_eq!(v["extra_fields"]["model_requested"], "gpt-4o-mini");
        assert_eq!(v["extra_fields"]["request_type"], "chat_completion");
        assert_eq!(e.status(), StatusCode::TOO_MANY_REQUESTS);
    }
}
