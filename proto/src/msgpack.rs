//! cty's MessagePack encoding of [`Value`]s, the format Terraform uses for every `DynamicValue`.
//!
//! Facts this follows (Terraform `docs/plugin-protocol/object-wire-format.md`, go-cty
//! `cty/msgpack`): null is `nil` for every type; unknown is extension type 0 (`d4 00 00`), or
//! extension type 12 carrying a map of refinements; numbers are the smallest integer that holds
//! them, else a float64, else their decimal text; objects are maps holding every attribute; a
//! `dynamic` value is a two-element array `[type JSON as bin, value]`.

use std::collections::BTreeMap;

use crate::value::{Number, Refinements, Type, Value};

/// Why bytes could not be decoded as a value of the expected type.
#[derive(Debug, thiserror::Error)]
#[error("invalid MessagePack value at {path}: {message}")]
pub struct DecodeError {
    pub path: String,
    pub message: String,
}

/// Why a value could not be encoded under a type.
#[derive(Debug, thiserror::Error)]
#[error("cannot encode value at {path}: {message}")]
pub struct EncodeError {
    pub path: String,
    pub message: String,
}

const UNKNOWN_EXT: i8 = 0;
const REFINED_UNKNOWN_EXT: i8 = 12;

// ---------------------------------------------------------------------------------------------
// Encoding

/// Encodes `value` as a value of type `ty`.
pub fn encode(value: &Value, ty: &Type) -> Result<Vec<u8>, EncodeError> {
    let mut out = Vec::new();
    encode_into(&mut out, value, ty, &mut String::new())?;
    Ok(out)
}

fn fail<T>(path: &str, message: impl Into<String>) -> Result<T, EncodeError> {
    Err(EncodeError {
        path: if path.is_empty() {
            "(root)".into()
        } else {
            path.to_string()
        },
        message: message.into(),
    })
}

fn encode_into(
    out: &mut Vec<u8>,
    value: &Value,
    ty: &Type,
    path: &mut String,
) -> Result<(), EncodeError> {
    // Writing into a Vec cannot fail, so rmp's io results are ignored below.
    match value {
        Value::Null => {
            out.push(0xc0);
            return Ok(());
        }
        Value::Unknown(refinements) => {
            encode_unknown(out, refinements);
            return Ok(());
        }
        _ => {}
    }
    match ty {
        Type::Dynamic => {
            let (concrete_ty, inner) = match value {
                Value::Dynamic(t, v) => ((**t).clone(), &**v),
                other => (infer_type(other), other),
            };
            out.push(0x92);
            let type_json = concrete_ty.to_json().to_string();
            let _ = rmp::encode::write_bin(out, type_json.as_bytes());
            encode_into(out, inner, &concrete_ty, path)
        }
        Type::String => match value {
            Value::String(s) => {
                let _ = rmp::encode::write_str(out, s);
                Ok(())
            }
            other => fail(path, format!("expected a string, found {}", kind_of(other))),
        },
        Type::Bool => match value {
            Value::Bool(b) => {
                let _ = rmp::encode::write_bool(out, *b);
                Ok(())
            }
            other => fail(path, format!("expected a bool, found {}", kind_of(other))),
        },
        Type::Number => match value {
            Value::Number(n) => {
                encode_number(out, n);
                Ok(())
            }
            other => fail(path, format!("expected a number, found {}", kind_of(other))),
        },
        Type::List(elem) | Type::Set(elem) => match value {
            Value::List(items) | Value::Set(items) | Value::Tuple(items) => {
                let _ = rmp::encode::write_array_len(out, items.len() as u32);
                for (i, item) in items.iter().enumerate() {
                    let len = path.len();
                    path.push_str(&format!("[{i}]"));
                    encode_into(out, item, elem, path)?;
                    path.truncate(len);
                }
                Ok(())
            }
            other => fail(
                path,
                format!("expected a collection, found {}", kind_of(other)),
            ),
        },
        Type::Tuple(elems) => match value {
            Value::Tuple(items) | Value::List(items) if items.len() == elems.len() => {
                let _ = rmp::encode::write_array_len(out, items.len() as u32);
                for (i, (item, t)) in items.iter().zip(elems).enumerate() {
                    let len = path.len();
                    path.push_str(&format!("[{i}]"));
                    encode_into(out, item, t, path)?;
                    path.truncate(len);
                }
                Ok(())
            }
            other => fail(
                path,
                format!(
                    "expected a tuple of {} elements, found {}",
                    elems.len(),
                    kind_of(other)
                ),
            ),
        },
        Type::Map(elem) => match value {
            Value::Map(entries) | Value::Object(entries) => {
                let _ = rmp::encode::write_map_len(out, entries.len() as u32);
                for (k, v) in entries {
                    let _ = rmp::encode::write_str(out, k);
                    let len = path.len();
                    path.push_str(&format!("[{k:?}]"));
                    encode_into(out, v, elem, path)?;
                    path.truncate(len);
                }
                Ok(())
            }
            other => fail(path, format!("expected a map, found {}", kind_of(other))),
        },
        Type::Object(attrs) => match value {
            Value::Object(entries) | Value::Map(entries) => {
                if let Some(extra) = entries.keys().find(|k| !attrs.contains_key(*k)) {
                    return fail(path, format!("unsupported attribute {extra:?}"));
                }
                let _ = rmp::encode::write_map_len(out, attrs.len() as u32);
                for (name, t) in attrs {
                    let _ = rmp::encode::write_str(out, name);
                    let len = path.len();
                    if !path.is_empty() {
                        path.push('.');
                    }
                    path.push_str(name);
                    encode_into(out, entries.get(name).unwrap_or(&Value::Null), t, path)?;
                    path.truncate(len);
                }
                Ok(())
            }
            other => fail(
                path,
                format!("expected an object, found {}", kind_of(other)),
            ),
        },
    }
}

