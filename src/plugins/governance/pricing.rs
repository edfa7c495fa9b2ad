//! Cost: the pricing catalog (`assets/pricing.json`, refreshable from
//! `framework.pricing.pricing_url`), lookups by `provider/model`, and the cost of a request.
//!
//! A model without a price gets no cost (`None`), never a silent 0; such misses are counted
//! per model and warned about once (see [`MissingPrices`]).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use arc_swap::ArcSwap;
use serde::Deserialize;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::schemas::openai::Usage;

/// The catalog shipped with the binary.
const EMBEDDED: &str = include_str!("../../../assets/pricing.json");

/// Output tokens assumed for a reservation when the client set no limit.
pub const DEFAULT_OUTPUT_TOKENS: u64 = 1024;

/// Per-token prices in USD.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Price {
    /// Input (prompt) tokens; for embedding models, the embedding price.
    pub input: f64,
    /// Output (completion) tokens.
    pub output: f64,
    /// Cached input tokens read; the input price when unknown.
    pub cache_read: Option<f64>,
    /// Input tokens written to the cache; the input price when unknown.
    pub cache_write: Option<f64>,
}

/// Cost fields as the catalog, the datasheet and `pricing_overrides` write them.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RawPrice {
    /// Input price per token.
    #[serde(default)]
    pub input_cost_per_token: Option<f64>,
    /// Output price per token.
    #[serde(default)]
    pub output_cost_per_token: Option<f64>,
    /// Cached input price per token.
    #[serde(default)]
    pub cache_read_input_token_cost: Option<f64>,
    /// Cache write price per token.
    #[serde(default)]
    pub cache_creation_input_token_cost: Option<f64>,
    /// In list-shaped datasheets: the provider.
    #[serde(default)]
    pub provider: Option<String>,
    /// In list-shaped datasheets: the model.
    #[serde(default)]
    pub model: Option<String>,
}

impl RawPrice {
    /// A full price, when at least the input price is known.
    pub fn to_price(&self) -> Option<Price> {
        Some(Price {
            input: self.input_cost_per_token?,
            output: self.output_cost_per_token.unwrap_or(0.0),
            cache_read: self.cache_read_input_token_cost,
            cache_write: self.cache_creation_input_token_cost,
        })
    }

    /// `base` with the fields set here replacing its own.
    pub fn over(&self, base: Option<Price>) -> Option<Price> {
        let input = self.input_cost_per_token.or(base.map(|b| b.input))?;
        Some(Price {
            input,
            output: self
                .output_cost_per_token
                .or(base.map(|b| b.output))
                .unwrap_or(0.0),
            cache_read: self
                .cache_read_input_token_cost
                .or(base.and_then(|b| b.cache_read)),
            cache_write: self
                .cache_creation_input_token_cost
                .or(base.and_then(|b| b.cache_write)),
        })
    }
}

/// Prices by `provider/model`.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    prices: HashMap<String, Price>,
}

impl Catalog {
    /// The catalog shipped in `assets/pricing.json`.
    pub fn embedded() -> Self {
        Self::parse(EMBEDDED).unwrap_or_else(|e| {
            tracing::error!(error = %e, "the shipped pricing catalog is unreadable");
            Self::default()
        })
    }

    /// Reads a catalog: an object keyed `provider/model` (keys starting with `_` are notes),
    /// or a list of entries with `provider` and `model` fields.
    pub fn parse(text: &str) -> Result<Self> {
        let value: Value = serde_json::from_str(text)
            .map_err(|e| Error::Config(format!("pricing catalog: {e}")))?;
        let mut prices = HashMap::new();
        let mut add = |key: String, raw: &Value| {
            if let Ok(raw) = RawPrice::deserialize(raw) {
                if let Some(p) = raw.to_price() {
                    prices.insert(key, p);
                }
            }
        };
        match &value {
            Value::Object(map) => {
                for (key, raw) in map.iter().filter(|(k, _)| !k.starts_with('_')) {
                    add(key.clone(), raw);
                }
            }
            Value::Array(list) => {
                for raw in list {
                    let (Some(p), Some(m)) = (raw["provider"].as_str(), raw["model"].as_str())
                    else {
                        continue;
                    };
                    add(format!("{p}/{m}"), raw);
                }
            }
            _ => return Err(Error::Config("pricing catalog: not an object".into())),
        }
        Ok(Self { prices })
    }

    /// This catalog with `newer`'s prices replacing or adding to its own.
    pub fn merged(&self, newer: &Catalog) -> Catalog {
        let mut prices = self.prices.clone();
        prices.extend(newer.prices.iter().map(|(k, v)| (k.clone(), *v)));
        Catalog { prices }
    }

