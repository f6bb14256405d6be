"""The Cython object engine against its specification, the pure-Python one.

Every constructor and function of the bundled API and MTProto schemas is built with
deterministic values (optional fields all absent, then all present); both engines must
encode it to the same bytes and decode those bytes to equal objects, in either direction.
Truncations and corruptions of a few hundred of those encodings must fail the same way on
both: same exception class, same str() (message and path), same offset. Encoding errors
(wrong types, out of range, unset slots, shared flag bits, depth) are compared the same way.
"""

import gzip
import random

import pytest

import tlfast
from tlfast import TLDecodeError, TLEncodeError, TLError
from tlfast import _plans as PL
from tlfast._codec import default_codec

SCHEMAS = ("api", "mtproto")
P = tlfast._codec.P
# Decoded as something else than an instance: bool, the inner object.
SPECIAL_IDS = frozenset({P.BOOL_TRUE, P.BOOL_FALSE, P.GZIP_PACKED})


@pytest.fixture(scope="module")
def py(engines):
    return engines[0]


@pytest.fixture(scope="module")
def cy(engines):
    # conftest's: fails (does not skip) without the extension, unless pure was asked for.
    return engines[1]


# --------------------------------------------------------------------------- values

class Builder:
    """Deterministic instances of a schema's constructors: every field kind gets a simple
    value that depends on the field's position, so fields cannot be swapped unnoticed."""

    def __init__(self, schema):
        self.schema = schema
        names = [d.name for d in schema]
        self.ctors = [n for n in names if not schema[n].is_function]
        self.functions = [n for n in names if schema[n].is_function]
        self._plans = {}

    def plan(self, name):
        p = self._plans.get(name)
        if p is None:
            p = self._plans[name] = self.schema._plan(name)
        return p

    def weight(self, name):
        """How many objects a constructor needs at the least (to end recursion)."""
        return sum(1 for f in self.plan(name).fields
                   if f.flag < 0 and f.kind in (PL.OBJECT, PL.BARE))

    def simplest(self, names):
        return min(names, key=lambda n: (self.weight(n), len(self.plan(n).fields), n))

    def pick(self, names, depth, seed):
        names = sorted(names)
        if depth >= 3:
            return self.simplest(names)
        return names[seed % len(names)]

    def build(self, name, present=True, depth=0, seed=0):
        if depth > 25:
            raise RecursionError(f"cannot end the recursion at {name}")
        plan = self.plan(name)
        kwargs = {}
        for i, f in enumerate(plan.fields):
            if f.slot < 0:
                continue
            if f.flag >= 0 and not present:
                continue
            if f.kind == PL.TRUE:
                kwargs[f.attr] = True
                continue
            kwargs[f.attr] = self.value(f.type, present, depth + 1, seed + 7 * i + 1)
        return plan.cls(**kwargs)

    def value(self, tp, present, depth, seed):
        k = tp.kind
        if k == PL.INT:
            return -1000 - seed if seed % 2 else 1000 + seed
        if k == PL.UINT:
            return 4_000_000_000 - seed
        if k == PL.LONG:
            return -(1 << 40) - seed if seed % 3 else (1 << 62) + seed
        if k == PL.INT128:
            return (1 << 126) - seed if seed % 2 else -(1 << 100) - seed
        if k == PL.INT256:
            return -(1 << 255) + seed if seed % 2 else (1 << 200) + seed
        if k == PL.DOUBLE:
            return seed + 0.25
        if k == PL.BOOL:
            return seed % 2 == 0
        if k == PL.BYTES:
            return bytes(range(seed % 7)) if seed % 11 else bytes(300)
        if k == PL.STRING:
            return "é✓" * (seed % 4) + "x"
        if k == PL.BARE:
            return self.build(tp.ctor.name, present, depth, seed)
        if k in (PL.VECTOR, PL.BARE_VECTOR):
            n = 2 if depth < 3 else (1 if depth < 6 and tp.elem.kind != PL.OBJECT else 0)
            return [self.value(tp.elem, present, depth + 1, seed + j) for j in range(n)]
        if k == PL.OBJECT:
            boxed = tp.boxed
            if boxed.ids is None:
                pool = self.functions if boxed.functions_only else self.ctors
                pool = [n for n in pool if self.plan(n).id not in SPECIAL_IDS]
                return self.build(self.simplest(pool), present, depth, seed)
            names = [self.schema[i].name for i in boxed.ids if i in self.schema]
            return self.build(self.pick(names, depth, seed), present, depth, seed)
        raise AssertionError(f"no value for kind {k}")


