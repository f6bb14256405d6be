# Types of tlfast's error hierarchy (tlfast/errors.py).
__all__ = ["TLError", "TLDecodeError", "TLEncodeError", "UnknownConstructorError"]

class TLError(ValueError):
    message: str
    path: str
    def __init__(self, message: str, path: str = "") -> None: ...

class TLDecodeError(TLError):
    offset: int | None
    def __init__(self, message: str, offset: int | None = None, path: str = "") -> None: ...

class TLEncodeError(TLError): ...

class UnknownConstructorError(TLDecodeError):
    constructor_id: int
    expected: str
    def __init__(self, constructor_id: int, offset: int | None, expected: str = "Object",
                 path: str = "") -> None: ...
