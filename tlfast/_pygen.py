"""Code generation for the pure-Python engine: one decode and one encode function per
constructor, made with ``exec`` the first time the constructor is met.

The generated functions do exactly what the interpreter in ``_codec_py`` (``_read_ctor`` /
``_write_ctor``) does, field by field and check by check, so errors, offsets and paths are
the same; they only avoid the interpreter's per-field dispatch: locals instead of dict
lookups, the flags tests inlined, consecutive fixed-size fields read with one ``struct``
call, ints range-checked inline.

May use: errors, _primitives, _plans.
"""

import struct

from . import _plans as PL
from . import _primitives as P
from .errors import TLError

_FIXED = {PL.INT: ("i", 4), PL.UINT: ("I", 4), PL.FLAGS: ("I", 4), PL.LONG: ("q", 8),
          PL.DOUBLE: ("d", 8)}
_INT_LIMITS = {PL.INT: P.INT_RANGE, PL.LONG: P.LONG_RANGE, PL.UINT: P.UINT_RANGE}
_WRITER_METHOD = {PL.INT: "write_int", PL.UINT: "write_uint", PL.LONG: "write_long",
                  PL.INT128: "write_int128", PL.INT256: "write_int256",
                  PL.DOUBLE: "write_double", PL.BOOL: "write_bool", PL.BYTES: "write_bytes",
                  PL.STRING: "write_string"}
_READER_METHOD = {PL.INT128: "read_int128", PL.INT256: "read_int256"}
_ABSENT_SOURCE = {PL.ABSENT_NONE: "None", PL.ABSENT_FALSE: "False", PL.ABSENT_LIST: "[]"}


def _batch_fail(pos, end, sizes, indices):
    """A batch of fixed-size fields did not fit: the error of the first one that doesn't."""
    for size, i in zip(sizes, indices):
        if end - pos < size:
            return i, P.truncated(pos, size, end - pos)
        pos += size
    raise AssertionError("unreachable: the batch fit")


class _Fields:
    """Collects the fields of a CALL-built constructor, passed to its class as keywords."""


def make_decoder(plan, engine):
    """A function ``dec(r, depth) -> object`` for ``plan`` (``engine`` is ``_codec_py``)."""
    call = plan.build == PL.CALL
    # DICT: fields are read into locals and set on the host's object at the end, in the
    # order of the host's __init__ (the template's), as that __init__ sets them: so the
    # instance stores them as the host's own do (values sharing the class's keys on
    # 3.11+), and vars() lists them in the same order (as the Cython engine).
    local = plan.build == PL.DICT

    def t(f):
        return f"v_{f.attr}" if local else f"o.{f.attr}"

    ns = {
        "new": object.__new__, "cls": _Fields if call else plan.cls, "TLError": TLError, "P": P,
        "host_cls": plan.cls,
        "PLAN_NAME": plan.name, "NAMES": tuple("." + f.name for f in plan.fields),
        "batch_fail": _batch_fail, "read": engine._read, "read_boxed": engine._read_boxed,
        "BT": P.BOOL_TRUE, "BF": P.BOOL_FALSE, "unpack_I": struct.Struct("<I").unpack_from,
        "bytes_t": bytes,
    }
    body = []
    emit = body.append
    fields = plan.fields
    n = len(fields)
    i = 0
    while i < n:
        f = fields[i]
        k = f.kind
        if f.flag < 0 and k in _FIXED:
            j = i
            while j < n and fields[j].flag < 0 and fields[j].kind in _FIXED:
                j += 1
            batch = list(range(i, j))
            fmt = "<" + "".join(_FIXED[fields[b].kind][0] for b in batch)
            sizes = tuple(_FIXED[fields[b].kind][1] for b in batch)
            total = sum(sizes)
            ns[f"S{i}"] = struct.Struct(fmt).unpack_from
            emit(f"_f = {i}")
            emit(f"if end - pos < {total}:")
            emit(f"    _f, _e = batch_fail(pos, end, {sizes!r}, {tuple(batch)!r}); raise _e")
            emit(f"_v = S{i}(buf, pos)")
            emit(f"pos += {total}")
            for n_, b in enumerate(batch):
                emit(_store(fields[b], b, f"_v[{n_}]", ns, t(fields[b])))
            i = j
            continue
        lines = _decode_field(f, i, ns, t(f))
        if f.flag >= 0:
            word, mask = f"fl{f.flag}", 1 << f.bit
            if k == PL.TRUE:
                emit(f"{t(f)} = ({word} & {mask}) != 0")
            else:
                emit(f"if {word} & {mask}:")
                body.extend("    " + line for line in lines)
                emit("else:")
                emit(f"    {t(f)} = {_ABSENT_SOURCE[f.absent]}")
        else:
            body.extend(lines)
        i += 1
    head = [
        "if depth > r.max_depth:",
        "    raise P.too_deep(r._pos, r.max_depth)",
        "buf = r._buf; pos = r._pos; end = r._end",
    ]
    if not local:
        head.append("o = new(cls)")
    tail = ["r._pos = pos"]
    if local:
        names = {f.attr for f in fields if f.slot >= 0}
        tail.append("o = new(host_cls)")
        for j, (attr, value) in enumerate(plan.template.items()):
            if attr in names:
                tail.append(f"o.{attr} = v_{attr}")
            else:  # an attribute the host's class has beyond the TL fields
                ns[f"X{j}"] = value
                tail.append(f"o.{attr} = X{j}")
        if plan.finish is not None:
            ns["finish"] = plan.finish
            tail.append("finish(o.__dict__)")
    tail.append("return host_cls(**o.__dict__)" if call else "return o")
    return _function(ns, "dec(r, depth)", head, body, tail)


