//! Unit tests of governance: routing choice, reservation math through admission and
//! settlement, the shipped catalog and cost.

use std::sync::Arc;

use serde_json::json;

use super::manage::{self, VkInput};
use super::pricing::{self, Catalog};
use super::routing;
use super::snapshot::{EngineView, GovSnapshot};
use super::types::{Budget, ProviderConfig};
use super::Governance;
use crate::engine::tracking::{RequestRecord, Status};
use crate::engine::{Admission, Admit};
use crate::error::Error;
use crate::schemas::openai::TokenDetails;
use crate::schemas::openai::Usage;
use crate::schemas::RequestType;
use crate::store::ConfigStore;

fn pc(provider: &str, weight: Option<f64>, models: &[&str]) -> ProviderConfig {
    ProviderConfig {
        id: String::new(),
        provider: provider.into(),
        weight,
        allowed_models: models.iter().map(|m| (*m).to_owned()).collect(),
        key_ids: vec!["*".into()],
        budget: None,
        rate_limit: None,
    }
}

/// A governance with one key; returns it with the key's value.
fn governance(input: VkInput) -> (Governance, String, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(ConfigStore::in_memory().unwrap());
    let mut input = input;
    input.name.get_or_insert_with(|| "k".into());
    let (_, value) = manage::create_vk(&store, input).unwrap();
    let (gov, warnings) = Governance::open(store, dir.path()).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    (gov, value, dir)
}

fn admit<'a>(vk: &'a str, model: &str, max_tokens: Option<u64>) -> Admit<'a> {
    Admit {
        request_type: RequestType::ChatCompletion,
        virtual_key: Some(vk),
        model: model.into(),
        fallbacks: vec![],
        estimated_input_tokens: 10,
        max_output_tokens: max_tokens,
        virtual_key_id: None,
        virtual_key_name: None,
        key_filter: None,
    }
}

fn record(provider: &str, model: &str, prompt: u64, completion: u64) -> RequestRecord {
    RequestRecord {
        id: "r".into(),
        timestamp_ms: 0,
        request_type: RequestType::ChatCompletion,
        stream: false,
        provider: provider.into(),
        model: model.into(),
        selected_key_id: None,
        selected_key_name: None,
        number_of_retries: 0,
        fallback_index: 0,
        status: Status::Success,
        latency_ms: 1.0,
        ttft_ms: None,
        usage: Some(Usage {
            prompt_tokens: prompt,
            completion_tokens: completion,
            total_tokens: prompt + completion,
            ..Usage::default()
        }),
        error: None,
        input: None,
        params: None,
        raw_request: None,
        output: None,
        metadata: vec![],
        virtual_key_id: None,
        virtual_key_name: None,
        cost: None,
        telemetry: Default::default(),
    }
}

#[test]
fn weighted_choice_and_automatic_fallbacks() {
    let (gov, _, _dir) = governance(VkInput {
        provider_configs: Some(vec![
            pc("openai", Some(0.7), &["*"]),
            pc("groq", Some(0.3), &["*"]),
            pc("mistral", None, &["*"]),
            pc("anthropic", Some(1.0), &["claude-sonnet-4"]),
        ]),
        ..VkInput::default()
    });
    let snap = gov.snapshot();
    let vk = &snap.keys[0];
    let view = EngineView::default();
    let ok = |_: &super::snapshot::ProviderRt, _: &str| Ok(());
    let low = routing::route(&view, vk, "gpt-4o-mini", &[], ok, 0.5).unwrap();
    assert_eq!(low.model, "openai/gpt-4o-mini");
    assert_eq!(
        low.fallbacks,
        vec!["groq/gpt-4o-mini", "mistral/gpt-4o-mini"],
        "other eligible configs by weight, null last; anthropic does not allow the model"
    );
    let high = routing::route(&view, vk, "gpt-4o-mini", &[], ok, 0.8).unwrap();
    assert_eq!(high.model, "groq/gpt-4o-mini");
    // Client fallbacks are kept when allowed, dropped when not.
    let fb = vec![
        "anthropic/claude-sonnet-4".to_owned(),
        "anthropic/claude-3-haiku".to_owned(),
        "xai/grok-3".to_owned(),
    ];
    let r = routing::route(&view, vk, "gpt-4o-mini", &fb, ok, 0.1).unwrap();
    assert_eq!(r.fallbacks, vec!["anthropic/claude-sonnet-4"]);
    // Explicit provider/model: allowed, model blocked, provider blocked.
    assert!(routing::route(&view, vk, "anthropic/claude-sonnet-4", &[], ok, 0.0).is_ok());
    assert!(matches!(
        routing::route(&view, vk, "anthropic/claude-3-haiku", &[], ok, 0.0),
        Err(Error::ModelBlocked { .. })
    ));
    assert!(matches!(
        routing::route(&view, vk, "xai/grok-3", &[], ok, 0.0),
        Err(Error::ProviderBlocked { .. })
    ));
    // An exhausted config is skipped.
    let no_openai = |p: &super::snapshot::ProviderRt, _: &str| {
        if p.cfg.provider == "openai" {
            Err(Error::BudgetExceeded("x".into()))
        } else {
            Ok(())
        }
    };
    let r = routing::route(&view, vk, "gpt-4o-mini", &[], no_openai, 0.0).unwrap();
    assert_eq!(r.model, "groq/gpt-4o-mini");
    assert_eq!(r.fallbacks, vec!["mistral/gpt-4o-mini"]);
}

