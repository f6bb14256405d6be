"""Drop-in for the Pyrogram family: pyrogram, kurigram, pyrofork... (all import as
``pyrogram``) and Hydrogram (imports as ``hydrogram``), whose generated code has one layout:
below, ``pyrogram.`` stands for either. ``install()`` serves the one installed, or the
``package=`` named when both are.

``install()`` patches two seams of the host (dropin.md §2.4) through one registry:

- decode: the classmethod ``pyrogram.raw.core.TLObject.read``, which every receive path
  calls (``mtproto.unpack`` -> core ``Message.read`` -> ``TLObject.read(BytesIO(body))``,
  the handshake, the generated readers, user code). The engine decodes from the
  BytesIO's buffer at its position and moves the position past what it used;
- encode: ``write`` of every generated class tlfast serves (``len(obj)``, ``mtproto.pack``
  and users' ``.write()`` all end there). A value the engine refuses (the host is
  lenient: ``Bool`` by truth, ints for bools, ...) is written by the host's own ``write``,
  so the bytes are always the host's.

The host's layer is rebuilt from its generated classes (wire order from each ``read``,
the TL type of each field from the comment the generator puts beside each assignment in
``__init__``), verified by CRC32 and cached per distribution and version. The host's core
objects (``Message``, ``MsgContainer``, ``FutureSalt(s)``), a ``Vector`` in an untyped
position (the host guesses its element type; tlfast keeps the host's answer) and every
class that does not verify are read and written by the host's own code.

May use: errors, _plans, _backend, adapters._common.
"""

import re
import sys
from io import BytesIO

from .. import _backend
from .. import _plans as PL
from ..errors import TLEncodeError, UnknownConstructorError
from . import _common as C

__all__ = ["install", "uninstall", "installed", "report", "schema", "UnknownConstructorKeyError"]

#: Unknown constructor: a tlfast error and the ``KeyError(id)`` that
#: ``pyrogram.crypto.mtproto.unpack`` turns into a session restart.
UnknownConstructorKeyError = C.dual_error(
    "UnknownConstructorKeyError", UnknownConstructorError, KeyError, __name__)

_VECTOR = 0x1CB5C415
# Attribute names the generator gives TL parameters that are Python keywords (or clash).
_RENAMED = {"is_self": ("self",), "from_peer": ("from",)}

_LAYOUT = 2  # of what _rebuild returns, in the disk cache: bump when it changes
_adapter = C.AdapterState()

#: The import names of the family: pyrogram, kurigram, pyrofork... install the package
#: ``pyrogram``; Hydrogram installs ``hydrogram``.
PACKAGES = ("pyrogram", "hydrogram")


class _Host:
    """What install() derives for one backend: schema, codec, the patches to apply (owner,
    attribute, value) and, while installed, the registry holding the originals."""

    def __init__(self):
        self.patches = []
        self.registry = None
        self.info = {}
        self.schema = self.codec = None


# --- the host's layer, from its generated code ------------------------------------------
_COMMENT = re.compile(r"^\s+self\.(\w+) = \w+  # (.+)$", re.M)
# read(): `x = ... if flags & (1 << N) else []`; write(): the flag bit and the write of a
# field set `if self.x` (truth) or `if self.x is not None`.
_ABSENT_LIST = re.compile(r"^\s+(\w+) = .* else \[\]$", re.M)
_FLAG_BY_TRUTH = re.compile(r"\(1 << \d+\) if self\.(\w+) else 0$", re.M)
_WRITE_BY_TRUTH = re.compile(r"^\s+if self\.(\w+):$", re.M)
_CTOR_OF = re.compile(r"Constructor of :obj:`~\w+\.raw\.base\.([\w.]+)`")
_RETURNS = re.compile(r"Returns:\s*\n\s*(.+)")


def _snake(name):
    return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()


