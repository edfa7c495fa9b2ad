//! The words of a log worth a full-text index: the string values of its messages and answer
//! (not JSON keys, roles, types or ids), read straight from the JSON text without building a
//! tree of it, since the writer does this for every row.

use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

/// Keys whose string values are labels rather than text.
const SKIPPED: &[&str] = &["role", "type", "id", "tool_call_id", "object"];

/// Appends the words of `json` to `out`, separated by spaces. Text that is not JSON is
/// appended whole.
pub(super) fn append_json_words(json: &str, out: &mut String) {
    let before = out.len();
    let mut de = serde_json::Deserializer::from_str(json);
    let words = Words { out, skip: false };
    if words.deserialize(&mut de).and_then(|()| de.end()).is_err() {
        out.truncate(before);
        append_word(out, json);
    }
}

/// Appends one word (or phrase) to `out`, space separated.
pub(super) fn append_word(out: &mut String, s: &str) {
    if !out.is_empty() {
        out.push(' ');
    }
    out.push_str(s);
}

/// Visits one JSON value; `skip` when it sits under a skipped key (arrays pass it on).
struct Words<'a> {
    out: &'a mut String,
    skip: bool,
}

impl<'de> DeserializeSeed<'de> for Words<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<(), D::Error> {
        de.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Words<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("JSON")
    }

    fn visit_str<E>(self, s: &str) -> Result<(), E> {
        if !self.skip {
            append_word(self.out, s);
        }
        Ok(())
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }

    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }

    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<(), A::Error> {
        while items
            .next_element_seed(Words {
                out: &mut *self.out,
                skip: self.skip,
            })?
            .is_some()
        {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut fields: A) -> Result<(), A::Error> {
        while let Some(skip) = fields.next_key_seed(KeyIsSkipped)? {
            fields.next_value_seed(Words {
                out: &mut *self.out,
                skip,
            })?;
        }
        Ok(())
    }
}

/// Reads an object key and tells whether its value is skipped, without keeping the key.
struct KeyIsSkipped;

impl<'de> DeserializeSeed<'de> for KeyIsSkipped {
    type Value = bool;

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<bool, D::Error> {
        de.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeyIsSkipped {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_str<E>(self, key: &str) -> Result<bool, E> {
        Ok(SKIPPED.contains(&key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(json: &str) -> String {
        let mut out = String::new();
        append_json_words(json, &mut out);
        out
    }

    #[test]
    fn string_values_but_not_keys_labels_or_ids() {
        let messages = r#"[{"role":"system","content":"Be brief."},
            {"role":"user","content":[{"type":"text","text":"Hi \"there\""},
              {"type":"image_url","image_url":{"url":"https://x/cat.png"}}]},
            {"role":"assistant","tool_calls":[{"id":"call_1","type":"function",
              "function":{"name":"weather","arguments":"{\"city\":\"Paris\"}"}}]},
            {"role":"tool","tool_call_id":"call_1","content":"sunny"}]"#;
        assert_eq!(
            words(messages),
            r#"Be brief. Hi "there" https://x/cat.png weather {"city":"Paris"} sunny"#
        );
    }

    #[test]
    fn arrays_under_a_skipped_key_are_skipped() {
        assert_eq!(words(r#"{"id":["a","b"],"x":[1,"c",null,true]}"#), "c");
    }

    #[test]
    fn text_that_is_not_json_is_kept_whole() {
        let mut out = String::from("before");
        append_json_words(r#"{"content":"half"#, &mut out);
        assert_eq!(out, r#"before {"content":"half"#);
        assert_eq!(words("plain words"), "plain words");
    }
}
