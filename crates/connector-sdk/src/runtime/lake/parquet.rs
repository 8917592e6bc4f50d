//! Runtime layer: Parquet objects, each of one table, with the table's fixed schema (never
//! inferred from the data), in the shape Amazon Security Lake asks of a custom source: zstd,
//! data pages of at most 1 MB uncompressed, row groups far below 256 MB compressed, and the
//! rows' time order declared (`sorting_columns`).
//!
//! Records are appended to the table's columns by its [`RowShape`] (strict: a field the schema
//! lacks is an error, never a column silently dropped; free-form values become their JSON
//! text) and written by parquet's `ArrowWriter`, [`ParquetLimits::chunk_rows`] rows at a time,
//! so memory holds one chunk of rows and the row group being written, whatever the object's
//! size.
//!
//! The time column is named by the schema's metadata ([`TIME_COLUMN_KEY`]): a top-level
//! `Int64` column holding [`crate::runtime::lake::layout::Placement::time_ms`]; the encoder
//! checks that the rows it is given are in its order before declaring it.

use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::{Array, Int64Array, RecordBatch};
use arrow_schema::{DataType, SchemaRef};
use parquet::arrow::{ArrowSchemaConverter, ArrowWriter};
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::metadata::SortingColumn;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;

use crate::runtime::lake::column_list::{ColumnList, ColumnType};
use crate::runtime::lake::encode::{EncodeError, ObjectBody, ObjectEncoder};
use crate::runtime::lake::layout::LakeLayout;
use crate::runtime::lake::row_shape::{RowShape, Rows};

/// The schema metadata key naming a table's time column (a top-level `Int64` column of
/// milliseconds since the epoch, the one [`LakeLayout::place`] reads as `time_ms`).
pub const TIME_COLUMN_KEY: &str = "lake.time_column";

/// The sizes an object is cut into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParquetLimits {
    /// Rows decoded and written at a time (what memory holds of the rows).
    pub chunk_rows: usize,
    /// The size a data page is closed at, uncompressed (Security Lake: at most 1 MB; the
    /// writer may overshoot it by a few values).
    pub data_page_bytes: usize,
    /// The most rows a data page holds, so rows of large values cannot overshoot
    /// [`ParquetLimits::data_page_bytes`] between two checks.
    pub data_page_rows: usize,
    /// A row group is closed once its encoded size reaches this (Security Lake: at most
    /// 256 MB compressed; this also bounds what the writer holds in memory).
    pub row_group_bytes: usize,
    /// The most rows a row group holds.
    pub row_group_rows: usize,
    /// The zstd level.
    pub zstd_level: i32,
}

impl Default for ParquetLimits {
    fn default() -> Self {
        ParquetLimits {
            // Rows gathered before they are written: what memory holds of the rows (about
            // 1.4 MB of columns for OCSF events).
            chunk_rows: 1024,
            // Security Lake's limit is 1 MB (10^6 bytes in one reading, 2^20 in the other). The
            // writer checks the size between mini-batches, and a mini-batch may hold up to the
            // target's worth of values, so a page can reach twice the target (1,220,661 bytes
            // with a 768 KiB one): it aims at under half of 10^6.
            data_page_bytes: 480 << 10,
            data_page_rows: 8192,
            row_group_bytes: 64 << 20,
            row_group_rows: 1 << 20,
            // Level 1 against 3, over a 1M-event synthetic backfill: 3 % less user CPU, 15 MB
            // less peak RSS (a smaller context per column chunk), 0.9 % bigger objects.
            zstd_level: 1,
        }
    }
}

/// Writes the records of one table as a Parquet object.
pub struct ParquetEncoder {
    /// Each table's schema and writer properties, or why it cannot be written as Parquet.
    tables: HashMap<String, Result<Prepared, String>>,
    limits: ParquetLimits,
}

impl std::fmt::Debug for ParquetEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParquetEncoder")
            .field("tables", &self.tables.keys().collect::<Vec<_>>())
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

/// What writing one table needs, made once.
#[derive(Debug, Clone)]
struct Prepared {
    schema: SchemaRef,
    /// How its records become rows.
    shape: RowShape,
    properties: WriterProperties,
    /// The index of the time column among the schema's top-level fields.
    time_field: usize,
}

impl ParquetEncoder {
    /// An encoder of the tables of `layout`, with the default limits.
    pub fn new(layout: Arc<dyn LakeLayout>) -> ParquetEncoder {
        ParquetEncoder::with_limits(layout, ParquetLimits::default())
    }

