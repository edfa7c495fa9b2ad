//! Canonical chat responses to Responses API `response` objects.

use serde_json::Value;

use super::new_id;
use crate::ingress::unix_now;
use crate::schemas::openai::{ChatResponse, Usage};
use crate::schemas::responses::{
    IncompleteDetails, InputTokensDetails, OutputContent, OutputItem, OutputTokensDetails,
    ReasoningConfig, Response, ResponseUsage, ResponsesRequest, TextConfig, ToolDefinition,
};

/// The request settings a `response` object echoes back, taken before the request is
/// translated.
#[derive(Debug, Clone, Default)]
pub struct Echo {
    instructions: Option<String>,
    max_output_tokens: Option<u32>,
    parallel_tool_calls: bool,
    reasoning: Option<ReasoningConfig>,
    temperature: Option<f64>,
    text: TextConfig,
    tool_choice: Value,
    tools: Vec<ToolDefinition>,
    top_p: Option<f64>,
    user: Option<String>,
    metadata: Value,
}

impl Echo {
    /// What `req` asked for, with OpenAI's defaults for what it left out.
    pub fn from_request(req: &ResponsesRequest) -> Echo {
        Echo {
            instructions: req.instructions.clone(),
            max_output_tokens: req.max_output_tokens,
            parallel_tool_calls: req.parallel_tool_calls.unwrap_or(true),
            reasoning: req.reasoning.clone(),
            temperature: req.temperature,
            text: req.text.clone().unwrap_or_else(|| TextConfig {
                format: Some(crate::schemas::responses::TextFormat {
                    kind: "text".into(),
                    ..Default::default()
                }),
                verbosity: None,
            }),
            tool_choice: req.tool_choice.clone().unwrap_or_else(|| "auto".into()),
            tools: req.tools.clone().unwrap_or_default(),
            top_p: req.top_p,
            user: req.user.clone(),
            metadata: req
                .metadata
                .clone()
                .unwrap_or_else(|| Value::Object(Default::default())),
        }
    }

    /// A `response` with these settings, no output yet.
    pub(super) fn response(&self, id: String, created_at: u64, model: String) -> Response {
        Response {
            id,
            object: "response",
            created_at,
            status: "in_progress",
            error: None,
            incomplete_details: None,
            instructions: self.instructions.clone(),
            max_output_tokens: self.max_output_tokens,
            model,
            output: Vec::new(),
            parallel_tool_calls: self.parallel_tool_calls,
            previous_response_id: None,
            reasoning: self.reasoning.clone(),
            store: false,
            temperature: self.temperature,
            text: self.text.clone(),
            tool_choice: self.tool_choice.clone(),
            tools: self.tools.clone(),
            top_p: self.top_p,
            truncation: "disabled",
            usage: None,
            user: self.user.clone(),
            metadata: self.metadata.clone(),
        }
    }
}

/// The final status for a chat finish reason: `incomplete` with a reason for a cut-off
/// answer, else `completed`.
pub(super) fn status(finish_reason: Option<&str>) -> (&'static str, Option<IncompleteDetails>) {
    match finish_reason {
        Some("length") => (
            "incomplete",
            Some(IncompleteDetails {
                reason: "max_output_tokens",
            }),
        ),
        Some("content_filter") => (
            "incomplete",
            Some(IncompleteDetails {
                reason: "content_filter",
            }),
        ),
        _ => ("completed", None),
    }
}

/// Translates a `chat.completion` into a `response`: a reasoning item, a message item and
/// one `function_call` item per tool call, in that order.
pub fn to_response(resp: ChatResponse, echo: &Echo) -> Response {
    let id = if resp.id.starts_with("resp_") {
        resp.id.clone()
    } else {
        new_id("resp")
    };
    let created = if resp.created == 0 {
        unix_now()
    } else {
        resp.created
    };
    let mut out = echo.response(id, created, resp.model);
    out.usage = resp.usage.as_ref().map(to_usage);
    let Some(choice) = resp.choices.into_iter().find(|c| c.index == 0) else {
        out.status = "completed";
        return out;
    };
    let (status, incomplete) = status(choice.finish_reason.as_deref());
    out.status = status;
    out.incomplete_details = incomplete;
    let msg = choice.message;
    if let Some(reasoning) = msg.reasoning_content.filter(|r| !r.is_empty()) {
        out.output.push(OutputItem::Reasoning {
            id: new_id("rs"),
            summary: Vec::new(),
            content: vec![OutputContent::ReasoningText { text: reasoning }],
        });
    }
    let text = msg.content.map(|c| c.joined_text()).unwrap_or_default();
    let calls = msg.tool_calls.unwrap_or_default();
    let mut content = Vec::new();
    if !text.is_empty() || (calls.is_empty() && msg.refusal.is_none()) {
        content.push(OutputContent::OutputText {
            text,
            annotations: Vec::new(),
            logprobs: Vec::new(),
        });
    }
    if let Some(refusal) = msg.refusal {
        content.push(OutputContent::Refusal { refusal });
    }
    if !content.is_empty() {
        out.output.push(OutputItem::Message {
            id: new_id("msg"),
            status: "completed",
            role: "assistant",
            content,
        });
    }
    for call in calls {
        out.output.push(OutputItem::FunctionCall {
            id: format!("fc_{}", call.id),
            call_id: call.id,
            name: call.function.name,
            arguments: call.function.arguments,
            status: "completed",
        });
    }
    out
}

/// Responses usage from chat usage.
pub(super) fn to_usage(u: &Usage) -> ResponseUsage {
    ResponseUsage {
        input_tokens: u.prompt_tokens,
        input_tokens_details: InputTokensDetails {
            cached_tokens: u.prompt_detail("cached_tokens"),
        },
        output_tokens: u.completion_tokens,
        output_tokens_details: OutputTokensDetails {
            reasoning_tokens: u.completion_detail("reasoning_tokens"),
        },
        total_tokens: u.total_tokens,
    }
}
