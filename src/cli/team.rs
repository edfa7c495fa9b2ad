//! `bifrost team create|list|show|update|delete`: teams (a budget shared by their keys),
//! in-process on config.db; live in a running server within about a second.

use std::path::Path;
use std::process::ExitCode;

use clap::Subcommand;

use super::output;
use super::vk::{budget_cell, open_store, BudgetArgs};
use crate::plugins::governance::groups::{self, TeamInput};
use crate::plugins::governance::manage;
use crate::plugins::governance::views::{self, Usage};

/// `bifrost team ...`.
#[derive(Debug, Subcommand)]
pub enum TeamCommand {
    /// Create a team.
    ///
    /// Example: bifrost team create --name platform --budget 500 --reset 1M --customer acme
    Create {
        /// Unique name.
        #[arg(long)]
        name: String,
        /// Customer id or name.
        #[arg(long)]
        customer: Option<String>,
        #[command(flatten)]
        budget: BudgetArgs,
    },
    /// List teams with their spend.
    List,
    /// Show one team (by id or name).
    Show {
        /// Id or name.
        team: String,
    },
    /// Change a team; options not given are left as they are.
    Update {
        /// Id or name.
        team: String,
        /// New name.
        #[arg(long)]
        name: Option<String>,
        /// Customer id or name ("" to detach).
        #[arg(long)]
        customer: Option<String>,
        #[command(flatten)]
        budget: BudgetArgs,
    },
    /// Delete a team (its keys stay, without a team).
    Delete {
        /// Id or name.
        team: String,
    },
}

/// Runs a `team` subcommand.
pub fn run(cmd: TeamCommand, app_dir: &Path) -> anyhow::Result<ExitCode> {
    let store = open_store(app_dir)?;
    match cmd {
        TeamCommand::Create {
            name,
            customer,
            budget,
        } => {
            let input = TeamInput {
                name: Some(name),
                customer_id: customer.map(Some),
                budget: budget.change(),
                ..TeamInput::default()
            };
            let t = groups::create_team(&store, input, None)?;
            println!("created team {} (id {})", t.name, t.id);
        }
        TeamCommand::List => {
            let (docs, _) = manage::load_docs(&store)?;
            if docs.teams.is_empty() {
                println!("no teams yet; create one with: bifrost team create --name NAME");
                return Ok(ExitCode::SUCCESS);
            }
            let usage = Usage::stored(store.gov_counters()?);
            let rows: Vec<Vec<String>> = docs
                .teams
                .iter()
                .map(|t| {
                    let keys = docs
                        .keys
                        .iter()
                        .filter(|(k, _)| k.team_id.as_deref() == Some(t.id.as_str()))
                        .count();
                    let customer = t
                        .customer_id
                        .as_ref()
                        .and_then(|id| docs.customers.iter().find(|c| &c.id == id))
                        .map_or_else(|| "-".to_owned(), |c| c.name.clone());
                    vec![
                        t.name.clone(),
                        t.id.chars().take(8).collect(),
                        customer,
                        keys.to_string(),
                        budget_cell(t.budget.as_ref(), &usage),
                    ]
                })
                .collect();
            print!(
                "{}",
                output::table(&["NAME", "ID", "CUSTOMER", "KEYS", "BUDGET"], &rows)
            );
        }
        TeamCommand::Show { team } => {
            let t = groups::get_team(&store, &team)?;
            let usage = Usage::stored(store.gov_counters()?);
            println!(
                "{}",
                serde_json::to_string_pretty(&views::team(&t, &usage))?
            );
        }
        TeamCommand::Update {
            team,
            name,
            customer,
            budget,
        } => {
            let input = TeamInput {
                name,
                customer_id: customer.map(|c| Some(c).filter(|c| !c.is_empty())),
                budget: budget.change(),
                ..TeamInput::default()
            };
            let t = groups::update_team(&store, &team, input)?;
            println!("updated team {} (id {})", t.name, t.id);
        }
        TeamCommand::Delete { team } => {
            let t = groups::delete_team(&store, &team)?;
            println!("deleted team {} (id {})", t.name, t.id);
        }
    }
    Ok(ExitCode::SUCCESS)
}
