//! `/v1/responses` end to end (served through chat, JSON and typed SSE events), and the
//! composite prefixes (`/litellm`, `/langchain`, `/pydanticai`) that mount every route set.

use serde_json::{json, Value};

use crate::common::{assert_error_shape, within};
use crate::ingress_anthropic::{named_events, two_upstreams, two_upstreams_with};
use crate::mock::openai;

fn weather_tool() -> Value {
    json!([{"type": "function", "name": "get_weather", "description": "Weather",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}])
}

#[tokio::test]
async fn a_response_is_served_through_chat() {
    within(60, async {
        let (oai, _claude, gw) = two_upstreams().await;
        let body = json!({"model": "openai/gpt-4o-mini", "instructions": "Be brief.",
                          "input": "Hello", "max_output_tokens": 50});
        for path in ["/v1/responses", "/openai/v1/responses", "/openai/responses"] {
            let (status, resp) = gw.post(path, &body).await;
            assert_eq!(status, 200, "{path}: {resp}");
            assert_eq!(resp["object"], "response");
            assert_eq!(resp["status"], "completed");
            assert!(resp["id"].as_str().unwrap().starts_with("resp_"));
            assert_eq!(resp["instructions"], "Be brief.");
            assert_eq!(resp["max_output_tokens"], 50);
            let msg = &resp["output"][0];
            assert_eq!(msg["type"], "message");
            assert_eq!(msg["role"], "assistant");
            assert_eq!(msg["content"][0]["type"], "output_text");
            assert_eq!(msg["content"][0]["text"], "openai-mock says: Hello");
            assert_eq!(resp["usage"]["input_tokens"], 9);
            assert_eq!(resp["usage"]["output_tokens"], 3);
            assert_eq!(resp["usage"]["total_tokens"], 12);
        }
        let up = oai.last();
        assert_eq!(up.path, "/v1/chat/completions");
        assert_eq!(up.body["max_completion_tokens"], 50);
        assert_eq!(
            up.body["messages"],
            json!([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello"}])
        );
    })
    .await;
}

#[tokio::test]
async fn a_function_call_round_trip_through_an_anthropic_upstream() {
    within(60, async {
        let (_oai, claude, gw) = two_upstreams().await;
        let model = "anthropic/claude-3-5-haiku-20241022";
        let first = json!({"model": model, "input": "Weather in Paris?", "tools": weather_tool()});
        let (status, resp) = gw.post("/v1/responses", &first).await;
        assert_eq!(status, 200, "{resp}");
        let output = resp["output"].as_array().unwrap();
        let call = output
            .iter()
            .find(|i| i["type"] == "function_call")
            .unwrap();
        assert_eq!(call["call_id"], "toolu_mock_1");
        assert_eq!(call["name"], "get_weather");
        let args: Value = serde_json::from_str(call["arguments"].as_str().unwrap()).unwrap();
        assert_eq!(args, json!({"city": "Paris"}));
        assert_eq!(claude.last().body["tools"][0]["name"], "get_weather");

        // The SDK's usual follow-up: earlier output items fed back plus the function output.
        let mut input = vec![json!({"role": "user", "content": "Weather in Paris?"})];
        input.extend(output.iter().cloned());
        input.push(
            json!({"type": "function_call_output", "call_id": "toolu_mock_1", "output": "sunny"}),
        );
        let second = json!({"model": model, "input": input, "tools": weather_tool()});
        let (status, resp) = gw.post("/v1/responses", &second).await;
        assert_eq!(status, 200, "{resp}");
        assert_eq!(resp["output"].as_array().unwrap().len(), 1, "{resp}");
        let sent = claude.last().body;
        let msgs = sent["messages"].as_array().unwrap();
        assert_eq!(msgs[1]["role"], "assistant");
        assert!(
            msgs[1]["content"]
                .as_array()
                .unwrap()
                .iter()
                .any(|b| b["type"] == "tool_use" && b["id"] == "toolu_mock_1"),
            "{sent}"
        );
        let result = &msgs[2]["content"][0];
        assert_eq!(result["type"], "tool_result");
        assert_eq!(result["tool_use_id"], "toolu_mock_1");
        assert_eq!(result["content"], "sunny");
    })
    .await;
}

#[tokio::test]
async fn streaming_uses_typed_events_without_done() {
    within(60, async {
        let (oai, _claude, gw) = two_upstreams().await;
        let body = json!({"model": "openai/gpt-4o-mini", "input": "Stream", "stream": true});
        let sse = gw.stream("/v1/responses", &body, &[]).await;
        assert_eq!(sse.status, 200, "{}", sse.raw);
        assert!(sse.content_type.starts_with("text/event-stream"));
        assert!(!sse.raw.contains("[DONE]"));
        assert_eq!(oai.last().body["stream"], true);
        let ev = named_events(&sse.raw);
        let names: Vec<&str> = ev.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names[..4],
            [
                "response.created",
                "response.in_progress",
                "response.output_item.added",
                "response.content_part.added"
            ]
        );
        assert_eq!(*names.last().unwrap(), "response.completed");
        for (i, (name, data)) in ev.iter().enumerate() {
            assert_eq!(data["type"], name.as_str());
            assert_eq!(data["sequence_number"], i);
        }
        let text: String = ev
            .iter()
            .filter(|(n, _)| n == "response.output_text.delta")
            .map(|(_, d)| d["delta"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(text, openai::STREAM_PIECES.concat());
        let done = &ev.last().unwrap().1["response"];
        assert_eq!(done["output"][0]["content"][0]["text"], text.as_str());
        assert_eq!(done["usage"]["total_tokens"], 12);
    })
    .await;
}

#[tokio::test]
async fn streamed_function_calls_and_stream_errors() {
    within(60, async {
        let (oai, _claude, gw) = two_upstreams_with(|p| {
            p["openai"]["network_config"]["stream_idle_timeout_in_seconds"] = json!(5);
        })
        .await;
        let body = json!({"model": "openai/gpt-4o-mini", "input": "Weather?", "stream": true,
                          "tools": weather_tool()});
        let sse = gw.stream("/v1/responses", &body, &[]).await;
        let ev = named_events(&sse.raw);
        let args: String = ev
            .iter()
            .filter(|(n, _)| n == "response.function_call_arguments.delta")
            .map(|(_, d)| d["delta"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(args, "{\"city\":\"Paris\"}");
        let done = ev
            .iter()
            .find(|(n, _)| n == "response.function_call_arguments.done")
            .unwrap();
        assert_eq!(done.1["arguments"], args.as_str());
        let added = ev
            .iter()
            .find(|(n, d)| {
                n == "response.output_item.added" && d["item"]["type"] == "function_call"
            })
            .unwrap();
        assert_eq!(added.1["item"]["call_id"], "call_stream_1");
        assert_eq!(added.1["item"]["name"], "get_weather");

        oai.stall_streams_after(2);
        let body = json!({"model": "openai/gpt-4o-mini", "input": "x", "stream": true});
        let sse = gw.stream("/v1/responses", &body, &[]).await;
        let ev = named_events(&sse.raw);
        let (name, data) = ev.last().unwrap();
        assert_eq!(name, "error", "{}", sse.raw);
        assert_eq!(data["code"], "request_timed_out");
        assert!(!ev.iter().any(|(n, _)| n == "response.completed"));
    })
    .await;
}

#[tokio::test]
async fn errors_keep_bifrosts_shape() {
    within(60, async {
        let (_oai, _claude, gw) = two_upstreams().await;
        let (status, resp) = gw
            .post("/v1/responses", &json!({"model": "gpt-4o-mini", "input": "x"}))
            .await;
        assert_eq!(status, 400);
        let msg = assert_error_shape(&resp, 400);
        assert!(msg.contains("provider/model"), "{msg}");
        let (status, resp) = gw
            .post("/v1/responses", &json!({"model": "openai/gpt-4o-mini", "input": "x", "previous_response_id": "resp_1"}))
            .await;
        assert_eq!(status, 400);
        assert!(assert_error_shape(&resp, 400).contains("previous_response_id"));
    })
    .await;
}

#[tokio::test]
async fn composite_prefixes_mount_every_route_set() {
    within(60, async {
        let (oai, claude, gw) = two_upstreams().await;
        let chat =
            json!({"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "c"}]});
        let messages = json!({"model": "claude-3-5-haiku-20241022", "max_tokens": 5,
                              "messages": [{"role": "user", "content": "m"}]});
        let generate = json!({"contents": [{"role": "user", "parts": [{"text": "g"}]}]});
        for prefix in ["/litellm", "/langchain", "/pydanticai"] {
            for path in ["/v1/chat/completions", "/chat/completions"] {
                let (status, resp) = gw.post(&format!("{prefix}{path}"), &chat).await;
                assert_eq!(status, 200, "{prefix}{path}: {resp}");
                assert_eq!(resp["object"], "chat.completion");
            }
            let (status, resp) = gw
                .post(
                    &format!("{prefix}/v1/responses"),
                    &json!({"model": "openai/gpt-4o-mini", "input": "r"}),
                )
                .await;
            assert_eq!(status, 200, "{resp}");
            assert_eq!(resp["object"], "response");
            let (status, resp) = gw.post(&format!("{prefix}/v1/messages"), &messages).await;
            assert_eq!(status, 200, "{resp}");
            assert_eq!(resp["type"], "message");
            assert_eq!(resp["content"][0]["text"], "claude-mock says: m");
            let path = format!("{prefix}/v1beta/models/openai/gpt-4o-mini:generateContent");
            let (status, resp) = gw.post(&path, &generate).await;
            assert_eq!(status, 200, "{path}: {resp}");
            assert_eq!(
                resp["candidates"][0]["content"]["parts"][0]["text"],
                "openai-mock says: g"
            );
            // A composite's /v1/models is OpenAI's list.
            let (status, resp) = gw.get(&format!("{prefix}/v1/models")).await;
            assert_eq!(status, 200, "{resp}");
            assert_eq!(resp["object"], "list");
        }
        assert!(claude.requests_to("/v1/messages").len() >= 3);
        assert!(oai.requests_to("/v1/chat/completions").len() >= 12);
    })
    .await;
}

#[tokio::test]
async fn the_openai_python_sdks_responses_api_works_end_to_end() {
    within(150, async {
        let (oai, claude, gw) = two_upstreams().await;
        crate::sdk::run_sdk_script("test_responses_sdk.py", "openai", &gw).await;
        assert_eq!(oai.requests_to("/v1/chat/completions").len(), 3);
        assert_eq!(claude.requests_to("/v1/messages").len(), 2);
    })
    .await;
}
