"""Whole-object decode and encode: tlfast (both backends) against Telethon, kurigram and,
as the practical limit, msgspec on the same logical data as msgpack.

One group per payload and operation ("decode messages_100"), so each group reads as a
comparison table. The payloads are tlfast._payloads (seeded, layer 228, ids shared with
Telethon 1.45 / kurigram 2.2.26), and the cases are the ones ``python -m tlfast bench``
times: tlfast._bench builds them and checks them. Every benchmark also asserts its own
result, so ``--benchmark-disable`` is a smoke test.

    pytest benchmarks/bench_codec.py --benchmark-json=bench.json
    python benchmarks/report.py bench.json
"""

import pytest

from tlfast import _bench
from tlfast._payloads import PAYLOADS

PAYLOAD_NAMES = list(PAYLOADS)


@pytest.fixture(scope="session")
def msgspec():
    return pytest.importorskip("msgspec")


def _case(payload, codec, backend=None):
    try:
        if backend is not None:
            return _bench.tlfast_case(payload, backend)
        return _bench.make_case(payload, codec)
    except _bench.Unavailable as exc:  # not installed / not built: nothing to compare
        pytest.skip(f"{codec} {payload}: {exc}")
    except _bench.CheckFailed as exc:  # a peer that cannot read tlfast's bytes
        pytest.fail(f"{codec} {payload}: {exc}", pytrace=False)


_versions = None


def _run(benchmark, case, op):
    global _versions
    if _versions is None:  # what report.py prints beside the machine (Cython, peers)
        info = _bench.machine_info()
        _versions = {k: info.get(k) for k in ("tlfast", "cython", "telethon", "kurigram", "msgspec")}
    benchmark.group = f"{op} {case.payload}"
    benchmark.extra_info.update(codec=case.codec, payload=case.payload, op=op,
                                size=len(_bench.tlfast_data(case.payload)), versions=_versions)
    result = benchmark(case.fn(op))
    try:
        case.check(op, result)
    except _bench.CheckFailed as exc:
        pytest.fail(f"{case.codec} {op} {case.payload}: {exc}", pytrace=False)


@pytest.mark.parametrize("payload", PAYLOAD_NAMES)
@pytest.mark.parametrize("op", _bench.OPS)
def test_tlfast(benchmark, backend, payload, op):
    _run(benchmark, _case(payload, "tlfast", backend), op)


@pytest.mark.parametrize("payload", PAYLOAD_NAMES)
@pytest.mark.parametrize("op", _bench.OPS + _bench.EXTRA_OPS)
def test_telethon(benchmark, telethon, payload, op):
    case = _case(payload, "telethon")
    if not case.has(op):
        pytest.skip(f"telethon {payload}: no {op}")
    _run(benchmark, case, op)


@pytest.mark.parametrize("payload", PAYLOAD_NAMES)
@pytest.mark.parametrize("op", _bench.OPS + _bench.EXTRA_OPS)
def test_kurigram(benchmark, kurigram, payload, op):
    case = _case(payload, "kurigram")
    if not case.has(op):
        pytest.skip(f"kurigram {payload}: no {op}")
    _run(benchmark, case, op)


@pytest.mark.parametrize("payload", PAYLOAD_NAMES)
@pytest.mark.parametrize("op", _bench.OPS)
def test_msgspec(benchmark, msgspec, payload, op):
    _run(benchmark, _case(payload, "msgspec"), op)


@pytest.mark.parametrize("payload", PAYLOAD_NAMES)
@pytest.mark.parametrize("op", _bench.OPS + _bench.EXTRA_OPS)
def test_telethon_with_tlfast(benchmark, backend, telethon, payload, op):
    """Telethon with tlfast's drop-in installed on ``backend`` (issue 8), around this
    benchmark only; "receive" is Telethon's receive path (decrypt_message_data)."""
    codec = "telethon+tlfast" + ("-python" if backend.NAME == "python" else "")
    case = _case(payload, codec)
    if not case.has(op):
        pytest.skip(f"{codec} {payload}: no {op}")
    with case.context():
        _run(benchmark, case, op)


@pytest.mark.parametrize("payload", PAYLOAD_NAMES)
@pytest.mark.parametrize("op", _bench.OPS + _bench.EXTRA_OPS)
def test_kurigram_with_tlfast(benchmark, kurigram, payload, op):
    """kurigram with tlfast.pyrogram installed on the Cython engine (issue 9), around this
    benchmark only; "receive" is kurigram's receive path (mtproto.unpack)."""
    case = _case(payload, "kurigram+tlfast")
    if not case.has(op):
        pytest.skip(f"kurigram+tlfast {payload}: no {op}")
    with case.context():
        _run(benchmark, case, op)
