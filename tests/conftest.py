"""Shared fixtures: every test runs once per backend.

The ``cython`` case fails (it does not skip) when the compiled extension cannot be
imported, unless TLFAST_BACKEND=python asked for a pure-Python run: a missing extension
must never pass silently as a green pure-only run.
"""

import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
from hypothesis import settings


BACKENDS = ["cython", "python"]

# pytest runs with --import-mode=importlib (so the installed tlfast, not a stray copy, is
# tested), which leaves tests/ off sys.path; the shared helper modules live here.
sys.path.insert(0, str(Path(__file__).resolve().parent))

import _helpers  # noqa: E402
from _helpers import load_engine  # noqa: E402

# CI (HYPOTHESIS_PROFILE=ci): reproducible but not frozen. The seed comes from the commit
# under test, so each commit searches new examples while a red run replays exactly on the
# same commit; TLFAST_HYPOTHESIS_SEED (or pytest's --hypothesis-seed) overrides it.
settings.register_profile("ci", max_examples=200, deadline=None, database=None, print_blob=True)
settings.register_profile("dev", deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


def ci_seed():
    given = os.environ.get("TLFAST_HYPOTHESIS_SEED", "").strip()
    if given:
        return int(given)
    try:
        out = subprocess.run(["git", "-C", str(Path(__file__).parent), "rev-parse", "HEAD"],
                             capture_output=True, text=True, timeout=10)
        return int(out.stdout.strip()[:12], 16) if out.returncode == 0 else 0
    except (OSError, ValueError, subprocess.SubprocessError):
        return 0  # no git (an sdist): a fixed seed


@pytest.hookimpl(tryfirst=True)  # before hypothesis' own plugin reads the option
def pytest_configure(config):
    if os.environ.get("HYPOTHESIS_PROFILE") == "ci" and config.getoption("hypothesis_seed") is None:
        config.option.hypothesis_seed = ci_seed()


def pytest_terminal_summary(terminalreporter, config):
    seed = config.getoption("hypothesis_seed")
    if seed is not None:  # shown under -q too, so a red CI log says how to replay it
        terminalreporter.write_line(f"hypothesis seed {seed} (TLFAST_HYPOTHESIS_SEED={seed} "
                                    "HYPOTHESIS_PROFILE=ci replays this run)")


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
def other(backend, peers_required):
    """The other engine, or None in a pure-only run (TLFAST_BACKEND=python without the
    extension). Then every cross-engine check of the test is left out: that is reported
    as a warning in the summary, and is a failure where TLFAST_REQUIRE_PEERS says the run
    has everything installed (the root conftest.py)."""
    try:
        return _helpers.other_engine(backend)
    except pytest.skip.Exception as exc:
        if peers_required:
            pytest.fail(f"TLFAST_REQUIRE_PEERS is set: {exc.msg}", pytrace=False)
        warnings.warn(f"cross-engine checks left out: {exc.msg}", pytest.PytestWarning,
                      stacklevel=2)
        return None
