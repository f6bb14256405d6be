"""Drop-in for Telethon 1.x (DESIGN §4; the research is docs/dropin.md §1).

``install()`` patches two seams of the host through one registry:

- decode: ``BinaryReader.tgread_object``, which every receive path calls
  (``MTProtoState.decrypt_message_data``, the containers, ``read_result``, the handshake,
  users' own readers). The engine decodes from the reader's bytes at its position and
  moves the position past what it used;
- encode: ``TLObject.__bytes__`` (``RequestState`` serializes every request through it).

The objects are Telethon's own classes, built as Telethon builds them: generated classes
from a per-class template of every attribute (no ``__init__`` runs, it only assigns);
Telethon's patched ``Message``/``MessageService``/``MessageEmpty`` by calling the class,
whose ``__init__`` does more; dates as aware UTC datetimes (the fields Telethon's readers
read with ``tgread_date``); ``None`` for absent vectors. The encoder takes Telethon's lenient
values (dates as datetime/date/float/timedelta/None, ``str`` for bytes, a flag present
unless ``None`` or ``False``, ``Bool`` by truth).

The host's layer is rebuilt from its generated readers (the order and kind of each read,
the type from each parameter's annotation), verified by CRC32 and cached per version.
Telethon's core objects (``rpc_result``, which keeps raw bytes for ``read_result``,
``gzip_packed``, ``msg_container``) and every class that does not verify are read by
Telethon's own ``from_reader``; objects the encoder has no plan for write themselves
(``_bytes()``), as users' custom requests and Telethon's ``_OpaqueRequest`` do.

May use: errors, _primitives, _plans, _backend, adapters._common.
"""

import ast
import re
import struct
import sys
import warnings
import zlib

from .. import _backend
from .. import _plans as PL
from .. import _primitives as P
from ..errors import TLDecodeError, TLEncodeError, TLTruncatedError, UnknownConstructorError
from . import _common as C

__all__ = ["install", "uninstall", "installed", "report", "schema"]

_RENAMED = {"is_self": ("self",), "from_": ("from",)}
_READS = {"read_int": "int", "read_long": "long", "read_double": "double",
          "tgread_string": "string", "tgread_bytes": "bytes", "tgread_bool": "Bool",
          "tgread_date": "int"}
_FORMAT = 2  # of what _rebuild returns (the disk cache's key)
_DATE = "<date>"  # what a tgread_date reads, until the line is made ("int")
_CORE = (0xF35C6D01, 0x3072CFA1, 0x73F1F8DC)  # rpc_result, gzip_packed, msg_container

_adapter = C.AdapterState()
_errors = None  # the host-flavoured error classes, made on first install


class _Host:
    """What install() derived and patched (one per install)."""

    def __init__(self):
        self.registry = C.PatchRegistry()
        self.info = {}
        self.fallbacks = 0  # values the engine refused and Telethon's own code handled


