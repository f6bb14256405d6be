"""Plans: each constructor compiled into the flat field list both engines execute.

Written once, in pure Python. A ``CtorPlan`` lists its fields in wire order; each field has
a kind (below), the flags word and bit it depends on, the slot it fills and, for objects
and vectors, a ``TypePlan`` describing what is read there. The Cython engine turns a plan
into C structs the first time it meets it; the pure engine interprets it.

May use: errors, _primitives, _model.
"""

from . import _primitives as P
from ._model import attr_name
from .errors import TLEncodeError

# Field / type kinds. Keep in sync with the enum in src/tlfast/_codec_cy.pyx.
INT = 1
UINT = 2  # '#' used as a plain number
LONG = 3
INT128 = 4
INT256 = 5
DOUBLE = 6
BOOL = 7  # boxed boolTrue/boolFalse
TRUE = 8  # flags.N?true: no bytes
BYTES = 9
STRING = 10
FLAGS = 11  # '#' word that other fields depend on: derived on encode, not stored
OBJECT = 12  # boxed value of a type (or Object, or !X)
BARE = 13  # bare constructor (%T, lowercase constructor name)
VECTOR = 14  # boxed Vector<T>
BARE_VECTOR = 15  # bare vector<T>
BODY_LEN = 16  # MTProto message.bytes: byte length of the next (body) field, derived
UNDEFINED = 17  # bare constructor the schema names but does not define: no layout to use

# How a constructor's instances are built (CtorPlan.build). tlfast's own classes use SLOTS;
# the others let a drop-in adapter (tlfast.adapters) make a host library's own classes.
SLOTS = 0  # allocate without __init__, fill __slots__ members
DICT = 1  # allocate without __init__, give it a copy of ``template`` with the fields set
CALL = 2  # call the class with the fields as keywords (a host class with a custom __init__)

# Kinds of value converters (Converter.kind), for engines that do a kind natively.
EPOCH_DATETIME = 1  # int seconds since 1970 <-> aware UTC datetime


class Converter:
    """A field's value converter, given by a host adapter: ``decode(wire value)`` after
    reading, ``encode(value) -> wire value`` before writing. ``kind`` names what it does
    (EPOCH_DATETIME), so an engine may do the decode side natively."""

    __slots__ = ("kind", "decode", "encode")

    def __init__(self, kind, decode, encode):
        self.kind = kind
        self.decode = decode
        self.encode = encode

PRIMITIVE_KINDS = {
    "int": INT,
    "long": LONG,
    "int128": INT128,
    "int256": INT256,
    "double": DOUBLE,
    "Bool": BOOL,
    "bytes": BYTES,
    "string": STRING,
    "#": UINT,
}
MIN_SIZE = {INT: 4, UINT: 4, LONG: 8, INT128: 16, INT256: 32, DOUBLE: 8, BOOL: 4, TRUE: 0,
            BYTES: 4, STRING: 4, FLAGS: 4, OBJECT: 4, VECTOR: 8, BARE_VECTOR: 4, BODY_LEN: 4,
            UNDEFINED: 0}

# What an absent optional field holds after decoding (FieldPlan.absent).
ABSENT_NONE = 0
ABSENT_FALSE = 1  # flags.N?true
ABSENT_LIST = 2  # a new empty list each time (a host's convention for vectors)
# What a falsy value other than None ([], 0, "") of an optional field means on encode
# (FieldPlan.falsy): the value (tlfast's rule), absent, or not ours to write (the engine
# refuses with TLEncodeError, and a drop-in adapter lets its host write the object).
FALSY_PRESENT = 0
FALSY_ABSENT = 1
FALSY_REFUSED = 2

DEFAULT_MAX_DEPTH = 64
DEFAULT_MAX_INFLATE = 16 << 20
# Decoding recurses once per level (C stack in the Cython engine, about three Python frames
# in the pure one): 200 levels stay well inside both, so the cap cannot be set past them.
MAX_DEPTH_LIMIT = 200


