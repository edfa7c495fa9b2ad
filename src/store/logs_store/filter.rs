//! A [`LogFilter`] as a SQL `WHERE` clause over `logs l`: fixed column names, every value a
//! bound parameter, so nothing a client sends ever becomes SQL text.

use rusqlite::types::Value;

use super::{LogFilter, Order, SortBy};

/// A `WHERE` condition and its parameters, in placeholder order.
#[derive(Debug, Default)]
pub(super) struct Clause {
    /// Conditions joined by `AND`; `1` when there are none.
    pub sql: String,
    /// One value per `?` in `sql`, in order.
    pub params: Vec<Value>,
}

impl Clause {
    fn push(&mut self, condition: &str, values: impl IntoIterator<Item = Value>) {
        if !self.sql.is_empty() {
            self.sql.push_str(" AND ");
        }
        self.sql.push_str(condition);
        self.params.extend(values);
    }

    fn finish(mut self) -> Self {
        if self.sql.is_empty() {
            self.sql.push('1');
        }
        self
    }

    fn any_of(&mut self, column: &str, values: &[String]) {
        if values.is_empty() {
            return;
        }
        let marks = vec!["?"; values.len()].join(", ");
        self.push(
            &format!("{column} IN ({marks})"),
            values.iter().map(|v| Value::Text(v.clone())),
        );
    }
}

/// Builds the clause for a filter over `logs l`.
pub(super) fn build(filter: &LogFilter) -> Clause {
    let mut c = Clause::default();
    dimensions(&mut c, filter, "l");
    if let Some(t) = filter.start_ms {
        c.push("l.timestamp >= ?", [Value::Integer(t)]);
    }
    if let Some(t) = filter.end_ms {
        c.push("l.timestamp <= ?", [Value::Integer(t)]);
    }
    if let Some(v) = filter.min_latency {
        c.push("l.latency >= ?", [Value::Real(v)]);
    }
    if let Some(v) = filter.max_latency {
        c.push("l.latency <= ?", [Value::Real(v)]);
    }
    if let Some(v) = filter.min_tokens {
        c.push("l.total_tokens >= ?", [Value::Integer(v)]);
    }
    if let Some(v) = filter.max_tokens {
        c.push("l.total_tokens <= ?", [Value::Integer(v)]);
    }
    if let Some(v) = filter.min_cost {
        c.push("l.cost >= ?", [Value::Real(v)]);
    }
    if let Some(v) = filter.max_cost {
        c.push("l.cost <= ?", [Value::Real(v)]);
    }
    if filter.missing_cost_only {
        c.push("l.cost IS NULL", []);
    }
    if let Some(text) = filter.content_search.as_deref() {
        match fts_query(text) {
            Some(q) => c.push(
                "l.seq IN (SELECT rowid FROM logs_fts WHERE logs_fts MATCH ?)",
                [Value::Text(q)],
            ),
            // Only punctuation was asked for: no word can match it.
            None if !text.trim().is_empty() => c.push("0", []),
            None => {}
        }
    }
    c.finish()
}

/// Whether the hourly rollup can answer for this filter: only dimensions and a time range,
/// nothing that needs the individual rows.
pub(super) fn rollup_answers(filter: &LogFilter) -> bool {
    filter.min_latency.is_none()
        && filter.max_latency.is_none()
        && filter.min_tokens.is_none()
        && filter.max_tokens.is_none()
        && filter.min_cost.is_none()
        && filter.max_cost.is_none()
        && !filter.missing_cost_only
        && filter.content_search.is_none()
}

/// The clause over `logs_rollup r` for the filter's dimensions and the hours in
/// `[from_hour, to_hour)`.
pub(super) fn rollup(filter: &LogFilter, from_hour: Option<i64>, to_hour: Option<i64>) -> Clause {
    let mut c = Clause::default();
    dimensions(&mut c, filter, "r");
    if let Some(h) = from_hour {
        c.push("r.hour >= ?", [Value::Integer(h)]);
    }
    if let Some(h) = to_hour {
        c.push("r.hour < ?", [Value::Integer(h)]);
    }
    c.finish()
}

