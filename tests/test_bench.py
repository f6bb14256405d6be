"""The bench's method (tlfast._bench, tlfast._payloads): each call decodes or encodes the
next of several distinct payloads of the same shape, in turns, and every one of them is
checked before it is timed. Timings themselves are never asserted here.
"""

import collections
import itertools

import pytest

from tlfast import _bench
from tlfast._payloads import BUILDERS, PAYLOADS, SEED, VARIED, build, variants


def _codec(backend):
    return f"tlfast-{backend.NAME}"


# payloads -------------------------------------------------------------------------------
@pytest.mark.parametrize("payload", sorted(VARIED))
def test_variants_are_distinct_payloads_of_one_shape(payload):
    k = _bench.VARIANTS
    assert variants(payload, k) == k
    datas = [_bench.tlfast_data(payload, j) for j in range(k)]
    assert len(set(datas)) == k  # different bytes, every one
    values = [build(payload, j)[0] for j in range(k)]
    shape = type(values[0])
    for value, data in zip(values, datas):
        assert type(value) is shape
        assert 0.8 < len(data) / len(datas[0]) < 1.25
    # variant 0 is the payload of SEED that runs before variants timed: same bytes
    builder, type_ = BUILDERS[payload]
    again = builder(seed=SEED)
    assert again == values[0]


@pytest.mark.parametrize("payload", sorted(set(PAYLOADS) - VARIED))
def test_small_requests_have_one_variant(payload):
    assert variants(payload, _bench.VARIANTS) == 1
    assert len(_bench.make_cases(payload, "tlfast-python")) == 1
    with pytest.raises(ValueError, match="single variant"):
        build(payload, 1)


@pytest.mark.parametrize("payload, op, codec", sorted(_bench.PAIR_TARGETS))
def test_each_pair_compares_a_request_with_its_own_vector_bare(payload, op, codec):
    """A request's vector against the same vector bare: the same elements in every
    variant, and the base's TL type the request's field's."""
    import tlfast

    base = _bench.PAIR_TARGETS[(payload, op, codec)][0]
    for j in range(variants(base, _bench.VARIANTS)):
        request, bare = build(payload, j)[0], build(base, j)[0]
        (vector,) = [getattr(request, n) for n in type(request).__slots__
                     if isinstance(getattr(request, n), list)]
        assert vector == bare
    params = tlfast.schemas.api.get(type(request).TL_NAME).params
    assert [str(p.type) for p in params if "Vector" in str(p.type)] == [build(base)[1]]


def test_a_variant_is_built_once():
    assert build("messages_100", 3) is build("messages_100", 3)
    assert _bench.tlfast_data("messages_100", 3) is _bench.tlfast_data("messages_100", 3)


# rotation -------------------------------------------------------------------------------
def _spy(monkeypatch):
    """Count, per (payload, op, variant), the calls of every tlfast case made from now on."""
    counts = collections.Counter()
    real = _bench.tlfast_case

    def counted(key, fn):
        def call():
            counts[key] += 1
            return fn()

        return call

    def spy(payload, backend, variant=0):
        case = real(payload, backend, variant)
        case.decode = counted((payload, "decode", variant), case.decode)
        case.encode = counted((payload, "encode", variant), case.encode)
        return case

    monkeypatch.setattr(_bench, "tlfast_case", spy)
    return counts


def test_run_visits_every_variant_in_turns(backend, monkeypatch):
    counts = _spy(monkeypatch)
    # 3 calls per sample, whatever the clock says: calibrating on the CPU time of one call
    # gave 1 when a full collection of the suite's heap landed in that call (10 calls then)
    real = _bench.calibrate
    monkeypatch.setattr(_bench, "calibrate", lambda fn, min_time: (real(fn, min_time), 3)[1])
    report = _bench.run(["messages_100"], [_codec(backend)], quick=True)
    k = _bench.QUICK_VARIANTS
    for op in _bench.OPS:
        (r,) = [r for r in report["results"] if r["op"] == op]
        assert r["status"] == "ok", r
        assert r["variants"] == k
        assert r["size"] == len(_bench.tlfast_data("messages_100", 0))
        got = [counts[("messages_100", op, j)] for j in range(k)]
        assert sum(got) > 3 * k
        # in turns: the check's call of each, calibration's of the first, then the
        # rotation, which goes on across samples where the last one stopped
        assert max(got) - min(got) <= 2, got
    assert not [key for key in counts if key[2] >= k]
    assert report["settings"]["variants"] == k
    assert "distinct payloads of each shape, in turns" in report["settings"]["payloads"]


