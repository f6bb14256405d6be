"""tlfast: a fast, strict codec for Telegram's TL binary format.

The same names whatever backend is active: the Cython engine when it was built, the
pure-Python engine otherwise (see ``BACKEND`` and ``TLFAST_BACKEND``).

May use: errors, _plans, _backend, _codec, schema, schemas.
"""

# The package in layers, read from the bottom up. A module imports only modules of lower
# layers (anywhere in it, at module level or in a function); the last line of its
# docstring, "May use: ...", lists which. tests/test_layers.py checks both against this
# table and fails on any import cycle.
#
#  0  errors, _late           the error hierarchy; the one late binding (bundled codec)
#  1  _tlparse, _primitives   TL text -> definitions; wire constants, inflate, shared errors
#  2  _model                  TLObject/TLFunction/TLType: the classes objects are made from
#  3  _plans                  each constructor as the flat field list the engines execute
#  4  _pygen                  code generation for the pure engine
#  5  _codec_py, _codec_cy    the two engines: Reader/Writer, primitives and objects
#  6  _backend                TLFAST_BACKEND: which engine is active
#  7  _codec                  Codec: plans by id over schemas; loads/dumps/from_dict/result_of
#  8  schema                  Schema, its classes and namespaces; the bundled schemas
#  9  schemas, _stubgen       tlfast.schemas.api / .mtproto, loaded on first use; .pyi writer
# 10  tlfast                  this file: the public names
# 11  adapters._common        drop-in adapters: what every host needs (DESIGN §4)
# 12  adapters.telethon, adapters.pyrogram   the Telethon drop-in; the Pyrogram family's
# 13  adapters, telethon, pyrogram   the adapters' package; tlfast.telethon and tlfast.pyrogram
# 14  _payloads               benchmark payloads
# 15  testing._crypto, testing._transport   the test server: AES-IGE, RSA, DH; TCP framings
# 16  testing._server         the test server's MTProto: key exchange, sessions, service messages
# 17  testing._api            the test server's Telegram API: accounts, updates, methods
# 18  testing._serve          Server, ServerThread: start/stop, accounts, pushes, faults
# 19  testing._clients        Telethon and Pyrogram clients pointed at a test server
# 20  testing                 tlfast.testing: the test server's public names
# 21  _bench, _bench_live     python -m tlfast bench (--live: real clients against tlfast.testing)
# 22  __main__                the command line

from . import _backend, _codec
from .errors import TLDecodeError, TLEncodeError, TLError, UnknownConstructorError
from .schema import Schema, TLSchemaError, TLSchemaWarning
from ._plans import DEFAULT_MAX_DEPTH, DEFAULT_MAX_INFLATE
from . import schemas

try:
    _engine, BACKEND, BACKEND_FALLBACK_REASON = _backend.active()
except ValueError as exc:  # an invalid TLFAST_BACKEND
    if _backend.started_as_cli():
        # `python -m tlfast` and the `tlfast` script import this package before the
        # command line's own error handling runs: keep its promise of one line, status 1.
        raise SystemExit(f"tlfast: {exc}") from None
    raise

Reader = _engine.Reader
Writer = _engine.Writer

__version__ = "0.1.0"
LAYER = 228  # layer of the bundled Telegram API schema (tlfast/schemas/api-layer228.tl)


def loads(data, type=None, *, result_of=None, max_depth=DEFAULT_MAX_DEPTH,
          max_inflate=DEFAULT_MAX_INFLATE):
    """Decode ``data`` with the bundled schemas (API and MTProto ids both).

    ``type`` is a TL type expression (default: a boxed Object); ``result_of`` a request
    whose result ``data`` is (needed for bare results such as ``Vector<long>``)."""
    return _codec.default_codec().loads(data, type, result_of, None, max_depth, max_inflate)


def dumps(value, type=None):
    """Encode ``value`` (a TL object, or a value of TL ``type``) with the bundled schemas."""
    return _codec.default_codec().dumps(value, type, None)


def from_dict(d):
    """Inverse of ``obj.to_dict()`` for the bundled schemas."""
    return _codec.default_codec().from_dict(d)


def gzip_packed(obj, level=6):
    """Wrap ``obj`` in MTProto ``gzip_packed`` (it encodes wherever ``obj`` could)."""
    import gzip

    plan = getattr(type(obj), "_plan", None)
    body = _codec.codec_of(plan.schema if plan is not None else None).dumps(obj)
    return schemas.mtproto.api.gzip_packed(packed_data=gzip.compress(body, level, mtime=0))


def __getattr__(name):
    # `from tlfast import api, mtproto`: namespace roots, loaded on first use.
    if name in ("api", "mtproto"):
        return getattr(schemas, name).api
    raise AttributeError(f"module 'tlfast' has no attribute {name!r}")


__all__ = [
    "LAYER",
    "Schema",
    "TLSchemaError",
    "TLSchemaWarning",
    "loads",
    "dumps",
    "from_dict",
    "gzip_packed",
    "BACKEND",
    "BACKEND_FALLBACK_REASON",
    "Reader",
    "Writer",
    "TLError",
    "TLDecodeError",
    "TLEncodeError",
    "UnknownConstructorError",
]
