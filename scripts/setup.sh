#!/usr/bin/env bash
# Installs what the build, the tests and the demo need, only where it is missing (safe to run twice):
#   the wasm32 target, the pinned wasm-bindgen-cli, Debian chromium + chromium-driver + ffmpeg,
#   npm packages from the committed package-lock.json (binaryen's wasm-opt, hls.js, playwright-core,
#   vite, typescript), Java for pyspark, and the Python oracles (DuckDB, datasketches, pyspark)
#   from tests/requirements.txt.
# Usage: scripts/setup.sh [test|demo]   (demo skips the browser and the Python oracles)
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-test}"

# Must equal the `=X` pin of the wasm-bindgen crate in Cargo.toml (checked below).
WASM_BINDGEN_VERSION=0.2.130
grep -q "wasm-bindgen = { version = \"=$WASM_BINDGEN_VERSION\"" Cargo.toml || {
  echo "setup: Cargo.toml does not pin wasm-bindgen =$WASM_BINDGEN_VERSION" >&2; exit 1; }

say() { printf 'setup: %s\n' "$*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

if [ "$(wasm-bindgen --version 2>/dev/null || true)" != "wasm-bindgen $WASM_BINDGEN_VERSION" ]; then
  say "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (about 2 minutes)"
  # Not --locked: the CLI's lockfile names a webpki-roots release the registry no longer serves.
  cargo install --quiet wasm-bindgen-cli --version "=$WASM_BINDGEN_VERSION"
fi

apt_pkgs=()
command -v ffmpeg >/dev/null || apt_pkgs+=(ffmpeg)
if [ "$mode" = test ]; then
  [ -x /usr/bin/chromium ] || apt_pkgs+=(chromium)
  [ -x /usr/bin/chromedriver ] || apt_pkgs+=(chromium-driver)
  # Java for pyspark (the downstream-merge proof); the machine image usually has 17 already.
  command -v java >/dev/null || apt_pkgs+=(openjdk-17-jre-headless)
  # CJK glyphs, so the console's and viewer's screenshots show their Chinese labels.
  [ -d /usr/share/fonts/opentype/noto ] || apt_pkgs+=(fonts-noto-cjk)
fi
if [ ${#apt_pkgs[@]} -gt 0 ]; then
  say "installing Debian packages: ${apt_pkgs[*]}"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${apt_pkgs[@]}" >/dev/null
fi

# npm packages exactly as locked; reinstalled only when the lockfile changed.
lock_sum=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ "$(cat node_modules/.livekpi-lock 2>/dev/null || true)" != "$lock_sum" ]; then
  say "installing npm packages from package-lock.json"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$lock_sum" > node_modules/.livekpi-lock
fi

if [ "$mode" = test ]; then
  if ! python3 - <<'PY' 2>/dev/null
import sys
from importlib.metadata import version
want = dict(l.strip().split("==") for l in open("tests/requirements.txt") if "==" in l and not l.startswith("#"))
sys.exit(0 if all(version(k) == v for k, v in want.items()) else 1)
PY
  then
    say "installing Python oracles from tests/requirements.txt"
    python3 -m pip install --quiet --disable-pip-version-check -r tests/requirements.txt
  fi
fi
say "ready ($mode)"
