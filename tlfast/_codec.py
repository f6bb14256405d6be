"""The object-level entry points both engines share: loads, dumps, from_dict, result_of.

A ``Codec`` is what an engine's Reader/Writer consult while walking plans: constructor
plans by id (from one or more schemas; the bundled codec sees API and MTProto ids), type
expressions resolved to TypePlans, and the classes to build. It drives the active engine
(``_backend``); the schemas it is given are duck-typed, so it needs no ``tlfast.schema``.

May use: errors, _tlparse, _primitives, _plans, _late, _backend.
"""

from . import _backend
from . import _plans as PL
from . import _primitives as P
from ._late import codec_of, default_codec  # noqa: F401 - codec_of: re-exported
from ._primitives import inflate
from ._tlparse import TLSchemaError
from .errors import TLDecodeError, TLEncodeError, TLError

RPC_RESULT = 0xF35C6D01
RPC_ERROR = 0x2144CA19


class Codec:
    def __init__(self, schemas):
        self.schemas = list(schemas)
        self.primary = self.schemas[0]
        self.by_id = {}  # id -> CtorPlan, filled as ids are met
        self._type_plans = {}
        # Drop-in adapters (tlfast/adapters): ids a host reads with its own code,
        # {id: fn(buf, pos, end) -> (value, end)} with pos at the constructor id (checked
        # before anything else, gzip_packed included); the plan of a host class that
        # carries none, fn(cls) -> plan or None; and a hook writing objects that have no
        # plan, fn(value) -> bytes, or None to refuse.
        self.delegates = {}
        self.plan_of_class = None
        self.encode_hook = None

    def _codec(self):
        return self  # what a Reader/Writer asks of the schema it was given (tlfast._late)

    def plan_by_id(self, cid):
        plan = self.by_id.get(cid)
        if plan is None:
            for s in self.schemas:
                plan = s._plan_by_id(cid)
                if plan is not None:
                    self.by_id[cid] = plan
                    break
        return plan

    def plan_by_name(self, name):
        for s in self.schemas:
            if name in s._records:
                return s._plan(name)
        raise TLEncodeError(f"unknown constructor or function {name!r}")

    def type_plan(self, type):
        tp = self._type_plans.get(type)  # None (boxed Object) and strings, cached
        if tp is not None:
            return tp
        if isinstance(type, PL.TypePlan):
            return type
        if type is None:
            tp = self._type_plans[None] = self.primary.type_plan(None)
            return tp
        if tp is None:
            err = None
            for s in self.schemas:
                try:
                    tp = s.type_plan(type)
                    break
                except TLSchemaError as exc:
                    err = err or exc
            else:
                raise err
            self._type_plans[type] = tp
        return tp

    # entry points -------------------------------------------------------------------
    def loads(self, data, type=None, result_of=None, backend=None,
              max_depth=PL.DEFAULT_MAX_DEPTH, max_inflate=PL.DEFAULT_MAX_INFLATE):
        engine = _backend._active[0] if backend is None else _backend.engine(backend)
        r = engine.Reader(data, self, max_depth=max_depth, max_inflate=max_inflate)
        if result_of is not None:
            value = self._read_result(engine, r, result_of, max_depth, max_inflate)
        else:
            value = r.read_object(self._type_plans.get(type) or self.type_plan(type))
        left = r.remaining()
        if left:
            raise TLDecodeError(f"{left} trailing bytes after the value", r.tell())
        return value

    def dumps(self, value, type=None, backend=None):
        engine = _backend._active[0] if backend is None else _backend.engine(backend)
        w = engine.Writer(self)
        w.write_object(value, self._type_plans.get(type) or self.type_plan(type))
        return w.getvalue()

    def _read_result(self, engine, r, request, max_depth, max_inflate):
        """An RPC result body for ``request``: a bare ``rpc_result`` wrapper is unwrapped
        around the typed result, ``rpc_error`` is returned as is, gzip is inflated."""
        tp = request if isinstance(request, PL.TypePlan) else self.primary.result_type(request)
        start = r.tell()
        cid = r.read_uint() if r.remaining() >= 4 else None
        r.seek(start)
        if cid == RPC_RESULT:
            plan = self.plan_by_id(RPC_RESULT) or default_codec().plan_by_id(RPC_RESULT)
            r.read_uint()
            req_msg_id = r.read_long()
            try:
                result = self._read_result(engine, r, tp, max_depth, max_inflate)
            except TLError as exc:
                raise exc._add_path("rpc_result.result")
            return plan.cls(req_msg_id=req_msg_id, result=result)
        if cid == RPC_ERROR:
            return r.read_object(self.type_plan(None))
        if cid == P.GZIP_PACKED:
            r.read_uint()
            pos = r.tell()
            inflated = inflate(r.read_bytes(), pos, max_inflate)
            inner = engine.Reader(inflated, self, max_depth=max_depth, max_inflate=max_inflate)
            value = self._read_result(engine, inner, tp, max_depth, max_inflate)
            if inner.remaining():
                raise TLDecodeError(f"{inner.remaining()} trailing bytes inside gzip_packed", pos)
            return value
        return r.read_object(tp)

    def from_dict(self, d):
        if not isinstance(d, dict) or "_" not in d:
            raise TLEncodeError("from_dict expects a dict with a '_' key naming the constructor")
        plan = self.plan_by_name(d["_"])
        try:
            return _from_plain(self, plan, d)
        except TLError as exc:
            raise exc._add_path(plan.name) if exc.path else exc


