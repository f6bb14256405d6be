"""Quick ratios of both tlfast engines to Telethon on the issue-4 payloads.

    python benchmarks/engine_ratios.py [--rounds N]

Each round times every codec once, back to back, on the same payload (collector paused, as
tlfast._bench does); the ratio to Telethon is taken within the round and the median over
rounds is printed, so a busy moment of a shared machine hits both sides of a ratio.
"""

import argparse
import gc
import statistics
import sys
import time

from telethon.extensions import BinaryReader

from tlfast import _payloads
from tlfast._codec import default_codec


def per_call(fn, min_time=0.05):
    loops = 1
    while True:
        gc.disable()
        try:
            t0 = time.perf_counter()
            for _ in range(loops):
                fn()
            dt = time.perf_counter() - t0
        finally:
            gc.enable()
        if dt >= min_time:
            return dt / loops
        loops *= 2


def cases():
    codec = default_codec()
    out = []
    msgs, _ = _payloads.build("messages_100")
    data = codec.dumps(msgs, None, "python")
    tele_obj = BinaryReader(data).tgread_object()
    assert bytes(tele_obj) == data
    for name in ("cython", "python"):
        assert codec.loads(data, None, None, name) == msgs
        assert codec.dumps(msgs, None, name) == data
    out.append(("messages_100 decode", {
        "cython": lambda: codec.loads(data, None, None, "cython"),
        "python": lambda: codec.loads(data, None, None, "python"),
        "telethon": lambda: BinaryReader(data).tgread_object(),
    }))
    out.append(("messages_100 encode", {
        "cython": lambda: codec.dumps(msgs, None, "cython"),
        "python": lambda: codec.dumps(msgs, None, "python"),
        "telethon": lambda: bytes(tele_obj),
    }))
    longs, type_ = _payloads.build("vector_long_100k")
    vdata = codec.dumps(longs, type_, "python")

    def telethon_longs():
        r = BinaryReader(vdata)
        r.read_int()  # Vector id
        return [r.read_long() for _ in range(r.read_int())]

    assert telethon_longs() == longs == codec.loads(vdata, type_, None, "cython")
    out.append(("vector_long_100k decode", {
        "cython": lambda: codec.loads(vdata, type_, None, "cython"),
        "python": lambda: codec.loads(vdata, type_, None, "python"),
        "telethon": telethon_longs,
    }))
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=7)
    args = ap.parse_args(argv)
    print(f"{'case':26} {'cython':>10} {'python':>10} {'telethon':>10}   ratios to Telethon")
    for label, fns in cases():
        times = {k: [] for k in fns}
        ratios = {k: [] for k in fns if k != "telethon"}
        for _ in range(args.rounds):
            t = {k: per_call(fn) for k, fn in fns.items()}
            for k in fns:
                times[k].append(t[k])
            for k in ratios:
                ratios[k].append(t[k] / t["telethon"])
        med = {k: statistics.median(v) * 1e6 for k, v in times.items()}
        print(f"{label:26} {med['cython']:9.0f}µ {med['python']:9.0f}µ {med['telethon']:9.0f}µ"
              f"   cython {statistics.median(ratios['cython']):.3f}"
              f"  python {statistics.median(ratios['python']):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
