"""Hostile input (issue 4 point 6, tl-pitfalls.md #8): huge counts, negative counts, gzip
bombs, nesting past the depth cap, bad length prefixes, truncation and corruption.

Every answer must be a TLDecodeError (or, for corruption that stays valid, a value),
quickly and without allocations the input cannot justify, with the same class, message,
offset and path on both backends.
"""

import gc
import struct
import subprocess
import sys
import time
import tracemalloc
import zlib

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import tlfast
from tlfast import TLDecodeError, TLEncodeError, TLError




import _helpers as H  # noqa: E402  (tests/ is on sys.path: conftest.py)

from tlfast import api, mtproto  # noqa: E402

VECTOR = 0x1CB5C415
MIB = 1 << 20


def u32(*v):
    return struct.pack(f"<{len(v)}I", *v)


def i32(*v):
    return struct.pack(f"<{len(v)}i", *v)




def outcome(engine, data, type=None, **kw):
    """('ok', canonical bytes of the value) or ('error', class, message, offset, path).
    Anything that is not a TLError propagates and fails the test."""
    try:
        value = H.loads(engine, data, type, **kw)
    except TLError as exc:
        return ("error",) + H.error_signature(exc)
    # compare values by repr: deterministic, and NaN doubles compare equal that way
    return ("ok", type_name(value), repr(value))


type_name = lambda value: builtins_type(value).__qualname__  # noqa: E731
builtins_type = type


def rejects(backend, other, data, type=None, *, budget_mib=1.0, seconds=1.0, **kw):
    """``data`` raises TLDecodeError, fast, within ``budget_mib`` of traced allocations,
    the same way on both engines. Returns the error."""
    tracemalloc.start()
    t0 = time.perf_counter()
    try:
        with pytest.raises(TLDecodeError) as info:
            H.loads(backend, data, type, **kw)
        elapsed = time.perf_counter() - t0
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < budget_mib * MIB, f"peak {peak / MIB:.1f} MiB for {info.value}"
    assert elapsed < seconds, f"{elapsed:.2f}s for {info.value}"
    if other is not None:
        assert outcome(other, data, type, **kw) == ("error",) + H.error_signature(info.value)
    return info.value


# --- counts ---------------------------------------------------------------------------------
HUGE = 2**31 - 1


@pytest.mark.parametrize("type", ["Vector<long>", "Vector<int>", "Vector<User>", "Vector<string>",
                                  "Vector<Vector<int>>", "Vector<int128>", "Vector<Bool>", None])
def test_huge_vector_count_with_short_buffer(backend, other, type):
    data = u32(VECTOR) + i32(HUGE) + b"\0" * 8
    err = rejects(backend, other, data, type)
    assert err.offset == 4
    assert str(err).startswith(f"vector count {HUGE} needs at least")
    assert str(err).endswith("8 left at offset 4")


def test_huge_counts_inside_objects(backend, other):
    # boxed Vector field
    err = rejects(backend, other, u32(0x62D6B459, VECTOR) + i32(HUGE), None)  # msgs_ack
    assert err.path == "msgs_ack.msg_ids" and err.offset == 8
    # bare vector<%message> of msg_container
    err = rejects(backend, other, u32(0x73F1F8DC) + i32(HUGE) + b"\0" * 16)
    assert err.path == "msg_container.messages" and err.offset == 4
    # deep in a real payload: the users vector of messages.messages
    msgs = H.sample_messages(2)
    data = H.dumps(backend, msgs)
    users_at = len(data) - sum(len(bytes(u)) for u in msgs.users) - 8
    assert data[users_at:users_at + 4] == u32(VECTOR)
    bad = data[:users_at + 4] + i32(HUGE) + data[users_at + 8:]
    err = rejects(backend, other, bad)
    assert err.path == "messages.messages.users" and err.offset == users_at + 4
    # a bare Vector<long> result
    req = api.messages.receivedQueue(max_qts=1)
    rejects(backend, other, u32(VECTOR) + i32(HUGE) + b"\0" * 8, result_of=req)


