//! Runtime layer: what an object's bytes are. An encoder gets the records of one object (one
//! table, one UTC day, already in time order) and returns the object's body.

/// Why an object could not be encoded.
#[derive(Debug, thiserror::Error)]
#[error("cannot encode an object of table {table}: {message}")]
pub struct EncodeError {
    /// The table.
    pub table: String,
    /// What went wrong.
    pub message: String,
}

/// Turns the records of one object into its body.
pub trait ObjectEncoder: Send + Sync + 'static {
    /// The object name's extension, without the dot (`parquet`, `ndjson.gz`).
    fn extension(&self) -> &'static str;

    /// The body of one object holding `records` (NDJSON lines without their newlines, of
    /// `table`, in time order), in that order.
    fn encode(
        &self,
        table: &str,
        records: &mut dyn Iterator<Item = &[u8]>,
    ) -> Result<Vec<u8>, EncodeError>;
}
