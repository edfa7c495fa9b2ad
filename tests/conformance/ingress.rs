//! The ingress columns of the matrix: each writes an [`Ask`] in its own request shape, checks
//! its answers' shape (JSON, the SSE event sequence and its terminal event, errors) and reads
//! them back into a [`Reply`].

use serde_json::{json, Value};

use super::case::{Ask, Op, Reply, Stop, ToolCall, MAX_TOKENS, TOOL, TOOL_OUTPUT};
use crate::common::{assert_error_shape, Gateway};
use crate::ingress_anthropic::named_events;

/// An API the gateway serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ingress {
    /// OpenAI chat completions (`/v1/chat/completions`).
    OpenAi,
    /// Anthropic Messages (`/anthropic/v1/messages`).
    Anthropic,
    /// Google GenAI (`/genai/v1beta/models/{model}:generateContent`).
    GenAi,
    /// OpenAI Responses (`/v1/responses`).
    Responses,
}

pub const INGRESSES: [Ingress; 4] = [
    Ingress::OpenAi,
    Ingress::Anthropic,
    Ingress::GenAi,
    Ingress::Responses,
];

const DESCRIPTION: &str = "Weather in a city";

fn data_url(png: &str) -> String {
    format!("data:image/png;base64,{png}")
}

fn args_of(text: &Value) -> Value {
    serde_json::from_str(text.as_str().unwrap_or_default())
        .unwrap_or_else(|e| panic!("tool arguments {text} are not JSON: {e}"))
}

fn u(v: &Value) -> u64 {
    v.as_u64().unwrap_or(0)
}

