//! Google OAuth access tokens for Vertex AI.
//!
//! A service account signs a JWT (RS256) and exchanges it at its `token_uri` for an access
//! token (RFC 7523, `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`); an authorized
//! user (`gcloud auth application-default login`) exchanges its refresh token. Tokens are cached
//! per credentials and refreshed before they expire. Requests read the cache without a lock;
//! only a refresh takes the credentials' async mutex, so concurrent requests share one refresh.
//!
//! Application Default Credentials are the file named by `GOOGLE_APPLICATION_CREDENTIALS`, else
//! gcloud's well-known file. The GCE/GKE metadata server is not consulted.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use arc_swap::ArcSwapOption;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::config::secret::Secret;
use crate::error::{Error, Result, UpstreamError};
use crate::providers::client::Client;
use crate::providers::{http, unix_now, Call};

/// The scope every Vertex AI call needs.
pub const SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform";
/// Google's token endpoint, for credentials that do not name one.
const DEFAULT_TOKEN_URI: &str = "https://oauth2.googleapis.com/token";
/// Lifetime asked for in the JWT (Google's maximum).
const JWT_LIFETIME_SECS: u64 = 3600;
/// Tokens are refreshed this long before they expire, or at half their life if that is sooner.
const REFRESH_MARGIN: Duration = Duration::from_secs(300);
/// `grant_type` of the JWT exchange, form-encoded.
const JWT_BEARER_GRANT: &str = "urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer";

/// Where a key's credentials come from.
pub enum Source {
    /// `auth_credentials` as configured (resolved from `env.VAR` when it is one).
    Json(Secret),
    /// Application Default Credentials.
    Adc,
}

/// Credentials JSON as Google writes it. Not `Debug`: it holds a private key.
#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Credentials {
    /// A service account's key file.
    ServiceAccount(ServiceAccount),
    /// `gcloud auth application-default login`'s file.
    AuthorizedUser(AuthorizedUser),
}

/// The fields of a service-account key file the JWT needs.
#[derive(Deserialize)]
pub struct ServiceAccount {
    /// The account, the JWT's issuer.
    pub client_email: String,
    /// PKCS#8 PEM RSA key.
    pub private_key: String,
    /// Sent as the JWT's `kid`.
    #[serde(default)]
    pub private_key_id: Option<String>,
    /// Where the JWT is exchanged, also its audience.
    #[serde(default = "default_token_uri")]
    pub token_uri: String,
}

/// The fields of an authorized-user file.
#[derive(Deserialize)]
pub struct AuthorizedUser {
    /// OAuth client id.
    pub client_id: String,
    /// OAuth client secret.
    pub client_secret: String,
    /// Long-lived refresh token.
    pub refresh_token: String,
    /// Token endpoint.
    #[serde(default = "default_token_uri")]
    pub token_uri: String,
}

fn default_token_uri() -> String {
    DEFAULT_TOKEN_URI.to_owned()
}

/// Parses credentials JSON; for a service account, also checks that its key is a usable RSA
/// key. Errors never quote the JSON.
pub fn parse_credentials(json: &str) -> std::result::Result<Credentials, String> {
    let creds: Credentials = serde_json::from_str(json).map_err(|e| {
        format!(
            "not a service_account or authorized_user credentials JSON (line {}, column {})",
            e.line(),
            e.column()
        )
    })?;
    if let Credentials::ServiceAccount(sa) = &creds {
        signing_key(&sa.private_key)?;
    }
    Ok(creds)
}

fn signing_key(pem: &str) -> std::result::Result<ring::signature::RsaKeyPair, String> {
    let body: String = pem
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("-----"))
        .collect();
    let der = STANDARD
        .decode(body)
        .map_err(|_| "private_key is not PEM".to_owned())?;
    ring::signature::RsaKeyPair::from_pkcs8(&der)
        .map_err(|e| format!("private_key is not a PKCS#8 RSA key ({e})"))
}

/// The signed JWT a service account exchanges for an access token, issued at `now`.
pub fn service_account_jwt(sa: &ServiceAccount, now: u64) -> std::result::Result<String, String> {
    let key = signing_key(&sa.private_key)?;
    let mut header = serde_json::json!({"alg": "RS256", "typ": "JWT"});
    if let Some(kid) = &sa.private_key_id {
        header["kid"] = serde_json::Value::String(kid.clone());
    }
    let claims = serde_json::json!({
        "iss": sa.client_email,
        "scope": SCOPE,
        "aud": sa.token_uri,
        "iat": now,
        "exp": now + JWT_LIFETIME_SECS,
    });
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let mut signature = vec![0; key.public().modulus_len()];
    key.sign(
        &ring::signature::RSA_PKCS1_SHA256,
        &ring::rand::SystemRandom::new(),
        signing_input.as_bytes(),
        &mut signature,
    )
    .map_err(|_| "signing the JWT failed".to_owned())?;
    Ok(format!(
        "{signing_input}.{}",
        URL_SAFE_NO_PAD.encode(signature)
    ))
}

/// Access tokens by credentials, shared by the clones of one provider client.
#[derive(Clone, Default)]
pub struct TokenCache {
    slots: Arc<Mutex<HashMap<[u8; 32], Arc<Slot>>>>,
}

impl fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenCache")
    }
}

/// One credentials' token and the lock its refreshes take.
#[derive(Default)]
struct Slot {
    current: ArcSwapOption<Token>,
    refresh: tokio::sync::Mutex<()>,
}

struct Token {
    value: Secret,
    refresh_at: Instant,
}

