//! `bifrost vk create|list|show|update|enable|disable|delete`: virtual keys, in-process on the
//! app dir's config.db; a running server applies the change within about a second.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Subcommand};

use super::output;
use crate::engine::Gateway;
use crate::plugins::governance::manage::{self, VkInput};
use crate::plugins::governance::types::{Budget, ProviderConfig, RateLimit, VirtualKey};
use crate::plugins::governance::views::Usage;
use crate::plugins::governance::Governance;
use crate::store::ConfigStore;

/// `bifrost vk ...`.
#[derive(Debug, Subcommand)]
pub enum VkCommand {
    /// Create a key; its value is printed once.
    ///
    /// Examples:
    ///   bifrost vk create --name search --provider openai
    ///   bifrost vk create --name eng --budget 100 --reset 1M --rpm 60 --tpm 100000 \
    ///     --provider openai:0.7:gpt-4o-mini,gpt-4o --provider anthropic:0.3 --team platform
    Create {
        /// Unique name.
        #[arg(long)]
        name: String,
        #[command(flatten)]
        opts: VkOptions,
    },
    /// List keys with their spend and limits.
    List,
    /// Show one key (by id or name) with its quota.
    Show {
        /// Id or name.
        key: String,
    },
    /// Change a key; options not given are left as they are.
    Update {
        /// Id or name.
        key: String,
        /// New name.
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        opts: VkOptions,
    },
    /// Re-activate a key.
    Enable {
        /// Id or name.
        key: String,
    },
    /// Deactivate a key (requests with it get 403).
    Disable {
        /// Id or name.
        key: String,
    },
    /// Delete a key.
    Delete {
        /// Id or name.
        key: String,
    },
}

/// Budget options shared by keys, teams and customers.
#[derive(Debug, Clone, Args)]
pub struct BudgetArgs {
    /// Budget in USD.
    #[arg(long, value_name = "USD")]
    pub budget: Option<f64>,
    /// Budget window: 30s, 5m, 1h, 1d, 1w, 1M, 1Y.
    #[arg(long, value_name = "DURATION", default_value = "1M")]
    pub reset: String,
    /// Reset at calendar boundaries (day start, Monday, the 1st, January 1st).
    #[arg(long)]
    pub calendar_aligned: bool,
    /// Remove the budget (update).
    #[arg(long, conflicts_with = "budget")]
    pub no_budget: bool,
}

impl BudgetArgs {
    /// The budget change: `None` leaves it, `Some(None)` removes it.
    pub fn change(&self) -> Option<Option<Budget>> {
        if self.no_budget {
            return Some(None);
        }
        self.budget.map(|max| {
            Some(Budget {
                id: String::new(),
                max_limit: max,
                reset_duration: self.reset.clone(),
                calendar_aligned: self.calendar_aligned,
            })
        })
    }
}

/// Options of `vk create` and `vk update`.
#[derive(Debug, Clone, Args)]
pub struct VkOptions {
    #[command(flatten)]
    budget: BudgetArgs,
    /// Requests per minute.
    #[arg(long)]
    rpm: Option<u64>,
    /// Tokens per minute.
    #[arg(long)]
    tpm: Option<u64>,
    /// Remove the rate limit (update).
    #[arg(long, conflicts_with_all = ["rpm", "tpm"])]
    no_rate_limit: bool,
    /// provider[:weight[:model,model...]], repeatable [default: every provider, every model]
    #[arg(long = "provider", value_name = "SPEC")]
    providers: Vec<String>,
    /// Team id or name.
    #[arg(long, conflicts_with = "customer")]
    team: Option<String>,
    /// Customer id or name.
    #[arg(long)]
    customer: Option<String>,
    /// Free text.
    #[arg(long)]
    description: Option<String>,
}