fn encode_number(out: &mut Vec<u8>, n: &Number) {
    match n {
        Number::Int(i) => {
            let _ = rmp::encode::write_sint(out, *i);
        }
        Number::UInt(u) => {
            let _ = rmp::encode::write_uint(out, *u);
        }
        Number::Float(f) => {
            if f.is_finite() && f.fract() == 0.0 && f.abs() < 9.0e15 {
                let _ = rmp::encode::write_sint(out, *f as i64);
            } else {
                let _ = rmp::encode::write_f64(out, *f);
            }
        }
        Number::Decimal(text) => {
            let _ = rmp::encode::write_str(out, text);
        }
    }
}

fn encode_unknown(out: &mut Vec<u8>, r: &Refinements) {
    if r.is_empty() {
        out.extend_from_slice(&[0xd4, UNKNOWN_EXT as u8, 0x00]);
        return;
    }
    let mut payload = Vec::new();
    let count = [
        r.nullness.is_some(),
        r.string_prefix.is_some(),
        r.number_lower.is_some(),
        r.number_upper.is_some(),
        r.length_lower.is_some(),
        r.length_upper.is_some(),
    ]
    .iter()
    .filter(|x| **x)
    .count();
    let _ = rmp::encode::write_map_len(&mut payload, count as u32);
    if let Some(nullness) = r.nullness {
        let _ = rmp::encode::write_sint(&mut payload, 1);
        let _ = rmp::encode::write_bool(&mut payload, nullness);
    }
    if let Some(prefix) = &r.string_prefix {
        let _ = rmp::encode::write_sint(&mut payload, 2);
        let _ = rmp::encode::write_str(&mut payload, prefix);
    }
    for (key, bound) in [(3, &r.number_lower), (4, &r.number_upper)] {
        if let Some((n, inclusive)) = bound {
            let _ = rmp::encode::write_sint(&mut payload, key);
            let _ = rmp::encode::write_array_len(&mut payload, 2);
            encode_number(&mut payload, n);
            let _ = rmp::encode::write_bool(&mut payload, *inclusive);
        }
    }
    for (key, bound) in [(5, r.length_lower), (6, r.length_upper)] {
        if let Some(n) = bound {
            let _ = rmp::encode::write_sint(&mut payload, key);
            let _ = rmp::encode::write_sint(&mut payload, n);
        }
    }
    let _ = rmp::encode::write_ext_meta(out, payload.len() as u32, REFINED_UNKNOWN_EXT);
    out.extend_from_slice(&payload);
}

