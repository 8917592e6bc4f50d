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

use std::sync::Arc;

use arrow_array::{RecordBatch, RecordBatchOptions};
use arrow_schema::{DataType, Field, FieldRef, Schema, SchemaRef};
use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use serde_json::value::RawValue;

use crate::runtime::lake::column_list;
use crate::runtime::lake::layout::LayoutError;

mod columns;
mod scan;

use columns::Column;
use scan::Mode;

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
    /// A list of items (and the items' field, for the list's array).
    List(Box<Node>, FieldRef),
}

/// A struct's fields, sorted by the length of their name, then the name (the order of the
/// struct's child columns), and a hash table that finds a name's index with one hash and, almost
/// always, one compare (a record's every key is looked up here).
#[derive(Debug, Clone)]
struct Fields {
    /// The struct's fields as the schema has them (its arrays' order).
    arrow: arrow_schema::Fields,
    /// For each field of `arrow`, its index among the sorted names.
    sorted_index: Vec<usize>,
    names: Vec<Box<str>>,
    /// Each name as a JSON string (`"name"`), as a row spells it.
    keys: Vec<Box<[u8]>>,
    /// Each key's words ([`KeyWords`]), side by side: one lookup for what tells a key.
    words: Vec<KeyWords>,
    nodes: Vec<Node>,
    /// Open addressing over `names` by [`slot_of`]: an index into `names`, or [`EMPTY_SLOT`].
    slots: Box<[u16]>,
}

/// A key's first eight bytes (fewer for a shorter key) as a little-endian word and the mask of
/// the bytes it has, the same of its bytes 8 to 16 (none: a mask of 0), and its length: one
/// compare tells most keys at a cursor, two a key of up to 16 bytes (most of them), with no call
/// to `memcmp` ([`Fields::key_at`]).
#[derive(Debug, Clone, Copy)]
struct KeyWords {
    head: u64,
    head_mask: u64,
    tail: u64,
    tail_mask: u64,
    len: usize,
}

/// A free slot of [`Fields::slots`].
const EMPTY_SLOT: u16 = u16::MAX;

/// The first slot to probe for `name` in a table of `mask + 1` slots: a multiplicative hash of
/// its length and three of its bytes (names of one struct rarely agree on all four).
fn slot_of(name: &[u8], mask: usize) -> usize {
    let byte = |i: usize| u32::from(name.get(i).copied().unwrap_or_default());
    let len = name.len();
    let key =
        (len as u32) ^ (byte(0) << 8) ^ (byte(len.wrapping_sub(1)) << 16) ^ (byte(len / 2) << 24);
    (key.wrapping_mul(0x9E37_79B1) >> 16) as usize & mask
}

impl Fields {
    fn of(arrow: &arrow_schema::Fields) -> Fields {
        let mut pairs: Vec<(Box<str>, Node)> = arrow
            .iter()
            .map(|field| (field.name().as_str().into(), Node::of(field)))
            .collect();
        pairs.sort_by(|a, b| by_length(&a.0, &b.0));
        let (names, nodes): (Vec<Box<str>>, Vec<Node>) = pairs.into_iter().unzip();
        let keys: Vec<Box<[u8]>> = names
            .iter()
            .map(|name| {
                let mut key = Vec::with_capacity(name.len() + 2);
                // Writing into a Vec cannot fail.
                let _ = serde_json::to_writer(&mut key, &**name);
                key.into_boxed_slice()
            })
            .collect();
        // At least twice the names, so a probe always meets a free slot; a struct has far fewer
        // than `EMPTY_SLOT` fields (a schema's widest has a few hundred).
        let mask = (names.len() * 2).next_power_of_two().max(4) - 1;
        let mut slots = vec![EMPTY_SLOT; mask + 1].into_boxed_slice();
        for (index, name) in names.iter().enumerate().take(usize::from(EMPTY_SLOT)) {
            let mut at = slot_of(name.as_bytes(), mask);
            while slots[at] != EMPTY_SLOT {
                at = (at + 1) & mask;
            }
            slots[at] = index as u16;
        }
        let word_of = |bytes: &[u8]| {
            let len = bytes.len().min(8);
            let mut word = [0u8; 8];
            word[..len].copy_from_slice(&bytes[..len]);
            let mask = if len == 8 {
                u64::MAX
            } else {
                (1u64 << (8 * len)) - 1
            };
            (u64::from_le_bytes(word), mask)
        };
        let words = keys
            .iter()
            .map(|key| {
                let (head, head_mask) = word_of(key);
                let (tail, tail_mask) = word_of(key.get(8..).unwrap_or_default());
                KeyWords {
                    head,
                    head_mask,
                    tail,
                    tail_mask,
                    len: key.len(),
                }
            })
            .collect();
        let mut fields = Fields {
            arrow: arrow.clone(),
            sorted_index: Vec::new(),
            names,
            keys,
            words,
            nodes,
            slots,
        };
        fields.sorted_index = arrow
            .iter()
            .map(|field| fields.find(field.name()).unwrap_or_default())
            .collect();
        fields
    }

