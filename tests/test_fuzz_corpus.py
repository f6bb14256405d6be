"""The fuzz corpus as a regression suite: every input under fuzz/corpus/TARGET/ (the seeds
and every input a fuzzer found) passes its target's oracle from fuzz/harnesses.py: the
Cython and the pure engine agree (value, or error class, message, offset and path), a
decoded value re-encodes to its bytes, nothing but a TLError escapes. No atheris needed.
"""

import pathlib
import sys

import pytest

FUZZ = pathlib.Path(__file__).resolve().parent.parent / "fuzz"
CASES = sorted(FUZZ.glob("corpus/*/*"))


@pytest.fixture(scope="module")
def harnesses(engines):  # `engines`: fails, or skips in a pure-only run, without the extension
    sys.path.insert(0, str(FUZZ))
    try:
        import harnesses
    finally:
        sys.path.remove(str(FUZZ))
    return harnesses


def test_corpus_is_there():
    targets = {p.parent.name for p in CASES}
    assert targets == {"loads", "types", "schema", "from_dict"}


@pytest.mark.parametrize("path", CASES, ids=lambda p: f"{p.parent.name}/{p.name[:16]}")
def test_corpus_input_passes_the_oracle(harnesses, path):
    harnesses.TARGETS[path.parent.name](path.read_bytes())