/// The type a value would have if it had been written literally (used for `dynamic` attributes
/// whose value carries no type of its own).
pub fn infer_type(value: &Value) -> Type {
    match value {
        Value::Null | Value::Unknown(_) => Type::Dynamic,
        Value::String(_) => Type::String,
        Value::Number(_) => Type::Number,
        Value::Bool(_) => Type::Bool,
        Value::List(items) => Type::list(items.first().map(infer_type).unwrap_or(Type::Dynamic)),
        Value::Set(items) => Type::set(items.first().map(infer_type).unwrap_or(Type::Dynamic)),
        Value::Tuple(items) => Type::Tuple(items.iter().map(infer_type).collect()),
        Value::Map(entries) => Type::map(
            entries
                .values()
                .next()
                .map(infer_type)
                .unwrap_or(Type::Dynamic),
        ),
        Value::Object(entries) => Type::Object(
            entries
                .iter()
                .map(|(k, v)| (k.clone(), infer_type(v)))
                .collect(),
        ),
        Value::Dynamic(t, _) => (**t).clone(),
    }
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Unknown(_) => "an unknown value",
        Value::String(_) => "a string",
        Value::Number(_) => "a number",
        Value::Bool(_) => "a bool",
        Value::List(_) => "a list",
        Value::Set(_) => "a set",
        Value::Map(_) => "a map",
        Value::Object(_) => "an object",
        Value::Tuple(_) => "a tuple",
        Value::Dynamic(..) => "a dynamic value",
    }
}

// ---------------------------------------------------------------------------------------------
// Decoding

/// Decodes bytes as a value of type `ty`. Empty input is a null value.
pub fn decode(bytes: &[u8], ty: &Type) -> Result<Value, DecodeError> {
    if bytes.is_empty() {
        return Ok(Value::Null);
    }
    let mut reader = Reader {
        rest: bytes,
        path: String::new(),
    };
    let value = reader.value(ty)?;
    if !reader.rest.is_empty() {
        return reader.error(format!(
            "{} trailing bytes after the value",
            reader.rest.len()
        ));
    }
    Ok(value)
}

struct Reader<'a> {
    /// What is left to read.
    rest: &'a [u8],
    path: String,
}

/// One MessagePack item header: the format family and, for strings, binaries, arrays, maps and
/// extensions, the length of what follows.
enum Item {
    Nil,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    Str(usize),
    Bin(usize),
    Array(usize),
    Map(usize),
    Ext(i8, usize),
}

impl<'a> Reader<'a> {
    fn error<T>(&self, message: impl Into<String>) -> Result<T, DecodeError> {
        Err(DecodeError {
            path: if self.path.is_empty() {
                "(root)".into()
            } else {
                self.path.clone()
            },
            message: message.into(),
        })
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if self.rest.len() < n {
            return self.error("unexpected end of data");
        }
        let (slice, rest) = self.rest.split_at(n);
        self.rest = rest;
        Ok(slice)
    }

