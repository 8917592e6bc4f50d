//! The columns rows are appended to, one per field of the schema (a struct or list holds its
//! children's), and the Arrow arrays they become. Every field is nullable: a field a record does
//! not have is null, a struct or list it does not have is null with its children. Nulls are
//! filled in lazily: a column may hold fewer rows than its struct, and the rows it lacks are
//! null, padded in bulk ([`Column::pad_to`]) when a value comes or the array is made, so a row
//! costs the fields it has, not the columns of the schema. A row that fails half-way is taken
//! back by [`Column::truncate`].

use std::sync::Arc;

use arrow_array::{
    ArrayRef, BooleanArray, Float64Array, Int64Array, ListArray, StringArray, StructArray,
};
use arrow_buffer::{Buffer, NullBuffer, OffsetBuffer, ScalarBuffer};
use arrow_schema::DataType;

use super::{Node, Scalar};

/// The values of one column so far.
#[derive(Debug)]
pub(super) enum Column {
    /// `Utf8` (and JSON text): the strings one after the other.
    Text(Texts),
    Int64(Values<i64>),
    Float64(Values<f64>),
    Boolean(Values<bool>),
    /// A struct: its children, in the order of the sorted field names.
    Struct {
        children: Vec<Column>,
        valid: Vec<bool>,
        /// For each child, the child whose key followed its own in the last record that had it
        /// (the last entry: the first key), [`NO_FIELD`] when none has yet: records written by
        /// one program spell their keys in one order, so the next key is usually this one, and
        /// is matched by its bytes without a lookup ([`super::scan`]).
        next: Vec<u16>,
    },
    /// A list: where each row's items end in `item`.
    List {
        item: Box<Column>,
        offsets: Vec<i32>,
        valid: Vec<bool>,
    },
}

/// An entry of a struct's `next` that names no child.
pub(super) const NO_FIELD: u16 = u16::MAX;

/// Strings.
#[derive(Debug)]
pub(super) struct Texts {
    offsets: Vec<i32>,
    data: Vec<u8>,
    valid: Vec<bool>,
}

impl Texts {
    /// Appends `text`. (Inline: the scan's every string is one, and the call cost 1.2 % of
    /// the encoder's instructions.)
    #[inline]
    pub(super) fn push(&mut self, text: &[u8]) {
        self.data.extend_from_slice(text);
        // A chunk past 2 GiB of text is refused when it becomes an array.
        self.offsets
            .push(i32::try_from(self.data.len()).unwrap_or(i32::MAX));
        self.valid.push(true);
    }
}

/// Fixed-width values.
#[derive(Debug)]
pub(super) struct Values<T> {
    values: Vec<T>,
    valid: Vec<bool>,
}

impl<T: Default> Values<T> {
    pub(super) fn push(&mut self, value: T) {
        self.values.push(value);
        self.valid.push(true);
    }
}

impl<T> Values<T> {
    fn new() -> Values<T> {
        Values {
            values: Vec::new(),
            valid: Vec::new(),
        }
    }
}

impl Column {
    /// The empty column of `node`, or why the encoder cannot write its type.
    pub(super) fn of(node: &Node, data_type: &DataType) -> Result<Column, String> {
        Ok(match (node, data_type) {
            (Node::Json | Node::Scalar(Scalar::Utf8), DataType::Utf8) => Column::Text(Texts {
                offsets: vec![0],
                data: Vec::new(),
                valid: Vec::new(),
            }),
            (Node::Scalar(Scalar::Int64), DataType::Int64) => Column::Int64(Values::new()),
            (Node::Scalar(Scalar::Float64), DataType::Float64) => Column::Float64(Values::new()),
            (Node::Scalar(Scalar::Boolean), DataType::Boolean) => Column::Boolean(Values::new()),
            (Node::Struct(fields), DataType::Struct(_)) => {
                let mut children: Vec<Option<Column>> = fields.names.iter().map(|_| None).collect();
                for (field, &sorted) in fields.arrow.iter().zip(&fields.sorted_index) {
                    children[sorted] = Some(Column::of(&fields.nodes[sorted], field.data_type())?);
                }
                Column::Struct {
                    next: vec![NO_FIELD; children.len() + 1],
                    children: children.into_iter().flatten().collect(),
                    valid: Vec::new(),
                }
            }
            (Node::List(item, field), DataType::List(_)) => Column::List {
                item: Box::new(Column::of(item, field.data_type())?),
                offsets: vec![0],
                valid: Vec::new(),
            },
            (_, other) => return Err(format!("a column of type {other}, which it does not write")),
        })
    }

