//! Key selection: weights, model filters, pins by name and id, aliases, and `env.VAR` values
//! resolved at request time.

use std::collections::HashMap;

use futures_util::StreamExt;
use serde_json::json;

use crate::common::{assert_error_shape, chat_body, config, key, provider, within, Gateway};
use crate::mock::Mock;

#[tokio::test]
async fn weighted_keys_share_requests_by_weight() {
    within(120, async {
        let mock = Mock::openai("upstream").await;
        let mut heavy = key("heavy", "env.E2E_HEAVY");
        heavy["weight"] = json!(0.8);
        let mut light = key("light", "env.E2E_LIGHT");
        light["weight"] = json!(0.2);
        let cfg = config(json!({"openai": provider(&mock.url, json!([heavy, light]))}));
        let gw = Gateway::launch(
            &cfg,
            &[("E2E_HEAVY", "sk-heavy"), ("E2E_LIGHT", "sk-light")],
        )
        .await;

        const N: usize = 200;
        let statuses: Vec<u16> = futures_util::stream::iter(0..N)
            .map(|i| {
                let gw = &gw;
                async move {
                    gw.chat(&chat_body("openai/gpt-4o-mini", &format!("n{i}")))
                        .await
                        .0
                }
            })
            .buffer_unordered(16)
            .collect()
            .await;
        assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
        let mut seen: HashMap<String, usize> = HashMap::new();
        for r in mock.requests() {
            *seen
                .entry(r.bearer().unwrap_or("<none>").to_owned())
                .or_default() += 1;
        }
        let heavy = seen.get("sk-heavy").copied().unwrap_or(0);
        let light = seen.get("sk-light").copied().unwrap_or(0);
        assert_eq!(heavy + light, N, "{seen:?}");
        // Expected 160/40; the bounds are about 7 standard deviations wide.
        assert!(
            (120..=190).contains(&heavy),
            "heavy key served {heavy} of {N}: {seen:?}"
        );
        assert!(light >= 10, "light key served {light} of {N}");
    })
    .await;
}

#[tokio::test]
async fn model_filters_pins_and_aliases() {
    within(60, async {
        let mock = Mock::openai("upstream").await;
        let mut mini = key("mini-only", "env.E2E_MINI");
        mini["models"] = json!(["gpt-4o-mini"]);
        let mut big = key("big-only", "env.E2E_BIG");
        big["models"] = json!(["gpt-4o", "fast"]);
        big["aliases"] = json!({"fast": "gpt-4o-2024-08-06"});
        let mut off = key("disabled", "env.E2E_OFF");
        off["enabled"] = json!(false);
        let all = key("all", "env.E2E_ALL");
        let cfg = config(json!({"openai": provider(&mock.url, json!([mini, big, off, all]))}));
        let env = [
            ("E2E_MINI", "sk-mini"),
            ("E2E_BIG", "sk-big"),
            ("E2E_OFF", "sk-off"),
            ("E2E_ALL", "sk-all"),
        ];
        let gw = Gateway::launch(&cfg, &env).await;

        // gpt-4o-mini: only "mini-only" and "all" serve it; the disabled key never.
        for _ in 0..20 {
            let (status, resp) = gw.chat(&chat_body("openai/gpt-4o-mini", "m")).await;
            assert_eq!(status, 200, "{resp}");
        }
        let used: Vec<String> = mock
            .requests()
            .iter()
            .map(|r| r.bearer().unwrap().to_owned())
            .collect();
        assert!(
            used.iter().all(|k| k == "sk-mini" || k == "sk-all"),
            "{used:?}"
        );

        // A pin by name wins over the weights.
        for _ in 0..10 {
            let (status, resp) = gw
                .post_with(
                    "/v1/chat/completions",
                    &chat_body("openai/gpt-4o", "p"),
                    &[("x-bf-api-key", "big-only")],
                )
                .await;
            assert_eq!(status, 200, "{resp}");
            assert_eq!(mock.last().bearer(), Some("sk-big"));
        }

        // A pin by id (ids come from the management API).
        let (_, p) = gw.get("/api/providers/openai").await;
        let all_id = p["keys"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["name"] == "all")
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let (status, _) = gw
            .post_with(
                "/v1/chat/completions",
                &chat_body("openai/gpt-4o", "p"),
                &[("x-bf-api-key-id", &all_id)],
            )
            .await;
        assert_eq!(status, 200);
        assert_eq!(mock.last().bearer(), Some("sk-all"));

        // Pinning a key that does not exist, or that does not serve the model, is an error.
        let before = mock.count();
        let (status, err) = gw
            .post_with(
                "/v1/chat/completions",
                &chat_body("openai/gpt-4o", "p"),
                &[("x-bf-api-key", "nope")],
            )
            .await;
        assert_eq!(status, 400, "{err}");
        assert!(assert_error_shape(&err, 400).contains("nope"), "{err}");
        let (status, _) = gw
            .post_with(
                "/v1/chat/completions",
                &chat_body("openai/gpt-4o", "p"),
                &[("x-bf-api-key", "mini-only")],
            )
            .await;
        assert_eq!(status, 400);
        assert_eq!(mock.count(), before);

        // An alias maps the logical name to the upstream name for the key that defines it.
        let (status, resp) = gw
            .post_with(
                "/v1/chat/completions",
                &chat_body("openai/fast", "quick"),
                &[("x-bf-api-key", "big-only")],
            )
            .await;
        assert_eq!(status, 200, "{resp}");
        let up = mock.last();
        assert_eq!(up.bearer(), Some("sk-big"));
        assert_eq!(up.body["model"], "gpt-4o-2024-08-06");
        assert_eq!(resp["extra_fields"]["model_requested"], "fast");
        assert_eq!(
            resp["extra_fields"]["model_deployment"],
            "gpt-4o-2024-08-06"
        );
        // Unpinned, "all" may serve it too, under its own (unaliased) name.
        for _ in 0..10 {
            let (status, _) = gw.chat(&chat_body("openai/fast", "quick")).await;
            assert_eq!(status, 200);
            let up = mock.last();
            match up.bearer() {
                Some("sk-big") => assert_eq!(up.body["model"], "gpt-4o-2024-08-06"),
                Some("sk-all") => assert_eq!(up.body["model"], "fast"),
                other => panic!("key {other:?} does not serve fast"),
            }
        }
    })
    .await;
}