    /// Reads one item header with rmp: the marker says which family follows, and rmp's readers
    /// for that family decode the value or length (every marker and width of the specification).
    fn item(&mut self) -> Result<Item, DecodeError> {
        use rmp::decode as rd;
        use rmp::Marker;

        let mut input = rd::Bytes::new(self.rest);
        // Peek at the marker on a copy; rmp's family readers below read it again.
        let mut peek = input;
        let marker = match rd::read_marker(&mut peek) {
            Ok(marker) => marker,
            Err(_) => return self.error("unexpected end of data"),
        };
        let len = |n: u32| n as usize;
        let item = match marker {
            Marker::Reserved => return self.error("byte 0xc1 is never used in MessagePack"),
            Marker::Null => rd::read_nil(&mut input).map(|()| Item::Nil).ok(),
            Marker::True | Marker::False => rd::read_bool(&mut input).map(Item::Bool).ok(),
            // u64 above i64::MAX is the one integer that needs its own representation.
            Marker::U64 => rd::read_u64(&mut input)
                .ok()
                .map(|u| i64::try_from(u).map_or(Item::UInt(u), Item::Int)),
            Marker::FixPos(_)
            | Marker::FixNeg(_)
            | Marker::U8
            | Marker::U16
            | Marker::U32
            | Marker::I8
            | Marker::I16
            | Marker::I32
            | Marker::I64 => rd::read_int::<i64, _>(&mut input).map(Item::Int).ok(),
            Marker::F32 => rd::read_f32(&mut input)
                .map(|f| Item::Float(f64::from(f)))
                .ok(),
            Marker::F64 => rd::read_f64(&mut input).map(Item::Float).ok(),
            Marker::FixStr(_) | Marker::Str8 | Marker::Str16 | Marker::Str32 => {
                rd::read_str_len(&mut input).map(|n| Item::Str(len(n))).ok()
            }
            Marker::Bin8 | Marker::Bin16 | Marker::Bin32 => {
                rd::read_bin_len(&mut input).map(|n| Item::Bin(len(n))).ok()
            }
            Marker::FixArray(_) | Marker::Array16 | Marker::Array32 => {
                rd::read_array_len(&mut input)
                    .map(|n| Item::Array(len(n)))
                    .ok()
            }
            Marker::FixMap(_) | Marker::Map16 | Marker::Map32 => {
                rd::read_map_len(&mut input).map(|n| Item::Map(len(n))).ok()
            }
            Marker::FixExt1
            | Marker::FixExt2
            | Marker::FixExt4
            | Marker::FixExt8
            | Marker::FixExt16
            | Marker::Ext8
            | Marker::Ext16
            | Marker::Ext32 => rd::read_ext_meta(&mut input)
                .map(|meta| Item::Ext(meta.typeid, len(meta.size)))
                .ok(),
        };
        // The marker was read ahead, so the only failure left is input that ends too early.
        let Some(item) = item else {
            return self.error("unexpected end of data");
        };
        self.rest = input.remaining_slice();
        Ok(item)
    }

    fn string(&mut self, len: usize) -> Result<String, DecodeError> {
        let bytes = self.take(len)?;
        match std::str::from_utf8(bytes) {
            Ok(s) => Ok(s.to_string()),
            Err(_) => self.error("string is not valid UTF-8"),
        }
    }

