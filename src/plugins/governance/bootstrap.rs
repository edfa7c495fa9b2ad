//! config.json's `governance` section (and the top-level `auth_config`, the governance entry
//! of `plugins[]`, `framework.pricing`) imported into config.db by Bifrost's bootstrap rule:
//! an entry is written when it is new or was edited in the file since its last import, so
//! changes made through the API or the CLI otherwise win.
//!
//! Entities may name their budget and rate limit by `budget_id` / `rate_limit_id` (Bifrost's
//! file layout) or carry them inline; `current_usage` values seed the usage counters.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::admin_auth::hash_password;
use super::counters::to_nanos;
use super::groups::{self, CustomerInput, TeamInput};
use super::manage::{self, VkInput};
use super::types::{AuthConfig, PluginSettings, PricingSettings};
use crate::config::secret::{Resolved, SecretRef};
use crate::config::FileConfig;
use crate::error::{Error, Result};
use crate::store::governance_store::{CounterRow, GovTable};
use crate::store::ConfigStore;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct FileGovernance {
    budgets: Vec<Value>,
    rate_limits: Vec<Value>,
    customers: Vec<Value>,
    teams: Vec<Value>,
    virtual_keys: Vec<Value>,
    auth_config: Option<Value>,
}

/// Imports what config.json says about governance; returns warnings.
pub fn import(store: &ConfigStore, file: &FileConfig) -> Result<Vec<String>> {
    let mut warnings = Vec::new();
    let gov: FileGovernance = match &file.governance {
        Some(v) => serde_json::from_value(v.clone())
            .map_err(|e| Error::Config(format!("governance: {e}")))?,
        None => FileGovernance::default(),
    };
    let by_id = |list: &[Value]| -> HashMap<String, Value> {
        list.iter()
            .filter_map(|v| Some((v["id"].as_str()?.to_owned(), v.clone())))
            .collect()
    };
    let budgets = by_id(&gov.budgets);
    let rates = by_id(&gov.rate_limits);
    seed_counters(store, &gov)?;
    let order = [
        (GovTable::Customers, &gov.customers, "customers"),
        (GovTable::Teams, &gov.teams, "teams"),
        (GovTable::VirtualKeys, &gov.virtual_keys, "virtual_keys"),
    ];
    for (table, list, section) in order {
        for (i, raw) in list.iter().enumerate() {
            let entity = inline_refs(raw, &budgets, &rates);
            let Some(id) = entity["id"].as_str().map(str::to_owned) else {
                warnings.push(format!("governance.{section}[{i}] has no id; skipped"));
                continue;
            };
            let entry = format!("governance.{section}.{id}");
            if unchanged(store, &entry, &entity)? {
                continue;
            }
            if let Err(e) = import_one(store, table, &id, entity.clone()) {
                warnings.push(format!("governance.{section}[{i}] ({id}): {e}"));
                continue;
            }
            mark(store, &entry, &entity)?;
        }
    }
    let auth = gov.auth_config.or_else(|| file.auth_config.clone());
    if let Some(raw) = auth {
        if !unchanged(store, "governance.auth_config", &raw)? {
            match auth_config(&raw) {
                Ok(cfg) => {
                    let text = manage::encode(&cfg)?;
                    store.gov_tx(|tx| tx.set_setting("auth_config", &text))?;
                    mark(store, "governance.auth_config", &raw)?;
                }
                Err(e) => warnings.push(format!("auth_config: {e}")),
            }
        }
    }
    let plugin = file.plugins.as_ref().and_then(|p| {
        p.as_array()?
            .iter()
            .find(|e| e["name"] == "governance")
            .map(|e| e["config"].clone())
    });
    if let Some(raw) = plugin {
        let cfg: PluginSettings = serde_json::from_value(raw.clone()).unwrap_or_default();
        setting(store, "plugin", "governance.plugin", &raw, &cfg)?;
    }
    if let Some(raw) = file.framework.as_ref().map(|f| f["pricing"].clone()) {
        if !raw.is_null() {
            let cfg: PricingSettings = serde_json::from_value(raw.clone())
                .map_err(|e| Error::Config(format!("framework.pricing: {e}")))?;
            setting(store, "pricing", "framework.pricing", &raw, &cfg)?;
        }
    }
    Ok(warnings)
}

fn setting<T: serde::Serialize>(
    store: &ConfigStore,
    name: &str,
    entry: &str,
    raw: &Value,
    cfg: &T,
) -> Result<()> {
    if unchanged(store, entry, raw)? {
        return Ok(());
    }
    let text = manage::encode(cfg)?;
    store.gov_tx(|tx| tx.set_setting(name, &text))?;
    mark(store, entry, raw)
}