    /// An encoder of the tables of `layout`, cutting objects by `limits`.
    pub fn with_limits(layout: Arc<dyn LakeLayout>, limits: ParquetLimits) -> ParquetEncoder {
        let tables = layout
            .tables()
            .iter()
            .map(|info| {
                let prepared = match &info.schema {
                    Some(schema) => prepare(schema, &limits),
                    None => Err("it has no columnar schema (deliver it as NDJSON.gz)".to_owned()),
                };
                (info.table.to_string(), prepared)
            })
            .collect();
        ParquetEncoder { tables, limits }
    }
}

/// One Parquet object being written: the rows of the chunk gathered so far, and the writer.
struct ParquetBody<'e> {
    table: String,
    prepared: &'e Prepared,
    chunk_rows: usize,
    rows: Rows<'e>,
    writer: ArrowWriter<Vec<u8>>,
    order: TimeOrder,
    /// Records pushed so far.
    records: usize,
}

impl ParquetBody<'_> {
    fn error(&self, message: String) -> EncodeError {
        EncodeError {
            table: self.table.clone(),
            message,
        }
    }

    /// Writes the gathered rows.
    fn write_chunk(&mut self) -> Result<(), String> {
        if self.rows.is_empty() {
            return Ok(());
        }
        let batch = self.rows.finish()?;
        self.order.check(&batch, self.prepared.time_field)?;
        self.writer
            .write(&batch)
            .map_err(|e| format!("cannot write rows: {e}"))
    }
}

impl ObjectBody for ParquetBody<'_> {
    fn push(&mut self, record: &[u8]) -> Result<(), EncodeError> {
        self.records += 1;
        if let Err(e) = self.rows.push(record) {
            return Err(self.error(format!("record {} of the object: {e}", self.records)));
        }
        if self.rows.len() >= self.chunk_rows {
            self.write_chunk().map_err(|e| self.error(e))?;
        }
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<Vec<u8>, EncodeError> {
        self.write_chunk().map_err(|e| self.error(e))?;
        let table = std::mem::take(&mut self.table);
        self.writer.into_inner().map_err(|e| EncodeError {
            table,
            message: format!("cannot finish the object: {e}"),
        })
    }
}

/// The time of the last row written, to check the rows come in time order.
#[derive(Default)]
struct TimeOrder {
    last: Option<i64>,
    rows: u64,
}

impl TimeOrder {
    fn check(&mut self, batch: &RecordBatch, field: usize) -> Result<(), String> {
        let times = batch
            .column(field)
            .as_any()
            .downcast_ref::<Int64Array>()
            .ok_or("the time column is not Int64")?;
        for (i, time) in times.iter().enumerate() {
            let row = self.rows + i as u64 + 1;
            let Some(time) = time else {
                return Err(format!("record {row} of the object has no time"));
            };
            if self.last.is_some_and(|last| time < last) {
                return Err(format!(
                    "record {row} of the object is earlier than the one before it (records must \
                     come in time order)"
                ));
            }
            self.last = Some(time);
        }
        self.rows += batch.num_rows() as u64;
        Ok(())
    }
}

