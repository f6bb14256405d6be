"""TL primitives: tlfast (both backends) against Telethon and Kurigram/Pyrogram.

One group per operation, so each group reads as a comparison table. The "x1000" groups time
a loop of 1000 calls (divide the time by 1000 for the cost of one call, Python loop
included); the "100k longs" groups time a whole 100 000-value stream. Every benchmark
asserts its result, so ``--benchmark-disable`` runs this file as a smoke test.
"""

import random
import struct
from io import BytesIO

import pytest

N = 1000
BIG = 100_000
_rng = random.Random(0x7F1A57)

INTS = [_rng.randint(-(1 << 31), (1 << 31) - 1) for _ in range(N)]
LONGS = [_rng.randint(-(1 << 63), (1 << 63) - 1) for _ in range(N)]
DOUBLES = [_rng.uniform(-1e9, 1e9) for _ in range(N)]
SHORT_BYTES = [_rng.randbytes(_rng.randint(0, 20)) for _ in range(N)]
KIB_BYTES = [_rng.randbytes(1024) for _ in range(N)]
WORDS = ["hello", "wörld", "Привет", "tlfast", "message", "🙂", "text", "caption"]
STRINGS = [" ".join(_rng.choice(WORDS) for _ in range(_rng.randint(1, 6))) for _ in range(N)]
BIG_LONGS = [_rng.randint(-(1 << 63), (1 << 63) - 1) for _ in range(BIG)]


def tl_bytes(data):
    """Reference TL encoding, to build the payloads independently of the code under test."""
    n = len(data)
    if n <= 253:
        return bytes([n]) + data + bytes(-(n + 1) % 4)
    return b"\xfe" + n.to_bytes(3, "little") + data + bytes(-n % 4)


INTS_DATA = struct.pack(f"<{N}i", *INTS)
LONGS_DATA = struct.pack(f"<{N}q", *LONGS)
DOUBLES_DATA = struct.pack(f"<{N}d", *DOUBLES)
SHORT_BYTES_DATA = b"".join(map(tl_bytes, SHORT_BYTES))
KIB_BYTES_DATA = b"".join(map(tl_bytes, KIB_BYTES))
STRINGS_DATA = b"".join(tl_bytes(s.encode()) for s in STRINGS)
BIG_LONGS_DATA = struct.pack(f"<{BIG}q", *BIG_LONGS)

# (group, tlfast method, Telethon BinaryReader method, Kurigram class, payload, values)
READS = [
    ("read_int x1000", "read_int", "read_int", "Int", INTS_DATA, INTS),
    ("read_long x1000", "read_long", "read_long", "Long", LONGS_DATA, LONGS),
    ("read_double x1000", "read_double", "read_double", "Double", DOUBLES_DATA, DOUBLES),
    ("read_bytes short x1000", "read_bytes", "tgread_bytes", "Bytes", SHORT_BYTES_DATA, SHORT_BYTES),
    ("read_bytes 1KiB x1000", "read_bytes", "tgread_bytes", "Bytes", KIB_BYTES_DATA, KIB_BYTES),
    ("read_string x1000", "read_string", "tgread_string", "String", STRINGS_DATA, STRINGS),
    ("read 100k longs", "read_long", "read_long", "Long", BIG_LONGS_DATA, BIG_LONGS),
]
READ_IDS = [case[0] for case in READS]

# (group, tlfast method, struct format or Telethon serializer, Kurigram class, values, payload)
WRITES = [
    ("write_int x1000", "write_int", "<i", "Int", INTS, INTS_DATA),
    ("write_long x1000", "write_long", "<q", "Long", LONGS, LONGS_DATA),
    ("write_bytes short x1000", "write_bytes", None, "Bytes", SHORT_BYTES, SHORT_BYTES_DATA),
    ("write 100k longs", "write_long", "<q", "Long", BIG_LONGS, BIG_LONGS_DATA),
]
WRITE_IDS = [case[0] for case in WRITES]


def check_read(result, data, values):
    last, pos = result
    assert pos == len(data)
    assert last == values[-1]


# ------------------------------------------------------------------ reads

def test_loop_baseline(benchmark):
    """The bare Python loop of the x1000 groups: subtract it to get the cost of one call."""
    benchmark.group = "baseline: empty loop x1000"
    reps = range(N)

    def run():
        v = None
        for _ in reps:
            v = _
        return v

    assert benchmark(run) == N - 1



@pytest.mark.parametrize("case", READS, ids=READ_IDS)
def test_read(benchmark, backend, case):
    group, method, _, _, data, values = case
    benchmark.group = group
    reps = range(len(values))

    def run():
        r = backend.Reader(data)
        read = getattr(r, method)
        for _ in reps:
            v = read()
        return v, r.tell()

    check_read(benchmark(run), data, values)


@pytest.mark.parametrize("case", READS, ids=READ_IDS)
def test_read_telethon(benchmark, telethon, case):
    group, _, method, _, data, values = case
    benchmark.group = group
    reps = range(len(values))

    def run():
        r = telethon.BinaryReader(data)
        read = getattr(r, method)
        for _ in reps:
            v = read()
        return v, r.tell_position()

    check_read(benchmark(run), data, values)


@pytest.mark.parametrize("case", READS, ids=READ_IDS)
def test_read_kurigram(benchmark, kurigram, case):
    group, _, _, cls, data, values = case
    benchmark.group = group
    reps = range(len(values))
    read = getattr(kurigram, cls).read

    def run():
        stream = BytesIO(data)
        for _ in reps:
            v = read(stream)
        return v, stream.tell()

    check_read(benchmark(run), data, values)


# ------------------------------------------------------------------ writes

@pytest.mark.parametrize("case", WRITES, ids=WRITE_IDS)
def test_write(benchmark, backend, case):
    group, method, _, _, values, data = case
    benchmark.group = group

    def run():
        w = backend.Writer()
        write = getattr(w, method)
        for v in values:
            write(v)
        return w.getvalue()

    assert benchmark(run) == data


@pytest.mark.parametrize("case", WRITES, ids=WRITE_IDS)
def test_write_telethon(benchmark, telethon, case):
    # Telethon's generated code packs ints with struct and bytes with serialize_bytes,
    # then joins the pieces.
    group, _, fmt, _, values, data = case
    benchmark.group = group
    from telethon.tl.tlobject import TLObject

    pack = TLObject.serialize_bytes if fmt is None else struct.Struct(fmt).pack

    def run():
        return b"".join([pack(v) for v in values])

    assert benchmark(run) == data


@pytest.mark.parametrize("case", WRITES, ids=WRITE_IDS)
def test_write_kurigram(benchmark, kurigram, case):
    group, _, _, cls, values, data = case
    benchmark.group = group
    pack = getattr(kurigram, cls)

    def run():
        return b"".join([pack(v) for v in values])

    assert benchmark(run) == data
