//! `auth_config` and `framework_config` as `GET`/`PUT /api/config` show and change them, with
//! Bifrost's rules: the admin password is shown as `<redacted>`, and sending that (or nothing)
//! back keeps the stored one; turning auth on needs a user name and a password.

use serde::Deserialize;
use serde_json::{json, Value};

use super::admin_auth::hash_password;
use super::types::{AuthConfig, PricingSettings};
use crate::error::{Error, Result};

/// What the API shows instead of a stored password (Bifrost's placeholder).
pub const REDACTED: &str = "<redacted>";

/// Seconds between price refreshes when `pricing_sync_interval` is not set.
pub const DEFAULT_SYNC_SECS: u64 = 86_400;

/// `auth_config` as sent to `PUT /api/config`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct AuthInput {
    /// Admin auth on or off.
    pub is_enabled: bool,
    /// The admin's user name.
    pub admin_username: String,
    /// A new password, or [`REDACTED`] / empty to keep the stored one.
    pub admin_password: String,
    /// Inference routes do not need admin credentials.
    pub disable_auth_on_inference: bool,
}

/// `framework_config` as sent to `PUT /api/config`; fields left out keep their value.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct FrameworkInput {
    /// Where to refresh prices from; an empty string turns the refresh off.
    pub pricing_url: Option<String>,
    /// Seconds between refreshes.
    pub pricing_sync_interval: Option<i64>,
}

/// `auth_config` for `GET /api/config`: the password redacted.
pub fn auth_view(auth: &AuthConfig) -> Value {
    let password = if auth.admin_password.is_empty() {
        ""
    } else {
        REDACTED
    };
    json!({
        "is_enabled": auth.is_enabled,
        "admin_username": auth.admin_username,
        "admin_password": password,
        "disable_auth_on_inference": auth.disable_auth_on_inference,
    })
}

/// `framework_config` for `GET /api/config`.
pub fn framework_view(pricing: &PricingSettings) -> Value {
    json!({
        "pricing_url": pricing.pricing_url,
        "pricing_sync_interval": pricing.pricing_sync_interval.unwrap_or(DEFAULT_SYNC_SECS),
    })
}

impl AuthInput {
    /// Whether the password field carries a new password (not the placeholder, not empty).
    fn new_password(&self) -> Option<&str> {
        Some(self.admin_password.as_str()).filter(|p| !p.is_empty() && *p != REDACTED)
    }

    /// Hashes a new password (argon2 is slow by design: call this on the blocking pool,
    /// before the store's transaction).
    pub fn hash_new_password(mut self) -> Result<HashedAuth> {
        if let Some(password) = self.new_password() {
            self.admin_password = hash_password(password)?;
        }
        Ok(HashedAuth(self))
    }
}

/// An [`AuthInput`] whose new password, if any, is hashed: the only form that can be stored.
#[derive(Debug, Clone)]
pub struct HashedAuth(AuthInput);

impl HashedAuth {
    /// The configuration to store, given the stored one.
    pub fn apply(self, stored: &AuthConfig) -> Result<AuthConfig> {
        let input = self.0;
        let password = match input.new_password() {
            Some(hash) => hash.to_owned(),
            None => stored.admin_password.clone(),
        };
        let mut problems = Vec::new();
        if input.is_enabled && input.admin_username.trim().is_empty() {
            problems.push("auth_config.admin_username: required to enable authentication");
        }
        if input.is_enabled && password.is_empty() {
            problems.push("auth_config.admin_password: required to enable authentication");
        }
        if !problems.is_empty() {
            return Err(Error::BadRequest(problems.join("; ")));
        }
        Ok(AuthConfig {
            is_enabled: input.is_enabled,
            admin_username: input.admin_username.trim().to_owned(),
            admin_password: password,
            disable_auth_on_inference: input.disable_auth_on_inference,
        })
    }
}

