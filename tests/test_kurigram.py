"""tlfast against kurigram 2.2.26 (the Pyrogram fork, imported as ``pyrogram``; layer 229),
for every constructor and function whose id both know.

For each one, random valid tlfast objects (tests/strategies.py, restricted to ids kurigram
knows, recursively) are checked the way test_telethon.py checks Telethon:
- kurigram reads tlfast's bytes (``pyrogram.raw.core.TLObject.read``), uses exactly all of
  them, and ``obj.write()`` equals them;
- tlfast decodes kurigram's bytes back to the same object and re-encodes identically;
- a kurigram object built directly from the tlfast object's values (its constructor, not
  its reader) writes tlfast's bytes.

kurigram quirks found while writing this (findings about kurigram, each pinned by its own
test below, and kept out of the sweep only through the named overrides in this file):
- ``flags.N?Vector<T>`` present but empty: kurigram sets the bit only ``if self.field``
  (truthiness), so an empty vector is dropped on write (the flag bit and 8 bytes lost; in
  a bit shared with a ``true`` flag, the bit stays and the vector bytes go: malformed).
  _KurigramStrategies makes a present optional vector non-empty;
- a boxed ``Vector<T>`` of objects is read by guessing the element type from the bytes
  left in the stream: if they average exactly 4 (or 8) per element the elements are read
  as ``int`` (or ``long``), and ``write()`` then fails. The sweep reads from a stream with
  one extra byte after the data (_TAIL), which no element size divides; mtproto
  ``message`` bodies, read by kurigram from a buffer of exactly their length, get objects
  without nested objects (_KurigramStrategies._object_position);
- a Python bool (boolTrue/boolFalse) or a list (Vector) in an ``Object`` position
  (``rpc_result.result``, mtproto ``message.body``) is read but cannot be written (it has
  no ``write``): those positions get TL objects only (_KurigramStrategies._object_position);
- bare ``vector<T>`` (lowercase; accessPointRule.ips, help.configSimple.rules) is read and
  written as a boxed Vector (with its 0x1cb5c415 id): excluded (BOXES_BARE_VECTORS);
- mtproto ``message`` and ``future_salt`` are bare-only in kurigram (raw.core): read as
  boxed, but ``write()`` omits the constructor id (BARE_ONLY);
- mtproto ``msgs_state_info.info`` / ``msgs_all_info.info`` (TL ``bytes``) are typed
  ``string``: status bytes >= 0x80 come back as U+FFFD (as in Telethon);
- a ``flags:#`` that no parameter depends on (exportedChatlistInvite,
  stories.allStoriesNotModified) is always written as 0 (as in Telethon);
- a ``Bool`` field holding any id but boolTrue reads as False in kurigram (tlfast rejects it);
- layer 229 vs tlfast's 228: 11 names have another id (pinned list); the three ids whose
  required fields need one of them cannot be generated.
Pinned agreements: invalid UTF-8 in a ``string`` is replaced with U+FFFD the same way by
both; double bits (NaN payloads, -0.0, infinities) survive both unchanged.
No disagreement where tlfast is wrong was found.
"""

import functools
import inspect
import io

import pytest
from hypothesis import strategies as st

import tlfast

pyrogram = pytest.importorskip("pyrogram")
from pyrogram.raw.all import layer as KURIGRAM_LAYER  # noqa: E402
from pyrogram.raw.all import objects  # noqa: E402  (id -> class once pyrogram.raw is imported)
from pyrogram.raw.core import TLObject as KObject  # noqa: E402

import _helpers as H  # noqa: E402  (tests/ is on sys.path: conftest.py)
import strategies as S  # noqa: E402

from tlfast import _plans as PL  # noqa: E402
from tlfast import api, mtproto  # noqa: E402

API = tlfast.schemas.api
MTPROTO = tlfast.schemas.mtproto

