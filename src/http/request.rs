//! Reading an inference request: the body in Bifrost's error shape when it is bad, and the
//! `x-bf-*` headers that steer the engine.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use serde::de::DeserializeOwned;

use crate::config::types::ClientConfig;
use crate::engine::RequestOptions;
use crate::error::Error;

/// Parses a JSON body, naming the bad field's path; an over-limit body is a 413.
pub fn parse_json<T: DeserializeOwned>(
    body: Result<Bytes, BytesRejection>,
    limit_mb: u64,
) -> Result<T, Error> {
    parse_body(&read_body(body, limit_mb)?)
}

/// The body's bytes (possibly none: passthrough forwards bodiless requests), or the error for
/// an unreadable or over-limit (413) body.
pub fn read_body(body: Result<Bytes, BytesRejection>, limit_mb: u64) -> Result<Bytes, Error> {
    body.map_err(|rejection| match rejection.status() {
        StatusCode::PAYLOAD_TOO_LARGE => Error::PayloadTooLarge { limit_mb },
        _ => Error::BadRequest(format!("could not read the request body: {rejection}")),
    })
}

/// Parses a JSON body, naming the bad field's path when it fails; an empty body is a 400.
pub fn parse_body<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    if bytes.is_empty() {
        return Err(Error::BadRequest(
            "request body is empty; send a JSON object".into(),
        ));
    }
    // The plain parser first: tracking the path costs every request, and only a bad body
    // needs it, so the path is found by parsing again.
    if let Ok(value) = serde_json::from_slice(bytes) {
        return Ok(value);
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    match serde_path_to_error::deserialize::<_, T>(&mut de) {
        Ok(value) => Ok(value),
        Err(e) => {
            let path = e.path().to_string();
            let inner = e.into_inner();
            Err(if path == "." || path == "?" || path.is_empty() {
                Error::BadRequest(format!("invalid request body: {inner}"))
            } else {
                Error::BadRequest(format!("invalid request body at {path}: {inner}"))
            })
        }
    }
}

/// Headers never forwarded from `x-bf-eh-*`, whatever the filter says (Bifrost's denylist).
const NEVER_FORWARDED: &[&str] = &[
    "proxy-authorization",
    "cookie",
    "host",
    "content-length",
    "connection",
    "transfer-encoding",
    "x-api-key",
    "x-goog-api-key",
    "x-bf-api-key",
    "x-bf-api-key-id",
    "x-bf-vk",
    "authorization",
];

/// The engine's options from the request headers.
pub fn options(headers: &HeaderMap, client: &ClientConfig) -> RequestOptions {
    let filter = &client.header_filter_config;
    let text = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let mut forwarded = Vec::new();
    for (name, value) in headers {
        let lower = name.as_str();
        let target = match lower.strip_prefix("x-bf-eh-") {
            Some(rest) => rest,
            // With an allowlist, plain headers on it are forwarded too (Bifrost).
            None if filter
                .allowlist
                .iter()
                .any(|a| a.eq_ignore_ascii_case(lower)) =>
            {
                lower
            }
            None => continue,
        };
        if target.is_empty()
            || NEVER_FORWARDED.contains(&target)
            || filter
                .denylist
                .iter()
                .any(|d| d.eq_ignore_ascii_case(target))
            || (!filter.allowlist.is_empty()
                && !filter
                    .allowlist
                    .iter()
                    .any(|a| a.eq_ignore_ascii_case(target)))
        {
            continue;
        }
        if let Ok(n) = HeaderName::from_bytes(target.as_bytes()) {
            forwarded.push((n, HeaderValue::clone(value)));
        }
    }
    RequestOptions {
        virtual_key: virtual_key(headers),
        log_metadata: log_metadata(headers, &client.logging_headers),
        pinned_key_id: text("x-bf-api-key-id"),
        pinned_key_name: text("x-bf-api-key"),
        forwarded_headers: forwarded,
        passthrough_extra: text("x-bf-passthrough-extra-params")
            .is_some_and(|v| v.eq_ignore_ascii_case("true")),
        prom_labels: crate::plugins::telemetry::labels::from_headers(
            headers,
            &client.prometheus_labels,
        ),
        traceparent: text("traceparent"),
        raw_body: None,
    }
}

/// The prefix of Bifrost virtual keys.
pub const VIRTUAL_KEY_PREFIX: &str = "sk-bf-";

/// The virtual key, from `x-bf-vk`, or from `Authorization: Bearer`, `x-api-key` or
/// `x-goog-api-key` when the value has the `sk-bf-` prefix (other values there are provider
/// keys of the client's, not ours).
fn virtual_key(headers: &HeaderMap) -> Option<String> {
    let text = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    if let Some(vk) = text("x-bf-vk").filter(|v| !v.is_empty()) {
        return Some(vk.to_owned());
    }
    let bearer = text("authorization").and_then(|v| {
        v.strip_prefix("Bearer ")
            .or_else(|| v.strip_prefix("bearer "))
    });
    [bearer, text("x-api-key"), text("x-goog-api-key")]
        .into_iter()
        .flatten()
        .find(|v| v.starts_with(VIRTUAL_KEY_PREFIX))
        .map(str::to_owned)
}

/// Values for the request log: `x-bf-lh-<key>` headers as `<key>`, and the headers named in
/// `client.logging_headers` under their own names.
fn log_metadata(headers: &HeaderMap, logging_headers: &[String]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (name, value) in headers {
        let Ok(value) = value.to_str() else { continue };
        if let Some(key) = name.as_str().strip_prefix("x-bf-lh-") {
            if !key.is_empty() {
                out.push((key.to_owned(), value.to_owned()));
            }
        } else if logging_headers
            .iter()
            .any(|h| h.eq_ignore_ascii_case(name.as_str()))
        {
            out.push((name.as_str().to_owned(), value.to_owned()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::types::HeaderFilterConfig;

    #[test]
    fn extra_headers_are_filtered() {
        let mut h = HeaderMap::new();
        h.insert("x-bf-eh-x-org", HeaderValue::from_static("acme"));
        h.insert("x-bf-eh-cookie", HeaderValue::from_static("secret"));
        h.insert("x-bf-eh-x-blocked", HeaderValue::from_static("no"));
        h.insert("x-bf-api-key", HeaderValue::from_static("primary"));
        h.insert(
            "x-bf-passthrough-extra-params",
            HeaderValue::from_static("true"),
        );
        h.insert("x-bf-lh-team", HeaderValue::from_static("search"));
        h.insert("x-tenant-id", HeaderValue::from_static("t1"));
        let client = ClientConfig {
            header_filter_config: HeaderFilterConfig {
                allowlist: vec![],
                denylist: vec!["x-blocked".into()],
            },
            logging_headers: vec!["X-Tenant-ID".into()],
            ..ClientConfig::default()
        };
        h.insert(
            "authorization",
            HeaderValue::from_static("Bearer sk-bf-123"),
        );
        let o = options(&h, &client);
        assert_eq!(o.virtual_key.as_deref(), Some("sk-bf-123"));
        let mut meta = o.log_metadata.clone();
        meta.sort();
        assert_eq!(
            meta,
            vec![
                ("team".to_owned(), "search".to_owned()),
                ("x-tenant-id".to_owned(), "t1".to_owned())
            ]
        );
        let names: Vec<&str> = o
            .forwarded_headers
            .iter()
            .map(|(n, _)| n.as_str())
            .collect();
        assert_eq!(names, vec!["x-org"]);
        assert_eq!(o.pinned_key_name.as_deref(), Some("primary"));
        assert!(o.passthrough_extra);
    }
}