impl FrameworkInput {
    /// Every problem, with field paths.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if let Some(url) = self.pricing_url.as_deref().filter(|u| !u.is_empty()) {
            let ok = reqwest::Url::parse(url).is_ok_and(|u| matches!(u.scheme(), "http" | "https"));
            if !ok {
                problems.push(format!(
                    "framework_config.pricing_url: `{url}` is not an http or https URL"
                ));
            }
        }
        if self.pricing_sync_interval.is_some_and(|s| s <= 0) {
            problems.push(
                "framework_config.pricing_sync_interval: pricing sync interval must be greater than 0"
                    .to_owned(),
            );
        }
        problems
    }

    /// The settings to store, given the stored ones.
    pub fn apply(&self, stored: &PricingSettings) -> PricingSettings {
        let mut next = stored.clone();
        if let Some(url) = &self.pricing_url {
            next.pricing_url = Some(url.clone()).filter(|u| !u.is_empty());
        }
        if let Some(secs) = self
            .pricing_sync_interval
            .and_then(|s| u64::try_from(s).ok())
        {
            next.pricing_sync_interval = Some(secs);
        }
        next
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored() -> AuthConfig {
        AuthConfig {
            is_enabled: true,
            admin_username: "admin".into(),
            admin_password: hash_password("s3cret").unwrap(),
            disable_auth_on_inference: false,
        }
    }

    #[test]
    fn the_redacted_password_keeps_the_stored_hash() {
        let stored = stored();
        let view = auth_view(&stored);
        assert_eq!(view["admin_password"], REDACTED);
        let sent: AuthInput = serde_json::from_value(view).unwrap();
        let next = sent.hash_new_password().unwrap().apply(&stored).unwrap();
        assert_eq!(next.admin_password, stored.admin_password);
    }

    #[test]
    fn a_new_password_is_hashed() {
        let sent = AuthInput {
            is_enabled: true,
            admin_username: "root".into(),
            admin_password: "n3w".into(),
            disable_auth_on_inference: true,
        };
        let next = sent.hash_new_password().unwrap().apply(&stored()).unwrap();
        assert!(super::super::admin_auth::verify_password(
            "n3w",
            &next.admin_password
        ));
        assert_eq!(next.admin_username, "root");
        assert!(next.disable_auth_on_inference);
    }

    #[test]
    fn enabling_without_credentials_names_the_fields() {
        let sent = AuthInput {
            is_enabled: true,
            admin_password: REDACTED.into(),
            ..AuthInput::default()
        };
        let err = sent
            .hash_new_password()
            .unwrap()
            .apply(&AuthConfig::default())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("auth_config.admin_username: required"),
            "{err}"
        );
        assert!(
            err.contains("auth_config.admin_password: required"),
            "{err}"
        );
        // Turning it off needs neither.
        let off = AuthInput::default().hash_new_password().unwrap();
        assert!(off.apply(&AuthConfig::default()).is_ok());
    }

    #[test]
    fn framework_settings_are_checked_and_merged() {
        let bad = FrameworkInput {
            pricing_url: Some("ftp://x".into()),
            pricing_sync_interval: Some(0),
        };
        let p = bad.problems().join("; ");
        assert!(p.contains("framework_config.pricing_url"), "{p}");
        assert!(p.contains("framework_config.pricing_sync_interval"), "{p}");
        let stored = PricingSettings {
            pricing_url: Some("https://a.example/prices.json".into()),
            pricing_sync_interval: Some(7200),
        };
        let only_interval = FrameworkInput {
            pricing_url: None,
            pricing_sync_interval: Some(3600),
        };
        let next = only_interval.apply(&stored);
        assert_eq!(next.pricing_url, stored.pricing_url);
        assert_eq!(next.pricing_sync_interval, Some(3600));
        let off = FrameworkInput {
            pricing_url: Some(String::new()),
            pricing_sync_interval: None,
        };
        assert_eq!(off.apply(&stored).pricing_url, None);
    }
}
