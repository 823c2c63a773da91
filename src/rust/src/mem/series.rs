//! A bounded series of (time, RSS) samples.
//!
//! Storage grows with the number of samples, which is the run time divided
//! by the interval, not with anything R allocates. For long runs it is
//! capped: when `cap` rows are stored, neighbouring rows are merged pairwise
//! and from then on each row stands for twice as many samples (its `stride`).
//! A merged row keeps the sample with the larger RSS (and that sample's
//! time), so the peak is never lost and times stay increasing; the first row,
//! the baseline at time 0, is never merged.

use super::error::{MemError, Result};

/// One sample: seconds since the start, and resident set in bytes.
pub type Sample = (f64, u64);

#[derive(Debug)]
pub struct Series {
    rows: Vec<Sample>,
    cap: usize,
    /// Raw samples per row (a power of two).
    stride: u64,
    /// The largest sample of the row being filled, and how many it has seen.
    pending: Option<Sample>,
    pending_count: u64,
}

/// The smallest cap that leaves room to merge.
pub const MIN_CAP: usize = 4;

impl Series {
    /// Room for `cap` rows (and the two `finish` may add) is reserved up
    /// front: virtual memory only, touched as rows arrive, so there is no
    /// reallocation (and copy) while sampling. A cap too large to reserve is
    /// an error, not an abort.
    pub fn with_cap(cap: usize) -> Result<Series> {
        let cap = cap.max(MIN_CAP);
        let mut rows = Vec::new();
        rows.try_reserve_exact(cap.saturating_add(2)).map_err(|_| MemError::Reserve { rows: cap })?;
        Ok(Series { rows, cap, stride: 1, pending: None, pending_count: 0 })
    }

    pub fn push(&mut self, sample: Sample) {
        if self.rows.is_empty() {
            self.rows.push(sample); // the baseline, a row of its own
            return;
        }
        self.pending = Some(larger(self.pending, sample));
        self.pending_count += 1;
        if self.pending_count >= self.stride {
            self.flush();
            if self.rows.len() >= self.cap {
                self.merge();
            }
        }
    }

    /// Adds the closing sample as a row of its own (it may exceed the cap by
    /// two rows: the partly filled one and this one).
    pub fn finish(&mut self, sample: Sample) {
        self.flush();
        self.rows.push(sample);
    }

    pub fn rows(&self) -> &[Sample] {
        &self.rows
    }

    pub fn stride(&self) -> u64 {
        self.stride
    }

    fn flush(&mut self) {
        if let Some(sample) = self.pending.take() {
            self.rows.push(sample);
        }
        self.pending_count = 0;
    }

    /// Halves the rows after the baseline, keeping the larger of each pair.
    fn merge(&mut self) {
        let mut kept = 1;
        let mut i = 1;
        while i < self.rows.len() {
            let next = self.rows.get(i + 1).copied();
            self.rows[kept] = match next {
                Some(next) => larger(Some(self.rows[i]), next),
                None => self.rows[i],
            };
            kept += 1;
            i += 2;
        }
        self.rows.truncate(kept);
        self.stride *= 2;
    }
}

/// The sample with the larger RSS; on a tie the earlier one.
fn larger(a: Option<Sample>, b: Sample) -> Sample {
    match a {
        Some(a) if a.1 >= b.1 => a,
        _ => b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn times(series: &Series) -> Vec<f64> {
        series.rows().iter().map(|s| s.0).collect()
    }

    #[test]
    fn below_the_cap_every_sample_is_a_row() {
        let mut s = Series::with_cap(10).unwrap();
        for i in 0..5 {
            s.push((i as f64, 100 + i));
        }
        s.finish((5.0, 1));
        assert_eq!(s.rows().len(), 6);
        assert_eq!(s.stride(), 1);
        assert_eq!(s.rows()[5], (5.0, 1));
    }

    #[test]
    fn merging_keeps_baseline_peak_and_order() {
        let mut s = Series::with_cap(8).unwrap();
        s.push((0.0, 50)); // baseline
        for i in 1..=1000u64 {
            let rss = if i == 637 { 10_000 } else { i % 7 };
            s.push((i as f64, rss));
        }
        s.finish((1001.0, 3));
        let rows = s.rows();
        assert!(rows.len() <= 8 + 2, "{} rows", rows.len());
        assert!(s.stride() > 1);
        assert_eq!(rows[0], (0.0, 50), "baseline kept");
        assert!(rows.contains(&(637.0, 10_000)), "peak kept with its time");
        assert_eq!(*rows.last().unwrap(), (1001.0, 3), "closing sample kept");
        let t = times(&s);
        assert!(t.windows(2).all(|w| w[0] < w[1]), "increasing: {t:?}");
    }

    #[test]
    fn ties_keep_the_earlier_sample() {
        assert_eq!(larger(Some((1.0, 5)), (2.0, 5)), (1.0, 5));
        assert_eq!(larger(Some((1.0, 5)), (2.0, 6)), (2.0, 6));
        assert_eq!(larger(None, (2.0, 6)), (2.0, 6));
    }

    #[test]
    fn impossible_caps_are_errors() {
        let message = Series::with_cap(usize::MAX / 4).unwrap_err().to_string();
        assert!(message.contains("cannot reserve memory"), "{message}");
    }

    #[test]
    fn the_reserved_room_is_never_exceeded() {
        let mut s = Series::with_cap(6).unwrap();
        let capacity = s.rows.capacity();
        for i in 0..1000u64 {
            s.push((i as f64, i % 13));
        }
        s.finish((1000.0, 0));
        assert_eq!(s.rows.capacity(), capacity, "no reallocation");
    }

    #[test]
    fn tiny_caps_are_raised() {
        let mut s = Series::with_cap(0).unwrap();
        for i in 0..100u64 {
            s.push((i as f64, i));
        }
        assert!(s.rows().len() <= MIN_CAP);
        s.finish((100.0, 0));
        assert!(s.rows().contains(&(99.0, 99)), "peak kept: {:?}", s.rows());
    }
}
