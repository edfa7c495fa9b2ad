//! The built-in providers as rows of one table: a vendor differs by its row, not by code.

use crate::schemas::RequestType;

/// The wire format a provider speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WireFormat {
    /// OpenAI's chat/completions/embeddings/models API.
    OpenAi,
    /// Anthropic's Messages API.
    Anthropic,
    /// Google's Generative Language API (Gemini).
    Gemini,
    /// Google Cloud Vertex AI: Gemini models in the Gemini format, Claude models in Anthropic's,
    /// with OAuth access tokens from the key's service account.
    Vertex,
    /// AWS Bedrock's Converse and InvokeModel APIs, SigV4-signed.
    Bedrock,
    /// Cohere's v2 API (chat, embed, rerank).
    Cohere,
    /// Azure OpenAI: OpenAI's API under per-key deployments, `api-version` and Azure auth.
    Azure,
}

impl WireFormat {
    /// Parses a `base_provider_type` of a custom provider.
    pub fn from_base_type(name: &str) -> Option<Self> {
        match name {
            "openai" => Some(WireFormat::OpenAi),
            "anthropic" => Some(WireFormat::Anthropic),
            "gemini" => Some(WireFormat::Gemini),
            "bedrock" => Some(WireFormat::Bedrock),
            "cohere" => Some(WireFormat::Cohere),
            _ => None,
        }
    }
}

/// How a provider uses keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyPolicy {
    /// Every request needs a key value.
    Required,
    /// A key entry may have an empty value (vLLM; Vertex, whose keys authenticate with
    /// `vertex_key_config`).
    Optional,
    /// No key is ever sent (Ollama, SGLang).
    None,
}

/// One built-in provider.
#[derive(Debug, Clone, Copy)]
pub struct Vendor {
    /// The name used in `provider/model` and in `config.json`.
    pub name: &'static str,
    /// Wire format.
    pub wire: WireFormat,
    /// Base URL used when `network_config.base_url` is not set; `None` makes it required.
    pub default_base_url: Option<&'static str>,
    /// Prepended to the wire format's paths (`/v1` for most).
    pub path_prefix: &'static str,
    /// Key policy.
    pub keys: KeyPolicy,
    /// Serves `/v1/completions` natively.
    pub text_completion: bool,
    /// Serves embeddings.
    pub embeddings: bool,
    /// Lists its models upstream.
    pub list_models: bool,
}

const fn row(
    name: &'static str,
    default_base_url: Option<&'static str>,
    path_prefix: &'static str,
    keys: KeyPolicy,
    text_completion: bool,
    embeddings: bool,
) -> Vendor {
    Vendor {
        name,
        wire: WireFormat::OpenAi,
        default_base_url,
        path_prefix,
        keys,
        text_completion,
        embeddings,
        list_models: true,
    }
}

use KeyPolicy::{None as Keyless, Optional, Required};

/// Every built-in provider (Bifrost §4.1, §4.2). Capabilities follow Bifrost's matrix.
pub const VENDORS: &[Vendor] = &[
    row(
        "openai",
        Some("https://api.openai.com"),
        "/v1",
        Required,
        true,
        true,
    ),
    Vendor {
        name: "anthropic",
        wire: WireFormat::Anthropic,
        default_base_url: Some("https://api.anthropic.com"),
        path_prefix: "/v1",
        keys: Required,
        text_completion: true,
        embeddings: false,
        list_models: true,
    },
    Vendor {
        name: "gemini",
        wire: WireFormat::Gemini,
        default_base_url: Some("https://generativelanguage.googleapis.com"),
        path_prefix: "/v1beta",
        keys: Required,
        text_completion: false,
        embeddings: true,
        list_models: true,
    },
    Vendor {
        name: "vertex",
        wire: WireFormat::Vertex,
        // `{region}` is replaced by the key's region (`global` has a host of its own).
        default_base_url: Some(crate::providers::vertex::REGIONAL_BASE_URL),
        path_prefix: "/v1",
        keys: Optional,
        text_completion: false,
        embeddings: true,
        // Listed from the keys' deployments and models, without an upstream call.
        list_models: true,
    },
    Vendor {
        name: "bedrock",
        wire: WireFormat::Bedrock,
        // `{region}` is filled in per key (bedrock_key_config.region).
        default_base_url: Some(crate::providers::bedrock::DEFAULT_BASE_URL),
        path_prefix: "",
        // A key may be empty: credentials then come from bedrock_key_config or the AWS chain.
        keys: Optional,
        text_completion: true,
        embeddings: true,
        // Model listing is served by Bedrock's control plane, not bedrock-runtime.
        list_models: false,
    },
    row(
        "groq",
        Some("https://api.groq.com/openai"),
        "/v1",
        Required,
        false,
        false,
    ),
    row(
        "mistral",
        Some("https://api.mistral.ai"),
        "/v1",
        Required,
        false,
        true,
    ),
    row(
        "cerebras",
        Some("https://api.cerebras.ai"),
        "/v1",
        Required,
        true,
        false,
    ),
    row(
        "xai",
        Some("https://api.x.ai"),
        "/v1",
        Required,
        true,
        false,
    ),
    Vendor {
        list_models: false,
        ..row(
            "perplexity",
            Some("https://api.perplexity.ai"),
            "",
            Required,
            false,
            false,
        )
    },
    row(
        "openrouter",
        Some("https://openrouter.ai/api"),
        "/v1",
        Required,
        true,
        false,
    ),
    row(
        "nebius",
        Some("https://api.tokenfactory.nebius.com"),
        "/v1",
        Required,
        true,
        true,
    ),
    row(
        "parasail",
        Some("https://api.parasail.io"),
        "/v1",
        Required,
        false,
        false,
    ),
    row(
        "fireworks",
        Some("https://api.fireworks.ai/inference"),
        "/v1",
        Required,
        true,
        true,
    ),
    row(
        "deepseek",
        Some("https://api.deepseek.com"),
        "/v1",
        Required,
        false,
        false,
    ),
    row(
        "huggingface",
        Some("https://router.huggingface.co"),
        "/v1",
        Required,
        false,
        false,
    ),
    row("ollama", None, "/v1", Keyless, true, true),
    row(
        "vllm",
        Some("http://localhost:8000"),
        "/v1",
        Optional,
        true,
        true,
    ),
    row("sgl", None, "/v1", Keyless, true, true),
    Vendor {
        name: "cohere",
        wire: WireFormat::Cohere,
        // Paths carry their own version (`/v2/chat`, `/v1/models`).
        default_base_url: Some("https://api.cohere.com"),
        path_prefix: "",
        keys: Required,
        text_completion: false,
        embeddings: true,
        list_models: true,
    },
    Vendor {
        name: "azure",
        wire: WireFormat::Azure,
        // Each key names its resource's endpoint (`azure_key_config.endpoint`).
        default_base_url: None,
        path_prefix: "",
        // Keys authenticated with Entra ID need no value.
        keys: Optional,
        text_completion: true,
        embeddings: true,
        list_models: false,
    },
];

