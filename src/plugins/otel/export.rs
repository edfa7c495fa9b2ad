//! Sending span batches to the collector: OTLP/HTTP (protobuf body to `/v1/traces`) or
//! OTLP/gRPC (the `TraceService/Export` unary call over HTTP/2), with the configured headers,
//! whose `env.` values are resolved at each export.

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue};
use http_body_util::BodyExt;

use crate::config::secret::{Resolved, SecretRef};
use crate::error::{Error, Result};

/// How long one export may take before it counts as failed.
pub const EXPORT_TIMEOUT: Duration = Duration::from_secs(10);
/// The gRPC method path of the OTLP trace service.
const GRPC_PATH: &str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

/// The wire protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// OTLP/HTTP with a protobuf body.
    Http,
    /// OTLP/gRPC.
    Grpc,
}

/// Where and how batches go.
#[derive(Debug)]
pub struct Transport {
    protocol: Protocol,
    url: String,
    client: reqwest::Client,
    /// Header name and configured value (a literal or `env.VAR`).
    headers: Vec<(HeaderName, SecretRef)>,
}

impl Transport {
    /// A transport to `collector_url`. Without a scheme, `https://` is assumed when a CA
    /// certificate is given and `http://` otherwise (a local collector).
    pub fn new(
        protocol: Protocol,
        collector_url: &str,
        headers: &[(String, String)],
        tls_ca_cert: Option<&str>,
    ) -> Result<Self> {
        let url = endpoint(protocol, collector_url, tls_ca_cert.is_some());
        let mut builder = reqwest::Client::builder()
            .timeout(EXPORT_TIMEOUT)
            .user_agent(concat!("bifrost/", env!("CARGO_PKG_VERSION")));
        if protocol == Protocol::Grpc {
            builder = builder.http2_prior_knowledge();
        }
        if let Some(path) = tls_ca_cert {
            let pem = std::fs::read(path)
                .map_err(|e| Error::Config(format!("otel tls_ca_cert {path}: cannot read: {e}")))?;
            let cert = reqwest::Certificate::from_pem(&pem)
                .map_err(|e| Error::Config(format!("otel tls_ca_cert {path}: {e}")))?;
            builder = builder.add_root_certificate(cert);
        }
        let client = builder
            .build()
            .map_err(|e| Error::Config(format!("otel exporter: {e}")))?;
        let mut parsed = Vec::new();
        for (name, value) in headers {
            let name = HeaderName::from_bytes(name.trim().as_bytes()).map_err(|_| {
                Error::Config(format!("otel headers: invalid header name {name:?}"))
            })?;
            parsed.push((name, SecretRef::new(value.clone())));
        }
        Ok(Self {
            protocol,
            url,
            client,
            headers: parsed,
        })
    }

    /// The URL batches are posted to.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The configured headers with `env.` values resolved now; a missing variable leaves its
    /// header out (and says so) rather than sending an empty credential.
    fn headers(&self) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in &self.headers {
            match value.resolve() {
                Resolved::Value(v) => match HeaderValue::from_str(v.expose()) {
                    Ok(v) => {
                        map.insert(name.clone(), v);
                    }
                    Err(_) => {
                        tracing::warn!(header = %name, "otel header value is not valid in a header; not sent")
                    }
                },
                Resolved::Empty => {}
                Resolved::MissingEnv(var) => {
                    tracing::warn!(header = %name, var = %var, "otel header's environment variable is not set; not sent")
                }
            }
        }
        map
    }

    /// Sends one encoded `ExportTraceServiceRequest`.
    pub async fn send(&self, body: Vec<u8>) -> Result<()> {
        match self.protocol {
            Protocol::Http => self.send_http(body).await,
            Protocol::Grpc => self.send_grpc(body).await,
        }
    }

    async fn send_http(&self, body: Vec<u8>) -> Result<()> {
        let resp = self
            .client
            .post(&self.url)
            .headers(self.headers())
            .header(http::header::CONTENT_TYPE, "application/x-protobuf")
            .body(body)
            .send()
            .await
            .map_err(|e| Error::Internal(format!("otel export to {}: {e}", self.url)))?;
        let status = resp.status();
        if status.is_success() {
            return Ok(());
        }
        let text = resp.text().await.unwrap_or_default();
        Err(Error::Internal(format!(
            "otel export to {}: HTTP {status}: {}",
            self.url,
            text.chars().take(200).collect::<String>()
        )))
    }

    async fn send_grpc(&self, body: Vec<u8>) -> Result<()> {
        // A gRPC message: not compressed (0), its length as a big-endian u32, the bytes.
        let len = u32::try_from(body.len())
            .map_err(|_| Error::Internal("otel batch too large for gRPC".into()))?;
        let mut framed = Vec::with_capacity(body.len() + 5);
        framed.push(0);
        framed.extend_from_slice(&len.to_be_bytes());
        framed.extend_from_slice(&body);
        let resp = self
            .client
            .post(&self.url)
            .headers(self.headers())
            .header(http::header::CONTENT_TYPE, "application/grpc")
            .header("te", "trailers")
            .body(framed)
            .send()
            .await
            .map_err(|e| Error::Internal(format!("otel export to {}: {e}", self.url)))?;
        let status = resp.status();
        // An error may come "trailers-only", with grpc-status in the headers.
        let head = grpc_status(resp.headers());
        let collected = reqwest::Body::from(resp)
            .collect()
            .await
            .map_err(|e| Error::Internal(format!("otel export to {}: {e}", self.url)))?;
        let trailers = collected.trailers().cloned();
        let _: Bytes = collected.to_bytes();
        let (code, message) = head
            .or_else(|| trailers.as_ref().and_then(grpc_status))
            .ok_or_else(|| {
                Error::Internal(format!(
                    "otel export to {}: HTTP {status} without grpc-status",
                    self.url
                ))
            })?;
        if status.is_success() && code == "0" {
            Ok(())
        } else {
            Err(Error::Internal(format!(
                "otel export to {}: grpc-status {code}: {message}",
                self.url
            )))
        }
    }
}

/// `grpc-status` and `grpc-message`, if present.
fn grpc_status(map: &HeaderMap) -> Option<(String, String)> {
    let code = map.get("grpc-status")?.to_str().ok()?.to_owned();
    let message = map
        .get("grpc-message")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    Some((code, message))
}

/// The full URL for a collector URL: `/v1/traces` appended for HTTP (unless already there, as
/// in Bifrost's examples that name the full path), the service path for gRPC.
pub fn endpoint(protocol: Protocol, collector_url: &str, tls: bool) -> String {
    let url = collector_url.trim().trim_end_matches('/');
    let url = if url.contains("://") {
        url.to_owned()
    } else if tls {
        format!("https://{url}")
    } else {
        format!("http://{url}")
    };
    match protocol {
        Protocol::Http if url.ends_with("/v1/traces") => url,
        Protocol::Http => format!("{url}/v1/traces"),
        Protocol::Grpc => format!("{url}{GRPC_PATH}"),
    }
}