def check_limits(max_depth, max_inflate):
    """Validate a Reader's limits (both engines call this, so they reject the same)."""
    if type(max_depth) is not int or not 1 <= max_depth <= MAX_DEPTH_LIMIT:
        raise ValueError(f"max_depth must be an int in 1..{MAX_DEPTH_LIMIT}, got {max_depth!r}")
    if type(max_inflate) is not int or max_inflate < 0:
        raise ValueError(f"max_inflate must be an int >= 0, got {max_inflate!r}")


class BoxedType:
    """What a boxed position accepts: ``ids`` (frozenset; empty for a type the schema
    names but does not define) or None for any Object; ``functions_only`` for ``!X``.

    ``natives``: Python bools and lists stand for Bool and Vector values here. Only an
    ``Object`` position holds them; ``!X`` holds functions. Both engines follow it on
    decode and on encode alike, so whatever decodes encodes back to the same bytes."""

    __slots__ = ("name", "ids", "functions_only", "natives", "_cy", "_py", "_py_enc")

    def __init__(self, name, ids, functions_only=False):
        self.name = name
        self.ids = ids
        self.functions_only = functions_only
        self.natives = ids is None and not functions_only
        self._cy = None
        self._py = None  # pure engine: {id: generated decoder} for ids met so far
        self._py_enc = None  # pure engine: {class: (id bytes, encoder)} for classes met

    def __repr__(self):
        return f"<BoxedType {self.name}>"


ANY_OBJECT = BoxedType("Object", None)


class TypePlan:
    """A type at a position: ``kind``; ``boxed`` (BoxedType) for OBJECT; ``ctor`` (CtorPlan)
    for BARE; ``elem`` (TypePlan) for vectors. ``min_size`` is the fewest bytes it takes."""

    __slots__ = ("kind", "boxed", "ctor", "elem", "min_size", "text", "factory", "_cy")

    def __init__(self, kind, boxed=None, ctor=None, elem=None, text="", factory=None):
        self.kind = kind
        self.boxed = boxed
        self.ctor = ctor
        self.elem = elem
        self.text = text
        self.factory = factory  # vectors: called with the decoded list (a host's list type)
        self._cy = None
        if kind == BARE:
            self.min_size = 4  # refined once the constructor is compiled (may be recursive)
        else:
            self.min_size = MIN_SIZE[kind]

    def __repr__(self):
        return f"<TypePlan {self.text}>"


class FieldPlan:
    __slots__ = ("name", "attr", "kind", "type", "flag", "bit", "slot", "convert", "absent",
                 "falsy")

    def __init__(self, name, attr, kind, type, flag, bit, slot, convert=None):
        self.name = name  # TL name
        self.attr = attr  # Python attribute ("from_")
        self.kind = kind
        self.type = type  # TypePlan (kind repeated there)
        self.flag = flag  # index into CtorPlan.fields of the flags word, or -1
        self.bit = bit
        self.slot = slot  # index into the class's slots, or -1 (flags words, BODY_LEN)
        self.convert = convert  # None, or a Converter
        self.absent = ABSENT_FALSE if kind == TRUE else ABSENT_NONE  # decoded when absent
        self.falsy = FALSY_PRESENT  # encode: what a falsy value means (a host's rule)

    def __repr__(self):
        return f"<FieldPlan {self.name} kind={self.kind} flag={self.flag}.{self.bit}>"


