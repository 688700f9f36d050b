//! The snapshot tape: any `serde::Serialize` value written as one flat array of numbers plus
//! one text, for a JS reader (`src/web/tape.js`) to rebuild as plain objects in one pass.
//!
//! Why: `serde-wasm-bindgen` builds a JS object with two or three calls across the wasm
//! boundary per field (key, value, set), about 10⁴ of them for a full KPI snapshot, and in
//! Chromium that was 60–70 % of a snapshot's time. The tape crosses once.
//!
//! The result equals `serde_wasm_bindgen::Serializer::json_compatible()`'s: structs and maps
//! are objects (keys in serialization order), sequences, tuples and bytes are arrays, `None`
//! and `()` are `null`, integers are numbers when |v| ≤ 2⁵³ − 1 (else an error), unit variants
//! are their name, other variants `{ name: value }`.
//!
//! Layout of `nums` (every entry an `f64`):
//! - header: [`TAPE_VERSION`], the index in `nums` of the key section, the UTF-16 offset in
//!   `text` of the key section;
//! - one value, then zero or more row lists (see [`Tape::begin_rows`]);
//! - the key section: the number of keys new to the reader, then each one's UTF-16 length
//!   (their text follows the values' text).
//!
//! A value is an op code and its operands: [`OP_NULL`], [`OP_FALSE`], [`OP_TRUE`],
//! [`OP_NUM`] `x`, [`OP_STR`] `len` (the next `len` UTF-16 units of `text`), [`OP_ARR`] `n`
//! and `n` values, [`OP_OBJ`] `n` and `n` (key, value) pairs. A key is `k ≥ 0`, the `k`-th
//! struct field name the reader was sent (names are sent once per [`Tape`]), or `−2 − len`, a
//! name of `len` UTF-16 units read from `text` (map keys).

use std::fmt;

use serde::ser::{self, Serialize};

use crate::kpi::util::FxMap;

/// Format version, the first number of every tape.
pub const TAPE_VERSION: f64 = 1.0;
/// `null` (`None`, `()`, unit structs).
pub const OP_NULL: f64 = 0.0;
/// `false`.
pub const OP_FALSE: f64 = 1.0;
/// `true`.
pub const OP_TRUE: f64 = 2.0;
/// A number; the next entry is its value.
pub const OP_NUM: f64 = 3.0;
/// A string; the next entry is its length in UTF-16 units.
pub const OP_STR: f64 = 4.0;
/// An array; the next entry is its length, then its values.
pub const OP_ARR: f64 = 5.0;
/// An object; the next entry is its number of fields, then (key, value) pairs.
pub const OP_OBJ: f64 = 6.0;

/// Entries of [`Tape`]'s direct-mapped key cache (a power of two).
const KEY_CACHE: usize = 512;

/// Largest integer a JS number holds exactly (`Number.MAX_SAFE_INTEGER`).
const MAX_SAFE_INTEGER: i64 = (1 << 53) - 1;

/// A value that cannot be written (an integer beyond 2⁵³ − 1, a map key that is not a string
/// or number, or a custom serializer's error).
#[derive(Debug, Clone, PartialEq)]
pub struct TapeError(pub String);

impl fmt::Display for TapeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TapeError {}

impl ser::Error for TapeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        TapeError(msg.to_string())
    }
}

/// A tape writer for one reader: it remembers which struct field names that reader was sent.
#[derive(Debug, Default)]
pub struct Tape {
    /// Header, values, row lists and key section (see the module doc).
    pub nums: Vec<f64>,
    /// Strings' text, then the new keys' text.
    pub text: String,
    /// UTF-16 length of `text` so far.
    text_len16: usize,
    /// Field name (by address and length) → key index, over the reader's whole life.
    key_index: FxMap<(usize, usize), u32>,
    /// Recent `key_index` hits, direct-mapped by address (most fields resolve here).
    key_cache: Vec<(usize, usize, u32)>,
    /// Field names in key-index order.
    keys: Vec<&'static str>,
    /// Keys the reader has (sent by earlier tapes).
    keys_sent: usize,
}

