"""TL primitives on both backends: exact encodings, edges, errors, and backend agreement.

Tests taking ``backend`` run once per engine; the differential tests at the end take
``engines`` and run both engines on the same inputs inside one test.
"""

import array
import enum
import math
import struct

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from tlfast import TLDecodeError, TLEncodeError, TLError

import strategies as S  # noqa: E402  (tests/ is on sys.path: conftest.py)

BOOL_TRUE = bytes.fromhex("b5757299")
BOOL_FALSE = bytes.fromhex("379779bc")
MAX_LEN = (1 << 24) - 1

READS = [
    "read_int", "read_uint", "read_long", "read_int128", "read_int256",
    "read_double", "read_bool", "read_bytes", "read_string",
]
WRITES = [name.replace("read_", "write_") for name in READS]


def encode(backend, method, value):
    w = backend.Writer()
    getattr(w, method)(value)
    return w.getvalue()


def padded(length):
    """Reference encoding of a bytes/string of ``length`` bytes, from tl-format.md §3."""
    body = (bytes(range(256)) * (length // 256 + 1))[:length]
    if length <= 253:
        head = bytes([length])
        pad = -(1 + length) % 4
    else:
        head = b"\xfe" + length.to_bytes(3, "little")
        pad = -length % 4
    return body, head + body + b"\0" * pad


# ------------------------------------------------------------------ bytes / string

# (length, expected prefix, expected number of padding bytes): the table of §3.
BYTES_TABLE = [
    (0, "00", 3),
    (1, "01", 2),
    (2, "02", 1),
    (3, "03", 0),
    (4, "04", 3),
    (5, "05", 2),
    (252, "fc", 3),
    (253, "fd", 2),
    (254, "fefe0000", 2),
    (255, "feff0000", 1),
    (256, "fe000100", 0),
]


@pytest.mark.parametrize("length,prefix,pad", BYTES_TABLE)
def test_bytes_boundary_encoding(backend, length, prefix, pad):
    body, expected = padded(length)
    assert expected == bytes.fromhex(prefix) + body + b"\0" * pad  # the table agrees
    assert len(expected) % 4 == 0
    for value in (body, bytearray(body), memoryview(body)):
        assert encode(backend, "write_bytes", value) == expected
    assert encode(backend, "write_string", body) == expected  # bytes are a valid string value
    r = backend.Reader(expected)
    assert r.read_bytes() == body
    assert r.tell() == len(expected) and r.remaining() == 0


@pytest.mark.parametrize("length,prefix,pad", BYTES_TABLE)
def test_string_boundary_encoding(backend, length, prefix, pad):
    text = "a" * (length % 2) + "é" * (length // 2)  # non-ASCII: length counts UTF-8 bytes
    expected = bytes.fromhex(prefix) + text.encode() + b"\0" * pad
    assert encode(backend, "write_string", text) == expected
    assert backend.Reader(expected).read_string() == text


def test_bytes_maximum_length(backend):
    body = b"\xab" * MAX_LEN
    data = encode(backend, "write_bytes", body)
    assert data[:4] == b"\xfe\xff\xff\xff" and len(data) == 4 + MAX_LEN + 1
    assert data[4:-1] == body and data[-1:] == b"\0"
    r = backend.Reader(data)
    assert r.read_bytes() == body and r.remaining() == 0
    assert backend.Reader(encode(backend, "write_string", "x" * MAX_LEN)).read_string() == "x" * MAX_LEN


@pytest.mark.parametrize("make", [bytes, bytearray, memoryview, lambda b: b.decode("latin-1")])
def test_bytes_too_long(backend, make):
    value = make(b"a" * (MAX_LEN + 1))
    method = "write_string" if isinstance(value, str) else "write_bytes"
    w = backend.Writer()
    w.write_int(7)
    with pytest.raises(TLEncodeError) as info:
        getattr(w, method)(value)
    assert str(info.value) == "bytes too long: 16777216 bytes (the maximum is 16777215)"
    assert w.getvalue() == b"\x07\0\0\0"  # nothing of the failed value was written


def test_bytes_prefix_0xff_is_invalid(backend):
    r = backend.Reader(b"\0\0\0\0\xff" + b"\0" * 300)
    r.read_int()
    with pytest.raises(TLDecodeError) as info:
        r.read_bytes()
    assert info.value.offset == 4
    assert str(info.value) == "invalid length prefix 0xff at offset 4"
    assert r.tell() == 4


@pytest.mark.parametrize(
    "data",
    [b"", b"\x01a", b"\x01a\0", b"\x02ab", b"\x05abcde\0", b"\xfe", b"\xfe\xfe\0",
     b"\xfe\xfe\0\0" + b"a" * 254, b"\xfe\xfe\0\0" + b"a" * 255, b"\xfe\0\1\0" + b"a" * 255],
)
def test_bytes_missing_body_or_padding(backend, data):
    r = backend.Reader(data)
    with pytest.raises(TLDecodeError) as info:
        r.read_bytes()
    assert info.value.offset == 0
    assert "unexpected end of data" in str(info.value)
    assert r.tell() == 0


@pytest.mark.parametrize("length", [0, 1, 200, 253])
def test_bytes_non_canonical_prefix(backend, length):
    data = b"\xfe" + length.to_bytes(3, "little") + b"a" * length + b"\0" * 8
    with pytest.raises(TLDecodeError) as info:
        backend.Reader(data).read_bytes()
    assert info.value.offset == 0
    assert f"0xfe form for length {length}" in str(info.value)


def test_bytes_padding_is_skipped_unchecked(backend):
    r = backend.Reader(bytes.fromhex("01020304") + bytes.fromhex("fefe0000") + b"b" * 254 + b"\1\2")
    assert r.read_bytes() == b"\x02"
    assert r.read_bytes() == b"b" * 254
    assert r.remaining() == 0


def test_string_invalid_utf8_is_replaced(backend):
    cases = {
        b"\x02\xff\xfe\0": "\ufffd\ufffd",
        b"\x03ab\xd1": "ab\ufffd",  # text cut inside a two-byte character
        b"\x03\xed\xa0\x80": "\ufffd\ufffd\ufffd",  # an encoded surrogate
    }
    for data, text in cases.items():
        assert backend.Reader(data).read_string() == text
        assert backend.Reader(data).read_bytes() == data[1 : 1 + data[0]]


def _utf8_edge_cases():
    """Every one- and two-byte sequence, and three- and four-byte ones around each limit
    of UTF-8 (overlong forms, surrogates, U+10FFFF, bad continuation bytes)."""
    edges = (0x00, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xFF)
    seqs = [bytes([a]) for a in range(256)]
    seqs += [bytes([a, b]) for a in range(0x80, 0x100) for b in range(256)]
    seqs += [bytes([a, b, c]) for a in range(0xE0, 0xF0) for b in edges for c in edges]
    seqs += [bytes([a, b, c, d]) for a in range(0xF0, 0xF8) for b in edges
             for c in (0x7F, 0x80, 0xBF, 0xC0) for d in (0x7F, 0x80, 0xBF, 0xC0)]
    return seqs


def _read_strings(backend, bodies):
    w = backend.Writer()
    for body in bodies:
        w.write_bytes(body)
    r = backend.Reader(w.getvalue())
    return [r.read_string() for _ in bodies]


def test_string_decoding_matches_python_on_utf8_edges(backend):
    # Each sequence alone, and after text of each width (ASCII, Latin-1, BMP, astral),
    # so that every kind of str the decoder can build meets every edge.
    bodies = []
    for seq in _utf8_edge_cases():
        for prefix in (b"", b"ab", "é".encode(), "я".encode(), "😀".encode()):
            bodies.append(prefix + seq)
            bodies.append(prefix + seq + b"z")
    got = _read_strings(backend, bodies)
    for body, text in zip(bodies, got):
        assert text == body.decode("utf-8", "replace"), body


@pytest.mark.parametrize("filler", ["a", "я"])
def test_string_decoding_matches_python_inside_long_text(backend, filler):
    # The Cython engine decodes long text 16 bytes at a time (the leading run of 1- and
    # 2-byte sequences of each block) and hands 3- and 4-byte sequences and anything
    # invalid to a scalar step: put each edge at the start, middle and end of a block, and
    # across two, inside text of 1- or 2-byte characters.
    leads = (0x80, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF, 0xE0, 0xED, 0xEF, 0xF0, 0xF4, 0xF5, 0xFF)
    seqs = [bytes([a, b]) for a in leads for b in range(256)]
    seqs += [seq for seq in _utf8_edge_cases() if len(seq) > 2]
    fill = filler.encode()
    bodies = []
    for offset in (0, 1, 7, 14, 15, 16, 17, 31):
        head = fill * (offset // len(fill)) + b"a" * (offset % len(fill))
        for seq in seqs:
            bodies.append(head + seq + fill * 12)
    got = _read_strings(backend, bodies)
    for body, text in zip(bodies, got):
        assert text == body.decode("utf-8", "replace"), body


_PIECES = [b"a", b" ", b"\x7f", "\xe9".encode(), "\u044f".encode(), "\u07ff".encode(),
           "\u20ac".encode(), "\U0001f600".encode(), "\U0010ffff".encode(),
           b"\x80", b"\xbf", b"\xc0\x80", b"\xc1\xbf", b"\xc2", b"\xdf", b"\xe0\x80\x80",
           b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xf5", b"\xff", b"\xe2\x82", b"\xf0\x9f\x98"]


@given(st.lists(st.sampled_from(_PIECES), max_size=120))
def test_long_mixed_text_matches_python(backend, pieces):
    # Chat-like text: characters of every width with (sometimes) broken sequences.
    body = b"".join(pieces)
    assert _read_strings(backend, [body]) == [body.decode("utf-8", "replace")]


@given(st.lists(st.one_of(st.text(), st.binary()), max_size=20))
def test_string_decoding_matches_python(backend, parts):
    bodies = [p.encode() if isinstance(p, str) else p for p in parts]
    bodies.append(b"".join(bodies))
    assert _read_strings(backend, bodies) == [b.decode("utf-8", "replace") for b in bodies]


def test_string_encoding(backend):
    assert encode(backend, "write_string", "héllo") == b"\x06h\xc3\xa9llo\0"
    assert encode(backend, "write_string", b"raw\xff") == b"\x04raw\xff\0\0\0"
    with pytest.raises(TLEncodeError, match=r"not encodable as UTF-8 \(position 2\)"):
        encode(backend, "write_string", "ab\ud800")
    with pytest.raises(TLEncodeError, match="string expects str, got int"):
        encode(backend, "write_string", 5)


def test_write_bytes_rejects_str_and_others(backend):
    for value in ("abc", 5, None, [1, 2], array.array("B", b"ab")):
        with pytest.raises(TLEncodeError) as info:
            encode(backend, "write_bytes", value)
        assert str(info.value) == (
            f"bytes expects bytes, bytearray or memoryview, got {type(value).__name__}"
        )


# ------------------------------------------------------------------ integers

INT_SPECS = {
    "int": ("write_int", "read_int", "<i", -(1 << 31), (1 << 31) - 1),
    "#": ("write_uint", "read_uint", "<I", 0, (1 << 32) - 1),
    "long": ("write_long", "read_long", "<q", -(1 << 63), (1 << 63) - 1),
    "int128": ("write_int128", "read_int128", 16, -(1 << 127), (1 << 127) - 1),
    "int256": ("write_int256", "read_int256", 32, -(1 << 255), (1 << 255) - 1),
}


def int_bytes(fmt, value):
    if isinstance(fmt, int):
        return value.to_bytes(fmt, "little", signed=True)
    return struct.pack(fmt, value)


def int_edges():
    for name, (write, read, fmt, lo, hi) in INT_SPECS.items():
        for value in (lo, lo + 1, -1, 0, 1, hi - 1, hi):
            if lo <= value <= hi:
                yield pytest.param(name, value, id=f"{name}:{value}")


def int_outside():
    for name, (write, read, fmt, lo, hi) in INT_SPECS.items():
        for value in (lo - 1, hi + 1, lo - (1 << 300), hi * 3):
            yield pytest.param(name, value, id=f"{name}:{value}")


@pytest.mark.parametrize("name,value", list(int_edges()))
def test_int_in_range(backend, name, value):
    write, read, fmt, lo, hi = INT_SPECS[name]
    data = encode(backend, write, value)
    assert data == int_bytes(fmt, value)
    r = backend.Reader(data)
    got = getattr(r, read)()
    assert got == value and type(got) is int
    assert r.remaining() == 0


@pytest.mark.parametrize("name,value", list(int_outside()))
def test_int_out_of_range(backend, name, value):
    write, read, fmt, lo, hi = INT_SPECS[name]
    w = backend.Writer()
    with pytest.raises(TLEncodeError) as info:
        getattr(w, write)(value)
    assert str(info.value) == f"{name} out of range: {value} (must be {lo}..{hi})"
    assert w.getvalue() == b""


class Color(enum.IntEnum):
    RED = 7


class MyInt(int):
    pass


@pytest.mark.parametrize("name", INT_SPECS)
def test_int_wrong_types(backend, name):
    write = INT_SPECS[name][0]
    for value in (True, False, 1.0, float("nan"), "1", b"1", None, 1j, [1]):
        with pytest.raises(TLEncodeError) as info:
            encode(backend, write, value)
        assert str(info.value) == f"{name} expects int, got {type(value).__name__}"


@pytest.mark.parametrize("name", INT_SPECS)
def test_int_subclasses_accepted(backend, name):
    write, _, fmt, _, _ = INT_SPECS[name]
    assert encode(backend, write, Color.RED) == int_bytes(fmt, 7)
    assert encode(backend, write, MyInt(5)) == int_bytes(fmt, 5)


def test_uint_reads_high_bit(backend):
    r = backend.Reader(b"\xff\xff\xff\xff" * 2)
    assert r.read_uint() == 0xFFFFFFFF
    assert r.read_int() == -1


# ------------------------------------------------------------------ Bool, double

def test_bool(backend):
    assert encode(backend, "write_bool", True) == BOOL_TRUE
    assert encode(backend, "write_bool", False) == BOOL_FALSE
    r = backend.Reader(BOOL_TRUE + BOOL_FALSE)
    assert r.read_bool() is True
    assert r.read_bool() is False


@pytest.mark.parametrize("cid", [0, 0x3FEDD339, 0x997275B4, 0xBC799738, 0xFFFFFFFF])
def test_bool_rejects_other_ids(backend, cid):
    r = backend.Reader(b"\0\0\0\0" + struct.pack("<I", cid))
    r.read_int()
    with pytest.raises(TLDecodeError) as info:
        r.read_bool()
    assert info.value.offset == 4
    assert f"got constructor 0x{cid:08x}" in str(info.value)
    assert r.tell() == 4  # the cursor stays on the unexpected id


def test_bool_write_wrong_types(backend):
    for value in (1, 0, None, "true", 1.0):
        with pytest.raises(TLEncodeError) as info:
            encode(backend, "write_bool", value)
        assert str(info.value) == f"Bool expects bool, got {type(value).__name__}"


DOUBLES = [0.0, -0.0, 1.5, -2.25, math.pi, 5e-324, -5e-324, 1.7976931348623157e308,
           math.inf, -math.inf, math.nan, -math.nan]
# NaNs with payloads, signalling NaN, negative zero: must survive bit for bit.
RAW_DOUBLES = ["000000000000f87f", "010000000000f87f", "0100000000f0ff7f", "efbeadde0000f8ff",
               "0000000000000080", "0100000000000000"]


@pytest.mark.parametrize("value", DOUBLES, ids=repr)
def test_double_bit_exact(backend, value):
    data = encode(backend, "write_double", value)
    assert data == struct.pack("<d", value)
    back = backend.Reader(data).read_double()
    assert struct.pack("<d", back) == data


@pytest.mark.parametrize("hexdata", RAW_DOUBLES)
def test_double_raw_bits_survive(backend, hexdata):
    data = bytes.fromhex(hexdata)
    assert encode(backend, "write_double", backend.Reader(data).read_double()) == data


def test_double_accepts_ints_not_bools(backend):
    assert encode(backend, "write_double", 3) == struct.pack("<d", 3.0)
    assert encode(backend, "write_double", Color.RED) == struct.pack("<d", 7.0)
    with pytest.raises(TLEncodeError, match=r"^double out of range: 179769313486231590772930519"):
        encode(backend, "write_double", 2**1024)
    for value in (True, "1.0", None, 1j):
        with pytest.raises(TLEncodeError) as info:
            encode(backend, "write_double", value)
        assert str(info.value) == f"double expects float, got {type(value).__name__}"


# ------------------------------------------------------------------ streams, inputs, cursor

SAMPLE = [
    ("int", -5), ("uint", 0xDEADBEEF), ("long", -(1 << 62)), ("int128", (1 << 126) + 3),
    ("int256", -(1 << 200)), ("double", -1.5), ("bool", True), ("bytes", b"xyz"),
    ("bytes", b"L" * 300), ("string", "héllo wörld"), ("bool", False), ("int", 1),
]


def sample_stream(backend):
    """The sample encoded, with the (start, end) of every field."""
    w = backend.Writer()
    spans = []
    for kind, value in SAMPLE:
        start = len(w.getvalue())
        getattr(w, "write_" + kind)(value)
        spans.append((start, len(w.getvalue())))
    return w.getvalue(), spans


def test_sample_stream_round_trip(backend):
    data, spans = sample_stream(backend)
    r = backend.Reader(data)
    for (kind, value), (start, end) in zip(SAMPLE, spans):
        assert r.tell() == start
        assert getattr(r, "read_" + kind)() == value
    assert r.remaining() == 0


def test_truncation_at_every_byte(backend):
    data, spans = sample_stream(backend)
    for cut in range(len(data)):
        r = backend.Reader(data[:cut])
        for (kind, value), (start, end) in zip(SAMPLE, spans):
            if end <= cut:
                assert getattr(r, "read_" + kind)() == value
                continue
            with pytest.raises(TLDecodeError) as info:
                getattr(r, "read_" + kind)()
            assert info.value.offset == start, (cut, kind)
            assert r.tell() == start
            break
        else:
            pytest.fail(f"cut at {cut} of {len(data)} bytes was not noticed")


def input_forms(data):
    yield bytes(data)
    yield bytearray(data)
    yield memoryview(data)
    yield memoryview(b"JUNK" + data + b"TAIL")[4 : 4 + len(data)]  # nonzero start
    yield memoryview(bytearray(data))
    if len(data) % 4 == 0 and data:
        yield memoryview(data).cast("B", (len(data) // 4, 4))  # 2-D, C-contiguous
        yield memoryview(array.array("i", data))  # itemsize 4, read as raw bytes


def test_input_types(backend):
    data, spans = sample_stream(backend)
    for buf in input_forms(data):
        r = backend.Reader(buf)
        for kind, value in SAMPLE:
            got = getattr(r, "read_" + kind)()
            assert got == value, type(buf)
            assert type(got) is type(value)
        assert r.remaining() == 0


def test_input_type_errors(backend):
    with pytest.raises(TypeError, match="^memoryview must be C-contiguous$"):
        backend.Reader(memoryview(b"abcdefgh")[::2])
    for value in ("abc", None, 5, [1], array.array("B", b"ab")):
        with pytest.raises(TypeError) as info:
            backend.Reader(value)
        assert str(info.value) == (
            f"expected bytes, bytearray or memoryview, got {type(value).__name__}"
        )


def test_write_bytes_like_inputs(backend):
    body = b"abcdefgh"
    expected = encode(backend, "write_bytes", body)
    for method in ("write_bytes", "write_string"):
        for value in input_forms(body):
            assert encode(backend, method, value) == expected
        # A non-contiguous view is copied, as the pure engine does.
        assert encode(backend, method, memoryview(b"aXbXcX")[::2]) == b"\x03abc"


def test_seek_tell_remaining(backend):
    r = backend.Reader(b"\1\0\0\0\2\0\0\0")
    assert (r.tell(), r.remaining()) == (0, 8)
    r.seek(4)
    assert (r.tell(), r.remaining()) == (4, 4)
    assert r.read_int() == 2
    r.seek(0)
    assert r.read_int() == 1
    r.seek(8)
    assert r.remaining() == 0
    r.seek(True)  # an index, stored as a plain int
    assert r.tell() == 1 and type(r.tell()) is int
    for pos in (-1, 9, 1 << 70, -(1 << 70)):
        with pytest.raises(TLDecodeError) as info:
            r.seek(pos)
        assert str(info.value) == f"seek position {pos} out of range 0..8 at offset {pos}"
        assert r.tell() == 1
    with pytest.raises(TypeError):
        r.seek(1.0)
    with pytest.raises(TypeError):
        r.seek("1")


def test_schema_attribute_and_writer_state(backend):
    marker = object()
    assert backend.Reader(b"", marker)._schema is marker
    assert backend.Reader(b"")._schema is None
    w = backend.Writer(schema=marker)
    assert w._schema is marker
    assert w.getvalue() == b""
    longs = list(range(-50_000, 50_000, 7))
    for value in longs:
        w.write_long(value)
    assert w.getvalue() == struct.pack(f"<{len(longs)}q", *longs)
    assert w.getvalue() == w.getvalue()  # getvalue does not consume


def test_bytes_handed_out_never_change(backend):
    """The Cython Writer writes into a bytes object and getvalue() hands that object out,
    shrunk in place: what it handed out must stay as it was while the Writer goes on
    writing (growing past it, or with room left from an earlier, larger encode)."""
    w = backend.Writer()
    w.write_string("x" * 300)
    first = w.getvalue()
    kept = bytes(bytearray(first))  # a copy no Writer ever saw
    for value in range(20_000):  # grows many times over
        w.write_int(value)
    assert first == kept and type(first) is bytes
    second = w.getvalue()
    assert second[:len(first)] == first and len(second) == len(first) + 80_000
    assert second == w.getvalue()  # again, with nothing written between
    w.write_long(-1)
    third = w.getvalue()
    assert (first, second[-4:], third[-8:]) == (kept, struct.pack("<i", 19_999), b"\xff" * 8)
    assert hash(first) == hash(kept)
    small = backend.Writer()  # starts with room for what the last Writer produced
    small.write_int(1)
    assert small.getvalue() == b"\x01\0\0\0"


# ------------------------------------------------------------------ properties, one backend

PRIMITIVE_VALUES = {
    "int": st.integers(-(1 << 31), (1 << 31) - 1),
    "uint": st.integers(0, (1 << 32) - 1),
    "long": st.integers(-(1 << 63), (1 << 63) - 1),
    "int128": st.integers(-(1 << 127), (1 << 127) - 1),
    "int256": st.integers(-(1 << 255), (1 << 255) - 1),
    "double": st.floats(allow_nan=True, allow_infinity=True),
    "bool": st.booleans(),
    "bytes": st.binary(max_size=700),
    "string": st.text(max_size=300),
}
FIELDS = st.lists(
    st.sampled_from(sorted(PRIMITIVE_VALUES)).flatmap(
        lambda kind: st.tuples(st.just(kind), PRIMITIVE_VALUES[kind])
    ),
    max_size=20,
)


def same_value(a, b):
    if isinstance(a, float):
        return isinstance(b, float) and struct.pack("<d", a) == struct.pack("<d", b)
    return type(a) is type(b) and a == b


def write_all(backend, fields):
    w = backend.Writer()
    for kind, value in fields:
        getattr(w, "write_" + kind)(value)
    return w.getvalue()


def read_all(backend, data, fields):
    r = backend.Reader(data)
    values = [getattr(r, "read_" + kind)() for kind, _ in fields]
    assert r.remaining() == 0
    return values


@given(fields=FIELDS)
def test_property_round_trip(backend, fields):
    values = read_all(backend, write_all(backend, fields), fields)
    assert all(same_value(v, got) for (_, v), got in zip(fields, values))


# ------------------------------------------------------------------ differential: both backends

def outcome(call, *args):
    """What a call did, in a form comparable across backends. Only TLError (bad data or
    values) and TypeError (a cursor or buffer of the wrong type) may escape; anything
    else propagates and fails, even if both engines raise it."""
    try:
        result = call(*args)
    except (TLError, TypeError) as exc:
        return ("raised", type(exc), str(exc), getattr(exc, "offset", None))
    if isinstance(result, float):
        return ("float", struct.pack("<d", result))
    return ("ok", type(result), result)


@given(fields=FIELDS)
def test_differential_valid_values(engines, fields):
    py, cy = engines
    data = write_all(py, fields)
    assert write_all(cy, fields) == data
    # cross round trip: bytes from one backend decoded by the other
    py_values, cy_values = read_all(py, data, fields), read_all(cy, data, fields)
    assert all(same_value(a, b) for a, b in zip(py_values, cy_values))
    assert all(same_value(v, got) for (_, v), got in zip(fields, cy_values))


class MyFloat(float):
    pass


class MyStr(str):
    pass


ODD_VALUES = st.sampled_from([
    None, True, False, Color.RED, MyInt(-3), MyFloat(2.5), MyStr("sub"), 1j, [1], (), {},
    "", "ab\ud800cd", "\udfff", b"", b"\xff", bytearray(b"ba"), memoryview(b"mv"),
    memoryview(b"abcdef")[::2], array.array("B", b"ar"), object, float("nan"), 2**1024,
])
ANY_VALUE = st.one_of(
    st.integers(),
    st.sampled_from([spec[edge] + delta for spec in INT_SPECS.values()
                     for edge in (3, 4) for delta in (-1, 0, 1)]),
    st.floats(),
    st.text(),
    st.text(st.characters(min_codepoint=0xD700, max_codepoint=0xE000)),
    st.binary(),
    ODD_VALUES,
)


@given(value=ANY_VALUE)
@example(value=1 << 63)
@example(value=-(1 << 63) - 1)
def test_differential_any_value_to_every_writer(engines, value):
    py, cy = engines
    for method in WRITES:
        results = []
        for engine in (py, cy):
            w = engine.Writer()
            results.append((outcome(getattr(w, method), value), w.getvalue()))
        assert results[0] == results[1], method


def _long_tl_bytes():
    """Valid 0xFE-form bytes (254+ bytes of data), whole, cut short or with more after."""
    return st.tuples(S.long_blob(), st.integers(-8, 8)).map(
        lambda t: S.tl_bytes(t[0])[: t[1]] if t[1] < 0 else S.tl_bytes(t[0]) + bytes(t[1]))


@given(data=st.one_of(st.binary(max_size=80), _long_tl_bytes()))
@example(data=S.tl_bytes(b"y" * 300))  # one successful 0xFE read, whatever is drawn
@example(data=b"\xfe\xfe\x00\x00")
@example(data=b"\xfe\x01\x00\x00abc")
@example(data=b"\xff\x00\x00\x00")
def test_differential_random_bytes_to_every_reader(engines, data):
    py, cy = engines
    for method in READS:
        results = []
        for engine in (py, cy):
            r = engine.Reader(data)
            results.append((outcome(getattr(r, method)), r.tell(), r.remaining()))
        assert results[0] == results[1], method


@given(data=st.binary(max_size=200), methods=st.lists(st.sampled_from(READS), max_size=12))
def test_differential_random_read_sequences(engines, data, methods):
    py, cy = engines
    readers = [engine.Reader(bytearray(data)) for engine in (py, cy)]
    for method in methods:
        results = [(outcome(getattr(r, method)), r.tell()) for r in readers]
        assert results[0] == results[1], method


@given(pos=st.one_of(st.integers(), st.sampled_from([True, 1.0, "1", None])))
def test_differential_seek(engines, pos):
    py, cy = engines
    results = []
    for engine in (py, cy):
        r = engine.Reader(b"12345678")
        results.append((outcome(r.seek, pos), r.tell()))
    assert results[0] == results[1]
