"""Codec engine (issue 4): every constructor and function of layer 228 and MTProto through
both engines, type expressions, RPC results, generics, the rules of DESIGN.md §3, MTProto
service messages and errors with path and offset.

Every test takes the ``backend`` fixture (cython / python). Cross-backend checks use the
other engine as well (tests/_helpers.other_engine): equal bytes, equal objects, each
decoding the other's output, the same error class and message.
"""

import gzip
import os
import pickle
import struct
import sys

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import tlfast
from tlfast import TLDecodeError, TLEncodeError, TLError, UnknownConstructorError




import _helpers as H  # noqa: E402  (tests/ is on sys.path: conftest.py)
import strategies as S  # noqa: E402

from tlfast import api, mtproto  # noqa: E402

API = tlfast.schemas.api
MTPROTO = tlfast.schemas.mtproto
VECTOR = 0x1CB5C415
BOOL_TRUE, BOOL_FALSE = 0x997275B5, 0xBC799737
GZIP_PACKED = 0x3072CFA1
RPC_RESULT = 0xF35C6D01


def u32(*v):
    return struct.pack(f"<{len(v)}I", *v)


def i32(*v):
    return struct.pack(f"<{len(v)}i", *v)


def i64(*v):
    return struct.pack(f"<{len(v)}q", *v)


def tlstr(b):
    if isinstance(b, str):
        b = b.encode()
    assert len(b) < 254
    return bytes([len(b)]) + b + b"\0" * (-(len(b) + 1) % 4)


def gz(obj_bytes):
    return mtproto.gzip_packed(packed_data=gzip.compress(obj_bytes, 6, mtime=0))




def round_trip(backend, other, value, type=None, schema=None):
    """encode -> decode -> equal -> re-encode identical; the other engine agrees."""
    data = H.dumps(backend, value, type, schema=schema)
    back = H.loads(backend, data, type, schema=schema)
    assert back == value, (getattr(value, "TL_NAME", type), value, back)
    assert type is not None or builtins_type(back) is builtins_type(value)
    assert H.dumps(backend, back, type, schema=schema) == data
    if other is not None:
        assert H.dumps(other, value, type, schema=schema) == data, "engines encode differently"
        assert H.loads(other, data, type, schema=schema) == value, "engines decode differently"
    return data


builtins_type = type


def same_error(backend, other, fn, *args, **kwargs):
    """``fn(engine, ...)`` raises a TLError; the other engine raises the same one."""
    with pytest.raises(TLError) as info:
        fn(backend, *args, **kwargs)
    err = info.value
    if other is not None:
        with pytest.raises(TLError) as info2:
            fn(other, *args, **kwargs)
        assert H.error_signature(info2.value) == H.error_signature(err)
    return err


