"""The fuzz targets and their oracle, importable without atheris.

``run.py`` drives these under atheris; ``tests/test_fuzz_corpus.py`` replays the corpus
through them. Each target takes one input (bytes) and returns normally, or raises:

- ``Disagreement`` (an AssertionError) when the oracle is broken: the Cython and the pure
  engine give different values or different errors (class, message, offset, path), or a
  decoded value does not re-encode to the bytes it came from (``gzip_packed`` aside);
- anything that is not a ``TLError``, which is a bug by itself (tlfast promises that every
  failure on bad data is a TLError).

Per-input time and memory are bounded by the fuzzer's options (``run.py`` sets them), not
here, so that replaying a corpus in the test suite stays cheap.
"""

import struct
import warnings

import tlfast
from tlfast import _backend
from tlfast import _plans as PL
from tlfast._codec import default_codec
from tlfast.errors import TLError

# Engine modules, not names: resolving a name on every call costs an import lookup.
CYTHON = _backend.load("cython")  # ImportError if the extension is missing: it is the point
PYTHON = _backend.load("python")
# Small inflation cap: the engines' own tests cover the 16 MiB default; here it would only
# slow every input that carries a valid gzip stream.
MAX_INFLATE = 1 << 20
GZIP_ID = struct.pack("<I", 0x3072CFA1)



class Disagreement(AssertionError):
    """The oracle does not hold for this input."""


def outcome(call, engine):
    """``("ok", value)`` or ``("error", class, message, offset, path)``; other exceptions
    propagate (they are findings)."""
    try:
        return ("ok", call(engine))
    except TLError as exc:
        return ("error", type(exc).__name__, str(exc), getattr(exc, "offset", None), exc.path)


def canonical(outcome_):
    if outcome_[0] != "ok":
        return outcome_
    value = outcome_[1]
    # repr spells every field recursively; it also makes NaN equal to NaN and -0.0 differ
    # from 0.0, which == would not.
    return ("ok", type(value).__module__, type(value).__qualname__, repr(value))


def agree(call, what):
    """Run ``call(engine)`` on both engines; they must agree. Returns the outcome."""
    cy = outcome(call, CYTHON)
    py = outcome(call, PYTHON)
    if canonical(cy) != canonical(py):
        raise Disagreement(f"{what}: engines disagree\n  cython: {canonical(cy)!r}\n  python: {canonical(py)!r}")
    return cy


def reencodes(codec, value, type_, data, what):
    """Both engines encode ``value`` back to ``data``. Bytes that the decoder accepts but
    does not keep may change: the compressed bytes of gzip_packed, padding bytes (skipped
    unchecked, written as zeros), invalid UTF-8 (decoded with U+FFFD), flag bits no field
    uses (flags words are derived). Then the new bytes must be canonical: they decode to
    the same value and encode to themselves."""
    res = agree(lambda e: codec.dumps(value, type_, e), what + " re-encode")
    if res[0] != "ok":
        raise Disagreement(f"{what}: a decoded value does not encode: {res[2]}")
    out = res[1]
    if out == bytes(data):
        return
    again = agree(lambda e: codec.loads(out, type_, None, e, PL.DEFAULT_MAX_DEPTH, MAX_INFLATE),
                  what + " decode of the re-encoded bytes")
    if canonical(again) == canonical(("ok", value)):
        twice = agree(lambda e: codec.dumps(again[1], type_, e), what + " second re-encode")
        if twice == ("ok", out):
            return
    raise Disagreement(f"{what}: re-encoded bytes differ\n  in:  {bytes(data).hex()}\n  out: {out.hex()}")


def buffer_of(selector, payload):
    """The input as bytes, bytearray or memoryview (all are accepted without a copy)."""
    return (bytes, bytearray, memoryview)[selector % 3](payload)


# --- target: loads with the bundled schemas, plain or as the result of a request ------------
def _requests():
    from tlfast import api, mtproto

    return [
        None,  # a boxed Object
        api.messages.receivedQueue(max_qts=5),  # Vector<long>: bare result
        api.contacts.getContactIDs(hash=0),  # Vector<int>
        api.users.getUsers(id=[]),  # Vector<User>
        api.help.getConfig(),
        api.messages.getHistory(peer=api.inputPeerEmpty(), offset_id=0, offset_date=0,
                                add_offset=0, limit=1, max_id=0, min_id=0, hash=0),
        api.upload.getFile(location=api.inputPeerPhotoFileLocationLegacy(
            peer=api.inputPeerEmpty(), volume_id=0, local_id=0), offset=0, limit=1),
        api.invokeWithLayer(layer=228, query=api.help.getNearestDc()),  # generic X
        mtproto.req_pq_multi(nonce=1),
        mtproto.ping(ping_id=1),
    ]


REQUESTS = _requests()


