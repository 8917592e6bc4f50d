//! Runtime layer: a JSON record into the row shape of a fixed Arrow schema, and back, without
//! losing anything.
//!
//! A [`RowShape`] is made from a table's schema. [`RowShape::to_row`] reads a record (one
//! NDJSON line) against it and writes the row as JSON text, for arrow-json's byte decoder (no
//! `serde_json::Value` on the way: a row costs one pass over the record and one copy of it). A
//! value in a JSON-text column ([`column_list::is_json`]) becomes a string holding exactly the
//! text the record had there (its bytes, not a re-serialisation), a struct or list is walked,
//! a scalar is copied as the record spells it once it is of its column's type. A field the
//! schema does not have, a key given twice or a `null` where the schema has a column is an
//! error naming the field: Arrow would drop the first and could not tell the last from an
//! absent field, so the row would no longer give the record back. [`RowShape::from_row`] is the
//! inverse: the JSON-text columns parsed back (what a reader of the table does).

use std::fmt;

use arrow_schema::{DataType, Field, Schema};
use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use serde_json::value::RawValue;

use crate::runtime::lake::column_list;
use crate::runtime::lake::layout::LayoutError;

/// How the values of one table's records map onto its schema.
#[derive(Debug, Clone)]
pub struct RowShape {
    root: Node,
}

#[derive(Debug, Clone)]
enum Node {
    /// A scalar column: the value kept as the record has it, once it is of the column's type
    /// (Arrow's own decoding would turn `1.5` into the integer 1, or `"1"` into 1).
    Scalar(Scalar),
    /// JSON text: the record's value, as its text.
    Json,
    /// A struct: its fields by name.
    Struct(Fields),
    /// A list of items.
    List(Box<Node>),
}

/// A struct's fields, sorted by name (a binary search finds one).
#[derive(Debug, Clone)]
struct Fields {
    names: Vec<Box<str>>,
    nodes: Vec<Node>,
}

impl Fields {
    fn of<'f>(fields: impl Iterator<Item = &'f std::sync::Arc<Field>>) -> Fields {
        let mut pairs: Vec<(Box<str>, Node)> = fields
            .map(|field| (field.name().as_str().into(), Node::of(field)))
            .collect();
        pairs.sort_by(|a, b| a.0.cmp(&b.0));
        let (names, nodes) = pairs.into_iter().unzip();
        Fields { names, nodes }
    }

    fn find(&self, name: &str) -> Option<usize> {
        self.names.binary_search_by(|n| (**n).cmp(name)).ok()
    }
}

/// The type a scalar column takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scalar {
    Utf8,
    Int64,
    /// A float: also an integer that a float holds exactly (it reads back as `1.0`).
    Float64,
    Boolean,
    /// Another Arrow type: any value but null (Arrow checks it).
    Other,
}

/// The largest integer every smaller one of which a float holds exactly.
const EXACT_IN_F64: u64 = 1 << 53;

/// What a JSON value's text is, read from its spelling (`text` is one valid JSON value).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Null,
    Boolean,
    /// A number with a fraction or an exponent.
    Fraction,
    /// An integer that fits 64 signed bits.
    Integer(i64),
    /// An integer past 64 signed bits.
    BigInteger,
    String,
    Array,
    Object,
}

impl Kind {
    fn of(text: &str) -> Kind {
        match text.as_bytes().first() {
            Some(b'n') => Kind::Null,
            Some(b't' | b'f') => Kind::Boolean,
            Some(b'"') => Kind::String,
            Some(b'[') => Kind::Array,
            Some(b'{') => Kind::Object,
            _ if text.bytes().any(|b| matches!(b, b'.' | b'e' | b'E')) => Kind::Fraction,
            _ => text.parse().map_or(Kind::BigInteger, Kind::Integer),
        }
    }

    /// For messages.
    fn name(self) -> &'static str {
        match self {
            Kind::Null => "null (a column cannot tell null from absent)",
            Kind::Boolean => "a boolean",
            Kind::Fraction => "a fraction",
            Kind::Integer(_) => "an integer",
            Kind::BigInteger => "an integer past 64 bits",
            Kind::String => "a string",
            Kind::Array => "an array",
            Kind::Object => "an object",
        }
    }
}

