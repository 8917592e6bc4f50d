//! Runtime layer (cargo feature `lake`): the lake destination's families: objects and bytes
//! written per table, the spool's depth and the age of its oldest record, upload errors by kind,
//! and whether collection waits on a full spool. Recorded once per object, per commit and per
//! failed attempt, never per record.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::registry::Registry;

/// A table's label: the input's table names are fixed words of its layout.
type TableLabel = Vec<(&'static str, String)>;

/// The lake's families (a handle: clones record into the same families).
#[derive(Debug, Clone, Default)]
pub struct LakeMetrics {
    objects: Family<TableLabel, Counter>,
    bytes: Family<TableLabel, Counter>,
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
            "Age of the oldest record in the lake spool, not yet in the lake (0: the spool is empty; for a segment of an earlier run, since its last write)",
            None,
            MetricType::Gauge,
        )?;
        ConstGauge::new(age).encode(metric)
    }
}

impl LakeMetrics {
    /// Registers the families in `registry`.
    pub(super) fn register(&self, registry: &mut Registry) {
        registry.register(
            "lake_objects",
            "Objects written to the lake, by table",
            self.objects.clone(),
        );
        registry.register(
            "lake_bytes",
            "Bytes of objects written to the lake, by table",
            self.bytes.clone(),
        );
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
        let label = vec![("table", table.to_owned())];
        self.objects.get_or_create(&label).inc();
        self.bytes.get_or_create(&label).inc_by(bytes as u64);
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
