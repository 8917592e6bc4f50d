//! Runtime layer: an input's declared instruments ([`crate::contract::instruments`]) mapped
//! onto the `prometheus-client` registry the runtime owns.
//!
//! Each named instrument is registered as a metric in declaration order (so the exposition
//! lists the input's families where and as the input declared them: `_total` on counters, the
//! unit as a suffix, the help text ended with a period by the registry); gauge sources become
//! collectors, which the registry encodes after every metric. Values are read from the SDK's
//! handles at every scrape: nothing is copied while the input records.

use std::sync::Arc;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::{MetricType, TypedMetric};
use prometheus_client::registry::{Registry, Unit as PromUnit};

use crate::contract::instruments::{
    Counter, Declaration, FloatCounter, GaugeReadings, GaugeSource, GaugeValue, Histogram,
    Instrument, Instruments, LabelledCounters, Unit,
};

/// Registers every declaration of `instruments` into `registry`, in order.
pub(super) fn register(registry: &mut Registry, instruments: Instruments) {
    for declaration in instruments.into_declarations() {
        match declaration {
            Declaration::Instrument {
                name,
                help,
                unit,
                instrument,
            } => {
                let metric = Exposed(instrument);
                match unit {
                    Some(unit) => registry.register_with_unit(name, help, prom_unit(unit), metric),
                    None => registry.register(name, help, metric),
                }
            }
            Declaration::Gauges(source) => {
                registry.register_collector(Box::new(Gauges(source)));
            }
        }
    }
}

fn prom_unit(unit: Unit) -> PromUnit {
    match unit {
        Unit::Seconds => PromUnit::Seconds,
        Unit::Bytes => PromUnit::Bytes,
    }
}

/// One declared instrument, as the registry encodes it.
#[derive(Debug)]
struct Exposed(Instrument);

impl TypedMetric for Exposed {}

fn encode_counter(counter: &Counter, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
    encoder.encode_counter::<NoLabelSet, _, u64>(&counter.get(), None)
}

fn encode_float_counter(
    counter: &FloatCounter,
    mut encoder: MetricEncoder,
) -> Result<(), std::fmt::Error> {
    encoder.encode_counter::<NoLabelSet, _, u64>(&counter.get(), None)
}

fn encode_family(
    family: &Arc<dyn LabelledCounters>,
    mut encoder: MetricEncoder,
) -> Result<(), std::fmt::Error> {
    for (labels, value) in family.members() {
        let mut member = encoder.encode_family(&labels)?;
        member.encode_counter::<NoLabelSet, _, u64>(&value, None)?;
    }
    Ok(())
}

fn encode_histogram(
    histogram: &Histogram,
    mut encoder: MetricEncoder,
) -> Result<(), std::fmt::Error> {
    let values = histogram.values();
    encoder.encode_histogram::<NoLabelSet>(values.sum, values.count, &values.buckets, None)
}

impl EncodeMetric for Exposed {
    fn encode(&self, encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        match &self.0 {
            Instrument::Counter(c) => encode_counter(c, encoder),
            Instrument::FloatCounter(c) => encode_float_counter(c, encoder),
            Instrument::CounterFamily(f) => encode_family(f, encoder),
            Instrument::Histogram(h) => encode_histogram(h, encoder),
        }
    }

    fn metric_type(&self) -> MetricType {
        match &self.0 {
            Instrument::Counter(_) | Instrument::FloatCounter(_) | Instrument::CounterFamily(_) => {
                MetricType::Counter
            }
            Instrument::Histogram(_) => MetricType::Histogram,
        }
    }
}

/// A gauge source, read at every scrape.
#[derive(Debug)]
struct Gauges(Arc<dyn GaugeSource>);

