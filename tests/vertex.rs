//! The vertex provider end to end: a service account's JWT exchanged at the mock's token
//! endpoint (which verifies its signature and claims), the access token cached and refreshed,
//! Gemini models in the Gemini format and Claude models in Anthropic's under the project's
//! Vertex AI paths.

use serde_json::{json, Value};

use crate::common::{assert_error_shape, config, within, Gateway};
use crate::mock::{gemini, Mock};

const PROJECT: &str = "e2e-project";
const TEST_KEY: &str = include_str!("fixtures/vertex-test-sa-key.pem");

fn service_account(mock: &Mock, email: &str) -> String {
    json!({
        "type": "service_account", "project_id": PROJECT, "private_key_id": "e2e-key-id",
        "private_key": TEST_KEY, "client_email": email,
        "client_id": "1234567890", "token_uri": format!("{}/token", mock.url)
    })
    .to_string()
}

fn vertex_provider(mock: &Mock, region: &str) -> Value {
    json!({
        "keys": [{"name": "v", "value": "", "models": ["*"], "weight": 1.0, "vertex_key_config": {
            "project_id": PROJECT, "project_number": "424242", "region": region,
            "auth_credentials": "env.E2E_VERTEX_SA",
            "deployments": {"sonnet": "claude-sonnet-4@20250514", "tuned": "9876"}
        }}],
        "network_config": {"base_url": mock.url, "max_retries": 0, "default_request_timeout_in_seconds": 20}
    })
}

async fn gateway_as(mock: &Mock, region: &str, email: &str) -> Gateway {
    let cfg = config(json!({"vertex": vertex_provider(mock, region)}));
    Gateway::launch(&cfg, &[("E2E_VERTEX_SA", &service_account(mock, email))]).await
}

async fn gateway(mock: &Mock) -> Gateway {
    gateway_as(mock, "us-central1", gemini::SA_EMAIL).await
}

fn chat(model: &str, text: &str) -> Value {
    json!({"model": model, "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": text}]})
}

fn google_path(region: &str, model: &str, method: &str) -> String {
    format!("/v1/projects/{PROJECT}/locations/{region}/publishers/google/models/{model}:{method}")
}

#[tokio::test]
async fn gemini_models_use_a_token_fetched_once_and_reused() {
    within(60, async {
        let mock = Mock::gemini("vertex").await;
        let gw = gateway(&mock).await;
        let (status, resp) = gw
            .chat(&chat("vertex/gemini-2.0-flash", "Hello Vertex"))
            .await;
        assert_eq!(status, 200, "{resp}");
        assert_eq!(
            resp["choices"][0]["message"]["content"],
            "vertex says: Hello Vertex"
        );
        assert_eq!(resp["usage"]["total_tokens"], 43);
        assert_eq!(resp["extra_fields"]["provider"], "vertex");

        let token = mock.requests_to("/token");
        assert_eq!(token.len(), 1);
        assert!(token[0].raw_body.starts_with(
            "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion="
        ));
        let up = mock.last();
        assert_eq!(
            up.path,
            google_path("us-central1", "gemini-2.0-flash", "generateContent")
        );
        assert_eq!(up.bearer(), Some("ya29.e2e-token-1"));
        assert_eq!(up.header("x-goog-api-key"), None);
        assert_eq!(
            up.body["systemInstruction"]["parts"][0]["text"],
            "Be brief."
        );
        assert_eq!(
            up.body["contents"],
            json!([{"role": "user", "parts": [{"text": "Hello Vertex"}]}])
        );

        let mut streamed = chat("vertex/gemini-2.0-flash", "stream");
        streamed["stream"] = json!(true);
        let sse = gw.stream("/v1/chat/completions", &streamed, &[]).await;
        assert_eq!(sse.status, 200, "{}", sse.raw);
        assert!(sse.ends_with_done());
        assert_eq!(sse.content(), "Hello from gemini!");
        let up = mock.last();
        assert_eq!(
            up.path,
            google_path("us-central1", "gemini-2.0-flash", "streamGenerateContent")
        );
        assert_eq!(up.query, "alt=sse");

        // Concurrent requests reuse the cached token.
        let replies = futures_util::future::join_all(
            (0..5).map(|i| gw.chat_owned(chat("vertex/gemini-2.5-pro", &format!("n{i}")))),
        )
        .await;
        assert!(replies.iter().all(|(s, _)| *s == 200), "{replies:?}");
        assert_eq!(mock.tokens_issued(), 1);
        let vertex_calls: Vec<_> = mock
            .requests()
            .into_iter()
            .filter(|r| r.path.starts_with("/v1/projects/"))
            .collect();
        assert_eq!(vertex_calls.len(), 7);
        assert!(vertex_calls
            .iter()
            .all(|r| r.bearer() == Some("ya29.e2e-token-1")));
    })
    .await;
}

