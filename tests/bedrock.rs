//! The bedrock provider end to end: OpenAI-shaped requests in, a SigV4-verifying Bedrock mock
//! upstream (Converse JSON, ConverseStream EventStream frames, InvokeModel, STS), OpenAI-shaped
//! answers and chunks back.

use serde_json::{json, Value};

use crate::common::{assert_error_shape, config, provider, weather_tool, within, Gateway};
use crate::mock::bedrock::{vector_for, BedrockMock, STREAM_PIECES};
use crate::mock::Recorded;

const ACCESS_KEY: &str = "AKIAE2EBEDROCKTEST";
const SECRET_KEY: &str = "e2e/Secret+Key=0123456789abcdefghij";
pub const MODEL: &str = "anthropic.claude-3-5-haiku-20241022-v1:0";
const MODEL_PATH: &str = "/model/anthropic.claude-3-5-haiku-20241022-v1%3A0";

/// A key signing with static credentials from the environment.
fn sigv4_key(extra: Value) -> Value {
    let mut block = json!({"access_key": "env.E2E_AWS_AK", "secret_key": "env.E2E_AWS_SK", "region": "eu-west-3"});
    block
        .as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    json!({"name": "aws", "value": "", "models": ["*"], "weight": 1.0, "bedrock_key_config": block})
}

async fn gateway_with(
    mock: &BedrockMock,
    key: Value,
    secret: &str,
    edit: impl FnOnce(&mut Value),
) -> Gateway {
    let mut p = provider(&mock.url, json!([key]));
    edit(&mut p);
    let env = [
        ("E2E_AWS_AK", ACCESS_KEY),
        ("E2E_AWS_SK", secret),
        ("AWS_ENDPOINT_URL_STS", mock.url.as_str()),
    ];
    Gateway::launch(&config(json!({ "bedrock": p })), &env).await
}

pub async fn gateway(mock: &BedrockMock) -> Gateway {
    gateway_with(mock, sigv4_key(json!({})), SECRET_KEY, |_| {}).await
}

pub async fn mock() -> BedrockMock {
    BedrockMock::start("bedrock-mock", ACCESS_KEY, SECRET_KEY).await
}

fn chat(text: &str) -> Value {
    json!({"model": format!("bedrock/{MODEL}"), "messages": [{"role": "user", "content": text}]})
}

/// The credential scope of a SigV4 `Authorization` header: (access key, date/region/service).
fn credential(up: &Recorded) -> (String, String) {
    let auth = up.header("authorization").unwrap();
    let cred = auth
        .split("Credential=")
        .nth(1)
        .unwrap()
        .split(',')
        .next()
        .unwrap();
    let (key, scope) = cred.split_once('/').unwrap();
    (key.to_owned(), scope.to_owned())
}

#[tokio::test]
async fn chat_is_signed_translated_to_converse_and_back() {
    within(60, async {
        let mock = mock().await;
        let gw = gateway(&mock).await;
        let body = json!({
            "model": format!("bedrock/{MODEL}"),
            "messages": [
                {"role": "system", "content": "You are terse."},
                {"role": "user", "content": "Hello there"}
            ],
            "max_tokens": 256, "temperature": 0.2, "top_p": 0.8, "stop": ["END"]
        });
        let (status, resp) = gw.chat(&body).await;
        assert_eq!(status, 200, "{resp}");

        let up = mock.last();
        assert_eq!(up.method, "POST");
        assert_eq!(up.path, format!("{MODEL_PATH}/converse"));
        let (key, scope) = credential(&up);
        assert_eq!(key, ACCESS_KEY);
        assert!(
            scope.ends_with("/eu-west-3/bedrock/aws4_request"),
            "{scope}"
        );
        assert!(up.header("x-amz-date").is_some());
        assert_eq!(up.header("x-amz-security-token"), None);
        assert_eq!(up.header("content-type"), Some("application/json"));
        assert_eq!(up.body["system"], json!([{"text": "You are terse."}]));
        assert_eq!(
            up.body["messages"],
            json!([{"role": "user", "content": [{"text": "Hello there"}]}])
        );
        assert_eq!(
            up.body["inferenceConfig"],
            json!({"maxTokens": 256, "temperature": 0.2, "topP": 0.8, "stopSequences": ["END"]})
        );
        assert!(up.body.get("toolConfig").is_none());

        assert_eq!(resp["object"], "chat.completion");
        assert_eq!(resp["model"], MODEL);
        assert_eq!(resp["choices"][0]["message"]["role"], "assistant");
        assert_eq!(
            resp["choices"][0]["message"]["content"],
            "bedrock-mock says: Hello there"
        );
        assert_eq!(resp["choices"][0]["finish_reason"], "stop");
        // Bedrock's inputTokens leaves out the 5 cached tokens; OpenAI's prompt_tokens counts them.
        assert_eq!(resp["usage"]["prompt_tokens"], 30);
        assert_eq!(resp["usage"]["completion_tokens"], 15);
        assert_eq!(resp["usage"]["total_tokens"], 45);
        assert_eq!(resp["usage"]["prompt_tokens_details"]["cached_tokens"], 5);
        assert_eq!(resp["extra_fields"]["provider"], "bedrock");
        assert_eq!(resp["extra_fields"]["model_requested"], MODEL);
        assert_eq!(resp["extra_fields"]["request_type"], "chat_completion");
    })
    .await;
}

