//! The OpenAI-compatible API through OpenAI-format upstreams: chat (JSON and SSE), tools,
//! images, JSON mode, completions, embeddings, models, the `/openai` prefixes, custom and
//! self-hosted providers, and unsupported operations.

use std::time::Duration;

use serde_json::{json, Value};

use crate::common::{assert_error_shape, chat_body, config, key, provider, within, Event, Gateway};
use crate::mock::{openai::STREAM_PIECES, Mock};

const OPENAI_KEY: &str = "sk-e2e-openai-0123456789";

async fn openai_gateway(mock: &Mock) -> Gateway {
    let cfg =
        config(json!({"openai": provider(&mock.url, json!([key("main", "env.E2E_OPENAI_KEY")]))}));
    Gateway::launch(&cfg, &[("E2E_OPENAI_KEY", OPENAI_KEY)]).await
}

#[tokio::test]
async fn chat_json_reaches_upstream_with_bare_model_key_and_params() {
    within(60, async {
        let mock = Mock::openai("upstream").await;
        let gw = openai_gateway(&mock).await;
        let body = json!({
            "model": "openai/gpt-4o-mini",
            "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Say hi"}],
            "temperature": 0.3, "top_p": 0.9, "max_tokens": 50, "seed": 7, "stop": ["\n\n"],
            "presence_penalty": 0.1, "frequency_penalty": 0.2, "user": "u-1",
            "fallbacks": ["openai/gpt-4o"]
        });
        let (status, resp) = gw.chat(&body).await;
        assert_eq!(status, 200, "{resp}");

        let up = mock.last();
        assert_eq!(up.method, "POST");
        assert_eq!(up.path, "/v1/chat/completions");
        assert_eq!(up.header("authorization"), Some(format!("Bearer {OPENAI_KEY}").as_str()));
        assert_eq!(up.body["model"], "gpt-4o-mini");
        assert_eq!(up.body["messages"], body["messages"]);
        for field in ["temperature", "top_p", "max_tokens", "seed", "stop", "presence_penalty", "frequency_penalty", "user"] {
            assert_eq!(up.body[field], body[field], "{field} not forwarded: {}", up.body);
        }
        assert!(up.body.get("fallbacks").is_none(), "Bifrost's own fields stay home: {}", up.body);
        assert!(up.body.get("stream").is_none() || up.body["stream"] == false);

        assert_eq!(resp["object"], "chat.completion");
        assert_eq!(resp["choices"][0]["message"]["content"], "upstream says: Say hi");
        assert_eq!(resp["choices"][0]["finish_reason"], "stop");
        assert_eq!(resp["usage"]["total_tokens"], 12);
        let extra = &resp["extra_fields"];
        assert_eq!(extra["provider"], "openai");
        assert_eq!(extra["model_requested"], "gpt-4o-mini");
        assert_eq!(extra["request_type"], "chat_completion");
        assert!(extra["latency"].is_u64(), "latency: {extra}");
    })
    .await;
}

/// Fields a provider adds to OpenAI's shapes (Perplexity's sources, OpenRouter's
/// `native_finish_reason`) reach the client, on the answer and on every chunk.
#[tokio::test]
async fn provider_specific_answer_fields_pass_through() {
    within(60, async {
        let mock = Mock::openai("upstream").await;
        // Perplexity's API has no `/v1` in its paths.
        let base_url = format!("{}/v1", mock.url);
        let cfg = config(json!({
            "perplexity": provider(&base_url, json!([key("main", "env.E2E_OPENAI_KEY")]))
        }));
        let gw = Gateway::launch(&cfg, &[("E2E_OPENAI_KEY", OPENAI_KEY)]).await;
        let (status, resp) = gw.chat(&chat_body("perplexity/sonar", "penguins?")).await;
        assert_eq!(status, 200, "{resp}");
        assert_eq!(resp["citations"], json!(["https://example.com/penguins"]));
        assert_eq!(resp["search_results"][0]["title"], "Penguins");
        assert_eq!(resp["choices"][0]["native_finish_reason"], "stop");
        assert_eq!(resp["extra_fields"]["provider"], "perplexity");

        let mut body = chat_body("perplexity/sonar", "penguins?");
        body["stream"] = json!(true);
        let sse = gw.stream("/v1/chat/completions", &body, &[]).await;
        assert_eq!(sse.status, 200, "{}", sse.raw);
        let chunks = sse.chunks();
        assert!(chunks.len() > 2, "{}", sse.raw);
        for (i, c) in chunks.iter().enumerate() {
            assert_eq!(
                c["citations"],
                json!(["https://example.com/penguins"]),
                "chunk {i}: {c}"
            );
        }
        assert!(chunks
            .iter()
            .any(|c| c["choices"][0]["native_finish_reason"] == "stop"));
    })
    .await;
}

