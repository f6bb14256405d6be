# Object engine of the Cython backend, included at the end of _codec_cy.pyx.
#
# It executes the plans of tlfast._plans exactly as the pure engine (tlfast/_codec_py.py,
# the specification) does: same values, same errors, same offsets and paths. Each CtorPlan
# is converted once, on first use, into a CyCtor holding a C array of field structs (kind,
# flags word and mask, slot offset in the instance, sub-type); each TypePlan into a CyType.
# Decoding allocates instances with tp_alloc (no __init__) and stores each value straight
# into its slot; encoding reads the slots the same way. Python-level code only runs on the
# first sight of a constructor, for rare kinds (int128/int256, gzip_packed) and on errors.

cimport cython
from cpython.object cimport PyObject, PyTypeObject
from cpython.ref cimport Py_INCREF
from cpython.list cimport PyList_Check, PyList_GET_ITEM, PyList_GET_SIZE, PyList_New, PyList_SET_ITEM
from cpython.object cimport PyObject_IsTrue
from cpython.mem cimport PyMem_Malloc, PyMem_Calloc
from libc.math cimport floor
from cpython.dict cimport PyDict_Copy, PyDict_SetItem
from cpython.datetime cimport (
    PyDateTime_CheckExact, datetime_day, datetime_hour, datetime_microsecond, datetime_minute,
    datetime_month, datetime_new, datetime_second, datetime_tzinfo, datetime_year, get_utc,
    import_datetime,
)

import sys

import_datetime()

from tlfast import _plans as PL
from tlfast._model import TLObject
from tlfast.errors import TLError, TLDecodeError
from tlfast._late import codec_of
from tlfast._primitives import inflate
from tlfast._primitives import run_delegate

cdef extern from *:
    """
    #include "structmember.h"

    /* Instances of the schema classes: allocated without __init__, slots filled by offset.
       A slot of a fresh instance is NULL, so storing needs no DECREF of an old value. */
    static inline PyObject* tlf_alloc(PyObject *cls) {
        PyTypeObject *t = (PyTypeObject *)cls;
        return t->tp_alloc(t, 0);
    }
    /* The same, linked into a decode's own list (see "garbage collector" below) instead
       of the collector's: NULL without an exception when the class is not one whose
       instances this can make (the caller then uses tlf_alloc). */
    static inline PyObject* tlf_alloc_made(PyObject *cls, tlf_made *made) {
        PyTypeObject *t = (PyTypeObject *)cls;
        PyObject *o;
        if (!TLF_KNOWN_CPYTHON || t->tp_alloc != PyType_GenericAlloc || !PyType_IS_GC(t) || t->tp_itemsize != 0
    #ifdef Py_TPFLAGS_MANAGED_DICT
            || (t->tp_flags & Py_TPFLAGS_MANAGED_DICT)
    #endif
    #ifdef Py_TPFLAGS_MANAGED_WEAKREF
            || (t->tp_flags & Py_TPFLAGS_MANAGED_WEAKREF)
    #endif
            ) return NULL;
    #if TLF_KNOWN_CPYTHON
        o = _PyObject_GC_New(t);
    #else
        o = NULL;
    #endif
        if (o == NULL) {
            PyErr_Clear();
            return NULL;
        }
        memset((char *)o + sizeof(PyObject), 0, (size_t)t->tp_basicsize - sizeof(PyObject));
        tlf_made_add(made, o);
        return o;
    }
    static inline void tlf_set(PyObject *obj, Py_ssize_t off, PyObject *v) {
        Py_INCREF(v);
        *(PyObject **)((char *)obj + off) = v;
    }
    static inline PyObject* tlf_get(PyObject *obj, Py_ssize_t off) {
        return *(PyObject **)((char *)obj + off);
    }
    /* Offset of a __slots__ member descriptor of ``owner``, or -1 if ``d`` is not one. */
    static Py_ssize_t tlf_member_offset(PyObject *d, PyObject *owner) {
        PyMemberDef *m;
        if (Py_TYPE(d) != &PyMemberDescr_Type) return -1;
        if ((PyObject *)((PyDescrObject *)d)->d_type != owner) return -1;
        m = ((PyMemberDescrObject *)d)->d_member;
        if (m->type != T_OBJECT_EX || (m->flags & READONLY)) return -1;
        return m->offset;
    }
    /* Freeing an object of a schema class: what CPython's generic subtype_dealloc does for
       such a class (tlf_own_dealloc says which), without walking the class chain and its
       member tables for every object (14% of a decode-and-free of a large response). */
    #if TLF_KNOWN_CPYTHON
    static destructor tlf_generic_dealloc;  /* subtype_dealloc, which CPython does not export */
    static void tlf_slots_dealloc(PyObject *self) {
        PyTypeObject *tp = Py_TYPE(self), *own = tp;
        PyObject **p, **end;
        if (tp->tp_dealloc == tlf_slots_dealloc && (tp->tp_finalize || tp->tp_del)) {
            /* A __del__ given to the class since: CPython's deallocator calls it. */
            tp->tp_dealloc = tlf_generic_dealloc;
            tlf_generic_dealloc(self);
            return;
        }
        while (own->tp_dealloc != tlf_slots_dealloc) own = own->tp_base;  /* a subclass's */
        PyObject_GC_UnTrack(self);
        Py_TRASHCAN_BEGIN(self, tlf_slots_dealloc)
        p = (PyObject **)((char *)self + sizeof(PyObject));
        end = (PyObject **)((char *)self + own->tp_basicsize);
        for (; p < end; p++) Py_CLEAR(*p);
        tp->tp_free(self);
        Py_DECREF(tp);  /* a heap type's instances own a reference to it */
        Py_TRASHCAN_END
    }
    #endif
    /* Give ``cls`` tlf_slots_dealloc when subtype_dealloc (``generic``'s) would do only
       that: a heap class whose instances are an object header and its own __slots__,
       object members all, with no __dict__, __weakref__, __del__ or other free. */
    static void tlf_own_dealloc(PyObject *cls, PyObject *generic) {
    #if !TLF_KNOWN_CPYTHON
        (void)cls; (void)generic;  /* CPython's own deallocator where its internals are not known */
    #else
        PyTypeObject *t = (PyTypeObject *)cls;
        PyMemberDef *m;
        Py_ssize_t at = (Py_ssize_t)sizeof(PyObject);
        if (t->tp_dealloc != ((PyTypeObject *)generic)->tp_dealloc
            || !(t->tp_flags & Py_TPFLAGS_HEAPTYPE) || !PyType_IS_GC(t)
            || t->tp_itemsize || t->tp_dictoffset || t->tp_weaklistoffset
            || t->tp_finalize || t->tp_del || t->tp_free != PyObject_GC_Del
    #ifdef Py_TPFLAGS_MANAGED_DICT
            || (t->tp_flags & Py_TPFLAGS_MANAGED_DICT)
    #endif
    #ifdef Py_TPFLAGS_MANAGED_WEAKREF
            || (t->tp_flags & Py_TPFLAGS_MANAGED_WEAKREF)
    #endif
            ) return;
        for (m = t->tp_members; m != NULL && m->name != NULL; m++) {
            if (m->type != T_OBJECT_EX || m->offset != at) return;
            at += (Py_ssize_t)sizeof(PyObject *);
        }
        if (at != t->tp_basicsize) return;
        tlf_generic_dealloc = t->tp_dealloc;
        t->tp_dealloc = tlf_slots_dealloc;
    #endif
    }
    /* ``name`` in the dicts of the class of ``obj`` and its bases (a borrowed reference),
       or NULL without an exception. */
    static inline PyObject* tlf_type_lookup(PyObject *obj, PyObject *name) {
    #if TLF_KNOWN_CPYTHON
        return _PyType_Lookup(Py_TYPE(obj), name);  /* with CPython's method cache */
    #else
        PyObject *mro = Py_TYPE(obj)->tp_mro, *v;
        Py_ssize_t i;
        if (mro == NULL) return NULL;
        for (i = 0; i < PyTuple_GET_SIZE(mro); i++) {
            PyObject *d = ((PyTypeObject *)PyTuple_GET_ITEM(mro, i))->tp_dict;
            if (d == NULL) continue;  /* 3.12+: a static builtin type's */
            v = PyDict_GetItemWithError(d, name);
            if (v != NULL) return v;
            if (PyErr_Occurred()) { PyErr_Clear(); return NULL; }
        }
        return NULL;
    #endif
    }
    static inline int tlf_type_is(PyObject *obj, PyObject *type) {
        return (PyObject *)Py_TYPE(obj) == type;
    }
    static inline void tlf_incref(PyObject *v) { Py_INCREF(v); }
    static inline void tlf_decref(PyObject *v) { Py_DECREF(v); }
    /* An exact int whose value C reads without a call: 1, and the value in *out. One digit
       (below 2**30 in magnitude) through the documented compact-value API of 3.12+; two
       digits (below 2**60: dates, ids, hashes) from the digits on the CPythons CI tests. */
    #if PY_VERSION_HEX >= 0x030C0000 && !TLF_KNOWN_CPYTHON
    static inline int tlf_int_value(PyObject *v, long long *out) {
        if (!PyLong_CheckExact(v) || !PyUnstable_Long_IsCompact((PyLongObject *)v)) return 0;
        *out = (long long)PyUnstable_Long_CompactValue((PyLongObject *)v);
        return 1;
    }
    #else
    static inline int tlf_int_value(PyObject *v, long long *out) {
        const digit *d;
        Py_ssize_t n;
        int negative;
        long long m;
        if (!PyLong_CheckExact(v)) return 0;
    #if PY_VERSION_HEX >= 0x030C0000
        uintptr_t tag = ((PyLongObject *)v)->long_value.lv_tag;
        n = (Py_ssize_t)(tag >> 3);  /* _PyLong_NON_SIZE_BITS */
        negative = (tag & 3) == 2;   /* _PyLong_SIGN_MASK: 0 positive, 1 zero, 2 negative */
        d = ((PyLongObject *)v)->long_value.ob_digit;
    #else
        n = Py_SIZE(v);
        negative = n < 0;
        if (negative) n = -n;
        d = ((PyLongObject *)v)->ob_digit;
    #endif
        if (n == 0) m = 0;
        else if (n == 1) m = (long long)d[0];
        else if (n == 2) m = (long long)d[0] | ((long long)d[1] << PyLong_SHIFT);
        else return 0;
        *out = negative ? -m : m;
        return 1;
    }
    #endif
    /* Decoding recurses on the C stack, as deep as the caller's max_depth allows: past a
       few levels, Python's recursion limit guards it (RecursionError, as the pure engine
       gets, instead of a crash). */
    static int tlf_enter_recursion(void) {
        return Py_EnterRecursiveCall(" while decoding TL") ? -1 : 0;
    }
    static void tlf_leave_recursion(void) { Py_LeaveRecursiveCall(); }
    /* Host classes with a __dict__ (tlfast.adapters): the attributes of ``d`` are set one
       by one, in its order (the template's: the order in which the host's __init__ assigns
       them), as that __init__ does. So the instance stores them as the host's own do on
       each CPython: 3.11+ keeps them in values beside the object (inline in 3.13), indexed
       by keys every instance of the class shares, and makes a dict only when asked for one.
       Handing every instance ``d`` whole cost 1.4x the memory of a decoded response on
       3.11 (a dict of its own per object). */
    /* A host class's instance gets ``d`` as its __dict__ whole, through the class's own
       ``__dict__`` descriptor as ``obj.__dict__ = d`` does. (PyObject_GenericSetDict, which
       skips it, leaves 3.13's inline values marked valid beside the new dict: every
       attribute lookup then misses.) */
    static inline int tlf_set_dict(PyObject *obj, PyObject *name, PyObject *d) {
        return PyObject_SetAttr(obj, name, d);
    }
    /* A host object as object.__new__(cls) makes it: that is where CPython 3.11 and 3.12
       give the instance its values array (tp_alloc alone leaves none, and the first
       setattr then makes the instance a dict of its own). */
    static PyObject* tlf_new_host(PyObject *cls, PyObject *no_args) {
        return PyBaseObject_Type.tp_new((PyTypeObject *)cls, no_args, NULL);
    }
    static int tlf_set_attrs(PyObject *obj, PyObject *d) {
        Py_ssize_t pos = 0;
        PyObject *key, *value;
        while (PyDict_Next(d, &pos, &key, &value)) {
            if (PyObject_SetAttr(obj, key, value) < 0) return -1;
        }
        return 0;
    }
    /* Seconds since 1970-01-01 UTC -> civil date and time (proleptic Gregorian; the
       date part is H. Hinnant's days-to-civil algorithm). Floor division throughout. */
    static void tlf_civil(long long secs, int *y, int *m, int *d, int *hh, int *mm, int *ss) {
        long long era, doe, yoe, doy, mp, z, rem;
        z = secs / 86400;
        rem = secs % 86400;
        if (rem < 0) { rem += 86400; z -= 1; }
        *hh = (int)(rem / 3600);
        *mm = (int)(rem / 60 % 60);
        *ss = (int)(rem % 60);
        z += 719468;
        era = (z >= 0 ? z : z - 146096) / 146097;
        doe = z - era * 146097;
        yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
        doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        mp = (5 * doy + 2) / 153;
        *d = (int)(doy - (153 * mp + 2) / 5 + 1);
        *m = (int)(mp < 10 ? mp + 3 : mp - 9);
        *y = (int)(yoe + era * 400 + (*m <= 2));
    }
    /* Civil date -> days since 1970-01-01 (the inverse of tlf_civil's date part). */
    static long long tlf_days(long long y, long long m, long long d) {
        long long era, yoe, doy, doe;
        y -= m <= 2;
        era = (y >= 0 ? y : y - 399) / 400;
        yoe = y - era * 400;
        doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
        doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        return era * 146097 + doe - 719468;
    }
    /* The instance __dict__ (a new reference), or NULL without an exception. */
    static PyObject* tlf_instance_dict(PyObject *obj) {
        PyObject *d = PyObject_GenericGetDict(obj, NULL);
        if (d == NULL) PyErr_Clear();
        return d;
    }
    #define TLF_PY_TRUE Py_True
    #define TLF_PY_FALSE Py_False
    #define TLF_PY_NONE Py_None
    """
    object tlf_alloc(object cls)
    PyObject* tlf_alloc_made(object cls, tlf_made* made)
    void tlf_set(object obj, Py_ssize_t off, object v)
    PyObject* tlf_get(object obj, Py_ssize_t off)
    Py_ssize_t tlf_member_offset(object d, object owner)
    void tlf_own_dealloc(object cls, object generic)
    PyObject* tlf_type_lookup(object obj, object name)
    bint tlf_type_is(object obj, object type)
    # The same test against a borrowed type (a CyCtor's cls): no reference taken for it.
    bint tlf_cls_is "tlf_type_is"(object obj, PyObject* type)
    void tlf_incref(PyObject* v)
    void tlf_decref(PyObject* v)
    bint tlf_int_value(PyObject* v, long long* out)
    int tlf_set_attrs(object obj, object d) except -1
    int tlf_set_dict(object obj, object name, object d) except -1
    object tlf_new_host(object cls, object no_args)
    void tlf_civil(long long secs, int* y, int* m, int* d, int* hh, int* mm, int* ss)
    long long tlf_days(long long y, long long m, long long d)
    PyObject* tlf_instance_dict(object obj)
    PyObject* PyDict_GetItem(PyObject* d, PyObject* key)
    int tlf_enter_recursion() except -1
    void tlf_leave_recursion()
    # (Cython reads <PyObject*>True as the C integer 1: name the singletons in C.)
    PyObject* TLF_PY_TRUE
    PyObject* TLF_PY_FALSE
    PyObject* TLF_PY_NONE

