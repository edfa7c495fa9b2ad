//! Rules of a valid configuration that serde cannot express. Each problem is reported with the
//! path of the field, as `providers.openai.keys[1].weight: must be ...`.

use std::collections::HashSet;

use super::secret::SecretRef;
use super::types::{
    AzureKeyConfig, BedrockKeyConfig, ClientConfig, FileConfig, KeyConfig, NetworkConfig,
    ProviderConfig,
};
use crate::providers::vendors::{self, KeyPolicy, WireFormat};

/// Every problem of a whole file.
pub fn file(config: &FileConfig) -> Vec<String> {
    let mut problems = client("client", &config.client);
    for (name, provider) in &config.providers {
        problems.extend(provider_config(name, provider));
    }
    problems
}

/// Every problem of a `client` section found at `at` (`client` in config.json,
/// `client_config` in `PUT /api/config`).
pub fn client(at: &str, c: &ClientConfig) -> Vec<String> {
    let mut problems = Vec::new();
    if c.max_request_body_size_mb == 0 {
        problems.push(format!("{at}.max_request_body_size_mb: must be at least 1"));
    }
    let header_lists = [
        ("allowed_headers", &c.allowed_headers),
        ("required_headers", &c.required_headers),
        ("logging_headers", &c.logging_headers),
        (
            "header_filter_config.allowlist",
            &c.header_filter_config.allowlist,
        ),
        (
            "header_filter_config.denylist",
            &c.header_filter_config.denylist,
        ),
    ];
    for (field, names) in header_lists {
        for name in names {
            if http::HeaderName::from_bytes(name.trim().as_bytes()).is_err() {
                problems.push(format!("{at}.{field}: `{name}` is not a valid header name"));
            }
        }
    }
    for origin in &c.allowed_origins {
        if origin != "*" && http::HeaderValue::from_str(origin).is_err() {
            problems.push(format!(
                "{at}.allowed_origins: `{origin}` is not a valid origin"
            ));
        }
    }
    problems
}

/// Whether `name` can be a provider name: it becomes the prefix of `provider/model`.
pub fn provider_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("provider name must not be empty".to_owned());
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Err(format!(
            "provider name `{name}` may only contain letters, digits, '-', '_' and '.'"
        ));
    }
    Ok(())
}

/// Every problem of one provider entry.
pub fn provider_config(name: &str, p: &ProviderConfig) -> Vec<String> {
    let at = format!("providers.{name}");
    let mut problems = Vec::new();
    if let Err(e) = provider_name(name) {
        problems.push(format!("{at}: {e}"));
    }
    let builtin = vendors::builtin(name);
    let (keys, needs_base_url) = match (&p.custom_provider_config, builtin) {
        (Some(_), Some(_)) => {
            problems.push(format!(
                "{at}.custom_provider_config: `{name}` is a built-in provider; give the custom provider another name"
            ));
            (KeyPolicy::Required, false)
        }
        (Some(custom), None) => {
            if WireFormat::from_base_type(&custom.base_provider_type).is_none() {
                problems.push(format!(
                    "{at}.custom_provider_config.base_provider_type: `{}` is not supported; use openai, anthropic, gemini, bedrock or cohere",
                    custom.base_provider_type
                ));
            }
            for request_type in custom
                .allowed_requests
                .iter()
                .flat_map(|m| m.keys())
                .chain(custom.request_path_overrides.keys())
            {
                if !KNOWN_REQUEST_TYPES.contains(&request_type.as_str()) {
                    problems.push(format!(
                        "{at}.custom_provider_config: `{request_type}` is not a request type"
                    ));
                }
            }
            let keys = if custom.is_key_less {
                KeyPolicy::None
            } else {
                KeyPolicy::Required
            };
            (keys, true)
        }
        (None, Some(v)) => (v.keys, v.default_base_url.is_none()),
        (None, None) => {
            problems.push(format!(
                "{at}: `{name}` is not a built-in provider; add custom_provider_config with a base_provider_type to define it"
            ));
            (KeyPolicy::Required, false)
        }
    };
    // vLLM and Azure keys may carry their own server's address.
    let keys_have_urls = !p.keys.is_empty()
        && p.keys
            .iter()
            .all(|k| k.vllm_key_config.is_some() || k.azure_key_config.is_some());
    if needs_base_url && p.network_config.base_url.is_none() && !keys_have_urls {
        problems.push(format!(
            "{at}.network_config.base_url: required for this provider"
        ));
    }
    problems.extend(network(&at, &p.network_config));
    if let Some(proxy) = &p.proxy_config {
        if let Err(why) = crate::providers::client::Proxy::from_config(proxy) {
            problems.push(format!("{at}.{why}"));
        }
        if let Some(pem) = proxy
            .ca_cert_pem
            .as_deref()
            .filter(|p| !p.trim().is_empty())
        {
            if let Err(why) = crate::providers::client::trusted_roots(pem) {
                problems.push(format!("{at}.proxy_config.{why}"));
            }
        }
    }
    if p.concurrency_and_buffer_size.concurrency == 0 {
        problems.push(format!(
            "{at}.concurrency_and_buffer_size.concurrency: must be at least 1"
        ));
    }
    if p.concurrency_and_buffer_size.buffer_size == 0 {
        problems.push(format!(
            "{at}.concurrency_and_buffer_size.buffer_size: must be at least 1"
        ));
    }
    let mut names = HashSet::new();
    for (i, key) in p.keys.iter().enumerate() {
        let kat = format!("{at}.keys[{i}]");
        if !key.name.is_empty() && !names.insert(key.name.as_str()) {
            problems.push(format!("{kat}.name: `{}` is used by another key", key.name));
        }
        problems.extend(key_config(&kat, key, keys));
        if let Some(azure) = &key.azure_key_config {
            problems.extend(azure_key_config(&kat, key, azure));
        } else if name == "azure" && p.network_config.base_url.is_none() {
            problems.push(format!(
                "{kat}.azure_key_config: required (endpoint, deployments, api_version)"
            ));
        }
        if builtin.is_some_and(|v| v.wire == WireFormat::Vertex) {
            problems.extend(vertex_key(&kat, key));
        }
    }
    problems
}

