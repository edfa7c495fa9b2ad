//! AWS credentials for SigV4: the key's static keys, else the default chain (environment, then
//! web identity as on EKS with IRSA), with an STS AssumeRole on top when `role_arn` is set.
//!
//! Temporary credentials from STS are cached per role and source and refreshed a few minutes
//! before they expire. The cache lock is held only to read or insert, never across a call.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, LazyLock, Mutex, PoisonError};
use std::time::Duration;

use ::http::header::CONTENT_TYPE;

use super::sigv4::{self, Scope, Signable};
use crate::config::secret::{Resolved, SecretRef};
use crate::config::types::BedrockKeyConfig;
use crate::error::{Error, Result, UpstreamError};
use crate::providers::anthropic::parse_rfc3339;
use crate::providers::client::{self, Client};
use crate::providers::http::{percent_encode, with_causes};
use crate::providers::unix_now;

/// Temporary credentials are replaced this long before they expire, so that a request signed
/// with them cannot reach AWS after the expiry.
const REFRESH_MARGIN_SECS: u64 = 300;
/// Lifetime asked of STS (its default and the minimum every role allows).
const SESSION_DURATION_SECS: u32 = 3600;
/// Session name used when the config names none.
const DEFAULT_SESSION_NAME: &str = "bifrost";
/// How long an STS call may take.
const STS_TIMEOUT: Duration = Duration::from_secs(10);

/// A set of AWS credentials. `Debug` shows the access key id only.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The access key id (not secret: it appears in every signature).
    pub access_key_id: String,
    secret_access_key: String,
    /// The session token of temporary credentials.
    pub session_token: Option<String>,
    /// Unix time of expiry, for temporary credentials.
    pub expires_at: Option<u64>,
}

impl Credentials {
    /// Credentials from their parts.
    pub fn new(
        access_key_id: String,
        secret_access_key: String,
        session_token: Option<String>,
        expires_at: Option<u64>,
    ) -> Self {
        Self {
            access_key_id,
            secret_access_key,
            session_token: session_token.filter(|t| !t.is_empty()),
            expires_at,
        }
    }

    /// The secret, for the signer only.
    pub(super) fn secret_access_key(&self) -> &str {
        &self.secret_access_key
    }

    fn usable_at(&self, now: u64) -> bool {
        self.expires_at
            .is_none_or(|t| t > now.saturating_add(REFRESH_MARGIN_SECS))
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"********")
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| "********"),
            )
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// Temporary credentials by what produced them (role, source, endpoint).
static CACHE: LazyLock<Mutex<HashMap<String, Arc<Credentials>>>> = LazyLock::new(Default::default);

fn cached(key: &str) -> Option<Arc<Credentials>> {
    let cache = CACHE.lock().unwrap_or_else(PoisonError::into_inner);
    cache.get(key).filter(|c| c.usable_at(unix_now())).cloned()
}

fn remember(key: String, creds: Credentials) -> Arc<Credentials> {
    let creds = Arc::new(creds);
    CACHE
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(key, Arc::clone(&creds));
    creds
}

/// The credentials to sign a request with.
pub async fn resolve(
    http: &Client,
    provider: &str,
    key: Option<&BedrockKeyConfig>,
    region: &str,
) -> Result<Arc<Credentials>> {
    let base = base_credentials(http, provider, key, region).await?;
    let Some(key) = key else { return Ok(base) };
    let Some(role_arn) = optional(provider, key.role_arn.as_ref())? else {
        return Ok(base);
    };
    let external_id = optional(provider, key.external_id.as_ref())?;
    let session_name = optional(provider, key.session_name.as_ref())?
        .unwrap_or_else(|| DEFAULT_SESSION_NAME.to_owned());
    let endpoint = sts_endpoint(region);
    let cache_key = format!(
        "assume|{endpoint}|{}|{role_arn}|{}|{session_name}",
        base.access_key_id,
        external_id.as_deref().unwrap_or_default()
    );
    if let Some(c) = cached(&cache_key) {
        return Ok(c);
    }
    let duration = SESSION_DURATION_SECS.to_string();
    let mut form = vec![
        ("Action", "AssumeRole"),
        ("DurationSeconds", duration.as_str()),
        ("RoleArn", role_arn.as_str()),
        ("RoleSessionName", session_name.as_str()),
        ("Version", "2011-06-15"),
    ];
    if let Some(id) = &external_id {
        form.push(("ExternalId", id));
    }
    let creds = sts_call(http, provider, &endpoint, region, &form, Some(&base)).await?;
    Ok(remember(cache_key, creds))
}

