//! The one error type of the gateway, its HTTP status table and stable codes.
//!
//! Every failure that can reach a client is a variant here. `http::error` is the one place that
//! renders it (Bifrost's error JSON); nothing else decides a status code.

use std::fmt;

/// A `Result` whose error is the gateway's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An error as it reached the provider boundary, in the provider's own words.
#[derive(Debug, Clone, PartialEq)]
pub struct UpstreamError {
    /// Provider name as configured (`openai`, `vllm-local`, ...).
    pub provider: String,
    /// HTTP status the provider answered with.
    pub status: u16,
    /// The provider's human-readable message.
    pub message: String,
    /// The provider's error type (`invalid_request_error`, `rate_limit_error`, ...), if any.
    pub error_type: Option<String>,
    /// The provider's error code, if any.
    pub code: Option<String>,
    /// The offending parameter, if the provider named one.
    pub param: Option<String>,
}

/// Everything that can go wrong between a client's request and the gateway's answer.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request is malformed or misses a required field.
    #[error("{0}")]
    BadRequest(String),
    /// The request body is larger than `client.max_request_body_size_mb`.
    #[error("request body is larger than the limit of {limit_mb} MB")]
    PayloadTooLarge {
        /// The configured limit.
        limit_mb: u64,
    },
    /// No route matches the path.
    #[error("Route not found: {0}")]
    RouteNotFound(String),
    /// The route exists but not for this method.
    #[error("method {method} is not allowed on {path}")]
    MethodNotAllowed {
        /// The HTTP method used.
        method: String,
        /// The path requested.
        path: String,
    },
    /// A management call named something that does not exist.
    #[error("{0}")]
    NotFound(String),
    /// A management call would create something that already exists.
    #[error("{0}")]
    Conflict(String),
    /// The model string names no configured provider.
    #[error("provider {0} is not configured")]
    ProviderNotConfigured(String),
    /// The provider does not allow this request type.
    #[error("unsupported operation: {request_type} is not supported by {provider} provider")]
    UnsupportedOperation {
        /// Provider name.
        provider: String,
        /// Request type (`text_completion`, `embedding`, ...).
        request_type: &'static str,
    },
    /// No enabled key of the provider serves the model.
    #[error("no keys found that support model: {model}")]
    NoKeyForModel {
        /// Provider name.
        provider: String,
        /// Model requested.
        model: String,
    },
    /// `x-bf-api-key` / `x-bf-api-key-id` named a key the provider does not have.
    #[error("no key named {wanted} found for provider {provider}")]
    PinnedKeyNotFound {
        /// Provider name.
        provider: String,
        /// The key name or id asked for.
        wanted: String,
    },
    /// A key value refers to an environment variable that is not set.
    #[error("environment variable {var} referenced by a key of provider {provider} is not set")]
    MissingEnvVar {
        /// Provider name.
        provider: String,
        /// The variable's name.
        var: String,
    },
    /// The provider's queue is full and `drop_excess_requests` is on.
    #[error("request dropped: queue is full")]
    QueueFull {
        /// Provider name.
        provider: String,
    },
    /// The provider answered with an error status.
    #[error("{}", .0.message)]
    Upstream(Box<UpstreamError>),
    /// The provider did not answer within the configured timeout.
    #[error("request to {provider} timed out after {seconds} s")]
    Timeout {
        /// Provider name.
        provider: String,
        /// The timeout that elapsed.
        seconds: u64,
    },
    /// The connection to the provider failed.
    #[error("error making request to {provider}: {message}")]
    Network {
        /// Provider name.
        provider: String,
        /// What the HTTP client said, without secrets.
        message: String,
    },
    /// The provider answered 2xx with a body we could not read.
    #[error("could not decode the response of {provider}: {message}")]
    BadUpstreamResponse {
        /// Provider name.
        provider: String,
        /// What was wrong.
        message: String,
    },
    /// The client went away before the answer was complete.
    #[error("request cancelled by the client")]
    Cancelled,
    /// The configuration is invalid.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// The config or logs store failed.
    #[error("store error: {0}")]
    Store(String),
    /// A bug or an unexpected state inside the gateway.
    #[error("internal error: {0}")]
    Internal(String),
    /// Governance requires a virtual key and the request has none.
    #[error("virtual key is required: send it in the x-bf-vk header (or as Authorization: Bearer sk-bf-...)")]
    VirtualKeyRequired,
    /// The virtual key sent is not known.
    #[error("virtual key not found")]
    VirtualKeyNotFound,
    /// The virtual key is inactive.
    #[error("virtual key is blocked: {0}")]
    VirtualKeyBlocked(String),
    /// The virtual key does not allow this model.
    #[error("model '{model}' is not allowed for this virtual key")]
    ModelBlocked {
        /// The model asked for.
        model: String,
    },
    /// The virtual key does not allow this provider.
    #[error("provider '{provider}' is not allowed for this virtual key")]
    ProviderBlocked {
        /// The provider asked for.
        provider: String,
    },
    /// A budget would be exceeded.
    #[error("budget exceeded: {0}")]
    BudgetExceeded(String),
    /// A rate limit is reached.
    #[error("{message}")]
    RateLimited {
        /// `rate_limited`, `request_limited` or `token_limited`.
        kind: RateLimitKind,
        /// Seconds until the window resets (the `Retry-After` header).
        retry_after_secs: u64,
        /// What was reached.
        message: String,
    },
    /// Admin authentication failed.
    #[error("Unauthorized")]
    Unauthorized,
}