/// A Vertex key needs its project and region; literal credentials must parse (those in
/// `env.VAR` are checked when used).
fn vertex_key(at: &str, key: &KeyConfig) -> Vec<String> {
    let at = format!("{at}.vertex_key_config");
    let Some(v) = &key.vertex_key_config else {
        return vec![format!(
            "{at}: required for vertex keys (project_id, region, auth_credentials)"
        )];
    };
    let mut problems = Vec::new();
    if v.project_id.is_empty() {
        problems.push(format!("{at}.project_id: required"));
    }
    if v.region.is_empty() {
        problems.push(format!(
            "{at}.region: required (a region such as us-central1, or global)"
        ));
    }
    let creds = &v.auth_credentials;
    if !creds.is_empty() && creds.env_var().is_none() {
        if let Err(e) = crate::providers::vertex::auth::parse_credentials(creds.as_configured()) {
            problems.push(format!("{at}.auth_credentials: {e}"));
        }
    }
    for (model, deployment) in &v.deployments {
        if deployment.trim().is_empty() {
            problems.push(format!("{at}.deployments.{model}: must not be empty"));
        }
    }
    problems
}

/// Bifrost's request type names, for `allowed_requests` and `request_path_overrides`.
pub const KNOWN_REQUEST_TYPES: &[&str] = &[
    "list_models",
    "text_completion",
    "text_completion_stream",
    "chat_completion",
    "chat_completion_stream",
    "responses",
    "responses_stream",
    "count_tokens",
    "embedding",
    "rerank",
    "speech",
    "speech_stream",
    "transcription",
    "transcription_stream",
    "image_generation",
    "image_generation_stream",
    "image_edit",
    "image_edit_stream",
    "image_variation",
    "passthrough",
    "passthrough_stream",
];

fn key_config(at: &str, key: &KeyConfig, policy: KeyPolicy) -> Vec<String> {
    let mut problems = Vec::new();
    if !key.weight.is_finite() || key.weight < 0.0 {
        problems.push(format!("{at}.weight: must be a non-negative number"));
    }
    if policy == KeyPolicy::Required && key.value.is_empty() {
        problems.push(format!("{at}.value: required (a key, or env.VAR_NAME)"));
    }
    if key.value.as_configured() == "env." {
        problems.push(format!(
            "{at}.value: `env.` must be followed by a variable name"
        ));
    }
    let has_wildcard = key.models.iter().any(|m| m == "*");
    if has_wildcard && key.models.len() > 1 {
        problems.push(format!(
            "{at}.models: \"*\" cannot be mixed with model names"
        ));
    }
    let mut seen = HashSet::new();
    for m in &key.models {
        if !seen.insert(m) {
            problems.push(format!("{at}.models: `{m}` is listed twice"));
        }
    }
    if let Some(vllm) = &key.vllm_key_config {
        if let Err(e) = url(&vllm.url) {
            problems.push(format!("{at}.vllm_key_config.url: {e}"));
        }
    }
    if let Some(bedrock) = &key.bedrock_key_config {
        problems.extend(bedrock_key(&format!("{at}.bedrock_key_config"), bedrock));
    }
    problems
}

