//! Runtime layer: a Parquet object read back into the records it was written from (its rows
//! as JSON, JSON-text columns parsed, by the schema stored in the file itself): how tests and
//! tools check that an object holds exactly what was delivered.

use arrow_json::LineDelimitedWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde_json::Value;

use crate::runtime::lake::row_shape::RowShape;

/// Why an object could not be read back.
#[derive(Debug, thiserror::Error)]
#[error("cannot read the Parquet object back: {0}")]
pub struct ReadBackError(pub String);

/// The records of the Parquet object `body`, in its row order.
pub fn records_of(body: &[u8]) -> Result<Vec<Value>, ReadBackError> {
    let error = |e: &dyn std::fmt::Display| ReadBackError(e.to_string());
    let builder = ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::copy_from_slice(body))
        .map_err(|e| error(&e))?;
    let shape = RowShape::new(builder.schema());
    let reader = builder.build().map_err(|e| error(&e))?;
    let mut records = Vec::new();
    for batch in reader {
        let batch = batch.map_err(|e| error(&e))?;
        let mut writer = LineDelimitedWriter::new(Vec::new());
        writer.write(&batch).map_err(|e| error(&e))?;
        writer.finish().map_err(|e| error(&e))?;
        let lines = writer.into_inner();
        for line in lines.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            let row: Value = serde_json::from_slice(line).map_err(|e| error(&e))?;
            records.push(shape.from_row(row).map_err(|e| error(&e))?);
        }
    }
    Ok(records)
}
