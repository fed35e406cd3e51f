//! Latency samples and their summaries. Every sample is kept (microseconds
//! as `u32`), so percentiles are exact, not estimated.

use serde::Serialize;

/// Latency samples of one kind, in microseconds.
#[derive(Debug, Default, Clone)]
pub struct Samples(pub Vec<u32>);

impl Samples {
    /// Adds one, from a duration.
    pub fn add(&mut self, d: std::time::Duration) {
        self.0.push(d.as_micros().min(u32::MAX as u128) as u32);
    }

    /// Adds every sample of `other`.
    pub fn merge(&mut self, other: &Samples) {
        self.0.extend_from_slice(&other.0);
    }

    /// How many there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Their summary in milliseconds; None without samples.
    pub fn summary(&self) -> Option<Summary> {
        if self.0.is_empty() {
            return None;
        }
        let mut v = self.0.clone();
        v.sort_unstable();
        let ms = |us: u32| us as f64 / 1000.0;
        let sum: u64 = v.iter().map(|&x| x as u64).sum();
        Some(Summary {
            count: v.len(),
            mean_ms: round3(sum as f64 / v.len() as f64 / 1000.0),
            p50_ms: round3(ms(rank(&v, 0.50))),
            p90_ms: round3(ms(rank(&v, 0.90))),
            p99_ms: round3(ms(rank(&v, 0.99))),
            max_ms: round3(ms(*v.last().expect("not empty"))),
        })
    }
}

/// The nearest-rank percentile `q` (0..=1) of sorted values.
pub fn rank(sorted: &[u32], q: f64) -> u32 {
    let n = sorted.len();
    let k = ((q * n as f64).ceil() as usize).clamp(1, n);
    sorted[k - 1]
}

/// A rounded figure for the report.
pub fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// Latency percentiles, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, serde::Deserialize)]
pub struct Summary {
    /// Samples.
    pub count: usize,
    /// Mean.
    pub mean_ms: f64,
    /// Median.
    pub p50_ms: f64,
    /// 90th percentile.
    pub p90_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// The slowest.
    pub max_ms: f64,
}

/// The median of a list of figures (for rounds of a benchmark).
pub fn median(values: &[f64]) -> f64 {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let v: Vec<u32> = (1..=100).collect();
        assert_eq!(rank(&v, 0.5), 50);
        assert_eq!(rank(&v, 0.99), 99);
        assert_eq!(rank(&v, 1.0), 100);
        assert_eq!(rank(&[7], 0.99), 7);
        let s = Samples((1..=1000).map(|x| x * 1000).collect())
            .summary()
            .unwrap();
        assert_eq!(s.count, 1000);
        assert_eq!(s.p50_ms, 500.0);
        assert_eq!(s.p99_ms, 990.0);
        assert_eq!(s.max_ms, 1000.0);
        assert_eq!(s.mean_ms, 500.5);
        assert!(Samples::default().summary().is_none());
    }

    #[test]
    fn medians_of_rounds() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(&[]).is_nan());
    }
}
