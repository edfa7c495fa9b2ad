//! Starting and stopping: what `serve` prints, config.json validation at start, health, and
//! graceful shutdown on SIGTERM and SIGINT.

use std::time::Duration;

use serde_json::json;

use crate::common::{
    chat_body, config, key, provider, run, within, write_config, Finished, Gateway,
};
use crate::mock::Mock;

#[tokio::test]
async fn health_version_and_an_empty_app_dir() {
    within(60, async {
        let dir = tempfile::tempdir().unwrap();
        let gw = Gateway::start_in(dir, &[]).await;
        let (status, health) = gw.get("/health").await;
        assert_eq!(status, 200);
        assert_eq!(health["status"], "ok");
        let (status, list) = gw.get("/api/providers").await;
        assert_eq!(status, 200);
        assert_eq!(list["total"], 0);
        assert!(
            gw.app_dir.join("config.db").exists(),
            "config.db is created in the app dir"
        );
        let (status, err) = gw.chat(&chat_body("openai/gpt-4o", "x")).await;
        assert_eq!(status, 400, "{err}");
    })
    .await;
}

/// Runs `serve` on `dir` and waits for it to exit (a server that starts fails the test when
/// `run`'s 30 s limit is reached).
async fn serve_expecting_exit(dir: &std::path::Path) -> Finished {
    let dir = dir.to_str().unwrap();
    run(
        &[
            "serve",
            "--app-dir",
            dir,
            "--port",
            "0",
            "--host",
            "127.0.0.1",
        ],
        &[],
    )
    .await
}

#[tokio::test]
async fn invalid_config_json_stops_serve_with_the_field_path() {
    within(60, async {
        let cases = [
            (json!({"providers": {"openai": {"keys": [{"value": "env.X", "weight": "heavy"}]}}}), "providers.openai.keys[0].weight"),
            (json!({"providers": {"openai": {"keys": [{"value": "", "models": ["*"]}]}}}), "providers.openai.keys[0].value"),
            (
                json!({"providers": {"openai": {"keys": [{"value": "env.X"}], "network_config": {"base_url": "ftp://nope"}}}}),
                "providers.openai.network_config.base_url",
            ),
            (
                json!({"providers": {"openai": {"keys": [{"value": "env.X"}], "network_config": {"stream_idle_timeout_in_seconds": 1}}}}),
                "providers.openai.network_config.stream_idle_timeout_in_seconds",
            ),
        ];
        for (cfg, path) in cases {
            let dir = tempfile::tempdir().unwrap();
            write_config(dir.path(), &cfg);
            let out = serve_expecting_exit(dir.path()).await;
            assert!(!out.status.success(), "serve must exit non-zero: {out:?}");
            assert!(out.stderr.contains(path), "the error must name {path}: {out:?}");
            assert!(!out.stdout.contains("listening"), "it must not listen half-configured: {out:?}");
        }
        // Not JSON at all.
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("config.json"), "{ not json").unwrap();
        let out = serve_expecting_exit(dir.path()).await;
        assert!(!out.status.success(), "{out:?}");
        assert!(out.stderr.contains("config.json"), "{out:?}");
    })
    .await;
}

#[tokio::test]
async fn unknown_fields_are_warned_about_but_serve_starts() {
    within(60, async {
        let mock = Mock::openai("upstream").await;
        let mut cfg =
            config(json!({"openai": provider(&mock.url, json!([key("k", "env.E2E_K")]))}));
        cfg["client"]["frobnicate"] = json!(true);
        cfg["providers"]["openai"]["keys"][0]["colour"] = json!("red");
        cfg["surprise_section"] = json!({});
        let gw = Gateway::launch(&cfg, &[("E2E_K", "sk-k")]).await;
        let (status, _) = gw.chat(&chat_body("openai/gpt-4o-mini", "x")).await;
        assert_eq!(status, 200);
        let log = gw.stderr();
        for field in ["frobnicate", "colour", "surprise_section"] {
            assert!(
                log.lines().any(|l| l.contains("WARN") && l.contains(field)),
                "no warning about {field}:\n{log}"
            );
        }
    })
    .await;
}

#[tokio::test]
async fn sigterm_lets_an_in_flight_request_finish_and_exits_zero() {
    within(60, async {
        let mock = Mock::openai("slow").await;
        mock.set_delay(Duration::from_secs(2));
        let cfg = config(json!({"openai": provider(&mock.url, json!([key("k", "env.E2E_K")]))}));
        let mut gw = Gateway::launch(&cfg, &[("E2E_K", "sk-k")]).await;
        let url = gw.url.clone();
        let request = tokio::spawn(async move {
            let resp = crate::common::http()
                .post(format!("{url}/v1/chat/completions"))
                .json(&chat_body("openai/gpt-4o-mini", "finish me"))
                .send()
                .await
                .unwrap();
            let status = resp.status().as_u16();
            (status, resp.json::<serde_json::Value>().await.unwrap())
        });
        mock.wait_for_requests(1).await;
        gw.sigterm();
        let (status, resp) = request.await.unwrap();
        assert_eq!(status, 200, "{resp}");
        assert_eq!(
            resp["choices"][0]["message"]["content"],
            "slow says: finish me"
        );
        let exit = gw.wait_exit(20).await;
        assert_eq!(exit.code(), Some(0), "{exit:?}\n{}", gw.stderr());
        // It no longer accepts connections.
        assert!(crate::common::http()
            .get(format!("{}/health", gw.url))
            .send()
            .await
            .is_err());
    })
    .await;
}

#[tokio::test]
async fn sigint_exits_zero() {
    within(60, async {
        let dir = tempfile::tempdir().unwrap();
        let mut gw = Gateway::start_in(dir, &[]).await;
        let (status, _) = gw.get("/health").await;
        assert_eq!(status, 200);
        let ok = std::process::Command::new("kill")
            .args(["-INT", &gw.pid().to_string()])
            .status()
            .unwrap();
        assert!(ok.success());
        let exit = gw.wait_exit(20).await;
        assert_eq!(exit.code(), Some(0), "{exit:?}");
    })
    .await;
}

#[tokio::test]
async fn sigterm_as_soon_as_the_address_is_printed_still_exits_zero() {
    // A supervisor (or a test) may stop the server the moment it says where it listens; the
    // signal must not find the process without its handler (the default action kills it).
    within(90, async {
        for round in 0..5 {
            let mut gw = Gateway::launch(&config(json!({})), &[]).await;
            gw.sigterm();
            let exit = gw.wait_exit(20).await;
            assert_eq!(
                exit.code(),
                Some(0),
                "round {round}: {exit:?}\n{}",
                gw.stderr()
            );
        }
    })
    .await;
}
