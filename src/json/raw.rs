//! serde_json's `RawValue`: it serializes as a struct with a reserved name whose one field is
//! the JSON text itself, which a JSON writer copies without quoting or escaping.

use super::Error;

/// The name serde_json's `RawValue` gives its struct and its field (serde_json's
/// `raw::TOKEN`, part of how `RawValue` works with any serde_json version that has it).
pub const TOKEN: &str = "$serde_json::private::RawValue";

/// Writes the string it is given as it is: the text of a `RawValue`.
pub struct RawWriter<'a> {
    pub out: &'a mut Vec<u8>,
}

impl serde::Serializer for RawWriter<'_> {
    type Ok = ();
    type Error = Error;

    reject_compounds!(Error::RawValue);
    reject!(Error::RawValue; serialize_bool(bool), serialize_i8(i8), serialize_i16(i16),
        serialize_i32(i32), serialize_i64(i64), serialize_u8(u8), serialize_u16(u16),
        serialize_u32(u32), serialize_u64(u64), serialize_f32(f32), serialize_f64(f64),
        serialize_char(char), serialize_none(), serialize_unit(),
        serialize_unit_struct(&'static str));

    fn serialize_str(self, json: &str) -> Result<(), Error> {
        self.out.extend_from_slice(json.as_bytes());
        Ok(())
    }

    fn serialize_some<T: serde::Serialize + ?Sized>(self, _: &T) -> Result<(), Error> {
        Err(Error::RawValue)
    }

    fn serialize_unit_variant(self, _: &'static str, _: u32, _: &'static str) -> Result<(), Error> {
        Err(Error::RawValue)
    }

    fn serialize_newtype_struct<T: serde::Serialize + ?Sized>(
        self,
        _: &'static str,
        _: &T,
    ) -> Result<(), Error> {
        Err(Error::RawValue)
    }
}
