"""Pure-Python engine: Reader and Writer for TL primitives (and, via plans, objects).

The Cython twin is ``src/tlfast/_codec_cy.pyx``; both export the same ``__all__`` with the
same signatures and raise the same errors (built by ``tlfast._primitives``).
"""

import struct

from . import _primitives as P

__all__ = ["Reader", "Writer"]

NAME = "python"

_int = struct.Struct("<i")
_uint = struct.Struct("<I")
_long = struct.Struct("<q")
_double = struct.Struct("<d")
_unpack_int = _int.unpack_from
_unpack_uint = _uint.unpack_from
_unpack_long = _long.unpack_from
_unpack_double = _double.unpack_from
_from_bytes = int.from_bytes
_PAD = (b"", b"\0", b"\0\0", b"\0\0\0")


class Reader:
    """Reads TL values from ``buf`` (bytes, bytearray or memoryview) without copying it."""

    __slots__ = ("_buf", "_pos", "_end", "_schema")

    def __init__(self, buf, schema=None):
        self._buf, self._end = P.as_byte_view(buf)
        self._pos = 0
        self._schema = schema

    def tell(self):
        return self._pos

    def seek(self, pos):
        if not 0 <= pos <= self._end:
            raise P.bad_seek(pos, self._end)
        self._pos = pos

    def remaining(self):
        return self._end - self._pos

    def _take(self, n):
        pos = self._pos
        if self._end - pos < n:
            raise P.truncated(pos, n, self._end - pos)
        self._pos = pos + n
        return pos

    def read_int(self):
        return _unpack_int(self._buf, self._take(4))[0]

    def read_uint(self):
        return _unpack_uint(self._buf, self._take(4))[0]

    def read_long(self):
        return _unpack_long(self._buf, self._take(8))[0]

    def read_double(self):
        return _unpack_double(self._buf, self._take(8))[0]

    def read_int128(self):
        pos = self._take(16)
        return _from_bytes(self._buf[pos : pos + 16], "little", signed=True)

    def read_int256(self):
        pos = self._take(32)
        return _from_bytes(self._buf[pos : pos + 32], "little", signed=True)

    def read_bool(self):
        pos = self._pos
        cid = _unpack_uint(self._buf, self._take(4))[0]
        if cid == P.BOOL_TRUE:
            return True
        if cid == P.BOOL_FALSE:
            return False
        self._pos = pos
        raise P.bad_bool(pos, cid)

    def read_bytes(self):
        buf = self._buf
        pos = self._pos
        left = self._end - pos
        if left < 1:
            raise P.truncated(pos, 1, left)
        length = buf[pos]
        if length < 254:
            start = pos + 1
            total = (length + 4) & ~3
        elif length == 254:
            if left < 4:
                raise P.truncated(pos, 4, left)
            length = buf[pos + 1] | (buf[pos + 2] << 8) | (buf[pos + 3] << 16)
            if length < 254:
                raise P.non_canonical_prefix(pos, length)
            start = pos + 4
            total = (length + 7) & ~3
        else:
            raise P.bad_prefix(pos)
        if left < total:
            raise P.truncated(pos, total, left)
        self._pos = pos + total
        data = buf[start : start + length]
        return data if type(data) is bytes else bytes(data)

    def read_string(self):
        return self.read_bytes().decode("utf-8", "replace")


class Writer:
    """Builds TL bytes; ``getvalue()`` returns them."""

    __slots__ = ("_out", "_schema")

    def __init__(self, schema=None):
        self._out = bytearray()
        self._schema = schema

    def getvalue(self):
        return bytes(self._out)

    def write_int(self, value):
        self._out += _int.pack(P.check_int(P.INT_RANGE, value))

    def write_uint(self, value):
        self._out += _uint.pack(P.check_int(P.UINT_RANGE, value))

    def write_long(self, value):
        self._out += _long.pack(P.check_int(P.LONG_RANGE, value))

    def write_int128(self, value):
        self._out += P.check_int(P.INT128_RANGE, value).to_bytes(16, "little", signed=True)

    def write_int256(self, value):
        self._out += P.check_int(P.INT256_RANGE, value).to_bytes(32, "little", signed=True)

    def write_double(self, value):
        if type(value) is not float:
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                raise P.wrong_type("double", "float", value)
            try:
                value = float(value)
            except OverflowError:
                raise P.TLEncodeError(f"double out of range: {value}") from None
        self._out += _double.pack(value)

    def write_bool(self, value):
        if value is True:
            self._out += _uint.pack(P.BOOL_TRUE)
        elif value is False:
            self._out += _uint.pack(P.BOOL_FALSE)
        else:
            raise P.wrong_type("Bool", "bool", value)

    def write_bytes(self, value):
        if not isinstance(value, (bytes, bytearray, memoryview)):
            raise P.wrong_type("bytes", "bytes, bytearray or memoryview", value)
        _write_bytes(self._out, value)

    def write_string(self, value):
        if type(value) is not str:
            if isinstance(value, (bytes, bytearray, memoryview)):
                _write_bytes(self._out, value)
                return
            if not isinstance(value, str):
                raise P.wrong_type("string", "str", value)
        try:
            data = value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise P.not_utf8(exc) from None
        _write_bytes(self._out, data)


def _write_bytes(out, data):
    if type(data) is memoryview:
        data = data.cast("B") if data.c_contiguous else data.tobytes()
    length = len(data)
    if length < 254:
        out.append(length)
        out += data
        out += _PAD[-(length + 1) & 3]
    elif length <= P.MAX_BYTES_LEN:
        out += (254 | (length << 8)).to_bytes(4, "little")
        out += data
        out += _PAD[-length & 3]
    else:
        raise P.bytes_too_long(length)
