"""Benchmark fixtures: the tlfast backend under test and the peer libraries.

Kept apart from tests/conftest.py on purpose (benchmarks must run without the test tree).
As in the tests, the ``cython`` case fails rather than skips when the extension is
missing, unless TLFAST_BACKEND=python asked for a pure-Python run; peers are optional and
skip when not installed.
"""

import os
import pathlib

import pytest

from tlfast import _backend

BACKENDS = ["cython", "python"]
HERE = pathlib.Path(__file__).resolve().parent

# Seconds per benchmark unless --benchmark-max-time is given: with pytest-benchmark's
# default (1 s) the folder would take about a minute; 0.2 s keeps it near 15 s, and the
# medians of these microsecond-to-millisecond loops are stable at that length.
DEFAULT_MAX_TIME = 0.2


def pytest_collection_modifyitems(config, items):
    given = " ".join(config.invocation_params.args) + " " + os.environ.get("PYTEST_ADDOPTS", "")
    if "--benchmark-max-time" in given:
        return
    for item in items:
        if (
            HERE in pathlib.Path(str(item.fspath)).resolve().parents
            and "benchmark" in getattr(item, "fixturenames", ())
            and item.get_closest_marker("benchmark") is None
        ):
            item.add_marker(pytest.mark.benchmark(max_time=DEFAULT_MAX_TIME))


@pytest.fixture(scope="session", params=BACKENDS, ids=BACKENDS)
def backend(request):
    """The engine module (Reader, Writer) of one tlfast backend."""
    try:
        return _backend.load(request.param)
    except ImportError as exc:
        if os.environ.get("TLFAST_BACKEND", "").strip().lower() == "python":
            pytest.skip(f"TLFAST_BACKEND=python: {request.param} backend not benchmarked")
        pytest.fail(f"the {request.param} backend cannot be imported ({exc})", pytrace=False)


@pytest.fixture(scope="session")
def telethon():
    """telethon.extensions.BinaryReader and the serializer Telethon's generated code uses."""
    return pytest.importorskip("telethon.extensions")


@pytest.fixture(scope="session")
def kurigram():
    """Kurigram (a maintained Pyrogram fork, imported as ``pyrogram``): its TL primitives."""
    return pytest.importorskip("pyrogram.raw.core.primitives")