def all_cases():
    """(schema name, definition name, present) for every constructor and function."""
    out = []
    for sname in SCHEMAS:
        schema = getattr(tlfast.schemas, sname)
        for d in schema:
            out.append((sname, d.name, False))
            out.append((sname, d.name, True))
    return out


_builders = {}


def builder(sname):
    b = _builders.get(sname)
    if b is None:
        b = _builders[sname] = Builder(getattr(tlfast.schemas, sname))
    return b


def build_case(sname, name, present, seed=0):
    b = builder(sname)
    obj = b.build(name, present, seed=seed)
    expected = obj
    if b.plan(name).id in (P.BOOL_TRUE, P.BOOL_FALSE):
        expected = b.plan(name).id == P.BOOL_TRUE
    elif b.plan(name).id == P.GZIP_PACKED:
        # gzip_packed is inflated on decode: pack a real object, expect it back.
        inner = b.build(b.simplest(b.ctors), True)
        obj = b.plan(name).cls(packed_data=gzip.compress(b.schema.dumps(inner, backend="python"), mtime=0))
        expected = inner
    return b.schema, obj, expected


def outcome(fn):
    """The result of ``fn()`` or a comparable description of the TLError it raised. Any
    other exception (struct.error, IndexError, ...) propagates: two engines leaking the
    same non-TL error agree, and are both wrong."""
    try:
        return ("ok", fn())
    except TLError as exc:
        return ("error", type(exc), str(exc), getattr(exc, "offset", None), exc.path)


def same_failure(a, b):
    assert a[0] == b[0] == "error", (a, b)
    assert a == b


# --------------------------------------------------------------------------- round trips

CASES = all_cases()


@pytest.mark.parametrize("sname", SCHEMAS)
def test_every_definition_round_trips_identically(py, cy, sname):
    schema = getattr(tlfast.schemas, sname)
    count = 0
    for s, name, present in CASES:
        if s != sname:
            continue
        schema, obj, expected = build_case(s, name, present)
        data_py = schema.dumps(obj, backend=py)
        data_cy = schema.dumps(obj, backend=cy)
        assert data_cy == data_py, (name, present)
        for dec, enc in ((cy, py), (py, cy), (cy, cy)):
            back = schema.loads(data_py, backend=dec)
            assert type(back) is type(expected), (name, present)
            assert back == expected, (name, present)
            if expected is obj:
                assert schema.dumps(back, backend=enc) == data_py
        count += 1
    assert count == 2 * len(schema)


def test_round_trips_on_each_backend(backend):
    # conftest's fixture: the same checks whichever engine is given, cython and python.
    codec = default_codec()
    for sname, name, present in CASES[::7]:
        schema, obj, expected = build_case(sname, name, present, seed=1)
        data = schema.dumps(obj, backend=backend)
        assert schema.loads(data, backend=backend) == expected, name
        assert codec.loads(codec.dumps(obj, None, backend), None, None, backend) == expected


def test_bundled_codec_and_input_types(py, cy):
    codec = default_codec()
    for sname, name, present in CASES[::23]:
        schema, obj, expected = build_case(sname, name, present, seed=3)
        data = codec.dumps(obj, None, py)
        assert codec.dumps(obj, None, cy) == data
        for buf in (data, bytearray(data), memoryview(data), memoryview(b"--" + data)[2:]):
            assert codec.loads(buf, None, None, cy) == expected, name


# --------------------------------------------------------------------------- decode errors

def _sample_encodings(step):
    out = []
    for sname, name, present in CASES[::step]:
        schema, obj, _ = build_case(sname, name, present, seed=5)
        out.append((schema, name, schema.dumps(obj, backend="python")))
    return out


