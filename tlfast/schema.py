"""Schema: definitions by name and id, type resolution, run-time classes, plans.

Pure Python, shared by both backends. Everything per constructor (class, plan) is built
lazily on first use, so loading the 2,456 definitions of a layer costs only the parse (or
the cache read, for the bundled schemas).

May use: errors, _tlparse, _primitives, _model, _plans, _late, _codec.
"""

import marshal
import os
import sys
import threading
import warnings
import weakref
from collections import namedtuple

from . import _late
from . import _plans as PL
from ._codec import Codec
from ._model import TLFunction, make_class, make_type_class
from ._primitives import GZIP_PACKED, inflate
from ._tlparse import (
    KNOWN_ID_EXCEPTIONS,
    TON_PRIMITIVES,
    check_dialect,
    Definition,
    TLSchemaError,
    TypeExpr,
    parse,
    parse_one,
    parse_type,
)
from .errors import TLEncodeError

__all__ = ["Schema", "TLSchemaError", "TLSchemaWarning", "Definition", "IdStats"]

IdStats = namedtuple("IdStats", "declared matched")


class TLSchemaWarning(UserWarning):
    """A declared constructor id that differs from the computed one (not a known exception)."""


# A definition is kept as a flat record until something needs its parameters; the bundled
# schemas' records are cached with marshal, which loads flat tuples of strings fastest.
# (name, id, declared id, computed id, source, result type, is function, line)
_NAME, _ID, _DECLARED, _COMPUTED, _SOURCE, _TYPE, _IS_FUNCTION, _LINE = range(8)


def _compact(d):
    return (d.name, d.id, d.declared_id, d.computed_id, d.source, str(d.type),
            d.is_function, d.line)


def _expand(rec, dialect="telegram"):
    return parse_one(rec[_SOURCE], rec[_IS_FUNCTION], rec[_LINE], dialect)


# The names of "any object" types besides Object in each dialect: TON declares `object ? =
# Object;` and `function ? = Function;` and uses `object`, `function` and `Function` as
# types (testObject, tonlib's withBlock).
_ANY_FUNCTION = PL.BoxedType("Function", None, True)
_ANY = {
    "telegram": {},
    "ton": {"object": PL.ANY_OBJECT, "function": _ANY_FUNCTION, "Function": _ANY_FUNCTION},
}

# The primitive types of each dialect (tlfast._tlparse.DIALECTS): tonlib's `int32 = Int32;`
# and the like name primitives in TON's.
_PRIMITIVES = {
    "telegram": PL.PRIMITIVE_KINDS,
    "ton": {**PL.PRIMITIVE_KINDS, **{k: PL.PRIMITIVE_KINDS[v] for k, v in TON_PRIMITIVES.items()}},
}


