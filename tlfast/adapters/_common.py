"""What every drop-in adapter needs, whatever the host (DESIGN §4).

- ``PatchRegistry``: patches class attributes, remembers each original as it was in the
  owner's ``__dict__`` (or that there was none) and restores them by identity.
- ``HostCtor`` / ``rebuild_layer``: the host's layer rebuilt from what its generated classes
  say (wire order, TL type of each field, names), each line verified by the CRC32 rule;
  gaps filled from tlfast's bundled files when the fields agree; everything else left to
  the host (delegated). ``cached`` keeps the result on disk per host and version.
- ``host_schema``: a tlfast Schema of the host's layer whose plans build the host's own
  classes (``tlfast._plans.HostBinding``: classes, attribute names, build mode, value
  converters, encode rules), and ``host_codec``, the Codec the engines run for that host
  with its delegated ids, its class lookup and its hook for foreign objects on encode.
- ``dual_error``: exception classes that are a tlfast error *and* what the host's callers
  catch, and ``as_dual`` to turn one into the other on the way out of a seam.

A host module (``tlfast/adapters/telethon.py``, ``tlfast/adapters/pyrogram.py``) describes
its host with these; the engines
learn nothing about any host.

May use: _plans, _codec, _tlparse, schema.
"""

import marshal
import os
import sys
import threading
import warnings

from .. import _plans as PL
from .._codec import Codec
from .._tlparse import compute_id
from ..schema import (Schema, TLSchemaError, TLSchemaWarning, _cache_dir, _parse_cached,
                      _source_digest, bundled)

__all__ = ["PatchRegistry", "AdapterState", "HostCtor", "rebuild_layer", "cached",
           "host_schema", "host_codec", "dual_error", "as_dual", "count", "importable"]

_MISSING = object()


class PatchRegistry:
    """Class-attribute patches with their originals (gevent's ``get_original``, pytest's
    ``monkeypatch.undo``): ``restore()`` puts back the very objects that were there."""

    def __init__(self):
        self._saved = {}  # (owner, name) -> original object from owner.__dict__, or _MISSING
        self.lock = threading.RLock()

    def patch(self, owner, name, value):
        key = (owner, name)
        if key not in self._saved:
            self._saved[key] = owner.__dict__.get(name, _MISSING)
        setattr(owner, name, value)

    def original(self, owner, name, default=None):
        """What ``owner.__dict__[name]`` held before the patch (``default`` if unpatched
        or absent)."""
        value = self._saved.get((owner, name), _MISSING)
        return default if value is _MISSING else value

    def is_patched(self, owner, name):
        return (owner, name) in self._saved

    def restore(self):
        for (owner, name), orig in reversed(list(self._saved.items())):
            if orig is _MISSING:
                try:
                    delattr(owner, name)
                except AttributeError:
                    pass
            else:
                setattr(owner, name, orig)
        self._saved.clear()

    def __len__(self):
        return len(self._saved)


class AdapterState:
    """What one adapter module keeps between calls of its entry points: ``lock`` (install,
    uninstall and schema() run under it); ``host``, what the current install() patched (an
    object with ``.registry``, a PatchRegistry, and ``.info``), or None; ``built`` {engine
    name: what install() derived}, kept so that installing again is cheap."""

    def __init__(self):
        self.lock = threading.RLock()
        self.host = None
        self.built = {}
        self._schemas = {}

    def uninstall(self):
        """Restore every patched attribute to the very object it was (no-op if none)."""
        with self.lock:
            if self.host is not None:
                self.host.registry.restore()
                self.host = None

    def installed(self):
        """Whether the drop-in is installed (from install() until uninstall())."""
        return self.host is not None

    def schema(self, layer, key=None):
        """The host's layer as a plain tlfast.Schema (tlfast's own classes), made once per
        ``key`` (the host, where an adapter serves several) from ``layer()`` -> (lines,
        ..., info with "layer")."""
        with self.lock:
            if key not in self._schemas:
                got = layer()
                self._schemas[key] = host_schema(got[0], got[-1]["layer"])
            return self._schemas[key]


def count(values):
    """{value: how many times} (report()'s reasons)."""
    out = {}
    for v in values:
        out[v] = out.get(v, 0) + 1
    return out


