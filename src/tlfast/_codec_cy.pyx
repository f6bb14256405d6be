# cython: language_level=3, embedsignature=True, embedsignature.format=clinic, binding=False, auto_pickle=False
"""Cython engine: Reader and Writer for TL primitives, and objects via plans.

The pure twin is ``tlfast/_codec_py.py``, which is the specification: both export the same
``__all__`` with the same signatures and raise the same errors, built by
``tlfast._primitives`` on the (cold) error path.

The hot helpers are module-level ``cdef inline`` functions taking a typed ``Reader`` or
``Writer`` rather than cdef methods: that keeps them inlinable (a cdef method of a non-final
class is a vtable call) while the classes stay subclassable from Python, as the pure ones
are. The object engine (``_objects_cy.pxi``, included at the end) calls them directly.

``binding=False`` makes the public methods plain C method descriptors (METH_NOARGS /
FASTCALL): about 8 ns a call less than cyfunctions on the reference machine, which is a
third of a read_long. ``embedsignature.format=clinic`` still gives them a
``__text_signature__``, so ``inspect.signature`` works (``self`` is positional-only there,
the one difference from the pure twin the parity test allows).

May use: errors, _primitives, _model, _plans, _late.
"""

from cpython.buffer cimport PyBUF_SIMPLE, PyBuffer_Release, PyObject_GetBuffer
from cpython.bytes cimport (
    PyBytes_AS_STRING,
    PyBytes_Check,
    PyBytes_CheckExact,
    PyBytes_FromStringAndSize,
    PyBytes_GET_SIZE,
)
from cpython.bytearray cimport PyByteArray_AS_STRING, PyByteArray_Check, PyByteArray_GET_SIZE
from cpython.exc cimport PyErr_Clear
from cpython.mem cimport PyMem_Free
from cpython.ref cimport Py_INCREF, Py_XDECREF
from cpython.object cimport PyObject
from cpython.pyport cimport PY_SSIZE_T_MAX
from libc.limits cimport LLONG_MAX, LLONG_MIN
from libc.stdint cimport int32_t, int64_t, uint32_t, uint64_t
from libc.string cimport memcpy, memset

from operator import index as _index

from tlfast import _primitives as P
from tlfast._plans import DEFAULT_MAX_DEPTH, DEFAULT_MAX_INFLATE, check_limits

cdef extern from "Python.h":
    # Documented (C API, "Bytes Objects"): resizes a new bytes object only its maker holds.
    int _PyBytes_Resize(PyObject**, Py_ssize_t) except -1
    Py_ssize_t tlf_refcnt "Py_REFCNT" (PyObject*)
    bint PyLong_CheckExact(object)
    bint PyFloat_CheckExact(object)
    bint PyUnicode_CheckExact(object)
    bint PyMemoryView_Check(object)
    double PyFloat_AS_DOUBLE(object)
    # Only ever called on exact ints, for which they cannot fail.
    long long PyLong_AsLongLongAndOverflow(object, int*)
    long long PyLong_AsLongLong(object)
    # NULL with an exception set on failure; we clear it and rebuild the error the pure way.
    const char* PyUnicode_AsUTF8AndSize(object, Py_ssize_t*)
    object PyUnicode_DecodeUTF8(const char*, Py_ssize_t, const char*)

