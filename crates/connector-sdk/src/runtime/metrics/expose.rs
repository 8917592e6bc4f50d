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