    fn value(&mut self, ty: &Type) -> Result<Value, DecodeError> {
        let item = self.item()?;
        match item {
            Item::Nil => return Ok(Value::Null),
            Item::Ext(code, len) => return self.unknown(code, len),
            _ => {}
        }
        match ty {
            Type::Dynamic => {
                let Item::Array(2) = item else {
                    return self.error("a dynamic value must be a [type, value] pair");
                };
                let type_json = match self.item()? {
                    Item::Bin(len) | Item::Str(len) => self.take(len)?.to_vec(),
                    _ => return self.error("the type of a dynamic value must be JSON text"),
                };
                let json: serde_json::Value = match serde_json::from_slice(&type_json) {
                    Ok(j) => j,
                    Err(e) => return self.error(format!("bad type JSON in dynamic value: {e}")),
                };
                let concrete = match Type::from_json(&json) {
                    Ok(t) => t,
                    Err(e) => return self.error(format!("bad type in dynamic value: {e}")),
                };
                let inner = self.value(&concrete)?;
                Ok(Value::Dynamic(Box::new(concrete), Box::new(inner)))
            }
            Type::String => match item {
                Item::Str(len) => Ok(Value::String(self.string(len)?)),
                _ => self.error("expected a string"),
            },
            Type::Bool => match item {
                Item::Bool(b) => Ok(Value::Bool(b)),
                _ => self.error("expected a bool"),
            },
            Type::Number => self.number(item).map(Value::Number),
            Type::List(elem) | Type::Set(elem) => {
                let Item::Array(len) = item else {
                    return self.error("expected an array");
                };
                let mut items = Vec::with_capacity(len.min(4096));
                for i in 0..len {
                    let saved = self.path.len();
                    self.path.push_str(&format!("[{i}]"));
                    items.push(self.value(elem)?);
                    self.path.truncate(saved);
                }
                Ok(if matches!(ty, Type::Set(_)) {
                    Value::Set(items)
                } else {
                    Value::List(items)
                })
            }
            Type::Tuple(elems) => {
                let Item::Array(len) = item else {
                    return self.error("expected an array");
                };
                if len != elems.len() {
                    return self.error(format!(
                        "a tuple of {} elements is required ({len} given)",
                        elems.len()
                    ));
                }
                let mut items = Vec::with_capacity(len);
                for (i, t) in elems.iter().enumerate() {
                    let saved = self.path.len();
                    self.path.push_str(&format!("[{i}]"));
                    items.push(self.value(t)?);
                    self.path.truncate(saved);
                }
                Ok(Value::Tuple(items))
            }
            Type::Map(elem) => {
                let Item::Map(len) = item else {
                    return self.error("expected a map");
                };
                let mut entries = BTreeMap::new();
                for _ in 0..len {
                    let key = self.key()?;
                    let saved = self.path.len();
                    self.path.push_str(&format!("[{key:?}]"));
                    let v = self.value(elem)?;
                    self.path.truncate(saved);
                    entries.insert(key, v);
                }
                Ok(Value::Map(entries))
            }
            Type::Object(attrs) => {
                let Item::Map(len) = item else {
                    return self.error("expected an object");
                };
                let mut entries = BTreeMap::new();
                for _ in 0..len {
                    let key = self.key()?;
                    let Some(attr_ty) = attrs.get(&key) else {
                        return self.error(format!("unsupported attribute {key:?}"));
                    };
                    let saved = self.path.len();
                    if !self.path.is_empty() {
                        self.path.push('.');
                    }
                    self.path.push_str(&key);
                    let v = self.value(attr_ty)?;
                    self.path.truncate(saved);
                    entries.insert(key, v);
                }
                for name in attrs.keys() {
                    entries.entry(name.clone()).or_insert(Value::Null);
                }
                Ok(Value::Object(entries))
            }
        }
    }

    fn key(&mut self) -> Result<String, DecodeError> {
        match self.item()? {
            Item::Str(len) => self.string(len),
            _ => self.error("map keys must be strings"),
        }
    }

    fn number(&mut self, item: Item) -> Result<Number, DecodeError> {
        match item {
            Item::Int(i) => Ok(Number::Int(i)),
            Item::UInt(u) => Ok(Number::UInt(u)),
            Item::Float(f) => Ok(Number::Float(f)),
            Item::Str(len) => {
                let text = self.string(len)?;
                match Number::parse(&text) {
                    Some(n) => Ok(n),
                    None => self.error(format!("{text:?} is not a number")),
                }
            }
            _ => self.error("expected a number"),
        }
    }