cdef extern from *:
    """
    #include <string.h>
    #include <stdint.h>

    /* Little-endian hosts load with memcpy (one mov); anything else, or a host we cannot
       identify, assembles bytes, which is correct everywhere. */
    #if defined(__BYTE_ORDER__) && defined(__ORDER_LITTLE_ENDIAN__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    #  define TLF_LITTLE_ENDIAN 1
    #elif !defined(__BYTE_ORDER__) && (defined(_M_X64) || defined(_M_IX86) || defined(_M_ARM64) || defined(__x86_64__) || defined(__i386__))
    #  define TLF_LITTLE_ENDIAN 1
    #else
    #  define TLF_LITTLE_ENDIAN 0
    #endif

    #if defined(__GNUC__) || defined(__clang__)
    #  define TLF_UNLIKELY(x) __builtin_expect(!!(x), 0)
    #else
    #  define TLF_UNLIKELY(x) (x)
    #endif

    /* Index of the lowest set bit of x (x != 0). */
    static inline int tlf_ctz64(uint64_t x) {
    #if defined(__GNUC__) || defined(__clang__)
        return __builtin_ctzll(x);
    #else
        int r = 0;
        while (!(x & 1u)) { x >>= 1; r++; }
        return r;
    #endif
    }

    #define TLF_BOOL_TRUE 0x997275B5u
    #define TLF_BOOL_FALSE 0xBC799737u
    #define TLF_MAX_BYTES_LEN 16777215

    static inline uint32_t tlf_ld32(const unsigned char *p) {
    #if TLF_LITTLE_ENDIAN
        uint32_t v; memcpy(&v, p, 4); return v;
    #else
        return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
    #endif
    }

    static inline uint64_t tlf_ld64(const unsigned char *p) {
    #if TLF_LITTLE_ENDIAN
        uint64_t v; memcpy(&v, p, 8); return v;
    #else
        return (uint64_t)tlf_ld32(p) | ((uint64_t)tlf_ld32(p + 4) << 32);
    #endif
    }

    static inline void tlf_st32(unsigned char *p, uint32_t v) {
    #if TLF_LITTLE_ENDIAN
        memcpy(p, &v, 4);
    #else
        p[0] = (unsigned char)v; p[1] = (unsigned char)(v >> 8);
        p[2] = (unsigned char)(v >> 16); p[3] = (unsigned char)(v >> 24);
    #endif
    }

    static inline void tlf_st64(unsigned char *p, uint64_t v) {
    #if TLF_LITTLE_ENDIAN
        memcpy(p, &v, 8);
    #else
        tlf_st32(p, (uint32_t)v); tlf_st32(p + 4, (uint32_t)(v >> 32));
    #endif
    }

    /* The second pass, 16 bytes at a time, for x86-64 (SSE2 is part of the base ISA): real
       chat text switches between 1-byte (ASCII), 2-byte (Cyrillic, Latin-1, ...) and 4-byte
       (emoji) sequences every few characters, and a loop that branches on each sequence's
       length mispredicts at every switch. On text the predictor cannot learn (any text a
       client receives, as opposed to one payload decoded over and over) that made this
       pass three times slower. A block works out the leading run of whole 1- and 2-byte
       sequences from byte masks, decodes a value at every byte position with vector
       arithmetic, and keeps the values of the bytes that start a character, with no branch
       on the data; 3- and 4-byte sequences (and anything invalid) stop the run and go
       through the scalar step. Values at the other positions are written too and then
       overwritten: the output pointer only moves on a kept byte, and it never passes the
       string's terminator slot, which tlf_utf8_strict restores at the end. */
    /* TLFAST_PORTABLE (CFLAGS=-DTLFAST_PORTABLE) compiles only the paths every platform and
       CPython has, here and for the collector's lists below: .ci/run builds it once to
       test them, on a machine that would otherwise never run them. */
    #if !defined(TLFAST_PORTABLE) && (defined(__SSE2__) || defined(_M_X64) || (defined(_M_IX86_FP) && _M_IX86_FP >= 2))
    #  include <emmintrin.h>
    #  define TLF_UTF8_BLOCKS 1


    /* The 16 bytes at s: returns how many of them the leading run of whole 1- and
       2-byte sequences takes (0-16), or -1 if the run is not valid UTF-8. *keep gets the
       mask of the run's bytes that start a character, *stopped whether a byte the run
       cannot take (a 3- or 4-byte lead, C0, C1, F5-FF) ends it, *lo and *hi the value
       decoded at each byte position (8 x 16 bits each). */
    static inline int tlf_utf8_block(const unsigned char *s, __m128i *lo, __m128i *hi,
                                     unsigned *keep, int *stopped) {
        const __m128i zero = _mm_setzero_si128();
        const __m128i v = _mm_loadu_si128((const __m128i *)s);
        unsigned high = (unsigned)_mm_movemask_epi8(v);
        unsigned cont = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(
            _mm_and_si128(v, _mm_set1_epi8((char)0xC0)), _mm_set1_epi8((char)0x80)));
        unsigned upto_df = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(
            _mm_min_epu8(v, _mm_set1_epi8((char)0xDF)), v));
        unsigned c0c1 = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(
            _mm_and_si128(v, _mm_set1_epi8((char)0xFE)), _mm_set1_epi8((char)0xC0)));
        unsigned stop = (~upto_df & 0xFFFFu) | c0c1;
        unsigned lim = stop ? (unsigned)tlf_ctz64(stop) : 16u;
        unsigned m = (1u << lim) - 1u;
        unsigned lead = high & ~cont & m;
        unsigned used;
        __m128i b0, b1, n0, n1, nx, t0, t1, w0, w1;
        /* each lead (C2-DF) followed by one continuation byte, and every continuation byte
           by a lead; a lead on the run's last byte waits for the next block */
        if ((cont & m) != ((lead << 1) & m)) return -1;
        *stopped = stop != 0;
        if (lim == 0) return 0;
        used = lim - ((lead >> (lim - 1)) & 1u);
        *keep = ~cont & ((1u << used) - 1u);
        b0 = _mm_unpacklo_epi8(v, zero);
        b1 = _mm_unpackhi_epi8(v, zero);
        nx = _mm_srli_si128(v, 1);
        n0 = _mm_unpacklo_epi8(nx, zero);
        n1 = _mm_unpackhi_epi8(nx, zero);
        t0 = _mm_cmpgt_epi16(b0, _mm_set1_epi16(0xBF));
        t1 = _mm_cmpgt_epi16(b1, _mm_set1_epi16(0xBF));
        w0 = _mm_or_si128(_mm_slli_epi16(_mm_and_si128(b0, _mm_set1_epi16(0x1F)), 6),
                          _mm_and_si128(n0, _mm_set1_epi16(0x3F)));
        w1 = _mm_or_si128(_mm_slli_epi16(_mm_and_si128(b1, _mm_set1_epi16(0x1F)), 6),
                          _mm_and_si128(n1, _mm_set1_epi16(0x3F)));
        *lo = _mm_or_si128(_mm_and_si128(t0, w0), _mm_andnot_si128(t0, b0));
        *hi = _mm_or_si128(_mm_and_si128(t1, w1), _mm_andnot_si128(t1, b1));
        return (int)used;
    }

    /* NAME(s, i, n, &p): decodes blocks from s[i] while 16 bytes remain and runs are whole;
       returns the new i (at the byte the scalar step takes next), or -1 if invalid. */
    #define TLF_UTF8_BLOCKS_FN(NAME, T, SPILL)                                         \
        static Py_ssize_t NAME(const unsigned char *s, Py_ssize_t i, Py_ssize_t n, T **pp) { \
            T *p = *pp;                                                                \
            T tmp[16];                                                                 \
            __m128i lo, hi;                                                            \
            unsigned keep = 0, j;                                                      \
            int used, stopped = 0;                                                     \
            while (n - i >= 16) {                                                      \
                used = tlf_utf8_block(s + i, &lo, &hi, &keep, &stopped);               \
                if (used <= 0) {                                                       \
                    if (used < 0) return -1;                                           \
                    break;  /* a byte the run cannot take comes first */               \
                }                                                                      \
                SPILL;                                                                 \
                for (j = 0; j < 16; j++) { *p = tmp[j]; p += (keep >> j) & 1u; }       \
                i += used;                                                             \
                if (stopped) break;                                                    \
            }                                                                          \
            *pp = p;                                                                   \
            return i;                                                                  \
        }
    TLF_UTF8_BLOCKS_FN(tlf_utf8_blocks_1, Py_UCS1,
        _mm_storeu_si128((__m128i *)tmp, _mm_packus_epi16(lo, hi)))
    TLF_UTF8_BLOCKS_FN(tlf_utf8_blocks_2, Py_UCS2,
        (_mm_storeu_si128((__m128i *)tmp, lo), _mm_storeu_si128((__m128i *)(tmp + 8), hi)))
    TLF_UTF8_BLOCKS_FN(tlf_utf8_blocks_4, Py_UCS4,
        (_mm_storeu_si128((__m128i *)tmp, _mm_unpacklo_epi16(lo, _mm_setzero_si128())),
         _mm_storeu_si128((__m128i *)(tmp + 4), _mm_unpackhi_epi16(lo, _mm_setzero_si128())),
         _mm_storeu_si128((__m128i *)(tmp + 8), _mm_unpacklo_epi16(hi, _mm_setzero_si128())),
         _mm_storeu_si128((__m128i *)(tmp + 12), _mm_unpackhi_epi16(hi, _mm_setzero_si128()))))
    #else
    #  define TLF_UTF8_BLOCKS 0
    #endif

    /* TL strings to str. Chat text mixes scripts (Latin, Cyrillic, emoji), and CPython's
       UTF-8 decoder writes such a text up to three times (as Latin-1, widened to UCS-2,
       widened to UCS-4) into fresh memory: on a large response, whose strings do not fit
       in the cache, that alone made decoding grow faster than the data. Here a first pass
       over the bytes (no branches, vectorized) finds the widest lead byte, which fixes the
       str's kind, and the number of characters; the second writes each character once,
       where it ends up, checking every sequence. Anything that is not strictly valid
       UTF-8 (overlong forms, surrogates, past U+10FFFF, a stray or missing continuation
       byte) makes tlf_utf8_strict give NULL with no exception set, and tlf_decode_string
       then asks CPython's decoder ("replace", as the pure engine does), which defines the
       result of every invalid input. */
    #if TLF_UTF8_BLOCKS
    #  define TLF_UTF8_RUN(BLOCKS)                                                     \
                if (n - i >= 16) {                                                     \
                    i = BLOCKS(s, i, n, &p);                                           \
                    if (i < 0) goto invalid;                                           \
                    if (i >= n) break;                                                 \
                }
    #else
    #  define TLF_UTF8_RUN(BLOCKS)
    #endif
    #define TLF_UTF8_DECODE(T, BLOCKS)                                                 \
        {                                                                              \
            T *p = (T *)PyUnicode_DATA(u);                                             \
            while (i < n) {                                                            \
                TLF_UTF8_RUN(BLOCKS)                                                   \
                c = s[i];                                                              \
                if (c < 0x80) { *p++ = (T)c; i++; continue; }                          \
                if (c < 0xC2) goto invalid;                                            \
                if (n - i < 2 || (s[i + 1] & 0xC0) != 0x80) goto invalid;              \
                c1 = s[i + 1];                                                         \
                if (c < 0xE0) {                                                        \
                    *p++ = (T)(((c & 0x1F) << 6) | (c1 & 0x3F));                       \
                    i += 2;                                                            \
                    continue;                                                          \
                }                                                                      \
                if (n - i < 3 || (s[i + 2] & 0xC0) != 0x80) goto invalid;              \
                if (c < 0xF0) {                                                        \
                    if ((c == 0xE0 && c1 < 0xA0) || (c == 0xED && c1 > 0x9F)) goto invalid; \
                    *p++ = (T)(((c & 0x0F) << 12) | ((c1 & 0x3F) << 6) | (s[i + 2] & 0x3F)); \
                    i += 3;                                                            \
                    continue;                                                          \
                }                                                                      \
                if (c > 0xF4 || n - i < 4 || (s[i + 3] & 0xC0) != 0x80) goto invalid;  \
                if ((c == 0xF0 && c1 < 0x90) || (c == 0xF4 && c1 > 0x8F)) goto invalid; \
                *p++ = (T)(((Py_UCS4)(c & 0x07) << 18) | ((Py_UCS4)(c1 & 0x3F) << 12)  \
                           | ((s[i + 2] & 0x3F) << 6) | (s[i + 3] & 0x3F));            \
                i += 4;                                                                \
            }                                                                          \
            if (p != (T *)PyUnicode_DATA(u) + (n - cont)) goto invalid;                \
            *p = 0;  /* the blocks may have written over the terminator */             \
        }

    static PyObject* tlf_utf8_strict(const unsigned char *s, Py_ssize_t n) {
        Py_ssize_t i, cont = 0;
        unsigned char maxb = 0, c, c1;
        PyObject *u;
        for (i = 0; i < n; i++) {
            c = s[i];
            maxb = c > maxb ? c : maxb;
            cont += (c & 0xC0) == 0x80;
        }
        if (maxb < 0x80) {
            u = PyUnicode_New(n, 0x7F);
            if (u != NULL && n) memcpy(PyUnicode_1BYTE_DATA(u), s, (size_t)n);
            return u;
        }
        /* One character per byte that is not a continuation byte: valid or not, the
           second pass writes at most that many. For valid text, leads C2-C3 reach U+00FF
           at most, C4-EF U+FFFF at most, F0-F4 go beyond: the widest fixes the kind. */
        u = PyUnicode_New(n - cont, maxb < 0xC4 ? 0xFF : maxb < 0xF0 ? 0xFFFF : 0x10FFFF);
        if (u == NULL) return NULL;
        i = 0;
        if (maxb < 0xC4) TLF_UTF8_DECODE(Py_UCS1, tlf_utf8_blocks_1)
        else if (maxb < 0xF0) TLF_UTF8_DECODE(Py_UCS2, tlf_utf8_blocks_2)
        else TLF_UTF8_DECODE(Py_UCS4, tlf_utf8_blocks_4)
        return u;
    invalid:
        Py_DECREF(u);
        return NULL;
    }

    static PyObject* tlf_decode_string(const unsigned char *s, Py_ssize_t n) {
        PyObject *u = tlf_utf8_strict(s, n);
        if (u != NULL || PyErr_Occurred()) return u;
        return PyUnicode_DecodeUTF8((const char *)s, n, "replace");
    }

    /* Bit-exact (NaN payloads, -0.0) reinterpretation; assumes IEEE 754 doubles whose
       byte order matches the integers', true of every platform CPython supports. */
    static inline double tlf_u64_as_double(uint64_t u) { double d; memcpy(&d, &u, 8); return d; }
    static inline uint64_t tlf_double_as_u64(double d) { uint64_t u; memcpy(&u, &d, 8); return u; }

    /* What a read_object makes, kept off the cyclic collector's lists until it returns
       (see "garbage collector" in _objects_cy.pxi).
       CPython links each object the collector tracks into a generation's list through a
       header of two words just before the object (PyGC_Head: next; prev, whose low two
       bits are flags). That layout and the generations' lists are internal, but the same
       from 3.9 to 3.13 in builds with the GIL (3.14.0 to 3.14.4 shipped another collector,
       and an extension built for 3.14 runs on every 3.14). There (TLF_GC_LIST) a decode
       links what it makes into a list of its own, whose head is on read_object's stack:
       an object on it counts as tracked, a collection skips it as it skips an older
       generation's, one freed meanwhile unlinks itself (PyObject_GC_UnTrack,
       PyObject_GC_Del) as from any list, and at the end the whole list joins the youngest
       generation in a few stores. Elsewhere the objects are untracked and held in an
       array, and tracked again one by one at the end, a pass that meets a large
       response's headers out of the cache (2-3% slower in A/B on 3.11). */
    /* TLF_KNOWN_CPYTHON: the CPython versions CI tests, 3.10 to 3.13 with the GIL. Only
       there does the engine lean on CPython's internals: this list, objects allocated
       untracked (_PyObject_GC_New), a deallocator of its own for the schema's classes,
       _PyType_Lookup, and the digits of small ints before 3.12. Any other version (3.14
       and later, free-threaded builds) and the portable build compile the documented
       C-API paths instead, decided here at compile time (BUILD["cpython_internals"]). */
    #if !defined(TLFAST_PORTABLE) && PY_VERSION_HEX >= 0x030A0000 && PY_VERSION_HEX < 0x030E0000 && !defined(Py_GIL_DISABLED)
    #  define TLF_KNOWN_CPYTHON 1
    #else
    #  define TLF_KNOWN_CPYTHON 0
    #endif
    #define TLF_GC_LIST TLF_KNOWN_CPYTHON
    /* 3.12 and 3.13 run the collection an allocation schedules when Python code next runs
       (see Reader.read_object), not in the allocation as 3.11 does. */
    #define TLF_GC_DEFERRED (TLF_KNOWN_CPYTHON && PY_VERSION_HEX >= 0x030C0000)
    typedef struct { uintptr_t next; uintptr_t prev; } tlf_gchead;
    #define TLF_GC_OF(o) (((tlf_gchead *)(o)) - 1)
    #define TLF_GC_FLAGS ((uintptr_t)3)
    typedef struct {
        tlf_gchead head;   /* TLF_GC_LIST: the list */
        PyObject **held;   /* otherwise: owned references, n of cap */
        Py_ssize_t n, cap;
    } tlf_made;

    static inline void tlf_made_init(tlf_made *m) {
        m->head.next = m->head.prev = (uintptr_t)&m->head;
        m->held = NULL;
        m->n = m->cap = 0;
    }
    /* Take ``o`` off the collector's lists onto ``m``: ``o`` is tracked, or new and never
       tracked. Cannot fail: without memory for the array, ``o`` just stays tracked. */
    static inline void tlf_made_add(tlf_made *m, PyObject *o) {
    #if TLF_GC_LIST
        tlf_gchead *g = TLF_GC_OF(o), *last = (tlf_gchead *)m->head.prev;
        if (PyObject_GC_IsTracked(o)) PyObject_GC_UnTrack(o);
        last->next = (uintptr_t)g;
        g->prev = (g->prev & TLF_GC_FLAGS) | (uintptr_t)last;
        g->next = (uintptr_t)&m->head;
        m->head.prev = (uintptr_t)g;
    #else
        if (m->n == m->cap) {
            Py_ssize_t cap = m->cap ? m->cap * 2 : 64;
            PyObject **held = (PyObject **)PyMem_Realloc(m->held, (size_t)cap * sizeof(PyObject *));
            if (held == NULL) {
                if (!PyObject_GC_IsTracked(o)) PyObject_GC_Track(o);
                return;
            }
            m->held = held;
            m->cap = cap;
        }
        if (PyObject_GC_IsTracked(o)) PyObject_GC_UnTrack(o);
        Py_INCREF(o);
        m->held[m->n++] = o;
    #endif
    }
    /* Everything on ``m`` to the youngest generation. */
    static void tlf_made_release(tlf_made *m) {
    #if TLF_GC_LIST
        /* The first through the public PyObject_GC_Track, which leaves it last, its next
           the generation's head; the rest spliced in between. */
        tlf_gchead *h = &m->head, *first = (tlf_gchead *)h->next, *rest, *last, *young;
        if (first == h) return;
        rest = (tlf_gchead *)first->next;
        last = (tlf_gchead *)h->prev;
        h->next = h->prev = (uintptr_t)h;
        first->next = 0;   /* untracked, as CPython leaves it (the finalized flag kept) */
        first->prev &= 1;
        PyObject_GC_Track((PyObject *)(first + 1));
        if (rest == h) return;
        young = (tlf_gchead *)first->next;
        first->next = (uintptr_t)rest;
        rest->prev = (rest->prev & TLF_GC_FLAGS) | (uintptr_t)first;
        last->next = (uintptr_t)young;
        young->prev = (uintptr_t)last;
    #else
        /* Last made first: on an error path, dropping an object frees the half-built
           ones it holds, all made after it and so already tracked again, as their
           deallocation expects. */
        while (m->n > 0) {
            PyObject *o = m->held[--m->n];
            if (!PyObject_GC_IsTracked(o)) PyObject_GC_Track(o);
            Py_DECREF(o);
        }
        PyMem_Free(m->held);
        m->held = NULL;
        m->cap = 0;
    #endif
    }
    """
    bint TLF_UNLIKELY(bint) nogil
    uint32_t TLF_BOOL_TRUE
    uint32_t TLF_BOOL_FALSE
    Py_ssize_t TLF_MAX_BYTES_LEN
    uint32_t tlf_ld32(const unsigned char*) nogil
    uint64_t tlf_ld64(const unsigned char*) nogil
    int tlf_ctz64(uint64_t) nogil
    void tlf_st32(unsigned char*, uint32_t) nogil
    void tlf_st64(unsigned char*, uint64_t) nogil
    double tlf_u64_as_double(uint64_t) nogil
    object tlf_decode_string(const unsigned char*, Py_ssize_t)
    uint64_t tlf_double_as_u64(double) nogil
    bint TLF_UTF8_BLOCKS
    bint TLF_GC_LIST
    bint TLF_KNOWN_CPYTHON
    bint TLF_GC_DEFERRED
    ctypedef struct tlf_made:
        pass
    void tlf_made_init(tlf_made*) nogil
    void tlf_made_add(tlf_made*, PyObject*)
    void tlf_made_release(tlf_made*)