/// UTF-16 length of `s` (what JS `String.length` says).
fn len16(s: &str) -> usize {
    if s.is_ascii() {
        s.len()
    } else {
        s.encode_utf16().count()
    }
}

impl Tape {
    /// A writer whose reader has no keys yet.
    pub fn new() -> Tape {
        Tape::default()
    }

    /// Starts a tape: clears the buffers and writes the header.
    pub fn begin(&mut self) {
        self.nums.clear();
        self.text.clear();
        self.text_len16 = 0;
        self.nums.extend_from_slice(&[TAPE_VERSION, 0.0, 0.0]);
    }

    /// Appends one value.
    pub fn value<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), TapeError> {
        v.serialize(&mut *self)
    }

    /// Starts a row list: `path` (field names from the value's root) says where the reader puts
    /// the array of `rows` rows that follow, each written by [`Tape::reused_row`] or
    /// [`Tape::new_row`]. The reader keeps rows per list and per slot between tapes.
    pub fn begin_rows(&mut self, path: &[&'static str], rows: usize) {
        self.nums.push(path.len() as f64);
        for p in path {
            let k = self.key(p);
            self.nums.push(k);
        }
        self.nums.push(rows as f64);
    }

    /// A row the reader already holds in `slot` (unchanged since it was sent).
    pub fn reused_row(&mut self, slot: usize) {
        self.nums.push(slot as f64);
        self.nums.push(0.0);
    }

    /// A new or changed row, kept by the reader in `slot` (frozen, shared by later tapes).
    pub fn new_row<T: Serialize + ?Sized>(
        &mut self,
        slot: usize,
        row: &T,
    ) -> Result<(), TapeError> {
        self.nums.push(slot as f64);
        self.nums.push(1.0);
        self.value(row)
    }

    /// Ends the tape: appends the key section (the field names new to the reader) and fills in
    /// the header. The reader has every key afterwards.
    pub fn finish(&mut self) {
        self.nums[1] = self.nums.len() as f64;
        self.nums[2] = self.text_len16 as f64;
        let new = &self.keys[self.keys_sent..];
        self.nums.push(new.len() as f64);
        for k in new {
            self.nums.push(len16(k) as f64);
            self.text.push_str(k);
        }
        self.keys_sent = self.keys.len();
    }

    fn key(&mut self, name: &'static str) -> f64 {
        let (at, len) = (name.as_ptr() as usize, name.len());
        if self.key_cache.is_empty() {
            self.key_cache = vec![(0, 0, 0); KEY_CACHE];
        }
        let c = (at >> 2) & (KEY_CACHE - 1);
        let e = self.key_cache[c];
        if e.0 == at && e.1 == len {
            return e.2 as f64;
        }
        let next = self.keys.len() as u32;
        let k = *self.key_index.entry((at, len)).or_insert(next);
        if k == next {
            self.keys.push(name);
        }
        self.key_cache[c] = (at, len, k);
        k as f64
    }

    fn push_text(&mut self, s: &str) -> f64 {
        let n = len16(s);
        self.text.push_str(s);
        self.text_len16 += n;
        n as f64
    }

    fn string(&mut self, s: &str) {
        let n = self.push_text(s);
        self.nums.push(OP_STR);
        self.nums.push(n);
    }

    fn dynamic_key(&mut self, s: &str) {
        let n = self.push_text(s);
        self.nums.push(-2.0 - n);
    }

    fn int(&mut self, v: i64) -> Result<(), TapeError> {
        if (-MAX_SAFE_INTEGER..=MAX_SAFE_INTEGER).contains(&v) {
            self.nums.push(OP_NUM);
            self.nums.push(v as f64);
            Ok(())
        } else {
            Err(TapeError(format!(
                "{v} can't be represented as a JavaScript number"
            )))
        }
    }

    /// Opens an array or object whose length is filled in by [`Compound::end`].
    fn open(&mut self, op: f64) -> Compound<'_> {
        self.nums.push(op);
        let at = self.nums.len();
        self.nums.push(0.0);
        Compound {
            tape: self,
            at,
            n: 0,
        }
    }

    /// `{ variant: … }`: an object of one field whose value the caller writes next.
    fn variant(&mut self, variant: &'static str) {
        self.nums.extend_from_slice(&[OP_OBJ, 1.0]);
        let k = self.key(variant);
        self.nums.push(k);
    }
}

