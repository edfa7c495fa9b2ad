//! The writer against serde_json: the same values must give the same text.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::json;
use serde_json::value::RawValue;

use super::{append, to_vec, Error};
use crate::schemas::openai::{ChatChunk, ChatResponse};

fn same_as_serde_json<T: Serialize + ?Sized>(value: &T) {
    let ours = String::from_utf8(to_vec(value).expect("ours writes it")).expect("UTF-8");
    let theirs = serde_json::to_string(value).expect("serde_json writes it");
    assert_eq!(ours, theirs);
}

#[derive(Serialize)]
enum Shape {
    Unit,
    Newtype(u8),
    Tuple(i32, String),
    EmptyTuple(),
    Struct { side: f64, label: Option<String> },
    EmptyStruct {},
}

#[derive(Serialize)]
struct Unit;

#[derive(Serialize)]
struct Meters(f32);

#[derive(Serialize)]
struct Pair(u16, char);

#[derive(Serialize)]
struct Everything<'a> {
    yes: bool,
    small: i8,
    big: i128,
    huge: u128,
    min: i64,
    max: u64,
    half: f32,
    third: f64,
    nan: f64,
    infinite: f32,
    text: &'a str,
    letter: char,
    #[serde(with = "serde_bytes_as_seq")]
    bytes: &'a [u8],
    none: Option<u8>,
    some: Option<&'a str>,
    unit: (),
    unit_struct: Unit,
    newtype: Meters,
    pair: Pair,
    tuple: (u8, &'a str, bool),
    shapes: Vec<Shape>,
    empty: Vec<u8>,
    nested: Vec<Vec<Option<i32>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    skipped: Option<u8>,
    #[serde(flatten)]
    extra: BTreeMap<String, serde_json::Value>,
}

/// `serialize_bytes`, which derive only calls through a `with` module.
mod serde_bytes_as_seq {
    pub fn serialize<S: serde::Serializer>(bytes: &&[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(bytes)
    }
}

#[test]
fn every_kind_of_value_is_written_as_serde_json_writes_it() {
    let extra = BTreeMap::from([
        (
            "z_flattened".to_owned(),
            json!({"a": [1, -2, 3.5, null], "b": {}}),
        ),
        (
            "y\"quoted\nkey".to_owned(),
            json!("value\twith\u{1}controls"),
        ),
    ]);
    same_as_serde_json(&Everything {
        yes: true,
        small: -8,
        big: i128::MIN,
        huge: u128::MAX,
        min: i64::MIN,
        max: u64::MAX,
        half: 0.5,
        third: 1.0 / 3.0,
        nan: f64::NAN,
        infinite: f32::INFINITY,
        text: "plain, \"quoted\", back\\slashed, ünïcödé 😀, \u{7f}",
        letter: '"',
        bytes: &[0, 1, 255],
        none: None,
        some: Some("x"),
        unit: (),
        unit_struct: Unit,
        newtype: Meters(1e-7),
        pair: Pair(7, '\n'),
        tuple: (1, "two", false),
        shapes: vec![
            Shape::Unit,
            Shape::Newtype(3),
            Shape::Tuple(-1, "t".into()),
            Shape::EmptyTuple(),
            Shape::Struct {
                side: 2e300,
                label: None,
            },
            Shape::EmptyStruct {},
        ],
        empty: vec![],
        nested: vec![vec![], vec![Some(1), None]],
        skipped: None,
        extra,
    });
}

#[test]
fn map_keys_are_strings_as_in_serde_json() {
    same_as_serde_json(&BTreeMap::from([(1u8, "a"), (200, "b")]));
    same_as_serde_json(&BTreeMap::from([(-5i64, 1)]));
    same_as_serde_json(&BTreeMap::from([(true, 1), (false, 0)]));
    same_as_serde_json(&BTreeMap::from([('k', 1)]));
    same_as_serde_json(&BTreeMap::from([(Some("opt"), 1)]));
    same_as_serde_json(&BTreeMap::<String, u8>::new());
    #[derive(Serialize, PartialEq, Eq, PartialOrd, Ord)]
    enum Key {
        Alpha,
    }
    same_as_serde_json(&BTreeMap::from([(Key::Alpha, 1)]));
    let bad = BTreeMap::from([(vec![1u8], 1)]);
    assert!(matches!(to_vec(&bad), Err(Error::KeyMustBeAString)));
    assert!(serde_json::to_vec(&bad).is_err());
}

#[test]
fn raw_values_are_copied_as_they_are() {
    let raw = RawValue::from_string("{\"cached_tokens\": 3 , \"x\":[1,2]}".into()).unwrap();
    same_as_serde_json(&json!({"before": 1}));
    same_as_serde_json(&BTreeMap::from([("details", &raw)]));
    same_as_serde_json(&vec![Some(raw.clone()), None]);
}

#[test]
fn an_error_from_a_type_is_returned() {
    struct Refuses;
    impl Serialize for Refuses {
        fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
            Err(serde::ser::Error::custom("no, thanks"))
        }
    }
    let err = to_vec(&vec![Refuses]).unwrap_err();
    assert_eq!(err.to_string(), "no, thanks");
}