# Kinds: the numbers of tlfast._plans (checked at import below).
cdef enum:
    K_INT = 1
    K_UINT = 2
    K_LONG = 3
    K_INT128 = 4
    K_INT256 = 5
    K_DOUBLE = 6
    K_BOOL = 7
    K_TRUE = 8
    K_BYTES = 9
    K_STRING = 10
    K_FLAGS = 11
    K_OBJECT = 12
    K_BARE = 13
    K_VECTOR = 14
    K_BARE_VECTOR = 15
    K_BODY_LEN = 16
    K_UNDEFINED = 17

# Build modes and converter kinds: the numbers of tlfast._plans (checked below).
cdef enum:
    K_SLOTS = 0
    K_DICT = 1
    K_CALL = 2
    K_EPOCH_DATETIME = 1

cdef enum:  # FieldPlan.absent and .falsy (tlfast._plans)
    ABSENT_NONE = 0
    ABSENT_FALSE = 1
    FALSY_ABSENT = 1

cdef enum:
    TLF_VECTOR = 0x1CB5C415
    TLF_GZIP_PACKED = 0x3072CFA1
    MAX_WORDS = 16       # flags words per constructor (layer 228 has at most 2)
    STACK_VALUES = 64    # field values gathered on the C stack when encoding
    GUARD_DEPTH = 32     # decoding levels from which the recursion limit is consulted

if (K_INT, K_UINT, K_LONG, K_INT128, K_INT256, K_DOUBLE, K_BOOL, K_TRUE, K_BYTES, K_STRING,
        K_FLAGS, K_OBJECT, K_BARE, K_VECTOR, K_BARE_VECTOR, K_BODY_LEN, K_UNDEFINED) != (
        PL.INT, PL.UINT, PL.LONG, PL.INT128, PL.INT256, PL.DOUBLE, PL.BOOL, PL.TRUE,
        PL.BYTES, PL.STRING, PL.FLAGS, PL.OBJECT, PL.BARE, PL.VECTOR, PL.BARE_VECTOR,
        PL.BODY_LEN, PL.UNDEFINED) or (TLF_VECTOR, TLF_GZIP_PACKED) != (P.VECTOR, P.GZIP_PACKED):
    raise ImportError("tlfast._codec_cy: plan kinds disagree with tlfast._plans")
if (K_SLOTS, K_DICT, K_CALL, K_EPOCH_DATETIME, ABSENT_NONE, ABSENT_FALSE, FALSY_ABSENT) != (
        PL.SLOTS, PL.DICT, PL.CALL, PL.EPOCH_DATETIME, PL.ABSENT_NONE, PL.ABSENT_FALSE,
        PL.FALSY_ABSENT):
    raise ImportError("tlfast._codec_cy: build modes disagree with tlfast._plans")

cdef Py_ssize_t _ENCODE_MAX_DEPTH = PL.DEFAULT_MAX_DEPTH

ctypedef struct tlf_field:
    int kind
    bint stored         # a value the object keeps (not a flags word or a body length)
    PyObject* name      # attribute name (owned by CyCtor._keep), for dict-built objects
    PyObject* conv      # its PL.Converter (owned by the plan), or NULL
    int conv_kind       # PL.EPOCH_DATETIME is done in C; others call conv.decode/encode
    int absent          # what an absent optional field decodes to (PL.ABSENT_*)
    int falsy           # encode: what a falsy value means (PL.FALSY_*, a host's rule)
    int word            # number of the flags word this field depends on, or -1
    uint32_t mask       # its bit in that word
    int word_out        # FLAGS: the number of the word it holds
    Py_ssize_t offset   # byte offset of the slot in the instance, -1 if not stored
    PyObject* sub       # CyType for composite kinds (owned by CyCtor._keep), else NULL

ctypedef struct tlf_group:  # a flags bit shared by several fields (see PL.shared_groups)
    int word
    uint32_t mask
    Py_ssize_t start    # its data-member field indices: CyCtor.group_members[start:stop]
    Py_ssize_t stop