/// Which rate limit refused a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateLimitKind {
    /// Generic (also: too many login attempts).
    Rate,
    /// `request_max_limit`.
    Requests,
    /// `token_max_limit`.
    Tokens,
}

impl RateLimitKind {
    /// Bifrost's error type.
    pub fn as_str(self) -> &'static str {
        match self {
            RateLimitKind::Rate => "rate_limited",
            RateLimitKind::Requests => "request_limited",
            RateLimitKind::Tokens => "token_limited",
        }
    }
}

impl Error {
    /// The HTTP status this error is answered with.
    pub fn status(&self) -> u16 {
        match self {
            Error::BadRequest(_)
            | Error::ProviderNotConfigured(_)
            | Error::UnsupportedOperation { .. }
            | Error::NoKeyForModel { .. }
            | Error::PinnedKeyNotFound { .. } => 400,
            Error::PayloadTooLarge { .. } => 413,
            Error::RouteNotFound(_) | Error::NotFound(_) => 404,
            Error::MethodNotAllowed { .. } => 405,
            Error::Conflict(_) => 409,
            Error::Upstream(e) => e.status,
            Error::Timeout { .. } => 504,
            Error::Network { .. } | Error::BadUpstreamResponse { .. } => 502,
            Error::Cancelled => 499,
            Error::QueueFull { .. } => 503,
            Error::Config(_) => 400,
            Error::MissingEnvVar { .. } | Error::Store(_) | Error::Internal(_) => 500,
            Error::VirtualKeyRequired | Error::Unauthorized => 401,
            Error::VirtualKeyNotFound
            | Error::VirtualKeyBlocked(_)
            | Error::ModelBlocked { .. }
            | Error::ProviderBlocked { .. } => 403,
            Error::BudgetExceeded(_) => 402,
            Error::RateLimited { .. } => 429,
        }
    }

