#!/usr/bin/env bash
# Builds the npm package's generated files into pkg/dist/ (git-ignored):
#   one release cargo build per entry (features player / console), then wasm-bindgen (--target web,
#   distinct out-names so the two modules never collide), then wasm-opt from the pinned binaryen
#   (-Oz for the player, -O3 for the console).
# Usage: scripts/build.sh [player|console]...   (default: both)
set -euo pipefail
cd "$(dirname "$0")/.."
entries=("$@")
[ ${#entries[@]} -gt 0 ] || entries=(player console)
wasm_opt=node_modules/.bin/wasm-opt
[ -x "$wasm_opt" ] || { echo "build: $wasm_opt missing; run scripts/setup.sh" >&2; exit 1; }
# Exactly the features rustc emits for wasm32-unknown-unknown (Chromium >= 91, Safari 15, Node 20).
# Not --all-features: binaryen 132 would then emit e.g. compact imports, which Node 20 rejects.
wasm_features=(--enable-bulk-memory --enable-bulk-memory-opt --enable-call-indirect-overlong
  --enable-sign-ext --enable-mutable-globals --enable-nontrapping-float-to-int
  --enable-reference-types --enable-multivalue)
for entry in "${entries[@]}"; do
  case "$entry" in player|console) ;; *) echo "build: unknown entry '$entry'" >&2; exit 2 ;; esac
  echo "build: $entry"
  # player: `release` (opt-level z, size first); console: `console` (opt-level 3, speed first).
  # The player also drops the `target_features` custom section (132 B, read only by linkers).
  profile=release; opt=(-Oz --strip-target-features)
  [ "$entry" = console ] && { profile=console; opt=(-O3); }
  # The player links a 64 KiB wasm stack instead of rustc's 1 MiB default (most of its memory):
  # its deepest use, 3,472 B (node benches/player-stack.mjs), is far below. Rust's
  # wasm32 layout puts the stack first, at the bottom of memory, so an overflow traps (out of
  # bounds) rather than corrupting data. Only this build: target/player is its own target dir.
  flags=${RUSTFLAGS:-}
  [ "$entry" = player ] && flags="$flags -C link-arg=-zstack-size=65536"
  RUSTFLAGS="$flags" cargo build --quiet --profile "$profile" --target wasm32-unknown-unknown \
    --no-default-features --features "$entry" --target-dir "target/$entry"
  out="pkg/dist/$entry"
  rm -rf "$out"
  wasm-bindgen --target web --weak-refs --out-dir "$out" --out-name "livekpi_$entry" \
    "target/$entry/wasm32-unknown-unknown/$profile/livekpi.wasm"
  # LIVEKPI_WASM_NAMES=1 keeps the function names (for CPU profiles; not for shipping).
  strip=(--strip-debug --strip-producers)
  [ "${LIVEKPI_WASM_NAMES:-}" = 1 ] && strip=(-g --strip-producers)
  "$wasm_opt" "${opt[@]}" "${wasm_features[@]}" "${strip[@]}" \
    "$out/livekpi_${entry}_bg.wasm" -o "$out/livekpi_${entry}_bg.wasm"
  rm -f "$out/livekpi_${entry}_bg.wasm.d.ts"
done
# The console's JSON shapes, typed from the Rust structs that serialize them.
if [[ " ${entries[*]} " == *" console "* ]]; then
  node scripts/gen-types.mjs pkg/dist/console/kpi-types.d.ts \
    src/kpi/snapshot.rs src/kpi/error.rs src/kpi/analysis.rs src/kpi/compare.rs \
    src/summary/view.rs src/insight/rules.rs:Alert src/insight/forecast.rs:Forecast,Estimate \
    src/insight/detect.rs:Direction src/sentiment/mod.rs src/insight/scorecard.rs \
    src/insight/debrief.rs src/insight/timeline.rs:ActivityMinute,ProductMinute
fi
# The player ships as one minified ES module (entry + glue) beside its wasm.
if [[ " ${entries[*]} " == *" player "* ]]; then node scripts/bundle.mjs; fi
