"""Decoded values and the cyclic garbage collector, on both backends.

The Cython engine keeps the objects and lists of one decode off the collector's lists
while it builds them, and tracks them all again before handing them over. These tests
hold it to "exactly as before": every decoded object and list is tracked, and reference
cycles a user makes through decoded values (an object stored in its own field, a list
that holds itself, a child pointing at its root), by any way of setting an attribute,
are freed by ``gc.collect()``.
"""

import gc
import struct
import weakref
import zlib

import pytest

from tlfast import TLDecodeError, api, schemas
from tlfast._model import TLObject
from tlfast._payloads import build

import _helpers as H

GZIP_PACKED = 0x3072CFA1
HAVE_GC = 1 << 14  # Py_TPFLAGS_HAVE_GC


class Witness:
    """Hung on a cycle: it dies when the cycle is collected (TL objects take no weakref)."""


@pytest.fixture(scope="module")
def history():
    """Bytes of messages.messages with 100 messages (objects and lists several levels deep),
    also wrapped in gzip_packed (decoded by a second Reader inside the first)."""
    value, _ = build("messages_100")
    data = schemas.api.dumps(value, backend="python")
    body = zlib.compress(data)
    packed = struct.pack("<I", GZIP_PACKED) + b"\xfe" + len(body).to_bytes(3, "little") + body
    packed += b"\0" * (-len(packed) % 4)
    # A Vector of both: the gzip_packed ones run Python code (inflate) in the middle of the
    # decode. CPython 3.12+ only schedules a collection when an allocation passes the
    # threshold, and runs it when Python code next runs: without such code in the middle,
    # every collection a Cython decode sets off would run after it returned.
    nested = struct.pack("<II", 0x1CB5C415, 4) + (data + packed) * 2
    return {"plain": data, "gzip": packed, "nested": nested}


def _walk(value):
    """Every TL object and list in a decoded value."""
    return H.objects_and_lists(value, lambda v: [getattr(v, a) for a, _ in v._fields]
                               if isinstance(v, TLObject) else None)


def _collected(make_cycle):
    """True when the cycle ``make_cycle(witness)`` builds (and drops) is freed by the
    collector and not before: refcounting alone cannot free a cycle."""
    gc.collect()
    gc.disable()  # no collection may run until we ask for one
    try:
        w = Witness()
        ref = weakref.ref(w)
        make_cycle(w)
        del w
        alive_before = ref() is not None
        gc.collect()
        return alive_before and ref() is None
    finally:
        gc.enable()


@pytest.mark.parametrize("form", ["plain", "gzip"])
def test_decoded_objects_and_lists_are_tracked(backend, history, form):
    value = schemas.api.loads(history[form], backend=backend)
    seen = list(_walk(value))
    assert len(seen) > 1000
    # Every one the collector can track (lists; classes with fields), it tracks.
    untracked = [v for v in seen if gc.is_tracked(v) != bool(type(v).__flags__ & HAVE_GC)]
    assert untracked == []


def test_object_stored_in_its_own_field(backend, history):
    def cycle(w):
        root = schemas.api.loads(history["plain"], backend=backend)
        msg = root.messages[3]
        msg.reply_to = msg
        msg.fwd_from = w

    assert _collected(cycle)


def test_list_that_holds_itself(backend, history):
    def cycle(w):
        root = schemas.api.loads(history["plain"], backend=backend)
        users = root.users
        del root
        users.append(users)
        users.append(w)

    def bare_cycle(w):
        lst = schemas.api.loads(schemas.api.dumps([1, 2, 3], "Vector<long>"), "Vector<long>",
                                backend=backend)
        lst.append(lst)
        lst.append(w)

    assert _collected(cycle)
    assert _collected(bare_cycle)


@pytest.mark.parametrize("form", ["plain", "gzip"])
@pytest.mark.parametrize("how", ["setattr", "object.__setattr__", "descriptor", "list item"])
def test_child_pointing_at_its_root(backend, history, form, how):
    def cycle(w):
        root = schemas.api.loads(history[form], backend=backend)
        leaf = root.messages[7].peer_id  # a leaf: only atomic fields
        if how == "setattr":
            setattr(leaf, "channel_id", root) if hasattr(leaf, "channel_id") else setattr(
                leaf, "user_id", root) if hasattr(leaf, "user_id") else setattr(leaf, "chat_id", root)
        elif how == "object.__setattr__":
            name = type(leaf)._fields[0][0]
            object.__setattr__(leaf, name, root)
        elif how == "descriptor":
            name = type(leaf)._fields[0][0]
            getattr(type(leaf), name).__set__(leaf, root)
        else:
            root.chats[0] = root
        root.messages[0].message = w

    assert _collected(cycle)


