"""Schema engine (issue 3): the TL parser, constructor ids, the bundled schemas, namespaces,
and small custom schemas for what layer 228 does not use.

Codec round trips of custom schemas take the ``backend`` fixture; pure schema checks don't.
"""

import inspect
import pathlib
import struct
import sys
import warnings
import zlib

import pytest

import tlfast
from tlfast import TLEncodeError, TLError, TLSchemaError, TLSchemaWarning
from tlfast import mtproto
from tlfast._model import TLFunction, TLObject, TLType




import _helpers as H  # noqa: E402  (tests/ is on sys.path: conftest.py)

API = tlfast.schemas.api
MTPROTO = tlfast.schemas.mtproto

# docs/tl-format.md §9, "Known exceptions": declared id != computed id, trust the declared.
KNOWN_MISMATCHES = {
    "ipPortSecret": 0x37982646,
    "accessPointRule": 0x4679B65F,
    "help.configSimple": 0x5A592A6C,
    "inputPeerPhotoFileLocationLegacy": 0x27D69997,
    "inputStickerSetThumbLegacy": 0x0DBAEAE9,
}


def u32(*values):
    return b"".join(struct.pack("<I", v) for v in values)


def i32(*values):
    return b"".join(struct.pack("<i", v) for v in values)


def i64(*values):
    return b"".join(struct.pack("<q", v) for v in values)


# --- constructor ids -----------------------------------------------------------------------
def test_api_id_verification_counts():
    assert tuple(API.id_stats) == (2461, 2456)
    mismatches = {d.name: d for d in API.id_mismatches}
    assert set(mismatches) == set(KNOWN_MISMATCHES)
    for name, declared in KNOWN_MISMATCHES.items():
        d = mismatches[name]
        assert d.declared_id == declared == d.id  # the declared id is the one used
        assert d.computed_id != declared


def test_ip_port_secret_id_is_computed_without_bytes_to_string():
    # tl-format.md §9: ipPortSecret's declared id is the CRC of its text *with* bytes.
    text = "ipPortSecret ipv4:int port:int secret:bytes = IpPort"
    assert zlib.crc32(text.encode()) == KNOWN_MISMATCHES["ipPortSecret"]
    assert API["ipPortSecret"].computed_id == zlib.crc32(text.replace(":bytes", ":string").encode())


def test_mtproto_id_verification_counts():
    assert tuple(MTPROTO.id_stats) == (51, 51)
    assert MTPROTO.id_mismatches == []


def test_bundled_api_text_loads_without_warnings():
    path = pathlib.Path(tlfast.__file__).with_name("schemas") / "api-layer228.tl"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the five known exceptions are whitelisted
        s = tlfast.Schema.from_file(path)
    assert tuple(s.id_stats) == (2461, 2456)
    assert s.layer == 228
    assert len(s) == len(API)


def test_unknown_mismatch_warns_and_declared_id_wins(backend):
    text = "pair#12345678 a:int = Pair;\n"
    with pytest.warns(TLSchemaWarning, match="pair"):
        s = tlfast.Schema.from_text(text)
    assert [d.name for d in s.id_mismatches] == ["pair"]
    assert s["pair"].id == 0x12345678
    assert s["pair"].computed_id == zlib.crc32(b"pair a:int = Pair")
    assert s.dumps(s.api.pair(a=1), backend=backend) == u32(0x12345678) + i32(1)


@pytest.mark.parametrize(
    "declaration, expected",
    [
        # docs/tl-format.md §9 examples
        ("msgs_ack msg_ids:Vector<long> = MsgsAck;", 0x62D6B459),
        ("invokeAfterMsg {X:Type} msg_id:long query:!X = X;", 0xCB9F372D),
        ("inputMessagesFilterPhoneCalls flags:# missed:flags.0?true = MessagesFilter;", 0x80C99768),
        ("msg_container messages:vector<%message> = MessageContainer;", 0x73F1F8DC),
        ("auth.importAuthorization id:int bytes:bytes = auth.Authorization;", 0xE3EF9613),
        # a parameter *named* bytes keeps its name; bytes inside Vector<> stays bytes
        ("rpc_answer_dropped msg_id:long seq_no:int bytes:int = RpcDropAnswer;", 0xA43AD8B7),
        ("messages.sendVote peer:InputPeer msg_id:int options:Vector<bytes> = Updates;", 0x10EA6184),
    ],
)
def test_ids_omitted_are_computed(declaration, expected):
    s = tlfast.Schema.from_text(declaration)
    (d,) = list(s)
    assert d.declared_id is None
    assert d.id == d.computed_id == expected
    assert tuple(s.id_stats) == (0, 0)  # nothing declared, nothing to verify


def test_every_declared_id_of_layer190_matches():
    s = tlfast.Schema.from_file(H.DATA / "api-layer190.tl")
    assert s.layer == 190
    declared, matched = s.id_stats
    assert declared == matched == 2026
    assert s.id_mismatches == []


