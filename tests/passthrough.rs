//! Passthrough routes end to end: native requests reach the provider unchanged but for the
//! gateway's key in place of the client's credentials, answers (JSON, SSE, error statuses) come
//! back unchanged, and every request is logged once and governed: a virtual key over its
//! budget is refused on passthrough too, and passthrough spend is charged.

use serde_json::{json, Value};

use crate::common::{assert_error_shape, config, eventually, http, key, provider, within, Gateway};
use crate::governance::{assert_gov_error, create_vk};
use crate::mock::{openai, Mock};

const OPENAI_KEY: &str = "sk-upstream-openai-0123456789";
const ANTHROPIC_KEY: &str = "sk-ant-upstream-0123456789";

async fn gateway(openai: &Mock, anthropic: &Mock) -> Gateway {
    let cfg = config(json!({
        "openai": provider(&openai.url, json!([key("main", "env.E2E_PT_OPENAI")])),
        "anthropic": provider(&anthropic.url, json!([key("claude", "env.E2E_PT_ANTHROPIC")])),
    }));
    Gateway::launch(
        &cfg,
        &[
            ("E2E_PT_OPENAI", OPENAI_KEY),
            ("E2E_PT_ANTHROPIC", ANTHROPIC_KEY),
        ],
    )
    .await
}

/// POSTs raw JSON text with headers; returns status, content type and body text.
async fn post_raw(
    gw: &Gateway,
    path: &str,
    body: &str,
    headers: &[(&str, &str)],
) -> (u16, String, String) {
    let mut req = http()
        .post(format!("{}{path}", gw.url))
        .header("content-type", "application/json")
        .body(body.to_owned());
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let ct = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (status, ct, resp.text().await.unwrap())
}

async fn logs(gw: &Gateway, n: u64) -> Vec<Value> {
    eventually(15, &format!("{n} logs"), || async {
        let (status, body) = gw.get("/api/logs?limit=100").await;
        assert_eq!(status, 200, "{body}");
        (body["pagination"]["total_count"] == n).then(|| body["logs"].as_array().unwrap().clone())
    })
    .await
}

#[tokio::test]
async fn openai_requests_go_upstream_unchanged_with_the_gateways_key() {
    within(60, async {
        let (up, claude) = (Mock::openai("native").await, Mock::anthropic("c").await);
        let gw = gateway(&up, &claude).await;
        // Unknown fields and the client's own formatting survive; the client's key does not.
        let body = r#"{"model":"gpt-4o-mini","messages":[{"role":"user","content":"raw hello"}],"my_field":{"x":1}}"#;
        let (status, ct, text) = post_raw(
            &gw,
            "/openai_passthrough/v1/chat/completions?trace=1",
            body,
            &[
                ("authorization", "Bearer sk-client-own-key"),
                ("openai-organization", "org-e2e"),
                ("x-bf-lh-team", "raw"),
            ],
        )
        .await;
        assert_eq!(status, 200, "{text}");
        assert!(ct.starts_with("application/json"), "{ct}");
        let answer: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(answer["choices"][0]["message"]["content"], "native says: raw hello");
        assert!(answer.get("extra_fields").is_none(), "the answer is the provider's own: {answer}");

        let seen = up.last();
        assert_eq!(seen.method, "POST");
        assert_eq!(seen.path, "/v1/chat/completions");
        assert_eq!(seen.query, "trace=1");
        assert_eq!(seen.bearer(), Some(OPENAI_KEY));
        assert_eq!(seen.header("openai-organization"), Some("org-e2e"));
        assert_eq!(seen.header("x-bf-lh-team"), None);
        assert_eq!(seen.body, serde_json::from_str::<Value>(body).unwrap());

        // GETs go through too.
        let (status, models) = gw.get("/openai_passthrough/v1/models").await;
        assert_eq!(status, 200, "{models}");
        assert_eq!(models["object"], "list");
        assert_eq!(up.last().method, "GET");

        let all = logs(&gw, 2).await;
        let chat = all.iter().find(|l| l["model"] == "gpt-4o-mini").unwrap();
        assert_eq!(chat["object"], "passthrough", "{chat}");
        assert_eq!(chat["provider"], "openai");
        assert_eq!(chat["status"], "success");
        assert_eq!(chat["selected_key_name"], "main");
        assert_eq!(chat["stream"], false);
        assert_eq!(
            chat["token_usage"],
            json!({"prompt_tokens": 9, "completion_tokens": 3, "total_tokens": 12})
        );
        assert!(chat["cost"].as_f64().unwrap() > 0.0, "{chat}");
    })
    .await;
}

