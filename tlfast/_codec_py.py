"""Pure-Python engine: Reader and Writer for TL primitives (and, via plans, objects).

The Cython twin is ``src/tlfast/_codec_cy.pyx``; both export the same ``__all__`` with the
same signatures and raise the same errors (built by ``tlfast._primitives``).

May use: errors, _primitives, _plans, _pygen, _late.
"""

import struct
import sys
from operator import index as _index

from . import _plans as PL
from . import _primitives as P
from . import _pygen
from ._late import codec_of
from ._plans import DEFAULT_MAX_DEPTH, DEFAULT_MAX_INFLATE, check_limits
from ._primitives import inflate, run_delegate
from .errors import TLDecodeError, TLError

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

    __slots__ = ("_buf", "_pos", "_end", "_schema", "_codec", "max_depth", "max_inflate")

    def __init__(self, buf, schema=None, *, max_depth=DEFAULT_MAX_DEPTH,
                 max_inflate=DEFAULT_MAX_INFLATE):
        check_limits(max_depth, max_inflate)
        self._buf, self._end = P.as_byte_view(buf)
        self._pos = 0
        self._schema = schema
        self._codec = None  # resolved on the first read_object: primitives need no schema
        self.max_depth = max_depth
        self.max_inflate = max_inflate

    def tell(self):
        return self._pos

    def seek(self, pos):
        pos = _index(pos)  # a float or bool cursor would break every later read
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

    __slots__ = ("_out", "_schema", "_codec")

    def __init__(self, schema=None):
        self._out = bytearray()
        self._schema = schema
        self._codec = None

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
        if type(value) is str:
            try:
                data = value.encode("utf-8")
            except UnicodeEncodeError:
                data = P.utf8_of(value)  # raises the shared error
        elif isinstance(value, (bytes, bytearray, memoryview)):
            data = value
        else:
            data = P.utf8_of(value)
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


# --- the object engine: interprets plans (tlfast._plans) ---------------------------------
_new = object.__new__
_setattr = object.__setattr__
_ABSENT = {PL.ABSENT_NONE: lambda: None, PL.ABSENT_FALSE: lambda: False, PL.ABSENT_LIST: list}


def _read_object(self, type=None):
    """Read one value of TL ``type`` (a type expression; default: boxed Object)."""
    codec = self._codec
    if codec is None:
        codec = self._codec = codec_of(self._schema)
    try:
        return _read(self, codec.type_plan(type), 0)
    except RecursionError:
        # Only when the caller was already deep in its own stack (max_depth is capped).
        raise TLDecodeError("nesting too deep for the Python stack", self._pos) from None


def _read(r, tp, depth):
    k = tp.kind
    if k == PL.OBJECT:
        return _read_boxed(r, tp.boxed, depth)
    if k == PL.BARE:
        return _read_ctor(r, tp.ctor, depth + 1)
    if k == PL.VECTOR:
        pos = r._pos
        cid = r.read_uint()
        if cid != P.VECTOR:
            raise P.not_vector(cid, pos)
        out = _read_vector(r, tp.elem, depth + 1)
        return out if tp.factory is None else tp.factory(out)
    if k == PL.BARE_VECTOR:
        out = _read_vector(r, tp.elem, depth + 1)
        return out if tp.factory is None else tp.factory(out)
    if k == PL.UNDEFINED:
        raise P.undefined_read(tp.text, r._pos)
    return _PRIMITIVE_READERS[k](r)


_PRIMITIVE_READERS = {
    PL.INT: Reader.read_int,
    PL.UINT: Reader.read_uint,
    PL.LONG: Reader.read_long,
    PL.INT128: Reader.read_int128,
    PL.INT256: Reader.read_int256,
    PL.DOUBLE: Reader.read_double,
    PL.BOOL: Reader.read_bool,
    PL.BYTES: Reader.read_bytes,
    PL.STRING: Reader.read_string,
}


def _read_boxed(r, boxed, depth):
    pos = r._pos
    cid = r.read_uint()
    codec = r._codec
    if codec.delegates:
        fn = codec.delegates.get(cid)
        if fn is not None:
            value, r._pos = run_delegate(fn, r._buf, pos, r._end)
            return value
    if cid == P.GZIP_PACKED:
        return _read_gzip(r, boxed, depth, pos)
    if boxed.ids is None:
        if boxed.natives:
            if cid == P.BOOL_TRUE or cid == P.BOOL_FALSE:
                return cid == P.BOOL_TRUE
            if cid == P.VECTOR:
                return _read_vector(r, _OBJECT_TYPE, depth + 1)
        plan = codec.by_id.get(cid) or codec.plan_by_id(cid)
        if plan is None:
            raise P.unknown_constructor(cid, pos, boxed.name)
        if boxed.functions_only and not plan.is_function:
            raise P.wrong_constructor(plan, pos, "function")
    else:
        plan = codec.by_id.get(cid) or codec.plan_by_id(cid)
        if cid not in boxed.ids:
            if plan is None:
                raise P.unknown_constructor(cid, pos, boxed.name)
            raise P.wrong_constructor(plan, pos, boxed.name)
        dec = _decoder(plan)
        if boxed._py is not None:
            boxed._py[cid] = dec  # generated code reads this type's known ids directly
        return dec(r, depth + 1)
    return _read_ctor(r, plan, depth + 1)


