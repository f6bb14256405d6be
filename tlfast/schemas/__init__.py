"""The bundled schemas: ``api`` (Telegram API layer 228) and ``mtproto``, loaded lazily.

May use: schema.
"""


def __getattr__(name):
    if name in ("api", "mtproto"):
        from ..schema import bundled

        return bundled(name)
    raise AttributeError(f"module 'tlfast.schemas' has no attribute {name!r}")