def test_sample_takes_the_next_callables(backend):
    seen = []
    fns = [lambda j=j: seen.append(j) for j in range(3)]
    calls = itertools.cycle(fns)
    _bench.sample(calls, 4)
    _bench.sample(calls, 4)
    assert seen == [0, 1, 2, 0, 1, 2, 0, 1]


def test_rotating_calls_each_in_turn():
    f = _bench.rotating([lambda: "a", lambda: "b", lambda: "c"])
    assert [f() for _ in range(7)] == list("abcabca")


def _growth(backend, monkeypatch, k):
    """The strict growth measurement of ``backend`` (a goal only the Cython one has), with
    msgspec's in turns."""
    pytest.importorskip("msgspec")
    monkeypatch.setitem(_bench.GROWTH_TARGETS, ("decode", _codec(backend)), ("msgspec", 1.05))
    # one call per sample (min_time 0), 2k samples: each variant twice in the rotation
    return _bench._measure_growth("decode", _codec(backend), 2 * k, 0.0, True, k=k)


def test_growth_rotates_both_sizes(backend, monkeypatch):
    counts = _spy(monkeypatch)
    m = _growth(backend, monkeypatch, 3)
    assert m["status"] == "ok", m
    assert m["ref_codec"] == "msgspec" and m["ref"] > 1
    assert m["limit"] == pytest.approx(1.05 * m["ref"]) and m["met"] is (m["growth"] <= m["limit"])
    for payload in _bench.GROWTH_PAYLOADS:
        # the check's call, calibration's (the first), then twice each in turns
        got = [counts[(payload, "decode", j)] for j in range(3)]
        assert got == [4, 3, 3], (payload, got)


# checks ---------------------------------------------------------------------------------
@pytest.mark.parametrize("op", _bench.OPS)
def test_a_wrong_answer_on_any_variant_fails_the_run(backend, monkeypatch, op):
    """The reference bytes of the last variant replaced by the first's, as if tlfast
    decoded (or encoded) that one to another payload's value: the run reports the error."""
    k = _bench.QUICK_VARIANTS
    first = _bench.tlfast_data("messages_100", 0)
    monkeypatch.setitem(_bench._data_cache, ("data", "messages_100", k - 1), first)
    report = _bench.run(["messages_100"], [_codec(backend)], quick=True)
    (r,) = [r for r in report["results"] if r["op"] == op]
    assert r["status"] == "error"
    assert r["error"].startswith("CheckFailed")


def test_growth_checks_every_variant(backend, monkeypatch):
    first = _bench.tlfast_data("messages_1000", 0)
    monkeypatch.setitem(_bench._data_cache, ("data", "messages_1000", 1), first)
    m = _growth(backend, monkeypatch, 2)
    assert m["status"].startswith("CheckFailed"), m


# output ---------------------------------------------------------------------------------
def test_the_table_says_why_it_rotates(backend):
    report = _bench.run(["import_authorization"], [_codec(backend)], quick=True)
    for text in (_bench.format_table(report), _bench.format_markdown(report)):
        assert f"{_bench.QUICK_VARIANTS} distinct payloads of each shape, in turns" in text
        assert f"{_bench.VARIANTS} without --quick" in text
        assert "never decodes the same bytes twice" in text
        assert "branch predictor" in text
    assert _bench.describe_variants(_bench.VARIANTS).startswith(
        f"{_bench.VARIANTS} distinct payloads of each shape, in turns")
    assert "--quick" not in _bench.describe_variants(_bench.VARIANTS)



# goals ----------------------------------------------------------------------------------
# The verdicts on made-up reports: which goal a measurement meets or misses is decided
# here, never by a timing taken in the test.
def _report(times, growth=(), pairs=()):
    """A report as run() returns it: {(payload, op, codec): median seconds}."""
    results = [{"payload": p, "op": op, "codec": c, "status": "ok", "median_s": t}
               for (p, op, c), t in times.items()]
    _bench.add_ratios(results)
    return {"machine": {}, "sizes": {}, "results": results, "growth": list(growth),
            "pairs": list(pairs)}


def _row(report, what, goal_has):
    rows = [r for r in _bench.goal_rows(report) if r[0] == what and goal_has in r[1]]
    assert len(rows) == 1, _bench.goal_rows(report)
    return rows[0]


@pytest.mark.parametrize("encode_us, met", [(104.0, True), (106.0, False)])
def test_messages_100_encode_goal_is_parity_with_msgspec(encode_us, met):
    report = _report({("messages_100", "encode", "tlfast-cython"): encode_us * 1e-6,
                      ("messages_100", "encode", "msgspec"): 100e-6,
                      # 0.1 x Telethon: missed by the old goal of 0.045, met or not by this one
                      ("messages_100", "encode", "telethon"): encode_us * 1e-5})
    what, goal, got, verdict = _row(report, "messages_100 encode, tlfast-cython", "msgspec")
    assert goal == "<= 1.05 x msgspec"
    assert verdict is met
    assert not [r for r in _bench.goal_rows(report)
                if r[0] == "messages_100 encode, tlfast-cython" and "Telethon" in r[1]]
    assert bool(_bench.missed_targets(report)) is not met


