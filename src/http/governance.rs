//! `/api/governance/*`: virtual keys, teams, customers, budgets, rate limits and the quota
//! view, as thin wrappers over `plugins::governance`. A key's value appears once, in the
//! answer that created it.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use super::request::parse_json;
use super::AppState;
use crate::error::{Error, Result};
use crate::plugins::governance::groups::{self, CustomerInput, TeamInput};
use crate::plugins::governance::manage::{self, VkInput};
use crate::plugins::governance::snapshot::Docs;
use crate::plugins::governance::views::{self, Usage};
use crate::plugins::governance::Governance;
use crate::store::ConfigStore;

type ApiResult = std::result::Result<Response, Error>;

/// The governance routes, relative to `/api`.
pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/governance/virtual-keys", get(list_keys).post(create_key))
        .route("/governance/virtual-keys/quota", get(all_quotas))
        .route(
            "/governance/virtual-keys/{id}",
            get(get_key).put(update_key).delete(delete_key),
        )
        .route("/governance/virtual-keys/{id}/quota", get(key_quota))
        .route("/governance/teams", get(list_teams).post(create_team))
        .route(
            "/governance/teams/{id}",
            get(get_team).put(update_team).delete(delete_team),
        )
        .route(
            "/governance/customers",
            get(list_customers).post(create_customer),
        )
        .route(
            "/governance/customers/{id}",
            get(get_customer)
                .put(update_customer)
                .delete(delete_customer),
        )
        .route("/governance/budgets", get(budgets))
        .route("/governance/rate-limits", get(rate_limits))
        .route("/governance/pricing/missing", get(missing_prices))
        .route("/session/login", axum::routing::post(super::auth::login))
        .route("/session/logout", axum::routing::post(super::auth::logout))
        .route(
            "/session/is-auth-enabled",
            get(super::auth::is_auth_enabled),
        )
}

fn gov(state: &AppState) -> Result<&Arc<Governance>> {
    state
        .governance
        .as_ref()
        .ok_or_else(|| Error::NotFound("governance is not enabled".into()))
}

fn body<T: serde::de::DeserializeOwned>(
    state: &AppState,
    raw: std::result::Result<Bytes, BytesRejection>,
) -> Result<T> {
    parse_json(
        raw,
        state.gateway.snapshot().client.max_request_body_size_mb,
    )
}

/// Runs a store operation on the blocking pool.
async fn blocking<T: Send + 'static>(
    g: &Governance,
    f: impl FnOnce(&ConfigStore) -> Result<T> + Send + 'static,
) -> Result<T> {
    let store = Arc::clone(g.store());
    tokio::task::spawn_blocking(move || f(&store))
        .await
        .map_err(|e| Error::Internal(e.to_string()))?
}

/// A write, then the reload that makes it live.
async fn write<T: Send + 'static>(
    g: &Governance,
    f: impl FnOnce(&ConfigStore) -> Result<T> + Send + 'static,
) -> Result<T> {
    let out = blocking(g, f).await?;
    g.reload().await?;
    Ok(out)
}

async fn docs(g: &Governance) -> Result<Docs> {
    Ok(blocking(g, manage::load_docs).await?.0)
}

async fn list_keys(State(state): State<Arc<AppState>>) -> ApiResult {
    let g = gov(&state)?;
    let docs = docs(g).await?;
    let usage = Usage::live(&g.snapshot());
    let keys: Vec<Value> = docs
        .keys
        .iter()
        .map(|(k, _)| views::virtual_key(k, &usage))
        .collect();
    Ok(Json(json!({"virtual_keys": keys, "count": keys.len()})).into_response())
}

async fn create_key(
    State(state): State<Arc<AppState>>,
    raw: std::result::Result<Bytes, BytesRejection>,
) -> ApiResult {
    let g = gov(&state)?;
    let input: VkInput = body(&state, raw)?;
    let (vk, value) = write(g, move |s| manage::create_vk(s, input)).await?;
    let mut view = views::virtual_key(&vk, &Usage::live(&g.snapshot()));
    if let Some(o) = view.as_object_mut() {
        o.insert("value".into(), Value::String(value));
    }
    Ok(
        Json(json!({"message": "Virtual key created successfully", "virtual_key": view}))
            .into_response(),
    )
}