    /// The length of key `index` (its JSON spelling, quotes included) if `text` has it at
    /// `at`; `None` if not, or if fewer than eight bytes (sixteen, for a key past eight) are
    /// left (the caller then reads the key and looks it up).
    fn key_at(&self, index: usize, text: &[u8], at: usize) -> Option<usize> {
        let words = self.words.get(index)?;
        let word_at = |at: usize| -> Option<u64> {
            Some(u64::from_le_bytes(text.get(at..at + 8)?.try_into().ok()?))
        };
        if word_at(at)? & words.head_mask != words.head {
            return None;
        }
        if words.len > 16 {
            if text.get(at + 8..at + words.len)? != self.keys.get(index)?.get(8..)? {
                return None;
            }
        } else if words.len > 8 && word_at(at + 8)? & words.tail_mask != words.tail {
            return None;
        }
        Some(words.len)
    }

    fn find(&self, name: &str) -> Option<usize> {
        let mask = self.slots.len() - 1;
        let mut at = slot_of(name.as_bytes(), mask);
        loop {
            let index = usize::from(*self.slots.get(at)?);
            if **self.names.get(index)? == *name {
                return Some(index);
            }
            at = (at + 1) & mask;
        }
    }
}

fn by_length(a: &str, b: &str) -> std::cmp::Ordering {
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
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
            DataType::Struct(children) => Node::Struct(Fields::of(children)),
            DataType::List(item) | DataType::LargeList(item) => {
                Node::List(Box::new(Node::of(item)), Arc::clone(item))
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
            root: Node::Struct(Fields::of(schema.fields())),
        }
    }

    /// Appends to `row` the row of `record` (one JSON object) as JSON text: every value where
    /// the schema has it, JSON-text columns as the text the record had. Fails naming the field
    /// that has no place in the schema, and then leaves `row` as it was.
    /// (Through serde: any record, every error named; [`Rows::push`] is the fast way to a
    /// table's columns.)
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

    /// An empty set of rows of `schema` (the schema this shape was made from), or why the
    /// encoder cannot write it (a column type other than utf8, int64, float64, boolean, a struct
    /// or a list).
    pub fn rows<'s>(&'s self, schema: &SchemaRef) -> Result<Rows<'s>, String> {
        Ok(Rows {
            shape: self,
            schema: Arc::clone(schema),
            columns: Column::of(&self.root, &DataType::Struct(schema.fields().clone()))?,
            text: Vec::new(),
            by_serde: 0,
        })
    }

    /// The record a row read back from the table stands for: JSON-text columns parsed.
    pub fn from_row(&self, row: Value) -> Result<Value, LayoutError> {
        unshape(&self.root, row, &Path::Root)
    }
}

/// Rows of one table gathered into its columns, a chunk at a time.
#[derive(Debug)]
pub struct Rows<'s> {
    shape: &'s RowShape,
    schema: SchemaRef,
    columns: Column,
    /// A row the serde path wrote, for a record the scan declined.
    text: Vec<u8>,
    /// Records the scan declined and serde read.
    by_serde: u64,
}

