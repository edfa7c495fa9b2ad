//! The `/anthropic` ingress end to end: Anthropic Messages requests in, OpenAI- and
//! Anthropic-shaped mock upstreams behind, Anthropic messages, SSE events and errors back.

use serde_json::{json, Value};

use crate::common::{config, key, provider, within, Gateway};
use crate::mock::{anthropic, openai, Mock};

pub const OPENAI_KEY: &str = "sk-openai-ingress";
const ANTHROPIC_KEY: &str = "sk-ant-ingress";

/// A gateway with an OpenAI-shaped and an Anthropic-shaped upstream.
pub async fn two_upstreams() -> (Mock, Mock, Gateway) {
    two_upstreams_with(|_| {}).await
}

/// The same, with a chance to change the providers' config first.
pub async fn two_upstreams_with(edit: impl FnOnce(&mut Value)) -> (Mock, Mock, Gateway) {
    let oai = Mock::openai("openai-mock").await;
    let claude = Mock::anthropic("claude-mock").await;
    let mut providers = json!({
        "openai": provider(&oai.url, json!([key("o", "env.E2E_ING_OPENAI")])),
        "anthropic": provider(&claude.url, json!([key("a", "env.E2E_ING_ANTHROPIC")])),
    });
    edit(&mut providers);
    let gw = Gateway::launch(
        &config(providers),
        &[
            ("E2E_ING_OPENAI", OPENAI_KEY),
            ("E2E_ING_ANTHROPIC", ANTHROPIC_KEY),
        ],
    )
    .await;
    (oai, claude, gw)
}

/// Splits an SSE body into `(event name, data)` pairs; frames without `event:` get "".
pub fn named_events(raw: &str) -> Vec<(String, Value)> {
    raw.split("\n\n")
        .filter(|f| !f.trim().is_empty())
        .map(|frame| {
            let mut name = String::new();
            let mut data = String::new();
            for line in frame.lines() {
                if let Some(n) = line.strip_prefix("event:") {
                    name = n.trim().to_owned();
                } else if let Some(d) = line.strip_prefix("data:") {
                    data.push_str(d.trim_start());
                }
            }
            let value = serde_json::from_str(&data)
                .unwrap_or_else(|e| panic!("bad SSE data {data:?}: {e}"));
            (name, value)
        })
        .collect()
}

