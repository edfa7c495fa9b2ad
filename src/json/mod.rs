//! JSON on the request path: a compact writer for serde types (answers, stream chunks, the
//! bodies sent to providers) and [`from_slice`] for the bodies read.
//!
//! The writer writes the same text as `serde_json::to_vec` (the tests compare the two),
//! `RawValue` included, but escapes strings a word at a time ([`escape`]) and writes straight
//! into a `Vec<u8>` without an `io::Write` layer. Everything off the request path keeps
//! serde_json.

#[macro_use]
mod macros;
mod escape;
mod key;
mod raw;

use serde::ser::{self, Serialize};

/// Why a value could not be written as JSON.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A map key that JSON cannot hold (a sequence, a map, a float that is not finite...).
    #[error("key must be a string")]
    KeyMustBeAString,
    /// serde_json's `RawValue` marker held something other than JSON text.
    #[error("a raw JSON value must be a string of JSON text")]
    RawValue,
    /// An error raised by a type's own `Serialize`.
    #[error("{0}")]
    Custom(String),
}

impl ser::Error for Error {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        Self::Custom(msg.to_string())
    }
}

/// Parses JSON from bytes. UTF-8 is checked once for the whole input, at word speed, so that
/// the parser can take every string as it is; serde_json's `from_slice` checks each string
/// separately (about a hundred instructions for each short key or value). Input that is not
/// UTF-8 goes to `from_slice`, whose error names where the bad bytes are.
pub fn from_slice<'de, T: serde::Deserialize<'de>>(bytes: &'de [u8]) -> serde_json::Result<T> {
    match std::str::from_utf8(bytes) {
        Ok(text) => serde_json::from_str(text),
        Err(_) => serde_json::from_slice(bytes),
    }
}

/// `value` as JSON text.
pub fn to_vec<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, Error> {
    // Most answers and request bodies on the request path fit without growing the buffer.
    let mut out = Vec::with_capacity(1024);
    append(&mut out, value)?;
    Ok(out)
}

/// `value` as JSON text, in a `String`.
pub fn to_string<T: Serialize + ?Sized>(value: &T) -> Result<String, Error> {
    // Always UTF-8: strings come in as `&str` and everything else written is ASCII.
    String::from_utf8(to_vec(value)?).map_err(|_| Error::Custom("JSON text is not UTF-8".into()))
}

/// Appends `value` as JSON text to `out`. On an error `out` may hold part of the value.
pub fn append<T: Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) -> Result<(), Error> {
    value.serialize(&mut Writer { out })
}

/// The serializer: everything goes straight into `out`.
struct Writer<'a> {
    out: &'a mut Vec<u8>,
}

impl<'a> Writer<'a> {
    fn integer(&mut self, n: impl itoa::Integer) -> Result<(), Error> {
        self.out
            .extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
        Ok(())
    }

    fn float(&mut self, n: impl zmij::Float, finite: bool) {
        if finite {
            self.out
                .extend_from_slice(zmij::Buffer::new().format_finite(n).as_bytes());
        } else {
            self.out.extend_from_slice(b"null");
        }
    }

    /// Opens an object or array; an empty one is closed at once, as serde_json does when it
    /// knows the length is zero.
    fn open<'w>(&'w mut self, open: u8, close: u8, len: Option<usize>) -> Compound<'w, 'a> {
        self.out.push(open);
        let state = if len == Some(0) {
            self.out.push(close);
            State::Empty
        } else {
            State::First
        };
        Compound {
            writer: self,
            state,
        }
    }

    /// `{"variant":` of an externally tagged enum variant with content.
    fn open_variant(&mut self, variant: &str) {
        self.out.push(b'{');
        escape::write_str(self.out, variant);
        self.out.push(b':');
    }
}

/// Where a compound value (array, object, struct) is in its writing.
#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    /// Opened and closed already (known to be empty).
    Empty,
    /// Nothing written inside yet.
    First,
    /// At least one element written.
    Rest,
}

/// An array or object being written.
struct Compound<'w, 'a> {
    writer: &'w mut Writer<'a>,
    state: State,
}

impl Compound<'_, '_> {
    /// The comma before every element but the first.
    fn separate(&mut self) {
        if self.state == State::Rest {
            self.writer.out.push(b',');
        }
        self.state = State::Rest;
    }

    fn element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.separate();
        value.serialize(&mut *self.writer)
    }

    fn field<T: Serialize + ?Sized>(&mut self, name: &str, value: &T) -> Result<(), Error> {
        self.separate();
        escape::write_str(self.writer.out, name);
        self.writer.out.push(b':');
        value.serialize(&mut *self.writer)
    }

    fn close(self, close: u8) {
        if self.state != State::Empty {
            self.writer.out.push(close);
        }
    }

    /// Closes the content of an enum variant and the object around it (`{"variant":...}`).
    fn close_variant(self, close: u8) {
        let out = &mut *self.writer.out;
        if self.state != State::Empty {
            out.push(close);
        }
        out.push(b'}');
    }
}

