//! Contract layer: how an input declares and records its own instruments (counters, labelled
//! counters, histograms, gauges read at scrape time) without knowing how they are exposed.
//!
//! # Why the SDK owns these types
//!
//! An input should be able to say "I count pages" without tying its trait signature to one
//! metrics library or exposition format. The handles here are the SDK's own: plain atomics the
//! input records into whether or not anybody scrapes (recording is a few additions). An input
//! that wants them exposed declares them once in
//! [`Input::register_metrics`](crate::contract::input::Input::register_metrics) through
//! [`Instruments`]; the runtime
//! (`runtime::metrics`) maps each declaration onto the registry it exposes, under the
//! prefix derived from the connector's name, and encodes the current values at every scrape.
//!
//! # Rules, as for the host's own families
//!
//! - Record once per page or batch, never per record (count in locals, add the page's totals).
//! - Names without the prefix, counters without `_total` (the exposition adds it), base units
//!   (seconds, bytes) given as a [`Unit`] rather than spelt into the name.
//! - Label values are fixed words chosen by code ([`Labels`] is `&'static str` pairs), never text
//!   from a config, a request or a response: a lookup allocates nothing and no secret can reach
//!   a label.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch, now (0 if the clock is before it).
pub fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// Labels of one member of a [`CounterFamily`]: fixed words chosen by code.
pub type Labels<const N: usize> = [(&'static str, &'static str); N];

/// The base unit of an instrument, appended to its exposed name (`_seconds`, `_bytes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Seconds.
    Seconds,
    /// Bytes.
    Bytes,
}

/// A monotonic integer counter. Cheap to clone (a handle); clones count into the same value.
#[derive(Debug, Clone, Default)]
pub struct Counter(Arc<AtomicU64>);

impl Counter {
    /// Adds one.
    pub fn inc(&self) {
        self.inc_by(1);
    }

