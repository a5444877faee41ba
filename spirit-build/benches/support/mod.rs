//! Timing for the plain benchmark harnesses: the median of repeated runs,
//! after a warm-up, so that one noisy sample on a shared machine does not
//! move the figure.

use std::time::{Duration, Instant};

/// The median of `rounds` timed runs of `f`, after one warm-up run.
pub(crate) fn median_of(rounds: usize, mut f: impl FnMut()) -> Duration {
    f();
    let mut samples: Vec<Duration> = (0..rounds.max(1))
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    samples.sort();
    samples[samples.len() / 2]
}