def test_short_hex_ids():
    # tdesktop drops leading zeros: 141 ids of layer 228 have fewer than 8 digits.
    assert API["storage.fileJpeg"].id == 0x007EFE0E
    assert API["userStatusOffline"].id == 0x008C703F
    assert tlfast.schemas.api.api.storage.fileJpeg.CONSTRUCTOR_ID == 0x007EFE0E


# --- bundled schemas, classes, namespaces ---------------------------------------------
def test_layer():
    assert tlfast.LAYER == 228
    assert API.layer == 228
    assert MTPROTO.layer is None


def test_namespace_roots():
    from tlfast import api, mtproto

    assert api is API.api
    assert mtproto is MTPROTO.api


def _walk(schema, name):
    obj = schema.api
    for part in name.split("."):
        obj = getattr(obj, part)
    return obj


@pytest.mark.parametrize("schema", [API, MTPROTO], ids=["api", "mtproto"])
def test_every_definition_gets_a_class(schema):
    count = 0
    seen_ids = {}
    for d in schema:
        cls = _walk(schema, d.name)
        assert cls.TL_NAME == d.name
        assert cls.CONSTRUCTOR_ID == d.id
        assert cls.__name__ == d.short_name
        assert schema[d.name] is d or schema[d.name].name == d.name
        assert schema[d.id].name == d.name
        assert seen_ids.setdefault(d.id, d.name) == d.name, "two definitions share an id"
        assert issubclass(cls, TLObject)
        # one attribute per parameter, in schema order, except flags words (a `#` that
        # conditional params depend on: derived on encode); a `#` nothing depends on
        # (exportedChatlistInvite's flags) is a plain number
        words = {p.flag for p in d.params if p.flag is not None}
        attrs = [p.name + "_" if p.name in ("from", "self", "class", "def", "return",
                                            "global", "is", "in", "for", "with", "lambda")
                 else p.name for p in d.params if p.name not in words]
        if schema is MTPROTO and d.name == "message":
            attrs.remove("bytes")  # the body length: derived on encode, checked on decode
        assert list(cls.__slots__) == attrs, d.name
        # keyword arguments: the required fields first, then the optional ones (flags.N?
        # fields, and a plain `#` nothing depends on, which defaults to 0)
        optional = {p.name for p in d.params if p.flag is not None or str(p.type) == "#"}
        by_tl_name = dict(zip([p.name for p in d.params if p.name not in words and
                               not (schema is MTPROTO and d.name == "message" and p.name == "bytes")],
                              attrs))
        want = ([a for n, a in by_tl_name.items() if n not in optional]
                + [a for n, a in by_tl_name.items() if n in optional])
        assert list(inspect.signature(cls).parameters) == want, d.name
        if d.is_function:
            assert issubclass(cls, TLFunction)
            assert cls.RESULT == str(d.type)
        else:
            assert not issubclass(cls, TLFunction)
            assert issubclass(cls, _walk(schema, str(d.type)))
            assert issubclass(_walk(schema, str(d.type)), TLType)
        count += 1
    assert count == len(schema) == (2456 if schema is API else 52)


def test_every_type_lists_its_constructors():
    total = sum(len(v) for v in API.types.values())
    assert total == sum(1 for d in API if not d.is_function)
    assert set(API.types["User"]) == {"userEmpty", "user"}
    assert set(API.types["messages.Messages"]) == {
        "messages.messages", "messages.messagesSlice", "messages.channelMessages",
        "messages.messagesNotModified"}


def test_namespaces_and_abstract_types():
    from tlfast import api

    req = api.auth.importAuthorization(id=4965292, bytes=b"some bytes here")
    assert api.auth.importAuthorization.TL_NAME == "auth.importAuthorization"
    assert api.auth.importAuthorization.CONSTRUCTOR_ID == 0xA57A7DAD  # layer 228: id:long
    assert isinstance(req, TLFunction) and isinstance(req, TLObject)
    assert api.auth.importAuthorization.RESULT == "auth.Authorization"

    user = api.user(id=1)
    assert isinstance(user, api.User) and not isinstance(user, api.Chat)
    assert isinstance(api.userEmpty(id=2), api.User)
    assert api.User.TL_NAME == "User"
    with pytest.raises(TypeError):
        api.User()

    msgs = api.messages.messages(messages=[], topics=[], chats=[], users=[])
    assert isinstance(msgs, api.messages.Messages)
    assert api.messages.Messages.TL_NAME == "messages.Messages"
    assert api.messages.messages.TL_NAME == "messages.messages"
    assert api.messages.messages is not api.messages.Messages
    with pytest.raises(TypeError):
        api.messages.Messages()

    with pytest.raises(AttributeError):
        api.auth.noSuchThing
    assert "importAuthorization" in dir(api.auth)
    assert "auth" in dir(api)


