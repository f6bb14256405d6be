"""Shared pieces of the live tests (tests/test_live_*.py): real clients against
tlfast.testing's server on 127.0.0.1, each run bounded by a timeout.

A scenario returns what the user's code saw (handler events, returned messages, caught
errors) as plain tuples, so that a run with the drop-in installed can be compared with
the stock run field by field.
"""

import asyncio
import contextlib
import os
import time

# Every live scenario must end well within this (the slowest step is a FLOOD_WAIT_1, one
# second; a client that hangs fails the test instead of the CI job).
TIMEOUT = 60


def run(coro, timeout=TIMEOUT):
    """Run ``coro`` on a fresh event loop, failing after ``timeout`` seconds."""
    return asyncio.run(asyncio.wait_for(coro, timeout))


async def wait_until(predicate, timeout=15, what="the condition"):
    """Poll ``predicate`` until true; AssertionError naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.02)


def entity_summary(entities):
    """Message entities as comparable tuples (class name, offset, length)."""
    return tuple((type(e).__name__, e.offset, e.length) for e in entities or ())


@contextlib.contextmanager
def working_dir(path):
    """Run in ``path`` (kurigram writes ./unknown_errors.txt for errors it does not know)."""
    before = os.getcwd()
    os.chdir(path)
    try:
        yield path
    finally:
        os.chdir(before)
