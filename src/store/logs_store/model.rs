//! The types of the logs store: a log row as stored and served, the filter and page of a
//! query, and what queries answer.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::Value;

use crate::schemas::openai::Usage;

/// One request log, as stored and as served: Bifrost's log row.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct LogEntry {
    /// Insertion order, for following new rows; not part of the API.
    #[serde(skip)]
    pub seq: i64,
    /// Request id (UUID v7).
    pub id: String,
    /// When the request was accepted (unix ms; RFC 3339 in JSON).
    #[serde(with = "rfc3339_ms")]
    pub timestamp: i64,
    /// Request type (`chat_completion`, `chat_completion_stream`, `embedding`, ...).
    pub object: String,
    /// Provider that answered, else the one asked for.
    pub provider: String,
    /// Model.
    pub model: String,
    /// `processing` (live events only), `success`, `error` or `cancelled`.
    pub status: String,
    /// Whether the answer was streamed.
    pub stream: bool,
    /// Milliseconds from acceptance to the last byte.
    pub latency: Option<f64>,
    /// Milliseconds to the first stream chunk.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttft: Option<f64>,
    /// Token usage.
    pub token_usage: Option<Usage>,
    /// Cost in USD, when pricing knows the model.
    pub cost: Option<f64>,
    /// Key used (empty when none).
    #[serde(default)]
    pub selected_key_id: String,
    /// Its name.
    #[serde(default)]
    pub selected_key_name: String,
    /// Virtual key (with governance).
    pub virtual_key_id: Option<String>,
    /// Its name.
    pub virtual_key_name: Option<String>,
    /// Retries on the provider that answered.
    #[serde(default)]
    pub number_of_retries: u32,
    /// 0 for the primary, n for the n-th fallback.
    #[serde(default)]
    pub fallback_index: u32,
    /// Bifrost's error object: `{"status_code", "error": {"type", "message"}}`.
    pub error_details: Option<Box<RawValue>>,
    /// The request's messages (or prompt, or input).
    pub input_history: Option<Box<RawValue>>,
    /// The answer's message.
    pub output_message: Option<Box<RawValue>>,
    /// Request parameters without the content.
    pub params: Option<Box<RawValue>>,
    /// `x-bf-lh-*` and `client.logging_headers` values.
    pub metadata: Option<BTreeMap<String, Value>>,
}

impl LogEntry {
    /// Total tokens, 0 when unknown.
    pub fn total_tokens(&self) -> u64 {
        self.token_usage.as_ref().map_or(0, |u| u.total_tokens)
    }

    /// The error message, if the request failed.
    pub fn error_message(&self) -> Option<String> {
        let v: Value = serde_json::from_str(self.error_details.as_ref()?.get()).ok()?;
        v["error"]["message"].as_str().map(str::to_owned)
    }
}

/// Which logs a query reads. Empty lists and `None` do not filter.
#[derive(Debug, Clone, Default)]
pub struct LogFilter {
    /// Any of these providers.
    pub providers: Vec<String>,
    /// Any of these models.
    pub models: Vec<String>,
    /// Any of these statuses.
    pub statuses: Vec<String>,
    /// Any of these request types.
    pub objects: Vec<String>,
    /// Any of these keys.
    pub selected_key_ids: Vec<String>,
    /// Any of these virtual keys.
    pub virtual_key_ids: Vec<String>,
    /// Any of these virtual keys, each named by its id or its name (`bifrost logs --vk`).
    pub virtual_keys: Vec<String>,
    /// From this time (unix ms, inclusive).
    pub start_ms: Option<i64>,
    /// Until this time (unix ms, inclusive).
    pub end_ms: Option<i64>,
    /// Latency at least (ms).
    pub min_latency: Option<f64>,
    /// Latency at most (ms).
    pub max_latency: Option<f64>,
    /// Total tokens at least.
    pub min_tokens: Option<i64>,
    /// Total tokens at most.
    pub max_tokens: Option<i64>,
    /// Cost at least (USD).
    pub min_cost: Option<f64>,
    /// Cost at most (USD).
    pub max_cost: Option<f64>,
    /// Only rows without a cost.
    pub missing_cost_only: bool,
    /// Words that must appear in the messages, the answer or the error.
    pub content_search: Option<String>,
}