#[tokio::test]
async fn streams_come_back_byte_for_byte_and_errors_keep_the_providers_status() {
    within(60, async {
        let (up, claude) = (Mock::openai("native").await, Mock::anthropic("claude").await);
        let gw = gateway(&up, &claude).await;
        let body = r#"{"model":"gpt-4o","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"s"}]}"#;
        let (status, ct, text) =
            post_raw(&gw, "/openai_passthrough/v1/chat/completions", body, &[]).await;
        assert_eq!(status, 200);
        assert!(ct.starts_with("text/event-stream"), "{ct}");
        let pieces: String = crate::common::parse_sse(&text)
            .into_iter()
            .filter_map(|e| match e {
                crate::common::Event::Json(v) => v["choices"][0]["delta"]["content"]
                    .as_str()
                    .map(str::to_owned),
                crate::common::Event::Done => None,
            })
            .collect();
        assert_eq!(pieces, openai::STREAM_PIECES.concat());
        assert!(text.ends_with("data: [DONE]\n\n"), "{text}");
        assert!(!text.contains("extra_fields"), "no gateway fields in a raw stream");

        // Anthropic's native SSE, with the key in x-api-key.
        let body = r#"{"model":"claude-3-5-haiku-20241022","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"hi"}]}"#;
        let (status, _, text) = post_raw(
            &gw,
            "/anthropic_passthrough/v1/messages",
            body,
            &[("x-api-key", "client-key"), ("anthropic-version", "2023-06-01")],
        )
        .await;
        assert_eq!(status, 200, "{text}");
        assert!(text.starts_with("event: message_start\n"), "{text}");
        assert!(text.contains("event: message_stop"), "{text}");
        let seen = claude.last();
        assert_eq!(seen.path, "/v1/messages");
        assert_eq!(seen.header("x-api-key"), Some(ANTHROPIC_KEY));
        assert_eq!(seen.header("anthropic-version"), Some("2023-06-01"));
        assert_eq!(seen.header("authorization"), None);

        // An upstream error is the provider's own answer, status and body.
        up.fail_next(1, 429, openai::error("slow down", "rate_limit_error", "rate_limited"));
        let (status, _, text) = post_raw(
            &gw,
            "/openai_passthrough/v1/chat/completions",
            r#"{"model":"gpt-4o","messages":[]}"#,
            &[],
        )
        .await;
        assert_eq!(status, 429);
        assert_eq!(
            serde_json::from_str::<Value>(&text).unwrap(),
            openai::error("slow down", "rate_limit_error", "rate_limited")
        );

        let all = logs(&gw, 3).await;
        let failed = &all[0];
        assert_eq!(failed["status"], "error", "{failed}");
        assert_eq!(failed["error_details"]["status_code"], 429, "{failed}");
        let streamed = all.iter().find(|l| l["provider"] == "anthropic").unwrap();
        assert_eq!(streamed["object"], "passthrough_stream");
        assert_eq!(streamed["stream"], true);
        assert_eq!(streamed["token_usage"]["prompt_tokens"], 25, "{streamed}");
        assert_eq!(streamed["token_usage"]["completion_tokens"], 15, "{streamed}");
    })
    .await;
}

#[tokio::test]
async fn a_virtual_key_over_budget_is_refused_on_passthrough() {
    within(90, async {
        let (up, claude) = (Mock::openai("native").await, Mock::anthropic("c").await);
        let gw = gateway(&up, &claude).await;
        let (_, vk) = create_vk(
            &gw,
            json!({"name": "pt", "provider_configs": [{"provider": "openai"}],
                   "budget": {"max_limit": 0.00002, "reset_duration": "1h"}}),
        )
        .await;
        // As in the governance tests: a reservation for 6 output tokens fits a few times.
        let body = r#"{"model":"gpt-4o-mini","max_tokens":6,"messages":[{"role":"user","content":"count the budget reservations, please"}]}"#;
        let bearer = format!("Bearer {vk}");
        let mut served = 0;
        let (status, text) = loop {
            let (status, _, text) = post_raw(
                &gw,
                "/openai_passthrough/v1/chat/completions",
                body,
                &[("authorization", bearer.as_str())],
            )
            .await;
            if status != 200 {
                break (status, text);
            }
            served += 1;
            assert!(served < 10, "passthrough spend was never charged");
        };
        let err: Value = serde_json::from_str(&text).unwrap();
        assert_gov_error(status, &err, 402, "budget_exceeded");
        assert!(served >= 2, "served {served}");
        assert_eq!(up.count(), served, "refused requests never reach the provider");
        // The virtual key never travels upstream.
        assert!(up.requests().iter().all(|r| r.bearer() == Some(OPENAI_KEY)));

        // The route's provider cannot be switched.
        let (status, _, text) = post_raw(
            &gw,
            "/openai_passthrough/v1/chat/completions",
            body,
            &[("authorization", bearer.as_str()), ("x-model-provider", "anthropic")],
        )
        .await;
        assert_eq!(status, 400, "{text}");
        assert_eq!(up.count(), served);

        // An unknown virtual key is refused too.
        let (status, _, text) = post_raw(
            &gw,
            "/openai_passthrough/v1/chat/completions",
            body,
            &[("x-bf-vk", "sk-bf-unknown")],
        )
        .await;
        let err: Value = serde_json::from_str(&text).unwrap();
        assert_gov_error(status, &err, 403, "virtual_key_not_found");
    })
    .await;
}

