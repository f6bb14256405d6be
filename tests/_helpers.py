"""Helpers shared by test_schema/test_objects/test_codec/test_telethon/test_hostile/test_gc/...

Test files ``import _helpers`` (and ``strategies``): conftest.py puts tests/ on sys.path,
which pytest's importlib import mode leaves out.
"""

import os
import pathlib
import re

import pytest

import tlfast
from tlfast import _backend

HERE = pathlib.Path(__file__).resolve().parent
DATA = HERE / "data"


def pure_requested():
    """TLFAST_BACKEND=python: a pure-only run, where the Cython engine may be missing."""
    return os.environ.get("TLFAST_BACKEND", "").strip().lower() == "python"


def load_engine(name):
    """The engine module ``name``. Skips when TLFAST_BACKEND=python asked for a pure-only
    run, fails when the extension is missing otherwise."""
    try:
        return _backend.load(name)
    except ImportError as exc:
        if pure_requested():
            pytest.skip(f"TLFAST_BACKEND=python: {name} backend not tested ({exc})")
        pytest.fail(
            f"the {name} backend cannot be imported ({exc}); build it "
            "(TLFAST_BACKEND=cython pip install -e .) or set TLFAST_BACKEND=python",
            pytrace=False,
        )


def other_engine(backend):
    """The engine module that is not ``backend`` (for cross-backend tests)."""
    return load_engine("python" if backend.NAME == "cython" else "cython")


def bundled_codec():
    """The codec ``tlfast.loads``/``dumps`` use: API layer 228 ids, then MTProto's."""
    from tlfast._codec import default_codec

    return default_codec()


def loads(backend, data, type=None, *, schema=None, result_of=None, **limits):
    """Decode with one engine: ``schema`` (a Schema) or the bundled codec (API + MTProto)."""
    if schema is not None:
        return schema.loads(data, type, result_of=result_of, backend=backend, **limits)
    kw = {"max_depth": limits.get("max_depth", tlfast.DEFAULT_MAX_DEPTH),
          "max_inflate": limits.get("max_inflate", tlfast.DEFAULT_MAX_INFLATE)}
    return bundled_codec().loads(data, type, result_of, backend, kw["max_depth"], kw["max_inflate"])


def dumps(backend, value, type=None, *, schema=None):
    """Encode with one engine: ``schema`` (a Schema) or the bundled codec."""
    if schema is not None:
        return schema.dumps(value, type, backend=backend)
    return bundled_codec().dumps(value, type, backend)


def seed_tl_lines():
    """The TL lines of the seed page tests/data/auth.importAuthorization.md."""
    text = (DATA / "auth.importAuthorization.md").read_text(encoding="utf-8")
    marker = "## TL schema"
    block = text[text.index(marker):]
    start = block.index("```") + 3
    start = block.index("\n", start) + 1
    end = block.index("```", start)
    return block[start:end]


def error_signature(exc):
    """What must be identical across backends for one failure."""
    return (type(exc), str(exc), getattr(exc, "offset", None), exc.path)