if (TLF_BOOL_TRUE, TLF_BOOL_FALSE, TLF_MAX_BYTES_LEN) != (
    P.BOOL_TRUE, P.BOOL_FALSE, P.MAX_BYTES_LEN
):  # the C constants above duplicate _primitives; refuse to load if they ever drift
    raise ImportError("tlfast._codec_cy: wire constants disagree with tlfast._primitives")

__all__ = ["Reader", "Writer"]

NAME = "cython"
# Which of the engine's platform-dependent paths this build has (the portable ones
# otherwise): the SSE2 UTF-8 blocks, the decode's own list for the collector.
BUILD = {"utf8_blocks": bool(TLF_UTF8_BLOCKS), "gc_list": bool(TLF_GC_LIST),
         "cpython_internals": bool(TLF_KNOWN_CPYTHON), "gc_pause": bool(TLF_GC_DEFERRED)}

cdef object _from_bytes = int.from_bytes


# CPython 3.12 and 3.13 only schedule the collection an allocation makes due, and run it
# when Python code next runs: for a large decode, right after it returns, over everything
# it just made, which it then promotes to older generations (whose collections, full ones
# included, then ran every few decodes: messages_100 decode 456 us on 3.12.1 against 187 us
# on 3.11, which collects inside the allocation, where what a decode makes is still off
# the collector's lists; see "garbage collector" in _objects_cy.pxi). So a decode of at
# least GC_PAUSE_BYTES pauses the collector (gc.disable: nothing is scheduled, the
# allocations still count) and, before what it made joins the youngest generation, runs
# the collection CPython would have run by its own rule, if any (the oldest generation
# whose count passed its threshold), except a full one, left to CPython's extra rule for
# it. A smaller decode makes too few objects for a collection over them to matter. (The
# pause is process-wide: a thread that calls gc.disable() while another thread decodes has
# it undone when that decode ends.)
import gc as _gc
cdef object _gc_isenabled = _gc.isenabled
cdef object _gc_enable = _gc.enable
cdef object _gc_disable = _gc.disable
cdef object _gc_get_count = _gc.get_count
cdef object _gc_get_threshold = _gc.get_threshold
cdef object _gc_collect = _gc.collect
cdef enum:
    GC_PAUSE_BYTES = 4096


