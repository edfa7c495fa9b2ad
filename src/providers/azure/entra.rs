//! Entra ID (Azure AD) client-credentials tokens for Azure OpenAI: fetched from
//! `{authority}/{tenant}/oauth2/v2.0/token`, cached per credentials and refreshed before they
//! expire. A cached token is read under a short synchronous lock; only a refresh waits, on an
//! async lock of its own credentials, so concurrent requests fetch one token, not many.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::config::secret::Secret;
use crate::error::{Error, Result, UpstreamError};
use crate::providers::client::Client;
use crate::providers::http::{self, percent_encode};
use crate::providers::Call;

/// Where tokens come from unless `AZURE_AUTHORITY_HOST` says otherwise (as Azure SDKs read it;
/// sovereign clouds and tests set it).
const DEFAULT_AUTHORITY: &str = "https://login.microsoftonline.com";
/// The scope Azure OpenAI tokens are for when a key names none.
pub const DEFAULT_SCOPE: &str = "https://cognitiveservices.azure.com/.default";
/// A token is replaced this long before it expires (at most a quarter of its lifetime).
const REFRESH_MARGIN: Duration = Duration::from_secs(300);

/// A service principal's credentials.
#[derive(Debug)]
pub struct Credentials {
    /// Directory (tenant) id.
    pub tenant: Secret,
    /// Application (client) id.
    pub client_id: Secret,
    /// Client secret.
    pub client_secret: Secret,
    /// Space-separated scopes.
    pub scope: String,
}

/// One set of credentials' token and the lock a refresh takes.
#[derive(Default)]
struct Slot {
    current: Mutex<Option<Cached>>,
    refresh: tokio::sync::Mutex<()>,
}

#[derive(Clone)]
struct Cached {
    token: Secret,
    refresh_at: Instant,
}

impl Slot {
    fn fresh(&self) -> Option<Secret> {
        let current = self.current.lock().unwrap_or_else(|e| e.into_inner());
        current
            .as_ref()
            .filter(|c| Instant::now() < c.refresh_at)
            .map(|c| c.token.clone())
    }

    fn store(&self, token: Secret, lifetime: Duration) {
        let cached = Cached {
            token,
            refresh_at: Instant::now() + refresh_after(lifetime),
        };
        *self.current.lock().unwrap_or_else(|e| e.into_inner()) = Some(cached);
    }
}

/// Tokens by credentials, for the whole process: they outlive configuration reloads.
static SLOTS: LazyLock<Mutex<HashMap<String, Arc<Slot>>>> = LazyLock::new(Default::default);

/// How long a token of this lifetime is used before it is replaced.
fn refresh_after(lifetime: Duration) -> Duration {
    lifetime.saturating_sub(REFRESH_MARGIN.min(lifetime / 4))
}

/// A valid token for `creds`: the cached one, or a new one.
pub async fn token(client: &Client, call: &Call<'_>, creds: &Credentials) -> Result<Secret> {
    let authority = authority();
    let slot = slot(&authority, creds);
    if let Some(t) = slot.fresh() {
        return Ok(t);
    }
    let _one_refresh = slot.refresh.lock().await;
    if let Some(t) = slot.fresh() {
        return Ok(t);
    }
    let (token, lifetime) = fetch(client, call, &authority, creds).await?;
    slot.store(token.clone(), lifetime);
    Ok(token)
}

fn authority() -> String {
    std::env::var("AZURE_AUTHORITY_HOST")
        .ok()
        .map(|a| a.trim().trim_end_matches('/').to_owned())
        .filter(|a| !a.is_empty())
        .unwrap_or_else(|| DEFAULT_AUTHORITY.to_owned())
}

/// The slot of these credentials. The map key holds a hash of the secret, never the secret,
/// and a rotated secret gets a slot of its own.
fn slot(authority: &str, creds: &Credentials) -> Arc<Slot> {
    let mut hash = Sha256::new();
    for part in [
        authority,
        creds.tenant.expose(),
        creds.client_id.expose(),
        creds.client_secret.expose(),
        &creds.scope,
    ] {
        hash.update(part.as_bytes());
        hash.update([0]);
    }
    let key: String = hash.finalize().iter().map(|b| format!("{b:02x}")).collect();
    let mut slots = SLOTS.lock().unwrap_or_else(|e| e.into_inner());
    Arc::clone(slots.entry(key).or_default())
}

/// The client-credentials grant.
async fn fetch(
    client: &Client,
    call: &Call<'_>,
    authority: &str,
    creds: &Credentials,
) -> Result<(Secret, Duration)> {
    let url = format!(
        "{authority}/{}/oauth2/v2.0/token",
        percent_encode(creds.tenant.expose())
    );
    let form = format!(
        "grant_type=client_credentials&client_id={}&client_secret={}&scope={}",
        percent_encode(creds.client_id.expose()),
        percent_encode(creds.client_secret.expose()),
        percent_encode(&creds.scope)
    );
    let (status, body) = http::post_form(client, call, &url, form).await?;
    let answer: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    if !(200..300).contains(&status) {
        return Err(Error::Upstream(Box::new(token_error(
            call.provider,
            status,
            &answer,
        ))));
    }
    let token = answer["access_token"]
        .as_str()
        .filter(|t| !t.is_empty())
        .ok_or_else(|| Error::BadUpstreamResponse {
            provider: call.provider.to_owned(),
            message: "the Entra ID token answer has no access_token".into(),
        })?;
    // v2.0 sends a number, v1.0 a string.
    let seconds = answer["expires_in"]
        .as_u64()
        .or_else(|| answer["expires_in"].as_str().and_then(|s| s.parse().ok()))
        .unwrap_or(3600);
    Ok((
        Secret::from_value(token.to_owned()),
        Duration::from_secs(seconds),
    ))
}

/// Entra's `{"error", "error_description"}`, without anything secret in it.
fn token_error(provider: &str, status: u16, answer: &Value) -> UpstreamError {
    let description = answer["error_description"]
        .as_str()
        .or_else(|| answer["error"].as_str())
        .unwrap_or("no description");
    UpstreamError {
        provider: provider.to_owned(),
        status,
        message: format!("Entra ID refused the client credentials: {description}"),
        error_type: answer["error"].as_str().map(str::to_owned),
        code: None,
        param: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_replaced_well_before_they_expire() {
        assert_eq!(
            refresh_after(Duration::from_secs(3599)),
            Duration::from_secs(3299)
        );
        assert_eq!(
            refresh_after(Duration::from_secs(8)),
            Duration::from_secs(6)
        );
        assert_eq!(refresh_after(Duration::ZERO), Duration::ZERO);
    }

    #[test]
    fn token_errors_keep_entra_s_description() {
        let e = token_error(
            "azure",
            401,
            &serde_json::json!({"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret provided."}),
        );
        assert_eq!(e.error_type.as_deref(), Some("invalid_client"));
        assert!(e.message.contains("AADSTS7000215"));
    }
}
