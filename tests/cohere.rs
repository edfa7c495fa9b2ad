//! The cohere provider and `/v1/rerank` end to end: OpenAI-shaped requests in, Cohere's v2 API
//! upstream (asserting what Cohere received), OpenAI-shaped answers and chunks back; embeddings;
//! rerank on cohere and vLLM; unsupported operations refused.

use serde_json::{json, Value};

use crate::common::{
    assert_error_shape, config, eventually, key, provider, weather_tool, within, Gateway,
};
use crate::mock::{cohere, Mock};

const KEY: &str = "co-e2e-0123456789abcdef";

async fn gateway(mock: &Mock) -> Gateway {
    let cfg =
        config(json!({"cohere": provider(&mock.url, json!([key("main", "env.E2E_COHERE_KEY")]))}));
    Gateway::launch(&cfg, &[("E2E_COHERE_KEY", KEY)]).await
}

#[tokio::test]
async fn chat_is_translated_to_v2_chat_and_back() {
    within(60, async {
        let mock = Mock::cohere("cohere").await;
        let gw = gateway(&mock).await;
        let body = json!({
            "model": "cohere/command-a-03-2025",
            "messages": [
                {"role": "system", "content": "You are terse."},
                {"role": "user", "content": "Hello there"}
            ],
            "max_tokens": 256, "temperature": 0.2, "top_p": 0.8, "stop": ["END"], "seed": 3
        });
        let (status, resp) = gw.chat(&body).await;
        assert_eq!(status, 200, "{resp}");

        let up = mock.last();
        assert_eq!((up.method.as_str(), up.path.as_str()), ("POST", "/v2/chat"));
        assert_eq!(up.bearer(), Some(KEY));
        assert_eq!(
            up.body,
            json!({"model": "command-a-03-2025",
                   "messages": [{"role": "system", "content": "You are terse."},
                                {"role": "user", "content": "Hello there"}],
                   "max_tokens": 256, "temperature": 0.2, "p": 0.8, "stop_sequences": ["END"], "seed": 3})
        );

        assert_eq!(resp["object"], "chat.completion");
        assert_eq!(resp["id"], "chat-mock-1");
        assert_eq!(resp["choices"][0]["message"]["content"], "cohere says: Hello there");
        assert_eq!(resp["choices"][0]["finish_reason"], "stop");
        // Billed units, not the template-inflated token counts.
        assert_eq!(
            resp["usage"],
            json!({"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18})
        );
        assert_eq!(resp["extra_fields"]["provider"], "cohere");
        assert_eq!(resp["extra_fields"]["request_type"], "chat_completion");

        // A one-token limit ends with MAX_TOKENS, reported as `length`.
        let mut short = body.clone();
        short["max_tokens"] = json!(1);
        let (_, resp) = gw.chat(&short).await;
        assert_eq!(resp["choices"][0]["finish_reason"], "length");

        // JSON mode.
        let (_, resp) = gw
            .chat(&json!({"model": "cohere/command-a-03-2025", "response_format": {"type": "json_object"},
                          "messages": [{"role": "user", "content": "json"}]}))
            .await;
        assert_eq!(mock.last().body["response_format"], json!({"type": "json_object"}));
        assert_eq!(resp["choices"][0]["message"]["content"], "{\"answer\":42}");
    })
    .await;
}

#[tokio::test]
async fn tools_round_trip_and_images_reach_cohere() {
    within(60, async {
        let mock = Mock::cohere("cohere").await;
        let gw = gateway(&mock).await;
        let body = json!({
            "model": "cohere/command-a-03-2025",
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
        assert_eq!(up.body["tools"], weather_tool());
        assert_eq!(up.body["tool_choice"], "REQUIRED");
        assert_eq!(
            up.body["messages"][0]["content"],
            json!([{"type": "text", "text": "Weather where this photo was taken?"},
                   {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}])
        );
        let choice = &resp["choices"][0];
        assert_eq!(choice["finish_reason"], "tool_calls");
        let call = &choice["message"]["tool_calls"][0];
        assert_eq!(call["id"], "get_weather_mock_1");
        assert_eq!(call["function"]["name"], "get_weather");
        assert_eq!(call["function"]["arguments"], "{\"city\":\"Paris\"}");

        // The result goes back as a tool message, the call as the assistant's tool_calls.
        let mut second = body.clone();
        let messages = second["messages"].as_array_mut().unwrap();
        messages.push(choice["message"].clone());
        messages.push(json!({"role": "tool", "tool_call_id": "get_weather_mock_1", "content": "{\"temp_c\":21}"}));
        second["tool_choice"] = json!("auto");
        let (status, resp) = gw.chat(&second).await;
        assert_eq!(status, 200, "{resp}");
        let sent = &mock.last().body["messages"];
        assert_eq!(
            sent[1],
            json!({"role": "assistant", "tool_plan": "I will check the weather.", "tool_calls": [
                {"id": "get_weather_mock_1", "type": "function",
                 "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}]})
        );
        assert_eq!(
            sent[2],
            json!({"role": "tool", "tool_call_id": "get_weather_mock_1", "content": "{\"temp_c\":21}"})
        );
        assert!(mock.last().body.get("tool_choice").is_none());
        assert_eq!(resp["choices"][0]["finish_reason"], "stop");
    })
    .await;
}

#[tokio::test]
async fn streams_become_openai_chunks_with_usage() {
    within(60, async {
        let mock = Mock::cohere("cohere").await;
        let gw = gateway(&mock).await;
        let sse = gw
            .stream(
                "/v1/chat/completions",
                &json!({"model": "cohere/command-a-03-2025", "stream": true,
                        "messages": [{"role": "user", "content": "Hi"}]}),
                &[],
            )
            .await;
        assert_eq!(sse.status, 200);
        assert!(sse.ends_with_done());
        assert_eq!(mock.last().body["stream"], true);
        assert_eq!(sse.content(), cohere::STREAM_PIECES.concat());
        let chunks = sse.chunks();
        assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
        let finish: Vec<&Value> = chunks
            .iter()
            .filter_map(|c| c["choices"][0].get("finish_reason").filter(|f| !f.is_null()))
            .collect();
        assert_eq!(finish, vec![&json!("stop")]);
        let last = chunks.last().unwrap();
        assert_eq!(last["usage"]["total_tokens"], 18, "{last}");
        assert_eq!(last["extra_fields"]["provider"], "cohere");

        // A streamed tool call arrives as fragments.
        let sse = gw
            .stream(
                "/v1/chat/completions",
                &json!({"model": "cohere/command-a-03-2025", "stream": true, "tools": weather_tool(),
                        "messages": [{"role": "user", "content": "Weather?"}]}),
                &[],
            )
            .await;
        let chunks = sse.chunks();
        let args: String = chunks
            .iter()
            .filter_map(|c| c["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"].as_str())
            .collect();
        assert_eq!(args, "{\"city\":\"Paris\"}");
        assert!(chunks.iter().any(|c| c["choices"][0]["delta"]["tool_calls"][0]["id"] == "get_weather_stream_1"));
        assert!(chunks.iter().any(|c| c["choices"][0]["finish_reason"] == "tool_calls"));
    })
    .await;
}

#[tokio::test]
async fn errors_keep_cohere_s_status_and_message() {
    within(60, async {
        let mock = Mock::cohere("cohere").await;
        let gw = gateway(&mock).await;
        mock.fail_next(1, 429, cohere::error("You are using a Trial key, which is limited to 10 API calls / minute."));
        let (status, resp) = gw
            .chat(&json!({"model": "cohere/command-a-03-2025", "messages": [{"role": "user", "content": "x"}]}))
            .await;
        assert_eq!(status, 429, "{resp}");
        let message = assert_error_shape(&resp, 429);
        assert!(message.contains("Trial key"), "{message}");
        assert!(!resp.to_string().contains(KEY));
    })
    .await;
}

#[tokio::test]
async fn embeddings_go_to_v2_embed() {
    within(60, async {
        let mock = Mock::cohere("cohere").await;
        let gw = gateway(&mock).await;
        let (status, resp) = gw
            .post("/v1/embeddings", &json!({"model": "cohere/embed-v4.0", "input": ["alpha", "beta"]}))
            .await;
        assert_eq!(status, 200, "{resp}");
        let up = mock.last();
        assert_eq!(up.path, "/v2/embed");
        assert_eq!(
            up.body,
            json!({"model": "embed-v4.0", "texts": ["alpha", "beta"], "input_type": "search_document",
                   "embedding_types": ["float"]})
        );
        assert_eq!(resp["object"], "list");
        assert_eq!(resp["data"][1]["index"], 1);
        assert_eq!(resp["data"][1]["embedding"], json!([1.0, -0.25, 0.125]));
        assert_eq!(resp["usage"]["prompt_tokens"], 6);
        assert_eq!(resp["extra_fields"]["request_type"], "embedding");
    })
    .await;
}

#[tokio::test]
async fn rerank_on_cohere_orders_documents_and_is_logged() {
    within(60, async {
        let mock = Mock::cohere("cohere").await;
        let gw = gateway(&mock).await;
        let body = json!({
            "model": "cohere/rerank-v3.5",
            "query": "capital of france",
            "documents": ["Berlin is in Germany.", {"text": "Paris is the capital of France.", "id": "d2"}, "Rome."],
            "top_n": 2,
            "return_documents": true
        });
        let (status, resp) = gw.post("/v1/rerank", &body).await;
        assert_eq!(status, 200, "{resp}");
        let up = mock.last();
        assert_eq!(up.path, "/v2/rerank");
        assert_eq!(up.bearer(), Some(KEY));
        assert_eq!(
            up.body,
            json!({"model": "rerank-v3.5", "query": "capital of france",
                   "documents": ["Berlin is in Germany.", "Paris is the capital of France.", "Rome."], "top_n": 2})
        );
        let results = resp["results"].as_array().unwrap();
        assert_eq!(results.len(), 2);
        assert_eq!(results[0]["index"], 1);
        assert_eq!(results[0]["document"], json!({"text": "Paris is the capital of France.", "id": "d2"}));
        assert!(results[0]["relevance_score"].as_f64() > results[1]["relevance_score"].as_f64());
        assert_eq!(resp["model"], "rerank-v3.5");
        assert_eq!(resp["extra_fields"]["request_type"], "rerank");
        assert_eq!(resp["extra_fields"]["provider"], "cohere");

        // Without return_documents, no documents; also under the OpenAI drop-in prefix.
        let mut plain = body.clone();
        plain.as_object_mut().unwrap().remove("return_documents");
        let (status, resp) = gw.post("/openai/v1/rerank", &plain).await;
        assert_eq!(status, 200, "{resp}");
        assert!(resp["results"][0].get("document").is_none(), "{resp}");

        // Bad input is refused before any upstream call.
        let before = mock.count();
        for bad in [
            json!({"model": "cohere/rerank-v3.5", "query": "", "documents": ["a"]}),
            json!({"model": "cohere/rerank-v3.5", "query": "q", "documents": []}),
        ] {
            let (status, resp) = gw.post("/v1/rerank", &bad).await;
            assert_eq!(status, 400, "{resp}");
            assert_error_shape(&resp, 400);
        }
        assert_eq!(mock.count(), before);

        let logs = eventually(15, "rerank logs", || async {
            let (_, body) = gw.get("/api/logs?limit=10").await;
            (body["pagination"]["total_count"] == 2).then(|| body["logs"].clone())
        })
        .await;
        assert_eq!(logs[0]["object"], "rerank", "{logs}");
        assert_eq!(logs[0]["provider"], "cohere");
        assert_eq!(logs[0]["model"], "rerank-v3.5");
        assert_eq!(logs[0]["status"], "success");
    })
    .await;
}

#[tokio::test]
async fn rerank_on_vllm_and_unsupported_operations() {
    within(60, async {
        let cohere_mock = Mock::cohere("cohere").await;
        let vllm = Mock::openai("vllm").await;
        let openai = Mock::openai("openai").await;
        let cfg = config(json!({
            "cohere": provider(&cohere_mock.url, json!([key("main", KEY)])),
            "vllm": provider(&vllm.url, json!([])),
            "openai": provider(&openai.url, json!([key("main", "sk-openai-0123456789")])),
        }));
        let gw = Gateway::launch(&cfg, &[]).await;
        let (status, resp) = gw
            .post(
                "/v1/rerank",
                &json!({"model": "vllm/BAAI/bge-reranker-v2-m3", "query": "q", "documents": ["a", "b", "c"],
                        "top_n": 2, "return_documents": true}),
            )
            .await;
        assert_eq!(status, 200, "{resp}");
        let up = vllm.last();
        assert_eq!(up.path, "/v1/rerank");
        assert_eq!(
            up.body,
            json!({"model": "BAAI/bge-reranker-v2-m3", "query": "q", "documents": ["a", "b", "c"], "top_n": 2})
        );
        assert_eq!(resp["results"][0]["index"], 2);
        assert_eq!(resp["results"][0]["document"], json!({"text": "c"}));
        assert_eq!(resp["usage"]["total_tokens"], 21);

        // Rerank is not an OpenAI operation; text completions are not Cohere's.
        let (status, resp) = gw
            .post("/v1/rerank", &json!({"model": "openai/gpt-4o", "query": "q", "documents": ["a"]}))
            .await;
        assert_eq!(status, 400, "{resp}");
        assert_eq!(resp["error"]["type"], "unsupported_operation", "{resp}");
        let (status, resp) = gw
            .post("/v1/completions", &json!({"model": "cohere/command-a-03-2025", "prompt": "x"}))
            .await;
        assert_eq!(status, 400, "{resp}");
        assert_eq!(resp["error"]["type"], "unsupported_operation", "{resp}");
        assert_eq!(openai.count() + cohere_mock.count(), 0);

        // The model list comes from Cohere's /v1/models.
        let (status, list) = gw.get("/v1/models?provider=cohere").await;
        assert_eq!(status, 200, "{list}");
        let ids: Vec<&str> = list["data"].as_array().unwrap().iter().filter_map(|m| m["id"].as_str()).collect();
        assert!(ids.contains(&"cohere/command-a-03-2025"), "{ids:?}");
        assert_eq!(cohere_mock.last().path, "/v1/models");
    })
    .await;
}
