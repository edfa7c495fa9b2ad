//! Deserializing the structs that keep the fields they do not know in an `extra` map.
//!
//! serde's `#[serde(flatten)]` buffers the whole object into an intermediate tree (every key
//! and value copied) before it fills the struct, and then fills it from that tree; an
//! `#[serde(untagged)]` enum does the same for its value. On a chat request, answer or stream
//! chunk that made parsing cost several times what reading the JSON once does. The
//! [`deserialize_keeping_extra!`] impls read the object once: a known key straight into its
//! field, any other key into `extra`. Serialization stays derived (`flatten` writes `extra`'s
//! keys beside the others, which costs nothing extra).
//!
//! As with `serde_json::Value`, a key given twice keeps its last value.

use std::borrow::Cow;
use std::fmt;

use serde::de::{Deserialize, Deserializer, Visitor};

/// An object key: borrowed from the input when it has no escapes.
pub(crate) struct Key<'de>(Cow<'de, str>);

impl Key<'_> {
    /// The key's text.
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }

    /// The key as an owned string, for the `extra` map.
    pub(crate) fn into_string(self) -> String {
        self.0.into_owned()
    }
}

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        struct KeyVisitor;

        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object key")
            }

            fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(s)))
            }

            fn visit_str<E>(self, s: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(s.to_owned())))
            }

            fn visit_string<E>(self, s: String) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(s)))
            }
        }

        de.deserialize_str(KeyVisitor)
    }
}

/// Implements `Deserialize` for a struct with a `Default` impl and an `extra: JsonObject`
/// field: `required` fields must be present (else serde's "missing field" error), `optional`
/// ones keep their default when absent, `defaults` ones take their function's value when
/// absent (called only then: the answer's `object` string is not built to be overwritten), every
/// other key goes into `extra`. Each field is listed with its JSON name; the expansion
/// destructures the struct without `..`, so a field added to the struct but not here does not
/// compile.
macro_rules! deserialize_keeping_extra {
    (
        $ty:ident, $expecting:literal,
        required { $($req:ident : $req_name:literal),* $(,)? }
        optional { $($opt:ident : $opt_name:literal),* $(,)? }
        $(defaults { $($def:ident : $def_name:literal = $def_fn:path),* $(,)? })?
        extra: $extra:ident $(,)?
    ) => {
        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
                struct ObjectVisitor;

                impl<'de> serde::de::Visitor<'de> for ObjectVisitor {
                    type Value = $ty;

                    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        f.write_str($expecting)
                    }

                    fn visit_map<A: serde::de::MapAccess<'de>>(
                        self,
                        mut map: A,
                    ) -> Result<$ty, A::Error> {
                        #[allow(non_snake_case)]
                        #[derive(Default)]
                        struct Seen {
                            $($req: bool,)*
                            $($($def: bool,)*)?
                        }
                        let mut out = <$ty as Default>::default();
                        // Unused by the structs with no required field.
                        #[allow(unused_mut, unused_variables)]
                        let mut seen = Seen::default();
                        while let Some(key) = map.next_key::<$crate::schemas::open::Key<'de>>()? {
                            match key.as_str() {
                                $($req_name => {
                                    out.$req = map.next_value()?;
                                    seen.$req = true;
                                })*
                                $($opt_name => out.$opt = map.next_value()?,)*
                                $($($def_name => {
                                    out.$def = map.next_value()?;
                                    seen.$def = true;
                                })*)?
                                _ => {
                                    let value = map.next_value()?;
                                    out.$extra.insert(key.into_string(), value);
                                }
                            }
                        }
                        $(if !seen.$req {
                            return Err(serde::de::Error::missing_field($req_name));
                        })*
                        $($(if !seen.$def {
                            out.$def = $def_fn();
                        })*)?
                        // Every field of the struct is listed above (this fails to compile
                        // otherwise).
                        let $ty { $($req: _,)* $($opt: _,)* $($($def: _,)*)? $extra: _ } = &out;
                        Ok(out)
                    }
                }

                de.deserialize_map(ObjectVisitor)
            }
        }
    };
}

pub(crate) use deserialize_keeping_extra;