/// An array or object being written; `end` fills in its length.
#[doc(hidden)]
pub struct Compound<'a> {
    tape: &'a mut Tape,
    at: usize,
    n: u32,
}

impl Compound<'_> {
    fn end(self) -> Result<(), TapeError> {
        self.tape.nums[self.at] = self.n as f64;
        Ok(())
    }
    fn element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), TapeError> {
        self.n += 1;
        v.serialize(&mut *self.tape)
    }
    fn field<T: Serialize + ?Sized>(&mut self, key: &'static str, v: &T) -> Result<(), TapeError> {
        self.n += 1;
        let k = self.tape.key(key);
        self.tape.nums.push(k);
        v.serialize(&mut *self.tape)
    }
}

macro_rules! ints {
    ($($f:ident: $t:ty),*) => {$(
        fn $f(self, v: $t) -> Result<(), TapeError> {
            self.int(v as i64)
        }
    )*};
}

impl<'a> ser::Serializer for &'a mut Tape {
    type Ok = ();
    type Error = TapeError;
    type SerializeSeq = Compound<'a>;
    type SerializeTuple = Compound<'a>;
    type SerializeTupleStruct = Compound<'a>;
    type SerializeTupleVariant = Compound<'a>;
    type SerializeMap = Compound<'a>;
    type SerializeStruct = Compound<'a>;
    type SerializeStructVariant = Compound<'a>;

    fn serialize_bool(self, v: bool) -> Result<(), TapeError> {
        self.nums.push(if v { OP_TRUE } else { OP_FALSE });
        Ok(())
    }
    ints!(serialize_i8: i8, serialize_i16: i16, serialize_i32: i32, serialize_i64: i64,
          serialize_u8: u8, serialize_u16: u16, serialize_u32: u32);
    fn serialize_u64(self, v: u64) -> Result<(), TapeError> {
        match i64::try_from(v) {
            Ok(v) => self.int(v),
            Err(_) => Err(TapeError(format!(
                "{v} can't be represented as a JavaScript number"
            ))),
        }
    }
    fn serialize_f32(self, v: f32) -> Result<(), TapeError> {
        self.serialize_f64(v as f64)
    }
    fn serialize_f64(self, v: f64) -> Result<(), TapeError> {
        self.nums.push(OP_NUM);
        self.nums.push(v);
        Ok(())
    }
    fn serialize_char(self, v: char) -> Result<(), TapeError> {
        self.string(v.encode_utf8(&mut [0; 4]));
        Ok(())
    }
    fn serialize_str(self, v: &str) -> Result<(), TapeError> {
        self.string(v);
        Ok(())
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<(), TapeError> {
        let mut c = self.open(OP_ARR);
        for b in v {
            c.element(b)?;
        }
        c.end()
    }
    fn serialize_none(self) -> Result<(), TapeError> {
        self.serialize_unit()
    }
    fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> Result<(), TapeError> {
        v.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), TapeError> {
        self.nums.push(OP_NULL);
        Ok(())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), TapeError> {
        self.serialize_unit()
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<(), TapeError> {
        self.serialize_str(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        v: &T,
    ) -> Result<(), TapeError> {
        v.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        v: &T,
    ) -> Result<(), TapeError> {
        self.variant(variant);
        v.serialize(self)
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Compound<'a>, TapeError> {
        Ok(self.open(OP_ARR))
    }
    fn serialize_tuple(self, _: usize) -> Result<Compound<'a>, TapeError> {
        Ok(self.open(OP_ARR))
    }
    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Compound<'a>, TapeError> {
        Ok(self.open(OP_ARR))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Compound<'a>, TapeError> {
        self.variant(variant);
        Ok(self.open(OP_ARR))
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Compound<'a>, TapeError> {
        Ok(self.open(OP_OBJ))
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Compound<'a>, TapeError> {
        Ok(self.open(OP_OBJ))
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Compound<'a>, TapeError> {
        self.variant(variant);
        Ok(self.open(OP_OBJ))
    }
}

/// The compound traits whose elements have no key: array elements.
macro_rules! elements {
    ($($trait:ident :: $method:ident),*) => {$(
        impl ser::$trait for Compound<'_> {
            type Ok = ();
            type Error = TapeError;
            fn $method<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), TapeError> {
                self.element(v)
            }
            fn end(self) -> Result<(), TapeError> {
                Compound::end(self)
            }
        }
    )*};
}