def boxed_decoder(codec, cid):
    """The generated decoder that ``_read_boxed`` would end in for a boxed Object whose id
    is ``cid``, or None when that read takes any other way (a delegate, gzip_packed, Bool,
    Vector, an unknown id). For a host's seam that reads many small objects (see
    ``read_boxed_with``); each decoder is the one ``_decoder`` makes and caches."""
    if cid in codec.delegates or cid in _NOT_PLAIN:
        return None
    plan = codec.by_id.get(cid) or codec.plan_by_id(cid)
    return None if plan is None else _decoder(plan)


def read_boxed_with(dec, buf, pos, codec):
    """Run ``dec`` (from ``boxed_decoder``) on the object whose id is at ``pos`` in ``buf``
    (bytes): the value and the position after it. Exactly what ``Reader(buf, codec)`` at
    ``pos`` and ``read_object()`` do for that id (same depth, limits, errors), minus the
    Reader's argument checks and the type dispatch, which cost a small object's seam about
    as much as the object itself."""
    r = _new(Reader)
    r._buf = buf
    r._end = len(buf)
    r._pos = pos + 4
    r._schema = r._codec = codec
    r.max_depth = DEFAULT_MAX_DEPTH
    r.max_inflate = DEFAULT_MAX_INFLATE
    try:
        return dec(r, 1), r._pos
    except RecursionError:
        raise TLDecodeError("nesting too deep for the Python stack", r._pos) from None


_NOT_PLAIN = frozenset((P.GZIP_PACKED, P.BOOL_TRUE, P.BOOL_FALSE, P.VECTOR))


_FIXED_ARRAYS = {PL.INT: ("i", 4), PL.UINT: ("I", 4), PL.LONG: ("q", 8), PL.DOUBLE: ("d", 8)}
_OBJECT_TYPE = PL.TypePlan(PL.OBJECT, boxed=PL.ANY_OBJECT, text="Object")


def _read_gzip(r, boxed, depth, pos):
    inflated = inflate(r.read_bytes(), pos, r.max_inflate)
    inner = Reader(inflated, r._codec, max_depth=r.max_depth, max_inflate=r.max_inflate)
    inner._codec = r._codec
    value = _read_boxed(inner, boxed, depth)
    if inner._end != inner._pos:
        raise TLDecodeError(f"{inner._end - inner._pos} trailing bytes inside gzip_packed", pos)
    return value


def _read_ctor(r, plan, depth):
    return _decoder(plan)(r, depth)


def _decoder(plan):
    gen = plan._py
    return gen[0] if gen is not None and gen[0] is not None else _generate(plan, 0)


def _encoder(plan):
    gen = plan._py
    return gen[1] if gen is not None and gen[1] is not None else _generate(plan, 1)


def _generate(plan, which):
    """Make and cache ``plan``'s decoder (0) or encoder (1). MTProto's message, whose body
    length is checked, runs the plan interpreter; everything else generated code."""
    gen = plan._py
    if gen is None:
        gen = plan._py = [None, None]
    if any(f.kind == PL.BODY_LEN for f in plan.fields):
        if which == 0:
            fn = lambda r, depth: _interpret_ctor(r, plan, depth)  # noqa: E731
        else:
            fn = lambda w, obj, depth: _interpret_write_ctor(w, plan, obj, depth)  # noqa: E731
    else:
        make = _pygen.make_decoder if which == 0 else _pygen.make_encoder
        fn = make(plan, sys.modules[__name__])
    gen[which] = fn
    return fn


