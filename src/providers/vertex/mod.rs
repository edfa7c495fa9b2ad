//! Google Cloud Vertex AI as a wire format. Each key's `vertex_key_config` names the project,
//! the region and the credentials; requests carry an OAuth access token ([`auth`]).
//!
//! - Gemini models: the Gemini format (shared with the `gemini` provider) at
//!   `/v1/projects/{project}/locations/{region}/publishers/google/models/{model}:generateContent`
//!   (`:streamGenerateContent?alt=sse`). A numeric deployment is a fine-tuned model's endpoint:
//!   `/v1beta1/projects/{project_number}/locations/{region}/endpoints/{id}:...`.
//! - Claude models (`claude-*`): Anthropic's Messages format at
//!   `.../publishers/anthropic/models/{model}:rawPredict` (`:streamRawPredict`), with
//!   `anthropic_version` in the body and no `model` field.
//! - Embeddings: `.../publishers/google/models/{model}:predict`.
//!
//! The host is `https://{region}-aiplatform.googleapis.com`, or `https://aiplatform.googleapis.com`
//! for the `global` region; `network_config.base_url` replaces it (a `{region}` in it is filled
//! in).

pub mod auth;

use serde::Deserialize;
use serde_json::Value;

use crate::config::secret::{Resolved, Secret, SecretRef};
use crate::config::VertexKeyConfig;
use crate::error::{Error, Result};
use crate::providers::client::{Client, Response};
use crate::providers::http::{self, Auth, Outgoing};
use crate::providers::{anthropic, gemini, unix_now, Call, ChatStream};
use crate::schemas::anthropic as anthropic_wire;
use crate::schemas::genai as gemini_wire;
use crate::schemas::openai::{
    ChatRequest, ChatResponse, EmbeddingRequest, EmbeddingResponse, Model, Usage,
};

/// The vendor row's base URL: `{region}` is the key's region.
pub const REGIONAL_BASE_URL: &str = "https://{region}-aiplatform.googleapis.com";
/// The host of the `global` region.
const GLOBAL_BASE_URL: &str = "https://aiplatform.googleapis.com";
/// The Messages API version Vertex AI serves Claude with.
pub const ANTHROPIC_VERSION: &str = "vertex-2023-10-16";

/// Chat, JSON.
pub async fn chat(
    http: &Client,
    tokens: &auth::TokenCache,
    call: &Call<'_>,
    req: &ChatRequest,
) -> Result<ChatResponse> {
    let target = Target::new(call)?;
    let token = access_token(http, tokens, call).await?;
    let call = &Call {
        api_key: Some(&token),
        model: &target.model,
        ..*call
    };
    if target.is_claude() {
        let url = target.anthropic_url("rawPredict");
        let resp = post_claude(http, call, &url, req, false).await?;
        let msg: anthropic_wire::MessagesResponse = http::read_json(call, resp).await?;
        return Ok(anthropic::to_chat_response(msg, unix_now()));
    }
    let url = target.google_url("generateContent")?;
    gemini::generate(http, call, &url, Auth::Bearer, req).await
}

/// Chat, streamed. Resolves once Vertex AI accepted the request.
pub async fn chat_stream(
    http: &Client,
    tokens: &auth::TokenCache,
    call: &Call<'_>,
    req: &ChatRequest,
) -> Result<ChatStream> {
    let target = Target::new(call)?;
    let token = access_token(http, tokens, call).await?;
    let call = &Call {
        api_key: Some(&token),
        model: &target.model,
        ..*call
    };
    if target.is_claude() {
        let url = target.anthropic_url("streamRawPredict");
        let resp = post_claude(http, call, &url, req, true).await?;
        return Ok(anthropic::translate_events(
            call.provider,
            http::sse_events(call, resp),
        ));
    }
    let url = gemini::sse_url(target.google_url("streamGenerateContent")?);
    gemini::generate_stream(http, call, &url, Auth::Bearer, req).await
}