/// Conditions on the columns `logs` and `logs_rollup` share, on table alias `t`.
fn dimensions(c: &mut Clause, filter: &LogFilter, t: &str) {
    c.any_of(&format!("{t}.provider"), &filter.providers);
    c.any_of(&format!("{t}.model"), &filter.models);
    c.any_of(&format!("{t}.status"), &filter.statuses);
    c.any_of(&format!("{t}.object"), &filter.objects);
    c.any_of(&format!("{t}.selected_key_id"), &filter.selected_key_ids);
    c.any_of(&format!("{t}.virtual_key_id"), &filter.virtual_key_ids);
    if !filter.virtual_keys.is_empty() {
        let marks = vec!["?"; filter.virtual_keys.len()].join(", ");
        let values = filter.virtual_keys.iter().map(|v| Value::Text(v.clone()));
        c.push(
            &format!("({t}.virtual_key_id IN ({marks}) OR {t}.virtual_key_name IN ({marks}))"),
            values.clone().chain(values),
        );
    }
}

/// The table (with the index to use, if any) and the `ORDER BY` of a sorted page; the row
/// number breaks ties so that pages never overlap. With `walk_rank`, a latency, tokens or cost
/// sort reads that sort's rank index in order (see `rank`): ordering by the rank first gives
/// the same order, and SQLite sorts only within the buckets the page reaches. Without it, the
/// filter's own index selects the rows and SQLite sorts them by the value.
pub(super) fn sorted_source(sort: SortBy, order: Order, walk_rank: bool) -> (&'static str, String) {
    let dir = match order {
        Order::Asc => "ASC",
        Order::Desc => "DESC",
    };
    let (ranked_source, rank, column) = match sort {
        SortBy::Timestamp => return ("logs l", format!("l.timestamp {dir}, l.seq {dir}")),
        SortBy::Latency => (
            "logs l INDEXED BY idx_logs_latency",
            "l.latency_rank",
            "l.latency",
        ),
        SortBy::Tokens => (
            "logs l INDEXED BY idx_logs_tokens",
            "l.tokens_rank",
            "l.total_tokens",
        ),
        SortBy::Cost => ("logs l INDEXED BY idx_logs_cost", "l.cost_rank", "l.cost"),
    };
    if walk_rank {
        (
            ranked_source,
            format!("{rank} {dir}, {column} {dir}, l.seq {dir}"),
        )
    } else {
        ("logs l", format!("{column} {dir}, l.seq {dir}"))
    }
}

/// Turns what a user typed into an FTS5 query: every word must appear, as a word or the start
/// of one (`gree` finds "greeting"). Each word is quoted, so FTS5 operators in the input
/// (`OR`, `NEAR`, `*`, `:`) are searched for as text instead of being obeyed.
pub(super) fn fts_query(text: &str) -> Option<String> {
    let terms: Vec<String> = text
        .split_whitespace()
        .filter(|w| w.chars().any(char::is_alphanumeric))
        .map(|w| format!("\"{}\"*", w.replace('"', "\"\"")))
        .collect();
    (!terms.is_empty()).then(|| terms.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_parameters_never_text() {
        let f = LogFilter {
            providers: vec!["openai".into(), "x' OR 1=1 --".into()],
            min_latency: Some(5.0),
            content_search: Some("hello \"world\" OR".into()),
            ..LogFilter::default()
        };
        let c = build(&f);
        assert!(!c.sql.contains("openai") && !c.sql.contains("OR 1=1"));
        assert_eq!(c.sql.matches('?').count(), c.params.len());
        assert_eq!(
            c.params.last(),
            Some(&Value::Text(r#""hello"* """world"""* "OR"*"#.into()))
        );
    }

    #[test]
    fn empty_filter_matches_everything() {
        let c = build(&LogFilter::default());
        assert_eq!(c.sql, "1");
        assert!(c.params.is_empty());
        assert_eq!(fts_query("  !! ?? "), None);
    }
}
