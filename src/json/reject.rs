//! The `Serializer` methods of a serializer that accepts only a few kinds of value: each listed
//! method fails with the given error.

/// Implements the listed `Serializer` methods as returning `Err($error)`.
macro_rules! reject {
    ($error:expr; $($method:ident($($arg:ty),*)),* $(,)?) => {
        $(
            fn $method(self, $(_: $arg),*) -> Result<(), Error> {
                Err($error)
            }
        )*
    };
}

/// Implements every compound-value `Serializer` method (sequences, tuples, maps, structs,
/// variants with content) as returning `Err($error)`.
macro_rules! reject_compounds {
    ($error:expr) => {
        type SerializeSeq = serde::ser::Impossible<(), Error>;
        type SerializeTuple = serde::ser::Impossible<(), Error>;
        type SerializeTupleStruct = serde::ser::Impossible<(), Error>;
        type SerializeTupleVariant = serde::ser::Impossible<(), Error>;
        type SerializeMap = serde::ser::Impossible<(), Error>;
        type SerializeStruct = serde::ser::Impossible<(), Error>;
        type SerializeStructVariant = serde::ser::Impossible<(), Error>;

        fn serialize_bytes(self, _: &[u8]) -> Result<(), Error> {
            Err($error)
        }

        fn serialize_newtype_variant<T: serde::Serialize + ?Sized>(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: &T,
        ) -> Result<(), Error> {
            Err($error)
        }

        fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, Error> {
            Err($error)
        }

        fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, Error> {
            Err($error)
        }

        fn serialize_tuple_struct(
            self,
            _: &'static str,
            _: usize,
        ) -> Result<Self::SerializeTupleStruct, Error> {
            Err($error)
        }

        fn serialize_tuple_variant(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: usize,
        ) -> Result<Self::SerializeTupleVariant, Error> {
            Err($error)
        }

        fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, Error> {
            Err($error)
        }

        fn serialize_struct(
            self,
            _: &'static str,
            _: usize,
        ) -> Result<Self::SerializeStruct, Error> {
            Err($error)
        }

        fn serialize_struct_variant(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: usize,
        ) -> Result<Self::SerializeStructVariant, Error> {
            Err($error)
        }
    };
}