#: bare-only in kurigram: write() leaves out the constructor id (mtproto message, future_salt)
BARE_ONLY = frozenset({0x5BB8E511, 0x0949D9DC})
#: a lowercase vector<T> field, written boxed by kurigram: nothing byte-identical to compare
BOXES_BARE_VECTORS = frozenset({"accessPointRule", "help.configSimple"})
#: appended to what kurigram reads: no element size divides the bytes left, so its Vector
#: element-type guess (4 -> int, 8 -> long) never fires on tlfast's own data
_TAIL = b"\x00"

_UTF8 = st.text(st.characters(codec="utf-8"), max_size=8).map(str.encode)
KURIGRAM_SAFE = {
    ("msgs_state_info", "info"): _UTF8,
    ("msgs_all_info", "info"): _UTF8,
    ("exportedChatlistInvite", "flags"): st.just(0),
    ("stories.allStoriesNotModified", "flags"): st.just(0),
}


def _known(plan):
    return plan.id in objects and plan.name not in BOXES_BARE_VECTORS


def _flat(plan):
    """Only primitive fields (and vectors of primitives): nothing kurigram has to guess."""
    return all(f.kind not in (PL.OBJECT, PL.BARE)
               and (f.kind not in (PL.VECTOR, PL.BARE_VECTOR)
                    or f.type.elem.kind not in (PL.OBJECT, PL.BARE, PL.VECTOR, PL.BARE_VECTOR))
               for f in plan.fields)