cdef int _collect_while_hidden() except -1:
    c0, c1, c2 = _gc_get_count()
    t0, t1, t2 = _gc_get_threshold()
    if t0 == 0 or c0 <= t0 or (t2 and c2 > t2):  # (t2 and c2 > t2: maybe a full one)
        return 0
    _gc_collect(1 if t1 and c1 > t1 else 0)
    return 0


# ---------------------------------------------------------------- cold error paths
# Not inline: they keep Python-object code out of the inlined hot helpers.

cdef int _truncated(Py_ssize_t pos, Py_ssize_t need, Py_ssize_t left) except -1:
    raise P.truncated(pos, need, left)


cdef int _bad_bool(Py_ssize_t pos, uint32_t constructor_id) except -1:
    raise P.bad_bool(pos, constructor_id)


cdef int _bad_prefix(Py_ssize_t pos) except -1:
    raise P.bad_prefix(pos)


cdef int _non_canonical_prefix(Py_ssize_t pos, Py_ssize_t length) except -1:
    raise P.non_canonical_prefix(pos, length)


cdef int _bytes_too_long(Py_ssize_t length) except -1:
    raise P.bytes_too_long(length)


# ---------------------------------------------------------------- Reader

cdef class Reader:
    # The "--" line is the text-signature form: it makes inspect.signature(Reader) work,
    # which the API-parity test relies on (embedsignature does not cover cdef classes).
    """Reader(buf, schema=None, *, max_depth=64, max_inflate=16777216)
--

Reads TL values from ``buf`` (bytes, bytearray or memoryview) without copying it."""

    cdef object _buf              # keeps the input (and the exporter of _view) alive
    cdef Py_buffer _view          # held for bytearray / memoryview input, released on dealloc
    cdef bint _has_view
    cdef const unsigned char* _ptr
    cdef Py_ssize_t _pos
    cdef Py_ssize_t _end
    cdef public object _schema
    # Limits and codec of the object engine (not written here yet), kept with the same
    # names and defaults as the pure Reader so both accept the same arguments.
    cdef public object _codec
    cdef public object max_depth
    cdef public object max_inflate
    cdef object _cyc              # the codec's CyCodec (object engine, _objects_cy.pxi)
    cdef Py_ssize_t _depth_limit  # max_depth as a C integer, set by read_object
    # The list of what the current read_object makes, on its stack, kept off the
    # collector's lists until it returns (_objects_cy.pxi, "garbage collector"); NULL
    # outside read_object.
    cdef tlf_made* _made

    def __init__(self, buf, schema=None, *, max_depth=DEFAULT_MAX_DEPTH,
                 max_inflate=DEFAULT_MAX_INFLATE):
        cdef Py_buffer view
        check_limits(max_depth, max_inflate)
        if PyBytes_Check(buf):
            # bytes are immutable: no buffer export needed.
            self._release()
            self._ptr = <const unsigned char*>PyBytes_AS_STRING(buf)
            self._end = PyBytes_GET_SIZE(buf)
        elif PyByteArray_Check(buf) or PyMemoryView_Check(buf):
            if PyMemoryView_Check(buf) and not buf.c_contiguous:
                raise TypeError("memoryview must be C-contiguous")
            # The export pins the memory: a bytearray cannot be resized while we read it.
            PyObject_GetBuffer(buf, &view, PyBUF_SIMPLE)
            self._release()
            self._view = view
            self._has_view = True
            self._ptr = <const unsigned char*>view.buf
            self._end = view.len
        else:
            raise P.bad_buffer(buf)
        self._buf = buf
        self._pos = 0
        self._schema = schema
        self._codec = None
        self.max_depth = max_depth
        self.max_inflate = max_inflate

    cdef inline void _release(self):
        if self._has_view:
            self._has_view = False
            PyBuffer_Release(&self._view)

    def __dealloc__(self):
        self._release()

    def read_object(self, type=None):
        """A value of TL ``type`` (a type expression; default: a boxed Object)."""
        cdef tlf_made made
        cdef tlf_made* outer = self._made  # read_object may be re-entered
        self._depth_limit = _depth_limit_of(self.max_depth)
        cdef bint paused = False
        tlf_made_init(&made)
        self._made = &made
        if (TLF_GC_DEFERRED and outer == NULL and self._end - self._pos >= GC_PAUSE_BYTES
                and _gc_isenabled()):
            _gc_disable()  # (see _collect_while_hidden)
            paused = True
        try:
            return _read_object(self, type)
        except RecursionError:
            # Only when the caller was already deep in its own stack (max_depth is capped).
            raise P.TLDecodeError("nesting too deep for the Python stack", self._pos) from None
        finally:
            self._made = outer
            if paused:
                _gc_enable()
                _collect_while_hidden()
            tlf_made_release(&made)

    def tell(self):
        """The cursor: offset of the next byte to read."""
        return self._pos

    def seek(self, pos):
        """Move the cursor to ``pos`` (0..len); TLDecodeError outside that range."""
        # Not hot: compare as Python ints so any size of int gets the shared error.
        pos = _index(pos)
        if not 0 <= pos <= self._end:
            raise P.bad_seek(pos, self._end)
        self._pos = pos

    def remaining(self):
        """Bytes left after the cursor."""
        return self._end - self._pos

    def read_int(self):
        """TL ``int``: 4 bytes, little-endian, signed."""
        return _rint32(self)

    def read_uint(self):
        """TL ``#`` (a flags word): 4 bytes, little-endian, unsigned."""
        return _ruint32(self)

    def read_long(self):
        """TL ``long``: 8 bytes, little-endian, signed."""
        return _rint64(self)

    def read_double(self):
        """TL ``double``: 8 bytes, IEEE 754, little-endian."""
        return _rdouble(self)

    def read_int128(self):
        """TL ``int128``: 16 bytes as a little-endian signed int."""
        return _from_bytes(
            PyBytes_FromStringAndSize(<const char*>_take(self, 16), 16), "little", signed=True
        )

    def read_int256(self):
        """TL ``int256``: 32 bytes as a little-endian signed int."""
        return _from_bytes(
            PyBytes_FromStringAndSize(<const char*>_take(self, 32), 32), "little", signed=True
        )

    def read_bool(self):
        """TL ``Bool``: boolTrue or boolFalse; any other id is a TLDecodeError."""
        return _rbool(self) == 1

    def read_bytes(self):
        """TL ``bytes``: length prefix, body, padding; returns the body."""
        cdef Py_ssize_t size
        cdef const unsigned char* data = _rbytes(self, &size)
        return PyBytes_FromStringAndSize(<const char*>data, size)

    def read_string(self):
        """TL ``string``: like bytes, decoded as UTF-8 (invalid bytes become U+FFFD)."""
        cdef Py_ssize_t size
        cdef const unsigned char* data = _rbytes(self, &size)
        return tlf_decode_string(data, size)