@cython.final
cdef class CyCtor:
    """One constructor or function plan, as C structs (``plan._cy``)."""
    cdef tlf_field* fields
    cdef Py_ssize_t n
    cdef int nwords
    cdef uint32_t id
    cdef bint is_function
    cdef object cls
    cdef object plan
    cdef tuple attrs          # Python attribute names, for instances of subclasses
    cdef int build            # PL.SLOTS, DICT or CALL
    cdef object template      # DICT, CALL: {attr: value when absent}
    cdef object finish        # DICT: the host's callable completing the dict, or None
    cdef bint from_dict       # DICT, CALL: fields may be read from the instance __dict__
    cdef bint dict_whole      # DICT: the instance is given its dict whole (tlf_set_dict)
    cdef object delegate      # a host's reader for this id (Codec.delegates): no fields
    cdef bint lenient         # the host's lenient encode rules (PL.CtorPlan.lenient)
    cdef bint plain           # encode: slots, no host rules, at most 64 fields (_gather_plain)
    cdef bint direct          # plain, and every field written as it is (_write_direct)
    cdef bint keeps_words     # a flags word is a stored field ("ton" dialect): encode
                              # derives the words in Python (PL.flags_from_values)
    cdef tlf_group* groups
    cdef Py_ssize_t ngroups
    cdef Py_ssize_t* group_members
    cdef list _keep

    def __dealloc__(self):
        PyMem_Free(self.fields)
        PyMem_Free(self.groups)
        PyMem_Free(self.group_members)


@cython.final
cdef class CyType:
    """A TypePlan (``tp._cy``): kind, and what is read there."""
    cdef int kind
    cdef Py_ssize_t vsize       # bytes an element takes at least, for vector count checks
    cdef object tp
    cdef object text
    cdef CyType elem            # vectors
    cdef CyCtor ctor            # BARE: resolved on first use (plans may be recursive)
    cdef object bare_plan
    cdef uint32_t bare_id
    cdef bint any_object        # OBJECT: boxed.ids is None
    cdef bint functions_only
    cdef bint natives           # OBJECT: boxed.natives (bools and lists stand for Bool, Vector)
    cdef object boxed_name
    cdef uint32_t* ids          # OBJECT with ids: sorted
    cdef Py_ssize_t nids
    cdef CyCtor enc_ctor        # OBJECT: the last constructor encoded here (checks passed)
    cdef object factory         # vectors: the host's list type, or None for list

    def __dealloc__(self):
        PyMem_Free(self.ids)


@cython.final
cdef class CyCodec:
    """Per-Codec C table from constructor id to CyCtor (``codec._cy``)."""
    cdef object codec
    cdef uint32_t* keys
    cdef PyObject** vals        # borrowed: _keep owns them
    cdef size_t mask
    cdef Py_ssize_t used
    cdef list _keep
    cdef CyType object_type     # codec.type_plan(None)
    cdef bint has_delegates     # codec.delegates: entries in the table with .delegate set
    cdef object plan_of_class   # codec.plan_of_class
    cdef object encode_hook     # codec.encode_hook
    cdef dict by_class          # host class -> CyCtor, or None for classes it does not own

    def __dealloc__(self):
        PyMem_Free(self.keys)
        PyMem_Free(self.vals)


# ---------------------------------------------------------------- conversion (cold)

cdef object _CtorPlan = PL.CtorPlan
cdef object _TypePlan = PL.TypePlan
cdef object _S_PLAN = "_plan"
cdef object _S_DICT = "__dict__"
cdef Py_ssize_t _CTOR_CY_OFFSET = tlf_member_offset(PL.CtorPlan.__dict__["_cy"], PL.CtorPlan)
if _CTOR_CY_OFFSET < 0:
    raise ImportError("tlfast._codec_cy: CtorPlan._cy is not a slot")


cdef CyType _type_of(object tp):
    cy = tp._cy
    if type(cy) is CyType:
        return <CyType>cy
    return _build_type(tp)


cdef CyType _build_type(object tp):
    cdef CyType t = CyType.__new__(CyType)
    cdef Py_ssize_t i
    t.tp = tp
    t.kind = tp.kind
    t.text = tp.text
    t.vsize = tp.min_size or 1
    t.factory = tp.factory
    if t.kind == K_OBJECT:
        boxed = tp.boxed
        t.boxed_name = boxed.name
        t.functions_only = bool(boxed.functions_only)
        t.natives = bool(boxed.natives)
        t.any_object = boxed.ids is None
        if not t.any_object:
            ids = sorted(boxed.ids)
            t.nids = len(ids)
            t.ids = <uint32_t*>PyMem_Malloc(max(t.nids, 1) * sizeof(uint32_t))
            if t.ids == NULL:
                raise MemoryError()
            for i in range(t.nids):
                t.ids[i] = ids[i]
    elif t.kind == K_BARE:
        t.bare_plan = tp.ctor
        t.bare_id = tp.ctor.id
    elif t.kind == K_VECTOR or t.kind == K_BARE_VECTOR:
        t.elem = _type_of(tp.elem)
    tp._cy = t
    return t


cdef CyCtor _ctor_of(object plan):
    cy = plan._cy
    if type(cy) is CyCtor:
        return <CyCtor>cy
    return _build_ctor(plan)


cdef CyCtor _build_ctor(object plan):
    cdef CyCtor c = CyCtor.__new__(CyCtor)
    cdef tlf_field* fc
    cdef CyType sub
    cdef Py_ssize_t i, j, m
    fields = plan.fields
    cls = plan.cls
    if not isinstance(cls, type):
        # A plan another thread is still compiling (its class comes last): never cache it,
        # and never allocate from it.
        raise TypeError(f"tlfast: {plan.name} is not compiled yet (first use from another thread)")
    c.plan = plan
    c.cls = cls
    if plan.build == PL.SLOTS and issubclass(cls, TLObject):  # tlfast's own, never a host's
        tlf_own_dealloc(cls, TLObject)
    c.id = plan.id
    c.is_function = bool(plan.is_function)
    c.n = len(fields)
    c._keep = []
    c.attrs = tuple(f.attr for f in fields)
    c.build = plan.build
    c.template = plan.template
    c.finish = plan.finish
    c.from_dict = c.build != PL.SLOTS and _dict_holds(cls, c.attrs)
    # More attributes than CPython's keys shared between instances hold (30 in 3.11-3.13;
    # 3.10 shares any number): the host's own instances have a dict of their own, and so
    # can ours, given whole.
    c.dict_whole = c.build == PL.DICT and len(c.template) > 30 and sys.version_info >= (3, 11)
    c.lenient = bool(plan.lenient)
    if c.build != PL.SLOTS and not isinstance(c.template, dict):
        raise TypeError(f"{plan.name}: a dict-built constructor needs a template dict")
    c.fields = <tlf_field*>PyMem_Calloc(max(c.n, 1), sizeof(tlf_field))
    if c.fields == NULL:
        raise MemoryError()
    word_of = {}
    for i in range(c.n):
        f = fields[i]
        fc = &c.fields[i]
        fc.kind = f.kind
        fc.word_out = -1
        if f.kind == K_FLAGS:
            if len(word_of) >= MAX_WORDS:
                raise TypeError(f"{plan.name}: more than {MAX_WORDS} flags words")
            fc.word_out = word_of[i] = len(word_of)
        fc.word = word_of[f.flag] if f.flag >= 0 else -1
        fc.mask = (<uint32_t>1 << <int>f.bit) if f.flag >= 0 else 0
        fc.offset = -1
        fc.absent = f.absent
        fc.falsy = f.falsy
        fc.stored = f.slot >= 0
        if f.slot >= 0 and c.build == PL.SLOTS:
            fc.offset = tlf_member_offset(cls.__dict__.get(f.attr), cls)
            if fc.offset < 0:
                raise TypeError(f"{cls!r}.{f.attr} is not a __slots__ member")
        elif f.slot >= 0:
            name = sys.intern(f.attr)
            c._keep.append(name)
            fc.name = <PyObject*>name
        if f.convert is not None:
            c._keep.append(f.convert)
            fc.conv = <PyObject*>f.convert
            fc.conv_kind = f.convert.kind
        if f.kind in (K_OBJECT, K_BARE, K_VECTOR, K_BARE_VECTOR, K_UNDEFINED):
            sub = _type_of(f.type)
            c._keep.append(sub)
            fc.sub = <PyObject*>sub
    c.nwords = len(word_of)
    c.keeps_words = any(f.kind == K_FLAGS and f.slot >= 0 for f in fields)
    c.plain = (c.build == PL.SLOTS and not c.lenient and c.n <= 64 and not c.keeps_words
               and not any(c.fields[i].falsy for i in range(c.n)))
    c.direct = c.plain and all(
        c.fields[i].word < 0 and c.fields[i].offset >= 0 and c.fields[i].conv == NULL
        and c.fields[i].kind in (K_INT, K_LONG, K_UINT, K_STRING, K_BYTES, K_DOUBLE, K_BOOL)
        for i in range(c.n))
    groups = plan.shared_groups
    c.ngroups = len(groups)
    if c.ngroups:
        c.groups = <tlf_group*>PyMem_Calloc(c.ngroups, sizeof(tlf_group))
        m = sum(len(g[2]) for g in groups)
        c.group_members = <Py_ssize_t*>PyMem_Calloc(max(m, 1), sizeof(Py_ssize_t))
        if c.groups == NULL or c.group_members == NULL:
            raise MemoryError()
        m = 0
        for i in range(c.ngroups):
            flag, bit, data, names = groups[i]
            c.groups[i].word = word_of[flag]
            c.groups[i].mask = <uint32_t>1 << <int>bit
            c.groups[i].start = m
            for j in data:
                c.group_members[m] = j
                m += 1
            c.groups[i].stop = m
    plan._cy = c
    return c


cdef CyCodec _codec_cy_of(object codec):
    cy = getattr(codec, "_cy", None)
    if type(cy) is CyCodec:
        return <CyCodec>cy
    cdef CyCodec cc = CyCodec.__new__(CyCodec)
    cc.codec = codec
    cc._keep = []
    _table_alloc(cc, 256)
    cc.object_type = _type_of(codec.type_plan(None))
    cc.plan_of_class = codec.plan_of_class
    cc.encode_hook = codec.encode_hook
    cc.by_class = {}
    for cid, fn in codec.delegates.items():
        # In the id table like any constructor, marked by its reader.
        d = CyCtor.__new__(CyCtor)
        (<CyCtor>d).id = cid
        (<CyCtor>d).delegate = fn
        _table_put(cc, cid, d)
        cc.has_delegates = True
    codec._cy = cc
    return cc