impl Collector for Gauges {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let mut readings = GaugeReadings::default();
        self.0.read(&mut readings);
        for reading in readings.into_readings() {
            let unit = reading.unit.map(prom_unit);
            let metric = encoder.encode_descriptor(
                reading.name,
                reading.help,
                unit.as_ref(),
                MetricType::Gauge,
            )?;
            match reading.value {
                Some(GaugeValue::Int(v)) => ConstGauge::new(v).encode(metric)?,
                Some(GaugeValue::Float(v)) => ConstGauge::new(v).encode(metric)?,
                None => {}
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::sync::atomic::AtomicU64;

    use prometheus_client::encoding::prometheus_text::encode;
    use prometheus_client::metrics::counter::Counter as PromCounter;
    use prometheus_client::metrics::family::Family;
    use prometheus_client::metrics::histogram::{Histogram as PromHistogram, exponential_buckets};

    use super::*;
    use crate::contract::instruments::{self, CounterFamily};

    /// What `prometheus-client`'s own types expose, the SDK's instruments expose byte for byte:
    /// inputs moved onto them keep their exposition.
    #[test]
    fn declared_instruments_encode_as_prometheus_clients_own_types() {
        let mut own = Registry::with_prefix("demo");
        let pages = PromCounter::<u64>::default();
        let waited = PromCounter::<f64, AtomicU64>::default();
        let requests = Family::<[(&'static str, &'static str); 2], PromCounter>::default();
        let duration = PromHistogram::new(exponential_buckets(0.01, 2.0, 15));
        own.register("pages", "Pages handled", pages.clone());
        own.register_with_unit("wait", "Time waited", PromUnit::Seconds, waited.clone());
        own.register("requests", "Requests by class", requests.clone());
        own.register_with_unit(
            "request_duration",
            "Time of one request",
            PromUnit::Seconds,
            duration.clone(),
        );
        pages.inc_by(3);
        waited.inc_by(1.25);
        requests
            .get_or_create(&[("status", "2xx"), ("kind", "ok")])
            .inc();
        for v in [0.005, 0.3, 7.0, 1e6] {
            duration.observe(v);
        }

        let mut mapped = Registry::with_prefix("demo");
        let mut declared = Instruments::default();
        let pages = Counter::default();
        let waited = FloatCounter::default();
        let requests = CounterFamily::<2>::default();
        let duration = Histogram::new(instruments::exponential_buckets(0.01, 2.0, 15));
        declared.counter("pages", "Pages handled", &pages);
        declared.float_counter_with_unit("wait", "Time waited", Unit::Seconds, &waited);
        declared.counter_family("requests", "Requests by class", &requests);
        declared.histogram_with_unit(
            "request_duration",
            "Time of one request",
            Unit::Seconds,
            &duration,
        );
        register(&mut mapped, declared);
        pages.inc_by(3);
        waited.inc_by(1.25);
        requests
            .get_or_create(&[("status", "2xx"), ("kind", "ok")])
            .inc();
        for v in [0.005, 0.3, 7.0, 1e6] {
            duration.observe(v);
        }

        let (mut a, mut b) = (String::new(), String::new());
        encode(&mut a, &own).unwrap();
        encode(&mut b, &mapped).unwrap();
        assert_eq!(b, a);
        assert!(
            b.contains("demo_request_duration_seconds_bucket{le=\"0.02\"} 1\n"),
            "{b}"
        );
    }

    #[derive(Debug)]
    struct Two;
    impl GaugeSource for Two {
        fn read(&self, gauges: &mut GaugeReadings) {
            gauges.gauge("lag", "Behind.", Some(Unit::Seconds), Some(2.5));
            gauges.gauge("ids", "Kept.", None, Some(7_i64));
            gauges.gauge("absent", "Not known yet.", None, None::<i64>);
        }
    }

    #[test]
    fn gauge_sources_list_every_gauge_and_sample_the_known_ones() {
        let mut registry = Registry::with_prefix("demo");
        let mut declared = Instruments::default();
        declared.gauges(Arc::new(Two));
        register(&mut registry, declared);
        let mut text = String::new();
        encode(&mut text, &registry).unwrap();
        assert_eq!(
            text,
            "# HELP demo_lag_seconds Behind.\n# TYPE demo_lag_seconds gauge\ndemo_lag_seconds 2.5\n# HELP demo_ids Kept.\n# TYPE demo_ids gauge\ndemo_ids 7\n# HELP demo_absent Not known yet.\n# TYPE demo_absent gauge\n"
        );
    }
}
