//! The management API: provider and key CRUD, redaction in every answer, live effect on the
//! next request, and persistence in config.db across restarts.

use base64::Engine;
use serde_json::{json, Value};

use crate::common::{assert_error_shape, chat_body, config, key, provider, within, Gateway};
use crate::mock::Mock;

const LITERAL: &str = "sk-literal-secret-value-wxyz";
const GROQ_SECRET: &str = "gsk-groq-secret-abcdefgh-9876";

fn assert_no_secret(body: &Value) {
    let text = body.to_string();
    for secret in [LITERAL, GROQ_SECRET, "sk-env-value"] {
        assert!(!text.contains(secret), "a key value leaked: {text}");
    }
}

#[tokio::test]
async fn provider_and_key_crud_is_redacted_live_and_persistent() {
    within(90, async {
        let openai = Mock::openai("openai").await;
        let groq_a = Mock::openai("groq-a").await;
        let groq_b = Mock::openai("groq-b").await;
        let cfg = config(json!({"openai": provider(&openai.url, json!([
            key("literal", LITERAL), key("from-env", "env.E2E_ENV_KEY")
        ]))}));
        let gw = Gateway::launch(&cfg, &[("E2E_ENV_KEY", "sk-env-value"), ("E2E_G2", "gsk-second")]).await;

        // List and get: literals shown as ******** + last 4, env.X as written.
        let (status, list) = gw.get("/api/providers").await;
        assert_eq!(status, 200, "{list}");
        assert_eq!(list["total"], 1);
        assert_no_secret(&list);
        let p = &list["providers"][0];
        assert_eq!(p["name"], "openai");
        assert_eq!(p["keys"][0]["value"], "********wxyz");
        assert_eq!(p["keys"][1]["value"], "env.E2E_ENV_KEY");
        assert!(p["keys"][0]["id"].as_str().is_some_and(|id| !id.is_empty()));
        let (status, one) = gw.get("/api/providers/openai").await;
        assert_eq!(status, 200);
        assert_no_secret(&one);
        assert_eq!(one["network_config"]["base_url"], openai.url);

        // Create a provider: answered redacted, live at once.
        let (status, created) = gw
            .post("/api/providers", &json!({
                "provider": "groq",
                "keys": [{"name": "g1", "value": GROQ_SECRET, "models": ["*"], "weight": 1.0}],
                "network_config": {"base_url": groq_a.url}
            }))
            .await;
        assert_eq!(status, 200, "{created}");
        assert_no_secret(&created);
        assert_eq!(created["keys"][0]["value"], "********9876");
        let (status, resp) = gw.chat(&chat_body("groq/llama-3.1-8b-instant", "new provider")).await;
        assert_eq!(status, 200, "{resp}");
        assert_eq!(resp["choices"][0]["message"]["content"], "groq-a says: new provider");
        assert_eq!(groq_a.last().bearer(), Some(GROQ_SECRET));

        // Creating it twice is a conflict; an invalid one is refused with the field path.
        let (status, err) = gw.post("/api/providers", &json!({"provider": "groq", "keys": []})).await;
        assert_eq!(status, 409, "{err}");
        assert_error_shape(&err, 409);
        let (status, err) = gw
            .post("/api/providers", &json!({"provider": "mistral", "keys": [{"name": "m", "value": "k", "weight": -1}]}))
            .await;
        assert_eq!(status, 400, "{err}");
        assert!(assert_error_shape(&err, 400).contains("keys[0].weight"), "{err}");

        // Update: the configuration comes back as the API showed it (redacted key included);
        // the stored key value is kept and the new base URL is live on the next request.
        let (_, mut current) = gw.get("/api/providers/groq").await;
        current["network_config"]["base_url"] = json!(groq_b.url);
        let (status, updated) = gw.put("/api/providers/groq", &current).await;
        assert_eq!(status, 200, "{updated}");
        assert_no_secret(&updated);
        let (status, resp) = gw.chat(&chat_body("groq/llama-3.1-8b-instant", "moved")).await;
        assert_eq!(status, 200, "{resp}");
        assert_eq!(resp["choices"][0]["message"]["content"], "groq-b says: moved");
        assert_eq!(groq_b.last().bearer(), Some(GROQ_SECRET), "the redacted value must not replace the key");

        // Keys: add, get, update, delete, list.
        let (status, added) = gw
            .post("/api/providers/groq/keys", &json!({"name": "g2", "value": "env.E2E_G2", "models": ["*"], "weight": 1.0}))
            .await;
        assert_eq!(status, 200, "{added}");
        assert_eq!(added["value"], "env.E2E_G2");
        let g2_id = added["id"].as_str().unwrap().to_owned();
        let (status, keys) = gw.get("/api/providers/groq/keys").await;
        assert_eq!(status, 200);
        assert_eq!(keys["total"], 2);
        assert_no_secret(&keys);
        let (status, got) = gw.get(&format!("/api/providers/groq/keys/{g2_id}")).await;
        assert_eq!(status, 200, "{got}");
        assert_eq!(got["name"], "g2");
        let (status, _) = gw
            .post_with("/v1/chat/completions", &chat_body("groq/llama", "k2"), &[("x-bf-api-key", "g2")])
            .await;
        assert_eq!(status, 200);
        assert_eq!(groq_b.last().bearer(), Some("gsk-second"));

        let (status, disabled) = gw
            .put(&format!("/api/providers/groq/keys/{g2_id}"), &json!({"name": "g2", "value": "env.E2E_G2", "models": ["*"], "weight": 1.0, "enabled": false}))
            .await;
        assert_eq!(status, 200, "{disabled}");
        assert_eq!(disabled["enabled"], false);
        for _ in 0..5 {
            let (status, _) = gw.chat(&chat_body("groq/llama", "only g1")).await;
            assert_eq!(status, 200);
            assert_eq!(groq_b.last().bearer(), Some(GROQ_SECRET), "a disabled key is never chosen");
        }

        let (status, _) = gw.delete("/api/providers/groq/keys/g1").await;
        assert_eq!(status, 200);
        let (status, err) = gw.chat(&chat_body("groq/llama", "no usable key")).await;
        assert_eq!(status, 400, "{err}");
        assert!(assert_error_shape(&err, 400).contains("no keys found"), "{err}");
        let (status, err) = gw.get("/api/providers/groq/keys/nope").await;
        assert_eq!(status, 404, "{err}");

        let (status, all) = gw.get("/api/keys").await;
        assert_eq!(status, 200);
        assert_no_secret(&all);
        let all = all.as_array().unwrap();
        assert_eq!(all.len(), 3, "{all:?}");
        assert!(all.iter().any(|k| k["provider"] == "groq" && k["name"] == "g2"));
        assert!(all.iter().any(|k| k["provider"] == "openai" && k["value"] == "********wxyz"));

        // Persistence: a restart on the same app dir keeps every API change.
        let gw = gw.restart().await;
        let (_, list) = gw.get("/api/providers").await;
        assert_eq!(list["total"], 2, "{list}");
        let (_, groq) = gw.get("/api/providers/groq").await;
        assert_eq!(groq["network_config"]["base_url"], groq_b.url);
        assert_eq!(groq["keys"].as_array().unwrap().len(), 1);
        assert_eq!(groq["keys"][0]["id"], g2_id.as_str());
        assert_eq!(groq["keys"][0]["enabled"], false);
        let (status, _) = gw
            .put(&format!("/api/providers/groq/keys/{g2_id}"), &json!({"name": "g2", "value": "env.E2E_G2", "models": ["*"], "weight": 1.0}))
            .await;
        assert_eq!(status, 200);
        let (status, _) = gw.chat(&chat_body("groq/llama", "after restart")).await;
        assert_eq!(status, 200);
        assert_eq!(groq_b.last().bearer(), Some("gsk-second"));
        let (status, _) = gw.chat(&chat_body("openai/gpt-4o", "openai too")).await;
        assert_eq!(status, 200);

        // Delete: gone for the next request, and 404 afterwards.
        let (status, _) = gw.delete("/api/providers/groq").await;
        assert_eq!(status, 200);
        let before = groq_b.count();
        let (status, err) = gw.chat(&chat_body("groq/llama", "gone")).await;
        assert_eq!(status, 400, "{err}");
        assert_error_shape(&err, 400);
        assert_eq!(groq_b.count(), before);
        let (status, err) = gw.get("/api/providers/groq").await;
        assert_eq!(status, 404, "{err}");
        assert_error_shape(&err, 404);
        let (status, _) = gw.delete("/api/providers/groq").await;
        assert_eq!(status, 404);
        let gw = gw.restart().await;
        let (_, list) = gw.get("/api/providers").await;
        assert_eq!(list["total"], 1, "the deletion persists: {list}");
    })
    .await;
}