impl Ingress {
    pub fn name(self) -> &'static str {
        match self {
            Ingress::OpenAi => "/v1/chat/completions",
            Ingress::Anthropic => "/anthropic/v1/messages",
            Ingress::GenAi => "/genai/v1beta",
            Ingress::Responses => "/v1/responses",
        }
    }

    fn path(self, model: &str, stream: bool) -> String {
        match (self, stream) {
            (Ingress::GenAi, false) => format!("/genai/v1beta/models/{model}:generateContent"),
            (Ingress::GenAi, true) => {
                format!("/genai/v1beta/models/{model}:streamGenerateContent?alt=sse")
            }
            _ => self.name().to_owned(),
        }
    }

    /// The ask in this ingress's request shape.
    fn body(self, model: &str, ask: &Ask, stream: bool) -> Value {
        let tools = ask.tool || ask.answered.is_some();
        let mut body = match self {
            Ingress::OpenAi => openai_body(model, ask, tools),
            Ingress::Anthropic => anthropic_body(model, ask, tools),
            Ingress::GenAi => genai_body(ask, tools),
            Ingress::Responses => responses_body(model, ask, tools),
        };
        if stream && self != Ingress::GenAi {
            body["stream"] = json!(true);
        }
        if stream && self == Ingress::OpenAi {
            body["stream_options"] = json!({"include_usage": true});
        }
        body
    }

    /// Sends the ask as JSON and reads the 200 answer.
    pub async fn send(self, gw: &Gateway, model: &str, ask: &Ask) -> Reply {
        let (status, resp) = gw
            .post(&self.path(model, false), &self.body(model, ask, false))
            .await;
        assert_eq!(status, 200, "{resp}");
        self.read(&resp)
    }

    /// Sends the ask streamed and reads the event sequence, checking its shape.
    pub async fn stream(self, gw: &Gateway, model: &str, ask: &Ask) -> Reply {
        let sse = gw
            .stream(&self.path(model, true), &self.body(model, ask, true), &[])
            .await;
        assert_eq!(sse.status, 200, "{}", sse.raw);
        assert!(
            sse.content_type.starts_with("text/event-stream"),
            "{}",
            sse.content_type
        );
        match self {
            Ingress::OpenAi => {
                assert!(sse.ends_with_done(), "{}", sse.raw);
                let chunks = sse.chunks();
                assert!(
                    chunks
                        .iter()
                        .all(|c| c["object"] == "chat.completion.chunk"),
                    "{}",
                    sse.raw
                );
                assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
                let finishes: Vec<&str> = chunks
                    .iter()
                    .filter_map(|c| c["choices"][0]["finish_reason"].as_str())
                    .collect();
                let [finish] = finishes[..] else {
                    panic!("one finish_reason expected: {}", sse.raw);
                };
                let usage = chunks
                    .iter()
                    .find_map(|c| c.get("usage").filter(|u| !u.is_null()))
                    .map(|u| {
                        (
                            self::u(&u["prompt_tokens"]),
                            self::u(&u["completion_tokens"]),
                        )
                    });
                Reply {
                    text: sse.content(),
                    tool_calls: openai_streamed_calls(&chunks),
                    stop: openai_stop(finish),
                    usage,
                }
            }
            Ingress::Anthropic => {
                let events = named_events(&sse.raw);
                let names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
                assert_eq!(names.first(), Some(&"message_start"), "{names:?}");
                assert_eq!(
                    names[names.len().saturating_sub(2)..],
                    ["message_delta", "message_stop"],
                    "{names:?}"
                );
                for (name, data) in &events {
                    assert_eq!(data["type"], name.as_str());
                }
                let count = |n: &str| names.iter().filter(|x| **x == n).count();
                assert_eq!(
                    count("content_block_start"),
                    count("content_block_stop"),
                    "{names:?}"
                );
                let text: String = events
                    .iter()
                    .filter(|(n, d)| {
                        n == "content_block_delta" && d["delta"]["type"] == "text_delta"
                    })
                    .filter_map(|(_, d)| d["delta"]["text"].as_str())
                    .collect();
                let start = &events[0].1["message"]["usage"];
                let delta = &events[events.len() - 2].1;
                let input = if delta["usage"].get("input_tokens").is_some() {
                    &delta["usage"]
                } else {
                    start
                };
                Reply {
                    text,
                    tool_calls: anthropic_streamed_calls(&events),
                    stop: anthropic_stop(
                        delta["delta"]["stop_reason"].as_str().unwrap_or_default(),
                    ),
                    usage: Some((anthropic_input(input), u(&delta["usage"]["output_tokens"]))),
                }
            }
            Ingress::GenAi => {
                let chunks = sse.chunks();
                let (last, rest) = chunks.split_last().expect("no chunk");
                assert!(
                    rest.iter()
                        .all(|c| c["candidates"][0].get("finishReason").is_none()),
                    "only the last chunk finishes: {}",
                    sse.raw
                );
                let mut reply = genai_reply(last);
                let each: Vec<Reply> = chunks.iter().map(genai_reply).collect();
                reply.text = each.iter().map(|r| r.text.as_str()).collect();
                reply.tool_calls = each.into_iter().flat_map(|r| r.tool_calls).collect();
                reply
            }
            Ingress::Responses => {
                assert!(!sse.raw.contains("[DONE]"));
                let events = named_events(&sse.raw);
                for (i, (name, data)) in events.iter().enumerate() {
                    assert_eq!(data["type"], name.as_str());
                    assert_eq!(data["sequence_number"], i);
                }
                assert_eq!(events[0].0, "response.created");
                let (last, done) = events.last().unwrap();
                assert!(
                    last == "response.completed" || last == "response.incomplete",
                    "terminal event {last}"
                );
                let text: String = events
                    .iter()
                    .filter(|(n, _)| n == "response.output_text.delta")
                    .filter_map(|(_, d)| d["delta"].as_str())
                    .collect();
                let reply = responses_reply(&done["response"]);
                assert_eq!(reply.text, text, "the final response holds the deltas");
                reply
            }
        }
    }

    /// Sends an ask the provider refuses with `status` (as JSON or streamed); checks the
    /// ingress's error shape and status and returns the error's message.
    pub async fn fail(
        self,
        gw: &Gateway,
        model: &str,
        ask: &Ask,
        status: u16,
        stream: bool,
    ) -> String {
        let (got, resp) = gw
            .post(&self.path(model, stream), &self.body(model, ask, stream))
            .await;
        assert_eq!(got, status, "{resp}");
        match self {
            Ingress::OpenAi | Ingress::Responses => assert_error_shape(&resp, status),
            Ingress::Anthropic => {
                assert_eq!(resp["type"], "error", "{resp}");
                let kind = match status {
                    400 => "invalid_request_error",
                    429 => "rate_limit_error",
                    _ => "api_error",
                };
                assert_eq!(resp["error"]["type"], kind, "{resp}");
                resp["error"]["message"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned()
            }
            Ingress::GenAi => {
                assert_eq!(resp["error"]["code"], status, "{resp}");
                let name = match status {
                    400 => "INVALID_ARGUMENT",
                    429 => "RESOURCE_EXHAUSTED",
                    _ => "INTERNAL",
                };
                assert_eq!(resp["error"]["status"], name, "{resp}");
                resp["error"]["message"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned()
            }
        }
    }

    /// Asks for an operation the provider lacks and checks the unsupported-operation error;
    /// `Err` when this ingress has no route for the operation.
    pub async fn unsupported(
        self,
        gw: &Gateway,
        model: &str,
        op: Op,
        provider: &str,
    ) -> Result<(), &'static str> {
        let (path, body) = match (self, op) {
            (Ingress::OpenAi, Op::Embeddings) => (
                "/v1/embeddings".to_owned(),
                json!({"model": model, "input": "embed me"}),
            ),
            (Ingress::OpenAi, Op::TextCompletion) => (
                "/v1/completions".to_owned(),
                json!({"model": model, "prompt": "Once"}),
            ),
            (Ingress::OpenAi, Op::TextCompletionStream) => (
                "/v1/completions".to_owned(),
                json!({"model": model, "prompt": "Once", "stream": true}),
            ),
            (Ingress::GenAi, Op::Embeddings) => (
                format!("/genai/v1beta/models/{model}:embedContent"),
                json!({"content": {"parts": [{"text": "embed me"}]}}),
            ),
            (Ingress::GenAi, _) => return Err("the GenAI API has no text completions"),
            (Ingress::Anthropic | Ingress::Responses, _) => {
                return Err("the ingress serves chat only")
            }
        };
        let (status, resp) = gw.post(&path, &body).await;
        assert_eq!(status, 400, "{resp}");
        let message = if self == Ingress::GenAi {
            assert_eq!(resp["error"]["status"], "INVALID_ARGUMENT", "{resp}");
            resp["error"]["message"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        } else {
            let message = assert_error_shape(&resp, 400);
            assert_eq!(resp["error"]["type"], "unsupported_operation", "{resp}");
            message
        };
        assert!(message.contains("unsupported operation"), "{message}");
        assert!(message.contains(provider), "{message}");
        Ok(())
    }

    fn read(self, resp: &Value) -> Reply {
        match self {
            Ingress::OpenAi => {
                assert_eq!(resp["object"], "chat.completion", "{resp}");
                let choice = &resp["choices"][0];
                let message = &choice["message"];
                assert_eq!(message["role"], "assistant", "{resp}");
                let tool_calls = message["tool_calls"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|c| ToolCall {
                        id: c["id"].as_str().unwrap_or_default().to_owned(),
                        name: c["function"]["name"]
                            .as_str()
                            .unwrap_or_default()
                            .to_owned(),
                        args: args_of(&c["function"]["arguments"]),
                    })
                    .collect();
                Reply {
                    text: message["content"].as_str().unwrap_or_default().to_owned(),
                    tool_calls,
                    stop: openai_stop(choice["finish_reason"].as_str().unwrap_or_default()),
                    usage: Some((
                        u(&resp["usage"]["prompt_tokens"]),
                        u(&resp["usage"]["completion_tokens"]),
                    )),
                }
            }
            Ingress::Anthropic => {
                assert_eq!(resp["type"], "message", "{resp}");
                assert_eq!(resp["role"], "assistant", "{resp}");
                assert!(
                    resp["id"].as_str().unwrap_or_default().starts_with("msg_"),
                    "{resp}"
                );
                let blocks = resp["content"].as_array().expect("content blocks");
                Reply {
                    text: blocks
                        .iter()
                        .filter(|b| b["type"] == "text")
                        .filter_map(|b| b["text"].as_str())
                        .collect(),
                    tool_calls: blocks
                        .iter()
                        .filter(|b| b["type"] == "tool_use")
                        .map(|b| ToolCall {
                            id: b["id"].as_str().unwrap_or_default().to_owned(),
                            name: b["name"].as_str().unwrap_or_default().to_owned(),
                            args: b["input"].clone(),
                        })
                        .collect(),
                    stop: anthropic_stop(resp["stop_reason"].as_str().unwrap_or_default()),
                    usage: Some((
                        anthropic_input(&resp["usage"]),
                        u(&resp["usage"]["output_tokens"]),
                    )),
                }
            }
            Ingress::GenAi => genai_reply(resp),
            Ingress::Responses => responses_reply(resp),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Requests.

fn openai_body(model: &str, ask: &Ask, tools: bool) -> Value {
    let mut messages = Vec::new();
    if let Some(system) = ask.system {
        messages.push(json!({"role": "system", "content": system}));
    }
    let content = match ask.image {
        Some(png) => json!([{"type": "text", "text": ask.text},
                            {"type": "image_url", "image_url": {"url": data_url(png)}}]),
        None => json!(ask.text),
    };
    messages.push(json!({"role": "user", "content": content}));
    if let Some(call) = &ask.answered {
        messages.push(
            json!({"role": "assistant", "content": null, "tool_calls": [{
            "id": call.id, "type": "function",
            "function": {"name": call.name, "arguments": call.args.to_string()}}]}),
        );
        messages.push(json!({"role": "tool", "tool_call_id": call.id, "content": TOOL_OUTPUT}));
    }
    let mut body = json!({"model": model, "messages": messages, "max_tokens": MAX_TOKENS});
    if tools {
        body["tools"] = json!([{"type": "function", "function": {
            "name": TOOL, "description": DESCRIPTION, "parameters": Ask::tool_schema()}}]);
    }
    body
}

fn anthropic_body(model: &str, ask: &Ask, tools: bool) -> Value {
    let mut content = vec![json!({"type": "text", "text": ask.text})];
    if let Some(png) = ask.image {
        content.push(json!({"type": "image", "source": {
            "type": "base64", "media_type": "image/png", "data": png}}));
    }
    let mut messages = vec![json!({"role": "user", "content": content})];
    if let Some(call) = &ask.answered {
        messages.push(json!({"role": "assistant", "content": [{
            "type": "tool_use", "id": call.id, "name": call.name, "input": call.args}]}));
        messages.push(json!({"role": "user", "content": [{
            "type": "tool_result", "tool_use_id": call.id, "content": TOOL_OUTPUT}]}));
    }
    let mut body = json!({"model": model, "max_tokens": MAX_TOKENS, "messages": messages});
    if let Some(system) = ask.system {
        body["system"] = json!(system);
    }
    if tools {
        body["tools"] = json!([{"name": TOOL, "description": DESCRIPTION,
                                "input_schema": Ask::tool_schema()}]);
    }
    body
}

fn genai_body(ask: &Ask, tools: bool) -> Value {
    let mut parts = vec![json!({"text": ask.text})];
    if let Some(png) = ask.image {
        parts.push(json!({"inlineData": {"mimeType": "image/png", "data": png}}));
    }
    let mut contents = vec![json!({"role": "user", "parts": parts})];
    if let Some(call) = &ask.answered {
        contents.push(json!({"role": "model", "parts": [{"functionCall": {
            "id": call.id, "name": call.name, "args": call.args}}]}));
        contents.push(json!({"role": "user", "parts": [{"functionResponse": {
            "id": call.id, "name": call.name, "response": {"result": TOOL_OUTPUT}}}]}));
    }
    let mut body = json!({"contents": contents,
                          "generationConfig": {"maxOutputTokens": MAX_TOKENS}});
    if let Some(system) = ask.system {
        body["systemInstruction"] = json!({"parts": [{"text": system}]});
    }
    if tools {
        body["tools"] = json!([{"functionDeclarations": [{"name": TOOL, "description": DESCRIPTION,
            "parameters": {"type": "OBJECT", "properties": {"city": {"type": "STRING"}},
                           "required": ["city"]}}]}]);
    }
    body
}

fn responses_body(model: &str, ask: &Ask, tools: bool) -> Value {
    let mut content = vec![json!({"type": "input_text", "text": ask.text})];
    if let Some(png) = ask.image {
        content.push(json!({"type": "input_image", "image_url": data_url(png)}));
    }
    let mut input = vec![json!({"role": "user", "content": content})];
    if let Some(call) = &ask.answered {
        input.push(
            json!({"type": "function_call", "call_id": call.id, "name": call.name,
                          "arguments": call.args.to_string()}),
        );
        input.push(
            json!({"type": "function_call_output", "call_id": call.id, "output": TOOL_OUTPUT}),
        );
    }
    let mut body = json!({"model": model, "input": input, "max_output_tokens": MAX_TOKENS});
    if let Some(system) = ask.system {
        body["instructions"] = json!(system);
    }
    if tools {
        body["tools"] = json!([{"type": "function", "name": TOOL, "description": DESCRIPTION,
                                "parameters": Ask::tool_schema()}]);
    }
    body
}

// ---------------------------------------------------------------------------------------------
// Answers.

fn openai_stop(finish: &str) -> Stop {
    match finish {
        "stop" => Stop::End,
        "length" => Stop::Length,
        "tool_calls" => Stop::Tool,
        other => panic!("unexpected finish_reason {other:?}"),
    }
}

fn anthropic_stop(reason: &str) -> Stop {
    match reason {
        "end_turn" => Stop::End,
        "max_tokens" => Stop::Length,
        "tool_use" => Stop::Tool,
        other => panic!("unexpected stop_reason {other:?}"),
    }
}

/// Tool calls assembled from OpenAI chunks' `delta.tool_calls` fragments, by index.
fn openai_streamed_calls(chunks: &[Value]) -> Vec<ToolCall> {
    let mut calls: Vec<(u64, ToolCall, String)> = Vec::new();
    let fragments = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["tool_calls"].as_array())
        .flatten();
    for fragment in fragments {
        let index = u(&fragment["index"]);
        let at = match calls.iter().position(|(i, _, _)| *i == index) {
            Some(at) => at,
            None => {
                let call = ToolCall {
                    id: String::new(),
                    name: String::new(),
                    args: Value::Null,
                };
                calls.push((index, call, String::new()));
                calls.len() - 1
            }
        };
        let (_, call, args) = &mut calls[at];
        if let Some(id) = fragment["id"].as_str() {
            call.id = id.to_owned();
        }
        if let Some(name) = fragment["function"]["name"].as_str() {
            call.name.push_str(name);
        }
        args.push_str(
            fragment["function"]["arguments"]
                .as_str()
                .unwrap_or_default(),
        );
    }
    calls
        .into_iter()
        .map(|(_, mut call, args)| {
            call.args = args_of(&json!(args));
            call
        })
        .collect()
}

/// Tool calls assembled from Anthropic's `tool_use` blocks and their `input_json_delta`s.
fn anthropic_streamed_calls(events: &[(String, Value)]) -> Vec<ToolCall> {
    let starts = events
        .iter()
        .filter(|(n, d)| n == "content_block_start" && d["content_block"]["type"] == "tool_use");
    starts
        .map(|(_, start)| {
            let index = &start["index"];
            let args: String = events
                .iter()
                .filter(|(n, d)| n == "content_block_delta" && d["index"] == *index)
                .filter_map(|(_, d)| d["delta"]["partial_json"].as_str())
                .collect();
            ToolCall {
                id: start["content_block"]["id"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                name: start["content_block"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                args: args_of(&json!(args)),
            }
        })
        .collect()
}

/// Anthropic's input tokens leave out cache reads and writes; OpenAI's prompt counts them.
fn anthropic_input(usage: &Value) -> u64 {
    u(&usage["input_tokens"])
        + u(&usage["cache_read_input_tokens"])
        + u(&usage["cache_creation_input_tokens"])
}

fn genai_reply(resp: &Value) -> Reply {
    let candidate = &resp["candidates"][0];
    assert_eq!(candidate["content"]["role"], "model", "{resp}");
    let parts = candidate["content"]["parts"].as_array().expect("parts");
    let tool_calls: Vec<ToolCall> = parts
        .iter()
        .filter_map(|p| p.get("functionCall"))
        .map(|c| ToolCall {
            id: c["id"].as_str().unwrap_or_default().to_owned(),
            name: c["name"].as_str().unwrap_or_default().to_owned(),
            args: c["args"].clone(),
        })
        .collect();
    // Gemini finishes a function call with STOP.
    let stop = match candidate["finishReason"].as_str() {
        Some("STOP") | None if !tool_calls.is_empty() => Stop::Tool,
        Some("STOP") | None => Stop::End,
        Some("MAX_TOKENS") => Stop::Length,
        Some(other) => panic!("unexpected finishReason {other:?}"),
    };
    let usage = &resp["usageMetadata"];
    Reply {
        text: parts.iter().filter_map(|p| p["text"].as_str()).collect(),
        tool_calls,
        stop,
        // Gemini's candidates leave out thoughts; OpenAI's completion counts them.
        usage: usage.is_object().then(|| {
            (
                u(&usage["promptTokenCount"]),
                u(&usage["candidatesTokenCount"]) + u(&usage["thoughtsTokenCount"]),
            )
        }),
    }
}

fn responses_reply(resp: &Value) -> Reply {
    assert_eq!(resp["object"], "response", "{resp}");
    assert!(
        resp["id"].as_str().unwrap_or_default().starts_with("resp_"),
        "{resp}"
    );
    let output = resp["output"].as_array().expect("output items");
    let text = output
        .iter()
        .filter(|i| i["type"] == "message")
        .filter_map(|i| i["content"].as_array())
        .flatten()
        .filter(|c| c["type"] == "output_text")
        .filter_map(|c| c["text"].as_str())
        .collect();
    let tool_calls: Vec<ToolCall> = output
        .iter()
        .filter(|i| i["type"] == "function_call")
        .map(|i| ToolCall {
            id: i["call_id"].as_str().unwrap_or_default().to_owned(),
            name: i["name"].as_str().unwrap_or_default().to_owned(),
            args: args_of(&i["arguments"]),
        })
        .collect();
    let stop = match resp["status"].as_str() {
        Some("incomplete") => {
            assert_eq!(
                resp["incomplete_details"]["reason"], "max_output_tokens",
                "{resp}"
            );
            Stop::Length
        }
        Some("completed") if !tool_calls.is_empty() => Stop::Tool,
        Some("completed") => Stop::End,
        other => panic!("unexpected status {other:?}: {resp}"),
    };
    Reply {
        text,
        tool_calls,
        stop,
        usage: Some((
            u(&resp["usage"]["input_tokens"]),
            u(&resp["usage"]["output_tokens"]),
        )),
    }
}
