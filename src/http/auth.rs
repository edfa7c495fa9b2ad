//! Admin authentication (`auth_config`), as an axum middleware, and the session routes.
//!
//! When `is_enabled`, every route needs admin credentials except `/health`,
//! `/api/session/login`, `/api/session/is-auth-enabled` and `client.whitelisted_routes`
//! (`*` at the end matches a prefix). Credentials: `Authorization: Basic`, a session token
//! as `Authorization: Bearer <token>`, or the `token` cookie set by `POST /api/session/login`.
//! Inference routes skip admin auth when `disable_auth_on_inference` is on, and also for
//! requests that carry a virtual key (governance checks the key itself). Failed attempts are
//! limited per client address.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine;
use http::{header, HeaderMap, HeaderValue};
use serde::Deserialize;
use serde_json::json;

use super::AppState;
use crate::error::{Error, Result};
use crate::http::request::VIRTUAL_KEY_PREFIX;
use crate::plugins::governance::admin_auth::SESSION_SECS;
use crate::plugins::governance::types::AuthConfig;
use crate::plugins::governance::Governance;

const ALWAYS_OPEN: &[&str] = &[
    "/health",
    "/api/session/login",
    "/api/session/is-auth-enabled",
    "/api/oauth/callback",
];

/// The middleware's admin check: lets the request through or answers 401 (429 after too
/// many failures). Runs inside [`super::front`], within the metrics, so 401s are counted.
pub async fn require_admin(state: &AppState, req: Request, next: Next) -> Response {
    let Some(gov) = state.governance.clone() else {
        return next.run(req).await;
    };
    let snap = gov.snapshot();
    let cfg = &snap.auth;
    let path = req.uri().path();
    if !cfg.is_enabled
        || req.method() == http::Method::OPTIONS
        || is_open(state, path)
        // The dashboard's files and pages: the app itself shows the login.
        || crate::dashboard::is_public(&req)
    {
        return next.run(req).await;
    }
    if is_inference(path) && (cfg.disable_auth_on_inference || carries_virtual_key(req.headers())) {
        return next.run(req).await;
    }
    let ip = client_ip(&req);
    match check(&gov, cfg, req.headers(), ip).await {
        Ok(()) => next.run(req).await,
        Err(e) => e.into_response(),
    }
}

fn is_open(state: &AppState, path: &str) -> bool {
    if ALWAYS_OPEN.contains(&path) {
        return true;
    }
    state
        .gateway
        .snapshot()
        .client
        .whitelisted_routes
        .iter()
        .any(|r| match r.strip_suffix('*') {
            Some(prefix) => path.starts_with(prefix),
            None => r == path,
        })
}

/// Everything but the management API, `/ws` and `/metrics` is an inference route.
fn is_inference(path: &str) -> bool {
    !(path == "/api" || path.starts_with("/api/") || path == "/ws" || path == "/metrics")
}

fn carries_virtual_key(headers: &HeaderMap) -> bool {
    let text = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).unwrap_or("");
    !text("x-bf-vk").trim().is_empty()
        || bearer(headers).is_some_and(|b| b.starts_with(VIRTUAL_KEY_PREFIX))
        || text("x-api-key").starts_with(VIRTUAL_KEY_PREFIX)
        || text("x-goog-api-key").starts_with(VIRTUAL_KEY_PREFIX)
}

fn client_ip(req: &Request) -> IpAddr {
    req.extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip())
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    v.strip_prefix("Bearer ")
        .or_else(|| v.strip_prefix("bearer "))
        .map(str::trim)
}

fn cookie_token(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|kv| kv.trim().strip_prefix("token="))
        .filter(|t| !t.is_empty())
}

fn basic(headers: &HeaderMap) -> Option<(String, String)> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = v
        .strip_prefix("Basic ")
        .or_else(|| v.strip_prefix("basic "))?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, pass) = text.split_once(':')?;
    Some((user.to_owned(), pass.to_owned()))
}