impl Rows<'_> {
    /// The rows gathered since the last [`Rows::finish`].
    pub fn len(&self) -> usize {
        self.columns.len()
    }

    /// Whether no row was gathered since the last [`Rows::finish`].
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many of the records pushed so far the fast scan left to serde (a test's figure: what
    /// an input writes should never need it).
    pub fn by_serde(&self) -> u64 {
        self.by_serde
    }

    /// Appends the row of `record` (one JSON object), as [`RowShape::to_row`] would shape it;
    /// fails naming the field that has no place in the schema, and then appends nothing.
    pub fn push(&mut self, record: &[u8]) -> Result<(), LayoutError> {
        let rows = self.columns.len();
        if scan::push(&self.shape.root, &mut self.columns, record, Mode::Record).is_some() {
            return Ok(());
        }
        self.columns.truncate(rows);
        self.text.clear();
        self.shape.to_row(record, &mut self.text)?;
        self.by_serde += 1;
        if scan::push(&self.shape.root, &mut self.columns, &self.text, Mode::Row).is_some() {
            return Ok(());
        }
        self.columns.truncate(rows);
        Err(LayoutError(
            "the record's row, as serde wrote it, could not be read into the columns".to_owned(),
        ))
    }

    /// The rows gathered as a batch of the schema, and the columns emptied.
    pub fn finish(&mut self) -> Result<RecordBatch, String> {
        let rows = self.columns.len();
        let arrays = self.columns.finish_root(&self.shape.root)?;
        RecordBatch::try_new_with_options(
            Arc::clone(&self.schema),
            arrays,
            &RecordBatchOptions::new().with_row_count(Some(rows)),
        )
        .map_err(|e| e.to_string())
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
                if *scalar == Scalar::Utf8 && text.contains("\\u") {
                    // A lone surrogate escape makes no string (Arrow's would not be the text).
                    serde_json::from_str::<String>(text).map_err(|e| {
                        de::Error::custom(format_args!("{} is not a valid string: {e}", self.path))
                    })?;
                }
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
            Node::List(item, _) => d.deserialize_seq(ListVisitor {
                item,
                path: self.path,
                out: self.out,
            }),
        }
    }
}

