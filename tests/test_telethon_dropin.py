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
import functools
import inspect
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


@pytest.fixture
def installed(backend):
    """The drop-in installed on ``backend`` for one test, then removed."""
    TT.uninstall()
    TT.install(backend=backend)
    yield TT
    TT.uninstall()


@functools.lru_cache(maxsize=None)
def _params(cls):
    init = vars(cls).get("__init__") or next(
        (vars(k)["__init__"] for k in cls.__mro__ if "__init__" in vars(k)), None)
    return list(inspect.signature(init).parameters)[1:]


def to_telethon(value):
    """A Telethon object built with its class from a value of the HOST schema."""
    if isinstance(value, list):
        return [to_telethon(v) for v in value]
    if not isinstance(value, tlfast._model.TLObject):
        return value
    cls = tlobjects[value.CONSTRUCTOR_ID]
    params = _params(cls)
    kwargs = {}
    for attr, tl_name in value._fields:
        for name in (tl_name, "is_" + tl_name, tl_name + "_"):
            if name in params:
                kwargs[name] = to_telethon(getattr(value, attr))
                break
        else:
            assert tl_name.startswith("flags"), (cls.__name__, tl_name)  # Telethon derives it
    return cls(**kwargs)


def same(a, b, path="$"):
    """Identical classes and ``vars()``, recursively (as dicts: the pure engine sets the
    attributes in wire order, not in the order of the class's ``__init__``)."""
    assert type(a) is type(b), f"{path}: {type(a).__name__} != {type(b).__name__}"
    if isinstance(a, list):
        assert len(a) == len(b), f"{path}: {len(a)} != {len(b)} elements"
        for i, (x, y) in enumerate(zip(a, b)):
            same(x, y, f"{path}[{i}]")
    elif isinstance(a, TLObject):
        va, vb = vars(a), vars(b)
        assert va.keys() == vb.keys(), f"{path}: attributes {set(va) ^ set(vb)} differ"
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
            rows.append((plan, obj, data, decoded, bytes(decoded)))
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
    TT.install(backend=backend)
    try:
        for plan, obj, data, stock, stock_again in sweep[chunk]:
            r = BinaryReader(data)
            mine = r.tgread_object()
            assert r.tell_position() == len(data), plan.name
            try:
                same(stock, mine)
            except AssertionError as exc:
                raise AssertionError(f"{plan.name}: {exc}") from None
            assert bytes(mine) == stock_again, plan.name
            assert bytes(obj) == data, plan.name
        assert TT.report()["fallbacks"] == 0  # the engine did it all
    finally:
        TT.uninstall()