async fn check(
    gov: &Arc<Governance>,
    cfg: &AuthConfig,
    headers: &HeaderMap,
    ip: IpAddr,
) -> Result<()> {
    if let Some((user, pass)) = basic(headers) {
        gov.auth().throttle(ip)?;
        if verify(gov, cfg, user, pass).await? {
            return Ok(());
        }
        gov.auth().failed(ip);
        return Err(Error::Unauthorized);
    }
    let token = bearer(headers).or_else(|| cookie_token(headers));
    match token {
        Some(t) if gov.auth().session_valid(t) => Ok(()),
        _ => Err(Error::Unauthorized),
    }
}

/// Checks credentials; argon2 runs on the blocking pool unless they are already known good.
async fn verify(
    gov: &Arc<Governance>,
    cfg: &AuthConfig,
    user: String,
    pass: String,
) -> Result<bool> {
    if gov.auth().cached(cfg, &user, &pass) {
        return Ok(true);
    }
    let (gov, cfg) = (Arc::clone(gov), cfg.clone());
    tokio::task::spawn_blocking(move || gov.auth().verify(&cfg, &user, &pass))
        .await
        .map_err(|e| Error::Internal(e.to_string()))
}

#[derive(Deserialize)]
struct Login {
    username: String,
    password: String,
}

fn governance(state: &AppState) -> Result<&Arc<Governance>> {
    state
        .governance
        .as_ref()
        .ok_or_else(|| Error::NotFound("governance is not enabled".into()))
}

/// `POST /api/session/login` `{username, password}`: sets the `token` cookie (30 days,
/// SameSite=Lax) and returns the token.
pub async fn login(State(state): State<Arc<AppState>>, req: Request) -> Result<Response> {
    let gov = governance(&state)?;
    let ip = client_ip(&req);
    let bytes = axum::body::to_bytes(req.into_body(), 64 * 1024)
        .await
        .map_err(|e| Error::BadRequest(format!("could not read the request body: {e}")))?;
    let body: Login = serde_json::from_slice(&bytes).map_err(|_| {
        Error::BadRequest("send a JSON object {\"username\": ..., \"password\": ...}".into())
    })?;
    let cfg = gov.snapshot().auth.clone();
    if !cfg.is_enabled {
        return Err(Error::BadRequest("authentication is not enabled".into()));
    }
    gov.auth().throttle(ip)?;
    if !verify(gov, &cfg, body.username, body.password).await? {
        gov.auth().failed(ip);
        return Err(Error::Unauthorized);
    }
    gov.auth().succeeded(ip);
    let (token, hash, expires) = gov.auth().start_session();
    let store = Arc::clone(gov.store());
    tokio::task::spawn_blocking(move || store.gov_add_session(&hash, expires))
        .await
        .map_err(|e| Error::Internal(e.to_string()))??;
    let cookie = format!("token={token}; Path=/; Max-Age={SESSION_SECS}; HttpOnly; SameSite=Lax");
    let mut resp = Json(json!({"message": "Login successful", "token": token})).into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(resp)
}

/// `POST /api/session/logout`: ends the session and clears the cookie.
pub async fn logout(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Result<Response> {
    let gov = governance(&state)?;
    if let Some(token) = bearer(&headers).or_else(|| cookie_token(&headers)) {
        let hash = gov.auth().end_session(token);
        let store = Arc::clone(gov.store());
        tokio::task::spawn_blocking(move || store.gov_remove_session(&hash))
            .await
            .map_err(|e| Error::Internal(e.to_string()))??;
    }
    let mut resp = Json(json!({"message": "Logout successful"})).into_response();
    resp.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("token=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax"),
    );
    Ok(resp)
}

/// `GET /api/session/is-auth-enabled`.
pub async fn is_auth_enabled(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let (enabled, valid) = match state.governance.as_ref() {
        Some(g) => {
            let enabled = g.snapshot().auth.is_enabled;
            let token = bearer(&headers).or_else(|| cookie_token(&headers));
            (enabled, token.is_some_and(|t| g.auth().session_valid(t)))
        }
        None => (false, false),
    };
    Json(json!({"is_auth_enabled": enabled, "has_valid_token": valid})).into_response()
}
