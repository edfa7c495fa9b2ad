//! Team and customer management, behind `/api/governance/teams`, `/customers`, and the CLI's
//! `bifrost team` and `bifrost customer`. Deleting one detaches what referred to it.

use serde::Deserialize;
use serde_json::Value;

use super::manage::{decode, encode, find, nullable, resolve, unique_name};
use super::types::{Budget, Customer, Team, VirtualKey};
use super::{now_ms, validate};
use crate::error::{Error, Result};
use crate::store::governance_store::{GovRow, GovTable, GovTx};
use crate::store::ConfigStore;

/// A team as sent to create or update one.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct TeamInput {
    /// Unique name (required on create).
    #[serde(default)]
    pub name: Option<String>,
    /// Customer id or name (`null` clears).
    #[serde(default, deserialize_with = "nullable")]
    pub customer_id: Option<Option<String>>,
    /// Budget (`null` removes it).
    #[serde(default, deserialize_with = "nullable")]
    pub budget: Option<Option<Budget>>,
    /// Bifrost's `profile`.
    #[serde(default)]
    pub profile: Option<Value>,
    /// Bifrost's `config`.
    #[serde(default)]
    pub config: Option<Value>,
    /// Bifrost's `claims`.
    #[serde(default)]
    pub claims: Option<Value>,
}

/// A customer as sent to create or update one.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct CustomerInput {
    /// Unique name (required on create).
    #[serde(default)]
    pub name: Option<String>,
    /// Budget (`null` removes it).
    #[serde(default, deserialize_with = "nullable")]
    pub budget: Option<Option<Budget>>,
}

fn team_name(t: &Team) -> &str {
    &t.name
}

fn customer_name(c: &Customer) -> &str {
    &c.name
}

/// Creates a team (`id` kept when given, for config.json).
pub fn create_team(store: &ConfigStore, input: TeamInput, id: Option<String>) -> Result<Team> {
    let now = now_ms() / 1000;
    let mut team = Team {
        id: id.unwrap_or_else(validate::new_id),
        name: String::new(),
        customer_id: None,
        budget: None,
        profile: None,
        config: None,
        claims: None,
        created_at: now,
        updated_at: now,
    };
    store.gov_tx(|tx| {
        apply_team(tx, &mut team, input)?;
        save(tx, GovTable::Teams, &team.id, &team.name, &team, team_name)?;
        Ok(team)
    })
}

/// Changes a team (by id or name).
pub fn update_team(store: &ConfigStore, id_or_name: &str, input: TeamInput) -> Result<Team> {
    store.gov_tx(|tx| {
        let (mut team, _) = find::<Team>(tx, GovTable::Teams, id_or_name, team_name)?
            .ok_or_else(|| Error::NotFound(format!("team {id_or_name} not found")))?;
        apply_team(tx, &mut team, input)?;
        team.updated_at = now_ms() / 1000;
        save(tx, GovTable::Teams, &team.id, &team.name, &team, team_name)?;
        Ok(team)
    })
}

/// Deletes a team; its keys stay, without a team.
pub fn delete_team(store: &ConfigStore, id_or_name: &str) -> Result<Team> {
    store.gov_tx(|tx| {
        let (team, _) = find::<Team>(tx, GovTable::Teams, id_or_name, team_name)?
            .ok_or_else(|| Error::NotFound(format!("team {id_or_name} not found")))?;
        tx.delete(GovTable::Teams, &team.id)?;
        detach::<VirtualKey>(tx, GovTable::VirtualKeys, |k| {
            (k.team_id.as_deref() == Some(team.id.as_str())).then(|| k.team_id = None)
        })?;
        Ok(team)
    })
}

/// One team.
pub fn get_team(store: &ConfigStore, id_or_name: &str) -> Result<Team> {
    store
        .gov_tx(|tx| find::<Team>(tx, GovTable::Teams, id_or_name, team_name))?
        .map(|(t, _)| t)
        .ok_or_else(|| Error::NotFound(format!("team {id_or_name} not found")))
}