async fn get_key(State(state): State<Arc<AppState>>, Path(id): Path<String>) -> ApiResult {
    let g = gov(&state)?;
    let vk = blocking(g, move |s| manage::get_vk(s, &id)).await?;
    let view = views::virtual_key(&vk, &Usage::live(&g.snapshot()));
    Ok(Json(json!({"virtual_key": view})).into_response())
}

async fn update_key(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    raw: std::result::Result<Bytes, BytesRejection>,
) -> ApiResult {
    let g = gov(&state)?;
    let input: VkInput = body(&state, raw)?;
    let vk = write(g, move |s| manage::update_vk(s, &id, input)).await?;
    let view = views::virtual_key(&vk, &Usage::live(&g.snapshot()));
    Ok(
        Json(json!({"message": "Virtual key updated successfully", "virtual_key": view}))
            .into_response(),
    )
}

async fn delete_key(State(state): State<Arc<AppState>>, Path(id): Path<String>) -> ApiResult {
    let g = gov(&state)?;
    write(g, move |s| manage::delete_vk(s, &id)).await?;
    Ok(Json(json!({"message": "Virtual key deleted successfully"})).into_response())
}

fn quota_of(
    docs: &Docs,
    key: &crate::plugins::governance::types::VirtualKey,
    usage: &Usage,
) -> Value {
    let team = key
        .team_id
        .as_ref()
        .and_then(|id| docs.teams.iter().find(|t| &t.id == id));
    let customer_id = key
        .customer_id
        .as_ref()
        .or_else(|| team.and_then(|t| t.customer_id.as_ref()));
    let customer = customer_id.and_then(|id| docs.customers.iter().find(|c| &c.id == id));
    views::quota(key, team, customer, usage)
}

async fn all_quotas(State(state): State<Arc<AppState>>) -> ApiResult {
    let g = gov(&state)?;
    let docs = docs(g).await?;
    let usage = Usage::live(&g.snapshot());
    let quotas: Vec<Value> = docs
        .keys
        .iter()
        .map(|(k, _)| quota_of(&docs, k, &usage))
        .collect();
    Ok(Json(json!({"quotas": quotas, "count": quotas.len()})).into_response())
}

async fn key_quota(State(state): State<Arc<AppState>>, Path(id): Path<String>) -> ApiResult {
    let g = gov(&state)?;
    let docs = docs(g).await?;
    let usage = Usage::live(&g.snapshot());
    let key = docs
        .keys
        .iter()
        .map(|(k, _)| k)
        .find(|k| k.id == id || k.name == id)
        .ok_or_else(|| Error::NotFound(format!("virtual key {id} not found")))?;
    Ok(Json(quota_of(&docs, key, &usage)).into_response())
}

async fn list_teams(State(state): State<Arc<AppState>>) -> ApiResult {
    let g = gov(&state)?;
    let docs = docs(g).await?;
    let usage = Usage::live(&g.snapshot());
    let teams: Vec<Value> = docs.teams.iter().map(|t| views::team(t, &usage)).collect();
    Ok(Json(json!({"teams": teams, "count": teams.len()})).into_response())
}

async fn create_team(
    State(state): State<Arc<AppState>>,
    raw: std::result::Result<Bytes, BytesRejection>,
) -> ApiResult {
    let g = gov(&state)?;
    let input: TeamInput = body(&state, raw)?;
    let team = write(g, move |s| groups::create_team(s, input, None)).await?;
    let view = views::team(&team, &Usage::live(&g.snapshot()));
    Ok(Json(json!({"message": "Team created successfully", "team": view})).into_response())
}

async fn get_team(State(state): State<Arc<AppState>>, Path(id): Path<String>) -> ApiResult {
    let g = gov(&state)?;
    let team = blocking(g, move |s| groups::get_team(s, &id)).await?;
    let view = views::team(&team, &Usage::live(&g.snapshot()));
    Ok(Json(json!({"team": view})).into_response())
}

