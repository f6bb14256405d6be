"""The Telegram API side of the test server: accounts, private chats, updates, and the
methods a bot's life needs, answered in each client's own layer (one of the server's
Schemas, the one its invokeWithLayer named; objects are kept in the first).

State is small and in memory: accounts (bots and users), each with its own message ids,
pts counter and a bounded log of recent updates (served by updates.getDifference), and a
bounded store of recent messages (served by messages.getHistory). A method this module
does not implement answers rpc_error 400 ``METHOD_NOT_IMPLEMENTED_IN_TEST_SERVER`` with
the method's name, so a test sees at once what its client asked for.

Objects are built with ``make(name, **fields)``: fields the layer does not have are
dropped and required fields not given get neutral values, so the same code serves any
recent layer (tlfast's bundled 228, Telethon's and kurigram's 229, ...).

May use: tlfast, _payloads.
"""

import asyncio
import logging
import os
import random
import struct
import time
from collections import OrderedDict, deque

import tlfast

log = logging.getLogger("tlfast.testing")

KEEP_MESSAGES = 10_000  # per account: the newest messages (getHistory), the newest updates
NOT_IMPLEMENTED = "METHOD_NOT_IMPLEMENTED_IN_TEST_SERVER"

# Wrappers a client puts around a request; the server answers the innermost query.
_WRAPPERS = {"invokeWithLayer", "initConnection", "invokeWithoutUpdates", "invokeAfterMsg",
             "invokeAfterMsgs", "invokeWithMessagesRange", "invokeWithTakeout",
             "invokeWithBusinessConnection", "invokeWithGooglePlayIntegrity",
             "invokeWithApnsSecret", "invokeWithReCaptcha"}
_INVOKE_WITH_LAYER = (0xDA9B0D0D).to_bytes(4, "little")
# Methods that work before a sign-in; any other answers 401 AUTH_KEY_UNREGISTERED then.
_NO_AUTH = {"help.getConfig", "help.getNearestDc", "auth.importBotAuthorization",
            "auth.sendCode", "auth.signIn", "auth.logOut", "help.getAppConfig",
            "langpack.getLangPack", "help.getCountriesList", "messages.getSplitRanges"}


class RpcError(Exception):
    """Raised by a handler: the request's answer is rpc_error(code, message)."""

    def __init__(self, code, message):
        super().__init__(f"{code} {message}")
        self.code, self.message = code, message


class Raw(bytes):
    """A handler's answer that is already TL bytes (a prepared getHistory payload)."""


def error_code_of(message):
    """The error code Telegram uses for an error message (420 floods, 401 auth, else 400)."""
    if message.startswith(("FLOOD_WAIT_", "FLOOD_PREMIUM_WAIT_", "SLOWMODE_WAIT_")):
        return 420
    if message in ("AUTH_KEY_UNREGISTERED", "AUTH_KEY_INVALID", "USER_DEACTIVATED",
                   "SESSION_REVOKED", "SESSION_EXPIRED"):
        return 401
    if message.startswith(("PHONE_MIGRATE_", "USER_MIGRATE_", "NETWORK_MIGRATE_", "FILE_MIGRATE_")):
        return 303
    if message in ("INTERNAL", "RPC_CALL_FAIL") or message.endswith("_INTERNAL"):
        return 500
    return 400


class Account:
    """A user or a bot: who it is, its message ids, pts and recent messages and updates."""

    def __init__(self, user_id, first_name, *, username=None, phone=None, bot=False,
                 last_name=None):
        self.id = user_id
        self.access_hash = struct.unpack("<q", os.urandom(8))[0]
        self.first_name, self.last_name = first_name, last_name
        self.username, self.phone, self.bot = username, phone, bot
        self.pts = 1
        self.next_msg_id = 1
        self.messages = OrderedDict()  # id -> message object, the newest KEEP_MESSAGES
        self.log = deque(maxlen=KEEP_MESSAGES)  # (pts, message) of updateNewMessage
        self.history_bytes = {}  # peer user id -> prepared messages.Messages bytes

    def keep(self, message):
        self.messages[message.id] = message
        if len(self.messages) > KEEP_MESSAGES:
            self.messages.popitem(last=False)