#[tokio::test]
async fn no_key_for_the_model_is_a_clear_error() {
    within(60, async {
        let mock = Mock::openai("upstream").await;
        let mut only = key("only", "env.E2E_ONLY");
        only["models"] = json!(["gpt-4o"]);
        let mut none = key("none", "env.E2E_ONLY");
        none["models"] = json!([]);
        let cfg = config(json!({"openai": provider(&mock.url, json!([only, none]))}));
        let gw = Gateway::launch(&cfg, &[("E2E_ONLY", "sk-only")]).await;
        let (status, err) = gw.chat(&chat_body("openai/gpt-3.5-turbo", "x")).await;
        assert_eq!(status, 400, "{err}");
        let message = assert_error_shape(&err, 400);
        assert_eq!(message, "no keys found that support model: gpt-3.5-turbo");
        assert_eq!(mock.count(), 0);
    })
    .await;
}

#[tokio::test]
async fn missing_env_var_names_the_variable_and_sends_nothing() {
    within(60, async {
        let mock = Mock::openai("upstream").await;
        let cfg = config(
            json!({"openai": provider(&mock.url, json!([key("k", "env.E2E_NEVER_SET_KEY_VAR")]))}),
        );
        // Not set in the server's environment (and scrubbed in case the runner has it).
        let gw = Gateway::launch(&cfg, &[]).await;
        assert!(std::env::var("E2E_NEVER_SET_KEY_VAR").is_err());
        let (status, err) = gw.chat(&chat_body("openai/gpt-4o-mini", "x")).await;
        assert!(status >= 400, "{status}: {err}");
        let message = assert_error_shape(&err, status);
        assert!(
            message.contains("E2E_NEVER_SET_KEY_VAR"),
            "the error must name the variable: {message}"
        );
        assert_eq!(err["extra_fields"]["provider"], "openai");
        assert_eq!(
            mock.count(),
            0,
            "no request may reach the upstream, with or without an empty key"
        );

        // With the variable set on another key, the request goes through with that key only.
        drop(gw);
        let cfg = config(json!({"openai": provider(&mock.url, json!([
            key("missing", "env.E2E_NEVER_SET_KEY_VAR"), key("present", "env.E2E_PRESENT")
        ]))}));
        let gw = Gateway::launch(&cfg, &[("E2E_PRESENT", "sk-present")]).await;
        let (status, _) = gw
            .post_with(
                "/v1/chat/completions",
                &chat_body("openai/gpt-4o-mini", "x"),
                &[("x-bf-api-key", "present")],
            )
            .await;
        assert_eq!(status, 200);
        assert!(mock.requests().iter().all(|r| {
            let auth = r.header("authorization").unwrap_or_default();
            auth == "Bearer sk-present"
        }));
    })
    .await;
}