#[tokio::test]
async fn config_json_bootstrap_rules() {
    within(90, async {
        let mock = Mock::openai("upstream").await;
        let file = |retries: u64| {
            let mut p = provider(&mock.url, json!([key("k", "env.E2E_K")]));
            p["network_config"]["max_retries"] = json!(retries);
            config(json!({"openai": p}))
        };
        let gw = Gateway::launch(&file(1), &[("E2E_K", "sk-k")]).await;
        let (_, p) = gw.get("/api/providers/openai").await;
        assert_eq!(p["network_config"]["max_retries"], 1, "{p}");

        // An API edit survives a restart with the same, unchanged file.
        let mut edited = p.clone();
        edited["network_config"]["max_retries"] = json!(3);
        let (status, _) = gw.put("/api/providers/openai", &edited).await;
        assert_eq!(status, 200);
        let (status, _) = gw
            .post("/api/providers", &json!({"provider": "groq", "keys": [key("g", "env.E2E_K")], "network_config": {"base_url": mock.url}}))
            .await;
        assert_eq!(status, 200);
        let gw = gw.restart().await;
        let (_, p) = gw.get("/api/providers/openai").await;
        assert_eq!(p["network_config"]["max_retries"], 3, "the database wins over an unchanged file: {p}");
        let (status, _) = gw.get("/api/providers/groq").await;
        assert_eq!(status, 200, "providers added by the API are kept");

        // An edit of the file is imported again.
        let dir = gw.stop().await;
        crate::common::write_config(dir.path(), &file(2));
        let gw = Gateway::start_in(dir, &[("E2E_K", "sk-k")]).await;
        let (_, p) = gw.get("/api/providers/openai").await;
        assert_eq!(p["network_config"]["max_retries"], 2, "an edited file entry is re-imported: {p}");
        let (status, _) = gw.get("/api/providers/groq").await;
        assert_eq!(status, 200, "entries not in the file are left alone");
        let (status, _) = gw.chat(&chat_body("openai/gpt-4o-mini", "x")).await;
        assert_eq!(status, 200);
    })
    .await;
}

