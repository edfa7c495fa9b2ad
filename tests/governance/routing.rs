//! Virtual-key routing (Bifrost §5.4): a bare model is spread over the key's providers by
//! weight, and the others become automatic fallbacks.

use serde_json::json;

use super::{chat_vk, create_vk, openai_config};
use crate::common::{chat_body, key, provider, within, Gateway};
use crate::mock::Mock;

#[tokio::test]
async fn bare_models_are_routed_by_weight_with_automatic_fallbacks() {
    within(120, async {
        let openai = Mock::openai("openai").await;
        let groq = Mock::openai("groq").await;
        let mut cfg = openai_config(&openai, json!({}));
        cfg["providers"]["groq"] = provider(&groq.url, json!([key("g", "gsk-1")]));
        let gw = Gateway::launch(&cfg, &[]).await;
        let (_, vk) = create_vk(
            &gw,
            json!({"name": "lb", "provider_configs": [
                {"provider": "openai", "weight": 0.7},
                {"provider": "groq", "weight": 0.3}
            ]}),
        )
        .await;
        for i in 0..100 {
            let (status, body) =
                chat_vk(&gw, &vk, &chat_body("gpt-4o-mini", &format!("r{i}"))).await;
            assert_eq!(status, 200, "{body}");
        }
        let (a, b) = (openai.count(), groq.count());
        assert_eq!(a + b, 100);
        assert!(
            (50..=90).contains(&a),
            "openai got {a} of 100 at weight 0.7"
        );
        assert_eq!(
            groq.last().body["model"],
            "gpt-4o-mini",
            "the provider prefix is stripped"
        );

        // openai down: every request routed there falls back to groq automatically.
        openai.fail_always(
            503,
            crate::mock::openai::error("down", "server_error", "down"),
        );
        for i in 0..20 {
            let (status, body) =
                chat_vk(&gw, &vk, &chat_body("gpt-4o-mini", &format!("f{i}"))).await;
            assert_eq!(status, 200, "{body}");
            assert_eq!(
                body["choices"][0]["message"]["content"],
                format!("groq says: f{i}")
            );
        }
        // Fallbacks sent by the client replace the automatic ones.
        let mut body = chat_body("openai/gpt-4o-mini", "explicit");
        body["fallbacks"] = json!([]);
        let (status, _) = chat_vk(&gw, &vk, &body).await;
        assert_eq!(
            status, 503,
            "provider/model bypasses the choice and gets no automatic fallback"
        );
    })
    .await;
}

#[tokio::test]
async fn key_ids_limit_the_provider_keys_a_virtual_key_may_use() {
    within(120, async {
        let openai = Mock::openai("openai").await;
        let mut cfg = openai_config(&openai, json!({}));
        cfg["providers"]["openai"]["keys"] = json!([
            {"id": "key-one", "name": "one", "value": "sk-upstream-1", "models": ["*"], "weight": 1.0},
            {"id": "key-two", "name": "two", "value": "sk-upstream-2", "models": ["*"], "weight": 1.0}
        ]);
        let gw = Gateway::launch(&cfg, &[]).await;
        let (_, only_two) = create_vk(
            &gw,
            json!({"name": "two-only", "provider_configs": [
                {"provider": "openai", "key_ids": ["key-two"]}
            ]}),
        )
        .await;
        for i in 0..20 {
            let (status, body) =
                chat_vk(&gw, &only_two, &chat_body("gpt-4o-mini", &format!("k{i}"))).await;
            assert_eq!(status, 200, "{body}");
            assert_eq!(
                openai.last().bearer(),
                Some("sk-upstream-2"),
                "request {i} used a key outside key_ids"
            );
        }

        // Pinning a key the virtual key does not allow is refused, not honoured.
        let (status, body) = gw
            .post_with(
                "/v1/chat/completions",
                &chat_body("openai/gpt-4o-mini", "pinned"),
                &[("x-bf-vk", &only_two), ("x-bf-api-key", "one")],
            )
            .await;
        assert_eq!(status, 400, "{body}");

        // `[]` allows no key at all (Bifrost v1.5); `["*"]` every key.
        let (_, none) = create_vk(
            &gw,
            json!({"name": "no-keys", "provider_configs": [
                {"provider": "openai", "key_ids": []}
            ]}),
        )
        .await;
        let before = openai.count();
        let (status, body) = chat_vk(&gw, &none, &chat_body("gpt-4o-mini", "none")).await;
        assert!(status >= 400, "{body}");
        assert_eq!(openai.count(), before, "nothing reached the upstream");
        let (_, all) = create_vk(
            &gw,
            json!({"name": "all-keys", "provider_configs": [
                {"provider": "openai", "key_ids": ["*"]}
            ]}),
        )
        .await;
        let mut seen = std::collections::HashSet::new();
        for i in 0..40 {
            let (status, body) =
                chat_vk(&gw, &all, &chat_body("gpt-4o-mini", &format!("a{i}"))).await;
            assert_eq!(status, 200, "{body}");
            seen.extend(openai.last().bearer().map(str::to_owned));
        }
        assert_eq!(seen.len(), 2, "both keys serve a key with key_ids [\"*\"]");
    })
    .await;
}