/// Parses `openai`, `openai:0.7`, `openai:0.7:gpt-4o-mini,gpt-4o` (an empty weight is null).
pub fn provider_spec(spec: &str) -> anyhow::Result<ProviderConfig> {
    let mut parts = spec.splitn(3, ':');
    let provider = parts.next().unwrap_or_default().trim().to_owned();
    if provider.is_empty() {
        anyhow::bail!("--provider {spec}: the provider name is missing");
    }
    let weight = match parts.next().map(str::trim) {
        None => Some(1.0),
        Some("") => None,
        Some(w) => Some(
            w.parse::<f64>()
                .map_err(|_| anyhow::anyhow!("--provider {spec}: weight `{w}` is not a number"))?,
        ),
    };
    let models: Vec<String> = parts
        .next()
        .map(|m| {
            m.split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default();
    Ok(ProviderConfig {
        id: String::new(),
        provider,
        weight,
        allowed_models: if models.is_empty() {
            vec!["*".into()]
        } else {
            models
        },
        key_ids: vec!["*".into()],
        budget: None,
        rate_limit: None,
    })
}

impl VkOptions {
    fn input(&self, existing: Option<&VirtualKey>, creating: bool) -> anyhow::Result<VkInput> {
        let mut input = VkInput {
            description: self.description.clone().map(Some),
            budget: self.budget.change(),
            team_id: self.team.clone().map(Some),
            customer_id: self.customer.clone().map(Some),
            ..VkInput::default()
        };
        if self.no_rate_limit {
            input.rate_limit = Some(None);
        } else if self.rpm.is_some() || self.tpm.is_some() {
            let mut r = existing
                .and_then(|k| k.rate_limit.clone())
                .unwrap_or_default();
            if let Some(rpm) = self.rpm {
                r.request_max_limit = Some(rpm);
                r.request_reset_duration = Some("1m".into());
            }
            if let Some(tpm) = self.tpm {
                r.token_max_limit = Some(tpm);
                r.token_reset_duration = Some("1m".into());
            }
            input.rate_limit = Some(Some(r));
        }
        if !self.providers.is_empty() {
            let pcs = self
                .providers
                .iter()
                .map(|s| provider_spec(s))
                .collect::<anyhow::Result<Vec<_>>>()?;
            input.provider_configs = Some(pcs);
            input.allow_all_providers = Some(false);
        } else if creating {
            input.allow_all_providers = Some(true);
        }
        Ok(input)
    }
}

/// Opens the app dir's store, importing config.json's governance entries first.
pub fn open_store(app_dir: &Path) -> anyhow::Result<Arc<ConfigStore>> {
    let (gateway, _) = Gateway::open(app_dir)?;
    let store = Arc::clone(gateway.store());
    let (_, warnings) = Governance::open(Arc::clone(&store), app_dir)?;
    for w in warnings {
        eprintln!("warning: {w}");
    }
    Ok(store)
}

/// Runs a `vk` subcommand.
pub fn run(cmd: VkCommand, app_dir: &Path) -> anyhow::Result<ExitCode> {
    let store = open_store(app_dir)?;
    match cmd {
        VkCommand::Create { name, opts } => {
            let mut input = opts.input(None, true)?;
            input.name = Some(name);
            let (vk, value) = manage::create_vk(&store, input)?;
            println!("created virtual key {} (id {})", vk.name, vk.id);
            println!("{value}");
            println!("this is the only time the key is shown: store it now");
        }
        VkCommand::List => list(&store)?,
        VkCommand::Show { key } => show(&store, &key)?,
        VkCommand::Update { key, name, opts } => {
            let existing = manage::get_vk(&store, &key)?;
            let mut input = opts.input(Some(&existing), false)?;
            input.name = name;
            let vk = manage::update_vk(&store, &key, input)?;
            println!("updated virtual key {} (id {})", vk.name, vk.id);
        }
        VkCommand::Enable { key } => toggle(&store, &key, true)?,
        VkCommand::Disable { key } => toggle(&store, &key, false)?,
        VkCommand::Delete { key } => {
            let vk = manage::delete_vk(&store, &key)?;
            println!("deleted virtual key {} (id {})", vk.name, vk.id);
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn toggle(store: &ConfigStore, key: &str, active: bool) -> anyhow::Result<()> {
    let input = VkInput {
        is_active: Some(active),
        ..VkInput::default()
    };
    let vk = manage::update_vk(store, key, input)?;
    let state = if active { "enabled" } else { "disabled" };
    println!("{state} virtual key {} (id {})", vk.name, vk.id);
    Ok(())
}

/// `$spent / $limit per window`, or `-`.
pub fn budget_cell(b: Option<&Budget>, usage: &Usage) -> String {
    b.map_or_else(
        || "-".to_owned(),
        |b| {
            format!(
                "${:.4} / ${} per {}",
                usage.spent(b),
                b.max_limit,
                b.reset_duration
            )
        },
    )
}

fn rate_cell(r: Option<&RateLimit>) -> String {
    let Some(r) = r else { return "-".into() };
    let mut parts = Vec::new();
    if let Some(n) = r.request_max_limit {
        parts.push(format!(
            "{n} req/{}",
            r.request_reset_duration.as_deref().unwrap_or("1m")
        ));
    }
    if let Some(n) = r.token_max_limit {
        parts.push(format!(
            "{n} tok/{}",
            r.token_reset_duration.as_deref().unwrap_or("1m")
        ));
    }
    parts.join(", ")
}

fn providers_cell(vk: &VirtualKey) -> String {
    if vk.provider_configs.is_empty() {
        return if vk.allow_all_providers {
            "all".into()
        } else {
            "none".into()
        };
    }
    vk.provider_configs
        .iter()
        .map(|p| match p.weight {
            Some(w) => format!("{}:{w}", p.provider),
            None => p.provider.clone(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn list(store: &ConfigStore) -> anyhow::Result<()> {
    let (docs, _) = manage::load_docs(store)?;
    if docs.keys.is_empty() {
        println!(
            "no virtual keys yet; create one with: bifrost vk create --name NAME --provider openai"
        );
        return Ok(());
    }
    let usage = Usage::stored(store.gov_counters()?);
    let rows: Vec<Vec<String>> = docs
        .keys
        .iter()
        .map(|(k, _)| {
            let owner = match (&k.team_id, &k.customer_id) {
                (Some(t), _) => docs
                    .teams
                    .iter()
                    .find(|x| &x.id == t)
                    .map_or_else(|| t.clone(), |x| format!("team {}", x.name)),
                (None, Some(c)) => docs
                    .customers
                    .iter()
                    .find(|x| &x.id == c)
                    .map_or_else(|| c.clone(), |x| format!("customer {}", x.name)),
                _ => "-".into(),
            };
            vec![
                k.name.clone(),
                k.id.chars().take(8).collect(),
                format!("{}…", k.value_prefix),
                if k.is_active {
                    "yes".into()
                } else {
                    "no".into()
                },
                providers_cell(k),
                budget_cell(k.budget.as_ref(), &usage),
                rate_cell(k.rate_limit.as_ref()),
                owner,
            ]
        })
        .collect();
    print!(
        "{}",
        output::table(
            &[
                "NAME",
                "ID",
                "KEY",
                "ACTIVE",
                "PROVIDERS",
                "BUDGET",
                "RATE LIMIT",
                "OWNER"
            ],
            &rows
        )
    );
    Ok(())
}

fn show(store: &ConfigStore, key: &str) -> anyhow::Result<()> {
    let vk = manage::get_vk(store, key)?;
    let (docs, _) = manage::load_docs(store)?;
    let usage = Usage::stored(store.gov_counters()?);
    let team = vk
        .team_id
        .as_ref()
        .and_then(|id| docs.teams.iter().find(|t| &t.id == id));
    let customer_id = vk
        .customer_id
        .as_ref()
        .or_else(|| team.and_then(|t| t.customer_id.as_ref()));
    let customer = customer_id.and_then(|id| docs.customers.iter().find(|c| &c.id == id));
    let view = crate::plugins::governance::views::virtual_key(&vk, &usage);
    let quota = crate::plugins::governance::views::quota(&vk, team, customer, &usage);
    println!(
        "{}",
        serde_json::to_string_pretty(&serde_json::json!({"virtual_key": view, "quota": quota}))?
    );
    Ok(())
}
