"""One table from a benchmark run: median per codec, ratio to Telethon, declared goals.

    pytest benchmarks/bench_codec.py --benchmark-json=bench.json
    python benchmarks/report.py bench.json            # table; "MISSED" beside missed goals
    python benchmarks/report.py --check bench.json    # ... and exit 1 if a goal is missed
    python benchmarks/report.py --check --tolerance 0.25 bench.json   # on a noisy machine

Also reads the JSON of ``python -m tlfast bench --json PATH``. Only ratios measured in the
same run are compared (never absolute times across runs or machines). The goals are
tlfast._bench's: ratios to Telethon (TARGETS), to another peer (PEER_TARGETS) and to
another payload (PAIR_TARGETS), and linear growth from 100 to 1000 messages
(GROWTH_TARGETS); a goal whose codec was not measured is listed as such and does not
fail. A pytest-benchmark file has no measurement in turns of a pair or a growth: those
goals are judged on its medians. ``--tolerance F`` lets a measurement exceed its goal by the
fraction F before ``--check`` fails (the table still marks it MISSED): for CI machines,
whose run-to-run noise is larger than some goals' margins.
"""

import argparse
import json
import sys

from tlfast import _bench


def from_pytest_benchmark(doc):
    """pytest-benchmark's JSON -> the report dict tlfast._bench.format_table takes."""
    results, sizes, versions, k = [], {}, {}, 0
    for b in doc.get("benchmarks", []):
        info = b.get("extra_info") or {}
        if not {"codec", "payload", "op"} <= set(info):
            continue  # another bench file's benchmark (primitives, load): not ours to table
        k = max(k, info.get("variants") or 0)
        results.append({"payload": info["payload"], "op": info["op"], "codec": info["codec"],
                        "status": "ok", "median_s": b["stats"]["median"],
                        "size": info.get("size")})
        if info.get("size") is not None:
            sizes[info["payload"]] = info["size"]
        versions = versions or info.get("versions") or {}
    order = {p: i for i, p in enumerate(_payload_order())}
    results.sort(key=lambda r: (order.get(r["payload"], len(order)), r["payload"],
                                (_bench.OPS + _bench.EXTRA_OPS).index(r["op"])
                                if r["op"] in _bench.OPS + _bench.EXTRA_OPS else 9))
    mi = doc.get("machine_info") or {}
    ci = doc.get("commit_info") or {}
    commit = (ci.get("id") or "")[:7] or None
    if commit and ci.get("dirty"):
        commit += "+dirty"
    machine = {
        "python": f"{mi.get('python_implementation', '?')} {mi.get('python_version', '?')}",
        "platform": f"{mi.get('system', '?')}-{mi.get('release', '?')}-{mi.get('machine', '?')}",
        "machine": mi.get("machine"),
        "cpu": (mi.get("cpu") or {}).get("brand_raw") or mi.get("processor") or None,
        "cpus": (mi.get("cpu") or {}).get("count"),
        "commit": commit,
        "date": doc.get("datetime", "")[:10] or None,
    }
    machine.update({k: v for k, v in versions.items() if v is not None})
    _bench.add_ratios(results)
    settings = {"variants": k, "payloads": _bench.describe_variants(k)} if k > 1 else {}
    return {"machine": machine, "settings": settings, "sizes": sizes, "results": results}


def _payload_order():
    from tlfast._payloads import PAYLOADS

    return list(PAYLOADS)


def load(path):
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    if "benchmarks" in doc:
        return from_pytest_benchmark(doc)
    if "results" in doc:  # python -m tlfast bench --json
        _bench.add_ratios(doc["results"])
        return doc
    raise ValueError("neither pytest-benchmark JSON nor `python -m tlfast bench --json` output")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("json", help="pytest-benchmark --benchmark-json file (or tlfast bench --json)")
    ap.add_argument("--check", action="store_true",
                    help="exit 1 when a declared goal is missed")
    ap.add_argument("--tolerance", type=float, default=0.0, metavar="F",
                    help="with --check, fail only when a measurement exceeds its goal by "
                    "more than the fraction F (default 0)")
    args = ap.parse_args(argv)
    try:
        report = load(args.json)
    except (OSError, ValueError) as exc:
        print(f"report.py: cannot read {args.json}: {exc}", file=sys.stderr)
        return 2
    if not report["results"]:
        print("report.py: no codec benchmarks in this file (was bench_codec.py run?)",
              file=sys.stderr)
        return 2
    if args.tolerance < 0:
        print("report.py: --tolerance must be 0 or more", file=sys.stderr)
        return 2
    print(_bench.format_table(report))
    missed = _bench.missed_targets(report)
    failing = _bench.missed_targets(report, args.tolerance)
    unmeasured = _bench.unmeasured_targets(report)
    if unmeasured:
        print("\nnot measured in this run: " + "; ".join(unmeasured))
    if missed:
        print(f"\n{len(missed)} goal(s) MISSED:")
        for line in missed:
            print("  " + line)
        if args.tolerance and args.check:
            print(f"{len(failing)} of them beyond the tolerance of {args.tolerance:g}")
    if args.check and failing:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
