//! Virtual-key management: the one implementation behind `/api/governance/virtual-keys`, the
//! CLI's `bifrost vk` and config.json's bootstrap. Blocking (SQLite); async callers run it on
//! the blocking pool and then reload the snapshot.

use serde::{Deserialize, Deserializer};
use serde_json::Value;

use super::snapshot::{hash_value, Docs};
use super::types::{
    AuthConfig, Budget, Customer, PluginSettings, ProviderConfig, RateLimit, Team, VirtualKey,
};
use super::{now_ms, validate};
use crate::error::{Error, Result};
use crate::http::request::VIRTUAL_KEY_PREFIX;
use crate::store::governance_store::{GovRow, GovTable, GovTx};
use crate::store::ConfigStore;

/// Distinguishes a field sent as `null` (`Some(None)`) from one not sent (`None`).
pub fn nullable<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> std::result::Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// A key as sent to create or update one; on update, absent fields are left as they are.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct VkInput {
    /// Unique name (required on create).
    #[serde(default)]
    pub name: Option<String>,
    /// Free text (`null` clears).
    #[serde(default, deserialize_with = "nullable")]
    pub description: Option<Option<String>>,
    /// Active or not.
    #[serde(default)]
    pub is_active: Option<bool>,
    /// Team id or name (`null` clears).
    #[serde(default, deserialize_with = "nullable")]
    pub team_id: Option<Option<String>>,
    /// Customer id or name (`null` clears).
    #[serde(default, deserialize_with = "nullable")]
    pub customer_id: Option<Option<String>>,
    /// The key's budget (`null` removes it).
    #[serde(default, deserialize_with = "nullable")]
    pub budget: Option<Option<Budget>>,
    /// The key's rate limit (`null` removes it).
    #[serde(default, deserialize_with = "nullable")]
    pub rate_limit: Option<Option<RateLimit>>,
    /// Replaces the provider configs.
    #[serde(default)]
    pub provider_configs: Option<Vec<ProviderConfig>>,
    /// Every provider allowed.
    #[serde(default)]
    pub allow_all_providers: Option<bool>,
    /// MCP filters, kept.
    #[serde(default)]
    pub mcp_configs: Option<Vec<Value>>,
}

/// Reads every governance document and setting.
pub fn load_docs(store: &ConfigStore) -> Result<(Docs, Vec<String>)> {
    store.gov_tx(|tx| {
        let mut warnings = Vec::new();
        let keys = decode_all::<VirtualKey>(tx, GovTable::VirtualKeys, &mut warnings)?
            .into_iter()
            .map(|(k, row)| (k, row.value_hash.unwrap_or_default()))
            .collect();
        let teams = decode_all::<Team>(tx, GovTable::Teams, &mut warnings)?
            .into_iter()
            .map(|(t, _)| t)
            .collect();
        let customers = decode_all::<Customer>(tx, GovTable::Customers, &mut warnings)?
            .into_iter()
            .map(|(c, _)| c)
            .collect();
        let auth: AuthConfig = setting(tx, "auth_config")?;
        let plugin: PluginSettings = setting(tx, "plugin")?;
        Ok((
            Docs {
                keys,
                teams,
                customers,
                auth,
                vk_mandatory: plugin.is_vk_mandatory,
            },
            warnings,
        ))
    })
}

/// A named setting, default when absent or unreadable.
pub fn setting<T: serde::de::DeserializeOwned + Default>(tx: &GovTx<'_>, name: &str) -> Result<T> {
    Ok(tx
        .setting(name)?
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_default())
}

fn decode_all<T: serde::de::DeserializeOwned>(
    tx: &GovTx<'_>,
    table: GovTable,
    warnings: &mut Vec<String>,
) -> Result<Vec<(T, GovRow)>> {
    let mut out = Vec::new();
    for row in tx.all(table)? {
        match serde_json::from_str::<T>(&row.config) {
            Ok(v) => out.push((v, row)),
            Err(e) => warnings.push(format!(
                "stored governance entry {} is unreadable: {e}",
                row.id
            )),
        }
    }
    Ok(out)
}

