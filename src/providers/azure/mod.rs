//! Azure OpenAI: OpenAI's wire format (the shared `openai_compat` code, streams included) at
//! `{endpoint}/openai/deployments/{deployment}/{operation}?api-version=...`, authenticated with
//! the key in `api-key`, or with an Entra ID token when the key has client credentials.
//!
//! The deployment is the upstream model name: the key's `deployments` map (or an alias) turns
//! the model asked for into it, and it is also sent as the body's `model`, which Azure ignores.

mod entra;

use std::pin::Pin;

use futures_util::Stream;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::config::secret::{Resolved, Secret, SecretRef};
use crate::config::{types::AZURE_DEFAULT_API_VERSION, AzureKeyConfig};
use crate::error::{Error, Result};
use crate::providers::client::Client;
use crate::providers::http::{percent_encode, Auth};
use crate::providers::passthrough::{self, PassthroughRequest, PassthroughResponse};
use crate::providers::{openai_compat, Call, ChatStream, TextStream};
use crate::schemas::openai::{
    ChatRequest, ChatResponse, EmbeddingRequest, EmbeddingResponse, JsonObject, TextRequest,
    TextResponse,
};

/// `POST .../chat/completions`.
pub async fn chat(client: &Client, call: &Call<'_>, req: &ChatRequest) -> Result<ChatResponse> {
    json(client, call, "chat/completions", req, &req.extra).await
}

/// `POST .../chat/completions` with `stream: true`.
pub async fn chat_stream(
    client: &Client,
    call: &Call<'_>,
    req: &ChatRequest,
) -> Result<ChatStream> {
    stream(client, call, "chat/completions", req, &req.extra).await
}

/// `POST .../completions`.
pub async fn text(client: &Client, call: &Call<'_>, req: &TextRequest) -> Result<TextResponse> {
    json(client, call, "completions", req, &req.extra).await
}

/// `POST .../completions` with `stream: true`.
pub async fn text_stream(
    client: &Client,
    call: &Call<'_>,
    req: &TextRequest,
) -> Result<TextStream> {
    stream(client, call, "completions", req, &req.extra).await
}

/// `POST .../embeddings`.
pub async fn embed(
    client: &Client,
    call: &Call<'_>,
    req: &EmbeddingRequest,
) -> Result<EmbeddingResponse> {
    json(client, call, "embeddings", req, &req.extra).await
}

/// One JSON operation at the key's deployment URL with the key's auth.
async fn json<P: Serialize, R: DeserializeOwned>(
    client: &Client,
    call: &Call<'_>,
    operation: &str,
    params: &P,
    extra: &JsonObject,
) -> Result<R> {
    let az = Deployment::resolve(client, call).await?;
    let call = az.call(call);
    let url = az.url(&call, operation);
    openai_compat::json_at(client, &call, &url, az.auth, params, extra).await
}

/// One streamed operation at the key's deployment URL with the key's auth.
async fn stream<P: Serialize, T: DeserializeOwned + Send + 'static>(
    client: &Client,
    call: &Call<'_>,
    operation: &str,
    params: &P,
    extra: &JsonObject,
) -> Result<Pin<Box<dyn Stream<Item = Result<T>> + Send>>> {
    let az = Deployment::resolve(client, call).await?;
    let call = az.call(call);
    let url = az.url(&call, operation);
    openai_compat::stream_at(client, &call, &url, az.auth, params, extra).await
}

/// A native Azure OpenAI request (`/azure_passthrough/...`) at the key's endpoint with the
/// key's auth. Deployment paths get the key's `api-version` when the client sent none.
pub async fn passthrough(
    client: &Client,
    call: &Call<'_>,
    req: &PassthroughRequest,
) -> Result<PassthroughResponse> {
    let az = Deployment::resolve(client, call).await?;
    let call = az.call(call);
    let has_version = req
        .query
        .as_deref()
        .is_some_and(|q| q.split('&').any(|p| p.starts_with("api-version=")));
    let query = match req.query.as_deref().filter(|q| !q.is_empty()) {
        _ if has_version || !req.path.starts_with("/openai/deployments/") => req.query.clone(),
        Some(q) => Some(format!(
            "{q}&api-version={}",
            percent_encode(&az.api_version)
        )),
        None => Some(format!("api-version={}", percent_encode(&az.api_version))),
    };
    let url = match query.filter(|q| !q.is_empty()) {
        Some(q) => format!("{}{}?{q}", az.endpoint, req.path),
        None => format!("{}{}", az.endpoint, req.path),
    };
    passthrough::forward_to(client, &call, req, &url, az.auth).await
}