/// The writer properties of `schema`'s table.
fn prepare(schema: &SchemaRef, limits: &ParquetLimits) -> Result<Prepared, String> {
    let time_name = schema
        .metadata()
        .get(TIME_COLUMN_KEY)
        .ok_or_else(|| format!("its schema does not name its time column ({TIME_COLUMN_KEY})"))?;
    let (time_field, field) = schema
        .column_with_name(time_name)
        .ok_or_else(|| format!("its time column {time_name:?} is not in its schema"))?;
    if field.data_type() != &DataType::Int64 {
        return Err(format!(
            "its time column {time_name:?} is {}, not Int64",
            field.data_type()
        ));
    }
    let descriptor = ArrowSchemaConverter::new()
        .convert(schema)
        .map_err(|e| format!("its schema has no Parquet form: {e}"))?;
    let leaves = ColumnList::from_schema(schema).map_err(|e| e.to_string())?;
    if leaves.columns.len() != descriptor.num_columns() {
        return Err("its schema's leaf columns do not match its Parquet form".to_owned());
    }
    let time_leaf = (0..descriptor.num_columns())
        .find(|&i| descriptor.column(i).path().parts() == [time_name.as_str()])
        .ok_or_else(|| format!("its time column {time_name:?} has no Parquet column"))?;
    let level = ZstdLevel::try_new(limits.zstd_level).map_err(|e| e.to_string())?;
    let mut builder = WriterProperties::builder()
        .set_compression(Compression::ZSTD(level))
        .set_data_page_size_limit(limits.data_page_bytes.max(1))
        .set_data_page_row_count_limit(limits.data_page_rows.max(1))
        .set_write_batch_size(limits.data_page_rows.clamp(1, 256))
        .set_dictionary_page_size_limit(limits.data_page_bytes.max(1))
        .set_max_row_group_bytes(Some(limits.row_group_bytes.max(1)))
        .set_max_row_group_row_count(Some(limits.row_group_rows.max(1)))
        .set_sorting_columns(Some(vec![SortingColumn {
            column_idx: i32::try_from(time_leaf).map_err(|e| e.to_string())?,
            descending: false,
            nulls_first: false,
        }]));
    // Strings are dictionary-encoded (parquet's default): most of an event's strings repeat
    // (class and type names, the org, the actor, the user agent), and over 100k OCSF events the
    // objects were 22 to 28 % smaller for the same CPU (BENCHMARKS.md). A mostly distinct column falls back to plain
    // pages within the same limits (`objects_keep_security_lakes_limits` writes one, its data
    // and dictionary pages checked). JSON text is free-form and mostly distinct: no dictionary.
    // No string column has min/max statistics: rows are in time order, so a row group's strings
    // span about every value their column takes and let a reader skip nothing (numbers keep
    // theirs: the time column's are what prunes), while comparing every value cost 6.4 % of the
    // encoder's instructions and the column indexes 4.2 % of the bytes (BENCHMARKS.md).
    for (i, (_, ty)) in leaves.columns.iter().enumerate() {
        let path = || ColumnPath::new(descriptor.column(i).path().parts().to_vec());
        match ty {
            ColumnType::Json => {
                builder = builder
                    .set_column_dictionary_enabled(path(), false)
                    .set_column_statistics_enabled(path(), EnabledStatistics::None);
            }
            ColumnType::Utf8 => {
                builder = builder.set_column_statistics_enabled(path(), EnabledStatistics::None);
            }
            ColumnType::Int64 | ColumnType::Float64 | ColumnType::Boolean => {}
        }
    }
    let shape = RowShape::new(schema);
    shape
        .rows(schema)
        .map_err(|e| format!("its schema has {e}"))?;
    Ok(Prepared {
        schema: schema.clone(),
        shape,
        properties: builder.build(),
        time_field,
    })
}