impl Slot {
    fn fresh(&self) -> Option<Secret> {
        self.current
            .load()
            .as_ref()
            .filter(|t| Instant::now() < t.refresh_at)
            .map(|t| t.value.clone())
    }
}

impl TokenCache {
    /// A valid access token for these credentials: the cached one, or a new one.
    pub async fn token(&self, http: &Client, call: &Call<'_>, source: Source) -> Result<Secret> {
        let slot = self.slot(&source);
        if let Some(token) = slot.fresh() {
            return Ok(token);
        }
        // Concurrent requests wait for the one refresh instead of each starting one.
        let _refreshing = slot.refresh.lock().await;
        if let Some(token) = slot.fresh() {
            return Ok(token);
        }
        let (value, expires_in) = fetch(http, call, source).await?;
        let lifetime = Duration::from_secs(expires_in);
        let margin = REFRESH_MARGIN.min(lifetime / 2);
        slot.current.store(Some(Arc::new(Token {
            value: value.clone(),
            refresh_at: Instant::now() + lifetime - margin,
        })));
        Ok(value)
    }

    fn slot(&self, source: &Source) -> Arc<Slot> {
        let mut hasher = Sha256::new();
        match source {
            Source::Json(json) => hasher.update(json.expose().as_bytes()),
            // ADC resolves to a file that may change; a refresh rereads it.
            Source::Adc => hasher.update(b"application-default-credentials"),
        }
        let fingerprint: [u8; 32] = hasher.finalize().into();
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        Arc::clone(slots.entry(fingerprint).or_default())
    }
}

/// Gets a new access token and its lifetime in seconds.
async fn fetch(http: &Client, call: &Call<'_>, source: Source) -> Result<(Secret, u64)> {
    let json = match source {
        Source::Json(json) => json,
        Source::Adc => read_adc(call).await?,
    };
    let creds = parse_credentials(json.expose()).map_err(|e| {
        Error::Config(format!(
            "providers.{}: vertex_key_config.auth_credentials: {e}",
            call.provider
        ))
    })?;
    let (token_uri, form) = match &creds {
        Credentials::ServiceAccount(sa) => {
            let jwt = service_account_jwt(sa, unix_now()).map_err(|e| {
                Error::Config(format!(
                    "providers.{}: vertex_key_config.auth_credentials: {e}",
                    call.provider
                ))
            })?;
            (
                sa.token_uri.as_str(),
                format!("grant_type={JWT_BEARER_GRANT}&assertion={jwt}"),
            )
        }
        Credentials::AuthorizedUser(user) => (
            user.token_uri.as_str(),
            format!(
                "grant_type=refresh_token&client_id={}&client_secret={}&refresh_token={}",
                http::percent_encode(&user.client_id),
                http::percent_encode(&user.client_secret),
                http::percent_encode(&user.refresh_token)
            ),
        ),
    };
    let (status, body) = http::post_form(http, call, token_uri, form).await?;
    if !(200..300).contains(&status) {
        return Err(Error::Upstream(Box::new(token_error(
            call.provider,
            status,
            &body,
        ))));
    }
    #[derive(Deserialize)]
    struct TokenResponse {
        access_token: String,
        #[serde(default = "default_expires_in")]
        expires_in: u64,
    }
    let answer: TokenResponse =
        serde_json::from_slice(&body).map_err(|e| Error::BadUpstreamResponse {
            provider: call.provider.to_owned(),
            message: format!("token endpoint answer: {e}"),
        })?;
    Ok((Secret::from_value(answer.access_token), answer.expires_in))
}

fn default_expires_in() -> u64 {
    JWT_LIFETIME_SECS
}

/// The token endpoint's refusal (`{"error","error_description"}`) as an authentication error:
/// a refused grant means the gateway's credentials are wrong, which is a 401 for the caller.
fn token_error(provider: &str, status: u16, body: &[u8]) -> UpstreamError {
    #[derive(Deserialize)]
    struct OAuthError {
        error: String,
        #[serde(default)]
        error_description: String,
    }
    let status = if status == 400 { 401 } else { status };
    let message = match serde_json::from_slice::<OAuthError>(body) {
        Ok(e) if e.error_description.is_empty() => {
            format!("Vertex AI authentication failed: {}", e.error)
        }
        Ok(e) => format!(
            "Vertex AI authentication failed: {}: {}",
            e.error, e.error_description
        ),
        Err(_) => format!("Vertex AI authentication failed: token endpoint answered HTTP {status}"),
    };
    UpstreamError {
        provider: provider.to_owned(),
        status,
        message,
        error_type: Some("authentication_error".into()),
        code: None,
        param: None,
    }
}

/// Reads Application Default Credentials off the request path's thread.
async fn read_adc(call: &Call<'_>) -> Result<Secret> {
    let path = std::env::var_os("GOOGLE_APPLICATION_CREDENTIALS")
        .filter(|p| !p.is_empty())
        .map(std::path::PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|home| {
                std::path::Path::new(&home)
                    .join(".config/gcloud/application_default_credentials.json")
            })
        });
    let no_adc = || {
        Error::Config(format!(
            "providers.{}: a vertex key has no auth_credentials and no Application Default \
             Credentials were found (set GOOGLE_APPLICATION_CREDENTIALS to a credentials file; \
             the metadata server is not supported)",
            call.provider
        ))
    };
    let Some(path) = path else {
        return Err(no_adc());
    };
    let read = tokio::task::spawn_blocking(move || std::fs::read_to_string(path))
        .await
        .map_err(|e| Error::Internal(e.to_string()))?;
    read.map(Secret::from_value).map_err(|_| no_adc())
}