elements!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field
);

/// The compound traits whose elements are named fields: object fields.
macro_rules! fields {
    ($($trait:ident),*) => {$(
        impl ser::$trait for Compound<'_> {
            type Ok = ();
            type Error = TapeError;
            fn serialize_field<T: Serialize + ?Sized>(
                &mut self,
                key: &'static str,
                v: &T,
            ) -> Result<(), TapeError> {
                self.field(key, v)
            }
            fn end(self) -> Result<(), TapeError> {
                Compound::end(self)
            }
        }
    )*};
}

fields!(SerializeStruct, SerializeStructVariant);

impl ser::SerializeMap for Compound<'_> {
    type Ok = ();
    type Error = TapeError;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), TapeError> {
        self.n += 1;
        key.serialize(MapKey(&mut *self.tape))
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), TapeError> {
        v.serialize(&mut *self.tape)
    }
    fn end(self) -> Result<(), TapeError> {
        Compound::end(self)
    }
}

/// A map key: strings, chars, booleans and integers become property names (as JS would make
/// them); anything else is an error.
struct MapKey<'a>(&'a mut Tape);

impl MapKey<'_> {
    fn name(self, s: &str) -> Result<(), TapeError> {
        self.0.dynamic_key(s);
        Ok(())
    }
}

fn key_error() -> TapeError {
    TapeError("a map key must be a string or a number".into())
}

fn bad_key() -> Result<(), TapeError> {
    Err(key_error())
}

macro_rules! key_ints {
    ($($f:ident: $t:ty),*) => {$(
        fn $f(self, v: $t) -> Result<(), TapeError> {
            self.name(&v.to_string())
        }
    )*};
}

impl ser::Serializer for MapKey<'_> {
    type Ok = ();
    type Error = TapeError;
    type SerializeSeq = ser::Impossible<(), TapeError>;
    type SerializeTuple = ser::Impossible<(), TapeError>;
    type SerializeTupleStruct = ser::Impossible<(), TapeError>;
    type SerializeTupleVariant = ser::Impossible<(), TapeError>;
    type SerializeMap = ser::Impossible<(), TapeError>;
    type SerializeStruct = ser::Impossible<(), TapeError>;
    type SerializeStructVariant = ser::Impossible<(), TapeError>;

    key_ints!(serialize_bool: bool, serialize_i8: i8, serialize_i16: i16, serialize_i32: i32,
              serialize_i64: i64, serialize_u8: u8, serialize_u16: u16, serialize_u32: u32,
              serialize_u64: u64, serialize_char: char);
    fn serialize_f32(self, v: f32) -> Result<(), TapeError> {
        self.serialize_f64(v as f64)
    }
    fn serialize_f64(self, _: f64) -> Result<(), TapeError> {
        bad_key()
    }
    fn serialize_str(self, v: &str) -> Result<(), TapeError> {
        self.name(v)
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<(), TapeError> {
        bad_key()
    }
    fn serialize_none(self) -> Result<(), TapeError> {
        bad_key()
    }
    fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> Result<(), TapeError> {
        v.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), TapeError> {
        bad_key()
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), TapeError> {
        bad_key()
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<(), TapeError> {
        self.name(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        v: &T,
    ) -> Result<(), TapeError> {
        v.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<(), TapeError> {
        bad_key()
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, TapeError> {
        Err(key_error())
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, TapeError> {
        Err(key_error())
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, TapeError> {
        Err(key_error())
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, TapeError> {
        Err(key_error())
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, TapeError> {
        Err(key_error())
    }
    fn serialize_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStruct, TapeError> {
        Err(key_error())
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, TapeError> {
        Err(key_error())
    }
}

#[cfg(test)]
mod tests;
