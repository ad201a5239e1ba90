//! Every fuzz target's entry point over the seeds (fixtures) and deterministic mutations of
//! them: the parsers never panic. Real fuzzing runs with fuzz/run.sh; crashes it finds become
//! cases in tests/fuzz_regressions.rs.

mod common;
use c2watch::synth::bench::Rng;

#[test]
fn targets_survive_seeds_and_mutations() {
    let seeds = c2watch::fuzzing::seeds(&common::root().join("fixtures")).unwrap();
    assert!(seeds.len() > 400);
    let mut rng = Rng::new(7);
    let mut runs = 0;
    for (name, run) in c2watch::fuzzing::TARGETS {
        let mine: Vec<&Vec<u8>> = seeds
            .iter()
            .filter(|(t, _)| *t == name)
            .map(|(_, d)| d)
            .collect();
        assert!(!mine.is_empty(), "no seeds for {name}");
        for seed in mine {
            run(seed);
            for _ in 0..24 {
                let mut m = seed.clone();
                match rng.below(4) {
                    0 if !m.is_empty() => {
                        let i = rng.below(m.len() as u64) as usize;
                        m[i] ^= 1 << rng.below(8);
                    }
                    1 if !m.is_empty() => {
                        let i = rng.below(m.len() as u64) as usize;
                        m[i] = [0x00, 0xff, 0x7f, 0x80, 0xc0][rng.below(5) as usize];
                    }
                    2 => m.truncate(rng.below(m.len() as u64 + 1) as usize),
                    _ => {
                        let i = rng.below(m.len() as u64 + 1) as usize;
                        m.insert(i, rng.next_u64() as u8);
                    }
                }
                run(&m);
                runs += 1;
            }
        }
    }
    assert!(runs > 10_000);
}