@pytest.mark.parametrize("count", [-1, -2, -(2**31)])
def test_negative_counts(backend, other, count):
    err = rejects(backend, other, u32(VECTOR) + i32(count) + b"\0" * 8, "Vector<long>")
    assert str(err) == f"negative vector count {count} at offset 4"
    err = rejects(backend, other, u32(0x73F1F8DC) + i32(count))
    assert "negative vector count" in str(err) and err.path == "msg_container.messages"


# Counts at the edge of the data, per element size: the check multiplies the count by the
# fewest bytes an element takes (the 2^31-1 counts above exceed the data for any size).
ELEMENT_SIZES = [
    ("Vector<int>", 4), ("Vector<long>", 8), ("Vector<double>", 8), ("Vector<int128>", 16),
    ("Vector<int256>", 32), ("Vector<Bool>", 4), ("Vector<string>", 4), ("Vector<bytes>", 4),
    ("Vector<User>", 4), ("Vector<Vector<int>>", 8), ("vector<future_salt>", 16),
]
# What three elements of zero bytes decode to, where zeros are a valid element.
ZEROS = {"int": 0, "long": 0, "double": 0.0, "int128": 0, "int256": 0, "string": "", "bytes": b"",
         "future_salt": mtproto.future_salt(valid_since=0, valid_until=0, salt=0)}


@pytest.mark.parametrize("type, size", ELEMENT_SIZES)
@pytest.mark.parametrize("slack", [0, 1, 3])
def test_vector_count_at_the_edge_of_the_data(backend, other, type, size, slack):
    left = 3 * size + slack  # room for three elements, not four
    head = b"" if type.startswith("vector") else u32(VECTOR)
    at = len(head)
    err = rejects(backend, other, head + i32(4) + bytes(left), type)
    assert str(err) == f"vector count 4 needs at least {4 * size} bytes, {left} left at offset {at}"
    got = outcome(backend, head + i32(3) + bytes(left), type)
    if other is not None:
        assert outcome(other, head + i32(3) + bytes(left), type) == got
    elem = type[7:-1]
    if elem in ZEROS and slack:
        end = at + 4 + 3 * size
        assert got[:3] == ("error", TLDecodeError, f"{slack} trailing bytes after the value at offset {end}")
    elif elem in ZEROS:
        assert got == ("ok", "list", repr([ZEROS[elem]] * 3))
    else:  # the first element is wrong, and says so: the count passed
        assert got[0] == "error" and "vector count" not in got[2] and got[3] == at + 4, got


@pytest.mark.parametrize("elem, size", [("int", 4), ("long", 8), ("double", 8), ("#", 4)])
def test_array_reads_check_their_own_element_size(backend, other, elem, size):
    """Fixed-size elements are read in one go; those reads must not rely on the shared
    count check alone: with an element size under-estimated there (min_size 1), the
    count is still refused, not read past the data or into the next message's bytes."""
    for engine in filter(None, (backend, other)):
        schema = tlfast.Schema.from_text("---types---")  # fresh plans no engine has seen
        tp = schema.type_plan(f"Vector<{elem}>")
        tp.elem.min_size = 1
        data = u32(VECTOR) + i32(3) + bytes(3 * size - 1) + u32(0x5EED)
        with pytest.raises(TLDecodeError) as info:
            H.loads(engine, memoryview(data)[:-4], tp, schema=schema)
        assert str(info.value) == (f"vector count 3 needs at least {3 * size} bytes, "
                                   f"{3 * size - 1} left at offset 4")


# --- gzip bombs -----------------------------------------------------------------------------
def _bomb(mib):
    c = zlib.compressobj(9, zlib.DEFLATED, 31)  # gzip, as MTProto sends it
    chunk = bytes(MIB)
    return b"".join(c.compress(chunk) for _ in range(mib)) + c.flush()