/// Embeddings through `:predict`, one instance per input text.
pub async fn embed(
    http: &Client,
    tokens: &auth::TokenCache,
    call: &Call<'_>,
    req: &EmbeddingRequest,
) -> Result<EmbeddingResponse> {
    let target = Target::new(call)?;
    if target.is_claude() {
        return Err(Error::BadRequest(format!(
            "{} is a chat model; Vertex AI embeds with text embedding models",
            target.model
        )));
    }
    let token = access_token(http, tokens, call).await?;
    let call = &Call {
        api_key: Some(&token),
        model: &target.model,
        ..*call
    };
    let entries = gemini::to_embed_entries(&target.model, req)?;
    let instances: Vec<Value> = entries
        .into_iter()
        .map(|e| {
            let text: String = e.content.parts.into_iter().filter_map(|p| p.text).collect();
            serde_json::json!({ "content": text })
        })
        .collect();
    let mut body = serde_json::json!({ "instances": instances });
    if let Some(dims) = req.dimensions {
        body["parameters"] = serde_json::json!({ "outputDimensionality": dims });
    }
    let url = target.google_url("predict")?;
    let resp = http::post_json(
        http,
        call,
        &url,
        Auth::Bearer,
        &[],
        &body,
        gemini::parse_error,
    )
    .await?;
    let answer: PredictResponse = http::read_json(call, resp).await?;
    let tokens: u64 = answer
        .predictions
        .iter()
        .map(|p| p.embeddings.statistics.token_count)
        .sum();
    let embeddings = answer
        .predictions
        .into_iter()
        .map(|p| gemini_wire::ContentEmbedding {
            values: p.embeddings.values,
        })
        .collect();
    let mut resp =
        gemini::to_embedding_response(embeddings, &target.model, req.encoding_format.as_deref())?;
    resp.usage = Some(Usage {
        prompt_tokens: tokens,
        total_tokens: tokens,
        ..Usage::default()
    });
    Ok(resp)
}

/// `:predict`'s answer for embedding models.
#[derive(Deserialize)]
struct PredictResponse {
    #[serde(default)]
    predictions: Vec<Prediction>,
}

#[derive(Deserialize)]
struct Prediction {
    embeddings: PredictedEmbedding,
}

#[derive(Deserialize)]
struct PredictedEmbedding {
    values: Value,
    #[serde(default)]
    statistics: EmbeddingStatistics,
}

#[derive(Default, Deserialize)]
struct EmbeddingStatistics {
    #[serde(default)]
    token_count: u64,
}

/// The models a key's `deployments` name. Vertex AI has no per-project list of the publisher
/// models a project may call, so the list comes from the configuration, as in Bifrost.
pub fn list_models(call: &Call<'_>) -> Vec<Model> {
    let Some(config) = call.key_config.and_then(|k| k.vertex_key_config.as_ref()) else {
        return Vec::new();
    };
    config
        .deployments
        .iter()
        .map(|(name, deployment)| Model {
            id: name.clone(),
            object: "model".into(),
            created: 0,
            owned_by: if is_claude(deployment) {
                "anthropic"
            } else {
                "google"
            }
            .into(),
        })
        .collect()
}

/// Sends a Claude request: Anthropic's Messages body, minus `model`, plus `anthropic_version`.
async fn post_claude(
    http: &Client,
    call: &Call<'_>,
    url: &str,
    req: &ChatRequest,
    stream: bool,
) -> Result<Response> {
    let mut typed = anthropic::to_messages_request(call.model, req)?;
    typed.stream = stream.then_some(true);
    let mut body = Outgoing::new(typed, &req.extra, call.passthrough_extra)?.into_object()?;
    body.remove("model");
    body.insert(
        "anthropic_version".into(),
        Value::String(ANTHROPIC_VERSION.to_owned()),
    );
    http::post_json(
        http,
        call,
        url,
        Auth::Bearer,
        &[],
        &body,
        anthropic::parse_error,
    )
    .await
}

