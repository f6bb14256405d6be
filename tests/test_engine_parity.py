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
from tlfast import _backend
from tlfast import _plans as PL
from tlfast._codec import default_codec

SCHEMAS = ("api", "mtproto")
P = tlfast._codec.P
# Decoded as something else than an instance: bool, the inner object.
SPECIAL_IDS = frozenset({P.BOOL_TRUE, P.BOOL_FALSE, P.GZIP_PACKED})


@pytest.fixture(scope="module")
def py():
    return _backend.load("python")


@pytest.fixture(scope="module")
def cy():
    # Fails (does not skip) without the extension, like conftest's backend fixture.
    try:
        return _backend.load("cython")
    except ImportError as exc:
        if tlfast._backend.requested() == "python":
            pytest.skip(f"TLFAST_BACKEND=python: no Cython engine to compare ({exc})")
        pytest.fail(f"the Cython engine cannot be imported ({exc})", pytrace=False)


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
    """The result of ``fn()`` or a comparable description of the exception it raised."""
    try:
        return ("ok", fn())
    except Exception as exc:  # noqa: BLE001 - the point is to compare any failure
        return ("error", type(exc), str(exc), getattr(exc, "offset", None),
                getattr(exc, "path", None))


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
    api = tlfast.schemas.api
    mt = tlfast.schemas.mtproto
    codec = default_codec()
    peer = api.api.peerUser(user_id=5)
    peer_bytes = bytes(peer)
    vec = _u32(PL_VECTOR)
    cases = [
        (codec, b"", None),
        (codec, _u32(0xDEADBEEF), None),                     # unknown constructor
        (codec, peer_bytes + b"\0", None),                   # trailing bytes
        (codec, _u32(api["inputPeerEmpty"].id), "Peer"),     # wrong constructor for type
        (codec, _u32(0xDEADBEEF), "Peer"),
        (codec, _u32(0x12345678) + _int(1), "Vector<long>"),  # not a vector
        (codec, vec + _int(-1), "Vector<long>"),
        (codec, vec + _int(3) + bytes(16), "Vector<long>"),
        (codec, vec + _int(2) + peer_bytes, "Vector<Peer>"),
        (codec, vec + _int(2) + peer_bytes + _u32(0xDEADBEEF), "Vector<Peer>"),
        (codec, _u32(0x12345678), "Bool"),
        (codec, b"\xff" + bytes(7), "string"),
        (codec, b"\xfe\x05\x00\x00" + bytes(8), "bytes"),
        (codec, vec + _int(1) + _u32(0xDEADBEEF), None),     # Vector<Object> element
        (codec, _u32(api["invokeWithLayer"].id) + _int(228) + peer_bytes, None),  # !X
        (codec, bytes(3), "int128"),
    ]
    for c, data, type_ in cases:
        a = outcome(lambda: c.loads(data, type_, None, py))
        b = outcome(lambda: c.loads(data, type_, None, cy))
        same_failure(a, b)


PL_VECTOR = 0x1CB5C415


def _message(mt, body_bytes, length=None):
    msg_id, seqno = (1 << 40) + 4, 3
    length = len(body_bytes) if length is None else length
    return (msg_id.to_bytes(8, "little") + _int(seqno) + _int(length) + body_bytes)


def test_message_body_length(py, cy):
    mt = tlfast.schemas.mtproto
    container_id = _u32(mt["msg_container"].id)
    pong = bytes(mt.api.pong(msg_id=1, ping_id=2))
    good = container_id + _int(1) + _message(mt, pong)
    a = mt.loads(good, backend=py)
    assert mt.loads(good, backend=cy) == a
    assert mt.dumps(a, backend=cy) == mt.dumps(a, backend=py) == good
    for data in (
        container_id + _int(1) + _message(mt, pong, len(pong) + 4) + bytes(4),  # took less
        container_id + _int(1) + _message(mt, pong, len(pong) - 4),             # took more
        container_id + _int(1) + _message(mt, pong, -1),
        container_id + _int(1) + _message(mt, pong, 1000),
        container_id + _int(2) + _message(mt, pong) + _message(mt, pong[:-2]),
    ):
        same_failure(outcome(lambda: mt.loads(data, backend=py)),
                     outcome(lambda: mt.loads(data, backend=cy)))