cdef inline const unsigned char* _take(Reader r, Py_ssize_t n) except NULL:
    """Advance past ``n`` bytes and return where they start; TLDecodeError if they are not there."""
    cdef Py_ssize_t pos = r._pos
    if TLF_UNLIKELY(r._end - pos < n):
        _truncated(pos, n, r._end - pos)
        return NULL
    r._pos = pos + n
    return r._ptr + pos


cdef inline int32_t _rint32(Reader r) except? -1:
    return <int32_t>tlf_ld32(_take(r, 4))


cdef inline uint32_t _ruint32(Reader r) except? 0xFFFFFFFF:
    return tlf_ld32(_take(r, 4))


cdef inline int64_t _rint64(Reader r) except? -1:
    return <int64_t>tlf_ld64(_take(r, 8))


cdef inline double _rdouble(Reader r) except? -1.0:
    return tlf_u64_as_double(tlf_ld64(_take(r, 8)))


cdef inline int _rbool(Reader r) except -1:
    """1 for boolTrue, 0 for boolFalse; anything else leaves the cursor on the id."""
    cdef Py_ssize_t pos = r._pos
    cdef uint32_t cid = tlf_ld32(_take(r, 4))
    if cid == TLF_BOOL_TRUE:
        return 1
    if cid == TLF_BOOL_FALSE:
        return 0
    r._pos = pos
    return _bad_bool(pos, cid)


