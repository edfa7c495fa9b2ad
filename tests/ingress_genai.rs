//! The `/genai` ingress end to end: Gemini `v1beta` requests in (the model in the path, with
//! a provider prefix since there is no gemini mock), OpenAI- and Anthropic-shaped upstreams
//! behind, Gemini answers, SSE chunks and Google errors back.

use serde_json::{json, Value};

use crate::common::within;
use crate::ingress_anthropic::{named_events, two_upstreams, two_upstreams_with};
use crate::mock::openai;

const GENERATE: &str = "/genai/v1beta/models/openai/gpt-4o-mini:generateContent";

fn weather_tool() -> Value {
    json!([{"functionDeclarations": [{"name": "get_weather", "description": "Weather",
        "parameters": {"type": "OBJECT", "properties": {"city": {"type": "STRING"}}, "required": ["city"]}}]}])
}

#[tokio::test]
async fn generate_content_reaches_an_openai_upstream() {
    within(60, async {
        let (oai, _claude, gw) = two_upstreams().await;
        let body = json!({
            "systemInstruction": {"parts": [{"text": "Be brief."}]},
            "contents": [{"role": "user", "parts": [{"text": "Hello"}]}],
            "generationConfig": {"temperature": 0.1, "maxOutputTokens": 40, "stopSequences": ["END"]}
        });
        // The provider prefix may come with a literal or an encoded slash; v1 serves too.
        for path in [
            GENERATE.to_owned(),
            "/genai/v1beta/models/openai%2Fgpt-4o-mini:generateContent".to_owned(),
            "/genai/v1/models/openai/gpt-4o-mini:generateContent".to_owned(),
        ] {
            let (status, resp) = gw.post(&path, &body).await;
            assert_eq!(status, 200, "{path}: {resp}");
            let cand = &resp["candidates"][0];
            assert_eq!(cand["content"]["role"], "model");
            assert_eq!(cand["content"]["parts"], json!([{"text": "openai-mock says: Hello"}]));
            assert_eq!(cand["finishReason"], "STOP");
            assert_eq!(
                resp["usageMetadata"],
                json!({"promptTokenCount": 9, "candidatesTokenCount": 3, "totalTokenCount": 12})
            );
            assert_eq!(resp["modelVersion"], "gpt-4o-mini");
        }
        let up = oai.last();
        assert_eq!(up.body["model"], "gpt-4o-mini");
        assert_eq!(up.body["temperature"], 0.1);
        assert_eq!(up.body["max_completion_tokens"], 40);
        assert_eq!(up.body["stop"], json!(["END"]));
        assert_eq!(
            up.body["messages"],
            json!([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello"}])
        );
    })
    .await;
}

#[tokio::test]
async fn a_function_call_round_trip() {
    within(60, async {
        let (oai, _claude, gw) = two_upstreams().await;
        let first = json!({"contents": [{"role": "user", "parts": [{"text": "Weather in Paris?"}]}],
                           "tools": weather_tool()});
        let (status, resp) = gw.post(GENERATE, &first).await;
        assert_eq!(status, 200, "{resp}");
        let part = &resp["candidates"][0]["content"]["parts"][0];
        assert_eq!(
            part["functionCall"],
            json!({"id": "call_mock_1", "name": "get_weather", "args": {"city": "Paris"}})
        );
        assert_eq!(resp["candidates"][0]["finishReason"], "STOP");
        let sent = oai.last().body;
        assert_eq!(
            sent["tools"][0]["function"]["parameters"],
            json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}),
            "Gemini schema types become JSON schema types"
        );

        // As the SDK sends it back: the model turn, then a function response without an id.
        let second = json!({"contents": [
            {"role": "user", "parts": [{"text": "Weather in Paris?"}]},
            {"role": "model", "parts": [{"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}}]},
            {"role": "user", "parts": [{"functionResponse": {"name": "get_weather", "response": {"result": "sunny"}}}]}
        ], "tools": weather_tool()});
        let (status, resp) = gw.post(GENERATE, &second).await;
        assert_eq!(status, 200, "{resp}");
        assert!(resp["candidates"][0]["content"]["parts"][0]["text"].is_string(), "{resp}");
        let msgs = oai.last().body["messages"].clone();
        let call_id = msgs[1]["tool_calls"][0]["id"].as_str().unwrap().to_owned();
        assert_eq!(msgs[2]["role"], "tool");
        assert_eq!(msgs[2]["tool_call_id"], call_id.as_str());
        assert_eq!(msgs[2]["content"], "{\"result\":\"sunny\"}");
    })
    .await;
}

#[tokio::test]
async fn stream_generate_content_is_sse() {
    within(60, async {
        let (oai, claude, gw) = two_upstreams().await;
        let body = json!({"contents": [{"role": "user", "parts": [{"text": "Stream"}]}]});
        let path = "/genai/v1beta/models/openai/gpt-4o-mini:streamGenerateContent?alt=sse";
        let sse = gw.stream(path, &body, &[]).await;
        assert_eq!(sse.status, 200, "{}", sse.raw);
        assert!(sse.content_type.starts_with("text/event-stream"));
        assert_eq!(oai.last().body["stream"], true);
        let chunks = sse.chunks();
        let text: String = chunks
            .iter()
            .filter_map(|c| c["candidates"][0]["content"]["parts"][0]["text"].as_str().map(str::to_owned))
            .collect();
        assert_eq!(text, openai::STREAM_PIECES.concat());
        let last = chunks.last().unwrap();
        assert_eq!(last["candidates"][0]["finishReason"], "STOP");
        assert_eq!(last["usageMetadata"]["totalTokenCount"], 12);
        assert!(chunks[..chunks.len() - 1].iter().all(|c| c["candidates"][0].get("finishReason").is_none()));

        // A streamed tool call from an Anthropic upstream arrives whole in the last chunk.
        let body = json!({"contents": [{"role": "user", "parts": [{"text": "Weather?"}]}], "tools": weather_tool()});
        let path = "/genai/v1beta/models/anthropic/claude-3-5-haiku-20241022:streamGenerateContent?alt=sse";
        let sse = gw.stream(path, &body, &[]).await;
        assert_eq!(sse.status, 200, "{}", sse.raw);
        assert_eq!(claude.last().body["stream"], true);
        let last = sse.chunks().pop().unwrap();
        assert_eq!(
            last["candidates"][0]["content"]["parts"][0]["functionCall"],
            json!({"id": "toolu_mock_stream", "name": "get_weather", "args": {"city": "Paris"}})
        );
        assert_eq!(last["usageMetadata"]["candidatesTokenCount"], 15);

        // Without alt=sse, the stream route answers a JSON array.
        let path = "/genai/v1beta/models/openai/gpt-4o-mini:streamGenerateContent";
        let (status, resp) = gw.post(path, &json!({"contents": [{"parts": [{"text": "arr"}]}]})).await;
        assert_eq!(status, 200, "{resp}");
        assert_eq!(resp[0]["candidates"][0]["content"]["parts"][0]["text"], "openai-mock says: arr");
    })
    .await;
}

#[tokio::test]
async fn embeddings_count_tokens_and_models() {
    within(60, async {
        let (oai, _claude, gw) = two_upstreams().await;
        let path = "/genai/v1beta/models/openai/text-embedding-3-small:embedContent";
        let (status, resp) = gw
            .post(path, &json!({"content": {"parts": [{"text": "embed me"}]}, "outputDimensionality": 3}))
            .await;
        assert_eq!(status, 200, "{resp}");
        assert_eq!(resp, json!({"embedding": {"values": [0.25, -0.5, 0.125]}}));
        let up = oai.last();
        assert_eq!(up.path, "/v1/embeddings");
        assert_eq!(up.body["input"], "embed me");
        assert_eq!(up.body["dimensions"], 3);

        let path = "/genai/v1beta/models/openai/text-embedding-3-small:batchEmbedContents";
        let body = json!({"requests": [
            {"model": "models/openai/text-embedding-3-small", "content": {"parts": [{"text": "a"}]}},
            {"model": "models/openai/text-embedding-3-small", "content": {"parts": [{"text": "b"}]}}
        ]});
        let (status, resp) = gw.post(path, &body).await;
        assert_eq!(status, 200, "{resp}");
        assert_eq!(resp["embeddings"].as_array().unwrap().len(), 2);
        assert_eq!(resp["embeddings"][1]["values"][0], 0.5);
        assert_eq!(oai.last().body["input"], json!(["a", "b"]));

        let calls = oai.count();
        let path = "/genai/v1beta/models/openai/gpt-4o-mini:countTokens";
        let (status, resp) = gw
            .post(path, &json!({"contents": [{"parts": [{"text": "How many tokens is this sentence?"}]}]}))
            .await;
        assert_eq!(status, 200, "{resp}");
        let n = resp["totalTokens"].as_u64().unwrap();
        assert!((5..50).contains(&n), "{n}");
        assert_eq!(oai.count(), calls, "counting is local");

        let (status, resp) = gw.get("/genai/v1beta/models").await;
        assert_eq!(status, 200, "{resp}");
        let names: Vec<&str> = resp["models"].as_array().unwrap().iter().map(|m| m["name"].as_str().unwrap()).collect();
        assert!(names.contains(&"models/openai/gpt-4o-mini"), "{names:?}");
        assert!(names.contains(&"models/anthropic/claude-sonnet-4-20250514"), "{names:?}");
        let (status, resp) = gw.get("/genai/v1beta/models/openai/gpt-4o-mini").await;
        assert_eq!(status, 200, "{resp}");
        assert_eq!(resp["name"], "models/openai/gpt-4o-mini");
        let (status, resp) = gw.get("/genai/v1beta/models/openai/nope").await;
        assert_eq!(status, 404);
        assert_eq!(resp["error"]["status"], "NOT_FOUND");
    })
    .await;
}

#[tokio::test]
async fn errors_use_googles_shape() {
    within(60, async {
        let (oai, _claude, gw) = two_upstreams_with(|p| {
            p["openai"]["network_config"]["stream_idle_timeout_in_seconds"] = json!(5);
        })
        .await;
        let body = json!({"contents": [{"parts": [{"text": "x"}]}]});
        // A bare model goes to the gemini provider, which is not configured here.
        let (status, resp) = gw
            .post(
                "/genai/v1beta/models/gemini-2.0-flash:generateContent",
                &body,
            )
            .await;
        assert_eq!(status, 400, "{resp}");
        assert_eq!(resp["error"]["code"], 400);
        assert_eq!(resp["error"]["status"], "INVALID_ARGUMENT");
        assert!(
            resp["error"]["message"]
                .as_str()
                .unwrap()
                .contains("gemini"),
            "{resp}"
        );

        // x-model-provider picks the provider of a bare model, as in Bifrost.
        let (status, resp) = gw
            .post_with(
                "/genai/v1beta/models/gpt-4o-mini:generateContent",
                &body,
                &[("x-model-provider", "openai")],
            )
            .await;
        assert_eq!(status, 200, "{resp}");

        oai.fail_next(
            1,
            429,
            openai::error("slow down", "rate_limit_error", "rate_limit_exceeded"),
        );
        let (status, resp) = gw.post(GENERATE, &body).await;
        assert_eq!(status, 429);
        assert_eq!(
            resp,
            json!({"error": {"code": 429, "message": "slow down", "status": "RESOURCE_EXHAUSTED"}})
        );

        let (status, resp) = gw
            .post(
                "/genai/v1beta/models/openai/gpt-4o-mini:unknownMethod",
                &body,
            )
            .await;
        assert_eq!(status, 404, "{resp}");
        assert_eq!(resp["error"]["status"], "NOT_FOUND");

        oai.stall_streams_after(2);
        let path = "/genai/v1beta/models/openai/gpt-4o-mini:streamGenerateContent?alt=sse";
        let sse = gw.stream(path, &body, &[]).await;
        let last = named_events(&sse.raw).pop().unwrap().1;
        assert_eq!(last["error"]["status"], "DEADLINE_EXCEEDED", "{}", sse.raw);
    })
    .await;
}

#[tokio::test]
async fn official_google_genai_python_sdk_works_end_to_end() {
    within(150, async {
        let (oai, claude, gw) = two_upstreams().await;
        crate::sdk::run_sdk_script("test_genai_sdk.py", "google.genai", &gw).await;
        let chat = oai.requests_to("/v1/chat/completions");
        assert!(chat.len() >= 4, "{} chat calls", chat.len());
        assert!(chat
            .iter()
            .all(|r| r.bearer() == Some(crate::ingress_anthropic::OPENAI_KEY)));
        assert!(chat
            .iter()
            .any(|r| r.body["messages"][0]["content"] == "Be brief."));
        assert_eq!(oai.requests_to("/v1/embeddings").len(), 1);
        // Automatic function calling sent the Python function's result back to Claude.
        assert!(claude
            .requests_to("/v1/messages")
            .iter()
            .any(|r| r.body["messages"]
                .as_array()
                .and_then(|m| m.last())
                .is_some_and(|m| m["content"][0]["type"] == "tool_result")));
    })
    .await;
}
