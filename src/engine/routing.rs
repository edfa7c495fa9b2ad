//! `provider/model` parsing (Bifrost §1.3) and the fallback chain (§5.3).

use std::sync::Arc;

use super::snapshot::{ProviderRuntime, Snapshot};
use crate::error::{Error, Result};
use crate::providers::vendors;

/// A provider and the model to ask of it.
#[derive(Debug, Clone)]
pub struct Target {
    /// The provider.
    pub provider: Arc<ProviderRuntime>,
    /// The model, without the provider prefix.
    pub model: String,
}

/// Splits on the first `/` when the prefix is a configured or built-in provider name, so
/// `meta-llama/Llama-3` alone stays a bare model name.
pub fn split<'m>(snap: &Snapshot, model: &'m str) -> Option<(&'m str, &'m str)> {
    let (prefix, rest) = model.split_once('/')?;
    let known = snap.providers.contains_key(prefix) || vendors::builtin(prefix).is_some();
    (known && !rest.is_empty()).then_some((prefix, rest))
}

/// The primary target of a request.
pub fn target(snap: &Snapshot, model: &str) -> Result<Target> {
    if model.trim().is_empty() {
        return Err(Error::BadRequest("model is required".into()));
    }
    let (provider, model) = split(snap, model)
        .ok_or_else(|| Error::BadRequest("model should be in provider/model format".into()))?;
    let runtime = snap
        .providers
        .get(provider)
        .ok_or_else(|| Error::ProviderNotConfigured(provider.to_owned()))?;
    Ok(Target {
        provider: Arc::clone(runtime),
        model: model.to_owned(),
    })
}

/// The fallback targets; entries that do not parse or name an unconfigured provider are
/// dropped, as Bifrost does.
pub fn fallbacks<'a>(
    snap: &'a Snapshot,
    fallbacks: &'a [String],
) -> impl Iterator<Item = Target> + 'a {
    fallbacks.iter().filter_map(move |f| target(snap, f).ok())
}
