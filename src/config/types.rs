//! Bifrost's `config.json` types. The same types are stored in config.db and exchanged by the
//! management API, so a provider reads the same everywhere.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::secret::SecretRef;

/// The whole `config.json`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct FileConfig {
    /// Schema URL; Bifrost warns when it is absent.
    #[serde(rename = "$schema", default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    /// Gateway-wide settings.
    #[serde(default)]
    pub client: ClientConfig,
    /// Providers by name: built-in names or custom ones with `custom_provider_config`.
    #[serde(default)]
    pub providers: BTreeMap<String, ProviderConfig>,
    /// Recognised Bifrost sections that later releases of this gateway apply (see the README's
    /// compatibility table); listed so that a Bifrost config loads without complaint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption_key: Option<Value>,
    #[allow(missing_docs)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_config: Option<Value>,
    #[allow(missing_docs)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub framework: Option<Value>,
    #[allow(missing_docs)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub governance: Option<Value>,
    #[allow(missing_docs)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mcp: Option<Value>,
    #[allow(missing_docs)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vector_store: Option<Value>,
    #[allow(missing_docs)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_store: Option<Value>,
    #[allow(missing_docs)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logs_store: Option<Value>,
    #[allow(missing_docs)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plugins: Option<Value>,
    #[allow(missing_docs)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_config: Option<Value>,
    #[allow(missing_docs)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub saml_config: Option<Value>,
    #[allow(missing_docs)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_balancer_config: Option<Value>,
    #[allow(missing_docs)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guardrails_config: Option<Value>,
    #[allow(missing_docs)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit_logs: Option<Value>,
    #[allow(missing_docs)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub large_payload_optimization: Option<Value>,
    #[allow(missing_docs)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub websocket: Option<Value>,
}

/// `client`: gateway-wide settings, with Bifrost's defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ClientConfig {
    /// Drop requests when a provider's queue is full instead of waiting.
    pub drop_excess_requests: bool,
    /// Object pool size (accepted for compatibility; Rust needs no pools).
    pub initial_pool_size: u64,
    /// Extra Prometheus labels read from `x-bf-prom-<label>`.
    pub prometheus_labels: Vec<String>,
    /// CORS origins.
    pub allowed_origins: Vec<String>,
    /// Extra CORS headers.
    pub allowed_headers: Vec<String>,
    /// Write request logs.
    pub enable_logging: bool,
    /// Keep message content out of the logs.
    pub disable_content_logging: bool,
    /// Do not ping stores in `/health`.
    pub disable_db_pings_in_health: bool,
    /// Days of logs kept.
    pub log_retention_days: u32,
    /// Require a virtual key on inference routes.
    pub enforce_auth_on_inference: bool,
    /// Accept provider keys sent by the client.
    pub allow_direct_keys: bool,
    /// Largest accepted request body.
    pub max_request_body_size_mb: u64,
    /// Serve text completions through chat for chat-only models.
    pub enable_litellm_fallbacks: bool,
    /// Which client headers may be forwarded upstream.
    pub header_filter_config: HeaderFilterConfig,
    /// Headers every inference request must carry.
    pub required_headers: Vec<String>,
    /// Headers copied into log metadata.
    pub logging_headers: Vec<String>,
    /// Routes that skip admin auth.
    pub whitelisted_routes: Vec<String>,
    /// Recognised Bifrost client fields this gateway does not use yet.
    #[serde(flatten)]
    pub other: BTreeMap<String, Value>,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            drop_excess_requests: false,
            initial_pool_size: 300,
            prometheus_labels: Vec::new(),
            allowed_origins: vec!["*".to_owned()],
            allowed_headers: Vec::new(),
            enable_logging: true,
            disable_content_logging: false,
            disable_db_pings_in_health: false,
            log_retention_days: 365,
            enforce_auth_on_inference: false,
            allow_direct_keys: false,
            max_request_body_size_mb: 100,
            enable_litellm_fallbacks: false,
            header_filter_config: HeaderFilterConfig::default(),
            required_headers: Vec::new(),
            logging_headers: Vec::new(),
            whitelisted_routes: Vec::new(),
            other: BTreeMap::new(),
        }
    }
}

