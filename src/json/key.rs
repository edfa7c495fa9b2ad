//! Map keys: JSON object keys are strings, so strings, characters, unit variants, booleans
//! and numbers are written as strings (numbers and booleans quoted, as serde_json does) and
//! anything else is [`Error::KeyMustBeAString`].

use serde::Serialize;

use super::{escape, Error};

/// Writes one map key.
pub struct KeyWriter<'a> {
    pub out: &'a mut Vec<u8>,
}

impl KeyWriter<'_> {
    fn quoted(self, text: &str) -> Result<(), Error> {
        self.out.push(b'"');
        self.out.extend_from_slice(text.as_bytes());
        self.out.push(b'"');
        Ok(())
    }

    fn integer(self, n: impl itoa::Integer) -> Result<(), Error> {
        self.quoted(itoa::Buffer::new().format(n))
    }

    fn float(self, n: impl zmij::Float, finite: bool) -> Result<(), Error> {
        if !finite {
            return Err(Error::KeyMustBeAString);
        }
        self.quoted(zmij::Buffer::new().format_finite(n))
    }
}

impl serde::Serializer for KeyWriter<'_> {
    type Ok = ();
    type Error = Error;

    reject_compounds!(Error::KeyMustBeAString);
    reject!(Error::KeyMustBeAString; serialize_unit(), serialize_unit_struct(&'static str),
        serialize_none());

    fn serialize_str(self, v: &str) -> Result<(), Error> {
        escape::write_str(self.out, v);
        Ok(())
    }

    fn serialize_char(self, v: char) -> Result<(), Error> {
        self.serialize_str(v.encode_utf8(&mut [0; 4]))
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

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Error> {
        value.serialize(self)
    }

    fn serialize_bool(self, v: bool) -> Result<(), Error> {
        self.quoted(if v { "true" } else { "false" })
    }

    integers_via!(integer);

    fn serialize_f32(self, v: f32) -> Result<(), Error> {
        self.float(v, v.is_finite())
    }

    fn serialize_f64(self, v: f64) -> Result<(), Error> {
        self.float(v, v.is_finite())
    }
}
