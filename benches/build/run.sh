#!/usr/bin/env bash
# The build benchmarks (figures in BENCHMARKS.md, "## Build"):
#  1. post-processing (validate + strip + hash + manifest) of ~2 MB modules:
#     the one cargo builds from json-spirit in the dev profile (2.3 MB, mostly
#     DWARF) and synthetic ones with 2 MiB of code, without and with dead
#     functions;
#  2. a no-op `cargo spirit build` against a no-op
#     `cargo build --lib --target wasm32-unknown-unknown` on json-spirit,
#     measured in the same hyperfine run, as a ratio.
# Usage: benches/build/run.sh [RUNS]   (needs hyperfine: apt-get install hyperfine)
set -euo pipefail
runs=${1:-50}
root=$(cd "$(dirname "$0")/../.." && pwd)
crate="$root/benches/build/json-spirit"
# The workspace's target directory (CARGO_TARGET_DIR when set), for the
# release binaries; the spirit crate is built in a directory of its own.
release="${CARGO_TARGET_DIR:-$root/target}/release"
target="${CARGO_TARGET_DIR:-$root/target}/bench-build"

cd "$root"
cargo build --release -p cargo-spirit --bin cargo-spirit
cargo build --release -p spirit-build --example postprocess
# `cargo spirit` finds cargo-spirit on the PATH, as after `cargo install`.
export PATH="$release:$PATH"

# The input: rustc's own output for a spirit with dependencies.
(cd "$crate" && cargo spirit build -q --target-dir "$target")
wasm="$target/wasm32-unknown-unknown/debug/json_spirit.wasm"

echo "== post-processing"
"$release/examples/postprocess" "$wasm" "$runs"
"$release/examples/postprocess" --synthetic 2 "$runs"
"$release/examples/postprocess" --synthetic-dead 2 "$runs"

echo "== no-op build (after one full build of each)"
cd "$crate"
cargo build -q --lib --target wasm32-unknown-unknown --target-dir "$target"
cargo spirit build -q --target-dir "$target"
# As typed (both through rustup's proxy; `cargo spirit` also pays cargo's
# subcommand dispatch), then without the proxy and the dispatch, to show
# what cargo-spirit itself adds.
real_cargo=$(rustup which cargo)
hyperfine -N --warmup 5 --runs "$runs" --export-json "$target/noop.json" \
    -n "cargo build --lib --target wasm32-unknown-unknown" \
    "cargo build -q --lib --target wasm32-unknown-unknown --target-dir $target" \
    -n "cargo spirit build" \
    "cargo spirit build -q --target-dir $target" \
    -n "\$CARGO build --lib --target wasm32-unknown-unknown (direct)" \
    "$real_cargo build -q --lib --target wasm32-unknown-unknown --target-dir $target" \
    -n "CARGO=\$CARGO cargo-spirit spirit build (direct)" \
    "env CARGO=$real_cargo $release/cargo-spirit spirit build -q --target-dir $target"
# Medians and minimums: the machine is shared, and means follow its noise.
python3 - "$target/noop.json" <<'PY'
import json, statistics, sys
results = json.load(open(sys.argv[1]))["results"]
median = {r["command"]: statistics.median(r["times"]) * 1e3 for r in results}
print(f"{'command':<62} {'median':>8} {'min':>8}")
for r in results:
    print(f"{r['command']:<62} {median[r['command']]:>6.1f}ms {min(r['times']) * 1e3:>6.1f}ms")
names = [r["command"] for r in results]
low = {r["command"]: min(r["times"]) * 1e3 for r in results}
for label, a, b in [("as typed", 1, 0), ("direct", 3, 2)]:
    print(f"ratio {label:<9} median {median[names[a]] / median[names[b]]:.2f}x, "
          f"min {low[names[a]] / low[names[b]]:.2f}x")
PY