def test_namespace_shared_with_a_constructor():
    from tlfast import api

    # `updates#...` is a constructor of Updates and `updates.` a namespace (updates.state,
    # updates.getState, updates.difference, ...): both must be reachable.
    assert api.updates.CONSTRUCTOR_ID == API["updates"].id
    assert api.updates.state.TL_NAME == "updates.state"
    assert api.updates.getDifference.TL_NAME == "updates.getDifference"
    assert isinstance(api.updates.differenceEmpty(date=1, seq=2), api.updates.Difference)


def test_message_is_defined_separately_in_both_schemas():
    from tlfast import api, mtproto

    assert api.message is not mtproto.message
    assert api.message.CONSTRUCTOR_ID == 0x7600B9D3
    assert mtproto.message.CONSTRUCTOR_ID == 0x5BB8E511  # computed: declared without an id
    assert MTPROTO["message"].declared_id is None
    assert issubclass(api.message, api.Message) and issubclass(mtproto.message, mtproto.Message)
    assert not issubclass(mtproto.message, api.Message)
    assert list(mtproto.message.__slots__) == ["msg_id", "seqno", "body"]  # bytes is derived
    assert "msg_container" not in API and "msg_container" in MTPROTO


def test_lookup_by_name_and_id():
    d = API["auth.importAuthorization"]
    assert API[0xA57A7DAD] is d or API[0xA57A7DAD].name == d.name
    assert API[0xA57A7DAD - (1 << 32)].name == "auth.importAuthorization"  # signed ids too
    assert d.is_function and str(d.type) == "auth.Authorization"
    assert [p.name for p in d.params] == ["id", "bytes"]
    assert "auth.importAuthorization" in API and 0xA57A7DAD in API
    assert 0xE3EF9613 not in API  # the seed's older id:int version
    assert "ping" not in API and "ping" in MTPROTO
    with pytest.raises(KeyError):
        API["no.such"]
    with pytest.raises(KeyError):
        API[0x12345678]
    assert API.get("no.such") is None


# --- the seed and extension ---------------------------------------------------------------
def test_seed_lines_load_on_top_of_bundled_schema(backend):
    text = H.seed_tl_lines()
    assert "auth.importAuthorization#e3ef9613" in text
    s = tlfast.Schema.from_text(text, base=API)
    assert s.layer == 228  # inherited
    assert len(s) == len(API)  # the seed's three lines redefine existing names
    assert s["auth.importAuthorization"].id == 0xE3EF9613  # the seed's (older) id wins
    assert s[0xE3EF9613].name == "auth.importAuthorization"
    assert 0xA57A7DAD not in s and 0xA57A7DAD in API
    req = s.api.auth.importAuthorization(id=4965292, bytes=b"some bytes here")
    data = s.dumps(req, backend=backend)
    assert data == bytes.fromhex("1396efe3ac c34b00 0f736f6d652062797465732068657265".replace(" ", ""))
    assert s.loads(data, backend=backend) == req
    # the rest of layer 228 is still there
    user = s.api.user(id=5, first_name="x")
    assert s.loads(s.dumps(user, backend=backend), backend=backend) == user
    auth = s.api.auth.authorization(user=user)
    assert s.loads(s.dumps(auth, backend=backend), backend=backend) == auth


def test_seed_lines_alone_are_a_partial_schema(backend):
    s = tlfast.Schema.from_text(H.seed_tl_lines())
    assert s.layer is None
    assert sorted(d.name for d in s) == [
        "auth.authorization", "auth.authorizationSignUpRequired", "auth.importAuthorization"]
    req = s.api.auth.importAuthorization(id=1, bytes=b"")
    assert s.loads(s.dumps(req, backend=backend), backend=backend) == req
    # User and help.TermsOfService are named but not defined: see the issue-11 tests below
    assert s.undefined_types == ["User", "help.TermsOfService"]


def test_later_definitions_override_earlier_ones(backend):
    with pytest.warns(TLSchemaWarning):  # made-up ids
        base = tlfast.Schema.from_text("thing#11111111 a:int = Thing;\nother#22222222 = Thing;")
        s = tlfast.Schema.from_text("thing#33333333 a:int b:int = Thing;", base=base)
    assert s["thing"].id == 0x33333333
    assert 0x11111111 not in s and 0x22222222 in s
    assert base["thing"].id == 0x11111111  # the base is untouched
    obj = s.api.thing(a=1, b=2)
    assert s.dumps(obj, backend=backend) == u32(0x33333333) + i32(1, 2)


def test_from_file(tmp_path, backend):
    path = tmp_path / "x.tl"
    path.write_text("// LAYER 3\npoint#01020304 x:int y:int = Point;\n", encoding="utf-8")
    with pytest.warns(TLSchemaWarning, match="point"):  # a made-up id
        s = tlfast.Schema.from_file(path)
    assert s.layer == 3
    assert s.dumps(s.api.point(x=1, y=-1), backend=backend) == u32(0x01020304) + i32(1, -1)