def _function(ns, signature, head, body, tail):
    """Compile ``def signature`` whose field code ``body`` runs under the error-path
    handler both engines share: the failing field's name, and the root constructor's name
    at the top level, are prepended to the error's path."""
    src = [f"def {signature}:"]
    src += ["    " + line for line in head]
    src += [
        "    _f = -1",
        "    try:",
        *("        " + line for line in (body or ["pass"])),
        "    except TLError as e:",
        "        if _f >= 0:",
        "            e._add_path(NAMES[_f])",
        "        if depth == 1:",
        "            e._add_path(PLAN_NAME)",
        "        raise",
    ]
    src += ["    " + line for line in tail]
    exec("\n".join(src), ns)
    return ns[signature.partition("(")[0]]


def _store(f, i, expr, ns, t):
    if f.kind == PL.FLAGS:
        # A stored word (the "ton" dialect) is also the object's, as read.
        return f"fl{i} = {expr}" + (f"; o.{f.attr} = fl{i}" if f.slot >= 0 else "")
    if f.convert is not None:
        ns[f"C{i}"] = f.convert.decode
        return f"{t} = C{i}({expr})"
    return f"{t} = {expr}"


def _decode_field(f, i, ns, t):
    """Lines reading field ``f`` (number ``i``) into the target ``t`` (an expression)."""
    k = f.kind
    out = [f"_f = {i}"]
    if k in _FIXED:
        code, size = _FIXED[k]
        ns[f"S{i}"] = struct.Struct("<" + code).unpack_from
        out += [
            f"if end - pos < {size}: raise P.truncated(pos, {size}, end - pos)",
            _store(f, i, f"S{i}(buf, pos)[0]", ns, t),
            f"pos += {size}",
        ]
    elif k == PL.BOOL:
        out += [
            "if end - pos < 4: raise P.truncated(pos, 4, end - pos)",
            "_c = unpack_I(buf, pos)[0]",
            f"if _c == BT: {t} = True",
            f"elif _c == BF: {t} = False",
            "else: raise P.bad_bool(pos, _c)",
            "pos += 4",
        ]
    elif k in (PL.BYTES, PL.STRING):
        conv = ".decode('utf-8', 'replace')" if k == PL.STRING else ""
        method = "read_string" if k == PL.STRING else "read_bytes"
        out += [
            # Short values from a bytes buffer inline; everything else via the Reader.
            "_n = buf[pos] if pos < end else 255",
            "if _n < 254 and type(buf) is bytes_t and end - pos >= ((_n + 4) & -4):",
            f"    {t} = buf[pos + 1 : pos + 1 + _n]{conv}",
            "    pos += (_n + 4) & -4",
            "else:",
            f"    r._pos = pos; {t} = r.{method}(); pos = r._pos",
        ]
    elif k in _READER_METHOD:
        out.append(f"r._pos = pos; {t} = r.{_READER_METHOD[k]}(); pos = r._pos")
    elif k == PL.OBJECT and f.type.boxed.ids is not None:
        # Known ids of this type go straight to their decoder; the rest (first sight,
        # gzip_packed, errors) through the generic path, which fills the fast table.
        ns[f"B{i}"] = f.type.boxed
        ns[f"D{i}"] = _fast_table(f.type.boxed)
        out += [
            "if end - pos >= 4 and (_d := D%d.get(unpack_I(buf, pos)[0])) is not None:" % i,
            f"    r._pos = pos + 4; {t} = _d(r, depth + 1); pos = r._pos",
            "else:",
            f"    r._pos = pos; {t} = read_boxed(r, B{i}, depth); pos = r._pos",
        ]
    else:
        ns[f"T{i}"] = f.type
        out.append(f"r._pos = pos; {t} = read(r, T{i}, depth); pos = r._pos")
    return out


