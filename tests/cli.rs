//! The CLI on the same app dir as a running server: `provider add|list|remove` is live within
//! seconds, and `config check` validates files with exit codes.

use serde_json::json;

use crate::common::{
    assert_error_shape, chat_body, config, eventually, key, provider, run, within, write_config,
    Gateway,
};
use crate::mock::Mock;

#[tokio::test]
async fn provider_added_by_the_cli_is_live_in_a_running_server() {
    within(90, async {
        let groq = Mock::openai("groq").await;
        let dir = tempfile::tempdir().unwrap();
        let app = dir.path().to_str().unwrap().to_owned();
        let gw = Gateway::start_in(dir, &[("E2E_GROQ", "gsk-cli")]).await;
        let (status, _) = gw
            .chat(&chat_body("groq/llama-3.1-8b-instant", "before"))
            .await;
        assert_eq!(status, 400, "groq is not configured yet");

        let out = run(
            &[
                "--app-dir",
                &app,
                "provider",
                "add",
                "groq",
                "--key",
                "env.E2E_GROQ",
                "--weight",
                "2",
                "--models",
                "llama-3.1-8b-instant,llama-3.3-70b",
                "--base-url",
                &groq.url,
            ],
            &[],
        )
        .await;
        assert!(out.status.success(), "{out:?}");
        let resp = eventually(5, "the CLI's provider is live", || async {
            let (status, resp) = gw
                .chat(&chat_body("groq/llama-3.1-8b-instant", "after"))
                .await;
            (status == 200).then_some(resp)
        })
        .await;
        assert_eq!(resp["choices"][0]["message"]["content"], "groq says: after");
        let up = groq.last();
        assert_eq!(
            up.bearer(),
            Some("gsk-cli"),
            "env.VAR is resolved by the server at request time"
        );
        assert_eq!(up.body["model"], "llama-3.1-8b-instant");
        let (_, p) = gw.get("/api/providers/groq").await;
        assert_eq!(p["keys"][0]["weight"], 2.0);
        assert_eq!(
            p["keys"][0]["models"],
            json!(["llama-3.1-8b-instant", "llama-3.3-70b"])
        );
        let (status, err) = gw.chat(&chat_body("groq/mixtral", "not listed")).await;
        assert_eq!(status, 400, "{err}");

        // A custom provider on the anthropic wire format.
        let claude = Mock::anthropic("claude").await;
        let out = run(
            &[
                "--app-dir",
                &app,
                "provider",
                "add",
                "claude-eu",
                "--key",
                "env.E2E_GROQ",
                "--base-url",
                &claude.url,
                "--base-provider",
                "anthropic",
            ],
            &[],
        )
        .await;
        assert!(out.status.success(), "{out:?}");
        let resp = eventually(5, "the custom provider is live", || async {
            let (status, resp) = gw
                .chat(&chat_body("claude-eu/claude-3-5-haiku-20241022", "eu"))
                .await;
            (status == 200).then_some(resp)
        })
        .await;
        assert_eq!(resp["choices"][0]["message"]["content"], "claude says: eu");
        assert_eq!(claude.last().header("x-api-key"), Some("gsk-cli"));

        let out = run(&["--app-dir", &app, "provider", "list"], &[]).await;
        assert!(out.status.success(), "{out:?}");
        let table = out.stdout;
        assert!(table.lines().next().unwrap().contains("NAME"), "{table}");
        let groq_row = table
            .lines()
            .find(|l| l.starts_with("groq"))
            .unwrap_or_else(|| panic!("{table}"));
        assert!(groq_row.contains(&groq.url), "{groq_row}");
        assert!(groq_row.contains("llama-3.3-70b"), "{groq_row}");
        assert!(
            table
                .lines()
                .any(|l| l.starts_with("claude-eu") && l.contains("anthropic")),
            "{table}"
        );
        assert!(!table.contains("gsk-cli"));

        let out = run(&["--app-dir", &app, "provider", "remove", "groq"], &[]).await;
        assert!(out.status.success(), "{out:?}");
        let err = eventually(5, "the removal is live", || async {
            let (status, err) = gw
                .chat(&chat_body("groq/llama-3.1-8b-instant", "gone"))
                .await;
            (status == 400).then_some(err)
        })
        .await;
        assert_error_shape(&err, 400);
        let out = run(&["--app-dir", &app, "provider", "remove", "groq"], &[]).await;
        assert!(
            !out.status.success(),
            "removing a missing provider fails: {out:?}"
        );
        assert!(out.stderr.contains("groq"), "{out:?}");
    })
    .await;
}

#[tokio::test]
async fn config_check_exit_codes_and_field_paths() {
    within(60, async {
        let dir = tempfile::tempdir().unwrap();
        let app = dir.path().to_str().unwrap().to_owned();
        let good = config(json!({"openai": provider("http://127.0.0.1:9", json!([key("k", "env.OPENAI_API_KEY")]))}));
        write_config(dir.path(), &good);
        let out = run(&["--app-dir", &app, "config", "check"], &[]).await;
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        assert!(out.stdout.contains("valid"), "{out:?}");

        let bad_path = dir.path().join("bad.json");
        let bad = json!({"providers": {"openai": {"keys": [{"value": "env.X", "models": ["*", "gpt-4o"]}]}}});
        std::fs::write(&bad_path, bad.to_string()).unwrap();
        let out = run(&["config", "check", bad_path.to_str().unwrap()], &[]).await;
        assert_eq!(out.status.code(), Some(1), "{out:?}");
        assert!(out.stderr.contains("providers.openai.keys[0].models"), "{out:?}");

        let typo = dir.path().join("typo.json");
        std::fs::write(&typo, r#"{"client": {"max_request_body_size_mb": "lots"}}"#).unwrap();
        let out = run(&["config", "check", typo.to_str().unwrap()], &[]).await;
        assert_eq!(out.status.code(), Some(1), "{out:?}");
        assert!(out.stderr.contains("client.max_request_body_size_mb"), "{out:?}");

        let out = run(&["config", "check", dir.path().join("missing.json").to_str().unwrap()], &[]).await;
        assert_eq!(out.status.code(), Some(1), "{out:?}");
        assert!(out.stderr.contains("missing.json"), "{out:?}");

        let unknown = dir.path().join("unknown.json");
        std::fs::write(&unknown, r#"{"providers": {}, "mystery": 1}"#).unwrap();
        let out = run(&["config", "check", unknown.to_str().unwrap()], &[]).await;
        assert_eq!(out.status.code(), Some(0), "unknown fields only warn: {out:?}");
        assert!(out.stderr.contains("mystery"), "{out:?}");
    })
    .await;
}
