#!/usr/bin/env bash
# DuckDB oracle for the KPI engine: for several seeds, write a generated room log and the engine's
# snapshot (examples/gen_room.rs), then recompute every exact KPI in SQL and compare.
# Usage: tests/oracle/run.sh [seed ...]   (default seeds: 1 2 3 4 5)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/tmp/target-kpi}"
python3 -c 'import duckdb' 2>/dev/null || pip install -q duckdb
seeds=("$@")
[ ${#seeds[@]} -eq 0 ] && seeds=(1 2 3 4 5)
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$root" && cargo build -q --features console --example gen_room)
dirs=()
for s in "${seeds[@]}"; do
  d="$work/seed-$s"
  mkdir -p "$d"
  # vary the size with the seed: 1,500 to 5,500 arrivals, 60 to 150 minutes
  arrivals=$(( 1500 + (s * 1000) % 5000 ))
  minutes=$(( 60 + (s * 30) % 120 ))
  "$CARGO_TARGET_DIR/debug/examples/gen_room" "$s" "$d" "$arrivals" "$minutes"
  dirs+=("$d")
done
python3 "$here/duckdb_oracle.py" "${dirs[@]}"
