//! `bifrost customer create|list|show|update|delete`: customers (a budget shared by their
//! teams and keys), in-process on config.db; live in a running server within about a second.

use std::path::Path;
use std::process::ExitCode;

use clap::Subcommand;

use super::output;
use super::vk::{budget_cell, open_store, BudgetArgs};
use crate::plugins::governance::groups::{self, CustomerInput};
use crate::plugins::governance::manage;
use crate::plugins::governance::views::{self, Usage};

/// `bifrost customer ...`.
#[derive(Debug, Subcommand)]
pub enum CustomerCommand {
    /// Create a customer.
    ///
    /// Example: bifrost customer create --name acme --budget 1000 --reset 1M --calendar-aligned
    Create {
        /// Unique name.
        #[arg(long)]
        name: String,
        #[command(flatten)]
        budget: BudgetArgs,
    },
    /// List customers with their spend.
    List,
    /// Show one customer (by id or name).
    Show {
        /// Id or name.
        customer: String,
    },
    /// Change a customer; options not given are left as they are.
    Update {
        /// Id or name.
        customer: String,
        /// New name.
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        budget: BudgetArgs,
    },
    /// Delete a customer (its teams and keys stay, without a customer).
    Delete {
        /// Id or name.
        customer: String,
    },
}

/// Runs a `customer` subcommand.
pub fn run(cmd: CustomerCommand, app_dir: &Path) -> anyhow::Result<ExitCode> {
    let store = open_store(app_dir)?;
    match cmd {
        CustomerCommand::Create { name, budget } => {
            let input = CustomerInput {
                name: Some(name),
                budget: budget.change(),
            };
            let c = groups::create_customer(&store, input, None)?;
            println!("created customer {} (id {})", c.name, c.id);
        }
        CustomerCommand::List => {
            let (docs, _) = manage::load_docs(&store)?;
            if docs.customers.is_empty() {
                println!("no customers yet; create one with: bifrost customer create --name NAME");
                return Ok(ExitCode::SUCCESS);
            }
            let usage = Usage::stored(store.gov_counters()?);
            let rows: Vec<Vec<String>> = docs
                .customers
                .iter()
                .map(|c| {
                    let teams = docs
                        .teams
                        .iter()
                        .filter(|t| t.customer_id.as_deref() == Some(c.id.as_str()))
                        .count();
                    vec![
                        c.name.clone(),
                        c.id.chars().take(8).collect(),
                        teams.to_string(),
                        budget_cell(c.budget.as_ref(), &usage),
                    ]
                })
                .collect();
            print!(
                "{}",
                output::table(&["NAME", "ID", "TEAMS", "BUDGET"], &rows)
            );
        }
        CustomerCommand::Show { customer } => {
            let c = groups::get_customer(&store, &customer)?;
            let usage = Usage::stored(store.gov_counters()?);
            println!(
                "{}",
                serde_json::to_string_pretty(&views::customer(&c, &usage))?
            );
        }
        CustomerCommand::Update {
            customer,
            name,
            budget,
        } => {
            let input = CustomerInput {
                name,
                budget: budget.change(),
            };
            let c = groups::update_customer(&store, &customer, input)?;
            println!("updated customer {} (id {})", c.name, c.id);
        }
        CustomerCommand::Delete { customer } => {
            let c = groups::delete_customer(&store, &customer)?;
            println!("deleted customer {} (id {})", c.name, c.id);
        }
    }
    Ok(ExitCode::SUCCESS)
}
