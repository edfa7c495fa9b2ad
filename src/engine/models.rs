//! `GET /v1/models`: the models each provider's keys list, joined with the provider's own
//! list where it has one.

use std::collections::BTreeSet;
use std::sync::Arc;

use futures_util::future::join_all;

use super::attempt::resolve_key;
use super::snapshot::ProviderRuntime;
use super::Gateway;
use crate::error::{Error, Result};
use crate::providers::Call;
use crate::schemas::openai::{Model, ModelList};
use crate::schemas::RequestType;

impl Gateway {
    /// All models of all providers, or of `only` one, with `provider/` prefixed ids. A provider
    /// whose upstream list fails still contributes the models its keys name.
    pub async fn list_models(&self, only: Option<&str>) -> Result<ModelList> {
        let snap = self.snapshot();
        let mut providers: Vec<Arc<ProviderRuntime>> = match only {
            Some(name) => {
                vec![Arc::clone(snap.providers.get(name).ok_or_else(|| {
                    Error::ProviderNotConfigured(name.to_owned())
                })?)]
            }
            None => snap.providers.values().cloned().collect(),
        };
        providers.sort_by(|a, b| a.name.cmp(&b.name));
        let lists = join_all(providers.iter().map(|p| provider_models(p))).await;
        Ok(ModelList {
            object: "list".into(),
            data: lists.into_iter().flatten().collect(),
        })
    }
}

async fn provider_models(p: &ProviderRuntime) -> Vec<Model> {
    let mut listed: BTreeSet<String> = p
        .keys
        .iter()
        .flat_map(|k| k.listed_models())
        .map(str::to_owned)
        .collect();
    let restricts = !p.keys.is_empty() && p.keys.iter().all(|k| !k.lists_all_models());
    let mut upstream: Vec<Model> = Vec::new();
    if p.supports(RequestType::ListModels) {
        match fetch(p).await {
            Ok(models) => upstream = models,
            Err(e) => {
                tracing::debug!(provider = %p.name, error = %e, "upstream model list unavailable")
            }
        }
    }
    let mut out = Vec::new();
    for mut m in upstream {
        // Keys that name their models limit what the provider offers through the gateway.
        if restricts && !listed.contains(&m.id) {
            continue;
        }
        listed.remove(&m.id);
        m.id = format!("{}/{}", p.name, m.id);
        out.push(m);
    }
    out.extend(listed.into_iter().map(|id| Model {
        id: format!("{}/{id}", p.name),
        object: "model".into(),
        created: 0,
        owned_by: p.name.clone(),
    }));
    out
}

async fn fetch(p: &ProviderRuntime) -> Result<Vec<Model>> {
    let key = p.keys.iter().find(|k| {
        !matches!(
            k.value.resolve(),
            crate::config::secret::Resolved::MissingEnv(_)
        )
    });
    if key.is_none() && !p.keys.is_empty() {
        return Err(Error::Config(format!(
            "no usable key for provider {}",
            p.name
        )));
    }
    let secret = resolve_key(p, key)?;
    let base_url = key
        .and_then(|k| k.vllm.as_ref().map(|(u, _)| u.as_str()))
        .or(p.base_url.as_deref())
        .ok_or_else(|| {
            Error::Config(format!(
                "providers.{}.network_config.base_url is not set",
                p.name
            ))
        })?;
    let call = Call {
        provider: &p.name,
        base_url,
        path_prefix: p.vendor.path_prefix,
        api_key: secret.as_ref(),
        key_config: key.map(|k| &*k.config),
        model: "",
        extra_headers: &p.extra_headers,
        passthrough_extra: false,
        timeout: p.timeout().min(std::time::Duration::from_secs(10)),
        path_override: p.path_override(RequestType::ListModels),
    };
    p.client.list_models(&call).await
}
