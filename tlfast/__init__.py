"""tlfast: a fast, strict codec for Telegram's TL binary format.

The same names whatever backend is active: the Cython engine when it was built, the
pure-Python engine otherwise (see ``BACKEND`` and ``TLFAST_BACKEND``).
"""

from . import _backend
from .errors import TLDecodeError, TLEncodeError, TLError, UnknownConstructorError

_engine, BACKEND, BACKEND_FALLBACK_REASON = _backend.select()

Reader = _engine.Reader
Writer = _engine.Writer

__version__ = "0.1.0"

__all__ = [
    "BACKEND",
    "BACKEND_FALLBACK_REASON",
    "Reader",
    "Writer",
    "TLError",
    "TLDecodeError",
    "TLEncodeError",
    "UnknownConstructorError",
]