impl ObjectEncoder for ParquetEncoder {
    fn extension(&self) -> &'static str {
        "parquet"
    }

    fn start(&self, table: &str) -> Result<Box<dyn ObjectBody + '_>, EncodeError> {
        let error = |message: String| EncodeError {
            table: table.to_owned(),
            message,
        };
        let prepared = match self.tables.get(table) {
            Some(Ok(prepared)) => prepared,
            Some(Err(why)) => return Err(error(format!("not as Parquet: {why}"))),
            None => return Err(error("the layout has no such table".to_owned())),
        };
        let rows = prepared.shape.rows(&prepared.schema).map_err(error)?;
        let writer = ArrowWriter::try_new(
            Vec::new(),
            prepared.schema.clone(),
            Some(prepared.properties.clone()),
        )
        .map_err(|e| error(format!("cannot start the object: {e}")))?;
        Ok(Box::new(ParquetBody {
            table: table.to_owned(),
            prepared,
            chunk_rows: self.limits.chunk_rows.max(1),
            rows,
            writer,
            order: TimeOrder::default(),
            records: 0,
        }))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::collections::HashMap;

    use ::parquet::basic::{Compression, PageType};
    use ::parquet::file::reader::{FileReader, SerializedFileReader};
    use serde_json::{Value, json};

    use super::*;
    use crate::runtime::lake::column_list::ColumnList;
    use crate::runtime::lake::layout::{LayoutError, Placement, TableInfo};
    use crate::runtime::lake::parquet_read::records_of;

    /// A layout of two tables: `events` (time, a struct, a list of structs, free-form
    /// `unmapped`, a long string) and `raw` without a schema.
    struct TestLayout {
        tables: Vec<TableInfo>,
    }

    fn layout() -> Arc<TestLayout> {
        let columns = ColumnList::from_json(
            r#"{"time": "int64", "actor.user.uid": "utf8", "actor.user.type_id": "int64",
                "resources[].name": "utf8", "resources[].data": "json", "tags[]": "utf8",
                "score": "float64", "is_alert": "boolean", "unmapped": "json",
                "raw_data": "utf8"}"#,
        )
        .unwrap();
        let metadata = HashMap::from([(TIME_COLUMN_KEY.to_owned(), "time".to_owned())]);
        let schema = Arc::new(columns.to_schema(metadata).unwrap());
        Arc::new(TestLayout {
            tables: vec![
                TableInfo {
                    table: "events".into(),
                    source_name: "test-events".to_owned(),
                    event_class: "API_ACTIVITY".to_owned(),
                    schema: Some(schema),
                },
                TableInfo {
                    table: "raw".into(),
                    source_name: "test-raw".to_owned(),
                    event_class: "API_ACTIVITY".to_owned(),
                    schema: None,
                },
            ],
        })
    }

    impl LakeLayout for TestLayout {
        fn place(&self, record: &[u8]) -> Result<Placement, LayoutError> {
            let v: Value =
                serde_json::from_slice(record).map_err(|e| LayoutError(e.to_string()))?;
            Ok(Placement {
                table: "events".into(),
                time_ms: v["time"].as_i64().unwrap_or(0),
            })
        }
        fn tables(&self) -> &[TableInfo] {
            &self.tables
        }
    }

    /// `n` records in time order; every `every`th has a distinct `raw_data` of about `long`
    /// bytes.
    fn records(n: usize, long: usize, every: usize) -> Vec<String> {
        (0..n)
            .map(|i| {
                let mut v = json!({
                    "time": 1_767_225_600_000_i64 + (i as i64) * 7,
                    "actor": {"user": {"uid": format!("U{i}"), "type_id": i % 3}},
                    "resources": [{"name": "a", "data": {"n": i, "f": 1.5, "nested": [null, {}]}}],
                    "tags": ["x", format!("t{}", i % 5)],
                    "score": (i as f64) / 4.0,
                    "is_alert": i % 2 == 0,
                    "unmapped": {"details": {"k": "v", "big": 12345678901234567890u64}},
                });
                if i % every == 0 {
                    // Distinct and hardly compressible: a pseudo-random text, `é`s among it.
                    let mut x = i as u64 + 1;
                    let text: String = (0..long / 2)
                        .map(|_| {
                            x = x
                                .wrapping_mul(6364136223846793005)
                                .wrapping_add(1442695040888963407);
                            match (x >> 58) as u8 {
                                0 => 'é',
                                n => char::from(b'0' + n),
                            }
                        })
                        .collect();
                    v["raw_data"] = Value::String(text);
                }
                if i % 7 == 0 {
                    v.as_object_mut().unwrap().remove("actor");
                }
                serde_json::to_string(&v).unwrap()
            })
            .collect()
    }

    fn encode(
        encoder: &ParquetEncoder,
        table: &str,
        records: &[String],
    ) -> Result<Vec<u8>, EncodeError> {
        encoder.encode(table, &mut records.iter().map(|r| r.as_bytes()))
    }

    #[test]
    fn every_record_comes_back_exactly() {
        let records = records(10_000, 3_000, 10);
        let encoder = ParquetEncoder::with_limits(
            layout(),
            ParquetLimits {
                chunk_rows: 1000,
                ..ParquetLimits::default()
            },
        );
        let body = encode(&encoder, "events", &records).unwrap();
        assert_eq!(&body[..4], b"PAR1");
        let back = records_of(&body).unwrap();
        assert_eq!(back.len(), records.len());
        for (record, back) in records.iter().zip(&back) {
            let record: Value = serde_json::from_str(record).unwrap();
            assert_eq!(&record, back);
        }
        let empty = encode(&encoder, "events", &[]).unwrap();
        assert!(records_of(&empty).unwrap().is_empty());
    }

    /// The uncompressed size of every data and dictionary page of `body`, and the file's
    /// metadata.
    fn pages(body: &[u8]) -> (Vec<usize>, ::parquet::file::metadata::ParquetMetaData) {
        let reader = SerializedFileReader::new(bytes::Bytes::copy_from_slice(body)).unwrap();
        let mut sizes = Vec::new();
        for g in 0..reader.num_row_groups() {
            let group = reader.get_row_group(g).unwrap();
            for c in 0..group.num_columns() {
                let mut pages = group.get_column_page_reader(c).unwrap();
                while let Some(page) = pages.get_next_page().unwrap() {
                    if matches!(
                        page.page_type(),
                        PageType::DATA_PAGE | PageType::DATA_PAGE_V2 | PageType::DICTIONARY_PAGE
                    ) {
                        sizes.push(page.buffer().len());
                    }
                }
            }
        }
        (sizes, reader.metadata().clone())
    }

    #[test]
    fn objects_keep_security_lakes_limits() {
        // A string column whose every value is distinct, in one row group: its dictionary fills
        // up to its limit and falls back to plain pages.
        let distinct = records(6_000, 2_500, 1);
        keeps_the_page_limit(&distinct, ParquetLimits::default());
        // Long values (a page fills after a few hundred rows) and small row groups.
        let records = records(6_000, 20_000, 10);
        let limits = ParquetLimits {
            chunk_rows: 500,
            row_group_bytes: 1 << 20,
            ..ParquetLimits::default()
        };
        let (body, metadata) = keeps_the_page_limit(&records, limits);
        let groups = metadata.row_groups();
        assert!(groups.len() > 1, "row groups are cut");
        let time_leaf = metadata
            .file_metadata()
            .schema_descr()
            .columns()
            .iter()
            .position(|c| c.path().parts() == ["time"])
            .unwrap();
        for group in groups {
            assert!(
                group.compressed_size() < 8 << 20,
                "{}",
                group.compressed_size()
            );
            assert_eq!(
                group.sorting_columns().unwrap(),
                &[SortingColumn {
                    column_idx: time_leaf as i32,
                    descending: false,
                    nulls_first: false
                }]
            );
            for column in group.columns() {
                assert!(
                    matches!(column.compression(), Compression::ZSTD(_)),
                    "{:?} is {:?}",
                    column.column_path(),
                    column.compression()
                );
            }
        }
        assert_eq!(records_of(&body).unwrap().len(), records.len());
    }

    /// The object of `records` cut by `limits`, and its metadata, once every data and dictionary
    /// page is checked to be filled and within Security Lake's 1 MB.
    fn keeps_the_page_limit(
        records: &[String],
        limits: ParquetLimits,
    ) -> (Vec<u8>, ::parquet::file::metadata::ParquetMetaData) {
        let encoder = ParquetEncoder::with_limits(layout(), limits);
        let body = encode(&encoder, "events", records).unwrap();
        let (sizes, metadata) = pages(&body);
        assert!(sizes.len() >= 20, "{} pages", sizes.len());
        let largest = sizes.iter().max().copied().unwrap();
        assert!(largest <= 1_000_000, "a page of {largest} bytes");
        assert!(largest > 400_000, "pages are filled: {largest}");
        (body, metadata)
    }

    #[test]
    fn numbers_carry_statistics_and_strings_none() {
        let records = records(2_000, 10, 10);
        let body = encode(&ParquetEncoder::new(layout()), "events", &records).unwrap();
        let (_, metadata) = pages(&body);
        let (mut strings, mut numbers) = (0, 0);
        for group in metadata.row_groups() {
            for column in group.columns() {
                let path = column.column_path().string();
                match column.column_type() {
                    ::parquet::basic::Type::BYTE_ARRAY => {
                        assert!(column.statistics().is_none(), "{path} has statistics");
                        strings += 1;
                    }
                    _ => {
                        let stats = column.statistics();
                        assert!(
                            stats.is_some_and(|s| s.min_bytes_opt().is_some()),
                            "{path} has no min/max"
                        );
                        numbers += 1;
                    }
                }
                if path == "time" {
                    let Some(::parquet::file::statistics::Statistics::Int64(time)) =
                        column.statistics()
                    else {
                        panic!("time has no Int64 statistics");
                    };
                    assert_eq!(time.min_opt(), Some(&1_767_225_600_000));
                    assert_eq!(time.max_opt(), Some(&(1_767_225_600_000 + 1_999 * 7)));
                }
            }
        }
        assert!(
            strings > 3 && numbers > 3,
            "{strings} strings, {numbers} numbers"
        );
    }

    #[test]
    fn what_cannot_be_written_exactly_is_refused() {
        let encoder = ParquetEncoder::new(layout());
        let mut records = records(3, 10, 10);
        records.push(r#"{"time":1767225600001,"surprise":1}"#.to_owned());
        let err = encode(&encoder, "events", &records)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("record 4") && err.contains("surprise"),
            "{err}"
        );

        let late = records[..3].iter().rev().cloned().collect::<Vec<_>>();
        let err = encode(&encoder, "events", &late).unwrap_err().to_string();
        assert!(err.contains("time order"), "{err}");

        let wrong = vec![r#"{"time":1,"score":"high"}"#.to_owned()];
        assert!(encode(&encoder, "events", &wrong).is_err());
        let fraction = vec![r#"{"time":1.5}"#.to_owned()];
        assert!(
            encode(&encoder, "events", &fraction).is_err(),
            "no silent truncation"
        );

        let err = encode(&encoder, "raw", &[]).unwrap_err().to_string();
        assert!(err.contains("no columnar schema"), "{err}");
        let err = encode(&encoder, "nope", &[]).unwrap_err().to_string();
        assert!(err.contains("no such table"), "{err}");
    }
}
