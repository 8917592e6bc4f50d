//! Runtime layer: the uploader, a task beside the host's writer that turns sealed spool
//! segments into objects, oldest first.
//!
//! One segment at a time (memory holds its index, one record, and one object being encoded,
//! never the segment): its records are read through once and placed by the input's layout,
//! grouped by `(table, UTC day)`, each group sorted by time (stable: records of one instant
//! keep the spool's order); each group's records are then read back in that order (by blocks
//! where that pays: [`crate::runtime::lake::record_reader`]), encoded,
//! and written at the key derived from the segment ([`crate::runtime::lake::object_keys`]). Only when every object
//! is durable is the segment's file removed (and the folder `fsync`ed), so a kill anywhere
//! repeats at most the upload of one segment, to the same keys.
//!
//! Transient and throttled failures are retried with capped exponential backoff, each logged
//! and counted; an auth or config failure stops the read (exit 3 or 2) and leaves the segment
//! in the spool for the next run.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio_util::sync::CancellationToken;

use crate::contract::error::ErrorKind;
use crate::runtime::lake::encode::ObjectEncoder;
use crate::runtime::lake::lake_parts::{Backoff, LakeStep};
use crate::runtime::lake::lake_sink::{LakeCore, LakeFailure};
use crate::runtime::lake::layout::LakeLayout;
use crate::runtime::lake::object::{ObjectUrl, ObjectWriter, PutError, PutErrorKind};
use crate::runtime::lake::object_keys::{ObjectKeys, SegmentHash, utc_day};
use crate::runtime::lake::record_reader::RecordReader;
use crate::runtime::lake::spool::Sealed;

/// The buffer a segment is read through when it is planned.
const READ_BUFFER: usize = 1 << 20;

/// How often an idle uploader looks whether the open segment is past its age.
const TICK: Duration = Duration::from_secs(1);

/// One object to make from a segment: a table's records of one UTC day, in time order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// The table.
    pub table: Arc<str>,
    /// The UTC day (days since the epoch).
    pub day: i64,
    /// The records' byte ranges in the segment (without their newlines), in time order.
    pub records: Vec<(usize, usize)>,
}

fn fatal(message: String) -> LakeFailure {
    LakeFailure {
        kind: ErrorKind::Fatal,
        message,
    }
}

/// What a segment makes: its objects, and the hash of its bytes their keys carry.
#[derive(Debug)]
pub struct Plan {
    /// Its objects, groups by table (in order of first appearance) then day.
    pub groups: Vec<Group>,
    /// [`hash16`](super::object_keys::hash16) of the segment's bytes.
    pub hash: String,
}

/// The objects the segment `segment` (seq `seq`), read through once, makes: its records placed,
/// grouped by table and day, each group sorted by time (equal times in the spool's order).
/// Memory holds one line and the index (24 bytes a record), whatever the segment's size.
pub fn plan(
    segment: &mut dyn BufRead,
    layout: &dyn LakeLayout,
    seq: u64,
) -> Result<Plan, LakeFailure> {
    let mut names: Vec<Arc<str>> = Vec::new();
    // Each record's sort key ([`sort_key`]) and end.
    let mut index: Vec<(u128, usize)> = Vec::new();
    let mut hash = SegmentHash::new();
    // Lines are placed where the reader's buffer holds them; only a line the buffer's end cuts
    // is copied, into `carry`, to be whole.
    let mut carry = Vec::new();
    let mut start = 0;
    let mut place_line = |line: &[u8], start: &mut usize| -> Result<(), LakeFailure> {
        let record = line.strip_suffix(b"\n").unwrap_or(line);
        if !record.is_empty() {
            let placement = layout.place(record).map_err(|e| {
                fatal(format!(
                    "a record in spool segment {seq} (at byte {start}) cannot be placed in the lake: {e}"
                ))
            })?;
            // A layout hands out its own few names: found by pointer, else by value.
            let table = names
                .iter()
                .position(|n| Arc::ptr_eq(n, &placement.table))
                .or_else(|| names.iter().position(|n| *n == placement.table))
                .unwrap_or_else(|| {
                    names.push(placement.table);
                    names.len() - 1
                });
            let key = sort_key(table, placement.time_ms, *start).ok_or_else(|| {
                fatal(format!(
                    "spool segment {seq} has more tables or bytes than the uploader sorts"
                ))
            })?;
            index.push((key, *start + record.len()));
        }
        *start += line.len();
        Ok(())
    };
    loop {
        let buffer = segment.fill_buf().map_err(|e| {
            fatal(format!(
                "cannot read spool segment {seq} (at byte {}): {e}",
                start + carry.len()
            ))
        })?;
        if buffer.is_empty() {
            break;
        }
        hash.update(buffer);
        let read = buffer.len();
        let mut at = 0;
        if !carry.is_empty() {
            let Some(end) = memchr::memchr(b'\n', buffer) else {
                carry.extend_from_slice(buffer);
                segment.consume(read);
                continue;
            };
            carry.extend_from_slice(&buffer[..=end]);
            place_line(&carry, &mut start)?;
            carry.clear();
            at = end + 1;
        }
        let rest = &buffer[at..];
        let mut from = 0;
        for end in memchr::memchr_iter(b'\n', rest) {
            place_line(&rest[from..=end], &mut start)?;
            from = end + 1;
        }
        carry.extend_from_slice(&rest[from..]);
        segment.consume(read);
    }
    if !carry.is_empty() {
        place_line(&carry, &mut start)?;
    }
    // Equal times keep the spool's order: the start is the last part of the key.
    index.sort_unstable_by_key(|&(key, _)| key);
    let mut groups: Vec<Group> = Vec::new();
    for (key, end) in index {
        let (table, time_ms, start) = unpack_sort_key(key);
        let day = utc_day(time_ms);
        match groups.last_mut() {
            Some(g) if Arc::ptr_eq(&g.table, &names[table]) && g.day == day => {
                g.records.push((start, end));
            }
            _ => groups.push(Group {
                table: Arc::clone(&names[table]),
                day,
                records: vec![(start, end)],
            }),
        }
    }
    Ok(Plan {
        groups,
        hash: hash.hex(),
    })
}