impl Scalar {
    fn of(data_type: &DataType) -> Scalar {
        match data_type {
            DataType::Utf8 | DataType::LargeUtf8 => Scalar::Utf8,
            DataType::Int64 => Scalar::Int64,
            DataType::Float64 => Scalar::Float64,
            DataType::Boolean => Scalar::Boolean,
            _ => Scalar::Other,
        }
    }

    /// Whether the value spelled `text` (of kind `kind`) is one this column holds exactly.
    fn admits(self, kind: Kind, text: &str) -> bool {
        match (self, kind) {
            (_, Kind::Null) => false,
            (Scalar::Utf8, k) => k == Kind::String,
            (Scalar::Int64, k) => matches!(k, Kind::Integer(_)),
            (Scalar::Float64, Kind::Integer(i)) => i.unsigned_abs() <= EXACT_IN_F64,
            (Scalar::Float64, Kind::Fraction) => text.parse::<f64>().is_ok_and(f64::is_finite),
            (Scalar::Float64, _) => false,
            (Scalar::Boolean, k) => k == Kind::Boolean,
            (Scalar::Other, _) => true,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Scalar::Utf8 => "a string",
            Scalar::Int64 => "a 64-bit integer",
            Scalar::Float64 => "a float",
            Scalar::Boolean => "a boolean",
            Scalar::Other => "a value",
        }
    }
}

impl Node {
    fn of(field: &Field) -> Node {
        match field.data_type() {
            DataType::Struct(children) => Node::Struct(Fields::of(children.iter())),
            DataType::List(item) | DataType::LargeList(item) => {
                Node::List(Box::new(Node::of(item)))
            }
            DataType::Utf8 if column_list::is_json(field) => Node::Json,
            other => Node::Scalar(Scalar::of(other)),
        }
    }
}

impl RowShape {
    /// The shape of rows of `schema`.
    pub fn new(schema: &Schema) -> RowShape {
        RowShape {
            root: Node::Struct(Fields::of(schema.fields().iter())),
        }
    }

    /// Appends to `row` the row of `record` (one JSON object) as JSON text: every value where
    /// the schema has it, JSON-text columns as the text the record had. Fails naming the field
    /// that has no place in the schema, and then leaves `row` as it was.
    pub fn to_row(&self, record: &[u8], row: &mut Vec<u8>) -> Result<(), LayoutError> {
        let mark = row.len();
        let mut de = serde_json::Deserializer::from_slice(record);
        let written = Seed {
            node: &self.root,
            path: Path::Root,
            out: &mut *row,
        }
        .deserialize(&mut de)
        .and_then(|()| de.end());
        written.map_err(|e| {
            row.truncate(mark);
            LayoutError(format!("the record does not fit the table's schema: {e}"))
        })
    }

    /// The record a row read back from the table stands for: JSON-text columns parsed.
    pub fn from_row(&self, row: Value) -> Result<Value, LayoutError> {
        unshape(&self.root, row, &Path::Root)
    }
}

/// Where a value is in the record, for messages (built only when one is needed).
#[derive(Clone, Copy)]
enum Path<'a> {
    Root,
    Field(&'a Path<'a>, &'a str),
    Item(&'a Path<'a>),
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Path::Root => f.write_str("the record"),
            Path::Field(Path::Root, name) => f.write_str(name),
            Path::Field(parent, name) => write!(f, "{parent}.{name}"),
            Path::Item(parent) => write!(f, "{parent}[]"),
        }
    }
}

/// Writes the value it reads, shaped by `node`, into `out`.
struct Seed<'s, 'p, 'o> {
    node: &'s Node,
    path: Path<'p>,
    out: &'o mut Vec<u8>,
}

