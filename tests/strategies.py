"""Hypothesis strategies: random *valid* TL objects for any constructor or function of a
schema, built by walking the compiled plans (tlfast._plans) rather than a hand-written
list, so every constructor of the bundled layer 228 and of MTProto is reachable.

Validity rules the generator respects (DESIGN.md §3):
- values in range for int / # / long / int128 / int256; finite-or-infinite doubles, no NaN
  (NaN != NaN would break value equality; its bytes are checked elsewhere);
- strings are valid UTF-8 (invalid UTF-8 is lossy on decode by design);
- a flags bit shared by several fields is drawn once for the whole group: when set,
  every ``true`` member is True and every data member is present;
- a boxed position only gets constructors of its type (or, for ``Object``, anything
  plus Python bools and lists; for ``!X``, functions); bare positions get their one
  constructor;
- recursion is bounded: each constructor has a *height* (the fewest nested objects it
  needs), candidates must fit the remaining depth budget, and as depth grows optional
  fields and vector elements become rarer, so objects stay small.

Not generated (not round-trippable by design): ``boolTrue``/``boolFalse`` as objects
(they decode to Python bools) and ``gzip_packed`` (inflated transparently on decode).

Import it from tests with ``import strategies`` (conftest.py puts tests/ on sys.path)
(pytest runs with --import-mode=importlib, so ``tests/`` is not on sys.path).
"""

import math

from hypothesis import strategies as st

from tlfast import _plans as PL

__all__ = ["TLStrategies", "NOT_GENERATED", "long_blob", "tl_bytes", "deep_rich_text", "large_vector"]

INT_MIN, INT_MAX = -(1 << 31), (1 << 31) - 1

#: Constructors a generator never produces as objects (see the module docstring).
NOT_GENERATED = frozenset({0x997275B5, 0xBC799737, 0x3072CFA1})

_PRIMITIVES = {
    PL.INT: st.integers(INT_MIN, INT_MAX),
    PL.UINT: st.integers(0, (1 << 32) - 1),
    PL.FLAGS: st.integers(0, (1 << 32) - 1),  # a word the caller gives (the "ton" dialect)
    PL.LONG: st.integers(-(1 << 63), (1 << 63) - 1),
    PL.INT128: st.integers(-(1 << 127), (1 << 127) - 1),
    PL.INT256: st.integers(-(1 << 255), (1 << 255) - 1),
    PL.DOUBLE: st.floats(allow_nan=False),
    PL.BOOL: st.booleans(),
    # Mostly short; sometimes around the 1-byte / 0xFE length-prefix boundary (253/254),
    # built cheaply (a long draw of 250 random bytes would use up hypothesis' entropy).
    PL.BYTES: st.one_of(
        st.binary(max_size=8),
        st.binary(max_size=8),
        st.builds(lambda n, b: (b * n)[:n], st.integers(250, 258), st.binary(min_size=1, max_size=3)),
    ),
    PL.STRING: st.one_of(
        st.text(st.characters(codec="utf-8"), max_size=8),
        st.text(st.characters(codec="utf-8"), max_size=8),
        st.builds(lambda n, c: (c * n)[:n], st.integers(250, 258),
                  st.text(st.characters(codec="utf-8"), min_size=1, max_size=2)),
    ),
}