cdef int _table_alloc(CyCodec cc, size_t cap) except -1:
    cc.keys = <uint32_t*>PyMem_Calloc(cap, sizeof(uint32_t))
    cc.vals = <PyObject**>PyMem_Calloc(cap, sizeof(PyObject*))
    if cc.keys == NULL or cc.vals == NULL:
        raise MemoryError()
    cc.mask = cap - 1
    cc.used = 0
    return 0


cdef int _table_put(CyCodec cc, uint32_t cid, CyCtor c) except -1:
    cdef uint32_t* keys
    cdef PyObject** vals
    cdef size_t i, old_cap
    if (cc.used + 1) * 2 > <Py_ssize_t>(cc.mask + 1):
        keys, vals, old_cap = cc.keys, cc.vals, cc.mask + 1
        cc.keys = NULL
        cc.vals = NULL
        try:
            _table_alloc(cc, old_cap * 2)
        except MemoryError:
            PyMem_Free(cc.keys)
            PyMem_Free(cc.vals)
            cc.keys, cc.vals, cc.mask = keys, vals, old_cap - 1
            raise
        for i in range(old_cap):
            if vals[i] != NULL:
                _table_insert(cc, keys[i], vals[i])
        PyMem_Free(keys)
        PyMem_Free(vals)
    cc._keep.append(c)
    _table_insert(cc, cid, <PyObject*>c)
    return 0


cdef void _table_insert(CyCodec cc, uint32_t cid, PyObject* c) noexcept:
    cdef size_t i = cid & cc.mask
    while cc.vals[i] != NULL:
        i = (i + 1) & cc.mask
    cc.keys[i] = cid
    cc.vals[i] = c
    cc.used += 1


cdef object _by_id_slow(CyCodec cc, uint32_t cid):
    plan = cc.codec.plan_by_id(cid)
    if plan is None:
        return None
    c = _ctor_of(plan)
    _table_put(cc, cid, c)
    return c


cdef inline object _by_id(CyCodec cc, uint32_t cid):
    """The CyCtor of constructor ``cid`` in this codec, or None if it has none."""
    cdef size_t i = cid & cc.mask
    cdef PyObject* v
    while True:
        v = cc.vals[i]
        if v == NULL:
            return _by_id_slow(cc, cid)
        if cc.keys[i] == cid:
            return <object>v
        i = (i + 1) & cc.mask


cdef inline bint _accepts(CyType t, uint32_t cid) noexcept:
    """``cid in boxed.ids``, by binary search of the sorted ids."""
    cdef Py_ssize_t lo = 0, hi = t.nids, mid
    while lo < hi:
        mid = (lo + hi) >> 1
        if t.ids[mid] < cid:
            lo = mid + 1
        else:
            hi = mid
    return lo < t.nids and t.ids[lo] == cid


cdef inline CyCtor _bare_ctor(CyType t):
    if t.ctor is None:
        t.ctor = _ctor_of(t.bare_plan)
    return t.ctor


cdef inline object _ctor_of_value(object v):
    """The CyCtor for the class of ``v`` (``type(v)._plan``), or None if it has no plan."""
    cdef PyObject* plan = tlf_type_lookup(v, _S_PLAN)
    cdef PyObject* cy
    if plan == NULL or plan == TLF_PY_NONE:
        return None
    if tlf_type_is(<object>plan, _CtorPlan):
        cy = tlf_get(<object>plan, _CTOR_CY_OFFSET)
        if cy != NULL and tlf_type_is(<object>cy, CyCtor):
            return <object>cy
    return _ctor_of(<object>plan)


# ---------------------------------------------------------------- garbage collector
# Decoding a large response makes thousands of objects and lists, each tracked by the
# cyclic collector from birth, and every 700 allocations start a collection. While the
# decode runs, those collections would walk the half-built tree again and again (all of it
# alive) and promote it to the older generations, whose full collections walk the whole
# heap: a third of the decode time, growing faster than the data. So what a read_object
# makes is kept off the collector's lists (tlf_made, in _codec_cy.pyx): the schema's own
# classes from birth (tlf_alloc_made), every other object and list as soon as it is made
# (_hide). Before read_object returns or raises, all of it joins the youngest generation
# (tlf_made_release). The allocations still count towards the next collection, and what
# the caller receives is tracked exactly as before: a reference cycle a user makes later
# is collected as usual. In between, a collection (set off by our allocations, or run by
# another thread while we wait on zlib) does not see these objects; they hold references
# only to each other, to atomic values and to their classes, so nothing they reach can be
# freed wrongly, and they cannot be in a cycle yet.

cdef extern from "Python.h":
    int PyObject_GC_IsTracked(PyObject*)
    void PyObject_GC_Track(PyObject*)
    void PyObject_GC_UnTrack(PyObject*)


cdef inline void _hide(Reader r, object obj) noexcept:
    """Move ``obj`` (just made by this decode) from the collector's lists to the decode's.
    What is not tracked stays so (a dict of atomic values, a class without GC support)."""
    if r._made != NULL and PyObject_GC_IsTracked(<PyObject*>obj):
        tlf_made_add(r._made, <PyObject*>obj)


# ---------------------------------------------------------------- decoding

cdef Py_ssize_t _depth_limit_of(object max_depth) except? -2:
    """``max_depth`` as a C integer with the same meaning in ``depth > limit`` (depth
    counts from 0); the pure engine compares the Python value itself."""
    if isinstance(max_depth, float):
        if max_depth != max_depth or max_depth >= PY_SSIZE_T_MAX:
            return PY_SSIZE_T_MAX  # depth > nan / inf is never true
        if max_depth < -1:
            return -1
        return <Py_ssize_t>floor(max_depth)
    max_depth = _index(max_depth)
    if max_depth >= PY_SSIZE_T_MAX:
        return PY_SSIZE_T_MAX
    if max_depth < -1:
        return -1
    return max_depth


cdef object _read_object(Reader r, object type):
    codec = r._codec
    if codec is None:
        codec = r._codec = codec_of(r._schema)
    cyc = r._cyc
    if cyc is None or (<CyCodec>cyc).codec is not codec:
        cyc = r._cyc = _codec_cy_of(codec)
    if type is None:
        t = (<CyCodec>cyc).object_type
    elif tlf_type_is(type, _TypePlan):
        t = _type_of(type)
    else:
        t = _type_of(codec.type_plan(type))
    return _read(r, <CyType>t, 0)


cdef object _read(Reader r, CyType t, Py_ssize_t depth):
    cdef int k = t.kind
    cdef Py_ssize_t pos
    cdef uint32_t cid
    if k == K_OBJECT:
        return _read_boxed(r, t, depth)
    if k == K_BARE:
        return _read_ctor(r, _bare_ctor(t), depth + 1)
    if k == K_VECTOR:
        pos = r._pos
        cid = _ruint32(r)
        if cid != TLF_VECTOR:
            raise P.not_vector(cid, pos)
        out = _read_vector(r, t.elem, depth + 1)
        return out if t.factory is None else _host_vector(r, t, out)
    if k == K_BARE_VECTOR:
        out = _read_vector(r, t.elem, depth + 1)
        return out if t.factory is None else _host_vector(r, t, out)
    if k == K_UNDEFINED:
        raise P.undefined_read(t.text, r._pos)
    return _read_primitive(r, k)


cdef inline object _read_primitive(Reader r, int k):
    cdef Py_ssize_t size
    cdef const unsigned char* data
    if k == K_INT:
        return _rint32(r)
    if k == K_LONG:
        return _rint64(r)
    if k == K_STRING:
        data = _rbytes(r, &size)
        return tlf_decode_string(data, size)
    if k == K_BYTES:
        data = _rbytes(r, &size)
        return PyBytes_FromStringAndSize(<const char*>data, size)
    if k == K_BOOL:
        return _rbool(r) == 1
    if k == K_UINT:
        return _ruint32(r)
    if k == K_DOUBLE:
        return _rdouble(r)
    if k == K_INT128:
        return _from_bytes(PyBytes_FromStringAndSize(<const char*>_take(r, 16), 16),
                           "little", signed=True)
    if k == K_INT256:
        return _from_bytes(PyBytes_FromStringAndSize(<const char*>_take(r, 32), 32),
                           "little", signed=True)
    raise SystemError(f"tlfast: no reader for kind {k}")


cdef object _read_boxed(Reader r, CyType t, Py_ssize_t depth):
    cdef Py_ssize_t pos = r._pos
    cdef uint32_t cid = _ruint32(r)
    cdef CyCodec cc = <CyCodec>r._cyc
    c = None
    if cc.has_delegates:  # a host reads these ids itself, wherever they are (as _codec_py)
        c = _by_id(cc, cid)
        if c is not None and (<CyCtor>c).delegate is not None:
            return _read_delegated(r, (<CyCtor>c).delegate, pos)
    if cid == TLF_GZIP_PACKED:
        return _read_gzip(r, t, depth, pos)
    if t.any_object:
        if t.natives:
            if cid == TLF_BOOL_TRUE:
                return True
            if cid == TLF_BOOL_FALSE:
                return False
            if cid == TLF_VECTOR:
                return _read_vector(r, _OBJECT_TYPE, depth + 1)
        if c is None:
            c = _by_id(cc, cid)
        if c is None:
            raise P.unknown_constructor(cid, pos, t.boxed_name)
        if t.functions_only and not (<CyCtor>c).is_function:
            raise P.wrong_constructor((<CyCtor>c).plan, pos, "function")
    else:
        if c is None:
            c = _by_id(cc, cid)
        if not _accepts(t, cid):
            if c is None:
                raise P.unknown_constructor(cid, pos, t.boxed_name)
            raise P.wrong_constructor((<CyCtor>c).plan, pos, t.boxed_name)
    return _read_ctor(r, <CyCtor>c, depth + 1)