# --- custom schemas: what layer 228 lacks --------------------------------------------------
CUSTOM = """\
// A schema exercising the syntax layer 228 does not use.
// LAYER 7
/* a block comment
   spanning lines, with = and ; and // inside */
int ? = Int;
long ? = Long;
string ? = String;
vector {t:Type} # [ t ] = Vector t;
boolFalse#bc799737 = Bool;
boolTrue#997275b5 = Bool;
true#3fedd339 = True;

matrix rows:Vector<Vector<int>> = Matrix;
bools values:Vector<Bool> maybe:Vector<Vector<Bool>> = Bools;
pair a:int b:long = Pair;
pairs boxed:Vector<%Pair> bare:vector<%Pair> lower:vector<pair> = Pairs;
holder p:%Pair q:pair r:Pair = Holder;
multi
    flags:#
    a:flags.0?true          // a true sharing bit 0 with data
    b:flags.0?int
    c:flags.1?string /* inline block comment */ extra:#
    d:extra.3?true
    e:extra.3?Vector<long>
    tail:int
    = Multi;
strings s:Vector<string> = Strings;
---functions---
getPair = Pair;
wrap {X:Type} tag:int query:!X = X;
---types---
late x:int = Late;
---functions---
getLate x:int = Late;
"""


@pytest.fixture(scope="module")
def custom():
    return tlfast.Schema.from_text(CUSTOM)


def test_custom_parse(custom):
    assert custom.layer == 7
    names = [d.name for d in custom]
    assert names == ["boolFalse", "boolTrue", "true", "matrix", "bools", "pair", "pairs",
                     "holder", "multi", "strings", "getPair", "wrap", "late", "getLate"]
    functions = {d.name for d in custom if d.is_function}
    assert functions == {"getPair", "wrap", "getLate"}  # sections switch back and forth
    multi = custom["multi"]
    assert multi.id == multi.computed_id and multi.declared_id is None
    assert [str(p) for p in multi.params] == [
        "flags:#", "a:flags.0?true", "b:flags.0?int", "c:flags.1?string", "extra:#",
        "d:extra.3?true", "e:extra.3?Vector<long>", "tail:int"]
    assert multi.line == CUSTOM.splitlines().index("multi") + 1
    assert list(custom.api.multi.__slots__) == ["a", "b", "c", "d", "e", "tail"]
    # built-in pseudo declarations are definitions (custom.builtins), not classes
    assert tuple(custom.id_stats) == (3, 3)  # boolFalse, boolTrue, true
    wrap = custom["wrap"]
    assert wrap.generics == ("X",)
    assert str(wrap.type) == "X"
    assert custom.api.wrap.RESULT == "X"


def test_multiline_declaration_id_equals_single_line(custom):
    one_line = " ".join(custom["multi"].source.split())
    assert "\n" not in one_line
    s = tlfast.Schema.from_text(one_line + ";")
    assert s["multi"].computed_id == custom["multi"].computed_id
    expected = zlib.crc32(b"multi flags:# b:flags.0?int c:flags.1?string extra:# "
                          b"e:extra.3?Vector long tail:int = Multi")
    assert custom["multi"].computed_id == expected


def roundtrip(schema, backend, obj, type=None):
    data = schema.dumps(obj, type, backend=backend)
    back = schema.loads(data, type, backend=backend)
    assert back == obj
    assert schema.dumps(back, type, backend=backend) == data
    return data


def test_vector_of_vectors(custom, backend):
    m = custom.api.matrix(rows=[[1, 2], [], [-(2**31)]])
    data = roundtrip(custom, backend, m)
    V = 0x1CB5C415
    assert data == (u32(custom["matrix"].id, V) + i32(3) + u32(V) + i32(2, 1, 2)
                    + u32(V) + i32(0) + u32(V) + i32(1, -(2**31)))
    assert roundtrip(custom, backend, [[5], [6, 7]], "Vector<Vector<int>>") == (
        u32(V) + i32(2) + u32(V) + i32(1, 5) + u32(V) + i32(2, 6, 7))


def test_vector_of_bool(custom, backend):
    b = custom.api.bools(values=[True, False, True], maybe=[[], [False]])
    data = roundtrip(custom, backend, b)
    V, T, F = 0x1CB5C415, 0x997275B5, 0xBC799737
    assert data == (u32(custom["bools"].id, V) + i32(3) + u32(T, F, T)
                    + u32(V) + i32(2) + u32(V) + i32(0) + u32(V) + i32(1) + u32(F))
    with pytest.raises(TLEncodeError):
        custom.dumps(custom.api.bools(values=[1], maybe=[]), backend=backend)
    bad = u32(custom["bools"].id, V) + i32(1) + u32(0x12345678) + u32(V) + i32(0)
    with pytest.raises(tlfast.TLDecodeError, match="expected Bool"):
        custom.loads(bad, backend=backend)