def test_every_prefix_fails_identically(py, cy):
    samples = _sample_encodings(17)
    assert len(samples) >= 250
    checked = 0
    for schema, name, data in samples:
        for n in range(len(data)):
            prefix = data[:n]
            a = outcome(lambda: schema.loads(prefix, backend=py))
            b = outcome(lambda: schema.loads(prefix, backend=cy))
            assert a[0] == "error" and a[1] is not None
            assert issubclass(a[1], tlfast.TLDecodeError), (name, n, a)
            assert a == b, (name, n)
            checked += 1
    assert checked > 10_000


def test_corruptions_fail_or_succeed_identically(py, cy):
    rng = random.Random(228)
    for schema, name, data in _sample_encodings(29):
        for _ in range(12):
            buf = bytearray(data)
            for _ in range(rng.randint(1, 3)):
                if buf:
                    buf[rng.randrange(len(buf))] = rng.randrange(256)
            if rng.random() < 0.3:
                buf += bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
            blob = bytes(buf)
            a = outcome(lambda: schema.loads(blob, backend=py))
            b = outcome(lambda: schema.loads(blob, backend=cy))
            if a[0] == "ok":
                assert b[0] == "ok", (name, blob.hex(), b)
                # NaN doubles defeat ==: compare what they encode back to.
                assert outcome(lambda: schema.dumps(a[1], backend=py)) == outcome(
                    lambda: schema.dumps(b[1], backend=py)), name
            else:
                assert a == b, (name, blob.hex())


def _u32(v):
    return (v & 0xFFFFFFFF).to_bytes(4, "little")


def _int(v):
    return v.to_bytes(4, "little", signed=True)


def test_decode_error_cases(py, cy):
    # The messages are written out here, not taken from either engine: both build their
    # errors with the same tlfast._primitives constructors, so agreeing proves little.
    api = tlfast.schemas.api
    codec = default_codec()
    peer_bytes = bytes(api.api.peerUser(user_id=5))  # 12 bytes: id, user_id:long
    vec = _u32(PL_VECTOR)
    unknown = tlfast.UnknownConstructorError
    short = tlfast.errors.TLTruncatedError  # a TLDecodeError: more data may complete it
    cases = [
        (b"", None, short, "unexpected end of data: need 4 bytes, 0 left at offset 0"),
        (_u32(0xDEADBEEF), None, unknown, "unknown constructor 0xdeadbeef for Object at offset 0"),
        (peer_bytes + b"\0", None, TLDecodeError, "1 trailing bytes after the value at offset 12"),
        (_u32(api["inputPeerEmpty"].id), "Peer", TLDecodeError,
         "constructor inputPeerEmpty#7f3b18ea is not a Peer at offset 0"),
        (_u32(0xDEADBEEF), "Peer", unknown, "unknown constructor 0xdeadbeef for Peer at offset 0"),
        (_u32(0x12345678) + _int(1), "Vector<long>", TLDecodeError,
         "expected Vector (0x1cb5c415), got constructor 0x12345678 at offset 0"),
        (vec + _int(-1), "Vector<long>", TLDecodeError, "negative vector count -1 at offset 4"),
        (vec + _int(3) + bytes(16), "Vector<long>", short,
         "vector count 3 needs at least 24 bytes, 16 left at offset 4"),
        (vec + _int(2) + peer_bytes, "Vector<Peer>", short,
         "[1]: unexpected end of data: need 4 bytes, 0 left at offset 20"),
        (vec + _int(2) + peer_bytes + _u32(0xDEADBEEF), "Vector<Peer>", unknown,
         "[1]: unknown constructor 0xdeadbeef for Peer at offset 20"),
        (_u32(0x12345678), "Bool", TLDecodeError,
         "expected Bool (boolTrue or boolFalse), got constructor 0x12345678 at offset 0"),
        (b"\xff" + bytes(7), "string", TLDecodeError, "invalid length prefix 0xff at offset 0"),
        (b"\xfe\x05\x00\x00" + bytes(8), "bytes", TLDecodeError,
         "non-canonical length prefix: 0xfe form for length 5 at offset 0"),
        (vec + _int(1) + _u32(0xDEADBEEF), None, unknown,
         "[0]: unknown constructor 0xdeadbeef for Object at offset 8"),
        (_u32(api["invokeWithLayer"].id) + _int(228) + peer_bytes, None, TLDecodeError,
         "invokeWithLayer.query: constructor peerUser#59511722 is not a function at offset 8"),
        (bytes(3), "int128", short, "unexpected end of data: need 16 bytes, 3 left at offset 0"),
    ]
    for data, type_, cls, message in cases:
        a = outcome(lambda: codec.loads(data, type_, None, py))
        b = outcome(lambda: codec.loads(data, type_, None, cy))
        assert a[:3] == ("error", cls, message), (data.hex(), type_, a)
        same_failure(a, b)


