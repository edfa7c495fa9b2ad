//! Admin auth (`auth_config`): Basic auth and cookie sessions on `/api/*`, the always-open
//! routes, inference with and without admin credentials, the argon2-hashed password, and
//! the limit on failed attempts.

use base64::Engine;
use serde_json::json;

use super::{create_vk_with, openai_config};
use crate::common::{chat_body, http, within, Gateway};
use crate::mock::Mock;

fn basic(user: &str, pass: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
    )
}

fn auth_config(extra: serde_json::Value) -> serde_json::Value {
    let mut a = json!({"is_enabled": true, "admin_username": "admin", "admin_password": "env.E2E_ADMIN_PW"});
    super::merge(&mut a, extra);
    json!({"governance": {"auth_config": a}})
}

const PW: &str = "correct horse battery staple";

#[tokio::test]
async fn basic_auth_and_sessions_guard_the_api() {
    within(90, async {
        let openai = Mock::openai("openai").await;
        let gw = Gateway::launch(
            &openai_config(&openai, auth_config(json!({}))),
            &[("E2E_ADMIN_PW", PW)],
        )
        .await;
        let c = http();
        let get = |path: &str, auth: Option<(&str, String)>| {
            let mut r = c.get(format!("{}{path}", gw.url));
            if let Some((h, v)) = auth {
                r = r.header(h, v);
            }
            r.send()
        };
        let resp = get("/api/providers", None).await.unwrap();
        assert_eq!(resp.status().as_u16(), 401);
        let body: serde_json::Value = resp.json().await.unwrap();
        assert_eq!(body["error"]["message"], "Unauthorized");
        assert_eq!(
            get(
                "/api/providers",
                Some(("authorization", basic("admin", PW)))
            )
            .await
            .unwrap()
            .status()
            .as_u16(),
            200
        );
        assert_eq!(
            get(
                "/api/providers",
                Some(("authorization", basic("admin", "nope")))
            )
            .await
            .unwrap()
            .status()
            .as_u16(),
            401
        );
        assert_eq!(get("/health", None).await.unwrap().status().as_u16(), 200);
        let open: serde_json::Value = get("/api/session/is-auth-enabled", None)
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(open["is_auth_enabled"], true);

        // Session login: cookie `token`, 30 days, SameSite=Lax.
        let resp = c
            .post(format!("{}/api/session/login", gw.url))
            .json(&json!({"username": "admin", "password": PW}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 200);
        let cookie = resp.headers()["set-cookie"].to_str().unwrap().to_owned();
        assert!(cookie.starts_with("token="), "{cookie}");
        assert!(
            cookie.contains("SameSite=Lax")
                && cookie.contains("Max-Age=2592000")
                && cookie.contains("HttpOnly"),
            "{cookie}"
        );
        let token = cookie["token=".len()..]
            .split(';')
            .next()
            .unwrap()
            .to_owned();
        let body: serde_json::Value = resp.json().await.unwrap();
        assert_eq!(body["token"], token.as_str());
        assert_eq!(
            get("/api/providers", Some(("cookie", format!("token={token}"))))
                .await
                .unwrap()
                .status()
                .as_u16(),
            200
        );
        assert_eq!(
            get(
                "/api/providers",
                Some(("authorization", format!("Bearer {token}")))
            )
            .await
            .unwrap()
            .status()
            .as_u16(),
            200
        );
        let state: serde_json::Value = get(
            "/api/session/is-auth-enabled",
            Some(("cookie", format!("token={token}"))),
        )
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
        assert_eq!(state["has_valid_token"], true);
        let out = c
            .post(format!("{}/api/session/logout", gw.url))
            .header("cookie", format!("token={token}"))
            .send()
            .await
            .unwrap();
        assert_eq!(out.status().as_u16(), 200);
        assert!(out.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0"));
        assert_eq!(
            get("/api/providers", Some(("cookie", format!("token={token}"))))
                .await
                .unwrap()
                .status()
                .as_u16(),
            401
        );

        // Inference needs admin credentials too (disable_auth_on_inference is off), unless
        // the request carries a virtual key, which governance checks itself.
        let (status, _) = gw.chat(&chat_body("openai/gpt-4o-mini", "anon")).await;
        assert_eq!(status, 401);
        let (status, _) = gw
            .post_with(
                "/v1/chat/completions",
                &chat_body("openai/gpt-4o-mini", "admin"),
                &[("authorization", &basic("admin", PW))],
            )
            .await;
        assert_eq!(status, 200);
        let (_, vk) = create_vk_with(
            &gw,
            &[("authorization", &basic("admin", PW))],
            json!({"name": "k", "provider_configs": [{"provider": "openai"}]}),
        )
        .await;
        let (status, _) = gw
            .post_with(
                "/v1/chat/completions",
                &chat_body("openai/gpt-4o-mini", "vk"),
                &[("x-bf-vk", &vk)],
            )
            .await;
        assert_eq!(status, 200);

        // The password is stored as an argon2 hash, never as typed.
        let db = std::fs::read(gw.app_dir.join("config.db")).unwrap();
        let wal = std::fs::read(gw.app_dir.join("config.db-wal")).unwrap_or_default();
        for bytes in [db, wal] {
            let text = String::from_utf8_lossy(&bytes);
            assert!(!text.contains(PW), "the admin password is stored in clear");
        }
        assert!(!gw.stderr().contains(PW));
    })
    .await;
}

#[tokio::test]
async fn inference_can_skip_admin_auth_and_failed_logins_are_limited() {
    within(60, async {
        let openai = Mock::openai("openai").await;
        let cfg = openai_config(
            &openai,
            auth_config(json!({"disable_auth_on_inference": true})),
        );
        let gw = Gateway::launch(&cfg, &[("E2E_ADMIN_PW", PW)]).await;
        assert_eq!(
            gw.chat(&chat_body("openai/gpt-4o-mini", "anon")).await.0,
            200
        );
        assert_eq!(
            gw.get("/api/providers").await.0,
            401,
            "the API still needs credentials"
        );
        let login = |pw: &'static str| {
            http()
                .post(format!("{}/api/session/login", gw.url))
                .json(&json!({"username": "admin", "password": pw}))
                .send()
        };
        for _ in 0..5 {
            assert_eq!(login("wrong").await.unwrap().status().as_u16(), 401);
        }
        let limited = login(PW).await.unwrap();
        assert_eq!(
            limited.status().as_u16(),
            429,
            "even the right password waits after 5 failures"
        );
        assert!(limited.headers().contains_key("retry-after"));
    })
    .await;
}