class HostBinding:
    """How a host library wants a schema's objects built (DESIGN §4), as data the engines
    read (tlfast.adapters makes these):

    - ``classes`` {TL name: (the host's class, [attribute of each stored parameter, in
      wire order])};
    - ``build`` {TL name: (DICT or CALL, template[, finish])} for classes without
      ``__slots__`` (the others are filled slot by slot); a template maps every attribute
      to its value when absent, in the order the host's ``__init__`` sets them; ``finish``
      (CtorPlan.finish) completes a DICT-built dict;
    - ``converters`` {TL name: {attribute: Converter}};
    - ``lenient``: the host's encode rules (CtorPlan.lenient);
    - ``fields`` {TL name: {attribute: (ABSENT_*, FALSY_*)}}: what an absent optional field
      decodes to and what a falsy value means on encode, where the host's rule is not
      tlfast's (FieldPlan.absent, .falsy);
    - ``vector_factory``: makes the host's list type from each decoded list (TypePlan)."""

    __slots__ = ("classes", "build", "converters", "lenient", "fields", "vector_factory")

    def __init__(self, classes, build=None, converters=None, lenient=False, fields=None,
                 vector_factory=None):
        self.classes = classes
        self.build = build or {}
        self.converters = converters or {}
        self.lenient = lenient
        self.fields = fields or {}
        self.vector_factory = vector_factory

    def apply(self, plan):
        """Give ``plan`` (compiled with the host's attribute names) the host's build."""
        mode = self.build.get(plan.name)
        if mode is not None:
            plan.build, plan.template = mode[:2]
            plan.finish = mode[2] if len(mode) > 2 else None
        conv = self.converters.get(plan.name)
        if conv:
            for f in plan.fields:
                f.convert = conv.get(f.attr) if f.slot >= 0 else None
        plan.lenient = self.lenient
        rules = self.fields.get(plan.name)
        if rules:
            for f in plan.fields:
                if f.slot >= 0 and f.flag >= 0 and f.attr in rules:
                    f.absent, f.falsy = rules[f.attr]


class CtorPlan:
    """One constructor or function: everything an engine needs, flat."""

    __slots__ = (
        "id", "name", "cls", "fields", "is_function", "schema", "definition",
        "flag_fields", "shared_groups", "min_size", "defaults", "build", "template",
        "finish", "lenient", "_cy", "_py",
    )

    def __init__(self, definition, schema):
        self.id = definition.id
        self.name = definition.name
        self.is_function = definition.is_function
        self.definition = definition
        self.schema = schema
        self.cls = None
        self.fields = ()
        self.flag_fields = ()  # indices of FLAGS fields
        # (flags field index, bit, data field indices, TL names) for bits shared by 2+
        # fields of which at least one carries data: all data members must be present.
        self.shared_groups = ()
        self.min_size = 0
        # {attr: value} for the fields that may be left out, in the class's keyword
        # arguments and in from_dict alike: None (absent), False (a `true` flag), 0 (a '#'
        # word no field depends on).
        self.defaults = {}
        self.build = SLOTS
        self.template = None  # DICT, CALL: {attr: value when absent} in the host's order
        # DICT: the host's callable, given the filled dict before it becomes the object's
        # __dict__ (what a host class's __init__ derives from the fields), or None.
        self.finish = None
        # The host's lenient encode: a flag is present unless None, or False for any kind
        # but Bool; Bool by truth; str accepted for bytes.
        self.lenient = False
        self._cy = None
        self._py = None

    def __repr__(self):
        return f"<CtorPlan {self.name}#{self.id:08x}>"