fn import_one(store: &ConfigStore, table: GovTable, id: &str, entity: Value) -> Result<()> {
    let exists = store.gov_tx(|tx| tx.get(table, id))?.is_some();
    let parse = |e: serde_json::Error| Error::Config(e.to_string());
    match table {
        GovTable::Customers => {
            let input: CustomerInput = serde_json::from_value(entity).map_err(parse)?;
            if exists {
                groups::update_customer(store, id, input)?;
            } else {
                groups::create_customer(store, input, Some(id.to_owned()))?;
            }
        }
        GovTable::Teams => {
            let input: TeamInput = serde_json::from_value(entity).map_err(parse)?;
            if exists {
                groups::update_team(store, id, input)?;
            } else {
                groups::create_team(store, input, Some(id.to_owned()))?;
            }
        }
        GovTable::VirtualKeys => {
            let value = match entity["value"].as_str().map(SecretRef::new) {
                Some(s) => match s.resolve() {
                    Resolved::Value(v) => v.expose().to_owned(),
                    Resolved::Empty => return Err(Error::Config("value is empty".into())),
                    Resolved::MissingEnv(var) => {
                        return Err(Error::Config(format!(
                            "environment variable {var} is not set"
                        )))
                    }
                },
                None => return Err(Error::Config("value is required".into())),
            };
            let input: VkInput = serde_json::from_value(entity).map_err(parse)?;
            if exists {
                manage::delete_vk(store, id)?;
            }
            manage::insert_vk(store, input, &value, Some(id.to_owned()))?;
        }
    }
    Ok(())
}

/// The entity with `budget_id` / `rate_limit_id` (its own and its provider configs')
/// replaced by the referenced objects, and Bifrost's legacy `allowed_keys` read as `key_ids`.
fn inline_refs(
    raw: &Value,
    budgets: &HashMap<String, Value>,
    rates: &HashMap<String, Value>,
) -> Value {
    let mut v = raw.clone();
    let fix = |obj: &mut Value| {
        let Some(map) = obj.as_object_mut() else {
            return;
        };
        if let Some(b) = map
            .remove("budget_id")
            .and_then(|id| budgets.get(id.as_str()?).cloned())
        {
            map.insert("budget".into(), b);
        }
        if let Some(r) = map
            .remove("rate_limit_id")
            .and_then(|id| rates.get(id.as_str()?).cloned())
        {
            map.insert("rate_limit".into(), r);
        }
        if let Some(k) = map.remove("allowed_keys") {
            map.entry("key_ids").or_insert(k);
        }
    };
    fix(&mut v);
    if let Some(pcs) = v.get_mut("provider_configs").and_then(Value::as_array_mut) {
        for pc in pcs {
            fix(pc);
        }
    }
    v
}

/// Usage counters from `current_usage` fields, for counters that have no row yet.
fn seed_counters(store: &ConfigStore, gov: &FileGovernance) -> Result<()> {
    let now = super::now_ms();
    let at = |v: &Value| {
        v.as_str()
            .and_then(crate::store::timefmt::parse_rfc3339)
            .unwrap_or(now)
    };
    store.gov_tx(|tx| {
        for b in &gov.budgets {
            let (Some(id), Some(usage)) = (b["id"].as_str(), b["current_usage"].as_f64()) else {
                continue;
            };
            let row = CounterRow {
                usage: to_nanos(usage),
                last_reset: at(&b["last_reset"]),
                ..CounterRow::default()
            };
            tx.seed_counter(id, &row)?;
        }
        for r in &gov.rate_limits {
            let Some(id) = r["id"].as_str() else { continue };
            let requests = r["request_current_usage"].as_u64().unwrap_or(0);
            let tokens = r["token_current_usage"].as_u64().unwrap_or(0);
            if requests == 0 && tokens == 0 {
                continue;
            }
            let row = CounterRow {
                usage: requests,
                tokens,
                last_reset: at(&r["request_last_reset"]),
                token_last_reset: at(&r["token_last_reset"]),
            };
            tx.seed_counter(id, &row)?;
        }
        Ok(())
    })
}

/// `auth_config` from the file: the password hashed (unless it already is an argon2 hash).
fn auth_config(raw: &Value) -> Result<AuthConfig> {
    let mut cfg: AuthConfig = serde_json::from_value(raw.clone())
        .map_err(|e| Error::Config(format!("auth_config: {e}")))?;
    let password = match SecretRef::new(cfg.admin_password.clone()).resolve() {
        Resolved::Value(v) => v.expose().to_owned(),
        Resolved::Empty => String::new(),
        Resolved::MissingEnv(var) => {
            return Err(Error::Config(format!(
                "admin_password: environment variable {var} is not set"
            )))
        }
    };
    if cfg.is_enabled && (cfg.admin_username.is_empty() || password.is_empty()) {
        return Err(Error::Config(
            "is_enabled needs admin_username and admin_password".into(),
        ));
    }
    if !password.starts_with("$argon2") && !password.is_empty() {
        cfg.admin_password = hash_password(&password)?;
    }
    Ok(cfg)
}

fn hash_of(raw: &Value) -> String {
    let text = json!(raw).to_string();
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn unchanged(store: &ConfigStore, entry: &str, raw: &Value) -> Result<bool> {
    let hash = hash_of(raw);
    Ok(store.gov_tx(|tx| tx.import_hash(entry))?.as_deref() == Some(hash.as_str()))
}

fn mark(store: &ConfigStore, entry: &str, raw: &Value) -> Result<()> {
    let hash = hash_of(raw);
    store.gov_tx(|tx| tx.set_import_hash(entry, &hash))
}
