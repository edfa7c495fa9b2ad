//! The request path: admitting a request (virtual key, rate limits, routing, budget
//! reservation) and settling it when it ends (cost, budgets, tokens). Atomics and snapshot
//! loads only: nothing here locks or waits.

use std::sync::Arc;

use super::counters::{to_nanos, to_usd, BudgetCounter};
use super::pricing::{self, Catalog, Price};
use super::routing;
use super::snapshot::{BudgetRt, GovSnapshot, ProviderRt, RateRt, VkRt};
use super::{now_ms, Governance, PricingState};
use crate::engine::tracking::{RequestRecord, Settle};
use crate::engine::{Admit, KeyFilter};
use crate::error::{Error, RateLimitKind, Result};
use crate::schemas::RequestType;

/// The price of `model` at `provider` after the provider's overrides.
pub fn price_of(
    snap: &GovSnapshot,
    catalog: &Catalog,
    provider: &str,
    model: &str,
    request_type: RequestType,
) -> Option<Price> {
    let base = catalog.lookup(provider, model);
    match snap.engine.overrides.get(provider) {
        Some(o) => o.apply(model, request_type, base),
        None => base,
    }
}

/// Seconds until `end` (at least 1), for `Retry-After`.
fn retry_after(end: i64, now: i64) -> u64 {
    u64::try_from((end - now + 999) / 1000).unwrap_or(0).max(1)
}

/// Names what refused a request; only called on refusal, so the hot path never formats.
type Owner<'a> = &'a dyn Fn() -> String;

/// Refuses when a rate limit's tokens are used up (tokens are counted after responses).
fn check_tokens(rate: &RateRt, now: i64, owner: Owner<'_>) -> Result<()> {
    if let Some((max, window)) = rate.tokens {
        if rate.counter.tokens() >= max {
            return Err(Error::RateLimited {
                kind: RateLimitKind::Tokens,
                retry_after_secs: retry_after(
                    window.window_end(rate.counter.token_reset(), false),
                    now,
                ),
                message: format!(
                    "token limit of {} reached: {max} tokens per window",
                    owner()
                ),
            });
        }
    }
    Ok(())
}

/// Counts a request against a rate limit, or refuses.
fn count_request(rate: &RateRt, now: i64, owner: Owner<'_>) -> Result<bool> {
    let Some((max, window)) = rate.requests else {
        return Ok(false);
    };
    if rate.counter.try_request(max) {
        return Ok(true);
    }
    Err(Error::RateLimited {
        kind: RateLimitKind::Requests,
        retry_after_secs: retry_after(window.window_end(rate.counter.request_reset(), false), now),
        message: format!(
            "request limit of {} reached: {max} requests per window",
            owner()
        ),
    })
}

fn budget_error(level: &str, budget: &BudgetRt, left: u64, wanted: u64) -> Error {
    Error::BudgetExceeded(format!(
        "{level} budget of ${} is used up (${:.6} left, this request may cost up to ${:.6})",
        budget.cfg.max_limit,
        to_usd(left),
        to_usd(wanted)
    ))
}

/// Reservations taken so far, released if a later check refuses the request.
#[derive(Default)]
struct Held {
    budgets: Vec<(Arc<BudgetCounter>, u64)>,
    requests: Vec<Arc<super::counters::RateCounter>>,
}

impl Held {
    fn rollback(self) {
        for (c, amount) in self.budgets {
            c.release(amount);
        }
        for r in self.requests {
            r.undo_request();
        }
    }
}

