//! The benchmark's data sets: realistic entries from the connector's own synthetic generator,
//! in the mock's newest-first order, and the measurement of the generator's speed.
//!
//! The data set is anchored at a fixed instant (not at "now") so the same seed gives the same
//! bytes on every run and every machine: results stay comparable. The connector's window
//! `[backfill start, now]` covers it as long as the anchor is in the past.

use std::sync::Arc;
use std::time::{Duration, Instant};

use slack_audit_synthetic::SyntheticOrg;
use slack_mock::MockEntry;

/// 2026-10-30T00:00:00Z: the newest second of every data set (a Friday, so walking back
/// covers working days). Moved earlier if the machine's clock is before it.
const ANCHOR: i64 = 1_793_318_400;

/// The newest second of the data sets: the anchor, or an hour ago if the clock is earlier.
pub(crate) fn anchor(now: i64) -> i64 {
    ANCHOR.min(now - 3600)
}

/// A data set, newest first (`date_create` descending, then `id` descending), as the mock
/// serves it, so line `i` of the connector's output must be entry `i`.
#[derive(Debug, Default)]
pub(crate) struct DataSet {
    pub(crate) entries: Vec<MockEntry>,
}

/// Generates `n` entries with `SyntheticOrg::new(seed)` at `events_per_hour`, walking back
/// second by second from `end`. Returns the data set and the time spent.
pub(crate) fn generate(seed: u64, events_per_hour: f64, end: i64, n: usize) -> (DataSet, Duration) {
    let started = Instant::now();
    let org = SyntheticOrg::new(seed);
    let mut entries = Vec::with_capacity(n);
    let mut events = Vec::new();
    let mut second = end;
    // A generator that yields nothing (a rate of 0) must not loop forever: give up after a
    // span far longer than any sensible data set needs.
    let give_up = end - 20 * 365 * 86_400;
    while entries.len() < n && second > give_up {
        events.clear();
        org.events_in_second(second, events_per_hour, &mut events);
        events.sort_by(|a, b| b.id.cmp(&a.id));
        for event in events.drain(..) {
            if entries.len() == n {
                break;
            }
            let json: Arc<str> = event.json.into();
            entries.push(MockEntry {
                id: event.id.to_string(),
                date_create: event.date_create,
                json,
                action: None,
                actor: None,
                entity: None,
            });
        }
        second -= 1;
    }
    (DataSet { entries }, started.elapsed())
}

/// What one run of the generator produced.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SyntheticSpeed {
    /// Entries generated.
    pub(crate) entries: u64,
    /// Bytes of JSON generated.
    pub(crate) bytes: u64,
    /// Seconds of the organization's time walked through.
    pub(crate) span_seconds: i64,
    /// Wall time of the generation (one thread, nothing else done in the loop).
    pub(crate) elapsed: Duration,
    /// The rate asked for.
    pub(crate) events_per_hour: f64,
}

impl SyntheticSpeed {
    /// Entries per second of wall time on one core.
    pub(crate) fn per_second(&self) -> f64 {
        self.entries as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Times `events_in_second` alone (single thread): walks back from `end` until at least `n`
/// entries were generated. Nothing is kept but counts.
pub(crate) fn measure_generator(
    seed: u64,
    events_per_hour: f64,
    end: i64,
    n: u64,
) -> SyntheticSpeed {
    let org = SyntheticOrg::new(seed);
    let mut events = Vec::new();
    let mut entries = 0u64;
    let mut bytes = 0u64;
    let mut second = end;
    let give_up = end - 20 * 365 * 86_400;
    let started = Instant::now();
    while entries < n && second > give_up {
        events.clear();
        org.events_in_second(second, events_per_hour, &mut events);
        entries += events.len() as u64;
        bytes += events.iter().map(|e| e.json.len() as u64).sum::<u64>();
        second -= 1;
    }
    let elapsed = started.elapsed();
    std::hint::black_box(&events);
    SyntheticSpeed {
        entries,
        bytes,
        span_seconds: end - second,
        elapsed,
        events_per_hour,
    }
}