#[tokio::test]
async fn streams_decode_eventstream_frames_into_chunks() {
    within(60, async {
        let mock = mock().await;
        let gw = gateway(&mock).await;
        let mut body = chat("Stream please");
        body["stream"] = json!(true);
        body["stream_options"] = json!({"include_usage": true});
        let sse = gw.stream("/v1/chat/completions", &body, &[]).await;
        assert_eq!(sse.status, 200, "{}", sse.raw);
        assert!(sse.content_type.starts_with("text/event-stream"));
        let up = mock.last();
        assert_eq!(up.path, format!("{MODEL_PATH}/converse-stream"));
        assert_eq!(
            up.header("accept"),
            Some("application/vnd.amazon.eventstream")
        );
        assert_eq!(credential(&up).0, ACCESS_KEY);

        assert_eq!(sse.content(), STREAM_PIECES.concat());
        let chunks = sse.chunks();
        assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
        assert!(chunks
            .iter()
            .all(|c| c["object"] == "chat.completion.chunk"));
        let finish: Vec<&Value> = chunks
            .iter()
            .filter_map(|c| {
                c["choices"][0]
                    .get("finish_reason")
                    .filter(|f| !f.is_null())
            })
            .collect();
        assert_eq!(finish, vec![&json!("stop")]);
        let usage = chunks
            .iter()
            .find_map(|c| c.get("usage").filter(|u| !u.is_null()))
            .unwrap();
        assert_eq!(usage["prompt_tokens"], 30);
        assert_eq!(usage["completion_tokens"], 15);
        assert!(sse.ends_with_done());
    })
    .await;
}

#[tokio::test]
async fn an_exception_inside_the_stream_ends_it_with_an_error_event() {
    within(60, async {
        let mock = mock().await;
        mock.stream_exception("modelStreamErrorException", "The model stream broke.");
        let gw = gateway(&mock).await;
        let mut body = chat("Stream please");
        body["stream"] = json!(true);
        let sse = gw.stream("/v1/chat/completions", &body, &[]).await;
        assert_eq!(sse.status, 200);
        assert_eq!(sse.content(), STREAM_PIECES[0]);
        assert!(sse.raw.contains("The model stream broke."), "{}", sse.raw);
        assert!(!sse.raw.contains(STREAM_PIECES[1]));
    })
    .await;
}