/// `client.header_filter_config` for `x-bf-eh-*` forwarding.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct HeaderFilterConfig {
    /// Only these headers may be forwarded (empty: all but the denylist).
    pub allowlist: Vec<String>,
    /// These headers are never forwarded.
    pub denylist: Vec<String>,
}

/// `providers.<name>`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProviderConfig {
    /// API keys.
    #[serde(default)]
    pub keys: Vec<KeyConfig>,
    /// Base URL, headers, timeouts and retries.
    #[serde(default)]
    pub network_config: NetworkConfig,
    /// Concurrency and queue length.
    #[serde(default)]
    pub concurrency_and_buffer_size: ConcurrencyConfig,
    /// How calls to this provider reach it: directly, or through an HTTP or SOCKS5 proxy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy_config: Option<ProxyConfig>,
    /// Add the raw upstream request to responses.
    #[serde(default)]
    pub send_back_raw_request: bool,
    /// Add the raw upstream response to responses.
    #[serde(default)]
    pub send_back_raw_response: bool,
    /// Keep raw bodies in logs.
    #[serde(default)]
    pub store_raw_request_response: bool,
    /// Makes this a custom provider on top of a base wire format.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_provider_config: Option<CustomProviderConfig>,
    /// OpenAI options (`disable_store`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub openai_config: Option<Value>,
    /// Price overrides (applied by the cost engine in a later release).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pricing_overrides: Option<Value>,
}

/// One API key of a provider.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyConfig {
    /// Stable id (a UUID), generated when absent.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub id: String,
    /// Unique name within the provider, used by `x-bf-api-key`.
    #[serde(default)]
    pub name: String,
    /// The key: a literal or `env.VAR`. Empty for keyless providers.
    #[serde(default)]
    pub value: SecretRef,
    /// Models served: `["*"]` all (the default), `[]` none, or names.
    #[serde(default = "all_models")]
    pub models: Vec<String>,
    /// Models never served, whatever `models` says.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub blacklisted_models: Vec<String>,
    /// Relative weight for the weighted random choice.
    #[serde(default = "default_weight")]
    pub weight: f64,
    /// Disabled keys are never chosen.
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// Used for batch and file APIs.
    #[serde(default)]
    pub use_for_batch_api: bool,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Logical model name → upstream model name for this key.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub aliases: BTreeMap<String, String>,
    /// vLLM: a server of its own for this key, serving one model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vllm_key_config: Option<VllmKeyConfig>,
    /// Azure OpenAI: endpoint, deployments, API version and Entra credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub azure_key_config: Option<AzureKeyConfig>,
    /// Vertex AI: project, region, service account and deployments of this key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vertex_key_config: Option<VertexKeyConfig>,
    /// AWS Bedrock: credentials, region, inference profiles.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bedrock_key_config: Option<BedrockKeyConfig>,
}

impl Default for KeyConfig {
    fn default() -> Self {
        Self {
            id: String::new(),
            name: String::new(),
            value: SecretRef::default(),
            models: all_models(),
            blacklisted_models: Vec::new(),
            weight: default_weight(),
            enabled: true,
            use_for_batch_api: false,
            description: None,
            aliases: BTreeMap::new(),
            vllm_key_config: None,
            azure_key_config: None,
            vertex_key_config: None,
            bedrock_key_config: None,
        }
    }
}

fn all_models() -> Vec<String> {
    vec!["*".to_owned()]
}

fn default_weight() -> f64 {
    1.0
}

fn default_true() -> bool {
    true
}

/// `vllm_key_config`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VllmKeyConfig {
    /// The server's base URL.
    pub url: String,
    /// The one model this server serves.
    #[serde(default)]
    pub model_name: String,
}

