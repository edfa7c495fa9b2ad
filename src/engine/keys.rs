//! Key identity and selection: which of a provider's keys serves a request (Bifrost §5.1).

use std::collections::BTreeMap;
use std::sync::Arc;

use rand::Rng;

use crate::config::secret::SecretRef;
use crate::config::KeyConfig;
use crate::error::{Error, Result};

/// Gives every key a name and a stable id. Ids derive from provider and name, so re-importing
/// an edited config.json keeps the ids that `x-bf-api-key-id` pins refer to.
pub fn assign_key_identities(provider: &str, keys: &mut [KeyConfig]) {
    for (i, key) in keys.iter_mut().enumerate() {
        if key.name.is_empty() {
            key.name = format!("{provider}-key-{}", i + 1);
        }
        if key.id.is_empty() {
            let seed = format!("bifrost:{provider}:{}", key.name);
            key.id = uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_URL, seed.as_bytes()).to_string();
        }
    }
}

/// A key as the request path uses it.
#[derive(Debug, Clone)]
pub struct RuntimeKey {
    /// Stable id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Value as configured; resolved per request.
    pub value: SecretRef,
    /// Weight × 100 as an integer, Bifrost's rounding.
    weight: u64,
    enabled: bool,
    all_models: bool,
    models: Vec<String>,
    blacklist: Vec<String>,
    /// Logical → upstream model names.
    pub aliases: BTreeMap<String, String>,
    /// vLLM per-key server: (url, model_name).
    pub vllm: Option<(String, String)>,
    /// The key as configured, for wire formats that read more than its value
    /// (`azure_key_config`, `vertex_key_config`, `bedrock_key_config`).
    pub config: Arc<KeyConfig>,
}

impl RuntimeKey {
    /// Prepares a configured key.
    pub fn new(k: &KeyConfig) -> Self {
        Self {
            id: k.id.clone(),
            name: k.name.clone(),
            value: k.value.clone(),
            // Weights are small positive floats; the product fits easily.
            weight: (k.weight * 100.0).round().clamp(0.0, 1e12) as u64,
            enabled: k.enabled,
            all_models: k.models.iter().any(|m| m == "*"),
            models: k.models.clone(),
            blacklist: k.blacklisted_models.clone(),
            aliases: upstream_names(k),
            vllm: k
                .vllm_key_config
                .as_ref()
                .map(|v| (v.url.trim_end_matches('/').to_owned(), v.model_name.clone())),
            config: Arc::new(k.clone()),
        }
    }

    /// Whether this key may serve `model`: enabled, not blacklisted, listed (`["*"]` lists
    /// everything, `[]` nothing; an alias counts as listed), and for vLLM keys, its one model.
    pub fn serves(&self, model: &str) -> bool {
        if !self.enabled || self.blacklist.iter().any(|m| m == model) {
            return false;
        }
        if let Some((_, served)) = &self.vllm {
            if !served.is_empty() && served != model {
                return false;
            }
        }
        // An Azure key with deployments serves only the models it has a deployment for
        // (Bifrost's rule).
        if let Some(azure) = &self.config.azure_key_config {
            if !azure.deployments.is_empty()
                && !azure.deployments.contains_key(model)
                && !self.config.aliases.contains_key(model)
            {
                return false;
            }
        }
        self.all_models
            || self.models.iter().any(|m| m == model)
            || self.aliases.contains_key(model)
    }

    /// Whether the key's `models` is `["*"]`.
    pub fn lists_all_models(&self) -> bool {
        self.all_models
    }

    /// The model name to send upstream.
    pub fn upstream_model<'a>(&'a self, model: &'a str) -> &'a str {
        self.aliases.get(model).map_or(model, String::as_str)
    }