#[tokio::test]
async fn an_expiring_token_is_refreshed() {
    within(60, async {
        let mock = Mock::gemini("vertex").await;
        mock.set_token_lifetime(2);
        let gw = gateway(&mock).await;
        let body = chat("vertex/gemini-2.0-flash", "hi");
        assert_eq!(gw.chat(&body).await.0, 200);
        assert_eq!(gw.chat(&body).await.0, 200);
        assert_eq!(mock.tokens_issued(), 1, "reused within its life");
        // Refreshed ahead of expiry (at half the life of so short a token).
        tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
        let (status, resp) = gw.chat(&body).await;
        assert_eq!(status, 200, "{resp}");
        assert_eq!(mock.tokens_issued(), 2);
        assert_eq!(mock.last().bearer(), Some("ya29.e2e-token-2"));
    })
    .await;
}

#[tokio::test]
async fn claude_models_use_anthropic_messages_under_raw_predict() {
    within(60, async {
        let mock = Mock::gemini("vertex").await;
        let gw = gateway(&mock).await;
        let (status, resp) = gw.chat(&chat("vertex/sonnet", "Hello Claude")).await;
        assert_eq!(status, 200, "{resp}");
        let up = mock.last();
        assert_eq!(
            up.path,
            format!("/v1/projects/{PROJECT}/locations/us-central1/publishers/anthropic/models/claude-sonnet-4@20250514:rawPredict")
        );
        assert_eq!(up.bearer(), Some("ya29.e2e-token-1"));
        assert_eq!(up.body["anthropic_version"], "vertex-2023-10-16");
        assert!(up.body.get("model").is_none(), "the model is in the URL: {}", up.body);
        assert_eq!(up.body["system"], "Be brief.");
        assert_eq!(up.body["messages"], json!([{"role": "user", "content": "Hello Claude"}]));
        assert!(up.body["max_tokens"].as_u64().unwrap() > 0);
        assert_eq!(resp["choices"][0]["message"]["content"], "vertex says: Hello Claude");
        assert_eq!(resp["model"], "claude-sonnet-4@20250514");
        assert_eq!(resp["usage"]["prompt_tokens"], 25);
        assert_eq!(resp["extra_fields"]["model_requested"], "sonnet");

        let mut streamed = chat("vertex/sonnet", "stream");
        streamed["stream"] = json!(true);
        let sse = gw.stream("/v1/chat/completions", &streamed, &[]).await;
        assert_eq!(sse.status, 200, "{}", sse.raw);
        assert!(sse.ends_with_done());
        assert_eq!(sse.content(), crate::mock::anthropic::STREAM_PIECES.concat());
        let up = mock.last();
        assert!(up.path.ends_with("/publishers/anthropic/models/claude-sonnet-4@20250514:streamRawPredict"), "{}", up.path);
        assert_eq!(up.body["stream"], true);
        assert_eq!(up.body["anthropic_version"], "vertex-2023-10-16");
        assert_eq!(mock.tokens_issued(), 1);
    })
    .await;
}

