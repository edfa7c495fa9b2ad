//! The immutable governance snapshot requests read (swapped whole on change, like the
//! engine's): keys by value hash, their teams and customers, budgets and rate limits with
//! their live counters, and what the engine's config says that governance needs.
//!
//! Counters belong to budget and rate-limit ids, not to snapshots: a rebuild hands the same
//! counter to the new snapshot, so usage is never lost by an edit or a reload.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use sha2::{Digest, Sha256};

use super::counters::{to_nanos, BudgetCounter, RateCounter};
use super::duration::ResetDuration;
use super::overrides::Overrides;
use super::types::{AuthConfig, Budget, Customer, ProviderConfig, RateLimit, Team, VirtualKey};
use crate::engine::KeyFilter;
use crate::store::governance_store::CounterRow;

/// A budget with its counter.
#[derive(Debug, Clone)]
pub struct BudgetRt {
    /// The configuration.
    pub cfg: Budget,
    /// The limit in nano-USD.
    pub limit: u64,
    /// The window.
    pub window: ResetDuration,
    /// Live usage.
    pub counter: Arc<BudgetCounter>,
}

impl BudgetRt {
    /// When the current window ends (unix ms).
    pub fn window_end(&self) -> i64 {
        self.window
            .window_end(self.counter.last_reset(), self.cfg.calendar_aligned)
    }

    /// Starts a new window if the current one is over.
    pub fn reset_if_due(&self, now: i64) -> bool {
        let aligned = self.cfg.calendar_aligned;
        let window = self.window;
        self.counter.reset_if_due(
            now,
            |start| window.window_end(start, aligned),
            window.window_start(now, aligned),
        )
    }
}

/// A rate limit with its counters.
#[derive(Debug, Clone)]
pub struct RateRt {
    /// The configuration.
    pub cfg: RateLimit,
    /// Request limit and window.
    pub requests: Option<(u64, ResetDuration)>,
    /// Token limit and window.
    pub tokens: Option<(u64, ResetDuration)>,
    /// Live usage.
    pub counter: Arc<RateCounter>,
}

impl RateRt {
    /// Starts new windows where the current ones are over.
    pub fn reset_if_due(&self, now: i64) -> bool {
        let mut any = false;
        if let Some((_, w)) = self.requests {
            any |= self
                .counter
                .reset_requests_if_due(now, |s| w.window_end(s, false));
        }
        if let Some((_, w)) = self.tokens {
            any |= self
                .counter
                .reset_tokens_if_due(now, |s| w.window_end(s, false));
        }
        any
    }

    /// Whether the request or token limit is reached (without counting anything).
    pub fn exhausted(&self) -> bool {
        self.requests
            .is_some_and(|(max, _)| self.counter.requests() >= max)
            || self
                .tokens
                .is_some_and(|(max, _)| self.counter.tokens() >= max)
    }
}

/// A provider a key may use.
#[derive(Debug)]
pub struct ProviderRt {
    /// The configuration.
    pub cfg: ProviderConfig,
    /// Its budget.
    pub budget: Option<BudgetRt>,
    /// Its rate limit.
    pub rate: Option<RateRt>,
}

impl ProviderRt {
    /// Whether `model` (without the provider prefix) is on the allow list.
    pub fn allows(&self, model: &str) -> bool {
        let prefixed = format!("{}/{model}", self.cfg.provider);
        self.cfg
            .allowed_models
            .iter()
            .any(|m| m == "*" || m == model || *m == prefixed)
    }
}

/// A customer.
#[derive(Debug)]
pub struct CustomerRt {
    /// The configuration.
    pub cfg: Customer,
    /// Its budget.
    pub budget: Option<BudgetRt>,
}

/// A team.
#[derive(Debug)]
pub struct TeamRt {
    /// The configuration.
    pub cfg: Team,
    /// Its budget.
    pub budget: Option<BudgetRt>,
    /// Its customer.
    pub customer: Option<Arc<CustomerRt>>,
}

