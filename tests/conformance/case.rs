//! The matrix's vocabulary: what a case asks for ([`Ask`]), what the client saw ([`Reply`]),
//! and the cases themselves, each run once per (ingress, provider) pair.

use serde_json::{json, Value};

use super::ingress::Ingress;
use super::provider::{Provider, Upstream};

/// The one tool every tool case declares.
pub const TOOL: &str = "get_weather";
/// What the client's tool answers.
pub const TOOL_OUTPUT: &str = "sunny";
/// A 1×1 PNG's first bytes, base64: enough for every image format to carry.
pub const IMAGE_PNG: &str = "iVBORw0KGgo=";
/// The system prompt of the system case.
pub const SYSTEM: &str = "You are terse.";
/// The `max_tokens` every request carries, in the ingress's own field.
pub const MAX_TOKENS: u64 = 64;

/// A tool call as the client saw it and sends back.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolCall {
    pub id: String,
    pub name: String,
    pub args: Value,
}

/// A tool result as the provider received it: the key it is matched by (the call's id, or
/// the function's name for Gemini) and its content as text.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolResult {
    pub key: String,
    pub content: String,
}

/// One request, described once and written by each ingress in its own shape.
#[derive(Debug, Clone, Default)]
pub struct Ask {
    pub system: Option<&'static str>,
    pub text: String,
    /// A base64 PNG sent with the user text.
    pub image: Option<&'static str>,
    /// Declare [`TOOL`].
    pub tool: bool,
    /// An earlier call of the model, answered with [`TOOL_OUTPUT`] after the user text.
    pub answered: Option<ToolCall>,
}

impl Ask {
    pub fn text(text: &str) -> Ask {
        Ask {
            text: text.to_owned(),
            ..Ask::default()
        }
    }

    /// The tool's JSON schema, as OpenAI, Anthropic and the Responses API write it.
    pub fn tool_schema() -> Value {
        json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]})
    }
}

/// Why the model stopped, in every ingress's terms at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// Finished its answer (`stop`, `end_turn`, `STOP`, `completed`).
    End,
    /// Cut by the token limit (`length`, `max_tokens`, `MAX_TOKENS`, `incomplete`).
    Length,
    /// Asks for a tool (`tool_calls`, `tool_use`, a `functionCall`, a `function_call` item).
    Tool,
}

/// An answer as the client read it from the ingress's shape. Token counts are in OpenAI's
/// sense (prompt tokens include cached ones, completion tokens include reasoning), whatever
/// split the ingress reports them in.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub text: String,
    pub tool_calls: Vec<ToolCall>,
    pub stop: Stop,
    pub usage: Option<(u64, u64)>,
}

/// An operation the ingresses route to the engine besides chat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Embeddings,
    TextCompletion,
    TextCompletionStream,
}

/// The cases, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Case {
    Chat,
    Stream,
    StreamToolCall,
    ToolRoundTrip,
    SystemPrompt,
    Image,
    Usage,
    StopLength,
    Errors,
    Unsupported,
}

pub const CASES: [Case; 10] = [
    Case::Chat,
    Case::Stream,
    Case::StreamToolCall,
    Case::ToolRoundTrip,
    Case::SystemPrompt,
    Case::Image,
    Case::Usage,
    Case::StopLength,
    Case::Errors,
    Case::Unsupported,
];