cdef object _host_vector(Reader r, CyType t, object out):
    """The host's list type made from ``out`` (a vector_factory: pyrogram's List), kept
    off the collector's lists as ``out`` was: left on them, a large response's thousands
    of vectors outlived the collections its decode set off and were promoted to the oldest
    generation, whose full collections then ran every few decodes."""
    v = t.factory(out)
    _hide(r, v)
    return v


cdef object _read_gzip(Reader r, CyType t, Py_ssize_t depth, Py_ssize_t pos):
    cdef Py_ssize_t size
    cdef const unsigned char* data = _rbytes(r, &size)
    inflated = inflate(PyBytes_FromStringAndSize(<const char*>data, size), pos, r.max_inflate)
    cdef Reader inner = Reader(inflated, r._codec, max_depth=r.max_depth,
                               max_inflate=r.max_inflate)
    inner._codec = r._codec
    inner._cyc = r._cyc
    inner._depth_limit = r._depth_limit
    inner._made = r._made  # what it makes joins the collector with the rest
    value = _read_boxed(inner, t, depth)
    if inner._end != inner._pos:
        raise TLDecodeError(f"{inner._end - inner._pos} trailing bytes inside gzip_packed", pos)
    return value


cdef inline object _read_ctor(Reader r, CyCtor c, Py_ssize_t depth):
    if depth < GUARD_DEPTH:
        return _read_ctor_body(r, c, depth)
    tlf_enter_recursion()
    try:
        return _read_ctor_body(r, c, depth)
    finally:
        tlf_leave_recursion()


cdef object _read_ctor_body(Reader r, CyCtor c, Py_ssize_t depth):
    cdef PyObject* p
    cdef Py_ssize_t i = -1
    cdef Py_ssize_t n = c.n
    cdef tlf_field* f
    cdef int k
    cdef Py_ssize_t size
    cdef const unsigned char* data
    cdef uint32_t words[MAX_WORDS]
    if c.build != K_SLOTS:
        return _read_host_ctor(r, c, depth)
    if depth > r._depth_limit:
        raise P.too_deep(r._pos, r.max_depth)
    p = tlf_alloc_made(c.cls, r._made) if r._made != NULL else NULL
    if p != NULL:
        obj = <object>p
        tlf_decref(p)  # obj holds the one reference it came with
    else:
        obj = tlf_alloc(c.cls)
        _hide(r, obj)
    if c.nwords:
        memset(words, 0, c.nwords * sizeof(uint32_t))
    cdef bint done = False
    try:
        while i + 1 < n:
            i += 1
            f = &c.fields[i]
            if f.word >= 0 and not (words[f.word] & f.mask):
                if f.offset >= 0:
                    if f.absent == ABSENT_NONE:
                        tlf_set(obj, f.offset, None)
                    elif f.absent == ABSENT_FALSE:
                        tlf_set(obj, f.offset, False)
                    else:  # a host's empty list: off the collector's lists too
                        empty = PyList_New(0)
                        _hide(r, empty)
                        tlf_set(obj, f.offset, empty)
                continue
            k = f.kind
            if k == K_INT:
                tlf_set(obj, f.offset, _rint32(r))
            elif k == K_LONG:
                tlf_set(obj, f.offset, _rint64(r))
            elif k == K_FLAGS:
                words[f.word_out] = _ruint32(r)
                if f.offset >= 0:  # a stored word ("ton" dialect): kept as read
                    tlf_set(obj, f.offset, words[f.word_out])
            elif k == K_STRING:
                data = _rbytes(r, &size)
                tlf_set(obj, f.offset, tlf_decode_string(data, size))
            elif k == K_OBJECT:
                tlf_set(obj, f.offset, _read_boxed(r, <CyType>f.sub, depth))
            elif k == K_TRUE:
                tlf_set(obj, f.offset, True)
            elif k == K_BOOL:
                tlf_set(obj, f.offset, _rbool(r) == 1)
            elif k == K_BYTES:
                data = _rbytes(r, &size)
                tlf_set(obj, f.offset, PyBytes_FromStringAndSize(<const char*>data, size))
            elif k == K_VECTOR or k == K_BARE_VECTOR or k == K_BARE:
                tlf_set(obj, f.offset, _read(r, <CyType>f.sub, depth))
            elif k == K_DOUBLE:
                tlf_set(obj, f.offset, _rdouble(r))
            elif k == K_UINT:
                tlf_set(obj, f.offset, _ruint32(r))
            elif k == K_BODY_LEN:
                _read_body(r, c, obj, &i, depth)
            elif k == K_UNDEFINED:
                _read(r, <CyType>f.sub, depth)  # raises
            else:
                tlf_set(obj, f.offset, _read_primitive(r, k))
        done = True
    finally:
        if not done:
            _add_ctor_path(c, i, depth)
    return obj


cdef object _read_host_ctor(Reader r, CyCtor c, Py_ssize_t depth):
    """A host library's class (tlfast.adapters): the fields go into a copy of the template,
    which becomes the instance's __dict__ (DICT) or the class's keywords (CALL); or the
    host reads the constructor itself (DELEGATE)."""
    cdef Py_ssize_t i = -1
    cdef Py_ssize_t n = c.n
    cdef tlf_field* f
    cdef int k
    cdef uint32_t words[MAX_WORDS]
    if depth > r._depth_limit:
        raise P.too_deep(r._pos, r.max_depth)
    d = PyDict_Copy(c.template)  # every attribute, at its value when absent
    if c.nwords:
        memset(words, 0, c.nwords * sizeof(uint32_t))
    cdef bint done = False
    try:
        while i + 1 < n:
            i += 1
            f = &c.fields[i]
            if f.word >= 0 and not (words[f.word] & f.mask):
                continue
            k = f.kind
            if k == K_FLAGS:
                words[f.word_out] = _ruint32(r)
                continue
            if k == K_TRUE:
                v = True
            elif f.conv_kind == K_EPOCH_DATETIME and k == K_INT:
                v = _epoch_datetime(_rint32(r))
            elif f.sub != NULL:
                v = _read(r, <CyType>f.sub, depth)
            else:
                v = _read_primitive(r, k)
                if f.conv != NULL:
                    v = (<object>f.conv).decode(v)
            PyDict_SetItem(d, <object>f.name, v)
        done = True
    finally:
        if not done:
            _add_ctor_path(c, i, depth)
    if c.build == K_CALL:
        obj = c.cls(**d)
    else:
        if c.finish is not None:
            c.finish(d)
        obj = tlf_new_host(c.cls, ())
        if c.dict_whole:
            tlf_set_dict(obj, _S_DICT, d)
            _hide(r, d)  # as for tlfast's own objects: off the collector's lists
        else:
            tlf_set_attrs(obj, d)
    _hide(r, obj)    # until the decode returns
    return obj


cdef object _read_delegated(Reader r, object delegate, Py_ssize_t pos):
    """A host reads this object with its own code (adapters: Codec.delegates)."""
    value, after = run_delegate(delegate, r._buf, pos, r._end)
    r._pos = after
    return value


cdef object _epoch_datetime(long long secs):
    """What datetime.fromtimestamp(secs, timezone.utc) gives, without the calls."""
    cdef int y, m, d, hh, mm, ss
    tlf_civil(secs, &y, &m, &d, &hh, &mm, &ss)
    return datetime_new(y, m, d, hh, mm, ss, 0, get_utc())


cdef int _read_body(Reader r, CyCtor c, object obj, Py_ssize_t* at,
                    Py_ssize_t depth) except -1:
    """MTProto ``message``: the ``bytes`` field at ``at[0]`` bounds and checks the body
    that follows it; ``at[0]`` moves to the body before it is read (errors name it)."""
    cdef Py_ssize_t pos = r._pos
    cdef Py_ssize_t length = _rint32(r)
    cdef Py_ssize_t left = r._end - r._pos
    cdef Py_ssize_t start, end
    cdef Py_ssize_t i = at[0] + 1
    if length < 0 or length > left:
        raise P.bad_body_length(length, pos, left)
    at[0] = i
    start = r._pos
    end = r._end
    r._end = start + length
    try:
        value = _read(r, <CyType>c.fields[i].sub, depth)
    finally:
        r._end = end
    if r._pos - start != length:
        raise P.body_length_mismatch(length, r._pos - start, pos)
    tlf_set(obj, c.fields[i].offset, value)
    return 0


# An error gets its path (field names, vector indices) on its way out of each object. The
# hot loops do that in a finally clause run only when something was raised, not in an
# except clause: Cython's try/except saves the thread's exception state on entry, which on
# 3.12+ is a thread-local lookup per object (3% of an encode). A finally clause that an
# exception runs has it as the handled exception (sys.exc_info()), as in Python.

cdef object _raised_tl_error():
    """In a finally clause run by an exception: that exception if it is a TLError."""
    exc = sys.exc_info()[1]
    return exc if isinstance(exc, TLError) else None


cdef int _add_ctor_path(CyCtor c, Py_ssize_t i, Py_ssize_t depth) except -1:
    """The path the raised error gets on its way out of a constructor, as in the pure
    engine (call from a finally clause run by the error)."""
    exc = _raised_tl_error()
    if exc is None:
        return 0
    if i >= 0:
        exc._add_path("." + c.plan.fields[i].name)
    if depth == 1:
        exc._add_path(c.plan.name)
    return 0


cdef int _add_index_path(Py_ssize_t i) except -1:
    """The path the raised error gets on its way out of a vector element (as above)."""
    exc = _raised_tl_error()
    if exc is not None:
        exc._add_path(f"[{i}]")
    return 0


cdef inline object _read_vector(Reader r, CyType elem, Py_ssize_t depth):
    if depth < GUARD_DEPTH:
        return _read_vector_body(r, elem, depth)
    tlf_enter_recursion()
    try:
        return _read_vector_body(r, elem, depth)
    finally:
        tlf_leave_recursion()