def test_bare_types(custom, backend):
    P = custom.api.pair
    pairs = custom.api.pairs(boxed=[P(a=1, b=2)], bare=[P(a=3, b=4), P(a=5, b=6)], lower=[])
    data = roundtrip(custom, backend, pairs)
    V = 0x1CB5C415
    assert data == (u32(custom["pairs"].id, V) + i32(1, 1) + i64(2)  # Vector<%Pair>
                    + i32(2, 3) + i64(4) + i32(5) + i64(6)  # vector<%Pair>: no vector id
                    + i32(0))  # vector<pair>
    holder = custom.api.holder(p=P(a=1, b=2), q=P(a=3, b=4), r=P(a=5, b=6))
    data = roundtrip(custom, backend, holder)
    assert data == (u32(custom["holder"].id) + i32(1) + i64(2) + i32(3) + i64(4)
                    + u32(custom["pair"].id) + i32(5) + i64(6))
    # bare type expressions for loads/dumps
    assert roundtrip(custom, backend, P(a=7, b=8), "%Pair") == i32(7) + i64(8)
    assert roundtrip(custom, backend, P(a=7, b=8), "pair") == i32(7) + i64(8)
    assert roundtrip(custom, backend, [P(a=7, b=8)], "vector<%Pair>") == i32(1, 7) + i64(8)
    with pytest.raises(TLEncodeError):
        custom.dumps(custom.api.late(x=1), "%Pair", backend=backend)


def test_bare_needs_a_single_constructor():
    s = tlfast.Schema.from_text("a = T;\nb = T;\nuse x:%T = U;")
    with pytest.raises(TLSchemaError, match="one constructor"):
        s.api.use


def test_shared_bits_mixing_true_and_data_and_second_flags_word(custom, backend):
    M = custom.api.multi
    mid = u32(custom["multi"].id)
    # everything absent: both words zero
    assert roundtrip(custom, backend, M(tail=9)) == mid + u32(0) + u32(0) + i32(9)
    assert M(tail=9).a is False and M(tail=9).b is None and M(tail=9).d is False
    # bit 0 shared by a (true) and b (int); extra.3 by d (true) and e (vector)
    full = M(a=True, b=-1, c="hi", d=True, e=[7], tail=9)
    data = roundtrip(custom, backend, full)
    assert data == (mid + u32(0b11) + i32(-1) + b"\x02hi\x00" + u32(1 << 3)
                    + u32(0x1CB5C415) + i32(1) + i64(7) + i32(9))
    # the bit with all of its data members but the true member unset is still set,
    # so the true member decodes as True: the bit is the value
    assert custom.loads(custom.dumps(M(b=5, tail=0), backend=backend), backend=backend).a is True
    # a data member missing when the bit is set: an error naming the group
    with pytest.raises(TLEncodeError) as info:
        custom.dumps(M(a=True, tail=0), backend=backend)
    assert "a" in str(info.value) and "b" in str(info.value) and "flags.0" in str(info.value)
    with pytest.raises(TLEncodeError) as info:
        custom.dumps(M(d=True, tail=0), backend=backend)
    assert "extra.3" in str(info.value) and "e" in str(info.value)
    # on decode, the second word's bits are read from the second word only
    data = mid + u32(0) + u32(1 << 3) + u32(0x1CB5C415) + i32(0) + i32(1)
    assert custom.loads(data, backend=backend) == M(d=True, e=[], tail=1)
    data = mid + u32(1 << 3) + u32(0) + i32(1)  # flags bit 3 is not extra bit 3
    assert custom.loads(data, backend=backend) == M(tail=1)


def test_generics_and_function_typed_params(custom, backend):
    req = custom.api.wrap(tag=5, query=custom.api.getPair())
    data = roundtrip(custom, backend, req)
    assert data == u32(custom["wrap"].id) + i32(5) + u32(custom["getPair"].id)
    nested = custom.api.wrap(tag=1, query=custom.api.wrap(tag=2, query=custom.api.getLate(x=3)))
    roundtrip(custom, backend, nested)
    # the result of a generic request is its inner query's result
    pair = custom.api.pair(a=1, b=2)
    assert custom.loads(custom.dumps(pair, backend=backend), result_of=req, backend=backend) == pair
    late = custom.api.late(x=4)
    assert custom.loads(custom.dumps(late, backend=backend), result_of=nested, backend=backend) == late
    # !X takes functions only
    with pytest.raises(TLEncodeError):
        custom.dumps(custom.api.wrap(tag=1, query=pair), backend=backend)
    with pytest.raises(tlfast.TLDecodeError, match="function"):
        custom.loads(u32(custom["wrap"].id) + i32(5) + u32(custom["pair"].id) + i32(1) + i64(2),
                     backend=backend)


def test_strings_in_custom_schema(custom, backend):
    s = custom.api.strings(s=["", "a" * 253, "b" * 254, "ünï"])
    roundtrip(custom, backend, s)


