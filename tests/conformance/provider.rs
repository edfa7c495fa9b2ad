//! The provider rows of the matrix: how to start each provider's mock and a gateway in front of
//! it, what its mock answers, which operations it lacks, and how to read what it received in
//! its own wire format ([`Wire`]).
//!
//! Adding a provider is one row: a function returning its [`Provider`] (and, when it comes with
//! a new mock, a `start` function and, for a new wire format, a [`Wire`] variant), plus its
//! name in the `matrix!` list of `tests/conformance.rs`.

use futures_util::future::BoxFuture;
use serde_json::{json, Value};

use super::case::{Op, ToolCall, ToolResult};
use crate::common::{config, key, provider, Gateway};
use crate::mock::bedrock::BedrockMock;
use crate::mock::entra::Entra;
use crate::mock::{anthropic, bedrock, cohere, gemini, last_user_text, openai, Mock, Recorded};

/// The key OpenAI-compatible and Anthropic rows configure (from the environment).
const KEY: &str = "sk-conformance-0123456789";

/// One provider row.
pub struct Provider {
    /// The row's name (and its test's).
    pub name: &'static str,
    /// The provider's name in `config.json`, which errors name.
    pub config_name: &'static str,
    /// `provider/model` as clients write it.
    pub model: &'static str,
    /// The format the upstream receives and answers in.
    pub wire: Wire,
    /// Starts the mock and a gateway configured against it.
    pub start: fn() -> BoxFuture<'static, Upstream>,
    /// The mock's label, which starts its answers (`<label> says: <user text>`).
    pub label: &'static str,
    /// The credential the upstream must receive in the wire format's auth header, when the
    /// mock does not verify it itself (SigV4, OAuth tokens).
    pub credential: Option<&'static str>,
    /// The upstream paths of a chat call: JSON, streamed.
    pub paths: (&'static str, &'static str),
    /// The query string every chat call carries, when the provider asks for one.
    pub query: Option<&'static str>,
    /// The text of a streamed answer.
    pub stream_text: &'static str,
    /// (prompt, completion) tokens of every answer, in OpenAI's sense.
    pub usage: (u64, u64),
    /// The id the provider gives its tool call, when it gives one.
    pub tool_call_id: Option<&'static str>,
    /// Put in the user text, makes the mock stop for the token limit.
    pub length_marker: &'static str,
    /// Takes image input.
    pub image: bool,
    /// An operation the provider lacks, answered with the unsupported-operation error.
    pub unsupported: Option<Op>,
}

impl Provider {
    /// The mock's answer to a user text.
    pub fn answer(&self, text: &str) -> String {
        format!("{} says: {text}", self.label)
    }