def _interpret_ctor(r, plan, depth):
    """The reference: field by field from the plan (used for MTProto's message, whose
    body length is checked; everything else runs generated code that does the same)."""
    if depth > r.max_depth:
        raise P.too_deep(r._pos, r.max_depth)
    obj = _new(plan.cls)
    flags = {}
    i = -1
    try:
        fields = plan.fields
        n = len(fields)
        while i + 1 < n:
            i += 1
            f = fields[i]
            if f.flag >= 0 and not (flags[f.flag] >> f.bit) & 1:
                if f.slot >= 0:
                    _setattr(obj, f.attr, _ABSENT[f.absent]())
                continue
            k = f.kind
            if k == PL.FLAGS:
                flags[i] = r.read_uint()
                if f.slot >= 0:  # a stored word (the "ton" dialect): kept as read
                    _setattr(obj, f.attr, flags[i])
            elif k == PL.TRUE:
                _setattr(obj, f.attr, True)
            elif k == PL.BODY_LEN:
                pos = r._pos
                length = r.read_int()
                left = r._end - r._pos
                if length < 0 or length > left:
                    raise P.bad_body_length(length, pos, left)
                i += 1
                body = fields[i]
                start, end = r._pos, r._end
                r._end = start + length
                try:
                    value = _read(r, body.type, depth)
                finally:
                    r._end = end
                if r._pos - start != length:
                    raise P.body_length_mismatch(length, r._pos - start, pos)
                _setattr(obj, body.attr, value)
            else:
                _setattr(obj, f.attr, _read(r, f.type, depth))
    except TLError as exc:
        if i >= 0:
            exc._add_path("." + plan.fields[i].name)
        if depth == 1:
            exc._add_path(plan.name)
        raise
    return obj


def _read_vector(r, elem, depth):
    pos = r._pos
    if depth > r.max_depth:
        raise P.too_deep(pos, r.max_depth)
    count = r.read_int()
    left = r._end - r._pos
    size = elem.min_size or 1
    if count < 0 or count * size > left:
        raise P.bad_count(count, pos, size, left)
    k = elem.kind
    if k in _FIXED_ARRAYS:
        # One struct call for all. It reads from the whole buffer, which may go on past
        # ``_end`` (a message body), so the bytes are checked with this path's own element
        # size, not trusted to the shared min_size of the check above.
        code, size = _FIXED_ARRAYS[k]
        if count * size > left:
            raise P.bad_count(count, pos, size, left)
        r._pos = pos + 4 + count * size
        return list(struct.unpack_from(f"<{count}{code}", r._buf, pos + 4))
    if k == PL.INT128 or k == PL.INT256:
        read = _PRIMITIVE_READERS[k]
        return [read(r) for _ in range(count)]
    out = []
    i = 0
    try:
        if k == PL.OBJECT and elem.boxed.ids is not None:
            # Elements of a known type: ids already met go straight to their decoder.
            boxed = elem.boxed
            table = boxed._py
            if table is None:
                table = boxed._py = {}
            buf = r._buf
            for i in range(count):
                pos = r._pos
                dec = table.get(_unpack_uint(buf, pos)[0]) if r._end - pos >= 4 else None
                if dec is not None:
                    r._pos = pos + 4
                    out.append(dec(r, depth + 1))
                else:
                    out.append(_read_boxed(r, boxed, depth))
        else:
            for i in range(count):
                out.append(_read(r, elem, depth))
    except TLError as exc:
        raise exc._add_path(f"[{i}]")
    return out


def _write_object(self, value, type=None):
    """Write ``value`` as TL ``type`` (a type expression; default: boxed Object)."""
    codec = self._codec
    if codec is None:
        codec = self._codec = codec_of(self._schema)
    _write(self, codec.type_plan(type), value, 0)


def _write(w, tp, v, depth):
    k = tp.kind
    if k == PL.OBJECT:
        _write_boxed(w, tp.boxed, v, depth)
    elif k == PL.BARE:
        plan = _plan_of(w, v)
        if plan is None:
            raise P.not_an_object(tp.text, v)
        if plan.id != tp.ctor.id:
            raise P.wrong_object(tp.text, plan)
        _write_ctor(w, plan, v, depth + 1)
    elif k == PL.VECTOR:
        w._out += _uint.pack(P.VECTOR)
        _write_vector(w, tp, v, depth + 1)
    elif k == PL.BARE_VECTOR:
        _write_vector(w, tp, v, depth + 1)
    elif k == PL.UNDEFINED:
        raise P.undefined_write(tp.text)
    else:
        _PRIMITIVE_WRITERS[k](w, v)


_PRIMITIVE_WRITERS = {
    PL.INT: Writer.write_int,
    PL.UINT: Writer.write_uint,
    PL.LONG: Writer.write_long,
    PL.INT128: Writer.write_int128,
    PL.INT256: Writer.write_int256,
    PL.DOUBLE: Writer.write_double,
    PL.BOOL: Writer.write_bool,
    PL.BYTES: Writer.write_bytes,
    PL.STRING: Writer.write_string,
}


def _plan_of(w, v):
    """The plan of ``v``'s class: tlfast's own classes carry it, a host's the codec knows."""
    plan = getattr(type(v), "_plan", None)
    if plan is None and w._codec.plan_of_class is not None:
        plan = w._codec.plan_of_class(type(v))
    return plan


