//! Bad input gets a 4xx in Bifrost's error JSON naming the problem, and the server stays up.

use serde_json::json;

use crate::common::{assert_error_shape, chat_body, config, http, key, provider, within, Gateway};
use crate::mock::Mock;

#[tokio::test]
async fn bad_requests_get_bifrost_errors_and_the_server_stays_up() {
    within(60, async {
        let mock = Mock::openai("upstream").await;
        let mut cfg = config(json!({"openai": provider(&mock.url, json!([key("k", "env.E2E_K")]))}));
        cfg["client"]["max_request_body_size_mb"] = json!(1);
        let gw = Gateway::launch(&cfg, &[("E2E_K", "sk-k")]).await;

        // Malformed JSON.
        let (status, err) = gw.post_raw("/v1/chat/completions", b"{\"model\": \"openai/gpt-4o\", \"messages\": [".to_vec()).await;
        assert_eq!(status, 400, "{err}");
        assert_error_shape(&err, 400);
        assert_eq!(err["is_bifrost_error"], false);
        assert_eq!(err["extra_fields"]["request_type"], "chat_completion");

        // Empty body.
        let (status, err) = gw.post_raw("/v1/chat/completions", Vec::new()).await;
        assert_eq!(status, 400, "{err}");
        assert_error_shape(&err, 400);

        // A field of the wrong type is named by its path.
        let (status, err) = gw.chat(&json!({"model": "openai/gpt-4o", "messages": [{"role": "user", "content": "x"}], "temperature": "hot"})).await;
        assert_eq!(status, 400, "{err}");
        assert!(assert_error_shape(&err, 400).contains("temperature"), "{err}");

        // Missing model.
        let (status, err) = gw.chat(&json!({"messages": [{"role": "user", "content": "hi"}]})).await;
        assert_eq!(status, 400, "{err}");
        assert!(assert_error_shape(&err, 400).contains("model"), "{err}");

        // Missing or empty messages.
        let (status, err) = gw.chat(&json!({"model": "openai/gpt-4o"})).await;
        assert_eq!(status, 400, "{err}");
        assert!(assert_error_shape(&err, 400).contains("messages"), "{err}");
        let (status, err) = gw.chat(&json!({"model": "openai/gpt-4o", "messages": []})).await;
        assert_eq!(status, 400, "{err}");
        assert!(assert_error_shape(&err, 400).contains("messages"), "{err}");

        // A model without a provider prefix, or with an unknown one.
        let (status, err) = gw.chat(&chat_body("gpt-4o", "hi")).await;
        assert_eq!(status, 400, "{err}");
        assert_eq!(assert_error_shape(&err, 400), "model should be in provider/model format");
        let (status, err) = gw.chat(&chat_body("nosuch/gpt-4o", "hi")).await;
        assert_eq!(status, 400, "{err}");
        assert_eq!(assert_error_shape(&err, 400), "model should be in provider/model format");
        // A known provider that is not configured.
        let (status, err) = gw.chat(&chat_body("groq/llama", "hi")).await;
        assert_eq!(status, 400, "{err}");
        assert!(assert_error_shape(&err, 400).contains("groq"), "{err}");

        // Missing input / prompt.
        let (status, err) = gw.post("/v1/embeddings", &json!({"model": "openai/text-embedding-3-small"})).await;
        assert_eq!(status, 400, "{err}");
        assert!(assert_error_shape(&err, 400).contains("input"), "{err}");
        let (status, err) = gw.post("/v1/completions", &json!({"model": "openai/gpt-3.5-turbo-instruct"})).await;
        assert_eq!(status, 400, "{err}");
        assert!(assert_error_shape(&err, 400).contains("prompt"), "{err}");

        // A body over client.max_request_body_size_mb.
        let big = "x".repeat(1024 * 1024 + 1024);
        let (status, err) = gw.chat(&chat_body("openai/gpt-4o", &big)).await;
        assert_eq!(status, 413, "{err}");
        assert_error_shape(&err, 413);

        // A wrong method.
        let resp = http().get(format!("{}/v1/chat/completions", gw.url)).send().await.unwrap();
        assert_eq!(resp.status(), 405);
        let err: serde_json::Value = resp.json().await.unwrap();
        assert_error_shape(&err, 405);

        // An unknown route.
        let (status, err) = gw.get("/nope").await;
        assert_eq!(status, 404, "{err}");
        assert_eq!(assert_error_shape(&err, 404), "Route not found: /nope");
        let (status, _) = gw.post("/v1/nope", &json!({})).await;
        assert_eq!(status, 404);

        assert_eq!(mock.count(), 0, "no bad request reached the upstream");

        // Still up, and still serving.
        let (status, health) = gw.get("/health").await;
        assert_eq!(status, 200);
        assert_eq!(health["status"], "ok");
        let (status, resp) = gw.chat(&chat_body("openai/gpt-4o", "still there?")).await;
        assert_eq!(status, 200, "{resp}");
    })
    .await;
}