/// `azure_key_config` (Bifrost's names). Every value may be `env.VAR`, read at request time.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AzureKeyConfig {
    /// The resource's endpoint, `https://<resource>.openai.azure.com`.
    #[serde(default)]
    pub endpoint: SecretRef,
    /// Model name → deployment name. When not empty, the key serves only these models.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub deployments: BTreeMap<String, String>,
    /// The `api-version` query parameter; [`AZURE_DEFAULT_API_VERSION`] when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<SecretRef>,
    /// Entra ID (service principal) application id; with `client_secret` and `tenant_id`,
    /// requests carry an Entra token instead of the key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<SecretRef>,
    /// Entra ID client secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<SecretRef>,
    /// Entra ID tenant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<SecretRef>,
    /// Token scopes; `https://cognitiveservices.azure.com/.default` when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<String>,
}

/// Azure OpenAI's `api-version` when a key sets none (Bifrost's default).
pub const AZURE_DEFAULT_API_VERSION: &str = "2024-10-21";

impl AzureKeyConfig {
    /// Whether Entra client credentials are configured (any of the three fields).
    pub fn uses_entra(&self) -> bool {
        [&self.client_id, &self.client_secret, &self.tenant_id]
            .iter()
            .any(|f| f.as_ref().is_some_and(|s| !s.is_empty()))
    }
}

/// `vertex_key_config`, with Bifrost's field names. Every string may be `env.VAR`, resolved at
/// request time.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VertexKeyConfig {
    /// The Google Cloud project id (in the URL of publisher models).
    #[serde(default)]
    pub project_id: SecretRef,
    /// The project number (in the URL of fine-tuned model endpoints).
    #[serde(default, skip_serializing_if = "SecretRef::is_empty")]
    pub project_number: SecretRef,
    /// A region such as `us-central1`, or `global`.
    #[serde(default)]
    pub region: SecretRef,
    /// A service-account (or authorized-user) JSON; empty for Application Default Credentials.
    #[serde(default)]
    pub auth_credentials: SecretRef,
    /// Model name → upstream model id or fine-tuned endpoint id.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub deployments: BTreeMap<String, String>,
    /// Bifrost fields this gateway does not use (`force_single_region`), kept as they are.
    #[serde(flatten)]
    pub other: BTreeMap<String, Value>,
}

/// `bedrock_key_config`: how a key reaches AWS Bedrock. Every text field may be `env.VAR`.
///
/// Without `access_key`/`secret_key` (and without a key `value`, which selects Bedrock API-key
/// auth) credentials come from the default chain: the `AWS_*` environment variables, then web
/// identity (IRSA). `role_arn` assumes a role on top of whichever credentials were found.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BedrockKeyConfig {
    /// AWS access key id.
    #[serde(default, skip_serializing_if = "SecretRef::is_empty")]
    pub access_key: SecretRef,
    /// AWS secret access key.
    #[serde(default, skip_serializing_if = "SecretRef::is_empty")]
    pub secret_key: SecretRef,
    /// Session token of temporary credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_token: Option<SecretRef>,
    /// AWS region (`us-east-1` when neither this nor `AWS_REGION` is set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<SecretRef>,
    /// Inference-profile ARN prefix: a `deployments` entry is called as `<arn>/<profile id>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arn: Option<SecretRef>,
    /// A role to assume with STS before calling Bedrock.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<SecretRef>,
    /// The external id the role's trust policy asks for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<SecretRef>,
    /// The assumed role's session name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_name: Option<SecretRef>,
    /// Model name → model id or inference profile id for this key.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub deployments: BTreeMap<String, String>,
    /// S3 buckets for batch jobs (accepted for compatibility; batches are not served yet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_s3_config: Option<Value>,
}

impl BedrockKeyConfig {
    /// The same block with its secrets redacted, for the management API.
    pub fn redacted(&self) -> Self {
        let hide = |s: &SecretRef| SecretRef::new(s.redacted());
        Self {
            secret_key: hide(&self.secret_key),
            session_token: self.session_token.as_ref().map(hide),
            ..self.clone()
        }
    }

    /// Puts back the secrets of `stored` where this block carries their redacted form (a
    /// management client sending back what it was shown).
    pub fn restore_redacted(&mut self, stored: &BedrockKeyConfig) {
        if self.secret_key.as_configured() == stored.secret_key.redacted() {
            self.secret_key = stored.secret_key.clone();
        }
        if let (Some(mine), Some(theirs)) = (&mut self.session_token, &stored.session_token) {
            if mine.as_configured() == theirs.redacted() {
                *mine = theirs.clone();
            }
        }
    }
}

