//! Small, fast, value-stable randomness for the per-second event stream.
//!
//! Why not `rand` here: the events of a second must be a pure function of (seed, second, rate)
//! and must stay byte-identical across dependency upgrades (fixtures, snapshot tests and the
//! mock server replay them). `rand` documents its small generators as *not* value-stable
//! across versions, and seeding one costs more than the few draws an event needs. SplitMix64
//! is a dozen lines, passes BigCrush when used as a stream, and can be re-seeded for every
//! event for free. The population (built once, through `fake`) still uses `rand`.

/// The 64-bit golden-ratio increment of SplitMix64.
const GOLDEN_GAMMA: u64 = 0x9e37_79b9_7f4a_7c15;

/// Poisson draws are split into chunks of at most this mean, so `exp(-mean)` never underflows.
const POISSON_CHUNK: f64 = 16.0;

/// Upper bound on the mean of one Poisson draw; guards against absurd rates looping forever.
const POISSON_MAX_MEAN: f64 = 10_000_000.0;

/// The SplitMix64 finalizer: a bijective mix of 64 bits with full avalanche.
pub(crate) const fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Hashes a sequence of words into one well-mixed word (order matters).
pub(crate) fn hash_words(words: &[u64]) -> u64 {
    words.iter().fold(0x243f_6a88_85a3_08d3, |acc, &word| {
        mix64(acc ^ mix64(word.wrapping_add(GOLDEN_GAMMA)))
    })
}

/// SplitMix64: a 64-bit state advanced by a constant and finalized by [`mix64`].
#[derive(Debug, Clone)]
pub(crate) struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    pub(crate) const fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GOLDEN_GAMMA);
        mix64(self.state)
    }

    /// Uniform in `[0, 1)` with 53 bits of precision.
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1_u64 << 53) as f64)
    }

    /// Uniform in `0..bound` (Lemire's multiply-shift; `0` when `bound` is `0`).
    pub(crate) fn below(&mut self, bound: usize) -> usize {
        ((u128::from(self.next_u64()) * bound as u128) >> 64) as usize
    }

    /// `true` with probability `probability`.
    pub(crate) fn chance(&mut self, probability: f64) -> bool {
        self.unit() < probability
    }

    /// A uniformly chosen element, `None` for an empty slice.
    pub(crate) fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        items.get(self.below(items.len()))
    }

    /// A Poisson-distributed count with the given mean (Knuth's product method, chunked so it
    /// stays exact for large means; the sum of Poisson draws is Poisson).
    pub(crate) fn poisson(&mut self, mean: f64) -> usize {
        if mean.is_nan() || mean <= 0.0 {
            return 0;
        }
        let mut remaining = mean.min(POISSON_MAX_MEAN);
        let mut count = 0_usize;
        while remaining > 0.0 {
            let chunk = remaining.min(POISSON_CHUNK);
            remaining -= chunk;
            let threshold = (-chunk).exp();
            let mut product = self.unit();
            while product > threshold {
                count += 1;
                product *= self.unit();
            }
        }
        count
    }
}

/// Picks indices in proportion to fixed weights (cumulative sums + binary search).
#[derive(Debug, Clone, Default)]
pub(crate) struct WeightedIndex {
    cumulative: Vec<f64>,
}

impl WeightedIndex {
    /// Negative and non-finite weights count as zero.
    pub(crate) fn new(weights: impl IntoIterator<Item = f64>) -> Self {
        let mut total = 0.0;
        let cumulative = weights
            .into_iter()
            .map(|weight| {
                if weight.is_finite() && weight > 0.0 {
                    total += weight;
                }
                total
            })
            .collect();
        Self { cumulative }
    }

    /// An index in `0..len`; `0` when there are no weights.
    pub(crate) fn sample(&self, rng: &mut SplitMix64) -> usize {
        let total = self.cumulative.last().copied().unwrap_or(0.0);
        let target = rng.unit() * total;
        self.cumulative
            .partition_point(|&sum| sum <= target)
            .min(self.cumulative.len().saturating_sub(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poisson_mean_is_close() {
        for mean in [0.05, 0.8, 3.0, 40.0] {
            let mut rng = SplitMix64::new(7);
            let draws = 20_000;
            let total: usize = (0..draws).map(|_| rng.poisson(mean)).sum();
            let observed = total as f64 / f64::from(draws);
            assert!(
                (observed - mean).abs() < mean * 0.05 + 0.01,
                "{mean}: {observed}"
            );
        }
    }

    #[test]
    fn weighted_index_follows_weights_and_skips_zero() {
        let index = WeightedIndex::new([1.0, 0.0, 3.0]);
        let mut rng = SplitMix64::new(1);
        let mut counts = [0_u32; 3];
        for _ in 0..40_000 {
            counts[index.sample(&mut rng)] += 1;
        }
        assert_eq!(counts[1], 0);
        let ratio = f64::from(counts[2]) / f64::from(counts[0]);
        assert!((ratio - 3.0).abs() < 0.2, "{counts:?}");
    }

    #[test]
    fn below_stays_in_range() {
        let mut rng = SplitMix64::new(3);
        assert!((0..1000).all(|_| rng.below(7) < 7));
        assert_eq!(rng.below(0), 0);
    }
}