class Schema:
    """A TL schema: constructors, functions and types, with their classes and codecs."""

    def __init__(self, records, layer=None, builtins=(), base=None, key=None, module=None,
                 binding=None, dialect=None):
        if dialect is None:
            dialect = base.dialect if base is not None else "telegram"
        check_dialect(dialect)
        if base is not None and base.dialect != dialect:
            raise TLSchemaError(f"a {dialect!r} schema cannot extend a {base.dialect!r} one")
        self.dialect = dialect  # the TL dialect the text is written in (_tlparse.DIALECTS)
        self._primitives = _PRIMITIVES[dialect]
        self._any = _ANY[dialect]
        # Constructors and functions (objects) in _records; the wire format's own
        # declarations (`int ? = Int`, `vector ...`) in _builtin_records: they are looked up
        # by name and id like the others, but have no class or plan.
        self._records = dict(base._records) if base is not None else {}
        self._builtin_records = dict(base._builtin_records) if base is not None else {}
        for rec in records:
            self._builtin_records.pop(rec[0], None)
            self._records[rec[0]] = rec
        for rec in builtins:
            self._records.pop(rec[0], None)
            self._builtin_records[rec[0]] = rec
        self.layer = layer if layer is not None else (base.layer if base is not None else None)
        self.base = base
        # MTProto beside an API layer (``base=tlfast.schemas.mtproto``): two namespaces on the
        # wire. The base's definitions the text leaves alone stay the base's (plans, classes,
        # types), so MTProto's msg_container holds MTProto's bare `message` even though the
        # API's `message` takes the name here; ids only the base has decode as the base's.
        # On top of such a pairing (an API patch), the pairing is with MTProto's schema
        # itself: the API definitions merge as usual.
        self._service = None
        if base is not None and not any(rec[_NAME] == "msg_container" for rec in records):
            self._service = base._service or (base if _is_service(base) else None)
        self._key = key
        self._module = module or "tlfast.schemas.custom"
        self._binding = binding  # PL.HostBinding: plans build a host's classes (adapters)
        self._by_id = {}
        for records_ in (self._builtin_records, self._records):  # objects win an id clash
            for name, rec in records_.items():
                self._by_id[rec[_ID]] = name
        self._undefined = None
        self._defs = {}
        self._plans = {}
        self._building = {}
        self._lock = threading.RLock()  # classes and plans are built on first use
        self._type_classes = {}
        self._type_plans = {}
        self._types = None
        self._codec_obj = None
        self._root = None
        self._warn_mismatches()

    # construction ---------------------------------------------------------------------
    @classmethod
    def from_text(cls, text, base=None, dialect=None):
        """Parse TL ``text``; with ``base``, its definitions first, later ones winning.

        ``dialect``: ``"telegram"`` (the default) or ``"ton"`` (The Open Network's
        lite_api, ton_api, tonlib_api: TON's id rule, '#' words the caller may set,
        tonlib's ``int53`` and the like as primitives); see tlfast._tlparse.DIALECTS. With
        a ``base``, the base's dialect unless given."""
        if dialect is None:
            dialect = base.dialect if base is not None else "telegram"
        defs, layer, builtins = parse(text, check_dialect(dialect))
        schema = cls([_compact(d) for d in defs], layer, [_compact(d) for d in builtins], base,
                     dialect=dialect)
        schema._key = ("text", text, base._pickle_key() if base is not None else None, dialect)
        _from_key_cache[schema._key] = schema  # unpickling in this process finds it
        return schema

    @classmethod
    def from_file(cls, path, base=None, dialect=None):
        """``from_text`` of the file at ``path`` (UTF-8)."""
        with open(path, encoding="utf-8") as f:
            return cls.from_text(f.read(), base, dialect)

    # lookups --------------------------------------------------------------------------
    def __getitem__(self, key):
        """Definition by full TL name (``"auth.importAuthorization"``) or by id; built-in
        declarations (``"vector"``, ``0x1cb5c415``) too."""
        if isinstance(key, int) and not isinstance(key, bool):
            name = self._by_id.get(key & 0xFFFFFFFF)
            if name is None and self._service is not None and key in self._service:
                return self._service[key]  # an id only MTProto beside it has (its `message`)
            if name is None:
                raise KeyError(f"no constructor or function with id 0x{key & 0xFFFFFFFF:08x}")
            return self._definition(name)
        if key not in self._records and key not in self._builtin_records:
            raise KeyError(f"no constructor or function named {key!r}")
        return self._definition(key)

    def get(self, key, default=None):
        try:
            return self[key]
        except KeyError:
            return default

    def __contains__(self, key):
        if isinstance(key, int):
            return (key & 0xFFFFFFFF) in self._by_id or (
                self._service is not None and key in self._service)
        return key in self._records or key in self._builtin_records

    def __iter__(self):
        """Every constructor and function (built-in declarations: ``builtins``)."""
        for name in self._records:
            yield self._definition(name)

    def __len__(self):
        return len(self._records)

    def __repr__(self):
        return f"<tlfast.Schema layer={self.layer} definitions={len(self)}>"

    def _definition(self, name):
        d = self._defs.get(name)
        if d is None:
            rec = self._records.get(name) or self._builtin_records[name]
            d = self._defs[name] = _expand(rec, self.dialect)
        return d

    @property
    def builtins(self):
        """The built-in declarations the schema text makes (``int ? = Int;``, ``vector
        {t:Type} # [ t ] = Vector t;``): Definitions with ``is_builtin``, ids computed by
        the same rule. The engines encode these types natively, whether declared or not."""
        return [self._definition(n) for n in self._builtin_records]

    @property
    def undefined_types(self):
        """Names the definitions use as types without the schema defining them (sorted):
        boxed types without constructors, bare constructors it lacks. They are resolved
        when used: such a field encodes while absent (or an empty vector); a value there
        fails to encode, and bytes there fail to decode naming the type."""
        if self._undefined is None:
            names = set()
            for name in self._records:
                d = self._definition(name)
                generics = d.generics
                for p in d.params:
                    if not (p.flag is not None and p.type.name == "true"):
                        names.update(self._undefined_in(p.type, generics))
                if d.is_function:
                    names.update(self._undefined_in(d.type, generics))
            self._undefined = sorted(names)
        return list(self._undefined)

    def _defines(self, name):
        """Whether the schema defines ``name``: a constructor for a lowercase name
        (``message``), else a type with constructors. _resolve follows the same rule."""
        if name.rpartition(".")[2][:1].islower():
            rec = self._records.get(name)
            return rec is not None and not rec[_IS_FUNCTION]
        return bool(self.types.get(name))

    def _undefined_in(self, texpr, generics):
        name = texpr.name
        if name in generics or name == "Object" or name in self._primitives or name in self._any:
            return
        if name in ("Vector", "vector"):
            for arg in texpr.args:
                yield from self._undefined_in(arg, generics)
        elif not self._defines(name):
            yield name

    @property
    def types(self):
        """{boxed type name: [constructor names]}."""
        if self._types is None:
            types = {}
            for name, rec in self._records.items():
                if not rec[_IS_FUNCTION]:
                    types.setdefault(rec[_TYPE], []).append(name)
            self._types = types
        return self._types

    # id verification ------------------------------------------------------------------
    @property
    def id_mismatches(self):
        """Definitions (built-ins included) whose declared id differs from the one
        computed by the CRC32 rule."""
        return [self._definition(n) for records in (self._records, self._builtin_records)
                for n, r in records.items()
                if r[_DECLARED] is not None and r[_DECLARED] != r[_COMPUTED]]

    @property
    def id_stats(self):
        """Declared ids and how many of them equal the computed id (built-ins included)."""
        declared = [(r[_DECLARED], r[_COMPUTED])
                    for records in (self._records, self._builtin_records)
                    for r in records.values() if r[_DECLARED] is not None]
        return IdStats(len(declared), sum(1 for a, b in declared if a == b))

    def _warn_mismatches(self):
        if self.dialect == "ton":
            # TON declares an id where it kept one across a change (liteServer.transactionId,
            # db.block.info): the declared id is the one its own tools use.
            return
        odd = [r[_NAME] for r in self._records.values()
               if r[_DECLARED] is not None and r[_DECLARED] != r[_COMPUTED]
               and r[_NAME] not in KNOWN_ID_EXCEPTIONS]
        if odd:
            warnings.warn(
                f"{len(odd)} declared constructor ids differ from the computed ones: "
                + ", ".join(odd[:10]) + (" ..." if len(odd) > 10 else ""),
                TLSchemaWarning,
                stacklevel=3,
            )

    # classes and namespaces ---------------------------------------------------------
    @property
    def api(self):
        """Namespace root: ``schema.api.auth.importAuthorization``, ``schema.api.User``."""
        if self._root is None:
            self._root = Namespace(self, "")
        return self._root

    def _class(self, name):
        return self._plan(name).cls

    def _type_class(self, type_name):
        cls = self._type_classes.get(type_name)
        if cls is None and self._service is not None and type_name in self._service.types:
            svc = self._service
            if all(self._records.get(c) is svc._records.get(c) for c in self.types.get(type_name, ())):
                cls = self._type_classes[type_name] = svc._type_class(type_name)
        if cls is None:
            with self._lock:
                cls = self._type_classes.get(type_name)
                if cls is None:
                    cls = self._type_classes[type_name] = make_type_class(type_name, self._module)
        return cls

    def _plan(self, name):
        plan = self._plans.get(name)  # only finished plans are ever in here
        if plan is not None:
            return plan
        svc = self._service
        if svc is not None and name in svc._records and self._records.get(name) is svc._records[name]:
            return svc._plan(name)  # MTProto's, as the base compiles it
        with self._lock:
            plan = self._plans.get(name) or self._building.get(name)
            if plan is None:
                plan = self._build_plan(name)
        return plan

    def _build_plan(self, name):
        # Under self._lock. A plan under construction is visible only to this thread, via
        # _building (recursive bare references), never to other threads through _plans.
        d = self._definition(name)
        plan = self._building[name] = PL.CtorPlan(d, self)
        bound = self._binding.classes.get(name) if self._binding is not None else None
        try:
            if bound is not None:
                # A host's class (adapters): its attribute names, nothing made here.
                PL.compile_ctor(plan, d, self._resolve, bound[1])
                self._binding.apply(plan)
                plan.cls = bound[0]
                self._plans[name] = plan
                return plan
            PL.compile_ctor(plan, d, self._resolve, keep_words=self.dialect == "ton")
            attrs = [(f.attr, f.name) for f in plan.fields if f.slot >= 0]
            _check_attrs(d, attrs)
            base = TLFunction if d.is_function else self._type_class(str(d.type))
            cls = make_class(d, attrs, plan.defaults, base, self._module)
            cls._plan = plan
            if d.is_function:
                cls.RESULT = str(d.type)
            plan.cls = cls
        finally:
            del self._building[name]
        self._plans[name] = plan
        return plan

    def _plan_by_id(self, cid):
        name = self._by_id.get(cid)
        if name is None and self._service is not None:
            return self._service._plan_by_id(cid)
        return None if name is None or name not in self._records else self._plan(name)

    # type resolution ----------------------------------------------------------------
    def _resolve(self, texpr, generics=()):
        """TypeExpr -> TypePlan. A type the schema names but does not define resolves too
        (see ``undefined_types``); a malformed expression raises TLSchemaError."""
        key = str(texpr)
        if not generics or texpr.name not in generics:
            tp = self._type_plans.get(key)
            if tp is not None:
                return tp
        tp = self._resolve_new(texpr, generics)
        if not generics or texpr.name not in generics:
            self._type_plans[key] = tp
        return tp

    def _resolve_new(self, t, generics):
        name = t.name
        text = str(t)
        if name in generics:
            if t.bang:
                return PL.TypePlan(PL.OBJECT, boxed=PL.BoxedType("!" + name, None, True), text=text)
            return PL.TypePlan(PL.OBJECT, boxed=PL.ANY_OBJECT, text=text)
        if name in ("Vector", "vector"):
            if len(t.args) != 1:
                raise TLSchemaError(f"{name} takes one type argument: {text}")
            kind = PL.VECTOR if name == "Vector" and not t.bare else PL.BARE_VECTOR
            factory = self._binding.vector_factory if self._binding is not None else None
            return PL.TypePlan(kind, elem=self._resolve(t.args[0], generics), text=text,
                               factory=factory)
        if t.args:
            raise TLSchemaError(f"type {text} has arguments but is not a Vector")
        if name == "Object":
            return PL.TypePlan(PL.OBJECT, boxed=PL.ANY_OBJECT, text=text)
        boxed = self._any.get(name)
        if boxed is not None:
            return PL.TypePlan(PL.OBJECT, boxed=boxed, text=text)
        kind = self._primitives.get(name)
        if kind is not None:
            return PL.TypePlan(kind, text=text)
        short = name.rpartition(".")[2]
        if short[:1].islower():  # bare constructor by name: message, future_salt
            if not self._defines(name):
                return PL.TypePlan(PL.UNDEFINED, text=text)  # no layout: fails when used
            return self._bare(name, text)
        ctors = self.types.get(name)
        if not ctors:
            if t.bare:
                return PL.TypePlan(PL.UNDEFINED, text=text)
            return PL.TypePlan(PL.OBJECT, boxed=PL.BoxedType(name, frozenset()), text=text)
        if t.bare:
            if len(ctors) != 1:
                raise TLSchemaError(f"%{name}: bare form needs a type with one constructor, it has {len(ctors)}")
            return self._bare(ctors[0], text)
        ids = frozenset(self._records[c][_ID] for c in ctors)
        return PL.TypePlan(PL.OBJECT, boxed=PL.BoxedType(name, ids), text=text)

    def _bare(self, ctor_name, text):
        tp = PL.TypePlan(PL.BARE, text=text)
        tp.ctor = self._plan(ctor_name)
        tp.min_size = tp.ctor.min_size
        return tp

    def type_plan(self, type):
        """TypePlan for a type expression string (``"Vector<long>"``), TypeExpr or None."""
        if type is None:
            return self._resolve(TypeExpr("Object"))
        if isinstance(type, PL.TypePlan):
            return type
        if isinstance(type, str):
            type = parse_type(type)
        for name in self._undefined_in(type, ()):
            # Asked for by the caller, not named by a definition: most likely a typo.
            raise TLSchemaError(f"undefined type {name}")
        return self._resolve(type)

    def result_type(self, request):
        """The TypePlan of the result of ``request`` (a function instance)."""
        plan = getattr(type(request), "_plan", None)
        if plan is None or not plan.is_function:
            raise TLEncodeError(f"result_of expects a TL function instance, got {type(request).__name__}")
        d = plan.definition
        if d.type.name in d.generics:
            # `invokeWithLayer {X:Type} ... query:!X = X`: the result is the inner query's.
            for f in plan.fields:
                if f.kind == PL.OBJECT and f.type.boxed.functions_only:
                    inner = getattr(request, f.attr)
                    owner = getattr(type(inner), "_plan", None)
                    if owner is not None and owner.id == GZIP_PACKED:
                        data = inflate(inner.packed_data, 0, PL.DEFAULT_MAX_INFLATE)
                        codec = _late.default_codec() if self._key and self._key[0] == "bundled" else self._codec()
                        inner = codec.loads(data)
                        owner = getattr(type(inner), "_plan", None)
                    if owner is None:
                        break
                    return owner.schema.result_type(inner)
            return self._resolve(TypeExpr("Object"))
        return plan.schema._resolve(d.type)

    # codec entry points -------------------------------------------------------------
    def _codec(self):
        if self._codec_obj is None:
            self._codec_obj = Codec([self])
        return self._codec_obj

    def dumps(self, value, type=None, *, backend=None):
        """Encode ``value`` as TL ``type`` (a type expression; default: boxed Object)."""
        return self._codec().dumps(value, type, backend)

    def loads(self, data, type=None, *, result_of=None, backend=None,
              max_depth=PL.DEFAULT_MAX_DEPTH, max_inflate=PL.DEFAULT_MAX_INFLATE):
        """Decode ``data`` as TL ``type`` (default: boxed Object); all of it must be used."""
        return self._codec().loads(data, type, result_of, backend, max_depth, max_inflate)

    def from_dict(self, d):
        """Inverse of ``to_dict()``: build objects from ``{"_": name, ...}``, recursively."""
        return self._codec().from_dict(d)

    # pickling -----------------------------------------------------------------------
    def _pickle_key(self):
        if self._key is None:
            raise TypeError("this schema cannot be pickled")
        return self._key


