//! Virtual keys: every header, the value shown once and never forwarded, enforcement (and its
//! deprecated aliases), and 403s for unknown or inactive keys and disallowed models/providers.

use serde_json::json;

use super::{assert_gov_error, chat_vk, create_vk, openai_config};
use crate::common::{chat_body, within, Gateway};
use crate::mock::Mock;

#[tokio::test]
async fn keys_are_read_from_every_header_and_never_forwarded() {
    within(60, async {
        let openai = Mock::openai("openai").await;
        let gw = Gateway::launch(&openai_config(&openai, json!({})), &[]).await;
        let (id, vk) = create_vk(
            &gw,
            json!({"name": "web", "provider_configs": [{"provider": "openai"}]}),
        )
        .await;
        assert!(vk.starts_with("sk-bf-"), "{vk}");
        let bearer = format!("Bearer {vk}");
        for header in [
            ("x-bf-vk", vk.as_str()),
            ("authorization", bearer.as_str()),
            ("x-api-key", vk.as_str()),
            ("x-goog-api-key", vk.as_str()),
        ] {
            let (status, body) = gw
                .post_with(
                    "/v1/chat/completions",
                    &chat_body("openai/gpt-4o-mini", "hi"),
                    &[header],
                )
                .await;
            assert_eq!(status, 200, "{header:?}: {body}");
            let up = openai.last();
            assert_eq!(
                up.bearer(),
                Some("sk-upstream-1"),
                "the provider key goes upstream"
            );
            assert!(
                up.headers.iter().all(|(_, v)| !v.contains(&vk)),
                "the virtual key never reaches the provider: {:?}",
                up.headers
            );
        }
        // The value was shown once: lists and reads only have its prefix.
        for path in [
            "/api/governance/virtual-keys".to_owned(),
            format!("/api/governance/virtual-keys/{id}"),
        ] {
            let (status, body) = gw.get(&path).await;
            assert_eq!(status, 200);
            let text = body.to_string();
            assert!(!text.contains(&vk), "{path} shows the value: {text}");
            assert!(text.contains(&vk[..10]), "{path} shows the prefix");
        }
        assert!(!gw.stderr().contains(&vk), "the value is never logged");
        // An unknown key is refused before any upstream call.
        let before = openai.count();
        let (status, body) = chat_vk(
            &gw,
            "sk-bf-00000000-0000-0000-0000-000000000000",
            &chat_body("openai/gpt-4o-mini", "x"),
        )
        .await;
        assert_gov_error(status, &body, 403, "virtual_key_not_found");
        assert_eq!(openai.count(), before);
    })
    .await;
}

#[tokio::test]
async fn enforcement_requires_a_key_with_401() {
    within(90, async {
        let openai = Mock::openai("openai").await;
        let variants = [
            json!({"client": {"enforce_auth_on_inference": true}}),
            json!({"client": {"enforce_governance_header": true}}),
            json!({"plugins": [{"enabled": true, "name": "governance", "config": {"is_vk_mandatory": true}}]}),
        ];
        for extra in variants {
            let gw = Gateway::launch(&openai_config(&openai, extra.clone()), &[]).await;
            let (status, body) = gw.chat(&chat_body("openai/gpt-4o-mini", "no key")).await;
            assert_gov_error(status, &body, 401, "virtual_key_required");
            let (_, vk) = create_vk(&gw, json!({"name": "k", "provider_configs": [{"provider": "openai"}]})).await;
            let (status, body) = chat_vk(&gw, &vk, &chat_body("openai/gpt-4o-mini", "key")).await;
            assert_eq!(status, 200, "{extra}: {body}");
        }
        // Without enforcement, a request without a key is served.
        let gw = Gateway::launch(&openai_config(&openai, json!({})), &[]).await;
        assert_eq!(gw.chat(&chat_body("openai/gpt-4o-mini", "free")).await.0, 200);
    })
    .await;
}

