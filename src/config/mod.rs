//! Bifrost's `config.json`: its types, loading with field paths in errors, and validation.
//!
//! Loading is two stages: serde into the raw types (an error names the JSON path of the bad
//! field; unknown fields become warnings), then [`validate`] checks the rules serde cannot.
//! The same validation guards every write from the API and the CLI.

pub mod secret;
pub mod types;
pub mod validate;

use std::path::Path;

pub use types::{
    AzureKeyConfig, BedrockKeyConfig, ClientConfig, ConcurrencyConfig, CustomProviderConfig,
    FileConfig, KeyConfig, NetworkConfig, ProviderConfig, ProxyConfig, ProxyKind, VertexKeyConfig,
    VllmKeyConfig,
};

use crate::error::{Error, Result};

/// A parsed config file and what was odd about it.
#[derive(Debug)]
pub struct Loaded {
    /// The configuration.
    pub config: FileConfig,
    /// Unknown fields and other things worth a warning, one line each.
    pub warnings: Vec<String>,
}

/// Client fields of Bifrost that are accepted and kept although this gateway does not act on
/// them yet; anything else under `client` is reported as unknown.
const KNOWN_CLIENT_FIELDS: &[&str] = &[
    "enable_governance",
    "enforce_governance_header",
    "enforce_scim_auth",
    "async_job_result_ttl",
    "hide_deleted_virtual_keys_in_filters",
    "mcp_agent_depth",
    "mcp_tool_execution_timeout",
    "mcp_code_mode_binding_level",
    "mcp_tool_sync_interval",
    "vk_rotation_cooldown",
    "disable_db_pings_in_health",
];

/// Parses and validates config text.
pub fn parse(text: &str) -> Result<Loaded> {
    let mut warnings = Vec::new();
    let mut de = serde_json::Deserializer::from_str(text);
    let mut on_ignored = |path: serde_ignored::Path<'_>| {
        warnings.push(format!("unknown field `{path}` is ignored"));
    };
    let tracked = serde_ignored::Deserializer::new(&mut de, &mut on_ignored);
    let config: FileConfig = serde_path_to_error::deserialize(tracked).map_err(|e| {
        let path = e.path().to_string();
        Error::Config(format!("{path}: {}", e.into_inner()))
    })?;
    for name in config.client.other.keys() {
        if !KNOWN_CLIENT_FIELDS.contains(&name.as_str()) {
            warnings.push(format!("unknown field `client.{name}` is ignored"));
        }
    }
    if config.schema.is_none() {
        warnings.push(
            "config.json has no `$schema`; add \"$schema\": \"https://www.getbifrost.ai/schema\" for editor help"
                .to_owned(),
        );
    }
    let problems = validate::file(&config);
    if !problems.is_empty() {
        return Err(Error::Config(problems.join("; ")));
    }
    Ok(Loaded { config, warnings })
}

/// Reads `path` if it exists.
pub fn load_file(path: &Path) -> Result<Option<Loaded>> {
    match std::fs::read_to_string(path) {
        Ok(text) => parse(&text)
            .map(Some)
            .map_err(|e| Error::Config(format!("{}: {}", path.display(), strip_prefix(&e)))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::Config(format!(
            "cannot read {}: {e}",
            path.display()
        ))),
    }
}

fn strip_prefix(e: &Error) -> String {
    match e {
        Error::Config(m) => m.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_field_path() {
        let err = parse(r#"{"providers":{"openai":{"keys":[{"value":"x","weight":"heavy"}]}}}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("providers.openai.keys[0].weight"), "{err}");
    }

    #[test]
    fn unknown_fields_warn_and_bifrost_sections_do_not() {
        let loaded = parse(
            r#"{"$schema":"https://www.getbifrost.ai/schema","governance":{"virtual_keys":[]},
                "client":{"drop_excess_requests":true,"frobnicate":1,"mcp_agent_depth":3},
                "providers":{"openai":{"keys":[{"value":"env.K","models":["*"],"colour":"red"}]}},
                "surprise":true}"#,
        )
        .unwrap();
        let w = loaded.warnings.join("\n");
        assert!(w.contains("`surprise`"), "{w}");
        assert!(w.contains("`client.frobnicate`"), "{w}");
        assert!(w.contains("providers.openai.keys.0.colour"), "{w}");
        assert!(!w.contains("governance"), "{w}");
        assert!(!w.contains("mcp_agent_depth"), "{w}");
        assert!(loaded.config.client.drop_excess_requests);
    }
}
