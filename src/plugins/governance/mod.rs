//! Governance: virtual keys, budgets and rate limits at every level (provider config, key,
//! team, customer), virtual-key routing, cost, and admin auth (Bifrost §6, §5.4).
//!
//! The engine consults [`Governance`] through its `Admission` hook before routing every
//! inference request and settles each request through the returned `Settle` when it ends.
//! Requests read an immutable snapshot ([`snapshot::GovSnapshot`], swapped whole) and atomic
//! counters; a background task resets windows, writes changed counters to config.db once a
//! second, and reloads the snapshot when another process (the CLI) wrote to config.db or the
//! engine's own configuration changed.
//!
//! Better than Bifrost, which charges after the response: a request reserves its estimated
//! cost on every budget before it is sent and settles with the real cost after, so concurrent
//! requests cannot overspend a budget (see [`counters`]).

pub mod admin_auth;
mod admit;
pub mod bootstrap;
pub mod counters;
pub mod duration;
pub mod groups;
pub mod manage;
pub mod overrides;
pub mod pricing;
mod pricing_sync;
pub mod routing;
pub mod settings;
pub mod snapshot;
pub mod types;
pub mod validate;
pub mod views;

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

use arc_swap::ArcSwap;

use crate::engine::tracking::Settle;
use crate::engine::{Admission, Admit, Gateway};
use crate::error::{Error, Result};
use crate::store::governance_store::CounterRow;
use crate::store::ConfigStore;
use admin_auth::AdminAuth;
use overrides::Overrides;
use pricing::{Catalog, MissingPrices};
use snapshot::{CounterSource, EngineView, GovSnapshot};
use types::PricingSettings;

/// Now, in unix milliseconds.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// The pricing catalog in use and the models it could not price.
#[derive(Debug, Default)]
pub struct PricingState {
    /// Prices (the shipped catalog, refreshed from `pricing_url` when configured).
    pub catalog: ArcSwap<Catalog>,
    /// Requests that could not be priced.
    pub missing: MissingPrices,
    /// `framework.pricing`: where and how often to refresh the prices.
    pub settings: ArcSwap<PricingSettings>,
    /// Wakes the refresh when `settings` changed.
    pub changed: tokio::sync::Notify,
}

impl PricingState {
    /// Follows new pricing settings: the refresh restarts with them.
    pub fn configure(&self, settings: PricingSettings) {
        if *self.settings.load_full() != settings {
            self.settings.store(Arc::new(settings));
            self.changed.notify_one();
        }
    }
}

/// The governance plugin.
pub struct Governance {
    store: Arc<ConfigStore>,
    snapshot: ArcSwap<GovSnapshot>,
    pricing: Arc<PricingState>,
    auth: AdminAuth,
    engine: OnceLock<Weak<Gateway>>,
    reload_lock: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for Governance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Governance")
    }
}

impl Admission for Governance {
    fn admit(&self, request: &mut Admit<'_>) -> Result<Option<Box<dyn Settle>>> {
        self.admit_request(request)
    }
}

impl Governance {
    /// Opens governance on the app dir's config store: imports config.json's governance
    /// entries, loads the usage counters and builds the first snapshot. Returns warnings.
    pub fn open(store: Arc<ConfigStore>, app_dir: &Path) -> Result<(Self, Vec<String>)> {
        let mut warnings = Vec::new();
        if let Some(loaded) = crate::config::load_file(&app_dir.join("config.json"))? {
            warnings.extend(bootstrap::import(&store, &loaded.config)?);
        }
        let (docs, w) = manage::load_docs(&store)?;
        warnings.extend(w);
        let persisted: HashMap<String, CounterRow> = store.gov_counters()?.into_iter().collect();
        let stored = store.load()?;
        let engine = engine_view(
            &stored.client,
            stored
                .providers
                .iter()
                .map(|(n, p)| (n.as_str(), p.pricing_overrides.as_ref())),
            &mut warnings,
        );
        let mut src = CounterSource::new(None, &persisted, now_ms());
        let (snap, w) = snapshot::build(docs, engine, &mut src);
        warnings.extend(w);
        let pricing_settings = store.gov_tx(|tx| manage::setting(tx, "pricing"))?;
        let auth = AdminAuth::load(&store)?;
        let gov = Self {
            store,
            snapshot: ArcSwap::from_pointee(snap),
            pricing: Arc::new(PricingState {
                catalog: ArcSwap::from_pointee(Catalog::embedded()),
                missing: MissingPrices::default(),
                settings: ArcSwap::from_pointee(pricing_settings),
                changed: tokio::sync::Notify::new(),
            }),
            auth,
            engine: OnceLock::new(),
            reload_lock: tokio::sync::Mutex::new(()),
        };
        // Windows that ended while the server was down are reset now.
        gov.reset_due(now_ms());
        Ok((gov, warnings))
    }

    /// Follows the engine's configuration (providers' `pricing_overrides`, `client` flags)
    /// from now on, instead of reading it from the store.
    pub fn attach(&self, gateway: &Arc<Gateway>) {
        let _ = self.engine.set(Arc::downgrade(gateway));
    }

    /// The current snapshot.
    pub fn snapshot(&self) -> Arc<GovSnapshot> {
        self.snapshot.load_full()
    }

    /// The config store.
    pub fn store(&self) -> &Arc<ConfigStore> {
        &self.store
    }

    /// Admin sessions and credentials.
    pub fn auth(&self) -> &AdminAuth {
        &self.auth
    }

    /// The pricing state.
    pub fn pricing(&self) -> &Arc<PricingState> {
        &self.pricing
    }