# --- the host's layer, from its generated readers ---------------------------------------
class _Describer:
    """Reads the generated classes' source once per module (``ast``) and turns each
    ``from_reader`` into a C.HostCtor; dates (``tgread_date``) are noted per class."""

    def __init__(self, tlobjects):
        self.tlobjects = tlobjects
        self.modules = {}
        self.dates = {}  # id -> [attributes read as dates]
        self.type_names = set()
        self.ambiguous = []
        self.subclass_ids = {getattr(c, "SUBCLASS_OF_ID", None) for c in tlobjects.values()}
        self.namespaces = {c.__module__.rpartition(".")[2] for c in tlobjects.values()
                           if c.__module__.count(".") == 3}

    def function_node(self, fn):
        """The ``ast.FunctionDef`` of ``fn``, parsed from its own lines of its module's
        source (read once per module: parsing whole modules costs seconds)."""
        code = getattr(fn, "__code__", None)
        module = sys.modules.get(getattr(fn, "__module__", None) or "")
        if code is None or module is None:
            return None
        lines = self.modules.get(module.__name__)
        if lines is None:
            with open(module.__file__, encoding="utf-8") as f:
                lines = self.modules[module.__name__] = f.read().splitlines()
        start = code.co_firstlineno - 1
        while lines[start].lstrip().startswith("@"):
            start += 1
        indent = len(lines[start]) - len(lines[start].lstrip())
        end = start + 1
        while end < len(lines) and (not lines[end].strip() or
                                    len(lines[end]) - len(lines[end].lstrip()) > indent):
            end += 1
        text = "\n".join(line[indent:] for line in lines[start:end])
        node = ast.parse(text).body[0]
        return node if isinstance(node, ast.FunctionDef) else None

    def _type_names(self, short):
        """The TL types an annotation 'TypeX' may mean: X, or ns.X, those some class is a
        subclass of (SUBCLASS_OF_ID is the CRC32 of its type's name)."""
        return [cand for cand in [short] + sorted(f"{ns}.{short}" for ns in self.namespaces)
                if zlib.crc32(cand.encode()) in self.subclass_ids]

    def describe(self, cid, cls):
        gen = next((k for k in cls.__mro__ if "from_reader" in vars(k)), None)
        module = cls.__module__ if gen is None else gen.__module__
        parts = module.split(".")
        is_function = "functions" in parts
        ns = parts[-1] if parts[-1] not in ("types", "functions") else ""
        short = (gen or cls).__name__
        if is_function and short.endswith("Request"):
            short = short[: -len("Request")]
        names = [(ns + "." if ns else "") + short[:1].lower() + short[1:]]
        fail = lambda why: C.HostCtor(cid, names, [], "", is_function, reason=why)  # noqa: E731
        if gen is None or gen.__module__.split(".")[:3] not in (
                ["telethon", "tl", "types"], ["telethon", "tl", "functions"]):
            return fail("not a generated class")
        reader = self.function_node(vars(gen)["from_reader"].__func__)
        if reader is None:
            return fail("no source for its reader")
        init = vars(gen).get("__init__")
        annotations = {k: str(v) for k, v in getattr(init, "__annotations__", {}).items()}
        doc = getattr(init, "__doc__", None) or ""
        self.ambiguous = []
        try:
            params, dates = self._params(reader, annotations, is_function)
        except ValueError as exc:
            return fail(str(exc))
        alternatives = []
        for names_ in self.ambiguous:  # each other reading of an ambiguous type name
            for other in names_[1:]:
                alternatives.append([(a, t.replace(names_[0], other) if t.endswith(names_[0]) else t)
                                     for a, t in params])
        result = self._result(cls, doc, is_function)
        if result is None:
            return fail("no result type")
        self.dates[cid] = dates
        tl_names = {a: _RENAMED[a] for a, _ in params if a in _RENAMED}
        ctor = C.HostCtor(cid, names, params, result, is_function, tl_names)
        ctor.alternatives = alternatives
        return ctor

    def _result(self, cls, doc, is_function):
        m = re.search(r":returns ([^:]+):", doc) if is_function else \
            re.search(r"Constructor for ([\w.]+):", doc)
        if m:
            return m.group(1)
        return self.by_crc().get(cls.SUBCLASS_OF_ID)  # a class without __init__

    def by_crc(self):
        """{CRC32: TL type name} of every type some docstring names (SUBCLASS_OF_ID is
        the CRC32 of the result type's text)."""
        if not self.type_names:
            for c in self.tlobjects.values():
                doc = getattr(vars(c).get("__init__"), "__doc__", None) or ""
                for m in re.finditer(r"(?::returns |Constructor for )([^:]+):", doc):
                    self.type_names.add(m.group(1))
                if "__init__" in vars(c):
                    for a in c.__init__.__annotations__.values():
                        for m in re.finditer(r"\bType([A-Z]\w*)", str(a)):
                            self.type_names.update(self._type_names(m.group(1)))
            prims = ["int", "long", "string", "bytes", "Bool", "double"]
            self.type_names.update([f"Vector<{n}>" for n in list(self.type_names) + prims])
            self._by_crc = {zlib.crc32(n.encode()): n for n in self.type_names}
        return self._by_crc

    def _params(self, fn, annotations, is_function):
        """(attribute, TL type) in wire order from a ``from_reader``, and its dates."""
        params, dates = [], []
        body = fn.body
        i = 0
        while i < len(body):
            st = body[i]
            if isinstance(st, ast.Return):
                break
            if (isinstance(st, ast.Expr) and _is_read(st.value, "read_int")) or (
                    isinstance(st, ast.Assign) and isinstance(st.value, ast.List)):
                j = i  # a required vector: [reader.read_int()], _x = [], for ...
                while j < len(body) and not isinstance(body[j], ast.For):
                    j += 1
                params.append(self._vector(body[i:j + 1], annotations, is_function))
                i = j + 1
                continue
            if isinstance(st, ast.Assign) and isinstance(st.targets[0], ast.Name):
                target = st.targets[0].id
                value = st.value
                if not target.startswith("_") and _is_read(value, "read_int"):
                    params.append((target, "#"))  # flags, flags2
                elif isinstance(value, ast.Call) and getattr(value.func, "id", "") == "bool":
                    word, bit = _flag_test(value.args[0])
                    params.append((target[1:], f"{word}.{bit}?true"))
                else:
                    attr = target[1:]
                    params.append((attr, self._read_type(value, annotations.get(attr, ""),
                                                         is_function)))
            elif isinstance(st, ast.If):
                word, bit = _flag_test(st.test)
                attr, t = self._flagged(st.body, annotations, is_function)
                params.append((attr, f"{word}.{bit}?{t}"))
            else:
                raise ValueError(f"an unexpected statement at line {st.lineno}")
            i += 1
        out = []
        for attr, t in params:
            if t.endswith(_DATE):
                dates.append(attr)
                t = t[: -len(_DATE)] + "int"
            out.append((attr, t))
        return out, dates

    def _flagged(self, body, annotations, is_function):
        if len(body) == 1 and isinstance(body[0], ast.Assign):
            attr = body[0].targets[0].id[1:]
            return attr, self._read_type(body[0].value, annotations.get(attr, ""), is_function)
        return self._vector(body, annotations, is_function)

    def _vector(self, body, annotations, is_function):
        boxed = len(body) == 3 and isinstance(body[0], ast.Expr) and _is_read(body[0].value, "read_int")
        rest = body[1:] if boxed else body
        if len(rest) != 2 or not isinstance(rest[0], ast.Assign) or not isinstance(rest[1], ast.For):
            raise ValueError("an unexpected vector")
        attr = rest[0].targets[0].id[1:]
        loop = [s for s in rest[1].body if not isinstance(s, ast.ImportFrom)]
        elem = self._read_type(loop[0].value, _element_annotation(annotations.get(attr, "")),
                               is_function, bare_ok=True)
        if elem == _DATE:
            raise ValueError("a vector of dates")
        return attr, ("Vector" if boxed else "vector") + f"<{elem}>"

    def _read_type(self, call, annotation, is_function, bare_ok=False):
        if not isinstance(call, ast.Call) or not isinstance(call.func, ast.Attribute):
            raise ValueError("an unexpected read")
        method = call.func.attr
        owner = call.func.value
        if isinstance(owner, ast.Name) and owner.id != "reader" and method == "from_reader" and bare_ok:
            name = owner.id
            return name[:1].lower() + name[1:]  # a bare constructor (mtproto); may not verify
        if call.keywords or call.args:
            if method == "read_large_int" and call.keywords and call.keywords[0].arg == "bits":
                return f"int{call.keywords[0].value.value}"
            raise ValueError(f"reads with arguments ({ast.unparse(call)})")
        if method == "tgread_date":
            return _DATE
        if method in _READS:
            return _READS[method]
        if method != "tgread_object":
            raise ValueError(f"reads with {method}")
        m = re.search(r"\bType([A-Z]\w*)", annotation)
        if not m:
            return "Object"
        if is_function and len(m.group(1)) == 1:
            return "!" + m.group(1)  # {X:Type} query:!X
        names = self._type_names(m.group(1))
        if not names:
            raise ValueError(f"no type for {annotation}")
        if len(names) > 1:
            self.ambiguous.append(names)
        return names[0]


