#!/usr/bin/env bash
# The host-primitives benchmark (figures in BENCHMARKS.md, "## Host
# primitives"): the `json` template's spirit (JSON read by the host through
# `spirit_sdk::json`) against `json-serde` (the same task with serde_json and
# the SDK's bump allocator), on a small input and on an 8 KB one:
#   - bytes: the stripped spirit (`cargo spirit build --release`);
#   - fuel: units used by one run (deterministic);
#   - time: the run as `cargo spirit run -v` reports it (instantiate, call,
#     host calls; the code comes from the cache), median of RUNS.
# Usage: benches/primitives/run.sh [RUNS]      (from the repository root)
# Uses the debug cargo-spirit of this checkout (the spirits are compiled to
# wasm and by Cranelift either way; `spirit-primitives` is optimised even in
# the dev profile, see the workspace Cargo.toml).
set -euo pipefail
runs=${1:-21}
root="$(cd "$(dirname "$0")/../.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
cargo build --quiet --manifest-path "$root/Cargo.toml" -p cargo-spirit
# A copy, so that a build of another checkout sharing the target directory
# cannot replace it while the benchmark runs.
bin="$scratch/cargo-spirit"
cp "$target/debug/cargo-spirit" "$bin"
export CARGO_TARGET_DIR="$scratch/target" VUDO_HOME="$scratch/vudo"

(cd "$scratch" && "$bin" spirit new json-host --template json -q)
cp -r "$root/benches/primitives/json-serde" "$scratch/json-serde"
sed -i "s|path = \"../../../spirit-sdk\"|path = \"$root/spirit-sdk\"|" "$scratch/json-serde/Cargo.toml"

small='{"user": {"name": "Ada", "age": 36, "langs": ["en", "fr"]}}'
echo "$small" > "$scratch/small.json"
# About 8 KB (the template reads at most 8192 bytes): a long array before
# the fields, so that finding them means reading past it.
python3 - "$scratch/large.json" <<'PY'
import json, sys
events = []
while len(json.dumps({"events": events})) < 7900:
    events.append({"id": len(events), "kind": "visit", "ok": True})
doc = {"events": events, "user": {"name": "Ada", "age": 36, "langs": ["en", "fr"]}}
open(sys.argv[1], "w").write(json.dumps(doc))
PY

printf '%-11s %-6s %7s %6s %9s %9s  %s\n' spirit input bytes in-KB fuel time output
for spirit in json-host json-serde; do
    (cd "$scratch/$spirit" && "$bin" spirit build --release -q)
    size="$(sed -n 's/^size = //p' "$CARGO_TARGET_DIR/spirit/release/$spirit/manifest.toml")"
    for input in small large; do
        file="$scratch/$input.json"
        for _ in $(seq "$runs"); do
            (cd "$scratch/$spirit" && "$bin" spirit run --release -v --input "$file" 2>&1 >/dev/null) |
                sed -n 's/.*Finished in \([^:]*\): \([0-9]*\) units of fuel.*/\1 \2/p'
        done > "$scratch/times"
        output="$(cd "$scratch/$spirit" && "$bin" spirit run --release -q --input "$file")"
        python3 - "$scratch/times" "$spirit" "$input" "$size" "$(stat -c %s "$file")" "$output" <<'PY'
import re, statistics, sys
path, spirit, input, size, input_bytes, output = sys.argv[1:]
units = {"ns": 1e-3, "µs": 1, "ms": 1e3, "s": 1e6}
times, fuels = [], set()
for line in open(path):
    t, fuel = line.split()
    value, unit = re.match(r"([0-9.]+)(\D+)", t).groups()
    times.append(float(value) * units[unit])
    fuels.add(int(fuel))
fuel = ",".join(str(f) for f in sorted(fuels))
print(f"{spirit:<11} {input:<6} {size:>7} {int(input_bytes) / 1000:>6.1f} {fuel:>9} {statistics.median(times):>7.1f}µs  {output}")
PY
    done
done