#[test]
fn append_adds_to_what_the_buffer_holds() {
    let mut out = b"data: ".to_vec();
    append(&mut out, &json!({"a": "b"})).unwrap();
    assert_eq!(out, b"data: {\"a\":\"b\"}");
}

#[test]
fn provider_answers_and_chunks_round_trip_to_the_same_text() {
    // What the request path writes most: answers and chunks as providers send them, with
    // fields of their own kept (`extra`) and usage details kept raw.
    let answer: ChatResponse = serde_json::from_str(
        r#"{"id":"chatcmpl-1","object":"chat.completion","created":1700000000,
        "model":"gpt-4o-mini","system_fingerprint":"fp_1","service_tier":"default",
        "choices":[{"index":0,"message":{"role":"assistant","content":"Hi \"there\"\n😀",
        "tool_calls":[{"id":"call_1","type":"function","function":{"name":"f",
        "arguments":"{\"city\":\"Paris\"}"}}]},"logprobs":null,"finish_reason":"tool_calls"}],
        "usage":{"prompt_tokens":12,"completion_tokens":5,"total_tokens":17,
        "prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},
        "completion_tokens_details":{"reasoning_tokens":0}},"citations":["https://a.example"]}"#,
    )
    .unwrap();
    same_as_serde_json(&answer);
    let chunk: ChatChunk = serde_json::from_str(
        r#"{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,
        "model":"gpt-4o-mini","choices":[{"index":0,"delta":{"content":"Hel\u0000lo"},
        "finish_reason":null,"content_filter_results":{"hate":{"filtered":false}}}]}"#,
    )
    .unwrap();
    same_as_serde_json(&chunk);
}

#[test]
fn float_keys_are_quoted_when_finite_and_refused_otherwise() {
    struct FloatKeys(Vec<f64>);
    impl Serialize for FloatKeys {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            use serde::ser::SerializeMap;
            let mut map = s.serialize_map(Some(self.0.len()))?;
            for k in &self.0 {
                map.serialize_entry(k, &true)?;
            }
            map.end()
        }
    }
    same_as_serde_json(&FloatKeys(vec![1.5, -0.0, 1e21]));
    let nan = FloatKeys(vec![f64::NAN]);
    assert!(matches!(to_vec(&nan), Err(Error::KeyMustBeAString)));
    assert!(serde_json::to_vec(&nan).is_err());
    assert_eq!(
        super::to_string(&FloatKeys(vec![2.0])).unwrap(),
        "{\"2.0\":true}"
    );
}

#[test]
fn from_slice_reads_what_serde_json_reads_and_fails_where_it_fails() {
    let text = br#"{"model":"openai/gpt-4o-mini","messages":[{"role":"user","content":"h\u00e9 \"x\" \u00fc"}]}"#;
    let ours: serde_json::Value = super::from_slice(text).unwrap();
    let theirs: serde_json::Value = serde_json::from_slice(text).unwrap();
    assert_eq!(ours, theirs);
    // Not UTF-8 inside a string, and a syntax error: the same errors as serde_json's.
    for bad in [&b"{\"a\":\"\xff\"}"[..], b"{\"a\":1,}"] {
        let ours = super::from_slice::<serde_json::Value>(bad).unwrap_err();
        let theirs = serde_json::from_slice::<serde_json::Value>(bad).unwrap_err();
        assert_eq!(ours.to_string(), theirs.to_string());
    }
}

/// A small deterministic generator (xorshift), so a failure reproduces.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn text(&mut self) -> String {
        const POOL: [char; 14] = [
            'a', 'Z', ' ', '"', '\\', '\n', '\u{0}', '\u{1f}', '\u{7f}', 'é', '€', '😀', '/', '<',
        ];
        let len = self.below(40) as usize;
        (0..len)
            .map(|_| POOL[self.below(POOL.len() as u64) as usize])
            .collect()
    }

    fn value(&mut self, depth: u32) -> serde_json::Value {
        use serde_json::Value;
        let kinds = if depth == 0 { 6 } else { 8 };
        match self.below(kinds) {
            0 => Value::Null,
            1 => Value::Bool(self.below(2) == 1),
            2 => Value::from(self.next() as i64),
            3 => Value::from(f64::from_bits(self.next() >> 2)),
            4 => Value::from(self.below(1000) as f64 / 8.0),
            5 => Value::String(self.text()),
            6 => Value::Array((0..self.below(5)).map(|_| self.value(depth - 1)).collect()),
            _ => Value::Object(
                (0..self.below(5))
                    .map(|_| (self.text(), self.value(depth - 1)))
                    .collect(),
            ),
        }
    }
}

#[test]
fn random_documents_are_written_as_serde_json_writes_them() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for _ in 0..2_000 {
        same_as_serde_json(&rng.value(4));
    }
}
