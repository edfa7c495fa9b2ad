//! Governance entities as the API, the dashboard and the CLI show them: budgets and rate limits
//! with their current usage, and the quota view (what is left per key). Never a key's value.

use std::collections::HashMap;

use serde_json::{json, Value};

use super::counters::to_usd;
use super::duration::ResetDuration;
use super::snapshot::GovSnapshot;
use super::types::{Budget, Customer, RateLimit, Team, VirtualKey};
use crate::store::governance_store::CounterRow;
use crate::store::timefmt::format_ms;

/// Current usage by budget or rate-limit id: live counters (server) or stored rows (CLI).
#[derive(Debug, Default)]
pub struct Usage(HashMap<String, CounterRow>);

impl Usage {
    /// The live counters of a snapshot.
    pub fn live(snap: &GovSnapshot) -> Self {
        let mut m = HashMap::new();
        for b in &snap.budgets {
            m.insert(
                b.cfg.id.clone(),
                CounterRow {
                    usage: b.counter.spent(),
                    last_reset: b.counter.last_reset(),
                    ..CounterRow::default()
                },
            );
        }
        for r in &snap.rates {
            m.insert(
                r.cfg.id.clone(),
                CounterRow {
                    usage: r.counter.requests(),
                    tokens: r.counter.tokens(),
                    last_reset: r.counter.request_reset(),
                    token_last_reset: r.counter.token_reset(),
                },
            );
        }
        Self(m)
    }

    /// Stored counters.
    pub fn stored(rows: Vec<(String, CounterRow)>) -> Self {
        Self(rows.into_iter().collect())
    }

    fn get(&self, id: &str) -> CounterRow {
        self.0.get(id).copied().unwrap_or_default()
    }

    /// Spend of a budget in USD.
    pub fn spent(&self, b: &Budget) -> f64 {
        to_usd(self.get(&b.id).usage)
    }
}

fn time(ms: i64) -> Value {
    if ms > 0 {
        Value::String(format_ms(ms))
    } else {
        Value::Null
    }
}

/// A budget with `current_usage` (USD) and `last_reset`.
pub fn budget(b: &Budget, usage: &Usage) -> Value {
    let row = usage.get(&b.id);
    let resets_at = ResetDuration::parse(&b.reset_duration)
        .filter(|_| row.last_reset > 0)
        .map(|d| d.window_end(row.last_reset, b.calendar_aligned));
    json!({
        "id": b.id,
        "max_limit": b.max_limit,
        "reset_duration": b.reset_duration,
        "calendar_aligned": b.calendar_aligned,
        "current_usage": to_usd(row.usage),
        "last_reset": time(row.last_reset),
        "resets_at": resets_at.map_or(Value::Null, time),
    })
}

/// A rate limit with its current request and token counts.
pub fn rate_limit(r: &RateLimit, usage: &Usage) -> Value {
    let row = usage.get(&r.id);
    json!({
        "id": r.id,
        "token_max_limit": r.token_max_limit,
        "token_reset_duration": r.token_reset_duration,
        "token_current_usage": row.tokens,
        "token_last_reset": time(row.token_last_reset),
        "request_max_limit": r.request_max_limit,
        "request_reset_duration": r.request_reset_duration,
        "request_current_usage": row.usage,
        "request_last_reset": time(row.last_reset),
    })
}

/// A key (its value redacted to a prefix).
pub fn virtual_key(vk: &VirtualKey, usage: &Usage) -> Value {
    let mut v = serde_json::to_value(vk).unwrap_or(Value::Null);
    if let Some(obj) = v.as_object_mut() {
        if let Some(b) = &vk.budget {
            obj.insert("budget".into(), budget(b, usage));
        }
        if let Some(r) = &vk.rate_limit {
            obj.insert("rate_limit".into(), rate_limit(r, usage));
        }
        let pcs: Vec<Value> = vk
            .provider_configs
            .iter()
            .map(|pc| {
                let mut p = serde_json::to_value(pc).unwrap_or(Value::Null);
                if let Some(o) = p.as_object_mut() {
                    if let Some(b) = &pc.budget {
                        o.insert("budget".into(), budget(b, usage));
                    }
                    if let Some(r) = &pc.rate_limit {
                        o.insert("rate_limit".into(), rate_limit(r, usage));
                    }
                }
                p
            })
            .collect();
        obj.insert("provider_configs".into(), Value::Array(pcs));
    }
    v
}

/// A team with its budget's usage.
pub fn team(t: &Team, usage: &Usage) -> Value {
    let mut v = serde_json::to_value(t).unwrap_or(Value::Null);
    if let (Some(obj), Some(b)) = (v.as_object_mut(), &t.budget) {
        obj.insert("budget".into(), budget(b, usage));
    }
    v
}

/// A customer with its budget's usage.
pub fn customer(c: &Customer, usage: &Usage) -> Value {
    let mut v = serde_json::to_value(c).unwrap_or(Value::Null);
    if let (Some(obj), Some(b)) = (v.as_object_mut(), &c.budget) {
        obj.insert("budget".into(), budget(b, usage));
    }
    v
}

/// What a key may still spend and send: every budget and rate limit that applies to it, with
/// what is left, and `remaining_budget`, the least left across the key, team and customer.
pub fn quota(
    vk: &VirtualKey,
    team: Option<&Team>,
    customer: Option<&Customer>,
    usage: &Usage,
) -> Value {
    let mut budgets = Vec::new();
    let mut remaining: Option<f64> = None;
    let mut add = |level: String, b: &Budget, counts: bool| {
        let mut v = budget(b, usage);
        let left = (b.max_limit - usage.spent(b)).max(0.0);
        if counts {
            remaining = Some(remaining.map_or(left, |r: f64| r.min(left)));
        }
        if let Some(o) = v.as_object_mut() {
            o.insert("level".into(), Value::String(level));
            o.insert("remaining".into(), json!(left));
        }
        budgets.push(v);
    };
    if let Some(b) = &vk.budget {
        add("virtual_key".into(), b, true);
    }
    if let Some(b) = team.and_then(|t| t.budget.as_ref()) {
        add("team".into(), b, true);
    }
    if let Some(b) = customer.and_then(|c| c.budget.as_ref()) {
        add("customer".into(), b, true);
    }
    for pc in &vk.provider_configs {
        if let Some(b) = &pc.budget {
            add(format!("provider:{}", pc.provider), b, false);
        }
    }
    let mut rates = Vec::new();
    let mut add_rate = |level: String, r: &RateLimit| {
        let mut v = rate_limit(r, usage);
        let row = usage.get(&r.id);
        if let Some(o) = v.as_object_mut() {
            o.insert("level".into(), Value::String(level));
            o.insert(
                "request_remaining".into(),
                json!(r.request_max_limit.map(|m| m.saturating_sub(row.usage))),
            );
            o.insert(
                "token_remaining".into(),
                json!(r.token_max_limit.map(|m| m.saturating_sub(row.tokens))),
            );
        }
        rates.push(v);
    };
    if let Some(r) = &vk.rate_limit {
        add_rate("virtual_key".into(), r);
    }
    for pc in &vk.provider_configs {
        if let Some(r) = &pc.rate_limit {
            add_rate(format!("provider:{}", pc.provider), r);
        }
    }
    json!({
        "virtual_key_id": vk.id,
        "name": vk.name,
        "is_active": vk.is_active,
        "remaining_budget": remaining,
        "budgets": budgets,
        "rate_limits": rates,
    })
}