# --- syntax errors ---------------------------------------------------------------------
@pytest.mark.parametrize(
    "text, line, column, fragment",
    [
        ("a#1 x:int = A;\nb#2 y:in 9:t = B;", 2, 10, "bad parameter"),
        ("a#1 x:int = A;\n\n  b#2 y:flags.0?int = B;", 3, 7, "flags"),
        ("a#1 x:int = A;\n /* open", 2, 2, "unterminated"),
        ("a x:int = A;\nb {X:Type y:int = B;", 2, 3, "'{'"),
        ("ok = A;\nnot one", 2, 1, "declaration without a closing ';'"),
        ("a#1 x:int = A;\nb#2 x:int = B\n---functions---\nc#3 = C;", 2, 1,
         "missing ';' before section marker"),
        ("a#1 = A;\n  1abc#2 = B;", 2, 3, "bad combinator name '1abc#2'"),
        ("a#1 {t:Foo} x:int = A;", 1, 5, "bad generic parameter '{t:Foo}'"),
        ("a#1 x:int = A;\nb#2 x:int = B<;", 2, 1, "unbalanced '<' in type expression 'B<'"),
        ("a#1 f:# x:f.32?int = A;", 1, 9, "bit 32"),
        ("a#1 = ;", 1, 1, "result type"),
        ("a#1 x:int A;", 1, 1, "'='"),
        ("// fine\n  ---stuff---\n", 2, 3, "section"),
        ("a#1 x:Vector<int = A;", 1, 5, "Vector<int"),
    ],
)
def test_syntax_errors_name_line_and_column(text, line, column, fragment):
    with pytest.raises(TLSchemaError) as info:
        tlfast.Schema.from_text(text)
    err = info.value
    assert isinstance(err, TLError) and isinstance(err, ValueError)
    assert (err.line, err.column) == (line, column), str(err)
    assert f"line {line}, column {column}" in str(err)
    assert fragment in str(err)


def test_result_type_applications_and_stray_semicolons():
    defs = tlfast._tlparse.parse(";\npair#1 {t:Type} a:t = Pair t;;\n;")[0]
    assert [d.name for d in defs] == ["pair"]
    assert str(defs[0].type) == "Pair<t>" and [str(a) for a in defs[0].type.args] == ["t"]


def test_definition_repr_says_what_it_is():
    assert repr(API["peerUser"]) == "<TL constructor peerUser#59511722 user_id:long = Peer>"
    assert repr(API["auth.importAuthorization"]) == (
        "<TL function auth.importAuthorization#a57a7dad id:long bytes:bytes = auth.Authorization>")


def test_type_arguments_split_at_the_top_level_commas():
    t = tlfast._tlparse.parse_type("A<Vector<Vector<int>>,long,B<c,d>>")
    assert [str(a) for a in t.args] == ["Vector<Vector<int>>", "long", "B<c,d>"]
    assert [str(a) for a in t.args[2].args] == ["c", "d"]


def test_bad_type_expressions(backend):
    for expr in ("Vector<", "Vector<int", "<int>", "Vector<int,>", "Nope", "%User"):
        with pytest.raises(TLSchemaError):
            API.loads(b"", expr, backend=backend)


# --- the bundled schemas' on-disk cache -------------------------------------------------------
_CHECK_BUNDLED = (
    "import tlfast\n"
    "from tlfast import api\n"
    "s = tlfast.schemas.api\n"
    "assert tuple(s.id_stats) == (2461, 2456) and len(s) == 2456\n"
    "assert tuple(tlfast.schemas.mtproto.id_stats) == (51, 51)\n"
    "u = api.user(id=5, first_name='x')\n"
    "assert tlfast.loads(tlfast.dumps(u)) == u\n"
    "print('ok')\n"
)