def _fast_table(boxed):
    table = getattr(boxed, "_py", None)
    if table is None:
        table = boxed._py = {}
    return table


def make_encoder(plan, engine):
    """A function ``enc(w, obj, depth)`` writing ``obj``'s fields (not its id)."""
    ns = {
        "TLError": TLError, "P": P, "PL": PL, "PLAN": plan, "PLAN_NAME": plan.name,
        "NAMES": tuple("." + f.name for f in plan.fields), "write": engine._write,
        "write_boxed": engine._write_boxed, "values_of": engine._values,
        "MAXD": PL.DEFAULT_MAX_DEPTH, "int_t": int, "float_t": float, "str_t": str,
        "BT": struct.pack("<I", P.BOOL_TRUE), "BF": struct.pack("<I", P.BOOL_FALSE),
        "pack_i": struct.Struct("<i").pack, "pack_I": struct.Struct("<I").pack,
        "pack_q": struct.Struct("<q").pack, "pack_d": struct.Struct("<d").pack,
    }
    fields = plan.fields
    stored = [(i, f) for i, f in enumerate(fields) if f.slot >= 0]
    body = []
    emit = body.append
    if stored:
        names = ", ".join(f"a{i}" for i, _ in stored)
        getter = ", ".join(f"obj.{f.attr}" for _, f in stored)
        emit("try:")
        emit(f"    {names}, = ({getter},)" if len(stored) == 1 else f"    {names} = {getter}")
        emit("except AttributeError:")
        emit("    values_of(PLAN, obj); raise")
        for i, f in stored:
            if f.falsy:  # a host's rule for a falsy value (as _codec_py._values)
                emit(f"if a{i} is not None and not a{i}:")
                emit(f"    a{i} = None" if f.falsy == PL.FALSY_ABSENT
                     else f"    raise P.falsy_refused({f.name!r})")
    # flags words from presence, then shared-bit groups: the same order as flags_from_values
    for w in plan.flag_fields:
        # A stored word (the "ton" dialect) starts from the caller's value.
        emit(f"fl{w} = PL.kept_word(PLAN, {w}, a{w})" if fields[w].slot >= 0 else f"fl{w} = 0")
    lenient = plan.lenient
    for i, f in enumerate(fields):
        if f.flag < 0:
            continue
        mask = 1 << f.bit
        if lenient and f.kind == PL.BOOL:  # present unless None
            emit(f"if a{i} is not None: fl{f.flag} |= {mask}")
        elif lenient:  # present unless None or False
            emit(f"if a{i} is not None and a{i} is not False: fl{f.flag} |= {mask}")
            emit(f"else: a{i} = None")
        elif f.kind == PL.TRUE:
            emit(f"if a{i} is True: fl{f.flag} |= {mask}")
            emit(f"elif a{i} is not None and a{i} is not False:")
            emit(f"    raise P.wrong_type('true', 'bool', a{i})._add_path(NAMES[{i}])")
        else:
            emit(f"if a{i} is not None: fl{f.flag} |= {mask}")
    for flag, bit, data, names in plan.shared_groups:
        cond = " or ".join(f"a{d} is None" for d in data)
        emit(f"if fl{flag} & {1 << bit} and ({cond}):")
        missing = "[" + ", ".join(f"{fields[d].name!r}" for d in data) + "]"
        present = "[" + ", ".join(f"a{d}" for d in data) + "]"
        emit(f"    raise PL.shared_bit_error(PLAN, {flag}, {bit}, {names!r}, "
             f"[m for m, v in zip({missing}, {present}) if v is None])")
    for i, f in enumerate(fields):
        lines = _encode_field(f, i, ns, lenient)
        if not lines:
            continue
        if f.flag >= 0:
            emit(f"if fl{f.flag} & {1 << f.bit}:")
            body.extend("    " + line for line in lines)
        else:
            body.extend(lines)
    return _function(ns, "enc(w, obj, depth)", [
        "if depth > MAXD:",
        "    raise P.too_deep_encode(MAXD)",
        "out = w._out",
    ], body, [])