def _result_of(doc):
    """The TL result type a generated function's docstring names."""
    m = _RETURNS.search(doc or "")
    if not m:
        return None
    text = m.group(1).strip()
    vec = text.startswith("List of ")
    text = text[len("List of "):] if vec else text
    if text.startswith(":obj:`"):
        inner = text[6:].partition(" <")[0].partition("`")[0]
    elif text.startswith("``bool``"):
        inner = "Bool"
    elif text.startswith("``int``"):
        inner = "long" if "64-bit" in text else "int"
    elif text.startswith("Any object"):
        inner = "X"
    else:
        return None
    return f"Vector<{inner}>" if vec else inner


def _describe(cid, cls):
    """A HostCtor for one generated class (``reason`` set when it cannot be served)."""
    qual = getattr(cls, "QUALNAME", "")
    kind, _, rest = qual.partition(".")
    ns, _, short = rest.rpartition(".")
    prefix = ns + "." if ns else ""
    names = [prefix + short[:1].lower() + short[1:], prefix + _snake(short)]
    is_function = kind == "functions"
    slots = list(getattr(cls, "__slots__", ()))
    code = getattr(getattr(cls, "read", None), "__code__", None)
    module = sys.modules.get(cls.__module__)
    path = getattr(module, "__file__", None)
    if code is None or path is None or kind not in ("types", "functions"):
        return C.HostCtor(cid, names, [], "", is_function, reason="a core object of the host")
    with open(path, encoding="utf-8") as f:
        source = f.read()
    types = dict(_COMMENT.findall(source))
    start = code.co_argcount + bool(code.co_flags & 0x04)  # after (b, *args)
    order = code.co_varnames[start:]
    params = []
    for name in order:
        if name in types:
            params.append((name, types[name]))
        elif re.fullmatch(r"flags\d*", name):
            params.append((name, "#"))
        else:
            return C.HostCtor(cid, names, [], "", is_function, reason=f"reads an unexpected {name!r}")
    if [a for a, t in params if t != "#"] != [s for s in order if s in types] or set(types) != set(slots):
        return C.HostCtor(cid, names, [], "", is_function, reason="its slots are not what it reads")
    if is_function:
        result = _result_of(cls.__doc__)
    else:
        m = _CTOR_OF.search(cls.__doc__ or "")
        result = m.group(1) if m else None
    if result is None:
        return C.HostCtor(cid, names, [], "", is_function, reason="no result type in its docstring")
    tl_names = {a: _RENAMED[a] for a, _ in params if a in _RENAMED}
    fields = _field_rules(source, params)
    reason = None
    if any("vector<" in t for _, t in params):
        reason = "reads a bare vector<> as a boxed Vector"
    return C.HostCtor(cid, names, params, result, is_function, tl_names, reason, fields)


def _field_rules(source, params):
    """{attribute: (absent, falsy)} for the optional fields whose host code differs from
    tlfast's rules: an absent vector read as ``[]``; a falsy value (``[]``, ``0``, ``""``)
    whose flag bit and bytes the host's write() derives from its truth (both: absent;
    only one of them, as pyrogram 2.0.106 and pyrofork do for vectors: the host writes
    it, flag clear and bytes sent)."""
    as_list = set(_ABSENT_LIST.findall(source))
    flag_truth = set(_FLAG_BY_TRUTH.findall(source))
    write_truth = set(_WRITE_BY_TRUTH.findall(source))
    out = {}
    for a, t in params:
        if "?" not in t or t.endswith("?true"):
            continue
        absent = PL.ABSENT_LIST if a in as_list else PL.ABSENT_NONE
        by_flag, by_write = a in flag_truth, a in write_truth
        falsy = (PL.FALSY_PRESENT if not (by_flag or by_write)
                 else PL.FALSY_ABSENT if by_flag and by_write else PL.FALSY_REFUSED)
        if (absent, falsy) != (PL.ABSENT_NONE, PL.FALSY_PRESENT):
            out[a] = (absent, falsy)
    return out


def _rebuild(objects):
    ctors = [_describe(cid, cls) for cid, cls in objects.items()]
    lines, attrs, delegated = C.rebuild_layer(ctors)
    fields = {c.id: c.fields for c in ctors if c.id in attrs and c.fields}
    return lines, attrs, fields, delegated