def fuzz_loads(data):
    """Byte 0 picks the request (or none), the buffer type and the depth cap; the rest is
    the TL data."""
    if not data:
        return
    sel, payload = data[0], data[1:]
    request = REQUESTS[sel % len(REQUESTS)]
    buf = buffer_of(sel // len(REQUESTS), payload)
    max_depth = 4 if sel >= 128 else PL.DEFAULT_MAX_DEPTH
    codec = default_codec()
    res = agree(lambda e: codec.loads(buf, None, request, e, max_depth, MAX_INFLATE), "loads")
    if res[0] != "ok":
        return
    if request is None:
        type_ = None
    elif payload[:4] in (b"\x01\x6d\x5c\xf3",):  # rpc_result: the value is the inner result
        return
    elif payload[:4] == b"\x19\xca\x44\x21":  # rpc_error: returned as the object
        type_ = None
    else:
        type_ = codec.primary.result_type(request)
    reencodes(codec, res[1], type_, payload, "loads")


# --- target: loads of Vector<...> and other type expressions ------------------------------
TYPES = [
    "Vector<long>", "Vector<int>", "Vector<double>", "Vector<string>", "Vector<bytes>",
    "Vector<Bool>", "Vector<User>", "Vector<Vector<int>>", "Vector<Object>", "Vector<#>",
    "vector<long>", "vector<int>", "%Vector<long>", "Vector<%DataJSON>", "vector<%Config>",
    "int", "long", "int128", "int256", "double", "string", "bytes", "Bool", "%Bool", "true",
    "#", "Object", "User", "Message", "%Config", "%DataJSON", "messages.Messages",
    "MessageMedia", "Updates", "JSONValue", "Vector<JSONValue>", "InputPeer",
    "MsgsAck", "%MsgsAck", "Vector<%MsgsAck>", "ResPQ", "RpcResult",
]


def fuzz_types(data):
    """Byte 0 picks a type expression from TYPES (modulo 64; past the list, the expression
    is the text up to the first NUL) and the buffer type; the rest is the TL data."""
    if not data:
        return
    sel, rest = data[0], data[1:]
    if sel % 64 < len(TYPES):
        type_, payload = TYPES[sel % 64], rest
    else:
        text, _, payload = rest.partition(b"\0")
        type_ = text.decode("latin-1")
    codec = default_codec()
    try:
        codec.type_plan(type_)
    except TLError:
        return  # an expression the schema does not define (shared code, one answer)
    buf = buffer_of(sel, payload)
    res = agree(lambda e: codec.loads(buf, type_, None, e, PL.DEFAULT_MAX_DEPTH, MAX_INFLATE), "loads " + type_)
    if res[0] == "ok":
        reencodes(codec, res[1], type_, payload, "loads " + type_)


# --- target: Schema.from_text on mutated TL text, then decoding with that schema ----------
MAX_PLANS = 64


def fuzz_schema(data):
    """The TL text up to the first NUL (UTF-8, errors replaced); after it, bytes to decode
    with the schema that text defines."""
    text, _, payload = data.partition(b"\0")
    try:
        with warnings.catch_warnings():  # fuzzed ids rarely match their CRC32
            warnings.simplefilter("ignore", tlfast.TLSchemaWarning)
            schema = tlfast.Schema.from_text(text.decode("utf-8", "replace"))
        for i, d in enumerate(schema):
            (d.name, d.id, d.type, d.is_function, str(d))
            if i < MAX_PLANS:
                schema._plan(d.name)
        schema.id_mismatches, schema.layer
    except TLError:
        return
    codec = schema._codec()
    res = agree(lambda e: codec.loads(payload, None, None, e, PL.DEFAULT_MAX_DEPTH, MAX_INFLATE), "schema loads")
    if res[0] == "ok":
        reencodes(codec, res[1], None, payload, "schema loads")


# --- target: from_dict + dumps on structures built from the fuzz input ---------------------
class _Source:
    """Reads choices from the input; past its end every choice is 0 (short inputs make
    small structures)."""

    __slots__ = ("data", "pos")

    def __init__(self, data):
        self.data = data
        self.pos = 0

    def byte(self):
        if self.pos >= len(self.data):
            return 0
        self.pos += 1
        return self.data[self.pos - 1]

    def take(self, n):
        chunk = self.data[self.pos:self.pos + n]
        self.pos += n
        return chunk

    def int_(self, nbytes, signed=True):
        return int.from_bytes(self.take(nbytes).ljust(nbytes, b"\0"), "little", signed=signed)


_INT_EDGES = [0, 1, -1, 2**31 - 1, -2**31, 2**31, -2**31 - 1, 2**32 - 1, 2**32, 2**63 - 1,
              -2**63, 2**63, -2**63 - 1, 2**127 - 1, -2**127, 2**127, 2**255 - 1, -2**256]
_NAMES = None


def _names():
    global _NAMES
    if _NAMES is None:
        codec = default_codec()
        _NAMES = sorted({n for s in codec.schemas for n in s._records})
    return _NAMES


def _any_value(src, depth):
    """A value of no particular type: the wrong-type paths of the encoder."""
    k = src.byte() % 10
    if k == 0:
        return None
    if k == 1:
        return _INT_EDGES[src.byte() % len(_INT_EDGES)]
    if k == 2:
        return bool(src.byte() & 1)
    if k == 3:
        return src.take(src.byte() % 8)
    if k == 4:
        return src.take(src.byte() % 8).decode("utf-8", "surrogateescape")
    if k == 5:
        return struct.unpack("<d", src.take(8).ljust(8, b"\0"))[0]
    if k == 6 and depth < 4:
        return [_any_value(src, depth + 1) for _ in range(src.byte() % 4)]
    if k == 7 and depth < 4:
        return _ctor_dict(src, _names()[src.int_(2, False) % len(_names())], depth + 1)
    if k == 8:
        return src.take(src.byte() % 8).hex()
    return src.int_(4)


def _value(src, tp, depth):
    """A value for a field of type ``tp``: usually a well-typed one, sometimes anything."""
    sel = src.byte()
    if sel >= 240 or depth > 6:
        return _any_value(src, depth)
    k = tp.kind
    if k in (PL.INT, PL.UINT, PL.LONG, PL.BODY_LEN):
        size = 8 if k == PL.LONG else 4
        return _INT_EDGES[sel % len(_INT_EDGES)] if sel < 32 else src.int_(size, k != PL.UINT)
    if k in (PL.INT128, PL.INT256):
        return src.int_(16 if k == PL.INT128 else 32)
    if k == PL.DOUBLE:
        return struct.unpack("<d", src.take(8).ljust(8, b"\0"))[0]
    if k in (PL.BOOL, PL.TRUE):
        return bool(sel & 1)
    if k == PL.BYTES:
        raw = src.take(src.byte())
        return raw.hex() if sel & 1 else raw  # from_dict takes bytes as hex text too
    if k == PL.STRING:
        return src.take(src.byte()).decode("utf-8", "surrogateescape" if sel & 1 else "replace")
    if k in (PL.VECTOR, PL.BARE_VECTOR):
        return [_value(src, tp.elem, depth + 1) for _ in range(src.byte() % 5)]
    if k == PL.BARE:
        d = _ctor_dict(src, tp.ctor.name, depth + 1, plan=tp.ctor)
        if sel & 1:
            del d["_"]
        return d
    if k == PL.OBJECT:
        ids = tp.boxed.ids
        if ids and sel & 7:
            codec = default_codec()
            plan = codec.plan_by_id(sorted(ids)[src.byte() % len(ids)])
            return _ctor_dict(src, plan.name, depth + 1, plan=plan)
        return _ctor_dict(src, _names()[src.int_(2, False) % len(_names())], depth + 1)
    return _any_value(src, depth)


def _ctor_dict(src, name, depth, plan=None):
    plan = plan or default_codec().plan_by_name(name)
    d = {"_": name}
    for f in plan.fields:
        if f.slot < 0:
            continue
        presence = src.byte()
        if (f.flag >= 0 and presence & 1) or presence == 255:
            continue  # optional and left out, or a required field missing
        d[f.name] = _value(src, f.type, depth)
    if src.byte() == 255:
        d["no_such_field"] = 1
    return d


def fuzz_from_dict(data):
    """Bytes 0-1 pick the constructor or function; the rest drives the field values."""
    src = _Source(data)
    names = _names()
    d = _ctor_dict(src, names[src.int_(2, False) % len(names)], 0)
    codec = default_codec()
    try:
        obj = codec.from_dict(d)  # shared code: one answer
    except TLError:
        return
    res = agree(lambda e: codec.dumps(obj, None, e), "dumps")
    if res[0] != "ok":
        return
    encoded = res[1]
    back = agree(lambda e: codec.loads(encoded, None, None, e, PL.DEFAULT_MAX_DEPTH, MAX_INFLATE), "loads of dumps")
    if back[0] != "ok":
        if GZIP_ID in encoded:
            return  # packed_data is opaque bytes to the encoder; the decoder inflates it
        raise Disagreement(f"dumps made bytes that do not decode: {back[2]}\n  {encoded.hex()}")
    reencodes(codec, back[1], None, encoded, "from_dict")


TARGETS = {
    "loads": fuzz_loads,
    "types": fuzz_types,
    "schema": fuzz_schema,
    "from_dict": fuzz_from_dict,
}


def warm_up():
    """Load the bundled schemas before fuzzing starts."""
    _names()