def _encode_field(f, i, ns, lenient=False):
    k = f.kind
    a = f"a{i}"
    if k == PL.TRUE:
        return []
    if k == PL.FLAGS:
        return [f"out += pack_I(fl{i})"]
    out = [f"_f = {i}"]
    if f.convert is not None:
        ns[f"C{i}"] = f.convert.encode
        out.append(f"{a} = C{i}({a})")
    if lenient and k == PL.BOOL:
        return out + [f"out += BT if {a} else BF"]
    if lenient and k == PL.BYTES:
        out.append(f"if type({a}) is str_t: {a} = P.utf8_of({a})")
    if k in _INT_LIMITS:
        _, lo, hi = _INT_LIMITS[k]
        pack = {PL.INT: "pack_i", PL.LONG: "pack_q", PL.UINT: "pack_I"}[k]
        out += [
            f"if type({a}) is int_t and {lo} <= {a} <= {hi}: out += {pack}({a})",
            f"else: w.{_WRITER_METHOD[k]}({a})",
        ]
    elif k == PL.DOUBLE:
        out += [f"if type({a}) is float_t: out += pack_d({a})", f"else: w.write_double({a})"]
    elif k == PL.BOOL:
        out += [f"if {a} is True: out += BT", f"elif {a} is False: out += BF",
                f"else: w.write_bool({a})"]
    elif k in _WRITER_METHOD:
        out.append(f"w.{_WRITER_METHOD[k]}({a})")
    elif k == PL.OBJECT:
        boxed = f.type.boxed
        if boxed._py_enc is None:
            boxed._py_enc = {}
        ns[f"B{i}"] = boxed
        ns[f"E{i}"] = boxed._py_enc
        out += [
            f"_e = E{i}.get(type({a}))",
            f"if _e is not None: out += _e[0]; _e[1](w, {a}, depth + 1)",
            f"else: write_boxed(w, B{i}, {a}, depth)",
        ]
    else:
        ns[f"T{i}"] = f.type
        out.append(f"write(w, T{i}, {a}, depth)")
    return out