    /// The rows in the column.
    #[inline]
    pub(super) fn len(&self) -> usize {
        match self {
            Column::Text(t) => t.valid.len(),
            Column::Int64(v) => v.valid.len(),
            Column::Float64(v) => v.valid.len(),
            Column::Boolean(v) => v.valid.len(),
            Column::Struct { valid, .. } | Column::List { valid, .. } => valid.len(),
        }
    }

    /// Pads the column with nulls to `rows` rows (nothing if it holds that many). A struct pads
    /// only its own validity: its children stay behind, and are padded when written to or made
    /// into arrays.
    #[inline]
    pub(super) fn pad_to(&mut self, rows: usize) {
        self.open_row(rows);
    }

    /// Pads the column with nulls up to row `row`, so that the next value is that row's;
    /// `false` if it holds row `row` already (a field given twice). Its length is read once:
    /// the scan asks this of every value.
    #[inline]
    pub(super) fn open_row(&mut self, row: usize) -> bool {
        let len = self.len();
        if len < row {
            self.pad_with_nulls(row);
        }
        len <= row
    }

    #[inline(never)]
    fn pad_with_nulls(&mut self, rows: usize) {
        match self {
            Column::Text(t) => {
                let last = t.offsets.last().copied().unwrap_or_default();
                t.offsets.resize(rows + 1, last);
                t.valid.resize(rows, false);
            }
            Column::Int64(v) => pad(v, rows),
            Column::Float64(v) => pad(v, rows),
            Column::Boolean(v) => pad(v, rows),
            Column::Struct { valid, .. } => valid.resize(rows, false),
            Column::List { offsets, valid, .. } => {
                let last = offsets.last().copied().unwrap_or_default();
                offsets.resize(rows + 1, last);
                valid.resize(rows, false);
            }
        }
    }

    /// Takes back every row past the first `rows`.
    pub(super) fn truncate(&mut self, rows: usize) {
        match self {
            Column::Text(t) => {
                t.offsets.truncate(rows + 1);
                t.data.truncate(t.offsets.last().map_or(0, |&o| o as usize));
                t.valid.truncate(rows);
            }
            Column::Int64(v) => truncate(v, rows),
            Column::Float64(v) => truncate(v, rows),
            Column::Boolean(v) => truncate(v, rows),
            Column::Struct {
                children, valid, ..
            } => {
                children.iter_mut().for_each(|c| c.truncate(rows));
                valid.truncate(rows);
            }
            Column::List {
                item,
                offsets,
                valid,
            } => {
                offsets.truncate(rows + 1);
                item.truncate(offsets.last().map_or(0, |&o| o as usize));
                valid.truncate(rows);
            }
        }
    }

    /// The column's first `rows` rows (those it lacks null) as the array of `node`'s field, and
    /// the column emptied.
    pub(super) fn finish(&mut self, node: &Node, rows: usize) -> Result<ArrayRef, String> {
        let error = |e: arrow_schema::ArrowError| e.to_string();
        self.pad_to(rows);
        Ok(match (self, node) {
            (Column::Text(t), _) => {
                let offsets = take_offsets(&mut t.offsets);
                if offsets.last().is_some_and(|&o| o == i32::MAX) {
                    return Err("a chunk holds more than 2 GiB of text in one column".to_owned());
                }
                Arc::new(
                    StringArray::try_new(
                        OffsetBuffer::new(ScalarBuffer::from(offsets)),
                        Buffer::from_vec(take_reserved(&mut t.data)),
                        nulls(&mut t.valid),
                    )
                    .map_err(error)?,
                )
            }
            (Column::Int64(v), _) => Arc::new(Int64Array::new(
                ScalarBuffer::from(take_reserved(&mut v.values)),
                nulls(&mut v.valid),
            )),
            (Column::Float64(v), _) => Arc::new(Float64Array::new(
                ScalarBuffer::from(take_reserved(&mut v.values)),
                nulls(&mut v.valid),
            )),
            (Column::Boolean(v), _) => Arc::new(BooleanArray::new(
                take_reserved(&mut v.values).into_iter().collect(),
                nulls(&mut v.valid),
            )),
            (
                Column::Struct {
                    children, valid, ..
                },
                Node::Struct(fields),
            ) => {
                let rows = valid.len();
                let arrays = fields
                    .sorted_index
                    .iter()
                    .map(|&sorted| children[sorted].finish(&fields.nodes[sorted], rows))
                    .collect::<Result<Vec<_>, _>>()?;
                let nulls = nulls(valid);
                Arc::new(StructArray::try_new(fields.arrow.clone(), arrays, nulls).map_err(error)?)
            }
            (
                Column::List {
                    item,
                    offsets,
                    valid,
                },
                Node::List(item_node, field),
            ) => {
                let items = offsets.last().map_or(0, |&o| o as usize);
                let values = item.finish(item_node, items)?;
                let offsets = take_offsets(offsets);
                Arc::new(
                    ListArray::try_new(
                        Arc::clone(field),
                        OffsetBuffer::new(ScalarBuffer::from(offsets)),
                        values,
                        nulls(valid),
                    )
                    .map_err(error)?,
                )
            }
            _ => return Err("a column does not match its schema".to_owned()),
        })
    }