# --- every constructor and function ------------------------------------------------------
GEN = S.TLStrategies([API, MTPROTO])
FULL = S.TLStrategies([API, MTPROTO], max_depth=2, max_list=1, full=True)
ALL_PLANS = [p for p in GEN.plans if GEN.usable(p)]
CHUNK = 64
N_CHUNKS = -(-len(ALL_PLANS) // CHUNK)
# Random objects per definition (hypothesis' minimal one, then random ones), and one with
# every optional field present and every vector non-empty (as the depth budget allows).
SWEEP_EXAMPLES = int(os.environ.get("TLFAST_SWEEP_EXAMPLES", "3"))


@pytest.fixture(scope="module")
def sweep():
    random = H.corpus("codec-random", GEN, ALL_PLANS, SWEEP_EXAMPLES, CHUNK)
    full = H.corpus("codec-full", FULL, ALL_PLANS, 1, CHUNK)
    return [r + f for r, f in zip(random, full)]


def test_sweep_covers_every_definition():
    names = {p.name for p in ALL_PLANS}
    expected = {d.name for d in API} | {d.name for d in MTPROTO}
    # boolTrue/boolFalse decode as Python bools, gzip_packed is inflated: tested apart
    assert expected - names == {"boolTrue", "boolFalse", "gzip_packed"}
    assert len(ALL_PLANS) == 2456 + 52 - 3
    assert all(GEN.height(p) <= 2 for p in ALL_PLANS)


@pytest.mark.parametrize("chunk", range(N_CHUNKS))
def test_every_constructor_round_trips(backend, other, chunk, sweep):
    """Generated objects of every constructor and function: encode, decode, equal,
    re-encode identical; the other engine gives the same bytes and decodes them."""
    for plan, obj in sweep[chunk]:
        try:
            encoded = round_trip(backend, other, obj)
            assert encoded[:4] == u32(plan.id)
            assert H.loads(backend, memoryview(encoded)) == obj
        except Exception as exc:
            raise AssertionError(f"{plan.name}: {obj!r}") from exc


DEEP = S.TLStrategies([API, MTPROTO], max_depth=5, max_list=3)


@settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(obj=st.sampled_from([p for p in DEEP.plans if DEEP.usable(p)]).flatmap(DEEP.of))
def test_deeper_random_objects(backend, other, obj):
    data = round_trip(backend, other, obj)
    assert H.loads(backend, bytearray(data)) == obj


@given(deep=S.deep_rich_text(api))
def test_nesting_up_to_and_past_the_cap(backend, other, deep):
    """Nesting right up to the 64-level cap round-trips; decoding with the cap set just
    under the value's depth fails at that level; past 64, encoding itself refuses."""
    value, levels = deep
    if levels > tlfast.DEFAULT_MAX_DEPTH:
        err = same_error(backend, other, H.dumps, value)
        assert isinstance(err, TLEncodeError) and "nesting deeper than 64 levels" in str(err)
        return
    data = round_trip(backend, other, value)
    assert H.loads(backend, data, max_depth=levels) == value
    if levels > 1:
        err = same_error(backend, other, H.loads, data, max_depth=levels - 1)
        assert f"nesting deeper than {levels - 1} levels" in str(err)


FIXED_FORMAT = {"int": "i", "long": "q", "double": "d"}


@given(data=st.data(), kind=st.sampled_from(["int", "long", "int128", "int256", "double",
                                              "Bool", "string", "bytes"]))
def test_large_vectors(backend, other, data, kind):
    value = data.draw(S.large_vector(kind), label="value")
    encoded = round_trip(backend, other, value, f"Vector<{kind}>")
    assert encoded[:8] == u32(VECTOR) + i32(len(value))
    if kind in FIXED_FORMAT:  # the bytes, by struct rather than by either engine
        assert encoded[8:] == struct.pack(f"<{len(value)}{FIXED_FORMAT[kind]}", *value)


@given(blob=S.long_blob())
def test_long_bytes_and_strings(backend, other, blob):
    assert round_trip(backend, other, blob, "bytes") == S.tl_bytes(blob)
    text = blob.decode("latin-1")  # a string of the same length in characters
    data = round_trip(backend, other, text, "string")
    assert data == S.tl_bytes(text.encode("utf-8"))


def test_bool_constructors_are_python_bools(backend, other):
    assert round_trip(backend, other, True) == u32(BOOL_TRUE)
    assert round_trip(backend, other, False) == u32(BOOL_FALSE)
    assert round_trip(backend, other, True, "Bool") == u32(BOOL_TRUE)
    assert H.dumps(backend, api.boolTrue()) == u32(BOOL_TRUE)
    assert H.loads(backend, H.dumps(backend, api.boolFalse())) is False
    assert round_trip(backend, other, api.true()) == u32(0x3FEDD339)


# --- type expressions ---------------------------------------------------------------------
def test_type_vector_long(backend, other):
    data = round_trip(backend, other, [1, -2, 2**63 - 1], "Vector<long>")
    assert data == u32(VECTOR) + i32(3) + i64(1, -2, 2**63 - 1)
    assert round_trip(backend, other, [], "Vector<long>") == u32(VECTOR) + i32(0)
    assert round_trip(backend, other, [7], "vector<long>") == i32(1) + i64(7)


def test_type_vector_of_bare_messages(backend, other):
    msgs = [mtproto.message(msg_id=5, seqno=1, body=mtproto.ping(ping_id=9)),
            mtproto.message(msg_id=6, seqno=2, body=True)]
    data = round_trip(backend, other, msgs, "vector<%message>", schema=MTPROTO)
    assert data == (i32(2) + i64(5) + i32(1, 12) + u32(0x7ABE77EC) + i64(9)
                    + i64(6) + i32(2, 4) + u32(BOOL_TRUE))
    # %Message: MTProto's Message type has the one constructor
    one = round_trip(backend, other, msgs[0], "%Message", schema=MTPROTO)
    assert one == data[4:32]
    with pytest.raises(tlfast.TLSchemaError, match="one constructor"):
        H.dumps(backend, msgs[0], "%Message", schema=API)  # the API's Message has three


def test_type_int128_int256(backend, other):
    v = -(2**127)
    data = round_trip(backend, other, v, "int128")
    assert data == v.to_bytes(16, "little", signed=True)
    assert round_trip(backend, other, 1, "int128") == b"\x01" + b"\0" * 15
    assert round_trip(backend, other, -1, "int256") == b"\xff" * 32
    assert round_trip(backend, other, [3, 4], "Vector<int128>") == (
        u32(VECTOR) + i32(2) + (3).to_bytes(16, "little") + (4).to_bytes(16, "little"))
    for bad in (2**127, -(2**127) - 1, True, 1.0):
        with pytest.raises(TLEncodeError):
            H.dumps(backend, bad, "int128")


def test_type_boxed_and_primitive(backend, other):
    user = api.user(id=5, first_name="A")
    assert round_trip(backend, other, user, "User") == bytes(user)
    assert round_trip(backend, other, user, "Object") == bytes(user)
    assert round_trip(backend, other, "é", "string") == b"\x02\xc3\xa9\x00"
    assert round_trip(backend, other, b"\xff", "bytes") == b"\x01\xff\0\0"
    assert round_trip(backend, other, 1.5, "double") == bytes.fromhex("000000000000f83f")
    assert round_trip(backend, other, -5, "int") == i32(-5)
    assert round_trip(backend, other, [[True]], "Vector<Vector<Bool>>") == (
        u32(VECTOR) + i32(1) + u32(VECTOR) + i32(1) + u32(BOOL_TRUE))
    err = same_error(backend, other, H.dumps, api.chatEmpty(id=1), "User")
    assert isinstance(err, TLEncodeError) and "User does not accept chatEmpty" in str(err)
    err = same_error(backend, other, H.loads, bytes(api.chatEmpty(id=1)), "User")
    assert isinstance(err, TLDecodeError) and err.offset == 0
    assert str(err) == "constructor chatEmpty#29562865 is not a User at offset 0"


def test_input_buffer_types(backend):
    data = H.realistic_payloads()[0][1]
    expected = H.loads(backend, data)
    for buf in (bytes(data), bytearray(data), memoryview(data), memoryview(bytearray(data))):
        assert H.loads(backend, buf) == expected
    assert H.loads(backend, memoryview(b"xx" + data)[2:]) == expected


def test_public_entry_points(backend):
    req = api.auth.importAuthorization(id=4965292, bytes=b"some bytes here")
    data = bytes(req)  # the active backend
    assert data == u32(0xA57A7DAD) + i64(4965292) + tlstr(b"some bytes here")
    assert tlfast.dumps(req) == data
    assert tlfast.loads(data) == req
    assert API.loads(data, backend=backend) == req
    assert tlfast.loads(bytes(mtproto.ping(ping_id=1))) == mtproto.ping(ping_id=1)
    r = backend.Reader(data + bytes(mtproto.pong(msg_id=1, ping_id=2)))
    assert r.read_object() == req
    assert r.read_object() == mtproto.pong(msg_id=1, ping_id=2)
    assert r.remaining() == 0
    w = backend.Writer()
    w.write_object(req)
    w.write_object([1, 2], "Vector<int>")
    assert w.getvalue() == data + u32(VECTOR) + i32(2, 1, 2)


# --- RPC results ---------------------------------------------------------------------------
def test_result_of_boxed_vector(backend, other):
    req = api.users.getUsers(id=[api.inputUserSelf()])
    users = [api.user(id=1, self_=True), api.userEmpty(id=2)]
    body = H.dumps(backend, users, "Vector<User>")
    assert H.loads(backend, body, result_of=req) == users
    assert H.loads(backend, body) == users  # a boxed Vector of boxed objects reads as Object
    assert tlfast.loads(body, result_of=req) == users


def test_result_of_bare_vector_long(backend, other):
    req = api.messages.receivedQueue(max_qts=1)
    body = u32(VECTOR) + i32(3) + i64(1, 2, 2**62)
    assert H.loads(backend, body, result_of=req) == [1, 2, 2**62]
    if other is not None:
        assert H.loads(other, body, result_of=req) == [1, 2, 2**62]
    # without the request the longs are read as boxed objects: not a valid Object
    with pytest.raises(TLDecodeError):
        H.loads(backend, body)
    # Vector<int> results too
    body = u32(VECTOR) + i32(2) + i32(-1, 5)
    assert H.loads(backend, body, result_of=api.contacts.getContactIDs(hash=0)) == [-1, 5]


def test_result_of_rpc_result_and_rpc_error(backend, other):
    req = api.messages.receivedQueue(max_qts=1)
    vec = u32(VECTOR) + i32(2) + i64(10, 20)
    body = u32(RPC_RESULT) + i64(77) + vec
    res = H.loads(backend, body, result_of=req)
    assert res == mtproto.rpc_result(req_msg_id=77, result=[10, 20])
    # rpc_error, bare and wrapped
    err_obj = mtproto.rpc_error(error_code=420, error_message="FLOOD_WAIT_7")
    assert H.loads(backend, bytes(err_obj), result_of=req) == err_obj
    wrapped = u32(RPC_RESULT) + i64(78) + bytes(err_obj)
    assert H.loads(backend, wrapped, result_of=req) == mtproto.rpc_result(req_msg_id=78, result=err_obj)
    # gzip_packed inside rpc_result, inflated before typing by the request
    packed = u32(RPC_RESULT) + i64(79) + H.dumps(backend, gz(vec))
    assert H.loads(backend, packed, result_of=req) == mtproto.rpc_result(req_msg_id=79, result=[10, 20])
    # a typed result that does not match the request: an error with the rpc_result path
    users_req = api.users.getUsers(id=[])
    bad = u32(RPC_RESULT) + i64(80) + bytes(api.chatEmpty(id=1))
    e = same_error(backend, other, H.loads, bad, result_of=users_req)
    assert isinstance(e, TLDecodeError) and "rpc_result.result" in str(e)
    # the Object form (no request): rpc_result of any boxed object
    obj = mtproto.rpc_result(req_msg_id=81, result=H.sample_config())
    round_trip(backend, other, obj)


def test_result_of_requires_a_function(backend):
    with pytest.raises(TLError):
        H.loads(backend, bytes(api.userEmpty(id=1)), result_of=api.userEmpty(id=1))


def test_generics_invoke_with_layer(backend, other):
    req = H.sample_request()
    data = round_trip(backend, other, req)
    init = req.query
    assert data[:8] == u32(0xDA9B0D0D) + i32(228)
    assert data[8:12] == u32(0xC1CD5EA9)  # the inner query is a boxed function call
    assert data[12:16] == u32(0b10)  # initConnection flags: params only
    assert data.endswith(u32(0xC4F9186B))  # help.getConfig, boxed
    assert init.query == api.help.getConfig()
    # result_of goes through the generic wrappers to help.getConfig's Config
    config = H.sample_config()
    assert H.loads(backend, H.dumps(backend, config), result_of=req) == config
    with pytest.raises(TLDecodeError):
        H.loads(backend, bytes(api.userEmpty(id=1)), result_of=req)  # not a Config
    # and to a bare Vector<long> two wrappers down
    req2 = api.invokeWithLayer(layer=228, query=api.invokeWithoutUpdates(
        query=api.messages.receivedQueue(max_qts=3)))
    round_trip(backend, other, req2)
    assert H.loads(backend, u32(VECTOR) + i32(1) + i64(5), result_of=req2) == [5]
    # !X takes a function, not a constructor
    err = same_error(backend, other, H.dumps, api.invokeWithLayer(layer=1, query=api.userEmpty(id=1)))
    assert isinstance(err, TLEncodeError) and "query" in err.path
    bad = u32(0xDA9B0D0D) + i32(228) + bytes(api.userEmpty(id=1))
    err = same_error(backend, other, H.loads, bad)
    assert isinstance(err, TLDecodeError) and err.offset == 8 and "query" in str(err)


# --- DESIGN.md §3 rules ----------------------------------------------------------------------
def test_flags_words_are_computed(backend, other):
    user = api.user(id=7, bot=True, bot_info_version=3, first_name="B", bot_can_edit=True,
                    usernames=[])
    data = round_trip(backend, other, user)
    flags, flags2 = struct.unpack_from("<II", data, 4)
    assert flags == (1 << 14) | (1 << 1)
    assert flags2 == (1 << 1) | (1 << 0)  # bot_can_edit, usernames (present though empty)
    assert data[12:20] == i64(7)  # flags2 sits mid-list, before id
    # unknown bits on decode are ignored (no field reads them)
    noisy = data[:4] + u32(flags | (1 << 31)) + data[8:]
    assert H.loads(backend, noisy) == user


def test_shared_bit_group_error(backend, other):
    err = same_error(backend, other, H.dumps, api.user(id=1, bot=True))
    assert isinstance(err, TLEncodeError)
    assert err.path == "user"
    assert str(err) == ("user: flags.14 is shared by bot, bot_info_version: "
                        "bot_info_version must be present when any of them is")
    # two data members of one bit
    full = api.channelFull(id=1, about="", read_inbox_max_id=0, read_outbox_max_id=0,
                           unread_count=0, chat_photo=api.photoEmpty(id=1),
                           notify_settings=api.peerNotifySettings(), bot_info=[], pts=0,
                           kicked_count=1)
    err = same_error(backend, other, H.dumps, full)
    assert "kicked_count, banned_count" in str(err) and "banned_count must be present" in str(err)
    full.banned_count = 2
    round_trip(backend, other, full)
    # nested: the path leads to the object
    msgs = api.messages.messages(messages=[], topics=[], chats=[], users=[api.user(id=1, bot=True)])
    err = same_error(backend, other, H.dumps, msgs)
    assert err.path == "messages.messages.users[0]"


def test_bool_is_strict(backend, other):
    s = api.peerNotifySettings(silent=False)
    data = round_trip(backend, other, s)
    assert data == u32(0x99622C0C, 0b10, BOOL_FALSE)  # false under a set bit survives
    for bad in (0, 1, "true"):
        err = same_error(backend, other, H.dumps, api.peerNotifySettings(silent=bad))
        assert isinstance(err, TLEncodeError) and err.path == "peerNotifySettings.silent"
    err = same_error(backend, other, H.loads, u32(0x99622C0C, 0b10, 0x3FEDD339))
    assert isinstance(err, TLDecodeError)
    assert str(err) == ("peerNotifySettings.silent: expected Bool (boolTrue or boolFalse), "
                        "got constructor 0x3fedd339 at offset 8")
    # a flags.N?true is a bool too
    err = same_error(backend, other, H.dumps, api.user(id=1, self_=1))
    assert isinstance(err, TLEncodeError)
    # Bool as a required field
    cfg = H.sample_config()
    cfg.test_mode = None
    assert isinstance(same_error(backend, other, H.dumps, cfg), TLEncodeError)


def test_boxed_field_type_checked(backend, other):
    bad = api.message(id=1, peer_id=api.user(id=1), date=0, message="")
    err = same_error(backend, other, H.dumps, bad)
    assert isinstance(err, TLEncodeError)
    assert str(err) == "message.peer_id: Peer does not accept user"
    good = api.message(id=1, peer_id=api.peerUser(user_id=1), date=0, message="")
    data = H.dumps(backend, good)
    pos = data.index(u32(0x59511722))  # peerUser
    corrupted = data[:pos] + u32(0x29562865) + data[pos + 4:]  # chatEmpty: a Chat
    err = same_error(backend, other, H.loads, corrupted)
    assert isinstance(err, TLDecodeError) and not isinstance(err, UnknownConstructorError)
    assert str(err) == f"message.peer_id: constructor chatEmpty#29562865 is not a Peer at offset {pos}"
    # non-objects where objects are expected
    for value in (1, "x", None, {"_": "peerUser", "user_id": 1}):
        good.peer_id = value
        assert isinstance(same_error(backend, other, H.dumps, good), TLEncodeError)


def test_missing_and_wrong_values(backend, other):
    obj = api.messageEntityBold(offset=0, length=1)
    del obj.length
    err = same_error(backend, other, H.dumps, obj)
    assert isinstance(err, TLEncodeError) and "length" in str(err)
    cases = [
        api.messageEntityBold(offset=2**31, length=1),
        api.messageEntityBold(offset="1", length=1),
        api.messageEntityBold(offset=True, length=1),
        api.peerUser(user_id=2**63),
        api.photoSize(type=1, w=1, h=1, size=1),
        api.messages.receivedQueue(max_qts=None),
        mtproto.msgs_ack(msg_ids={1, 2}),
        mtproto.msgs_ack(msg_ids=[1, "2"]),
    ]
    for bad in cases:
        err = same_error(backend, other, H.dumps, bad)
        assert isinstance(err, TLEncodeError), bad
        assert err.path.startswith(bad.TL_NAME + "."), (err.path, bad)


def test_trailing_bytes_rejected(backend, other):
    data = bytes(api.userEmpty(id=5))
    err = same_error(backend, other, H.loads, data + b"\0\0\0\0")
    assert str(err) == "4 trailing bytes after the value at offset 12" and err.offset == 12
    err = same_error(backend, other, H.loads, u32(VECTOR) + i32(0) + b"\x01", "Vector<long>")
    assert err.offset == 8
    # a Reader reading one object at a time leaves the rest alone
    r = backend.Reader(data + b"\0\0\0\0")
    assert r.read_object() == api.userEmpty(id=5) and r.remaining() == 4


def test_lossless_corner_cases(backend, other):
    absent = api.message(id=1, peer_id=api.peerUser(user_id=1), date=0, message="")
    empty = api.message(id=1, peer_id=api.peerUser(user_id=1), date=0, message="", entities=[])
    a, b = round_trip(backend, other, absent), round_trip(backend, other, empty)
    assert a != b and len(b) == len(a) + 8
    assert H.loads(backend, b).entities == [] and H.loads(backend, a).entities is None
    media = api.message(id=1, peer_id=api.peerUser(user_id=1), date=0, message="",
                        media=api.messageMediaEmpty())
    assert H.loads(backend, round_trip(backend, other, media)).media == api.messageMediaEmpty()
    notify = api.inputPeerNotifySettings(show_previews=False, silent=True, stories_muted=False)
    data = round_trip(backend, other, notify)
    assert H.loads(backend, data).show_previews is False and H.loads(backend, data).sound is None
    round_trip(backend, other, H.sample_messages(6))
    round_trip(backend, other, H.sample_config())


def test_strings_lossy_and_lengths(backend, other):
    # invalid UTF-8 in a string field decodes with U+FFFD, never raises
    data = u32(0x744694E0) + tlstr(b"ok \xd1")  # textPlain
    assert H.loads(backend, data) == api.textPlain(text="ok \ufffd")
    for n in (0, 1, 3, 4, 253, 254, 255, 256, 1000, 70000):
        round_trip(backend, other, api.textPlain(text="a" * n))
        round_trip(backend, other, b"\x00" * n, "bytes")
    round_trip(backend, other, api.textPlain(text="😀" * 100))
    err = same_error(backend, other, H.dumps, "\ud800", "string")
    assert isinstance(err, TLEncodeError)


def test_doubles(backend, other):
    for v in (0.0, -0.0, 1.5, float("inf"), float("-inf"), 5e-324, 1.7976931348623157e308):
        data = round_trip(backend, other, api.statsPercentValue(part=v, total=1.0))
        assert data[4:12] == struct.pack("<d", v)
    nan = struct.pack("<d", float("nan"))
    data = u32(api.statsPercentValue.CONSTRUCTOR_ID) + nan + struct.pack("<d", 1.0)
    assert H.dumps(backend, H.loads(backend, data)) == data  # NaN's bits survive
    assert isinstance(same_error(backend, other, H.dumps, 2**1024, "double"), TLEncodeError)
    values = [1.5, -0.0, float("inf"), 5e-324, 2]
    data = H.dumps(backend, values, "Vector<double>")
    assert data == struct.pack("<Ii5d", VECTOR, 5, *values)
    assert H.loads(backend, data, "Vector<double>") == values
    nan_vec = struct.pack("<Ii", VECTOR, 1) + nan
    assert H.dumps(backend, H.loads(backend, nan_vec, "Vector<double>"), "Vector<double>") == nan_vec
    if other is not None:
        assert H.dumps(other, values, "Vector<double>") == data


# --- MTProto service messages ---------------------------------------------------------------
def test_gzip_packed_is_transparent_on_decode(backend, other):
    user = api.user(id=5, first_name="Z" * 300)
    packed = gz(bytes(user))
    data = H.dumps(backend, packed)
    assert data[:4] == u32(GZIP_PACKED)
    assert H.loads(backend, data) == user
    # in a typed field: the inner constructor must still belong to the field's type
    msg = api.message(id=1, peer_id=api.peerUser(user_id=1), date=0, message="",
                      media=gz(bytes(api.messageMediaEmpty())))
    assert H.loads(backend, H.dumps(backend, msg)).media == api.messageMediaEmpty()
    msg.media = gz(bytes(api.userEmpty(id=1)))
    err = same_error(backend, other, H.loads, H.dumps(backend, msg))
    assert isinstance(err, TLDecodeError) and "media" in str(err)
    # inside rpc_result, in an Object position
    rpc = mtproto.rpc_result(req_msg_id=1, result=gz(bytes(user)))
    assert H.loads(backend, H.dumps(backend, rpc)) == mtproto.rpc_result(req_msg_id=1, result=user)
    # zlib-wrapped data is not what MTProto sends but is accepted; garbage is an error
    err = same_error(backend, other, H.loads, H.dumps(backend, mtproto.gzip_packed(packed_data=b"nope")))
    assert isinstance(err, TLDecodeError) and "gzip_packed" in str(err)
    truncated = mtproto.gzip_packed(packed_data=gzip.compress(bytes(user))[:-10])
    assert isinstance(same_error(backend, other, H.loads, H.dumps(backend, truncated)), TLDecodeError)
    # trailing bytes inside the packed data
    # (the count on this engine too: a pure-only run has no other engine to compare with)
    extra = mtproto.gzip_packed(packed_data=gzip.compress(bytes(user) + b"\0\0\0\0"))
    err = same_error(backend, other, H.loads, H.dumps(backend, extra))
    assert str(err) == "4 trailing bytes inside gzip_packed at offset 0"


def test_gzip_packed_max_inflate(backend, other):
    user = api.user(id=5, first_name="Z" * 300)
    data = H.dumps(backend, gz(bytes(user)))
    assert H.loads(backend, data, max_inflate=len(bytes(user))) == user
    err = same_error(backend, other, H.loads, data, max_inflate=len(bytes(user)) - 1)
    assert isinstance(err, TLDecodeError) and "limit" in str(err) and err.offset == 0


def test_gzip_packed_helper(backend):
    user = api.user(id=5, first_name="Z" * 300)
    packed = tlfast.gzip_packed(user)
    assert isinstance(packed, mtproto.gzip_packed)
    assert gzip.decompress(packed.packed_data) == bytes(user)
    assert H.loads(backend, H.dumps(backend, packed)) == user


def test_msg_container(backend, other):
    c = mtproto.msg_container(messages=[
        mtproto.message(msg_id=10, seqno=1, body=mtproto.ping(ping_id=9)),
        mtproto.message(msg_id=11, seqno=2, body=api.userEmpty(id=3)),
    ])
    data = round_trip(backend, other, c)
    assert data == (u32(0x73F1F8DC) + i32(2)
                    + i64(10) + i32(1, 12) + u32(0x7ABE77EC) + i64(9)
                    + i64(11) + i32(2, 12) + bytes(api.userEmpty(id=3)))
    assert round_trip(backend, other, mtproto.msg_container(messages=[])) == u32(0x73F1F8DC) + i32(0)
    # the body length is checked against what the body took: too long, too short
    first_len = 4 + 4 + 8 + 4  # container id, count, msg_id, seqno
    for wrong, fragment in ((13, "took 12 bytes but its length says 13"),
                            (16, "took 12 bytes but its length says 16"),
                            (8, "unexpected end"), (-4, "does not fit"), (10**6, "does not fit")):
        bad = data[:first_len] + i32(wrong) + data[first_len + 4:]
        err = same_error(backend, other, H.loads, bad)
        assert isinstance(err, TLDecodeError), wrong
        assert fragment in str(err), (wrong, str(err))
        assert "msg_container.messages[0]" in str(err), str(err)
        assert err.offset is not None
    # a body that claims less than it takes, or more
    bad = data[:first_len] + i32(4) + data[first_len + 4:]
    assert isinstance(same_error(backend, other, H.loads, bad), TLDecodeError)
    # message.bytes is never taken from the caller
    m = mtproto.message(msg_id=1, seqno=1, body=True)
    assert not hasattr(m, "bytes")
    # realistic: container with rpc_result(gzip_packed(messages.messages))
    decoded = H.loads(backend, H.dumps(backend, H.sample_container()))
    assert decoded.messages[0].body.result == H.sample_messages(2, seed=9)
    if other is not None:
        assert H.loads(other, H.dumps(backend, H.sample_container())) == decoded


def test_error_path_and_offset_messages(backend, other):
    msgs = H.sample_messages(3)
    third = msgs.messages[2]
    third.media = api.messageMediaEmpty()
    data = H.dumps(backend, msgs)
    start = 4 + 4 + 4 + len(bytes(msgs.messages[0])) + len(bytes(msgs.messages[1]))
    assert data[start:start + 4] == u32(api.message.CONSTRUCTOR_ID)
    pos = data.index(u32(0x3DED6320), start)  # messageMediaEmpty of the 3rd message
    bad = data[:pos] + u32(0x12345678) + data[pos + 4:]
    err = same_error(backend, other, H.loads, bad)
    assert isinstance(err, UnknownConstructorError)
    assert err.constructor_id == 0x12345678 and err.offset == pos
    assert err.path == "messages.messages.messages[2].media"
    assert str(err) == (f"messages.messages.messages[2].media: unknown constructor 0x12345678 "
                        f"for MessageMedia at offset {pos}")
    # the error pickles (it crosses process pools)
    back = pickle.loads(pickle.dumps(err))
    assert str(back) == str(err) and back.offset == pos and type(back) is type(err)


def test_encode_error_paths(backend, other):
    msgs = H.sample_messages(3)
    msgs.messages[1].entities = [api.messageEntityBold(offset=0, length=2**31)]
    err = same_error(backend, other, H.dumps, msgs)
    assert isinstance(err, TLEncodeError)
    assert err.path == "messages.messages.messages[1].entities[0].length"
    assert str(err).startswith("messages.messages.messages[1].entities[0].length: int out of range")


def test_max_depth_setting(backend, other):
    text = api.textPlain(text="x")
    for _ in range(10):
        text = api.textBold(text=text)
    data = H.dumps(backend, text)
    assert H.loads(backend, data, max_depth=11) == text
    err = same_error(backend, other, H.loads, data, max_depth=10)
    assert isinstance(err, TLDecodeError) and "nesting deeper than 10" in str(err)
    assert err.offset == 44  # the 11th object's fields start there (its id is at 40)


# --- first use from several threads ---------------------------------------------------------
_THREADS_SCRIPT = r"""
import pathlib, sys, threading
import tlfast
from tlfast import _backend
engine = _backend.load(sys.argv[1])
data = bytes.fromhex(sys.argv[2])
path = pathlib.Path(tlfast.__file__).with_name("schemas") / "api-layer228.tl"
sys.setswitchinterval(1e-6)
problems = []
for trial in range(3):
    fresh = tlfast.Schema.from_file(path)  # nothing compiled yet
    results = []
    barrier = threading.Barrier(8)
    def work():
        barrier.wait()
        try:
            results.append(fresh.dumps(fresh.loads(data, backend=engine), backend=engine))
        except BaseException as exc:
            problems.append(repr(exc))
    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads: t.start()
    for t in threads: t.join()
    if any(r != data for r in results):
        problems.append("different results")
print(problems[0] if problems else "ok")
"""


def test_first_use_from_several_threads(backend):
    import subprocess

    data = H.dumps(backend, H.sample_messages(8))
    proc = subprocess.run([sys.executable, "-c", _THREADS_SCRIPT, backend.NAME, data.hex()],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, f"crashed: {proc.returncode} {proc.stderr[-300:]}"
    assert proc.stdout.strip() == "ok"


def test_result_of_through_gzip_packed_query(backend):
    inner = api.messages.receivedQueue(max_qts=1)
    req = api.invokeWithLayer(layer=228, query=tlfast.gzip_packed(inner))
    assert H.loads(backend, H.dumps(backend, req)) == api.invokeWithLayer(layer=228, query=inner)
    body = u32(VECTOR) + i32(1) + i64(5)
    assert H.loads(backend, body, result_of=req) == [5]


# --- issue 11: what loads returns dumps back; dicts without an unused '#' word ---------------
def test_bang_x_holds_functions_only_on_decode_as_on_encode(backend, other):
    head = u32(api.invokeWithLayer.CONSTRUCTOR_ID) + i32(228)
    for query in (u32(BOOL_FALSE), u32(BOOL_TRUE), u32(VECTOR) + i32(0)):
        with pytest.raises(TLDecodeError, match="function|for !X") as info:
            H.loads(backend, head + query)
        assert info.value.offset == 8 and info.value.path == "invokeWithLayer.query"
        if other is not None:
            with pytest.raises(TLDecodeError) as info2:
                H.loads(other, head + query)
            assert H.error_signature(info2.value) == H.error_signature(info.value)
    for value in (False, True, [], [api.help.getConfig()]):
        with pytest.raises(TLEncodeError, match="query"):
            H.dumps(backend, api.invokeWithLayer(layer=228, query=value))
    # a function, plain or gzip-packed, still passes both ways
    req = api.invokeWithLayer(layer=228, query=api.help.getConfig())
    assert H.loads(backend, H.dumps(backend, req)) == req


@pytest.mark.parametrize("body", [
    u32(BOOL_FALSE),
    u32(VECTOR) + i32(3) + u32(BOOL_TRUE, VECTOR) + i32(0) + u32(BOOL_FALSE),
    u32(VECTOR) + i32(1) + u32(VECTOR) + i32(1) + u32(0x3FEDD339),  # [[true()]]
], ids=["bool", "vector-of-bools-and-vectors", "nested"])
def test_object_positions_are_lossless(backend, body):
    # rpc_result.result and message.body are Object: Bool and Vector values come back as
    # Python bools and lists, and encode to the same bytes
    for data in (body, u32(RPC_RESULT) + i64(7) + body,
                 u32(0x73F1F8DC) + i32(1) + i64(1) + i32(1) + i32(len(body)) + body):
        value = H.loads(backend, data)
        assert H.dumps(backend, value) == data


def test_from_dict_defaults_an_unused_flags_word(backend):
    invite = api.exportedChatlistInvite(title="t", url="u", peers=[])
    assert invite.flags == 0
    d = invite.to_dict()
    assert d["flags"] == 0
    del d["flags"]  # dicts from other tools leave flags words out
    assert tlfast.from_dict(d) == invite
    assert H.dumps(backend, tlfast.from_dict(d)) == H.dumps(backend, invite)
    stories = tlfast.from_dict({"_": "stories.allStoriesNotModified", "state": "s",
                                "stealth_mode": {"_": "storiesStealthMode"}})
    assert stories.flags == 0
    assert H.loads(backend, H.dumps(backend, stories)) == stories
    # a word that is there is kept
    d["flags"] = 5
    assert H.loads(backend, H.dumps(backend, tlfast.from_dict(d))).flags == 5
