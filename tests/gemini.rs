//! The gemini provider end to end: OpenAI-shaped requests in, the Generative Language API
//! upstream (asserting what Gemini received), OpenAI-shaped answers and chunks back; and the
//! /anthropic and /genai ingresses in front of a gemini upstream.

use serde_json::{json, Value};

use crate::common::{assert_error_shape, config, key, provider, weather_tool, within, Gateway};
use crate::mock::{gemini, Mock};

pub const KEY: &str = "AIza-e2e-gemini-0123456789";

pub async fn gateway(mock: &Mock) -> Gateway {
    let cfg =
        config(json!({"gemini": provider(&mock.url, json!([key("g", "env.E2E_GEMINI_KEY")]))}));
    Gateway::launch(&cfg, &[("E2E_GEMINI_KEY", KEY)]).await
}

#[tokio::test]
async fn chat_is_translated_to_generate_content_and_back() {
    within(60, async {
        let mock = Mock::gemini("gemini").await;
        let gw = gateway(&mock).await;
        let body = json!({
            "model": "gemini/gemini-2.0-flash",
            "messages": [
                {"role": "system", "content": "You are terse."},
                {"role": "user", "content": "Hello there"},
                {"role": "assistant", "content": "Hi."},
                {"role": "user", "content": [
                    {"type": "text", "text": "What is in this picture?"},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
                    {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}
                ]}
            ],
            "max_tokens": 256, "temperature": 0.2, "top_p": 0.8, "stop": ["END"],
            "response_format": {"type": "json_object"}
        });
        let (status, resp) = gw.chat(&body).await;
        assert_eq!(status, 200, "{resp}");

        let up = mock.last();
        assert_eq!(up.method, "POST");
        assert_eq!(up.path, "/v1beta/models/gemini-2.0-flash:generateContent");
        assert_eq!(up.query, "");
        assert_eq!(up.header("x-goog-api-key"), Some(KEY));
        assert_eq!(up.header("authorization"), None);
        assert_eq!(up.body["systemInstruction"], json!({"parts": [{"text": "You are terse."}]}));
        assert_eq!(
            up.body["contents"],
            json!([
                {"role": "user", "parts": [{"text": "Hello there"}]},
                {"role": "model", "parts": [{"text": "Hi."}]},
                {"role": "user", "parts": [
                    {"text": "What is in this picture?"},
                    {"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}},
                    {"fileData": {"mimeType": "image/png", "fileUri": "https://example.com/cat.png"}}
                ]}
            ])
        );
        assert_eq!(
            up.body["generationConfig"],
            json!({"temperature": 0.2, "topP": 0.8, "maxOutputTokens": 256, "stopSequences": ["END"],
                   "responseMimeType": "application/json"})
        );

        assert_eq!(resp["object"], "chat.completion");
        assert_eq!(resp["id"], "gemini-mock-response");
        assert_eq!(resp["model"], "gemini-2.0-flash-001");
        let choice = &resp["choices"][0];
        assert_eq!(choice["message"]["role"], "assistant");
        assert_eq!(choice["message"]["content"], "gemini says: What is in this picture?");
        assert_eq!(choice["finish_reason"], "stop");
        // Usage: thoughts count as completion tokens, cached tokens are reported.
        assert_eq!(resp["usage"]["prompt_tokens"], 25);
        assert_eq!(resp["usage"]["completion_tokens"], 18);
        assert_eq!(resp["usage"]["total_tokens"], 43);
        assert_eq!(resp["usage"]["prompt_tokens_details"]["cached_tokens"], 5);
        assert_eq!(resp["usage"]["completion_tokens_details"]["reasoning_tokens"], 3);
        assert_eq!(resp["extra_fields"]["provider"], "gemini");
        assert_eq!(resp["extra_fields"]["model_requested"], "gemini-2.0-flash");
    })
    .await;
}

#[tokio::test]
async fn tools_round_trip_through_function_calls() {
    within(60, async {
        let mock = Mock::gemini("gemini").await;
        let gw = gateway(&mock).await;
        let body = json!({
            "model": "gemini/gemini-2.5-pro",
            "messages": [{"role": "user", "content": "Weather in Paris?"}],
            "tools": weather_tool(),
            "tool_choice": "required"
        });
        let (status, resp) = gw.chat(&body).await;
        assert_eq!(status, 200, "{resp}");
        let up = mock.last();
        assert_eq!(
            up.body["tools"],
            json!([{"functionDeclarations": [{"name": "get_weather", "description": "Weather in a city",
                "parametersJsonSchema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}]}])
        );
        assert_eq!(up.body["toolConfig"], json!({"functionCallingConfig": {"mode": "ANY"}}));

        let choice = &resp["choices"][0];
        assert_eq!(choice["finish_reason"], "tool_calls");
        let call = &choice["message"]["tool_calls"][0];
        assert_eq!(call["type"], "function");
        assert_eq!(call["function"]["name"], "get_weather");
        let args: Value = serde_json::from_str(call["function"]["arguments"].as_str().unwrap()).unwrap();
        assert_eq!(args, json!({"city": "Paris"}));
        let id = call["id"].as_str().unwrap();
        assert!(!id.is_empty());

        // The result goes back as a functionResponse named after the call.
        let mut second = body.clone();
        let messages = second["messages"].as_array_mut().unwrap();
        messages.push(choice["message"].clone());
        messages.push(json!({"role": "tool", "tool_call_id": id, "content": "{\"weather\":\"sunny\"}"}));
        let (status, resp) = gw.chat(&second).await;
        assert_eq!(status, 200, "{resp}");
        let up = mock.last();
        assert_eq!(
            up.body["contents"][1],
            json!({"role": "model", "parts": [
                {"text": "gemini says: Weather in Paris?"},
                {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}}
            ]})
        );
        assert_eq!(
            up.body["contents"][2],
            json!({"role": "user", "parts": [{"functionResponse": {"name": "get_weather", "response": {"weather": "sunny"}}}]})
        );
        assert_eq!(resp["choices"][0]["finish_reason"], "stop");
        assert!(resp["choices"][0]["message"].get("tool_calls").is_none());
    })
    .await;
}

#[tokio::test]
async fn stream_chunks_become_openai_chunks_with_usage_last() {
    within(60, async {
        let mock = Mock::gemini("gemini").await;
        let gw = gateway(&mock).await;
        let body = json!({
            "model": "gemini/gemini-2.0-flash", "stream": true,
            "stream_options": {"include_usage": true},
            "messages": [{"role": "system", "content": "Be nice."}, {"role": "user", "content": "hi"}]
        });
        let sse = gw.stream("/v1/chat/completions", &body, &[]).await;
        assert_eq!(sse.status, 200, "{}", sse.raw);
        assert!(sse.ends_with_done(), "{}", sse.raw);
        assert_eq!(sse.content(), format!("{}!", gemini::STREAM_PIECES.concat()));
        let chunks = sse.chunks();
        assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
        assert!(chunks.iter().all(|c| c["object"] == "chat.completion.chunk"));
        assert!(chunks.iter().all(|c| c["id"] == "gemini-mock-stream"));
        assert!(chunks.iter().any(|c| c["choices"][0]["finish_reason"] == "stop"), "{}", sse.raw);
        let last = chunks.last().unwrap();
        assert_eq!(last["usage"]["prompt_tokens"], 25, "usage in the last chunk: {last}");
        assert_eq!(last["usage"]["completion_tokens"], 18);
        assert_eq!(last["usage"]["total_tokens"], 43);

        let up = mock.last();
        assert_eq!(up.path, "/v1beta/models/gemini-2.0-flash:streamGenerateContent");
        assert_eq!(up.query, "alt=sse");
        assert_eq!(up.header("x-goog-api-key"), Some(KEY));
        assert_eq!(up.body["systemInstruction"]["parts"][0]["text"], "Be nice.");
        assert!(up.body.get("stream").is_none(), "Gemini streams by method, not by field");

        // A streamed tool call arrives whole.
        let body = json!({"model": "gemini/gemini-2.0-flash", "stream": true,
            "messages": [{"role": "user", "content": "weather?"}], "tools": weather_tool()});
        let sse = gw.stream("/v1/chat/completions", &body, &[]).await;
        assert_eq!(sse.status, 200, "{}", sse.raw);
        let calls: Vec<Value> = sse
            .chunks()
            .iter()
            .filter_map(|c| c["choices"][0]["delta"]["tool_calls"].as_array().cloned())
            .flatten()
            .collect();
        assert_eq!(calls.len(), 1, "{}", sse.raw);
        assert_eq!(calls[0]["index"], 0);
        assert_eq!(calls[0]["function"]["name"], "get_weather");
        assert_eq!(calls[0]["function"]["arguments"], "{\"city\":\"Paris\"}");
        assert!(sse.chunks().iter().any(|c| c["choices"][0]["finish_reason"] == "tool_calls"));
    })
    .await;
}

#[tokio::test]
async fn stop_reasons_map_to_openai() {
    within(60, async {
        let mock = Mock::gemini("gemini").await;
        let gw = gateway(&mock).await;
        let chat = |text: &str| {
            json!({"model": "gemini/gemini-2.0-flash", "messages": [{"role": "user", "content": text}]})
        };
        let (status, resp) = gw.chat(&chat("long [max_tokens]")).await;
        assert_eq!(status, 200, "{resp}");
        assert_eq!(resp["choices"][0]["finish_reason"], "length");
        let (status, resp) = gw.chat(&chat("bad [safety]")).await;
        assert_eq!(status, 200, "{resp}");
        assert_eq!(resp["choices"][0]["finish_reason"], "content_filter");
        assert_eq!(resp["choices"][0]["message"]["content"], "");

        let mut body = chat("long [max_tokens]");
        body["stream"] = json!(true);
        let sse = gw.stream("/v1/chat/completions", &body, &[]).await;
        assert!(sse.chunks().iter().any(|c| c["choices"][0]["finish_reason"] == "length"), "{}", sse.raw);
    })
    .await;
}

#[tokio::test]
async fn errors_keep_googles_message_and_status() {
    within(60, async {
        let mock = Mock::gemini("gemini").await;
        let gw = gateway(&mock).await;
        let body = json!({"model": "gemini/gemini-2.0-flash", "messages": [{"role": "user", "content": "x"}]});

        mock.fail_next(1, 400, gemini::error(400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key."));
        let (status, err) = gw.chat(&body).await;
        assert_eq!(status, 400, "{err}");
        assert_eq!(assert_error_shape(&err, 400), "API key not valid. Please pass a valid API key.");
        assert_eq!(err["error"]["type"], "INVALID_ARGUMENT");
        assert_eq!(err["is_bifrost_error"], false);
        assert_eq!(err["extra_fields"]["provider"], "gemini");

        mock.fail_next(1, 429, gemini::error(429, "RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota)."));
        let (status, err) = gw.chat(&body).await;
        assert_eq!(status, 429, "{err}");
        assert_eq!(err["error"]["type"], "RESOURCE_EXHAUSTED");

        mock.fail_next(1, 503, gemini::error(503, "UNAVAILABLE", "The model is overloaded."));
        let mut streamed = body.clone();
        streamed["stream"] = json!(true);
        let sse = gw.stream("/v1/chat/completions", &streamed, &[]).await;
        assert_eq!(sse.status, 503, "{}", sse.raw);
        let err: Value = serde_json::from_str(&sse.raw).unwrap();
        assert_eq!(assert_error_shape(&err, 503), "The model is overloaded.");

        // Text completions are not served by Gemini: refused before any upstream call.
        let calls = mock.count();
        let (status, err) = gw
            .post("/v1/completions", &json!({"model": "gemini/gemini-2.0-flash", "prompt": "Once"}))
            .await;
        assert_eq!(status, 400, "{err}");
        assert_eq!(err["error"]["type"], "unsupported_operation");
        assert_eq!(mock.count(), calls);
    })
    .await;
}

#[tokio::test]
async fn embeddings_and_models() {
    within(60, async {
        let mock = Mock::gemini("gemini").await;
        let gw = gateway(&mock).await;

        let (status, resp) = gw
            .post("/v1/embeddings", &json!({"model": "gemini/text-embedding-004", "input": "embed me", "dimensions": 3}))
            .await;
        assert_eq!(status, 200, "{resp}");
        let up = mock.last();
        assert_eq!(up.path, "/v1beta/models/text-embedding-004:embedContent");
        assert_eq!(up.header("x-goog-api-key"), Some(KEY));
        assert_eq!(up.body, json!({"content": {"parts": [{"text": "embed me"}]}, "outputDimensionality": 3}));
        assert_eq!(resp["object"], "list");
        assert_eq!(resp["data"][0]["embedding"], json!([1.0, -0.5, 0.125]));
        assert_eq!(resp["model"], "text-embedding-004");

        let (status, resp) = gw
            .post("/v1/embeddings", &json!({"model": "gemini/text-embedding-004", "input": ["a", "bb"]}))
            .await;
        assert_eq!(status, 200, "{resp}");
        let up = mock.last();
        assert_eq!(up.path, "/v1beta/models/text-embedding-004:batchEmbedContents");
        assert_eq!(
            up.body,
            json!({"requests": [
                {"model": "models/text-embedding-004", "content": {"parts": [{"text": "a"}]}},
                {"model": "models/text-embedding-004", "content": {"parts": [{"text": "bb"}]}}
            ]})
        );
        assert_eq!(resp["data"][1]["index"], 1);
        assert_eq!(resp["data"][1]["embedding"][0], 0.25);

        let (status, list) = gw.get("/v1/models?provider=gemini").await;
        assert_eq!(status, 200, "{list}");
        let ids: Vec<&str> = list["data"].as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap()).collect();
        for id in ["gemini/gemini-2.0-flash", "gemini/gemini-2.5-pro", "gemini/text-embedding-004"] {
            assert!(ids.contains(&id), "{id} in {ids:?}");
        }
        let pages = mock.requests_to("/v1beta/models");
        assert_eq!(pages.len(), 2, "both pages are read");
        assert!(pages[1].query.contains("pageToken=page2"), "{}", pages[1].query);
        assert!(pages.iter().all(|p| p.header("x-goog-api-key") == Some(KEY)));
    })
    .await;
}

#[tokio::test]
async fn anthropic_and_genai_ingresses_reach_a_gemini_upstream() {
    within(60, async {
        let mock = Mock::gemini("gemini").await;
        let gw = gateway(&mock).await;

        let (status, resp) = gw
            .post(
                "/anthropic/v1/messages",
                &json!({"model": "gemini/gemini-2.0-flash", "max_tokens": 64, "system": "Be brief.",
                        "messages": [{"role": "user", "content": "Hi from Claude Code"}]}),
            )
            .await;
        assert_eq!(status, 200, "{resp}");
        assert_eq!(resp["type"], "message");
        assert_eq!(
            resp["content"][0]["text"],
            "gemini says: Hi from Claude Code"
        );
        assert_eq!(resp["stop_reason"], "end_turn");
        let up = mock.last();
        assert_eq!(up.path, "/v1beta/models/gemini-2.0-flash:generateContent");
        assert_eq!(
            up.body["systemInstruction"]["parts"][0]["text"],
            "Be brief."
        );
        assert_eq!(up.body["generationConfig"]["maxOutputTokens"], 64);

        // A bare model on /genai goes to the gemini provider.
        let (status, resp) = gw
            .post(
                "/genai/v1beta/models/gemini-2.5-pro:generateContent",
                &json!({"contents": [{"role": "user", "parts": [{"text": "Hi from genai"}]}],
                        "generationConfig": {"temperature": 0.1}}),
            )
            .await;
        assert_eq!(status, 200, "{resp}");
        assert_eq!(
            resp["candidates"][0]["content"]["parts"][0]["text"],
            "gemini says: Hi from genai"
        );
        assert_eq!(resp["candidates"][0]["finishReason"], "STOP");
        assert_eq!(resp["usageMetadata"]["promptTokenCount"], 25);
        let up = mock.last();
        assert_eq!(up.path, "/v1beta/models/gemini-2.5-pro:generateContent");
        assert_eq!(up.header("x-goog-api-key"), Some(KEY));
        assert_eq!(up.body["generationConfig"]["temperature"], 0.1);
    })
    .await;
}

#[tokio::test]
async fn official_google_genai_python_sdk_against_a_gemini_upstream() {
    within(150, async {
        let mock = Mock::gemini("gemini").await;
        let gw = gateway(&mock).await;
        crate::sdk::run_sdk_script("test_genai_sdk_gemini.py", "google.genai", &gw).await;
        let calls = mock.requests_to("/v1beta/models/gemini-2.0-flash:generateContent");
        assert!(calls.len() >= 2, "{} generateContent calls", calls.len());
        assert!(
            calls
                .iter()
                .all(|r| r.header("x-goog-api-key") == Some(KEY)),
            "the gateway's key, not the client's"
        );
        assert_eq!(
            mock.requests_to("/v1beta/models/gemini-2.0-flash:streamGenerateContent")
                .len(),
            1
        );
    })
    .await;
}

#[tokio::test]
async fn a_custom_provider_can_have_gemini_as_its_base() {
    within(60, async {
        let mock = Mock::gemini("gemini-eu").await;
        let mut custom = provider(&mock.url, json!([key("eu", "env.E2E_GEMINI_KEY")]));
        custom["custom_provider_config"] = json!({"base_provider_type": "gemini"});
        let gw = Gateway::launch(&config(json!({"gemini-eu": custom})), &[("E2E_GEMINI_KEY", KEY)]).await;
        let (status, resp) = gw
            .chat(&json!({"model": "gemini-eu/gemini-2.0-flash", "messages": [{"role": "user", "content": "hi"}]}))
            .await;
        assert_eq!(status, 200, "{resp}");
        assert_eq!(resp["choices"][0]["message"]["content"], "gemini-eu says: hi");
        let up = mock.last();
        assert_eq!(up.path, "/v1beta/models/gemini-2.0-flash:generateContent");
        assert_eq!(up.header("x-goog-api-key"), Some(KEY));
    })
    .await;
}