/// The fields of a struct the serde path has written, by index (most structs have under 128).
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
            // The schema's own name, whatever escapes the record spelled it with.
            self.out.extend_from_slice(&self.fields.keys[index]);
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
        (Node::List(item, _), Value::Array(items)) => Value::Array(
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

    fn schema() -> SchemaRef {
        let columns = ColumnList {
            columns: [
                ("time", ColumnType::Int64),
                ("actor.user.uid", ColumnType::Utf8),
                ("resources[].name", ColumnType::Utf8),
                ("resources[].data", ColumnType::Json),
                ("tags[]", ColumnType::Utf8),
                ("score", ColumnType::Float64),
                ("is_alert", ColumnType::Boolean),
                ("unmapped", ColumnType::Json),
                ("raw_data", ColumnType::Utf8),
            ]
            .into_iter()
            .map(|(p, t)| (p.to_owned(), t))
            .collect(),
        };
        Arc::new(columns.to_schema(HashMap::new()).unwrap())
    }

    fn shape() -> RowShape {
        RowShape::new(&schema())
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

    /// What arrow-json decodes from `rows` (JSON text): the columns the serde path stands for.
    fn decoded(rows: &[u8]) -> RecordBatch {
        let mut decoder = arrow_json::ReaderBuilder::new(schema())
            .with_strict_mode(true)
            .build_decoder()
            .unwrap();
        assert_eq!(decoder.decode(rows).unwrap(), rows.len());
        decoder
            .flush()
            .unwrap()
            .unwrap_or_else(|| RecordBatch::new_empty(schema()))
    }

    /// The scan's columns of `record` (`None`: declined), the serde path's row decoded by
    /// arrow-json (or its error), and what [`Rows::push`] gathers (or its error).
    fn three(
        record: &[u8],
    ) -> (
        Option<RecordBatch>,
        Result<RecordBatch, String>,
        Result<RecordBatch, String>,
    ) {
        let shape = shape();
        let schema = schema();
        let mut rows = shape.rows(&schema).unwrap();
        let fast = scan::push(&shape.root, &mut rows.columns, record, Mode::Record)
            .map(|()| rows.finish().unwrap());
        let mut text = Vec::new();
        let reference = shape
            .to_row(record, &mut text)
            .map(|()| decoded(&text))
            .map_err(|e| e.to_string());
        let mut rows = shape.rows(&schema).unwrap();
        let pushed = rows
            .push(record)
            .map(|()| rows.finish().unwrap())
            .map_err(|e| e.to_string());
        (fast, reference, pushed)
    }

    #[test]
    fn the_scan_writes_what_serde_writes_and_declines_what_serde_refuses() {
        // More containers side by side than the scan takes nested: depth is nesting, not count.
        let wide = format!(
            r#"{{"unmapped":[{}],"tags":["a"]}}"#,
            ["[{}]"; 150].join(",")
        );
        let accepted = [
            &br#"{"time":1,"actor":{"user":{"uid":"U1"}},"resources":[{"name":"a","data":{"x": 1.50, "y":[null]}},{"name":"b"}],"unmapped":{"big":123456789012345678901234567890,"s":"\u00e9"},"raw_data":"{\"id\":1}"}"#[..],
            b" {\t\"time\" : -0 ,\n \"unmapped\" : [ 1e-7 , -2.5E+3 , true , false , null , \"\\\\/\\b\\f\\n\\r\\t\\\"\" ] } \n",
            r#"{"resources":[],"actor":{},"unmapped":{},"raw_data":"\u00e9\/ é"}"#.as_bytes(),
            br#"{"resources":[{}],"unmapped":"text","time":9007199254740993}"#,
            br#"{"raw_data":"\ud83d\ude00 \u00e9","unmapped":["\uD83D\uDE00"]}"#,
            br#"{"score":1.5,"is_alert":true,"tags":["a","\"b\""]}"#,
            br#"{"score":-3,"is_alert":false,"tags":[]}"#,
            br#"{"score":2.5e-3,"time":-9223372036854775808}"#,
            br#"{"score":-12,"time":9223372036854775807}"#,
            br#"{"resources":[{"data":[[[]]],"name":""}],"unmapped":{"":{"a":[{"b":{}}]}}}"#,
            b"{}",
            wide.as_bytes(),
        ];
        for record in accepted {
            let shown = String::from_utf8_lossy(record);
            let (fast, reference, pushed) = three(record);
            let reference = reference.unwrap();
            assert_eq!(fast.as_ref(), Some(&reference), "{shown}");
            assert_eq!(pushed.as_ref(), Ok(&reference), "{shown}");
        }
        // `-0` in a float column is -0.0 in serde's row; Arrow's equality above does not tell
        // it from 0.0, so the sign bit is compared here.
        let (fast, reference, _) = three(br#"{"score":-0}"#);
        let sign = |batch: &RecordBatch| {
            batch
                .column_by_name("score")
                .and_then(|c| c.as_any().downcast_ref::<arrow_array::Float64Array>())
                .map(|c| c.value(0).is_sign_negative())
        };
        assert_eq!(sign(&reference.unwrap()), Some(true));
        assert_eq!(fast.as_ref().and_then(sign), Some(true));
        let declined = [
            // What the serde path refuses, naming it.
            &br#"{"time":1,"actor":{"user":{"uid":"U1","email":"x"}}}"#[..],
            br#"{"time":null}"#,
            br#"{"time":1.5}"#,
            br#"{"time":"1"}"#,
            br#"{"time":18446744073709551615}"#,
            br#"{"time":9223372036854775808}"#,
            br#"{"time":-9223372036854775809}"#,
            br#"{"raw_data":7}"#,
            br#"{"time":1,"time":2}"#,
            br#"{"actor":"ada"}"#,
            br#"{"resources":{}}"#,
            br#"[1]"#,
            br#"{"time":1} x"#,
            // Malformed JSON, in a column and inside free-form text.
            br#"{"time":01}"#,
            br#"{"time":1,}"#,
            br#"{"unmapped":[1,]}"#,
            br#"{"unmapped":{"a":1,}}"#,
            br#"{"unmapped":{"a" 1}}"#,
            br#"{"unmapped":{1:1}}"#,
            br#"{"unmapped":[1.]}"#,
            br#"{"unmapped":[-]}"#,
            br#"{"unmapped":[1e]}"#,
            br#"{"unmapped":[tru]}"#,
            br#"{"unmapped":[nul]}"#,
            br#"{"unmapped":"\x"}"#,
            br#"{"unmapped":"\u12g4"}"#,
            br#"{"unmapped":"\u+123"}"#,
            br#"{"raw_data":"\ud83d"}"#,
            br#"{"score":true}"#,
            br#"{"score":9007199254740993}"#,
            br#"{"score":1e400}"#,
            br#"{"is_alert":1}"#,
            br#"{"tags":[null]}"#,
            br#"{"tags":"a"}"#,
            br#"{"raw_data":"\ud83d\u0041"}"#,
            br#"{"raw_data":"\ude00"}"#,
            b"{\"unmapped\":\"a\tb\"}",
            b"{\"unmapped\":\"\xff\"}",
            // A container closed by the wrong bracket, or two values with no comma between.
            br#"{"time":1]"#,
            br#"{"unmapped":[1}}"#,
            br#"{"unmapped":{"a":1]}"#,
            br#"{"tags":["a"}}"#,
            br#"{"time":1 2}"#,
            br#"{"unmapped":"open}"#,
            br#"{"unmapped":[1"#,
            br#"{"time":1"#,
            b"",
        ];
        for record in declined {
            let shown = String::from_utf8_lossy(record);
            let (fast, reference, pushed) = three(record);
            assert_eq!(fast, None, "the scan took {shown}");
            assert!(reference.is_err(), "serde took {shown}");
            assert_eq!(pushed.err(), reference.err(), "{shown}");
        }
        // What serde reads and the scan leaves to it: an escaped key, a lone surrogate in
        // free-form text, nesting past the scan's depth.
        let deep = format!(r#"{{"unmapped":{}1{}}}"#, "[".repeat(101), "]".repeat(101));
        for record in [
            &br#"{"t\u0069me":1}"#[..],
            br#"{"unmapped":"\ud83d"}"#,
            br#"{"unmapped":"\ude00\ud83d"}"#,
            br#"{"unmapped":"\ude00"}"#,
            deep.as_bytes(),
        ] {
            let shown = String::from_utf8_lossy(record);
            let (fast, reference, pushed) = three(record);
            assert_eq!(fast, None, "the scan took {shown}");
            let reference = reference.unwrap();
            assert_eq!(pushed, Ok(reference), "{shown}");
        }
    }

    #[test]
    fn rows_that_learn_the_key_order_still_gather_what_serde_writes() {
        // One set of rows for all: the keys' order it learns from one record is tried first on
        // the next, which may follow it, depart from it, repeat a key or spell it otherwise.
        let records = [
            &br#"{"time":1,"actor":{"user":{"uid":"U1"}},"score":1.5,"tags":["a"],"resources":[{"name":"a","data":1},{"name":"b","data":2}]}"#[..],
            br#"{"time":2,"actor":{"user":{"uid":"U2"}},"score":2.5,"tags":["b","c"],"resources":[{"data":3,"name":"c"},{"name":"d"}]}"#,
            br#"{"tags":[],"score":3,"time":3}"#,
            br#"{"tags":["x"],"score":4,"score":5}"#,
            br#"{"time":5,"actor":{"user":{"uid":"U5"}},"scores":1}"#,
            br#"{"t\u0069me":6,"actor":{"user":{"uid":"U6"}}}"#,
            br#"{"time":7,"actor":{"user":{"uid":"U7","uid":"U8"}}}"#,
            br#"{"time":8,"actor":{},"score":1.5,"tags":["a"]}"#,
            br#"{"time" :9, "actor":{"user" : {"uid":"U9"}},"score":1.5}"#,
            br#"{"time":10,"actor":{"user":{"uid":"U10"}},"score":1.5,"tags":["a"],"resources":[{"name":"e","data":1}]}"#,
            br#"{"timestamp":11}"#,
            br#"{"time":12,"time":13}"#,
            br#"{"time":14,"actor":{"user":{"uid":"U14"}},"score":1.5,"tags":["a"],"resources":[{"name":"f","data":1}]}"#,
        ];
        let shape = shape();
        let schema = schema();
        let mut rows = shape.rows(&schema).unwrap();
        let mut texts = Vec::new();
        for record in records.iter().chain(records.iter().rev()) {
            let shown = String::from_utf8_lossy(record);
            let mut text = Vec::new();
            let reference = shape.to_row(record, &mut text).map_err(|e| e.to_string());
            let pushed = rows.push(record).map_err(|e| e.to_string());
            assert_eq!(pushed, reference, "{shown}");
            if reference.is_ok() {
                texts.extend_from_slice(&text);
                texts.push(b'\n');
            }
        }
        assert_eq!(rows.len(), 16, "eight records taken, twice");
        assert_eq!(rows.finish().unwrap(), decoded(&texts));
    }

    #[test]
    fn a_key_is_told_at_a_cursor_by_all_its_bytes() {
        let Node::Struct(fields) = &shape().root else {
            panic!("the root is a struct");
        };
        let at =
            |name: &str, text: &[u8]| fields.find(name).and_then(|i| fields.key_at(i, text, 0));
        // Keys of up to eight bytes, up to sixteen, and past sixteen (with their quotes).
        let long = "a_field_name_past_sixteen";
        let mut wide = ColumnList {
            columns: vec![(long.to_owned(), ColumnType::Int64)],
        };
        wide.columns.push(("time".to_owned(), ColumnType::Int64));
        let wide = RowShape::new(&wide.to_schema(HashMap::new()).unwrap());
        let Node::Struct(wide) = &wide.root else {
            panic!("the root is a struct");
        };
        let long_at = |text: &[u8]| wide.find(long).and_then(|i| wide.key_at(i, text, 0));
        assert_eq!(at("tags", b"\"tags\":[\"a\"]}"), Some(6));
        assert_eq!(at("tags", b"\"tagz\":[\"a\"]}"), None);
        assert_eq!(at("resources", b"\"resources\":[{}]}    "), Some(11));
        for other in [
            &b"\"resourcez\":[{}]}    "[..],
            b"\"resources_\":[]}    ",
            b"\"resourc\":[{}]}    ",
        ] {
            assert_eq!(
                at("resources", other),
                None,
                "{}",
                String::from_utf8_lossy(other)
            );
        }
        assert_eq!(long_at(b"\"a_field_name_past_sixteen\":1}"), Some(27));
        assert_eq!(long_at(b"\"a_field_name_past_sixteem\":1}"), None);
        assert_eq!(long_at(b"\"a_field_name_pass_sixteen\":1}"), None);
    }

    #[test]
    fn a_record_refused_half_way_leaves_no_trace_in_the_columns() {
        let good = [
            &br#"{"time":1,"actor":{"user":{"uid":"U1"}},"tags":["a","b"],"resources":[{"name":"r","data":[1]}],"score":0.5,"is_alert":true,"unmapped":{"k":"v"}}"#[..],
            br#"{"time":2,"tags":["x"],"resources":[{"name":"s"}],"unmapped":"\ud83d"}"#,
            br#"{"time":3,"actor":{},"tags":[]}"#,
        ];
        let refused = [
            &br#"{"time":9,"actor":{"user":{"uid":"U9"}},"tags":["z"],"resources":[{"name":"q","data":{}}],"score":1,"is_alert":false,"unmapped":{},"extra":1}"#[..],
            br#"{"time":9,"resources":[{"name":"q"},{"name":null}]}"#,
            br#"{"time":9,"tags":["z","y"],"raw_data":"\udc00"}"#,
        ];
        let shape = shape();
        let schema = schema();
        let mut rows = shape.rows(&schema).unwrap();
        let mut text = Vec::new();
        for (good, refused) in good.iter().zip(refused) {
            rows.push(good).unwrap();
            assert!(rows.push(refused).is_err());
            shape.to_row(good, &mut text).unwrap();
            text.push(b'\n');
        }
        assert_eq!(rows.len(), good.len());
        assert_eq!(rows.finish().unwrap(), decoded(&text));
        assert!(
            rows.is_empty(),
            "a finished chunk starts the next one empty"
        );
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
            (
                br#"{"raw_data":"a\ud83db"}"#,
                "raw_data is not a valid string",
            ),
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