/// A record's place in the order objects are made in: its table (16 bits), its time (64, the
/// sign flipped so that the bits sort as the numbers do) and its start in the segment (48), in
/// one integer, so one unstable sort of a few bytes a record orders a segment (by table, then
/// time, which orders the UTC days too, and equal times in the spool's order). `None` past 2^16
/// tables or 2^48 bytes.
fn sort_key(table: usize, time_ms: i64, start: usize) -> Option<u128> {
    let table = u16::try_from(table).ok()?;
    let start = u64::try_from(start).ok().filter(|&s| s < 1 << 48)?;
    let time = (time_ms as u64) ^ (1 << 63);
    Some((u128::from(table) << 112) | (u128::from(time) << 48) | u128::from(start))
}

/// The table, time and start a [`sort_key`] holds.
fn unpack_sort_key(key: u128) -> (usize, i64, usize) {
    let table = (key >> 112) as usize;
    let time = (((key >> 48) as u64) ^ (1 << 63)) as i64;
    let start = (key as u64 & ((1 << 48) - 1)) as usize;
    (table, time, start)
}

/// The body of `group`'s object: its records read from the segment file `segment` in the
/// group's order (memory holds one block of the segment and the encoder's chunk;
/// [`RecordReader`]).
pub fn encode_group(
    encoder: &dyn ObjectEncoder,
    segment: &Path,
    group: &Group,
) -> Result<Vec<u8>, LakeFailure> {
    let io_error = |e: std::io::Error| {
        fatal(format!(
            "cannot read spool segment {}: {e}",
            segment.display()
        ))
    };
    let file = std::fs::File::open(segment).map_err(io_error)?;
    let mut reader = RecordReader::new(file, &group.records).map_err(io_error)?;
    let mut object = encoder
        .start(&group.table)
        .map_err(|e| fatal(e.to_string()))?;
    for &(start, end) in &group.records {
        let record = reader.read(start, end).map_err(io_error)?;
        object.push(record).map_err(|e| fatal(e.to_string()))?;
    }
    object.finish().map_err(|e| fatal(e.to_string()))
}

/// A job for the [`Worker`].
type Job = Box<dyn FnOnce() + Send>;

/// The one thread the uploader plans and encodes on, so what it allocates stays in one malloc
/// arena. (tokio's blocking pool hands each task to whichever of its threads is free, and glibc
/// gives each thread an arena of its own that keeps its high-water mark: over a 1M-event
/// synthetic backfill that was 167 MB of peak RSS against 116 MB with one arena.)
struct Worker {
    jobs: std::sync::mpsc::Sender<Job>,
}

impl Worker {
    /// Starts the thread; it ends when the worker is dropped.
    fn start() -> Result<Worker, LakeFailure> {
        let (jobs, queue) = std::sync::mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("lake-encoder".to_owned())
            .spawn(move || {
                for job in queue {
                    job();
                }
            })
            .map_err(|e| fatal(format!("cannot start the lake's encoder thread: {e}")))?;
        Ok(Worker { jobs })
    }

    /// What `job` returns, run on the worker's thread.
    async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, LakeFailure> {
        let (answer, answered) = tokio::sync::oneshot::channel();
        self.jobs
            .send(Box::new(move || {
                // The uploader may have stopped waiting (a shutdown): nothing to tell.
                let _ = answer.send(job());
            }))
            .map_err(|_| fatal("the lake's encoder thread has stopped".to_owned()))?;
        answered
            .await
            .map_err(|_| fatal("the lake's encoder thread stopped during a job".to_owned()))
    }
}

