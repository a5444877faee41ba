#!/usr/bin/env bash
# Builds every template with `cargo spirit build --release` and prints the
# stripped size of each spirit (the `[wasm] size` in its manifest.toml),
# against the size goals of issue 5 (hello ≤ 1 KiB, the others ≤ 4 KiB;
# json < 4 KiB, issue 20).
#
# Usage: scripts/template-sizes.sh            (from the repository root)
# Uses the cargo-spirit built from this checkout (debug is fine: the spirit
# is compiled in release either way) and a scratch directory it removes.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
cargo build --quiet --manifest-path "$root/Cargo.toml" -p cargo-spirit
# A copy, so that a build of another checkout sharing the target directory
# cannot replace it while the script runs.
bin="$scratch/cargo-spirit"
cp "${CARGO_TARGET_DIR:-$root/target}/debug/cargo-spirit" "$bin"
export CARGO_TARGET_DIR="$scratch/target"

printf '%-8s %6s %6s %-6s %s\n' template bytes goal status capabilities
for template in hello counter echo kv json; do
    (cd "$scratch" && "$bin" spirit new "$template" --template "$template" -q)
    (cd "$scratch/$template" && "$bin" spirit build --release -q)
    manifest="$CARGO_TARGET_DIR/spirit/release/$template/manifest.toml"
    size="$(sed -n 's/^size = //p' "$manifest")"
    capabilities="$(sed -n 's/^capabilities = //p' "$manifest")"
    goal=4096
    [ "$template" = hello ] && goal=1024
    status=ok
    [ "$size" -le "$goal" ] || status=OVER
    printf '%-8s %6s %6s %-6s %s\n' "$template" "$size" "$goal" "$status" "$capabilities"
done
