//! Reading an inference request: the body in Bifrost's error shape when it is bad, and the
//! `x-bf-*` headers that steer the engine.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use serde::de::DeserializeOwned;

use crate::config::types::{ClientConfig, HeaderFilterConfig};
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
    if let Ok(value) = crate::json::from_slice(bytes) {
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
///
/// One pass over the headers: a request carries a handful, and looking each `x-bf-*` name up
/// by string would hash and compare every one of them again.
pub fn options(headers: &HeaderMap, client: &ClientConfig) -> RequestOptions {
    let mut named = Named::default();
    let mut forwarded = Vec::new();
    let mut log_metadata = Vec::new();
    for (name, value) in headers {
        let name = name.as_str();
        named.note(name, value);
        if let Some(target) = forwarded_name(name, &client.header_filter_config) {
            if let Ok(n) = HeaderName::from_bytes(target.as_bytes()) {
                forwarded.push((n, HeaderValue::clone(value)));
            }
        }
        if let Some(key) = log_key(name, &client.logging_headers) {
            if let Ok(value) = value.to_str() {
                log_metadata.push((key.to_owned(), value.to_owned()));
            }
        }
    }
    RequestOptions {
        virtual_key: named.virtual_key(),
        log_metadata,
        pinned_key_id: text(named.api_key_id).map(str::to_owned),
        pinned_key_name: text(named.api_key).map(str::to_owned),
        forwarded_headers: forwarded,
        passthrough_extra: text(named.passthrough_extra)
            .is_some_and(|v| v.eq_ignore_ascii_case("true")),
        prom_labels: crate::plugins::telemetry::labels::from_headers(
            headers,
            &client.prometheus_labels,
        ),
        traceparent: text(named.traceparent).map(str::to_owned),
        raw_body: None,
    }
}

/// A header's value as text, if it is visible ASCII.
fn text(value: Option<&HeaderValue>) -> Option<&str> {
    value.and_then(|v| v.to_str().ok())
}

/// The first value of each header [`options`] reads by name (as `HeaderMap::get` would give).
#[derive(Default)]
struct Named<'a> {
    vk: Option<&'a HeaderValue>,
    api_key: Option<&'a HeaderValue>,
    api_key_id: Option<&'a HeaderValue>,
    passthrough_extra: Option<&'a HeaderValue>,
    authorization: Option<&'a HeaderValue>,
    x_api_key: Option<&'a HeaderValue>,
    x_goog_api_key: Option<&'a HeaderValue>,
    traceparent: Option<&'a HeaderValue>,
}

impl<'a> Named<'a> {
    fn note(&mut self, name: &str, value: &'a HeaderValue) {
        let slot = match name {
            "x-bf-vk" => &mut self.vk,
            "x-bf-api-key" => &mut self.api_key,
            "x-bf-api-key-id" => &mut self.api_key_id,
            "x-bf-passthrough-extra-params" => &mut self.passthrough_extra,
            "authorization" => &mut self.authorization,
            "x-api-key" => &mut self.x_api_key,
            "x-goog-api-key" => &mut self.x_goog_api_key,
            "traceparent" => &mut self.traceparent,
            _ => return,
        };
        slot.get_or_insert(value);
    }

    /// The virtual key, from `x-bf-vk`, or from `Authorization: Bearer`, `x-api-key` or
    /// `x-goog-api-key` when the value has the `sk-bf-` prefix (other values there are
    /// provider keys of the client's, not ours).
    fn virtual_key(&self) -> Option<String> {
        let text = |v| text(v).map(str::trim);
        if let Some(vk) = text(self.vk).filter(|v| !v.is_empty()) {
            return Some(vk.to_owned());
        }
        let bearer = text(self.authorization).and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        });
        [bearer, text(self.x_api_key), text(self.x_goog_api_key)]
            .into_iter()
            .flatten()
            .find(|v| v.starts_with(VIRTUAL_KEY_PREFIX))
            .map(str::to_owned)
    }
}

/// The name a header is forwarded to the provider under, if it is: `x-bf-eh-<name>` as
/// `<name>`, and with an allowlist, plain headers on it too (Bifrost); never a name on
/// [`NEVER_FORWARDED`] or the denylist, nor one off a non-empty allowlist.
fn forwarded_name<'n>(name: &'n str, filter: &HeaderFilterConfig) -> Option<&'n str> {
    let listed = |list: &[String], name: &str| list.iter().any(|a| a.eq_ignore_ascii_case(name));
    let target = match name.strip_prefix("x-bf-eh-") {
        Some(rest) => rest,
        None if listed(&filter.allowlist, name) => name,
        None => return None,
    };
    let refused = target.is_empty()
        || NEVER_FORWARDED.contains(&target)
        || listed(&filter.denylist, target)
        || (!filter.allowlist.is_empty() && !listed(&filter.allowlist, target));
    (!refused).then_some(target)
}

/// The request log's key for a header, if it goes into the log's metadata: `x-bf-lh-<key>`
/// as `<key>`, and the headers named in `client.logging_headers` under their own names.
fn log_key<'n>(name: &'n str, logging_headers: &[String]) -> Option<&'n str> {
    match name.strip_prefix("x-bf-lh-") {
        Some("") => None,
        Some(key) => Some(key),
        None => logging_headers
            .iter()
            .any(|h| h.eq_ignore_ascii_case(name))
            .then_some(name),
    }
}

/// The prefix of Bifrost virtual keys.
pub const VIRTUAL_KEY_PREFIX: &str = "sk-bf-";

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn the_virtual_key_comes_from_the_first_header_that_carries_one() {
        let client = ClientConfig::default();
        let mut h = HeaderMap::new();
        h.insert(
            "authorization",
            HeaderValue::from_static("Bearer sk-openai"),
        );
        h.insert(
            "x-api-key",
            HeaderValue::from_static("sk-bf-from-x-api-key"),
        );
        h.insert("x-goog-api-key", HeaderValue::from_static("sk-bf-goog"));
        h.insert("x-bf-api-key-id", HeaderValue::from_static("key-7"));
        h.insert("traceparent", HeaderValue::from_static("00-abc-def-01"));
        let o = options(&h, &client);
        // A provider key in Authorization is the client's, not a virtual key.
        assert_eq!(o.virtual_key.as_deref(), Some("sk-bf-from-x-api-key"));
        assert_eq!(o.pinned_key_id.as_deref(), Some("key-7"));
        assert_eq!(o.traceparent.as_deref(), Some("00-abc-def-01"));
        assert!(!o.passthrough_extra);

        h.insert("x-bf-vk", HeaderValue::from_static("  sk-bf-explicit "));
        assert_eq!(
            options(&h, &client).virtual_key.as_deref(),
            Some("sk-bf-explicit")
        );
        // An empty x-bf-vk falls back to the other headers.
        h.insert("x-bf-vk", HeaderValue::from_static(""));
        assert_eq!(
            options(&h, &client).virtual_key.as_deref(),
            Some("sk-bf-from-x-api-key")
        );
        // As `HeaderMap::get`: the first of repeated values counts.
        h.append("x-bf-api-key-id", HeaderValue::from_static("key-8"));
        assert_eq!(options(&h, &client).pinned_key_id.as_deref(), Some("key-7"));
        h.remove("x-api-key");
        h.remove("x-goog-api-key");
        assert_eq!(options(&h, &client).virtual_key, None);
    }
}