def _is_service(schema):
    """Whether ``schema`` is MTProto's (bundled or a copy): a base an API layer is paired
    with, not merged into (see Schema.__init__)."""
    if schema is None:
        return False
    rec = schema._records.get("msg_container")
    return rec is not None and rec[_ID] == 0x73F1F8DC and "rpc_result" in schema._records


def _check_attrs(d, attrs):
    """Two TL names may map to one Python attribute (``from`` and ``from_``): say so
    instead of failing inside class creation."""
    seen = {}
    for attr, tl in attrs:
        if attr in seen:
            raise TLSchemaError(
                f"{d.name}: parameters {seen[attr]!r} and {tl!r} are both the Python attribute {attr!r}")
        seen[attr] = tl


class Namespace:
    """Attribute access to a schema's classes: ``api.auth.importAuthorization``."""

    def __init__(self, schema, prefix):
        self._schema = schema
        self._prefix = prefix

    def __getattr__(self, attr):
        if attr.startswith("__"):
            raise AttributeError(attr)
        schema = self._schema
        full = self._prefix + attr
        if full in schema._records:
            value = schema._class(full)
            if any(n.startswith(full + ".") for n in schema._records):
                value._tl_namespace = Namespace(schema, full + ".")
        elif full in schema.types:
            value = schema._type_class(full)
        elif any(n.startswith(full + ".") for n in schema._records):
            value = Namespace(schema, full + ".")
        else:
            where = self._prefix.rstrip(".") or "the schema"
            raise AttributeError(f"{where} has no constructor, function, type or namespace {attr!r}")
        setattr(self, attr, value)
        return value

    def __dir__(self):
        n = len(self._prefix)
        names = set()
        for full in list(self._schema._records) + list(self._schema.types):
            if full.startswith(self._prefix):
                names.add(full[n:].partition(".")[0])
        return sorted(names)

    def __repr__(self):
        return f"<tlfast namespace {self._prefix.rstrip('.') or '(root)'}>"


