//! Embeddings through InvokeModel (`POST /model/{modelId}/invoke`), whose body is the model
//! family's own: Amazon Titan takes one text per call, Cohere a batch.

use base64::Engine;
use serde::Deserialize;
use serde_json::{json, Value};

use super::post;
use crate::error::{Error, Result};
use crate::providers::client::Client;
use crate::providers::{http, Call};
use crate::schemas::openai::{Embedding, EmbeddingRequest, EmbeddingResponse, Usage};

/// The input-token count InvokeModel reports in a header (Cohere bodies carry none).
const INPUT_TOKENS_HEADER: &str = "x-amzn-bedrock-input-token-count";

/// The embedding body shapes, by model family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    /// `amazon.titan-embed-*`: `{"inputText"}` → `{"embedding", "inputTextTokenCount"}`.
    Titan,
    /// `cohere.embed-*`: `{"texts", "input_type"}` → `{"embeddings": [[...]]}`.
    Cohere,
}

fn family(model: &str) -> Result<Family> {
    if model.contains("titan-embed") {
        Ok(Family::Titan)
    } else if model.contains("cohere.embed") {
        Ok(Family::Cohere)
    } else {
        Err(Error::BadRequest(format!(
            "embedding model {model:?} is not supported on Bedrock; use an amazon.titan-embed or cohere.embed model"
        )))
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TitanResponse {
    embedding: Vec<f64>,
    #[serde(default)]
    input_text_token_count: u64,
}

#[derive(Deserialize)]
struct CohereResponse {
    embeddings: Vec<Vec<f64>>,
}

/// Embeds every input, in order.
pub async fn embed(
    http: &Client,
    call: &Call<'_>,
    req: &EmbeddingRequest,
) -> Result<EmbeddingResponse> {
    let inputs = texts(&req.input)?;
    let (vectors, tokens) = match family(call.model)? {
        Family::Titan => {
            // Titan embeds one text per call; the calls run side by side.
            let calls = inputs.iter().map(|text| async move {
                let mut body = json!({ "inputText": text });
                if let Some(d) = req.dimensions {
                    body["dimensions"] = json!(d);
                }
                let resp = post(http, call, "invoke", &body, "application/json").await?;
                http::read_json::<TitanResponse>(call, resp).await
            });
            let answers = futures_util::future::try_join_all(calls).await?;
            let tokens = answers.iter().map(|a| a.input_text_token_count).sum();
            (answers.into_iter().map(|a| a.embedding).collect(), tokens)
        }
        Family::Cohere => {
            let input_type = req
                .extra
                .get("input_type")
                .and_then(Value::as_str)
                .unwrap_or("search_document");
            let mut body = json!({ "texts": inputs, "input_type": input_type });
            if let Some(truncate) = req.extra.get("truncate") {
                body["truncate"] = truncate.clone();
            }
            let resp = post(http, call, "invoke", &body, "application/json").await?;
            let tokens = resp
                .headers()
                .get(INPUT_TOKENS_HEADER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            let answer: CohereResponse = http::read_json(call, resp).await?;
            if answer.embeddings.len() != inputs.len() {
                return Err(Error::BadUpstreamResponse {
                    provider: call.provider.to_owned(),
                    message: format!(
                        "{} embeddings for {} inputs",
                        answer.embeddings.len(),
                        inputs.len()
                    ),
                });
            }
            (answer.embeddings, tokens)
        }
    };
    let base64 = req.encoding_format.as_deref() == Some("base64");
    let data = vectors
        .into_iter()
        .enumerate()
        .map(|(i, v)| Embedding {
            object: "embedding".into(),
            embedding: if base64 {
                Value::String(as_base64(&v))
            } else {
                json!(v)
            },
            index: u32::try_from(i).unwrap_or(u32::MAX),
        })
        .collect();
    Ok(EmbeddingResponse {
        object: "list".into(),
        data,
        model: call.model.to_owned(),
        usage: Some(Usage {
            prompt_tokens: tokens,
            total_tokens: tokens,
            ..Usage::default()
        }),
        ..EmbeddingResponse::default()
    })
}

/// The texts of `input`: a string or an array of strings (token arrays need OpenAI's
/// tokenizer, which Bedrock models do not share).
fn texts(input: &Value) -> Result<Vec<String>> {
    let bad =
        || Error::BadRequest("input must be a string or an array of strings for Bedrock".into());
    match input {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(items) if !items.is_empty() => items
            .iter()
            .map(|v| v.as_str().map(str::to_owned).ok_or_else(bad))
            .collect(),
        _ => Err(bad()),
    }
}

/// OpenAI's base64 encoding: little-endian float32s.
fn as_base64(v: &[f64]) -> String {
    let mut bytes = Vec::with_capacity(v.len() * 4);
    for x in v {
        // Narrowing is the format: OpenAI's base64 embeddings are float32.
        #[allow(clippy::cast_possible_truncation)]
        bytes.extend_from_slice(&(*x as f32).to_le_bytes());
    }
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_follow_the_model_id() {
        assert_eq!(
            family("amazon.titan-embed-text-v2:0").unwrap(),
            Family::Titan
        );
        assert_eq!(family("cohere.embed-english-v3").unwrap(), Family::Cohere);
        assert!(matches!(
            family("anthropic.claude-3-haiku"),
            Err(Error::BadRequest(_))
        ));
    }

    #[test]
    fn inputs_are_strings_only() {
        assert_eq!(texts(&json!("a")).unwrap(), vec!["a"]);
        assert_eq!(texts(&json!(["a", "b"])).unwrap(), vec!["a", "b"]);
        assert!(texts(&json!([1, 2])).is_err());
        assert!(texts(&json!([])).is_err());
    }

    #[test]
    fn base64_is_little_endian_f32() {
        assert_eq!(as_base64(&[1.0]), "AACAPw==");
    }
}