impl<'de> DeserializeSeed<'de> for Seed<'_, '_, '_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        match self.node {
            Node::Json => {
                let raw: &RawValue = serde::Deserialize::deserialize(d)?;
                serde_json::to_writer(&mut *self.out, raw.get()).map_err(de::Error::custom)
            }
            Node::Scalar(scalar) => {
                let raw: &RawValue = serde::Deserialize::deserialize(d)?;
                let text = raw.get();
                let kind = Kind::of(text);
                if !scalar.admits(kind, text) {
                    return Err(de::Error::custom(format_args!(
                        "{} is {}, but its column holds {}",
                        self.path,
                        kind.name(),
                        scalar.name()
                    )));
                }
                self.out.extend_from_slice(text.as_bytes());
                Ok(())
            }
            Node::Struct(fields) => d.deserialize_map(StructVisitor {
                fields,
                path: self.path,
                out: self.out,
            }),
            Node::List(item) => d.deserialize_seq(ListVisitor {
                item,
                path: self.path,
                out: self.out,
            }),
        }
    }
}

/// The fields of a struct already written, by index (most structs have under 128).
enum Seen {
    Few(u128),
    Many(Vec<bool>),
}

impl Seen {
    fn new(fields: usize) -> Seen {
        if fields <= 128 {
            Seen::Few(0)
        } else {
            Seen::Many(vec![false; fields])
        }
    }

    /// Marks `index` seen: `false` if it was already.
    fn insert(&mut self, index: usize) -> bool {
        match self {
            Seen::Few(bits) => {
                let bit = 1u128 << index;
                let new = *bits & bit == 0;
                *bits |= bit;
                new
            }
            Seen::Many(seen) => !std::mem::replace(&mut seen[index], true),
        }
    }
}

struct StructVisitor<'s, 'p, 'o> {
    fields: &'s Fields,
    path: Path<'p>,
    out: &'o mut Vec<u8>,
}

impl<'de> Visitor<'de> for StructVisitor<'_, '_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "an object at {}", self.path)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = Seen::new(self.fields.names.len());
        self.out.push(b'{');
        let mut first = true;
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            let path = Path::Field(&self.path, &key);
            let Some(index) = self.fields.find(&key) else {
                return Err(de::Error::custom(format_args!(
                    "{path} is not a column of the table's schema"
                )));
            };
            if !seen.insert(index) {
                return Err(de::Error::custom(format_args!("{path} is given twice")));
            }
            if !first {
                self.out.push(b',');
            }
            first = false;
            // The schema's own name: plain text, whatever escapes the record spelled it with.
            serde_json::to_writer(&mut *self.out, &*self.fields.names[index])
                .map_err(de::Error::custom)?;
            self.out.push(b':');
            map.next_value_seed(Seed {
                node: &self.fields.nodes[index],
                path,
                out: &mut *self.out,
            })?;
        }
        self.out.push(b'}');
        Ok(())
    }
}

struct ListVisitor<'s, 'p, 'o> {
    item: &'s Node,
    path: Path<'p>,
    out: &'o mut Vec<u8>,
}

impl<'de> Visitor<'de> for ListVisitor<'_, '_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "an array at {}", self.path)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let path = Path::Item(&self.path);
        self.out.push(b'[');
        let mut first = true;
        loop {
            let mark = self.out.len();
            if !first {
                self.out.push(b',');
            }
            let item = seq.next_element_seed(Seed {
                node: self.item,
                path,
                out: &mut *self.out,
            })?;
            if item.is_none() {
                self.out.truncate(mark);
                break;
            }
            first = false;
        }
        self.out.push(b']');
        Ok(())
    }
}