    /// The root struct's columns as arrays, in the schema's order, and the columns emptied.
    pub(super) fn finish_root(&mut self, node: &Node) -> Result<Vec<ArrayRef>, String> {
        match (self, node) {
            (
                Column::Struct {
                    children, valid, ..
                },
                Node::Struct(fields),
            ) => {
                let rows = valid.len();
                valid.clear();
                fields
                    .sorted_index
                    .iter()
                    .map(|&sorted| children[sorted].finish(&fields.nodes[sorted], rows))
                    .collect()
            }
            _ => Err("the table's rows are not a struct".to_owned()),
        }
    }
}

fn pad<T: Default + Clone>(v: &mut Values<T>, rows: usize) {
    v.values.resize(rows, T::default());
    v.valid.resize(rows, false);
}

fn truncate<T>(v: &mut Values<T>, rows: usize) {
    v.values.truncate(rows);
    v.valid.truncate(rows);
}

/// The validity of `valid` (`None`: all valid), and `valid` emptied (its room kept).
fn nulls(valid: &mut Vec<bool>) -> Option<NullBuffer> {
    let nulls = (!valid.iter().all(|&v| v)).then(|| NullBuffer::from(valid.as_slice()));
    valid.clear();
    nulls
}

/// The values of `v`, which is left empty with as much room as it had: the next chunk of a
/// column is about as long as the last, and growing it again from nothing cost 2.6 % of the
/// encoder's instructions (reallocations and their copies).
fn take_reserved<T>(v: &mut Vec<T>) -> Vec<T> {
    let room = v.capacity();
    std::mem::replace(v, Vec::with_capacity(room))
}

/// [`take_reserved`] of a column's offsets, which are left holding the first, 0.
fn take_offsets(offsets: &mut Vec<i32>) -> Vec<i32> {
    let taken = take_reserved(offsets);
    offsets.push(0);
    taken
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use arrow_array::{Array, StringArray};
    use arrow_schema::DataType;

    use super::{Column, Node, Scalar};

    #[test]
    fn a_finished_chunk_leaves_its_column_empty_with_the_room_it_had() {
        let node = Node::Scalar(Scalar::Utf8);
        let mut column = Column::of(&node, &DataType::Utf8).unwrap();
        for chunk in 0..2 {
            for row in 0..500 {
                if let Column::Text(texts) = &mut column {
                    texts.push(format!("value {chunk}/{row}").as_bytes());
                }
            }
            column.pad_to(501);
            let array = column.finish(&node, 501).unwrap();
            let strings = array.as_any().downcast_ref::<StringArray>().unwrap();
            assert_eq!(strings.len(), 501);
            assert_eq!(strings.value(499), format!("value {chunk}/499"));
            assert!(strings.is_null(500));
            let Column::Text(texts) = &column else {
                panic!("not a text column");
            };
            assert_eq!((texts.offsets.as_slice(), texts.data.len()), (&[0][..], 0));
            assert!(texts.valid.is_empty());
            assert!(
                texts.data.capacity() >= 500 * 9 && texts.offsets.capacity() > 500,
                "room for the next chunk: {} bytes, {} offsets",
                texts.data.capacity(),
                texts.offsets.capacity()
            );
            assert!(texts.valid.capacity() > 500);
        }
    }
}