def _run_bundled(cache_dir):
    import os
    import subprocess

    env = dict(os.environ, TLFAST_CACHE_DIR=str(cache_dir), TLFAST_BACKEND="python")
    proc = subprocess.run([sys.executable, "-c", _CHECK_BUNDLED], env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr[-800:]


def test_bundled_cache_is_safe_against_corrupt_files(tmp_path):
    cache = tmp_path / "cache"
    _run_bundled(cache)  # writes the cache
    files = sorted(cache.glob("schema-*"))
    assert len(files) == 2
    _run_bundled(cache)  # reads it
    for f in files:  # garbage
        f.write_bytes(b"\x00garbage" * 100)
    _run_bundled(cache)
    for f in sorted(cache.glob("schema-*")):  # truncated
        f.write_bytes(f.read_bytes()[: f.stat().st_size // 2])
    _run_bundled(cache)
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    _run_bundled(blocker / "cache")  # cannot be created: parse without caching


def test_parenthesized_type_application_in_params():
    s = tlfast.Schema.from_text("a x:(Vector int) = A;")
    assert s["a"].computed_id == tlfast.Schema.from_text("a x:Vector<int> = A;")["a"].computed_id
    assert str(s["a"].params[0].type) == "Vector<int>"


# --- partial schemas, built-in declarations, anonymous params (issue 11) ------------------
def seed_schema():
    """The seed's three TL lines alone, without base=: User and help.TermsOfService are
    named but not defined."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the seed's ids are right: no warning either
        return tlfast.Schema.from_text(H.seed_tl_lines())


def test_seed_lines_alone_encode_and_decode(backend):
    s = seed_schema()
    assert s.undefined_types == ["User", "help.TermsOfService"]
    req = s.api.auth.importAuthorization(id=4965292, bytes=b"some bytes here")
    data = s.dumps(req, backend=backend)
    assert data == bytes.fromhex("1396efe3 acc34b00 0f736f6d 65206279 74657320 68657265")
    assert s.loads(data, backend=backend) == req
    signup = s.api.auth.authorizationSignUpRequired()  # terms_of_service absent
    body = s.dumps(signup, backend=backend)
    assert body == bytes.fromhex("9a7e7444 00000000")
    assert s.loads(body, result_of=req, backend=backend) == signup
    assert s.loads(body, backend=backend) == signup


def test_undefined_boxed_type_fails_only_where_a_value_is(backend):
    s = seed_schema()
    # decode: a constructor the schema cannot know, named by the type the field expects
    data = u32(0xCD050916, 0, 0x12345678)
    with pytest.raises(tlfast.UnknownConstructorError) as info:
        s.loads(data, backend=backend)
    assert str(info.value) == (
        "auth.authorization.user: unknown constructor 0x12345678 for User at offset 8")
    data = u32(0x44747E9A, 1, 0x12345678)  # terms_of_service present
    with pytest.raises(tlfast.TLDecodeError, match="for help.TermsOfService at offset 8"):
        s.loads(data, backend=backend)
    # encode: no value fits a type without constructors
    signup = s.api.auth.authorizationSignUpRequired()
    with pytest.raises(TLEncodeError, match="User"):
        s.dumps(s.api.auth.authorization(user=signup), backend=backend)
    with pytest.raises(TLEncodeError, match="help.TermsOfService"):
        s.dumps(s.api.auth.authorizationSignUpRequired(terms_of_service=signup), backend=backend)
    with pytest.raises(TLEncodeError, match="User"):
        s.dumps(s.api.auth.authorization(user=None), backend=backend)


def test_undefined_types_in_vectors_and_bare_positions(backend):
    s = tlfast.Schema.from_text(
        "needs u:Unknown = Needs;\nok x:int = Ok;\nlower v:vector<nothere> = Lower;\n"
        "many f:# us:f.0?Vector<Unknown> b:f.1?%Missing = Many;")
    assert s.undefined_types == ["Missing", "Unknown", "nothere"]
    empty = s.api.lower(v=[])
    assert s.loads(s.dumps(empty, backend=backend), backend=backend) == empty
    many = s.api.many(us=[])
    assert s.dumps(many, backend=backend) == u32(s["many"].id, 1, 0x1CB5C415, 0)
    assert s.loads(s.dumps(many, backend=backend), backend=backend) == many
    # bare values of an undefined constructor: no layout to read or write
    with pytest.raises(tlfast.TLDecodeError, match="nothere") as info:
        s.loads(u32(s["lower"].id) + i32(1, 7), backend=backend)
    assert info.value.offset == 8 and info.value.path == "lower.v[0]"
    with pytest.raises(tlfast.TLDecodeError, match="Missing"):
        s.loads(u32(s["many"].id, 2, 7), backend=backend)
    with pytest.raises(TLEncodeError, match="nothere"):
        s.dumps(s.api.lower(v=[s.api.ok(x=1)]), backend=backend)
    with pytest.raises(TLEncodeError, match="Unknown"):
        s.dumps(s.api.many(us=[s.api.ok(x=1)]), backend=backend)
    # a type expression given to loads/dumps must still name a defined type (a typo)
    for expr in ("Unknown", "Vector<Unknown>", "nothere", "%Missing"):
        with pytest.raises(TLSchemaError):
            s.loads(b"\0" * 4, expr, backend=backend)


def test_bundled_schemas_define_every_type_they_name():
    assert API.undefined_types == []
    # http_wait is a function of a type nothing constructs (the server never answers it)
    assert MTPROTO.undefined_types == ["HttpWait"]
    s = tlfast.Schema.from_text(H.seed_tl_lines(), base=API)
    assert s.undefined_types == []


def test_builtin_declarations_are_definitions(custom, backend):
    v = custom["vector"]
    assert v.is_builtin and not v.is_function
    assert v.id == v.computed_id == 0x1CB5C415 and v.declared_id is None
    assert custom[0x1CB5C415] is v and "vector" in custom and 0x1CB5C415 in custom
    assert v.generics == ("t",) and str(v.type) == "Vector<t>"
    assert custom["int"].id == 0xA8509BDA
    assert [d.name for d in custom.builtins] == ["int", "long", "string", "vector"]
    assert all(not d.is_builtin for d in custom)  # iterating gives objects only
    # the bundled layer declares int, long, double, string and bytes with their ids
    assert {d.name: d.id for d in API.builtins} == {
        "int": 0xA8509BDA, "long": 0x22076CBA, "double": 0x2210C154,
        "string": 0xB5286E24, "bytes": 0xE937BB82}
    assert API["bytes"].declared_id == API["bytes"].computed_id
    # and they encode as they always did
    assert custom.dumps([1, 2], "Vector<int>", backend=backend) == u32(0x1CB5C415) + i32(2, 1, 2)
    assert custom.dumps("ab", "string", backend=backend) == b"\x02ab\x00"
    with pytest.raises(AttributeError):
        custom.api.vector
    with pytest.raises(TLEncodeError, match="vector"):
        custom.from_dict({"_": "vector"})


def test_anonymous_parameters(backend):
    s = tlfast.Schema.from_text(
        "user id:int = User;\nnat # = Nat;\nboth _:int x:int = Both;\n"
        "---functions---\ngetUsers (Vector int) = Vector User;\n")
    get = s["getUsers"]
    assert get.id == get.computed_id == zlib.crc32(b"getUsers Vector int = Vector User")
    assert [(p.name, str(p.type)) for p in get.params] == [("_1", "Vector<int>")]
    assert s["nat"].id == zlib.crc32(b"nat # = Nat")
    assert [p.name for p in s["both"].params] == ["_1", "x"]
    req = s.api.getUsers([1, 2])
    data = s.dumps(req, backend=backend)
    assert data == u32(get.id, 0x1CB5C415) + i32(2, 1, 2)
    assert s.loads(data, backend=backend) == req
    assert s.loads(u32(0x1CB5C415) + i32(1) + u32(s["user"].id) + i32(5), result_of=req,
                   backend=backend) == [s.api.user(id=5)]
    nat = s.api.nat(7)
    assert s.loads(s.dumps(nat, backend=backend), backend=backend) == nat
    assert s.from_dict(nat.to_dict()) == nat
    assert s.api.both(1, 2).to_dict() == {"_": "both", "_1": 1, "x": 2}


# --- MTProto definitions added from core.telegram.org, Telethon and tdlib (issue 20) ---------
@pytest.mark.parametrize("line", [
    "msg_resend_ans_req#8610baeb msg_ids:Vector<long> = MsgResendReq",
    "p_q_inner_data_temp#3c6a84d4 pq:bytes p:bytes q:bytes nonce:int128 server_nonce:int128 "
    "new_nonce:int256 expires_in:int = P_Q_inner_data",
    "bind_auth_key_inner#75a3f765 nonce:long temp_auth_key_id:long perm_auth_key_id:long "
    "temp_session_id:long expires_at:int = BindAuthKeyInner",
    "destroy_auth_key_ok#f660e1d4 = DestroyAuthKeyRes",
    "destroy_auth_key_none#0a9f2259 = DestroyAuthKeyRes",
    "destroy_auth_key_fail#ea109b13 = DestroyAuthKeyRes",
    "destroy_auth_key#d1435160 = DestroyAuthKeyRes",
])
def test_mtproto_has_the_official_definitions(line):
    d = MTPROTO[line.partition("#")[0]]
    assert d.source == line and d.id == d.computed_id
    assert d.is_function == (d.name == "destroy_auth_key")


def test_msg_resend_ans_req_in_a_container(backend):
    # A client asks for the answers to two queries again, beside an ack (hand-built bytes).
    ask = u32(0x8610BAEB, 0x1CB5C415) + i32(2) + struct.pack("<qq", 111, 222)
    ack = u32(0x62D6B459, 0x1CB5C415) + i32(1) + struct.pack("<q", 333)
    data = u32(0x73F1F8DC) + i32(2)
    for msg_id, body in ((10, ask), (11, ack)):
        data += struct.pack("<qii", msg_id, 1, len(body)) + body
    c = MTPROTO.loads(data, backend=backend)
    assert isinstance(c.messages[0].body, mtproto.msg_resend_ans_req)
    assert c.messages[0].body.msg_ids == [111, 222]
    assert c.messages[1].body == mtproto.msgs_ack(msg_ids=[333])
    assert MTPROTO.dumps(c, backend=backend) == data
    assert tlfast.loads(data) == c


# --- mutants that survived (issue 20) --------------------------------------------------------
@pytest.mark.parametrize("name, namespace, short", [
    ("adnl.message.query", "adnl.message", "query"),  # TON's names: the namespace is all before the last dot
    ("wallet.v3.initialAccountState", "wallet.v3", "initialAccountState"),
    ("auth.importAuthorization", "auth", "importAuthorization"),
    ("ping", "", "ping"),
])
def test_definition_namespace_and_short_name(name, namespace, short):
    s = tlfast.Schema.from_text(f"{name} x:int = X;")
    assert (s[name].namespace, s[name].short_name) == (namespace, short)


def test_builtin_declaration_replaces_an_earlier_definition(backend):
    base = tlfast.Schema.from_text("foo x:int = Foo;\nbar y:int = Bar;")
    s = tlfast.Schema.from_text("foo ? = Foo;", base=base)
    assert "foo" in s and s["foo"].is_builtin and [d.name for d in s] == ["bar"]
    assert len(s) == 1 and [d.name for d in s.builtins] == ["foo"]
    with pytest.raises(AttributeError):
        s.api.foo
    assert s.dumps(s.api.bar(y=1), backend=backend) == u32(base["bar"].id) + i32(1)