fn bedrock_key(at: &str, b: &BedrockKeyConfig) -> Vec<String> {
    let mut problems = Vec::new();
    let fields = [
        ("access_key", Some(&b.access_key)),
        ("secret_key", Some(&b.secret_key)),
        ("session_token", b.session_token.as_ref()),
        ("region", b.region.as_ref()),
        ("arn", b.arn.as_ref()),
        ("role_arn", b.role_arn.as_ref()),
        ("external_id", b.external_id.as_ref()),
        ("session_name", b.session_name.as_ref()),
    ];
    for (name, value) in fields {
        if value.map(SecretRef::as_configured) == Some("env.") {
            problems.push(format!(
                "{at}.{name}: `env.` must be followed by a variable name"
            ));
        }
    }
    if b.access_key.is_empty() != b.secret_key.is_empty() {
        problems.push(format!(
            "{at}: access_key and secret_key must be set together"
        ));
    }
    if b.session_token.as_ref().is_some_and(|t| !t.is_empty()) && b.access_key.is_empty() {
        problems.push(format!(
            "{at}.session_token: needs access_key and secret_key"
        ));
    }
    for (model, id) in &b.deployments {
        if id.trim().is_empty() {
            problems.push(format!("{at}.deployments.{model}: must not be empty"));
        }
    }
    problems
}

/// `azure_key_config`: an endpoint, Entra credentials all together or not at all, and a key
/// value or Entra credentials to authenticate with.
fn azure_key_config(at: &str, key: &KeyConfig, azure: &AzureKeyConfig) -> Vec<String> {
    let at = format!("{at}.azure_key_config");
    let mut problems = Vec::new();
    if azure.endpoint.is_empty() {
        problems.push(format!(
            "{at}.endpoint: required (https://<resource>.openai.azure.com, or env.VAR)"
        ));
    } else if azure.endpoint.env_var().is_none() {
        if let Err(e) = url(azure.endpoint.as_configured()) {
            problems.push(format!("{at}.endpoint: {e}"));
        }
    }
    if azure.api_version.as_ref().is_some_and(SecretRef::is_empty) {
        problems.push(format!("{at}.api_version: must not be empty when set"));
    }
    let entra = [
        ("client_id", &azure.client_id),
        ("client_secret", &azure.client_secret),
        ("tenant_id", &azure.tenant_id),
    ];
    if azure.uses_entra() {
        for (field, value) in entra {
            if value.as_ref().is_none_or(SecretRef::is_empty) {
                problems.push(format!(
                    "{at}.{field}: required with the other Entra ID fields (client_id, client_secret, tenant_id)"
                ));
            }
        }
    } else if key.value.is_empty() {
        problems.push(format!(
            "{at}: set the key's value (an API key) or client_id, client_secret and tenant_id"
        ));
    }
    for (model, deployment) in &azure.deployments {
        if deployment.trim().is_empty() {
            problems.push(format!("{at}.deployments.{model}: must name a deployment"));
        }
    }
    problems
}

fn network(at: &str, n: &NetworkConfig) -> Vec<String> {
    let mut problems = Vec::new();
    if let Some(base) = &n.base_url {
        if let Err(e) = url(base) {
            problems.push(format!("{at}.network_config.base_url: {e}"));
        }
    }
    if n.default_request_timeout_in_seconds == 0 {
        problems.push(format!(
            "{at}.network_config.default_request_timeout_in_seconds: must be at least 1"
        ));
    }
    if !(5..=3600).contains(&n.stream_idle_timeout_in_seconds) {
        problems.push(format!(
            "{at}.network_config.stream_idle_timeout_in_seconds: must be between 5 and 3600"
        ));
    }
    if n.retry_backoff_initial_ms > n.retry_backoff_max_ms {
        problems.push(format!(
            "{at}.network_config.retry_backoff_initial_ms: must not exceed retry_backoff_max_ms"
        ));
    }
    // An empty field (as dashboards send an unset one) means no extra roots.
    if let Some(pem) = n.ca_cert_pem.as_deref().filter(|p| !p.trim().is_empty()) {
        if let Err(why) = crate::providers::client::trusted_roots(pem) {
            problems.push(format!("{at}.network_config.{why}"));
        }
    }
    if n.max_conns_per_host == 0 {
        problems.push(format!(
            "{at}.network_config.max_conns_per_host: must be at least 1"
        ));
    }
    for (name, value) in &n.extra_headers {
        if http::HeaderName::from_bytes(name.as_bytes()).is_err() {
            problems.push(format!(
                "{at}.network_config.extra_headers: `{name}` is not a valid header name"
            ));
        } else if http::HeaderValue::from_str(value).is_err() {
            problems.push(format!(
                "{at}.network_config.extra_headers.{name}: not a valid header value"
            ));
        }
    }
    problems
}