PL_VECTOR = 0x1CB5C415


def _message(body_bytes, length=None):
    msg_id, seqno = (1 << 40) + 4, 3
    length = len(body_bytes) if length is None else length
    return (msg_id.to_bytes(8, "little") + _int(seqno) + _int(length) + body_bytes)


def test_message_body_length(py, cy):
    mt = tlfast.schemas.mtproto
    container_id = _u32(mt["msg_container"].id)
    pong = bytes(mt.api.pong(msg_id=1, ping_id=2))
    good = container_id + _int(1) + _message(pong)
    a = mt.loads(good, backend=py)
    assert mt.loads(good, backend=cy) == a
    assert mt.dumps(a, backend=cy) == mt.dumps(a, backend=py) == good
    for data in (
        container_id + _int(1) + _message(pong, len(pong) + 4) + bytes(4),  # took less
        container_id + _int(1) + _message(pong, len(pong) - 4),             # took more
        container_id + _int(1) + _message(pong, -1),
        container_id + _int(1) + _message(pong, 1000),
        container_id + _int(2) + _message(pong) + _message(pong[:-2]),
    ):
        same_failure(outcome(lambda: mt.loads(data, backend=py)),
                     outcome(lambda: mt.loads(data, backend=cy)))


def _gzip_packed(payload):
    """gzip_packed's TL bytes, built by hand around Python's own gzip (not tlfast's)."""
    data = gzip.compress(payload, mtime=0) if isinstance(payload, bytes) else payload.compressed
    assert len(data) < 254
    padded = bytes([len(data)]) + data + bytes(-(len(data) + 1) % 4)
    return _u32(P.GZIP_PACKED) + padded


class _Raw:
    def __init__(self, compressed):
        self.compressed = compressed


def test_gzip_packed(py, cy):
    # Both engines inflate with the same tlfast._primitives.inflate: the expectations are
    # written here, the compressed data comes from Python's gzip module.
    api = tlfast.schemas.api
    mt = tlfast.schemas.mtproto
    codec = default_codec()
    peer = api.api.peerUser(user_id=77)
    data = _gzip_packed(bytes(peer))
    assert codec.dumps(mt.api.gzip_packed(packed_data=gzip.compress(bytes(peer), mtime=0)),
                       None, py) == data
    for engine in (py, cy):
        assert codec.loads(data, None, None, engine) == peer
        assert codec.loads(data, "Peer", None, engine) == peer
    # a gzip_packed field value and inside a vector
    vec = _u32(PL_VECTOR) + _int(2) + data + data
    for engine in (py, cy):
        assert codec.loads(vec, "Vector<Peer>", None, engine) == [peer, peer]
    rdata = _u32(0xF35C6D01) + (9).to_bytes(8, "little") + data  # rpc_result, req_msg_id=9
    for engine in (py, cy):
        assert codec.loads(rdata, None, None, engine) == mt.api.rpc_result(req_msg_id=9, result=peer)
    beyond = "gzip_packed inflates beyond the limit of 4 bytes at offset 0"
    not_bool = "expected Bool (boolTrue or boolFalse), got constructor 0x3072cfa1 at offset 0"
    truncated = "gzip_packed: compressed data is truncated at offset 0"
    # blob -> expected str(error) (or value) for: any Object, Peer, any Object with
    # max_inflate=4, Bool (which never takes gzip_packed)
    cases = [
        (data, [peer, peer, beyond, not_bool]),
        (_gzip_packed(_Raw(b"not gzip at all")), ["gzip_packed: invalid compressed data ("] * 3 + [not_bool]),
        (_gzip_packed(bytes(peer) + bytes(4)),
         ["4 trailing bytes inside gzip_packed at offset 0"] * 2 + [beyond, not_bool]),
        (_gzip_packed(_Raw(gzip.compress(bytes(peer), mtime=0)[:-3])), [truncated, truncated, beyond, not_bool]),
        (_gzip_packed(_u32(0xDEADBEEF)), ["unknown constructor 0xdeadbeef for Object at offset 0",
                                          "unknown constructor 0xdeadbeef for Peer at offset 0",
                                          "unknown constructor 0xdeadbeef for Object at offset 0",
                                          not_bool]),
    ]
    for blob, expected in cases:
        for (type_, limit), want in zip(((None, 1 << 20), ("Peer", 1 << 20), (None, 4),
                                         ("Bool", 1 << 20)), expected):
            a = outcome(lambda: codec.loads(blob, type_, None, py, 64, limit))
            b = outcome(lambda: codec.loads(blob, type_, None, cy, 64, limit))
            assert a == b, (blob.hex(), type_, limit)
            if isinstance(want, str):
                assert a[0] == "error" and a[2].startswith(want), (blob.hex(), type_, limit, a)
            else:
                assert a == ("ok", want), (blob.hex(), type_, limit, a)