def _is_read(node, method):
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr == method and not node.args and not node.keywords
            and getattr(node.func.value, "id", "") == "reader")


def _flag_test(node):
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitAnd):
        mask = node.right.value
        if mask & (mask - 1) == 0 and mask:
            return node.left.id, mask.bit_length() - 1
    raise ValueError("an unexpected flag test")


def _element_annotation(text):
    m = re.search(r"List\[(.+)\]", text)
    return m.group(1) if m else text


def _init_spec(gen, desc):
    """(the attributes the generated ``__init__`` sets, in its order, whether it only
    assigns its parameters): such a class can be built from a template without running
    it, and its ``vars()`` then lists the attributes in the same order."""
    init = vars(gen).get("__init__")
    if init is None:
        return [], True
    code = init.__code__
    names = list(code.co_varnames[1:code.co_argcount])
    fn = desc.function_node(init)
    if fn is None:
        return names, False
    body = fn.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    plain = all(
        isinstance(st, ast.Assign) and len(st.targets) == 1
        and isinstance(st.targets[0], ast.Attribute) and st.targets[0].value.id == "self"
        and isinstance(st.value, ast.Name) and st.value.id == st.targets[0].attr
        for st in body)
    if plain:
        names = [st.targets[0].attr for st in body]
    return names, plain