fn unshape(node: &Node, value: Value, path: &Path<'_>) -> Result<Value, LayoutError> {
    Ok(match (node, value) {
        (Node::Json, Value::String(text)) => serde_json::from_str(&text)
            .map_err(|e| LayoutError(format!("{path} is not JSON text: {e}")))?,
        (Node::Struct(fields), Value::Object(members)) => {
            let mut out = serde_json::Map::new();
            for (key, value) in members {
                let child = Path::Field(path, &key);
                let Some(node) = fields.find(&key).map(|i| &fields.nodes[i]) else {
                    return Err(LayoutError(format!(
                        "{child} is not a column of the table's schema"
                    )));
                };
                let value = unshape(node, value, &child)?;
                out.insert(key, value);
            }
            Value::Object(out)
        }
        (Node::List(item), Value::Array(items)) => Value::Array(
            items
                .into_iter()
                .map(|v| unshape(item, v, &Path::Item(path)))
                .collect::<Result<_, _>>()?,
        ),
        (Node::Scalar(_), value) => value,
        (_, other) => {
            return Err(LayoutError(format!(
                "{path} is {other}, not what the table's schema has there"
            )));
        }
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::collections::HashMap;

    use super::*;
    use crate::runtime::lake::column_list::{ColumnList, ColumnType};

    fn shape() -> RowShape {
        let columns = ColumnList {
            columns: [
                ("time", ColumnType::Int64),
                ("actor.user.uid", ColumnType::Utf8),
                ("resources[].name", ColumnType::Utf8),
                ("resources[].data", ColumnType::Json),
                ("unmapped", ColumnType::Json),
                ("raw_data", ColumnType::Utf8),
            ]
            .into_iter()
            .map(|(p, t)| (p.to_owned(), t))
            .collect(),
        };
        RowShape::new(&columns.to_schema(HashMap::new()).unwrap())
    }

    #[test]
    fn free_form_values_become_their_own_text_and_come_back() {
        let record = br#"{"time":1,"actor":{"user":{"uid":"U1"}},"resources":[{"name":"a","data":{"x": 1.50, "y":[null]}},{"name":"b"}],"unmapped":{"big":123456789012345678901234567890,"s":"\u00e9"},"raw_data":"{\"id\":1}"}"#;
        let mut text = Vec::new();
        shape().to_row(record, &mut text).unwrap();
        let row: Value = serde_json::from_slice(&text).unwrap();
        assert_eq!(row["resources"][0]["data"], r#"{"x": 1.50, "y":[null]}"#);
        assert_eq!(
            row["unmapped"], r#"{"big":123456789012345678901234567890,"s":"\u00e9"}"#,
            "the record's own text, byte for byte"
        );
        assert_eq!(
            row["raw_data"], r#"{"id":1}"#,
            "a string column stays a string"
        );
        let back = shape().from_row(row).unwrap();
        let original: Value = serde_json::from_slice(record).unwrap();
        assert_eq!(back, original);
    }

    #[test]
    fn what_a_row_cannot_carry_is_an_error_naming_the_field() {
        for (record, says) in [
            (
                &br#"{"time":1,"actor":{"user":{"uid":"U1","email":"x"}}}"#[..],
                "actor.user.email is not a column",
            ),
            (br#"{"time":1,"extra":2}"#, "extra is not a column"),
            (
                br#"{"time":1,"resources":[{"name":"a","kind":"k"}]}"#,
                "resources[].kind is not a column",
            ),
            (br#"{"time":null}"#, "time is null"),
            (
                br#"{"time":1.5}"#,
                "time is a fraction, but its column holds a 64-bit integer",
            ),
            (br#"{"time":"1"}"#, "time is a string"),
            (
                br#"{"time":18446744073709551615}"#,
                "an integer past 64 bits",
            ),
            (
                br#"{"raw_data":7}"#,
                "raw_data is an integer, but its column holds a string",
            ),
            (
                br#"{"resources":[{"name":null}]}"#,
                "resources[].name is null",
            ),
            (br#"{"time":1,"time":2}"#, "time is given twice"),
            (br#"{"actor":"ada"}"#, "an object at actor"),
            (br#"{"resources":{}}"#, "an array at resources"),
            (br#"[1]"#, "an object at the record"),
            (br#"{"time":1} x"#, "trailing"),
        ] {
            let mut row = b"before".to_vec();
            let err = shape().to_row(record, &mut row).unwrap_err().to_string();
            assert!(err.contains(says), "{err} lacks {says:?}");
            assert_eq!(row, b"before", "nothing is left half-written");
        }
    }
}