@pytest.fixture(scope="module")
def bomb():
    data = _bomb(17)  # 17 MiB of zeros: ~17 KiB compressed, over the 16 MiB default cap
    assert len(data) < 20000
    return data


def test_gzip_bomb_default_cap(backend, other, bomb):
    data = H.dumps(backend, mtproto.gzip_packed(packed_data=bomb))
    # inflating stops at the cap (the zlib output buffer may double it), never the full bomb
    err = rejects(backend, other, data, budget_mib=2 * 16 + 2, seconds=2)
    assert str(err) == f"gzip_packed inflates beyond the limit of {16 * MIB} bytes at offset 0"
    assert tlfast.DEFAULT_MAX_INFLATE == 16 * MIB


def test_gzip_bomb_small_cap_and_nested_positions(backend, other, bomb):
    packed = mtproto.gzip_packed(packed_data=bomb)
    kw = {"max_inflate": MIB, "budget_mib": 3}
    rejects(backend, other, H.dumps(backend, packed), **kw)
    # in an rpc_result, with and without the request
    rpc = H.dumps(backend, mtproto.rpc_result(req_msg_id=1, result=packed))
    err = rejects(backend, other, rpc, **kw)
    assert "rpc_result.result" in str(err)
    rejects(backend, other, rpc, result_of=api.help.getConfig(), **kw)
    # in a container message body, and in a typed field
    box = mtproto.msg_container(messages=[mtproto.message(msg_id=1, seqno=1, body=packed)])
    rejects(backend, other, H.dumps(backend, box), **kw)
    msg = api.message(id=1, peer_id=api.peerUser(user_id=1), date=0, message="", media=packed)
    err = rejects(backend, other, H.dumps(backend, msg), **kw)
    assert err.path == "message.media"
    # gzip in gzip: every layer is capped
    small = zlib.compressobj(9, zlib.DEFLATED, 31)
    inner = H.dumps(backend, packed)
    twice = mtproto.gzip_packed(packed_data=small.compress(inner) + small.flush())
    rejects(backend, other, H.dumps(backend, twice), **kw)


# --- nesting --------------------------------------------------------------------------------
TEXT_BOLD, TEXT_EMPTY, TEXT_CONCAT = 0x6724ABC4, 0xDC3D824F, 0x7E6260D7


@pytest.mark.parametrize("levels", [65, 1000, 200_000])
def test_nesting_past_the_depth_cap(backend, other, levels):
    data = u32(TEXT_BOLD) * levels + u32(TEXT_EMPTY)
    err = rejects(backend, other, data, seconds=2, budget_mib=1 + len(data) / MIB)
    assert "nesting deeper than 64 levels" in str(err)
    assert tlfast.DEFAULT_MAX_DEPTH == 64


def test_nesting_at_the_depth_cap_is_fine(backend):
    ok = u32(TEXT_BOLD) * 63 + u32(TEXT_EMPTY)
    value = H.loads(backend, ok)
    assert H.dumps(backend, value) == ok


def test_nesting_through_vectors_and_lists(backend, other):
    # textConcat(texts=[textConcat(texts=[...])]): vectors count as levels too
    data = (u32(TEXT_CONCAT, VECTOR) + i32(1)) * 5000 + u32(TEXT_EMPTY)
    assert "nesting deeper" in str(rejects(backend, other, data, seconds=2))
    # Vector<Object> inside Vector<Object> ... (read as Object)
    data = (u32(VECTOR) + i32(1)) * 100_000 + u32(TEXT_EMPTY)
    assert "nesting deeper" in str(rejects(backend, other, data, seconds=2, budget_mib=2))
    # pageBlockCover(cover=pageBlockCover(...))
    data = u32(0x39F23300) * 10_000 + u32(0xDB20B188)
    assert "nesting deeper" in str(rejects(backend, other, data, seconds=2))
    # a smaller cap, through gzip_packed: the depth carries on inside the inflated data
    inner = u32(TEXT_BOLD) * 30 + u32(TEXT_EMPTY)
    c = zlib.compressobj(9, zlib.DEFLATED, 31)
    packed = H.dumps(backend, mtproto.gzip_packed(packed_data=c.compress(inner) + c.flush()))
    data = u32(TEXT_BOLD) * 30 + packed
    expected = api.textEmpty()
    for _ in range(60):
        expected = api.textBold(text=expected)
    assert H.loads(backend, data) == expected  # 61 levels: under the default cap of 64
    assert "nesting deeper than 40" in str(rejects(backend, other, data, max_depth=40))