def _rebuild(tlobjects):
    """The host's layer from its classes: (lines, attrs, delegated, dates, inits); see
    C.rebuild_layer (only the verified lines). ``inits`` {id: (template, plain, flags.N?true
    attributes)}: the template holds every attribute ``__init__`` sets, in its order, at
    its value when absent; plain: ``__init__`` only assigns its parameters."""
    desc = _Describer(tlobjects)
    ctors, inits = [], {}
    for cid, cls in tlobjects.items():
        ctor = desc.describe(cid, cls)
        if cid in _CORE:
            ctor.reason = "a core object of Telethon's"
        ctors.append(ctor)
        gen = next((k for k in cls.__mro__ if "from_reader" in vars(k)), cls)
        trues = [a for a, t in ctor.params if t.endswith("?true")]
        params, plain = _init_spec(gen, desc)
        template = {p: None for p in params}
        template.update((a, False) for a in trues if a in template)
        inits[cid] = (template, plain, trues)
    lines, attrs, delegated = C.rebuild_layer(ctors)
    # Only verified lines: delegated ids are read by Telethon before any type check, and
    # objects of their classes write themselves, so nothing needs their (unverified) lines.
    lines = [(f, ln) for f, ln in lines
             if int(re.match(r"[\w.]+#([0-9a-f]+)", ln).group(1), 16) in attrs]
    return lines, attrs, delegated, desc.dates, inits


def _version():
    import telethon

    return getattr(telethon, "__version__", "unknown")


def _layer():
    """The host's layer rebuilt (cached per Telethon version, layer and id set):
    (lines, attrs, delegated, dates, inits, host info)."""
    from telethon.tl.alltlobjects import LAYER, tlobjects

    version = _version()
    ids = zlib.crc32(repr(sorted(tlobjects)).encode())
    key = ("telethon", _FORMAT, version, LAYER, len(tlobjects), ids)
    value, hit = C.cached(key, lambda: _rebuild(tlobjects))
    lines, attrs, delegated, dates, inits = value
    info = {"host": "telethon", "version": version, "layer": LAYER,
            "cache": "hit" if hit else "built"}
    return lines, attrs, delegated, dates, inits, info


def schema():
    """The host's layer as a tlfast.Schema (tlfast's own classes; imports Telethon)."""
    return _adapter.schema(_layer)


