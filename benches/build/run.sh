#!/usr/bin/env bash
# The build benchmarks (figures in BENCHMARKS.md, "## Build"):
#  1. post-processing (validate + strip + hash + manifest) of the ~2 MB
#     module cargo builds from json-spirit in the dev profile;
#  2. a no-op `cargo spirit build` against a no-op
#     `cargo build --lib --target wasm32-unknown-unknown` on the same crate,
#     measured in the same run, as a ratio.
# Usage: benches/build/run.sh [RUNS]   (from anywhere; needs hyperfine for 2)
set -euo pipefail
runs=${1:-50}
root=$(cd "$(dirname "$0")/../.." && pwd)
crate="$root/benches/build/json-spirit"
target="$root/target/bench-build"

cd "$root"
cargo build --release -p cargo-spirit -p spirit-build --example postprocess
spirit="$root/target/release/cargo-spirit"

# The input: rustc's own output for a spirit with dependencies.
(cd "$crate" && "$spirit" spirit build -q --target-dir "$target")
wasm="$target/wasm32-unknown-unknown/debug/json_spirit.wasm"

echo "== post-processing"
"$root/target/release/examples/postprocess" "$wasm" "$runs"

echo "== no-op build (after one full build of each)"
cd "$crate"
cargo build -q --lib --target wasm32-unknown-unknown --target-dir "$target"
hyperfine --warmup 3 --runs "$runs" --export-markdown "$target/noop.md" \
    -n "cargo build --target wasm32-unknown-unknown" \
    "cargo build -q --lib --target wasm32-unknown-unknown --target-dir $target" \
    -n "cargo spirit build" \
    "$spirit spirit build -q --target-dir $target"
cat "$target/noop.md"