def _from_plain(codec, plan, d):
    kwargs = {}
    known = {"_"}
    for f in plan.fields:
        if f.slot < 0:
            continue
        known.add(f.name)
        if f.name in d:
            v = d[f.name]
        elif f.attr in d:
            known.add(f.attr)
            v = d[f.attr]
        elif f.attr in plan.defaults:
            continue  # the class's default, as for a keyword argument left out
        else:
            raise TLEncodeError(f"{plan.name}: missing field {f.name!r}")
        try:
            kwargs[f.attr] = _value_from_plain(codec, f.type, v)
        except TLError as exc:
            raise exc._add_path("." + f.name)
    unknown = set(d) - known
    if unknown:
        raise TLEncodeError(f"{plan.name}: unknown field(s) {', '.join(sorted(unknown))}")
    return plan.cls(**kwargs)


def _value_from_plain(codec, tp, v):
    if v is None:
        return None
    k = tp.kind
    if k in (PL.VECTOR, PL.BARE_VECTOR):
        if not isinstance(v, (list, tuple)):
            return v  # the encoder reports the wrong type with its path
        out = []
        for i, x in enumerate(v):
            try:
                out.append(_value_from_plain(codec, tp.elem, x))
            except TLError as exc:
                raise exc._add_path(f"[{i}]")
        return out
    if isinstance(v, dict):
        if k == PL.BARE:
            # The position names the constructor (MTProto's bare `message` inside
            # msg_container is not the API's `message`, whatever codec resolves names).
            if v.get("_", tp.ctor.name) != tp.ctor.name:
                raise TLEncodeError(f"{tp.text} expects {tp.ctor.name}, got {v['_']}")
            return _from_plain(codec, tp.ctor, {k_: x for k_, x in v.items() if k_ != "_"})
        if k == PL.OBJECT and "_" in v:
            return _from_plain(codec, codec.plan_by_name(v["_"]), v)
    if k == PL.BYTES and isinstance(v, str):
        try:
            return bytes.fromhex(v)
        except ValueError:
            raise TLEncodeError(f"bytes given as str must be hex, got {v[:20]!r}") from None
    if k == PL.OBJECT and isinstance(v, list):
        return [_value_from_plain(codec, tp, x) for x in v]
    return v
