//! The azure provider end to end: deployments, `api-version` and the `api-key` header at an
//! OpenAI-format mock (recording paths and queries), streams, embeddings and completions,
//! content-filter stops, upstream errors, Entra ID tokens fetched once, reused and refreshed
//! before expiry, and configuration errors named by field.

use serde_json::{json, Value};

use crate::common::{assert_error_shape, config, within, Gateway};
use crate::mock::entra::Entra;
use crate::mock::{openai, Mock};

const KEY: &str = "azure-e2e-key-0123456789";
const SECRET: &str = "entra-client-secret-e2e-0123456789";

fn azure(keys: Value) -> Value {
    config(json!({"azure": {
        "keys": keys,
        "network_config": {"max_retries": 0, "default_request_timeout_in_seconds": 20}
    }}))
}

fn api_key_gateway_config(mock: &Mock, api_version: Option<&str>) -> Value {
    let mut az =
        json!({"endpoint": format!("{}/", mock.url), "deployments": {"gpt-4o": "prod-gpt4o"}});
    if let Some(v) = api_version {
        az["api_version"] = json!(v);
    }
    azure(json!([
        {"name": "east", "value": "env.E2E_AZURE_KEY", "models": ["*"], "weight": 1.0, "azure_key_config": az},
        {"name": "all", "value": "env.E2E_AZURE_KEY", "models": ["*"], "weight": 1.0,
         "azure_key_config": {"endpoint": "env.E2E_AZURE_ENDPOINT"}}
    ]))
}

#[tokio::test]
async fn chat_goes_to_the_deployment_with_api_key_and_api_version() {
    within(60, async {
        let mock = Mock::openai("azure").await;
        let gw = Gateway::launch(
            &api_key_gateway_config(&mock, Some("2024-06-01")),
            &[("E2E_AZURE_KEY", KEY), ("E2E_AZURE_ENDPOINT", &mock.url)],
        )
        .await;
        let (status, resp) = gw
            .post_with(
                "/v1/chat/completions",
                &json!({"model": "azure/gpt-4o", "messages": [{"role": "user", "content": "Hello Azure"}]}),
                &[("x-bf-api-key", "east")],
            )
            .await;
        assert_eq!(status, 200, "{resp}");
        let up = mock.last();
        assert_eq!(up.path, "/openai/deployments/prod-gpt4o/chat/completions");
        assert_eq!(up.query, "api-version=2024-06-01");
        assert_eq!(up.header("api-key"), Some(KEY));
        assert_eq!(up.header("authorization"), None);
        assert_eq!(up.body["model"], "prod-gpt4o");
        assert_eq!(resp["choices"][0]["message"]["content"], "azure says: Hello Azure");
        assert_eq!(resp["usage"]["total_tokens"], 12);
        assert_eq!(resp["extra_fields"]["provider"], "azure");
        assert_eq!(resp["extra_fields"]["model_requested"], "gpt-4o");
        assert_eq!(resp["extra_fields"]["model_deployment"], "prod-gpt4o");

        // A key without deployments uses the model name and the default api-version; its
        // endpoint comes from the environment.
        let (status, resp) = gw
            .post_with(
                "/v1/chat/completions",
                &json!({"model": "azure/gpt-4o-mini", "messages": [{"role": "user", "content": "x"}]}),
                &[("x-bf-api-key", "all")],
            )
            .await;
        assert_eq!(status, 200, "{resp}");
        let up = mock.last();
        assert_eq!(up.path, "/openai/deployments/gpt-4o-mini/chat/completions");
        assert_eq!(up.query, "api-version=2024-10-21");

        // The key with deployments serves only those models.
        let (status, resp) = gw
            .post_with(
                "/v1/chat/completions",
                &json!({"model": "azure/gpt-4o-mini", "messages": [{"role": "user", "content": "x"}]}),
                &[("x-bf-api-key", "east")],
            )
            .await;
        assert_eq!(status, 400, "{resp}");
        assert_error_shape(&resp, 400);
    })
    .await;
}