# --- dates, as Telethon reads and writes them --------------------------------------------
def _date_converter():
    from datetime import datetime, timezone

    from telethon.tl.tlobject import TLObject

    utc = timezone.utc
    serialize = TLObject.serialize_datetime  # the host's own rules (naive = UTC, wraps)
    unpack = struct.Struct("<i").unpack

    def decode(value):
        return datetime.fromtimestamp(value, utc)  # == Telethon's _EPOCH + timedelta

    def encode(value):
        if type(value) is int:
            return value  # the writer range-checks it
        return unpack(serialize(value))[0]

    return PL.Converter(PL.EPOCH_DATETIME, decode, encode)


# --- Telethon's patched Message, MessageService and MessageEmpty ---------------------------
def _message_fast_path(cls, names, trues):
    """(DICT, template, finish) for one of Telethon's patched message classes, when building
    from a template and ``finish`` gives exactly what calling the class gives (checked
    here, on every kind of peer and sender); else None, and the class is called.

    Their ``__init__`` (telethon/tl/custom/message.py) sets 72 attributes: the template,
    taken from an instance, holds them; ``finish`` does what it derives from the fields:
    ``out`` as a bool, ``media`` None for MessageMediaEmpty, the chat and the sender id
    (through ``utils.get_peer_id``, which it must call as Telethon does: it may rewrite an
    unmarked peer id in place)."""
    from telethon import utils
    from telethon.tl import types

    if not issubclass(cls, types.Message.__mro__[1]) or "_sender_id" not in _instance_vars(cls):
        return None  # not the custom Message this was written against
    template = _instance_vars(cls)
    for a in names:
        template[a] = False if a in trues else None
    get_peer_id = utils.get_peer_id
    PeerUser = types.PeerUser
    MessageMediaEmpty = types.MessageMediaEmpty

    def finish(d):
        out = d["out"]
        d["out"] = bool(out)
        media = d["media"]
        if media is not None and isinstance(media, MessageMediaEmpty):
            d["media"] = None
        peer_id = d["peer_id"]
        from_id = d["from_id"]
        post = d["post"]
        sender_id = None
        if from_id is not None:
            sender_id = get_peer_id(from_id)
        elif peer_id:
            if post or (not out and isinstance(peer_id, PeerUser)):
                sender_id = get_peer_id(peer_id)
        d["_chat_peer"] = peer_id
        d["_broadcast"] = post
        d["_sender_id"] = sender_id

    return (PL.DICT, template, finish) if _same_as_init(cls, names, trues, template, finish) else None


def _instance_vars(cls):
    try:
        return dict(vars(cls(id=0, peer_id=None)))
    except Exception:  # noqa: BLE001 - a class this does not know how to make: call it
        return {}


def _same_as_init(cls, names, trues, template, finish):
    """The self-check: the fast path and the class's own __init__ agree on samples of
    every peer kind (marked and unmarked ids), sender, ``post``, ``out`` and media."""
    from telethon.tl import types

    peers = [lambda: types.PeerUser(5), lambda: types.PeerChat(7), lambda: types.PeerChannel(9),
             lambda: types.PeerChannel(-1000000000009), lambda: types.PeerChat(-7), lambda: None]
    medias = [lambda: None, types.MessageMediaEmpty, types.MessageMediaUnsupported]
    base = {a: (False if a in trues else None) for a in names}
    n = 0
    for peer in peers:
        for sender in peers:
            for flags in range(4):
                media = medias[n % 3]  # each media kind with every peer, sender and flag
                n += 1

                def kwargs():
                    kw = dict(base, id=1, peer_id=peer())
                    for a, v in (("from_id", sender()), ("media", media()),
                                 ("post", bool(flags & 1)), ("out", bool(flags & 2))):
                        if a in kw:
                            kw[a] = v
                    return kw

                want = vars(cls(**kwargs()))
                d = dict(template)
                d.update(kwargs())
                finish(d)
                if d != want or list(d) != list(want):
                    return False
    return True


