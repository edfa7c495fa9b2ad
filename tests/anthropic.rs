//! The anthropic provider end to end: OpenAI-shaped requests in, the Messages API upstream
//! (asserting what Anthropic received), OpenAI-shaped answers and chunks back.

use serde_json::{json, Value};

use crate::common::{assert_error_shape, config, key, provider, weather_tool, within, Gateway};
use crate::mock::{anthropic, Mock};

const KEY: &str = "sk-ant-e2e-0123456789";

async fn gateway(mock: &Mock) -> Gateway {
    let cfg = config(
        json!({"anthropic": provider(&mock.url, json!([key("main", "env.E2E_ANTHROPIC_KEY")]))}),
    );
    Gateway::launch(&cfg, &[("E2E_ANTHROPIC_KEY", KEY)]).await
}

#[tokio::test]
async fn an_upstream_redirect_is_not_followed_and_the_key_goes_nowhere_else() {
    within(60, async {
        let mock = Mock::anthropic("claude").await;
        let elsewhere = Mock::anthropic("elsewhere").await;
        mock.redirect_inference_to(&elsewhere.url);
        let gw = gateway(&mock).await;
        let body = json!({
            "model": "anthropic/claude-3-5-haiku-20241022",
            "messages": [{"role": "user", "content": "Hello there"}],
            "max_tokens": 16
        });
        let (status, resp) = gw.chat(&body).await;
        // The key travels in `x-api-key`, which an HTTP client following a redirect to another
        // host would send along (it strips only `Authorization` and cookies).
        assert_eq!(elsewhere.count(), 0, "the redirect was followed");
        assert_eq!(status, 502, "{resp}");
        let message = assert_error_shape(&resp, 502);
        assert!(message.contains("redirect"), "{message}");
    })
    .await;
}

