//! Checks every governance write must pass (API, CLI and config.json alike), and the ids
//! budgets and rate limits keep across edits so their usage counters stay attached.

use super::duration::ResetDuration;
use super::types::{Budget, ProviderConfig, RateLimit, VirtualKey};
use crate::error::{Error, Result};

/// A new random id.
pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Problems with a budget, prefixed with `at`.
pub fn budget(at: &str, b: &Budget, problems: &mut Vec<String>) {
    if !(b.max_limit.is_finite() && b.max_limit > 0.0) {
        problems.push(format!("{at}.max_limit must be a positive number of USD"));
    }
    match ResetDuration::parse(&b.reset_duration) {
        None => problems.push(format!(
            "{at}.reset_duration `{}` is not a duration (30s, 5m, 1h, 1d, 1w, 1M, 1Y)",
            b.reset_duration
        )),
        Some(d) if b.calendar_aligned && !d.can_align() => problems.push(format!(
            "{at}.calendar_aligned needs a reset_duration in days, weeks, months or years"
        )),
        Some(_) => {}
    }
}

/// Problems with a rate limit; fills in the default windows (one minute).
pub fn rate_limit(at: &str, r: &mut RateLimit, problems: &mut Vec<String>) {
    let pairs = [
        (
            "request",
            r.request_max_limit,
            &mut r.request_reset_duration,
        ),
        ("token", r.token_max_limit, &mut r.token_reset_duration),
    ];
    for (what, max, window) in pairs {
        match max {
            Some(0) => problems.push(format!("{at}.{what}_max_limit must be at least 1")),
            Some(_) => {
                let text = window.get_or_insert_with(|| "1m".to_owned());
                if ResetDuration::parse(text).is_none() {
                    problems.push(format!(
                        "{at}.{what}_reset_duration `{text}` is not a duration"
                    ));
                }
            }
            None => *window = None,
        }
    }
    if r.request_max_limit.is_none() && r.token_max_limit.is_none() {
        problems.push(format!(
            "{at} sets neither request_max_limit nor token_max_limit"
        ));
    }
}

/// An allow list: `["*"]`, or names without duplicates and without `*`.
pub fn allow_list(at: &str, list: &[String], problems: &mut Vec<String>) {
    if list.iter().any(|m| m == "*") && list.len() > 1 {
        problems.push(format!("{at}: `*` cannot be mixed with names"));
    }
    let mut seen = std::collections::HashSet::new();
    for m in list {
        if m.trim().is_empty() {
            problems.push(format!("{at}: empty entry"));
        } else if !seen.insert(m) {
            problems.push(format!("{at}: `{m}` is listed twice"));
        }
    }
}

/// Checks a key's own fields (references to teams and customers are checked by the caller)
/// and gives ids to its new budgets, rate limits and provider configs.
pub fn virtual_key(vk: &mut VirtualKey) -> Result<()> {
    let mut problems = Vec::new();
    if vk.name.trim().is_empty() {
        problems.push("name is required".to_owned());
    }
    if vk.team_id.is_some() && vk.customer_id.is_some() {
        problems.push("a virtual key belongs to a team or to a customer, not both".to_owned());
    }
    if let Some(b) = &mut vk.budget {
        ensure_id(&mut b.id);
        budget("budget", b, &mut problems);
    }
    if let Some(r) = &mut vk.rate_limit {
        ensure_id(&mut r.id);
        rate_limit("rate_limit", r, &mut problems);
    }
    let mut providers = std::collections::HashSet::new();
    for (i, pc) in vk.provider_configs.iter_mut().enumerate() {
        provider_config(&format!("provider_configs[{i}]"), pc, &mut problems);
        if !providers.insert(pc.provider.clone()) {
            problems.push(format!(
                "provider_configs[{i}]: provider {} is listed twice",
                pc.provider
            ));
        }
    }
    fail(problems)
}

fn provider_config(at: &str, pc: &mut ProviderConfig, problems: &mut Vec<String>) {
    ensure_id(&mut pc.id);
    if pc.provider.trim().is_empty() {
        problems.push(format!("{at}.provider is required"));
    }
    if let Some(w) = pc.weight {
        if !(w.is_finite() && w >= 0.0) {
            problems.push(format!("{at}.weight must be a number >= 0 or null"));
        }
    }
    allow_list(
        &format!("{at}.allowed_models"),
        &pc.allowed_models,
        problems,
    );
    allow_list(&format!("{at}.key_ids"), &pc.key_ids, problems);
    if let Some(b) = &mut pc.budget {
        ensure_id(&mut b.id);
        budget(&format!("{at}.budget"), b, problems);
    }
    if let Some(r) = &mut pc.rate_limit {
        ensure_id(&mut r.id);
        rate_limit(&format!("{at}.rate_limit"), r, problems);
    }
}

/// Checks a team's or customer's name and budget.
pub fn group(name: &str, budget_cfg: Option<&mut Budget>) -> Result<()> {
    let mut problems = Vec::new();
    if name.trim().is_empty() {
        problems.push("name is required".to_owned());
    }
    if let Some(b) = budget_cfg {
        ensure_id(&mut b.id);
        budget("budget", b, &mut problems);
    }
    fail(problems)
}

/// Keeps `old`'s budget id when `new` comes without one (an edit of the same budget).
pub fn keep_budget_id(new: &mut Option<Budget>, old: Option<&Budget>) {
    if let (Some(n), Some(o)) = (new.as_mut(), old) {
        if n.id.is_empty() {
            n.id.clone_from(&o.id);
        }
    }
}

/// Keeps `old`'s rate limit id when `new` comes without one.
pub fn keep_rate_id(new: &mut Option<RateLimit>, old: Option<&RateLimit>) {
    if let (Some(n), Some(o)) = (new.as_mut(), old) {
        if n.id.is_empty() {
            n.id.clone_from(&o.id);
        }
    }
}

/// Keeps the ids of provider configs (and their budgets and limits) for the same provider.
pub fn keep_provider_ids(new: &mut [ProviderConfig], old: &[ProviderConfig]) {
    for pc in new {
        if let Some(o) = old.iter().find(|o| o.provider == pc.provider) {
            if pc.id.is_empty() {
                pc.id.clone_from(&o.id);
            }
            keep_budget_id(&mut pc.budget, o.budget.as_ref());
            keep_rate_id(&mut pc.rate_limit, o.rate_limit.as_ref());
        }
    }
}

fn ensure_id(id: &mut String) {
    if id.trim().is_empty() {
        *id = new_id();
    }
}

fn fail(problems: Vec<String>) -> Result<()> {
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Error::BadRequest(problems.join("; ")))
    }
}