def test_a_short_python_stack_is_a_decode_error(engines):
    """Nesting under max_depth can still meet the end of the caller's stack (the caller
    was deep already): a TLDecodeError, not a RecursionError. The pure engine only: how
    much of Python's recursion budget the Cython engine's C recursion uses is not fixed
    (its case passed and failed on the same build), so no limit is sure to trip it."""
    backend = engines[0]
    data = u32(TEXT_BOLD) * 63 + u32(TEXT_EMPTY)
    depth, frame = 0, sys._getframe()
    while frame:
        depth, frame = depth + 1, frame.f_back
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(depth + 40)
    try:
        with pytest.raises(TLDecodeError, match="^nesting too deep for the Python stack at offset"):
            H.loads(backend, data)
    finally:
        sys.setrecursionlimit(limit)


class _Huge(list):
    """One element, claiming 2^31: more than a vector's int count can hold."""

    def __len__(self):
        return 1 << 31


@pytest.mark.parametrize("type", ["Vector<long>", "Vector<Peer>", "vector<int>"])
def test_encoding_more_elements_than_a_count_holds(backend, type):
    with pytest.raises(TLEncodeError) as info:
        H.dumps(backend, _Huge([1]), type)
    assert str(info.value) == f"{type} has 2147483648 elements, more than an int count can hold"


def test_encoding_deep_or_cyclic_objects_fails_cleanly(backend):
    text = api.textEmpty()
    for _ in range(5000):
        text = api.textBold(text=text)
    with pytest.raises(TLEncodeError, match="nesting deeper"):
        H.dumps(backend, text)
    cyclic = api.textBold(text=None)
    cyclic.text = cyclic
    with pytest.raises(TLEncodeError, match="nesting deeper"):
        H.dumps(backend, cyclic)


meddling_runs = []
junk = []  # kept alive while the test runs


def fresh(text):  # a str whose only reference is where it is put
    return "".join([text, "!"])


def _meddled(make, meddle):
    """An object from ``make(Meddler)``, where a Meddler is an int whose conversion (run
    while the object is being encoded) calls ``meddle(obj)`` and collects garbage."""
    box = []

    class Meddler(int):
        def __int__(self):  # what both engines' check of an int subclass calls last
            meddling_runs.append(True)
            meddle(box[0])
            gc.collect()
            # new objects of the sizes just freed take their memory: a value read before
            # the meddling and not held would now be one of these
            junk.extend([fresh(f"junk {i}" * (i % 8)) for i in range(3000)]
                        + [10**12 + i for i in range(3000)])
            return int.__int__(self)

    box.append(make(Meddler))
    return box[0]