class TLStrategies:
    """Strategies for the constructors of one codec (a set of schemas seen together).

    ``schemas``: the Schema objects whose ids may appear (the bundled codec sees API and
    MTProto). ``allowed(plan) -> bool`` restricts which constructors may be generated
    anywhere (e.g. only ids Telethon also knows). ``max_depth`` bounds object nesting.
    ``full=True``: every optional field that fits the depth budget is present and every
    vector that can hold an element has at least one (each field's path exercised).
    ``overrides``: {(constructor name, TL field name): strategy} replacing the generated
    values of particular fields (used to stay inside a peer library's assumptions); a
    value may also be a set of constructor names the field must not get.
    """

    def __init__(self, schemas, allowed=None, max_depth=3, max_list=2, full=False,
                 overrides=None):
        self.schemas = list(schemas)
        self.full = full
        self.overrides = dict(overrides or {})
        self.allowed = allowed or (lambda plan: True)
        self.max_depth = max_depth
        self.max_list = max_list
        self.plans = []
        for s in self.schemas:
            for d in s:
                self.plans.append(s._plan(d.name))
        self._by_id = {}
        for p in self.plans:
            self._by_id.setdefault(p.id, p)
        self._height = self._heights()
        self._cache = {}
        self._any = None
        self._functions = None

    # which constructors can stand where -----------------------------------------------
    def usable(self, plan):
        return plan.id not in NOT_GENERATED and self.allowed(plan) and self._height[plan] < math.inf

    def height(self, plan):
        """The fewest nested object levels an instance of ``plan`` needs (0: a leaf)."""
        return self._height[plan]

    def _candidates(self, boxed):
        if boxed.ids is None:
            if boxed.functions_only:
                if self._functions is None:
                    self._functions = self._sorted(p for p in self.plans if p.is_function)
                return self._functions
            if self._any is None:
                self._any = self._sorted(p for p in self.plans if p.name != "message")
            return self._any
        return self._sorted(self._by_id[i] for i in boxed.ids if i in self._by_id)

    def _sorted(self, plans):
        # Leaves first: hypothesis shrinks towards the first element.
        return sorted((p for p in plans if self.usable(p)),
                      key=lambda p: (self._height[p], len(p.fields), p.name))

    def _type_height(self, tp, h):
        """Fewest levels a *required* value of TypePlan ``tp`` needs, given heights ``h``."""
        k = tp.kind
        if k == PL.OBJECT:
            if tp.boxed.ids is None and not tp.boxed.functions_only:
                return 1  # a Python bool will do
            if tp.boxed.ids is None:
                cands = [p for p in self.plans if p.is_function]
            else:
                cands = [self._by_id[i] for i in tp.boxed.ids if i in self._by_id]
            best = min((h[p] for p in cands
                        if p.id not in NOT_GENERATED and self.allowed(p)), default=math.inf)
            return 1 + best
        if k == PL.BARE:
            return 1 + h[tp.ctor] if self.allowed(tp.ctor) else math.inf
        return 0  # primitives; vectors may be empty

    def _heights(self):
        h = {p: math.inf for p in self.plans}
        for p in self.plans:  # constructors of bare types met in fields
            for f in p.fields:
                if f.kind == PL.BARE:
                    h.setdefault(f.type.ctor, math.inf)
        changed = True
        while changed:
            changed = False
            for p in list(h):
                need = max((self._type_height(f.type, h) for f in p.fields
                            if f.flag < 0 and f.slot >= 0), default=0)
                if need < h[p]:
                    h[p] = need
                    changed = True
        return h

    # strategies -----------------------------------------------------------------------
    def of(self, plan, depth=0):
        """Random instances of the class of ``plan`` (a CtorPlan), nested at ``depth``."""
        key = (plan, depth)
        strat = self._cache.get(key)
        if strat is None:
            strat = self._cache[key] = _ctor_strategy(self, plan, depth)
        return strat

    def value(self, tp, depth=0, exclude=()):
        """Random values of TypePlan ``tp`` at ``depth`` (a required position); ``exclude``:
        constructor names not to use at this position."""
        k = tp.kind
        if k in _PRIMITIVES:
            return _PRIMITIVES[k]
        if k == PL.OBJECT:
            budget = self.max_depth - depth - 1
            allowed = [p for p in self._candidates(tp.boxed) if p.name not in exclude]
            cands = [p for p in allowed if self._height[p] <= budget]
            if not cands:
                # Past the soft limit: the shallowest candidates still work.
                cands = allowed
                lowest = min(self._height[p] for p in cands)
                cands = [p for p in cands if self._height[p] == lowest]
            strat = st.sampled_from(cands).flatmap(lambda p: self.of(p, depth + 1))
            if tp.boxed.ids is None and not tp.boxed.functions_only:
                # Object: also Python bools (boolTrue/boolFalse) and lists (Vector<Object>).
                extra = [st.booleans()]
                if depth + 2 <= self.max_depth:
                    extra.append(st.lists(self.value(tp, depth + 1), max_size=2))
                strat = st.one_of(strat, *extra)
            return strat
        if k == PL.BARE:
            return self.of(tp.ctor, depth + 1)
        if k in (PL.VECTOR, PL.BARE_VECTOR):
            size = max(0, self.max_list - depth // 2)
            if not self.fits(tp.elem, depth + 1) or size == 0:
                return st.just([])
            return st.lists(self.value(tp.elem, depth + 1), min_size=1 if self.full else 0,
                            max_size=size)
        raise AssertionError(f"no strategy for kind {k} ({tp.text})")

    def field_value(self, plan, field, depth):
        """Values of one field of ``plan`` (honouring ``overrides``)."""
        strat = self.overrides.get((plan.name, field.name))
        if isinstance(strat, (set, frozenset)):
            return self.value(field.type, depth, exclude=strat)
        return strat if strat is not None else self.value(field.type, depth)

    def fits(self, tp, depth):
        """Whether a value of ``tp`` can be made at ``depth`` without passing max_depth."""
        return depth + self._type_height(tp, self._height) <= self.max_depth + 1


def _ctor_strategy(gen, plan, depth):
    fields = plan.fields
    # One presence decision per (flags word, bit): shared bits form one group.
    groups = {}
    for i, f in enumerate(fields):
        if f.flag >= 0:
            groups.setdefault((f.flag, f.bit), []).append(i)
    optional = []
    feasible_mask = 0
    for g, members in enumerate(groups.values()):
        if all(fields[i].kind == PL.TRUE or gen.fits(fields[i].type, depth + 1) for i in members):
            feasible_mask |= 1 << g
        optional.append([(fields[i].attr, None if fields[i].kind == PL.TRUE
                          else gen.field_value(plan, fields[i], depth)) for i in members])
    required = [(f.attr, gen.field_value(plan, f, depth))
                for f in fields if f.slot >= 0 and f.flag < 0]
    if optional and feasible_mask and gen.full:
        masks = st.just(feasible_mask)
    elif optional and feasible_mask:
        # All groups' presence in one draw (hypothesis draws are what costs): a random
        # mask, ANDed with more masks as depth grows, so optional fields get rarer:
        # 1/2 each at the top level, 1/4 one level down, then 1/8.
        mask = st.integers(0, feasible_mask)
        masks = st.tuples(*[mask] * (depth + 1)).map(
            lambda ms: _and_all(ms) & feasible_mask)
    else:
        masks = st.just(0)
    return _build(plan.cls, required, optional, masks)


def _and_all(values):
    out = -1
    for v in values:
        out &= v
    return out


@st.composite
def _build(draw, cls, required, optional, masks):
    # One composite for every constructor: st.composite itself is costly to create.
    kwargs = {attr: draw(strat) for attr, strat in required}
    present = draw(masks)
    for g, members in enumerate(optional):
        on = bool(present >> g & 1)
        for attr, strat in members:
            if strat is None:  # flags.N?true: the bit is the value
                kwargs[attr] = on
            else:
                kwargs[attr] = draw(strat) if on else None
    return cls(**kwargs)


# --- past the small objects above: long values, deep nesting, large vectors -------------
# Built from a few drawn numbers (repetition, arithmetic), so they cost hypothesis little
# entropy and shrink well, yet reach the 0xFE length form with its 2nd and 3rd length
# bytes, nesting right at the depth cap, and vectors of thousands of elements.

def long_blob():
    """bytes of 253..600, about 2^16 or about 2^17 bytes."""
    sizes = st.one_of(st.integers(253, 600), st.integers(65530, 65541),
                      st.integers(1 << 17, (1 << 17) + 8))
    return st.builds(lambda n, unit: (unit * (n // len(unit) + 1))[:n], sizes,
                     st.binary(min_size=1, max_size=16))


def tl_bytes(data):
    """``data`` as TL ``bytes``, written out here by the format's rules (no tlfast code)."""
    n = len(data)
    head = bytes([n]) if n < 254 else bytes([254]) + n.to_bytes(3, "little")
    return head + data + bytes(-(len(head) + n) % 4)


_WRAPPERS = ("textBold", "textItalic", "textUnderline", "textStrike", "textFixed",
             "textSubscript", "textSuperscript", "textMarked")


@st.composite
def deep_rich_text(draw, api, max_levels=70):
    """``(value, levels)``: RichText nested through one-field wrappers and textConcat, and
    how many levels deep it is (objects and vectors both count, as the engines do)."""
    count = draw(st.one_of(st.integers(0, max_levels), st.integers(55, 66)))  # near the cap
    kinds = draw(st.lists(st.sampled_from(_WRAPPERS + ("textConcat",)), min_size=count,
                          max_size=count))
    value = draw(st.sampled_from([api.textEmpty(), api.textPlain(text="x")]))
    levels = 1
    for kind in kinds:
        if kind == "textConcat":
            value, levels = api.textConcat(texts=[value]), levels + 2
        else:
            value, levels = getattr(api, kind)(text=value), levels + 1
    return value, levels


_INT_KINDS = {"int": 32, "long": 64, "int128": 128, "int256": 256}


@st.composite
def large_vector(draw, kind, max_size=5000):
    """A list of up to ``max_size`` values of primitive ``kind``, spread over its range."""
    n = draw(st.integers(0, max_size))
    a, b = draw(st.integers(1, 1 << 62)), draw(st.integers(0, 1 << 62))
    if kind in _INT_KINDS:
        bits = _INT_KINDS[kind]
        return [(a * i + b) % (1 << bits) - (1 << (bits - 1)) for i in range(n)]
    if kind == "double":
        return [((a * i + b) % 10**15) / 7.0 - 1e14 for i in range(n)]
    if kind == "Bool":
        return [bool((a * i + b) >> 7 & 1) for i in range(n)]
    if kind == "string":
        return [str(a * i + b)[: (a + i) % 40] for i in range(n)]
    if kind == "bytes":
        return [bytes([(a + i) % 256]) * ((b + i) % 300) for i in range(n)]
    raise AssertionError(f"no large vector of {kind}")