class _KurigramStrategies(S.TLStrategies):
    """TLStrategies inside kurigram's assumptions (see the module docstring):
    a present ``flags.N?Vector`` holds at least one element, and ``Object`` positions
    hold TL objects (never Python bools or lists)."""

    def fits(self, tp, depth):
        if tp.kind in (PL.VECTOR, PL.BARE_VECTOR):  # present only if an element fits too
            return super().fits(tp.elem, depth + 1)
        return super().fits(tp, depth)

    def field_value(self, plan, field, depth):
        tp = field.type
        if (plan.name, field.name) in self.overrides:
            return super().field_value(plan, field, depth)
        if field.kind == PL.OBJECT and tp.boxed.ids is None and not tp.boxed.functions_only:
            return self._object_position(plan, depth)
        if field.flag >= 0 and field.kind in (PL.VECTOR, PL.BARE_VECTOR):
            size = max(1, self.max_list - depth // 2)
            return st.lists(self.value(tp.elem, depth + 1), min_size=1, max_size=size)
        return super().field_value(plan, field, depth)

    def _object_position(self, plan, depth):
        """TL objects only (no Python bools or lists); flat ones in an mtproto message body,
        which kurigram reads from a buffer of exactly its length."""
        cands = [p for p in self.plans if self.usable(p) and p.name != "message"]
        if plan.id == 0x5BB8E511:
            cands = [p for p in cands if _flat(p)]
        else:
            budget = self.max_depth - depth - 1
            cands = [p for p in cands if self.height(p) <= max(budget, 0)]
        cands.sort(key=lambda p: (self.height(p), len(p.fields), p.name))
        return st.sampled_from(cands).flatmap(lambda p: self.of(p, depth + 1))


GEN = _KurigramStrategies([API, MTPROTO], allowed=_known, overrides=KURIGRAM_SAFE)
FULL = _KurigramStrategies([API, MTPROTO], allowed=_known, overrides=KURIGRAM_SAFE,
                           max_depth=2, max_list=1, full=True)
SHARED = [p for p in GEN.plans if p.id in objects]
PLANS = [p for p in SHARED if GEN.usable(p)]
CHUNK = 128
CHUNKS = range(-(-len(PLANS) // CHUNK))


# --- kurigram side -------------------------------------------------------------------------
def kurigram_read(data, tail=_TAIL):
    """kurigram's object for ``data``; it must use exactly all of the bytes."""
    buf = io.BytesIO(data + tail)
    kobj = KObject.read(buf)
    assert buf.tell() == len(data), "kurigram did not read exactly the data"
    return kobj


def kurigram_write(kobj):
    data = kobj.write()
    if kobj.ID in BARE_ONLY:
        data = kobj.ID.to_bytes(4, "little") + data
    return data


@functools.lru_cache(maxsize=None)
def _params(cls):
    return list(inspect.signature(cls.__init__).parameters)[1:]  # not `self`


#: kurigram's parameter names for TL names that are Python keywords (or renamed)
_ALIASES = {"self": "is_self", "from": "from_peer", "seqno": "seq_no"}
_AS_TEXT = {("msgs_state_info", "info"), ("msgs_all_info", "info")}


def to_kurigram(value):
    """A kurigram object built with its constructor from a tlfast value."""
    if isinstance(value, list):
        return [to_kurigram(v) for v in value]
    if not isinstance(value, tlfast._model.TLObject):
        return value
    cls = objects[value.CONSTRUCTOR_ID]
    params = _params(cls)
    kwargs = {}
    for attr, tl_name in value._fields:
        if tl_name == "flags" and "flags" not in params:
            continue  # a `#` nothing depends on: kurigram derives it (as 0)
        name = _ALIASES.get(tl_name, tl_name)
        assert name in params, f"{cls.__name__} has no parameter for {tl_name}"
        field = getattr(value, attr)
        if (value.TL_NAME, tl_name) in _AS_TEXT:
            field = field.decode()  # kurigram types it `string` (KURIGRAM_SAFE keeps it UTF-8)
        kwargs[name] = to_kurigram(field)
    if value.CONSTRUCTOR_ID == 0x5BB8E511:  # raw.core.Message: the body length is given
        kwargs["length"] = len(kwargs["body"].write())
    return cls(**kwargs)


def check_against_kurigram(backend, obj):
    data = H.dumps(backend, obj)
    kobj = kurigram_read(data)
    kdata = kurigram_write(kobj)
    assert kdata == data, f"{obj.TL_NAME}: kurigram re-serializes tlfast's bytes differently"
    back = H.loads(backend, kdata)
    assert back == obj
    assert H.dumps(backend, back) == kdata
    built = kurigram_write(to_kurigram(obj))
    assert built == data, f"{obj.TL_NAME}: kurigram's own object serializes differently"


# --- the sweep ------------------------------------------------------------------------------
def test_coverage_of_shared_ids():
    assert KURIGRAM_LAYER == 229 and tlfast.LAYER == 228
    # Every id both know, except two written differently (BOXES_BARE_VECTORS) and three whose
    # required fields need a type of which kurigram knows no constructor (layer 229 changed
    # their ids), and boolTrue/boolFalse/gzip_packed, which no generator makes as objects.
    assert sorted(p.name for p in SHARED if p not in PLANS) == [
        "accessPointRule", "boolFalse", "boolTrue", "bots.requestWebViewButton",
        "gzip_packed", "help.configSimple", "updateEditEphemeralMessage",
        "updateNewEphemeralMessage"]
    # (MTProto's msg_resend_ans_req, p_q_inner_data_temp, bind_auth_key_inner,
    # destroy_auth_key and its three results are among them.)
    assert len(SHARED) == 2472 and len(PLANS) == 2464


@pytest.fixture(scope="module")
def sweep():
    random = H.corpus("kurigram-random", GEN, PLANS, 3, CHUNK)
    full = H.corpus("kurigram-full", FULL, PLANS, 1, CHUNK)
    return [r + f for r, f in zip(random, full)]


@pytest.mark.parametrize("chunk", range(len(CHUNKS)))
def test_every_shared_constructor_matches_kurigram(backend, chunk, sweep):
    for plan, obj in sweep[chunk]:
        try:
            check_against_kurigram(backend, obj)
        except Exception as exc:
            raise AssertionError(f"{plan.name}: {obj!r}") from exc


def test_realistic_payloads_match_kurigram(backend):
    for obj in (H.sample_messages(6), H.sample_config(), H.sample_request()):
        check_against_kurigram(backend, obj)


# --- kurigram quirks, pinned (see the module docstring) -------------------------------------
def test_kurigram_drops_present_empty_optional_vector(backend):
    msg = api.message(id=1, peer_id=api.peerUser(user_id=5), date=0, message="", entities=[])
    data = H.dumps(backend, msg)
    kobj = kurigram_read(data)
    assert kobj.entities == []
    kdata = kobj.write()
    assert len(kdata) == len(data) - 8  # flags.7 cleared, the empty Vector gone
    assert H.loads(backend, kdata).entities is None
    assert H.loads(backend, data) == msg  # tlfast keeps present-but-empty
    # A bit shared with a `true` flag: kurigram keeps the bit and drops the vector.
    user = api.user(id=1, restricted=True, restriction_reason=[])
    kdata = kurigram_read(H.dumps(backend, user)).write()
    with pytest.raises(tlfast.TLDecodeError, match="restriction_reason"):
        H.loads(backend, kdata)


def test_kurigram_guesses_vector_element_type_from_bytes_left(backend):
    # 4 bytes left per element -> read as ints; 8 -> longs: write() then fails.
    req = api.account.getSecureValue(types=[api.secureValueTypePhone()])
    arr = api.jsonArray(value=[api.jsonBool(value=False)])
    for obj, attr in ((req, "types"), (arr, "value")):
        data = H.dumps(backend, obj)
        kobj = kurigram_read(data, tail=b"")
        assert all(type(v) is int for v in getattr(kobj, attr))
        with pytest.raises(AttributeError):
            kobj.write()
        assert kurigram_read(data).write() == data  # with _TAIL, no size matches
    # A message body is read from a buffer of exactly its length: _TAIL cannot help there.
    box = mtproto.msg_container(messages=[mtproto.message(msg_id=4, seqno=1, body=req)])
    kobj = kurigram_read(H.dumps(backend, box))
    assert all(type(v) is int for v in kobj.messages[0].body.types)


def test_kurigram_cannot_write_python_values_in_object_positions(backend):
    for result, error in ((True, AttributeError), ([api.inputPeerSelf()], NotImplementedError)):
        res = mtproto.rpc_result(req_msg_id=1, result=result)
        data = H.dumps(backend, res)
        assert kurigram_read(data).result == result  # read fine
        with pytest.raises(error):
            kurigram_read(data).write()
        assert H.loads(backend, data) == res


def test_kurigram_boxes_bare_vectors(backend):
    simple = api.help.configSimple(date=1, expires=2, rules=[])
    data = H.dumps(backend, simple)
    assert data[12:] == b"\0\0\0\0"  # vector<AccessPointRule>: bare, only the count
    with pytest.raises(KeyError):  # kurigram takes the count for a constructor id
        kurigram_read(data)
    built = to_kurigram(simple).write()
    assert built == data[:12] + b"\x15\xc4\xb5\x1c" + data[12:]  # a Vector id inserted
    with pytest.raises(tlfast.TLDecodeError):
        H.loads(backend, built)


@pytest.mark.parametrize("obj", [
    mtproto.future_salt(valid_since=1, valid_until=2, salt=3),
    mtproto.message(msg_id=8, seqno=3, body=api.help.getConfig()),
], ids=["future_salt", "message"])
def test_kurigram_writes_bare_only_mtproto_types_without_id(backend, obj):
    data = H.dumps(backend, obj)
    kobj = kurigram_read(data)  # boxed, it reads them
    assert kobj.ID in BARE_ONLY and kobj.write() == data[4:]
    assert to_kurigram(obj).write() == data[4:]
    assert H.loads(backend, data) == obj


def test_kurigram_reads_msgs_state_info_as_text(backend):
    info = mtproto.msgs_state_info(req_msg_id=1, info=b"\x01\x04\x84")
    data = H.dumps(backend, info)
    kobj = kurigram_read(data)
    assert isinstance(kobj.info, str) and "\ufffd" in kobj.info
    assert kobj.write() != data
    assert H.loads(backend, data) == info


def test_flags_word_without_dependent_fields(backend):
    invite = api.exportedChatlistInvite(flags=5, title="t", url="u", peers=[])
    data = H.dumps(backend, invite)
    assert data[4:8] == b"\x05\0\0\0"  # tlfast: a plain number, kept as read
    assert H.loads(backend, data) == invite
    assert kurigram_read(data).write()[4:8] == b"\0\0\0\0"  # kurigram derives it: always 0


def test_layer_229_ids_that_differ_from_layer_228():
    def kname(cls):
        *ns, last = cls.QUALNAME.split(".")[1:]
        return ".".join([*ns, last[0].lower() + last[1:]])

    by_name = {kname(cls): i for i, cls in objects.items() if cls.QUALNAME.count(".")}
    moved = {d.name: (d.id, by_name[d.name]) for s in (API, MTPROTO) for d in s
             if d.id not in objects and d.name in by_name}
    assert {n: (f"{a:08x}", f"{b:08x}") for n, (a, b) in moved.items()} == {
        "messageActionStarGiftUnique": ("e6c31522", "7e1c1187"),
        "sendMessageTextDraftAction": ("376d975c", "3630b85a"),
        "inputSendMessageRichMessageDraftAction": ("e2b23b51", "a937c7be"),
        "sendMessageRichMessageDraftAction": ("a2cb24f9", "52564893"),
        "keyboardButton": ("7d170cff", "2f67a72f"),
        "replyInlineMarkup": ("48a30254", "b2b15770"),
        "pageBlockBlockquote": ("263d7c26", "66d1670b"),
        "inputInvoiceStarGiftResale": ("c39f5324", "e9b0c658"),
        "ephemeralMessage": ("d9c6dc1a", "dd27bee9"),
        "ephemeral.sendMessage": ("68cbd09f", "ba8d5f35"),
        "ephemeral.deleteMessage": ("a3c0d511", "92f6e797"),
    }
    # No id names two different things in the two registries.
    for s in (API, MTPROTO):
        for d in s:
            cls = objects.get(d.id)
            if cls is not None and cls.QUALNAME.count("."):
                assert kname(cls).replace("_", "").lower() == d.name.replace("_", "").lower()


@pytest.mark.parametrize("raw", [b"\xff", b"a\xc3", b"\xc0\xaf", b"\xed\xa0\x80z",
                                 b"\xf4\x90\x80\x80", b"\xe2\x82", b"ok\x80\x80ok"])
def test_invalid_utf8_is_replaced_alike(backend, raw):
    data = H.dumps(backend, api.help.countryCode(country_code="Z" * len(raw)))
    assert data.count(b"Z" * len(raw)) == 1
    data = data.replace(b"Z" * len(raw), raw)
    mine = H.loads(backend, data)
    theirs = kurigram_read(data)
    assert mine.country_code == theirs.country_code == raw.decode("utf-8", "replace")
    assert H.dumps(backend, mine) == theirs.write()  # both re-encode U+FFFD


def test_kurigram_reads_any_other_bool_id_as_false(backend):
    data = H.dumps(backend, api.account.updateStatus(offline=True))
    bad = data[:4] + b"\x01\x02\x03\x04"
    assert kurigram_read(bad).offline is False  # kurigram: `== boolTrue`, anything else False
    with pytest.raises(tlfast.TLDecodeError, match="expected Bool"):
        H.loads(backend, bad)  # tlfast rejects it


@pytest.mark.parametrize("raw", ["000000000000f87f", "0100000000f0ff7f", "ffffffffffffffff",
                                 "0000000000000080", "000000000000f0ff"])
def test_double_bits_survive_both(backend, raw):
    # NaN payloads, -0.0, -inf: the sweep draws no NaN (NaN != NaN); the bits must agree.
    data = H.dumps(backend, api.geoPoint(long=0.0, lat=0.0, access_hash=1))
    data = data[:8] + bytes.fromhex(raw) + data[16:]
    assert H.dumps(backend, H.loads(backend, data)) == data
    assert kurigram_read(data).write() == data
