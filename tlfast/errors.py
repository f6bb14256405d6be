"""The one error hierarchy of tlfast, shared by both backends.

Messages are composed here, from parts the engines pass in, so that the Cython and the
pure-Python engine produce the same text for the same failure.

May use: nothing.
"""

__all__ = ["TLError", "TLDecodeError", "TLEncodeError", "UnknownConstructorError",
           "TLTruncatedError"]


class TLError(ValueError):
    """Base class of every error tlfast raises about TL data."""

    def __init__(self, message, path=""):
        self.message = message
        #: Field path built while the error travels up through objects and vectors,
        #: e.g. ``messages.messages.messages[17].media``.
        self.path = path
        super().__init__(message)

    def _add_path(self, part):
        # Engines call this on the way out of each object / vector element, innermost first.
        self.path = part + self.path
        return self

    def __str__(self):
        where = self.path.lstrip(".")
        return f"{where}: {self.message}" if where else self.message

    def __reduce__(self):
        return (_rebuild, (type(self), self.__dict__.copy()))


def _rebuild(cls, state):
    err = cls.__new__(cls)
    err.__dict__.update(state)
    ValueError.__init__(err, state.get("message"))
    return err


class TLDecodeError(TLError):
    """Bytes that are not valid TL for the expected type. ``.offset`` is the byte offset."""

    def __init__(self, message, offset=None, path=""):
        self.offset = offset
        super().__init__(message, path)

    def __str__(self):
        text = super().__str__()
        return text if self.offset is None else f"{text} at offset {self.offset}"


class TLTruncatedError(TLDecodeError):
    """The data ends before the value does (a host adapter maps it to the host's own
    truncation error)."""


class UnknownConstructorError(TLDecodeError):
    """A constructor id that the schema does not know (or that does not fit the field)."""

    def __init__(self, constructor_id, offset, expected="Object", path=""):
        self.constructor_id = constructor_id
        self.expected = expected
        super().__init__(
            f"unknown constructor 0x{constructor_id:08x} for {expected}", offset, path
        )


class TLEncodeError(TLError):
    """A Python value that cannot be encoded: wrong type, missing field, out of range."""