/// The key's static keys, else the environment, else web identity.
async fn base_credentials(
    http: &Client,
    provider: &str,
    key: Option<&BedrockKeyConfig>,
    region: &str,
) -> Result<Arc<Credentials>> {
    if let Some(k) = key.filter(|k| !k.access_key.is_empty()) {
        let access = required(provider, &k.access_key)?;
        let secret = required(provider, &k.secret_key)?;
        let token = optional(provider, k.session_token.as_ref())?;
        return Ok(Arc::new(Credentials::new(access, secret, token, None)));
    }
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    if let (Some(access), Some(secret)) = (env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY")) {
        return Ok(Arc::new(Credentials::new(
            access,
            secret,
            env("AWS_SESSION_TOKEN"),
            None,
        )));
    }
    if let (Some(token_file), Some(role_arn)) =
        (env("AWS_WEB_IDENTITY_TOKEN_FILE"), env("AWS_ROLE_ARN"))
    {
        let session_name =
            env("AWS_ROLE_SESSION_NAME").unwrap_or_else(|| DEFAULT_SESSION_NAME.to_owned());
        return web_identity(http, provider, region, token_file, role_arn, session_name).await;
    }
    Err(Error::Config(format!(
        "provider {provider} has no AWS credentials: set bedrock_key_config.access_key and \
         secret_key, a key value (Bedrock API key), or AWS_ACCESS_KEY_ID and \
         AWS_SECRET_ACCESS_KEY (or AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN)"
    )))
}

/// STS AssumeRoleWithWebIdentity with the token file of IRSA (EKS) and similar setups.
async fn web_identity(
    http: &Client,
    provider: &str,
    region: &str,
    token_file: String,
    role_arn: String,
    session_name: String,
) -> Result<Arc<Credentials>> {
    let endpoint = sts_endpoint(region);
    let cache_key = format!("web-identity|{endpoint}|{role_arn}|{token_file}|{session_name}");
    if let Some(c) = cached(&cache_key) {
        return Ok(c);
    }
    // Read off the async threads: the token file is on disk.
    let path = token_file.clone();
    let token = tokio::task::spawn_blocking(move || std::fs::read_to_string(path))
        .await
        .map_err(|e| Error::Internal(e.to_string()))?
        .map_err(|e| {
            Error::Config(format!(
                "cannot read AWS_WEB_IDENTITY_TOKEN_FILE {token_file}: {e}"
            ))
        })?;
    let duration = SESSION_DURATION_SECS.to_string();
    let form = [
        ("Action", "AssumeRoleWithWebIdentity"),
        ("DurationSeconds", duration.as_str()),
        ("RoleArn", role_arn.as_str()),
        ("RoleSessionName", session_name.as_str()),
        ("Version", "2011-06-15"),
        ("WebIdentityToken", token.trim()),
    ];
    let creds = sts_call(http, provider, &endpoint, region, &form, None).await?;
    Ok(remember(cache_key, creds))
}

/// `AWS_ENDPOINT_URL_STS` (as the AWS SDKs read it), else the regional STS endpoint.
fn sts_endpoint(region: &str) -> String {
    match std::env::var("AWS_ENDPOINT_URL_STS") {
        Ok(url) if !url.is_empty() => url.trim_end_matches('/').to_owned(),
        _ => format!("https://sts.{region}.amazonaws.com"),
    }
}

