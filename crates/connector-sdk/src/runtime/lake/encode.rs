//! Runtime layer: what an object's bytes are. An encoder starts an object of one table; the
//! object takes its records one at a time (one UTC day of the table, already in time order),
//! so the uploader holds one record and what the encoder keeps, never a whole segment; then it
//! gives the object's body.

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

    /// An empty object of `table`.
    fn start(&self, table: &str) -> Result<Box<dyn ObjectBody + '_>, EncodeError>;

    /// The body of one object holding `records` (NDJSON lines without their newlines, of
    /// `table`, in time order), in that order.
    fn encode(
        &self,
        table: &str,
        records: &mut dyn Iterator<Item = &[u8]>,
    ) -> Result<Vec<u8>, EncodeError> {
        let mut object = self.start(table)?;
        for record in records {
            object.push(record)?;
        }
        object.finish()
    }
}

/// One object being encoded.
pub trait ObjectBody {
    /// Appends `record` (an NDJSON line without its newline, the next in time order).
    fn push(&mut self, record: &[u8]) -> Result<(), EncodeError>;

    /// The object's body.
    fn finish(self: Box<Self>) -> Result<Vec<u8>, EncodeError>;
}
