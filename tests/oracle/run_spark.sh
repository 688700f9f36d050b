#!/usr/bin/env bash
# Downstream merge proof with Apache Spark: three reference collectors get overlapping subsets of
# the same simulated viewers over HTTP, export their rows (NDJSON, base64 DataSketches columns),
# and Spark (pyspark in local mode, tests/requirements.txt) merges them; its distinct-viewer
# counts must equal the console's own merge of the same rows. Needs the console build
# (scripts/build.sh console), Java 17 and pyspark.   tests/oracle/run_spark.sh [scale]
set -euo pipefail
cd "$(dirname "$0")/../.."
out="${CARGO_TARGET_DIR:-target}/spark"
rm -rf "$out"
node tests/oracle/collectors_export.mjs "$out" "${1:-1}"
python3 tests/oracle/spark_hll.py "$out"