#[tokio::test]
async fn chat_json_is_translated_to_messages_and_back() {
    within(60, async {
        let mock = Mock::anthropic("claude").await;
        let gw = gateway(&mock).await;
        let body = json!({
            "model": "anthropic/claude-3-5-haiku-20241022",
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
        assert_eq!(up.path, "/v1/messages");
        assert_eq!(up.header("x-api-key"), Some(KEY));
        assert_eq!(up.header("anthropic-version"), Some("2023-06-01"));
        assert_eq!(up.header("authorization"), None);
        assert_eq!(up.body["model"], "claude-3-5-haiku-20241022");
        assert_eq!(up.body["system"], "You are terse.");
        assert_eq!(
            up.body["messages"],
            json!([{"role": "user", "content": "Hello there"}])
        );
        assert_eq!(up.body["max_tokens"], 256);
        assert_eq!(up.body["temperature"], 0.2);
        assert_eq!(up.body["top_p"], 0.8);
        assert_eq!(up.body["stop_sequences"], json!(["END"]));
        assert!(up.body.get("stream").is_none() || up.body["stream"] == false);

        assert_eq!(resp["object"], "chat.completion");
        assert_eq!(resp["choices"][0]["message"]["role"], "assistant");
        assert_eq!(
            resp["choices"][0]["message"]["content"],
            "claude says: Hello there"
        );
        assert_eq!(resp["choices"][0]["finish_reason"], "stop");
        assert_eq!(resp["usage"]["prompt_tokens"], 25);
        assert_eq!(resp["usage"]["completion_tokens"], 15);
        assert_eq!(resp["usage"]["total_tokens"], 40);
        assert_eq!(resp["extra_fields"]["provider"], "anthropic");
        assert_eq!(
            resp["extra_fields"]["model_requested"],
            "claude-3-5-haiku-20241022"
        );
        assert_eq!(resp["extra_fields"]["request_type"], "chat_completion");
    })
    .await;
}

#[tokio::test]
async fn tools_become_tool_use_and_come_back_as_tool_calls() {
    within(60, async {
        let mock = Mock::anthropic("claude").await;
        let gw = gateway(&mock).await;
        let body = json!({
            "model": "anthropic/claude-sonnet-4-20250514",
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
            up.body["tools"],
            json!([{"name": "get_weather", "description": "Weather in a city",
                    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}])
        );
        assert_eq!(up.body["tool_choice"], json!({"type": "any"}));
        assert_eq!(
            up.body["messages"][0]["content"],
            json!([
                {"type": "text", "text": "Weather where this photo was taken?"},
                {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}}
            ])
        );
        assert!(up.body["max_tokens"].as_u64().unwrap() > 0, "Anthropic requires max_tokens");

        let choice = &resp["choices"][0];
        assert_eq!(choice["finish_reason"], "tool_calls");
        let call = &choice["message"]["tool_calls"][0];
        assert_eq!(call["id"], "toolu_mock_1");
        assert_eq!(call["type"], "function");
        assert_eq!(call["function"]["name"], "get_weather");
        let args: Value = serde_json::from_str(call["function"]["arguments"].as_str().unwrap()).unwrap();
        assert_eq!(args, json!({"city": "Paris"}));

        // The tool's result goes back as a tool_result block.
        let mut second = body.clone();
        let turns = second["messages"].as_array_mut().unwrap();
        turns.push(json!({"role": "assistant", "content": null, "tool_calls": choice["message"]["tool_calls"].clone()}));
        turns.push(json!({"role": "tool", "tool_call_id": "toolu_mock_1", "content": "18C"}));
        second.as_object_mut().unwrap().remove("tool_choice");
        let (status, resp) = gw.chat(&second).await;
        assert_eq!(status, 200, "{resp}");
        let up = mock.last();
        let msgs = up.body["messages"].as_array().unwrap();
        assert_eq!(msgs.len(), 3, "{}", up.body);
        assert_eq!(msgs[1]["role"], "assistant");
        assert_eq!(
            msgs[1]["content"],
            json!([{"type": "tool_use", "id": "toolu_mock_1", "name": "get_weather", "input": {"city": "Paris"}}])
        );
        assert_eq!(msgs[2]["role"], "user");
        assert_eq!(msgs[2]["content"][0], json!({"type": "tool_result", "tool_use_id": "toolu_mock_1", "content": "18C"}));
        assert_eq!(resp["choices"][0]["finish_reason"], "stop");
    })
    .await;
}

#[tokio::test]
async fn stream_events_become_openai_chunks() {
    within(60, async {
        let mock = Mock::anthropic("claude").await;
        let gw = gateway(&mock).await;
        let body = json!({
            "model": "anthropic/claude-3-5-haiku-20241022", "stream": true,
            "messages": [{"role": "system", "content": "Be nice."}, {"role": "user", "content": "hi"}]
        });
        let sse = gw.stream("/v1/chat/completions", &body, &[]).await;
        assert_eq!(sse.status, 200, "{}", sse.raw);
        assert!(sse.ends_with_done(), "{}", sse.raw);
        assert_eq!(sse.content(), anthropic::STREAM_PIECES.concat());
        let chunks = sse.chunks();
        assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
        assert!(chunks.iter().all(|c| c["object"] == "chat.completion.chunk"));
        assert!(chunks.iter().any(|c| c["choices"][0]["finish_reason"] == "stop"), "{}", sse.raw);
        let last = chunks.last().unwrap();
        assert_eq!(last["usage"]["prompt_tokens"], 25, "usage in the last chunk: {last}");
        assert_eq!(last["usage"]["completion_tokens"], 15);
        for (i, c) in chunks.iter().enumerate() {
            assert_eq!(c["extra_fields"]["chunk_index"], i);
            assert_eq!(c["extra_fields"]["provider"], "anthropic");
        }

        let up = mock.last();
        assert_eq!(up.path, "/v1/messages");
        assert_eq!(up.body["stream"], true);
        assert_eq!(up.body["system"], "Be nice.");
        assert_eq!(up.header("x-api-key"), Some(KEY));
        assert_eq!(up.header("anthropic-version"), Some("2023-06-01"));
    })
    .await;
}

#[tokio::test]
async fn tool_use_stream_becomes_tool_call_deltas() {
    within(60, async {
        let mock = Mock::anthropic("claude").await;
        let gw = gateway(&mock).await;
        let body = json!({
            "model": "anthropic/claude-sonnet-4-20250514", "stream": true,
            "messages": [{"role": "user", "content": "weather?"}],
            "tools": weather_tool()
        });
        let sse = gw.stream("/v1/chat/completions", &body, &[]).await;
        assert_eq!(sse.status, 200, "{}", sse.raw);
        assert!(sse.ends_with_done());
        let chunks = sse.chunks();
        let calls: Vec<&Value> = chunks
            .iter()
            .filter_map(|c| c["choices"][0]["delta"]["tool_calls"].as_array())
            .flatten()
            .collect();
        assert!(!calls.is_empty(), "{}", sse.raw);
        assert_eq!(calls[0]["id"], "toolu_mock_stream");
        assert_eq!(calls[0]["function"]["name"], "get_weather");
        assert!(
            calls.iter().all(|c| c["index"] == 0),
            "the first tool_use is tool call 0: {calls:?}"
        );
        let args: String = calls
            .iter()
            .filter_map(|c| c["function"]["arguments"].as_str())
            .collect();
        let args: Value = serde_json::from_str(&args).unwrap();
        assert_eq!(args, json!({"city": "Paris"}));
        assert!(chunks
            .iter()
            .any(|c| c["choices"][0]["finish_reason"] == "tool_calls"));
        assert_eq!(sse.content(), anthropic::STREAM_PIECES.concat());
    })
    .await;
}

#[tokio::test]
async fn anthropic_errors_and_models() {
    within(60, async {
        let mock = Mock::anthropic("claude").await;
        let gw = gateway(&mock).await;

        let (status, list) = gw.get("/v1/models?provider=anthropic").await;
        assert_eq!(status, 200, "{list}");
        let ids: Vec<&str> = list["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["id"].as_str().unwrap())
            .collect();
        assert!(
            ids.contains(&"anthropic/claude-3-5-haiku-20241022"),
            "{ids:?}"
        );
        let up = mock.requests_to("/v1/models");
        assert_eq!(up.len(), 1);
        assert_eq!(up[0].header("x-api-key"), Some(KEY));
        assert_eq!(up[0].header("anthropic-version"), Some("2023-06-01"));
        assert!(
            up[0].query.contains("limit="),
            "Anthropic's list is paginated: {}",
            up[0].query
        );

        mock.fail_next(
            1,
            400,
            anthropic::error("invalid_request_error", "max_tokens: must be positive"),
        );
        let (status, err) = gw
            .chat(&json!({"model": "anthropic/claude-3-5-haiku-20241022",
            "messages": [{"role": "user", "content": "x"}]}))
            .await;
        assert_eq!(status, 400, "{err}");
        let message = assert_error_shape(&err, 400);
        assert_eq!(message, "max_tokens: must be positive");
        assert_eq!(err["error"]["type"], "invalid_request_error");
        assert_eq!(err["is_bifrost_error"], false);
        assert_eq!(err["extra_fields"]["provider"], "anthropic");

        let (status, err) = gw
            .post(
                "/v1/embeddings",
                &json!({"model": "anthropic/claude-3-5-haiku-20241022", "input": "x"}),
            )
            .await;
        assert_eq!(status, 400, "{err}");
        assert_eq!(err["error"]["type"], "unsupported_operation");
    })
    .await;
}