/// Decodes one stored document.
pub fn decode<T: serde::de::DeserializeOwned>(row: &GovRow) -> Result<T> {
    serde_json::from_str(&row.config).map_err(|e| {
        Error::Store(format!(
            "stored governance entry {} is unreadable: {e}",
            row.id
        ))
    })
}

/// Encodes a document.
pub fn encode<T: serde::Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| Error::Internal(e.to_string()))
}

/// Finds a document by id, else by name.
pub fn find<T: serde::de::DeserializeOwned>(
    tx: &GovTx<'_>,
    table: GovTable,
    id_or_name: &str,
    name_of: impl Fn(&T) -> &str,
) -> Result<Option<(T, GovRow)>> {
    if let Some(row) = tx.get(table, id_or_name)? {
        return Ok(Some((decode(&row)?, row)));
    }
    for row in tx.all(table)? {
        let v: T = decode(&row)?;
        if name_of(&v) == id_or_name {
            return Ok(Some((v, row)));
        }
    }
    Ok(None)
}

/// A new key value: `sk-bf-<uuid>`.
pub fn new_value() -> String {
    format!("{VIRTUAL_KEY_PREFIX}{}", uuid::Uuid::new_v4())
}

/// What lists show of a value: its first ten characters.
pub fn prefix_of(value: &str) -> String {
    value.chars().take(10).collect()
}

/// Creates a key; returns it with its value (shown this once).
pub fn create_vk(store: &ConfigStore, input: VkInput) -> Result<(VirtualKey, String)> {
    let value = new_value();
    let vk = insert_vk(store, input, &value, None)?;
    Ok((vk, value))
}

/// Inserts a key with a given value (config.json) or a new one; `id` is kept when given.
pub fn insert_vk(
    store: &ConfigStore,
    input: VkInput,
    value: &str,
    id: Option<String>,
) -> Result<VirtualKey> {
    let now = now_ms() / 1000;
    let mut vk = VirtualKey {
        id: id.unwrap_or_else(validate::new_id),
        name: input.name.clone().unwrap_or_default(),
        description: None,
        value_prefix: prefix_of(value),
        is_active: true,
        team_id: None,
        customer_id: None,
        budget: None,
        rate_limit: None,
        provider_configs: Vec::new(),
        allow_all_providers: false,
        mcp_configs: Vec::new(),
        created_at: now,
        updated_at: now,
    };
    let hash = hash_value(value);
    store.gov_tx(|tx| {
        apply(tx, &mut vk, input)?;
        let existing = tx.all(GovTable::VirtualKeys)?;
        if existing
            .iter()
            .any(|r| r.value_hash.as_deref() == Some(hash.as_str()))
        {
            return Err(Error::Conflict(
                "a virtual key with this value already exists".into(),
            ));
        }
        unique_name(
            tx,
            GovTable::VirtualKeys,
            &vk.name,
            &vk.id,
            |k: &VirtualKey| &k.name,
        )?;
        tx.put(
            GovTable::VirtualKeys,
            &GovRow {
                id: vk.id.clone(),
                config: encode(&vk)?,
                value_hash: Some(hash.clone()),
            },
        )?;
        Ok(vk)
    })
}

/// Changes a key (by id or name).
pub fn update_vk(store: &ConfigStore, id_or_name: &str, input: VkInput) -> Result<VirtualKey> {
    store.gov_tx(|tx| {
        let (mut vk, row) = find::<VirtualKey>(tx, GovTable::VirtualKeys, id_or_name, |k| &k.name)?
            .ok_or_else(|| Error::NotFound(format!("virtual key {id_or_name} not found")))?;
        apply(tx, &mut vk, input)?;
        unique_name(
            tx,
            GovTable::VirtualKeys,
            &vk.name,
            &vk.id,
            |k: &VirtualKey| &k.name,
        )?;
        vk.updated_at = now_ms() / 1000;
        tx.put(
            GovTable::VirtualKeys,
            &GovRow {
                config: encode(&vk)?,
                ..row
            },
        )?;
        Ok(vk)
    })
}