#[tokio::test]
async fn tools_and_images_round_trip_through_converse() {
    within(60, async {
        let mock = mock().await;
        let gw = gateway(&mock).await;
        let body = json!({
            "model": format!("bedrock/{MODEL}"),
            "messages": [{"role": "user", "content": [
                {"type": "text", "text": "Weather where this photo was taken?"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}
            ]}],
            "tools": weather_tool(),
            "tool_choice": "required"
        });
        let (status, resp) = gw.chat(&body).await;
        assert_eq!(status, 200, "{resp}");
        let up = mock.last();
        assert_eq!(
            up.body["toolConfig"],
            json!({"tools": [{"toolSpec": {"name": "get_weather", "description": "Weather in a city",
                "inputSchema": {"json": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}}],
                "toolChoice": {"any": {}}})
        );
        assert_eq!(
            up.body["messages"][0]["content"],
            json!([
                {"text": "Weather where this photo was taken?"},
                {"image": {"format": "png", "source": {"bytes": "iVBORw0KGgo="}}}
            ])
        );
        let choice = &resp["choices"][0];
        assert_eq!(choice["finish_reason"], "tool_calls");
        let call = &choice["message"]["tool_calls"][0];
        assert_eq!(call["id"], "tooluse_mock_1");
        assert_eq!(call["function"]["name"], "get_weather");
        let args: Value = serde_json::from_str(call["function"]["arguments"].as_str().unwrap()).unwrap();
        assert_eq!(args, json!({"city": "Paris"}));

        let mut second = body.clone();
        let turns = second["messages"].as_array_mut().unwrap();
        turns.push(json!({"role": "assistant", "content": null, "tool_calls": choice["message"]["tool_calls"].clone()}));
        turns.push(json!({"role": "tool", "tool_call_id": "tooluse_mock_1", "content": "18C"}));
        second.as_object_mut().unwrap().remove("tool_choice");
        let (status, resp) = gw.chat(&second).await;
        assert_eq!(status, 200, "{resp}");
        let msgs = mock.last().body["messages"].clone();
        assert_eq!(
            msgs[1],
            json!({"role": "assistant", "content": [{"toolUse": {"toolUseId": "tooluse_mock_1", "name": "get_weather", "input": {"city": "Paris"}}}]})
        );
        assert_eq!(
            msgs[2],
            json!({"role": "user", "content": [{"toolResult": {"toolUseId": "tooluse_mock_1", "content": [{"text": "18C"}]}}]})
        );
        assert_eq!(resp["choices"][0]["finish_reason"], "stop");

        // Streamed tool calls arrive as OpenAI tool-call deltas.
        let mut streamed = body.clone();
        streamed["stream"] = json!(true);
        let sse = gw.stream("/v1/chat/completions", &streamed, &[]).await;
        let calls: Vec<Value> = sse
            .chunks()
            .iter()
            .filter_map(|c| c["choices"][0]["delta"]["tool_calls"][0].as_object().cloned())
            .map(Value::Object)
            .collect();
        assert_eq!(calls[0]["id"], "tooluse_mock_stream");
        assert_eq!(calls[0]["function"]["name"], "get_weather");
        let args: String = calls
            .iter()
            .filter_map(|c| c["function"]["arguments"].as_str())
            .collect();
        assert_eq!(args, "{\"city\": \"Paris\"}");
    })
    .await;
}

#[tokio::test]
async fn stop_reasons_become_finish_reasons() {
    within(60, async {
        let mock = mock().await;
        let gw = gateway(&mock).await;
        for (stop, finish) in [
            ("max_tokens", "length"),
            ("stop_sequence", "stop"),
            ("guardrail_intervened", "content_filter"),
        ] {
            let (status, resp) = gw.chat(&chat(&format!("go [stop:{stop}]"))).await;
            assert_eq!(status, 200, "{resp}");
            assert_eq!(resp["choices"][0]["finish_reason"], finish, "{stop}");
        }
    })
    .await;
}

#[tokio::test]
async fn a_wrong_secret_gets_the_signature_error_in_bifrost_shape() {
    within(60, async {
        let mock = mock().await;
        let gw = gateway_with(&mock, sigv4_key(json!({})), "not-the-secret", |_| {}).await;
        let (status, resp) = gw.chat(&chat("Hi")).await;
        assert_eq!(status, 403, "{resp}");
        let message = assert_error_shape(&resp, 403);
        assert!(
            message.contains("signature we calculated does not match"),
            "{message}"
        );
        assert_eq!(resp["error"]["type"], "InvalidSignatureException");
        assert!(!resp.to_string().contains("not-the-secret"));
        assert_eq!(mock.runtime_requests().len(), 1);
    })
    .await;
}

#[tokio::test]
async fn throttling_is_retried_and_validation_errors_are_not() {
    within(60, async {
        let mock = mock().await;
        let gw = gateway_with(&mock, sigv4_key(json!({})), SECRET_KEY, |p| {
            p["network_config"]["max_retries"] = json!(2);
        })
        .await;
        mock.fail_next(
            1,
            429,
            "ThrottlingException",
            "Too many requests, please wait before trying again.",
        );
        let (status, resp) = gw.chat(&chat("Hi")).await;
        assert_eq!(status, 200, "{resp}");
        assert_eq!(mock.runtime_requests().len(), 2);

        mock.fail_next(
            1,
            400,
            "ValidationException",
            "The provided model identifier is invalid.",
        );
        let (status, resp) = gw.chat(&chat("Hi")).await;
        assert_eq!(status, 400, "{resp}");
        let message = assert_error_shape(&resp, 400);
        assert_eq!(message, "The provided model identifier is invalid.");
        assert_eq!(resp["error"]["type"], "ValidationException");
        assert_eq!(mock.runtime_requests().len(), 3, "a 400 is not retried");
    })
    .await;
}

#[tokio::test]
async fn embeddings_use_the_model_family_body() {
    within(60, async {
        let mock = mock().await;
        let gw = gateway(&mock).await;
        let (status, resp) = gw
            .post(
                "/v1/embeddings",
                &json!({"model": "bedrock/amazon.titan-embed-text-v2:0", "input": ["one two", "three"], "dimensions": 256}),
            )
            .await;
        assert_eq!(status, 200, "{resp}");
        let calls = mock.runtime_requests();
        assert_eq!(calls.len(), 2, "Titan embeds one text per call");
        assert!(calls.iter().all(|c| c.path == "/model/amazon.titan-embed-text-v2%3A0/invoke"));
        let mut sent: Vec<Value> = calls.iter().map(|c| c.body.clone()).collect();
        sent.sort_by_key(|b| b["inputText"].as_str().unwrap().to_owned());
        assert_eq!(
            sent,
            vec![json!({"inputText": "one two", "dimensions": 256}), json!({"inputText": "three", "dimensions": 256})]
        );
        assert_eq!(resp["object"], "list");
        assert_eq!(resp["data"][0]["embedding"], json!(vector_for("one two")));
        assert_eq!(resp["data"][1]["embedding"], json!(vector_for("three")));
        assert_eq!(resp["data"][1]["index"], 1);
        assert_eq!(resp["usage"]["prompt_tokens"], 3);

        let (status, resp) = gw
            .post(
                "/v1/embeddings",
                &json!({"model": "bedrock/cohere.embed-english-v3", "input": ["a", "bb"], "input_type": "search_query"}),
            )
            .await;
        assert_eq!(status, 200, "{resp}");
        let up = mock.last();
        assert_eq!(up.path, "/model/cohere.embed-english-v3/invoke");
        assert_eq!(up.body, json!({"texts": ["a", "bb"], "input_type": "search_query"}));
        assert_eq!(resp["data"][1]["embedding"], json!(vector_for("bb")));
        assert_eq!(resp["usage"]["prompt_tokens"], 7);
    })
    .await;
}

#[tokio::test]
async fn deployments_and_the_inference_profile_arn_name_the_model() {
    within(60, async {
        let mock = mock().await;
        let arn = "arn:aws:bedrock:eu-west-3:123456789012:application-inference-profile";
        let key = sigv4_key(json!({"arn": arn, "deployments": {"claude-haiku": "abc123profile"}}));
        let gw = gateway_with(&mock, key, SECRET_KEY, |_| {}).await;
        let (status, resp) = gw.chat(&json!({"model": "bedrock/claude-haiku",
            "messages": [{"role": "user", "content": "Hi"}]})).await;
        assert_eq!(status, 200, "{resp}");
        let up = mock.last();
        assert_eq!(
            up.path,
            "/model/arn%3Aaws%3Abedrock%3Aeu-west-3%3A123456789012%3Aapplication-inference-profile%2Fabc123profile/converse"
        );
        assert_eq!(resp["choices"][0]["message"]["content"], "bedrock-mock says: Hi");
    })
    .await;
}

#[tokio::test]
async fn a_role_is_assumed_once_and_its_temporary_credentials_sign() {
    within(60, async {
        let mock = mock().await;
        let key = sigv4_key(json!({
            "role_arn": "arn:aws:iam::123456789012:role/bifrost-bedrock",
            "external_id": "ext-42",
            "session_name": "e2e-session"
        }));
        let gw = gateway_with(&mock, key, SECRET_KEY, |_| {}).await;
        for _ in 0..2 {
            let (status, resp) = gw.chat(&chat("Hi")).await;
            assert_eq!(status, 200, "{resp}");
        }
        let sts: Vec<Recorded> = mock
            .requests()
            .into_iter()
            .filter(|r| r.path == "/")
            .collect();
        assert_eq!(sts.len(), 1, "the assumed role's credentials are cached");
        let call = &sts[0];
        assert_eq!(call.body["Action"], "AssumeRole");
        assert_eq!(call.body["Version"], "2011-06-15");
        assert_eq!(
            call.body["RoleArn"],
            "arn:aws:iam::123456789012:role/bifrost-bedrock"
        );
        assert_eq!(call.body["ExternalId"], "ext-42");
        assert_eq!(call.body["RoleSessionName"], "e2e-session");
        let (key, scope) = credential(call);
        assert_eq!(
            key, ACCESS_KEY,
            "AssumeRole is signed with the base credentials"
        );
        assert!(scope.ends_with("/eu-west-3/sts/aws4_request"), "{scope}");

        let up = mock.last();
        assert_eq!(credential(&up).0, "ASIAMOCKTEMP1");
        assert_eq!(up.header("x-amz-security-token"), Some("temp-token-1+/="));
        assert!(up
            .header("authorization")
            .unwrap()
            .contains("SignedHeaders=host;x-amz-date;x-amz-security-token,"));
    })
    .await;
}

#[tokio::test]
async fn a_bedrock_api_key_is_sent_as_a_bearer_token_unsigned() {
    within(60, async {
        let mock = mock().await;
        mock.accept_api_key("bedrock-api-key-e2e");
        let key = json!({"name": "api", "value": "env.E2E_BEDROCK_API_KEY", "models": ["*"],
                         "bedrock_key_config": {"region": "us-west-2"}});
        let mut p = provider(&mock.url, json!([key]));
        p["network_config"]["max_retries"] = json!(0);
        let gw = Gateway::launch(
            &config(json!({ "bedrock": p })),
            &[("E2E_BEDROCK_API_KEY", "bedrock-api-key-e2e")],
        )
        .await;
        let (status, resp) = gw.chat(&chat("Hi")).await;
        assert_eq!(status, 200, "{resp}");
        let up = mock.last();
        assert_eq!(up.bearer(), Some("bedrock-api-key-e2e"));
        assert_eq!(up.header("x-amz-date"), None);
    })
    .await;
}

#[tokio::test]
async fn text_completions_go_through_converse_but_cannot_stream() {
    within(60, async {
        let mock = mock().await;
        let gw = gateway(&mock).await;
        let body =
            json!({"model": format!("bedrock/{MODEL}"), "prompt": "Once upon", "max_tokens": 20});
        let (status, resp) = gw.post("/v1/completions", &body).await;
        assert_eq!(status, 200, "{resp}");
        assert_eq!(resp["object"], "text_completion");
        assert_eq!(resp["choices"][0]["text"], "bedrock-mock says: Once upon");
        assert_eq!(mock.last().body["inferenceConfig"]["maxTokens"], 20);

        let calls = mock.runtime_requests().len();
        let mut streamed = body.clone();
        streamed["stream"] = json!(true);
        let (status, resp) = gw.post("/v1/completions", &streamed).await;
        assert_eq!(status, 400, "{resp}");
        let message = assert_error_shape(&resp, 400);
        assert!(message.contains("not supported by bedrock"), "{message}");
        assert_eq!(
            mock.runtime_requests().len(),
            calls,
            "nothing reached Bedrock"
        );
    })
    .await;
}

#[tokio::test]
async fn the_anthropic_ingress_reaches_a_bedrock_upstream() {
    within(60, async {
        let mock = mock().await;
        let gw = gateway(&mock).await;
        let body = json!({
            "model": format!("bedrock/{MODEL}"), "max_tokens": 128,
            "system": "You are terse.",
            "messages": [{"role": "user", "content": [{"type": "text", "text": "Hello from the SDK"}]}]
        });
        let (status, resp) = gw
            .post_with("/anthropic/v1/messages", &body, &[("anthropic-version", "2023-06-01"), ("x-api-key", "ignored")])
            .await;
        assert_eq!(status, 200, "{resp}");
        let up = mock.last();
        assert_eq!(up.path, format!("{MODEL_PATH}/converse"));
        assert_eq!(up.body["system"], json!([{"text": "You are terse."}]));
        assert_eq!(up.body["inferenceConfig"]["maxTokens"], 128);
        assert_eq!(resp["type"], "message");
        assert_eq!(resp["role"], "assistant");
        assert_eq!(
            resp["content"],
            json!([{"type": "text", "text": "bedrock-mock says: Hello from the SDK"}])
        );
        assert_eq!(resp["stop_reason"], "end_turn");
        assert_eq!(resp["usage"]["output_tokens"], 15);
    })
    .await;
}

#[tokio::test]
async fn web_identity_credentials_come_from_sts_unsigned() {
    within(60, async {
        let mock = mock().await;
        mock.accept_web_identity_token("eks-projected-token");
        let dir = tempfile::tempdir().unwrap();
        let token_file = dir.path().join("token");
        std::fs::write(&token_file, "eks-projected-token\n").unwrap();
        let key = json!({"name": "irsa", "value": "", "models": ["*"],
                         "bedrock_key_config": {"region": "us-east-2"}});
        let gw = Gateway::launch(
            &config(json!({ "bedrock": provider(&mock.url, json!([key])) })),
            &[
                ("AWS_WEB_IDENTITY_TOKEN_FILE", token_file.to_str().unwrap()),
                ("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/irsa"),
                ("AWS_ENDPOINT_URL_STS", mock.url.as_str()),
            ],
        )
        .await;
        let (status, resp) = gw.chat(&chat("Hi")).await;
        assert_eq!(status, 200, "{resp}");
        let sts: Vec<Recorded> = mock
            .requests()
            .into_iter()
            .filter(|r| r.path == "/")
            .collect();
        assert_eq!(sts.len(), 1);
        assert_eq!(sts[0].body["Action"], "AssumeRoleWithWebIdentity");
        assert_eq!(
            sts[0].body["RoleArn"],
            "arn:aws:iam::123456789012:role/irsa"
        );
        assert_eq!(
            sts[0].header("authorization"),
            None,
            "the web identity call is unsigned"
        );
        let up = mock.last();
        let (key, scope) = credential(&up);
        assert_eq!(key, "ASIAMOCKTEMP1");
        assert!(
            scope.ends_with("/us-east-2/bedrock/aws4_request"),
            "{scope}"
        );
    })
    .await;
}

#[tokio::test]
async fn the_management_api_never_shows_the_secret_key() {
    within(60, async {
        let mock = mock().await;
        let key = json!({"name": "aws", "value": "", "models": ["*"], "bedrock_key_config": {
            "access_key": ACCESS_KEY, "secret_key": SECRET_KEY, "session_token": "literal-session-token-1234",
            "region": "eu-west-3"}});
        let gw = gateway_with(&mock, key, SECRET_KEY, |_| {}).await;
        let (status, one) = gw.get("/api/providers/bedrock").await;
        assert_eq!(status, 200, "{one}");
        let block = &one["keys"][0]["bedrock_key_config"];
        assert_eq!(block["access_key"], ACCESS_KEY);
        assert_eq!(block["secret_key"], "********ghij");
        assert_eq!(block["session_token"], "********1234");
        assert!(!one.to_string().contains(SECRET_KEY));
    })
    .await;
}