impl Case {
    pub fn name(self) -> &'static str {
        match self {
            Case::Chat => "chat",
            Case::Stream => "stream",
            Case::StreamToolCall => "stream_tool_call",
            Case::ToolRoundTrip => "tool_round_trip",
            Case::SystemPrompt => "system_prompt",
            Case::Image => "image",
            Case::Usage => "usage",
            Case::StopLength => "stop_length",
            Case::Errors => "errors",
            Case::Unsupported => "unsupported_op",
        }
    }

    /// Runs the case; `Err` names why it does not apply to this pair.
    pub async fn run(
        self,
        ingress: Ingress,
        provider: &Provider,
        up: &Upstream,
    ) -> Result<(), &'static str> {
        let model = provider.model;
        match self {
            Case::Chat => {
                let ask = Ask::text(&format!("Hello via {}", ingress.name()));
                let reply = ingress.send(&up.gateway, model, &ask).await;
                assert_eq!(reply.text, provider.answer(&ask.text));
                assert_eq!(reply.stop, Stop::End);
                assert!(reply.tool_calls.is_empty(), "{reply:?}");
                let got = up.last();
                provider.assert_chat_call(&got, false);
                assert_eq!(provider.wire.user_text(&got.body), ask.text);
                assert_eq!(provider.wire.max_tokens(&got.body), Some(MAX_TOKENS));
            }
            Case::Stream => {
                let ask = Ask::text("Stream please");
                let reply = ingress.stream(&up.gateway, model, &ask).await;
                assert_eq!(reply.text, provider.stream_text);
                assert_eq!(reply.stop, Stop::End);
                if let Some(usage) = reply.usage {
                    assert_eq!(usage, provider.usage, "streamed usage");
                }
                let got = up.last();
                provider.assert_chat_call(&got, true);
                assert_eq!(provider.wire.user_text(&got.body), ask.text);
            }
            Case::StreamToolCall => {
                let ask = Ask {
                    tool: true,
                    ..Ask::text("Weather in Paris, streamed?")
                };
                let reply = ingress.stream(&up.gateway, model, &ask).await;
                assert_eq!(reply.stop, Stop::Tool, "{reply:?}");
                let [call] = &reply.tool_calls[..] else {
                    panic!("one tool call expected: {reply:?}");
                };
                assert_eq!(call.name, TOOL);
                assert_eq!(call.args, json!({"city": "Paris"}));
                assert!(!call.id.is_empty(), "{call:?}");
                let got = up.last();
                provider.assert_chat_call(&got, true);
                assert_eq!(provider.wire.tools(&got.body), vec![TOOL.to_owned()]);
            }
            Case::ToolRoundTrip => tool_round_trip(ingress, provider, up).await,
            Case::SystemPrompt => {
                let ask = Ask {
                    system: Some(SYSTEM),
                    ..Ask::text("Who are you?")
                };
                let reply = ingress.send(&up.gateway, model, &ask).await;
                assert_eq!(reply.text, provider.answer(&ask.text));
                let got = up.last();
                assert_eq!(provider.wire.system(&got.body).as_deref(), Some(SYSTEM));
                assert_eq!(provider.wire.user_text(&got.body), ask.text);
            }
            Case::Image => {
                if !provider.image {
                    return Err("provider takes no images");
                }
                let ask = Ask {
                    image: Some(IMAGE_PNG),
                    ..Ask::text("What is in this picture?")
                };
                let reply = ingress.send(&up.gateway, model, &ask).await;
                assert_eq!(reply.text, provider.answer(&ask.text));
                let got = up.last();
                assert_eq!(
                    provider.wire.image(&got.body),
                    Some(("image/png".to_owned(), IMAGE_PNG.to_owned())),
                    "image in {}",
                    got.body
                );
            }
            Case::Usage => {
                let reply = ingress
                    .send(&up.gateway, model, &Ask::text("Count my tokens"))
                    .await;
                assert_eq!(reply.usage, Some(provider.usage));
            }
            Case::StopLength => {
                let ask = Ask::text(&format!("Go on forever {}", provider.length_marker));
                let reply = ingress.send(&up.gateway, model, &ask).await;
                assert_eq!(reply.stop, Stop::Length, "{reply:?}");
                let streamed = ingress.stream(&up.gateway, model, &ask).await;
                assert_eq!(streamed.stop, Stop::Length, "streamed: {streamed:?}");
                assert_eq!(provider.wire.max_tokens(&up.last().body), Some(MAX_TOKENS));
            }
            Case::Errors => {
                for status in [400, 429, 500] {
                    let message = format!("mock refuses with {status}");
                    up.fail_next(provider.wire, status, &message);
                    let before = up.calls();
                    let seen = ingress
                        .fail(&up.gateway, model, &Ask::text("fail"), status, false)
                        .await;
                    assert!(seen.contains(&message), "{status}: {seen}");
                    assert_eq!(up.calls(), before + 1, "{status}: no retry, one call");
                }
                // A stream refused before its first byte answers with a status too.
                up.fail_next(provider.wire, 429, "mock refuses the stream");
                let seen = ingress
                    .fail(&up.gateway, model, &Ask::text("fail"), 429, true)
                    .await;
                assert!(seen.contains("mock refuses the stream"), "{seen}");
            }
            Case::Unsupported => {
                let op = provider.unsupported.ok_or("provider supports every op")?;
                let before = up.calls();
                ingress
                    .unsupported(&up.gateway, model, op, provider.config_name)
                    .await?;
                assert_eq!(up.calls(), before, "the provider must not be called");
            }
        }
        Ok(())
    }
}

/// The model asks for the tool in the provider's format, the client sees it in the ingress's
/// format and answers it, and the provider receives the call and its result in its format.
async fn tool_round_trip(ingress: Ingress, provider: &Provider, up: &Upstream) {
    let model = provider.model;
    let first = Ask {
        tool: true,
        ..Ask::text("Weather in Paris?")
    };
    let reply = ingress.send(&up.gateway, model, &first).await;
    assert_eq!(reply.stop, Stop::Tool, "{reply:?}");
    let [call] = &reply.tool_calls[..] else {
        panic!("one tool call expected: {reply:?}");
    };
    assert_eq!(call.name, TOOL);
    assert_eq!(call.args, json!({"city": "Paris"}));
    assert!(!call.id.is_empty(), "{call:?}");
    if let Some(id) = provider.tool_call_id {
        assert_eq!(call.id, id, "the provider's call id reaches the client");
    }
    assert_eq!(
        provider.wire.tools(&up.last().body),
        vec![TOOL.to_owned()],
        "declared tools"
    );

    let second = Ask {
        answered: Some(call.clone()),
        ..first
    };
    let reply = ingress.send(&up.gateway, model, &second).await;
    assert_eq!(reply.stop, Stop::End, "{reply:?}");
    assert!(reply.tool_calls.is_empty(), "{reply:?}");
    let got = up.last().body;
    let (asked, result) = provider
        .wire
        .tool_exchange(&got)
        .unwrap_or_else(|| panic!("no tool call and result in {got}"));
    assert_eq!(asked.name, TOOL, "{got}");
    assert_eq!(asked.args, json!({"city": "Paris"}), "{got}");
    assert!(result.content.contains(TOOL_OUTPUT), "{got}");
    if provider.wire.has_call_ids() {
        assert_eq!(asked.id, call.id, "{got}");
        assert_eq!(result.key, call.id, "{got}");
    } else {
        assert_eq!(result.key, TOOL, "Gemini matches results by name: {got}");
    }
}
