//! Canonical chat requests to Cohere's `/v2/chat` body.

use serde_json::Value;

use super::*;

/// Translates a chat request. System and developer messages stay in the conversation as
/// `system` messages (Cohere takes them there); an assistant's text next to tool calls becomes
/// its `tool_plan`; tool results become `tool` messages.
pub fn to_chat_request(model: &str, req: &ChatRequest) -> Result<wire::ChatRequest> {
    if req.n.is_some_and(|n| n > 1) {
        return Err(Error::BadRequest(
            "cohere returns one choice per request; n must be 1".into(),
        ));
    }
    let messages = req
        .messages
        .iter()
        .map(message)
        .collect::<Result<Vec<_>>>()?;
    let (tools, tool_choice) = tools(req)?;
    Ok(wire::ChatRequest {
        model: model.to_owned(),
        messages,
        tools,
        tool_choice,
        strict_tools: None,
        response_format: response_format(req.response_format.as_ref())?,
        stream: None,
        max_tokens: req.max_completion_tokens.or(req.max_tokens),
        temperature: req.temperature,
        p: req.top_p,
        k: None,
        stop_sequences: stop_sequences(req.stop.as_ref())?,
        seed: req.seed,
        frequency_penalty: req.frequency_penalty,
        presence_penalty: req.presence_penalty,
        logprobs: req.logprobs,
    })
}

fn message(m: &ChatMessage) -> Result<wire::Message> {
    let mut out = wire::Message::default();
    match m.role.as_str() {
        "system" | "developer" => {
            out.role = "system".into();
            out.content = m
                .content
                .as_ref()
                .map(|c| wire::Content::Text(c.joined_text()));
        }
        "user" => {
            out.role = "user".into();
            out.content = m.content.as_ref().map(content).transpose()?;
        }
        "assistant" => {
            out.role = "assistant".into();
            let text = m.content.as_ref().map(MessageContent::joined_text);
            match &m.tool_calls {
                Some(calls) if !calls.is_empty() => {
                    out.tool_calls = Some(calls.iter().map(tool_call).collect());
                    out.tool_plan = text.filter(|t| !t.is_empty());
                }
                _ => out.content = Some(wire::Content::Text(text.unwrap_or_default())),
            }
        }
        "tool" => {
            out.role = "tool".into();
            out.tool_call_id =
                Some(m.tool_call_id.clone().ok_or_else(|| {
                    Error::BadRequest("a tool message needs tool_call_id".into())
                })?);
            out.content = Some(wire::Content::Text(
                m.content
                    .as_ref()
                    .map(MessageContent::joined_text)
                    .unwrap_or_default(),
            ));
        }
        other => {
            return Err(Error::BadRequest(format!(
                "message role `{other}` is not supported by cohere"
            )))
        }
    }
    Ok(out)
}

/// User content: text stays text; parts become `text` and `image_url` blocks.
fn content(c: &MessageContent) -> Result<wire::Content> {
    let parts = match c {
        MessageContent::Text(t) => return Ok(wire::Content::Text(t.clone())),
        MessageContent::Parts(parts) => parts,
    };
    parts
        .iter()
        .map(|p: &ContentPart| match p.kind.as_str() {
            "text" => Ok(wire::Block {
                kind: "text".into(),
                text: Some(p.text.clone().unwrap_or_default()),
                ..wire::Block::default()
            }),
            "image_url" => {
                let image = p.image_url.as_ref().ok_or_else(|| {
                    Error::BadRequest("an image_url part needs image_url.url".into())
                })?;
                Ok(wire::Block {
                    kind: "image_url".into(),
                    image_url: Some(wire::ImageUrl {
                        url: image.url.clone(),
                        detail: image.detail.clone(),
                    }),
                    ..wire::Block::default()
                })
            }
            other => Err(Error::BadRequest(format!(
                "content part `{other}` is not supported by cohere"
            ))),
        })
        .collect::<Result<Vec<_>>>()
        .map(wire::Content::Blocks)
}

fn tool_call(c: &ToolCall) -> wire::ToolCall {
    wire::ToolCall {
        id: Some(c.id.clone()),
        kind: "function".into(),
        function: wire::FunctionCall {
            name: Some(c.function.name.clone()),
            arguments: Some(c.function.arguments.clone()),
        },
    }
}

/// Tools and tool choice. Cohere has no way to name the one tool to call, so a named choice
/// sends only that tool, required.
fn tools(req: &ChatRequest) -> Result<(Option<Vec<wire::Tool>>, Option<&'static str>)> {
    let named = req
        .tool_choice
        .as_ref()
        .and_then(|c| c["function"]["name"].as_str());
    let choice = match &req.tool_choice {
        None => None,
        Some(Value::String(s)) => match s.as_str() {
            "auto" => None,
            "required" => Some("REQUIRED"),
            "none" => Some("NONE"),
            other => {
                return Err(Error::BadRequest(format!(
                    "tool_choice `{other}` is not supported by cohere"
                )))
            }
        },
        Some(_) if named.is_some() => Some("REQUIRED"),
        Some(other) => {
            return Err(Error::BadRequest(format!(
                "tool_choice {other} is not supported by cohere"
            )))
        }
    };
    let tools = req.tools.as_ref().map(|tools| {
        tools
            .iter()
            .filter(|t| named.is_none_or(|n| t.function.name == n))
            .map(|t| wire::Tool {
                kind: "function",
                function: wire::Function {
                    name: t.function.name.clone(),
                    description: t.function.description.clone(),
                    parameters: t.function.parameters.clone(),
                },
            })
            .collect::<Vec<_>>()
    });
    if let (Some(name), Some(list)) = (named, &tools) {
        if list.is_empty() {
            return Err(Error::BadRequest(format!(
                "tool_choice names `{name}`, which is not in tools"
            )));
        }
    }
    Ok((tools.filter(|t| !t.is_empty()), choice))
}

/// `json_object` stays; `json_schema` becomes `json_object` with the schema; `text` is the
/// default and is not sent.
fn response_format(format: Option<&Value>) -> Result<Option<Value>> {
    let Some(f) = format else { return Ok(None) };
    match f["type"].as_str() {
        Some("text") => Ok(None),
        Some("json_object") => Ok(Some(serde_json::json!({"type": "json_object"}))),
        Some("json_schema") => {
            let schema = &f["json_schema"]["schema"];
            if schema.is_null() {
                return Err(Error::BadRequest(
                    "response_format.json_schema.schema is required".into(),
                ));
            }
            Ok(Some(
                serde_json::json!({"type": "json_object", "json_schema": schema}),
            ))
        }
        _ => Err(Error::BadRequest(format!(
            "response_format {f} is not supported by cohere"
        ))),
    }
}

fn stop_sequences(stop: Option<&Value>) -> Result<Option<Vec<String>>> {
    match stop {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(vec![s.clone()])),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| {
                i.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| Error::BadRequest("stop must hold strings".into()))
            })
            .collect::<Result<Vec<_>>>()
            .map(Some),
        Some(_) => Err(Error::BadRequest(
            "stop must be a string or an array of strings".into(),
        )),
    }
}
