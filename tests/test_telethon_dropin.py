"""The Telethon drop-in (tlfast.telethon, issue 8): Telethon with it installed must see
exactly what it sees without it.

The proof is differential, over every constructor and function Telethon 1.45 knows (its own
layer 229, rebuilt by the adapter): random instances built with Telethon's classes ->
``bytes()`` -> decoded by stock Telethon and by Telethon with the drop-in -> the same class,
the same ``vars()`` recursively (the private attributes of Telethon's patched ``Message``
included) and the same bytes again; and ``bytes(obj)`` is identical with and without the
drop-in, Telethon's lenient values included. Both backends, through the ``backend`` fixture.
"""

import datetime
import struct
import threading

import pytest

telethon = pytest.importorskip("telethon")
from telethon.extensions import BinaryReader  # noqa: E402
from telethon.errors import TypeNotFoundError  # noqa: E402
from telethon.tl import functions, types  # noqa: E402
from telethon.tl.alltlobjects import tlobjects  # noqa: E402
from telethon.tl.tlobject import TLObject  # noqa: E402

import tlfast  # noqa: E402
import tlfast.telethon as TT  # noqa: E402
from tlfast import _backend  # noqa: E402

import _helpers as H  # noqa: E402
import strategies as S  # noqa: E402

HOST = TT.schema()  # Telethon's layer as a tlfast Schema (tlfast's classes)
GEN = S.TLStrategies([HOST], allowed=lambda p: p.id in tlobjects)
PLANS = [p for p in GEN.plans if GEN.usable(p)]
CHUNK = 160
CHUNKS = range(-(-len(PLANS) // CHUNK))


def full(backend):
    """Install the drop-in on ``backend`` serving everything it can (by default the pure
    engine leaves small objects and encoding to Telethon: see test_pure_engine_policy)."""
    return TT.install(backend=backend, encode=True, min_bytes=0)


@pytest.fixture
def installed(backend):
    """The drop-in installed on ``backend`` for one test, then removed."""
    TT.uninstall()
    full(backend)
    yield TT
    TT.uninstall()


to_telethon = H.to_telethon


def same(a, b, path="$"):
    """Identical classes and ``vars()``, recursively, in the same order (the order in which
    the class's ``__init__`` sets them)."""
    assert type(a) is type(b), f"{path}: {type(a).__name__} != {type(b).__name__}"
    if isinstance(a, (list, tuple)):
        assert len(a) == len(b), f"{path}: {len(a)} != {len(b)} elements"
        for i, (x, y) in enumerate(zip(a, b)):
            same(x, y, f"{path}[{i}]")
    elif isinstance(a, TLObject):
        va, vb = vars(a), vars(b)
        assert list(va) == list(vb), f"{path}: attributes {list(va)} != {list(vb)}"
        for k in va:
            same(va[k], vb[k], f"{path}.{k}")
    else:
        assert a == b, f"{path}: {a!r} != {b!r}"
        if isinstance(a, datetime.datetime):
            assert a.tzinfo is b.tzinfo, path


def stock_decode(data):
    assert not TT.installed()
    r = BinaryReader(data)
    return r.tgread_object(), r.tell_position()


@pytest.fixture(scope="module")
def sweep():
    """Per chunk: (plan, Telethon object, its stock bytes, stock decode, stock re-encode)."""
    TT.uninstall()
    chunks = []
    for part in H.corpus("telethon-host", GEN, PLANS, 2, CHUNK):
        rows = []
        for plan, value in part:
            obj = to_telethon(value)
            data = bytes(obj)
            decoded, used = stock_decode(data)
            assert used == len(data), plan.name
            kept = H.storage(decoded, _is_object)  # before anything makes a __dict__
            rows.append((plan, obj, data, decoded, bytes(decoded), kept))
        chunks.append(rows)
    return chunks


def test_every_host_constructor_is_covered():
    assert len(PLANS) >= 2500
    report = TT.install()
    try:
        assert report["served"] >= 2500 and report["delegated"] <= 16
        assert report["layer"] == 229 and report["host"] == "telethon"
    finally:
        TT.uninstall()


@pytest.mark.parametrize("chunk", CHUNKS)
def test_every_constructor_decodes_and_encodes_as_telethon(backend, chunk, sweep):
    TT.uninstall()
    full(backend)
    try:
        for plan, obj, data, stock, stock_again, stock_kept in sweep[chunk]:
            r = BinaryReader(data)
            mine = r.tgread_object()
            assert r.tell_position() == len(data), plan.name
            try:
                assert H.storage(mine, _is_object) == stock_kept, "attributes kept otherwise"
                same(stock, mine)
                H.behaves_alike(mine, stock, _children)
            except AssertionError as exc:
                raise AssertionError(f"{plan.name}: {exc}") from None
            assert bytes(mine) == stock_again, plan.name
            assert bytes(obj) == data, plan.name
        assert TT.report()["fallbacks"] == 0  # the engine did it all
    finally:
        TT.uninstall()


def _is_object(v):
    return isinstance(v, TLObject)


def _children(mine, stock):
    """The TL objects and lists in the attributes of a decoded pair (H.behaves_alike)."""
    if not isinstance(stock, TLObject):
        return []
    return [(k, (getattr(mine, k), v)) for k, v in vars(stock).items()
            if isinstance(v, (TLObject, list))]


# --- Telethon's lenient values on encode ----------------------------------------------------
def _peer():
    return types.InputPeerUser(user_id=5, access_hash=-7)


LENIENT = [
    # dates: datetime (aware, naive = UTC), date, float, int, None (0), timedelta is relative
    # to now (tested apart below)
    types.UpdateShortMessage(id=1, user_id=2, message="m", pts=3, pts_count=1, date=d)
    for d in (datetime.datetime(2024, 5, 6, 7, 8, 9, tzinfo=datetime.timezone.utc),
              datetime.datetime(2024, 5, 6, 7, 8, 9),
              datetime.date(2024, 5, 6), 1714979289.9, 1714979289, None, 0,
              datetime.datetime(2100, 1, 1))  # wraps past 2**31, as Telethon does
] + [
    # str for bytes; bytes for string
    types.InputDocument(id=1, access_hash=2, file_reference="référence"),
    types.InputPeerPhotoFileLocation(peer=_peer(), photo_id=3, big=1),  # true by truth
    functions.messages.SendMessageRequest(peer=_peer(), message=b"bytes text", random_id=9),
    # a flag present unless None or False: 0, '' and [] are present; False is absent
    functions.messages.SendMessageRequest(peer=_peer(), message="", random_id=9, entities=[],
                                          reply_to=None, schedule_date=0, silent=False),
    # Bool by truth, and a flagged Bool is present unless None (False is sent)
    types.PeerNotifySettings(show_previews=0, silent=False, mute_until=None),
    types.PeerNotifySettings(show_previews="yes", silent=[], stories_muted=False),
]


@pytest.mark.parametrize("i", range(len(LENIENT)))
def test_lenient_values_encode_as_telethon(backend, i):
    obj = LENIENT[i]
    TT.uninstall()
    want = bytes(obj)
    full(backend)
    try:
        assert bytes(obj) == want
        assert TT.report()["fallbacks"] == 0  # tlfast wrote it, not Telethon's own code
    finally:
        TT.uninstall()


def test_timedelta_date_is_from_now(installed):
    obj = types.UpdateShortMessage(id=1, user_id=2, message="m", pts=3, pts_count=1,
                                   date=datetime.timedelta(days=1))
    sent = struct.unpack_from("<i", bytes(obj), 4 + 4 + 4 + 8 + 4 + 4 + 4)[0]  # id..pts_count
    assert abs(sent - (datetime.datetime.now().timestamp() + 86400)) < 5


# --- errors keep Telethon's control flow ----------------------------------------------------
def test_unknown_constructor_is_telethons_type_not_found(installed):
    data = b"\x01\x02\x03\x04rest"
    r = BinaryReader(b"\0" * 4 + data)
    r.read_int()
    with pytest.raises(TypeNotFoundError) as info:
        r.tgread_object()
    err = info.value
    assert isinstance(err, tlfast.TLDecodeError) and isinstance(err, tlfast.UnknownConstructorError)
    assert err.invalid_constructor_id == 0x04030201 and err.remaining == data
    assert r.tell_position() == 4  # at the id, as Telethon leaves it
    # nested: the message's media has an unknown id
    msg = types.Message(id=1, peer_id=types.PeerUser(1), date=None, message="",
                        media=types.MessageMediaUnsupported())
    raw = bytes(msg).replace(struct.pack("<I", types.MessageMediaUnsupported.CONSTRUCTOR_ID),
                             struct.pack("<I", 0x0BADF00D))
    with pytest.raises(TypeNotFoundError) as info:
        BinaryReader(raw).tgread_object()
    assert info.value.invalid_constructor_id == 0x0BADF00D and info.value.path == "message.media"


def test_truncated_input_is_a_buffer_error(installed):
    data = bytes(types.User(id=1, first_name="a long enough name", phone="123"))
    for cut in (2, 10, len(data) - 1):
        with pytest.raises(BufferError) as info:
            BinaryReader(data[:cut]).tgread_object()
        assert isinstance(info.value, tlfast.TLDecodeError)


def test_wrong_value_on_encode_is_a_type_error(installed):
    # Telethon's own test (tests/telethon/tl/test_serialization.py): a nested int where an
    # InputUser is expected.
    req = functions.messages.GetCommonChatsRequest(user_id=123, max_id=0, limit=10)
    with pytest.raises(TypeError) as info:
        bytes(req)
    assert isinstance(info.value, tlfast.TLEncodeError)
    with pytest.raises(TypeError):
        bytes(types.PeerUser(user_id="five"))


def test_what_tlfast_refuses_and_telethon_takes_is_telethons(installed, backend):
    # True for an int (struct.pack takes a bool): Telethon's own bytes, counted.
    obj = types.PeerUser(user_id=True)
    TT.uninstall()
    want = bytes(obj)
    full(backend)
    assert bytes(obj) == want and TT.report()["fallbacks"] == 1


def test_decode_where_tlfast_is_stricter_than_telethon(installed, backend):
    # Telethon does not check a vector's id, nor that a field's constructor is of its type.
    data = bytearray(bytes(types.Updates(updates=[], users=[], chats=[], date=None, seq=1)))
    data[4:8] = b"\0\0\0\0"
    TT.uninstall()
    want = BinaryReader(bytes(data)).tgread_object()
    full(backend)
    same(want, BinaryReader(bytes(data)).tgread_object())
    assert TT.report()["fallbacks"] == 1


# --- objects tlfast does not own --------------------------------------------------------------
class CustomRequest(functions.messages.GetAllStickersRequest.__mro__[1]):  # a TLRequest
    CONSTRUCTOR_ID = 0x12345678

    def _bytes(self):
        return struct.pack("<Ii", self.CONSTRUCTOR_ID, 42)


def test_users_own_requests_write_themselves(installed):
    assert bytes(CustomRequest()) == struct.pack("<Ii", 0x12345678, 42)
    wrapped = functions.InvokeWithLayerRequest(layer=229, query=CustomRequest())
    assert bytes(wrapped) == struct.pack("<Ii", 0xDA9B0D0D, 229) + bytes(CustomRequest())
    from telethon.network.mtprotostate import _OpaqueRequest

    after = functions.InvokeAfterMsgRequest(msg_id=5, query=_OpaqueRequest(b"\1\2\3\4"))
    assert bytes(after) == struct.pack("<Iq", 0xCB9F372D, 5) + b"\1\2\3\4"


# --- install / uninstall --------------------------------------------------------------------
def test_import_does_not_import_telethon():
    import subprocess
    import sys

    code = ("import sys, tlfast.telethon as t; assert 'telethon' not in sys.modules; "
            "assert not t.installed() and t.report() == {}")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_uninstall_restores_the_same_objects(backend):
    TT.uninstall()
    read, to_bytes = BinaryReader.__dict__["tgread_object"], TLObject.__dict__["__bytes__"]
    full(backend)
    assert TT.installed()
    assert BinaryReader.__dict__["tgread_object"] is not read
    assert TLObject.__dict__["__bytes__"] is not to_bytes
    assert TT.install(backend=backend) == TT.report()  # idempotent
    TT.uninstall()
    assert not TT.installed() and TT.report() == {}
    assert BinaryReader.__dict__["tgread_object"] is read
    assert TLObject.__dict__["__bytes__"] is to_bytes
    TT.uninstall()  # a no-op


def test_install_from_eight_threads(backend):
    TT.uninstall()
    read = BinaryReader.__dict__["tgread_object"]
    barrier = threading.Barrier(8)
    reports, errors = [], []

    def go():
        try:
            barrier.wait()
            reports.append(full(backend))
            reports.append(BinaryReader.__dict__["tgread_object"])
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=go) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert not errors and len(reports) == 16
        assert len({id(f) for f in reports[1::2]}) == 1  # patched once
        assert all(r == reports[0] for r in reports[0::2])
    finally:
        TT.uninstall()
    assert BinaryReader.__dict__["tgread_object"] is read


def test_report_and_schema(installed):
    report = TT.report()
    assert report["backend"] == _backend.engine(installed.report()["backend"]).NAME
    assert report["seams"] == ["BinaryReader.tgread_object", "TLObject.__bytes__"]
    assert report["version"] == telethon.__version__ and report["cache"] in ("hit", "built")
    s = TT.schema()
    assert isinstance(s, tlfast.Schema) and s.layer == 229
    assert s["replyInlineMarkup"].id == 0xB2B15770  # new in 229, not in the bundled 228
    assert 0xB2B15770 not in tlfast.schemas.api
    assert not s.id_mismatches or all(d.name in ("ipPortSecret", "accessPointRule",
                                                 "help.configSimple")
                                      for d in s.id_mismatches)


# --- the receive path: encrypted frames -> decrypt_message_data -> read_result ---------------
def _receive_bodies():
    import gzip

    from tlfast import _bench

    messages = _bench.tlfast_data("messages_100")  # messages.messages, 60 KB

    def message(msg_id, body):
        return struct.pack("<qii", msg_id, 1, len(body)) + body

    def rpc_result(req_msg_id, body):
        return struct.pack("<Iq", 0xF35C6D01, req_msg_id) + body

    gzipped = struct.pack("<I", 0x3072CFA1) + bytes(TLObject.serialize_bytes(gzip.compress(messages)))
    update = bytes(types.UpdateShort(update=types.UpdateUserTyping(
        user_id=1, action=types.SendMessageTypingAction()), date=None))
    container = struct.pack("<Ii", 0x73F1F8DC, 3) + message(11, rpc_result(101, gzipped)) \
        + message(13, update) + message(15, rpc_result(104, messages))
    vector_long = rpc_result(102, struct.pack("<Iiqq", 0x1CB5C415, 2, 7, -8))
    error = rpc_result(103, bytes(types.RpcError(error_code=420, error_message="FLOOD_WAIT_3")))
    return [container, vector_long, error, gzipped]


def _receive(server):
    """Every frame through a fresh MTProtoState, then read_result by its request.
    ``server`` is one telethon_server_frames() result, shared by the passes compared: its
    msg_ids carry the clock's second, so frames made twice differ across a second boundary
    (always under the slow sanitizer build of fuzz/asan.sh)."""
    history = functions.messages.GetHistoryRequest(
        peer=_peer(), offset_id=0, offset_date=None, add_offset=0, limit=100, max_id=0,
        min_id=0, hash=0)
    requests = {101: history, 102: functions.photos.DeletePhotosRequest(id=[]), 103: history,
                104: history}
    new_state, frames = server
    state = new_state()
    out = []
    for frame in frames:
        msg = state.decrypt_message_data(frame)
        items = getattr(msg.obj, "messages", None) or [msg]
        results = []
        for item in items:
            obj = item.obj
            if getattr(obj, "body", None) is not None:
                with BinaryReader(obj.body) as reader:
                    results.append(requests[obj.req_msg_id].read_result(reader))
            elif getattr(obj, "data", None) is not None:  # gzip_packed at the top level
                results.append(BinaryReader(obj.data).tgread_object())
        out.append((msg, results))
    return out


def test_receive_path_as_telethon(backend):
    from tlfast import _bench

    server = _bench.telethon_server_frames(_receive_bodies())
    TT.uninstall()
    want = _receive(server)
    kinds = [type(m.obj).__name__ for m, _ in want]
    assert kinds == ["MessageContainer", "RpcResult", "RpcResult", "GzipPacked"]
    assert [type(r).__name__ for r in want[0][1]] == ["Messages", "Messages"]
    assert want[1][1] == [[7, -8]] and want[2][0].obj.error.error_code == 420
    full(backend)
    try:
        got = _receive(server)
        assert TT.report()["fallbacks"] == 0
    finally:
        TT.uninstall()
    same(want, got)


def test_bench_rows(backend):
    """``python -m tlfast bench`` times Telethon with the drop-in beside stock Telethon;
    every case is checked (same objects, same bytes) before it is timed."""
    from tlfast import _bench

    codec = "telethon+tlfast" + ("-python" if backend.NAME == "python" else "")
    report = _bench.run(["messages_100"], ["telethon", codec], quick=True)
    by = {(r["op"], r["codec"]): r for r in report["results"]}
    for op in ("decode", "encode", "receive"):
        for c in ("telethon", codec):
            assert by[(op, c)]["status"] == "ok", by[(op, c)]
        assert "ratio" in by[(op, codec)] and "target" in by[(op, codec)]
    assert not TT.installed()  # installed only around its own samples
    assert "receive" in _bench.format_table(report)


def test_pure_engine_policy(backend):
    """By default the pure engine decodes plain constructors of any size, other small data
    (under PURE_MIN_BYTES: Bool, Vector, core objects) through Telethon's own code, and
    leaves encoding to Telethon (never slower than Telethon); the Cython one serves
    everything."""
    from tlfast.adapters import telethon as A

    TT.uninstall()
    to_bytes = TLObject.__dict__["__bytes__"]
    report = TT.install(backend=backend)
    try:
        pure = backend.NAME == "python"
        assert report["min_bytes"] == (A.PURE_MIN_BYTES if pure else 0)
        assert (TLObject.__dict__["__bytes__"] is to_bytes) == pure
        assert report["seams"][0] == "BinaryReader.tgread_object"
        small = bytes(types.PeerUser(user_id=5))
        same(BinaryReader(small).tgread_object(), types.PeerUser(user_id=5))
        sweep_data = _receive_bodies()[0]  # a container of 120 KB: the engine's
        TT.uninstall()
        want = BinaryReader(sweep_data).tgread_object()
        TT.install(backend=backend)
        same(want, BinaryReader(sweep_data).tgread_object())
    finally:
        TT.uninstall()


def test_small_objects_decode_as_telethon_and_the_general_read(backend):
    """The default install on small objects (on the pure engine: the seam's direct path from
    the id to the generated decoder) gives Telethon's values and reader positions, and on
    cut data the same errors, offsets and field paths as tlfast's own general read."""
    from tlfast import _bench

    TT.uninstall()
    user = types.User(id=12345678, first_name="Alice", username="alice", access_hash=99)
    payloads = [bytes(types.PeerUser(5)), bytes(user),
                bytes(types.UpdateShort(update=types.UpdateUserTyping(
                    user_id=1, action=types.SendMessageTypingAction()), date=None)),
                _bench.tlfast_data("import_authorization")]
    stock = []
    for data in payloads:
        reader = BinaryReader(data + b"\0" * 8)  # something after it: the position counts
        stock.append((reader.tgread_object(), reader.tell_position()))
    TT.install(backend=backend)
    try:
        general = TT.schema()
        for data, (want, at) in zip(payloads, stock):
            reader = BinaryReader(data + b"\0" * 8)
            same(reader.tgread_object(), want)
            assert reader.tell_position() == at
            for cut in range(8, len(data)):  # under 8 bytes the pure one uses Telethon's
                with pytest.raises(tlfast.TLDecodeError) as got:
                    BinaryReader(data[:cut]).tgread_object()
                with pytest.raises(tlfast.TLDecodeError) as ref:
                    backend.Reader(data[:cut], general).read_object()
                assert (str(got.value), got.value.offset) == (str(ref.value), ref.value.offset)
                assert isinstance(got.value, BufferError)
    finally:
        TT.uninstall()


def test_id_only_data_decodes_as_telethon(backend):
    """Data that is an id alone (a Bool result, a field-less constructor such as
    inputPeerEmpty), a small core object and a short Vector, at the end of the stream and
    before more data: on the pure engine the seam answers the first from tables and calls
    Telethon's readers for the others; value, class, attributes and position as Telethon's."""
    TT.uninstall()
    datas = [(0x997275B5).to_bytes(4, "little"), (0xBC799737).to_bytes(4, "little"),
             bytes(types.InputPeerEmpty()), bytes(types.InputUserSelf()),
             # small data the pure seam hands to Telethon's own readers: a core object (the
             # reply to a request returning Bool) and a short Vector
             struct.pack("<IqI", 0xF35C6D01, 1 << 40, 0x997275B5),
             struct.pack("<Ii", 0x1CB5C415, 2) + bytes(types.PeerUser(5)) * 2]

    def plain(value):
        if isinstance(value, bool):
            return value
        if isinstance(value, list):
            return [(type(v), vars(v)) for v in value]
        return vars(value)

    def read_all():
        out = []
        for data in datas:
            for tail in (b"", b"\0" * 8):
                reader = BinaryReader(data + tail)
                value = reader.tgread_object()
                out.append((type(value), plain(value), reader.tell_position()))
        return out

    want = read_all()
    TT.install(backend=backend)
    try:
        assert read_all() == want
    finally:
        TT.uninstall()


def test_pure_seam_shortcut_is_only_for_plain_constructors():
    """The pure engine's direct path (boxed_decoder) is the cached generated decoder of a
    plain constructor, and nothing for ids the general read treats otherwise (a host's
    delegate, gzip_packed, Bool, Vector, unknown). Pure engine only: Cython has no seam."""
    from tlfast import _codec_py as E
    from tlfast import _primitives as P
    from tlfast._late import codec_of

    codec = codec_of(None)
    cid = 0x7F3B18EA  # inputPeerEmpty
    dec = E.boxed_decoder(codec, cid)
    assert dec is not None and dec is E._decoder(codec.plan_by_id(cid))
    for other in (P.GZIP_PACKED, P.BOOL_TRUE, P.BOOL_FALSE, P.VECTOR, 0x0BADF00D):
        assert E.boxed_decoder(codec, other) is None
    codec.delegates[cid] = lambda buf, pos, end: (None, pos + 4)
    try:
        assert E.boxed_decoder(codec, cid) is None
    finally:
        del codec.delegates[cid]


def test_message_fast_path_is_checked_against_init():
    """Telethon's patched Message classes are built from a template plus a finish step
    only because an install-time check found them equal to calling the class; a finish
    step that differs anywhere fails that check (and the class is called instead)."""
    from tlfast.adapters import telethon as A

    _, attrs, _, _, inits, _ = A._layer()
    for ctor in (types.Message, types.MessageService, types.MessageEmpty):
        cls = tlobjects[ctor.CONSTRUCTOR_ID]
        names, trues = attrs[ctor.CONSTRUCTOR_ID], inits[ctor.CONSTRUCTOR_ID][2]
        mode, template, finish = A._message_fast_path(cls, names, trues)
        assert mode == tlfast._plans.DICT and len(template) == len(vars(cls(id=0, peer_id=None)))

        def no_sender(d, finish=finish):
            finish(d)
            d["_sender_id"] = None

        def media_kept(d, finish=finish):
            media = d["media"]
            finish(d)
            d["media"] = media

        assert not A._same_as_init(cls, names, trues, template, no_sender)
        if ctor is types.Message:  # the one with media
            assert not A._same_as_init(cls, names, trues, template, media_kept)
    TT.uninstall()
    assert TT.install()["message_fast_path"] == 3
    TT.uninstall()


def test_cli_diff_against_telethons_layer(capsys):
    from tlfast.__main__ import main

    assert main(["schema", "--diff", str(tlfast.schema._SCHEMA_DIR) + "/api-layer228.tl",
                 "telethon:"]) == 0
    out = capsys.readouterr().out
    assert "+++ telethon: (layer 229," in out
    assert "~ replyInlineMarkup" in out and "id 0x48a30254 -> 0xb2b15770" in out


def test_decoded_objects_behave_as_telethons(installed):
    """pickle, to_dict, stringify, to_json, Telethon's Message properties and its own
    attribute on Updates, on objects the drop-in built."""
    import pickle

    from tlfast import _bench

    data = _bench.tlfast_data("messages_100")
    got = BinaryReader(data).tgread_object()
    TT.uninstall()
    want = BinaryReader(data).tgread_object()
    assert got.to_dict() == want.to_dict() and got.stringify() == want.stringify()
    assert got.to_json() == want.to_json()
    same(pickle.loads(pickle.dumps(got)), want)
    for g, w in zip(got.messages, want.messages):
        assert (g.sender_id, g.chat_id, g.text, g.is_reply) == (w.sender_id, w.chat_id, w.text, w.is_reply)
    got._self_outgoing = True  # Telethon sets this on decoded Updates


def test_decoded_response_holds_what_telethons_does(backend):
    """A bot that keeps what it received pays no memory for the drop-in: the decoded
    messages_100 (59,480 B) held 863 KiB through it against 508 KiB stock on 3.11 when each
    object had a dict of its own."""
    from tlfast import _bench

    data = _bench.tlfast_data("messages_100")
    TT.uninstall()
    stock = H.held_bytes(lambda b: BinaryReader(b).tgread_object(), data)
    full(backend)
    try:
        mine = H.held_bytes(lambda b: BinaryReader(b).tgread_object(), data)
    finally:
        TT.uninstall()
    assert mine <= 1.03 * stock, f"{mine / 1024:.0f} KiB held, stock {stock / 1024:.0f} KiB"


def test_no_leaks_through_the_seams(installed):
    """Objects the drop-in builds (held off the collector during a decode), the host's own
    objects it delegates to, and error paths leave nothing behind."""
    import gc

    from tlfast import _bench

    data = _bench.tlfast_data("messages_100")
    bad = bytes(types.Message(id=1, peer_id=types.PeerUser(1), date=None, message="",
                              media=types.MessageMediaUnsupported())).replace(
        struct.pack("<I", types.MessageMediaUnsupported.CONSTRUCTOR_ID), b"\x0d\xf0\xad\x0b")
    container = _receive_bodies()[0]

    def cycle():
        obj = BinaryReader(data).tgread_object()
        bytes(obj)
        BinaryReader(container).tgread_object()
        try:
            BinaryReader(bad).tgread_object()
        except TypeNotFoundError:
            pass

    for _ in range(3):
        cycle()
    gc.collect()
    before = len(gc.get_objects())
    for _ in range(30):
        cycle()
    gc.collect()
    assert len(gc.get_objects()) - before < 100
