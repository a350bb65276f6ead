#!/usr/bin/python3
"""Writes a hand-made dsim result directory (what `dsim run` leaves behind:
manifest.json, results.csv, series.csv), for the report's tests and its
benchmark: any number of series and points, histograms, and group names no
config would allow (markup, quotes, commas, U+2028).

  make_results.py DIR [--series N] [--points M] [--histograms K]
                      [--group NAME] [--partitions P]

Series are the group's counters `s<i>`, sampled at times 1..M; histograms
are `h<i>` with 20 bins over [0, 10). The values are deterministic.
"""
import argparse
import csv
import json
import math
import os


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dir")
    ap.add_argument("--series", type=int, default=3)
    ap.add_argument("--points", type=int, default=100)
    ap.add_argument("--histograms", type=int, default=1)
    ap.add_argument("--group", default="model")
    ap.add_argument("--partitions", type=int, default=2)
    a = ap.parse_args()
    os.makedirs(a.dir, exist_ok=True)

    files = ["results.csv"]
    with open(os.path.join(a.dir, "results.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["group", "stat", "kind", "field", "value"])
        for i in range(a.series):
            for field, value in (("total", a.points), ("mean", a.points), ("min", 0), ("max", a.points)):
                w.writerow([a.group, f"s{i}", "counter", field, value])
        for h in range(a.histograms):
            bins = [round(1000 * math.exp(-((b - 6 - h) ** 2) / 18)) for b in range(20)]
            rows = [("count", sum(bins) + 7), ("underflow", 3), ("overflow", 4)]
            rows += [(f"bin_{b}", c) for b, c in enumerate(bins)]
            rows += [("lo", 0), ("hi", 10)]
            for field, value in rows:
                w.writerow([a.group, f"h{h}", "histogram", field, value])

    if a.series:
        files.append("series.csv")
        with open(os.path.join(a.dir, "series.csv"), "w", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(["group", "stat", "time", "value"])
            for i in range(a.series):
                stat = f"s{i}"
                rows = []
                for t in range(1, a.points + 1):
                    v = 50 + 40 * math.sin(t / (37.0 + i)) + 5 * math.sin(t * 0.7 + i)
                    rows.append((a.group, stat, t, repr(round(v, 6))))
                w.writerows(rows)

    events = a.series * a.points
    parts = [{"partition": p, "rank": 0, "entities": 10 + p, "events": events // max(a.partitions, 1) + 97 * p,
              "remote_sends": 5 * p, "busy_seconds": 0.5 + 0.1 * p, "blocked_seconds": 0.2 * p,
              "rolled_back": 0} for p in range(a.partitions)]
    manifest = {
        "dsim_version": "0.1.0",
        "manifest_format": 1,
        "config_file": f"made-by-make_results.py ({a.group})",
        "seed": 1,
        "end_time": float(a.points),
        "written_at": "2026-01-01T00:00:00Z",
        "host": "test",
        "config": {"simulation": {"end_time": float(a.points), "seed": 1},
                   "entities": [{"name": a.group, "type": "hand-made", "count": 1}],
                   "output": {"directory": a.dir, "sample_interval": 1.0}},
        "run": {"events_processed": events, "event_rate": 1e6, "init_seconds": 0.01,
                "run_seconds": 1.0, "wall_seconds": 1.02, "peak_rss_bytes": 1 << 24,
                "sync": "conservative", "sync_reason": "hand-made", "partitioner": "block",
                "threads": a.partitions, "ranks": 1, "edge_cut": 0, "windows": 10,
                "partitions": parts},
        "files": files,
    }
    with open(os.path.join(a.dir, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2, ensure_ascii=False)


if __name__ == "__main__":
    main()
