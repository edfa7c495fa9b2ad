//! Cost: the shipped catalog, provider `pricing_overrides`, missing prices reported (never a
//! silent 0), and the optional `framework.pricing.pricing_url` refresh.

use serde_json::json;

use super::{chat_vk, create_vk, openai_config, spend, MOCK_COST};
use crate::common::{chat_body, within, Gateway};
use crate::mock::Mock;

fn budget_key(name: &str) -> serde_json::Value {
    json!({"name": name, "provider_configs": [{"provider": "openai"}],
           "budget": {"max_limit": 100, "reset_duration": "1M"}})
}

#[tokio::test]
async fn overrides_replace_catalog_prices_and_missing_prices_are_reported() {
    within(60, async {
        let openai = Mock::openai("openai").await;
        let mut cfg = openai_config(&openai, json!({}));
        cfg["providers"]["openai"]["pricing_overrides"] = json!([
            {"model_pattern": "gpt-4o-mini", "match_type": "exact",
             "input_cost_per_token": 0.000001, "output_cost_per_token": 0.000002},
            {"model_pattern": "^ft:.*$", "match_type": "regex", "input_cost_per_token": 0.00001}
        ]);
        let gw = Gateway::launch(&cfg, &[]).await;
        let (id, vk) = create_vk(&gw, budget_key("priced")).await;
        assert_eq!(
            chat_vk(&gw, &vk, &chat_body("openai/gpt-4o-mini", "x"))
                .await
                .0,
            200
        );
        let spent = spend(&gw, &id, "virtual_key").await;
        assert!(
            (spent - (9.0 * 1e-6 + 3.0 * 2e-6)).abs() < 1e-12,
            "exact override: {spent}"
        );
        assert_eq!(
            chat_vk(&gw, &vk, &chat_body("openai/ft:gpt-4o:acme", "x"))
                .await
                .0,
            200
        );
        let spent2 = spend(&gw, &id, "virtual_key").await;
        assert!(
            (spent2 - spent - 9.0 * 1e-5).abs() < 1e-12,
            "regex override: {spent2}"
        );
        // The catalog's own price for a model without an override.
        assert_eq!(
            chat_vk(&gw, &vk, &chat_body("openai/gpt-4o", "x")).await.0,
            200
        );
        let spent3 = spend(&gw, &id, "virtual_key").await;
        assert!(
            (spent3 - spent2 - (9.0 * 2.5e-6 + 3.0 * 1e-5)).abs() < 1e-12,
            "{spent3}"
        );
        // Unpriced: served, no cost charged, reported.
        assert_eq!(
            chat_vk(&gw, &vk, &chat_body("openai/house-model-7", "x"))
                .await
                .0,
            200
        );
        assert_eq!(spend(&gw, &id, "virtual_key").await, spent3);
        let (status, missing) = gw.get("/api/governance/pricing/missing").await;
        assert_eq!(status, 200);
        assert_eq!(
            missing["models"][0]["model"], "openai/house-model-7",
            "{missing}"
        );
        assert_eq!(missing["models"][0]["requests"], 1);
        assert!(
            gw.stderr().contains("no price known"),
            "a warning names the model once"
        );
    })
    .await;
}

#[tokio::test]
async fn pricing_url_refreshes_prices_and_an_unreachable_one_changes_nothing() {
    within(60, async {
        // A datasheet of our own on a local port.
        let sheet = axum::Router::new().route(
            "/datasheet",
            axum::routing::get(|| async {
                axum::Json(json!({"openai/gpt-4o-mini": {"input_cost_per_token": 0.00001, "output_cost_per_token": 0.00001}}))
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move { axum::serve(listener, sheet).await.unwrap() });
        let openai = Mock::openai("openai").await;
        let cfg = openai_config(&openai, json!({"framework": {"pricing": {"pricing_url": format!("http://{addr}/datasheet")}}}));
        let gw = Gateway::launch(&cfg, &[]).await;
        let (id, vk) = create_vk(&gw, budget_key("refreshed")).await;
        crate::common::eventually(10, "the refreshed price is used", || async {
            let before = spend(&gw, &id, "virtual_key").await;
            assert_eq!(chat_vk(&gw, &vk, &chat_body("openai/gpt-4o-mini", "x")).await.0, 200);
            let cost = spend(&gw, &id, "virtual_key").await - before;
            ((cost - 12.0 * 1e-5).abs() < 1e-12).then_some(())
        })
        .await;
        server.abort();

        // Unreachable: the server starts anyway and keeps the shipped prices.
        let cfg = openai_config(&openai, json!({"framework": {"pricing": {"pricing_url": "http://127.0.0.1:9/none"}}}));
        let gw = Gateway::launch(&cfg, &[]).await;
        let (id, vk) = create_vk(&gw, budget_key("shipped")).await;
        assert_eq!(chat_vk(&gw, &vk, &chat_body("openai/gpt-4o-mini", "x")).await.0, 200);
        assert!((spend(&gw, &id, "virtual_key").await - MOCK_COST).abs() < 1e-12);
    })
    .await;
}
