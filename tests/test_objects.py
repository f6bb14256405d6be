"""Object model (issue 3 point 4): constructors, defaults, attribute names, repr, equality,
to_dict/from_dict, pickling, functions' RESULT. Pure Python, shared by both backends, so
these tests take no backend (the codec suites cover encoding)."""

import inspect
import pickle

import pytest
from hypothesis import given, settings, strategies as st

import tlfast
from tlfast import TLEncodeError
from tlfast._model import TLFunction, TLObject




import strategies as S  # noqa: E402

from tlfast import api, mtproto  # noqa: E402

API = tlfast.schemas.api
MTPROTO = tlfast.schemas.mtproto


def test_keyword_constructor_and_defaults():
    user = api.user(id=42)
    assert user.id == 42
    assert user.self_ is False and user.bot is False and user.bot_can_edit is False  # flags.N?true
    assert user.first_name is None and user.photo is None and user.usernames is None
    sig = inspect.signature(api.user)
    assert sig.parameters["id"].default is inspect.Parameter.empty  # required
    assert sig.parameters["self_"].default is False
    assert sig.parameters["access_hash"].default is None
    # a Bool under a flag defaults to None (absent), not False
    assert api.peerNotifySettings().silent is None
    with pytest.raises(TypeError):
        api.user()  # id is required
    with pytest.raises(TypeError):
        api.user(id=1, nonsense=2)
    with pytest.raises(TypeError):
        api.user(id=1, flags=3)  # flags words are derived, never passed


def test_reserved_names_get_a_trailing_underscore():
    h = api.storyFwdHeader(from_=api.peerUser(user_id=5), story_id=3)
    assert h.from_ == api.peerUser(user_id=5)
    assert "from_" in api.storyFwdHeader.__slots__ and "from" not in api.storyFwdHeader.__slots__
    assert api.user(id=1, self_=True).self_ is True
    assert api.aiComposeToneExample(from_=api.textWithEntities(text="a", entities=[]),
                                    to=api.textWithEntities(text="b", entities=[])).to.text == "b"


def test_slots_only():
    req = api.auth.importAuthorization(id=1, bytes=b"")
    assert not hasattr(req, "__dict__")
    with pytest.raises(AttributeError):
        req.extra = 1


def test_repr():
    req = api.auth.importAuthorization(id=4965292, bytes=b"some bytes here")
    assert repr(req) == "auth.importAuthorization(id=4965292, bytes=b'some bytes here')"
    nested = api.inputPeerUserFromMessage(peer=api.inputPeerSelf(), msg_id=3, user_id=7)
    assert repr(nested) == "inputPeerUserFromMessage(peer=inputPeerSelf(), msg_id=3, user_id=7)"
    msgs = mtproto.msgs_ack(msg_ids=[1, 2])
    assert repr(msgs) == "msgs_ack(msg_ids=[1, 2])"
    assert repr(api.help.getConfig()) == "help.getConfig()"


def test_equality():
    a = api.auth.importAuthorization(id=1, bytes=b"x")
    assert a == api.auth.importAuthorization(id=1, bytes=b"x")
    assert not a != api.auth.importAuthorization(id=1, bytes=b"x")
    assert a != api.auth.importAuthorization(id=1, bytes=b"y")
    assert a != api.auth.importAuthorization(id=2, bytes=b"x")
    # same fields, different constructor
    assert api.peerChat(chat_id=1) != api.peerChannel(channel_id=1)
    assert api.peerUser(user_id=1) != 1 and api.peerUser(user_id=1) != {"_": "peerUser", "user_id": 1}
    # the API's message and MTProto's message are different classes: never equal
    assert api.message is not mtproto.message
    assert api.message.CONSTRUCTOR_ID != mtproto.message.CONSTRUCTOR_ID
    assert api.inputPeerEmpty() == api.inputPeerEmpty()  # no fields: equal by class alone
    assert api.inputPeerEmpty() != api.inputPeerSelf()
    # deep equality
    u1 = api.user(id=1, usernames=[api.username(username="a")])
    u2 = api.user(id=1, usernames=[api.username(username="a")])
    u3 = api.user(id=1, usernames=[api.username(username="b")])
    assert u1 == u2 and u1 != u3
    assert api.user(id=1, usernames=[]) != api.user(id=1)  # present-but-empty vs absent
    with pytest.raises(TypeError):
        hash(u1)  # mutable value objects


def test_to_dict():
    req = api.auth.importAuthorization(id=4965292, bytes=b"some bytes here")
    assert req.to_dict() == {"_": "auth.importAuthorization", "id": 4965292,
                             "bytes": b"some bytes here"}
    h = api.storyFwdHeader(modified=True, from_=api.peerUser(user_id=5))
    assert h.to_dict() == {"_": "storyFwdHeader", "modified": True,
                           "from": {"_": "peerUser", "user_id": 5},  # TL names as keys
                           "from_name": None, "story_id": None}
    ack = mtproto.msgs_ack(msg_ids=[1, 2])
    assert ack.to_dict() == {"_": "msgs_ack", "msg_ids": [1, 2]}
    users = api.contacts.found(my_results=[api.peerUser(user_id=1)], results=[], chats=[],
                               users=[api.userEmpty(id=1)])
    assert users.to_dict()["my_results"] == [{"_": "peerUser", "user_id": 1}]
    assert "flags" not in api.user(id=1).to_dict()  # flags words are derived


