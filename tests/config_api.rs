//! `GET`/`PUT /api/config`: client settings applied on the next request without a restart,
//! kept across restarts (config.json only wins again when it changed), every bad value a 400
//! naming its field with nothing applied, and `auth_config` turned on over the API with the
//! redacted password sent back keeping the stored one.

use serde_json::{json, Value};

use crate::common::{
    assert_error_shape, chat_body, config, eventually, http, key, provider, within, write_config,
    Gateway,
};
use crate::mock::Mock;

const OK: &str = "configuration updated successfully";

fn openai_config(mock: &Mock, client: Value) -> Value {
    let mut cfg =
        config(json!({"openai": provider(&mock.url, json!([key("k", "sk-config-api")]))}));
    cfg["client"] = client;
    cfg
}

/// A chat request of about 1.5 MiB: over a 1 MB limit, under the mock's own 2 MB.
fn big_chat() -> Value {
    chat_body("openai/gpt-4o-mini", &"x".repeat(1536 * 1024))
}

async fn put_ok(gw: &Gateway, body: Value) {
    let (status, resp) = gw.put("/api/config", &body).await;
    assert_eq!(status, 200, "{resp}");
    assert_eq!(resp, json!({"status": "success", "message": OK}));
}

async fn log_count(gw: &Gateway) -> u64 {
    let (status, body) = gw.get("/api/logs?limit=1").await;
    assert_eq!(status, 200, "{body}");
    body["pagination"]["total_count"].as_u64().unwrap()
}

#[tokio::test]
async fn client_settings_apply_live_and_survive_restarts() {
    within(120, async {
        let openai = Mock::openai("openai").await;
        let gw = Gateway::launch(
            &openai_config(&openai, json!({"max_request_body_size_mb": 1, "log_retention_days": 30})),
            &[],
        )
        .await;

        let (status, cfg) = gw.get("/api/config").await;
        assert_eq!(status, 200, "{cfg}");
        assert_eq!(cfg["client_config"]["max_request_body_size_mb"], 1);
        assert_eq!(cfg["framework_config"]["pricing_sync_interval"], 86_400);
        assert_eq!(
            cfg["auth_config"],
            json!({"is_enabled": false, "admin_username": "", "admin_password": "", "disable_auth_on_inference": false})
        );
        assert_eq!(cfg["is_db_connected"], true);
        assert_eq!(cfg["is_logs_connected"], true);
        assert!(cfg.get("restart_required").is_none(), "{cfg}");

        // The body limit follows the setting on the next request, up as well as down.
        let (status, err) = gw.chat(&big_chat()).await;
        assert_eq!(status, 413, "{err}");
        assert_error_shape(&err, 413);
        put_ok(&gw, json!({"client_config": {"max_request_body_size_mb": 3}})).await;
        let (status, resp) = gw.chat(&big_chat()).await;
        assert_eq!(status, 200, "{resp}");
        let (_, cfg) = gw.get("/api/config").await;
        assert_eq!(cfg["client_config"]["max_request_body_size_mb"], 3);
        assert_eq!(cfg["client_config"]["log_retention_days"], 30, "fields not sent are kept");

        // Logging off: requests leave no rows until it is on again; no restart needed.
        let logged = eventually(10, "the first request's log", || async {
            let n = log_count(&gw).await;
            (n == 1).then_some(n)
        })
        .await;
        put_ok(&gw, json!({"client_config": {"enable_logging": false}})).await;
        let (status, _) = gw.chat(&chat_body("openai/gpt-4o-mini", "not logged")).await;
        assert_eq!(status, 200);
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        assert_eq!(log_count(&gw).await, logged, "a request was logged with logging off");
        let (_, cfg) = gw.get("/api/config").await;
        assert!(cfg.get("restart_required").is_none(), "{cfg}");
        put_ok(&gw, json!({"client_config": {"enable_logging": true}})).await;
        let (status, _) = gw.chat(&chat_body("openai/gpt-4o-mini", "logged")).await;
        assert_eq!(status, 200);
        eventually(10, "the log of the request after logging was back on", || async {
            (log_count(&gw).await == logged + 1).then_some(())
        })
        .await;

        // Settings that only a restart applies say so.
        put_ok(&gw, json!({"client_config": {"prometheus_labels": ["team"]}})).await;
        let (_, cfg) = gw.get("/api/config").await;
        let reason = cfg["restart_required"]["reason"].as_str().unwrap_or_default();
        assert!(reason.contains("Prometheus labels"), "{cfg}");

        // Persisted, and the unchanged config.json does not overwrite it at the next start.
        let gw = gw.restart().await;
        let (_, cfg) = gw.get("/api/config").await;
        assert_eq!(cfg["client_config"]["max_request_body_size_mb"], 3, "{cfg}");
        assert_eq!(cfg["client_config"]["prometheus_labels"], json!(["team"]));
        assert!(cfg.get("restart_required").is_none(), "{cfg}");
        let (status, resp) = gw.chat(&big_chat()).await;
        assert_eq!(status, 200, "{resp}");

        // An edit of config.json's client section wins at the next start.
        write_config(
            &gw.app_dir,
            &openai_config(&openai, json!({"max_request_body_size_mb": 1, "log_retention_days": 7})),
        );
        let gw = gw.restart().await;
        let (_, cfg) = gw.get("/api/config").await;
        assert_eq!(cfg["client_config"]["max_request_body_size_mb"], 1, "{cfg}");
        assert_eq!(cfg["client_config"]["log_retention_days"], 7);
        let (status, _) = gw.chat(&big_chat()).await;
        assert_eq!(status, 413);
        gw.stop().await;
    })
    .await;
}

