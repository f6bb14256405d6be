"""Whole-object decode and encode: tlfast (both backends) against Telethon, kurigram and,
as the practical limit, msgspec on the same logical data as msgpack.

One group per payload and operation ("decode messages_100"), so each group reads as a
comparison table. The payloads are tlfast._payloads (seeded, layer 228, ids shared with
Telethon 1.45 / kurigram 2.2.26), and the cases are the ones ``python -m tlfast bench``
times: tlfast._bench builds them and checks them. As there, each call decodes (or
encodes) the next of _bench.VARIANTS distinct payloads of the same shape, in turns (a live
client never decodes the same bytes twice; one payload repeated is learned by the CPU's
branch predictor), and every variant's result is checked before timing, so
``--benchmark-disable`` is a smoke test.

    pytest benchmarks/bench_codec.py --benchmark-json=bench.json
    python benchmarks/report.py bench.json
"""

import pytest

from tlfast import _bench
from tlfast._payloads import PAYLOADS, variants

PAYLOAD_NAMES = list(PAYLOADS)


@pytest.fixture(scope="session")
def msgspec():
    return pytest.importorskip("msgspec")


# The Cases of the last (payload, codec): the tests of its other ops come next (op is the
# innermost parameter) and reuse them, instead of building and decoding every variant again.
_held = {}


def _cases(payload, codec, op, backend=None):
    """The Cases of every variant of ``payload`` (one for a payload without variants);
    skips when ``codec`` has no ``op``."""
    key = (payload, codec, backend)
    if key not in _held:
        _held.clear()
        try:
            if backend is not None:
                _held[key] = [_bench.tlfast_case(payload, backend, j)
                              for j in range(variants(payload, _bench.VARIANTS))]
            else:
                _held[key] = _bench.make_cases(payload, codec)
        except _bench.Unavailable as exc:  # not installed / not built: nothing to compare
            pytest.skip(f"{codec} {payload}: {exc}")
        except _bench.CheckFailed as exc:  # a peer that cannot read tlfast's bytes
            pytest.fail(f"{codec} {payload}: {exc}", pytrace=False)
    cases = _held[key]
    if not cases[0].has(op):
        pytest.skip(f"{codec} {payload}: no {op}")
    return cases


_versions = None


def _run(benchmark, cases, op):
    """Time ``op`` over the variants ``cases``, in turns, after checking each one."""
    global _versions
    if _versions is None:  # what report.py prints beside the machine (Cython, peers)
        info = _bench.machine_info()
        _versions = {k: info.get(k) for k in ("tlfast", "cython", "telethon", "kurigram", "msgspec")}
    case = cases[0]
    benchmark.group = f"{op} {case.payload}"
    benchmark.extra_info.update(codec=case.codec, payload=case.payload, op=op,
                                size=len(_bench.tlfast_data(case.payload)),
                                variants=len(cases), versions=_versions)
    try:
        fns = _bench.checked_calls(cases, op)
    except _bench.CheckFailed as exc:
        pytest.fail(f"{case.codec} {op} {case.payload}: {exc}", pytrace=False)
    benchmark(_bench.rotating(fns))


@pytest.mark.parametrize("op", _bench.OPS)
@pytest.mark.parametrize("payload", PAYLOAD_NAMES)
def test_tlfast(benchmark, backend, payload, op):
    _run(benchmark, _cases(payload, "tlfast", op, backend), op)


@pytest.mark.parametrize("op", _bench.OPS + _bench.EXTRA_OPS)
@pytest.mark.parametrize("payload", PAYLOAD_NAMES)
def test_telethon(benchmark, telethon, payload, op):
    _run(benchmark, _cases(payload, "telethon", op), op)


@pytest.mark.parametrize("op", _bench.OPS + _bench.EXTRA_OPS)
@pytest.mark.parametrize("payload", PAYLOAD_NAMES)
def test_kurigram(benchmark, kurigram, payload, op):
    _run(benchmark, _cases(payload, "kurigram", op), op)


@pytest.mark.parametrize("op", _bench.OPS)
@pytest.mark.parametrize("payload", PAYLOAD_NAMES)
def test_msgspec(benchmark, msgspec, payload, op):
    _run(benchmark, _cases(payload, "msgspec", op), op)


@pytest.mark.parametrize("op", _bench.OPS + _bench.EXTRA_OPS)
@pytest.mark.parametrize("payload", PAYLOAD_NAMES)
def test_telethon_with_tlfast(benchmark, backend, telethon, payload, op):
    """Telethon with tlfast's drop-in installed on ``backend`` (issue 8), around this
    benchmark only; "receive" is Telethon's receive path (decrypt_message_data)."""
    codec = "telethon+tlfast" + ("-python" if backend.NAME == "python" else "")
    cases = _cases(payload, codec, op)
    with cases[0].context():
        _run(benchmark, cases, op)


@pytest.mark.parametrize("op", _bench.OPS + _bench.EXTRA_OPS)
@pytest.mark.parametrize("payload", PAYLOAD_NAMES)
def test_kurigram_with_tlfast(benchmark, kurigram, payload, op):
    """kurigram with tlfast.pyrogram installed on the Cython engine (issue 9), around this
    benchmark only; "receive" is kurigram's receive path (mtproto.unpack)."""
    cases = _cases(payload, "kurigram+tlfast", op)
    with cases[0].context():
        _run(benchmark, cases, op)