fn url(text: &str) -> Result<(), String> {
    let parsed = reqwest::Url::parse(text).map_err(|e| format!("`{text}` is not a URL ({e})"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(format!("`{text}` must be an http or https URL"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::config::parse;

    fn problems(json: &str) -> String {
        parse(json)
            .map(|_| String::new())
            .unwrap_or_else(|e| e.to_string())
    }

    #[test]
    fn rules_name_their_fields() {
        assert!(
            problems(r#"{"providers":{"openai":{"keys":[{"value":""}]}}}"#)
                .contains("providers.openai.keys[0].value: required")
        );
        assert!(problems(r#"{"providers":{"ollama":{"keys":[]}}}"#)
            .contains("providers.ollama.network_config.base_url: required"));
        assert!(
            problems(r#"{"providers":{"my-llm":{"keys":[{"value":"k"}]}}}"#)
                .contains("not a built-in provider")
        );
        assert!(problems(
            r#"{"providers":{"openai":{"keys":[{"value":"k","models":["*","gpt-4o"]}]}}}"#
        )
        .contains("keys[0].models"));
        assert!(
            problems(r#"{"providers":{"openai":{"keys":[{"value":"k","weight":-1}]}}}"#)
                .contains("keys[0].weight")
        );
        assert!(problems(
            r#"{"providers":{"vllm-local":{"keys":[],"custom_provider_config":{"base_provider_type":"openai","is_key_less":true},
               "network_config":{"base_url":"ftp://x"}}}}"#
        )
        .contains("must be an http or https URL"));
    }

    #[test]
    fn ca_cert_pem_must_hold_a_usable_certificate() {
        let config = |pem: &str| {
            serde_json::json!({"providers": {"openai": {
                "keys": [{"value": "k"}],
                "network_config": {"ca_cert_pem": pem}
            }}})
            .to_string()
        };
        let p = problems(&config("not a pem"));
        assert!(
            p.contains("providers.openai.network_config.ca_cert_pem: not a PEM certificate"),
            "{p}"
        );
        let ca = include_str!("../../tests/fixtures/tls/ca.pem");
        assert!(!problems(&config(ca)).contains("ca_cert_pem"));
    }

    #[test]
    fn proxy_config_names_what_is_wrong() {
        let config = |proxy: serde_json::Value| {
            serde_json::json!({"providers": {"openai": {
                "keys": [{"value": "k"}], "proxy_config": proxy
            }}})
            .to_string()
        };
        let p = problems(&config(serde_json::json!({"type": "http"})));
        assert!(
            p.contains("providers.openai.proxy_config.url: required for this proxy type"),
            "{p}"
        );
        let p = problems(&config(
            serde_json::json!({"type": "socks5", "url": "http://proxy:1080"}),
        ));
        assert!(
            p.contains("proxy_config.url: the scheme must be socks5 or socks5h (got `http`)"),
            "{p}"
        );
        let p = problems(&config(serde_json::json!({"type": "http",
            "url": "http://proxy:3128", "username": "u",
            "password": "env.BIFROST_TEST_UNSET_PROXY_PASSWORD"})));
        assert!(
            p.contains("proxy_config.password: environment variable BIFROST_TEST_UNSET_PROXY_PASSWORD is not set"),
            "{p}"
        );
        let p = problems(&config(
            serde_json::json!({"type": "http", "url": "proxy:3128", "ca_cert_pem": "x"}),
        ));
        assert!(
            p.contains("providers.openai.proxy_config.ca_cert_pem: not a PEM certificate"),
            "{p}"
        );
        assert!(
            !p.contains("proxy_config.url"),
            "a bare host:port is an http URL: {p}"
        );
        for fine in [
            serde_json::json!({"type": "none"}),
            serde_json::json!({"type": "none", "url": "", "ca_cert_pem": ""}),
            serde_json::json!({"type": "environment"}),
            serde_json::json!({"type": "socks5", "url": "socks5://proxy", "username": "u", "password": "p"}),
        ] {
            assert!(
                !problems(&config(fine.clone())).contains("proxy_config"),
                "{fine}"
            );
        }
        // An unknown type is a config error naming the field.
        let p = problems(&config(serde_json::json!({"type": "socks4"})));
        assert!(
            p.contains("providers.openai.proxy_config.type: unknown variant `socks4`"),
            "{p}"
        );
    }

    #[test]
    fn azure_keys_are_checked_field_by_field() {
        let p = problems(
            r#"{"providers":{"azure":{"keys":[{"name":"a","value":"",
               "azure_key_config":{"endpoint":"ftp://x","api_version":"","client_id":"c"}}]}}}"#,
        );
        assert!(
            p.contains("providers.azure.keys[0].azure_key_config.endpoint: `ftp://x` must be an http or https URL"),
            "{p}"
        );
        assert!(
            p.contains("providers.azure.keys[0].azure_key_config.api_version: must not be empty"),
            "{p}"
        );
        assert!(
            p.contains("providers.azure.keys[0].azure_key_config.client_secret: required"),
            "{p}"
        );
        assert!(
            p.contains("providers.azure.keys[0].azure_key_config.tenant_id: required"),
            "{p}"
        );
        let p = problems(r#"{"providers":{"azure":{"keys":[{"name":"a","value":"k"}]}}}"#);
        assert!(
            p.contains("providers.azure.keys[0].azure_key_config: required"),
            "{p}"
        );
        let p = problems(
            r#"{"providers":{"azure":{"keys":[{"name":"a","value":"","azure_key_config":{"endpoint":"env.AZ_ENDPOINT"}}]}}}"#,
        );
        assert!(
            p.contains("set the key's value (an API key) or client_id"),
            "{p}"
        );
        assert_eq!(
            problems(
                r#"{"providers":{"azure":{"keys":[{"name":"a","value":"env.AZ_KEY",
                   "azure_key_config":{"endpoint":"https://r.openai.azure.com","deployments":{"gpt-4o":"prod"}}}]}}}"#
            ),
            ""
        );
    }

    #[test]
    fn vertex_keys_need_project_region_and_valid_credentials() {
        let p = problems(r#"{"providers":{"vertex":{"keys":[{"value":""}]}}}"#);
        assert!(
            p.contains("providers.vertex.keys[0].vertex_key_config: required"),
            "{p}"
        );
        let p = problems(
            r#"{"providers":{"vertex":{"keys":[{"vertex_key_config":{"auth_credentials":"{\"type\":\"service_account\"}"}}]}}}"#,
        );
        assert!(p.contains("vertex_key_config.project_id: required"), "{p}");
        assert!(p.contains("vertex_key_config.region: required"), "{p}");
        assert!(
            p.contains("vertex_key_config.auth_credentials: not a service_account"),
            "{p}"
        );
        assert_eq!(
            problems(
                r#"{"providers":{"vertex":{"keys":[{"vertex_key_config":{"project_id":"p","region":"global","auth_credentials":"env.GOOGLE_SA"}}]}}}"#
            ),
            ""
        );
    }

    #[test]
    fn bedrock_key_configs_are_checked_field_by_field() {
        let bedrock = |block: &str| {
            problems(&format!(
                r#"{{"providers":{{"bedrock":{{"keys":[{{"value":"","bedrock_key_config":{block}}}]}}}}}}"#
            ))
        };
        assert_eq!(
            bedrock(
                r#"{"access_key":"env.AK","secret_key":"env.SK","region":"us-west-2","deployments":{"claude":"us.anthropic.claude"}}"#
            ),
            ""
        );
        assert!(bedrock(r#"{"access_key":"AKID"}"#).contains(
            "keys[0].bedrock_key_config: access_key and secret_key must be set together"
        ));
        assert!(bedrock(r#"{"region":"env."}"#)
            .contains("keys[0].bedrock_key_config.region: `env.` must be followed"));
        assert!(bedrock(r#"{"session_token":"tok"}"#)
            .contains("bedrock_key_config.session_token: needs access_key"));
        assert!(bedrock(r#"{"deployments":{"claude":" "}}"#)
            .contains("bedrock_key_config.deployments.claude: must not be empty"));
    }

    #[test]
    fn a_valid_custom_provider_passes() {
        assert_eq!(
            problems(
                r#"{"providers":{"vllm-local":{"keys":[],"custom_provider_config":{"base_provider_type":"openai","is_key_less":true,
                   "allowed_requests":{"chat_completion":true,"embedding":false}},"network_config":{"base_url":"http://localhost:8000"}}}}"#
            ),
            ""
        );
    }
}