class Layer:
    """One API layer the server speaks (a tlfast Schema), and how objects are built in it."""

    def __init__(self, number, schema):
        self.schema = schema
        self.number = number
        self._by_type = {}
        for d in schema:
            if not d.is_function:
                self._by_type.setdefault(str(d.type), []).append(d)

    def make(self, name, _depth=0, **fields):
        """An object of constructor ``name`` with ``fields``; fields the layer lacks are
        dropped, required fields not given (or None) get neutral values (0, "", [], False,
        or the simplest constructor of their type)."""
        return self.schema.from_dict(self._plain(name, _depth, fields))

    def _plain(self, name, depth, fields):
        d = self.schema[name]
        kept = {"_": name}
        for p in d.params:
            if p.is_flags:
                continue
            value = fields.get(p.name)
            if value is not None or (p.flag is not None and p.name in fields):
                kept[p.name] = value
            elif p.flag is None:
                kept[p.name] = self._neutral(p.type, depth)
        return kept

    def _neutral(self, type_, depth=0):
        base = str(type_).lstrip("%")
        if base in ("int", "long", "int128", "int256", "#"):
            return 0
        if base == "double":
            return 0.0
        if base == "string":
            return ""
        if base == "bytes":
            return b""
        if base == "Bool":
            return False
        if base.lower().startswith("vector<"):
            return []
        options = self._by_type.get(base)
        if not options or depth > 4:
            raise ValueError(f"tlfast.testing: no neutral value for a {type_} field")
        simplest = min(options, key=lambda c: sum(1 for p in c.params
                                                  if p.flag is None and not p.is_flags))
        return self._plain(simplest.name, depth + 1, {})

    def convert(self, value):
        """``value`` (an object, a list of them, or a plain value) in this layer: an object
        of another layer is rebuilt by its TL names, as ``make`` builds one."""
        if isinstance(value, list):
            return [self.convert(v) for v in value]
        plan = getattr(value, "_plan", None)
        if plan is None or plan.schema is self.schema:
            return value
        return self.schema.from_dict(self._rebuilt(value.to_dict()))

    def _rebuilt(self, value):
        if isinstance(value, list):
            return [self._rebuilt(v) for v in value]
        if isinstance(value, dict):
            return self._plain(value["_"], 0, {k: self._rebuilt(v) for k, v in value.items()})
        return value


