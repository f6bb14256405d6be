"""The bench's method (tlfast._bench, tlfast._payloads): each call decodes or encodes the
next of several distinct payloads of the same shape, in turns, and every one of them is
checked before it is timed. Timings themselves are never asserted here.
"""

import collections
import itertools

import pytest

from tlfast import _bench
from tlfast._payloads import PAYLOADS, SEED, VARIED, build, variants


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
    builder, type_ = PAYLOADS[payload]
    again = builder(seed=SEED)
    assert again == values[0]


@pytest.mark.parametrize("payload", sorted(set(PAYLOADS) - VARIED))
def test_small_requests_have_one_variant(payload):
    assert variants(payload, _bench.VARIANTS) == 1
    assert len(_bench.make_cases(payload, "tlfast-python")) == 1
    with pytest.raises(ValueError, match="single variant"):
        build(payload, 1)


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
    """The strict growth measurement of ``backend`` (a goal only the Cython one has)."""
    monkeypatch.setitem(_bench.GROWTH_MAX, ("decode", _codec(backend)), 1.05)
    # one call per sample (min_time 0), 2k samples: each variant twice in the rotation
    return _bench._measure_growth("decode", _codec(backend), 2 * k, 0.0, True, k=k)


def test_growth_rotates_both_sizes(backend, monkeypatch):
    counts = _spy(monkeypatch)
    m = _growth(backend, monkeypatch, 3)
    assert m["status"] == "ok", m
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