#[tokio::test]
async fn bad_settings_are_400s_naming_the_field_and_change_nothing() {
    within(60, async {
        let openai = Mock::openai("openai").await;
        let gw = Gateway::launch(&openai_config(&openai, json!({})), &[]).await;
        let (_, before) = gw.get("/api/config").await;
        let cases = [
            (
                json!({"client_config": {"max_request_body_size_mb": "lots"}}),
                "client_config.max_request_body_size_mb",
            ),
            (
                json!({"client_config": {"max_request_body_size_mb": 0}}),
                "client_config.max_request_body_size_mb: must be at least 1",
            ),
            (
                json!({"client_config": {"required_headers": ["not a header"]}}),
                "client_config.required_headers",
            ),
            (
                json!({"framework_config": {"pricing_sync_interval": 0}}),
                "framework_config.pricing_sync_interval",
            ),
            (
                json!({"framework_config": {"pricing_url": "ftp://prices"}}),
                "framework_config.pricing_url",
            ),
            // A valid client change beside an invalid auth section: neither is applied.
            (
                json!({"client_config": {"drop_excess_requests": true},
                       "auth_config": {"is_enabled": true, "admin_username": "admin"}}),
                "auth_config.admin_password: required",
            ),
            (
                json!({"auth_config": {"is_enabled": true, "admin_password": "pw"}}),
                "auth_config.admin_username: required",
            ),
            (json!({"client_config": "yes"}), "client_config"),
        ];
        for (body, field) in cases {
            let (status, err) = gw.put("/api/config", &body).await;
            assert_eq!(status, 400, "{body} -> {err}");
            let msg = assert_error_shape(&err, 400);
            assert!(msg.contains(field), "{body}: `{msg}` does not name {field}");
        }
        let resp = http()
            .put(format!("{}/api/config", gw.url))
            .header("content-type", "application/json")
            .body("{not json")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 400);
        let (_, after) = gw.get("/api/config").await;
        assert_eq!(before, after, "a rejected PUT changed the configuration");
        gw.stop().await;
    })
    .await;
}