/// A forwarding HTTP proxy on 127.0.0.1: tunnels each `CONNECT` and keeps its head.
async fn connect_proxy() -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = std::sync::Arc::clone(&seen);
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            let log = std::sync::Arc::clone(&log);
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    if client.read(&mut byte).await.unwrap_or(0) == 0 {
                        return;
                    }
                    head.push(byte[0]);
                }
                let head = String::from_utf8_lossy(&head).into_owned();
                let target = head.split(' ').nth(1).unwrap_or_default().to_owned();
                log.lock().unwrap().push(head);
                let Ok(mut upstream) = tokio::net::TcpStream::connect(&target).await else {
                    return;
                };
                let _ = client
                    .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                    .await;
                let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
            });
        }
    });
    (url, seen)
}

/// `proxy_config` set through the API applies to the next request; its password is redacted in
/// every answer and a redacted password sent back keeps the stored one.
#[tokio::test]
async fn a_proxy_set_through_the_api_carries_the_next_request() {
    within(60, async {
        const PROXY_PASSWORD: &str = "proxy-pass-0123456789";
        let openai = Mock::openai("openai").await;
        let cfg = config(json!({"openai": provider(&openai.url, json!([key("k", LITERAL)]))}));
        let gw = Gateway::launch(&cfg, &[]).await;
        let (proxy_url, seen) = connect_proxy().await;

        let (_, mut current) = gw.get("/api/providers/openai").await;
        current["proxy_config"] = json!({"type": "http", "url": proxy_url,
            "username": "bifrost", "password": PROXY_PASSWORD});
        let (status, updated) = gw.put("/api/providers/openai", &current).await;
        assert_eq!(status, 200, "{updated}");
        assert!(!updated.to_string().contains(PROXY_PASSWORD), "{updated}");
        assert_eq!(updated["proxy_config"]["password"], "********6789");

        let (status, resp) = gw.chat(&chat_body("openai/gpt-4o-mini", "via proxy")).await;
        assert_eq!(status, 200, "{resp}");
        assert_eq!(
            resp["choices"][0]["message"]["content"],
            "openai says: via proxy"
        );
        let authority = openai
            .url
            .trim_start_matches("http://")
            .trim_end_matches('/');
        let expected_auth = format!(
            "Proxy-Authorization: Basic {}\r\n",
            base64::engine::general_purpose::STANDARD.encode(format!("bifrost:{PROXY_PASSWORD}"))
        );
        {
            let heads = seen.lock().unwrap();
            assert_eq!(heads.len(), 1, "{heads:?}");
            assert!(
                heads[0].starts_with(&format!("CONNECT {authority} HTTP/1.1")),
                "{}",
                heads[0]
            );
            assert!(heads[0].contains(&expected_auth), "{}", heads[0]);
        }

        // Sent back as shown (redacted), with another user: the stored password is kept, and
        // the changed proxy config gets a new pool (a new tunnel).
        let (_, mut shown) = gw.get("/api/providers/openai").await;
        assert!(!shown.to_string().contains(PROXY_PASSWORD), "{shown}");
        shown["proxy_config"]["username"] = json!("bifrost2");
        let (status, _) = gw.put("/api/providers/openai", &shown).await;
        assert_eq!(status, 200);
        let (status, _) = gw.chat(&chat_body("openai/gpt-4o-mini", "again")).await;
        assert_eq!(status, 200);
        let expected_auth = format!(
            "Proxy-Authorization: Basic {}\r\n",
            base64::engine::general_purpose::STANDARD.encode(format!("bifrost2:{PROXY_PASSWORD}"))
        );
        let heads = seen.lock().unwrap().clone();
        assert_eq!(heads.len(), 2, "{heads:?}");
        assert!(heads[1].contains(&expected_auth), "{}", heads[1]);

        // A proxy URL that is not one is refused with the field path, and changes nothing.
        shown["proxy_config"] = json!({"type": "socks5", "url": "ftp://nowhere"});
        let (status, err) = gw.put("/api/providers/openai", &shown).await;
        assert_eq!(status, 400, "{err}");
        assert!(
            assert_error_shape(&err, 400).contains("providers.openai.proxy_config.url"),
            "{err}"
        );
    })
    .await;
}
