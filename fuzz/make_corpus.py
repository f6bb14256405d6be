"""Write the seed corpus fuzz/corpus/TARGET/ from the bench payloads (tlfast/_payloads.py,
cut down to a few KiB) and the test vectors (the seed page, the README's examples).

    python fuzz/make_corpus.py

Deterministic; files are named by the SHA-1 of their content, as libFuzzer names what it
finds, so rerunning adds nothing twice. Inputs kept from findings (``crash-*``) live beside
the seeds and are never removed by this script.
"""

import gzip
import hashlib
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))
sys.path.insert(0, HERE)

import tlfast  # noqa: E402
from tlfast import _payloads, api, mtproto  # noqa: E402

import harnesses  # noqa: E402


def seeds_loads():
    req = {r.TL_NAME if r is not None else None: i for i, r in enumerate(harnesses.REQUESTS)}
    obj = lambda value: bytes([0]) + tlfast.dumps(value)  # noqa: E731
    small = _payloads.messages_messages(n_messages=3, n_users=2, n_chats=2)
    yield obj(_payloads.import_authorization())
    yield obj(_payloads.send_message())
    yield obj(small)
    yield bytes([128]) + tlfast.dumps(small)  # depth cap 4
    yield obj(_payloads.upload_file(size=64))
    yield obj(tlfast.gzip_packed(_payloads.import_authorization()))
    yield obj(mtproto.msg_container(messages=[
        mtproto.message(msg_id=1 << 32, seqno=1, body=mtproto.ping(ping_id=7)),
        mtproto.message(msg_id=2 << 32, seqno=3, body=_payloads.import_authorization()),
    ]))
    yield obj(mtproto.rpc_error(error_code=420, error_message="FLOOD_WAIT_3"))
    vec = tlfast.dumps(_payloads.vector_long(n=3), "Vector<long>")
    yield bytes([req["messages.receivedQueue"]]) + vec
    rpc_result = struct.pack("<Iq", 0xF35C6D01, 5)
    yield bytes([req["messages.receivedQueue"]]) + rpc_result + vec
    packed = mtproto.gzip_packed(packed_data=gzip.compress(vec, mtime=0))
    yield bytes([req["messages.receivedQueue"]]) + rpc_result + tlfast.dumps(packed)
    yield bytes([req["contacts.getContactIDs"]]) + tlfast.dumps([1, 2, 3], "Vector<int>")
    yield bytes([req["users.getUsers"]]) + tlfast.dumps(small.users, "Vector<User>")
    yield bytes([req["messages.getHistory"]]) + tlfast.dumps(small)
    yield bytes([req["upload.getFile"]]) + tlfast.dumps(_payloads.upload_file(size=16))
    yield bytes([req["invokeWithLayer"]]) + tlfast.dumps(
        api.nearestDc(country="NL", this_dc=2, nearest_dc=4))
    yield bytes([req["req_pq_multi"]]) + tlfast.dumps(
        mtproto.resPQ(nonce=1, server_nonce=2, pq=b"\x17\xed\x48\x94\x1a\x08\xf9\x81",
                      server_public_key_fingerprints=[-4344800451088585951]))
    yield bytes([req["ping"]]) + tlfast.dumps(mtproto.pong(msg_id=1, ping_id=2))
    # README vectors
    yield b"\0" + bytes.fromhex("ad7d7aa5acc34b00000000000f736f6d652062797465732068657265")
    yield bytes([req["messages.receivedQueue"]]) + bytes.fromhex("15c4b51c010000000500000000000000")


def seeds_types():
    small = _payloads.messages_messages(n_messages=2, n_users=1, n_chats=1)
    values = {
        "Vector<long>": _payloads.vector_long(n=4),
        "Vector<int>": [0, -1, 2**31 - 1],
        "Vector<double>": [0.5, -0.0, float("inf")],
        "Vector<string>": ["", "привет", "🚀" * 3],
        "Vector<bytes>": [b"", b"x" * 254, b"\0" * 3],
        "Vector<Bool>": [True, False],
        "Vector<User>": small.users,
        "Vector<Vector<int>>": [[1], [], [2, 3]],
        "vector<long>": [1, 2],
        "%Vector<long>": [3],
        "int128": -(2**100), "int256": 2**200, "double": 1.25, "string": "héllo",
        "bytes": b"\xfe" * 300, "Bool": True, "long": -2, "int": 7,
        "Object": _payloads.import_authorization(),
        "messages.Messages": small,
        "%Config": None,
    }
    for type_, value in values.items():
        if value is None:
            continue
        yield bytes([harnesses.TYPES.index(type_)]) + tlfast.dumps(value, type_)
    # a type expression given as text (selector past the list)
    yield bytes([255]) + b"Vector<Vector<long>>\0" + tlfast.dumps([[1, 2]], "Vector<Vector<long>>")


def seeds_schema():
    pages = os.path.join(HERE, "..", "tests", "data", "auth.importAuthorization.md")
    text = open(pages, encoding="utf-8").read()
    block = text[text.index("## TL schema"):]
    start = block.index("\n", block.index("```") + 3) + 1
    seed_tl = block[start:block.index("```", start)]
    yield seed_tl.encode() + b"\0" + bytes.fromhex("1396efe3acc34b000f736f6d652062797465732068657265")
    small = (
        "// LAYER 7\n"
        "boolFalse#bc799737 = Bool;\nboolTrue#997275b5 = Bool;\n"
        "vector#1cb5c415 {t:Type} # [ t ] = Vector t;\n"
        "point x:int y:long = Point;\n"
        "shape#0 flags:# name:flags.0?string pts:flags.1?Vector<Point> big:flags.2?int128 "
        "open:flags.3?true = Shape;\n"
        "box#abcdef01 items:vector<%Point> h:double ok:Bool raw:bytes = Box;\n"
        "---functions---\n"
        "getShape#12345678 {X:Type} id:int q:!X = X;\n"
    )
    schema = tlfast.Schema.from_text(small)
    box = schema.api.box(items=[schema.api.point(x=1, y=2)], h=0.5, ok=True, raw=b"ab")
    yield small.encode() + b"\0" + schema.dumps(box)
    shape = schema.api.shape(name="x", pts=[schema.api.point(x=3, y=4)], big=5, open=True)
    yield small.encode() + b"\0" + schema.dumps(shape)
    mt = open(os.path.join(os.path.dirname(tlfast.__file__), "schemas", "mtproto.tl"),
              encoding="utf-8").read()
    yield "\n".join(mt.splitlines()[:60]).encode() + b"\0"


def seeds_from_dict():
    names = harnesses._names()
    for i, name in enumerate(["auth.importAuthorization", "messages.sendMessage", "message",
                              "user", "msg_container", "inputMediaUploadedPhoto",
                              "messages.messages", "config", "jsonObject", "updates"]):
        body = hashlib.sha256(f"{name}-{i}".encode()).digest() * 4
        yield struct.pack("<H", names.index(name)) + body


def write(target, blobs):
    folder = os.path.join(HERE, "corpus", target)
    os.makedirs(folder, exist_ok=True)
    for blob in blobs:
        path = os.path.join(folder, hashlib.sha1(blob).hexdigest())
        with open(path, "wb") as f:
            f.write(blob)
        harnesses.TARGETS[target](blob)  # every seed passes its own oracle


def main():
    write("loads", seeds_loads())
    write("types", seeds_types())
    write("schema", seeds_schema())
    write("from_dict", seeds_from_dict())


if __name__ == "__main__":
    main()