#[tokio::test]
async fn chat_stream_delivers_every_chunk_usage_last_and_done() {
    within(60, async {
        let mock = Mock::openai("upstream").await;
        let gw = openai_gateway(&mock).await;
        let mut body = chat_body("openai/gpt-4o-mini", "stream please");
        body["stream"] = json!(true);
        let sse = gw.stream("/v1/chat/completions", &body, &[]).await;
        assert_eq!(sse.status, 200, "{}", sse.raw);
        assert!(
            sse.content_type.starts_with("text/event-stream"),
            "{}",
            sse.content_type
        );
        assert!(sse.ends_with_done(), "no [DONE]: {}", sse.raw);
        assert_eq!(sse.events.iter().filter(|e| **e == Event::Done).count(), 1);

        let chunks = sse.chunks();
        // role, three pieces, finish, usage
        assert_eq!(chunks.len(), 6, "{}", sse.raw);
        assert_eq!(sse.content(), STREAM_PIECES.concat());
        assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
        assert!(chunks
            .iter()
            .any(|c| c["choices"][0]["finish_reason"] == "stop"));
        let last = chunks.last().unwrap();
        assert_eq!(
            last["usage"]["total_tokens"], 12,
            "usage must be in the last chunk: {last}"
        );
        assert!(chunks[..chunks.len() - 1]
            .iter()
            .all(|c| c["usage"].is_null()));
        for (i, c) in chunks.iter().enumerate() {
            assert_eq!(c["object"], "chat.completion.chunk");
            // What the provider reports about the answer passes through on every chunk.
            assert_eq!(c["service_tier"], "default", "chunk {i}: {c}");
            assert_eq!(c["system_fingerprint"], "fp_mock", "chunk {i}: {c}");
            assert_eq!(c["extra_fields"]["chunk_index"], i, "chunk {i}: {c}");
            assert_eq!(c["extra_fields"]["provider"], "openai");
            assert_eq!(c["extra_fields"]["model_requested"], "gpt-4o-mini");
            assert_eq!(c["extra_fields"]["request_type"], "chat_completion_stream");
        }

        let up = mock.last();
        assert_eq!(up.body["model"], "gpt-4o-mini");
        assert_eq!(up.body["stream"], true);
        assert_eq!(up.body["stream_options"]["include_usage"], true);
        assert_eq!(
            mock.state
                .streams_finished
                .load(std::sync::atomic::Ordering::SeqCst),
            1
        );
    })
    .await;
}

