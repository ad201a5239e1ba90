//! How long one dependent memory read takes on this machine, by working-set size: a pointer
//! chase through a random cycle of cache lines (each read's address comes from the last read,
//! so nothing overlaps). BENCHMARKS.md uses it to tell cache hits from memory reads in the
//! per-packet path (the flow lookup's two dependent reads, the indicator tables).
//!
//!     cargo run --release --example mem_latency [ROUNDS]

use std::time::Instant;

/// One cache line: the index of the next line to read, and padding.
#[derive(Clone, Copy)]
#[repr(align(64))]
struct Line {
    next: usize,
    _pad: [u64; 7],
}

/// A random cyclic order of `n` lines (xorshift, fixed seed: the same cycle every run).
fn cycle(n: usize) -> Vec<Line> {
    let mut order: Vec<usize> = (0..n).collect();
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for i in (1..n).rev() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        order.swap(i, (x % (i as u64 + 1)) as usize);
    }
    // Huge pages, as c2watch's own tables have: the chase then measures the caches and
    // memory, not page-table walks.
    let mut lines = Vec::with_capacity(n);
    c2watch::sys::advise_huge_pages(&lines);
    lines.resize(
        n,
        Line {
            next: 0,
            _pad: [0; 7],
        },
    );
    for w in 0..n {
        lines[order[w]].next = order[(w + 1) % n];
    }
    lines
}

fn main() {
    let rounds: usize = match std::env::args().nth(1) {
        None => 3,
        Some(r) => match r.parse::<usize>() {
            Ok(n) => n.max(1),
            Err(_) => {
                eprintln!("mem_latency: {r:?} is not a number of rounds");
                std::process::exit(2)
            }
        },
    };
    println!("working set   ns per dependent read (median of {rounds} rounds)");
    for kib in [32usize, 256, 1024, 4096, 16384, 65536, 262144] {
        let lines = cycle(kib * 1024 / 64);
        let reads = 10_000_000;
        let mut at = 0;
        for _ in 0..lines.len() {
            at = lines[at].next;
        }
        let mut times: Vec<f64> = (0..rounds)
            .map(|_| {
                let t = Instant::now();
                for _ in 0..reads {
                    at = lines[at].next;
                }
                t.elapsed().as_nanos() as f64 / reads as f64
            })
            .collect();
        times.sort_by(f64::total_cmp);
        println!(
            "{:>8} KiB   {:.1} (range {:.1}-{:.1}){}",
            kib,
            times[rounds / 2],
            times[0],
            times[rounds - 1],
            if at == usize::MAX { "!" } else { "" }
        );
    }
}