impl<'w, 'a> ser::Serializer for &'w mut Writer<'a> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Compound<'w, 'a>;
    type SerializeTuple = Compound<'w, 'a>;
    type SerializeTupleStruct = Compound<'w, 'a>;
    type SerializeTupleVariant = Compound<'w, 'a>;
    type SerializeMap = Compound<'w, 'a>;
    type SerializeStruct = Struct<'w, 'a>;
    type SerializeStructVariant = Compound<'w, 'a>;

    fn serialize_bool(self, v: bool) -> Result<(), Error> {
        self.out
            .extend_from_slice(if v { b"true" } else { b"false" });
        Ok(())
    }

    integers_via!(integer);

    fn serialize_f32(self, v: f32) -> Result<(), Error> {
        self.float(v, v.is_finite());
        Ok(())
    }

    fn serialize_f64(self, v: f64) -> Result<(), Error> {
        self.float(v, v.is_finite());
        Ok(())
    }

    fn serialize_char(self, v: char) -> Result<(), Error> {
        escape::write_str(self.out, v.encode_utf8(&mut [0; 4]));
        Ok(())
    }

    fn serialize_str(self, v: &str) -> Result<(), Error> {
        escape::write_str(self.out, v);
        Ok(())
    }

    fn serialize_bytes(self, v: &[u8]) -> Result<(), Error> {
        use ser::SerializeSeq;
        let mut seq = self.serialize_seq(Some(v.len()))?;
        for b in v {
            seq.serialize_element(b)?;
        }
        seq.end()
    }

    fn serialize_none(self) -> Result<(), Error> {
        self.serialize_unit()
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Error> {
        value.serialize(self)
    }

    fn serialize_unit(self) -> Result<(), Error> {
        self.out.extend_from_slice(b"null");
        Ok(())
    }

    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), Error> {
        self.serialize_unit()
    }

    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), Error> {
        self.serialize_str(variant)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.open_variant(variant);
        value.serialize(&mut *self)?;
        self.out.push(b'}');
        Ok(())
    }

    fn serialize_seq(self, len: Option<usize>) -> Result<Compound<'w, 'a>, Error> {
        Ok(self.open(b'[', b']', len))
    }

    fn serialize_tuple(self, len: usize) -> Result<Compound<'w, 'a>, Error> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        len: usize,
    ) -> Result<Compound<'w, 'a>, Error> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Compound<'w, 'a>, Error> {
        self.open_variant(variant);
        Ok(self.open(b'[', b']', Some(len)))
    }

    fn serialize_map(self, len: Option<usize>) -> Result<Compound<'w, 'a>, Error> {
        Ok(self.open(b'{', b'}', len))
    }

    fn serialize_struct(self, name: &'static str, len: usize) -> Result<Struct<'w, 'a>, Error> {
        if name == raw::TOKEN {
            return Ok(Struct::Raw(self));
        }
        Ok(Struct::Fields(self.open(b'{', b'}', Some(len))))
    }

    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Compound<'w, 'a>, Error> {
        self.open_variant(variant);
        Ok(self.open(b'{', b'}', Some(len)))
    }
}

/// Sequences, tuples and tuple structs: JSON arrays.
macro_rules! arrays {
    ($($serializer:ident::$method:ident),*) => {
        $(
            impl ser::$serializer for Compound<'_, '_> {
                type Ok = ();
                type Error = Error;

                fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
                    self.element(value)
                }

                fn end(self) -> Result<(), Error> {
                    self.close(b']');
                    Ok(())
                }
            }
        )*
    };
}

arrays!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field
);

impl ser::SerializeTupleVariant for Compound<'_, '_> {
    type Ok = ();
    type Error = Error;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.element(value)
    }

    fn end(self) -> Result<(), Error> {
        self.close_variant(b']');
        Ok(())
    }
}

impl ser::SerializeMap for Compound<'_, '_> {
    type Ok = ();
    type Error = Error;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        self.separate();
        key.serialize(key::KeyWriter {
            out: self.writer.out,
        })
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.writer.out.push(b':');
        value.serialize(&mut *self.writer)
    }

    fn end(self) -> Result<(), Error> {
        self.close(b'}');
        Ok(())
    }
}

impl ser::SerializeStructVariant for Compound<'_, '_> {
    type Ok = ();
    type Error = Error;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        name: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.field(name, value)
    }

    fn end(self) -> Result<(), Error> {
        self.close_variant(b'}');
        Ok(())
    }
}

/// A struct being written: its fields as an object, or serde_json's `RawValue` (a struct by
/// a reserved name whose one field is the JSON text), copied as it is.
enum Struct<'w, 'a> {
    /// An ordinary struct.
    Fields(Compound<'w, 'a>),
    /// A `serde_json::value::RawValue`.
    Raw(&'w mut Writer<'a>),
}

impl ser::SerializeStruct for Struct<'_, '_> {
    type Ok = ();
    type Error = Error;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        name: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        match self {
            Self::Fields(compound) => compound.field(name, value),
            Self::Raw(writer) => value.serialize(raw::RawWriter { out: writer.out }),
        }
    }

    fn end(self) -> Result<(), Error> {
        if let Self::Fields(compound) = self {
            compound.close(b'}');
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