# bundled schemas ---------------------------------------------------------------------
_SCHEMA_DIR = os.path.join(os.path.dirname(__file__), "schemas")
_CACHE_FORMAT = 4  # 3: built-in declarations kept as records; 4: dotted names, dialects
_BUNDLED = {"api": "api-layer228.tl", "mtproto": "mtproto.tl"}
_loaded = {}


def _cache_dir():
    base = os.environ.get("TLFAST_CACHE_DIR")
    if base is None:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        base = os.path.join(base, "tlfast")
    return base


_digests = {}


def _source_digest(*names):
    """A digest of these files of the package (paths relative to it): part of every disk
    cache's key, so that what an older tlfast parsed or built is never taken for what this
    one would (a cache format number alone relies on someone remembering to bump it)."""
    import hashlib

    hit = _digests.get(names)
    if hit is None:
        h = hashlib.sha256()
        here = os.path.dirname(__file__)
        for name in names:
            with open(os.path.join(here, name), "rb") as f:
                h.update(f.read())
        hit = _digests[names] = h.hexdigest()[:16]
    return hit


def _parse_cached(text):
    """Parse ``text`` through an on-disk cache keyed by the text's hash and the parser's
    source; a stale, corrupt or unwritable cache just means parsing again."""
    import hashlib

    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    tag = (f"{_CACHE_FORMAT}-{sys.version_info[0]}.{sys.version_info[1]}-{digest}"
           f"-{_source_digest('_tlparse.py')}")
    path = os.path.join(_cache_dir(), f"schema-{digest[:32]}.marshal")
    try:
        with open(path, "rb") as f:
            stored_tag, records, layer, builtins = marshal.loads(f.read())
        if stored_tag == tag:
            return records, layer, builtins
    except Exception:  # noqa: BLE001 - missing/corrupt/foreign cache: parse again
        pass
    defs, layer, builtins = parse(text)
    records = [_compact(d) for d in defs]
    builtins = [_compact(d) for d in builtins]
    try:
        import tempfile

        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".schema-")
        with os.fdopen(fd, "wb") as f:
            marshal.dump((tag, records, layer, builtins), f)
        os.replace(tmp, path)  # atomic: readers see the old file or the new one
    except OSError:
        pass
    return records, layer, builtins


