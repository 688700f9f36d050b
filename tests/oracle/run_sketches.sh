#!/usr/bin/env bash
# Writes the summary-merge sketches from Rust and checks them with the Python `datasketches`
# package: tests/oracle/run_sketches.sh [N]   (N session ids, default 20000)
set -euo pipefail
cd "$(dirname "$0")/../.."
out="${CARGO_TARGET_DIR:-target}/sketches"
cargo run --quiet --features player,console --example summary_sketches -- "$out" "${1:-20000}"
python3 tests/oracle/datasketches_check.py "$out"
