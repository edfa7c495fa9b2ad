//! Canonical embedding requests to Cohere's `/v2/embed` and its answers back.

use serde_json::Value;

use super::*;

/// Cohere's `input_type` when the client sets none: documents to be searched, as Bifrost
/// defaults.
const DEFAULT_INPUT_TYPE: &str = "search_document";

/// Translates an embedding request: texts, `input_type` (a passed field, else
/// `search_document`), one embedding type (`float`, or `base64` for `encoding_format:
/// base64`), `dimensions` as `output_dimension`.
pub fn to_embed_request<'a>(
    model: &'a str,
    req: &EmbeddingRequest,
) -> Result<wire::EmbedRequest<'a>> {
    let texts = match &req.input {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items
            .iter()
            .map(|i| {
                i.as_str().map(str::to_owned).ok_or_else(|| {
                    Error::BadRequest("cohere embeds text; input must be strings".into())
                })
            })
            .collect::<Result<Vec<_>>>()?,
        _ => {
            return Err(Error::BadRequest(
                "input must be a string or an array of strings".into(),
            ))
        }
    };
    let input_type = req
        .extra
        .get("input_type")
        .and_then(Value::as_str)
        .unwrap_or(DEFAULT_INPUT_TYPE)
        .to_owned();
    let kind = match req.encoding_format.as_deref() {
        Some("base64") => "base64",
        _ => "float",
    };
    Ok(wire::EmbedRequest {
        model,
        texts,
        input_type,
        embedding_types: vec![kind.to_owned()],
        output_dimension: req.dimensions,
        truncate: req
            .extra
            .get("truncate")
            .and_then(Value::as_str)
            .map(str::to_owned),
    })
}

/// Translates an embed answer: the list of the requested type, one entry per input.
pub fn to_embedding_response(
    provider: &str,
    answer: wire::EmbedResponse,
    kind: &str,
    model: &str,
) -> Result<EmbeddingResponse> {
    let list = match answer.embeddings.get(kind) {
        Some(Value::Array(list)) => list.clone(),
        _ => {
            return Err(Error::BadUpstreamResponse {
                provider: provider.to_owned(),
                message: format!("the answer has no `{kind}` embeddings"),
            })
        }
    };
    let data = list
        .into_iter()
        .enumerate()
        .map(|(i, embedding)| Embedding {
            object: "embedding".into(),
            embedding,
            index: u32::try_from(i).unwrap_or(u32::MAX),
        })
        .collect();
    let usage = answer
        .meta
        .and_then(|m| to_usage(m.billed_units.or(m.tokens), None));
    Ok(EmbeddingResponse {
        object: "list".into(),
        data,
        model: model.to_owned(),
        usage,
        extra_fields: None,
    })
}
