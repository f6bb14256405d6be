"""Late binding: the one place where a lower layer reaches a higher one.

A Reader or Writer given no schema (``tlfast.Reader(buf).read_object()``, ``tlfast.loads``)
works with the bundled schemas. The engines sit below ``tlfast.schema``, which builds those
schemas, so instead of importing upwards (a cycle) they call ``default_codec()`` here, and
``tlfast.schema`` installs the function that makes the bundled codec when it is imported,
which ``import tlfast`` always does before anything can decode. Nothing else is bound late.

May use: nothing.
"""

_default = None
make_default_codec = None  # () -> Codec of the bundled API and MTProto schemas; tlfast.schema sets it


def default_codec():
    """The codec of the bundled schemas: Telegram API layer 228 first, then MTProto."""
    global _default
    if _default is None:
        _default = make_default_codec()
    return _default


def codec_of(schema):
    """The codec for what a Reader/Writer was given: None (bundled), a Schema or a Codec."""
    if schema is None:
        return default_codec()
    codec = getattr(schema, "_codec", None)
    if codec is None:
        raise TypeError(f"schema must be a tlfast.Schema, got {type(schema).__name__}")
    return codec()