def _bundled_codec():
    return Codec([bundled("api"), bundled("mtproto")])


_late.make_default_codec = _bundled_codec  # the one late binding (see tlfast/_late.py)


def bundled(name):
    """The bundled Schema ``"api"`` (Telegram API layer 228) or ``"mtproto"``."""
    schema = _loaded.get(name)
    if schema is None:
        with open(os.path.join(_SCHEMA_DIR, _BUNDLED[name]), encoding="utf-8") as f:
            text = f.read()
        records, layer, builtins = _parse_cached(text)
        schema = Schema(records, layer, builtins, key=("bundled", name),
                        module=f"tlfast.schemas.{name}")
        _loaded[name] = schema
    return schema


_from_key_cache = weakref.WeakValueDictionary()


def _restore(schema_key, tl_name, values):
    """Unpickle an object (``TLObject.__reduce__`` names this function through its schema)."""
    cls = _schema_from_pickle_key(schema_key)._class(tl_name)
    obj = cls.__new__(cls)
    for (a, _), v in zip(cls._fields, values):
        setattr(obj, a, v)
    return obj


Schema._unpickle = staticmethod(_restore)


def _schema_from_pickle_key(key):
    if key[0] == "bundled":
        return bundled(key[1])
    schema = _from_key_cache.get(key)
    if schema is None:
        base = _schema_from_pickle_key(key[2]) if key[2] is not None else None
        schema = _from_key_cache[key] = Schema.from_text(key[1], base, key[3])
    return schema