fn weather_tool() -> Value {
    json!([{"name": "get_weather", "description": "Weather in a city",
            "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}])
}

#[tokio::test]
async fn messages_reach_an_openai_upstream_translated_both_ways() {
    within(60, async {
        let (oai, _claude, gw) = two_upstreams().await;
        let body = json!({
            "model": "openai/gpt-4o-mini", "max_tokens": 100, "temperature": 0.2,
            "system": "You are terse.",
            "messages": [{"role": "user", "content": "Hello"}]
        });
        let (status, resp) = gw.post("/anthropic/v1/messages", &body).await;
        assert_eq!(status, 200, "{resp}");
        let up = oai.last();
        assert_eq!(up.path, "/v1/chat/completions");
        assert_eq!(up.bearer(), Some(OPENAI_KEY));
        assert_eq!(up.body["model"], "gpt-4o-mini");
        assert_eq!(up.body["max_completion_tokens"], 100);
        assert_eq!(up.body["temperature"], 0.2);
        assert_eq!(
            up.body["messages"],
            json!([{"role": "system", "content": "You are terse."}, {"role": "user", "content": "Hello"}])
        );
        assert_eq!(resp["type"], "message");
        assert_eq!(resp["role"], "assistant");
        assert!(resp["id"].as_str().unwrap().starts_with("msg_"), "{resp}");
        assert_eq!(
            resp["content"],
            json!([{"type": "text", "text": "openai-mock says: Hello"}])
        );
        assert_eq!(resp["stop_reason"], "end_turn");
        assert_eq!(resp["usage"]["input_tokens"], 9);
        assert_eq!(resp["usage"]["output_tokens"], 3);
    })
    .await;
}

#[tokio::test]
async fn a_bare_model_goes_to_the_anthropic_provider_with_cache_control_and_betas() {
    within(60, async {
        let (oai, claude, gw) = two_upstreams().await;
        let body = json!({
            "model": "claude-3-5-haiku-20241022", "max_tokens": 50,
            "system": [{"type": "text", "text": "Rules.", "cache_control": {"type": "ephemeral"}}],
            "messages": [{"role": "user", "content": "Hi there"}]
        });
        let (status, resp) = gw
            .post_with(
                "/anthropic/v1/messages",
                &body,
                &[
                    ("anthropic-beta", "prompt-caching-2024-07-31"),
                    ("x-api-key", "client-key"),
                ],
            )
            .await;
        assert_eq!(status, 200, "{resp}");
        assert_eq!(oai.count(), 0);
        let up = claude.last();
        assert_eq!(up.path, "/v1/messages");
        assert_eq!(
            up.header("x-api-key"),
            Some(ANTHROPIC_KEY),
            "the gateway's key, not the client's"
        );
        assert_eq!(
            up.header("anthropic-beta"),
            Some("prompt-caching-2024-07-31")
        );
        assert_eq!(up.body["model"], "claude-3-5-haiku-20241022");
        assert_eq!(
            up.body["system"],
            json!([{"type": "text", "text": "Rules.", "cache_control": {"type": "ephemeral"}}])
        );
        assert_eq!(resp["content"][0]["text"], "claude-mock says: Hi there");
        assert_eq!(resp["usage"]["input_tokens"], 25);
        assert_eq!(resp["usage"]["output_tokens"], 15);
        assert_eq!(resp["model"], "claude-3-5-haiku-20241022");
    })
    .await;
}

#[tokio::test]
async fn streaming_from_an_openai_upstream_is_anthropic_sse() {
    within(60, async {
        let (oai, _claude, gw) = two_upstreams().await;
        let body = json!({"model": "openai/gpt-4o-mini", "max_tokens": 64, "stream": true,
                          "messages": [{"role": "user", "content": "Stream please"}]});
        let sse = gw.stream("/anthropic/v1/messages", &body, &[]).await;
        assert_eq!(sse.status, 200, "{}", sse.raw);
        assert!(sse.content_type.starts_with("text/event-stream"));
        assert!(!sse.raw.contains("[DONE]"));
        assert_eq!(oai.last().body["stream"], true);
        let ev = named_events(&sse.raw);
        let names: Vec<&str> = ev.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names[..3], ["message_start", "ping", "content_block_start"]);
        assert_eq!(
            names[names.len() - 3..],
            ["content_block_stop", "message_delta", "message_stop"]
        );
        for (name, data) in &ev {
            assert_eq!(data["type"], name.as_str());
        }
        let text: String = ev
            .iter()
            .filter(|(n, _)| n == "content_block_delta")
            .map(|(_, d)| d["delta"]["text"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(text, openai::STREAM_PIECES.concat());
        let delta = &ev[ev.len() - 2].1;
        assert_eq!(delta["delta"]["stop_reason"], "end_turn");
        assert_eq!(delta["usage"]["output_tokens"], 3);
        assert_eq!(delta["usage"]["input_tokens"], 9);
    })
    .await;
}

#[tokio::test]
async fn a_tool_use_round_trip_through_an_openai_upstream() {
    within(60, async {
        let (oai, _claude, gw) = two_upstreams().await;
        let first = json!({"model": "openai/gpt-4o-mini", "max_tokens": 64, "tools": weather_tool(),
                           "messages": [{"role": "user", "content": "Weather in Paris?"}]});
        let (status, resp) = gw.post("/anthropic/v1/messages", &first).await;
        assert_eq!(status, 200, "{resp}");
        assert_eq!(resp["stop_reason"], "tool_use");
        let tool_use = resp["content"].as_array().unwrap().last().unwrap().clone();
        assert_eq!(
            tool_use,
            json!({"type": "tool_use", "id": "call_mock_1", "name": "get_weather", "input": {"city": "Paris"}})
        );
        let sent = oai.last();
        assert_eq!(sent.body["tools"][0]["function"]["name"], "get_weather");
        assert_eq!(sent.body["tools"][0]["function"]["parameters"]["required"], json!(["city"]));

        let second = json!({"model": "openai/gpt-4o-mini", "max_tokens": 64, "tools": weather_tool(),
            "messages": [
                {"role": "user", "content": "Weather in Paris?"},
                {"role": "assistant", "content": resp["content"]},
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "call_mock_1", "content": "sunny"}]}
            ]});
        let (status, resp) = gw.post("/anthropic/v1/messages", &second).await;
        assert_eq!(status, 200, "{resp}");
        assert_eq!(resp["stop_reason"], "end_turn");
        let msgs = oai.last().body["messages"].clone();
        assert_eq!(msgs[1]["role"], "assistant");
        assert_eq!(msgs[1]["tool_calls"][0]["id"], "call_mock_1");
        assert_eq!(
            msgs[2],
            json!({"role": "tool", "content": "sunny", "tool_call_id": "call_mock_1"})
        );
    })
    .await;
}

#[tokio::test]
async fn streamed_tool_use_from_an_anthropic_upstream_keeps_partial_json() {
    within(60, async {
        let (_oai, claude, gw) = two_upstreams().await;
        let body = json!({"model": "claude-sonnet-4-20250514", "max_tokens": 64, "stream": true,
                          "tools": weather_tool(),
                          "messages": [{"role": "user", "content": "Weather?"}]});
        let sse = gw.stream("/anthropic/v1/messages", &body, &[]).await;
        assert_eq!(sse.status, 200, "{}", sse.raw);
        assert_eq!(claude.last().body["tools"][0]["name"], "get_weather");
        let ev = named_events(&sse.raw);
        let start = ev
            .iter()
            .find(|(n, d)| n == "content_block_start" && d["content_block"]["type"] == "tool_use")
            .unwrap_or_else(|| panic!("no tool_use block: {}", sse.raw));
        assert_eq!(start.1["content_block"]["id"], "toolu_mock_stream");
        let index = start.1["index"].clone();
        let json_text: String = ev
            .iter()
            .filter(|(n, d)| n == "content_block_delta" && d["index"] == index)
            .map(|(_, d)| {
                assert_eq!(d["delta"]["type"], "input_json_delta");
                d["delta"]["partial_json"].as_str().unwrap().to_owned()
            })
            .collect();
        let input: Value = serde_json::from_str(&json_text).unwrap();
        assert_eq!(input, json!({"city": "Paris"}));
        let text: String = ev
            .iter()
            .filter(|(n, d)| n == "content_block_delta" && d["delta"]["type"] == "text_delta")
            .map(|(_, d)| d["delta"]["text"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(text, anthropic::STREAM_PIECES.concat());
        let delta = ev.iter().find(|(n, _)| n == "message_delta").unwrap();
        assert_eq!(delta.1["delta"]["stop_reason"], "tool_use");
        assert_eq!(delta.1["usage"]["output_tokens"], 15);
    })
    .await;
}

#[tokio::test]
async fn errors_use_anthropics_shape_and_status() {
    within(60, async {
        let (oai, _claude, gw) = two_upstreams().await;
        oai.fail_next(
            1,
            429,
            openai::error("slow down", "rate_limit_error", "rate_limit_exceeded"),
        );
        let body = json!({"model": "openai/gpt-4o-mini", "max_tokens": 5,
                          "messages": [{"role": "user", "content": "x"}]});
        let (status, resp) = gw.post("/anthropic/v1/messages", &body).await;
        assert_eq!(status, 429);
        assert_eq!(
            resp,
            json!({"type": "error", "error": {"type": "rate_limit_error", "message": "slow down"}})
        );

        let no_max = json!({"model": "claude-x", "messages": [{"role": "user", "content": "x"}]});
        let (status, resp) = gw.post("/anthropic/v1/messages", &no_max).await;
        assert_eq!(status, 400);
        assert_eq!(resp["type"], "error");
        assert_eq!(resp["error"]["type"], "invalid_request_error");
        assert!(
            resp["error"]["message"]
                .as_str()
                .unwrap()
                .contains("max_tokens"),
            "{resp}"
        );

        let unconfigured = json!({"model": "groq/llama-3.1-8b", "max_tokens": 5,
                                  "messages": [{"role": "user", "content": "x"}]});
        let (status, resp) = gw.post("/anthropic/v1/messages", &unconfigured).await;
        assert_eq!(status, 400, "{resp}");
        assert_eq!(resp["error"]["type"], "invalid_request_error");
    })
    .await;
}

#[tokio::test]
async fn an_error_after_the_first_event_is_an_error_event() {
    within(60, async {
        let (oai, _claude, gw) = two_upstreams_with(|p| {
            p["openai"]["network_config"]["stream_idle_timeout_in_seconds"] = json!(5);
        })
        .await;
        oai.stall_streams_after(2);
        let body = json!({"model": "openai/gpt-4o-mini", "max_tokens": 5, "stream": true,
                          "messages": [{"role": "user", "content": "x"}]});
        let sse = gw.stream("/anthropic/v1/messages", &body, &[]).await;
        assert_eq!(sse.status, 200, "{}", sse.raw);
        let ev = named_events(&sse.raw);
        let (name, data) = ev.last().unwrap();
        assert_eq!(name, "error", "{}", sse.raw);
        assert_eq!(data["type"], "error");
        assert_eq!(data["error"]["type"], "timeout_error");
        assert!(!ev.iter().any(|(n, _)| n == "message_stop"));
    })
    .await;
}

#[tokio::test]
async fn count_tokens_and_models() {
    within(60, async {
        let (oai, claude, gw) = two_upstreams().await;
        let body = json!({"model": "claude-3-5-haiku-20241022",
                          "system": "You are a helpful assistant.",
                          "messages": [{"role": "user", "content": "Count the tokens of this sentence please."}],
                          "tools": weather_tool()});
        let (status, resp) = gw.post("/anthropic/v1/messages/count_tokens", &body).await;
        assert_eq!(status, 200, "{resp}");
        let n = resp["input_tokens"].as_u64().unwrap();
        assert!((20..200).contains(&n), "{n}");
        assert_eq!(claude.count() + oai.count(), 0, "counting is local");

        let bad = json!({"model": "groq/llama", "messages": [{"role": "user", "content": "x"}]});
        let (status, resp) = gw.post("/anthropic/v1/messages/count_tokens", &bad).await;
        assert_eq!(status, 400, "{resp}");
        assert_eq!(resp["error"]["type"], "invalid_request_error");

        let (status, resp) = gw.get("/anthropic/v1/models").await;
        assert_eq!(status, 200, "{resp}");
        let ids: Vec<&str> = resp["data"].as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap()).collect();
        assert!(ids.contains(&"openai/gpt-4o-mini"), "{ids:?}");
        assert!(ids.contains(&"anthropic/claude-3-5-haiku-20241022"), "{ids:?}");
        assert!(resp["data"].as_array().unwrap().iter().all(|m| m["type"] == "model"));
        assert_eq!(resp["has_more"], false);
        assert_eq!(resp["first_id"], resp["data"][0]["id"]);
    })
    .await;
}

#[tokio::test]
async fn official_anthropic_python_sdk_works_end_to_end() {
    within(150, async {
        let (oai, claude, gw) = two_upstreams().await;
        crate::sdk::run_sdk_script("test_anthropic_sdk.py", "anthropic", &gw).await;

        // The coding-agent turns reached both upstreams with every tool; only the Anthropic one
        // kept the cache breakpoints.
        let agent_to_claude: Vec<_> = claude
            .requests_to("/v1/messages")
            .into_iter()
            .filter(|r| r.body["tools"].as_array().is_some_and(|t| t.len() == 12))
            .collect();
        assert_eq!(
            agent_to_claude.len(),
            2,
            "two agent turns to the anthropic upstream"
        );
        for r in &agent_to_claude {
            assert_eq!(r.header("x-api-key"), Some(ANTHROPIC_KEY));
            assert_eq!(r.body["stream"], true);
            assert_eq!(
                r.body["system"][1]["cache_control"],
                json!({"type": "ephemeral"})
            );
        }
        let agent_to_openai: Vec<_> = oai
            .requests_to("/v1/chat/completions")
            .into_iter()
            .filter(|r| r.body["tools"].as_array().is_some_and(|t| t.len() == 12))
            .collect();
        assert_eq!(
            agent_to_openai.len(),
            2,
            "two agent turns to the openai upstream"
        );
        for r in &agent_to_openai {
            assert_eq!(r.bearer(), Some(OPENAI_KEY));
            assert!(!r.body.to_string().contains("cache_control"), "{}", r.body);
            assert_eq!(r.body["messages"][0]["role"], "system");
        }
        assert_eq!(agent_to_openai[1].body["messages"][3]["role"], "tool");
    })
    .await;
}
