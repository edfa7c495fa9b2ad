//! A provider's `pricing_overrides`: prices that replace the catalog's for the models they
//! match, exactly, by wildcard (`gpt-4o*`) or by regex, optionally for some request types only.
//! An exact match wins over a wildcard, a wildcard over a regex; within a kind, the first.

use serde::Deserialize;
use serde_json::Value;

use super::pricing::{Price, RawPrice};
use crate::schemas::RequestType;

/// Compiled overrides of one provider.
#[derive(Debug, Default)]
pub struct Overrides {
    rules: Vec<Rule>,
}

#[derive(Debug)]
struct Rule {
    matcher: Matcher,
    request_types: Vec<String>,
    price: RawPrice,
}

#[derive(Debug)]
enum Matcher {
    Exact(String),
    Wildcard(String),
    Regex(regex::Regex),
}

impl Matcher {
    fn rank(&self) -> u8 {
        match self {
            Matcher::Exact(_) => 0,
            Matcher::Wildcard(_) => 1,
            Matcher::Regex(_) => 2,
        }
    }

    fn matches(&self, model: &str) -> bool {
        match self {
            Matcher::Exact(m) => m == model,
            Matcher::Wildcard(pattern) => glob(pattern.as_bytes(), model.as_bytes()),
            Matcher::Regex(r) => r.is_match(model),
        }
    }
}

#[derive(Deserialize)]
struct RawRule {
    model_pattern: String,
    #[serde(default)]
    match_type: Option<String>,
    #[serde(default)]
    request_types: Vec<String>,
    #[serde(flatten)]
    price: RawPrice,
}

impl Overrides {
    /// Compiles a provider's `pricing_overrides`; bad entries are skipped and described.
    pub fn compile(provider: &str, value: &Value) -> (Self, Vec<String>) {
        let mut rules = Vec::new();
        let mut problems = Vec::new();
        let Some(list) = value.as_array() else {
            if !value.is_null() {
                problems.push(format!(
                    "providers.{provider}.pricing_overrides is not a list"
                ));
            }
            return (Self { rules }, problems);
        };
        for (i, entry) in list.iter().enumerate() {
            let at = format!("providers.{provider}.pricing_overrides[{i}]");
            let raw = match RawRule::deserialize(entry) {
                Ok(r) => r,
                Err(e) => {
                    problems.push(format!("{at}: {e}"));
                    continue;
                }
            };
            let kind = raw
                .match_type
                .as_deref()
                .unwrap_or(if raw.model_pattern.contains('*') {
                    "wildcard"
                } else {
                    "exact"
                });
            let matcher = match kind {
                "exact" => Matcher::Exact(raw.model_pattern),
                "wildcard" => Matcher::Wildcard(raw.model_pattern),
                "regex" => match regex::RegexBuilder::new(&raw.model_pattern)
                    .size_limit(1 << 20)
                    .build()
                {
                    Ok(r) => Matcher::Regex(r),
                    Err(e) => {
                        problems.push(format!("{at}.model_pattern: {e}"));
                        continue;
                    }
                },
                other => {
                    problems.push(format!(
                        "{at}.match_type: `{other}` is not exact, wildcard or regex"
                    ));
                    continue;
                }
            };
            rules.push(Rule {
                matcher,
                request_types: raw.request_types,
                price: raw.price,
            });
        }
        // Stable: keeps the configured order within a kind.
        rules.sort_by_key(|r| r.matcher.rank());
        (Self { rules }, problems)
    }

    /// Whether there is nothing to apply.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The price after the first matching override, or `base` when none matches.
    pub fn apply(
        &self,
        model: &str,
        request_type: RequestType,
        base: Option<Price>,
    ) -> Option<Price> {
        let wanted = base_type(request_type);
        let rule = self.rules.iter().find(|r| {
            r.matcher.matches(model)
                && (r.request_types.is_empty()
                    || r.request_types.iter().any(|t| base_type_name(t) == wanted))
        });
        match rule {
            Some(r) => r.price.over(base),
            None => base,
        }
    }
}

/// Streams are priced like their non-streaming request type.
fn base_type(t: RequestType) -> &'static str {
    base_type_name(t.as_str())
}

fn base_type_name(name: &str) -> &str {
    name.strip_suffix("_stream").unwrap_or(name)
}

/// `*` matches any run of characters, everything else itself.
fn glob(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && pattern[p] == b'*' {
            star = Some((p, t));
            p += 1;
        } else if p < pattern.len() && pattern[p] == text[t] {
            p += 1;
            t += 1;
        } else if let Some((sp, st)) = star {
            p = sp + 1;
            t = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn base() -> Option<Price> {
        Some(Price {
            input: 1.0,
            output: 2.0,
            cache_read: Some(0.5),
            cache_write: None,
        })
    }

    #[test]
    fn exact_beats_wildcard_beats_regex() {
        let (o, problems) = Overrides::compile(
            "openai",
            &json!([
                {"model_pattern": "^gpt-4o.*$", "match_type": "regex", "input_cost_per_token": 30.0},
                {"model_pattern": "gpt-4o*", "match_type": "wildcard", "input_cost_per_token": 20.0},
                {"model_pattern": "gpt-4o-mini", "match_type": "exact", "input_cost_per_token": 10.0,
                 "output_cost_per_token": 11.0}
            ]),
        );
        assert!(problems.is_empty(), "{problems:?}");
        let t = RequestType::ChatCompletion;
        let mini = o.apply("gpt-4o-mini", t, base()).unwrap();
        assert_eq!(
            (mini.input, mini.output, mini.cache_read),
            (10.0, 11.0, Some(0.5))
        );
        assert_eq!(o.apply("gpt-4o", t, base()).unwrap().input, 20.0);
        assert_eq!(
            o.apply("gpt-4.1", t, base()),
            base(),
            "no match keeps the catalog"
        );
        let (r, _) = Overrides::compile(
            "x",
            &json!([{"model_pattern": "^llama-[0-9]+b$", "match_type": "regex", "input_cost_per_token": 3.0}]),
        );
        assert_eq!(r.apply("llama-70b", t, None).unwrap().input, 3.0);
        assert_eq!(r.apply("llama-70b-x", t, None), None);
    }

    #[test]
    fn request_types_limit_an_override_and_streams_count_as_their_base() {
        let (o, _) = Overrides::compile(
            "openai",
            &json!([{"model_pattern": "m", "request_types": ["chat_completion"], "input_cost_per_token": 9.0}]),
        );
        assert_eq!(
            o.apply("m", RequestType::ChatCompletionStream, None)
                .unwrap()
                .input,
            9.0
        );
        assert_eq!(o.apply("m", RequestType::Embedding, None), None);
    }

    #[test]
    fn bad_entries_are_reported_not_applied() {
        let (o, problems) = Overrides::compile(
            "openai",
            &json!([
                {"model_pattern": "(", "match_type": "regex", "input_cost_per_token": 1.0},
                {"model_pattern": "a", "match_type": "fuzzy"},
                {"match_type": "exact"}
            ]),
        );
        assert!(o.is_empty());
        assert_eq!(problems.len(), 3, "{problems:?}");
    }

    #[test]
    fn globs() {
        assert!(glob(b"gpt-*", b"gpt-4o"));
        assert!(glob(b"*mini*", b"gpt-4o-mini-2024"));
        assert!(glob(b"a*b*c", b"axxbyyc"));
        assert!(!glob(b"a*b*c", b"axxbyy"));
        assert!(glob(b"*", b""));
        assert!(!glob(b"gpt", b"gpt-4"));
    }
}
