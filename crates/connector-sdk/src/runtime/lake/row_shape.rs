//! Runtime layer: a JSON record into the row shape of a fixed Arrow schema, and back, without
//! losing anything.
//!
//! A [`RowShape`] is made from a table's schema. [`RowShape::to_row`] reads a record (one
//! NDJSON line) against it: a value in a JSON-text column ([`column_list::is_json`]) becomes a
//! string holding exactly the text the record had there (its bytes, not a re-serialisation), a
//! struct or list is walked, anything else is kept as it is. A field the schema does not have,
//! a key given twice or a `null` where the schema has a column is an error naming the field:
//! Arrow would drop the first and could not tell the last from an absent field, so the row
//! would no longer give the record back. [`RowShape::from_row`] is the inverse: the JSON-text
//! columns parsed back (what a reader of the table does).

use std::collections::HashMap;
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
    Struct(HashMap<Box<str>, Node>),
    /// A list of items.
    List(Box<Node>),
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

    /// Whether `value` is one this column holds exactly.
    fn admits(self, value: &Value) -> bool {
        match (self, value) {
            (_, Value::Null) => false,
            (Scalar::Utf8, v) => v.is_string(),
            (Scalar::Int64, v) => v.is_i64(),
            (Scalar::Float64, Value::Number(n)) => {
                n.is_f64() || n.as_i64().is_some_and(|i| i.unsigned_abs() <= EXACT_IN_F64)
            }
            (Scalar::Float64, _) => false,
            (Scalar::Boolean, v) => v.is_boolean(),
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

/// What kind of JSON value `value` is, for messages.
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null (a column cannot tell null from absent)",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_f64() => "a fraction",
        Value::Number(n) if n.is_u64() && !n.is_i64() => "an integer past 64 bits",
        Value::Number(_) => "an integer",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

impl Node {
    fn of(field: &Field) -> Node {
        match field.data_type() {
            DataType::Struct(children) => Node::Struct(
                children
                    .iter()
                    .map(|child| (child.name().as_str().into(), Node::of(child)))
                    .collect(),
            ),
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
            root: Node::Struct(
                schema
                    .fields()
                    .iter()
                    .map(|field| (field.name().as_str().into(), Node::of(field)))
                    .collect(),
            ),
        }
    }

    /// The row of `record` (one JSON object): every value where the schema has it, JSON-text
    /// columns as the text the record had. Fails naming the field that has no place in the
    /// schema.
    pub fn to_row(&self, record: &[u8]) -> Result<Value, LayoutError> {
        let mut de = serde_json::Deserializer::from_slice(record);
        let row = Seed {
            node: &self.root,
            path: Path::Root,
        }
        .deserialize(&mut de)
        .and_then(|row| de.end().map(|()| row))
        .map_err(|e| LayoutError(format!("the record does not fit the table's schema: {e}")))?;
        Ok(row)
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

struct Seed<'s, 'p> {
    node: &'s Node,
    path: Path<'p>,
}

impl<'de> DeserializeSeed<'de> for Seed<'_, '_> {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        match self.node {
            Node::Json => {
                let raw: &RawValue = serde::Deserialize::deserialize(d)?;
                Ok(Value::String(raw.get().to_owned()))
            }
            Node::Scalar(scalar) => {
                let value: Value = serde::Deserialize::deserialize(d)?;
                if !scalar.admits(&value) {
                    return Err(de::Error::custom(format_args!(
                        "{} is {}, but its column holds {}",
                        self.path,
                        kind(&value),
                        scalar.name()
                    )));
                }
                Ok(value)
            }
            Node::Struct(fields) => d.deserialize_map(StructVisitor {
                fields,
                path: self.path,
            }),
            Node::List(item) => d.deserialize_seq(ListVisitor {
                item,
                path: self.path,
            }),
        }
    }
}

struct StructVisitor<'s, 'p> {
    fields: &'s HashMap<Box<str>, Node>,
    path: Path<'p>,
}

impl<'de> Visitor<'de> for StructVisitor<'_, '_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "an object at {}", self.path)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = serde_json::Map::new();
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            let path = Path::Field(&self.path, &key);
            let Some(node) = self.fields.get(key.as_ref()) else {
                return Err(de::Error::custom(format_args!(
                    "{path} is not a column of the table's schema"
                )));
            };
            let value = map.next_value_seed(Seed { node, path })?;
            if out.contains_key(key.as_ref()) {
                return Err(de::Error::custom(format_args!("{path} is given twice")));
            }
            out.insert(key.into_owned(), value);
        }
        Ok(Value::Object(out))
    }
}

struct ListVisitor<'s, 'p> {
    item: &'s Node,
    path: Path<'p>,
}

impl<'de> Visitor<'de> for ListVisitor<'_, '_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "an array at {}", self.path)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        let path = Path::Item(&self.path);
        while let Some(value) = seq.next_element_seed(Seed {
            node: self.item,
            path,
        })? {
            out.push(value);
        }
        Ok(Value::Array(out))
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
                let Some(node) = fields.get(key.as_str()) else {
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
        let row = shape().to_row(record).unwrap();
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
            let err = shape().to_row(record).unwrap_err().to_string();
            assert!(err.contains(says), "{err} lacks {says:?}");
        }
    }
}