    /// Adds `n`.
    pub fn inc_by(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    /// The current value.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// A monotonic counter of a float quantity (seconds waited). A handle, like [`Counter`].
#[derive(Debug, Clone, Default)]
pub struct FloatCounter(Arc<AtomicU64>);

impl FloatCounter {
    /// Adds `v`.
    pub fn inc_by(&self, v: f64) {
        let mut old = self.0.load(Ordering::Relaxed);
        loop {
            let new = (f64::from_bits(old) + v).to_bits();
            match self
                .0
                .compare_exchange_weak(old, new, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => return,
                Err(current) => old = current,
            }
        }
    }

    /// The current value.
    pub fn get(&self) -> f64 {
        f64::from_bits(self.0.load(Ordering::Relaxed))
    }
}

/// Counters told apart by `N` labels whose values are fixed words. A handle.
///
/// A member appears in the exposition once it is first looked up; look the label sets every run
/// can have up at registration, so they are listed (at 0) from the first scrape.
#[derive(Debug, Clone)]
pub struct CounterFamily<const N: usize> {
    members: Arc<RwLock<Vec<(Labels<N>, Counter)>>>,
}

impl<const N: usize> Default for CounterFamily<N> {
    fn default() -> Self {
        CounterFamily {
            members: Arc::default(),
        }
    }
}

impl<const N: usize> CounterFamily<N> {
    /// The counter of `labels`, created at 0 on first use.
    pub fn get_or_create(&self, labels: &Labels<N>) -> Counter {
        let found = |members: &[(Labels<N>, Counter)]| {
            members
                .iter()
                .find(|(l, _)| l == labels)
                .map(|(_, c)| c.clone())
        };
        if let Ok(members) = self.members.read()
            && let Some(counter) = found(&members)
        {
            return counter;
        }
        let mut members = match self.members.write() {
            Ok(members) => members,
            Err(poisoned) => poisoned.into_inner(),
        };
        if let Some(counter) = found(&members) {
            return counter;
        }
        let counter = Counter::default();
        members.push((*labels, counter.clone()));
        counter
    }

    /// Every member so far, in the order they were first looked up.
    pub fn members(&self) -> Vec<(Vec<(&'static str, &'static str)>, u64)> {
        let members = match self.members.read() {
            Ok(members) => members,
            Err(poisoned) => poisoned.into_inner(),
        };
        members
            .iter()
            .map(|(labels, counter)| (labels.to_vec(), counter.get()))
            .collect()
    }
}

/// `length` bucket bounds starting at `start`, each `factor` times the previous one.
pub fn exponential_buckets(start: f64, factor: f64, length: u16) -> impl Iterator<Item = f64> {
    (0..usize::from(length)).map(move |i| start * factor.powf(i as f64))
}

/// A distribution of observed values over fixed buckets (plus `+Inf`). A handle.
#[derive(Debug, Clone)]
pub struct Histogram {
    inner: Arc<Mutex<HistogramValues>>,
}

/// What a [`Histogram`] holds at one instant.
#[derive(Debug, Clone, PartialEq)]
pub struct HistogramValues {
    /// The sum of every observation.
    pub sum: f64,
    /// How many observations.
    pub count: u64,
    /// Each bucket's upper bound and the observations that fell in it (not cumulative); the
    /// last bound is `+Inf`.
    pub buckets: Vec<(f64, u64)>,
}

impl Histogram {
    /// A histogram over `bounds` (finite upper bounds, ascending; `+Inf` is added).
    pub fn new(bounds: impl IntoIterator<Item = f64>) -> Self {
        let buckets = bounds
            .into_iter()
            .filter(|b| b.is_finite())
            .chain(std::iter::once(f64::INFINITY))
            .map(|b| (b, 0))
            .collect();
        Histogram {
            inner: Arc::new(Mutex::new(HistogramValues {
                sum: 0.0,
                count: 0,
                buckets,
            })),
        }
    }

    /// Records one observation.
    pub fn observe(&self, v: f64) {
        let mut inner = match self.inner.lock() {
            Ok(inner) => inner,
            Err(poisoned) => poisoned.into_inner(),
        };
        inner.sum += v;
        inner.count += 1;
        let bucket = if v.is_nan() {
            inner.buckets.last_mut()
        } else {
            inner.buckets.iter_mut().find(|(upper, _)| *upper >= v)
        };
        if let Some((_, n)) = bucket {
            *n += 1;
        }
    }

    /// The values now.
    pub fn values(&self) -> HistogramValues {
        match self.inner.lock() {
            Ok(inner) => inner.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }
}

/// The value of a gauge read at scrape time: integers and floats are exposed as they are.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum GaugeValue {
    /// An integer (unix seconds, a count).
    Int(i64),
    /// A float (seconds, a ratio).
    Float(f64),
}

impl From<i64> for GaugeValue {
    fn from(v: i64) -> Self {
        GaugeValue::Int(v)
    }
}

impl From<f64> for GaugeValue {
    fn from(v: f64) -> Self {
        GaugeValue::Float(v)
    }
}

/// One gauge as read at scrape time.
#[derive(Debug, Clone, PartialEq)]
pub struct GaugeReading {
    /// Its name, without the prefix or the unit.
    pub name: &'static str,
    /// Its help text, exposed as written.
    pub help: &'static str,
    /// Its unit, if it has one.
    pub unit: Option<Unit>,
    /// Its value, or `None` when it is not known (the gauge is listed without a sample).
    pub value: Option<GaugeValue>,
}

/// What a [`GaugeSource`] says at one scrape, in the order it should be exposed.
#[derive(Debug, Default)]
pub struct GaugeReadings {
    readings: Vec<GaugeReading>,
}

impl GaugeReadings {
    /// Adds one gauge: always listed, with a sample only when `value` is known.
    pub fn gauge(
        &mut self,
        name: &'static str,
        help: &'static str,
        unit: Option<Unit>,
        value: Option<impl Into<GaugeValue>>,
    ) {
        self.readings.push(GaugeReading {
            name,
            help,
            unit,
            value: value.map(Into::into),
        });
    }

    /// The gauges, in order.
    pub fn into_readings(self) -> Vec<GaugeReading> {
        self.readings
    }
}

/// Gauges computed when somebody scrapes (a lag that keeps growing while nothing moves), read
/// from values the input keeps up to date.
pub trait GaugeSource: fmt::Debug + Send + Sync + 'static {
    /// Reads every gauge into `gauges`.
    fn read(&self, gauges: &mut GaugeReadings);
}

/// A labelled family as the runtime reads it: every member's labels and value.
pub trait LabelledCounters: fmt::Debug + Send + Sync + 'static {
    /// Every member so far, in the order they were first looked up.
    fn members(&self) -> Vec<(Vec<(&'static str, &'static str)>, u64)>;
}

impl<const N: usize> LabelledCounters for CounterFamily<N> {
    fn members(&self) -> Vec<(Vec<(&'static str, &'static str)>, u64)> {
        CounterFamily::members(self)
    }
}