#[tokio::test]
async fn finished_streams_leave_their_upstream_connection_open_for_the_next_request() {
    within(60, async {
        let mock = Mock::openai("upstream").await;
        mock.linger_after_streams(Duration::from_millis(100));
        let gw = openai_gateway(&mock).await;
        let mut body = chat_body("openai/gpt-4o-mini", "stream please");
        body["stream"] = json!(true);
        for _ in 0..5 {
            let sse = gw.stream("/v1/chat/completions", &body, &[]).await;
            assert!(sse.ends_with_done(), "no [DONE]: {}", sse.raw);
            // The body's end comes 100 ms after `[DONE]`: the connection is free only then.
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        let json = gw
            .post(
                "/v1/chat/completions",
                &chat_body("openai/gpt-4o-mini", "hi"),
            )
            .await;
        assert_eq!(json.0, 200, "{}", json.1);
        // A stream read only up to `[DONE]` would leave its connection unusable (the chunked
        // body's end unread), and every request would dial the upstream anew.
        assert_eq!(
            mock.state
                .connections
                .load(std::sync::atomic::Ordering::SeqCst),
            1,
            "upstream connections for 6 sequential requests"
        );
    })
    .await;
}

#[tokio::test]
async fn chat_stream_is_flushed_chunk_by_chunk() {
    within(60, async {
        let mock = Mock::openai("upstream").await;
        // The mock sends its first chunk, then waits until the test has seen that chunk through
        // the gateway: a gateway that buffered the stream would never let the test see it.
        let gate = mock.gate_streams();
        let gw = openai_gateway(&mock).await;
        let mut body = chat_body("openai/gpt-4o-mini", "one by one");
        body["stream"] = json!(true);
        let resp = crate::common::http()
            .post(format!("{}/v1/chat/completions", gw.url))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let mut reader = crate::common::SseReader::new(resp);
        let first = tokio::time::timeout(std::time::Duration::from_secs(10), reader.next())
            .await
            .expect("the first chunk must arrive while the upstream holds the rest")
            .unwrap();
        let Event::Json(first) = first else {
            panic!("first event is [DONE]")
        };
        assert_eq!(first["choices"][0]["delta"]["role"], "assistant");
        gate.notify_one();
        let mut rest = Vec::new();
        while let Some(ev) = reader.next().await {
            rest.push(ev);
        }
        assert_eq!(rest.last(), Some(&Event::Done));
        assert_eq!(rest.len(), 6, "{rest:?}");
    })
    .await;
}

#[tokio::test]
async fn tools_images_and_tool_results_are_forwarded_intact() {
    within(60, async {
        let mock = Mock::openai("upstream").await;
        let gw = openai_gateway(&mock).await;
        let tools = json!([{"type": "function", "function": {
            "name": "get_weather", "description": "Weather in a city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]);
        let body = json!({
            "model": "openai/gpt-4o",
            "messages": [
                {"role": "user", "content": [
                    {"type": "text", "text": "What is in this picture, and the weather?"},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgoAAAANSUhEUg==", "detail": "low"}},
                    {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}}
                ]}
            ],
            "tools": tools,
            "tool_choice": "auto",
            "parallel_tool_calls": false
        });
        let (status, resp) = gw.chat(&body).await;
        assert_eq!(status, 200, "{resp}");
        let up = mock.last();
        assert_eq!(up.body["messages"], body["messages"], "messages must arrive unchanged");
        assert_eq!(up.body["tools"], tools);
        assert_eq!(up.body["tool_choice"], "auto");
        assert_eq!(up.body["parallel_tool_calls"], false);

        let msg = &resp["choices"][0]["message"];
        assert_eq!(resp["choices"][0]["finish_reason"], "tool_calls");
        assert_eq!(msg["tool_calls"][0]["id"], "call_mock_1");
        assert_eq!(msg["tool_calls"][0]["type"], "function");
        assert_eq!(msg["tool_calls"][0]["function"]["name"], "get_weather");
        assert_eq!(msg["tool_calls"][0]["function"]["arguments"], "{\"city\":\"Paris\"}");

        // The second turn: the assistant's call and the tool's result go up unchanged.
        let mut second = body.clone();
        let turns = second["messages"].as_array_mut().unwrap();
        turns.push(json!({"role": "assistant", "content": null, "tool_calls": msg["tool_calls"].clone()}));
        turns.push(json!({"role": "tool", "tool_call_id": "call_mock_1", "content": "18C and sunny"}));
        let (status, resp) = gw.chat(&second).await;
        assert_eq!(status, 200, "{resp}");
        assert_eq!(mock.last().body["messages"], second["messages"]);
        assert_eq!(resp["choices"][0]["finish_reason"], "stop");
    })
    .await;
}

#[tokio::test]
async fn tool_call_stream_arrives_as_deltas() {
    within(60, async {
        let mock = Mock::openai("upstream").await;
        let gw = openai_gateway(&mock).await;
        let body = json!({
            "model": "openai/gpt-4o", "stream": true,
            "messages": [{"role": "user", "content": "weather in Paris?"}],
            "tools": [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]
        });
        let sse = gw.stream("/v1/chat/completions", &body, &[]).await;
        assert_eq!(sse.status, 200, "{}", sse.raw);
        assert!(sse.ends_with_done());
        let chunks = sse.chunks();
        let args: String = chunks
            .iter()
            .filter_map(|c| c["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"].as_str().map(str::to_owned))
            .collect();
        assert_eq!(args, "{\"city\":\"Paris\"}");
        let named: Vec<&Value> = chunks.iter().filter(|c| !c["choices"][0]["delta"]["tool_calls"][0]["function"]["name"].is_null()).collect();
        assert_eq!(named.len(), 1);
        assert_eq!(named[0]["choices"][0]["delta"]["tool_calls"][0]["id"], "call_stream_1");
        assert!(chunks.iter().any(|c| c["choices"][0]["finish_reason"] == "tool_calls"));
    })
    .await;
}

#[tokio::test]
async fn response_format_is_forwarded_and_json_comes_back() {
    within(60, async {
        let mock = Mock::openai("upstream").await;
        let gw = openai_gateway(&mock).await;
        let format = json!({"type": "json_schema", "json_schema": {"name": "answer", "strict": true,
            "schema": {"type": "object", "properties": {"answer": {"type": "integer"}}, "required": ["answer"]}}});
        let mut body = chat_body("openai/gpt-4o-mini", "6 times 7?");
        body["response_format"] = format.clone();
        let (status, resp) = gw.chat(&body).await;
        assert_eq!(status, 200, "{resp}");
        assert_eq!(mock.last().body["response_format"], format);
        let content = resp["choices"][0]["message"]["content"].as_str().unwrap();
        let parsed: Value = serde_json::from_str(content).unwrap();
        assert_eq!(parsed["answer"], 42);
    })
    .await;
}

#[tokio::test]
async fn extra_headers_and_passthrough_params() {
    within(60, async {
        let mock = Mock::openai("upstream").await;
        let mut p = provider(&mock.url, json!([key("main", "env.E2E_OPENAI_KEY")]));
        p["network_config"]["extra_headers"] = json!({"x-team": "search"});
        let gw = Gateway::launch(
            &config(json!({"openai": p})),
            &[("E2E_OPENAI_KEY", OPENAI_KEY)],
        )
        .await;
        let mut body = chat_body("openai/gpt-4o-mini", "hi");
        body["custom_knob"] = json!({"level": 3});

        let (status, _) = gw
            .post_with(
                "/v1/chat/completions",
                &body,
                &[("x-bf-eh-x-org-id", "acme")],
            )
            .await;
        assert_eq!(status, 200);
        let up = mock.last();
        assert_eq!(up.header("x-org-id"), Some("acme"));
        assert_eq!(up.header("x-team"), Some("search"));
        assert!(
            up.body.get("custom_knob").is_none(),
            "unknown fields stay home by default"
        );

        let (status, _) = gw
            .post_with(
                "/v1/chat/completions",
                &body,
                &[("x-bf-passthrough-extra-params", "true")],
            )
            .await;
        assert_eq!(status, 200);
        assert_eq!(mock.last().body["custom_knob"], json!({"level": 3}));
    })
    .await;
}

#[tokio::test]
async fn embeddings_and_text_completions() {
    within(60, async {
        let mock = Mock::openai("upstream").await;
        let gw = openai_gateway(&mock).await;

        let body = json!({"model": "openai/text-embedding-3-small", "input": ["first", "second"], "encoding_format": "float", "dimensions": 3});
        let (status, resp) = gw.post("/v1/embeddings", &body).await;
        assert_eq!(status, 200, "{resp}");
        let up = mock.last();
        assert_eq!(up.path, "/v1/embeddings");
        assert_eq!(up.body["model"], "text-embedding-3-small");
        assert_eq!(up.body["input"], json!(["first", "second"]));
        assert_eq!(up.body["encoding_format"], "float");
        assert_eq!(up.body["dimensions"], 3);
        assert_eq!(up.bearer(), Some(OPENAI_KEY));
        assert_eq!(resp["data"].as_array().unwrap().len(), 2);
        assert_eq!(resp["data"][1]["index"], 1);
        assert_eq!(resp["data"][1]["embedding"], json!([0.5, -0.5, 0.125]));
        assert_eq!(resp["usage"]["total_tokens"], 4);
        assert_eq!(resp["extra_fields"]["request_type"], "embedding");
        assert_eq!(resp["extra_fields"]["provider"], "openai");

        let body = json!({"model": "openai/gpt-3.5-turbo-instruct", "prompt": "Once upon", "max_tokens": 5, "temperature": 0.0});
        let (status, resp) = gw.post("/v1/completions", &body).await;
        assert_eq!(status, 200, "{resp}");
        let up = mock.last();
        assert_eq!(up.path, "/v1/completions");
        assert_eq!(up.body["model"], "gpt-3.5-turbo-instruct");
        assert_eq!(up.body["prompt"], "Once upon");
        assert_eq!(up.body["max_tokens"], 5);
        assert_eq!(resp["object"], "text_completion");
        assert_eq!(resp["choices"][0]["text"], "upstream completes: Once upon");
        assert_eq!(resp["extra_fields"]["request_type"], "text_completion");
        assert_eq!(resp["extra_fields"]["model_requested"], "gpt-3.5-turbo-instruct");

        let mut body = body.clone();
        body["stream"] = json!(true);
        let sse = gw.stream("/v1/completions", &body, &[]).await;
        assert_eq!(sse.status, 200, "{}", sse.raw);
        assert!(sse.ends_with_done());
        let text: String = sse.chunks().iter().filter_map(|c| c["choices"][0]["text"].as_str().map(str::to_owned)).collect();
        assert_eq!(text, "Once upon a time");
        assert_eq!(sse.chunks().last().unwrap()["usage"]["total_tokens"], 7);
    })
    .await;
}

#[tokio::test]
async fn models_list_configured_and_upstream_models_with_prefix() {
    within(60, async {
        let openai = Mock::openai("openai").await;
        let groq = Mock::openai("groq").await;
        groq.set_models(&["llama-3.1-8b-instant", "mixtral-8x7b"]);
        let mut groq_key = key("g", "env.E2E_GROQ_KEY");
        groq_key["models"] = json!(["llama-3.1-8b-instant", "llama-3.3-70b"]);
        let cfg = config(json!({
            "openai": provider(&openai.url, json!([key("main", "env.E2E_OPENAI_KEY")])),
            "groq": provider(&groq.url, json!([groq_key])),
        }));
        let gw = Gateway::launch(
            &cfg,
            &[("E2E_OPENAI_KEY", OPENAI_KEY), ("E2E_GROQ_KEY", "gsk-e2e")],
        )
        .await;

        let (status, list) = gw.get("/v1/models").await;
        assert_eq!(status, 200, "{list}");
        assert_eq!(list["object"], "list");
        let ids: Vec<&str> = list["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["id"].as_str().unwrap())
            .collect();
        for id in [
            "openai/gpt-4o-mini",
            "openai/gpt-4o",
            "openai/text-embedding-3-small",
            "groq/llama-3.1-8b-instant",
            "groq/llama-3.3-70b",
        ] {
            assert!(ids.contains(&id), "{id} missing from {ids:?}");
        }
        assert!(
            !ids.contains(&"groq/mixtral-8x7b"),
            "keys that name their models limit the list: {ids:?}"
        );
        let up = openai.requests_to("/v1/models");
        assert_eq!(up.len(), 1);
        assert_eq!(up[0].method, "GET");
        assert_eq!(up[0].bearer(), Some(OPENAI_KEY));
        assert_eq!(groq.requests_to("/v1/models")[0].bearer(), Some("gsk-e2e"));

        let (status, only) = gw.get("/v1/models?provider=groq").await;
        assert_eq!(status, 200);
        let ids: Vec<&str> = only["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["id"].as_str().unwrap())
            .collect();
        assert!(!ids.is_empty());
        assert!(ids.iter().all(|id| id.starts_with("groq/")), "{ids:?}");

        let (status, same) = gw.get("/openai/v1/models").await;
        assert_eq!(status, 200);
        assert_eq!(
            same["data"].as_array().unwrap().len(),
            list["data"].as_array().unwrap().len()
        );
    })
    .await;
}

#[tokio::test]
async fn openai_sdk_prefixes_serve_the_same_routes() {
    within(60, async {
        let mock = Mock::openai("upstream").await;
        let gw = openai_gateway(&mock).await;
        for path in ["/openai/v1/chat/completions", "/openai/chat/completions"] {
            let (status, resp) = gw.post(path, &chat_body("openai/gpt-4o-mini", path)).await;
            assert_eq!(status, 200, "{path}: {resp}");
            assert_eq!(
                resp["choices"][0]["message"]["content"],
                format!("upstream says: {path}")
            );
            assert_eq!(mock.last().path, "/v1/chat/completions");
        }
        let (status, resp) = gw
            .post(
                "/openai/v1/embeddings",
                &json!({"model": "openai/text-embedding-3-small", "input": "x"}),
            )
            .await;
        assert_eq!(status, 200, "{resp}");
        assert_eq!(mock.last().path, "/v1/embeddings");
        let (status, resp) = gw
            .post(
                "/openai/v1/completions",
                &json!({"model": "openai/gpt-3.5-turbo-instruct", "prompt": "p"}),
            )
            .await;
        assert_eq!(status, 200, "{resp}");
        assert_eq!(mock.last().path, "/v1/completions");
    })
    .await;
}

#[tokio::test]
async fn custom_keyless_provider_gets_the_model_after_its_prefix() {
    within(60, async {
        let mock = Mock::openai("vllm").await;
        let cfg = config(json!({
            "vllm-local": {
                "keys": [],
                "custom_provider_config": {
                    "base_provider_type": "openai", "is_key_less": true,
                    "allowed_requests": {"chat_completion": true, "chat_completion_stream": true, "list_models": true}
                },
                "network_config": {"base_url": mock.url}
            }
        }));
        let gw = Gateway::launch(&cfg, &[]).await;
        let (status, resp) = gw.chat(&chat_body("vllm-local/meta-llama/Llama-3-8B-Instruct", "hello llama")).await;
        assert_eq!(status, 200, "{resp}");
        let up = mock.last();
        assert_eq!(up.path, "/v1/chat/completions");
        assert_eq!(up.body["model"], "meta-llama/Llama-3-8B-Instruct");
        assert_eq!(up.header("authorization"), None, "a keyless provider sends no Authorization");
        assert_eq!(resp["extra_fields"]["provider"], "vllm-local");
        assert_eq!(resp["extra_fields"]["model_requested"], "meta-llama/Llama-3-8B-Instruct");
        assert_eq!(resp["choices"][0]["message"]["content"], "vllm says: hello llama");

        let mut body = chat_body("vllm-local/meta-llama/Llama-3-8B-Instruct", "stream");
        body["stream"] = json!(true);
        let sse = gw.stream("/v1/chat/completions", &body, &[]).await;
        assert_eq!(sse.status, 200, "{}", sse.raw);
        assert_eq!(sse.content(), STREAM_PIECES.concat());

        // Embeddings are not in allowed_requests.
        let before = mock.count();
        let (status, err) = gw.post("/v1/embeddings", &json!({"model": "vllm-local/bge", "input": "x"})).await;
        assert_eq!(status, 400, "{err}");
        let message = assert_error_shape(&err, 400);
        assert_eq!(err["error"]["type"], "unsupported_operation", "{err}");
        assert!(message.contains("embedding"), "{message}");
        assert_eq!(err["extra_fields"]["provider"], "vllm-local");
        assert_eq!(err["extra_fields"]["request_type"], "embedding");
        assert_eq!(mock.count(), before, "nothing reaches the upstream");
    })
    .await;
}

#[tokio::test]
async fn vllm_keys_route_each_model_to_its_own_server() {
    within(60, async {
        let qwen = Mock::openai("qwen-server").await;
        let llama = Mock::openai("llama-server").await;
        let cfg = config(json!({
            "vllm": {"keys": [
                {"name": "qwen", "value": "", "models": ["*"], "weight": 1.0,
                 "vllm_key_config": {"url": qwen.url, "model_name": "Qwen/Qwen2.5-7B"}},
                {"name": "llama", "value": "", "models": ["*"], "weight": 1.0,
                 "vllm_key_config": {"url": llama.url, "model_name": "meta-llama/Llama-3-8B"}}
            ]}
        }));
        let gw = Gateway::launch(&cfg, &[]).await;
        for _ in 0..3 {
            let (status, resp) = gw.chat(&chat_body("vllm/Qwen/Qwen2.5-7B", "q")).await;
            assert_eq!(status, 200, "{resp}");
            assert_eq!(
                resp["choices"][0]["message"]["content"],
                "qwen-server says: q"
            );
            let (status, resp) = gw.chat(&chat_body("vllm/meta-llama/Llama-3-8B", "l")).await;
            assert_eq!(status, 200, "{resp}");
            assert_eq!(
                resp["choices"][0]["message"]["content"],
                "llama-server says: l"
            );
        }
        assert_eq!(qwen.count(), 3);
        assert_eq!(llama.count(), 3);
        assert!(qwen
            .requests()
            .iter()
            .all(|r| r.body["model"] == "Qwen/Qwen2.5-7B"));
        assert!(llama
            .requests()
            .iter()
            .all(|r| r.body["model"] == "meta-llama/Llama-3-8B"));
        assert!(qwen
            .requests()
            .iter()
            .all(|r| r.header("authorization").is_none()));

        let (status, err) = gw.chat(&chat_body("vllm/mistral-7b", "m")).await;
        assert_eq!(status, 400, "{err}");
        assert!(
            assert_error_shape(&err, 400).contains("no keys found that support model: mistral-7b"),
            "{err}"
        );
    })
    .await;
}

#[tokio::test]
async fn text_completion_on_chat_only_provider_is_unsupported_unless_litellm_fallback() {
    within(60, async {
        let groq = Mock::openai("groq").await;
        let providers = json!({"groq": provider(&groq.url, json!([key("g", "env.E2E_GROQ_KEY")]))});
        let env = [("E2E_GROQ_KEY", "gsk-e2e")];
        let gw = Gateway::launch(&config(providers.clone()), &env).await;
        let body = json!({"model": "groq/llama-3.1-8b-instant", "prompt": "Tell me a story", "max_tokens": 20});
        let (status, err) = gw.post("/v1/completions", &body).await;
        assert_eq!(status, 400, "{err}");
        assert_error_shape(&err, 400);
        assert_eq!(err["error"]["type"], "unsupported_operation");
        assert_eq!(err["extra_fields"]["provider"], "groq");
        assert_eq!(err["extra_fields"]["request_type"], "text_completion");
        assert_eq!(groq.count(), 0);
        drop(gw);

        let mut cfg = config(providers);
        cfg["client"]["enable_litellm_fallbacks"] = json!(true);
        let gw = Gateway::launch(&cfg, &env).await;
        let (status, resp) = gw.post("/v1/completions", &body).await;
        assert_eq!(status, 200, "{resp}");
        let up = groq.last();
        assert_eq!(up.path, "/v1/chat/completions");
        assert_eq!(up.body["model"], "llama-3.1-8b-instant");
        assert_eq!(up.body["messages"], json!([{"role": "user", "content": "Tell me a story"}]));
        assert_eq!(up.body["max_tokens"], 20);
        assert_eq!(resp["object"], "text_completion");
        assert_eq!(resp["choices"][0]["text"], "groq says: Tell me a story");
        assert_eq!(resp["extra_fields"]["litellm_compat"], true);
        assert_eq!(resp["extra_fields"]["request_type"], "text_completion");
    })
    .await;
}
