"""Shared fixtures: every test runs once per backend.

The ``cython`` case fails (it does not skip) when the compiled extension cannot be
imported, unless TLFAST_BACKEND=python asked for a pure-Python run: a missing extension
must never pass silently as a green pure-only run.
"""

import os
import sys
from pathlib import Path

import pytest
from hypothesis import settings

from tlfast import _backend

BACKENDS = ["cython", "python"]

# pytest runs with --import-mode=importlib (so the installed tlfast, not a stray copy, is
# tested), which leaves tests/ off sys.path; the shared helper modules live here.
sys.path.insert(0, str(Path(__file__).resolve().parent))

settings.register_profile("ci", derandomize=True, max_examples=200, deadline=None)
settings.register_profile("dev", deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


def pure_requested():
    return os.environ.get("TLFAST_BACKEND", "").strip().lower() == "python"


def load_engine(name):
    """The engine module ``name``; fails (or skips, when pure was asked for) if absent."""
    try:
        return _backend.load(name)
    except ImportError as exc:
        if pure_requested():
            pytest.skip(f"TLFAST_BACKEND=python: {name} backend not tested ({exc})")
        pytest.fail(
            f"the {name} backend cannot be imported ({exc}); build it "
            "(TLFAST_BACKEND=cython pip install -e .) or set TLFAST_BACKEND=python",
            pytrace=False,
        )


@pytest.fixture(scope="session", params=BACKENDS, ids=BACKENDS)
def backend(request):
    """The engine module (Reader, Writer) of one backend."""
    return load_engine(request.param)


@pytest.fixture(scope="session")
def engines():
    """Both engine modules, (python, cython), for differential tests."""
    return load_engine("python"), load_engine("cython")


@pytest.fixture(scope="session")
def cython_engine():
    """The compiled engine; for tests that need it whatever backend is active."""
    return load_engine("cython")


@pytest.fixture(scope="module")
def other(backend):
    """The other engine, or None in a pure-only run where the extension is missing."""
    import _helpers

    try:
        return _helpers.other_engine(backend)
    except pytest.skip.Exception:
        return None
