//! Canonical (OpenAI-shaped) requests to `generateContent` and embedding requests.

use super::*;

/// Translates a canonical chat request into a `generateContent` body (the model is in the URL).
pub fn to_generate_request(req: &ChatRequest) -> Result<wire::GenerateContentRequest> {
    let mut conv = Conversation::default();
    for (i, msg) in req.messages.iter().enumerate() {
        conv.push_message(i, msg, &req.messages[..i])?;
    }
    let tools = match &req.tools {
        Some(tools) if !tools.is_empty() => Some(vec![wire::Tool {
            function_declarations: Some(
                tools
                    .iter()
                    .map(to_function_declaration)
                    .collect::<Result<_>>()?,
            ),
            extra: JsonObject::new(),
        }]),
        _ => None,
    };
    let tool_config = match &req.tool_choice {
        None | Some(Value::Null) => None,
        Some(choice) => Some(wire::ToolConfig {
            function_calling_config: Some(to_function_calling_config(choice)?),
        }),
    };
    let system_instruction = (!conv.system.is_empty()).then(|| wire::Content {
        role: None,
        parts: std::mem::take(&mut conv.system),
    });
    Ok(wire::GenerateContentRequest {
        contents: conv.turns,
        system_instruction,
        tools,
        tool_config,
        generation_config: generation_config(req)?,
        ..wire::GenerateContentRequest::default()
    })
}

/// The conversation being built: system parts apart, turns merged by role.
#[derive(Default)]
struct Conversation {
    system: Vec<wire::Part>,
    turns: Vec<wire::Content>,
}

impl Conversation {
    /// `earlier` are the messages before this one, where a tool message finds its call's name.
    fn push_message(&mut self, i: usize, msg: &ChatMessage, earlier: &[ChatMessage]) -> Result<()> {
        match msg.role.as_str() {
            "system" | "developer" => {
                let text = msg
                    .content
                    .as_ref()
                    .map(MessageContent::joined_text)
                    .unwrap_or_default();
                if !text.is_empty() {
                    self.system.push(text_part(text));
                }
            }
            "user" => {
                let parts = match &msg.content {
                    Some(c) => content_parts(c, i)?,
                    None => Vec::new(),
                };
                self.push(USER, parts);
            }
            "assistant" => {
                let mut parts = match &msg.content {
                    Some(c) => content_parts(c, i)?,
                    None => Vec::new(),
                };
                for call in msg.tool_calls.iter().flatten() {
                    parts.push(wire::Part {
                        function_call: Some(wire::FunctionCall {
                            // Ids are the gateway's own (Gemini matches calls by name and order).
                            id: None,
                            name: call.function.name.clone(),
                            args: Some(crate::providers::tool_call_arguments(call)?),
                        }),
                        ..wire::Part::default()
                    });
                }
                self.push(MODEL, parts);
            }
            "tool" => {
                let Some(id) = msg.tool_call_id.as_deref() else {
                    return Err(Error::BadRequest(format!(
                        "messages[{i}]: a tool message needs a tool_call_id"
                    )));
                };
                let name = msg
                    .name
                    .clone()
                    .or_else(|| call_name(earlier, id))
                    .ok_or_else(|| {
                        Error::BadRequest(format!(
                            "messages[{i}]: tool_call_id {id:?} matches no earlier assistant tool call"
                        ))
                    })?;
                let text = msg
                    .content
                    .as_ref()
                    .map(MessageContent::joined_text)
                    .unwrap_or_default();
                // Gemini wants an object: a JSON object result is sent as is, anything else
                // wrapped in `{"content": ...}`.
                let response = match serde_json::from_str::<Value>(&text) {
                    Ok(v @ Value::Object(_)) => v,
                    _ => serde_json::json!({ "content": text }),
                };
                // All results of one model turn go back in one user turn, as Gemini requires.
                self.push(
                    USER,
                    vec![wire::Part {
                        function_response: Some(wire::FunctionResponse {
                            id: None,
                            name,
                            response,
                        }),
                        ..wire::Part::default()
                    }],
                );
            }
            other => {
                return Err(Error::BadRequest(format!(
                    "messages[{i}]: role {other:?} is not supported by Gemini"
                )))
            }
        }
        Ok(())
    }

