//! Label names and values: Bifrost's base label set, the custom labels of
//! `client.prometheus_labels`, escaping, and the bounds that keep clients from exploding the
//! number of series.
//!
//! Every label whose value a client chooses (the `x-bf-prom-*` headers, the model and provider
//! names, the HTTP method) goes through a [`Bounded`] set: at most [`MAX_VALUES`] distinct values
//! are kept per label (the first ones seen), later new values are reported as `other`, and every
//! value is cut to [`MAX_VALUE_LEN`] bytes. A series is only created when a label set is new, so
//! the bound is consulted off the common path.

use std::borrow::Cow;
use std::collections::HashSet;
use std::sync::RwLock;

use http::HeaderMap;

/// Distinct values kept per client-chosen label before new ones become `other`.
pub const MAX_VALUES: usize = 100;
/// Distinct model names kept (deployments legitimately serve many models).
pub const MAX_MODELS: usize = 1000;
/// Longest label value kept, in bytes.
pub const MAX_VALUE_LEN: usize = 128;
/// What a value past the bound is reported as.
pub const OTHER: &str = "other";

/// Bifrost's base labels of the `bifrost_*` metrics, in its order.
pub const BASE: [&str; 16] = [
    "provider",
    "model",
    "method",
    "virtual_key_id",
    "virtual_key_name",
    "routing_engine_used",
    "routing_rule_id",
    "routing_rule_name",
    "selected_key_id",
    "selected_key_name",
    "number_of_retries",
    "fallback_index",
    "team_id",
    "team_name",
    "customer_id",
    "customer_name",
];

/// Bifrost's labels of the `http_*` metrics.
pub const HTTP: [&str; 3] = ["path", "method", "status"];

/// The prefix of the headers that carry custom label values.
pub const HEADER_PREFIX: &str = "x-bf-prom-";

/// A set of values admitted for one label.
#[derive(Debug)]
pub struct Bounded {
    max: usize,
    seen: RwLock<HashSet<Box<str>>>,
}

impl Bounded {
    /// A set that admits up to `max` distinct values.
    pub fn new(max: usize) -> Self {
        Self {
            max,
            seen: RwLock::new(HashSet::new()),
        }
    }

    /// The value to report: itself (cut to [`MAX_VALUE_LEN`]) if already admitted or if there is
    /// room, else [`OTHER`]. The empty value (label unknown) is always admitted.
    pub fn admit<'a>(&self, value: &'a str) -> Cow<'a, str> {
        let value = truncate(value);
        if value.is_empty() {
            return Cow::Borrowed(value);
        }
        if let Ok(seen) = self.seen.read() {
            if seen.contains(value) {
                return Cow::Borrowed(value);
            }
            if seen.len() >= self.max {
                return Cow::Borrowed(OTHER);
            }
        }
        let Ok(mut seen) = self.seen.write() else {
            return Cow::Borrowed(OTHER);
        };
        if seen.contains(value) || seen.len() < self.max {
            seen.insert(value.into());
            Cow::Borrowed(value)
        } else {
            Cow::Borrowed(OTHER)
        }
    }

    /// Distinct values admitted so far.
    pub fn len(&self) -> usize {
        self.seen.read().map_or(0, |s| s.len())
    }

    /// Whether nothing was admitted yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Cuts a value to [`MAX_VALUE_LEN`] bytes on a character boundary.
pub fn truncate(value: &str) -> &str {
    if value.len() <= MAX_VALUE_LEN {
        return value;
    }
    let mut end = MAX_VALUE_LEN;
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    &value[..end]
}

/// One custom label from `client.prometheus_labels`.
#[derive(Debug)]
pub struct Custom {
    /// The name as configured, lower-cased: the header is `x-bf-prom-<config>`.
    pub config: String,
    /// The name as exposed: invalid characters (Bifrost's docs use `team-id`) become `_`.
    pub label: String,
    /// Its admitted values.
    pub values: Bounded,
}

/// The custom labels, in configuration order, without duplicates and without names that clash
/// with Bifrost's own labels (Bifrost ignores those too).
pub fn customs(configured: &[String]) -> Vec<Custom> {
    let mut out: Vec<Custom> = Vec::new();
    for name in configured {
        let config = name.trim().to_ascii_lowercase();
        let label = sanitize_name(&config);
        let clashes = BASE.contains(&label.as_str())
            || HTTP.contains(&label.as_str())
            || matches!(
                label.as_str(),
                "is_success" | "status_code" | "cache_type" | "le"
            );
        if config.is_empty() || clashes || out.iter().any(|c| c.label == label) {
            if clashes {
                tracing::info!(label = %config, "custom Prometheus label is a built-in label; ignored");
            }
            continue;
        }
        out.push(Custom {
            config,
            label,
            values: Bounded::new(MAX_VALUES),
        });
    }
    out
}

/// A valid Prometheus label name: `[a-zA-Z_][a-zA-Z0-9_]*`.
fn sanitize_name(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    out
}

/// The `x-bf-prom-<label>` values of a request for the configured label names, as
/// `(name, value)` pairs. Nothing is allocated when no custom label is configured.
pub fn from_headers(headers: &HeaderMap, configured: &[String]) -> Vec<(String, String)> {
    if configured.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    for (name, value) in headers {
        let Some(label) = name.as_str().strip_prefix(HEADER_PREFIX) else {
            continue;
        };
        let Ok(value) = value.to_str() else { continue };
        if configured
            .iter()
            .any(|c| c.trim().eq_ignore_ascii_case(label))
            && !out.iter().any(|(n, _): &(String, String)| n == label)
        {
            out.push((label.to_owned(), truncate(value).to_owned()));
        }
    }
    out
}

/// The HTTP method as a label: the standard methods by name, anything else `other` (axum
/// accepts any token as a method, and a client must not mint series with it).
pub fn method(method: &http::Method) -> &'static str {
    match *method {
        http::Method::GET => "GET",
        http::Method::POST => "POST",
        http::Method::PUT => "PUT",
        http::Method::DELETE => "DELETE",
        http::Method::PATCH => "PATCH",
        http::Method::HEAD => "HEAD",
        http::Method::OPTIONS => "OPTIONS",
        http::Method::CONNECT => "CONNECT",
        http::Method::TRACE => "TRACE",
        _ => OTHER,
    }
}

/// Appends `name="value"` to a label text, escaping the value as the text format requires.
pub fn push_pair(out: &mut String, name: &str, value: &str) {
    if !out.is_empty() {
        out.push(',');
    }
    out.push_str(name);
    out.push_str("=\"");
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Appends one value to a series key as `<len>:<value>`, so that no two different value lists
/// can make the same key whatever bytes the values hold.
pub fn push_key(key: &mut String, value: &str) {
    // Digits by hand: `write!` costs more than the rest of a lookup on this path.
    let mut digits = [0u8; 20];
    let mut n = value.len();
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for d in &digits[i..] {
        key.push(char::from(*d));
    }
    key.push(':');
    key.push_str(value);
}
