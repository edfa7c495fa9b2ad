//! Governance entities as stored in config.db and exchanged by the API: virtual keys, teams,
//! customers, and their budgets and rate limits (each with an id of its own, which names its
//! usage counter).

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A budget in USD over a window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Budget {
    /// Stable id; keeps its usage counter across edits.
    #[serde(default)]
    pub id: String,
    /// The limit in USD.
    pub max_limit: f64,
    /// `30s`, `5m`, `1h`, `1d`, `1w`, `1M`, `1Y`.
    #[serde(default = "default_budget_reset")]
    pub reset_duration: String,
    /// Reset at calendar boundaries (days and longer only).
    #[serde(default)]
    pub calendar_aligned: bool,
}

fn default_budget_reset() -> String {
    "1M".to_owned()
}

/// Request and token limits, each over its own window.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RateLimit {
    /// Stable id; keeps its usage counters across edits.
    #[serde(default)]
    pub id: String,
    /// Tokens (prompt + completion) per window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_max_limit: Option<u64>,
    /// The token window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_reset_duration: Option<String>,
    /// Requests per window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_max_limit: Option<u64>,
    /// The request window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_reset_duration: Option<String>,
}

/// One provider a virtual key may use.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProviderConfig {
    /// Stable id.
    #[serde(default)]
    pub id: String,
    /// Provider name as configured.
    pub provider: String,
    /// Relative weight for routing a bare model; `null` means allowed but not load balanced.
    #[serde(default)]
    pub weight: Option<f64>,
    /// Models allowed: `["*"]` all, `[]` none (Bifrost v1.5).
    #[serde(default = "all")]
    pub allowed_models: Vec<String>,
    /// Provider keys allowed, by id or name: `["*"]` all, `[]` none (Bifrost v1.5).
    #[serde(default = "all")]
    pub key_ids: Vec<String>,
    /// This provider's own budget for the key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget: Option<Budget>,
    /// This provider's own rate limit for the key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<RateLimit>,
}

pub(crate) fn all() -> Vec<String> {
    vec!["*".to_owned()]
}

fn yes() -> bool {
    true
}

/// A virtual key (its value is never stored: only its hash, and a prefix for display).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VirtualKey {
    /// Stable id.
    #[serde(default)]
    pub id: String,
    /// Unique name.
    pub name: String,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The first characters of the value, for recognising a key in lists.
    #[serde(default)]
    pub value_prefix: String,
    /// Inactive keys are refused with 403.
    #[serde(default = "yes")]
    pub is_active: bool,
    /// The team it belongs to (exclusive with `customer_id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team_id: Option<String>,
    /// The customer it belongs to directly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<String>,
    /// The key's own budget.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget: Option<Budget>,
    /// The key's own rate limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<RateLimit>,
    /// Providers it may use; `[]` none.
    #[serde(default)]
    pub provider_configs: Vec<ProviderConfig>,
    /// Every configured provider is allowed, with all its models (Bifrost v2.1); explicit
    /// `provider_configs` still apply to their providers.
    #[serde(default)]
    pub allow_all_providers: bool,
    /// MCP tool filters (kept for compatibility; MCP is not served yet).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mcp_configs: Vec<Value>,
    /// Unix seconds.
    #[serde(default)]
    pub created_at: i64,
    /// Unix seconds.
    #[serde(default)]
    pub updated_at: i64,
}

/// A team: a budget shared by its keys, optionally under a customer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Team {
    /// Stable id.
    #[serde(default)]
    pub id: String,
    /// Unique name.
    pub name: String,
    /// The customer it belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<String>,
    /// The team's budget.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget: Option<Budget>,
    /// Bifrost's free-form `profile`, `config` and `claims`, kept as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<Value>,
    /// See `profile`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<Value>,
    /// See `profile`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claims: Option<Value>,
    /// Unix seconds.
    #[serde(default)]
    pub created_at: i64,
    /// Unix seconds.
    #[serde(default)]
    pub updated_at: i64,
}

/// A customer: a budget shared by its teams and keys.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Customer {
    /// Stable id.
    #[serde(default)]
    pub id: String,
    /// Unique name.
    pub name: String,
    /// The customer's budget.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget: Option<Budget>,
    /// Unix seconds.
    #[serde(default)]
    pub created_at: i64,
    /// Unix seconds.
    #[serde(default)]
    pub updated_at: i64,
}

/// `auth_config` as stored: the password as an argon2 hash (PHC string).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AuthConfig {
    /// Admin auth on `/api/*` (and inference unless disabled there).
    pub is_enabled: bool,
    /// The admin's user name.
    pub admin_username: String,
    /// argon2 hash of the admin password.
    pub admin_password: String,
    /// Inference routes do not need admin credentials.
    pub disable_auth_on_inference: bool,
}

/// `framework.pricing`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PricingSettings {
    /// Where to refresh prices from; no refresh when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pricing_url: Option<String>,
    /// Seconds between refreshes (at least 3600; default 86400).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pricing_sync_interval: Option<u64>,
}

/// The governance plugin's own settings (`plugins[] {name: "governance", config: {...}}`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PluginSettings {
    /// Deprecated alias of `client.enforce_auth_on_inference`.
    pub is_vk_mandatory: bool,
}