def test_object_positions_take_bool_and_vectors(py, cy):
    codec = default_codec()
    mt = tlfast.schemas.mtproto
    api = tlfast.schemas.api
    for value in (True, False, [], [True, api.api.peerUser(user_id=1), [False]]):
        for wrapped in (value, mt.api.rpc_result(req_msg_id=1, result=value)):
            data = codec.dumps(wrapped, None, py)
            assert codec.dumps(wrapped, None, cy) == data
            assert codec.loads(data, None, None, cy) == codec.loads(data, None, None, py) == wrapped


def test_depth_limits(py, cy):
    api = tlfast.schemas.api
    text = api.api.textPlain(text="x")
    for _ in range(70):
        text = api.api.textBold(text=text)
    for engine in (py, cy):
        with pytest.raises(TLEncodeError, match="nesting deeper than 64 levels"):
            api.dumps(text, backend=engine)
    same_failure(outcome(lambda: api.dumps(text, backend=py)),
                 outcome(lambda: api.dumps(text, backend=cy)))
    shallow = text
    for _ in range(10):
        shallow = shallow.text
    data = api.dumps(shallow, backend=py)  # 60 textBold around a textPlain: 61 levels
    assert data == _u32(0x6724ABC4) * 60 + bytes(api.api.textPlain(text="x"))
    assert api.dumps(shallow, backend=cy) == data
    for depth in (1, 5, 59, 60, 61, 64, 200):
        a = outcome(lambda: api.loads(data, backend=py, max_depth=depth))
        assert a == outcome(lambda: api.loads(data, backend=cy, max_depth=depth)), depth
        if depth >= 61:
            assert a == ("ok", shallow), depth
        else:  # object depth+1 starts at byte 4 * depth; its field is read from there on
            path = "textBold" + ".text" * depth
            assert a[1:] == (TLDecodeError, f"{path}: nesting deeper than {depth} levels at "
                             f"offset {4 * depth + 4}", 4 * depth + 4, path), depth
    # a bad setting is refused before any byte is read (ValueError, not a TLError)
    for depth in (0, 201, 2.5, float("inf"), True):
        for engine in (py, cy):
            with pytest.raises(ValueError, match="max_depth must be an int in 1..200") as info:
                api.loads(data, backend=engine, max_depth=depth)
            assert not isinstance(info.value, TLError)
    vtype = "Vector<Vector<Vector<long>>>"
    vdata = api.dumps([[[1]]], vtype, backend=py)
    for depth, want in ((1, "[0]: nesting deeper than 1 levels at offset 12"),
                        (2, "[0][0]: nesting deeper than 2 levels at offset 20"),
                        (3, [[[1]]]), (4, [[[1]]])):
        a = outcome(lambda: api.loads(vdata, vtype, backend=py, max_depth=depth))
        assert a == outcome(lambda: api.loads(vdata, vtype, backend=cy, max_depth=depth))
        assert (a[2] if a[0] == "error" else a[1]) == want, depth
    # a bare constructor is one level, as a boxed one is
    mt = tlfast.schemas.mtproto
    salt = mt.api.future_salt(valid_since=1, valid_until=2, salt=3)
    body = bytes(salt)[4:]
    for type_, data, depth, want in (
        ("%FutureSalt", body, 1, salt),
        ("vector<future_salt>", _int(1) + body, 2, [salt]),
        ("vector<future_salt>", _int(1) + body, 1, "[0]: nesting deeper than 1 levels at offset 4"),
    ):
        a = outcome(lambda: mt.loads(data, type_, backend=py, max_depth=depth))
        assert a == outcome(lambda: mt.loads(data, type_, backend=cy, max_depth=depth))
        assert (a[2] if a[0] == "error" else a[1]) == want, (type_, depth)