/// Where and how one call reaches its deployment.
struct Deployment {
    /// The endpoint, without a trailing slash.
    endpoint: String,
    api_version: String,
    auth: Auth,
    /// The Entra token, when the key authenticates with one.
    token: Option<Secret>,
}

impl Deployment {
    /// Reads the key's `azure_key_config` (its `env.VAR` values now) and, for Entra keys, gets
    /// a token.
    async fn resolve(client: &Client, call: &Call<'_>) -> Result<Self> {
        let config = call.key_config.and_then(|k| k.azure_key_config.as_ref());
        let default = AzureKeyConfig::default();
        let az = config.unwrap_or(&default);
        let key_name = call.key_config.map_or("", |k| k.name.as_str());
        let endpoint = match resolve(call, &az.endpoint)? {
            Some(e) => e.expose().trim_end_matches('/').to_owned(),
            None if !call.base_url.is_empty() => call.base_url.to_owned(),
            None => {
                return Err(Error::Config(format!(
                    "key {key_name} of provider {} has no azure_key_config.endpoint",
                    call.provider
                )))
            }
        };
        let api_version = match &az.api_version {
            Some(v) => resolve(call, v)?.map(|v| v.expose().to_owned()),
            None => None,
        }
        .unwrap_or_else(|| AZURE_DEFAULT_API_VERSION.to_owned());
        let (auth, token) = if az.uses_entra() {
            let field = |f: &Option<SecretRef>, name: &str| {
                f.as_ref()
                    .map(|s| resolve(call, s))
                    .transpose()?
                    .flatten()
                    .ok_or_else(|| {
                        Error::Config(format!(
                            "key {key_name} of provider {}: azure_key_config.{name} is not set",
                            call.provider
                        ))
                    })
            };
            let creds = entra::Credentials {
                tenant: field(&az.tenant_id, "tenant_id")?,
                client_id: field(&az.client_id, "client_id")?,
                client_secret: field(&az.client_secret, "client_secret")?,
                scope: if az.scopes.is_empty() {
                    entra::DEFAULT_SCOPE.to_owned()
                } else {
                    az.scopes.join(" ")
                },
            };
            let token = entra::token(client, call, &creds).await?;
            (Auth::Bearer, Some(token))
        } else if call.api_key.is_some() {
            (Auth::Header("api-key"), None)
        } else {
            return Err(Error::Config(format!(
                "key {key_name} of provider {} has neither a value nor Entra ID client credentials",
                call.provider
            )));
        };
        Ok(Self {
            endpoint,
            api_version,
            auth,
            token,
        })
    }

    /// The call with the Entra token in place of the key, when there is one.
    fn call<'a>(&'a self, call: &Call<'a>) -> Call<'a> {
        Call {
            api_key: self.token.as_ref().or(call.api_key),
            ..*call
        }
    }

    /// `{endpoint}/openai/deployments/{deployment}/{operation}?api-version=...`; a
    /// `request_path_overrides` entry replaces the path.
    fn url(&self, call: &Call<'_>, operation: &str) -> String {
        let path = match call.path_override {
            Some(o) if o.starts_with("http://") || o.starts_with("https://") => {
                return o.to_owned()
            }
            Some(o) => o.to_owned(),
            None => format!(
                "/openai/deployments/{}/{operation}",
                percent_encode(call.model)
            ),
        };
        let sep = if path.contains('?') { '&' } else { '?' };
        format!(
            "{}{path}{sep}api-version={}",
            self.endpoint,
            percent_encode(&self.api_version)
        )
    }
}

/// A configured value now: `None` when empty, an error when its `env.VAR` is not set.
fn resolve(call: &Call<'_>, value: &SecretRef) -> Result<Option<Secret>> {
    match value.resolve() {
        Resolved::Value(v) => Ok(Some(v)),
        Resolved::Empty => Ok(None),
        Resolved::MissingEnv(var) => Err(Error::MissingEnvVar {
            provider: call.provider.to_owned(),
            var,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn urls_name_the_deployment_and_the_api_version() {
        let call = Call {
            provider: "azure",
            base_url: "",
            path_prefix: "",
            api_key: None,
            key_config: None,
            model: "prod gpt-4o",
            extra_headers: &[],
            passthrough_extra: false,
            timeout: Duration::from_secs(1),
            path_override: None,
        };
        let d = Deployment {
            endpoint: "https://r.openai.azure.com".into(),
            api_version: "2024-10-21".into(),
            auth: Auth::Header("api-key"),
            token: None,
        };
        assert_eq!(
            d.url(&call, "chat/completions"),
            "https://r.openai.azure.com/openai/deployments/prod%20gpt-4o/chat/completions?api-version=2024-10-21"
        );
    }
}