#[tokio::test]
async fn genai_requests_reach_the_gemini_provider_with_its_key_in_x_goog_api_key() {
    within(60, async {
        const GEMINI_KEY: &str = "AIza-upstream-gemini-0123456789";
        let google = Mock::gemini("google").await;
        let cfg = config(json!({
            "gemini": provider(&google.url, json!([key("g", "env.E2E_PT_GEMINI")])),
        }));
        let gw = Gateway::launch(&cfg, &[("E2E_PT_GEMINI", GEMINI_KEY)]).await;
        let body = r#"{"contents":[{"role":"user","parts":[{"text":"native hello"}]}],"generationConfig":{"maxOutputTokens":20}}"#;
        let (status, ct, text) = post_raw(
            &gw,
            "/genai_passthrough/v1beta/models/gemini-2.0-flash:generateContent",
            body,
            &[("x-goog-api-key", "AIza-client-own-key")],
        )
        .await;
        assert_eq!(status, 200, "{text}");
        assert!(ct.starts_with("application/json"), "{ct}");
        let answer: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            answer["candidates"][0]["content"]["parts"][0]["text"],
            "google says: native hello"
        );

        let seen = google.last();
        assert_eq!(seen.method, "POST");
        assert_eq!(seen.path, "/v1beta/models/gemini-2.0-flash:generateContent");
        assert_eq!(seen.header("x-goog-api-key"), Some(GEMINI_KEY));
        assert_eq!(seen.body, serde_json::from_str::<Value>(body).unwrap());

        let all = logs(&gw, 1).await;
        assert_eq!(all[0]["object"], "passthrough", "{}", all[0]);
        assert_eq!(all[0]["provider"], "gemini");
        assert_eq!(all[0]["model"], "gemini-2.0-flash");
        assert_eq!(all[0]["token_usage"]["prompt_tokens"], 25);
        assert_eq!(all[0]["token_usage"]["completion_tokens"], 15);
    })
    .await;
}

#[tokio::test]
async fn a_passthrough_to_an_unconfigured_provider_is_a_bifrost_error() {
    within(60, async {
        let (up, claude) = (Mock::openai("native").await, Mock::anthropic("c").await);
        let gw = gateway(&up, &claude).await;
        let (status, body) = gw
            .post(
                "/genai_passthrough/v1beta/models/gemini-2.5-flash:generateContent",
                &json!({"contents": [{"parts": [{"text": "hi"}]}]}),
            )
            .await;
        assert_eq!(status, 400, "{body}");
        assert_error_shape(&body, 400);
        assert_eq!(up.count() + claude.count(), 0);
    })
    .await;
}

#[tokio::test]
async fn a_stream_is_forwarded_chunk_by_chunk_not_buffered() {
    within(60, async {
        let (up, claude) = (Mock::openai("native").await, Mock::anthropic("c").await);
        let gw = gateway(&up, &claude).await;
        // The mock sends one event, then waits until released.
        let gate = up.gate_streams();
        let resp = http()
            .post(format!("{}/openai_passthrough/v1/chat/completions", gw.url))
            .json(&json!({"model": "gpt-4o", "stream": true, "messages": [{"role": "user", "content": "x"}]}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let mut reader = crate::common::SseReader::new(resp);
        let first = tokio::time::timeout(std::time::Duration::from_secs(5), reader.next())
            .await
            .expect("the first event arrives while the upstream still holds the rest");
        assert!(matches!(first, Some(crate::common::Event::Json(_))));
        gate.notify_one();
        let mut rest = 0;
        while let Some(ev) = reader.next().await {
            rest += 1;
            if ev == crate::common::Event::Done {
                break;
            }
        }
        assert!(rest >= 3, "{rest} events after the gate");
    })
    .await;
}