# --- realistic payloads (deterministic, built in code) -----------------------------------
def sample_messages(n=3, seed=1):
    """A messages.messages like a real getHistory answer: varied flags, text with non-ASCII,
    entities, forward and reply headers, photo media with sizes, reactions, users, chats."""
    import random

    from tlfast import api

    rnd = random.Random(seed)
    words = ["hello", "мир", "tl", "😀", "fast", "codec", "ünïcödé", "x" * 30]
    messages = []
    for i in range(n):
        text = " ".join(rnd.choice(words) for _ in range(rnd.randint(3, 40)))
        kw = {}
        if i % 2 == 0:
            kw["entities"] = [api.messageEntityBold(offset=0, length=3),
                              api.messageEntityTextUrl(offset=4, length=2, url="https://t.me/x")]
        if i % 3 == 1:
            kw["fwd_from"] = api.messageFwdHeader(from_id=api.peerUser(user_id=100 + i),
                                                  date=1700000000 + i, post_author="Ann")
            kw["reply_to"] = api.messageReplyHeader(reply_to_msg_id=i, quote=True,
                                                    quote_text="q")
        if i % 3 != 2:
            kw["media"] = api.messageMediaPhoto(photo=api.photo(
                id=rnd.getrandbits(63), access_hash=-rnd.getrandbits(63),
                file_reference=bytes(rnd.getrandbits(8) for _ in range(29)),
                date=1700000000, sizes=[
                    api.photoStrippedSize(type="i", bytes=bytes(range(40))),
                    api.photoSize(type="m", w=320, h=240, size=12345),
                    api.photoSizeProgressive(type="y", w=1280, h=960, sizes=[1000, 5000, 9000]),
                ], dc_id=2), spoiler=i % 4 == 0)
        else:
            kw["media"] = api.messageMediaEmpty()
        if i % 2 == 1:
            kw["views"], kw["forwards"] = 1000 + i, i
            kw["reactions"] = api.messageReactions(results=[
                api.reactionCount(reaction=api.reactionEmoji(emoticon="👍"), count=5,
                                  chosen_order=1)])
        messages.append(api.message(
            id=1000 + i, out=i % 2 == 0, silent=i % 5 == 0, peer_id=api.peerChannel(channel_id=77),
            from_id=api.peerUser(user_id=100 + i % 4), date=1700000000 + 60 * i, message=text,
            **kw))
    users = [api.user(id=100 + j, access_hash=rnd.getrandbits(63), first_name=f"User {j}",
                      username=f"user{j}", status=api.userStatusOnline(expires=1700000500),
                      photo=api.userProfilePhoto(photo_id=j, dc_id=2,
                                                 stripped_thumb=b"\x01\x02"))
             for j in range(4)]
    chats = [api.channel(id=77, access_hash=5, title="Канал", photo=api.chatPhotoEmpty(),
                         date=1600000000, megagroup=True, username="chan",
                         participants_count=12345)]
    return api.messages.messages(messages=messages, topics=[], chats=chats, users=users)


def sample_config():
    from tlfast import api

    ints = dict(date=1700000000, expires=1700003600, this_dc=2, chat_size_max=200,
                megagroup_size_max=200000, forwarded_count_max=100,
                online_update_period_ms=210000, offline_blur_timeout_ms=5000,
                offline_idle_timeout_ms=30000, online_cloud_timeout_ms=300000,
                notify_cloud_delay_ms=30000, notify_default_delay_ms=1500,
                push_chat_period_ms=60000, push_chat_limit=2, edit_time_limit=172800,
                revoke_time_limit=2147483647, revoke_pm_time_limit=2147483647,
                rating_e_decay=2419200, stickers_recent_limit=200,
                channels_read_media_period=604800, call_receive_timeout_ms=20000,
                call_ring_timeout_ms=90000, call_connect_timeout_ms=30000,
                call_packet_timeout_ms=10000, caption_length_max=1024,
                message_length_max=4096, webfile_dc_id=4)
    return api.config(
        test_mode=False, dc_options=[
            api.dcOption(id=1, ip_address="149.154.175.53", port=443),
            api.dcOption(id=2, ip_address="2001:67c:4e8:f002::a", port=443, ipv6=True),
            api.dcOption(id=2, ip_address="149.154.167.51", port=443, media_only=True,
                         secret=bytes(range(16))),
        ], dc_txt_domain_name="apv3.stel.com", me_url_prefix="https://t.me/",
        suggested_lang_code="en", lang_pack_version=1, base_lang_pack_version=1,
        reactions_default=api.reactionEmoji(emoticon="❤"), default_p2p_contacts=True,
        **ints)


def sample_container():
    """An MTProto msg_container as a server sends it: an rpc_result with a gzip_packed
    result, a pong, a new_session_created and msgs_ack."""
    import gzip

    from tlfast import mtproto

    inner = dumps(_backend.load("python"), sample_messages(2, seed=9))
    packed = mtproto.gzip_packed(packed_data=gzip.compress(inner, 6, mtime=0))
    return mtproto.msg_container(messages=[
        mtproto.message(msg_id=0x60000000_00000001, seqno=1,
                        body=mtproto.rpc_result(req_msg_id=0x60000000_00000000, result=packed)),
        mtproto.message(msg_id=0x60000000_00000005, seqno=3,
                        body=mtproto.pong(msg_id=1, ping_id=2)),
        mtproto.message(msg_id=0x60000000_00000009, seqno=4,
                        body=mtproto.new_session_created(first_msg_id=1, unique_id=2,
                                                         server_salt=3)),
        mtproto.message(msg_id=0x60000000_0000000D, seqno=6,
                        body=mtproto.msgs_ack(msg_ids=[1, 2, 3])),
    ])


