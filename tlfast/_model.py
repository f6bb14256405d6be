"""Object model: one class per constructor and function, made at run time from a schema.

Written once, in pure Python; both engines build and read instances of these classes (the
Cython engine fills their slots directly, without calling ``__init__``). An instance
reaches its schema, for ``bytes(obj)`` and pickling, through its class's plan
(``cls._plan.schema``), never through an import.

May use: nothing.
"""

import keyword

__all__ = ["TLObject", "TLFunction", "TLType", "attr_name", "make_class", "make_type_class"]

# Names a parameter may not take as is: Python keywords, __init__'s own names, and the
# attributes every class carries (a slot of that name would clash with the class's own).
_RESERVED = frozenset(keyword.kwlist) | {
    "self", "to_dict", "from_dict", "cls", "TL_NAME", "CONSTRUCTOR_ID", "RESULT",
}


def attr_name(tl_name):
    """Python attribute for a TL parameter: keywords and clashing names get a trailing _."""
    return tl_name + "_" if tl_name in _RESERVED else tl_name


class TLMeta(type):
    """Lets a class double as a namespace when the schema uses one name for both, as layer
    228 does with the constructor ``updates`` and the namespace ``updates.*``
    (``api.updates.state``). Only consulted when normal attribute lookup fails."""

    def __getattr__(cls, name):
        ns = cls.__dict__.get("_tl_namespace")
        if ns is not None and not name.startswith("__"):
            return getattr(ns, name)
        raise AttributeError(f"type object {cls.__name__!r} has no attribute {name!r}")


class TLObject(metaclass=TLMeta):
    """Base of every constructor and function class."""

    __slots__ = ()
    TL_NAME = None  # full TL name, e.g. "auth.importAuthorization"
    CONSTRUCTOR_ID = None
    _plan = None  # tlfast._plans.CtorPlan, set when the class is made
    _fields = ()  # (attr, TL name) of every attribute, in schema order

    def __eq__(self, other):
        if type(other) is not type(self):
            return NotImplemented
        return all(getattr(self, a) == getattr(other, a) for a, _ in self._fields)

    def __ne__(self, other):
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else not eq

    __hash__ = None  # mutable value objects

    def __repr__(self):
        inner = ", ".join(f"{tl}={getattr(self, a)!r}" for a, tl in self._fields)
        return f"{self.TL_NAME}({inner})"

    def to_dict(self):
        """``{"_": TL name, param: value, ...}`` with TL parameter names as keys, recursive."""
        d = {"_": self.TL_NAME}
        for a, tl in self._fields:
            d[tl] = _to_plain(getattr(self, a))
        return d

    def __bytes__(self):
        return self._plan.schema._codec().dumps(self, None, None)

    def __reduce__(self):
        schema = self._plan.schema
        return (schema._unpickle, (schema._pickle_key(), self.TL_NAME, tuple(getattr(self, a) for a, _ in self._fields)))


class TLFunction(TLObject):
    """Base of function (request) classes. ``RESULT`` is the TL result type expression."""

    __slots__ = ()
    RESULT = None


class TLType(TLObject):
    """Base of abstract boxed types (``User``, ``messages.Messages``): not instantiable."""

    __slots__ = ()

    def __init__(self, *args, **kwargs):
        raise TypeError(f"{self.TL_NAME} is an abstract TL type; use one of its constructors")


def _to_plain(value):
    if isinstance(value, TLObject):
        return value.to_dict()
    if isinstance(value, list):
        return [_to_plain(v) for v in value]
    return value


def make_type_class(type_name, module):
    return type(
        type_name.rpartition(".")[2],
        (TLType,),
        {"__slots__": (), "TL_NAME": type_name, "__module__": module, "__qualname__": type_name},
    )


def make_class(definition, attrs, defaults, base, module):
    """A class for ``definition``. ``attrs`` are (attr, TL name) pairs of the stored fields,
    ``defaults`` maps attr -> default for the optional ones (None, or False for ``true``)."""
    required = [a for a, _ in attrs if a not in defaults]
    optional = [a for a, _ in attrs if a in defaults]
    sig = ", ".join(["self"] + required + [f"{a}={defaults[a]!r}" for a in optional])
    body = "".join(f"    self.{a} = {a}\n" for a, _ in attrs) or "    pass\n"
    ns = {}
    exec(f"def __init__({sig}):\n{body}", ns)
    init = ns["__init__"]
    init.__qualname__ = f"{definition.name}.__init__"
    return type(
        definition.short_name,
        (base,),
        {
            "__slots__": tuple(a for a, _ in attrs),
            "__init__": init,
            "__module__": module,
            "__qualname__": definition.name,
            "__doc__": definition.source,
            "TL_NAME": definition.name,
            "CONSTRUCTOR_ID": definition.id,
            "_fields": tuple(attrs),
        },
    )