fn apply_team(tx: &GovTx<'_>, team: &mut Team, input: TeamInput) -> Result<()> {
    if let Some(n) = input.name {
        team.name = n.trim().to_owned();
    }
    if let Some(c) = input.customer_id {
        team.customer_id = match c.filter(|c| !c.is_empty()) {
            Some(c) => Some(resolve::<Customer>(
                tx,
                GovTable::Customers,
                &c,
                "customer",
                customer_name,
                |x| &x.id,
            )?),
            None => None,
        };
    }
    if let Some(mut b) = input.budget {
        validate::keep_budget_id(&mut b, team.budget.as_ref());
        team.budget = b;
    }
    if input.profile.is_some() {
        team.profile = input.profile;
    }
    if input.config.is_some() {
        team.config = input.config;
    }
    if input.claims.is_some() {
        team.claims = input.claims;
    }
    validate::group(&team.name, team.budget.as_mut())
}

/// Creates a customer (`id` kept when given).
pub fn create_customer(
    store: &ConfigStore,
    input: CustomerInput,
    id: Option<String>,
) -> Result<Customer> {
    let now = now_ms() / 1000;
    let mut customer = Customer {
        id: id.unwrap_or_else(validate::new_id),
        name: String::new(),
        budget: None,
        created_at: now,
        updated_at: now,
    };
    apply_customer(&mut customer, input)?;
    store.gov_tx(|tx| {
        save(
            tx,
            GovTable::Customers,
            &customer.id,
            &customer.name,
            &customer,
            customer_name,
        )?;
        Ok(customer)
    })
}

/// Changes a customer (by id or name).
pub fn update_customer(
    store: &ConfigStore,
    id_or_name: &str,
    input: CustomerInput,
) -> Result<Customer> {
    store.gov_tx(|tx| {
        let (mut c, _) = find::<Customer>(tx, GovTable::Customers, id_or_name, customer_name)?
            .ok_or_else(|| Error::NotFound(format!("customer {id_or_name} not found")))?;
        apply_customer(&mut c, input)?;
        c.updated_at = now_ms() / 1000;
        save(tx, GovTable::Customers, &c.id, &c.name, &c, customer_name)?;
        Ok(c)
    })
}

/// Deletes a customer; its teams and keys stay, without a customer.
pub fn delete_customer(store: &ConfigStore, id_or_name: &str) -> Result<Customer> {
    store.gov_tx(|tx| {
        let (c, _) = find::<Customer>(tx, GovTable::Customers, id_or_name, customer_name)?
            .ok_or_else(|| Error::NotFound(format!("customer {id_or_name} not found")))?;
        tx.delete(GovTable::Customers, &c.id)?;
        let id = Some(c.id.as_str());
        detach::<Team>(tx, GovTable::Teams, |t| {
            (t.customer_id.as_deref() == id).then(|| t.customer_id = None)
        })?;
        detach::<VirtualKey>(tx, GovTable::VirtualKeys, |k| {
            (k.customer_id.as_deref() == id).then(|| k.customer_id = None)
        })?;
        Ok(c)
    })
}

/// One customer.
pub fn get_customer(store: &ConfigStore, id_or_name: &str) -> Result<Customer> {
    store
        .gov_tx(|tx| find::<Customer>(tx, GovTable::Customers, id_or_name, customer_name))?
        .map(|(c, _)| c)
        .ok_or_else(|| Error::NotFound(format!("customer {id_or_name} not found")))
}

fn apply_customer(c: &mut Customer, input: CustomerInput) -> Result<()> {
    if let Some(n) = input.name {
        c.name = n.trim().to_owned();
    }
    if let Some(mut b) = input.budget {
        validate::keep_budget_id(&mut b, c.budget.as_ref());
        c.budget = b;
    }
    validate::group(&c.name, c.budget.as_mut())
}

fn save<T: serde::Serialize + serde::de::DeserializeOwned>(
    tx: &GovTx<'_>,
    table: GovTable,
    id: &str,
    name: &str,
    value: &T,
    name_of: impl Fn(&T) -> &str,
) -> Result<()> {
    unique_name(tx, table, name, id, name_of)?;
    tx.put(
        table,
        &GovRow {
            id: id.to_owned(),
            config: encode(value)?,
            value_hash: None,
        },
    )
}

/// Rewrites the documents `change` changes (it returns `Some` when it changed one).
fn detach<T: serde::Serialize + serde::de::DeserializeOwned>(
    tx: &GovTx<'_>,
    table: GovTable,
    change: impl Fn(&mut T) -> Option<()>,
) -> Result<()> {
    for row in tx.all(table)? {
        let mut v: T = decode(&row)?;
        if change(&mut v).is_some() {
            tx.put(
                table,
                &GovRow {
                    config: encode(&v)?,
                    ..row
                },
            )?;
        }
    }
    Ok(())
}