def compile_ctor(plan, definition, resolve, attrs=None, keep_words=False):
    """Fill ``plan`` from ``definition``; ``resolve(TypeExpr, generics)`` gives TypePlans.
    ``attrs`` names the stored fields (a host's attributes, HostBinding.classes).
    ``keep_words`` (the "ton" dialect): each flags word is also a stored field, its value
    kept on decode and given on encode (see ``kept_word``)."""
    fields = []
    index_of = {}
    slot = 0
    params = definition.params
    flag_users = {p.flag for p in params if p.flag is not None}
    generics = set(definition.generics)
    is_message = _is_mtproto_message(definition)
    for p in params:
        cond = index_of[p.flag] if p.flag is not None else -1
        if p.type.name == "#" and not p.type.args:
            # A '#' nothing depends on is a plain number tlfast keeps; a host keeps no
            # attribute for it and always sends 0, which is what a derived word gives.
            kind = FLAGS if p.name in flag_users or attrs is not None else UINT
            tplan = TypePlan(kind, text="#")
        elif p.flag is not None and p.type.name == "true" and not p.type.bare:
            kind = TRUE
            tplan = TypePlan(TRUE, text="true")
        elif is_message and p.name == "bytes":
            kind = BODY_LEN
            tplan = TypePlan(BODY_LEN, text="int")
        else:
            tplan = resolve(p.type, generics)
            kind = tplan.kind
        stored = kind != BODY_LEN and (kind != FLAGS or keep_words and attrs is None)
        attr = attrs[slot] if attrs is not None and stored else attr_name(p.name)
        fields.append(FieldPlan(p.name, attr, kind, tplan, cond, p.bit, slot if stored else -1))
        index_of[p.name] = len(fields) - 1
        if stored:
            slot += 1
    plan.fields = tuple(fields)
    plan.defaults = {
        f.attr: (False if f.kind == TRUE else None) if f.flag >= 0 else 0
        for f in fields
        if f.slot >= 0 and (f.flag >= 0 or f.kind in (UINT, FLAGS) and f.type.text == "#")
    }
    plan.flag_fields = tuple(i for i, f in enumerate(fields) if f.kind == FLAGS)
    groups = {}
    for i, f in enumerate(fields):
        if f.flag >= 0:
            groups.setdefault((f.flag, f.bit), []).append(i)
    plan.shared_groups = tuple(
        (flag, bit, tuple(i for i in members if fields[i].kind != TRUE),
         tuple(fields[i].name for i in members))
        for (flag, bit), members in groups.items()
        if len(members) > 1 and any(fields[i].kind != TRUE for i in members)
    )
    plan.min_size = sum(f.type.min_size for f in fields if f.flag < 0)


def _is_mtproto_message(d):
    names = [p.name for p in d.params]
    return (
        d.name == "message"
        and names == ["msg_id", "seqno", "bytes", "body"]
        and d.params[2].type.name == "int"
        and d.params[3].type.name == "Object"
    )


def flags_from_values(plan, values):
    """Compute every flags word of ``plan`` from the field values (list by field index,
    None where absent) and enforce shared-bit groups. Returns {field index: word}. A
    stored flags word (``compile_ctor``'s ``keep_words``) starts from its given value."""
    fields = plan.fields
    words = {i: kept_word(plan, i, values[i]) if fields[i].slot >= 0 else 0
             for i in plan.flag_fields}
    lenient = plan.lenient
    for i, f in enumerate(plan.fields):
        if f.flag >= 0:
            v = values[i]
            if lenient:
                if v is not None and (v is not False or f.kind == BOOL):
                    words[f.flag] |= 1 << f.bit
                else:
                    values[i] = None  # absent: nothing is written for it
            elif f.kind == TRUE:
                if v is True:
                    words[f.flag] |= 1 << f.bit
                elif v is not None and v is not False:
                    raise P.wrong_type("true", "bool", v)._add_path("." + f.name)
            elif v is not None:
                words[f.flag] |= 1 << f.bit
    for flag, bit, data, names in plan.shared_groups:
        if words[flag] >> bit & 1:
            missing = [plan.fields[i].name for i in data if values[i] is None]
            if missing:
                raise shared_bit_error(plan, flag, bit, names, missing)
    return words


def kept_word(plan, i, value):
    """The start of flags word ``i`` of ``plan`` when the caller gives it (the "ton"
    dialect): ``value`` (a '#', 0..2**32-1) with the bits of the fields that depend on the
    word cleared; the fields present set theirs again. Bits no field uses stay as given."""
    try:
        word = P.check_int(P.UINT_RANGE, value)
    except TLEncodeError as exc:
        raise exc._add_path("." + plan.fields[i].name)
    for f in plan.fields:
        if f.flag == i:
            word &= ~(1 << f.bit)
    return word


def shared_bit_error(plan, flag, bit, names, missing):
    return TLEncodeError(
        f"{plan.fields[flag].name}.{bit} is shared by {', '.join(names)}: "
        f"{', '.join(missing)} must be present when any of them is"
    )