    /// Appends parts to the last turn when it has the same role: Gemini expects turns to
    /// alternate.
    fn push(&mut self, role: &str, parts: Vec<wire::Part>) {
        if parts.is_empty() {
            return;
        }
        match self.turns.last_mut() {
            Some(last) if last.role.as_deref() == Some(role) => last.parts.extend(parts),
            _ => self.turns.push(wire::Content {
                role: Some(role.to_owned()),
                parts,
            }),
        }
    }
}

const USER: &str = "user";
const MODEL: &str = "model";

/// The function name of the earlier assistant tool call with this id.
fn call_name(earlier: &[ChatMessage], id: &str) -> Option<String> {
    earlier
        .iter()
        .rev()
        .flat_map(|m| m.tool_calls.iter().flatten())
        .find(|c| c.id == id)
        .map(|c| c.function.name.clone())
}

pub(super) fn text_part(text: String) -> wire::Part {
    wire::Part {
        text: Some(text),
        ..wire::Part::default()
    }
}

/// Content to parts. Empty text is dropped: Gemini rejects empty text parts, and OpenAI clients
/// send `""` next to tool calls.
fn content_parts(content: &MessageContent, i: usize) -> Result<Vec<wire::Part>> {
    match content {
        MessageContent::Text(t) if t.is_empty() => Ok(Vec::new()),
        MessageContent::Text(t) => Ok(vec![text_part(t.clone())]),
        MessageContent::Parts(parts) => {
            let mut out = Vec::with_capacity(parts.len());
            for part in parts {
                if let Some(p) = to_part(part, i)? {
                    out.push(p);
                }
            }
            Ok(out)
        }
    }
}

fn to_part(part: &ContentPart, i: usize) -> Result<Option<wire::Part>> {
    let extra_str = |outer: &str, inner: &str| {
        part.extra
            .get(outer)
            .and_then(|o| o.get(inner))
            .and_then(Value::as_str)
    };
    match part.kind.as_str() {
        "text" | "refusal" => {
            let text = part.text_or_refusal();
            Ok((!text.is_empty()).then(|| text_part(text.to_owned())))
        }
        "image_url" => {
            let image = part.required_image(i)?;
            media_part(&image.url, i).map(Some)
        }
        "input_audio" => {
            let (Some(data), Some(format)) = (
                extra_str("input_audio", "data"),
                extra_str("input_audio", "format"),
            ) else {
                return Err(Error::BadRequest(format!(
                    "messages[{i}]: an input_audio part needs input_audio.data and input_audio.format"
                )));
            };
            Ok(Some(wire::Part {
                inline_data: Some(wire::Blob {
                    mime_type: format!("audio/{format}"),
                    data: data.to_owned(),
                }),
                ..wire::Part::default()
            }))
        }
        "file" => match (extra_str("file", "file_data"), extra_str("file", "file_id")) {
            (Some(data), _) => media_part(data, i).map(Some),
            // An uploaded file's URI (`https://generativelanguage.googleapis.com/.../files/x`,
            // `gs://...` on Vertex).
            (None, Some(id)) => Ok(Some(wire::Part {
                file_data: Some(wire::FileData {
                    mime_type: None,
                    file_uri: id.to_owned(),
                }),
                ..wire::Part::default()
            })),
            (None, None) => Err(Error::BadRequest(format!(
                "messages[{i}]: a file part needs file.file_data or file.file_id"
            ))),
        },
        other => Err(Error::BadRequest(format!(
            "messages[{i}]: content part type {other:?} is not supported by Gemini"
        ))),
    }
}

