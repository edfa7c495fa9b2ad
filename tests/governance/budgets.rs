//! Budgets and rate limits: 402 when a budget is used up, no overspend under 200 concurrent
//! requests, team and customer budgets shared by their keys, 429 with `Retry-After`, provider
//! configs over their limit skipped by routing, and counters that survive a restart.

use std::time::Duration;

use serde_json::json;

use super::{assert_gov_error, chat_vk, create_vk, openai_config, small_chat, spend, MOCK_COST};
use crate::common::{chat_body, http, within, Gateway};
use crate::mock::Mock;

#[tokio::test]
async fn a_used_up_budget_answers_402_and_spend_survives_a_restart() {
    within(90, async {
        let openai = Mock::openai("openai").await;
        let gw = Gateway::launch(&openai_config(&openai, json!({})), &[]).await;
        // Room for a few requests: each costs $0.00000315.
        let (id, vk) = create_vk(
            &gw,
            json!({"name": "small", "provider_configs": [{"provider": "openai"}],
                   "budget": {"max_limit": 0.00001, "reset_duration": "1h"}}),
        )
        .await;
        let mut served = 0;
        let refusal = loop {
            let (status, body) = chat_vk(&gw, &vk, &small_chat("openai/gpt-4o-mini")).await;
            if status != 200 {
                break (status, body);
            }
            served += 1;
            assert!(served < 10, "the budget never ran out");
        };
        assert_gov_error(refusal.0, &refusal.1, 402, "budget_exceeded");
        assert!(served >= 2, "served {served}");
        assert_eq!(
            openai.count(),
            served,
            "refused requests never reach the provider"
        );
        let spent = spend(&gw, &id, "virtual_key").await;
        assert!((spent - served as f64 * MOCK_COST).abs() < 1e-12, "{spent}");
        assert!(spent <= 0.00001 + 1e-12);

        let gw = gw.restart().await;
        let after = spend(&gw, &id, "virtual_key").await;
        assert!(
            (after - spent).abs() < 1e-12,
            "spend after restart {after} != {spent}"
        );
        let (status, body) = chat_vk(&gw, &vk, &small_chat("openai/gpt-4o-mini")).await;
        assert_gov_error(status, &body, 402, "budget_exceeded");
    })
    .await;
}

#[tokio::test]
async fn two_hundred_concurrent_requests_cannot_overspend_a_budget() {
    within(120, async {
        let openai = Mock::openai("openai").await;
        // Slow answers keep all requests in flight together.
        openai.set_delay(Duration::from_millis(150));
        let gw = Gateway::launch(&openai_config(&openai, json!({})), &[]).await;
        let limit = 0.0002;
        let (id, vk) = create_vk(
            &gw,
            json!({"name": "burst", "provider_configs": [{"provider": "openai"}],
                   "budget": {"max_limit": limit, "reset_duration": "1d"}}),
        )
        .await;
        let client = http();
        let url = format!("{}/v1/chat/completions", gw.url);
        let calls = (0..200).map(|_| {
            let (client, url, vk) = (client.clone(), url.clone(), vk.clone());
            tokio::spawn(async move {
                client
                    .post(&url)
                    .header("x-bf-vk", vk)
                    .json(&small_chat("openai/gpt-4o-mini"))
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            })
        });
        let statuses = futures_util::future::join_all(calls).await;
        let ok = statuses.iter().filter(|s| matches!(s, Ok(200))).count();
        let refused = statuses.iter().filter(|s| matches!(s, Ok(402))).count();
        assert_eq!(ok + refused, 200, "only 200s and 402s: {statuses:?}");
        let spent = spend(&gw, &id, "virtual_key").await;
        assert!(
            spent <= limit + MOCK_COST,
            "spent {spent} > limit {limit} + one request"
        );
        assert!(
            (spent - ok as f64 * MOCK_COST).abs() < 1e-9,
            "spent {spent} for {ok} answers"
        );
        assert_eq!(
            openai.count(),
            ok,
            "every success, and only those, reached the provider"
        );
        // Reservations (at most ~$0.0000057 each) let at least this many through at once.
        assert!(ok >= 35, "only {ok} succeeded");
        assert!(refused > 0, "the budget should have run out");
    })
    .await;
}

#[tokio::test]
async fn team_and_customer_budgets_are_shared_by_their_keys() {
    within(90, async {
        let openai = Mock::openai("openai").await;
        let gw = Gateway::launch(&openai_config(&openai, json!({})), &[]).await;
        let (status, c) = gw
            .post("/api/governance/customers", &json!({"name": "acme", "budget": {"max_limit": 0.00002, "reset_duration": "1M"}}))
            .await;
        assert_eq!(status, 200, "{c}");
        let (status, t) = gw
            .post("/api/governance/teams", &json!({"name": "platform", "customer_id": "acme", "budget": {"max_limit": 0.000008, "reset_duration": "1M"}}))
            .await;
        assert_eq!(status, 200, "{t}");
        let team_id = t["team"]["id"].as_str().unwrap().to_owned();
        let pcs = json!([{"provider": "openai"}]);
        let (id1, vk1) = create_vk(&gw, json!({"name": "one", "team_id": team_id, "provider_configs": pcs})).await;
        let (_, vk2) = create_vk(&gw, json!({"name": "two", "team_id": "platform", "provider_configs": pcs})).await;
        let (_, vk3) = create_vk(&gw, json!({"name": "three", "customer_id": "acme", "provider_configs": pcs})).await;
        // Spend the team's budget through key one.
        let mut served = 0;
        while chat_vk(&gw, &vk1, &small_chat("openai/gpt-4o-mini")).await.0 == 200 {
            served += 1;
            assert!(served < 10);
        }
        assert!(served >= 1);
        let (status, body) = chat_vk(&gw, &vk2, &small_chat("openai/gpt-4o-mini")).await;
        assert_gov_error(status, &body, 402, "budget_exceeded");
        assert!(body["error"]["message"].as_str().unwrap().contains("team"), "{body}");
        // Key three is under the customer only: still served, and charged to the customer.
        assert_eq!(chat_vk(&gw, &vk3, &small_chat("openai/gpt-4o-mini")).await.0, 200);
        let customer = spend(&gw, &id1, "customer").await;
        assert!((customer - (served + 1) as f64 * MOCK_COST).abs() < 1e-12, "{customer}");
        let (_, budgets) = gw.get("/api/governance/budgets").await;
        assert_eq!(budgets["count"], 2, "{budgets}");
    })
    .await;
}