def test_type_expressions(py, cy):
    api = tlfast.schemas.api
    mt = tlfast.schemas.mtproto
    cases = [
        (api, [1, -2, 3], "Vector<int>"), (api, [1 << 40], "Vector<long>"),
        (api, [0.5, -1e300], "Vector<double>"), (api, [True, False], "Vector<Bool>"),
        (api, ["a", "é" * 300], "Vector<string>"), (api, [b"", bytes(254)], "Vector<bytes>"),
        (api, [1 << 100, -(1 << 127)], "Vector<int128>"), (api, [-(1 << 255)], "Vector<int256>"),
        (api, 5, "int"), (api, (1 << 63) - 1, "long"), (api, -(1 << 63), "long"), (api, "s", "string"), (api, True, "Bool"),
        (api, [[1], []], "Vector<Vector<long>>"), (api, api.api.peerUser(user_id=3), "Peer"),
        (api, [api.api.peerChat(chat_id=1)], "Vector<Peer>"),
        (mt, mt.api.future_salt(valid_since=1, valid_until=2, salt=3), "%FutureSalt"),
        (mt, [mt.api.future_salt(valid_since=1, valid_until=2, salt=3)], "vector<future_salt>"),
    ]
    for schema, value, type_ in cases:
        data = schema.dumps(value, type_, backend=py)
        assert schema.dumps(value, type_, backend=cy) == data, type_
        assert schema.loads(data, type_, backend=cy) == schema.loads(data, type_, backend=py), type_


def test_result_of(py, cy):
    # The unwrapping lives in tlfast._codec (shared): each case has its value written out.
    api = tlfast.schemas.api
    mt = tlfast.schemas.mtproto
    codec = default_codec()
    req = api.api.users.getUsers(id=[api.api.inputUserSelf()])  # -> Vector<User>
    req2 = api.api.invokeWithLayer(layer=228, query=api.api.messages.getMessagesViews(
        peer=api.api.inputPeerSelf(), id=[1], increment=False))
    views = api.api.messages.messageViews(views=[], chats=[], users=[])
    user = api.api.userEmpty(id=7)
    rpc_result = _u32(0xF35C6D01) + (1).to_bytes(8, "little")
    for request, body, want in (
        (api.api.contacts.getContactIDs(hash=0),
         _u32(PL_VECTOR) + _int(2) + _int(5) + _int(-6), [5, -6]),  # bare Vector<int>
        (req, _u32(PL_VECTOR) + _int(0), []),
        (req, _u32(PL_VECTOR) + _int(1) + bytes(user), [user]),
        (req2, bytes(views), views),  # invokeWithLayer: the result of the query inside
        (req, bytes(mt.api.rpc_error(error_code=400, error_message="BAD")),
         mt.api.rpc_error(error_code=400, error_message="BAD")),
        (req, rpc_result + _u32(PL_VECTOR) + _int(1) + bytes(user),
         mt.api.rpc_result(req_msg_id=1, result=[user])),
        (req, rpc_result + _gzip_packed(_u32(PL_VECTOR) + _int(1) + bytes(user)),
         mt.api.rpc_result(req_msg_id=1, result=[user])),
        (req, rpc_result + _u32(P.BOOL_TRUE),  # a Bool where Vector<User> was asked for
         "rpc_result.result: expected Vector (0x1cb5c415), got constructor 0x997275b5 at offset 12"),
    ):
        a = outcome(lambda: codec.loads(body, None, request, py))
        assert a == outcome(lambda: codec.loads(body, None, request, cy))
        if isinstance(want, str):
            assert a[:3] == ("error", TLDecodeError, want)
        else:
            assert a == ("ok", want) and type(a[1]) is type(want)