# --- install ----------------------------------------------------------------------------
def _error_classes():
    global _errors
    if _errors is None:
        from telethon.errors import TypeNotFoundError

        _errors = {
            "unknown": C.dual_error("TypeNotFoundError", UnknownConstructorError,
                                    TypeNotFoundError, __name__),
            "truncated": C.dual_error("TruncatedError", TLTruncatedError, BufferError,
                                      __name__),
            "encode": C.dual_error("EncodeTypeError", TLEncodeError, TypeError, __name__),
        }
    return _errors


# The pure engine's policy (it must never be slower than Telethon itself). Its decode seam
# goes from a plain constructor's id straight to the generated decoder, which beats
# Telethon's own reader even on a 12-byte peer (benchmarks/telethon_small.py), so it takes
# every such object; a Bool or a field-less constructor it answers from tables. The
# general read costs about a microsecond more per call than Telethon's reader (a Reader,
# the type dispatch) and wins it back only on larger data, so the other ids (Vector,
# gzip_packed, Telethon's own core objects) it reads only when at least this many bytes
# are left in the stream (an rpc_result's body, a container); under that, it calls
# Telethon's own readers for them as Telethon's tgread_object does.
# Encoding, where it gains at most 10% on large objects and loses on small requests, it
# leaves to Telethon's generated code. The Cython engine serves everything.
PURE_MIN_BYTES = 64


def install(*, backend=None, encode=None, min_bytes=None):
    """Patch Telethon's decode and encode seams (idempotent, thread-safe). ``backend``:
    "cython" or "python" (default: tlfast's active backend). ``encode``: whether
    ``bytes(obj)`` runs on tlfast too; ``min_bytes``: with fewer bytes left in the reader's
    stream, decode through tlfast only what the pure engine's direct path takes (plain
    constructors) and leave the rest to Telethon (defaults: everything with the Cython
    engine; with the pure one, encode=False and min_bytes=PURE_MIN_BYTES). Returns
    report()."""
    with _adapter.lock:
        if _adapter.host is not None:
            return report()
        from telethon.extensions import BinaryReader
        from telethon.tl.alltlobjects import tlobjects
        from telethon.tl.tlobject import TLObject

        engine = _backend.engine(backend)
        pure = engine.NAME == "python"
        if encode is None:
            encode = not pure
        if min_bytes is None:
            min_bytes = PURE_MIN_BYTES if pure else 0
        built = _build(engine)
        host = _Host()
        reg = host.registry
        seams = ["BinaryReader.tgread_object"]
        try:
            reg.patch(BinaryReader, "tgread_object", _make_tgread_object(
                engine, built.codec, BinaryReader.__dict__["tgread_object"], tlobjects, host,
                min_bytes))
            if encode:
                reg.patch(TLObject, "__bytes__", _make_bytes(
                    engine, built.codec, TLObject.__dict__["__bytes__"], built.by_class, host))
                seams.append("TLObject.__bytes__")
        except BaseException:
            reg.restore()
            raise
        host.info = dict(built.info, seams=seams, min_bytes=min_bytes)
        host.schema = built.schema
        _adapter.host = host
        return report()


class _Built:
    """What install() derives for one engine: kept for the process, so that installing
    again (after uninstall) finds its plans compiled."""

    def __init__(self, schema, codec, by_class, info, key):
        self.schema = schema
        self.codec = codec
        self.by_class = by_class
        self.info = info
        self.key = key