/// A virtual key.
#[derive(Debug)]
pub struct VkRt {
    /// The configuration.
    pub cfg: VirtualKey,
    /// Its budget.
    pub budget: Option<BudgetRt>,
    /// Its rate limit.
    pub rate: Option<RateRt>,
    /// The providers it may use.
    pub providers: Vec<ProviderRt>,
    /// Its team.
    pub team: Option<Arc<TeamRt>>,
    /// Its customer (directly, or through its team).
    pub customer: Option<Arc<CustomerRt>>,
}

impl VkRt {
    /// Its provider config for `provider`.
    pub fn provider(&self, provider: &str) -> Option<&ProviderRt> {
        self.providers.iter().find(|p| p.cfg.provider == provider)
    }

    /// Whether some provider config limits the provider keys (`key_ids` other than `["*"]`),
    /// so that requests must carry the key as a [`KeyFilter`].
    pub fn restricts_keys(&self) -> bool {
        self.providers
            .iter()
            .any(|p| !p.cfg.key_ids.iter().any(|k| k == "*"))
    }

    /// Every budget that applies to the key itself: its own, its team's, its customer's.
    pub fn key_budgets(&self) -> impl Iterator<Item = &BudgetRt> {
        self.budget
            .iter()
            .chain(self.team.iter().flat_map(|t| t.budget.iter()))
            .chain(self.customer.iter().flat_map(|c| c.budget.iter()))
    }
}

/// What governance needs from the engine's configuration.
#[derive(Debug, Default)]
pub struct EngineView {
    /// A virtual key is required on inference.
    pub enforce: bool,
    /// Configured provider names.
    pub providers: HashSet<String>,
    /// Compiled `pricing_overrides` by provider.
    pub overrides: HashMap<String, Overrides>,
}

/// The stored documents a snapshot is built from.
#[derive(Debug, Default)]
pub struct Docs {
    /// Keys with the hex sha256 of their value.
    pub keys: Vec<(VirtualKey, String)>,
    /// Teams.
    pub teams: Vec<Team>,
    /// Customers.
    pub customers: Vec<Customer>,
    /// Admin auth.
    pub auth: AuthConfig,
    /// The plugin's `is_vk_mandatory`.
    pub vk_mandatory: bool,
}

/// Keys sharing the first 8 bytes of their value's sha256.
type Bucket = Vec<([u8; 32], Arc<VkRt>)>;

/// What requests read.
#[derive(Debug, Default)]
pub struct GovSnapshot {
    /// Keys by the first 8 bytes of their value's sha256, then compared in constant time.
    buckets: HashMap<u64, Bucket>,
    /// All keys, in stored order.
    pub keys: Vec<Arc<VkRt>>,
    /// All teams.
    pub teams: Vec<Arc<TeamRt>>,
    /// All customers.
    pub customers: Vec<Arc<CustomerRt>>,
    /// Every budget, for the reset and persistence task.
    pub budgets: Vec<BudgetRt>,
    /// Every rate limit.
    pub rates: Vec<RateRt>,
    /// A virtual key is required on inference.
    pub enforce: bool,
    /// Admin auth.
    pub auth: AuthConfig,
    /// The engine's view.
    pub engine: EngineView,
}

impl GovSnapshot {
    /// The key whose value is `value`.
    pub fn key_by_value(&self, value: &str) -> Option<&Arc<VkRt>> {
        let digest: [u8; 32] = Sha256::digest(value.as_bytes()).into();
        self.buckets
            .get(&bucket(&digest))?
            .iter()
            .find(|(d, _)| constant_time_eq(d, &digest))
            .map(|(_, vk)| vk)
    }

    /// A key by id.
    pub fn key_by_id(&self, id: &str) -> Option<&Arc<VkRt>> {
        self.keys.iter().find(|k| k.cfg.id == id)
    }
}

fn bucket(digest: &[u8; 32]) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&digest[..8]);
    u64::from_le_bytes(b)
}

