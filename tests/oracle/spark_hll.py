#!/usr/bin/env python3
"""Downstream merge proof with a real engine: Apache Spark (pyspark, local mode) loads the NDJSON
export rows of several livekpi collectors as they are, and its DataSketches functions
(`hll_union_agg`, `hll_sketch_estimate`, `hll_sketch_agg`, `hll_union`) must give the same
distinct-viewer counts as the console's own merge of the same rows (`mergeExports`).

Input: the directory written by tests/oracle/collectors_export.mjs (collector-*.ndjson, ids.tsv,
console.json). Also checks, with the Python `datasketches` package, that the KLL columns merge to
the console's n / min / max. Prints `N passed, M failed`; exit status 1 on any failure.

    python3 tests/oracle/spark_hll.py DIR
"""
import base64
import glob
import json
import os
import sys
import time

passed = 0
failed = 0


def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print(f"FAIL {name}: {detail}")


def main(d):
    t_start = time.time()
    from pyspark.sql import SparkSession
    from pyspark.sql import functions as F

    spark = (
        SparkSession.builder.master("local[2]")
        .appName("livekpi-spark-hll")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.driver.host", "127.0.0.1")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    t_spark = time.time()
    console = json.load(open(os.path.join(d, "console.json")))
    files = sorted(glob.glob(os.path.join(d, "collector-*.ndjson")))
    check("three collector exports", len(files) == 3, files)
    lines = sum(1 for f in files for line in open(f) if line.strip())

    # The rows as they are: JSON lines, sketches as base64 strings.
    rows = spark.read.json(files)
    check("every row loaded", rows.count() == lines, f"{rows.count()} vs {lines}")
    rows = rows.withColumn("hll", F.unbase64("hll_viewers"))

    def est(a):
        return int(round(a["distinct_viewers"]))

    # Spark's union of the rows: `hll_sketch_estimate(hll_union_agg(...))` (what a query would
    # write). DataSketches reports the HIP estimate for a union that stayed "in order" (all its
    # inputs sparse, so coupons were replayed one by one) and the composite estimate otherwise;
    # the console reports the composite estimate, a function of the registers alone (identical
    # for any merge order). `hll_union(u, u)` is the same registers marked out of order, i.e.
    # Spark's composite estimate: it must equal the console's exactly; the plain estimate must
    # equal it whenever Spark's union went out of order, and be within the HLL error otherwise.
    plain_equal = [0, 0]

    def compare(name, plain, composite, console_agg):
        want = est(console_agg)
        check(f"{name}: Spark composite estimate of hll_union_agg = console merge", composite == want, f"spark {composite} console {console_agg['distinct_viewers']}")
        plain_equal[1] += 1
        if plain == want:
            plain_equal[0] += 1
        else:
            tol = max(1, 2 * 0.0163 * want)
            check(f"{name}: Spark plain (HIP) estimate within 2 RSE of the console's", abs(plain - want) <= tol, f"plain {plain} console {want}")
            print(f"note {name}: Spark hll_sketch_estimate(hll_union_agg) = {plain} (HIP: union stayed in order), composite {composite} = console {console_agg['distinct_viewers']:.3f}")

    union_cols = [
        F.expr("hll_sketch_estimate(hll_union_agg(hll))").alias("plain"),
        F.expr("hll_sketch_estimate(hll_union(hll_union_agg(hll), hll_union_agg(hll)))").alias("composite"),
    ]
    per_room = {
        r["room"]: r
        for r in rows.groupBy("room")
        .agg(*union_cols, F.sum("watch_ms").alias("watch_ms"), F.sum("stall_ms").alias("stall_ms"), F.sum("finished_views").alias("finished_views"))
        .collect()
    }
    check("rooms", sorted(per_room) == sorted(console["rooms"]), sorted(per_room))
    for room, c in console["rooms"].items():
        s = per_room.get(room)
        if s is None:
            continue
        compare(room, s["plain"], s["composite"], c["total"])
        truth = console["truth"][room]
        check(f"{room}: estimate within 5% of the {truth} true viewers", abs(s["composite"] - truth) <= max(1, 0.05 * truth), s["composite"])
        for k in ("watch_ms", "stall_ms", "finished_views"):
            check(f"{room}: Spark sum({k}) = console", s[k] == c["total"]["counters"][k], f"{s[k]} vs {c['total']['counters'][k]}")
        check(f"{room}: watch_ms = truth", s["watch_ms"] == console["watch_ms_truth"][room], s["watch_ms"])

    # Per room and region.
    per_region = rows.groupBy("room", "region").agg(*union_cols).collect()
    check("room x region groups", len(per_region) == sum(len(c["regions"]) for c in console["rooms"].values()), len(per_region))
    for r in per_region:
        want = console["rooms"][r["room"]]["regions"].get(r["region"])
        check(f"{r['room']}/{r['region']} present", want is not None, r)
        if want is not None:
            compare(f"{r['room']}/{r['region']}", r["plain"], r["composite"], want)

    # Over all rooms and minutes.
    a = rows.agg(*union_cols).collect()[0]
    compare("all rooms", a["plain"], a["composite"], console["all"])
    print(f"Spark plain hll_sketch_estimate(hll_union_agg) equal to the console's estimate in {plain_equal[0]} of {plain_equal[1]} groups")

    # Cross-engine hashing: Spark's own sketch of the raw session ids (hll_sketch_agg on the string
    # column) unions with the collectors' sketches without adding anything (same coupons), and on
    # its own estimates the same population.
    ids = spark.read.csv(os.path.join(d, "ids.tsv"), sep="\t", schema="room STRING, region STRING, session STRING")
    raw = ids.groupBy("room").agg(F.expr("hll_sketch_agg(session, 12)").alias("raw"))
    merged = rows.groupBy("room").agg(F.expr("hll_union_agg(hll)").alias("merged"))
    cross = (
        raw.join(merged, "room")
        .select(
            "room",
            F.expr("hll_sketch_estimate(hll_union(merged, merged))").alias("merged"),
            F.expr("hll_sketch_estimate(hll_union(raw, merged))").alias("both"),
            F.expr("hll_sketch_estimate(raw)").alias("raw"),
        )
        .collect()
    )
    for r in cross:
        check(f"{r['room']}: Spark-hashed ids add nothing to the collectors' union", r["both"] == r["merged"], f"both {r['both']} merged {r['merged']}")
        truth = console["truth"][r["room"]]
        check(f"{r['room']}: Spark raw-id estimate within 5% of truth", abs(r["raw"] - truth) <= max(1, 0.05 * truth), r["raw"])
    t_end = time.time()

    # KLL columns (Spark 3.5 has no KLL functions): merged with Python DataSketches.
    try:
        from datasketches import kll_doubles_sketch
    except ImportError:
        kll_doubles_sketch = None
        print("skip: python datasketches not installed (KLL columns)")
    if kll_doubles_sketch is not None:
        by_room = {}
        for f in files:
            for line in open(f):
                if not line.strip():
                    continue
                row = json.loads(line)
                acc = by_room.setdefault(row["room"], {})
                for col, key in (("kll_startup_ms", "startup_ms"), ("kll_watch_ms", "watch_ms"), ("kll_latency_ms", "latency_ms"), ("kll_stall_ratio", "stall_ratio")):
                    sk = kll_doubles_sketch.deserialize(base64.b64decode(row[col]))
                    if key in acc:
                        acc[key].merge(sk)
                    else:
                        acc[key] = sk
        for room, acc in by_room.items():
            for key, sk in acc.items():
                want = console["rooms"][room]["total"]["kll"][key]
                got = {"n": sk.n if isinstance(sk.n, int) else sk.n(), "min": None if sk.is_empty() else sk.get_min_value(), "max": None if sk.is_empty() else sk.get_max_value()}
                check(f"{room}: KLL {key} n/min/max = console", got == want, f"{got} vs {want}")

    spark.stop()
    print(f"spark: session start {t_spark - t_start:.1f} s, queries {t_end - t_spark:.1f} s, {lines} rows from {len(files)} collectors")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(__doc__)
        sys.exit(2)
    try:
        main(sys.argv[1])
    except Exception as e:  # a crash is a failure, reported in the summary line
        failed += 1
        print(f"FAIL spark run: {type(e).__name__}: {e}")
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)