#[tokio::test]
async fn global_region_endpoints_embeddings_and_models() {
    within(60, async {
        let mock = Mock::gemini("vertex").await;
        let gw = gateway_as(&mock, "global", gemini::SA_EMAIL).await;
        let (status, resp) = gw.chat(&chat("vertex/gemini-2.5-pro", "hi")).await;
        assert_eq!(status, 200, "{resp}");
        assert_eq!(mock.last().path, google_path("global", "gemini-2.5-pro", "generateContent"));

        // A numeric deployment is a fine-tuned model's endpoint, under the project number.
        let (status, resp) = gw.chat(&chat("vertex/tuned", "hi")).await;
        assert_eq!(status, 200, "{resp}");
        assert_eq!(mock.last().path, "/v1beta1/projects/424242/locations/global/endpoints/9876:generateContent");

        let (status, resp) = gw
            .post("/v1/embeddings", &json!({"model": "vertex/text-embedding-005", "input": ["abcd", "abcdefgh"], "dimensions": 2}))
            .await;
        assert_eq!(status, 200, "{resp}");
        let up = mock.last();
        assert_eq!(up.path, google_path("global", "text-embedding-005", "predict"));
        assert_eq!(
            up.body,
            json!({"instances": [{"content": "abcd"}, {"content": "abcdefgh"}], "parameters": {"outputDimensionality": 2}})
        );
        assert_eq!(resp["data"][1]["embedding"], json!([1.0, 0.25]));
        assert_eq!(resp["usage"]["prompt_tokens"], 8);

        let (status, list) = gw.get("/v1/models?provider=vertex").await;
        assert_eq!(status, 200, "{list}");
        let ids: Vec<&str> = list["data"].as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap()).collect();
        assert!(ids.contains(&"vertex/sonnet") && ids.contains(&"vertex/tuned"), "{ids:?}");

        let (status, err) = gw.post("/v1/completions", &json!({"model": "vertex/gemini-2.5-pro", "prompt": "x"})).await;
        assert_eq!(status, 400, "{err}");
        assert_eq!(err["error"]["type"], "unsupported_operation");
    })
    .await;
}

#[tokio::test]
async fn refused_credentials_and_upstream_errors() {
    within(60, async {
        let mock = Mock::gemini("vertex").await;
        // The token endpoint checks the JWT's issuer: another account is refused.
        let gw = gateway_as(
            &mock,
            "us-central1",
            "intruder@elsewhere.iam.gserviceaccount.com",
        )
        .await;
        let (status, err) = gw.chat(&chat("vertex/gemini-2.0-flash", "hi")).await;
        assert_eq!(status, 401, "{err}");
        let message = assert_error_shape(&err, 401);
        assert!(
            message.starts_with("Vertex AI authentication failed: invalid_grant"),
            "{message}"
        );
        assert!(!err.to_string().contains("PRIVATE KEY"), "{err}");
        assert_eq!(
            mock.requests()
                .iter()
                .filter(|r| r.path.starts_with("/v1/projects/"))
                .count(),
            0
        );
        drop(gw);

        let gw = gateway(&mock).await;
        mock.fail_next(
            1,
            403,
            gemini::error(
                403,
                "PERMISSION_DENIED",
                "Permission 'aiplatform.endpoints.predict' denied.",
            ),
        );
        let (status, err) = gw.chat(&chat("vertex/gemini-2.0-flash", "hi")).await;
        assert_eq!(status, 403, "{err}");
        assert_eq!(
            assert_error_shape(&err, 403),
            "Permission 'aiplatform.endpoints.predict' denied."
        );
        assert_eq!(err["error"]["type"], "PERMISSION_DENIED");
    })
    .await;
}

#[tokio::test]
async fn admin_api_redacts_literal_credentials_and_keeps_them_on_update() {
    within(60, async {
        let mock = Mock::gemini("vertex").await;
        let mut provider = vertex_provider(&mock, "us-central1");
        let literal = service_account(&mock, gemini::SA_EMAIL);
        provider["keys"][0]["vertex_key_config"]["auth_credentials"] = json!(literal);
        let gw = Gateway::launch(&config(json!({"vertex": provider})), &[]).await;

        let (status, mut shown) = gw.get("/api/providers/vertex").await;
        assert_eq!(status, 200, "{shown}");
        let creds = shown["keys"][0]["vertex_key_config"]["auth_credentials"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(creds.starts_with("********"), "{creds}");
        assert!(!shown.to_string().contains("PRIVATE KEY"), "{shown}");
        assert_eq!(shown["keys"][0]["vertex_key_config"]["project_id"], PROJECT);

        // Sending the shown configuration back keeps the stored credentials.
        shown["network_config"]["default_request_timeout_in_seconds"] = json!(25);
        let (status, updated) = gw.put("/api/providers/vertex", &shown).await;
        assert_eq!(status, 200, "{updated}");
        let (status, resp) = gw
            .chat(&chat("vertex/gemini-2.0-flash", "after update"))
            .await;
        assert_eq!(status, 200, "{resp}");
        assert_eq!(mock.tokens_issued(), 1);
    })
    .await;
}
