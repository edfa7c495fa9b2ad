//! `bifrost vk|team|customer` on the app dir of a running server: live within seconds.

use serde_json::json;

use super::{chat_vk, openai_config};
use crate::common::{chat_body, eventually, run, within, Gateway};
use crate::mock::Mock;

#[tokio::test]
async fn keys_created_and_disabled_by_the_cli_are_live() {
    within(120, async {
        let openai = Mock::openai("openai").await;
        let gw = Gateway::launch(&openai_config(&openai, json!({})), &[]).await;
        let app = gw.app_dir.to_str().unwrap().to_owned();
        let cli = |args: &[&str]| {
            let mut all = vec!["--app-dir", app.as_str()];
            all.extend_from_slice(args);
            let owned: Vec<String> = all.iter().map(|s| (*s).to_owned()).collect();
            async move {
                let refs: Vec<&str> = owned.iter().map(String::as_str).collect();
                let out = run(&refs, &[]).await;
                assert!(out.status.success(), "{refs:?}: {out:?}");
                out.stdout
            }
        };
        cli(&["customer", "create", "--name", "acme", "--budget", "10"]).await;
        cli(&[
            "team",
            "create",
            "--name",
            "search",
            "--customer",
            "acme",
            "--budget",
            "5",
            "--reset",
            "1w",
            "--calendar-aligned",
        ])
        .await;
        let out = cli(&[
            "vk",
            "create",
            "--name",
            "cli-key",
            "--budget",
            "1",
            "--reset",
            "1d",
            "--rpm",
            "100",
            "--tpm",
            "100000",
            "--provider",
            "openai:1:gpt-4o-mini,gpt-4o",
            "--team",
            "search",
        ])
        .await;
        let value = out
            .split_whitespace()
            .find(|w| w.starts_with("sk-bf-"))
            .unwrap_or_else(|| panic!("no key printed: {out}"))
            .to_owned();
        let body = chat_body("openai/gpt-4o-mini", "from the cli");
        eventually(5, "the CLI's key is live", || async {
            (chat_vk(&gw, &value, &body).await.0 == 200).then_some(())
        })
        .await;
        let (status, blocked) = chat_vk(&gw, &value, &chat_body("openai/gpt-4.1", "no")).await;
        assert_eq!(status, 403, "{blocked}");

        let list = cli(&["vk", "list"]).await;
        assert!(
            list.contains("cli-key") && list.contains("team search"),
            "{list}"
        );
        assert!(
            list.contains("100 req/1m") && list.contains("$1 per 1d"),
            "{list}"
        );
        assert!(!list.contains(&value), "the list never shows the value");
        let teams = cli(&["team", "list"]).await;
        assert!(
            teams.contains("search") && teams.contains("acme"),
            "{teams}"
        );

        cli(&["vk", "disable", "cli-key"]).await;
        eventually(5, "the CLI's disable is live", || async {
            (chat_vk(&gw, &value, &body).await.0 == 403).then_some(())
        })
        .await;
        cli(&["vk", "enable", "cli-key"]).await;
        eventually(5, "the CLI's enable is live", || async {
            (chat_vk(&gw, &value, &body).await.0 == 200).then_some(())
        })
        .await;
        // Spend made through the server shows in the CLI (persisted within a second).
        let show = eventually(5, "the spend reaches config.db", || async {
            let out = cli(&["vk", "show", "cli-key"]).await;
            let v: serde_json::Value = serde_json::from_str(&out).unwrap();
            let used = v["virtual_key"]["budget"]["current_usage"]
                .as_f64()
                .unwrap();
            (used > 0.0).then_some(v)
        })
        .await;
        assert_eq!(show["quota"]["budgets"][1]["level"], "team");
        cli(&["vk", "delete", "cli-key"]).await;
        eventually(5, "the CLI's delete is live", || async {
            (chat_vk(&gw, &value, &body).await.0 == 403).then_some(())
        })
        .await;
    })
    .await;
}