/// `network_config`, with Bifrost's defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct NetworkConfig {
    /// Overrides the provider's default base URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    /// Headers added to every upstream request.
    pub extra_headers: BTreeMap<String, String>,
    /// Whole-request timeout.
    pub default_request_timeout_in_seconds: u64,
    /// Retries on the same provider after a retryable error.
    pub max_retries: u32,
    /// First backoff.
    pub retry_backoff_initial_ms: u64,
    /// Largest backoff.
    pub retry_backoff_max_ms: u64,
    /// Longest silence allowed between two stream chunks.
    pub stream_idle_timeout_in_seconds: u64,
    /// Connection cap per upstream host.
    pub max_conns_per_host: usize,
    /// Skip TLS verification (for self-signed local servers).
    pub insecure_skip_verify: bool,
    /// Extra CA certificate, PEM.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ca_cert_pem: Option<String>,
}

impl Default for NetworkConfig {
    fn default() -> Self {
        Self {
            base_url: None,
            extra_headers: BTreeMap::new(),
            default_request_timeout_in_seconds: 30,
            max_retries: 0,
            retry_backoff_initial_ms: 500,
            retry_backoff_max_ms: 5000,
            stream_idle_timeout_in_seconds: 60,
            max_conns_per_host: 5000,
            insecure_skip_verify: false,
            ca_cert_pem: None,
        }
    }
}

/// `providers.<name>.proxy_config`: Bifrost's outbound proxy for one provider.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProxyConfig {
    /// `none`, `http` (an HTTP CONNECT tunnel), `socks5`, or `environment` (`HTTPS_PROXY`,
    /// `HTTP_PROXY`, `ALL_PROXY` and `NO_PROXY`, read when the configuration loads).
    #[serde(rename = "type", default)]
    pub kind: ProxyKind,
    /// The proxy: `http://host:port` for `http`, `socks5://host:port` for `socks5`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub url: String,
    /// User name, when the proxy asks for one.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub username: String,
    /// Password (`env.VAR` or the value), redacted by the management API.
    #[serde(default, skip_serializing_if = "SecretRef::is_empty")]
    pub password: SecretRef,
    /// Extra trusted roots, PEM: the CA of a proxy that intercepts TLS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_cert_pem: Option<String>,
}

/// `proxy_config.type`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProxyKind {
    /// Connect to the provider directly.
    #[default]
    None,
    /// Through an HTTP proxy, with `CONNECT`.
    Http,
    /// Through a SOCKS5 proxy (the proxy resolves the provider's name).
    Socks5,
    /// As the environment's proxy variables say.
    Environment,
}

impl ProxyConfig {
    /// The same block with its password redacted, for the management API.
    pub fn redacted(&self) -> Self {
        Self {
            password: SecretRef::new(self.password.redacted()),
            ..self.clone()
        }
    }

    /// Puts back the stored password where this block carries its redacted form (a management
    /// client sending back what it was shown).
    pub fn restore_redacted(&mut self, stored: &ProxyConfig) {
        if !self.password.is_empty() && self.password.as_configured() == stored.password.redacted()
        {
            self.password = stored.password.clone();
        }
    }
}

/// `concurrency_and_buffer_size`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ConcurrencyConfig {
    /// Requests in flight to the provider at once.
    pub concurrency: usize,
    /// Requests allowed to wait for a slot.
    pub buffer_size: usize,
}

impl Default for ConcurrencyConfig {
    fn default() -> Self {
        Self {
            concurrency: 1000,
            buffer_size: 5000,
        }
    }
}

/// `custom_provider_config`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CustomProviderConfig {
    /// The wire format: `openai`, `anthropic` or `gemini` (others in later releases).
    pub base_provider_type: String,
    /// No key is needed.
    #[serde(default)]
    pub is_key_less: bool,
    /// Request types allowed; absent means all that the base supports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_requests: Option<BTreeMap<String, bool>>,
    /// Request type → path (or full URL) replacing the default path.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub request_path_overrides: BTreeMap<String, String>,
}
