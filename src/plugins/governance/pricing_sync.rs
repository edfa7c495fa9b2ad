//! The optional price refresh from `framework.pricing.pricing_url`: in the background, never
//! before the server listens. While the URL is unreachable or answers with something that is
//! not a catalog, the refresh is off and the shipped prices stay in use; it is tried again at
//! the next interval.

use std::sync::Arc;
use std::time::Duration;

use super::pricing::Catalog;
use super::PricingState;

/// Starts the refresh loop.
pub fn spawn(
    pricing: Arc<PricingState>,
    url: String,
    every: Duration,
) -> tokio::task::JoinHandle<()> {
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
        loop {
            match fetch(&client, &url).await {
                Ok(remote) => {
                    let merged = Catalog::embedded().merged(&remote);
                    tracing::info!(
                        models = remote.len(),
                        total = merged.len(),
                        "pricing refreshed"
                    );
                    pricing.catalog.store(Arc::new(merged));
                    reachable = true;
                }
                Err(e) => {
                    if reachable {
                        tracing::warn!(error = %e, "pricing refresh is off until the pricing URL answers; using the shipped prices");
                    }
                    reachable = false;
                }
            }
            tokio::time::sleep(every).await;
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
