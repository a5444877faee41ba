#!/bin/sh
# `cargo spirit run` against `wasmtime run` and `cargo-spirit --version`,
# on the same module (see run.rs). Needs the wasmtime CLI:
#   cargo install wasmtime-cli --version 48.0.8 --locked
# and, for a cross-check with hyperfine (optional), `apt-get install hyperfine`.
set -eu
cd "$(dirname "$0")/../.."
cargo build --release -p cargo-spirit
cargo bench -p spirit-build --bench run