cdef object _read_vector_body(Reader r, CyType elem, Py_ssize_t depth):
    cdef Py_ssize_t pos = r._pos
    cdef Py_ssize_t count, left, i = 0
    cdef const unsigned char* p
    cdef int k = elem.kind
    if depth > r._depth_limit:
        raise P.too_deep(pos, r.max_depth)
    count = _rint32(r)
    left = r._end - r._pos
    if count < 0 or count * elem.vsize > left:
        raise P.bad_count(count, pos, elem.vsize, left)
    p = r._ptr + r._pos
    # Fixed-size elements are read without a check per element, and no Python code runs
    # while the list still has empty (NULL) items; so the bytes are checked once here with
    # each path's own element size, never trusted to the shared min_size (vsize) above.
    if k == K_LONG or k == K_DOUBLE:
        if count * 8 > left:
            raise P.bad_count(count, pos, 8, left)
    elif k == K_INT or k == K_UINT:
        if count * 4 > left:
            raise P.bad_count(count, pos, 4, left)
    if k == K_LONG:
        out = PyList_New(count)
        _hide(r, out)
        for i in range(count):
            _list_set(out, i, <int64_t>tlf_ld64(p + 8 * i))
        r._pos += 8 * count
        return out
    if k == K_INT:
        out = PyList_New(count)
        _hide(r, out)
        for i in range(count):
            _list_set(out, i, <int32_t>tlf_ld32(p + 4 * i))
        r._pos += 4 * count
        return out
    if k == K_UINT:
        out = PyList_New(count)
        _hide(r, out)
        for i in range(count):
            _list_set(out, i, tlf_ld32(p + 4 * i))
        r._pos += 4 * count
        return out
    if k == K_DOUBLE:
        out = PyList_New(count)
        _hide(r, out)
        for i in range(count):
            _list_set(out, i, tlf_u64_as_double(tlf_ld64(p + 8 * i)))
        r._pos += 8 * count
        return out
    # Anything else may run Python code (a constructor met for the first time, gzip_packed,
    # int128): the list only ever holds finished elements.
    out = []
    _hide(r, out)
    if k == K_INT128 or k == K_INT256:
        for i in range(count):
            out.append(_read_primitive(r, k))  # cannot fail: the count check covers them
        return out
    cdef bint done = False
    try:
        if k == K_OBJECT:
            for i in range(count):
                out.append(_read_boxed(r, elem, depth))
        else:
            for i in range(count):
                out.append(_read(r, elem, depth))
        done = True
    finally:
        if not done:
            _add_index_path(i)
    return out


cdef inline void _list_set(object lst, Py_ssize_t i, object v) noexcept:
    Py_INCREF(v)
    PyList_SET_ITEM(lst, i, v)


# ---------------------------------------------------------------- encoding

cdef object _write_object(Writer w, object value, object type):
    codec = w._codec
    if codec is None:
        codec = w._codec = codec_of(w._schema)
    cyc = w._cyc
    if cyc is None or (<CyCodec>cyc).codec is not codec:
        cyc = w._cyc = _codec_cy_of(codec)
    if type is None:
        t = (<CyCodec>cyc).object_type
    elif tlf_type_is(type, _TypePlan):
        t = _type_of(type)
    else:
        t = _type_of(codec.type_plan(type))
    _write(w, <CyType>t, value, 0)


cdef int _write(Writer w, CyType t, object v, Py_ssize_t depth) except -1:
    cdef int k = t.kind
    if k == K_OBJECT:
        return _write_boxed(w, t, v, depth)
    if k == K_BARE:
        c = _ctor_of_value(v)
        if c is None and (<CyCodec>w._cyc).plan_of_class is not None:
            c = _host_ctor(<CyCodec>w._cyc, v)
        if c is None:
            raise P.not_an_object(t.text, v)
        if (<CyCtor>c).id != t.bare_id:
            raise P.wrong_object(t.text, (<CyCtor>c).plan)
        return _write_ctor(w, <CyCtor>c, v, depth + 1)
    if k == K_VECTOR:
        _wuint32(w, TLF_VECTOR)
        return _write_vector(w, t, v, depth + 1)
    if k == K_BARE_VECTOR:
        return _write_vector(w, t, v, depth + 1)
    if k == K_UNDEFINED:
        raise P.undefined_write(t.text)
    return _write_primitive(w, k, v)


cdef inline int _write_primitive(Writer w, int k, object v) except -1:
    cdef Py_ssize_t size
    cdef const char* data
    if k == K_INT:
        return _wint32(w, <int32_t>_as_int(v, -2147483648LL, 2147483647LL, 0))
    if k == K_LONG:
        return _wint64(w, <int64_t>_as_int(v, LLONG_MIN, LLONG_MAX, 2))
    if k == K_STRING:
        if PyUnicode_CheckExact(v):
            data = PyUnicode_AsUTF8AndSize(v, &size)
            if data != NULL:
                return _wbytes(w, <const unsigned char*>data, size)
            PyErr_Clear()
        return _write_string_slow(w, v)
    if k == K_BYTES:
        if PyBytes_Check(v):
            return _wbytes(w, <const unsigned char*>PyBytes_AS_STRING(v), PyBytes_GET_SIZE(v))
        if PyByteArray_Check(v) or PyMemoryView_Check(v):
            return _wbuffer(w, v)
        raise P.wrong_type("bytes", "bytes, bytearray or memoryview", v)
    if k == K_BOOL:
        if v is True:
            return _wuint32(w, TLF_BOOL_TRUE)
        if v is False:
            return _wuint32(w, TLF_BOOL_FALSE)
        raise P.wrong_type("Bool", "bool", v)
    if k == K_UINT or k == K_FLAGS:
        return _wuint32(w, <uint32_t>_as_int(v, 0, 4294967295LL, 1))
    if k == K_DOUBLE:
        if PyFloat_CheckExact(v):
            return _wdouble(w, PyFloat_AS_DOUBLE(v))
        return _wdouble(w, _as_double_slow(v))
    if k == K_INT128:
        data_ = P.check_int(P.INT128_RANGE, v).to_bytes(16, "little", signed=True)
        return _wraw(w, <const unsigned char*>PyBytes_AS_STRING(data_), 16)
    if k == K_INT256:
        data_ = P.check_int(P.INT256_RANGE, v).to_bytes(32, "little", signed=True)
        return _wraw(w, <const unsigned char*>PyBytes_AS_STRING(data_), 32)
    raise SystemError(f"tlfast: no writer for kind {k}")


cdef int _write_string_slow(Writer w, object v) except -1:
    # What Writer.write_string does for anything but a well-formed exact str.
    if PyUnicode_CheckExact(v):
        return _wstring_slow(w, v)
    if PyBytes_Check(v):
        return _wbytes(w, <const unsigned char*>PyBytes_AS_STRING(v), PyBytes_GET_SIZE(v))
    if PyByteArray_Check(v) or PyMemoryView_Check(v):
        return _wbuffer(w, v)
    return _wstring_slow(w, v)


cdef int _write_boxed(Writer w, CyType t, object v, Py_ssize_t depth) except -1:
    cdef CyCtor cc
    cdef PyObject* last = <PyObject*>t.enc_ctor  # borrowed: no reference counting per object
    if last != TLF_PY_NONE and tlf_cls_is(v, <PyObject*>(<CyCtor>last).cls):
        # Same class as last time here: it passed the checks below (vectors repeat one).
        _wuint32(w, (<CyCtor>last).id)
        return _write_ctor(w, <CyCtor>last, v, depth + 1)
    c = _ctor_of_value(v)
    if c is None and (<CyCodec>w._cyc).plan_of_class is not None:
        c = _host_ctor(<CyCodec>w._cyc, v)
    if c is None and (<CyCodec>w._cyc).encode_hook is not None:
        data = (<CyCodec>w._cyc).encode_hook(v)  # a host's object tlfast has no plan for
        if data is not None:
            if not PyBytes_Check(data):
                raise TypeError(f"encode_hook returned {type(data).__name__}, not bytes")
            return _wraw(w, <const unsigned char*>PyBytes_AS_STRING(data),
                         PyBytes_GET_SIZE(data))
    if c is None:
        if t.natives:
            if v is True:
                return _wuint32(w, TLF_BOOL_TRUE)
            if v is False:
                return _wuint32(w, TLF_BOOL_FALSE)
            if isinstance(v, list):
                _wuint32(w, TLF_VECTOR)
                return _write_vector(w, _OBJECT_VECTOR, v, depth + 1)
        raise P.not_an_object(t.boxed_name, v)
    cc = <CyCtor>c
    if cc.id != TLF_GZIP_PACKED:
        if not t.any_object and not _accepts(t, cc.id):
            raise P.wrong_object(t.boxed_name, cc.plan, t.nids == 0)
        if t.functions_only and not cc.is_function:
            raise P.wrong_object(t.boxed_name, cc.plan)
    if tlf_cls_is(v, <PyObject*>cc.cls):
        t.enc_ctor = cc  # one field: a thread switch cannot pair a class with another ctor
    _wuint32(w, cc.id)
    return _write_ctor(w, cc, v, depth + 1)


cdef object _host_ctor(CyCodec cyc, object v):
    """The CyCtor of a host class (codec.plan_of_class), or None; cached per class."""
    cls = type(v)
    c = cyc.by_class.get(cls, False)
    if c is False:
        plan = cyc.plan_of_class(cls)
        c = None if plan is None else _ctor_of(plan)
        cyc.by_class[cls] = c
    return c