/// One declared instrument.
#[derive(Debug, Clone)]
pub enum Instrument {
    /// A [`Counter`].
    Counter(Counter),
    /// A [`FloatCounter`].
    FloatCounter(FloatCounter),
    /// A [`CounterFamily`].
    CounterFamily(Arc<dyn LabelledCounters>),
    /// A [`Histogram`].
    Histogram(Histogram),
}

/// One declaration: a named, described instrument, or a source of gauges.
#[derive(Debug, Clone)]
pub enum Declaration {
    /// An instrument the runtime exposes under `name` (prefixed; `_total` added to counters).
    Instrument {
        /// The name, without the prefix, the unit or `_total`.
        name: &'static str,
        /// The help text (the exposition ends it with a period).
        help: &'static str,
        /// The unit, if any.
        unit: Option<Unit>,
        /// The instrument.
        instrument: Instrument,
    },
    /// Gauges read at scrape time, exposed after every named instrument.
    Gauges(Arc<dyn GaugeSource>),
}

/// Where an input declares its instruments, in the order they are to be exposed.
#[derive(Debug, Default)]
pub struct Instruments {
    declared: Vec<Declaration>,
}

impl Instruments {
    fn declare(
        &mut self,
        name: &'static str,
        help: &'static str,
        unit: Option<Unit>,
        instrument: Instrument,
    ) {
        self.declared.push(Declaration::Instrument {
            name,
            help,
            unit,
            instrument,
        });
    }

    /// Declares a counter.
    pub fn counter(&mut self, name: &'static str, help: &'static str, counter: &Counter) {
        self.declare(name, help, None, Instrument::Counter(counter.clone()));
    }

    /// Declares a counter of `unit`s.
    pub fn counter_with_unit(
        &mut self,
        name: &'static str,
        help: &'static str,
        unit: Unit,
        counter: &Counter,
    ) {
        self.declare(name, help, Some(unit), Instrument::Counter(counter.clone()));
    }

    /// Declares a float counter of `unit`s.
    pub fn float_counter_with_unit(
        &mut self,
        name: &'static str,
        help: &'static str,
        unit: Unit,
        counter: &FloatCounter,
    ) {
        self.declare(
            name,
            help,
            Some(unit),
            Instrument::FloatCounter(counter.clone()),
        );
    }

    /// Declares a family of labelled counters.
    pub fn counter_family<const N: usize>(
        &mut self,
        name: &'static str,
        help: &'static str,
        family: &CounterFamily<N>,
    ) {
        self.declare(
            name,
            help,
            None,
            Instrument::CounterFamily(Arc::new(family.clone())),
        );
    }

    /// Declares a histogram of `unit`s.
    pub fn histogram_with_unit(
        &mut self,
        name: &'static str,
        help: &'static str,
        unit: Unit,
        histogram: &Histogram,
    ) {
        self.declare(
            name,
            help,
            Some(unit),
            Instrument::Histogram(histogram.clone()),
        );
    }

    /// Declares gauges read from `source` at every scrape.
    pub fn gauges(&mut self, source: Arc<dyn GaugeSource>) {
        self.declared.push(Declaration::Gauges(source));
    }

    /// Everything declared, in order (for the runtime).
    pub fn into_declarations(self) -> Vec<Declaration> {
        self.declared
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_share_their_values() {
        let c = Counter::default();
        c.clone().inc_by(3);
        c.inc();
        assert_eq!(c.get(), 4);
        let f = FloatCounter::default();
        f.clone().inc_by(0.5);
        f.inc_by(1.0);
        assert_eq!(f.get(), 1.5);
        let family = CounterFamily::<1>::default();
        family.get_or_create(&[("reason", "b")]).inc();
        family.get_or_create(&[("reason", "a")]).inc_by(2);
        family.clone().get_or_create(&[("reason", "b")]).inc();
        assert_eq!(
            family.members(),
            vec![(vec![("reason", "b")], 2), (vec![("reason", "a")], 2)]
        );
    }

    #[test]
    fn a_histogram_counts_each_observation_in_its_first_bucket() {
        let h = Histogram::new(exponential_buckets(1.0, 2.0, 3));
        for v in [0.5, 1.0, 3.0, 100.0] {
            h.observe(v);
        }
        let values = h.values();
        assert_eq!(values.count, 4);
        assert_eq!(values.sum, 104.5);
        assert_eq!(
            values.buckets,
            vec![(1.0, 2), (2.0, 0), (4.0, 1), (f64::INFINITY, 1)]
        );
    }
}