    /// How many models are priced.
    pub fn len(&self) -> usize {
        self.prices.len()
    }

    /// Whether nothing is priced.
    pub fn is_empty(&self) -> bool {
        self.prices.is_empty()
    }

    /// The models priced for `provider`, without the provider prefix.
    pub fn prices_for<'a>(
        &'a self,
        provider: &'a str,
    ) -> impl Iterator<Item = (&'a str, &'a Price)> + 'a {
        self.prices.iter().filter_map(move |(k, p)| {
            let rest = k.strip_prefix(provider)?.strip_prefix('/')?;
            Some((rest, p))
        })
    }

    /// The price of `model` at `provider`: exact, else without a date suffix
    /// (`gpt-4o-2024-08-06` → `gpt-4o`, `claude-sonnet-4-20250514` → `claude-sonnet-4`).
    pub fn lookup(&self, provider: &str, model: &str) -> Option<Price> {
        let exact = format!("{provider}/{model}");
        if let Some(p) = self.prices.get(&exact) {
            return Some(*p);
        }
        // Vertex writes versions after `@` (`claude-sonnet-4@20250514`).
        let unversioned = model.split_once('@').map_or(model, |(m, _)| m);
        if unversioned != model {
            if let Some(p) = self.prices.get(&format!("{provider}/{unversioned}")) {
                return Some(*p);
            }
        }
        let base = strip_date(unversioned)?;
        self.prices.get(&format!("{provider}/{base}")).copied()
    }
}

/// `model` without a trailing `-YYYY-MM-DD` or `-YYYYMMDD`.
fn strip_date(model: &str) -> Option<&str> {
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let (head, tail) = model.rsplit_once('-')?;
    if tail.len() == 8 && digits(tail) {
        return Some(head);
    }
    // -YYYY-MM-DD: three dash-separated numeric groups.
    let (head2, month) = head.rsplit_once('-')?;
    let (head3, year) = head2.rsplit_once('-')?;
    (tail.len() == 2 && month.len() == 2 && year.len() == 4 && digits(tail) && digits(month))
        .then_some(head3)
        .filter(|_| digits(year))
}

/// The cost of a finished request.
pub fn cost(price: &Price, usage: &Usage) -> f64 {
    let detail = |name: &str| usage.prompt_detail(name);
    let cached = detail("cached_tokens").min(usage.prompt_tokens);
    let written = detail("cache_creation_tokens")
        .max(detail("cache_write_tokens"))
        .min(usage.prompt_tokens - cached);
    let fresh = usage.prompt_tokens - cached - written;
    fresh as f64 * price.input
        + cached as f64 * price.cache_read.unwrap_or(price.input)
        + written as f64 * price.cache_write.unwrap_or(price.input)
        + usage.completion_tokens as f64 * price.output
}

/// The cost to reserve before a call: the prompt estimate and the output limit (or
/// [`DEFAULT_OUTPUT_TOKENS`]) at full price.
pub fn estimate(price: &Price, input_tokens: u64, max_output_tokens: Option<u64>) -> f64 {
    input_tokens as f64 * price.input
        + max_output_tokens.unwrap_or(DEFAULT_OUTPUT_TOKENS) as f64 * price.output
}

/// Models asked for without a known price: counted per `provider/model`, warned about once.
#[derive(Debug, Default)]
pub struct MissingPrices {
    seen: ArcSwap<HashMap<String, Arc<AtomicU64>>>,
}

impl MissingPrices {
    /// Counts a request to `provider/model` that could not be priced.
    pub fn report(&self, provider: &str, model: &str) {
        let key = format!("{provider}/{model}");
        if let Some(count) = self.seen.load().get(&key) {
            count.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let mut first = false;
        self.seen.rcu(|seen| {
            let mut next = HashMap::clone(seen);
            first = !next.contains_key(&key);
            next.entry(key.clone())
                .or_insert_with(|| Arc::new(AtomicU64::new(0)))
                .fetch_add(0, Ordering::Relaxed);
            next
        });
        if let Some(count) = self.seen.load().get(&key) {
            count.fetch_add(1, Ordering::Relaxed);
        }
        if first {
            tracing::warn!(
                model = %key,
                "no price known for this model: its requests get no cost and are not charged \
                 to budgets; add a pricing_overrides entry to the provider"
            );
        }
    }

    /// Every unpriced model with its request count, sorted by model.
    pub fn list(&self) -> Vec<(String, u64)> {
        let mut out: Vec<(String, u64)> = self
            .seen
            .load()
            .iter()
            .map(|(k, v)| (k.clone(), v.load(Ordering::Relaxed)))
            .collect();
        out.sort();
        out
    }
}
