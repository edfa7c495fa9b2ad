//! `bifrost provider add|list|remove`.

use std::path::Path;
use std::process::ExitCode;

use clap::Subcommand;

use super::{block_on, output};
use crate::config::secret::SecretRef;
use crate::config::{CustomProviderConfig, KeyConfig, ProviderConfig};
use crate::engine::Gateway;
use crate::error::Error;

/// `bifrost provider ...`.
#[derive(Debug, Subcommand)]
pub enum ProviderCommand {
    /// Add a provider, or a key to an existing one.
    ///
    /// Examples:
    ///   bifrost provider add openai --key env.OPENAI_API_KEY
    ///   bifrost provider add vllm-local --base-provider openai --base-url http://localhost:8000
    Add {
        /// Provider name: a built-in one (openai, anthropic, groq, ...) or a new custom name.
        name: String,
        /// The API key, or env.VAR_NAME to read it from the environment at request time.
        #[arg(long)]
        key: Option<String>,
        /// Weight of this key among the provider's keys.
        #[arg(long, default_value_t = 1.0)]
        weight: f64,
        /// Models this key serves, comma separated [default: all]
        #[arg(long, value_delimiter = ',')]
        models: Vec<String>,
        /// Base URL of the provider's API.
        #[arg(long)]
        base_url: Option<String>,
        /// Wire format of a custom provider.
        #[arg(long, value_parser = ["openai", "anthropic", "gemini"])]
        base_provider: Option<String>,
    },
    /// List providers.
    List,
    /// Remove a provider.
    Remove {
        /// Provider name.
        name: String,
    },
}

/// Runs a provider subcommand.
pub fn run(cmd: ProviderCommand, app_dir: &Path) -> anyhow::Result<ExitCode> {
    let (gateway, _) = Gateway::open(app_dir)?;
    block_on(async move {
        match cmd {
            ProviderCommand::Add {
                name,
                key,
                weight,
                models,
                base_url,
                base_provider,
            } => {
                let key = key.map(|value| KeyConfig {
                    value: SecretRef::new(value),
                    weight,
                    models: if models.is_empty() {
                        vec!["*".to_owned()]
                    } else {
                        models
                    },
                    ..KeyConfig::default()
                });
                add(&gateway, &name, key, base_url, base_provider).await
            }
            ProviderCommand::List => {
                let providers = gateway.list_providers().await?;
                if providers.is_empty() {
                    println!("no providers yet; add one with: bifrost provider add openai --key env.OPENAI_API_KEY");
                    return Ok(ExitCode::SUCCESS);
                }
                let rows: Vec<Vec<String>> = providers
                    .iter()
                    .map(|p| {
                        let kind = match &p.config.custom_provider_config {
                            Some(c) => format!("custom ({})", c.base_provider_type),
                            None => "built-in".to_owned(),
                        };
                        let base = p
                            .config
                            .network_config
                            .base_url
                            .clone()
                            .unwrap_or_else(|| "default".into());
                        let models: Vec<String> = p
                            .config
                            .keys
                            .iter()
                            .flat_map(|k| k.models.clone())
                            .collect();
                        vec![
                            p.name.clone(),
                            kind,
                            base,
                            p.config.keys.len().to_string(),
                            models.join(","),
                        ]
                    })
                    .collect();
                print!(
                    "{}",
                    output::table(&["NAME", "TYPE", "BASE URL", "KEYS", "MODELS"], &rows)
                );
                Ok(ExitCode::SUCCESS)
            }
            ProviderCommand::Remove { name } => {
                gateway.delete_provider(&name).await?;
                println!("removed provider {name}");
                Ok(ExitCode::SUCCESS)
            }
        }
    })?
}

async fn add(
    gateway: &Gateway,
    name: &str,
    key: Option<KeyConfig>,
    base_url: Option<String>,
    base_provider: Option<String>,
) -> anyhow::Result<ExitCode> {
    match gateway.get_provider(name).await {
        Ok(existing) => {
            let Some(key) = key else {
                anyhow::bail!("provider {name} already exists; pass --key to add a key to it");
            };
            if base_url.is_some() || base_provider.is_some() {
                let mut config = existing.config;
                config.network_config.base_url = base_url.or(config.network_config.base_url);
                gateway.update_provider(name, config).await?;
            }
            let added = gateway.add_key(name, key).await?;
            println!("added key {} to provider {name}", added.name);
        }
        Err(Error::NotFound(_)) => {
            let keyless = key.is_none();
            let mut config = ProviderConfig {
                keys: key.into_iter().collect(),
                ..ProviderConfig::default()
            };
            config.network_config.base_url = base_url;
            config.custom_provider_config = base_provider.map(|base| CustomProviderConfig {
                base_provider_type: base,
                is_key_less: keyless,
                ..CustomProviderConfig::default()
            });
            let view = gateway.create_provider(name, config).await?;
            println!(
                "added provider {name} with {} key(s)",
                view.config.keys.len()
            );
        }
        Err(e) => return Err(e.into()),
    }
    Ok(ExitCode::SUCCESS)
}
