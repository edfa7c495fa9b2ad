//! `GET`/`PUT /api/config`: the `client` section, `framework_config` (pricing refresh) and
//! `auth_config` (password redacted), in Bifrost's shapes.
//!
//! A `PUT` is validated whole (every problem named by its field path, 400), written to
//! config.db in one transaction and applied at once by swapping in new snapshots; the
//! settings that only a restart applies are listed under `restart_required`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::request::parse_json;
use super::AppState;
use crate::engine::settings::patch_client;
use crate::error::{Error, Result};
use crate::plugins::governance::manage;
use crate::plugins::governance::settings::{
    auth_view, framework_view, AuthInput, FrameworkInput, HashedAuth,
};
use crate::plugins::governance::types::{AuthConfig, PricingSettings};

/// `PUT /api/config` body; sections left out are not changed.
#[derive(Debug, Deserialize)]
pub struct ConfigUpdate {
    /// Fields of the `client` section to change.
    #[serde(default)]
    client_config: Option<Value>,
    /// Pricing refresh settings.
    #[serde(default)]
    framework_config: Option<FrameworkInput>,
    /// Admin authentication.
    #[serde(default)]
    auth_config: Option<AuthInput>,
}

/// `GET /api/config`.
pub async fn get(State(state): State<Arc<AppState>>) -> Response {
    let client = state.gateway.snapshot().client.clone();
    let (auth, pricing) = match &state.governance {
        Some(g) => (
            g.snapshot().auth.clone(),
            PricingSettings::clone(&g.pricing().settings.load()),
        ),
        None => (AuthConfig::default(), PricingSettings::default()),
    };
    let mut body = json!({
        "client_config": client,
        "framework_config": framework_view(&pricing),
        "auth_config": auth_view(&auth),
        "is_db_connected": true,
        "is_cache_connected": false,
        "is_logs_connected": state.logs.is_some(),
        "app_dir": state.gateway.app_dir(),
    });
    let reasons = state.gateway.restart_required();
    if !reasons.is_empty() {
        body["restart_required"] = json!({
            "required": true,
            "reason": format!(
                "{} settings have been updated. A restart is required for changes to take full effect.",
                reasons.join(", ")
            ),
        });
    }
    Json(body).into_response()
}

/// `PUT /api/config`: answers `{"status":"success","message":"configuration updated successfully"}`.
pub async fn update(
    State(state): State<Arc<AppState>>,
    raw: Result<Bytes, BytesRejection>,
) -> Result<Response> {
    let limit = state.gateway.current().client.max_request_body_size_mb;
    let update: ConfigUpdate = parse_json(raw, limit)?;
    let governs = update.auth_config.is_some() || update.framework_config.is_some();
    if governs && state.governance.is_none() {
        return Err(Error::NotFound("governance is not enabled".into()));
    }
    if let Some(problems) = update
        .framework_config
        .as_ref()
        .map(FrameworkInput::problems)
        .filter(|p| !p.is_empty())
    {
        return Err(Error::BadRequest(problems.join("; ")));
    }
    let auth = match update.auth_config {
        Some(input) => Some(blocking(move || input.hash_new_password()).await?),
        None => None,
    };
    let store = Arc::clone(state.gateway.store());
    let (client, framework) = (update.client_config, update.framework_config);
    blocking(move || {
        store.update_settings(|current, tx| {
            if let Some(patch) = &client {
                *current = patch_client(current, patch)?;
            }
            if let Some(auth) = auth {
                save_auth(tx, auth)?;
            }
            if let Some(framework) = &framework {
                let stored: PricingSettings = manage::setting(tx, "pricing")?;
                tx.set_setting("pricing", &manage::encode(&framework.apply(&stored))?)?;
            }
            Ok(())
        })
    })
    .await?;
    state.gateway.reload().await?;
    if let Some(g) = &state.governance {
        g.reload().await?;
    }
    Ok(
        Json(json!({"status": "success", "message": "configuration updated successfully"}))
            .into_response(),
    )
}

fn save_auth(tx: &crate::store::governance_store::GovTx<'_>, auth: HashedAuth) -> Result<()> {
    let stored: AuthConfig = manage::setting(tx, "auth_config")?;
    let next = auth.apply(&stored)?;
    tx.set_setting("auth_config", &manage::encode(&next)?)
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::Internal(e.to_string()))?
}