cdef int _write_ctor(Writer w, CyCtor c, object obj, Py_ssize_t depth) except -1:
    cdef PyObject* stack[2 * STACK_VALUES]
    cdef PyObject** vals = stack         # value of each field (NULL: flags word, body length)
    cdef PyObject** held = stack + STACK_VALUES  # the values referenced while writing
    cdef Py_ssize_t nheld = 0
    cdef uint32_t words[MAX_WORDS]
    cdef Py_ssize_t n = c.n
    cdef Py_ssize_t i = -1
    cdef Py_ssize_t j
    cdef uint64_t emit
    cdef bint done = False
    if depth > _ENCODE_MAX_DEPTH:
        raise P.too_deep_encode(_ENCODE_MAX_DEPTH)
    if c.direct and tlf_cls_is(obj, <PyObject*>c.cls) and _write_direct(w, c, obj, depth):
        return 0
    if n > STACK_VALUES:
        vals = <PyObject**>PyMem_Malloc(2 * n * sizeof(PyObject*))
        if vals == NULL:
            raise MemoryError()
        held = vals + n
    try:
        # The pure engine reads every field first, then derives the flags words.
        if c.plain and tlf_cls_is(obj, <PyObject*>c.cls):
            emit = _gather_plain(c, obj, vals, held, &nheld, words)
            if emit == _GATHER_FAILED:
                _flags_slow(c, vals, words)  # raises the pure engine's error
            _write_emitted(w, c, vals, words, emit, depth, &i)
        else:
            if not _gather(c, obj, vals, held, &nheld, words):
                _flags_slow(c, vals, words)
            _write_fields(w, c, vals, words, depth, &i)
        done = True
    finally:
        if not done:
            _add_ctor_path(c, i, depth)
        for j in range(nheld):
            tlf_decref(held[j])
        if vals != stack:
            PyMem_Free(vals)
    return 0


cdef int _gather(CyCtor c, object obj, PyObject** vals, PyObject** held, Py_ssize_t* nheld,
                 uint32_t* words) except -1:
    """Every field's value into ``vals`` and the flags words into ``words``; 0 when the
    words need the Python path (a bad ``true`` value, a shared bit with a member missing),
    which raises the shared error. An unset slot is the shared missing-field error.

    Values other than None, True and False are referenced (in ``held``) until the
    constructor is written: user code run meanwhile (an int subclass's __index__, say)
    could replace a slot. Those three cannot go away, and are most of the values."""
    cdef Py_ssize_t i
    cdef PyObject* v
    cdef tlf_field* f
    if c.build != K_SLOTS or not tlf_cls_is(obj, <PyObject*>c.cls):
        if not c.from_dict or not tlf_cls_is(obj, <PyObject*>c.cls) or not _gather_dict(c, obj, vals, held, nheld):
            _gather_slow(c, obj, vals, held, nheld)
        for i in range(c.n):
            if c.fields[i].falsy and vals[i] != TLF_PY_NONE and _is_empty(vals[i]):
                vals[i] = _falsy(c, i)  # (the value stays held: released with the others)
        return _flags(c, vals, words) and not c.keeps_words
    if c.nwords:
        memset(words, 0, c.nwords * sizeof(uint32_t))
    cdef bint ok = True
    for i in range(c.n):
        f = &c.fields[i]
        if f.offset < 0:
            vals[i] = NULL
            continue
        v = tlf_get(obj, f.offset)
        if v == NULL:
            raise P.missing_attr(c.plan.fields[i].name)
        if f.falsy and v != TLF_PY_NONE and _is_empty(v):
            v = _falsy(c, i)
        vals[i] = v
        if v == TLF_PY_NONE or v == TLF_PY_FALSE or v == TLF_PY_TRUE:
            if f.word >= 0:
                if v == TLF_PY_TRUE:
                    words[f.word] |= f.mask
                elif v == TLF_PY_FALSE and f.kind != K_TRUE:
                    words[f.word] |= f.mask
            continue
        tlf_incref(v)
        held[nheld[0]] = v
        nheld[0] += 1
        if f.word >= 0:
            if f.kind == K_TRUE:
                ok = False
            words[f.word] |= f.mask
    if not ok or c.keeps_words:
        return 0
    return _groups_complete(c, vals, words)


# _gather_plain's answer when the flags words need the Python path: no constructor emits
# every one of 64 fields with a flags word among them, so this mask never means "emit".
cdef uint64_t _GATHER_FAILED = 0xFFFFFFFFFFFFFFFFULL


cdef uint64_t _gather_plain(CyCtor c, object obj, PyObject** vals, PyObject** held,
                            Py_ssize_t* nheld, uint32_t* words) except? 0xFFFFFFFFFFFFFFFFULL:
    """_gather for the usual case (one of the schema's own classes, no host rules): also
    returns the mask of fields that write bytes, _GATHER_FAILED as _gather's 0.

    Which optional fields a message carries changes from one object to the next, and a
    branch on it mispredicts on data a client has not seen before; so presence goes into
    the flags words and the mask arithmetically, and the values to hold are listed without
    a branch and referenced afterwards (nothing here runs Python code meanwhile)."""
    cdef Py_ssize_t i, j, k = 0
    cdef PyObject* v
    cdef tlf_field* f
    cdef uint64_t emit = 0
    cdef uint32_t present, bit
    cdef uint32_t word0 = 0, word1 = 0  # in registers: or-ing into words[] each time
    cdef bint ok = True                 # would chain every field through one memory slot
    cdef bint single
    if c.nwords:
        memset(words, 0, c.nwords * sizeof(uint32_t))
    for i in range(c.n):
        f = &c.fields[i]
        if f.offset < 0:  # a flags word (or a body length): always written
            vals[i] = NULL
            emit |= (<uint64_t>1) << i
            continue
        v = tlf_get(obj, f.offset)
        if v == NULL:
            nheld[0] = 0
            raise P.missing_attr(c.plan.fields[i].name)
        vals[i] = v
        single = (v == TLF_PY_NONE) | (v == TLF_PY_TRUE) | (v == TLF_PY_FALSE)
        held[k] = v
        k += not single
        if f.word >= 0:
            if f.kind == K_TRUE:
                bit = f.mask & (0u - <uint32_t>(v == TLF_PY_TRUE))
                ok &= single
            else:
                present = v != TLF_PY_NONE
                bit = f.mask & (0u - present)
                emit |= (<uint64_t>present) << i
            if f.word == 0:
                word0 |= bit
            elif f.word == 1:
                word1 |= bit
            else:
                words[f.word] |= bit
        elif f.kind != K_TRUE:
            emit |= (<uint64_t>1) << i
    if c.nwords > 0:
        words[0] = word0
    if c.nwords > 1:
        words[1] = word1
    for j in range(k):
        tlf_incref(held[j])
    nheld[0] = k
    if not ok:
        return _GATHER_FAILED
    return emit if _groups_complete(c, vals, words) else _GATHER_FAILED


cdef int _gather_slow(CyCtor c, object obj, PyObject** vals, PyObject** held,
                      Py_ssize_t* nheld) except -1:
    # An instance of a subclass: attributes may be overridden, read them as Python does.
    cdef Py_ssize_t i
    cdef PyObject* p
    fields = c.plan.fields
    for i in range(c.n):
        vals[i] = NULL
    try:
        for i in range(c.n):
            if c.fields[i].stored:
                v = getattr(obj, c.attrs[i])
                p = <PyObject*>v
                tlf_incref(p)  # a property may return a new object: always held
                held[nheld[0]] = p
                nheld[0] += 1
                vals[i] = p
    except AttributeError:
        for f in fields:
            if f.slot >= 0 and not hasattr(obj, f.attr):
                raise P.missing_attr(f.name) from None
        raise
    return 0


cdef PyObject* _falsy(CyCtor c, Py_ssize_t i) except NULL:
    """A falsy value of field ``i`` under a host's rule: absent (None), or refused."""
    if c.fields[i].falsy != FALSY_ABSENT:
        raise P.falsy_refused(c.plan.fields[i].name)
    return TLF_PY_NONE


cdef inline int _is_empty(PyObject* v) except -1:
    """``not v``, without a call for lists (what fields with a ``falsy`` rule hold)."""
    if PyList_Check(<object>v):
        return PyList_GET_SIZE(<object>v) == 0
    return not PyObject_IsTrue(<object>v)


cdef bint _gather_dict(CyCtor c, object obj, PyObject** vals, PyObject** held,
                       Py_ssize_t* nheld) except -1:
    """A host object's fields straight from its __dict__ (what getattr finds there: no
    class attribute of theirs is a data descriptor, see _dict_holds); False when one is
    missing, for the getattr path and its error."""
    cdef Py_ssize_t i
    cdef PyObject* v
    cdef PyObject* d = tlf_instance_dict(obj)
    if d == NULL:
        return False
    try:
        for i in range(c.n):
            vals[i] = NULL
            if not c.fields[i].stored:
                continue
            v = PyDict_GetItem(d, c.fields[i].name)
            if v == NULL:
                return False
            tlf_incref(v)  # held: code run while writing could replace it in the dict
            held[nheld[0]] = v
            nheld[0] += 1
            vals[i] = v
    finally:
        tlf_decref(d)
    return True


def _dict_holds(cls, attrs):
    """Whether reading ``attrs`` from an instance's __dict__ is what getattr does: the
    class has the usual attribute lookup and no data descriptor of those names (cold)."""
    if cls.__getattribute__ is not object.__getattribute__ or hasattr(cls, "__getattr__"):
        return False
    for a in attrs:
        for k in cls.__mro__:
            if a in vars(k):
                kind = type(vars(k)[a])
                if hasattr(kind, "__set__") or hasattr(kind, "__delete__"):
                    return False
                break
    return True


cdef int _flags_slow(CyCtor c, PyObject** vals, uint32_t* words) except -1:
    """The shared Python computation, run when the C one meets an error, so that the error
    is the pure engine's."""
    values = [<object>vals[i] if vals[i] != NULL else None for i in range(c.n)]
    result = PL.flags_from_values(c.plan, values)
    for i in range(c.n):
        if c.fields[i].kind == K_FLAGS:
            words[c.fields[i].word_out] = _as_int(result[i], 0, 4294967295LL, 1)
    return 0


cdef bint _flags(CyCtor c, PyObject** vals, uint32_t* words) noexcept:
    """Flags words from which fields are present, then the shared-bit groups; False (to
    take the Python path) on a bad ``true`` value or a shared group missing a member."""
    cdef Py_ssize_t i
    cdef tlf_field* f
    cdef PyObject* v
    memset(words, 0, c.nwords * sizeof(uint32_t))
    for i in range(c.n):
        f = &c.fields[i]
        if f.word < 0:
            continue
        v = vals[i]
        if c.lenient:  # the host's rule: present unless None, or False but for a Bool
            if v != TLF_PY_NONE and (v != TLF_PY_FALSE or f.kind == K_BOOL):
                words[f.word] |= f.mask
            else:
                vals[i] = TLF_PY_NONE
        elif f.kind == K_TRUE:
            if v == TLF_PY_TRUE:
                words[f.word] |= f.mask
            elif v != TLF_PY_NONE and v != TLF_PY_FALSE:
                return False
        elif v != TLF_PY_NONE:
            words[f.word] |= f.mask
    return _groups_complete(c, vals, words)