def _build(engine):
    import telethon  # noqa: F401  (its patched Message classes are in tlobjects then)
    from telethon.extensions import BinaryReader
    from telethon.tl.alltlobjects import tlobjects
    from telethon.tl.core import core_objects
    from telethon.tl.tlobject import TLObject

    key = (len(tlobjects), tuple(tlobjects.values())[-1], tuple(core_objects.values()))
    hit = _adapter.built.get(engine.NAME)
    if hit is not None and hit.key == key:  # a class registered since: derive again
        return hit
    lines, attrs, delegated, dates, inits, info = _layer()
    if info["version"].split(".")[:2] != ["1", "45"]:
        warnings.warn(f"tlfast.telethon was tested with Telethon 1.45, not "
                      f"{info['version']}: every class is verified, those that fail "
                      "are left to Telethon", RuntimeWarning, stacklevel=3)
    delegated = dict(delegated)
    classes, build, converters = {}, {}, {}
    fast = 0
    date = _date_converter()
    for cid, names in attrs.items():
        cls = tlobjects.get(cid)
        template, plain, trues = inits[cid]
        if cls is None or not template.keys() >= set(names):
            delegated[cid] = "its class is not what was verified"
            continue
        classes[cid] = (cls, names)
        if plain and "from_reader" in vars(cls):  # a generated class, as generated
            build[cid] = (PL.DICT, template)
        else:
            build[cid] = _message_fast_path(cls, names, trues) or (PL.CALL, template)
            fast += len(build[cid]) == 3
        if dates.get(cid):
            converters[cid] = {a: date for a in dates[cid]}
    # Ids Telethon knows that are not served here (its core objects too) are read by
    # Telethon's own from_reader, before any check of ours.
    delegated.update((cid, "a core object of Telethon's") for cid in core_objects)
    sch = C.host_schema(lines, info["layer"], classes, build=build, converters=converters,
                        lenient=True)
    by_class = {cls: cid for cid, (cls, _) in classes.items()}
    codec = C.host_codec(sch, dict.fromkeys(delegated, _make_delegate(BinaryReader, tlobjects,
                                                                      core_objects)),
                         _make_encode_hook(TLObject), _plan_finder(sch, by_class))
    info.update(backend=engine.NAME, served=len(classes), delegated=len(delegated),
                delegated_reasons=C.count(delegated.values()),
                built_by_call=sum(1 for m in build.values() if m[0] == PL.CALL),
                message_fast_path=fast,
                date_fields=sum(len(v) for v in converters.values()), cryptg=C.importable("cryptg"))
    if not info["cryptg"]:
        warnings.warn("cryptg is not installed: Telethon's AES then dominates the receive "
                      "path and the drop-in gains little (pip install cryptg)",
                      RuntimeWarning, stacklevel=3)
    built = _adapter.built[engine.NAME] = _Built(sch, codec, by_class, info, key)
    return built


uninstall = _adapter.uninstall  # restores every patched attribute to the very object it was
installed = _adapter.installed


def report():
    """What install() derived: host name/version/layer, backend, constructors served and
    delegated to Telethon (with why), seams patched, cache, cryptg; {} when not installed."""
    host = _adapter.host
    if host is None:
        return {}
    out = dict(host.info)
    out["fallbacks"] = host.fallbacks
    return out


# --- the seams --------------------------------------------------------------------------
def _plan_finder(schema, by_class):
    def plan_of_class(cls):
        cid = by_class.get(cls)
        return None if cid is None else schema._plan_by_id(cid)

    return plan_of_class


def _make_delegate(BinaryReader, tlobjects, core_objects):
    def delegate(buf, pos, end):
        # Telethon's own reader for this object, on the same bytes.
        cid = int.from_bytes(buf[pos:pos + 4], "little")
        cls = tlobjects.get(cid) or core_objects[cid]
        reader = BinaryReader(buf if type(buf) is bytes else bytes(buf))
        reader.set_position(pos + 4)
        value = cls.from_reader(reader)
        return value, reader.tell_position()

    return delegate


def _make_encode_hook(TLObject):
    def hook(value):
        # Objects tlfast has no plan for (Telethon's core objects, users' own requests,
        # _OpaqueRequest) write themselves, as Telethon's generated code has them do.
        if isinstance(value, TLObject):
            return value._bytes()
        return None

    return hook