/// Compares without an early exit, so timing says nothing about where digests differ.
fn constant_time_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Decodes a hex sha256.
fn digest_from_hex(hex: &str) -> Option<[u8; 32]> {
    let bytes = hex.as_bytes();
    if bytes.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, pair) in bytes.chunks(2).enumerate() {
        let s = std::str::from_utf8(pair).ok()?;
        out[i] = u8::from_str_radix(s, 16).ok()?;
    }
    Some(out)
}

/// Where counters come from while building: the previous snapshot's live ones, else the
/// persisted rows, else new ones.
pub struct CounterSource<'a> {
    /// The previous snapshot.
    pub previous: Option<&'a GovSnapshot>,
    /// Persisted rows by id.
    pub persisted: &'a HashMap<String, CounterRow>,
    /// Now, unix ms.
    pub now: i64,
    budgets: HashMap<String, Arc<BudgetCounter>>,
    rates: HashMap<String, Arc<RateCounter>>,
}

impl<'a> CounterSource<'a> {
    /// A source for one build.
    pub fn new(
        previous: Option<&'a GovSnapshot>,
        persisted: &'a HashMap<String, CounterRow>,
        now: i64,
    ) -> Self {
        let mut budgets = HashMap::new();
        let mut rates = HashMap::new();
        if let Some(p) = previous {
            for b in &p.budgets {
                budgets.insert(b.cfg.id.clone(), Arc::clone(&b.counter));
            }
            for r in &p.rates {
                rates.insert(r.cfg.id.clone(), Arc::clone(&r.counter));
            }
        }
        Self {
            previous,
            persisted,
            now,
            budgets,
            rates,
        }
    }
}

/// Builds a snapshot; entries that cannot be used are described in the returned warnings.
pub fn build(
    docs: Docs,
    engine: EngineView,
    src: &mut CounterSource<'_>,
) -> (GovSnapshot, Vec<String>) {
    let mut warnings = Vec::new();
    let mut snap = GovSnapshot {
        enforce: engine.enforce || docs.vk_mandatory,
        auth: docs.auth,
        ..GovSnapshot::default()
    };
    let mut customers = HashMap::new();
    for c in docs.customers {
        let budget = budget_rt(c.budget.as_ref(), src, &mut snap, &mut warnings, &c.name);
        let rt = Arc::new(CustomerRt { cfg: c, budget });
        customers.insert(rt.cfg.id.clone(), Arc::clone(&rt));
        snap.customers.push(rt);
    }
    let mut teams = HashMap::new();
    for t in docs.teams {
        let budget = budget_rt(t.budget.as_ref(), src, &mut snap, &mut warnings, &t.name);
        let customer = t
            .customer_id
            .as_ref()
            .and_then(|id| customers.get(id).cloned());
        let rt = Arc::new(TeamRt {
            cfg: t,
            budget,
            customer,
        });
        teams.insert(rt.cfg.id.clone(), Arc::clone(&rt));
        snap.teams.push(rt);
    }
    for (k, hash) in docs.keys {
        let Some(digest) = digest_from_hex(&hash) else {
            warnings.push(format!(
                "virtual key {} has no usable hash; skipped",
                k.name
            ));
            continue;
        };
        let name = k.name.clone();
        let budget = budget_rt(k.budget.as_ref(), src, &mut snap, &mut warnings, &name);
        let rate = rate_rt(k.rate_limit.as_ref(), src, &mut snap, &mut warnings, &name);
        let providers = k
            .provider_configs
            .iter()
            .map(|p| {
                let what = format!("{name}/{}", p.provider);
                ProviderRt {
                    cfg: p.clone(),
                    budget: budget_rt(p.budget.as_ref(), src, &mut snap, &mut warnings, &what),
                    rate: rate_rt(p.rate_limit.as_ref(), src, &mut snap, &mut warnings, &what),
                }
            })
            .collect();
        let team = k.team_id.as_ref().and_then(|id| teams.get(id).cloned());
        let customer = k
            .customer_id
            .as_ref()
            .and_then(|id| customers.get(id).cloned())
            .or_else(|| team.as_ref().and_then(|t| t.customer.clone()));
        let rt = Arc::new(VkRt {
            cfg: k,
            budget,
            rate,
            providers,
            team,
            customer,
        });
        snap.buckets
            .entry(bucket(&digest))
            .or_default()
            .push((digest, Arc::clone(&rt)));
        snap.keys.push(rt);
    }
    snap.engine = engine;
    (snap, warnings)
}