    fn unknown(&mut self, code: i8, len: usize) -> Result<Value, DecodeError> {
        let payload = self.take(len)?;
        if code != REFINED_UNKNOWN_EXT || len <= 1 {
            return Ok(Value::unknown());
        }
        let mut sub = Reader {
            rest: payload,
            path: self.path.clone(),
        };
        let Item::Map(count) = sub.item()? else {
            return self.error("refinements of an unknown value must be a map");
        };
        let mut r = Refinements::default();
        for _ in 0..count {
            let key = match sub.item()? {
                Item::Int(k) => k,
                _ => return self.error("refinement keys must be integers"),
            };
            match key {
                1 => match sub.item()? {
                    Item::Bool(b) => r.nullness = Some(b),
                    _ => return self.error("nullness refinement must be a bool"),
                },
                2 => match sub.item()? {
                    Item::Str(len) => r.string_prefix = Some(sub.string(len)?),
                    _ => return self.error("string prefix refinement must be a string"),
                },
                3 | 4 => {
                    let Item::Array(2) = sub.item()? else {
                        return self.error("number bound refinement must be [number, inclusive]");
                    };
                    let first = sub.item()?;
                    let n = sub.number(first)?;
                    let Item::Bool(inclusive) = sub.item()? else {
                        return self.error("number bound inclusiveness must be a bool");
                    };
                    if key == 3 {
                        r.number_lower = Some((n, inclusive));
                    } else {
                        r.number_upper = Some((n, inclusive));
                    }
                }
                5 | 6 => match sub.item()? {
                    Item::Int(n) if key == 5 => r.length_lower = Some(n),
                    Item::Int(n) => r.length_upper = Some(n),
                    _ => return self.error("length bound refinement must be an integer"),
                },
                _ => sub.skip()?,
            }
        }
        Ok(Value::Unknown(r))
    }