#[tokio::test]
async fn streams_embeddings_completions_content_filter_and_errors() {
    within(60, async {
        let mock = Mock::openai("azure").await;
        let mut cfg = api_key_gateway_config(&mock, None);
        // Only the key with deployments.
        cfg["providers"]["azure"]["keys"].as_array_mut().unwrap().truncate(1);
        let gw = Gateway::launch(&cfg, &[("E2E_AZURE_KEY", KEY)]).await;
        let sse = gw
            .stream(
                "/v1/chat/completions",
                &json!({"model": "azure/gpt-4o", "stream": true, "messages": [{"role": "user", "content": "s"}]}),
                &[],
            )
            .await;
        assert_eq!(sse.status, 200);
        assert!(sse.ends_with_done());
        assert_eq!(sse.content(), openai::STREAM_PIECES.concat());
        let up = mock.last();
        assert_eq!(up.path, "/openai/deployments/prod-gpt4o/chat/completions");
        assert_eq!(up.body["stream_options"]["include_usage"], true);
        assert_eq!(sse.chunks().last().unwrap()["usage"]["total_tokens"], 12);

        let (status, resp) = gw
            .post("/v1/embeddings", &json!({"model": "azure/gpt-4o", "input": ["a", "b"]}))
            .await;
        assert_eq!(status, 200, "{resp}");
        assert_eq!(mock.last().path, "/openai/deployments/prod-gpt4o/embeddings");
        assert_eq!(resp["data"].as_array().unwrap().len(), 2);

        let (status, resp) = gw
            .post("/v1/completions", &json!({"model": "azure/gpt-4o", "prompt": "Once"}))
            .await;
        assert_eq!(status, 200, "{resp}");
        assert_eq!(mock.last().path, "/openai/deployments/prod-gpt4o/completions");
        assert_eq!(mock.last().query, "api-version=2024-10-21");

        let (status, resp) = gw
            .chat(&json!({"model": "azure/gpt-4o", "messages": [{"role": "user", "content": "please trip the content filter"}]}))
            .await;
        assert_eq!(status, 200, "{resp}");
        assert_eq!(resp["choices"][0]["finish_reason"], "content_filter");
        assert!(resp["choices"][0]["message"]["content"].is_null(), "{resp}");

        mock.fail_next(1, 429, openai::error("Requests to the ChatCompletions_Create Operation have exceeded call rate limit", "rate_limit", "429"));
        let (status, resp) = gw
            .chat(&json!({"model": "azure/gpt-4o", "messages": [{"role": "user", "content": "x"}]}))
            .await;
        assert_eq!(status, 429, "{resp}");
        assert!(assert_error_shape(&resp, 429).contains("call rate limit"));
        assert!(!resp.to_string().contains(KEY));

        // Tools work as on OpenAI.
        let (status, resp) = gw
            .chat(&json!({"model": "azure/gpt-4o", "messages": [{"role": "user", "content": "Weather?"}],
                          "tools": [{"type": "function", "function": {"name": "get_weather",
                                     "parameters": {"type": "object", "properties": {}}}}]}))
            .await;
        assert_eq!(status, 200, "{resp}");
        assert_eq!(mock.last().body["tools"][0]["function"]["name"], "get_weather");
        assert_eq!(resp["choices"][0]["finish_reason"], "tool_calls");
        assert_eq!(resp["choices"][0]["message"]["tool_calls"][0]["function"]["name"], "get_weather");

        // Rerank is not an Azure operation.
        let (status, resp) = gw
            .post("/v1/rerank", &json!({"model": "azure/gpt-4o", "query": "q", "documents": ["a"]}))
            .await;
        assert_eq!(status, 400, "{resp}");
        assert_eq!(resp["error"]["type"], "unsupported_operation");
    })
    .await;
}