cdef inline const unsigned char* _rbytes(Reader r, Py_ssize_t* size) except NULL:
    """The body of a TL bytes/string (prefix and padding skipped); its length in ``size``."""
    cdef Py_ssize_t pos = r._pos
    cdef Py_ssize_t left = r._end - pos
    cdef const unsigned char* p
    cdef Py_ssize_t length, start, total
    if TLF_UNLIKELY(left < 1):
        _truncated(pos, 1, left)
        return NULL
    p = r._ptr + pos
    length = p[0]
    if length < 254:
        start = 1
        total = (length + 4) & ~3
    elif length == 254:
        if TLF_UNLIKELY(left < 4):
            _truncated(pos, 4, left)
            return NULL
        length = <Py_ssize_t>p[1] | (<Py_ssize_t>p[2] << 8) | (<Py_ssize_t>p[3] << 16)
        if TLF_UNLIKELY(length < 254):
            _non_canonical_prefix(pos, length)
            return NULL
        start = 4
        total = (length + 7) & ~3
    else:
        _bad_prefix(pos)
        return NULL
    if TLF_UNLIKELY(left < total):
        _truncated(pos, total, left)
        return NULL
    r._pos = pos + total
    size[0] = length
    return p + start


# ---------------------------------------------------------------- Writer

