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


@pytest.mark.parametrize("text, message", [
    ("t id:int id:long = T;", "duplicate parameter 'id'"),
    ("t __x:int = T;", "bad parameter name '__x'"),
    ("t __slots__:int = T;", "bad parameter name '__slots__'"),
    ("t _fields:int = T;", "bad parameter name '_fields'"),
])
def test_parameter_names_that_cannot_be_attributes_are_schema_errors(backend, text, message):
    # was: SyntaxError / ValueError / TypeError while making the class (schema target)
    with pytest.raises(TLSchemaError, match=message):
        tlfast.Schema.from_text(text)


def test_two_names_for_one_attribute_is_a_schema_error(backend):
    # `from` becomes the attribute `from_`: was SyntaxError "duplicate argument 'from_'"
    s = tlfast.Schema.from_text("t from:int from_:int = T;\nu x:int = U;")
    with pytest.raises(TLSchemaError, match="t: parameters 'from' and 'from_' are both the Python attribute 'from_'"):
        s.api.t
    data = s["u"].id.to_bytes(4, "little") + b"\x05\0\0\0"
    with pytest.raises(TLSchemaError, match="'from_'"):
        H.loads(backend, s["t"].id.to_bytes(4, "little") + b"\0" * 8, schema=s)
    assert H.loads(backend, data, schema=s).x == 5  # the rest of the schema works


@pytest.mark.parametrize("name", ["TL_NAME", "CONSTRUCTOR_ID", "RESULT", "from"])
def test_parameter_named_like_a_class_attribute_gets_a_trailing_underscore(backend, name):
    # was: ValueError "'TL_NAME' in __slots__ conflicts with class variable"
    s = tlfast.Schema.from_text(f"t {name}:int = T;\n---functions---\nf {name}:int = T;")
    for n in ("t", "f"):
        data = s[n].id.to_bytes(4, "little") + b"\x05\0\0\0"
        value = H.loads(backend, data, schema=s)
        assert getattr(value, name + "_") == 5
        assert type(value).TL_NAME == n and type(value).CONSTRUCTOR_ID == s[n].id
        assert value.to_dict() == {"_": n, name: 5}
        assert H.dumps(backend, s.from_dict(value.to_dict()), schema=s) == data
