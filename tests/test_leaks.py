"""Nothing leaks: 20 000 decodes, encodes and failures on each backend leave the number of
memory blocks Python holds (``sys.getallocatedblocks``) where it was.

Failures are cycled as well as successes: a decode that fails halfway must free what it
had built (the Cython engine also hands its half-built objects, kept off the collector's
lists, back to the collector there), and an encode that fails must drop what it held. One
leaked block per cycle would show as 20 000 blocks; the slack below covers the
interpreter's own caches.

Freeing itself is tested last: the Cython engine gives the schema's classes a deallocator
of its own, which must drop every field, the class, and a user's subclass whole, survive a
chain deeper than the C stack, and still run a ``__del__`` given to a class later.
"""

import gc
import struct
import sys
import weakref
import zlib

import pytest

from tlfast import TLDecodeError, TLEncodeError, api, schemas
from tlfast._payloads import build

CYCLES = 20_000
SLACK = 100  # blocks (2 in practice); a leak of one block per cycle would be 20 000
GZIP_PACKED = 0x3072CFA1


def _tl_bytes(body):
    """``body`` as a TL ``bytes`` value (length prefix, padding)."""
    n = len(body)
    head = bytes([n]) if n < 254 else b"\xfe" + n.to_bytes(3, "little")
    return head + body + b"\0" * (-(len(head) + n) % 4)


def _growth(fn, cycles=CYCLES):
    for _ in range(200):  # warm up: plans, generated code, free lists
        fn()
    gc.collect()
    base = sys.getallocatedblocks()
    for _ in range(cycles):
        fn()
    gc.collect()
    return sys.getallocatedblocks() - base


@pytest.fixture(scope="module")
def message():
    value, _ = build("send_message")
    return value, schemas.api.dumps(value, backend="python")


def _fails(fn, exc_type):
    def run():
        try:
            fn()
        except exc_type:
            return
        raise AssertionError("expected a failure")

    return run


def test_decode_cycles(backend, message):
    value, data = message
    assert _growth(lambda: schemas.api.loads(data, backend=backend)) < SLACK


def test_decode_gzip_packed_cycles(backend, message):
    # gzip_packed is read by a second Reader inside the first one.
    _, data = message
    packed = struct.pack("<I", GZIP_PACKED) + _tl_bytes(zlib.compress(data))
    assert schemas.api.loads(packed, backend=backend) == message[0]
    assert _growth(lambda: schemas.api.loads(packed, backend=backend)) < SLACK


def test_decode_vector_in_request_cycles(backend):
    data = schemas.api.dumps(api.messages.getCustomEmojiDocuments(document_id=list(range(-500, 500))),
                             backend="python")
    assert _growth(lambda: schemas.api.loads(data, backend=backend), 2_000) < SLACK


def test_encode_cycles(backend, message):
    value, data = message
    assert schemas.api.dumps(value, backend=backend) == data
    assert _growth(lambda: schemas.api.dumps(value, backend=backend)) < SLACK


def test_decode_error_cycles(backend, message):
    value, data = message
    # Cut inside the entities vector: the request and some entities are built, then fail.
    cut = data[: len(data) - 10]
    # An unknown constructor in place of the second entity.
    first = schemas.api.dumps(value.entities[0], backend="python")
    at = data.index(first) + len(first)
    unknown = data[:at] + b"\x78\x56\x34\x12" + data[at + 4:]
    for bad in (cut, unknown):
        with pytest.raises(TLDecodeError):
            schemas.api.loads(bad, backend=backend)
        assert _growth(_fails(lambda: schemas.api.loads(bad, backend=backend), TLDecodeError)) < SLACK
    # Too deep: fails on the first nested object.
    too_deep = _fails(lambda: schemas.api.loads(data, backend=backend, max_depth=1), TLDecodeError)
    assert _growth(too_deep) < SLACK


def test_encode_error_cycles(backend, message):
    value, _ = message
    bad = api.messages.sendMessage(peer=value.peer, message=value.message, random_id=1,
                                   entities=[value.entities[0], api.messageEntityBold(offset="x", length=1)])
    fails = _fails(lambda: schemas.api.dumps(bad, backend=backend), TLEncodeError)
    assert _growth(fails) < SLACK


class Witness:
    """Put in a field: it dies when whatever holds it is freed (TL objects take no weakref)."""


@pytest.fixture
def bold(backend):
    """A decoded textBold(textPlain): its classes met by the engine under test (the
    Cython engine gives the schema's classes a deallocator of its own when it meets them)."""
    data = schemas.api.dumps(api.textBold(text=api.textPlain(text="x")), backend="python")
    return lambda: schemas.api.loads(data, backend=backend)


def test_freed_objects_drop_their_fields(bold):
    value = bold()
    w = Witness()
    ref = weakref.ref(w)
    value.text.text = w
    del value, w
    assert ref() is None


def test_freed_instances_of_a_subclass_drop_everything(bold):
    bold()

    class Mine(api.textPlain):  # a user's subclass: a __dict__, a __weakref__, more slots
        pass

    class Slotted(api.textPlain):
        __slots__ = ("note",)

    for cls in (Mine, Slotted):
        a, b = Witness(), Witness()
        refs = weakref.ref(a), weakref.ref(b)
        obj = cls(text=a)
        if cls is Mine:
            obj.extra = b
            mine = weakref.ref(obj)
        else:
            obj.note = b
        holder = api.textBold(text=obj)
        del obj, a, b
        assert all(r() is not None for r in refs)
        del holder
        assert all(r() is None for r in refs)
        if cls is Mine:
            assert mine() is None


def test_freed_objects_give_back_their_class(bold):
    # Each instance of a schema class holds a reference to it, given back when it dies.
    cls = type(bold().text)
    before = sys.getrefcount(cls)
    for _ in range(10_000):
        bold()
    assert sys.getrefcount(cls) - before < 10


def test_freeing_a_deep_chain(bold):
    # Freeing nests one call per level: CPython's trashcan flattens it, or this chain
    # would overflow the C stack.
    bold()
    chain = api.textPlain(text="x")
    for _ in range(300_000):
        chain = api.textBold(text=chain)
    del chain


def test_a_del_given_to_a_class_later_runs(backend):
    # CPython calls a __del__ added to a class after its instances were made; so must we.
    cls = api.textUnderline
    data = schemas.api.dumps(cls(text=api.textPlain(text="x")), backend="python")
    schemas.api.loads(data, backend=backend)
    ran = []
    cls.__del__ = lambda self: ran.append(type(self))
    try:
        schemas.api.loads(data, backend=backend)
        cls(text=api.textEmpty())
    finally:
        del cls.__del__
    assert ran == [cls, cls]