cdef inline bint _groups_complete(CyCtor c, PyObject** vals, uint32_t* words) noexcept:
    """Whether every flags bit shared by several fields that is set has all of them
    present (False: the Python path raises the shared error)."""
    cdef Py_ssize_t i, j
    cdef tlf_group* g
    for i in range(c.ngroups):
        g = &c.groups[i]
        if words[g.word] & g.mask:
            for j in range(g.start, g.stop):
                if vals[c.group_members[j]] == TLF_PY_NONE:
                    return False
    return True


cdef int _write_fields(Writer w, CyCtor c, PyObject** vals, uint32_t* words,
                       Py_ssize_t depth, Py_ssize_t* at) except -1:
    cdef Py_ssize_t n = c.n
    cdef Py_ssize_t i
    cdef tlf_field* f
    cdef int k
    cdef Py_ssize_t start
    cdef PyObject* v
    cdef long long x
    cdef PyObject* sub  # f.sub and the values in locals: Cython passes locals borrowed
    i = -1
    while i + 1 < n:
        i += 1
        f = &c.fields[i]
        if f.word >= 0 and not (words[f.word] & f.mask):
            continue
        k = f.kind
        if k == K_FLAGS:
            _wuint32(w, words[f.word_out])
            continue
        if k == K_TRUE:
            continue
        at[0] = i
        v = vals[i]
        # The commonest cases inline; everything else (and every error) via _write_primitive.
        if f.conv != NULL or (c.lenient and (k == K_BOOL or k == K_BYTES)):
            _write_host_value(w, f, k, <object>v, depth)
        elif k == K_INT and tlf_int_value(v, &x) and -2147483648LL <= x <= 2147483647LL:
            _wint32(w, <int32_t>x)
        elif k == K_LONG and tlf_int_value(v, &x):
            _wint64(w, <int64_t>x)
        elif k == K_OBJECT:
            sub = f.sub
            _write_boxed(w, <CyType>sub, <object>v, depth)
        elif k == K_VECTOR or k == K_BARE_VECTOR or k == K_BARE:
            sub = f.sub
            _write(w, <CyType>sub, <object>v, depth)
        elif k == K_BODY_LEN:
            start = w._len
            memset(_reserve(w, 4), 0, 4)
            i += 1
            at[0] = i
            sub = c.fields[i].sub
            v = vals[i]
            _write(w, <CyType>sub, <object>v, depth)
            _patch32(w, start, <uint32_t>(w._len - start - 4))
        elif k == K_UNDEFINED:
            _write(w, <CyType>f.sub, <object>vals[i], depth)  # raises
        else:
            _write_primitive(w, k, <object>v)
    return 0


cdef int _write_direct(Writer w, CyCtor c, object obj, Py_ssize_t depth) except -1:
    """A constructor of plain values and no flags word (a peer, an entity, a photo size:
    most of the objects of a message) written straight from its slots; 0 when a value is
    not of its exact type (or a slot is unset), for the general path. Exact ints, strs,
    bytes, floats and bools run no Python code while written, so no slot can change
    meanwhile and nothing needs holding: the bytes are those of the general path, which
    reads every value first."""
    cdef Py_ssize_t i
    cdef tlf_field* f
    cdef int k
    cdef PyObject* v
    cdef long long x
    for i in range(c.n):
        f = &c.fields[i]
        v = tlf_get(obj, f.offset)
        if v == NULL:
            return 0
        k = f.kind
        if k == K_INT or k == K_LONG or k == K_UINT:
            if not PyLong_CheckExact(<object>v):
                return 0
        elif k == K_STRING:
            if not PyUnicode_CheckExact(<object>v) and not PyBytes_CheckExact(<object>v):
                return 0
        elif k == K_BYTES:
            if not PyBytes_CheckExact(<object>v):
                return 0
        elif k == K_DOUBLE:
            if not PyFloat_CheckExact(<object>v):
                return 0
        elif k == K_BOOL:
            if v != TLF_PY_TRUE and v != TLF_PY_FALSE:
                return 0
        else:
            return 0
    i = -1
    cdef bint done = False
    try:
        for i in range(c.n):
            f = &c.fields[i]
            v = tlf_get(obj, f.offset)
            k = f.kind
            if k == K_INT and tlf_int_value(v, &x) and -2147483648LL <= x <= 2147483647LL:
                _wint32(w, <int32_t>x)
            elif k == K_LONG and tlf_int_value(v, &x):
                _wint64(w, <int64_t>x)
            else:
                _write_primitive(w, k, <object>v)
        done = True
    finally:
        if not done:
            _add_ctor_path(c, i, depth)
    return 1


cdef int _write_emitted(Writer w, CyCtor c, PyObject** vals, uint32_t* words, uint64_t emit,
                        Py_ssize_t depth, Py_ssize_t* at) except -1:
    """_write_fields over the fields in ``emit`` (from _gather_plain), lowest first: no
    test of each absent field on the way."""
    cdef Py_ssize_t i
    cdef tlf_field* f
    cdef int k
    cdef Py_ssize_t start
    cdef PyObject* v
    cdef long long x
    cdef PyObject* sub  # f.sub and the values in locals: Cython passes locals borrowed
    while emit:
        i = tlf_ctz64(emit)
        emit &= emit - 1
        f = &c.fields[i]
        k = f.kind
        if k == K_FLAGS:
            _wuint32(w, words[f.word_out])
            continue
        at[0] = i
        v = vals[i]
        if k == K_INT and tlf_int_value(v, &x) and -2147483648LL <= x <= 2147483647LL:
            _wint32(w, <int32_t>x)
        elif k == K_LONG and tlf_int_value(v, &x):
            _wint64(w, <int64_t>x)
        elif f.conv != NULL:
            _write_host_value(w, f, k, <object>v, depth)
        elif k == K_OBJECT:
            sub = f.sub
            _write_boxed(w, <CyType>sub, <object>v, depth)
        elif k == K_VECTOR or k == K_BARE_VECTOR or k == K_BARE or k == K_UNDEFINED:
            sub = f.sub
            _write(w, <CyType>sub, <object>v, depth)
        elif k == K_BODY_LEN:
            start = w._len
            memset(_reserve(w, 4), 0, 4)
            i += 1
            emit &= ~((<uint64_t>1) << i)
            at[0] = i
            sub = c.fields[i].sub
            v = vals[i]
            _write(w, <CyType>sub, <object>v, depth)
            _patch32(w, start, <uint32_t>(w._len - start - 4))
        else:
            _write_primitive(w, k, <object>v)
    return 0


cdef int _write_host_value(Writer w, tlf_field* f, int k, object v,
                           Py_ssize_t depth) except -1:
    """A field of a host's class: its converter, and the host's lenient Bool and bytes."""
    cdef long long secs
    if f.conv_kind == K_EPOCH_DATETIME and k == K_INT and PyDateTime_CheckExact(v) and \
            datetime_tzinfo(v) is get_utc() and datetime_microsecond(v) == 0:
        # A whole second in UTC (what decoding makes): its epoch seconds, in C.
        secs = tlf_days(datetime_year(v), datetime_month(v), datetime_day(v)) * 86400 \
            + datetime_hour(v) * 3600 + datetime_minute(v) * 60 + datetime_second(v)
        if -2147483648LL <= secs <= 2147483647LL:
            return _wint32(w, <int32_t>secs)
    if f.conv != NULL:
        v = (<object>f.conv).encode(v)
    if k == K_BOOL:
        return _wuint32(w, TLF_BOOL_TRUE if v else TLF_BOOL_FALSE)
    if k == K_BYTES and isinstance(v, str):
        v = P.utf8_of(v)
    if f.sub != NULL:
        return _write(w, <CyType>f.sub, v, depth)
    return _write_primitive(w, k, v)


cdef int _write_vector(Writer w, CyType t, object v, Py_ssize_t depth) except -1:
    cdef Py_ssize_t n, i = 0
    cdef CyType elem = t.elem
    cdef int k = elem.kind
    if depth > _ENCODE_MAX_DEPTH:  # lists nest in Object positions, even into themselves
        raise P.too_deep_encode(_ENCODE_MAX_DEPTH)
    if type(v) is not list and not isinstance(v, (list, tuple)):
        raise P.not_a_list(t.text, v)
    n = len(v)
    if n > 0x7FFFFFFF:
        raise P.too_many(t.text, n)
    _wint32(w, <int32_t>n)
    cdef bint done = False
    try:
        if type(v) is list:
            # Indexing with the size read each time, as list iteration does (an element's
            # conversion may run code that changes the list).
            while i < PyList_GET_SIZE(v):
                x = <object>PyList_GET_ITEM(v, i)  # held while it is written
                _write_element(w, elem, k, x, depth)
                i += 1
        else:
            for x in v:
                _write_element(w, elem, k, x, depth)
                i += 1
        done = True
    finally:
        if not done:
            _add_index_path(i)
    return 0


cdef inline int _write_element(Writer w, CyType elem, int k, object x,
                               Py_ssize_t depth) except -1:
    if k == K_OBJECT:
        return _write_boxed(w, elem, x, depth)
    if k == K_VECTOR or k == K_BARE_VECTOR or k == K_BARE or k == K_UNDEFINED:
        return _write(w, elem, x, depth)
    return _write_primitive(w, k, x)


cdef CyType _OBJECT_TYPE = _type_of(PL.TypePlan(PL.OBJECT, boxed=PL.ANY_OBJECT, text="Object"))
cdef CyType _OBJECT_VECTOR = _type_of(
    PL.TypePlan(PL.VECTOR, elem=_OBJECT_TYPE.tp, text="Vector<Object>"))