/// Sort keys of a page.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SortBy {
    /// Acceptance time.
    #[default]
    Timestamp,
    /// Latency.
    Latency,
    /// Total tokens.
    Tokens,
    /// Cost.
    Cost,
}

impl SortBy {
    /// Parses Bifrost's `sort_by` value.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "timestamp" => Some(Self::Timestamp),
            "latency" => Some(Self::Latency),
            "tokens" => Some(Self::Tokens),
            "cost" => Some(Self::Cost),
            _ => None,
        }
    }
}

/// Sort direction.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Order {
    /// Smallest first.
    Asc,
    /// Largest (newest) first.
    #[default]
    Desc,
}

impl Order {
    /// Parses Bifrost's `order` value.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "asc" => Some(Self::Asc),
            "desc" => Some(Self::Desc),
            _ => None,
        }
    }
}

/// One page of a search: Bifrost's `pagination` object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page {
    /// Rows per page.
    pub limit: u32,
    /// Rows skipped.
    pub offset: u64,
    /// Sort key.
    pub sort_by: SortBy,
    /// Sort direction.
    pub order: Order,
}

impl Default for Page {
    fn default() -> Self {
        Self {
            limit: 50,
            offset: 0,
            sort_by: SortBy::Timestamp,
            order: Order::Desc,
        }
    }
}

/// Aggregates over the logs a filter selects (Bifrost's `stats`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    /// Matching requests.
    pub total_requests: u64,
    /// Percentage of them that succeeded (0-100).
    pub success_rate: f64,
    /// Mean latency in ms.
    pub average_latency: f64,
    /// Sum of total tokens.
    pub total_tokens: u64,
    /// Sum of cost in USD.
    pub total_cost: f64,
}

/// A page of logs, the total behind it and the stats of the whole selection.
#[derive(Debug, Clone)]
pub struct SearchResult {
    /// The page.
    pub logs: Vec<LogEntry>,
    /// Rows matching the filter.
    pub total: u64,
    /// Stats over the rows matching the filter.
    pub stats: Stats,
    /// Whether logs.db holds any row at all (the dashboard's empty state).
    pub has_logs: bool,
}

/// A key or virtual key seen in the logs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyRef {
    /// Its id.
    pub id: String,
    /// Its last recorded name.
    pub name: String,
}

/// The values the dashboard's filter menus offer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FilterData {
    /// Providers seen.
    pub providers: Vec<String>,
    /// Models seen.
    pub models: Vec<String>,
    /// Keys seen.
    pub selected_keys: Vec<KeyRef>,
    /// Virtual keys seen.
    pub virtual_keys: Vec<KeyRef>,
}

/// Totals for one provider and model (`bifrost logs stats`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct GroupStats {
    /// Provider.
    pub provider: String,
    /// Model.
    pub model: String,
    /// Requests.
    pub requests: u64,
    /// Of which succeeded.
    pub success: u64,
    /// Of which failed.
    pub errors: u64,
    /// Of which the client cancelled.
    pub cancelled: u64,
    /// Mean latency (ms).
    pub average_latency: f64,
    /// Sum of total tokens.
    pub total_tokens: u64,
    /// Sum of cost, `None` when no row has a cost.
    pub total_cost: Option<f64>,
}

/// (De)serialises unix milliseconds as RFC 3339 text.
mod rfc3339_ms {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(ms: &i64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&crate::store::timefmt::format_ms(*ms))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
        let text = String::deserialize(d)?;
        crate::store::timefmt::parse_rfc3339(&text)
            .ok_or_else(|| serde::de::Error::custom(format!("not an RFC 3339 time: {text}")))
    }
}
