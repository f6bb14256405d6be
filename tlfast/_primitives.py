"""Wire constants, gzip_packed inflation and the error constructors both engines share.

Everything here is pure Python and used by the pure engine directly and by the Cython
engine only on the (cold) error path, so both backends raise the same class with the same
message for the same input.

May use: errors.
"""

import zlib

from .errors import TLDecodeError, TLEncodeError, TLTruncatedError, UnknownConstructorError

BOOL_TRUE = 0x997275B5
BOOL_FALSE = 0xBC799737
VECTOR = 0x1CB5C415
GZIP_PACKED = 0x3072CFA1

MAX_BYTES_LEN = (1 << 24) - 1  # three length bytes cannot hold more

INT_RANGE = ("int", -(1 << 31), (1 << 31) - 1)
UINT_RANGE = ("#", 0, (1 << 32) - 1)
LONG_RANGE = ("long", -(1 << 63), (1 << 63) - 1)
INT128_RANGE = ("int128", -(1 << 127), (1 << 127) - 1)
INT256_RANGE = ("int256", -(1 << 255), (1 << 255) - 1)


def truncated(offset, need, left):
    return TLTruncatedError(f"unexpected end of data: need {need} bytes, {left} left", offset)


def bad_prefix(offset):
    return TLDecodeError("invalid length prefix 0xff", offset)


def non_canonical_prefix(offset, length):
    return TLDecodeError(f"non-canonical length prefix: 0xfe form for length {length}", offset)


def bad_bool(offset, constructor_id):
    return TLDecodeError(
        f"expected Bool (boolTrue or boolFalse), got constructor 0x{constructor_id:08x}", offset
    )


def bad_seek(pos, size):
    return TLDecodeError(f"seek position {pos} out of range 0..{size}", pos)


def wrong_type(tl_type, expected, value):
    return TLEncodeError(f"{tl_type} expects {expected}, got {type(value).__name__}")


def int_out_of_range(spec, value):
    name, lo, hi = spec
    return TLEncodeError(f"{name} out of range: {value} (must be {lo}..{hi})")


def check_int(spec, value):
    """Validate an integer for int / # / long / int128 / int256; bool is not an int here."""
    if type(value) is not int and (not isinstance(value, int) or isinstance(value, bool)):
        raise wrong_type(spec[0], "int", value)
    if not spec[1] <= value <= spec[2]:
        raise int_out_of_range(spec, value)
    return int(value)


def bytes_too_long(length):
    return TLEncodeError(f"bytes too long: {length} bytes (the maximum is {MAX_BYTES_LEN})")


def not_utf8(exc):
    return TLEncodeError(f"string is not encodable as UTF-8 (position {exc.start})")


def utf8_of(value):
    """The UTF-8 bytes of a ``string`` value that is not exactly ``str`` (a subclass) or is
    wrong: both engines' slow path, so they accept and reject the same values."""
    if not isinstance(value, str):
        raise wrong_type("string", "str", value)
    try:
        return value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise not_utf8(exc) from None


def bad_buffer(obj):
    return TypeError(f"expected bytes, bytearray or memoryview, got {type(obj).__name__}")


def as_byte_view(buf):
    """Return (buffer, length) for bytes/bytearray/memoryview without copying the data."""
    if isinstance(buf, bytes):
        return buf, len(buf)
    if isinstance(buf, bytearray):
        # A view pins the bytearray's size while the Reader lives, as the Cython Reader's
        # buffer export does: resizing it then raises BufferError in both backends.
        view = memoryview(buf)
        return view, view.nbytes
    if isinstance(buf, memoryview):
        if not buf.c_contiguous:
            raise TypeError("memoryview must be C-contiguous")
        if buf.format != "B" or buf.ndim != 1:
            buf = buf.cast("B")
        return buf, buf.nbytes
    raise bad_buffer(buf)


# --- object-level errors (both engines) -------------------------------------------------
def too_deep(offset, limit):
    return TLDecodeError(f"nesting deeper than {limit} levels", offset)


def unknown_constructor(cid, offset, expected):
    return UnknownConstructorError(cid, offset, expected)


def wrong_constructor(plan, offset, expected):
    return TLDecodeError(f"constructor {plan.name}#{plan.id:08x} is not a {expected}", offset)


def not_vector(cid, offset):
    return TLDecodeError(f"expected Vector (0x1cb5c415), got constructor 0x{cid:08x}", offset)


def bad_count(count, offset, min_size, left):
    if count < 0:
        return TLDecodeError(f"negative vector count {count}", offset)
    return TLTruncatedError(
        f"vector count {count} needs at least {count * min_size} bytes, {left} left", offset
    )


def bad_body_length(length, offset, left):
    return TLDecodeError(f"message body length {length} does not fit the {left} bytes left", offset)


def body_length_mismatch(length, used, offset):
    return TLDecodeError(f"message body took {used} bytes but its length says {length}", offset)


def too_deep_encode(limit):
    return TLEncodeError(f"nesting deeper than {limit} levels")


def not_an_object(expected, value):
    return TLEncodeError(f"{expected} expects a TL object, got {type(value).__name__}")


def wrong_object(expected, plan, undefined=False):
    why = " (the schema does not define it)" if undefined else ""
    return TLEncodeError(f"{expected}{why} does not accept {plan.name}")


def undefined_read(expected, offset):
    return TLDecodeError(f"cannot read {expected}: the schema does not define it", offset)


def undefined_write(expected):
    return TLEncodeError(f"cannot write {expected}: the schema does not define it")


def not_a_list(expected, value):
    return TLEncodeError(f"{expected} expects a list, got {type(value).__name__}")


def too_many(expected, count):
    return TLEncodeError(f"{expected} has {count} elements, more than an int count can hold")


def falsy_refused(name):
    return TLEncodeError(f"field {name}: an empty value its host writes its own way")


def missing_attr(name):
    return TLEncodeError(f"field {name} is not set")


def run_delegate(fn, buf, pos, end):
    """Call a host's reader (Codec.delegates, tlfast.adapters) for the object at ``pos``;
    both engines come here. Returns (value, position after it)."""
    value, after = fn(buf, pos, end)
    if type(after) is not int or not pos < after <= end:
        raise TLDecodeError(f"the host's reader stopped at {after!r}, outside {pos + 1}..{end}", pos)
    return value, after


def inflate(data, offset, limit):
    """Inflate gzip_packed data (gzip, or zlib) to at most ``limit`` bytes."""
    d = zlib.decompressobj(47)  # 32 + 15: gzip or zlib header, detected
    try:
        out = d.decompress(data, limit + 1)
    except zlib.error as exc:
        raise TLDecodeError(f"gzip_packed: invalid compressed data ({exc})", offset) from None
    if len(out) > limit:
        raise TLDecodeError(f"gzip_packed inflates beyond the limit of {limit} bytes", offset)
    if not d.eof:
        raise TLDecodeError("gzip_packed: compressed data is truncated", offset)
    return out
