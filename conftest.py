"""Rules for every pytest run in this repository (tests/ and benchmarks/).

No hidden oracles: Telethon, kurigram and msgspec are the independent references many
tests and benchmarks compare against, and ``pytest.importorskip`` quietly drops them when
they are missing. Where the run is known to have them (``.ci/run`` sets
TLFAST_REQUIRE_PEERS=1 after installing the ``bench`` extra), a skip because a module
cannot be imported is turned into a failure, for every test module and fixture, present
or future, without each having to say so.
"""

import os

import pytest


def _peers_required():
    return os.environ.get("TLFAST_REQUIRE_PEERS", "").strip() not in ("", "0")


@pytest.fixture(scope="session")
def peers_required():
    """True where the run must have every peer and both engines (TLFAST_REQUIRE_PEERS)."""
    return _peers_required()


def _harden(report):
    if not (report.skipped and _peers_required()):
        return
    longrepr = report.longrepr
    reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
    if "could not import" in reason:  # pytest.importorskip's wording
        report.outcome = "failed"
        report.longrepr = f"TLFAST_REQUIRE_PEERS is set, but {reason.removeprefix('Skipped: ')}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    _harden(outcome.get_result())


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    outcome = yield
    _harden(outcome.get_result())