/// Deletes a key (by id or name); returns it.
pub fn delete_vk(store: &ConfigStore, id_or_name: &str) -> Result<VirtualKey> {
    store.gov_tx(|tx| {
        let (vk, row) = find::<VirtualKey>(tx, GovTable::VirtualKeys, id_or_name, |k| &k.name)?
            .ok_or_else(|| Error::NotFound(format!("virtual key {id_or_name} not found")))?;
        tx.delete(GovTable::VirtualKeys, &row.id)?;
        Ok(vk)
    })
}

/// One key (by id or name).
pub fn get_vk(store: &ConfigStore, id_or_name: &str) -> Result<VirtualKey> {
    store
        .gov_tx(|tx| find::<VirtualKey>(tx, GovTable::VirtualKeys, id_or_name, |k| &k.name))?
        .map(|(k, _)| k)
        .ok_or_else(|| Error::NotFound(format!("virtual key {id_or_name} not found")))
}

/// Applies an input to a key, resolving team and customer names to ids and validating.
fn apply(tx: &GovTx<'_>, vk: &mut VirtualKey, input: VkInput) -> Result<()> {
    if let Some(name) = input.name {
        vk.name = name.trim().to_owned();
    }
    if let Some(d) = input.description {
        vk.description = d;
    }
    if let Some(a) = input.is_active {
        vk.is_active = a;
    }
    if let Some(team) = input.team_id {
        vk.team_id = match team.filter(|t| !t.is_empty()) {
            Some(t) => Some(resolve::<Team>(
                tx,
                GovTable::Teams,
                &t,
                "team",
                |x| &x.name,
                |x| &x.id,
            )?),
            None => None,
        };
    }
    if let Some(customer) = input.customer_id {
        vk.customer_id = match customer.filter(|c| !c.is_empty()) {
            Some(c) => Some(resolve::<Customer>(
                tx,
                GovTable::Customers,
                &c,
                "customer",
                |x| &x.name,
                |x| &x.id,
            )?),
            None => None,
        };
    }
    if let Some(mut b) = input.budget {
        validate::keep_budget_id(&mut b, vk.budget.as_ref());
        vk.budget = b;
    }
    if let Some(mut r) = input.rate_limit {
        validate::keep_rate_id(&mut r, vk.rate_limit.as_ref());
        vk.rate_limit = r;
    }
    if let Some(mut pcs) = input.provider_configs {
        validate::keep_provider_ids(&mut pcs, &vk.provider_configs);
        vk.provider_configs = pcs;
    }
    if let Some(a) = input.allow_all_providers {
        vk.allow_all_providers = a;
    }
    if let Some(m) = input.mcp_configs {
        vk.mcp_configs = m;
    }
    validate::virtual_key(vk)
}

/// The id of a team or customer named by id or name.
pub fn resolve<T: serde::de::DeserializeOwned>(
    tx: &GovTx<'_>,
    table: GovTable,
    id_or_name: &str,
    what: &str,
    name_of: impl Fn(&T) -> &str,
    id_of: impl Fn(&T) -> &str,
) -> Result<String> {
    find::<T>(tx, table, id_or_name, name_of)?
        .map(|(v, _)| id_of(&v).to_owned())
        .ok_or_else(|| Error::BadRequest(format!("{what} {id_or_name} does not exist")))
}

/// Refuses a name another document of the table already has.
pub fn unique_name<T: serde::de::DeserializeOwned>(
    tx: &GovTx<'_>,
    table: GovTable,
    name: &str,
    id: &str,
    name_of: impl Fn(&T) -> &str,
) -> Result<()> {
    for row in tx.all(table)? {
        if row.id == id {
            continue;
        }
        if let Ok(v) = serde_json::from_str::<T>(&row.config) {
            if name_of(&v) == name {
                return Err(Error::Conflict(format!("the name {name} is already taken")));
            }
        }
    }
    Ok(())
}
