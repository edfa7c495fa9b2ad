//! Virtual-key routing (Bifrost §5.4): a bare model goes to one of the key's eligible
//! provider configs, chosen at random by weight, with the other eligible ones as automatic
//! fallbacks (by weight, descending) when the request has none; `provider/model` skips the
//! choice but must still be allowed. Client fallbacks the key does not allow are dropped.

use super::snapshot::{EngineView, ProviderRt, VkRt};
use crate::error::{Error, Result};
use crate::providers::vendors;

/// Where a request goes.
#[derive(Debug, Clone, PartialEq)]
pub struct Route {
    /// `provider/model` (or the model unchanged when the key does not route it).
    pub model: String,
    /// The fallbacks to try.
    pub fallbacks: Vec<String>,
    /// Index of the chosen provider config in the key's list.
    pub provider: Option<usize>,
}

/// Splits `provider/model` when the prefix is a provider: configured, built in, or one of
/// the key's (so `meta-llama/Llama-3` stays a bare model name).
pub fn split<'m>(view: &EngineView, vk: &VkRt, model: &'m str) -> Option<(&'m str, &'m str)> {
    let (prefix, rest) = model.split_once('/')?;
    let known = view.providers.contains(prefix)
        || vendors::builtin(prefix).is_some()
        || vk.provider(prefix).is_some();
    (known && !rest.is_empty()).then_some((prefix, rest))
}

/// Routes a request. `available` says whether a provider config can take the request now
/// (its budget and rate limit), with the error to give when none can; `pick` is a uniform
/// random number in `[0, 1)` for the weighted choice.
pub fn route(
    view: &EngineView,
    vk: &VkRt,
    model: &str,
    fallbacks: &[String],
    available: impl Fn(&ProviderRt, &str) -> Result<()>,
    pick: f64,
) -> Result<Route> {
    let allowed_fallbacks = || -> Vec<String> {
        fallbacks
            .iter()
            .filter(|f| {
                split(view, vk, f).is_some_and(|(p, m)| match vk.provider(p) {
                    Some(pc) => pc.allows(m),
                    None => vk.cfg.allow_all_providers,
                })
            })
            .cloned()
            .collect()
    };
    if let Some((provider, bare)) = split(view, vk, model) {
        let Some(index) = vk.providers.iter().position(|p| p.cfg.provider == provider) else {
            if vk.cfg.allow_all_providers {
                return Ok(Route {
                    model: model.to_owned(),
                    fallbacks: allowed_fallbacks(),
                    provider: None,
                });
            }
            return Err(Error::ProviderBlocked {
                provider: provider.to_owned(),
            });
        };
        let pc = &vk.providers[index];
        if !pc.allows(bare) {
            return Err(Error::ModelBlocked {
                model: model.to_owned(),
            });
        }
        available(pc, bare)?;
        return Ok(Route {
            model: model.to_owned(),
            fallbacks: allowed_fallbacks(),
            provider: Some(index),
        });
    }
    let eligible: Vec<usize> = (0..vk.providers.len())
        .filter(|&i| vk.providers[i].allows(model))
        .collect();
    if eligible.is_empty() {
        if vk.cfg.allow_all_providers {
            // No config routes it: the engine answers as for any bare model.
            return Ok(Route {
                model: model.to_owned(),
                fallbacks: allowed_fallbacks(),
                provider: None,
            });
        }
        return Err(if vk.providers.is_empty() {
            Error::ProviderBlocked {
                provider: "any".to_owned(),
            }
        } else {
            Error::ModelBlocked {
                model: model.to_owned(),
            }
        });
    }
    let mut first_error = None;
    let mut ready = Vec::new();
    for i in eligible {
        match available(&vk.providers[i], model) {
            Ok(()) => ready.push(i),
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    if ready.is_empty() {
        return Err(first_error.unwrap_or(Error::ModelBlocked {
            model: model.to_owned(),
        }));
    }
    let chosen = choose(vk, &ready, pick);
    let target = |i: usize| format!("{}/{model}", vk.providers[i].cfg.provider);
    let fallbacks = if fallbacks.is_empty() {
        let mut rest: Vec<usize> = ready.into_iter().filter(|&i| i != chosen).collect();
        // Descending weight; `null` weights last; ties keep the configured order.
        rest.sort_by(|&a, &b| {
            let w = |i: usize| vk.providers[i].cfg.weight.unwrap_or(f64::NEG_INFINITY);
            w(b).total_cmp(&w(a))
        });
        rest.into_iter().map(target).collect()
    } else {
        allowed_fallbacks()
    };
    Ok(Route {
        model: target(chosen),
        fallbacks,
        provider: Some(chosen),
    })
}

/// Weighted choice among configs with a positive weight; the first ready one when none has.
fn choose(vk: &VkRt, ready: &[usize], pick: f64) -> usize {
    let weight = |i: usize| {
        vk.providers[i]
            .cfg
            .weight
            .filter(|w| *w > 0.0 && w.is_finite())
    };
    let total: f64 = ready.iter().filter_map(|&i| weight(i)).sum();
    if total <= 0.0 {
        return ready[0];
    }
    let mut point = pick.clamp(0.0, 1.0) * total;
    let mut last = ready[0];
    for &i in ready {
        if let Some(w) = weight(i) {
            last = i;
            if point < w {
                return i;
            }
            point -= w;
        }
    }
    last
}