def test_gzip_packed(py, cy):
    api = tlfast.schemas.api
    mt = tlfast.schemas.mtproto
    codec = default_codec()
    peer = api.api.peerUser(user_id=77)
    packed = mt.api.gzip_packed(packed_data=gzip.compress(bytes(peer), mtime=0))
    data = codec.dumps(packed, None, py)
    assert codec.dumps(packed, None, cy) == data
    for engine in (py, cy):
        assert codec.loads(data, None, None, engine) == peer
        assert codec.loads(data, "Peer", None, engine) == peer
    # a gzip_packed field value and inside a vector
    vec = _u32(PL_VECTOR) + _int(2) + data + data
    assert codec.loads(vec, "Vector<Peer>", None, cy) == codec.loads(vec, "Vector<Peer>", None, py)
    rpc = mt.api.rpc_result(req_msg_id=9, result=packed)
    rdata = codec.dumps(rpc, None, py)
    assert codec.dumps(rpc, None, cy) == rdata
    assert codec.loads(rdata, None, None, cy) == codec.loads(rdata, None, None, py)
    gz = _u32(mt["gzip_packed"].id)
    bad = [
        gz + bytes(mt.api.rpc_error(error_code=1, error_message="x"))[4:],  # not gzip
        codec.dumps(mt.api.gzip_packed(packed_data=gzip.compress(peer_bytes_plus(peer))), None, py),
        codec.dumps(mt.api.gzip_packed(packed_data=gzip.compress(bytes(peer))[:-3]), None, py),
        codec.dumps(mt.api.gzip_packed(packed_data=gzip.compress(_u32(0xDEADBEEF))), None, py),
    ]
    for blob in bad + [data]:
        for type_, limit in ((None, 1 << 20), ("Peer", 1 << 20), (None, 4), ("Bool", 1 << 20)):
            a = outcome(lambda: codec.loads(blob, type_, None, py, 64, limit))
            b = outcome(lambda: codec.loads(blob, type_, None, cy, 64, limit))
            assert a == b, (blob.hex(), type_, limit)


def peer_bytes_plus(peer):
    return bytes(peer) + b"\0\0\0\0"  # trailing bytes inside gzip_packed


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
        with pytest.raises(tlfast.TLEncodeError):
            api.dumps(text, backend=engine)
    same_failure(outcome(lambda: api.dumps(text, backend=py)),
                 outcome(lambda: api.dumps(text, backend=cy)))
    shallow = text
    for _ in range(10):
        shallow = shallow.text
    data = api.dumps(shallow, backend=py)
    assert api.dumps(shallow, backend=cy) == data
    for depth in (0, 1, 5, 59, 60, 61, 64, 200, 201, 2.5, float("inf"), True):
        a = outcome(lambda: api.loads(data, backend=py, max_depth=depth))
        b = outcome(lambda: api.loads(data, backend=cy, max_depth=depth))
        assert a == b, depth
    vdata = api.dumps([[[1]]], "Vector<Vector<Vector<long>>>", backend=py)
    for depth in range(5):
        assert outcome(lambda: api.loads(vdata, "Vector<Vector<Vector<long>>>", backend=py,
                                         max_depth=depth)) == outcome(
            lambda: api.loads(vdata, "Vector<Vector<Vector<long>>>", backend=cy, max_depth=depth))


def test_type_expressions(py, cy):
    api = tlfast.schemas.api
    mt = tlfast.schemas.mtproto
    cases = [
        (api, [1, -2, 3], "Vector<int>"), (api, [1 << 40], "Vector<long>"),
        (api, [0.5, -1e300], "Vector<double>"), (api, [True, False], "Vector<Bool>"),
        (api, ["a", "é" * 300], "Vector<string>"), (api, [b"", bytes(254)], "Vector<bytes>"),
        (api, [1 << 100, -(1 << 127)], "Vector<int128>"), (api, [-(1 << 255)], "Vector<int256>"),
        (api, 5, "int"), (api, 1 << 63 - 1, "long"), (api, "s", "string"), (api, True, "Bool"),
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
    api = tlfast.schemas.api
    mt = tlfast.schemas.mtproto
    codec = default_codec()
    req = api.api.users.getUsers(id=[api.api.inputUserSelf()])
    req2 = api.api.invokeWithLayer(layer=228, query=api.api.messages.getMessagesViews(
        peer=api.api.inputPeerSelf(), id=[1], increment=False))
    for request, body in (
        (api.api.contacts.getContactIDs(hash=0), _u32(PL_VECTOR) + _int(2) + _int(5) + _int(-6)),
        (req, _u32(PL_VECTOR) + _int(0)),
        (req2, bytes(api.api.messages.messageViews(views=[], chats=[], users=[]))),
        (req, bytes(mt.api.rpc_error(error_code=400, error_message="BAD"))),
        (req, bytes(mt.api.rpc_result(req_msg_id=1, result=True))),
    ):
        a = outcome(lambda: codec.loads(body, None, request, py))
        b = outcome(lambda: codec.loads(body, None, request, cy))
        assert a == b


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


def test_encode_errors_per_field(py, cy):
    seen = set()
    checked = 0
    for sname, name, present in CASES:
        if not present:
            continue
        b = builder(sname)
        plan = b.plan(name)
        signature = tuple((f.kind, f.flag >= 0) for f in plan.fields)
        if signature in seen or plan.id == P.GZIP_PACKED:
            continue
        seen.add(signature)
        for f in plan.fields:
            if f.slot < 0:
                continue
            for wrong in _wrong_values(f.kind):
                _, obj, _ = build_case(sname, name, True)
                setattr(obj, f.attr, wrong)
                a = outcome(lambda: b.schema.dumps(obj, backend=py))
                c = outcome(lambda: b.schema.dumps(obj, backend=cy))
                assert a == c, (name, f.name, wrong)
                checked += 1
    assert checked > 1000


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