class Api:
    """State and method handlers of one test server, in its layers (``layers``: (number,
    Schema) pairs, the first is the default: a client's requests are decoded in it until
    the client names its layer with invokeWithLayer)."""

    def __init__(self, server, layers):
        self.server = server
        self.layers = {n: Layer(n, schema) for n, schema in layers}  # layer number -> Layer
        self.default = self.layers[layers[0][0]]
        self.schema = self.default.schema
        self.layer = self.default.number
        self.make = self.default.make  # objects are built and kept in the default layer
        self.accounts = {}
        self.by_token = {}
        self.by_phone = {}
        self.login_code = "12345"
        self._next_id = 7_000_000_000
        self._faults = {}  # TL method name -> deque of ("error", code, message) / ("delay", s)
        self.calls = {}  # TL method name -> how many times it was called (tests read it)
        self.clock = time.time  # the dates of messages and states (msg_ids keep real time)

    def layer_of(self, auth_key):
        """The Layer an auth key's client named with invokeWithLayer (else the default)."""
        return self.layers.get(auth_key.layer, self.default)

    def user(self, acc, viewer=None):
        # The field is "self" in TL (which make()'s keywords cannot carry) and "is_self" in
        # the schema of Telethon's layer (tlfast.telethon.schema()); _plain keeps the one the
        # layer has.
        is_self = viewer is not None and viewer.id == acc.id
        return self.schema.from_dict(self.default._plain("user", 0, {
            "id": acc.id, "access_hash": acc.access_hash, "first_name": acc.first_name,
            "last_name": acc.last_name, "username": acc.username, "phone": acc.phone,
            "bot": acc.bot, "bot_info_version": 1 if acc.bot else None,
            "self": is_self, "is_self": is_self}))

    def state(self, acc):
        return self.make("updates.state", pts=acc.pts, qts=0, date=int(self.clock()), seq=0,
                         unread_count=0)

    # accounts ---------------------------------------------------------------------------
    def add_account(self, first_name, *, user_id=None, username=None, phone=None, bot=False,
                    last_name=None):
        if user_id is None:
            self._next_id += 1
            user_id = self._next_id
        if user_id in self.accounts:
            raise ValueError(f"tlfast.testing: user id {user_id} exists")
        acc = Account(user_id, first_name, username=username, phone=phone, bot=bot,
                      last_name=last_name)
        self.accounts[user_id] = acc
        if phone:
            self.by_phone[phone.lstrip("+")] = acc
        return acc

    def add_bot(self, token, first_name="Test bot", username=None):
        """A bot that signs in with ``token`` ("<id>:<secret>", the id becomes the bot's)."""
        head, sep, secret = token.partition(":")
        if not (sep and head.isdigit() and secret):
            raise ValueError(f"tlfast.testing: a bot token is '<digits>:<secret>', not {token!r}")
        acc = self.accounts.get(int(head)) or self.add_account(
            first_name, user_id=int(head), username=username or f"bot{head}", bot=True)
        self.by_token[token] = acc
        return acc

    # messages and updates -----------------------------------------------------------
    def _message(self, owner, peer_id, sender_id, text, date, entities=None):
        msg = self.make("message", id=owner.next_msg_id, out=sender_id == owner.id,
                        from_id=self.make("peerUser", user_id=sender_id),
                        peer_id=self.make("peerUser", user_id=peer_id), date=date,
                        message=text, entities=entities)
        owner.next_msg_id += 1
        owner.keep(msg)
        return msg

    def _new_message_update(self, owner, msg):
        owner.pts += 1
        owner.log.append((owner.pts, msg))
        return self.make("updateNewMessage", message=msg, pts=owner.pts, pts_count=1)

    def deliver(self, sender, receiver, text, *, entities=None, date=None):
        """A private message: the sender's copy and the receiver's, each with its own id
        and pts. The receiver's is pushed to its connected sessions; the sender's update
        is returned."""
        date = int(self.clock()) if date is None else date
        mine = self._message(sender, receiver.id, sender.id, text, date, entities)
        upd = self._new_message_update(sender, mine)
        if receiver is not sender:
            theirs = self._message(receiver, sender.id, sender.id, text, date, entities)
            self.push(receiver, [self._new_message_update(receiver, theirs)], [sender, receiver])
        return mine, upd

    def push(self, acc, updates, users):
        """Send one ``updates`` with ``updates`` to every session signed in as ``acc``."""
        targets = self.server._sessions_of(acc.id)
        if not targets:
            return 0
        obj = self.make("updates", updates=updates, users=[self.user(u, acc) for u in users],
                        chats=[], date=int(self.clock()), seq=0)
        encoded = {}  # layer number -> the bytes of obj in that layer
        for session in targets:
            layer = self.layer_of(session.auth_key)
            data = encoded.get(layer.number)
            if data is None:
                data = encoded[layer.number] = layer.schema.dumps(layer.convert(obj))
            session.conn.send(session, None, raw=data)
        return len(targets)

    def prepare_history(self, owner, peer, count, seed=0):
        """``count`` messages between ``owner`` and ``peer`` (alternating senders, chat-like
        texts with entities as the bench payloads make), in both accounts' stores."""
        from tlfast import _payloads as P

        rng = random.Random(seed)
        date = int(self.clock()) - 60 * count
        for i in range(count):
            text = P._text(rng)
            entities = P._entities(self.schema.api, rng, text)
            sender = owner if i % 2 else peer
            self._message(owner, peer.id, sender.id, text, date + 60 * i, entities)
            if peer is not owner:
                self._message(peer, owner.id, sender.id, text, date + 60 * i, entities)

    # faults -----------------------------------------------------------------------------
    def add_fault(self, method, fault):
        self._faults.setdefault(method, deque()).append(fault)

    async def _apply_faults(self, name):
        queue = self._faults.get(name) or self._faults.get("*")
        if not queue:
            return
        kind, *args = queue.popleft()
        if kind == "delay":
            await asyncio.sleep(args[0])
        else:
            raise RpcError(*args)

    # requests ---------------------------------------------------------------------------
    async def handle(self, conn, session, msg_id, body):
        """Answer one API request (its own task): rpc_result or rpc_error."""
        try:
            layer = self._switch_layer(session.auth_key, body)
            try:
                req = layer.schema.loads(body)
            except tlfast.TLError as exc:
                cid = int.from_bytes(body[:4], "little")
                log.warning("request 0x%08x does not decode in layer %s: %s", cid, layer.number, exc)
                raise RpcError(400, f"INPUT_METHOD_INVALID_{cid}") from None
            while req.TL_NAME in _WRAPPERS:
                req = req.query
            name = req.TL_NAME
            self.calls[name] = self.calls.get(name, 0) + 1
            await self._apply_faults(name)
            me = self.accounts.get(session.auth_key.user_id)
            if me is None and name not in _NO_AUTH:
                raise RpcError(401, "AUTH_KEY_UNREGISTERED")
            handler = getattr(self, "on_" + name.replace(".", "_"), None)
            if handler is None:
                log.warning("not implemented: %s", name)
                raise RpcError(400, f"{NOT_IMPLEMENTED}: {name}")
            result = handler(req, me, session)
            if isinstance(result, Raw):
                data = bytes(result)
            else:
                data = layer.schema.dumps(layer.convert(result), type=str(layer.schema[name].type))
            conn.rpc_result(session, msg_id, data)
        except RpcError as exc:
            conn.rpc_error(session, msg_id, exc.code, exc.message)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - our bug: the client gets a clear error
            log.exception("handling a request failed")
            conn.rpc_error(session, msg_id, 500, f"TEST_SERVER_ERROR: {type(exc).__name__}: {exc}")

    def _switch_layer(self, auth_key, body):
        """The Layer to decode ``body`` in: the one it names if it is invokeWithLayer (from
        then on the auth key's layer, its answers and updates too), else the auth key's.
        A layer the server was not given answers rpc_error 400 LAYER_NOT_IN_TEST_SERVER."""
        if body[:4] == _INVOKE_WITH_LAYER and len(body) >= 8:
            number = int.from_bytes(body[4:8], "little", signed=True)
            if number not in self.layers:
                log.warning("a client speaks layer %s, the server has %s", number, sorted(self.layers))
                raise RpcError(400, f"LAYER_NOT_IN_TEST_SERVER: {number} (it has "
                                    f"{', '.join(map(str, sorted(self.layers)))})")
            auth_key.layer = number
        return self.layer_of(auth_key)

    def _peer(self, me, peer):
        kind = peer.TL_NAME
        if kind in ("inputPeerSelf", "inputUserSelf"):
            return me
        acc = self.accounts.get(getattr(peer, "user_id", None))
        if acc is None:
            raise RpcError(400, "PEER_ID_INVALID")
        return acc

    # the methods --------------------------------------------------------------------
    def on_help_getConfig(self, req, me, session):
        now = int(self.clock())
        port = self.server.port
        options = [self.make("dcOption", id=dc, ip_address="127.0.0.1", port=port)
                   for dc in (1, 2, 3, 4, 5)]
        return self.make("config", date=now, expires=now + 3600, this_dc=self.server.dc_id,
                         dc_options=options, chat_size_max=200, megagroup_size_max=200000,
                         forwarded_count_max=100, online_update_period_ms=210000,
                         offline_blur_timeout_ms=5000, offline_idle_timeout_ms=30000,
                         online_cloud_timeout_ms=300000, notify_cloud_delay_ms=30000,
                         notify_default_delay_ms=1500, push_chat_period_ms=60000,
                         push_chat_limit=2, edit_time_limit=172800, revoke_time_limit=2147483647,
                         revoke_pm_time_limit=2147483647, rating_e_decay=2419200,
                         stickers_recent_limit=200, channels_read_media_period=604800,
                         call_receive_timeout_ms=20000, call_ring_timeout_ms=90000,
                         call_connect_timeout_ms=30000, call_packet_timeout_ms=10000,
                         me_url_prefix="https://t.me/", caption_length_max=1024,
                         message_length_max=4096, webfile_dc_id=self.server.dc_id)

    def on_help_getNearestDc(self, req, me, session):
        dc = self.server.dc_id
        return self.make("nearestDc", country="ZZ", this_dc=dc, nearest_dc=dc)

    def on_messages_getSplitRanges(self, req, me, session):
        return []

    def _signed_in(self, session, acc):
        session.auth_key.user_id = acc.id
        return self.make("auth.authorization", user=self.user(acc, acc))

    def on_auth_importBotAuthorization(self, req, me, session):
        acc = self.by_token.get(req.bot_auth_token)
        if acc is None:
            try:
                acc = self.add_bot(req.bot_auth_token)
            except ValueError:
                raise RpcError(400, "ACCESS_TOKEN_INVALID") from None
        return self._signed_in(session, acc)

    def on_auth_sendCode(self, req, me, session):
        return self.make("auth.sentCode", type=self.make("auth.sentCodeTypeApp", length=len(self.login_code)),
                         phone_code_hash="tlfast-testing")

    def on_auth_signIn(self, req, me, session):
        if getattr(req, "phone_code", None) != self.login_code:
            raise RpcError(400, "PHONE_CODE_INVALID")
        phone = req.phone_number.lstrip("+")
        acc = self.by_phone.get(phone) or self.add_account("Test user", phone=phone)
        return self._signed_in(session, acc)

    def on_auth_logOut(self, req, me, session):
        session.auth_key.user_id = None
        return self.make("auth.loggedOut")

    def on_users_getUsers(self, req, me, session):
        out = []
        for u in req.id:
            try:
                out.append(self.user(self._peer(me, u), me))
            except RpcError:
                pass  # Telegram leaves out users it cannot find
        return out

    def on_users_getFullUser(self, req, me, session):
        acc = self._peer(me, req.id)
        full = self.make("userFull", id=acc.id, settings=self.make("peerSettings"),
                         notify_settings=self.make("peerNotifySettings"), common_chats_count=0)
        return self.make("users.userFull", full_user=full, chats=[], users=[self.user(acc, me)])

    def on_updates_getState(self, req, me, session):
        return self.state(me)

    def on_updates_getDifference(self, req, me, session):
        now = int(self.clock())
        if req.pts >= me.pts:
            return self.make("updates.differenceEmpty", date=now, seq=0)
        if not me.log or req.pts < me.log[0][0] - 1:
            return self.make("updates.differenceTooLong", pts=me.pts)
        new = [m for pts, m in me.log if pts > req.pts][:1000]
        users = {me.id}
        for m in new:
            users.add(m.peer_id.user_id)
        users = [self.user(self.accounts[u], me) for u in users if u in self.accounts]
        if req.pts + len(new) < me.pts:
            state = self.make("updates.state", pts=req.pts + len(new), qts=0, date=now, seq=0,
                              unread_count=0)
            return self.make("updates.differenceSlice", new_messages=new, other_updates=[],
                             new_encrypted_messages=[], chats=[], users=users,
                             intermediate_state=state)
        return self.make("updates.difference", new_messages=new, new_encrypted_messages=[],
                         other_updates=[], chats=[], users=users, state=self.state(me))

    def on_messages_sendMessage(self, req, me, session):
        peer = self._peer(me, req.peer)
        entities = self.default.convert(req.entities)  # kept in the default layer
        msg, upd = self.deliver(me, peer, req.message, entities=entities)
        return self.make("updates", updates=[
            self.make("updateMessageID", id=msg.id, random_id=req.random_id), upd],
            users=[self.user(me, me), self.user(peer, me)], chats=[], date=msg.date, seq=0)

    def on_messages_getHistory(self, req, me, session):
        peer = self._peer(me, req.peer)
        prepared = me.history_bytes.get(peer.id)
        if prepared is not None:
            return Raw(prepared)
        mine = [m for m in reversed(me.messages.values()) if m.peer_id.user_id == peer.id]
        total = len(mine)  # Telegram counts the whole chat, whatever page is asked for
        if req.offset_id:
            mine = [m for m in mine if m.id < req.offset_id]
        if req.max_id:
            mine = [m for m in mine if m.id < req.max_id]
        if req.min_id:
            mine = [m for m in mine if m.id > req.min_id]
        page = mine[max(req.add_offset, 0):max(req.add_offset, 0) + max(req.limit, 0)]
        users = [self.user(me, me)] + ([self.user(peer, me)] if peer is not me else [])
        if len(page) < total:
            return self.make("messages.messagesSlice", count=total, messages=page, chats=[],
                             users=users)
        return self.make("messages.messages", messages=page, chats=[], users=users)

    def on_contacts_resolveUsername(self, req, me, session):
        name = req.username.lstrip("@").lower()
        for acc in self.accounts.values():
            if acc.username and acc.username.lower() == name:
                return self.make("contacts.resolvedPeer", peer=self.make("peerUser", user_id=acc.id),
                                 chats=[], users=[self.user(acc, me)])
        raise RpcError(400, "USERNAME_NOT_OCCUPIED")

    def on_account_updateStatus(self, req, me, session):
        return True