fn entra_config(mock: &Mock) -> Value {
    azure(json!([{
        "name": "sp", "value": "", "models": ["*"], "weight": 1.0,
        "azure_key_config": {
            "endpoint": mock.url,
            "deployments": {"gpt-4o": "prod-gpt4o"},
            "client_id": "env.E2E_AZ_CLIENT_ID",
            "client_secret": "env.E2E_AZ_CLIENT_SECRET",
            "tenant_id": "my-tenant"
        }
    }]))
}

#[tokio::test]
async fn entra_tokens_are_fetched_once_reused_and_refreshed_before_expiry() {
    within(60, async {
        let mock = Mock::openai("azure").await;
        // Tokens live 4 s, so the gateway replaces them after 3 s.
        let entra = Entra::start(SECRET, 4).await;
        let gw = Gateway::launch(
            &entra_config(&mock),
            &[
                ("AZURE_AUTHORITY_HOST", &entra.url),
                ("E2E_AZ_CLIENT_ID", "app-id-1"),
                ("E2E_AZ_CLIENT_SECRET", SECRET),
            ],
        )
        .await;
        let body =
            json!({"model": "azure/gpt-4o", "messages": [{"role": "user", "content": "hi"}]});
        let calls = (0..4).map(|_| gw.chat(&body));
        for (status, resp) in futures_util::future::join_all(calls).await {
            assert_eq!(status, 200, "{resp}");
        }
        let grants = entra.grants();
        assert_eq!(
            grants.len(),
            1,
            "concurrent requests share one token: {grants:?}"
        );
        let g = &grants[0];
        assert_eq!(g.path, "/my-tenant/oauth2/v2.0/token");
        assert_eq!(g.field("grant_type"), Some("client_credentials"));
        assert_eq!(g.field("client_id"), Some("app-id-1"));
        assert_eq!(g.field("client_secret"), Some(SECRET));
        assert_eq!(
            g.field("scope"),
            Some("https://cognitiveservices.azure.com/.default")
        );
        for up in mock.requests() {
            assert_eq!(up.bearer(), Some("entra-token-1"));
            assert_eq!(up.header("api-key"), None);
        }

        tokio::time::sleep(std::time::Duration::from_millis(3200)).await;
        let (status, resp) = gw.chat(&body).await;
        assert_eq!(status, 200, "{resp}");
        assert_eq!(entra.grants().len(), 2, "the token was refreshed");
        assert_eq!(mock.last().bearer(), Some("entra-token-2"));
        assert!(
            !gw.stderr().contains(SECRET),
            "the client secret never reaches the logs"
        );
        assert!(
            !gw.stderr().contains("entra-token-"),
            "tokens never reach the logs"
        );
    })
    .await;
}

#[tokio::test]
async fn refused_entra_credentials_and_bad_config_are_clear_errors() {
    within(60, async {
        let mock = Mock::openai("azure").await;
        let entra = Entra::start("the-right-secret", 3600).await;
        let gw = Gateway::launch(
            &entra_config(&mock),
            &[
                ("AZURE_AUTHORITY_HOST", &entra.url),
                ("E2E_AZ_CLIENT_ID", "app-id-1"),
                ("E2E_AZ_CLIENT_SECRET", SECRET),
            ],
        )
        .await;
        let (status, resp) = gw
            .chat(&json!({"model": "azure/gpt-4o", "messages": [{"role": "user", "content": "hi"}]}))
            .await;
        assert_eq!(status, 401, "{resp}");
        let message = assert_error_shape(&resp, 401);
        assert!(message.contains("AADSTS7000215"), "{message}");
        assert!(!resp.to_string().contains(SECRET));
        assert_eq!(mock.count(), 0, "no call without a token");

        // A config with a broken azure key is refused at start, naming the field.
        let dir = tempfile::tempdir().unwrap();
        crate::common::write_config(
            dir.path(),
            &azure(json!([{"name": "x", "value": "k", "azure_key_config": {"endpoint": "", "client_id": "c"}}])),
        );
        let err = match Gateway::try_start(dir.path(), &[]).await {
            Ok(_) => panic!("a broken azure key must not start"),
            Err(e) => e,
        };
        assert!(err.contains("providers.azure.keys[0].azure_key_config.endpoint: required"), "{err}");
        assert!(err.contains("providers.azure.keys[0].azure_key_config.tenant_id: required"), "{err}");
    })
    .await;
}