    /// Rebuilds the snapshot from the store (and the engine's configuration) and swaps it in.
    pub async fn reload(&self) -> Result<()> {
        let _one_at_a_time = self.reload_lock.lock().await;
        let store = Arc::clone(&self.store);
        let gateway = self.engine.get().and_then(Weak::upgrade);
        let (docs, persisted, stored, pricing, mut warnings) =
            tokio::task::spawn_blocking(move || {
                let (docs, warnings) = manage::load_docs(&store)?;
                let pricing: PricingSettings = store.gov_tx(|tx| manage::setting(tx, "pricing"))?;
                let persisted: HashMap<String, CounterRow> =
                    store.gov_counters()?.into_iter().collect();
                let stored = match gateway {
                    Some(_) => None,
                    None => Some(store.load()?),
                };
                Ok::<_, Error>((docs, persisted, stored, pricing, warnings))
            })
            .await
            .map_err(|e| Error::Internal(e.to_string()))??;
        let engine = match (stored, self.engine.get().and_then(Weak::upgrade)) {
            (Some(s), _) => engine_view(
                &s.client,
                s.providers
                    .iter()
                    .map(|(n, p)| (n.as_str(), p.pricing_overrides.as_ref())),
                &mut warnings,
            ),
            (None, Some(g)) => {
                let snap = g.snapshot();
                engine_view(
                    &snap.client,
                    snap.providers
                        .iter()
                        .map(|(n, p)| (n.as_str(), p.config.pricing_overrides.as_ref())),
                    &mut warnings,
                )
            }
            (None, None) => EngineView::default(),
        };
        let previous = self.snapshot.load_full();
        let mut src = CounterSource::new(Some(&previous), &persisted, now_ms());
        let (snap, w) = snapshot::build(docs, engine, &mut src);
        warnings.extend(w);
        for w in &warnings {
            tracing::warn!("governance: {w}");
        }
        self.snapshot.store(Arc::new(snap));
        self.pricing.configure(pricing);
        Ok(())
    }

    /// Starts windows that ended.
    fn reset_due(&self, now: i64) {
        let snap = self.snapshot.load();
        for b in &snap.budgets {
            b.reset_if_due(now);
        }
        for r in &snap.rates {
            r.reset_if_due(now);
        }
    }

    /// Writes the counters that changed since the last write.
    pub async fn flush(&self) -> Result<()> {
        let snap = self.snapshot.load_full();
        let mut rows = Vec::new();
        for b in snap.budgets.iter().filter(|b| b.counter.take_dirty()) {
            rows.push((
                b.cfg.id.clone(),
                CounterRow {
                    usage: b.counter.spent(),
                    tokens: 0,
                    last_reset: b.counter.last_reset(),
                    token_last_reset: 0,
                },
            ));
        }
        for r in snap.rates.iter().filter(|r| r.counter.take_dirty()) {
            rows.push((
                r.cfg.id.clone(),
                CounterRow {
                    usage: r.counter.requests(),
                    tokens: r.counter.tokens(),
                    last_reset: r.counter.request_reset(),
                    token_last_reset: r.counter.token_reset(),
                },
            ));
        }
        if rows.is_empty() {
            return Ok(());
        }
        let store = Arc::clone(&self.store);
        tokio::task::spawn_blocking(move || store.gov_save_counters(&rows))
            .await
            .map_err(|e| Error::Internal(e.to_string()))?
    }

    /// The background work: once a second, reset ended windows, persist changed counters
    /// and reload when config.db or the engine's configuration changed; plus the pricing
    /// refresh (idle while no `pricing_url` is set). Abort the handles to stop.
    pub fn spawn_background(self: &Arc<Self>) -> Vec<tokio::task::JoinHandle<()>> {
        let gov = Arc::clone(self);
        let ticker = tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            let mut last_version = None;
            let mut last_engine = None;
            loop {
                tick.tick().await;
                gov.reset_due(now_ms());
                if let Err(e) = gov.flush().await {
                    tracing::warn!(error = %e, "could not persist governance counters");
                }
                let store = Arc::clone(&gov.store);
                let version = tokio::task::spawn_blocking(move || store.data_version()).await;
                let engine = gov
                    .engine
                    .get()
                    .and_then(Weak::upgrade)
                    .map(|g| Arc::as_ptr(&g.snapshot()) as usize);
                let Ok(Ok(version)) = version else { continue };
                let changed = last_version.is_some_and(|v| v != version) || last_engine != engine;
                if changed && (last_version.is_some() || engine.is_some()) {
                    if let Err(e) = gov.reload().await {
                        tracing::warn!(error = %e, "governance configuration could not be reloaded");
                    }
                }
                last_version = Some(version);
                last_engine = engine;
            }
        });
        vec![ticker, pricing_sync::spawn(Arc::clone(&self.pricing))]
    }
}

/// What governance reads from the engine's configuration.
fn engine_view<'a>(
    client: &crate::config::ClientConfig,
    providers: impl Iterator<Item = (&'a str, Option<&'a serde_json::Value>)>,
    warnings: &mut Vec<String>,
) -> EngineView {
    let legacy = client
        .other
        .get("enforce_governance_header")
        .and_then(serde_json::Value::as_bool)
        .unwrap_or(false);
    let mut view = EngineView {
        enforce: client.enforce_auth_on_inference || legacy,
        ..EngineView::default()
    };
    for (name, overrides) in providers {
        view.providers.insert(name.to_owned());
        if let Some(o) = overrides {
            let (compiled, problems) = Overrides::compile(name, o);
            warnings.extend(problems);
            if !compiled.is_empty() {
                view.overrides.insert(name.to_owned(), compiled);
            }
        }
    }
    view
}
