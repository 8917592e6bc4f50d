//! Runtime layer (cargo feature `lake`): the lake destination's families: objects and bytes
//! written per table, the spool's depth and the age of its oldest record, upload errors by kind,
//! and whether collection waits on a full spool. Recorded once per object, per commit and per
//! failed attempt, never per record.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::registry::Registry;

/// Objects and bytes written, per table (the input's table names: fixed words of its layout).
type PerTable = Arc<Mutex<BTreeMap<String, (u64, u64)>>>;

/// The lake's families (a handle: clones record into the same families).
#[derive(Debug, Clone, Default)]
pub struct LakeMetrics {
    written: PerTable,
    spool_bytes: Gauge,
    spool_segments: Gauge,
    /// When the oldest record in the spool was spooled, unix milliseconds (0: the spool is empty).
    oldest_ms: Arc<AtomicI64>,
    upload_errors: Family<[(&'static str, &'static str); 1], Counter>,
    waiting: Gauge,
}

/// `lake_spool_oldest_record_age_seconds`, computed at each scrape.
#[derive(Debug)]
struct OldestAge(Arc<AtomicI64>);

impl Collector for OldestAge {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let oldest = self.0.load(Ordering::Relaxed);
        let age = if oldest == 0 {
            0.0
        } else {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
            (now.saturating_sub(oldest)).max(0) as f64 / 1000.0
        };
        let metric = encoder.encode_descriptor(
            "lake_spool_oldest_record_age_seconds",
            "Age of the oldest record in the lake spool, not yet in the lake (0: the spool is empty; for a segment of an earlier run, since its last write).",
            None,
            MetricType::Gauge,
        )?;
        ConstGauge::new(age).encode(metric)
    }
}

/// `lake_objects_total{table}` and `lake_bytes_total{table}`: described even before the
/// first object (the tables are the input's, known only once a read starts).
#[derive(Debug)]
struct Written(PerTable);

impl Collector for Written {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let written = match self.0.lock() {
            Ok(w) => w.clone(),
            Err(p) => p.into_inner().clone(),
        };
        for (name, help, pick) in [
            (
                "lake_objects",
                "Objects written to the lake, by table.",
                (|v: &(u64, u64)| v.0) as fn(&(u64, u64)) -> u64,
            ),
            (
                "lake_bytes",
                "Bytes of objects written to the lake, by table.",
                |v: &(u64, u64)| v.1,
            ),
        ] {
            let mut family = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
            for (table, value) in &written {
                let labels = [("table", table.as_str())];
                let metric = family.encode_family(&labels)?;
                ConstCounter::new(pick(value)).encode(metric)?;
            }
        }
        Ok(())
    }
}

impl LakeMetrics {
    /// Registers the families in `registry`.
    pub(super) fn register(&self, registry: &mut Registry) {
        registry.register_collector(Box::new(Written(Arc::clone(&self.written))));
        registry.register(
            "lake_spool_bytes",
            "Bytes in the lake spool (the open segment and the sealed ones waiting for upload)",
            self.spool_bytes.clone(),
        );
        registry.register(
            "lake_spool_segments",
            "Sealed segments in the lake spool waiting for upload",
            self.spool_segments.clone(),
        );
        registry.register_collector(Box::new(OldestAge(Arc::clone(&self.oldest_ms))));
        registry.register(
            "lake_upload_errors",
            "Failed object writes, by kind: transient and throttled are retried; auth and config stop the read",
            self.upload_errors.clone(),
        );
        registry.register(
            "lake_waiting",
            "1 while collection waits because the lake spool is full (the checkpoint does not move), else 0",
            self.waiting.clone(),
        );
        for kind in ["transient", "throttled", "auth", "config"] {
            let _ = self.upload_errors.get_or_create(&[("kind", kind)]);
        }
    }

    /// One object of `bytes` bytes written for `table`.
    pub fn object_written(&self, table: &str, bytes: usize) {
        let mut written = match self.written.lock() {
            Ok(w) => w,
            Err(p) => p.into_inner(),
        };
        let entry = written.entry(table.to_owned()).or_default();
        entry.0 += 1;
        entry.1 += bytes as u64;
    }

    /// The spool now holds `bytes` in `segments` sealed segments (and the open one), its oldest
    /// record spooled at `oldest_ms` (unix milliseconds; 0: empty).
    pub fn spool(&self, bytes: u64, segments: usize, oldest_ms: i64) {
        self.spool_bytes
            .set(i64::try_from(bytes).unwrap_or(i64::MAX));
        self.spool_segments
            .set(i64::try_from(segments).unwrap_or(i64::MAX));
        self.oldest_ms.store(oldest_ms, Ordering::Relaxed);
    }

    /// One failed write of class `kind` (a fixed word).
    pub fn upload_failed(&self, kind: &'static str) {
        self.upload_errors.get_or_create(&[("kind", kind)]).inc();
    }

    /// Whether collection waits on a full spool.
    pub fn waiting(&self, waiting: bool) {
        self.waiting.set(i64::from(waiting));
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn every_family_is_described_and_objects_are_counted_per_table() {
        let lake = LakeMetrics::default();
        let mut registry = Registry::with_prefix("demo");
        lake.register(&mut registry);
        let text = |r: &Registry| {
            let mut out = String::new();
            prometheus_client::encoding::prometheus_text::encode(&mut out, r).unwrap();
            out
        };
        let before = text(&registry);
        for family in [
            "demo_lake_objects_total",
            "demo_lake_bytes_total",
            "demo_lake_spool_bytes",
            "demo_lake_spool_segments",
            "demo_lake_spool_oldest_record_age_seconds",
            "demo_lake_upload_errors_total",
            "demo_lake_waiting",
        ] {
            assert!(
                before.contains(&format!("# TYPE {family} ")),
                "{family}: {before}"
            );
        }
        lake.object_written("api_activity", 100);
        lake.object_written("api_activity", 20);
        lake.upload_failed("throttled");
        lake.waiting(true);
        let after = text(&registry);
        for sample in [
            "demo_lake_objects_total{table=\"api_activity\"} 2",
            "demo_lake_bytes_total{table=\"api_activity\"} 120",
            "demo_lake_upload_errors_total{kind=\"throttled\"} 1",
            "demo_lake_waiting 1",
        ] {
            assert!(after.contains(sample), "{sample}: {after}");
        }
    }
}