def _pair_times(base_s, request_s):
    return {("vector_long_100k", "decode", "tlfast-cython"): base_s,
            ("emoji_documents_100k", "decode", "tlfast-cython"): request_s,
            ("delete_messages_100k", "decode", "tlfast-cython"): base_s}


@pytest.mark.parametrize("request_ms, met", [(1.19, True), (1.21, False)])
def test_a_vector_in_a_request_is_held_to_the_bare_vector(request_ms, met):
    # from the medians of the table where run() did not measure the pair in turns
    # (pytest-benchmark's report); no Telethon in the run, so no Telethon goal either
    report = _report(_pair_times(1e-3, request_ms * 1e-3))
    what, goal, got, verdict = _row(report, "emoji_documents_100k decode, tlfast-cython",
                                    "vector_long_100k")
    assert (goal, got, verdict) == ("<= 1.20 x vector_long_100k", f"{request_ms:.2f}", met)
    # delete_messages_100k's base (vector_int_100k) is no row of the table: not judged
    # from its medians, listed as not measured
    assert not [r for r in _bench.goal_rows(report) if r[0].startswith("delete_messages_100k")]
    assert ("delete_messages_100k decode, tlfast-cython against vector_int_100k"
            in _bench.unmeasured_targets(report))
    # the table's cell says so too
    header, rows, _ = _bench._table(report)
    (cell,) = [row[header.index("tlfast-cython")] for row in rows
               if row[0] == "emoji_documents_100k"]
    assert cell.endswith("MISSED") is not met


def test_the_pair_measured_in_turns_decides_over_the_table():
    # the table's medians say 2.0x (page faults on the request's turn); the measurement in
    # turns says 1.1x, and it is the one the goal reads
    measured = {"payload": "emoji_documents_100k", "base": "vector_long_100k", "op": "decode",
                "codec": "tlfast-cython", "status": "ok", "ratio": 1.1}
    report = _report(_pair_times(1e-3, 2e-3), pairs=[measured])
    assert _row(report, "emoji_documents_100k decode, tlfast-cython", "vector_long_100k")[2:] == ("1.10", True)
    report = _report(_pair_times(1e-3, 1e-3), pairs=[dict(measured, ratio=1.3)])
    assert _row(report, "emoji_documents_100k decode, tlfast-cython", "vector_long_100k")[2:] == ("1.30", False)
    # with a tolerance (CI's), a miss within it counts as met
    assert not [m for m in _bench.missed_targets(report, 0.1) if "emoji" in m]
    assert [m for m in _bench.missed_targets(report, 0.05) if "emoji" in m]


def test_a_pair_not_measured_is_said_so():
    report = _report({("emoji_documents_100k", "decode", "tlfast-cython"): 1e-3})
    assert "emoji_documents_100k decode, tlfast-cython against vector_long_100k" in \
        _bench.unmeasured_targets(report)
    failed = {"payload": "emoji_documents_100k", "base": "vector_long_100k", "op": "decode",
              "codec": "tlfast-cython", "status": "not installed"}
    notes = _bench._table(_report({}, pairs=[failed]))[2]
    assert any("against vector_long_100k: not measured (not installed)" in n for n in notes)


def _growth_times(small, large, ref_small, ref_large):
    return {("messages_100", "decode", "tlfast-cython"): small,
            ("messages_1000", "decode", "tlfast-cython"): large,
            ("messages_100", "decode", "msgspec"): ref_small,
            ("messages_1000", "decode", "msgspec"): ref_large}


def _strict_growth(report):
    (g,) = [g for g in _bench.growth(report) if (g["op"], g["codec"]) == ("decode", "tlfast-cython")]
    return g


@pytest.mark.parametrize("large, met", [(10.4e-3, True), (10.6e-3, False)])
def test_growth_is_held_to_msgspecs_growth_in_the_same_run(large, met):
    # msgspec grows 10x; tlfast-cython may grow up to 10.5x (the data's own growth, about
    # 9.4x, is no longer the yardstick: 10.4x would have missed it)
    report = _report(_growth_times(1e-3, large, 1e-3, 10e-3))
    g = _strict_growth(report)
    assert g["ref"] == pytest.approx(10.0) and g["limit"] == pytest.approx(10.5)
    assert g["met"] is met
    what, goal, got, verdict = _row(report, "messages_100 -> messages_1000 decode time, tlfast-cython", "msgspec")
    assert goal == "<= 10.50x (1.05 x msgspec's 10.00x)" and verdict is met