#[tokio::test]
async fn rate_limits_answer_429_with_retry_after() {
    within(60, async {
        let openai = Mock::openai("openai").await;
        let gw = Gateway::launch(&openai_config(&openai, json!({})), &[]).await;
        let (_, rpm) = create_vk(
            &gw,
            json!({"name": "rpm", "provider_configs": [{"provider": "openai"}],
                   "rate_limit": {"request_max_limit": 2, "request_reset_duration": "1m"}}),
        )
        .await;
        for _ in 0..2 {
            assert_eq!(
                chat_vk(&gw, &rpm, &chat_body("openai/gpt-4o-mini", "x"))
                    .await
                    .0,
                200
            );
        }
        let resp = http()
            .post(format!("{}/v1/chat/completions", gw.url))
            .header("x-bf-vk", &rpm)
            .json(&chat_body("openai/gpt-4o-mini", "third"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 429);
        let retry: u64 = resp.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=60).contains(&retry), "Retry-After {retry}");
        let body: serde_json::Value = resp.json().await.unwrap();
        assert_gov_error(429, &body, 429, "request_limited");

        // 12 tokens per answer: the third request finds 24 >= 20 tokens used.
        let (_, tpm) = create_vk(
            &gw,
            json!({"name": "tpm", "provider_configs": [{"provider": "openai"}],
                   "rate_limit": {"token_max_limit": 20, "token_reset_duration": "1h"}}),
        )
        .await;
        assert_eq!(
            chat_vk(&gw, &tpm, &chat_body("openai/gpt-4o-mini", "a"))
                .await
                .0,
            200
        );
        assert_eq!(
            chat_vk(&gw, &tpm, &chat_body("openai/gpt-4o-mini", "b"))
                .await
                .0,
            200
        );
        let (status, body) = chat_vk(&gw, &tpm, &chat_body("openai/gpt-4o-mini", "c")).await;
        assert_gov_error(status, &body, 429, "token_limited");
    })
    .await;
}

#[tokio::test]
async fn windows_reset_and_serve_again() {
    within(60, async {
        let openai = Mock::openai("openai").await;
        let gw = Gateway::launch(&openai_config(&openai, json!({})), &[]).await;
        let (_, vk) = create_vk(
            &gw,
            json!({"name": "short", "provider_configs": [{"provider": "openai"}],
                   "rate_limit": {"request_max_limit": 1, "request_reset_duration": "2s"}}),
        )
        .await;
        assert_eq!(
            chat_vk(&gw, &vk, &chat_body("openai/gpt-4o-mini", "1"))
                .await
                .0,
            200
        );
        assert_eq!(
            chat_vk(&gw, &vk, &chat_body("openai/gpt-4o-mini", "2"))
                .await
                .0,
            429
        );
        tokio::time::sleep(Duration::from_millis(2300)).await;
        assert_eq!(
            chat_vk(&gw, &vk, &chat_body("openai/gpt-4o-mini", "3"))
                .await
                .0,
            200
        );
    })
    .await;
}

#[tokio::test]
async fn a_provider_config_over_its_limit_is_skipped_by_routing() {
    within(60, async {
        let openai = Mock::openai("openai").await;
        let groq = Mock::openai("groq").await;
        let mut cfg = openai_config(&openai, json!({}));
        cfg["providers"]["groq"] = crate::common::provider(&groq.url, json!([crate::common::key("g", "gsk-1")]));
        let gw = Gateway::launch(&cfg, &[]).await;
        let (_, vk) = create_vk(
            &gw,
            json!({"name": "split", "provider_configs": [
                {"provider": "openai", "weight": 1.0, "rate_limit": {"request_max_limit": 1, "request_reset_duration": "1h"}},
                {"provider": "groq", "weight": null}
            ]}),
        )
        .await;
        let (status, first) = chat_vk(&gw, &vk, &chat_body("gpt-4o-mini", "one")).await;
        assert_eq!(status, 200, "{first}");
        assert_eq!(first["choices"][0]["message"]["content"], "openai says: one");
        let (status, second) = chat_vk(&gw, &vk, &chat_body("gpt-4o-mini", "two")).await;
        assert_eq!(status, 200, "{second}");
        assert_eq!(second["choices"][0]["message"]["content"], "groq says: two");
        // Naming the exhausted provider explicitly is refused with 429.
        let (status, body) = chat_vk(&gw, &vk, &chat_body("openai/gpt-4o-mini", "three")).await;
        assert_gov_error(status, &body, 429, "request_limited");
    })
    .await;
}