/// Turns sealed segments into objects.
pub struct Uploader<S> {
    /// The spool and the state it shares with the sink.
    pub core: Arc<LakeCore<S>>,
    /// Where objects are written.
    pub writer: Arc<dyn ObjectWriter>,
    /// What their bytes are.
    pub encoder: Arc<dyn ObjectEncoder>,
    /// Each record's table and time.
    pub layout: Arc<dyn LakeLayout>,
    /// Each object's key.
    pub keys: ObjectKeys,
    /// How failed writes are retried.
    pub backoff: Backoff,
}

impl<S: Serialize + DeserializeOwned + Clone + Send + 'static> Uploader<S> {
    /// Uploads sealed segments until `stop` is cancelled or, once a drain was asked for
    /// ([`LakeCore::request_drain`]), none is left. On a failure retrying cannot mend, the core
    /// is failed (delivery stops) and `stop_read` is cancelled.
    pub async fn run(
        self,
        stop: CancellationToken,
        stop_read: CancellationToken,
    ) -> Result<(), LakeFailure> {
        let result = tokio::select! {
            result = self.work() => result,
            () = stop.cancelled() => Ok(()),
        };
        if let Err(failure) = &result {
            self.core.fail(failure.clone());
            stop_read.cancel();
        }
        result
    }

    async fn work(&self) -> Result<(), LakeFailure> {
        let worker = Worker::start()?;
        loop {
            if let Some((sealed, path)) = self.core.oldest_sealed() {
                self.upload(&worker, sealed, path).await?;
                self.core.remove_uploaded(sealed.seq)?;
                continue;
            }
            if self.core.drain_requested() {
                return Ok(());
            }
            tokio::select! {
                () = self.core.wake.notified() => {}
                () = tokio::time::sleep(TICK) => {
                    self.core.seal_if_old().map_err(|e| LakeFailure { kind: e.kind(), message: e.to_string() })?;
                }
            }
        }
    }

    /// Writes every object of sealed segment `sealed` (at `path`).
    async fn upload(
        &self,
        worker: &Worker,
        sealed: Sealed,
        path: std::path::PathBuf,
    ) -> Result<(), LakeFailure> {
        let seq = sealed.seq;
        let Plan { groups, hash } = {
            let path = path.clone();
            let layout = Arc::clone(&self.layout);
            worker
                .run(move || {
                    let file = std::fs::File::open(&path).map_err(|e| {
                        fatal(format!("cannot read spool segment {}: {e}", path.display()))
                    })?;
                    plan(
                        &mut BufReader::with_capacity(READ_BUFFER, file),
                        &*layout,
                        seq,
                    )
                })
                .await??
        };
        let of = groups.len();
        let ext = self.encoder.extension();
        for (index, group) in groups.into_iter().enumerate() {
            let url = self
                .keys
                .object_url(&group.table, group.day, seq, &hash, ext)
                .ok_or_else(|| LakeFailure {
                    kind: ErrorKind::Config,
                    message: format!(
                        "a record of table {} has no location in the lake file",
                        group.table
                    ),
                })?;
            let table = Arc::clone(&group.table);
            let body = {
                let encoder = Arc::clone(&self.encoder);
                let path = path.clone();
                worker
                    .run(move || encode_group(&*encoder, &path, &group))
                    .await??
            };
            let len = body.len();
            self.put(&url, bytes::Bytes::from(body)).await?;
            tracing::debug!(
                message = "Object written.",
                object = %url,
                bytes = len,
                segment = seq,
            );
            self.core.object_written(
                LakeStep::ObjectWritten {
                    segment: seq,
                    index,
                    of,
                },
                &table,
                len,
            );
        }
        self.core.objects_written(seq);
        tracing::info!(
            message = "Spool segment uploaded.",
            segment = seq,
            objects = of,
            bytes = sealed.bytes,
        );
        Ok(())
    }

    /// Writes one object, retrying what is transient.
    async fn put(&self, url: &ObjectUrl, body: bytes::Bytes) -> Result<(), LakeFailure> {
        let mut pause = self.backoff.first;
        let mut attempt = 1u32;
        loop {
            let error: PutError = match self.writer.put(url, body.clone()).await {
                Ok(()) => return Ok(()),
                Err(e) => e,
            };
            self.core.upload_failed(error.kind.as_str());
            let kind = match error.kind {
                PutErrorKind::Transient | PutErrorKind::Throttled => None,
                PutErrorKind::Auth => Some(ErrorKind::Auth),
                PutErrorKind::Config => Some(ErrorKind::Config),
            };
            if let Some(kind) = kind {
                return Err(LakeFailure {
                    kind,
                    message: format!(
                        "the lake refused {url}: {}; the records stay in the spool and are uploaded by the next run",
                        error.message
                    ),
                });
            }
            let wait = if error.kind == PutErrorKind::Throttled {
                pause.saturating_mul(2)
            } else {
                pause
            }
            .min(self.backoff.max);
            tracing::warn!(
                message = "Writing an object failed; trying again.",
                object = %url,
                kind = error.kind.as_str(),
                error = %error.message,
                attempt,
                retry_in_s = wait.as_secs_f64(),
            );
            tokio::time::sleep(wait).await;
            pause = pause.saturating_mul(2).min(self.backoff.max);
            attempt = attempt.saturating_add(1);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::runtime::lake::layout::{LayoutError, Placement, TableInfo};

    /// `{"t": table, "ms": time}`.
    struct Layout;

    impl LakeLayout for Layout {
        fn place(&self, record: &[u8]) -> Result<Placement, LayoutError> {
            let v: serde_json::Value =
                serde_json::from_slice(record).map_err(|e| LayoutError(e.to_string()))?;
            Ok(Placement {
                table: Arc::from(v["t"].as_str().unwrap_or("?")),
                time_ms: v["ms"].as_i64().unwrap_or(0),
            })
        }
        fn tables(&self) -> &[TableInfo] {
            &[]
        }
    }

    #[test]
    fn records_are_grouped_by_table_and_day_and_sorted_by_time_stably() {
        let day = 86_400_000;
        let lines = [
            format!(r#"{{"t":"a","ms":{},"i":0}}"#, day + 5),
            format!(r#"{{"t":"b","ms":{},"i":1}}"#, day + 1),
            format!(r#"{{"t":"a","ms":{},"i":2}}"#, day + 1),
            format!(r#"{{"t":"a","ms":{},"i":3}}"#, 2 * day),
            format!(r#"{{"t":"a","ms":{},"i":4}}"#, day + 1),
            // Before the epoch: the day before day 0, first.
            r#"{"t":"a","ms":-1,"i":5}"#.to_owned(),
        ];
        let bytes = format!("{}\n", lines.join("\n"));
        let Plan { groups, hash } = plan(&mut bytes.as_bytes(), &Layout, 1).unwrap();
        assert_eq!(
            hash,
            crate::runtime::lake::object_keys::hash16(bytes.as_bytes())
        );
        let shown: Vec<(String, i64, Vec<u64>)> = groups
            .iter()
            .map(|g| {
                let ids = g
                    .records
                    .iter()
                    .map(|&(s, e)| {
                        let v: serde_json::Value =
                            serde_json::from_slice(&bytes.as_bytes()[s..e]).unwrap();
                        v["i"].as_u64().unwrap()
                    })
                    .collect();
                (g.table.to_string(), g.day, ids)
            })
            .collect();
        assert_eq!(
            shown,
            vec![
                ("a".into(), -1, vec![5]),
                ("a".into(), 1, vec![2, 4, 0]),
                ("a".into(), 2, vec![3]),
                ("b".into(), 1, vec![1]),
            ]
        );
    }

    #[test]
    fn a_plan_is_the_same_whatever_the_reads_cut_the_segment_into() {
        let day = 86_400_000;
        let mut bytes: String = (0..40)
            .map(|i| {
                format!(
                    "{{\"t\":\"{}\",\"ms\":{},\"i\":{i}}}\n",
                    ["a", "b"][i % 2],
                    day * (i as i64 % 3) + 40 - i as i64
                )
            })
            .collect();
        // An empty line, and a last record without its newline.
        bytes.push_str("\n{\"t\":\"a\",\"ms\":7,\"i\":40}");
        let whole = plan(&mut bytes.as_bytes(), &Layout, 1).unwrap();
        assert_eq!(
            whole.groups.iter().map(|g| g.records.len()).sum::<usize>(),
            41
        );
        for capacity in [1, 2, 3, 7, 16, 33, 64, 1000] {
            let mut reader = std::io::BufReader::with_capacity(capacity, bytes.as_bytes());
            let cut = plan(&mut reader, &Layout, 1).unwrap();
            assert_eq!(cut.groups, whole.groups, "reads of {capacity} bytes");
            assert_eq!(cut.hash, whole.hash, "reads of {capacity} bytes");
        }
    }

    #[test]
    fn a_record_the_layout_cannot_place_stops_the_upload_naming_it() {
        let e = plan(&mut &b"{\"t\":\"a\",\"ms\":1}\nnot json\n"[..], &Layout, 4).unwrap_err();
        assert!(
            e.message.contains("segment 4 (at byte 17)"),
            "{}",
            e.message
        );
    }
}