def importable(module):
    """Whether ``module`` (an accelerator such as cryptg or tgcrypto) is installed."""
    import importlib.util

    return importlib.util.find_spec(module) is not None


class HostCtor:
    """One generated class of the host, as the host's own code describes it.

    ``names``: candidate TL names (first that verifies wins); ``params``: (attribute, TL
    type text) in wire order, flags words as ("flags", "#"); ``tl_names``: attribute ->
    candidate TL parameter names (renamed keywords); ``result``: TL result type text."""

    __slots__ = ("id", "names", "params", "tl_names", "result", "is_function", "reason",
                 "alternatives", "fields")

    def __init__(self, id, names, params, result, is_function, tl_names=None, reason=None,
                 fields=None):
        self.id = id
        self.names = names
        self.params = params
        self.result = result
        self.is_function = is_function
        self.tl_names = tl_names or {}
        self.reason = reason  # set when the host's code cannot be served (delegated)
        # other readings of ``params`` (a type name the host's code leaves ambiguous)
        self.alternatives = []
        # attribute -> (PL.ABSENT_*, PL.FALSY_*) where the host's rule is not tlfast's
        self.fields = fields or {}


def _line(name, cid, params, result):
    generic = {t.lstrip("!") for _, t in params if t.startswith("!")}
    head = "".join(f" {{{g}:Type}}" for g in sorted(generic))
    body = "".join(f" {n}:{t}" for n, t in params)
    return f"{name}#{cid:08x}{head}{body} = {result};"


def _variants(ctor):
    """Candidate TL lines for ``ctor``: each name with each choice of parameter names."""
    choices = [[a] + [n for n in ctor.tl_names.get(a, ()) if n != a] for a, _ in ctor.params]
    combos = [[]]
    for options in choices:
        combos = [c + [o] for c in combos for o in options][:16]  # a few renames at most
    for name in ctor.names:
        for reading in [ctor.params] + ctor.alternatives:
            for combo in combos:
                params = [(n, t) for n, (_, t) in zip(combo, reading)]
                yield _line(name, ctor.id, params, ctor.result), combo


def _strip_id(line):
    head, _, rest = line.partition(" ")
    return head.partition("#")[0] + " " + rest


def rebuild_layer(ctors):
    """Verify each HostCtor's TL line by the CRC32 rule, fill gaps by id from the bundled
    schemas (when their fields are the host's), and return ``(lines, attrs, delegated)``:
    (is function, TL line) pairs (verified first, then the unverified as the host has
    them, which the schema needs for type membership), {id: [attribute per stored TL
    param, in wire order]} of the served constructors and {id: reason} of those left to
    the host."""
    lines, attrs, delegated, extra = [], {}, {}, []
    fallback = {}
    for s in (bundled("api"), bundled("mtproto")):
        for d in s:
            fallback.setdefault(d.id, d)
    for c in ctors:
        if c.reason is not None:
            delegated[c.id] = c.reason
            if c.result:  # its line still tells the schema which type it belongs to
                extra.append((c.is_function, _line(c.names[0], c.id, c.params, c.result)))
            continue
        for line, combo in _variants(c):
            if compute_id(_strip_id(line)) == c.id:
                lines.append((c.is_function, line))
                break
        else:
            d = fallback.get(c.id)
            if d is not None and _same_fields(c, d):
                lines.append((c.is_function, d.source.rstrip(";") + ";"))
            else:
                delegated[c.id] = "its TL line does not verify (CRC32)"
                extra.append((c.is_function, _line(c.names[0], c.id, c.params, c.result)))
                continue
        attrs[c.id] = [a for a, t in c.params if t != "#"]
    return lines + extra, attrs, delegated


def _same_fields(c, d):
    """The bundled definition ``d`` reads exactly what the host's code reads."""
    host = [(a, t) for a, t in c.params]
    ours = []
    for p in d.params:
        if p.flag is not None:
            t = f"{p.flag}.{p.bit}?{p.type}"
        else:
            t = str(p.type)
        ours.append((p.name, t))
    if len(host) != len(ours):
        return False
    for (a, ht), (n, t) in zip(host, ours):
        if ht != t or (a != n and n not in c.tl_names.get(a, ())):
            return False
    return True


_CACHE_FORMAT = 1