/// One STS query-API call (form POST, XML answer), signed when `signer` is given.
async fn sts_call(
    http: &Client,
    provider: &str,
    endpoint: &str,
    region: &str,
    form: &[(&str, &str)],
    signer: Option<&Credentials>,
) -> Result<Credentials> {
    let action = form
        .iter()
        .find(|(k, _)| *k == "Action")
        .map_or("", |(_, v)| *v);
    let url = reqwest::Url::parse(&format!("{endpoint}/"))
        .map_err(|e| Error::Config(format!("STS endpoint {endpoint}: {e}")))?;
    let body = form
        .iter()
        .map(|(k, v)| format!("{k}={}", percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&");
    let mut req = http.post(url.clone()).header(
        CONTENT_TYPE,
        "application/x-www-form-urlencoded; charset=utf-8",
    );
    if let Some(creds) = signer {
        let signable = Signable {
            method: "POST",
            url: &url,
            payload: body.as_bytes(),
        };
        let scope = Scope {
            region,
            service: "sts",
        };
        for (name, value) in sigv4::sign(signable, creds, scope, unix_now())? {
            req = req.header(name, value);
        }
    }
    let network = |e: client::Error| Error::Network {
        provider: provider.to_owned(),
        message: format!("STS {action}: {}", with_causes(&e)),
    };
    let timed_out = |_| Error::Timeout {
        provider: provider.to_owned(),
        seconds: STS_TIMEOUT.as_secs(),
    };
    let resp = tokio::time::timeout(STS_TIMEOUT, req.body(body).send())
        .await
        .map_err(timed_out)?
        .map_err(network)?;
    let status = resp.status().as_u16();
    let text = tokio::time::timeout(STS_TIMEOUT, resp.text())
        .await
        .map_err(timed_out)?
        .map_err(network)?;
    if !(200..300).contains(&status) {
        return Err(Error::Upstream(Box::new(UpstreamError {
            provider: provider.to_owned(),
            status,
            message: format!(
                "STS {action} failed: {}",
                xml_text(&text, "Message").unwrap_or_else(|| format!("HTTP {status}"))
            ),
            error_type: xml_text(&text, "Code"),
            code: None,
            param: None,
        })));
    }
    parse_credentials(&text).ok_or_else(|| Error::BadUpstreamResponse {
        provider: provider.to_owned(),
        message: format!("STS {action} answered without credentials"),
    })
}

/// The `<Credentials>` of an AssumeRole(WithWebIdentity) answer.
fn parse_credentials(xml: &str) -> Option<Credentials> {
    let expires_at = xml_text(xml, "Expiration").and_then(|t| parse_rfc3339(&t));
    Some(Credentials::new(
        xml_text(xml, "AccessKeyId")?,
        xml_text(xml, "SecretAccessKey")?,
        Some(xml_text(xml, "SessionToken")?),
        // Without a readable expiry, assume the duration asked for.
        Some(expires_at.unwrap_or_else(|| unix_now() + u64::from(SESSION_DURATION_SECS))),
    ))
}

/// The text of the first `<name>` element, entities decoded. STS answers are flat enough
/// that this is all the XML needed.
fn xml_text(xml: &str, name: &str) -> Option<String> {
    let open = format!("<{name}>");
    let start = xml.find(&open)? + open.len();
    let end = start + xml[start..].find(&format!("</{name}>"))?;
    let raw = xml[start..end].trim();
    Some(
        raw.replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&apos;", "'")
            .replace("&amp;", "&"),
    )
}

/// A configured secret that must have a value.
fn required(provider: &str, r: &SecretRef) -> Result<String> {
    optional(provider, Some(r))?.ok_or_else(|| {
        Error::Config(format!(
            "a bedrock_key_config of provider {provider} has an empty credential"
        ))
    })
}

/// A configured optional value, `env.VAR` resolved now.
pub(super) fn optional(provider: &str, r: Option<&SecretRef>) -> Result<Option<String>> {
    match r.map(SecretRef::resolve) {
        None | Some(Resolved::Empty) => Ok(None),
        Some(Resolved::Value(s)) => Ok(Some(s.expose().to_owned())),
        Some(Resolved::MissingEnv(var)) => Err(Error::MissingEnvVar {
            provider: provider.to_owned(),
            var,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assume_role_answers_parse() {
        let xml = r#"<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleResult>
    <AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/demo/bifrost</Arn></AssumedRoleUser>
    <Credentials>
      <AccessKeyId>ASIAEXAMPLE</AccessKeyId>
      <SecretAccessKey>wJalr/secret</SecretAccessKey>
      <SessionToken>token&amp;more</SessionToken>
      <Expiration>2030-01-01T00:00:00Z</Expiration>
    </Credentials>
  </AssumeRoleResult>
</AssumeRoleResponse>"#;
        let c = parse_credentials(xml).unwrap();
        assert_eq!(c.access_key_id, "ASIAEXAMPLE");
        assert_eq!(c.secret_access_key(), "wJalr/secret");
        assert_eq!(c.session_token.as_deref(), Some("token&more"));
        assert_eq!(c.expires_at, Some(1_893_456_000));
        assert!(!format!("{c:?}").contains("wJalr/secret"));
        assert!(!format!("{c:?}").contains("token&more"));
    }

    #[test]
    fn credentials_near_expiry_are_not_reused() {
        let now = unix_now();
        let soon = Credentials::new("a".into(), "s".into(), None, Some(now + 60));
        let later = Credentials::new("a".into(), "s".into(), None, Some(now + 3600));
        assert!(!soon.usable_at(now));
        assert!(later.usable_at(now));
        assert!(Credentials::new("a".into(), "s".into(), None, None).usable_at(now));
        remember("test|soon".into(), soon);
        assert!(cached("test|soon").is_none());
        remember("test|later".into(), later.clone());
        assert_eq!(cached("test|later").as_deref(), Some(&later));
    }

    #[test]
    fn sts_errors_are_read_from_xml() {
        let xml = "<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code>\
                   <Message>not authorized to perform sts:AssumeRole</Message></Error></ErrorResponse>";
        assert_eq!(xml_text(xml, "Code").as_deref(), Some("AccessDenied"));
        assert_eq!(
            xml_text(xml, "Message").as_deref(),
            Some("not authorized to perform sts:AssumeRole")
        );
        assert_eq!(xml_text(xml, "Missing"), None);
    }
}