#[tokio::test]
async fn auth_config_turns_on_login_and_a_redacted_password_is_kept() {
    within(90, async {
        let openai = Mock::openai("openai").await;
        let gw = Gateway::launch(&openai_config(&openai, json!({})), &[]).await;
        let c = http();
        let get_as = |auth: Option<(&str, &str)>| {
            let mut r = c.get(format!("{}/api/config", gw.url));
            if let Some((u, p)) = auth {
                r = r.basic_auth(u, Some(p));
            }
            r.send()
        };
        put_ok(
            &gw,
            json!({"auth_config": {"is_enabled": true, "admin_username": "admin", "admin_password": "first-pw-123", "disable_auth_on_inference": false}}),
        )
        .await;

        // /api now needs the admin; the password never comes back.
        assert_eq!(get_as(None).await.unwrap().status(), 401);
        let resp = get_as(Some(("admin", "first-pw-123"))).await.unwrap();
        assert_eq!(resp.status(), 200);
        let cfg: Value = resp.json().await.unwrap();
        assert!(!cfg.to_string().contains("first-pw-123"), "{cfg}");
        assert!(!cfg.to_string().contains("argon2"), "{cfg}");
        assert_eq!(cfg["auth_config"]["admin_password"], "<redacted>");
        assert_eq!(cfg["auth_config"]["is_enabled"], true);

        // What GET showed, sent back with one change: the stored password stays.
        let mut auth = cfg["auth_config"].clone();
        auth["disable_auth_on_inference"] = json!(true);
        let resp = c
            .put(format!("{}/api/config", gw.url))
            .basic_auth("admin", Some("first-pw-123"))
            .json(&json!({"auth_config": auth, "framework_config": {"pricing_sync_interval": 7200}}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
        let resp = get_as(Some(("admin", "first-pw-123"))).await.unwrap();
        assert_eq!(resp.status(), 200, "the redacted password replaced the stored one");
        let cfg: Value = resp.json().await.unwrap();
        assert_eq!(cfg["auth_config"]["disable_auth_on_inference"], true);
        assert_eq!(cfg["framework_config"]["pricing_sync_interval"], 7200);
        // Inference without admin credentials, as disable_auth_on_inference says.
        let (status, _) = gw.chat(&chat_body("openai/gpt-4o-mini", "hi")).await;
        assert_eq!(status, 200);

        // Kept across a restart.
        let gw = gw.restart().await;
        let (status, _) = gw.get("/api/config").await;
        assert_eq!(status, 401);
        let resp = c
            .get(format!("{}/api/config", gw.url))
            .basic_auth("admin", Some("first-pw-123"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let cfg: Value = resp.json().await.unwrap();
        assert_eq!(cfg["framework_config"]["pricing_sync_interval"], 7200);
        gw.stop().await;
    })
    .await;
}

/// CORS wraps every route, the unknown ones included: preflights are answered for allowed
/// origins only, simple requests carry the allow header, and a change to
/// `client.allowed_origins` applies to the next request.
#[tokio::test]
async fn cors_follows_allowed_origins_live() {
    within(60, async {
        let openai = Mock::openai("openai").await;
        let gw = Gateway::launch(
            &openai_config(&openai, json!({"allowed_origins": ["https://app.example"]})),
            &[],
        )
        .await;
        let http = crate::common::http();
        let preflight = |origin: &'static str| {
            http.request(
                reqwest::Method::OPTIONS,
                format!("{}/v1/chat/completions", gw.url),
            )
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "content-type,authorization",
            )
            .send()
        };
        let allow_origin = |r: &reqwest::Response| {
            r.headers()
                .get("access-control-allow-origin")
                .map(|v| v.to_str().unwrap().to_owned())
        };

        let ok = preflight("https://app.example").await.unwrap();
        assert_eq!(ok.status(), 200);
        assert_eq!(allow_origin(&ok).as_deref(), Some("https://app.example"));
        assert!(ok.headers().contains_key("access-control-allow-methods"));
        let refused = preflight("https://evil.example").await.unwrap();
        assert_eq!(allow_origin(&refused), None);

        // A simple request and an unknown route, from the allowed origin.
        let chat = http
            .post(format!("{}/v1/chat/completions", gw.url))
            .header("origin", "https://app.example")
            .json(&chat_body("openai/gpt-4o-mini", "cors"))
            .send()
            .await
            .unwrap();
        assert_eq!(chat.status(), 200);
        assert_eq!(allow_origin(&chat).as_deref(), Some("https://app.example"));
        let missing = http
            .get(format!("{}/api/no-such-route", gw.url))
            .header("origin", "https://app.example")
            .send()
            .await
            .unwrap();
        assert_eq!(missing.status(), 404);
        assert_eq!(
            allow_origin(&missing).as_deref(),
            Some("https://app.example")
        );

        // Any origin once `*` is allowed, without a restart.
        put_ok(&gw, json!({"client_config": {"allowed_origins": ["*"]}})).await;
        let now_ok = preflight("https://evil.example").await.unwrap();
        assert_eq!(
            allow_origin(&now_ok).as_deref(),
            Some("https://evil.example")
        );
    })
    .await;
}
