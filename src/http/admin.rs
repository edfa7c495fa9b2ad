//! Management API handlers (`/api/*`, `/health`): thin wrappers over the engine's admin
//! methods, keys always redacted.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use super::request::parse_json;
use super::AppState;
use crate::config::{KeyConfig, ProviderConfig};
use crate::error::{Error, Result};

type ApiResult = std::result::Result<Response, Error>;

fn body<T: serde::de::DeserializeOwned>(
    state: &AppState,
    body: Result<Bytes, BytesRejection>,
) -> Result<T> {
    parse_json(
        body,
        state.gateway.snapshot().client.max_request_body_size_mb,
    )
}

/// `GET /health`: `{"status":"ok","components":{"db_pings":"ok"|"disabled"}}`, 503 when the
/// config store does not answer.
pub async fn health(State(state): State<Arc<AppState>>) -> Response {
    if state.gateway.snapshot().client.disable_db_pings_in_health {
        return Json(json!({"status": "ok", "components": {"db_pings": "disabled"}}))
            .into_response();
    }
    let store = Arc::clone(state.gateway.store());
    let ping = tokio::task::spawn_blocking(move || store.ping()).await;
    match ping {
        Ok(Ok(())) => {
            Json(json!({"status": "ok", "components": {"db_pings": "ok"}})).into_response()
        }
        _ => (
            http::StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "error", "components": {"db_pings": "failed"}})),
        )
            .into_response(),
    }
}

/// `GET /api/version`.
pub async fn version() -> Response {
    Json(json!({"version": crate::VERSION, "commit": crate::GIT_COMMIT})).into_response()
}

/// `GET /api/providers`.
pub async fn list_providers(State(state): State<Arc<AppState>>) -> ApiResult {
    let providers = state.gateway.list_providers().await?;
    let total = providers.len();
    Ok(Json(json!({"providers": providers, "total": total})).into_response())
}

/// `POST /api/providers` body: the provider's name beside its configuration.
#[derive(Debug, Deserialize)]
pub struct CreateProvider {
    provider: String,
    #[serde(flatten)]
    config: ProviderConfig,
}

/// `POST /api/providers`.
pub async fn create_provider(
    State(state): State<Arc<AppState>>,
    raw: Result<Bytes, BytesRejection>,
) -> ApiResult {
    let req: CreateProvider = body(&state, raw)?;
    let view = state
        .gateway
        .create_provider(&req.provider, req.config)
        .await?;
    Ok((http::StatusCode::OK, Json(view)).into_response())
}

/// `GET /api/providers/{name}`.
pub async fn get_provider(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
) -> ApiResult {
    Ok(Json(state.gateway.get_provider(&name).await?).into_response())
}

/// `PUT /api/providers/{name}`: the full configuration (a `provider` field, if sent, must
/// match the path).
pub async fn update_provider(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    raw: Result<Bytes, BytesRejection>,
) -> ApiResult {
    let mut value: serde_json::Value = body(&state, raw)?;
    if let Some(obj) = value.as_object_mut() {
        if let Some(p) = obj.remove("provider") {
            if p.as_str() != Some(name.as_str()) {
                return Err(Error::BadRequest(
                    "provider in the body does not match the path".into(),
                ));
            }
        }
        obj.remove("name");
    }
    let config: ProviderConfig = serde_json::from_value(value)
        .map_err(|e| Error::BadRequest(format!("invalid provider configuration: {e}")))?;
    Ok(Json(state.gateway.update_provider(&name, config).await?).into_response())
}

/// `DELETE /api/providers/{name}`.
pub async fn delete_provider(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
) -> ApiResult {
    state.gateway.delete_provider(&name).await?;
    Ok(Json(json!({"message": "Provider deleted successfully"})).into_response())
}

/// `GET /api/providers/{name}/keys`.
pub async fn list_keys(State(state): State<Arc<AppState>>, Path(name): Path<String>) -> ApiResult {
    let p = state.gateway.get_provider(&name).await?;
    let total = p.config.keys.len();
    Ok(Json(json!({"keys": p.config.keys, "total": total})).into_response())
}

/// `POST /api/providers/{name}/keys`.
pub async fn add_key(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    raw: Result<Bytes, BytesRejection>,
) -> ApiResult {
    let key: KeyConfig = body(&state, raw)?;
    Ok(Json(state.gateway.add_key(&name, key).await?).into_response())
}

/// `GET /api/providers/{name}/keys/{id}`.
pub async fn get_key(
    State(state): State<Arc<AppState>>,
    Path((name, id)): Path<(String, String)>,
) -> ApiResult {
    let p = state.gateway.get_provider(&name).await?;
    let key = p
        .config
        .keys
        .into_iter()
        .find(|k| k.id == id || k.name == id)
        .ok_or_else(|| Error::NotFound(format!("key {id} not found")))?;
    Ok(Json(key).into_response())
}

/// `PUT /api/providers/{name}/keys/{id}`.
pub async fn update_key(
    State(state): State<Arc<AppState>>,
    Path((name, id)): Path<(String, String)>,
    raw: Result<Bytes, BytesRejection>,
) -> ApiResult {
    let key: KeyConfig = body(&state, raw)?;
    Ok(Json(state.gateway.update_key(&name, &id, key).await?).into_response())
}

/// `DELETE /api/providers/{name}/keys/{id}`.
pub async fn delete_key(
    State(state): State<Arc<AppState>>,
    Path((name, id)): Path<(String, String)>,
) -> ApiResult {
    state.gateway.delete_key(&name, &id).await?;
    Ok(Json(json!({"message": "Key deleted successfully"})).into_response())
}

/// `GET /api/keys`: every provider's keys, flat.
pub async fn all_keys(State(state): State<Arc<AppState>>) -> ApiResult {
    let providers = state.gateway.list_providers().await?;
    let keys: Vec<serde_json::Value> = providers
        .into_iter()
        .flat_map(|p| {
            let name = p.name;
            // `list_providers` already redacted the keys; redacting twice would turn
            // `********wxyz` into `********`.
            p.config.keys.into_iter().map(move |k| {
                let mut v = serde_json::to_value(&k).unwrap_or_default();
                v["provider"] = json!(name);
                v
            })
        })
        .collect();
    Ok(Json(keys).into_response())
}
