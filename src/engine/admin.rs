//! Provider and key management: the one implementation behind `/api/providers`, the CLI's
//! `bifrost provider` and the dashboard. Every write is validated, persisted to config.db and
//! then applied by swapping in a new snapshot.

use std::sync::Arc;

use super::keys::assign_key_identities;
use super::Gateway;
use crate::config::secret::SecretRef;
use crate::config::{validate, KeyConfig, ProviderConfig};
use crate::error::{Error, Result};
use crate::store::ConfigStore;

/// A provider as the outside world sees it: keys redacted.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ProviderView {
    /// Provider name.
    pub name: String,
    /// The configuration, key values redacted.
    #[serde(flatten)]
    pub config: ProviderConfig,
}

impl ProviderView {
    fn new(name: &str, mut config: ProviderConfig) -> Self {
        for key in &mut config.keys {
            *key = redacted_key(key);
        }
        if let Some(proxy) = &mut config.proxy_config {
            *proxy = proxy.redacted();
        }
        Self {
            name: name.to_owned(),
            config,
        }
    }
}

/// A key with its value (and Azure, Vertex and Bedrock credentials) redacted.
pub fn redacted_key(key: &KeyConfig) -> KeyConfig {
    let mut azure = key.azure_key_config.clone();
    if let Some(secret) = azure.as_mut().and_then(|a| a.client_secret.as_mut()) {
        *secret = SecretRef::new(secret.redacted());
    }
    let mut vertex = key.vertex_key_config.clone();
    if let Some(v) = &mut vertex {
        v.auth_credentials = SecretRef::new(v.auth_credentials.redacted());
    }
    KeyConfig {
        value: SecretRef::new(key.value.redacted()),
        azure_key_config: azure,
        vertex_key_config: vertex,
        bedrock_key_config: key.bedrock_key_config.as_ref().map(|b| b.redacted()),
        ..key.clone()
    }
}

impl Gateway {
    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&ConfigStore) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let store = Arc::clone(self.store());
        tokio::task::spawn_blocking(move || f(&store))
            .await
            .map_err(|e| Error::Internal(e.to_string()))?
    }

    /// All providers, sorted by name.
    pub async fn list_providers(&self) -> Result<Vec<ProviderView>> {
        let stored = self.blocking(|s| s.load()).await?;
        Ok(stored
            .providers
            .into_iter()
            .map(|(n, c)| ProviderView::new(&n, c))
            .collect())
    }

    /// One provider.
    pub async fn get_provider(&self, name: &str) -> Result<ProviderView> {
        let owned = name.to_owned();
        let cfg = self.blocking(move |s| s.provider(&owned)).await?;
        cfg.map(|c| ProviderView::new(name, c))
            .ok_or_else(|| Error::NotFound(format!("provider {name} not found")))
    }

    /// Adds a provider.
    pub async fn create_provider(
        &self,
        name: &str,
        mut cfg: ProviderConfig,
    ) -> Result<ProviderView> {
        assign_key_identities(name, &mut cfg.keys);
        check(name, &cfg)?;
        let (owned, stored) = (name.to_owned(), cfg.clone());
        self.blocking(move |s| s.insert_provider(&owned, &stored))
            .await?;
        self.reload().await?;
        Ok(ProviderView::new(name, cfg))
    }

    /// Replaces a provider's configuration. Keys and a proxy password sent back with their
    /// redacted value (as the API showed them) keep their stored value.
    pub async fn update_provider(&self, name: &str, cfg: ProviderConfig) -> Result<ProviderView> {
        let owned = name.to_owned();
        let (updated, ()) = self
            .blocking(move |s| {
                s.update_provider(&owned, |current| {
                    let mut next = cfg;
                    if let (Some(sent), Some(stored)) =
                        (&mut next.proxy_config, &current.proxy_config)
                    {
                        sent.restore_redacted(stored);
                    }
                    for key in &mut next.keys {
                        keep_redacted_value(key, &current.keys);
                    }
                    assign_key_identities(&owned, &mut next.keys);
                    check(&owned, &next)?;
                    *current = next;
                    Ok(())
                })
            })
            .await?;
        self.reload().await?;
        Ok(ProviderView::new(name, updated))
    }

    /// Removes a provider.
    pub async fn delete_provider(&self, name: &str) -> Result<()> {
        let owned = name.to_owned();
        self.blocking(move |s| s.delete_provider(&owned)).await?;
        self.reload().await
    }

    /// Adds a key to a provider and returns it, redacted.
    pub async fn add_key(&self, provider: &str, key: KeyConfig) -> Result<KeyConfig> {
        let owned = provider.to_owned();
        let (_, added) = self
            .blocking(move |s| {
                s.update_provider(&owned, |p| {
                    let mut key = key;
                    if key.name.is_empty() {
                        key.name = unique_key_name(&owned, &p.keys);
                    }
                    if key.id.is_empty() {
                        key.id = uuid::Uuid::new_v4().to_string();
                    }
                    p.keys.push(key.clone());
                    check(&owned, p)?;
                    Ok(key)
                })
            })
            .await?;
        self.reload().await?;
        Ok(redacted_key(&added))
    }

    /// Replaces one key, found by id (or name).
    pub async fn update_key(
        &self,
        provider: &str,
        key_id: &str,
        key: KeyConfig,
    ) -> Result<KeyConfig> {
        let (owned, id) = (provider.to_owned(), key_id.to_owned());
        let (_, updated) = self
            .blocking(move |s| {
                s.update_provider(&owned, |p| {
                    let slot = find_key(p, &id)?;
                    let mut key = key;
                    keep_redacted_value(&mut key, std::slice::from_ref(&p.keys[slot]));
                    key.id = p.keys[slot].id.clone();
                    if key.name.is_empty() {
                        key.name = p.keys[slot].name.clone();
                    }
                    p.keys[slot] = key.clone();
                    check(&owned, p)?;
                    Ok(key)
                })
            })
            .await?;
        self.reload().await?;
        Ok(redacted_key(&updated))
    }

    /// Removes one key, found by id (or name).
    pub async fn delete_key(&self, provider: &str, key_id: &str) -> Result<()> {
        let (owned, id) = (provider.to_owned(), key_id.to_owned());
        self.blocking(move |s| {
            s.update_provider(&owned, |p| {
                let slot = find_key(p, &id)?;
                p.keys.remove(slot);
                Ok(())
            })
        })
        .await?;
        self.reload().await
    }
}

