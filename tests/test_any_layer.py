"""Any API layer beside MTProto: ``Schema.from_file(layer, base=tlfast.schemas.mtproto)``.

MTProto and the API are two namespaces on the wire: both define a `message` of type
`Message`, and a server's msg_container must hold MTProto's bare `message` whatever API
layer sits beside it (issue 20). Layers 112 (Pyrogram 0.17.1's copy), 190 and the bundled
228, on both engines. The containers are built by hand here, byte by byte.
"""

import gzip
import struct
import warnings

import pytest

import _helpers as H  # noqa: E402  (tests/ is on sys.path: conftest.py)
import tlfast
from tlfast import Schema

MTPROTO = tlfast.schemas.mtproto
LAYERS = {
    112: H.DATA / "api-layer112.tl",
    190: H.DATA / "api-layer190.tl",
    228: __import__("pathlib").Path(tlfast.__file__).with_name("schemas") / "api-layer228.tl",
}


def u32(*v):
    return struct.pack(f"<{len(v)}I", *v)


def container(*bodies):
    out = u32(0x73F1F8DC) + struct.pack("<i", len(bodies))
    for i, body in enumerate(bodies):
        out += struct.pack("<qii", 1000 + i, 2 * i + 1, len(body)) + body
    return out


def tl_bytes(data):
    if len(data) < 254:
        return bytes([len(data)]) + data + bytes(-(len(data) + 1) % 4)
    return (254 | len(data) << 8).to_bytes(4, "little") + data + bytes(-len(data) % 4)


@pytest.fixture(scope="module", params=sorted(LAYERS), ids=[f"layer{n}" for n in sorted(LAYERS)])
def layer(request):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # layer 190 declares a few ids the rule does not give
        return Schema.from_file(LAYERS[request.param], base=MTPROTO)


def a_message(s):
    """The API's `message` of that layer (to_id in 112, peer_id later), with text."""
    fields = {f.name for f in s._plan("message").fields}
    peer = s.api.peerUser(user_id=5)
    where = {"to_id": peer} if "to_id" in fields else {"peer_id": peer}
    return s.api.message(id=7, date=1700000000, message="hello " * 60, **where)


def test_a_server_message_of_any_layer(layer, backend):
    s = layer
    assert s["message"].id != MTPROTO["message"].id  # the API's `message` has the name
    msg = a_message(s)
    body = s.dumps(msg, backend=backend)
    update = s.api.updateShort(update=s.api.updateUserTyping(user_id=5, action=s.api.sendMessageTypingAction()), date=3)
    data = container(
        u32(0xF35C6D01) + struct.pack("<q", 99) + body,  # rpc_result
        u32(0x3072CFA1) + tl_bytes(gzip.compress(s.dumps(update, backend=backend))),  # gzip_packed
        u32(0x62D6B459, 0x1CB5C415) + struct.pack("<iq", 1, 55),  # msgs_ack
        u32(0x9EC20908) + struct.pack("<qqq", 1, 2, 3),  # new_session_created
    )
    c = s.loads(data, backend=backend)
    assert type(c) is MTPROTO.api.msg_container and type(c.messages[0]) is MTPROTO.api.message
    assert [m.msg_id for m in c.messages] == [1000, 1001, 1002, 1003]
    assert c.messages[0].body == MTPROTO.api.rpc_result(req_msg_id=99, result=msg)
    assert c.messages[1].body == update  # gzip_packed, inflated
    assert c.messages[2].body == MTPROTO.api.msgs_ack(msg_ids=[55])
    assert c.messages[3].body.server_salt == 3
    # ...and back to the same bytes, but gzip_packed: decoding inflated it.
    c.messages.pop(1)
    assert s.dumps(c, backend=backend) == data[:8].replace(b"\x04", b"\x03", 1) + b"".join(
        piece for i, piece in enumerate(_pieces(data)) if i != 1)
    c.messages.insert(1, MTPROTO.api.message(msg_id=1001, seqno=3, body=tlfast.gzip_packed(update)))
    again = s.loads(s.dumps(c, backend=backend), backend=backend)
    assert again.messages[1].body == update and again.messages[0].body.result == msg


def _pieces(data):
    """The messages of a container, as bytes each (header and body)."""
    pos, out = 8, []
    while pos < len(data):
        length = struct.unpack_from("<i", data, pos + 12)[0]
        out.append(data[pos : pos + 16 + length])
        pos += 16 + length
    return out


def test_names_and_ids_of_both(layer):
    s = layer
    assert s.api.msg_container is MTPROTO.api.msg_container
    assert s.api.MessageContainer is MTPROTO.api.MessageContainer
    assert s.api.message is not MTPROTO.api.message
    assert s[MTPROTO["message"].id].source == MTPROTO["message"].source
    assert MTPROTO["message"].id in s and s["message"].id in s
    assert s["msg_resend_ans_req"].id == 0x8610BAEB
    assert s.from_dict({"_": "msg_container", "messages": [
        {"msg_id": 1, "seqno": 2, "body": {"_": "msgs_ack", "msg_ids": [3]}}]}) == \
        MTPROTO.api.msg_container(messages=[MTPROTO.api.message(
            msg_id=1, seqno=2, body=MTPROTO.api.msgs_ack(msg_ids=[3]))])


def test_result_of_a_request_of_that_layer(layer, backend):
    s = layer
    req = s.api.help.getNearestDc()
    dc = s.api.nearestDc(country="NL", this_dc=2, nearest_dc=4)
    data = u32(0xF35C6D01) + struct.pack("<q", 5) + s.dumps(dc, backend=backend)
    got = s.loads(data, result_of=req, backend=backend)
    assert got == MTPROTO.api.rpc_result(req_msg_id=5, result=dc)


def test_a_schema_that_redefines_msg_container_is_merged():
    # Not an API layer beside MTProto but a patch of MTProto itself: later lines win.
    s = Schema.from_text("msg_container#73f1f8dc messages:vector<%message> = MessageContainer;\n"
                         "message msg_id:long body:Object = Message;", base=MTPROTO)
    assert s.api.msg_container is not MTPROTO.api.msg_container
    assert [f.name for f in s._plan("msg_container").fields[0].type.elem.ctor.fields] == ["msg_id", "body"]


def test_a_patch_on_top_of_a_pairing_merges_its_api(backend):
    # A later `user` (another id) on top of layer 112 over MTProto: the API's definitions
    # that name User take it, as a patch of a plain schema does; MTProto stays paired.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        old = Schema.from_file(LAYERS[112], base=MTPROTO)
        patch = Schema.from_text("user#12345678 flags:# id:int first_name:flags.1?string = User;", base=old)
    u = patch.api.user(id=5, first_name="x")
    update = patch.api.updateUserName(user_id=5, first_name="a", last_name="b", username="c")
    users = patch.api.contacts.found(my_results=[], results=[], chats=[], users=[u])
    assert patch.loads(patch.dumps(users, backend=backend), backend=backend) == users
    assert patch.loads(patch.dumps(update, backend=backend), backend=backend) == update
    assert patch.api.msg_container is MTPROTO.api.msg_container
    assert patch._service is MTPROTO