def test_cycle_through_a_request_with_a_long_vector(backend):
    data = schemas.api.dumps(api.messages.getCustomEmojiDocuments(document_id=list(range(1000))))

    def cycle(w):
        req = schemas.api.loads(data, backend=backend)
        req.document_id.append(req)
        req.document_id.append(w)

    assert _collected(cycle)


def _gc_objects(value):
    """The decoded objects and lists the collector can track (all of them, see above)."""
    return [v for v in _walk(value) if type(v).__flags__ & HAVE_GC]


@pytest.mark.parametrize("form", ["plain", "gzip"])
def test_decoded_objects_join_the_youngest_generation(backend, history, form):
    # Where a fresh object would be: on the youngest generation's list, where the
    # collector finds it (a tracked object on no generation's list is never collected).
    gc.collect()
    gc.disable()
    try:
        value = schemas.api.loads(history[form], backend=backend)
        young = {id(o) for o in gc.get_objects(generation=0)}
    finally:
        gc.enable()
    made = _gc_objects(value)
    assert len(made) > 1000
    assert [v for v in made if id(v) not in young] == []


@pytest.mark.parametrize("form", ["plain", "gzip"])
def test_collections_while_decoding(backend, history, form):
    # A collection of every generation at (nearly) every allocation, while the decode
    # builds its objects, and while failures half-way free them again.
    data = history[form]
    expected = schemas.api.loads(data, backend="python")
    step = len(data) // 24 // 4 * 4
    threshold = gc.get_threshold()
    gc.set_threshold(1, 1, 1)
    try:
        value = schemas.api.loads(data, backend=backend)
        for cut in range(4, len(data), step):
            with pytest.raises(TLDecodeError):
                schemas.api.loads(data[:cut], backend=backend)
    finally:
        gc.set_threshold(*threshold)
    assert value == expected
    made = _gc_objects(value)
    everywhere = {id(o) for o in gc.get_objects()}
    assert [v for v in made if id(v) not in everywhere] == []


@pytest.mark.parametrize("form", ["plain", "gzip", "nested"])
def test_collections_during_a_decode_never_meet_what_it_made(backend, history, form):
    # What the Cython engine makes stays off the collector's lists until the decode
    # returns: a collection that runs while it decodes never walks the half-built value, nor
    # promotes it. Each collection sees none of what the decode made (it ran before the
    # decode returned: on 3.11 from an allocation, on 3.12+ from inflate's Python code), or
    # all of it (it ran after: where 3.12+ runs the ones our allocations scheduled), never
    # a part. The pure engine's objects are tracked from birth, as any Python code's: there
    # some collection must see a part (or the look could not see anything).
    met = []

    def look(phase, info):
        if phase == "start":
            # Held, so that no id is reused meanwhile; but no tuple: one may be half-built
            # (tuple(generator) resizes it in place, which needs the only reference to it).
            met.append([o for o in gc.get_objects(generation=0) if type(o) is not tuple])

    threshold = gc.get_threshold()
    gc.callbacks.append(look)
    # Young collections only: where an older generation is due as well, the Cython engine
    # leaves the collection to CPython (it may be a full one), which then runs after the
    # decode returns and sees all of it, as a collection of any other code would.
    gc.set_threshold(10, 10**9, 10**9)
    try:
        value = schemas.api.loads(history[form], backend=backend)
    finally:
        gc.callbacks.remove(look)
        gc.set_threshold(*threshold)
    made = {id(v) for v in _gc_objects(value)}
    seen = [sum(1 for m in objects if id(m) in made) for objects in met]
    assert len(made) > 1000 and met
    if backend.NAME == "cython" and backend.BUILD.get("gc_pause"):
        # 3.12/3.13: a large decode pauses the collector and runs the collection that came
        # due before what it made joins the youngest generation: none sees any of it.
        assert [n for n in seen if n] == []
    elif backend.NAME == "cython":
        assert [n for n in seen if n not in (0, len(made))] == []
    else:
        assert [n for n in seen if 0 < n < len(made)]


@pytest.mark.parametrize("form", ["plain", "gzip"])
def test_the_collector_is_left_as_it_was(backend, history, form):
    # A large decode may pause the collector (CPython 3.12+): it is on again after the
    # decode, failed or not, and a collector the user turned off stays off.
    data = history[form]
    try:
        for enabled in (True, False):
            (gc.enable if enabled else gc.disable)()
            schemas.api.loads(data, backend=backend)
            assert gc.isenabled() is enabled
            with pytest.raises(TLDecodeError):
                schemas.api.loads(data[:len(data) // 2], backend=backend)
            assert gc.isenabled() is enabled
    finally:
        gc.enable()