cdef class Writer:
    """Writer(schema=None)
--

Builds TL bytes; ``getvalue()`` returns them."""

    # What is written goes straight into a bytes object of _cap bytes (_buf, owned, NULL
    # before the first write), and getvalue() hands that object out, shrunk to _len in
    # place: no second buffer and no copy of the result. Once handed out it is never
    # written again (_grow, _patch32 copy it first), so the caller's bytes stay immutable.
    cdef PyObject* _buf
    cdef unsigned char* _data     # PyBytes_AS_STRING(_buf)
    cdef Py_ssize_t _len
    cdef Py_ssize_t _cap
    cdef public object _schema
    cdef public object _codec
    cdef object _cyc

    def __init__(self, schema=None):
        self._len = 0
        self._schema = schema
        self._codec = None

    def write_object(self, value, type=None):
        """Write ``value`` as TL ``type`` (a type expression; default: a boxed Object)."""
        _write_object(self, value, type)

    def __dealloc__(self):
        Py_XDECREF(self._buf)

    def getvalue(self):
        """Everything written so far, as bytes."""
        global _size_hint
        _size_hint = self._len if self._len < _SIZE_HINT_MAX else _SIZE_HINT_MAX
        cdef Py_ssize_t n = self._len
        cdef PyObject* buf = self._buf
        if buf == NULL:
            return b""
        if self._cap != n:
            # Ours alone: a buffer handed out has _cap == _len, and the first write after
            # moves it to a new one (_grow, _patch32). Shrunk in place (a realloc); should
            # that fail, _PyBytes_Resize frees it and the Writer is left empty, not
            # pointing at freed memory.
            self._buf = NULL
            self._data = NULL
            self._len = self._cap = 0
            _PyBytes_Resize(&buf, n)
            self._buf = buf
            self._data = <unsigned char*>PyBytes_AS_STRING(<object>buf)
            self._len = self._cap = n
        return <object>self._buf

    def write_int(self, value):
        """TL ``int``: an int in -2**31..2**31-1 (not a bool)."""
        _wint32(self, <int32_t>_as_int(value, -2147483648LL, 2147483647LL, 0))

    def write_uint(self, value):
        """TL ``#``: an int in 0..2**32-1 (not a bool)."""
        _wuint32(self, <uint32_t>_as_int(value, 0, 4294967295LL, 1))

    def write_long(self, value):
        """TL ``long``: an int in -2**63..2**63-1 (not a bool)."""
        # The overflow flag of the conversion is the range check for long.
        _wint64(self, <int64_t>_as_int(value, LLONG_MIN, LLONG_MAX, 2))

    def write_int128(self, value):
        """TL ``int128``: a signed int that fits 16 bytes, little-endian."""
        data = P.check_int(P.INT128_RANGE, value).to_bytes(16, "little", signed=True)
        _wraw(self, <const unsigned char*>PyBytes_AS_STRING(data), 16)

    def write_int256(self, value):
        """TL ``int256``: a signed int that fits 32 bytes, little-endian."""
        data = P.check_int(P.INT256_RANGE, value).to_bytes(32, "little", signed=True)
        _wraw(self, <const unsigned char*>PyBytes_AS_STRING(data), 32)

    def write_double(self, value):
        """TL ``double``: a float, or an int (not a bool) that converts to one."""
        if PyFloat_CheckExact(value):
            _wdouble(self, PyFloat_AS_DOUBLE(value))
        else:
            _wdouble(self, _as_double_slow(value))

    def write_bool(self, value):
        """TL ``Bool``: exactly True or False."""
        if value is True:
            _wuint32(self, TLF_BOOL_TRUE)
        elif value is False:
            _wuint32(self, TLF_BOOL_FALSE)
        else:
            raise P.wrong_type("Bool", "bool", value)

    def write_bytes(self, value):
        """TL ``bytes``: bytes, bytearray or memoryview of at most 2**24-1 bytes."""
        if PyBytes_Check(value):
            _wbytes(self, <const unsigned char*>PyBytes_AS_STRING(value), PyBytes_GET_SIZE(value))
        elif PyByteArray_Check(value) or PyMemoryView_Check(value):
            _wbuffer(self, value)
        else:
            raise P.wrong_type("bytes", "bytes, bytearray or memoryview", value)

    def write_string(self, value):
        """TL ``string``: a str (UTF-8 encoded) or bytes-like, at most 2**24-1 bytes."""
        cdef Py_ssize_t size
        cdef const char* data
        if PyUnicode_CheckExact(value):
            data = PyUnicode_AsUTF8AndSize(value, &size)
            if TLF_UNLIKELY(data == NULL):
                PyErr_Clear()
                _wstring_slow(self, value)  # raises the same error as the pure engine
            else:
                _wbytes(self, <const unsigned char*>data, size)
        elif PyBytes_Check(value):
            _wbytes(self, <const unsigned char*>PyBytes_AS_STRING(value), PyBytes_GET_SIZE(value))
        elif PyByteArray_Check(value) or PyMemoryView_Check(value):
            _wbuffer(self, value)
        else:
            _wstring_slow(self, value)


# A new Writer starts with room for what the last one produced (up to 1 MiB): a client
# encodes similar requests over and over, and growing to that size again costs each
# encode several reallocations and copies. (A plain C global: a race between threads only
# changes a hint.)
cdef Py_ssize_t _size_hint = 256
cdef Py_ssize_t _SIZE_HINT_MAX = 1 << 20