/// The row of a built-in provider.
pub fn builtin(name: &str) -> Option<&'static Vendor> {
    VENDORS.iter().find(|v| v.name == name)
}

/// Whether a provider of this row serves the request type natively.
pub fn supports(vendor: &Vendor, request_type: RequestType) -> bool {
    match request_type {
        RequestType::ChatCompletion | RequestType::ChatCompletionStream => true,
        // Anthropic's legacy text API and Bedrock have no text stream (Bifrost §4.2).
        RequestType::TextCompletionStream => {
            vendor.text_completion
                && !matches!(vendor.wire, WireFormat::Anthropic | WireFormat::Bedrock)
        }
        RequestType::TextCompletion => vendor.text_completion,
        RequestType::Embedding => vendor.embeddings,
        RequestType::ListModels => vendor.list_models,
        RequestType::Rerank => reranks(vendor),
        // Raw forwarding needs nothing of the wire format but its base URL and auth; Vertex's
        // OAuth tokens and Bedrock's SigV4 signatures are not added to forwarded requests.
        RequestType::Passthrough | RequestType::PassthroughStream => {
            !matches!(vendor.wire, WireFormat::Vertex | WireFormat::Bedrock)
        }
    }
}

/// Whether a provider of this row serves `/v1/rerank`: Cohere's wire format, and vLLM's
/// `/v1/rerank` among the OpenAI-compatible servers (Bifrost's matrix).
fn reranks(vendor: &Vendor) -> bool {
    vendor.wire == WireFormat::Cohere || vendor.name == "vllm"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_capabilities_match_bifrost() {
        for (i, v) in VENDORS.iter().enumerate() {
            assert!(
                VENDORS[i + 1..].iter().all(|o| o.name != v.name),
                "{}",
                v.name
            );
        }
        let groq = builtin("groq").unwrap();
        assert!(!supports(groq, RequestType::TextCompletion));
        assert!(supports(builtin("openai").unwrap(), RequestType::Embedding));
        assert!(!supports(
            builtin("anthropic").unwrap(),
            RequestType::Embedding
        ));
        assert!(builtin("ollama").unwrap().default_base_url.is_none());
        assert!(supports(builtin("cohere").unwrap(), RequestType::Rerank));
        assert!(supports(builtin("vllm").unwrap(), RequestType::Rerank));
        assert!(!supports(builtin("openai").unwrap(), RequestType::Rerank));
        assert!(!supports(
            builtin("cohere").unwrap(),
            RequestType::TextCompletion
        ));
        let gemini = builtin("gemini").unwrap();
        assert!(!supports(gemini, RequestType::TextCompletion));
        assert!(!supports(gemini, RequestType::TextCompletionStream));
        assert!(supports(gemini, RequestType::Embedding));
        assert_eq!(
            WireFormat::from_base_type("gemini"),
            Some(WireFormat::Gemini)
        );
        assert!(!supports(
            builtin("vertex").unwrap(),
            RequestType::TextCompletion
        ));
        let bedrock = builtin("bedrock").unwrap();
        assert!(supports(bedrock, RequestType::Embedding));
        assert!(supports(bedrock, RequestType::TextCompletion));
        assert!(!supports(bedrock, RequestType::TextCompletionStream));
        assert!(supports(gemini, RequestType::Passthrough));
        assert!(!supports(bedrock, RequestType::Passthrough));
    }
}