/// A `data:<mime>;base64,<data>` URL becomes `inlineData`; any other URL `fileData`, which
/// Gemini fetches itself (its MIME type guessed from the extension when it has a known one).
fn media_part(url: &str, i: usize) -> Result<wire::Part> {
    if let Some(rest) = url.strip_prefix("data:") {
        let bad = || Error::BadRequest(format!("messages[{i}]: data URLs must be base64 encoded"));
        let (header, data) = rest.split_once(',').ok_or_else(bad)?;
        let mut params = header.split(';');
        let mime_type = params.next().unwrap_or_default();
        if !params.any(|p| p.eq_ignore_ascii_case("base64")) || mime_type.is_empty() {
            return Err(bad());
        }
        return Ok(wire::Part {
            inline_data: Some(wire::Blob {
                mime_type: mime_type.to_owned(),
                data: data.to_owned(),
            }),
            ..wire::Part::default()
        });
    }
    if !(url.starts_with("https://") || url.starts_with("http://") || url.starts_with("gs://")) {
        return Err(Error::BadRequest(format!(
            "messages[{i}]: media URLs must be http(s), gs:// or data: URLs"
        )));
    }
    Ok(wire::Part {
        file_data: Some(wire::FileData {
            mime_type: mime_from_extension(url).map(str::to_owned),
            file_uri: url.to_owned(),
        }),
        ..wire::Part::default()
    })
}

fn mime_from_extension(url: &str) -> Option<&'static str> {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    let ext = path.rsplit_once('.')?.1.to_ascii_lowercase();
    Some(match ext.as_str() {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "webp" => "image/webp",
        "gif" => "image/gif",
        "heic" => "image/heic",
        "pdf" => "application/pdf",
        "mp3" => "audio/mp3",
        "wav" => "audio/wav",
        "mp4" => "video/mp4",
        _ => return None,
    })
}

/// An OpenAI function tool as a function declaration. The schema goes in
/// `parametersJsonSchema`, which takes JSON Schema as OpenAI clients write it
/// (`additionalProperties`, `$defs`, ...); `parameters` only takes Gemini's OpenAPI subset.
fn to_function_declaration(tool: &Tool) -> Result<wire::FunctionDeclaration> {
    if tool.kind != "function" {
        return Err(Error::BadRequest(format!(
            "tool type {:?} is not supported by Gemini",
            tool.kind
        )));
    }
    let f = &tool.function;
    Ok(wire::FunctionDeclaration {
        name: f.name.clone(),
        description: f.description.clone(),
        parameters: None,
        parameters_json_schema: f.parameters.clone(),
        extra: JsonObject::new(),
    })
}

/// `tool_choice` as `functionCallingConfig`: auto → AUTO, none → NONE, required → ANY, a named
/// function → ANY restricted to it.
fn to_function_calling_config(choice: &Value) -> Result<wire::FunctionCallingConfig> {
    let named = choice
        .get("function")
        .and_then(|f| f.get("name"))
        .and_then(Value::as_str);
    let mode = match choice {
        Value::String(s) => Some(s.as_str()),
        Value::Object(o) => o.get("type").and_then(Value::as_str),
        _ => None,
    };
    let config = |mode: &str, names: Option<Vec<String>>| wire::FunctionCallingConfig {
        mode: Some(mode.to_owned()),
        allowed_function_names: names,
    };
    match (named, mode) {
        (Some(name), _) => Ok(config("ANY", Some(vec![name.to_owned()]))),
        (None, Some("auto")) => Ok(config("AUTO", None)),
        (None, Some("required" | "any")) => Ok(config("ANY", None)),
        (None, Some("none")) => Ok(config("NONE", None)),
        _ => Err(Error::BadRequest(format!(
            "tool_choice {choice} is not supported by Gemini"
        ))),
    }
}