def sample_request():
    from tlfast import api

    return api.invokeWithLayer(layer=228, query=api.initConnection(
        api_id=12345, device_model="PC", system_version="Linux", app_version="1.0",
        system_lang_code="en", lang_pack="", lang_code="en",
        params=api.jsonObject(value=[api.jsonObjectValue(key="tz", value=api.jsonString(value="UTC"))]),
        query=api.help.getConfig()))


def realistic_payloads():
    """(name, bytes) of payloads a client really meets, encoded with the pure engine."""
    return [
        ("messages", dumps(_backend.load("python"), sample_messages(4))),
        ("config", dumps(_backend.load("python"), sample_config())),
        ("container", dumps(_backend.load("python"), sample_container())),
        ("request", dumps(_backend.load("python"), sample_request())),
    ]


# --- a corpus of generated objects, drawn once per session ---------------------------------
_CORPORA = {}


def corpus(key, gen, plans, examples, chunk=64):
    """``[[(plan, obj), ...] per chunk of plans]``: objects drawn by hypothesis from ``gen``
    (a strategies.TLStrategies) for every plan, ``examples`` per plan (the first one is
    hypothesis' minimal one), cached under ``key`` for the session so that both backends
    check the same objects without paying for generation twice. Derandomized under the CI
    profile like every other hypothesis test."""
    if key in _CORPORA:
        return _CORPORA[key]
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import strategies as st

    chunks = []
    for start in range(0, len(plans), chunk):
        part = plans[start : start + chunk]
        drawn = []

        @settings(max_examples=examples, phases=[Phase.generate], database=None, deadline=None,
                  suppress_health_check=list(HealthCheck))
        @given(data=st.data())
        def draw(data):
            for plan in part:
                drawn.append((plan, data.draw(gen.of(plan), label=plan.name)))

        draw()
        chunks.append(drawn)
    _CORPORA[key] = chunks
    return chunks


# --- Telethon objects from tlfast values ----------------------------------------------------
_TELETHON_PARAMS = {}


def to_telethon(value):
    """A Telethon object built with its class (its constructor, not its reader) from a
    tlfast value of any schema whose ids Telethon knows, recursively. A ``#`` word no
    field depends on has no parameter: Telethon derives it (as 0)."""
    import inspect

    from telethon.tl.alltlobjects import tlobjects

    if isinstance(value, list):
        return [to_telethon(v) for v in value]
    if not isinstance(value, tlfast._model.TLObject):
        return value
    cls = tlobjects[value.CONSTRUCTOR_ID]
    params = _TELETHON_PARAMS.get(cls)
    if params is None:
        params = _TELETHON_PARAMS[cls] = list(inspect.signature(cls.__init__).parameters)[1:]
    kwargs = {}
    for attr, tl_name in value._fields:
        for name in (tl_name, "is_" + tl_name, tl_name + "_"):
            if name in params:
                kwargs[name] = to_telethon(getattr(value, attr))
                break
        else:
            assert tl_name.startswith("flags"), f"{cls.__name__} has no parameter for {tl_name}"
    return cls(**kwargs)


def objects_and_lists(value, fields):
    """Every list and object in a decoded ``value``, depth first. ``fields(v)`` gives the
    field values of an object (a TL object of whichever object model), None for an atom."""
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, list):
            yield v
            stack.extend(v)
        else:
            inside = fields(v)
            if inside is not None:
                yield v
                stack.extend(inside)