fn budget_rt(
    cfg: Option<&Budget>,
    src: &mut CounterSource<'_>,
    snap: &mut GovSnapshot,
    warnings: &mut Vec<String>,
    owner: &str,
) -> Option<BudgetRt> {
    let cfg = cfg?;
    let Some(window) = ResetDuration::parse(&cfg.reset_duration) else {
        warnings.push(format!(
            "budget of {owner}: reset_duration `{}` is not a duration; budget ignored",
            cfg.reset_duration
        ));
        return None;
    };
    let now = src.now;
    let persisted = src.persisted;
    let counter = src
        .budgets
        .entry(cfg.id.clone())
        .or_insert_with(|| {
            Arc::new(match persisted.get(&cfg.id) {
                Some(row) => BudgetCounter::new(row.usage, row.last_reset),
                None => BudgetCounter::new(0, window.window_start(now, cfg.calendar_aligned)),
            })
        })
        .clone();
    let rt = BudgetRt {
        cfg: cfg.clone(),
        limit: to_nanos(cfg.max_limit),
        window,
        counter,
    };
    if !snap.budgets.iter().any(|b| b.cfg.id == cfg.id) {
        snap.budgets.push(rt.clone());
    }
    Some(rt)
}

fn rate_rt(
    cfg: Option<&RateLimit>,
    src: &mut CounterSource<'_>,
    snap: &mut GovSnapshot,
    warnings: &mut Vec<String>,
    owner: &str,
) -> Option<RateRt> {
    let cfg = cfg?;
    let mut limit = |max: Option<u64>, window: Option<&String>, what: &str| {
        let max = max?;
        let text = window.map_or("1m", String::as_str);
        match ResetDuration::parse(text) {
            Some(w) => Some((max, w)),
            None => {
                warnings.push(format!(
                    "rate limit of {owner}: {what}_reset_duration `{text}` is not a duration; limit ignored"
                ));
                None
            }
        }
    };
    let requests = limit(
        cfg.request_max_limit,
        cfg.request_reset_duration.as_ref(),
        "request",
    );
    let tokens = limit(
        cfg.token_max_limit,
        cfg.token_reset_duration.as_ref(),
        "token",
    );
    let now = src.now;
    let persisted = src.persisted;
    let counter = src
        .rates
        .entry(cfg.id.clone())
        .or_insert_with(|| {
            Arc::new(match persisted.get(&cfg.id) {
                Some(r) => RateCounter::new(r.usage, r.last_reset, r.tokens, r.token_last_reset),
                None => RateCounter::new(0, now, 0, now),
            })
        })
        .clone();
    let rt = RateRt {
        cfg: cfg.clone(),
        requests,
        tokens,
        counter,
    };
    if !snap.rates.iter().any(|r| r.cfg.id == cfg.id) {
        snap.rates.push(rt.clone());
    }
    Some(rt)
}

/// The hex sha256 of a key value, as stored.
pub fn hash_value(value: &str) -> String {
    Sha256::digest(value.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A key's `key_ids` (Bifrost v1.5: `["*"]` allows every key, `[]` none) restrict which
/// provider keys its requests may use; an entry names a key by id or by name. A provider the
/// key has no config for (reachable through `allow_all_providers`) keeps all its keys.
impl KeyFilter for VkRt {
    fn allows(&self, provider: &str, key_id: &str, key_name: &str) -> bool {
        self.provider(provider).is_none_or(|pc| {
            pc.cfg
                .key_ids
                .iter()
                .any(|k| k == "*" || k == key_id || k == key_name)
        })
    }
}