def test_from_dict():
    d = {"_": "auth.importAuthorization", "id": 4965292, "bytes": b"some bytes here"}
    assert tlfast.from_dict(d) == api.auth.importAuthorization(id=4965292, bytes=b"some bytes here")
    assert API.from_dict(d) == tlfast.from_dict(d)
    # absent optional fields may be omitted or None; nested dicts become objects
    h = tlfast.from_dict({"_": "storyFwdHeader", "from": {"_": "peerUser", "user_id": 5}})
    assert h == api.storyFwdHeader(from_=api.peerUser(user_id=5))
    assert tlfast.from_dict({"_": "user", "id": 1, "first_name": None}) == api.user(id=1)
    # errors
    with pytest.raises(TLEncodeError):
        tlfast.from_dict({"_": "user"})  # id missing
    with pytest.raises(TLEncodeError):
        tlfast.from_dict({"_": "user", "id": 1, "bogus": 2})
    with pytest.raises(TLEncodeError):
        tlfast.from_dict({"_": "noSuchConstructor"})
    with pytest.raises(TLEncodeError):
        tlfast.from_dict({"id": 1})
    with pytest.raises(TLEncodeError):
        tlfast.from_dict([1, 2])


def test_mtproto_from_dict():
    c = mtproto.msg_container(messages=[
        mtproto.message(msg_id=1, seqno=2, body=mtproto.ping(ping_id=3))])
    assert MTPROTO.from_dict(c.to_dict()) == c
    r = mtproto.rpc_result(req_msg_id=1, result=api.user(id=5))
    assert tlfast.from_dict(r.to_dict()) == r  # Object positions see API and MTProto names


def test_bundled_from_dict_of_msg_container():
    c = mtproto.msg_container(messages=[
        mtproto.message(msg_id=1, seqno=2, body=mtproto.ping(ping_id=3))])
    assert tlfast.from_dict(c.to_dict()) == c


def test_functions_know_their_result():
    assert api.auth.importAuthorization.RESULT == "auth.Authorization"
    assert api.users.getUsers.RESULT == "Vector<User>"
    assert api.messages.receivedQueue.RESULT == "Vector<long>"
    assert api.help.getConfig.RESULT == "Config"
    assert api.invokeWithLayer.RESULT == "X"
    assert mtproto.ping.RESULT == "Pong"
    assert issubclass(api.help.getConfig, TLFunction)
    assert not issubclass(api.config, TLFunction) and issubclass(api.config, TLObject)
    assert getattr(api.config, "RESULT", None) is None


def test_pickle_simple():
    for obj in (
        api.auth.importAuthorization(id=4965292, bytes=b"some bytes here"),
        api.user(id=1, self_=True, usernames=[api.username(username="x")]),
        mtproto.msg_container(messages=[mtproto.message(msg_id=1, seqno=2, body=True)]),
        mtproto.rpc_result(req_msg_id=1, result=[api.userEmpty(id=3)]),
    ):
        for proto in (2, pickle.HIGHEST_PROTOCOL):
            back = pickle.loads(pickle.dumps(obj, proto))
            assert back == obj and type(back) is type(obj)


def test_pickle_custom_schema_object():
    s = tlfast.Schema.from_text("pt x:int y:int = Pt;\nline a:Pt b:Pt = Line;")
    obj = s.api.line(a=s.api.pt(x=1, y=2), b=s.api.pt(x=3, y=4))
    back = pickle.loads(pickle.dumps(obj))
    assert back == obj and type(back) is type(obj)
    extended = tlfast.Schema.from_text("extra x:int = Extra;", base=API)
    obj = extended.api.extra(x=1)
    assert pickle.loads(pickle.dumps(obj)) == obj


# --- every kind of object, generated -----------------------------------------------------
API_GEN = S.TLStrategies([API])
MTPROTO_GEN = S.TLStrategies([MTPROTO])


def _any_object(gen):
    plans = [p for p in gen.plans if gen.usable(p)]
    return st.sampled_from(plans).flatmap(gen.of)


@settings(max_examples=150)
@given(_any_object(API_GEN))
def test_dict_and_pickle_round_trip_api(obj):
    d = obj.to_dict()
    assert d["_"] == obj.TL_NAME
    assert tlfast.from_dict(d) == obj
    assert API.from_dict(d) == obj
    assert pickle.loads(pickle.dumps(obj)) == obj


@settings(max_examples=60)
@given(_any_object(MTPROTO_GEN))
def test_dict_and_pickle_round_trip_mtproto(obj):
    assert MTPROTO.from_dict(obj.to_dict()) == obj
    assert pickle.loads(pickle.dumps(obj)) == obj
