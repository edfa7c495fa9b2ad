//! The immutable configuration snapshot requests read, and how it is built from the store.
//!
//! A change builds a new snapshot and swaps it in (`ArcSwap`); requests never lock. Providers
//! whose configuration did not change are carried over as they are, connection pools included.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use http::header::{HeaderName, HeaderValue};

use super::keys::RuntimeKey;
use super::queue::Queue;
use crate::config::{ClientConfig, NetworkConfig, ProviderConfig, ProxyConfig};
use crate::error::{Error, Result};
use crate::providers::client::{self, Client};
use crate::providers::vendors::{self, KeyPolicy, Vendor};
use crate::providers::{ProviderClient, WireFormat};
use crate::schemas::RequestType;
use crate::store::StoredConfig;

/// What requests read: the client settings and the ready-to-call providers.
#[derive(Debug, Default)]
pub struct Snapshot {
    /// The `client` section.
    pub client: ClientConfig,
    /// Providers by name.
    pub providers: HashMap<String, Arc<ProviderRuntime>>,
}

/// A provider ready to be called.
#[derive(Debug)]
pub struct ProviderRuntime {
    /// Configured name.
    pub name: String,
    /// The configuration it was built from.
    pub config: ProviderConfig,
    /// Wire format and pooled client.
    pub client: ProviderClient,
    /// Capabilities and defaults of the base row.
    pub vendor: Vendor,
    /// Key policy (custom providers may be keyless).
    pub key_policy: KeyPolicy,
    /// `custom_provider_config.allowed_requests`, when set.
    allowed_requests: Option<BTreeMap<String, bool>>,
    /// Base URL without a trailing slash, if one is known at provider level.
    pub base_url: Option<String>,
    /// Keys.
    pub keys: Vec<RuntimeKey>,
    /// `network_config.extra_headers`, parsed once.
    pub extra_headers: Vec<(HeaderName, HeaderValue)>,
    /// Concurrency slots and the waiting line.
    pub queue: Queue,
}

impl ProviderRuntime {
    /// Whether this provider serves `request_type` natively.
    pub fn supports(&self, request_type: RequestType) -> bool {
        let base = vendors::supports(&self.vendor, request_type);
        match &self.allowed_requests {
            Some(allowed) => base && allowed.get(request_type.as_str()).copied().unwrap_or(false),
            None => base,
        }
    }

    /// The configured path override for a request type.
    pub fn path_override(&self, request_type: RequestType) -> Option<&str> {
        self.config
            .custom_provider_config
            .as_ref()
            .and_then(|c| c.request_path_overrides.get(request_type.as_str()))
            .map(String::as_str)
    }

    /// The network settings.
    pub fn network(&self) -> &NetworkConfig {
        &self.config.network_config
    }

    /// Whole-request timeout.
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(
            self.config
                .network_config
                .default_request_timeout_in_seconds,
        )
    }

    /// Longest silence between stream chunks.
    pub fn stream_idle_timeout(&self) -> Duration {
        Duration::from_secs(self.config.network_config.stream_idle_timeout_in_seconds)
    }
}

/// Builds a snapshot, reusing unchanged providers of `previous`.
pub fn build(stored: StoredConfig, previous: Option<&Snapshot>) -> Result<Snapshot> {
    let mut providers = HashMap::with_capacity(stored.providers.len());
    for (name, config) in stored.providers {
        let reused = previous
            .and_then(|s| s.providers.get(&name))
            .filter(|p| p.config == config)
            .cloned();
        let runtime = match reused {
            Some(p) => p,
            None => {
                let pool = previous
                    .and_then(|s| s.providers.get(&name))
                    .filter(|p| {
                        p.config.network_config == config.network_config
                            && p.config.proxy_config == config.proxy_config
                    })
                    .map(|p| p.client.http.clone());
                Arc::new(provider(&name, config, pool)?)
            }
        };
        providers.insert(name, runtime);
    }
    Ok(Snapshot {
        client: stored.client,
        providers,
    })
}

fn provider(name: &str, config: ProviderConfig, pool: Option<Client>) -> Result<ProviderRuntime> {
    let (vendor, key_policy, allowed_requests) = match &config.custom_provider_config {
        Some(custom) => {
            let wire = WireFormat::from_base_type(&custom.base_provider_type).ok_or_else(|| {
                Error::Config(format!(
                    "providers.{name}.custom_provider_config.base_provider_type: `{}` is not supported",
                    custom.base_provider_type
                ))
            })?;
            let base = vendors::VENDORS
                .iter()
                .find(|v| v.wire == wire)
                .copied()
                .ok_or_else(|| Error::Internal("no vendor row for wire format".into()))?;
            let policy = if custom.is_key_less {
                KeyPolicy::None
            } else {
                KeyPolicy::Required
            };
            (base, policy, custom.allowed_requests.clone())
        }
        None => {
            let v = vendors::builtin(name).ok_or_else(|| {
                Error::Config(format!("providers.{name}: not a built-in provider"))
            })?;
            (*v, v.keys, None)
        }
    };
    let base_url = config
        .network_config
        .base_url
        .clone()
        .or_else(|| match &config.custom_provider_config {
            Some(_) => None,
            None => vendor.default_base_url.map(str::to_owned),
        })
        .map(|u| u.trim_end_matches('/').to_owned());
    let mut extra_headers = Vec::with_capacity(config.network_config.extra_headers.len());
    for (k, v) in &config.network_config.extra_headers {
        let name_ok = HeaderName::from_bytes(k.as_bytes());
        let value_ok = HeaderValue::from_str(v);
        match (name_ok, value_ok) {
            (Ok(n), Ok(v)) => extra_headers.push((n, v)),
            _ => {
                return Err(Error::Config(format!(
                    "providers.{name}.network_config.extra_headers.{k}: invalid header"
                )))
            }
        }
    }
    let http = match pool {
        Some(p) => p,
        None => http_client(&config.network_config, config.proxy_config.as_ref())
            .map_err(|e| Error::Config(format!("providers.{name}: {e}")))?,
    };
    Ok(ProviderRuntime {
        name: name.to_owned(),
        client: ProviderClient::new(vendor.wire, http),
        vendor,
        key_policy,
        allowed_requests,
        base_url,
        keys: config.keys.iter().map(RuntimeKey::new).collect(),
        extra_headers,
        queue: Queue::new(
            config.concurrency_and_buffer_size.concurrency,
            config.concurrency_and_buffer_size.buffer_size,
        ),
        config,
    })
}

/// One pooled client per provider configuration. Upstream redirects are never followed (see
/// `providers::http`), and retries are the engine's (`max_retries`, another key, fallbacks).
fn http_client(
    n: &NetworkConfig,
    proxy: Option<&ProxyConfig>,
) -> std::result::Result<Client, String> {
    // Both blocks may add trusted roots (a TLS-intercepting proxy's CA is the proxy's).
    let pems: Vec<&str> = [
        n.ca_cert_pem.as_deref(),
        proxy.and_then(|p| p.ca_cert_pem.as_deref()),
    ]
    .into_iter()
    .flatten()
    .filter(|pem| !pem.trim().is_empty())
    .collect();
    Client::new(&client::Options {
        max_idle_per_host: n.max_conns_per_host,
        insecure_skip_verify: n.insecure_skip_verify,
        ca_cert_pem: (!pems.is_empty()).then(|| pems.join("\n")),
        proxy: proxy.map_or(Ok(client::Proxy::Direct), client::Proxy::from_config)?,
    })
}