#[test]
fn reservations_refuse_what_would_pass_the_budget_and_settle_the_real_cost() {
    // gpt-4o-mini: $0.15 / $0.60 per million tokens. Estimate: 10 in + 100 out
    // = 1500 + 60000 nano-USD = 61.5 micro-USD; budget 100 micro-USD fits one at a time.
    let (gov, value, _dir) = governance(VkInput {
        allow_all_providers: Some(true),
        budget: Some(Some(Budget {
            id: String::new(),
            max_limit: 0.0001,
            reset_duration: "1h".into(),
            calendar_aligned: false,
        })),
        ..VkInput::default()
    });
    let mut first = admit(&value, "openai/gpt-4o-mini", Some(100));
    let settle_first = gov.admit(&mut first).unwrap().unwrap();
    assert_eq!(first.virtual_key_name.as_deref(), Some("k"));
    let mut second = admit(&value, "openai/gpt-4o-mini", Some(100));
    assert!(
        matches!(gov.admit(&mut second), Err(Error::BudgetExceeded(_))),
        "61.5 + 61.5 > 100 while the first is in flight"
    );
    // The first costs 9 in + 3 out = 3.15 micro-USD.
    let mut rec = record("openai", "gpt-4o-mini", 9, 3);
    settle_first.settle(&mut rec);
    assert!((rec.cost.unwrap() - 0.000_003_15).abs() < 1e-12);
    let snap: Arc<GovSnapshot> = gov.snapshot();
    let b = snap.keys[0].budget.as_ref().unwrap();
    assert_eq!((b.counter.spent(), b.counter.used()), (3150, 3150));
    // Now there is room again.
    let mut third = admit(&value, "openai/gpt-4o-mini", Some(100));
    assert!(gov.admit(&mut third).is_ok());
}

#[test]
fn keys_are_checked_before_anything_else() {
    let (gov, value, _dir) = governance(VkInput {
        is_active: Some(false),
        allow_all_providers: Some(true),
        ..VkInput::default()
    });
    let mut a = admit("sk-bf-unknown", "openai/gpt-4o", None);
    assert!(matches!(gov.admit(&mut a), Err(Error::VirtualKeyNotFound)));
    let mut b = admit(&value, "openai/gpt-4o", None);
    assert!(matches!(
        gov.admit(&mut b),
        Err(Error::VirtualKeyBlocked(_))
    ));
    // Without a key and without enforcement, requests are only priced.
    let mut c = admit("", "openai/gpt-4o", None);
    c.virtual_key = None;
    let settler = gov.admit(&mut c).unwrap().unwrap();
    let mut rec = record("openai", "gpt-4o", 1000, 100);
    settler.settle(&mut rec);
    assert!((rec.cost.unwrap() - (1000.0 * 2.5e-6 + 100.0 * 1e-5)).abs() < 1e-12);
}

#[test]
fn unpriced_models_get_no_cost_and_are_reported() {
    let (gov, _, _dir) = governance(VkInput::default());
    let mut a = admit("", "openai/my-own-model", None);
    a.virtual_key = None;
    let settler = gov.admit(&mut a).unwrap().unwrap();
    let mut rec = record("openai", "my-own-model", 10, 10);
    settler.settle(&mut rec);
    assert_eq!(rec.cost, None, "never a silent 0");
    assert_eq!(
        gov.pricing().missing.list(),
        vec![("openai/my-own-model".to_owned(), 1)]
    );
}

#[test]
fn the_shipped_catalog_prices_every_provider() {
    let c = Catalog::embedded();
    for provider in [
        "openai",
        "anthropic",
        "groq",
        "mistral",
        "cerebras",
        "xai",
        "perplexity",
        "openrouter",
        "nebius",
        "parasail",
        "fireworks",
        "deepseek",
        "huggingface",
        "gemini",
        "vertex",
        "azure",
        "bedrock",
        "cohere",
    ] {
        let n = c.prices_for(provider).count();
        assert!(n > 0, "no prices for {provider}");
    }
    let p = c.lookup("anthropic", "claude-sonnet-4-20250514").unwrap();
    assert_eq!(p.input, 3e-6, "date suffixes are stripped");
    assert!(c.lookup("openai", "gpt-4o-2024-08-06").is_some());
    assert!(c.lookup("vertex", "claude-sonnet-4@20250514").is_some());
    assert!(c.lookup("openai", "no-such-model").is_none());
}

#[test]
fn cost_counts_cached_tokens_at_their_price() {
    let p = pricing::Price {
        input: 1.0,
        output: 10.0,
        cache_read: Some(0.1),
        cache_write: Some(1.25),
    };
    let u = Usage {
        prompt_tokens: 100,
        completion_tokens: 2,
        total_tokens: 102,
        prompt_tokens_details: Some(TokenDetails::from_value(
            &json!({"cached_tokens": 60, "cache_creation_tokens": 20}),
        )),
        ..Usage::default()
    };
    let c = pricing::cost(&p, &u);
    assert!((c - (20.0 + 6.0 + 25.0 + 20.0)).abs() < 1e-9, "{c}");
    assert_eq!(pricing::estimate(&p, 10, None), 10.0 + 1024.0 * 10.0);
}