    /// The stable `error.type` string of Bifrost's error JSON.
    pub fn error_type(&self) -> &str {
        match self {
            Error::BadRequest(_) | Error::Config(_) => "invalid_request_error",
            Error::PayloadTooLarge { .. } => "request_too_large",
            Error::RouteNotFound(_) | Error::NotFound(_) => "not_found",
            Error::MethodNotAllowed { .. } => "method_not_allowed",
            Error::Conflict(_) => "conflict",
            Error::ProviderNotConfigured(_) => "provider_not_configured",
            Error::UnsupportedOperation { .. } => "unsupported_operation",
            Error::NoKeyForModel { .. } | Error::PinnedKeyNotFound { .. } => "no_key_available",
            Error::MissingEnvVar { .. } => "configuration_error",
            Error::QueueFull { .. } => "queue_full",
            Error::Upstream(e) => e.error_type.as_deref().unwrap_or("provider_error"),
            Error::Timeout { .. } => "request_timed_out",
            Error::Network { .. } => "provider_network_error",
            Error::BadUpstreamResponse { .. } => "provider_response_unmarshal",
            Error::Cancelled => "request_cancelled",
            Error::Store(_) => "store_error",
            Error::Internal(_) => "internal_error",
            Error::VirtualKeyRequired => "virtual_key_required",
            Error::VirtualKeyNotFound => "virtual_key_not_found",
            Error::VirtualKeyBlocked(_) => "virtual_key_blocked",
            Error::ModelBlocked { .. } => "model_blocked",
            Error::ProviderBlocked { .. } => "provider_blocked",
            Error::BudgetExceeded(_) => "budget_exceeded",
            Error::RateLimited { kind, .. } => kind.as_str(),
            Error::Unauthorized => "unauthorized",
        }
    }

    /// The `error.code` field, when there is one.
    pub fn code(&self) -> Option<&str> {
        match self {
            Error::Upstream(e) => e.code.as_deref(),
            _ => None,
        }
    }

    /// Bifrost's `is_bifrost_error`: true when the gateway itself failed rather than the
    /// request or the provider.
    pub fn is_bifrost_error(&self) -> bool {
        matches!(
            self,
            Error::MissingEnvVar { .. }
                | Error::QueueFull { .. }
                | Error::Store(_)
                | Error::Internal(_)
                | Error::Network { .. }
                | Error::Timeout { .. }
                | Error::BadUpstreamResponse { .. }
        )
    }

    /// The provider the error came from, when it came from one.
    pub fn provider(&self) -> Option<&str> {
        match self {
            Error::Upstream(e) => Some(&e.provider),
            Error::UnsupportedOperation { provider, .. }
            | Error::NoKeyForModel { provider, .. }
            | Error::PinnedKeyNotFound { provider, .. }
            | Error::MissingEnvVar { provider, .. }
            | Error::QueueFull { provider }
            | Error::Timeout { provider, .. }
            | Error::Network { provider, .. }
            | Error::BadUpstreamResponse { provider, .. } => Some(provider),
            _ => None,
        }
    }