@pytest.mark.parametrize("case", ["plain values", "nested", "flags"])
def test_code_run_while_encoding_cannot_change_what_is_written(backend, other, case):
    # Each engine encodes the values the object held when its encoding began, even when
    # user code run on the way replaces them (and frees the old ones): what the pure
    # engine does by reading every field first, the Cython one by holding what it read.
    def replace(obj):
        obj.offset, obj.length, obj.url = 7, 8, fresh("replaced")

    def make_entity(Meddler):
        return api.messageEntityTextUrl(offset=Meddler(1), length=int("123456"),
                                        url=fresh("https://example.org/original"))

    if case == "plain values":
        make, meddle = make_entity, replace
    elif case == "nested":
        def make(Meddler):
            return api.messages.sendMessage(peer=api.inputPeerSelf(), message=fresh("hi"),
                                            random_id=1, entities=[make_entity(Meddler)])

        def meddle(req):
            req.message, req.random_id = fresh("replaced"), 2
            replace(req.entities[0])
    else:  # a flags word: the meddling would change which fields it announces
        def make(Meddler):
            return api.messageReplyHeader(reply_to_msg_id=Meddler(1),
                                          reply_to_top_id=int("123456"), quote_text=fresh("q"))

        def meddle(header):
            header.reply_to_top_id, header.quote_text = None, fresh("replaced")

    meddling_runs.clear()
    got = H.dumps(backend, _meddled(make, meddle))
    assert got == H.dumps(other, _meddled(make, meddle))
    assert len(meddling_runs) == 2  # the meddling did run, once per engine
    assert got == H.dumps(other, make(int))  # the values before any meddling
    junk.clear()


def test_encoding_nested_lists_fails_cleanly(backend):
    # In a subprocess: an engine without the depth check on vectors crashes the interpreter.
    code = (
        "import tlfast._codec as C, tlfast._backend as B\n"
        f"engine = B.load({backend.NAME!r})\n"
        "loop = []\n"
        "loop.append(loop)\n"
        "try:\n"
        "    C.default_codec().dumps(loop, None, engine)\n"
        "except tlfast.TLEncodeError as e:\n"
        "    print('TLEncodeError', e)\n"
    )
    proc = subprocess.run([sys.executable, "-c", "import tlfast\n" + code],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr[-500:]
    assert proc.stdout.startswith("TLEncodeError") and "nesting deeper" in proc.stdout


# --- length prefixes ------------------------------------------------------------------------
TEXT_PLAIN = 0x744694E0


@pytest.mark.parametrize("prefix, message", [
    (b"\xff\x00\x00\x00", "invalid length prefix 0xff at offset 4"),
    (b"\xff" * 8, "invalid length prefix 0xff at offset 4"),
    (b"\xfe\x05\x00\x00abcde\x00\x00\x00", "non-canonical length prefix: 0xfe form for length 5 at offset 4"),
    (b"\xfe\xff\xff\xff" + b"x" * 8, "unexpected end of data: need 16777220 bytes, 12 left at offset 4"),
    (b"\x08abc", "unexpected end of data: need 12 bytes, 4 left at offset 4"),
    (b"\x03abc\x00", None),  # valid, but 1 trailing byte... see below
])
def test_bad_length_prefixes(backend, other, prefix, message):
    data = u32(TEXT_PLAIN) + prefix
    if message is None:
        err = rejects(backend, other, data)
        assert "trailing" in str(err)
        return
    err = rejects(backend, other, data)
    assert str(err) == f"textPlain.text: {message}"


def test_missing_padding_is_truncation(backend, other):
    err = rejects(backend, other, u32(TEXT_PLAIN) + b"\x02ab")
    assert "unexpected end of data" in str(err) and err.offset == 4
    # padding content is not checked
    assert H.loads(backend, u32(TEXT_PLAIN) + b"\x02ab\xee") == api.textPlain(text="ab")


# --- truncation ---------------------------------------------------------------------------
PAYLOADS = H.realistic_payloads()


def _decoded_payload(name):
    """What payload ``name`` decodes to: the object it was built from (the container's
    gzip_packed result comes back inflated)."""
    if name == "container":
        value = H.sample_container()
        value.messages[0].body.result = H.sample_messages(2, seed=9)
        return value
    return {"messages": lambda: H.sample_messages(4), "config": H.sample_config,
            "request": H.sample_request}[name]()


@pytest.mark.parametrize("name", [n for n, _ in PAYLOADS])
def test_every_prefix_is_rejected(backend, other, name):
    data = dict(PAYLOADS)[name]
    assert H.loads(backend, data) == _decoded_payload(name)
    for n in range(len(data)):
        prefix = data[:n]
        try:
            H.loads(backend, prefix)
        except TLDecodeError as exc:
            if other is not None:
                got = outcome(other, prefix)
                assert got == ("error",) + H.error_signature(exc), (n, str(exc), got)
            assert exc.offset is not None and 0 <= exc.offset <= n, (n, str(exc))
            continue
        pytest.fail(f"{name}: the {n}-byte prefix decoded")


def test_prefixes_with_types_and_result_of(backend, other):
    longs = H.dumps(backend, list(range(20)), "Vector<long>")
    req = api.messages.receivedQueue(max_qts=1)
    for n in range(len(longs)):
        for kw in ({"type": "Vector<long>"}, {"result_of": req}):
            with pytest.raises(TLDecodeError) as info:
                H.loads(backend, longs[:n], **kw)
            if other is not None:
                assert outcome(other, longs[:n], **kw) == ("error",) + H.error_signature(info.value)


# --- corruption -----------------------------------------------------------------------------
@pytest.mark.parametrize("name", [n for n, _ in PAYLOADS])
def test_corrupted_words(backend, other, name):
    """Every aligned word replaced by a hostile value: a value or a TLError, never another
    exception, and the same answer from both engines."""
    data = dict(PAYLOADS)[name]
    for pos in range(0, len(data) - 3, 4):
        for word in (0x12345678, 0x7FFFFFFF, VECTOR):
            bad = data[:pos] + u32(word) + data[pos + 4:]
            got = outcome(backend, bad)
            if other is not None:
                assert outcome(other, bad) == got, (pos, hex(word))


@st.composite
def corrupted(draw):
    name, data = draw(st.sampled_from(PAYLOADS))
    data = bytearray(data)
    for _ in range(draw(st.integers(1, 4))):
        pos = draw(st.integers(0, len(data) - 1))
        data[pos] = draw(st.integers(0, 255))
    if draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))]
    return bytes(data)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(data=corrupted())