def test_growth_measured_in_turns_decides_over_the_table():
    measured = {"op": "decode", "codec": "tlfast-cython", "status": "ok", "ref_codec": "msgspec",
                "factor": 1.05, "growth": 11.0, "ref": 11.0}
    report = _report(_growth_times(1e-3, 20e-3, 1e-3, 10e-3), growth=[measured])
    g = _strict_growth(report)
    assert (g["growth"], g["ref"], g["met"]) == (11.0, 11.0, True)
    report = _report(_growth_times(1e-3, 10e-3, 1e-3, 10e-3), growth=[dict(measured, ref=10.0)])
    assert _strict_growth(report)["met"] is False


def test_growth_without_msgspec_is_not_measured():
    times = _growth_times(1e-3, 10e-3, 1e-3, 10e-3)
    report = _report({k: t for k, t in times.items() if k[2] != "msgspec"})
    assert not [g for g in _bench.growth(report) if g["codec"] == "tlfast-cython"]
    assert "growth decode, tlfast-cython" in _bench.unmeasured_targets(report)


def test_pair_is_sampled_in_turns(backend, monkeypatch):
    codec = _codec(backend)
    monkeypatch.setattr(_bench, "PAIR_TARGETS",
                        {("emoji_documents_100k", "decode", codec): ("vector_long_100k", 1.2)})
    counts = _spy(monkeypatch)
    m = _bench._measure_pair("emoji_documents_100k", "decode", codec, 6, 0.0, True, k=3)
    assert m["status"] == "ok", m
    assert m["ratio"] > 0 and m["met"] is (m["ratio"] <= 1.2)
    for payload in ("vector_long_100k", "emoji_documents_100k"):
        # the check's call, calibration's (the first), then twice each in turns
        got = [counts[(payload, "decode", j)] for j in range(3)]
        assert got == [4, 3, 3], (payload, got)


def test_measurements_in_turns_give_their_verdicts(monkeypatch):
    medians = {("messages_100", "tlfast-cython"): 1e-3, ("messages_1000", "tlfast-cython"): 10.4e-3,
               ("messages_100", "msgspec"): 2e-3, ("messages_1000", "msgspec"): 20e-3,
               ("vector_long_100k", "tlfast-cython"): 2e-3,
               ("emoji_documents_100k", "tlfast-cython"): 2.5e-3}
    monkeypatch.setattr(_bench, "_medians_in_turns",
                        lambda op, keys, *a: ({k: medians[k] for k in keys}, None))
    g = _bench._measure_growth("decode", "tlfast-cython", 5, 0.01, True)
    assert (g["growth"], g["ref"], g["limit"], g["met"]) == pytest.approx((10.4, 10.0, 10.5, True))
    p = _bench._measure_pair("emoji_documents_100k", "decode", "tlfast-cython", 5, 0.01, True)
    assert (p["ratio"], p["limit"], p["met"]) == (1.25, 1.2, False)
    monkeypatch.setattr(_bench, "_medians_in_turns", lambda *a: (None, "not installed"))
    assert _bench._measure_growth("decode", "tlfast-cython", 5, 0.01, True)["status"] == "not installed"


def test_run_measures_the_pairs(backend, monkeypatch):
    codec = _codec(backend)
    monkeypatch.setattr(_bench, "PAIR_TARGETS",
                        {("emoji_documents_100k", "decode", codec): ("vector_long_100k", 1.2)})
    measured, made = _bench._medians_in_turns, _bench.make_cases
    rounds, events = [], []

    def spy(op, keys, repeats, *rest):
        rounds.append(repeats)
        events.append("strict")
        return measured(op, keys, repeats, *rest)

    def making(payload, codec, *rest):
        events.append(payload)
        return made(payload, codec, *rest)

    monkeypatch.setattr(_bench, "_medians_in_turns", spy)
    monkeypatch.setattr(_bench, "make_cases", making)
    report = _bench.run(["vector_long_100k", "emoji_documents_100k"], [codec], quick=True)
    (p,) = report["pairs"]
    assert p["status"] == "ok" and p["ratio"] > 0, p
    assert [r for r in _bench.goal_rows(report) if "x vector_long_100k" in r[1]]
    # the strict goals take more samples than the table's rows (their heavy tail), and
    # are measured before the table's rows fill the heap
    table = report["settings"]["repeats"]
    assert rounds == [_bench.STRICT_SAMPLES * table] == [report["settings"]["strict_repeats"]]
    assert _bench.STRICT_SAMPLES > 1
    assert events[0] == "strict" and events.count("strict") == 1, events