def _package(package):
    """The import name of the family member to serve: ``package``, checked, or else the
    one member installed (none, or several: an error that says what to do)."""
    if package is not None:
        if package not in PACKAGES:
            raise ValueError(f"package={package!r}: tlfast.pyrogram serves the packages "
                             f"{' and '.join(map(repr, PACKAGES))}")
        if not C.importable(package):
            raise ModuleNotFoundError(f"package={package!r}: no module named {package!r} "
                                      "is installed", name=package)
        return package
    found = [p for p in PACKAGES if C.importable(p)]
    if not found:
        raise ModuleNotFoundError(
            "no member of the Pyrogram family is installed: tlfast.pyrogram serves the "
            "package 'pyrogram' (pyrogram, kurigram, pyrofork...) and 'hydrogram'",
            name="pyrogram")
    if len(found) > 1:
        raise ValueError(f"{' and '.join(map(repr, found))} are both installed: choose one "
                         f"with install(package={found[0]!r}) or install(package={found[1]!r})")
    return found[0]


def _host(package):
    """The host's top-level package, its ``raw`` (``raw.all.objects`` resolved to classes)
    and ``raw.core`` loaded. Named imports, never computed ones (tests/test_layers.py)."""
    if package == "hydrogram":
        import hydrogram.raw.core

        return hydrogram
    import pyrogram.raw.core

    return pyrogram


def _distribution(package):
    """(distribution name, version) of the installed ``package``."""
    from importlib import metadata

    for name in metadata.packages_distributions().get(package, ()):
        try:
            return name, metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return package, getattr(_host(package), "__version__", "unknown")


def _layer(package):
    """The host's layer rebuilt (cached per distribution and version): (lines, attrs,
    fields, delegated, the host's classes by id, host info)."""
    raw = _host(package).raw
    layer, objects = raw.all.layer, raw.all.objects
    dist, version = _distribution(package)
    key = (package, _LAYOUT, dist, version, layer, len(objects))
    (lines, attrs, fields, delegated), hit = C.cached(key, lambda: _rebuild(objects))
    info = {"host": dist, "package": package, "version": version, "layer": layer,
            "cache": "hit" if hit else "built"}
    return lines, attrs, fields, delegated, objects, info


def schema(*, package=None):
    """The host's layer as a tlfast.Schema (tlfast's own classes; imports the host).
    ``package``: as for install(); by default the one installed, or the one served."""
    with _adapter.lock:
        if package is None and _adapter.host is not None:
            package = _adapter.host.info["package"]
        package = _package(package)
        return _adapter.schema(lambda: _layer(package), key=package)


# --- install ----------------------------------------------------------------------------
def install(*, backend=None, package=None):
    """Patch the host's decode and encode seams (idempotent, thread-safe). ``backend``:
    "cython" or "python" (default: tlfast's active backend). ``package``: "pyrogram"
    (pyrogram, kurigram, pyrofork...) or "hydrogram"; needed only when both are
    installed. Returns report()."""
    with _adapter.lock:
        if _adapter.host is not None:
            served = _adapter.host.info["package"]
            if package not in (None, served):
                raise ValueError(f"tlfast.pyrogram is installed on {served!r}: "
                                 f"uninstall() it before install(package={package!r})")
            return report()
        package = _package(package)
        engine = _backend.engine(backend)
        host = _adapter.built.get((package, engine.NAME))
        if host is None:
            host = _adapter.built[package, engine.NAME] = _build(engine, package)
        reg = C.PatchRegistry()
        try:
            for owner, name, value in host.patches:
                reg.patch(owner, name, value)
        except BaseException:
            reg.restore()
            raise
        host.registry = reg
        _adapter.host = host
        return report()