def test_random_corruption(backend, other, data):
    got = outcome(backend, data)
    if other is not None:
        assert outcome(other, data) == got


# At the highest max_depth a Reader accepts, in a child process: a decoder whose
# recursion outgrew the C stack (or Python's) would crash it rather than fail a test.
_DEEP_SCRIPT = r"""
import struct, sys
from tlfast import TLDecodeError, _backend, _plans
from tlfast._codec import default_codec
engine = _backend.load(sys.argv[1])
cap = _plans.MAX_DEPTH_LIMIT
for levels in (cap - 1, cap, 20000, 200000):
    data = struct.pack('<I', 0x6724ABC4) * levels + struct.pack('<I', 0xDC3D824F)
    try:
        default_codec().loads(data, None, None, engine, cap, 1 << 24)
        print(levels, "ok")
    except TLDecodeError as exc:
        print(levels, str(exc).rpartition(": ")[2])
"""


def test_deepest_max_depth_setting_never_crashes(backend):
    assert tlfast._plans.MAX_DEPTH_LIMIT == 200
    proc = subprocess.run([sys.executable, "-c", _DEEP_SCRIPT, backend.NAME],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, f"exit {proc.returncode}: {proc.stderr[-300:]}"
    # textBold x 199 + textEmpty is 200 objects deep: at the cap; one more is past it
    assert proc.stdout.splitlines() == [
        "199 ok",
        "200 nesting deeper than 200 levels at offset 804",
        "20000 nesting deeper than 200 levels at offset 804",
        "200000 nesting deeper than 200 levels at offset 804",
    ]


@pytest.mark.parametrize("max_depth", [0, 201, 10**6, 64.0, True, None])
def test_max_depth_outside_the_cap_is_refused(backend, max_depth):
    with pytest.raises(ValueError, match=r"max_depth must be an int in 1\.\.200") as info:
        backend.Reader(b"", max_depth=max_depth)
    assert not isinstance(info.value, TLError)  # a bad setting, not bad data