    /// The upstream got a chat call on the right path, streamed or not, with the credential.
    pub fn assert_chat_call(&self, got: &Recorded, stream: bool) {
        let path = if stream { self.paths.1 } else { self.paths.0 };
        assert_eq!(got.path, path);
        assert_eq!(self.wire.is_stream(got), stream, "stream flag of {got:?}");
        if let Some(query) = self.query {
            assert_eq!(got.query, query, "query of {got:?}");
        }
        if let Some(credential) = self.credential {
            assert_eq!(self.wire.credential(got), Some(credential));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The rows.

/// OpenAI's chat completions; supports every operation.
pub fn openai() -> Provider {
    Provider {
        name: "openai",
        config_name: "openai",
        model: "openai/gpt-4o-mini",
        start: || Box::pin(openai_compatible("openai")),
        unsupported: None,
        ..openai_compatible_row()
    }
}

/// An OpenAI-compatible vendor without embeddings.
pub fn groq() -> Provider {
    Provider {
        name: "groq",
        config_name: "groq",
        model: "groq/llama-3.3-70b-versatile",
        start: || Box::pin(openai_compatible("groq")),
        unsupported: Some(Op::Embeddings),
        ..openai_compatible_row()
    }
}

fn openai_compatible_row() -> Provider {
    Provider {
        name: "",
        config_name: "",
        model: "",
        wire: Wire::OpenAi,
        start: || Box::pin(openai_compatible("openai")),
        label: "openai-mock",
        credential: Some(KEY),
        paths: ("/v1/chat/completions", "/v1/chat/completions"),
        query: None,
        stream_text: "Hello world",
        usage: (9, 3),
        tool_call_id: Some("call_mock_1"),
        length_marker: openai::MAX_TOKENS_MARKER,
        image: true,
        unsupported: None,
    }
}

async fn openai_compatible(name: &str) -> Upstream {
    let mock = Mock::openai("openai-mock").await;
    let cfg =
        config(json!({ name: provider(&mock.url, json!([key("k", "env.CONFORMANCE_KEY")])) }));
    let gateway = Gateway::launch(&cfg, &[("CONFORMANCE_KEY", KEY)]).await;
    Upstream {
        mock: Mockup::Http(mock),
        gateway,
    }
}

/// Anthropic's Messages API; no embeddings.
pub fn anthropic() -> Provider {
    Provider {
        name: "anthropic",
        config_name: "anthropic",
        model: "anthropic/claude-3-5-haiku-20241022",
        wire: Wire::Anthropic,
        start: || {
            Box::pin(async {
                let mock = Mock::anthropic("anthropic-mock").await;
                let cfg = config(
                    json!({"anthropic": provider(&mock.url, json!([key("a", "env.CONFORMANCE_KEY")]))}),
                );
                let gateway = Gateway::launch(&cfg, &[("CONFORMANCE_KEY", KEY)]).await;
                Upstream {
                    mock: Mockup::Http(mock),
                    gateway,
                }
            })
        },
        label: "anthropic-mock",
        credential: Some(KEY),
        paths: ("/v1/messages", "/v1/messages"),
        query: None,
        stream_text: "Hello from claude",
        usage: (25, 15),
        tool_call_id: Some("toolu_mock_1"),
        length_marker: openai::MAX_TOKENS_MARKER,
        image: true,
        unsupported: Some(Op::Embeddings),
    }
}

/// Gemini's Generative Language API; no text completions.
pub fn gemini() -> Provider {
    Provider {
        name: "gemini",
        config_name: "gemini",
        model: "gemini/gemini-2.0-flash",
        wire: Wire::Gemini,
        start: || {
            Box::pin(async {
                let mock = Mock::gemini("gemini-mock").await;
                let gateway = crate::gemini::gateway(&mock).await;
                Upstream {
                    mock: Mockup::Http(mock),
                    gateway,
                }
            })
        },
        label: "gemini-mock",
        credential: Some(crate::gemini::KEY),
        paths: (
            "/v1beta/models/gemini-2.0-flash:generateContent",
            "/v1beta/models/gemini-2.0-flash:streamGenerateContent",
        ),
        query: None,
        stream_text: "Hello from gemini!",
        // Gemini's candidates exclude the 3 thought tokens that OpenAI's completion counts.
        usage: (25, 18),
        tool_call_id: None,
        length_marker: "[max_tokens]",
        image: true,
        unsupported: Some(Op::TextCompletion),
    }
}

fn start_vertex() -> BoxFuture<'static, Upstream> {
    Box::pin(async {
        let mock = Mock::gemini("vertex-mock").await;
        let gateway = crate::vertex::gateway(&mock).await;
        Upstream {
            mock: Mockup::Http(mock),
            gateway,
        }
    })
}

/// Gemini on Vertex AI, behind the mock's OAuth token endpoint; no text completions.
pub fn vertex() -> Provider {
    Provider {
        name: "vertex",
        config_name: "vertex",
        model: "vertex/gemini-2.0-flash",
        start: start_vertex,
        label: "vertex-mock",
        credential: None,
        paths: (
            "/v1/projects/e2e-project/locations/us-central1/publishers/google/models/gemini-2.0-flash:generateContent",
            "/v1/projects/e2e-project/locations/us-central1/publishers/google/models/gemini-2.0-flash:streamGenerateContent",
        ),
        ..gemini()
    }
}

/// Claude on Vertex AI (`rawPredict`, Anthropic's format), through a deployment alias.
pub fn vertex_claude() -> Provider {
    Provider {
        name: "vertex_claude",
        config_name: "vertex",
        model: "vertex/sonnet",
        start: start_vertex,
        label: "vertex-mock",
        credential: None,
        paths: (
            "/v1/projects/e2e-project/locations/us-central1/publishers/anthropic/models/claude-sonnet-4@20250514:rawPredict",
            "/v1/projects/e2e-project/locations/us-central1/publishers/anthropic/models/claude-sonnet-4@20250514:streamRawPredict",
        ),
        unsupported: Some(Op::TextCompletion),
        ..anthropic()
    }
}

/// AWS Bedrock's Converse API, SigV4-verified, streams as binary EventStream frames; no
/// streamed text completions.
pub fn bedrock() -> Provider {
    Provider {
        name: "bedrock",
        config_name: "bedrock",
        model: "bedrock/anthropic.claude-3-5-haiku-20241022-v1:0",
        wire: Wire::Bedrock,
        start: || {
            Box::pin(async {
                let mock = crate::bedrock::mock().await;
                let gateway = crate::bedrock::gateway(&mock).await;
                Upstream {
                    mock: Mockup::Bedrock(mock),
                    gateway,
                }
            })
        },
        label: "bedrock-mock",
        credential: None,
        paths: (
            "/model/anthropic.claude-3-5-haiku-20241022-v1%3A0/converse",
            "/model/anthropic.claude-3-5-haiku-20241022-v1%3A0/converse-stream",
        ),
        query: None,
        stream_text: "Hello from bedrock",
        // Bedrock's inputTokens leave out the 5 cache reads that OpenAI's prompt counts.
        usage: (30, 15),
        tool_call_id: Some("tooluse_mock_1"),
        length_marker: "[stop:max_tokens]",
        image: true,
        unsupported: Some(Op::TextCompletionStream),
    }
}

/// The Entra ID token every call of the azure row carries.
const ENTRA_TOKEN: &str = "entra-token-1";
/// The client secret the azure row's token endpoint accepts.
const ENTRA_SECRET: &str = "entra-conformance-secret-0123456789";

/// Azure OpenAI: OpenAI's format at a deployment (`gpt-4o` → `conf-gpt4o`) with an
/// `api-version`, authenticated by an Entra ID token from the mock token endpoint; supports
/// every operation.
pub fn azure() -> Provider {
    Provider {
        name: "azure",
        config_name: "azure",
        model: "azure/gpt-4o",
        start: || {
            Box::pin(async {
                let mock = Mock::openai("azure-mock").await;
                // Tokens outlive the test, so every call carries the first one.
                let entra = Entra::start(ENTRA_SECRET, 3600).await;
                let cfg = config(json!({"azure": {
                    "keys": [{"name": "sp", "value": "", "models": ["*"], "weight": 1.0,
                              "azure_key_config": {
                                  "endpoint": mock.url,
                                  "deployments": {"gpt-4o": "conf-gpt4o"},
                                  "api_version": "2024-12-01-preview",
                                  "client_id": "conformance-app",
                                  "client_secret": "env.CONFORMANCE_AZ_SECRET",
                                  "tenant_id": "conformance-tenant"}}],
                    "network_config": {"max_retries": 0}
                }}));
                let gateway = Gateway::launch(
                    &cfg,
                    &[
                        ("AZURE_AUTHORITY_HOST", &entra.url),
                        ("CONFORMANCE_AZ_SECRET", ENTRA_SECRET),
                    ],
                )
                .await;
                Upstream {
                    mock: Mockup::Azure { mock, entra },
                    gateway,
                }
            })
        },
        label: "azure-mock",
        credential: Some(ENTRA_TOKEN),
        paths: (
            "/openai/deployments/conf-gpt4o/chat/completions",
            "/openai/deployments/conf-gpt4o/chat/completions",
        ),
        query: Some("api-version=2024-12-01-preview"),
        unsupported: None,
        ..openai_compatible_row()
    }
}

/// Cohere's v2 chat API (OpenAI-like messages, its own SSE events and error JSON); no text
/// completions.
pub fn cohere() -> Provider {
    Provider {
        name: "cohere",
        config_name: "cohere",
        model: "cohere/command-a-03-2025",
        wire: Wire::Cohere,
        start: || {
            Box::pin(async {
                let mock = Mock::cohere("cohere-mock").await;
                let cfg = config(
                    json!({"cohere": provider(&mock.url, json!([key("c", "env.CONFORMANCE_KEY")]))}),
                );
                let gateway = Gateway::launch(&cfg, &[("CONFORMANCE_KEY", KEY)]).await;
                Upstream {
                    mock: Mockup::Http(mock),
                    gateway,
                }
            })
        },
        label: "cohere-mock",
        credential: Some(KEY),
        paths: ("/v2/chat", "/v2/chat"),
        query: None,
        stream_text: "Bonjour from cohere",
        // Billed units: Cohere's `tokens` count its prompt template too.
        usage: (11, 7),
        tool_call_id: Some("get_weather_mock_1"),
        length_marker: openai::MAX_TOKENS_MARKER,
        image: true,
        unsupported: Some(Op::TextCompletion),
    }
}

// ---------------------------------------------------------------------------------------------
// A started row.

/// A provider's mock.
pub enum Mockup {
    /// The OpenAI, Anthropic and Google mocks.
    Http(Mock),
    /// The SigV4-verifying Bedrock mock.
    Bedrock(BedrockMock),
    /// The OpenAI mock at Azure's paths, and the Entra ID token endpoint in front of it.
    Azure { mock: Mock, entra: Entra },
}

/// A provider's mock and the gateway in front of it.
pub struct Upstream {
    pub mock: Mockup,
    pub gateway: Gateway,
}

impl Upstream {
    /// Inference calls the mock received (not token fetches nor model lists).
    fn inference_calls(&self) -> Vec<Recorded> {
        match &self.mock {
            Mockup::Http(m) => m
                .requests()
                .into_iter()
                .filter(|r| r.method == "POST" && r.path != "/token")
                .collect(),
            Mockup::Bedrock(m) => m.runtime_requests(),
            Mockup::Azure { mock, entra } => {
                assert_eq!(entra.grants().len(), 1, "one token for every call");
                mock.requests()
                    .into_iter()
                    .filter(|r| r.method == "POST")
                    .collect()
            }
        }
    }

    /// The last inference call.
    pub fn last(&self) -> Recorded {
        self.inference_calls()
            .pop()
            .expect("the upstream received no inference call")
    }

    /// How many inference calls arrived.
    pub fn calls(&self) -> usize {
        self.inference_calls().len()
    }

    /// The next inference call fails with `status` and the wire format's error body.
    pub fn fail_next(&self, wire: Wire, status: u16, message: &str) {
        match &self.mock {
            Mockup::Http(m) | Mockup::Azure { mock: m, .. } => {
                m.fail_next(1, status, wire.error_body(status, message))
            }
            Mockup::Bedrock(m) => {
                let exception = match status {
                    400 => "ValidationException",
                    429 => "ThrottlingException",
                    _ => "InternalServerException",
                };
                m.fail_next(1, status, exception, message);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Reading what an upstream received.

/// A wire format, as far as the matrix reads requests in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wire {
    OpenAi,
    Anthropic,
    Gemini,
    Bedrock,
    /// Cohere's v2 chat: OpenAI's message, tool and image shapes, its own error body.
    Cohere,
}

fn texts(blocks: &Value, field: &str) -> String {
    blocks
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|b| b[field].as_str())
        .collect::<Vec<_>>()
        .join("")
}

/// Every block of every message (OpenAI parts, Anthropic and Bedrock blocks, Gemini parts).
fn blocks<'a>(messages: &'a Value, content: &'a str) -> impl Iterator<Item = &'a Value> {
    messages
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(move |m| m[content].as_array())
        .flatten()
}

impl Wire {
    /// The error body the provider answers a failure with.
    pub fn error_body(self, status: u16, message: &str) -> Value {
        match (self, status) {
            (Wire::OpenAi, 400) => openai::error(message, "invalid_request_error", "bad_request"),
            (Wire::OpenAi, 429) => openai::error(message, "requests", "rate_limit_exceeded"),
            (Wire::OpenAi, _) => openai::error(message, "server_error", "internal_error"),
            (Wire::Anthropic, 400) => anthropic::error("invalid_request_error", message),
            (Wire::Anthropic, 429) => anthropic::error("rate_limit_error", message),
            (Wire::Anthropic, _) => anthropic::error("api_error", message),
            (Wire::Gemini, 400) => gemini::error(400, "INVALID_ARGUMENT", message),
            (Wire::Gemini, 429) => gemini::error(429, "RESOURCE_EXHAUSTED", message),
            (Wire::Gemini, _) => gemini::error(status, "INTERNAL", message),
            // The exception's name travels in a header (see `Upstream::fail_next`).
            (Wire::Bedrock, _) => json!({ "message": message }),
            (Wire::Cohere, _) => cohere::error(message),
        }
    }

    /// The credential of the wire format's auth header.
    fn credential(self, got: &Recorded) -> Option<&str> {
        match self {
            Wire::OpenAi | Wire::Cohere => got.bearer(),
            Wire::Anthropic => got.header("x-api-key"),
            Wire::Gemini => got.header("x-goog-api-key"),
            Wire::Bedrock => None,
        }
    }

    fn is_stream(self, got: &Recorded) -> bool {
        match self {
            Wire::OpenAi | Wire::Cohere => got.body["stream"] == true,
            Wire::Anthropic => {
                got.body["stream"] == true || got.path.ends_with(":streamRawPredict")
            }
            Wire::Gemini => got.path.ends_with(":streamGenerateContent") && got.query == "alt=sse",
            Wire::Bedrock => got.path.ends_with("/converse-stream"),
        }
    }

    /// The system prompt.
    pub fn system(self, body: &Value) -> Option<String> {
        match self {
            Wire::OpenAi | Wire::Cohere => body["messages"]
                .as_array()?
                .iter()
                .find(|m| m["role"] == "system" || m["role"] == "developer")
                .map(|m| match &m["content"] {
                    Value::String(s) => s.clone(),
                    parts => texts(parts, "text"),
                }),
            Wire::Anthropic => match &body["system"] {
                Value::String(s) => Some(s.clone()),
                Value::Array(_) => Some(texts(&body["system"], "text")),
                _ => None,
            },
            Wire::Gemini => body
                .get("systemInstruction")
                .map(|s| texts(&s["parts"], "text")),
            Wire::Bedrock => body.get("system").map(|s| texts(s, "text")),
        }
    }

    /// The text of the last user turn.
    pub fn user_text(self, body: &Value) -> String {
        match self {
            Wire::OpenAi | Wire::Anthropic => last_user_text(&body["messages"]),
            Wire::Cohere => cohere::last_user_text(&body["messages"]),
            Wire::Gemini => gemini::last_user_text(body),
            Wire::Bedrock => bedrock::last_user_text(body),
        }
    }

    /// The output token limit.
    pub fn max_tokens(self, body: &Value) -> Option<u64> {
        match self {
            Wire::OpenAi => body["max_completion_tokens"]
                .as_u64()
                .or(body["max_tokens"].as_u64()),
            Wire::Anthropic | Wire::Cohere => body["max_tokens"].as_u64(),
            Wire::Gemini => body["generationConfig"]["maxOutputTokens"].as_u64(),
            Wire::Bedrock => body["inferenceConfig"]["maxTokens"].as_u64(),
        }
    }

    /// The first image: (media type, base64 data).
    pub fn image(self, body: &Value) -> Option<(String, String)> {
        match self {
            Wire::OpenAi | Wire::Cohere => {
                let url = blocks(&body["messages"], "content")
                    .find_map(|p| p["image_url"]["url"].as_str())?;
                let (mime, data) = url.strip_prefix("data:")?.split_once(";base64,")?;
                Some((mime.to_owned(), data.to_owned()))
            }
            Wire::Anthropic => {
                let source =
                    &blocks(&body["messages"], "content").find(|b| b["type"] == "image")?["source"];
                (source["type"] == "base64").then(|| {
                    (
                        source["media_type"].as_str().unwrap_or_default().to_owned(),
                        source["data"].as_str().unwrap_or_default().to_owned(),
                    )
                })
            }
            Wire::Gemini => {
                let inline =
                    blocks(&body["contents"], "parts").find_map(|p| p.get("inlineData"))?;
                Some((
                    inline["mimeType"].as_str()?.to_owned(),
                    inline["data"].as_str()?.to_owned(),
                ))
            }
            Wire::Bedrock => {
                let image = blocks(&body["messages"], "content").find_map(|b| b.get("image"))?;
                Some((
                    format!("image/{}", image["format"].as_str()?),
                    image["source"]["bytes"].as_str()?.to_owned(),
                ))
            }
        }
    }

    /// The names of the declared tools.
    pub fn tools(self, body: &Value) -> Vec<String> {
        let (list, name): (Vec<&Value>, &[&str]) = match self {
            Wire::OpenAi | Wire::Cohere => (
                body["tools"].as_array().into_iter().flatten().collect(),
                &["function", "name"],
            ),
            Wire::Anthropic => (
                body["tools"].as_array().into_iter().flatten().collect(),
                &["name"],
            ),
            Wire::Gemini => (
                blocks(&body["tools"], "functionDeclarations").collect(),
                &["name"],
            ),
            Wire::Bedrock => (
                body["toolConfig"]["tools"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .collect(),
                &["toolSpec", "name"],
            ),
        };
        list.iter()
            .filter_map(|t| name.iter().fold(*t, |v, f| &v[*f]).as_str())
            .map(str::to_owned)
            .collect()
    }

    /// Whether tool results are matched to calls by an id (else by the function's name).
    pub fn has_call_ids(self) -> bool {
        self != Wire::Gemini
    }

    /// The model's earlier tool call and the client's result for it, as sent back.
    pub fn tool_exchange(self, body: &Value) -> Option<(ToolCall, ToolResult)> {
        let text = |v: &Value| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        match self {
            Wire::OpenAi | Wire::Cohere => {
                let messages = body["messages"].as_array()?;
                let call = messages
                    .iter()
                    .find_map(|m| m["tool_calls"].as_array())?
                    .first()?;
                let result = messages.iter().find(|m| m["role"] == "tool")?;
                Some((
                    ToolCall {
                        id: call["id"].as_str()?.to_owned(),
                        name: call["function"]["name"].as_str()?.to_owned(),
                        args: serde_json::from_str(call["function"]["arguments"].as_str()?).ok()?,
                    },
                    ToolResult {
                        key: result["tool_call_id"].as_str()?.to_owned(),
                        content: text(&result["content"]),
                    },
                ))
            }
            Wire::Anthropic => {
                let call =
                    blocks(&body["messages"], "content").find(|b| b["type"] == "tool_use")?;
                let result =
                    blocks(&body["messages"], "content").find(|b| b["type"] == "tool_result")?;
                Some((
                    ToolCall {
                        id: call["id"].as_str()?.to_owned(),
                        name: call["name"].as_str()?.to_owned(),
                        args: call["input"].clone(),
                    },
                    ToolResult {
                        key: result["tool_use_id"].as_str()?.to_owned(),
                        content: text(&result["content"]),
                    },
                ))
            }
            Wire::Gemini => {
                let call =
                    blocks(&body["contents"], "parts").find_map(|p| p.get("functionCall"))?;
                let result =
                    blocks(&body["contents"], "parts").find_map(|p| p.get("functionResponse"))?;
                Some((
                    ToolCall {
                        id: call["id"].as_str().unwrap_or_default().to_owned(),
                        name: call["name"].as_str()?.to_owned(),
                        args: call["args"].clone(),
                    },
                    ToolResult {
                        key: result["name"].as_str()?.to_owned(),
                        content: text(&result["response"]),
                    },
                ))
            }
            Wire::Bedrock => {
                let call = blocks(&body["messages"], "content").find_map(|b| b.get("toolUse"))?;
                let result =
                    blocks(&body["messages"], "content").find_map(|b| b.get("toolResult"))?;
                Some((
                    ToolCall {
                        id: call["toolUseId"].as_str()?.to_owned(),
                        name: call["name"].as_str()?.to_owned(),
                        args: call["input"].clone(),
                    },
                    ToolResult {
                        key: result["toolUseId"].as_str()?.to_owned(),
                        content: text(&result["content"]),
                    },
                ))
            }
        }
    }
}