impl Governance {
    /// Admits or refuses a request; see the module doc.
    pub(super) fn admit_request(&self, req: &mut Admit<'_>) -> Result<Option<Box<dyn Settle>>> {
        let snap = self.snapshot.load_full();
        let catalog = self.pricing.catalog.load_full();
        let vk = match req.virtual_key {
            None if snap.enforce => return Err(Error::VirtualKeyRequired),
            None => None,
            Some(value) => Some(
                snap.key_by_value(value)
                    .cloned()
                    .ok_or(Error::VirtualKeyNotFound)?,
            ),
        };
        let Some(vk) = vk else {
            return Ok(Some(Box::new(Settler {
                snap,
                catalog,
                pricing: Arc::clone(&self.pricing),
                vk: None,
                key_budgets: Vec::new(),
                provider_budget: None,
            })));
        };
        if !vk.cfg.is_active {
            return Err(Error::VirtualKeyBlocked(format!(
                "virtual key {} is inactive",
                vk.cfg.name
            )));
        }
        req.virtual_key_id = Some(vk.cfg.id.clone());
        req.virtual_key_name = Some(vk.cfg.name.clone());
        let now = now_ms();
        let mut held = Held::default();
        let result = self.admit_key(&snap, &catalog, &vk, req, now, &mut held);
        match result {
            Ok(provider_budget) => {
                if vk.restricts_keys() {
                    req.key_filter = Some(Arc::clone(&vk) as Arc<dyn KeyFilter>);
                }
                let key_budgets = held
                    .budgets
                    .split_off(usize::from(provider_budget.is_some()));
                Ok(Some(Box::new(Settler {
                    snap: Arc::clone(&snap),
                    catalog,
                    pricing: Arc::clone(&self.pricing),
                    vk: Some(vk),
                    key_budgets,
                    provider_budget: provider_budget
                        .zip(held.budgets.pop())
                        .map(|(index, (_, amount))| (index, amount)),
                })))
            }
            Err(e) => {
                held.rollback();
                Err(e)
            }
        }
    }

    /// The checks of a known, active key. On success returns the index of the provider
    /// config whose budget holds a reservation (it is then `held.budgets[0]`).
    fn admit_key(
        &self,
        snap: &GovSnapshot,
        catalog: &Catalog,
        vk: &VkRt,
        req: &mut Admit<'_>,
        now: i64,
        held: &mut Held,
    ) -> Result<Option<usize>> {
        let owner = || format!("virtual key {}", vk.cfg.name);
        for b in vk.key_budgets() {
            b.reset_if_due(now);
        }
        if let Some(rate) = &vk.rate {
            rate.reset_if_due(now);
            check_tokens(rate, now, &owner)?;
            if count_request(rate, now, &owner)? {
                held.requests.push(Arc::clone(&rate.counter));
            }
        }
        let (input, output, rt) = (
            req.estimated_input_tokens,
            req.max_output_tokens,
            req.request_type,
        );
        let estimate = |provider: &str, model: &str| {
            price_of(snap, catalog, provider, model, rt)
                .map_or(0, |p| to_nanos(pricing::estimate(&p, input, output)))
        };
        let available = |pc: &ProviderRt, model: &str| -> Result<()> {
            let what = || {
                format!(
                    "provider {} of virtual key {}",
                    pc.cfg.provider, vk.cfg.name
                )
            };
            if let Some(b) = &pc.budget {
                b.reset_if_due(now);
                let want = estimate(&pc.cfg.provider, model);
                if !b.counter.fits(want, b.limit) {
                    let left = b.limit.saturating_sub(b.counter.used());
                    return Err(budget_error(&what(), b, left, want));
                }
            }
            if let Some(rate) = &pc.rate {
                rate.reset_if_due(now);
                check_tokens(rate, now, &what)?;
                if let Some((max, w)) = rate.requests.filter(|_| rate.exhausted()) {
                    return Err(Error::RateLimited {
                        kind: RateLimitKind::Requests,
                        retry_after_secs: retry_after(
                            w.window_end(rate.counter.request_reset(), false),
                            now,
                        ),
                        message: format!(
                            "request limit of {} reached: {max} requests per window",
                            what()
                        ),
                    });
                }
            }
            Ok(())
        };
        let route = routing::route(
            &snap.engine,
            vk,
            &req.model,
            &req.fallbacks,
            available,
            rand::random::<f64>(),
        )?;
        let amount = match routing::split(&snap.engine, vk, &route.model) {
            Some((p, m)) => estimate(p, m),
            None => 0,
        };
        let pc = route.provider.map(|i| (i, &vk.providers[i]));
        let mut provider_budget = None;
        if let Some((index, pc)) = pc {
            let what = || {
                format!(
                    "provider {} of virtual key {}",
                    pc.cfg.provider, vk.cfg.name
                )
            };
            if let Some(b) = &pc.budget {
                b.counter
                    .reserve(amount, b.limit)
                    .map_err(|left| budget_error(&what(), b, left, amount))?;
                held.budgets.push((Arc::clone(&b.counter), amount));
                provider_budget = Some(index);
            }
            if let Some(rate) = &pc.rate {
                if count_request(rate, now, &what)? {
                    held.requests.push(Arc::clone(&rate.counter));
                }
            }
        }
        let levels = [
            ("virtual key", vk.budget.as_ref()),
            ("team", vk.team.as_ref().and_then(|t| t.budget.as_ref())),
            (
                "customer",
                vk.customer.as_ref().and_then(|c| c.budget.as_ref()),
            ),
        ];
        for (level, budget) in levels {
            let Some(b) = budget else { continue };
            b.counter
                .reserve(amount, b.limit)
                .map_err(|left| budget_error(level, b, left, amount))?;
            held.budgets.push((Arc::clone(&b.counter), amount));
        }
        req.model = route.model;
        req.fallbacks = route.fallbacks;
        Ok(provider_budget)
    }
}

