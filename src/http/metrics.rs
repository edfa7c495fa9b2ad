//! `GET /metrics` and the middleware that records the `http_*` metrics of every request.
//!
//! The `path` label is the matched route template (`/api/providers/{name}`), never the raw
//! path, and `unmatched` when no route matched, so that clients cannot mint series by varying
//! URLs. Timing ends when the response head is ready, as in Bifrost: a stream's own duration is
//! in `bifrost_upstream_latency_seconds` and the stream histograms.

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use axum::body::HttpBody;
use axum::extract::{MatchedPath, Request, State};
use axum::response::{IntoResponse, Response};
use http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use http::HeaderValue;

use crate::plugins::telemetry::{labels, HttpObservation, Telemetry};

/// The `path` label of requests that matched no route.
pub const UNMATCHED: &str = "unmatched";

/// `GET /metrics`: the registry in the Prometheus text format.
pub async fn metrics(State(telemetry): State<Arc<Telemetry>>) -> Response {
    (
        [(
            CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        telemetry.render(),
    )
        .into_response()
}

/// Records `http_requests_total`, `http_request_duration_seconds` and the size histograms of
/// the request `inner` answers. Runs inside [`super::front`].
pub async fn track<F, Fut>(telemetry: &Telemetry, req: Request, inner: F) -> Response
where
    F: FnOnce(Request) -> Fut,
    Fut: Future<Output = Response>,
{
    let started = Instant::now();
    // `MatchedPath` holds an `Arc<str>`: cloning it is a reference count, not a copy.
    let path = req.extensions().get::<MatchedPath>().cloned();
    let method = labels::method(req.method());
    let custom = telemetry.http_custom_values(req.headers());
    let request_bytes = body_size(req.headers(), req.body().size_hint().exact());
    let resp = inner(req).await;
    let response_bytes = body_size(resp.headers(), resp.body().size_hint().exact());
    telemetry.observe_http(&HttpObservation {
        path: path.as_ref().map_or(UNMATCHED, MatchedPath::as_str),
        method,
        status: resp.status().as_u16(),
        custom: &custom,
        seconds: started.elapsed().as_secs_f64(),
        request_bytes,
        response_bytes,
    });
    resp
}

/// The body's size from `Content-Length`, else from the body when it knows it exactly (a
/// body-less request, a buffered JSON answer); unknown for streams.
fn body_size(headers: &http::HeaderMap, exact: Option<u64>) -> Option<u64> {
    headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .or(exact)
}