/// The chosen key's access token.
async fn access_token(http: &Client, tokens: &auth::TokenCache, call: &Call<'_>) -> Result<Secret> {
    let config = key_config(call)?;
    let source = match resolve(call, &config.auth_credentials, "auth_credentials")? {
        Some(json) => auth::Source::Json(json),
        None => auth::Source::Adc,
    };
    tokens.token(http, call, source).await
}

fn key_config<'a>(call: &Call<'a>) -> Result<&'a VertexKeyConfig> {
    call.key_config
        .and_then(|k| k.vertex_key_config.as_ref())
        .ok_or_else(|| {
            Error::Config(format!(
                "providers.{}: the key has no vertex_key_config",
                call.provider
            ))
        })
}

/// Resolves one `vertex_key_config` field now; `None` when it is empty.
fn resolve(call: &Call<'_>, value: &SecretRef, field: &str) -> Result<Option<Secret>> {
    match value.resolve() {
        Resolved::Value(v) => Ok(Some(v)),
        Resolved::Empty => Ok(None),
        Resolved::MissingEnv(var) => Err(Error::MissingEnvVar {
            provider: format!("{} (vertex_key_config.{field})", call.provider),
            var,
        }),
    }
}

fn is_claude(model: &str) -> bool {
    model.starts_with("claude")
}

/// Where one request goes: host, project, region and upstream model.
struct Target {
    base: String,
    prefix: String,
    project_id: String,
    project_number: Option<String>,
    region: String,
    model: String,
}

impl Target {
    fn new(call: &Call<'_>) -> Result<Self> {
        let config = key_config(call)?;
        let required = |value: &SecretRef, field: &str| -> Result<String> {
            resolve(call, value, field)?
                .map(|s| s.expose().to_owned())
                .ok_or_else(|| {
                    Error::Config(format!(
                        "providers.{}: vertex_key_config.{field} is required",
                        call.provider
                    ))
                })
        };
        let project_id = required(&config.project_id, "project_id")?;
        let region = required(&config.region, "region")?;
        let project_number =
            resolve(call, &config.project_number, "project_number")?.map(|s| s.expose().to_owned());
        let model = config
            .deployments
            .get(call.model)
            .map_or(call.model, String::as_str)
            .to_owned();
        Ok(Target {
            base: base_url(call.base_url, &region),
            prefix: call.path_prefix.to_owned(),
            project_id,
            project_number,
            region,
            model,
        })
    }

    fn is_claude(&self) -> bool {
        is_claude(&self.model)
    }

    /// A Google model's method; an all-digit model is a fine-tuned model's endpoint, which
    /// lives under the project number in `v1beta1`.
    fn google_url(&self, method: &str) -> Result<String> {
        let Target {
            base,
            prefix,
            project_id,
            region,
            model,
            ..
        } = self;
        if !model.is_empty() && model.bytes().all(|b| b.is_ascii_digit()) {
            let number = self.project_number.as_deref().ok_or_else(|| {
                Error::Config(format!(
                    "vertex_key_config.project_number is required for the fine-tuned endpoint {model}"
                ))
            })?;
            return Ok(format!(
                "{base}/v1beta1/projects/{number}/locations/{region}/endpoints/{model}:{method}"
            ));
        }
        Ok(format!(
            "{base}{prefix}/projects/{project_id}/locations/{region}/publishers/google/models/{model}:{method}"
        ))
    }

    fn anthropic_url(&self, method: &str) -> String {
        let Target {
            base,
            prefix,
            project_id,
            region,
            model,
            ..
        } = self;
        format!(
            "{base}{prefix}/projects/{project_id}/locations/{region}/publishers/anthropic/models/{model}:{method}"
        )
    }
}

/// The host for a region: `{region}` in the base URL filled in, `global` on its own host.
fn base_url(base: &str, region: &str) -> String {
    if !base.contains("{region}") {
        return base.to_owned();
    }
    if region == "global" && base == REGIONAL_BASE_URL {
        return GLOBAL_BASE_URL.to_owned();
    }
    base.replace("{region}", region)
}

#[cfg(test)]
mod tests;
