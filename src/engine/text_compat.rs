//! Text completions served through chat for chat-only models (`client.enable_litellm_fallbacks`,
//! Bifrost's litellm compatibility): the prompt becomes one user message and the answer's text
//! becomes the completion.

use serde_json::Value;

use crate::error::{Error, Result};
use crate::schemas::openai::{
    ChatChunk, ChatMessage, ChatRequest, ChatResponse, MessageContent, TextChoice, TextRequest,
    TextResponse,
};

/// The chat request that answers a text request.
pub fn to_chat(req: &TextRequest) -> Result<ChatRequest> {
    let prompt = match &req.prompt {
        Value::String(s) => s.clone(),
        Value::Array(items) if items.len() == 1 && items[0].is_string() => {
            items[0].as_str().unwrap_or_default().to_owned()
        }
        _ => {
            return Err(Error::BadRequest(
                "prompt must be a single string when a text completion is served through chat"
                    .into(),
            ))
        }
    };
    Ok(ChatRequest {
        model: req.model.clone(),
        messages: vec![ChatMessage {
            role: "user".into(),
            content: Some(MessageContent::Text(prompt)),
            ..ChatMessage::default()
        }],
        max_tokens: req.max_tokens,
        temperature: req.temperature,
        top_p: req.top_p,
        n: req.n,
        stop: req.stop.clone(),
        presence_penalty: req.presence_penalty,
        frequency_penalty: req.frequency_penalty,
        seed: req.seed,
        logit_bias: req.logit_bias.clone(),
        user: req.user.clone(),
        extra: req.extra.clone(),
        ..ChatRequest::default()
    })
}

/// The text response for a chat response.
pub fn from_chat(resp: ChatResponse) -> TextResponse {
    TextResponse {
        id: resp.id,
        object: "text_completion".into(),
        created: resp.created,
        model: resp.model,
        choices: resp
            .choices
            .into_iter()
            .map(|c| TextChoice {
                text: c
                    .message
                    .content
                    .map(|m| m.joined_text())
                    .unwrap_or_default(),
                index: c.index,
                logprobs: None,
                finish_reason: c.finish_reason,
            })
            .collect(),
        usage: resp.usage,
        system_fingerprint: resp.system_fingerprint,
        extra_fields: None,
    }
}

/// The text chunk for a chat chunk.
pub fn chunk_from_chat(chunk: ChatChunk) -> TextResponse {
    TextResponse {
        id: chunk.id,
        object: "text_completion".into(),
        created: chunk.created,
        model: chunk.model,
        choices: chunk
            .choices
            .into_iter()
            .map(|c| TextChoice {
                text: c.delta.content.unwrap_or_default(),
                index: c.index,
                logprobs: None,
                finish_reason: c.finish_reason,
            })
            .collect(),
        usage: chunk.usage,
        system_fingerprint: chunk.system_fingerprint,
        extra_fields: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompt_becomes_a_user_message_and_text_comes_back() {
        let req: TextRequest = serde_json::from_str(
            r#"{"model":"groq/llama","prompt":"Say hi","max_tokens":5,"temperature":0.1}"#,
        )
        .unwrap();
        let chat = to_chat(&req).unwrap();
        assert_eq!(
            chat.messages[0].content,
            Some(MessageContent::Text("Say hi".into()))
        );
        assert_eq!(chat.max_tokens, Some(5));
        let resp: ChatResponse = serde_json::from_str(
            r#"{"id":"c1","object":"chat.completion","created":1,"model":"llama","choices":[
               {"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],
               "usage":{"prompt_tokens":2,"completion_tokens":1,"total_tokens":3}}"#,
        )
        .unwrap();
        let text = from_chat(resp);
        assert_eq!(text.choices[0].text, "hi");
        assert_eq!(text.usage.unwrap().total_tokens, 3);
        let bad: TextRequest = serde_json::from_str(r#"{"model":"m","prompt":["a","b"]}"#).unwrap();
        assert!(to_chat(&bad).is_err());
    }
}
