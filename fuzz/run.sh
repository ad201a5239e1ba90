#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each (default 60), seeded from the fixtures.
#   fuzz/run.sh 300
# Needs cargo-fuzz (`cargo install cargo-fuzz`); works on the stable toolchain without
# sanitizers (-s none). Crashes land in fuzz/artifacts/<target>/: turn each into a test in
# tests/fuzz_regressions.rs before fixing it.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
cargo run -q --example fuzz_seeds fuzz/corpus
cd fuzz
for t in dns tls quic quic_frames http radius frame packet_path capture_file feed stix_pattern; do
  echo "== $t: ${secs}s"
  cargo fuzz run -s none "$t" "corpus/$t" -- -max_total_time="$secs" -rss_limit_mb=2048 -max_len=65536 2>&1 | tail -3
done
