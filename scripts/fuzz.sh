#!/usr/bin/env bash
# Bounded fuzzing run of every cargo-fuzz target in fuzz/ (see docs/fuzzing.md).
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]
#
# Installs cargo-fuzz (pinned) if missing, builds the targets on the stable toolchain (libFuzzer
# with SanitizerCoverage, no ASan: the crate forbids `unsafe`, and ASan needs nightly flags), runs
# each target for SECONDS_PER_TARGET seconds (default 20), FUZZ_JOBS targets at a time (default:
# the number of cores), prints the executions per target and exits non-zero if any target found a
# crash, a timeout or an out-of-memory input (the input is saved under fuzz/artifacts/<target>/).
#
# Environment: FUZZ_JOBS (parallel targets), FUZZ_TIMEOUT (seconds one input may take, default
# 20), FUZZ_RSS_MB (memory limit, default 2048), FUZZ_SANITIZER (none | address; address sets
# RUSTC_BOOTSTRAP=1 to pass -Zsanitizer on the stable compiler).
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_FUZZ_VERSION=0.13.2
SECONDS_PER_TARGET=${1:-20}
shift || true
TARGETS=("$@")
if [ ${#TARGETS[@]} -eq 0 ]; then
  TARGETS=(summary_decode summary_merge kpi_ndjson kpi_columns kpi_objects qoe_observations cmcd_writer)
fi
JOBS=${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 2)}
TIMEOUT=${FUZZ_TIMEOUT:-20}
RSS_MB=${FUZZ_RSS_MB:-2048}
SANITIZER=${FUZZ_SANITIZER:-none}
if [ "$SANITIZER" != none ]; then
  # -Zsanitizer=… is a nightly flag; this machine has only the stable toolchain
  export RUSTC_BOOTSTRAP=1
fi
# build into fuzz/target (the fuzz crate's own workspace), whatever the caller's setting
unset CARGO_TARGET_DIR
start=$SECONDS

if [ "$(cargo fuzz --version 2>/dev/null)" != "cargo-fuzz $CARGO_FUZZ_VERSION" ]; then
  echo "== installing cargo-fuzz $CARGO_FUZZ_VERSION"
  cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked --force
fi

echo "== building fuzz targets (sanitizer: $SANITIZER) (t+$((SECONDS - start))s)"
cargo fuzz build --sanitizer "$SANITIZER"

logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT

run_one() {
  local t=$1
  mkdir -p "fuzz/corpus/$t" "fuzz/artifacts/$t"
  # libFuzzer flags after `--`: a bounded run; new inputs go to fuzz/corpus/<t> (git-ignored
  # except the seed-* files), findings to fuzz/artifacts/<t>
  cargo fuzz run --sanitizer "$SANITIZER" "$t" -- \
    -max_total_time="$SECONDS_PER_TARGET" -timeout="$TIMEOUT" -rss_limit_mb="$RSS_MB" \
    -print_final_stats=1 -close_fd_mask=1 >"$logs/$t.log" 2>&1
}

echo "== fuzzing ${#TARGETS[@]} targets for ${SECONDS_PER_TARGET}s each, $JOBS at a time (t+$((SECONDS - start))s)"
for t in "${TARGETS[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do
    wait -n || true
  done
  (
    set +e
    run_one "$t"
    echo $? >"$logs/$t.rc"
  ) &
done
wait

failed=0
printf '\n%-18s %12s %8s %10s %8s  %s\n' target executions seconds exec/s corpus result
for t in "${TARGETS[@]}"; do
  log="$logs/$t.log"
  rc=$(cat "$logs/$t.rc" 2>/dev/null || echo 1)
  execs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*$' || true)
  secs=$(grep -o 'Done [0-9]* runs in [0-9]* second' "$log" | tail -1 | awk '{print $5}' || true)
  corpus=$(find "fuzz/corpus/$t" -type f | wc -l)
  rate=-
  if [ -n "$execs" ] && [ -n "$secs" ] && [ "$secs" -gt 0 ]; then rate=$((execs / secs)); fi
  result=ok
  if [ "$rc" != 0 ]; then
    result="FAILED (exit $rc)"
    failed=1
  fi
  printf '%-18s %12s %8s %10s %8s  %s\n' "$t" "${execs:--}" "${secs:--}" "$rate" "$corpus" "$result"
done

for t in "${TARGETS[@]}"; do
  if [ "$(cat "$logs/$t.rc" 2>/dev/null || echo 1)" != 0 ]; then
    echo
    echo "== $t failed:"
    grep -E -A3 'panicked at|ERROR: libFuzzer|Test unit written|^SUMMARY' "$logs/$t.log" | head -40 || true
    echo "-- the end of its log:"
    grep -v '^#[0-9]' "$logs/$t.log" | tail -25
    echo "Reproduce: cargo fuzz run --sanitizer none $t fuzz/artifacts/$t/<file>"
    echo "Minimize:  cargo fuzz tmin --sanitizer none $t fuzz/artifacts/$t/<file>"
  fi
done

echo
echo "fuzzing finished in $((SECONDS - start))s"
exit "$failed"