def _build(engine, package):
    """Schema, codec and patches for the installed ``package`` on ``engine`` (the host
    unpatched)."""
    core = _host(package).raw.core
    List, TLObject = core.List, core.TLObject

    lines, attrs, fields, delegated, objects, info = _layer(package)
    classes = {cid: (objects[cid], attrs[cid]) for cid in attrs}
    sch = C.host_schema(lines, info["layer"], classes, fields=fields, vector_factory=List)
    plans = C.host_plans(sch, classes, delegated)
    orig_read = TLObject.__dict__["read"].__get__(None, TLObject)
    delegate = _make_delegate(orig_read)
    # boolTrue/boolFalse and gzip_packed (inflated, as the host does): the engine's own
    for cid in (0xBC799737, 0x997275B5, 0x3072CFA1):
        delegated.pop(cid, None)
    by_class = {p.cls: p for p in plans.values()}
    originals = {cls: cls.__dict__["write"] for cls in by_class}
    codec = C.host_codec(sch, dict.fromkeys(delegated, delegate),
                         _make_encode_hook(TLObject, originals), _in_mro(by_class))
    host = _Host()
    write = _make_write(engine, codec, originals)
    for cls in by_class:
        host.patches.append((cls, "write", write))
    host.patches.append((TLObject, "read", classmethod(_make_read(engine, codec, orig_read))))
    info.update(backend=engine.NAME, served=len(plans), delegated=len(delegated),
                delegated_reasons=C.count(delegated.values()), seams=len(host.patches),
                tgcrypto=C.importable("tgcrypto"))
    host.info = info
    host.schema = sch
    host.codec = codec
    return host


uninstall = _adapter.uninstall  # restores every patched attribute to the very object it was
installed = _adapter.installed


def report():
    """What install() derived: host name/package/version/layer, backend, constructors served and
    delegated to the host (with why), seams patched, cache; {} when not installed."""
    host = _adapter.host
    return dict(host.info) if host is not None else {}


# --- the seams --------------------------------------------------------------------------
def _make_read(engine, codec, orig_read):
    Reader = engine.Reader

    def read(cls, b, *args):
        # TLObject.read(b, Long) & co. (typed primitive vectors), or a stream that is not
        # a BytesIO: the host's own code.
        if args or type(b) is not BytesIO:
            return orig_read(b, *args)
        r = Reader(b.getvalue(), codec)  # the BytesIO's own bytes: no copy
        r.seek(b.tell())
        try:
            value = r.read_object()
        except UnknownConstructorError as exc:
            raise C.as_dual(exc, UnknownConstructorKeyError, (exc.constructor_id,)) from None
        b.seek(r.tell())
        return value

    return read


def _make_delegate(orig_read):
    def delegate(buf, pos, end):
        # The host's reader on a stream ending where the engine's does (its Vector guesses
        # the element size from the bytes left).
        b = BytesIO(buf if end == len(buf) else buf[:end])
        b.seek(pos)
        value = orig_read(b)
        return value, b.tell()

    return delegate


def _make_encode_hook(TLObject, originals):
    def hook(value):
        # The host's objects tlfast has no plan for (its core objects, unverified classes,
        # users' own TLObject subclasses) write themselves, as the host's Vector does;
        # with the host's own write() where the drop-in replaced it.
        if isinstance(value, TLObject) and not isinstance(value, (list, bytes)):
            return (_host_write(originals, type(value)) or type(value).write)(value)
        return None

    return hook


def _in_mro(by_class):
    """plan_of_class for Codec: the plan of a served class or of its nearest served base
    (a user's subclass of a generated class)."""
    def plan_of_class(cls):
        for klass in cls.__mro__:
            plan = by_class.get(klass)
            if plan is not None:
                return plan
        return None

    return plan_of_class


def _make_write(engine, codec, originals):
    Writer = engine.Writer
    object_type = codec.type_plan(None)

    def write(self, *args):
        w = Writer(codec)
        try:
            w.write_object(self, object_type)
        except TLEncodeError:
            # A value tlfast refuses and the host may take (Bool by truth, a bool for an
            # int, a shared flag half set...): the host's own write, bytes and errors.
            return _host_write(originals, type(self))(self, *args)  # (served: never None)
        return w.getvalue()

    return write


def _host_write(originals, cls):
    """The host's own write() that the drop-in replaced for ``cls`` or its nearest served
    base, or None."""
    for klass in cls.__mro__:
        orig = originals.get(klass)
        if orig is not None:
            return orig
    return None