#[tokio::test]
async fn inactive_keys_and_disallowed_models_and_providers_get_403() {
    within(60, async {
        let openai = Mock::openai("openai").await;
        let anthropic = Mock::anthropic("anthropic").await;
        let mut cfg = openai_config(&openai, json!({}));
        cfg["providers"]["anthropic"] = crate::common::provider(&anthropic.url, json!([crate::common::key("a", "sk-ant")]));
        let gw = Gateway::launch(&cfg, &[]).await;
        let (id, vk) = create_vk(
            &gw,
            json!({"name": "narrow", "provider_configs": [{"provider": "openai", "allowed_models": ["gpt-4o-mini"]}]}),
        )
        .await;
        assert_eq!(chat_vk(&gw, &vk, &chat_body("openai/gpt-4o-mini", "ok")).await.0, 200);
        let (status, body) = chat_vk(&gw, &vk, &chat_body("openai/gpt-4o", "no")).await;
        assert_gov_error(status, &body, 403, "model_blocked");
        let (status, body) = chat_vk(&gw, &vk, &chat_body("anthropic/claude-3-5-haiku-20241022", "no")).await;
        assert_gov_error(status, &body, 403, "provider_blocked");
        assert_eq!(anthropic.count(), 0);
        // A fallback the key does not allow is dropped, so a failing primary is not rescued
        // by a provider the key may not use.
        openai.fail_next(1, 500, crate::mock::openai::error("boom", "server_error", "x"));
        let mut body = chat_body("openai/gpt-4o-mini", "fb");
        body["fallbacks"] = json!(["anthropic/claude-3-5-haiku-20241022"]);
        let (status, _) = chat_vk(&gw, &vk, &body).await;
        assert_eq!(status, 500);
        assert_eq!(anthropic.count(), 0, "the disallowed fallback was not tried");
        // Deactivated: 403 virtual_key_blocked; reactivated: served again.
        let (status, _) = gw.put(&format!("/api/governance/virtual-keys/{id}"), &json!({"is_active": false})).await;
        assert_eq!(status, 200);
        let (status, body) = chat_vk(&gw, &vk, &chat_body("openai/gpt-4o-mini", "off")).await;
        assert_gov_error(status, &body, 403, "virtual_key_blocked");
        gw.put(&format!("/api/governance/virtual-keys/{id}"), &json!({"is_active": true})).await;
        assert_eq!(chat_vk(&gw, &vk, &chat_body("openai/gpt-4o-mini", "on")).await.0, 200);
        // Deleted: unknown.
        assert_eq!(gw.delete(&format!("/api/governance/virtual-keys/{id}")).await.0, 200);
        let (status, body) = chat_vk(&gw, &vk, &chat_body("openai/gpt-4o-mini", "gone")).await;
        assert_gov_error(status, &body, 403, "virtual_key_not_found");
    })
    .await;
}

#[tokio::test]
async fn config_json_keys_teams_and_customers_are_imported() {
    within(60, async {
        let openai = Mock::openai("openai").await;
        let gov = json!({"governance": {
            "budgets": [{"id": "b-team", "max_limit": 5, "reset_duration": "1M", "current_usage": 1.25}],
            "customers": [{"id": "c1", "name": "acme"}],
            "teams": [{"id": "t1", "name": "platform", "customer_id": "c1", "budget_id": "b-team"}],
            "virtual_keys": [{"id": "vk1", "name": "from-file", "value": "env.E2E_VK", "team_id": "t1",
                              "provider_configs": [{"provider": "openai", "weight": 1, "allowed_models": ["*"]}]}]
        }});
        let value = "sk-bf-11111111-2222-3333-4444-555555555555";
        let gw = Gateway::launch(&openai_config(&openai, gov), &[("E2E_VK", value)]).await;
        let (status, body) = chat_vk(&gw, value, &chat_body("openai/gpt-4o-mini", "file")).await;
        assert_eq!(status, 200, "{body}");
        let q = super::quota(&gw, "vk1").await;
        let team = q["budgets"].as_array().unwrap().iter().find(|b| b["level"] == "team").unwrap().clone();
        let used = team["current_usage"].as_f64().unwrap();
        assert!((used - (1.25 + super::MOCK_COST)).abs() < 1e-9, "seeded usage plus the request: {q}");
        let (_, teams) = gw.get("/api/governance/teams").await;
        assert_eq!(teams["teams"][0]["customer_id"], "c1");
        let (_, customers) = gw.get("/api/governance/customers").await;
        assert_eq!(customers["customers"][0]["name"], "acme");
    })
    .await;
}

#[tokio::test]
async fn sdk_prefixes_take_keys_in_their_own_headers() {
    within(60, async {
        let openai = Mock::openai("openai").await;
        let gw = Gateway::launch(
            &openai_config(
                &openai,
                json!({"client": {"enforce_auth_on_inference": true}}),
            ),
            &[],
        )
        .await;
        let (_, vk) = create_vk(
            &gw,
            json!({"name": "sdk", "provider_configs": [{"provider": "openai"}]}),
        )
        .await;
        let messages = json!({"model": "openai/gpt-4o-mini", "max_tokens": 20,
                              "messages": [{"role": "user", "content": "hi"}]});
        let (status, body) = gw
            .post_with("/anthropic/v1/messages", &messages, &[("x-api-key", &vk)])
            .await;
        assert_eq!(status, 200, "Anthropic SDK style: {body}");
        let (status, _) = gw.post("/anthropic/v1/messages", &messages).await;
        assert_eq!(status, 401, "no key on the Anthropic prefix");
        let generate = json!({"contents": [{"role": "user", "parts": [{"text": "hi"}]}]});
        let path = "/genai/v1beta/models/openai/gpt-4o-mini:generateContent";
        let (status, body) = gw
            .post_with(path, &generate, &[("x-goog-api-key", &vk)])
            .await;
        assert_eq!(status, 200, "GenAI SDK style: {body}");
        let (status, _) = gw
            .post_with(path, &generate, &[("x-goog-api-key", "sk-bf-unknown")])
            .await;
        assert_eq!(status, 403);
        let (status, body) = gw
            .post_with(
                "/openai/v1/chat/completions",
                &chat_body("openai/gpt-4o-mini", "hi"),
                &[("authorization", &format!("Bearer {vk}"))],
            )
            .await;
        assert_eq!(status, 200, "OpenAI SDK style: {body}");
    })
    .await;
}