async fn update_team(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    raw: std::result::Result<Bytes, BytesRejection>,
) -> ApiResult {
    let g = gov(&state)?;
    let input: TeamInput = body(&state, raw)?;
    let team = write(g, move |s| groups::update_team(s, &id, input)).await?;
    let view = views::team(&team, &Usage::live(&g.snapshot()));
    Ok(Json(json!({"message": "Team updated successfully", "team": view})).into_response())
}

async fn delete_team(State(state): State<Arc<AppState>>, Path(id): Path<String>) -> ApiResult {
    let g = gov(&state)?;
    write(g, move |s| groups::delete_team(s, &id)).await?;
    Ok(Json(json!({"message": "Team deleted successfully"})).into_response())
}

async fn list_customers(State(state): State<Arc<AppState>>) -> ApiResult {
    let g = gov(&state)?;
    let docs = docs(g).await?;
    let usage = Usage::live(&g.snapshot());
    let list: Vec<Value> = docs
        .customers
        .iter()
        .map(|c| views::customer(c, &usage))
        .collect();
    Ok(Json(json!({"customers": list, "count": list.len()})).into_response())
}

async fn create_customer(
    State(state): State<Arc<AppState>>,
    raw: std::result::Result<Bytes, BytesRejection>,
) -> ApiResult {
    let g = gov(&state)?;
    let input: CustomerInput = body(&state, raw)?;
    let c = write(g, move |s| groups::create_customer(s, input, None)).await?;
    let view = views::customer(&c, &Usage::live(&g.snapshot()));
    Ok(Json(json!({"message": "Customer created successfully", "customer": view})).into_response())
}

async fn get_customer(State(state): State<Arc<AppState>>, Path(id): Path<String>) -> ApiResult {
    let g = gov(&state)?;
    let c = blocking(g, move |s| groups::get_customer(s, &id)).await?;
    let view = views::customer(&c, &Usage::live(&g.snapshot()));
    Ok(Json(json!({"customer": view})).into_response())
}

async fn update_customer(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    raw: std::result::Result<Bytes, BytesRejection>,
) -> ApiResult {
    let g = gov(&state)?;
    let input: CustomerInput = body(&state, raw)?;
    let c = write(g, move |s| groups::update_customer(s, &id, input)).await?;
    let view = views::customer(&c, &Usage::live(&g.snapshot()));
    Ok(Json(json!({"message": "Customer updated successfully", "customer": view})).into_response())
}

async fn delete_customer(State(state): State<Arc<AppState>>, Path(id): Path<String>) -> ApiResult {
    let g = gov(&state)?;
    write(g, move |s| groups::delete_customer(s, &id)).await?;
    Ok(Json(json!({"message": "Customer deleted successfully"})).into_response())
}

/// `GET /api/governance/budgets`: every budget with its usage.
async fn budgets(State(state): State<Arc<AppState>>) -> ApiResult {
    let g = gov(&state)?;
    let snap = g.snapshot();
    let usage = Usage::live(&snap);
    let list: Vec<Value> = snap
        .budgets
        .iter()
        .map(|b| views::budget(&b.cfg, &usage))
        .collect();
    Ok(Json(json!({"budgets": list, "count": list.len()})).into_response())
}

/// `GET /api/governance/rate-limits`: every rate limit with its usage.
async fn rate_limits(State(state): State<Arc<AppState>>) -> ApiResult {
    let g = gov(&state)?;
    let snap = g.snapshot();
    let usage = Usage::live(&snap);
    let list: Vec<Value> = snap
        .rates
        .iter()
        .map(|r| views::rate_limit(&r.cfg, &usage))
        .collect();
    Ok(Json(json!({"rate_limits": list, "count": list.len()})).into_response())
}

/// `GET /api/governance/pricing/missing`: models asked for that have no known price.
async fn missing_prices(State(state): State<Arc<AppState>>) -> ApiResult {
    let g = gov(&state)?;
    let models: Vec<Value> = g
        .pricing()
        .missing
        .list()
        .into_iter()
        .map(|(model, requests)| json!({"model": model, "requests": requests}))
        .collect();
    Ok(Json(json!({"models": models, "count": models.len()})).into_response())
}
