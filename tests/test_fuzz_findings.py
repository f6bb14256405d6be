"""Regression tests for what the fuzzers (fuzz/, fuzz/README.md) found. Each finding's
input is also kept in fuzz/corpus/TARGET/crash-* and replayed by test_fuzz_corpus.py; the
tests here state the fixed behaviour plainly, on both backends."""

import pytest

import tlfast
from tlfast import TLSchemaError

import _helpers as H  # noqa: E402  (tests/ is on sys.path: conftest.py)


@pytest.mark.parametrize("text", [
    "ok x:int = T;\nbad é:int = T;",      # a param name
    "vector#1cb5c415 {t:Type} # [ t ] = Vector\u00e9 t;",  # a built-in declaration
    "caf\u00e9 = T;",                                       # a combinator name
])
def test_non_ascii_declaration_is_a_schema_error(backend, text):
    # was: UnicodeEncodeError from the CRC32 of the declaration (schema target)
    with pytest.raises(TLSchemaError, match="non-ASCII character") as info:
        tlfast.Schema.from_text(text)
    assert info.value.line >= 1 and info.value.column >= 1
    # non-ASCII in comments stays fine
    s = tlfast.Schema.from_text("// схема\nok x:int = T; /* é */")
    data = s["ok"].id.to_bytes(4, "little") + b"\x05\0\0\0"
    assert H.loads(backend, data, schema=s).x == 5