    /// Model names this key lists explicitly (for `/v1/models`).
    pub fn listed_models(&self) -> impl Iterator<Item = &str> {
        self.models
            .iter()
            .filter(|m| m.as_str() != "*")
            .map(String::as_str)
            .chain(self.aliases.keys().map(String::as_str))
            .chain(
                self.vllm
                    .iter()
                    .map(|(_, m)| m.as_str())
                    .filter(|m| !m.is_empty()),
            )
    }
}

/// Logical → upstream model names: the key's aliases, then its Azure deployments (an alias
/// wins when both name a model).
fn upstream_names(k: &KeyConfig) -> BTreeMap<String, String> {
    let mut names = k.aliases.clone();
    if let Some(azure) = &k.azure_key_config {
        for (model, deployment) in &azure.deployments {
            names
                .entry(model.clone())
                .or_insert_with(|| deployment.clone());
        }
    }
    names
}

/// A key the client asked for by header.
#[derive(Debug, Clone, Copy, Default)]
pub struct KeyPin<'a> {
    /// `x-bf-api-key-id`; wins over the name.
    pub id: Option<&'a str>,
    /// `x-bf-api-key`.
    pub name: Option<&'a str>,
}

/// Chooses a key for `model` among the keys `allowed` accepts (a virtual key's `key_ids`): a
/// pinned one, else a weighted random pick among the keys that serve the model, avoiding the
/// ones already tried when others remain (retries prefer another key). Returns the index into
/// `keys`.
pub fn select(
    provider: &str,
    keys: &[RuntimeKey],
    model: &str,
    pin: KeyPin<'_>,
    allowed: &dyn Fn(&RuntimeKey) -> bool,
    tried: &[usize],
) -> Result<usize> {
    let eligible = |i: &usize| keys[*i].serves(model) && allowed(&keys[*i]);
    if let Some(wanted) = pin.id.or(pin.name) {
        let by_id = pin.id.is_some();
        return (0..keys.len())
            .filter(eligible)
            .find(|&i| {
                if by_id {
                    keys[i].id == wanted
                } else {
                    keys[i].name == wanted
                }
            })
            .ok_or_else(|| Error::PinnedKeyNotFound {
                provider: provider.to_owned(),
                wanted: wanted.to_owned(),
            });
    }
    let mut candidates: Vec<usize> = (0..keys.len()).filter(eligible).collect();
    if candidates.is_empty() {
        return Err(Error::NoKeyForModel {
            provider: provider.to_owned(),
            model: model.to_owned(),
        });
    }
    if candidates.len() > 1 && candidates.iter().any(|i| !tried.contains(i)) {
        candidates.retain(|i| !tried.contains(i));
    }
    if candidates.len() == 1 {
        return Ok(candidates[0]);
    }
    let total: u64 = candidates.iter().map(|&i| keys[i].weight).sum();
    let mut rng = rand::rng();
    if total == 0 {
        return Ok(candidates[rng.random_range(0..candidates.len())]);
    }
    let mut point = rng.random_range(0..total);
    for &i in &candidates {
        if point < keys[i].weight {
            return Ok(i);
        }
        point -= keys[i].weight;
    }
    Ok(candidates[candidates.len() - 1])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(name: &str, weight: f64, models: &[&str]) -> RuntimeKey {
        let mut k = KeyConfig {
            name: name.into(),
            weight,
            models: models.iter().map(|m| m.to_string()).collect(),
            ..KeyConfig::default()
        };
        assign_key_identities("openai", std::slice::from_mut(&mut k));
        RuntimeKey::new(&k)
    }

    #[test]
    fn model_lists_follow_v1_5_semantics() {
        assert!(key("a", 1.0, &["*"]).serves("gpt-4o"));
        assert!(!key("a", 1.0, &[]).serves("gpt-4o"));
        assert!(key("a", 1.0, &["gpt-4o"]).serves("gpt-4o"));
        assert!(!key("a", 1.0, &["gpt-4o"]).serves("gpt-4o-mini"));
    }

    const ANY: fn(&RuntimeKey) -> bool = |_| true;

    #[test]
    fn a_filter_leaves_only_the_keys_it_allows() {
        let keys = vec![key("a", 1.0, &["*"]), key("b", 1.0, &["*"])];
        let only_b = |k: &RuntimeKey| k.name == "b";
        for _ in 0..50 {
            assert_eq!(
                select("p", &keys, "m", KeyPin::default(), &only_b, &[]).unwrap(),
                1
            );
        }
        let pin_a = KeyPin {
            id: None,
            name: Some("a"),
        };
        assert!(matches!(
            select("p", &keys, "m", pin_a, &only_b, &[]),
            Err(Error::PinnedKeyNotFound { .. })
        ));
        let none = |_: &RuntimeKey| false;
        assert!(matches!(
            select("p", &keys, "m", KeyPin::default(), &none, &[]),
            Err(Error::NoKeyForModel { .. })
        ));
    }

    #[test]
    fn weights_shape_the_choice() {
        let keys = vec![key("heavy", 0.9, &["*"]), key("light", 0.1, &["*"])];
        let mut heavy = 0;
        for _ in 0..2000 {
            if select("openai", &keys, "m", KeyPin::default(), &ANY, &[]).unwrap() == 0 {
                heavy += 1;
            }
        }
        assert!(
            (1650..=1950).contains(&heavy),
            "heavy chosen {heavy} of 2000"
        );
    }

    #[test]
    fn retries_prefer_another_key_and_pins_are_exact() {
        let keys = vec![key("a", 1.0, &["*"]), key("b", 1.0, &["*"])];
        for _ in 0..50 {
            assert_eq!(
                select("p", &keys, "m", KeyPin::default(), &ANY, &[0]).unwrap(),
                1
            );
        }
        let pin = KeyPin {
            id: None,
            name: Some("b"),
        };
        assert_eq!(select("p", &keys, "m", pin, &ANY, &[]).unwrap(), 1);
        let pin = KeyPin {
            id: Some(&keys[0].id),
            name: Some("b"),
        };
        assert_eq!(
            select("p", &keys, "m", pin, &ANY, &[]).unwrap(),
            0,
            "id wins over name"
        );
        let pin = KeyPin {
            id: None,
            name: Some("zzz"),
        };
        assert!(matches!(
            select("p", &keys, "m", pin, &ANY, &[]),
            Err(Error::PinnedKeyNotFound { .. })
        ));
        assert!(matches!(
            select(
                "p",
                &[key("x", 1.0, &["other"])],
                "m",
                KeyPin::default(),
                &ANY,
                &[]
            ),
            Err(Error::NoKeyForModel { .. })
        ));
    }

    #[test]
    fn azure_deployments_name_the_upstream_model_and_limit_the_models() {
        let k = RuntimeKey::new(&KeyConfig {
            name: "az".into(),
            azure_key_config: Some(crate::config::AzureKeyConfig {
                deployments: BTreeMap::from([("gpt-4o".to_owned(), "prod-gpt4o".to_owned())]),
                ..Default::default()
            }),
            ..KeyConfig::default()
        });
        assert!(k.serves("gpt-4o"));
        assert!(!k.serves("gpt-4o-mini"));
        assert_eq!(k.upstream_model("gpt-4o"), "prod-gpt4o");
        let open = RuntimeKey::new(&KeyConfig {
            azure_key_config: Some(crate::config::AzureKeyConfig::default()),
            ..KeyConfig::default()
        });
        assert!(open.serves("anything"));
        assert_eq!(open.upstream_model("anything"), "anything");
    }

    #[test]
    fn ids_are_stable_across_imports() {
        let mut a = vec![KeyConfig {
            name: "k".into(),
            ..KeyConfig::default()
        }];
        let mut b = a.clone();
        assign_key_identities("openai", &mut a);
        assign_key_identities("openai", &mut b);
        assert_eq!(a[0].id, b[0].id);
    }
}