def cached(key, build):
    """``build()`` (marshal-able), kept on disk under ``key`` (host, version, layer...);
    a stale, corrupt or unwritable cache just means building again."""
    # (and the sources of what the result depends on: the bundled MTProto schema decides
    # which ids a host keeps for itself)
    code = _source_digest("_tlparse.py", "_plans.py", "schemas/mtproto.tl", "adapters/_common.py",
                          "adapters/telethon.py", "adapters/pyrogram.py")
    tag = repr((_CACHE_FORMAT, sys.version_info[:2], key, code))
    import hashlib

    path = os.path.join(_cache_dir(), "host-" + hashlib.sha256(tag.encode()).hexdigest()[:32] + ".marshal")
    try:
        with open(path, "rb") as f:
            stored_tag, value = marshal.loads(f.read())
        if stored_tag == tag:
            return value, True
    except Exception:  # noqa: BLE001 - missing/corrupt/foreign cache: build again
        pass
    value = build()
    try:
        import tempfile

        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".host-")
        with os.fdopen(fd, "wb") as f:
            marshal.dump((tag, value), f)
        os.replace(tmp, path)
    except OSError:
        pass
    return value, False


def host_schema(lines, layer, classes=None, build=None, converters=None, fields=None,
                **binding):
    """A Schema of the host's layer from the rebuilt ``lines``. With ``classes`` {id:
    (host class, [attributes])} its plans build the host's classes; ``build`` {id: (mode,
    template)}, ``converters`` {id: {attribute: Converter}} and ``fields`` {id:
    HostCtor.fields} are keyed by id too; ``binding`` holds the other PL.HostBinding
    options."""
    text = "\n".join([f"// LAYER {layer}"] + [ln for f, ln in lines if not f]
                      + ["---functions---"] + [ln for f, ln in lines if f]) + "\n"
    records, layer_, builtins = _parse_cached(text)
    bind = None
    if classes is not None:
        names = {rec[1]: rec[0] for rec in records}

        def by_name(d):
            return {names[cid]: v for cid, v in (d or {}).items() if cid in names}

        bind = PL.HostBinding(by_name(classes), build=by_name(build),
                              converters=by_name(converters), fields=by_name(fields), **binding)
    with warnings.catch_warnings():
        # Unverified lines are in on purpose (type membership); they are never decoded.
        warnings.simplefilter("ignore", TLSchemaWarning)
        return Schema(records, layer_, builtins, module="tlfast.schemas.host", binding=bind)


def host_plans(schema, classes, delegated):
    """Build the plan of every bound class now (install time, not in a host's threads);
    one the schema cannot compile (a type only unverified lines define, say) joins
    ``delegated``. Returns {id: plan}."""
    plans = {}
    for cid in classes:
        try:
            plans[cid] = schema._plan_by_id(cid)
        except TLSchemaError as exc:
            delegated[cid] = f"its plan does not compile ({exc})"
    return plans


def host_codec(schema, delegates, encode_hook=None, plan_of_class=None):
    """The Codec an engine runs for a host: ``delegates`` {id: fn(buf, pos, end) ->
    (value, end)} read those ids (at the constructor id) with the host's own code;
    ``encode_hook(value) -> bytes or None`` writes objects that have no plan;
    ``plan_of_class(cls) -> plan or None`` finds the plan of a host class that carries
    none (plans then need not be built, nor classes patched, at install)."""
    codec = Codec([schema])
    codec.delegates = dict(delegates)
    codec.encode_hook = encode_hook
    codec.plan_of_class = plan_of_class
    return codec


def dual_error(name, tl_error, host_error, module):
    """A class that is both ``tl_error`` (a tlfast error) and ``host_error``."""
    return type(name, (tl_error, host_error), {
        "__module__": module,
        "__str__": tl_error.__str__,
        "__reduce__": _dual_reduce,
    })


def as_dual(exc, cls, args):
    """``exc`` (a tlfast error) as ``cls`` (from ``dual_error``) with the host's ``args``."""
    new = cls.__new__(cls)
    new.__dict__.update(exc.__dict__)
    new.args = args
    return new


def _dual_reduce(self):
    return (_rebuild_dual, (type(self), self.__dict__.copy(), self.args))


def _rebuild_dual(cls, state, args):
    err = cls.__new__(cls)
    err.__dict__.update(state)
    err.args = args
    return err
