//! Timing for the plain benchmark harnesses: the median of repeated runs,
//! after a warm-up, so that one noisy sample on a shared machine does not
//! move the figure.

// Each bench binary includes this module and uses only part of it.
#![allow(dead_code)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

/// The release `cargo-spirit` binary, which sits beside the benchmark's
/// own directory once `cargo build --release -p cargo-spirit` has built it.
pub(crate) fn release_binary() -> Option<PathBuf> {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent()?.parent().map(|d| d.join("cargo-spirit")))
        .filter(|b| b.is_file())
}

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

/// The median time per call over 7 batches of `iters` calls of `f`, after
/// `warmup` calls.
pub(crate) fn per_iteration(iters: u32, warmup: u32, mut f: impl FnMut()) -> Duration {
    const BATCHES: usize = 7;
    for _ in 0..warmup {
        f();
    }
    let mut per_iter: Vec<Duration> = (0..BATCHES)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..iters {
                f();
            }
            start.elapsed() / iters
        })
        .collect();
    per_iter.sort();
    per_iter[BATCHES / 2]
}

/// One figure, as the plain harnesses print them.
#[allow(clippy::print_stdout)]
pub(crate) fn report(name: &str, d: Duration) {
    println!("{name:<58} {:>12.2?}", d);
}

/// Code that does work per iteration: FNV-1a over 64 KiB of linear memory,
/// byte by byte (a load, an xor and a multiply each), as parsers, hashes
/// and codecs do; `sum(n)` hashes it `n` times. Where metering compiles
/// checks into each loop, this is what they cost real code.
pub(crate) const HASHING: &str = r#"(module (memory (export "memory") 1)
    (func (export "sum") (param $n i64) (result i64)
        (local $h i64) (local $i i32)
        (local.set $h (i64.const 0xcbf29ce484222325))
        (loop $round
            (local.set $i (i32.const 0))
            (loop $byte
                (local.set $h (i64.mul
                    (i64.xor (local.get $h) (i64.load8_u (local.get $i)))
                    (i64.const 0x100000001b3)))
                (local.tee $i (i32.add (local.get $i) (i32.const 1)))
                (i32.const 65536)
                (i32.lt_u)
                (br_if $byte))
            (local.tee $n (i64.sub (local.get $n) (i64.const 1)))
            (i64.const 0)
            (i64.ne)
            (br_if $round))
        (local.get $h)))"#;
