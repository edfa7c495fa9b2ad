//! The optional price refresh from `framework.pricing.pricing_url`: in the background, never
//! before the server listens. While the URL is unreachable or answers with something that is
//! not a catalog, the refresh is off and the shipped prices stay in use; it is tried again at
//! the next interval. New settings (`PUT /api/config`) wake the loop, which refreshes from the
//! new URL at once; without a URL it waits and the shipped prices are used.

use std::sync::Arc;
use std::time::Duration;

use super::pricing::Catalog;
use super::settings::DEFAULT_SYNC_SECS;
use super::PricingState;

/// The shortest interval between refreshes, whatever the settings say.
const MIN_SYNC_SECS: u64 = 3600;

/// Starts the refresh loop.
pub fn spawn(pricing: Arc<PricingState>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let client = match reqwest::Client::builder()
            .timeout(Duration::from_secs(15))
            .build()
        {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "pricing refresh is off: no HTTP client");
                return;
            }
        };
        let mut reachable = true;
        let mut fetched = false;
        loop {
            let settings = pricing.settings.load_full();
            let Some(url) = settings.pricing_url.as_deref() else {
                if fetched {
                    pricing.catalog.store(Arc::new(Catalog::embedded()));
                    fetched = false;
                }
                pricing.changed.notified().await;
                continue;
            };
            match fetch(&client, url).await {
                Ok(remote) => {
                    let merged = Catalog::embedded().merged(&remote);
                    tracing::info!(
                        models = remote.len(),
                        total = merged.len(),
                        "pricing refreshed"
                    );
                    pricing.catalog.store(Arc::new(merged));
                    reachable = true;
                    fetched = true;
                }
                Err(e) => {
                    if reachable {
                        tracing::warn!(error = %e, "pricing refresh is off until the pricing URL answers; using the shipped prices");
                    }
                    reachable = false;
                }
            }
            let every = settings
                .pricing_sync_interval
                .unwrap_or(DEFAULT_SYNC_SECS)
                .max(MIN_SYNC_SECS);
            tokio::select! {
                () = tokio::time::sleep(Duration::from_secs(every)) => {}
                () = pricing.changed.notified() => {}
            }
        }
    })
}

async fn fetch(client: &reqwest::Client, url: &str) -> Result<Catalog, String> {
    let resp = client.get(url).send().await.map_err(|e| e.to_string())?;
    if !resp.status().is_success() {
        return Err(format!("pricing URL answered {}", resp.status()));
    }
    let text = resp.text().await.map_err(|e| e.to_string())?;
    let catalog = Catalog::parse(&text).map_err(|e| e.to_string())?;
    if catalog.is_empty() {
        return Err("the pricing URL's answer has no prices".into());
    }
    Ok(catalog)
}