def _make_tgread_object(engine, codec, orig_read, tlobjects, host, min_bytes):
    Reader = engine.Reader
    object_type = codec.type_plan(None)
    errors = _error_classes()

    # The pure engine's shortcut for a plain constructor (see install): its generated
    # decoder straight from the id, cached per id (False: not plain, the general read; at
    # most twice the layer's ids, so ids never seen in the layer cannot grow it for ever).
    direct = engine.NAME == "python"
    decoders = {}
    most = 2 * len(tlobjects)
    unpack_id = struct.Struct("<I").unpack_from
    # Data that is an id alone costs the general read more than Telethon's own reader, so
    # the pure engine answers it from tables: a Bool (Telethon returns True/False) and a
    # field-less generated class (Telethon's from_reader is ``cls()``; no __init__ runs).
    constants = {P.BOOL_TRUE: True, P.BOOL_FALSE: False}
    fieldless = {}
    # Small data the general read leaves to Telethon (under min_bytes): its core objects'
    # own readers and a small Vector called here as Telethon's reader calls them, without
    # a second pass over the id through the original method.
    core = {}
    if direct:
        from telethon.tl.core import core_objects

        core = dict(core_objects)

    def learn(cid):
        dec = engine.boxed_decoder(codec, cid) or False
        cls = tlobjects.get(cid)
        plan = codec.plan_by_id(cid) if cls is not None else None
        if (plan is not None and not plan.fields and cid not in codec.delegates
                and "__init__" not in vars(cls)):
            fieldless[cid] = cls
        if len(decoders) < most:
            decoders[cid] = dec
        return dec

    def tgread_object(self):
        data = self.stream
        start = self.position
        left = len(data) - start
        dec = False
        if direct and left >= 4 and type(data) is bytes:
            cid = unpack_id(data, start)[0]
            if cid in constants:
                self.position = start + 4
                return constants[cid]
            dec = decoders.get(cid)
            if dec is None:
                dec = learn(cid)
            cls = fieldless.get(cid)
            if cls is not None:
                self.position = start + 4
                return cls()
            if dec is False and left < min_bytes:
                own = core.get(cid)
                if own is not None:
                    self.position = start + 4
                    return own.from_reader(self)
                if cid == P.VECTOR:
                    self.position = start + 4
                    return [self.tgread_object() for _ in range(self.read_int())]
            if left < 8:  # an id alone that is neither: the general read
                dec = False
        if dec is False and left < min_bytes:
            return orig_read(self)  # small: Telethon's own reader is faster (see install)
        try:
            if dec is not False:
                value, self.position = engine.read_boxed_with(dec, data, start, codec)
                return value
            r = Reader(data, codec)
            r.seek(start)
            value = r.read_object(object_type)
        except UnknownConstructorError as exc:
            if exc.constructor_id in tlobjects:  # registered after install()
                host.fallbacks += 1
                return orig_read(self)
            self.set_position(exc.offset)  # where Telethon leaves it
            err = C.as_dual(exc, errors["unknown"], (str(exc),))
            err.invalid_constructor_id = exc.constructor_id  # TypeNotFoundError's own
            err.remaining = data[exc.offset:]
            raise err from None
        except TLTruncatedError as exc:
            raise C.as_dual(exc, errors["truncated"], (str(exc),)) from None
        except TLDecodeError as exc:
            # tlfast is stricter than Telethon (vector ids, which constructors a field
            # takes): Telethon's own reader decides, so the drop-in is never less capable.
            self.set_position(start)
            try:
                value = orig_read(self)
            except Exception:
                raise exc from None
            host.fallbacks += 1
            return value
        self.position = r.tell()
        return value

    return tgread_object


def _make_bytes(engine, codec, orig_bytes, by_class, host):
    Writer = engine.Writer
    object_type = codec.type_plan(None)
    errors = _error_classes()

    def __bytes__(self):
        if type(self) not in by_class:
            return orig_bytes(self)  # users' own TLObjects, Telethon's core objects
        w = Writer(codec)
        try:
            w.write_object(self, object_type)
        except TLEncodeError as exc:
            # A value tlfast refuses and Telethon may take: Telethon's own bytes, else
            # tlfast's error (which is also the TypeError Telethon's callers expect).
            try:
                data = orig_bytes(self)
            except Exception:
                raise C.as_dual(exc, errors["encode"], (str(exc),)) from None
            host.fallbacks += 1
            return data
        return w.getvalue()

    return __bytes__
