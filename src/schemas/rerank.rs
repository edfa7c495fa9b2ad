//! Bifrost's rerank shapes (`POST /v1/rerank`): a query and documents in, the documents'
//! indexes ordered by relevance out.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use super::openai::{JsonObject, Usage};
use super::ExtraFields;

/// `POST /v1/rerank` body.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RerankRequest {
    /// `provider/model` as the client sent it. Not serialized: the upstream model is set per call.
    #[serde(skip_serializing)]
    pub model: String,
    /// What the documents are ranked against.
    #[serde(default)]
    pub query: String,
    /// The documents: strings or `{text, id, meta}` objects.
    #[serde(default)]
    pub documents: Vec<RerankDocument>,
    /// Bifrost fallbacks.
    #[serde(default, skip_serializing)]
    pub fallbacks: Vec<String>,
    /// How many results to return (all when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_n: Option<u32>,
    /// Longer documents are truncated to this many tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens_per_doc: Option<u32>,
    /// Request priority (Cohere).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<i64>,
    /// Put each result's document into the answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_documents: Option<bool>,
    /// Unknown fields; forwarded only on request.
    #[serde(flatten, skip_serializing)]
    pub extra: JsonObject,
}

/// A document to rank: a plain string, or an object with an id and metadata.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RerankDocument {
    /// The text ranked.
    pub text: String,
    /// The caller's id for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The caller's metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<JsonObject>,
}

impl<'de> Deserialize<'de> for RerankDocument {
    /// Accepts `"text"` as well as `{"text": ..., "id": ..., "meta": ...}`, as Bifrost does.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Object {
            text: String,
            #[serde(default)]
            id: Option<String>,
            #[serde(default)]
            meta: Option<JsonObject>,
        }
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Either {
            Text(String),
            Object(Object),
        }
        Ok(match Either::deserialize(d)? {
            Either::Text(text) => Self {
                text,
                id: None,
                meta: None,
            },
            Either::Object(o) => Self {
                text: o.text,
                id: o.id,
                meta: o.meta,
            },
        })
    }
}

/// The rerank answer.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RerankResponse {
    /// Id.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub id: String,
    /// Results, most relevant first.
    pub results: Vec<RerankResult>,
    /// The model that ranked.
    #[serde(default)]
    pub model: String,
    /// Usage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    /// Bifrost's metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra_fields: Option<ExtraFields>,
}

/// One ranked document.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RerankResult {
    /// Index of the document in the request.
    pub index: usize,
    /// Relevance to the query; higher is more relevant.
    pub relevance_score: f64,
    /// The document, when `return_documents` asked for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document: Option<RerankDocument>,
}

impl RerankResponse {
    /// Orders results by relevance (ties by index) and fills in the documents from the request
    /// when the client asked for them, as Bifrost does whatever the provider returned.
    pub fn finish(&mut self, req: &RerankRequest) {
        self.results.sort_by(|a, b| {
            b.relevance_score
                .total_cmp(&a.relevance_score)
                .then(a.index.cmp(&b.index))
        });
        let wanted = req.return_documents == Some(true);
        for r in &mut self.results {
            r.document = if wanted {
                req.documents.get(r.index).cloned()
            } else {
                None
            };
        }
    }
}

/// The text of a JSON value that is a rerank document in a provider's answer
/// (`"text"` or `{"text": ...}`).
pub fn document_text(v: &Value) -> Option<&str> {
    v.as_str().or_else(|| v["text"].as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_are_strings_or_objects_and_results_are_ordered() {
        let req: RerankRequest = serde_json::from_str(
            r#"{"model":"cohere/rerank-v3.5","query":"q","documents":["a",{"text":"b","id":"d2","meta":{"k":1}}],
                "top_n":2,"return_documents":true,"fallbacks":["vllm/r"]}"#,
        )
        .unwrap();
        assert_eq!(req.documents[0].text, "a");
        assert_eq!(req.documents[1].id.as_deref(), Some("d2"));
        assert_eq!(req.fallbacks, vec!["vllm/r"]);
        let mut resp = RerankResponse {
            results: vec![
                RerankResult {
                    index: 0,
                    relevance_score: 0.1,
                    document: None,
                },
                RerankResult {
                    index: 1,
                    relevance_score: 0.9,
                    document: None,
                },
            ],
            ..RerankResponse::default()
        };
        resp.finish(&req);
        assert_eq!(resp.results[0].index, 1);
        assert_eq!(resp.results[0].document.as_ref().unwrap().text, "b");
        let json = serde_json::to_value(&resp).unwrap();
        assert_eq!(
            json["results"][1]["document"],
            serde_json::json!({"text": "a"})
        );
    }
}