def behaves_alike(mine, stock, children, path="$"):
    """``mine`` (made by a drop-in's engine) behaves as ``stock`` (made by the host's own
    code) on this CPython: same class, the same attributes in the same order, found by
    lookup; the same memory for the object and its attribute storage (CPython 3.11+ keeps
    an instance's attributes in values sharing its class's keys, or gives it a dict of its
    own: ours must be stored as the host's are); ``repr``, ``==``, ``copy``, ``pickle``,
    weak references, and a new attribute set, read and deleted, as on the host's. Then the
    same for each child object ``children(obj)`` lists, recursively."""
    import copy
    import pickle
    import re
    import sys
    import weakref

    def rep(obj):  # repr without the address object.__repr__ shows
        return re.sub(r" at 0x[0-9a-fA-F]+>", ">", repr(obj))

    assert type(mine) is type(stock), f"{path}: {type(mine).__name__} != {type(stock).__name__}"
    if isinstance(stock, (list, tuple)):
        # The host may over-allocate (a list built by appending); ours is never larger.
        assert sys.getsizeof(mine) <= sys.getsizeof(stock), f"{path}: list size"
        for i, (m, s) in enumerate(zip(mine, stock)):
            behaves_alike(m, s, children, f"{path}[{i}]")
        return
    if not hasattr(stock, "__dict__") and not hasattr(type(stock), "__slots__"):
        assert mine == stock, path
        return
    if hasattr(stock, "__dict__"):
        # Measured before anything asks for __dict__ (which may make one from the values).
        assert sys.getsizeof(mine) == sys.getsizeof(stock), f"{path}: object size"
        vm, vs = vars(mine), vars(stock)
        assert list(vm) == list(vs), f"{path}: attributes {list(vm)} != {list(vs)}"
        size_m, size_s = sys.getsizeof(vm), sys.getsizeof(vs)
        assert size_m <= size_s + max(16, size_s // 20), f"{path}: __dict__ {size_m} B > {size_s} B"
        for k in vs:
            assert getattr(mine, k) is vm[k], f"{path}.{k}: lookup"
    assert rep(mine) == rep(stock) and str(mine) == str(stock), f"{path}: repr"
    assert (mine == stock) == (stock == copy.copy(stock)), f"{path}: =="
    twin = copy.copy(mine)
    assert type(twin) is type(mine) and rep(twin) == rep(mine), f"{path}: copy"
    again = pickle.loads(pickle.dumps(mine))
    assert rep(again) == rep(pickle.loads(pickle.dumps(stock))) and str(again) == str(stock), f"{path}: pickle"
    try:
        weakref.ref(stock)
    except TypeError:
        with pytest.raises(TypeError):
            weakref.ref(mine)
    else:
        assert weakref.ref(mine)() is mine, f"{path}: weakref"
    # A new attribute, or a dict assigned, on any instance ends CPython 3.10's key sharing
    # for the whole class (its shared keys are dropped when one instance's dict diverges):
    # every later instance, the host's own included, then has a dict of its own, and the
    # size checks above would compare objects made before with objects made after.
    if hasattr(stock, "__dict__") and sys.version_info >= (3, 11):
        twin.tlfast_test_attr = 1
        assert vars(twin)["tlfast_test_attr"] == 1 and twin.tlfast_test_attr == 1, path
        del twin.tlfast_test_attr
        twin.__dict__ = dict(vars(stock))
        assert [getattr(twin, k) for k in vars(stock)] == list(vars(stock).values()), f"{path}: __dict__ ="
    for name, (m, s) in children(mine, stock):
        behaves_alike(m, s, children, f"{path}.{name}")


def storage(value, is_object):
    """How a decoded tree keeps its attributes, object by object (depth first): True where an
    object has a dict of its own, False where CPython keeps its attributes beside it (3.11+:
    values sharing its class's keys; 3.13: inline). Read through gc.get_referents, which
    makes no dict (vars() would), so it must be taken before anything asks for __dict__."""
    import gc

    out = []

    def walk(v):
        if isinstance(v, list):
            for x in v:
                walk(x)
        elif is_object(v):
            refs = gc.get_referents(v)
            own = [r for r in refs if type(r) is dict]
            out.append(bool(own))
            for r in (own[0].values() if own else refs):
                if isinstance(r, list) or is_object(r):
                    walk(r)

    walk(value)
    return out


def doc_anchors(path):
    """The anchors of a Markdown page's headings, as GitHub and the docs build (MyST) make
    them: ``## `decode`: TL bytes to JSON`` is ``decode-tl-bytes-to-json``."""
    with open(path, encoding="utf-8") as f:
        headings = [line.lstrip("#") for line in f if line.startswith("#")]
    return [re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings]


def held_bytes(decode, data, n=3):
    """Bytes that ``n`` values ``decode(data)`` made hold, per value (tracemalloc, after a
    collection; a first decode outside the count fills the caches)."""
    import gc
    import tracemalloc

    decode(data)
    gc.collect()
    tracemalloc.start()
    try:
        keep = [decode(data) for _ in range(n)]
        gc.collect()
        held = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    del keep
    return held / n