def _write_boxed(w, boxed, v, depth):
    table = boxed._py_enc
    if table is not None:
        entry = table.get(type(v))  # a class that passed the checks below before
        if entry is not None:
            w._out += entry[0]
            entry[1](w, v, depth + 1)
            return
    plan = _plan_of(w, v)
    if plan is None and w._codec.encode_hook is not None:
        data = w._codec.encode_hook(v)  # a host's object tlfast has no plan for
        if data is not None:
            w._out += data
            return
    if plan is None:
        if boxed.natives:
            if v is True or v is False:
                w.write_bool(v)
                return
            if isinstance(v, list):
                w._out += _uint.pack(P.VECTOR)
                _write_vector(w, _OBJECT_VECTOR, v, depth + 1)
                return
        raise P.not_an_object(boxed.name, v)
    if plan.id != P.GZIP_PACKED:
        if boxed.ids is not None and plan.id not in boxed.ids:
            raise P.wrong_object(boxed.name, plan, not boxed.ids)
        if boxed.functions_only and not plan.is_function:
            raise P.wrong_object(boxed.name, plan)
    entry = (_uint.pack(plan.id), _encoder(plan))
    table = boxed._py_enc
    if table is None:
        table = boxed._py_enc = {}
    table[type(v)] = entry  # this class passed the checks: generated code goes direct
    w._out += entry[0]
    entry[1](w, v, depth + 1)


_OBJECT_VECTOR = PL.TypePlan(PL.VECTOR, elem=_OBJECT_TYPE, text="Vector<Object>")


def _write_ctor(w, plan, obj, depth):
    _encoder(plan)(w, obj, depth)


def _interpret_write_ctor(w, plan, obj, depth):
    if depth > PL.DEFAULT_MAX_DEPTH:
        raise P.too_deep_encode(PL.DEFAULT_MAX_DEPTH)
    fields = plan.fields
    i = -1
    try:
        values = _values(plan, obj)
        words = PL.flags_from_values(plan, values) if plan.flag_fields else None
        n = len(fields)
        while i + 1 < n:
            i += 1
            f = fields[i]
            if f.flag >= 0 and not (words[f.flag] >> f.bit) & 1:
                continue
            k = f.kind
            if k == PL.FLAGS:
                w._out += _uint.pack(words[i])
            elif k == PL.TRUE:
                pass
            elif k == PL.BODY_LEN:
                at = len(w._out)
                w._out += b"\0\0\0\0"
                i += 1
                _write(w, fields[i].type, values[i], depth)
                _int.pack_into(w._out, at, len(w._out) - at - 4)
            else:
                _write(w, f.type, values[i], depth)
    except TLError as exc:
        if i >= 0:
            exc._add_path("." + fields[i].name)
        if depth == 1:
            exc._add_path(plan.name)
        raise


def _values(plan, obj):
    """Field values by field index (None for flags words); an unset slot is an error. A
    falsy value of a field with a host's rule for it (``falsy``) is absent, or refused."""
    try:
        values = [getattr(obj, f.attr) if f.slot >= 0 else None for f in plan.fields]
        for i, f in enumerate(plan.fields):
            if f.falsy and values[i] is not None and not values[i]:
                if f.falsy != PL.FALSY_ABSENT:
                    raise P.falsy_refused(f.name)
                values[i] = None
        return values
    except AttributeError:
        for f in plan.fields:
            if f.slot >= 0 and not hasattr(obj, f.attr):
                raise P.missing_attr(f.name) from None
        raise


def _write_vector(w, tp, v, depth):
    if depth > PL.DEFAULT_MAX_DEPTH:
        raise P.too_deep_encode(PL.DEFAULT_MAX_DEPTH)
    if type(v) is not list and not isinstance(v, (list, tuple)):
        raise P.not_a_list(tp.text, v)
    n = len(v)
    if n > 0x7FFFFFFF:
        raise P.too_many(tp.text, n)
    w._out += _int.pack(n)
    elem = tp.elem
    k = elem.kind
    if k in _FIXED_ARRAYS and n:
        # All elements of the exact Python type: one struct call; struct rejects out-of-range
        # values, and then the per-element path below reports which one and why.
        code, _ = _FIXED_ARRAYS[k]
        want = float if k == PL.DOUBLE else int
        if all(type(x) is want for x in v):
            try:
                w._out += struct.pack(f"<{n}{code}", *v)
                return
            except struct.error:
                pass
    i = 0
    try:
        if elem.kind == PL.OBJECT:
            boxed = elem.boxed
            table = boxed._py_enc
            if table is None:
                table = boxed._py_enc = {}
            out = w._out
            for i, x in enumerate(v):
                entry = table.get(type(x))
                if entry is not None:
                    out += entry[0]
                    entry[1](w, x, depth + 1)
                else:
                    _write_boxed(w, boxed, x, depth)
        else:
            for i, x in enumerate(v):
                _write(w, elem, x, depth)
    except TLError as exc:
        raise exc._add_path(f"[{i}]")


Reader.read_object = _read_object
Writer.write_object = _write_object