fn check(name: &str, cfg: &ProviderConfig) -> Result<()> {
    let problems = validate::provider_config(name, cfg);
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Error::BadRequest(problems.join("; ")))
    }
}

fn find_key(p: &ProviderConfig, id: &str) -> Result<usize> {
    p.keys
        .iter()
        .position(|k| k.id == id)
        .or_else(|| p.keys.iter().position(|k| k.name == id))
        .ok_or_else(|| Error::NotFound(format!("key {id} not found")))
}

fn keep_redacted_value(key: &mut KeyConfig, stored: &[KeyConfig]) {
    let same = stored.iter().find(|s| {
        (!key.id.is_empty() && s.id == key.id) || (key.id.is_empty() && s.name == key.name)
    });
    if let Some(s) = same {
        if key.value.as_configured() == s.value.redacted() {
            key.value = s.value.clone();
        }
        let stored_secret = s
            .azure_key_config
            .as_ref()
            .and_then(|a| a.client_secret.as_ref());
        let sent_secret = key
            .azure_key_config
            .as_mut()
            .and_then(|a| a.client_secret.as_mut());
        if let (Some(sent), Some(stored)) = (sent_secret, stored_secret) {
            if sent.as_configured() == stored.redacted() {
                *sent = stored.clone();
            }
        }
        if let (Some(v), Some(stored)) = (&mut key.vertex_key_config, &s.vertex_key_config) {
            if v.auth_credentials.as_configured() == stored.auth_credentials.redacted() {
                v.auth_credentials = stored.auth_credentials.clone();
            }
        }
        if let (Some(mine), Some(theirs)) = (&mut key.bedrock_key_config, &s.bedrock_key_config) {
            mine.restore_redacted(theirs);
        }
        if key.id.is_empty() {
            key.id = s.id.clone();
        }
    }
}

fn unique_key_name(provider: &str, keys: &[KeyConfig]) -> String {
    (1..)
        .map(|i| format!("{provider}-key-{i}"))
        .find(|n| keys.iter().all(|k| &k.name != n))
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
}