# --------------------------------------------------------------------------- encode errors

def _wrong_values(kind):
    base = [None, "x", 1.5, [], object(), True]
    extra = {
        PL.INT: [1 << 31, -(1 << 31) - 1], PL.UINT: [-1, 1 << 32], PL.LONG: [1 << 63],
        PL.INT128: [1 << 127], PL.INT256: [1 << 255], PL.DOUBLE: [10 ** 400, "1.0"],
        PL.BOOL: [1, 0], PL.BYTES: ["str", bytes(1 << 24)], PL.STRING: [b"\xff" * 3, "\ud800", 5],
        PL.TRUE: [1, "yes"], PL.VECTOR: [(1, 2), "ab", [None], [object()]],
        PL.BARE_VECTOR: [[None]], PL.OBJECT: [[object()], 5],
    }
    return base + extra.get(kind, [])


_INT_RANGES = {PL.INT: (-(1 << 31), (1 << 31) - 1), PL.UINT: (0, (1 << 32) - 1),
               PL.LONG: (-(1 << 63), (1 << 63) - 1), PL.INT128: (-(1 << 127), (1 << 127) - 1),
               PL.INT256: (-(1 << 255), (1 << 255) - 1)}


def _accepts(tp, v):
    """Whether a value is valid at a position of TypePlan ``tp``, by DESIGN.md §3's rules
    written out here (the oracle for the encode-error sweep; no tlfast code involved)."""
    k = tp.kind
    if k in _INT_RANGES:
        lo, hi = _INT_RANGES[k]
        return isinstance(v, int) and not isinstance(v, bool) and lo <= v <= hi
    if k == PL.DOUBLE:  # ints are widened, unless too large for a double
        return (isinstance(v, float) or (isinstance(v, int) and not isinstance(v, bool)
                                          and abs(v) < 2 ** 1024))
    if k == PL.BOOL:
        return v is True or v is False
    if k in (PL.BYTES, PL.STRING):
        if isinstance(v, (bytes, bytearray, memoryview)):  # string takes raw bytes too
            return len(v) < 1 << 24
        return k == PL.STRING and isinstance(v, str) and not any(
            0xD800 <= ord(c) <= 0xDFFF for c in v)
    if k in (PL.VECTOR, PL.BARE_VECTOR):
        return isinstance(v, (list, tuple)) and all(_accepts(tp.elem, x) for x in v)
    if k == PL.OBJECT:  # none of the wrong values is a TL object: only Object's extras
        any_object = tp.boxed.ids is None and not tp.boxed.functions_only
        return any_object and (v is True or v is False or (
            isinstance(v, list) and all(_accepts(tp, x) for x in v)))
    return False  # BARE: only its constructor's instances


def _should_encode(plan, i, v):
    f = plan.fields[i]
    if f.kind == PL.TRUE:
        return v is None or v is True or v is False
    if v is None and f.flag >= 0:  # absent; but the others sharing its bit are all set
        return not any(i in data for _, _, data, _ in plan.shared_groups)
    return _accepts(f.type, v)


def test_encode_errors_per_field(py, cy):
    seen = set()
    checked = {"ok": 0, "error": 0}
    for sname, name, present in CASES:
        if not present:
            continue
        b = builder(sname)
        plan = b.plan(name)
        signature = tuple((f.kind, f.flag >= 0) for f in plan.fields)
        if signature in seen or plan.id == P.GZIP_PACKED:
            continue
        seen.add(signature)
        for i, f in enumerate(plan.fields):
            if f.slot < 0:
                continue
            for wrong in _wrong_values(f.kind):
                _, obj, _ = build_case(sname, name, True)
                setattr(obj, f.attr, wrong)
                a = outcome(lambda: b.schema.dumps(obj, backend=py))
                c = outcome(lambda: b.schema.dumps(obj, backend=cy))
                assert a == c, (name, f.name, wrong)
                want = "ok" if _should_encode(plan, i, wrong) else "error"
                assert a[0] == want, (name, f.name, wrong, a)
                if want == "error":
                    assert a[1] is TLEncodeError, (name, f.name, wrong, a)
                    shared = "shared by" in a[2]
                    assert a[4] == name if shared else a[4].startswith(f"{name}.{f.name}"), a
                checked[want] += 1
    assert checked["ok"] > 500 and checked["error"] > 5000, checked