#[tokio::test]
async fn the_api_shows_azure_keys_with_the_client_secret_redacted() {
    within(60, async {
        let mock = Mock::openai("azure").await;
        let entra = Entra::start(SECRET, 3600).await;
        let mut cfg = entra_config(&mock);
        cfg["providers"]["azure"]["keys"][0]["azure_key_config"]["client_secret"] = json!(SECRET);
        let gw = Gateway::launch(
            &cfg,
            &[
                ("E2E_AZ_CLIENT_ID", "app"),
                ("AZURE_AUTHORITY_HOST", &entra.url),
            ],
        )
        .await;
        let (status, p) = gw.get("/api/providers/azure").await;
        assert_eq!(status, 200, "{p}");
        let az = &p["keys"][0]["azure_key_config"];
        assert_eq!(az["deployments"], json!({"gpt-4o": "prod-gpt4o"}));
        assert_eq!(az["client_id"], "env.E2E_AZ_CLIENT_ID");
        assert!(!p.to_string().contains(SECRET), "{p}");
        // Sending the view back keeps the stored secret.
        let key_id = p["keys"][0]["id"].as_str().unwrap().to_owned();
        let (status, resp) = gw
            .put(
                &format!("/api/providers/azure/keys/{key_id}"),
                &p["keys"][0],
            )
            .await;
        assert_eq!(status, 200, "{resp}");
        // The stored secret survived the round trip: the token request still carries it.
        let (status, resp) = gw
            .chat(
                &json!({"model": "azure/gpt-4o", "messages": [{"role": "user", "content": "hi"}]}),
            )
            .await;
        assert_eq!(status, 200, "{resp}");
        assert_eq!(entra.grants()[0].field("client_secret"), Some(SECRET));
    })
    .await;
}

#[tokio::test]
async fn azure_passthrough_uses_the_keys_endpoint_auth_and_api_version() {
    within(60, async {
        let mock = Mock::openai("azure").await;
        let cfg = azure(json!([{"name": "k", "value": "env.E2E_AZURE_KEY", "models": ["*"], "weight": 1.0,
                                "azure_key_config": {"endpoint": mock.url, "api_version": "2024-06-01"}}]));
        let gw = Gateway::launch(&cfg, &[("E2E_AZURE_KEY", KEY)]).await;
        let body = json!({"model": "gpt-4o", "messages": [{"role": "user", "content": "raw azure"}]});
        let (status, resp) = gw
            .post_with(
                "/azure_passthrough/openai/deployments/gpt-4o/chat/completions",
                &body,
                &[("api-key", "client-own-key")],
            )
            .await;
        assert_eq!(status, 200, "{resp}");
        assert_eq!(resp["choices"][0]["message"]["content"], "azure says: raw azure");
        assert!(resp.get("extra_fields").is_none());
        let up = mock.last();
        assert_eq!(up.path, "/openai/deployments/gpt-4o/chat/completions");
        assert_eq!(up.query, "api-version=2024-06-01", "the key's version when the client sent none");
        assert_eq!(up.header("api-key"), Some(KEY));
        assert_eq!(up.body, body);

        let (status, _) = gw
            .post(
                "/azure_passthrough/openai/deployments/gpt-4o/chat/completions?api-version=2025-01-01-preview",
                &body,
            )
            .await;
        assert_eq!(status, 200);
        assert_eq!(mock.last().query, "api-version=2025-01-01-preview");
    })
    .await;
}