/// Sampling, limits, output format and thinking as `generationConfig`; `None` when the
/// request sets none of them.
fn generation_config(req: &ChatRequest) -> Result<Option<wire::GenerationConfig>> {
    let (response_mime_type, response_json_schema) = response_format(req.response_format.as_ref())?;
    let config = wire::GenerationConfig {
        temperature: req.temperature,
        top_p: req.top_p,
        top_k: None,
        candidate_count: req.n,
        max_output_tokens: req.max_completion_tokens.or(req.max_tokens),
        stop_sequences: stop_sequences(req.stop.as_ref())?,
        presence_penalty: req.presence_penalty,
        frequency_penalty: req.frequency_penalty,
        seed: req.seed,
        response_mime_type,
        response_schema: None,
        response_json_schema,
        thinking_config: thinking_config(req.reasoning_effort.as_deref())?,
        extra: JsonObject::new(),
    };
    Ok((config != wire::GenerationConfig::default()).then_some(config))
}

/// `response_format` as a MIME type and a schema: JSON mode is `application/json`, a JSON schema
/// goes in `responseJsonSchema` (plain JSON Schema, as OpenAI clients write it).
fn response_format(format: Option<&Value>) -> Result<(Option<String>, Option<Value>)> {
    let Some(format) = format else {
        return Ok((None, None));
    };
    match format.get("type").and_then(Value::as_str) {
        None | Some("text") => Ok((None, None)),
        Some("json_object") => Ok((Some(JSON_MIME.to_owned()), None)),
        Some("json_schema") => {
            let schema = format
                .get("json_schema")
                .and_then(|s| s.get("schema"))
                .cloned();
            Ok((Some(JSON_MIME.to_owned()), schema))
        }
        Some(other) => Err(Error::BadRequest(format!(
            "response_format type {other:?} is not supported by Gemini"
        ))),
    }
}

const JSON_MIME: &str = "application/json";

fn stop_sequences(stop: Option<&Value>) -> Result<Option<Vec<String>>> {
    let bad = || Error::BadRequest("stop must be a string or an array of strings".into());
    let seqs = match stop {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().map(str::to_owned).ok_or_else(bad))
            .collect::<Result<Vec<_>>>()?,
        Some(_) => return Err(bad()),
    };
    Ok((!seqs.is_empty()).then_some(seqs))
}

/// OpenAI's reasoning effort as a thinking budget; thoughts are then returned, as
/// `reasoning_content`. `none` turns thinking off.
fn thinking_config(effort: Option<&str>) -> Result<Option<wire::ThinkingConfig>> {
    let budget = match effort {
        None => return Ok(None),
        Some("none") => {
            return Ok(Some(wire::ThinkingConfig {
                thinking_budget: Some(0),
                ..wire::ThinkingConfig::default()
            }))
        }
        Some("minimal" | "low") => 1024,
        Some("medium") => 8192,
        Some("high") => 24576,
        Some(other) => {
            return Err(Error::BadRequest(format!(
                "reasoning_effort {other:?} is not supported; use low, medium or high"
            )))
        }
    };
    Ok(Some(wire::ThinkingConfig {
        thinking_budget: Some(budget),
        include_thoughts: Some(true),
        thinking_level: None,
    }))
}

/// An embeddings request as `embedContent` entries, one per input text.
pub fn to_embed_entries(
    model: &str,
    req: &EmbeddingRequest,
) -> Result<Vec<wire::EmbedContentRequest>> {
    let texts: Vec<&str> = match &req.input {
        Value::String(s) => vec![s.as_str()],
        Value::Array(items) => items
            .iter()
            .map(|v| {
                v.as_str().ok_or_else(|| {
                    Error::BadRequest(
                        "Gemini embeds text only: input must be a string or an array of strings"
                            .into(),
                    )
                })
            })
            .collect::<Result<_>>()?,
        _ => {
            return Err(Error::BadRequest(
                "input must be a string or an array of strings".into(),
            ))
        }
    };
    if texts.is_empty() {
        return Err(Error::BadRequest("input must not be empty".into()));
    }
    Ok(texts
        .into_iter()
        .map(|text| wire::EmbedContentRequest {
            model: Some(format!("models/{model}")),
            content: wire::Content {
                role: None,
                parts: vec![text_part(text.to_owned())],
            },
            task_type: None,
            title: None,
            output_dimensionality: req.dimensions,
        })
        .collect())
}