    /// Whether the same provider may be tried again (Bifrost §5.2): network errors, 429,
    /// 500/502/503/504, timeouts, and upstream errors that speak of rate limits.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Network { .. } | Error::Timeout { .. } => true,
            Error::Upstream(e) => {
                matches!(e.status, 429 | 500 | 502 | 503 | 504) || mentions_rate_limit(e)
            }
            _ => false,
        }
    }

    /// Whether a request-level fallback may be tried after this error (Bifrost §5.3):
    /// everything the provider or the network caused, but not bad input.
    pub fn allows_fallback(&self) -> bool {
        match self {
            Error::Upstream(_)
            | Error::Network { .. }
            | Error::Timeout { .. }
            | Error::BadUpstreamResponse { .. }
            | Error::QueueFull { .. }
            | Error::NoKeyForModel { .. }
            | Error::PinnedKeyNotFound { .. }
            | Error::MissingEnvVar { .. }
            | Error::UnsupportedOperation { .. } => true,
            Error::BadRequest(_)
            | Error::PayloadTooLarge { .. }
            | Error::RouteNotFound(_)
            | Error::MethodNotAllowed { .. }
            | Error::NotFound(_)
            | Error::Conflict(_)
            | Error::ProviderNotConfigured(_)
            | Error::Cancelled
            | Error::Config(_)
            | Error::Store(_)
            | Error::Internal(_)
            | Error::VirtualKeyRequired
            | Error::VirtualKeyNotFound
            | Error::VirtualKeyBlocked(_)
            | Error::ModelBlocked { .. }
            | Error::ProviderBlocked { .. }
            | Error::BudgetExceeded(_)
            | Error::RateLimited { .. }
            | Error::Unauthorized => false,
        }
    }

    /// A low-cardinality label for metrics: the kind, never the message.
    pub fn metric_label(&self) -> &'static str {
        match self {
            Error::BadRequest(_) => "bad_request",
            Error::PayloadTooLarge { .. } => "payload_too_large",
            Error::RouteNotFound(_) => "route_not_found",
            Error::MethodNotAllowed { .. } => "method_not_allowed",
            Error::NotFound(_) => "not_found",
            Error::Conflict(_) => "conflict",
            Error::ProviderNotConfigured(_) => "provider_not_configured",
            Error::UnsupportedOperation { .. } => "unsupported_operation",
            Error::NoKeyForModel { .. } | Error::PinnedKeyNotFound { .. } => "no_key",
            Error::MissingEnvVar { .. } => "missing_env_var",
            Error::QueueFull { .. } => "queue_full",
            Error::Upstream(_) => "upstream",
            Error::Timeout { .. } => "timeout",
            Error::Network { .. } => "network",
            Error::BadUpstreamResponse { .. } => "bad_upstream_response",
            Error::Cancelled => "cancelled",
            Error::Config(_) => "config",
            Error::Store(_) => "store",
            Error::Internal(_) => "internal",
            Error::VirtualKeyRequired => "virtual_key_required",
            Error::VirtualKeyNotFound => "virtual_key_not_found",
            Error::VirtualKeyBlocked(_) => "virtual_key_blocked",
            Error::ModelBlocked { .. } => "model_blocked",
            Error::ProviderBlocked { .. } => "provider_blocked",
            Error::BudgetExceeded(_) => "budget_exceeded",
            Error::RateLimited { kind, .. } => kind.as_str(),
            Error::Unauthorized => "unauthorized",
        }
    }

    /// Seconds to put in a `Retry-After` header, for rate limits.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            Error::RateLimited {
                retry_after_secs, ..
            } => Some(*retry_after_secs),
            _ => None,
        }
    }
}

/// Phrases that mark an error as a rate limit even when the status says otherwise.
const RATE_LIMIT_PHRASES: &[&str] = &[
    "rate limit",
    "rate_limit",
    "ratelimit",
    "too many requests",
    "quota exceeded",
    "throttl",
    "tpm exceeded",
    "rpm exceeded",
];

fn mentions_rate_limit(e: &UpstreamError) -> bool {
    let fields = [
        Some(e.message.as_str()),
        e.error_type.as_deref(),
        e.code.as_deref(),
    ];
    fields.into_iter().flatten().any(|text| {
        let lower = text.to_ascii_lowercase();
        RATE_LIMIT_PHRASES.iter().any(|p| lower.contains(p))
    })
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        Error::Store(e.to_string())
    }
}

impl fmt::Display for UpstreamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}): {}", self.provider, self.status, self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upstream(status: u16, message: &str) -> Error {
        Error::Upstream(Box::new(UpstreamError {
            provider: "openai".into(),
            status,
            message: message.into(),
            error_type: None,
            code: None,
            param: None,
        }))
    }

    #[test]
    fn retryable_statuses_follow_bifrost() {
        for status in [429, 500, 502, 503, 504] {
            assert!(upstream(status, "x").is_retryable(), "{status}");
        }
        for status in [400, 401, 403, 404, 422] {
            assert!(!upstream(status, "x").is_retryable(), "{status}");
        }
        assert!(upstream(400, "Rate limit reached for requests").is_retryable());
        assert!(!Error::BadRequest("x".into()).is_retryable());
    }

    #[test]
    fn statuses_are_passed_through_for_upstream_errors() {
        assert_eq!(upstream(418, "teapot").status(), 418);
        assert_eq!(Error::Cancelled.status(), 499);
        assert_eq!(
            Error::Timeout {
                provider: "p".into(),
                seconds: 1
            }
            .status(),
            504
        );
    }
}