cdef int _grow(Writer w, Py_ssize_t n) except -1:
    cdef Py_ssize_t need, cap
    if n > PY_SSIZE_T_MAX - w._len:
        raise MemoryError()
    need = w._len + n
    if w._cap == 0:
        cap = _size_hint if _size_hint > 256 else 256
    elif w._cap <= PY_SSIZE_T_MAX // 2:
        cap = w._cap * 2
    else:
        cap = PY_SSIZE_T_MAX
    if cap < need:
        cap = need
    _rebuffer(w, cap)
    return 0


cdef int _rebuffer(Writer w, Py_ssize_t cap) except -1:
    """Move what is written into a new bytes object of ``cap`` (>= _len) bytes: growing,
    or taking back a buffer that getvalue() handed out (never written again)."""
    cdef object new = PyBytes_FromStringAndSize(NULL, cap)
    if w._len:
        memcpy(PyBytes_AS_STRING(new), w._data, <size_t>w._len)
    Py_XDECREF(w._buf)
    Py_INCREF(new)
    w._buf = <PyObject*>new
    w._data = <unsigned char*>PyBytes_AS_STRING(new)
    w._cap = cap
    return 0


cdef inline int _patch32(Writer w, Py_ssize_t at, uint32_t value) except -1:
    """Write over 4 bytes already written (a body's length, once the body is written)."""
    if TLF_UNLIKELY(tlf_refcnt(w._buf) != 1):
        # Handed out meanwhile: never write into the caller's bytes. (Only Python code run
        # by the body's last field, a host's hook holding this Writer, could do that: no
        # test reaches it. Every other write after getvalue() passes through _grow.)
        _rebuffer(w, w._cap)
    tlf_st32(w._data + at, value)
    return 0


cdef inline unsigned char* _reserve(Writer w, Py_ssize_t n) except NULL:
    """Room for ``n`` more bytes, counted as written; returns where they go."""
    cdef unsigned char* p
    if TLF_UNLIKELY(w._cap - w._len < n):
        _grow(w, n)
    p = w._data + w._len
    w._len += n
    return p


cdef inline int _wraw(Writer w, const unsigned char* data, Py_ssize_t n) except -1:
    if n:
        memcpy(_reserve(w, n), data, <size_t>n)
    return 0


cdef inline int _wint32(Writer w, int32_t value) except -1:
    tlf_st32(_reserve(w, 4), <uint32_t>value)
    return 0


cdef inline int _wuint32(Writer w, uint32_t value) except -1:
    tlf_st32(_reserve(w, 4), value)
    return 0


cdef inline int _wint64(Writer w, int64_t value) except -1:
    tlf_st64(_reserve(w, 8), <uint64_t>value)
    return 0


cdef inline int _wdouble(Writer w, double value) except -1:
    tlf_st64(_reserve(w, 8), tlf_double_as_u64(value))
    return 0


cdef inline int _wbytes(Writer w, const unsigned char* data, Py_ssize_t n) except -1:
    """TL bytes/string: length prefix, body, zero padding to a multiple of 4."""
    cdef unsigned char* p
    cdef Py_ssize_t head, total
    if n < 254:
        head = 1
        total = (n + 4) & ~3
    elif n <= TLF_MAX_BYTES_LEN:
        head = 4
        total = (n + 7) & ~3
    else:
        return _bytes_too_long(n)
    p = _reserve(w, total)
    # Zero the last word first (total >= 4): it holds the 0-3 padding bytes, and whatever
    # of the head or body falls in it is written over next. No memset call per value.
    tlf_st32(p + total - 4, 0)
    if head == 1:
        p[0] = <unsigned char>n
    else:
        tlf_st32(p, 254u | (<uint32_t>n << 8))
    if n:
        memcpy(p + head, data, <size_t>n)
    return 0


cdef int _wbuffer(Writer w, object value) except -1:
    """bytes-like other than bytes, with the pure engine's handling of memoryviews."""
    cdef Py_buffer view
    if PyMemoryView_Check(value):
        value = value.cast("B") if value.c_contiguous else value.tobytes()
    PyObject_GetBuffer(value, &view, PyBUF_SIMPLE)
    try:
        _wbytes(w, <const unsigned char*>view.buf, view.len)
    finally:
        PyBuffer_Release(&view)
    return 0


cdef int _wstring_slow(Writer w, object value) except -1:
    """str subclasses and the error cases: the shared check the pure engine uses too."""
    _wbuffer(w, P.utf8_of(value))
    return 0


cdef object _INT_SPECS = (P.INT_RANGE, P.UINT_RANGE, P.LONG_RANGE)


cdef inline long long _as_int(object value, long long lo, long long hi, int spec) except? -1:
    """``value`` as a C integer in lo..hi; otherwise the shared TLEncodeError."""
    cdef int overflow = 0
    cdef long long v
    if PyLong_CheckExact(value):
        v = PyLong_AsLongLongAndOverflow(value, &overflow)
        if not overflow and lo <= v <= hi:
            return v
    return _as_int_slow(value, spec)


cdef long long _as_int_slow(object value, int spec) except? -1:
    # check_int raises the shared error, or turns an int subclass into an int in range.
    return PyLong_AsLongLong(P.check_int(_INT_SPECS[spec], value))


cdef double _as_double_slow(object value) except? -1.0:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise P.wrong_type("double", "float", value)
    try:
        value = float(value)
    except OverflowError:
        raise P.TLEncodeError(f"double out of range: {value}") from None
    return PyFloat_AS_DOUBLE(value)


cdef extern from *:
    """
    #ifndef TLFAST_CYTHON_VERSION
    #define TLFAST_CYTHON_VERSION "unknown"
    #endif
    """
    const char* TLFAST_CYTHON_VERSION

# The Cython that compiled this module (set by setup.py), for benchmark reports.
CYTHON_VERSION = TLFAST_CYTHON_VERSION.decode("ascii")


include "_objects_cy.pxi"