    /// Skips one complete item (used for refinements this version does not know).
    fn skip(&mut self) -> Result<(), DecodeError> {
        match self.item()? {
            Item::Str(len) | Item::Bin(len) | Item::Ext(_, len) => {
                self.take(len)?;
            }
            Item::Array(len) => {
                for _ in 0..len {
                    self.skip()?;
                }
            }
            Item::Map(len) => {
                for _ in 0..len * 2 {
                    self.skip()?;
                }
            }
            _ => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    //! Byte vectors below are facts from the MessagePack specification (msgpack/msgpack
    //! `spec.md`: formats nil, bool, fixint, int/uint 8-64, float 64, fixstr/str 8, fixarray,
    //! fixmap, bin 8, fixext 1, ext 8) and from Terraform's object wire format
    //! (`object-wire-format.md`: unknown = extension 0; refined unknown = extension 12 with an
    //! integer-keyed map, e.g. `{1: false, 2: "b-"}` captured from Terraform 1.11 as
    //! `c7 07 0c 82 01 c2 02 a2 62 2d`).
    use super::*;

    fn roundtrip(value: Value, ty: Type, bytes: &[u8]) {
        assert_eq!(encode(&value, &ty).unwrap(), bytes, "encoding {value:?}");
        assert_eq!(decode(bytes, &ty).unwrap(), value, "decoding {bytes:02x?}");
    }

    #[test]
    fn null_is_nil_for_every_type() {
        for ty in [
            Type::String,
            Type::Number,
            Type::list(Type::String),
            Type::Dynamic,
            Type::object([("a", Type::Bool)]),
        ] {
            roundtrip(Value::Null, ty, &[0xc0]);
        }
    }

    #[test]
    fn primitives_use_the_spec_formats() {
        roundtrip(Value::Bool(false), Type::Bool, &[0xc2]);
        roundtrip(Value::Bool(true), Type::Bool, &[0xc3]);
        roundtrip(Value::string("hi"), Type::String, &[0xa2, b'h', b'i']);
        roundtrip(Value::string(""), Type::String, &[0xa0]);
        let long = "x".repeat(40);
        let mut str8 = vec![0xd9, 40];
        str8.extend_from_slice(long.as_bytes());
        roundtrip(Value::string(long), Type::String, &str8);
    }

    #[test]
    fn integers_use_the_smallest_format() {
        roundtrip(Value::int(0), Type::Number, &[0x00]);
        roundtrip(Value::int(127), Type::Number, &[0x7f]);
        roundtrip(Value::int(-1), Type::Number, &[0xff]);
        roundtrip(Value::int(-32), Type::Number, &[0xe0]);
        roundtrip(Value::int(128), Type::Number, &[0xcc, 0x80]);
        roundtrip(Value::int(256), Type::Number, &[0xcd, 0x01, 0x00]);
        roundtrip(Value::int(-33), Type::Number, &[0xd0, 0xdf]);
        roundtrip(
            Value::int(70000),
            Type::Number,
            &[0xce, 0x00, 0x01, 0x11, 0x70],
        );
        roundtrip(
            Value::int(-40000),
            Type::Number,
            &[0xd2, 0xff, 0xff, 0x63, 0xc0],
        );
        roundtrip(
            Value::int(i64::MIN),
            Type::Number,
            &[0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0],
        );
        roundtrip(
            Value::Number(Number::UInt(u64::MAX)),
            Type::Number,
            &[0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
        );
    }

    #[test]
    fn decoder_accepts_every_integer_width_and_float32() {
        assert_eq!(
            decode(&[0xd1, 0x00, 0x05], &Type::Number).unwrap(),
            Value::int(5)
        );
        assert_eq!(
            decode(&[0xcf, 0, 0, 0, 0, 0, 0, 0, 9], &Type::Number).unwrap(),
            Value::int(9)
        );
        // float32 1.5 = 0x3fc00000
        assert_eq!(
            decode(&[0xca, 0x3f, 0xc0, 0x00, 0x00], &Type::Number).unwrap(),
            Value::Number(Number::Float(1.5))
        );
    }

    #[test]
    fn fractions_are_float64_and_big_decimals_are_text() {
        // 1.5 as float64 = 0x3ff8000000000000
        roundtrip(
            Value::Number(Number::Float(1.5)),
            Type::Number,
            &[0xcb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0],
        );
        let big = "123456789012345678901234567890";
        // 30 bytes still fit a fixstr (up to 31): marker 0xa0 | 30.
        let mut bytes = vec![0xa0 | big.len() as u8];
        bytes.extend_from_slice(big.as_bytes());
        roundtrip(
            Value::Number(Number::Decimal(big.into())),
            Type::Number,
            &bytes,
        );
        // Infinity travels as float64 (0x7ff0000000000000).
        roundtrip(
            Value::Number(Number::Float(f64::INFINITY)),
            Type::Number,
            &[0xcb, 0x7f, 0xf0, 0, 0, 0, 0, 0, 0],
        );
    }

    #[test]
    fn whole_floats_encode_as_integers() {
        assert_eq!(
            encode(&Value::Number(Number::Float(3.0)), &Type::Number).unwrap(),
            [0x03]
        );
    }

    #[test]
    fn collections_are_arrays_and_maps() {
        roundtrip(
            Value::List(vec![Value::int(1), Value::int(2)]),
            Type::list(Type::Number),
            &[0x92, 0x01, 0x02],
        );
        roundtrip(
            Value::Set(vec![Value::string("a")]),
            Type::set(Type::String),
            &[0x91, 0xa1, b'a'],
        );
        roundtrip(Value::List(vec![]), Type::list(Type::String), &[0x90]);
        roundtrip(
            Value::Map([("k".to_string(), Value::Bool(true))].into()),
            Type::map(Type::Bool),
            &[0x81, 0xa1, b'k', 0xc3],
        );
        roundtrip(
            Value::Tuple(vec![Value::string("a"), Value::int(1)]),
            Type::Tuple(vec![Type::String, Type::Number]),
            &[0x92, 0xa1, b'a', 0x01],
        );
    }

    #[test]
    fn objects_hold_every_attribute_sorted_by_name() {
        let ty = Type::object([("b", Type::String), ("a", Type::Number)]);
        let value = Value::object([("b", Value::string("x"))]);
        let bytes = encode(&value, &ty).unwrap();
        assert_eq!(bytes, [0x82, 0xa1, b'a', 0xc0, 0xa1, b'b', 0xa1, b'x']);
        assert_eq!(
            decode(&bytes, &ty).unwrap(),
            Value::object([("a", Value::Null), ("b", Value::string("x"))])
        );
    }

    #[test]
    fn object_with_an_undeclared_attribute_is_refused_naming_it() {
        let ty = Type::object([("a", Type::Number)]);
        let err = decode(&[0x81, 0xa1, b'z', 0x01], &ty).unwrap_err();
        assert!(
            err.to_string().contains("unsupported attribute \"z\""),
            "{err}"
        );
        let err = encode(&Value::object([("z", Value::int(1))]), &ty).unwrap_err();
        assert!(
            err.to_string().contains("unsupported attribute \"z\""),
            "{err}"
        );
    }

    #[test]
    fn unknown_is_extension_zero() {
        roundtrip(Value::unknown(), Type::String, &[0xd4, 0x00, 0x00]);
        // Any extension code with a short payload reads as a plain unknown (ext 8, length 0).
        assert_eq!(
            decode(&[0xc7, 0x00, 0x00], &Type::String).unwrap(),
            Value::unknown()
        );
    }

    #[test]
    fn refined_unknown_round_trips_its_refinements() {
        let bytes = [0xc7, 0x07, 0x0c, 0x82, 0x01, 0xc2, 0x02, 0xa2, b'b', b'-'];
        let value = Value::Unknown(Refinements {
            nullness: Some(false),
            string_prefix: Some("b-".into()),
            ..Refinements::default()
        });
        roundtrip(value, Type::String, &bytes);
    }

    #[test]
    fn refined_unknown_number_and_length_bounds_decode() {
        // {3: [1, true], 6: 5}
        let payload = [0x82, 0x03, 0x92, 0x01, 0xc3, 0x06, 0x05];
        let mut bytes = vec![0xc7, payload.len() as u8, 0x0c];
        bytes.extend_from_slice(&payload);
        let Value::Unknown(r) = decode(&bytes, &Type::Number).unwrap() else {
            panic!("not unknown")
        };
        assert_eq!(r.number_lower, Some((Number::Int(1), true)));
        assert_eq!(r.length_upper, Some(5));
    }

    #[test]
    fn dynamic_values_carry_their_type_as_json_bytes() {
        let value = Value::Dynamic(Box::new(Type::String), Box::new(Value::string("x")));
        let mut bytes = vec![0x92, 0xc4, 8];
        bytes.extend_from_slice(b"\"string\"");
        bytes.extend_from_slice(&[0xa1, b'x']);
        roundtrip(value, Type::Dynamic, &bytes);
        // The type may also arrive as a str.
        let mut as_str = vec![0x92, 0xa8];
        as_str.extend_from_slice(b"\"string\"");
        as_str.extend_from_slice(&[0xa1, b'x']);
        assert!(matches!(
            decode(&as_str, &Type::Dynamic).unwrap(),
            Value::Dynamic(..)
        ));
    }

    #[test]
    fn a_header_cut_short_and_the_unused_byte_are_errors() {
        // uint 16 with one of its two bytes, str 8 without its length, array 32 with two of four.
        for bytes in [&[0xcd, 0x01][..], &[0xd9], &[0xdd, 0x00, 0x00]] {
            let err = decode(bytes, &Type::Number).unwrap_err();
            assert!(
                err.message.contains("unexpected end"),
                "{bytes:02x?}: {err}"
            );
        }
        let err = decode(&[0xc1], &Type::String).unwrap_err();
        assert!(err.message.contains("0xc1 is never used"), "{err}");
    }

    #[test]
    fn every_extension_width_reads_as_unknown() {
        // fixext 1, ext 8, ext 16 and ext 32, each with extension type 0.
        for bytes in [
            &[0xd4, 0x00, 0x00][..],
            &[0xc7, 0x01, 0x00, 0x00],
            &[0xc8, 0x00, 0x01, 0x00, 0x00],
            &[0xc9, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00],
        ] {
            assert_eq!(
                decode(bytes, &Type::String).unwrap(),
                Value::unknown(),
                "{bytes:02x?}"
            );
        }
    }

    #[test]
    fn truncated_input_is_an_error_with_a_path() {
        let ty = Type::object([("name", Type::String)]);
        let err = decode(&[0x81, 0xa4, b'n', b'a', b'm', b'e', 0xa5, b'x'], &ty).unwrap_err();
        assert_eq!(err.path, "name");
        assert!(err.message.contains("unexpected end"));
    }
}