/// Settles one request when it ends.
struct Settler {
    snap: Arc<GovSnapshot>,
    catalog: Arc<Catalog>,
    pricing: Arc<PricingState>,
    vk: Option<Arc<VkRt>>,
    /// Reservations on the key's, team's and customer's budgets.
    key_budgets: Vec<(Arc<BudgetCounter>, u64)>,
    /// The provider config whose budget holds a reservation, and its amount.
    provider_budget: Option<(usize, u64)>,
}

impl Settle for Settler {
    fn settle(self: Box<Self>, record: &mut RequestRecord) {
        let cost = record.usage.as_ref().and_then(|usage| {
            if record.provider.is_empty() {
                return None;
            }
            let price = price_of(
                &self.snap,
                &self.catalog,
                &record.provider,
                &record.model,
                record.request_type,
            );
            match price {
                Some(p) => Some(pricing::cost(&p, usage)),
                None => {
                    self.pricing.missing.report(&record.provider, &record.model);
                    None
                }
            }
        });
        record.cost = cost;
        let Some(vk) = &self.vk else { return };
        let actual = cost.map_or(0, to_nanos);
        for (counter, reserved) in &self.key_budgets {
            counter.settle(*reserved, actual);
        }
        let served = vk
            .providers
            .iter()
            .position(|p| p.cfg.provider == record.provider);
        if let Some((index, reserved)) = self.provider_budget {
            if let Some(b) = &vk.providers[index].budget {
                let charged = if served == Some(index) { actual } else { 0 };
                b.counter.settle(reserved, charged);
            }
        }
        if let Some(i) = served.filter(|i| Some(*i) != self.provider_budget.map(|p| p.0)) {
            if let Some(b) = &vk.providers[i].budget {
                b.counter.settle(0, actual);
            }
        }
        let tokens = record.usage.as_ref().map_or(0, |u| {
            if u.total_tokens > 0 {
                u.total_tokens
            } else {
                u.prompt_tokens + u.completion_tokens
            }
        });
        if let Some(rate) = &vk.rate {
            rate.counter.add_tokens(tokens);
        }
        if let Some(rate) = served.and_then(|i| vk.providers[i].rate.as_ref()) {
            rate.counter.add_tokens(tokens);
        }
    }
}