def test_unset_slots_and_shared_bits(py, cy):
    api = tlfast.schemas.api
    cls = api.api.auth.importAuthorization
    obj = cls.__new__(cls)
    obj.id = 1
    a = outcome(lambda: api.dumps(obj, backend=py))
    assert a[1] is tlfast.TLEncodeError
    assert a == outcome(lambda: api.dumps(obj, backend=cy))
    nested = api.api.messages.getMessagesViews(peer=api.api.inputPeerSelf(), id=[1],
                                               increment=True)
    del nested.peer
    same_failure(outcome(lambda: api.dumps(nested, backend=py)),
                 outcome(lambda: api.dumps(nested, backend=cy)))
    # every constructor with bits shared by several fields: one member present only
    groups = 0
    for d in api:
        plan = api._plan(d.name)
        for flag, bit, data, names in plan.shared_groups:
            _, obj, _ = build_case("api", d.name, False)
            f = plan.fields[data[0]]
            setattr(obj, f.attr, builder("api").value(f.type, False, 1, 1))
            a = outcome(lambda: api.dumps(obj, backend=py))
            assert a == outcome(lambda: api.dumps(obj, backend=cy)), d.name
            if len(data) > 1:
                assert a[0] == "error" and "shared" in a[2], (d.name, a)
            groups += 1
    assert groups >= 73


def test_subclass_instances(py, cy):
    api = tlfast.schemas.api

    class Peer(api.api.peerUser):
        __slots__ = ()

    class Overriding(api.api.peerUser):
        __slots__ = ()

        @property
        def user_id(self):
            return 99

    for obj in (Peer(user_id=5), Overriding.__new__(Overriding)):
        a = outcome(lambda: api.dumps(obj, backend=py))
        assert a[0] == "ok"
        assert a == outcome(lambda: api.dumps(obj, backend=cy))
        wrapped = api.api.messages.getPeerDialogs(peers=[api.api.inputDialogPeer(peer=api.api.inputPeerSelf())])
        assert api.dumps(wrapped, backend=py) == api.dumps(wrapped, backend=cy)


def test_wrong_objects_in_typed_positions(py, cy):
    api = tlfast.schemas.api
    mt = tlfast.schemas.mtproto
    codec = default_codec()
    peer = api.api.peerUser(user_id=5)
    cases = [
        (api.api.inputDialogPeer(peer=peer), None),          # Peer where InputPeer goes
        (api.api.inputDialogPeer(peer="x"), None),
        (api.api.invokeWithLayer(layer=1, query=peer), None),  # !X wants a function
        (api.api.invokeWithLayer(layer=1, query=True), None),
        (peer, "InputPeer"), (peer, "Vector<Peer>"), ([peer, 5], "Vector<Peer>"),
        (peer, "%FutureSalt"), (mt.api.future_salt(valid_since=1, valid_until=2, salt=3), "%FutureSalt"),
        (5, "%FutureSalt"), ({"_": "peerUser"}, None), ([1 << 64], "Vector<long>"),
        ([1.5], "Vector<int>"), ([b"x", 1], "Vector<bytes>"), ([True, None], "Vector<Bool>"),
    ]
    for value, type_ in cases:
        a = outcome(lambda: codec.dumps(value, type_, py))
        b = outcome(lambda: codec.dumps(value, type_, cy))
        assert a == b, (value, type_)


def test_writer_reader_object_methods(py, cy):
    peer = tlfast.schemas.api.api.peerUser(user_id=5)
    out = []
    for engine in (py, cy):
        w = engine.Writer()
        w.write_int(7)
        w.write_object(peer)
        w.write_object([1, 2], "Vector<long>")
        data = w.getvalue()
        r = engine.Reader(data)
        out.append((data, r.read_int(), r.read_object(), r.read_object("Vector<long>"), r.remaining()))
    assert out[0] == out[1]
