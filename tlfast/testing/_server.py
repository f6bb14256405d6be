"""The MTProto side of the test server: TCP on the loopback, the key exchange, encrypted
sessions and the service messages (core.telegram.org/mtproto), on tlfast's codec.

A connection goes through: framing detected from the first bytes (_transport) -> plain
messages (auth_key_id 0) for the key exchange -> encrypted messages (MTProto 2.0) whose
bodies are MTProto service messages, handled here, or API requests, handed to the API
(_api.Api) in their own task, so a slow or failing request never blocks the connection.

Rules a client checks, and this server keeps:
- server msg_ids grow within a session; answers end in binary 01, everything else in 11;
- seqno: 2*n+1 for a content-related message (n of them sent before), 2*n otherwise
  (acks, containers);
- a message under the wrong salt is refused with bad_server_salt (the salt to use), and
  a new session gets new_session_created before its first answer;
- the client's content-related messages (odd seqno: requests, pings, each message of a
  container) are acknowledged by msgs_ack, in batches (ACK_DELAY after the first of a
  batch), a resent one again;
- ping_delay_disconnect is answered with pong, and the connection closed disconnect_delay
  seconds later unless another ping_delay_disconnect comes first.

May use: tlfast, testing._crypto, testing._transport.
"""

import asyncio
import gzip
import logging
import os
import random
import struct
import time
import zlib
from collections import deque

import tlfast

from . import _crypto as C
from . import _transport as T

log = logging.getLogger("tlfast.testing")

# MTProto constructor ids the server reads by hand (containers and gzip are unwrapped
# before decoding, so one unknown request inside a container cannot spoil its neighbours)
MSG_CONTAINER = 0x73F1F8DC
GZIP_PACKED = 0x3072CFA1
RPC_RESULT = 0xF35C6D01
MAX_INFLATE = 16 << 20
# A client's content-related messages are acknowledged (msgs_ack) in batches: at most this
# long after the first one of a batch, or at once when this many are waiting.
ACK_DELAY = 0.05
ACK_BATCH = 1024

# p and q of the pq challenge: primes below 2**28, so that the clients' factorisation (pure
# Python) takes milliseconds; Telegram's are near 2**31, which the clients also handle.
_PQ_BITS = 28


class MTProtoError(Exception):
    """What a client sent breaks MTProto (the connection is closed, the reason logged)."""


class AuthKey:
    """An authorization key the server made with a client, and what hangs on it."""

    def __init__(self, key, salt):
        self.key = key
        self.id = C.sha1(key)[-8:]
        self.salt = salt
        self.user_id = None  # set by a sign-in (_api)
        self.layer = None  # the layer its client named with invokeWithLayer (_api)


class Session:
    """One MTProto session (auth key + session_id): msg_id and seqno counters."""

    def __init__(self, auth_key, session_id, first_msg_id):
        self.auth_key = auth_key
        self.session_id = session_id
        self.first_msg_id = first_msg_id
        self.last_msg_id = 0
        self.content_sent = 0
        self.seen = deque(maxlen=512)  # client msg_ids already handled (duplicates ignored)
        self.acks = []  # msg_ids of content-related client messages not yet acknowledged
        self.conn = None  # the connection that last spoke for this session

    def next_msg_id(self, answer):
        now = int(time.time() * 2 ** 32) & ~3
        self.last_msg_id = max(now, self.last_msg_id + 4)
        return self.last_msg_id | (1 if answer else 3)

    def next_seqno(self, content):
        if not content:
            return self.content_sent * 2
        self.content_sent += 1
        return self.content_sent * 2 - 1


class Connection:
    """One TCP client: its framing, its key exchange in progress, its writer."""

    def __init__(self, server, reader, writer):
        self.server = server
        self.reader = reader
        self.writer = writer
        self.framing = None
        self.exchange = {}  # the key exchange's state (nonces, a)
        self.sessions = set()
        self.closed = False
        self.tasks = set()
        self._last_plain_id = 0
        self._disconnect = None  # the timer of the last ping_delay_disconnect
        self.held = None  # frames kept back (Server.hold), else None

    # the connection's life ----------------------------------------------------------
    async def run(self):
        peer = self.writer.get_extra_info("peername")
        try:
            self.framing = await T.detect(self.reader)
            self.server.stats["connections " + self.framing.name] += 1
            log.debug("%s speaks %s", peer, self.framing.name)
            while True:
                packet = await self.framing.read(self.reader)
                await self.handle_packet(packet)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass  # the client went away
        except (T.TransportError, MTProtoError) as exc:
            log.warning("closing %s: %s", peer, exc)
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - a bug of ours: say it loudly, keep serving others
            log.exception("closing %s after an unexpected error", peer)
        finally:
            self.close()

    def close(self):
        if self.closed:
            return
        self.closed = True
        if self._disconnect is not None:
            self._disconnect.cancel()
        for task in list(self.tasks):
            task.cancel()
        for s in self.sessions:
            if s.conn is self:
                s.conn = None
        self.server._connections.discard(self)
        try:
            self.writer.close()
        except RuntimeError:  # the loop is closing
            pass

    def spawn(self, coro):
        task = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    def write_packet(self, payload):
        if self.closed:
            return
        if self.held is not None:
            self.held.append(self.framing.frame(payload))
        else:
            self.writer.write(self.framing.frame(payload))

    def release(self):
        """Write the frames kept back since Server.hold, in one write."""
        held, self.held = self.held, None
        if held and not self.closed:
            self.writer.write(b"".join(held))

    async def handle_packet(self, packet):
        if len(packet) == 4:
            raise MTProtoError(f"the client sent transport error {struct.unpack('<i', packet)[0]}")
        if len(packet) < 24:
            raise MTProtoError(f"packet of {len(packet)} bytes is too short for MTProto")
        if packet[:8] == bytes(8):
            self.handle_plain(packet)
        else:
            await self.handle_encrypted(packet)

    # the key exchange (plain messages) ----------------------------------------------
    def handle_plain(self, packet):
        length, = struct.unpack_from("<i", packet, 16)
        body = packet[20:20 + length]
        if length < 4 or len(body) != length:
            raise MTProtoError(f"plain message announces {length} bytes, carries {len(packet) - 20}")
        try:
            req = tlfast.schemas.mtproto.loads(body)
        except tlfast.TLError as exc:
            raise MTProtoError(f"key exchange: cannot decode the client's message: {exc}") from None
        handler = {"req_pq_multi": self.req_pq, "req_pq": self.req_pq,
                   "req_DH_params": self.req_dh_params,
                   "set_client_DH_params": self.set_client_dh_params}.get(req.TL_NAME)
        if handler is None:
            raise MTProtoError(f"key exchange: unexpected {req.TL_NAME} before an auth key")
        answer = handler(req)
        msg_id = max(int(time.time() * 2 ** 32) & ~3, self._last_plain_id + 4)
        self._last_plain_id = msg_id
        data = tlfast.schemas.mtproto.dumps(answer)
        self.write_packet(bytes(8) + struct.pack("<qi", msg_id | 1, len(data)) + data)

    def req_pq(self, req):
        mt = tlfast.schemas.mtproto.api
        rng = random.Random(os.urandom(8))
        p, q = sorted((C.random_prime(_PQ_BITS, rng), C.random_prime(_PQ_BITS, rng)))
        server_nonce = int.from_bytes(os.urandom(16), "little", signed=True)
        self.exchange = {"nonce": req.nonce, "server_nonce": server_nonce, "p": p, "q": q}
        return mt.resPQ(nonce=req.nonce, server_nonce=server_nonce,
                        pq=(p * q).to_bytes(8, "big"),
                        server_public_key_fingerprints=[self.server.rsa_key.fingerprint])

    def _check_nonces(self, req, step):
        ex = self.exchange
        if not ex or req.nonce != ex["nonce"] or req.server_nonce != ex["server_nonce"]:
            raise MTProtoError(f"key exchange: {step} with nonces that are not this exchange's")

    def req_dh_params(self, req):
        mt = tlfast.schemas.mtproto.api
        self._check_nonces(req, "req_DH_params")
        ex = self.exchange
        if req.public_key_fingerprint != self.server.rsa_key.fingerprint:
            raise MTProtoError(f"key exchange: unknown RSA key {req.public_key_fingerprint}")
        if (int.from_bytes(req.p, "big"), int.from_bytes(req.q, "big")) != (ex["p"], ex["q"]):
            raise MTProtoError("key exchange: p and q are not the factors of pq")
        # The clients encrypt sha1(data) + data + random padding (255 bytes) with raw RSA.
        try:
            block = self.server.rsa_key.decrypt_block(req.encrypted_data)
        except ValueError as exc:
            raise MTProtoError(f"key exchange: {exc}") from None
        inner, used = _read_hashed(block[1:], "p_q_inner_data")
        if not inner.TL_NAME.startswith("p_q_inner_data"):
            raise MTProtoError(f"key exchange: RSA block holds {inner.TL_NAME}")
        self._check_nonces(inner, "p_q_inner_data")
        new_nonce = inner.new_nonce.to_bytes(32, "little", signed=True)
        server_nonce = ex["server_nonce"].to_bytes(16, "little", signed=True)
        key, iv = C.tmp_aes(new_nonce, server_nonce)
        while True:
            a = int.from_bytes(os.urandom(256), "big")
            g_a = pow(C.DH_G, a, C.DH_PRIME)
            if _dh_safe(g_a):
                break
        ex.update(new_nonce=new_nonce, a=a, key=key, iv=iv)
        answer = tlfast.schemas.mtproto.dumps(mt.server_DH_inner_data(
            nonce=ex["nonce"], server_nonce=ex["server_nonce"], g=C.DH_G,
            dh_prime=C.DH_PRIME.to_bytes(256, "big"), g_a=g_a.to_bytes(256, "big"),
            server_time=int(time.time())))
        plain = C.sha1(answer) + answer
        plain += os.urandom(-len(plain) % 16)
        return mt.server_DH_params_ok(nonce=ex["nonce"], server_nonce=ex["server_nonce"],
                                      encrypted_answer=C.ige_encrypt(plain, key, iv))

    def set_client_dh_params(self, req):
        mt = tlfast.schemas.mtproto.api
        self._check_nonces(req, "set_client_DH_params")
        ex = self.exchange
        if "a" not in ex:
            raise MTProtoError("key exchange: set_client_DH_params before req_DH_params")
        if len(req.encrypted_data) % 16:
            raise MTProtoError("key exchange: client DH data is not whole AES blocks")
        plain = C.ige_decrypt(req.encrypted_data, ex["key"], ex["iv"])
        inner, _ = _read_hashed(plain, "client_DH_inner_data")
        self._check_nonces(inner, "client_DH_inner_data")
        g_b = int.from_bytes(inner.g_b, "big")
        if not _dh_safe(g_b):
            raise MTProtoError("key exchange: g_b is outside the safe range")
        key = pow(g_b, ex["a"], C.DH_PRIME).to_bytes(256, "big")
        server_nonce = ex["server_nonce"].to_bytes(16, "little", signed=True)
        salt, = struct.unpack("<q", bytes(x ^ y for x, y in zip(ex["new_nonce"][:8], server_nonce[:8])))
        self.server._add_key(AuthKey(key, salt))
        self.server.stats["auth_keys"] += 1
        # Telethon keeps the key as its minimal big-endian bytes: one key in 256 starts
        # with a zero byte, and then its copy is shorter (another key id, another
        # new_nonce_hash1). The server knows that copy too and hashes it, which Telethon
        # checks; Pyrogram, whose copy is the 256 bytes, does not check this hash.
        short = key.lstrip(b"\0")
        if short != key:
            self.server._add_key(AuthKey(short, salt))
        digest = C.sha1(ex["new_nonce"] + b"\x01" + C.sha1(short)[:8])
        self.exchange = {}
        return mt.dh_gen_ok(nonce=inner.nonce, server_nonce=inner.server_nonce,
                            new_nonce_hash1=int.from_bytes(digest[4:20], "little", signed=True))

    # encrypted messages -------------------------------------------------------------
    async def handle_encrypted(self, packet):
        server = self.server
        auth_key = server._keys.get(packet[:8])
        if auth_key is None:
            # Telegram's answer to an unknown key: transport error -404, then close.
            self.write_packet(struct.pack("<i", -404))
            raise MTProtoError(f"unknown auth key id {packet[:8].hex()} (answered -404)")
        msg_key, data = packet[8:24], packet[24:]
        if len(data) % 16:
            raise MTProtoError("encrypted data is not whole AES blocks")
        key, iv = C.message_key_iv(auth_key.key, msg_key, 0)
        plain = C.ige_decrypt(data, key, iv)
        if C.msg_key_of(auth_key.key, plain, 0) != msg_key:
            raise MTProtoError("msg_key does not match the decrypted message")
        salt, session_id, msg_id, seqno, length = struct.unpack_from("<q8sqii", plain)
        body = plain[32:32 + length]
        if length < 4 or len(body) != length or not 12 <= len(plain) - 32 - length <= 1024:
            raise MTProtoError(f"message length {length} does not fit its {len(plain)} bytes")
        session = server._sessions.get((auth_key.id, session_id))
        fresh = session is None
        if fresh:
            session = Session(auth_key, session_id, msg_id)
        if session.conn is not self:
            # A connection serves one session at a time: the client moved to a new one
            # (Telethon does after a reconnect), so pushes stop going to the old one here.
            for old in self.sessions:
                if old.conn is self:
                    old.conn = None
            self.sessions = {session}
            session.conn = self
        if msg_id % 4 != 0:
            return self.notify_bad_msg(session, msg_id, seqno, 18)  # msg_id not divisible by 4
        skew = (msg_id >> 32) - time.time()
        if skew < -300 or skew > 30:
            return self.notify_bad_msg(session, msg_id, seqno, 16 if skew < 0 else 17)
        if salt != auth_key.salt:
            server.stats["bad_server_salt"] += 1
            self.send(session, tlfast.schemas.mtproto.api.bad_server_salt(
                bad_msg_id=msg_id, bad_msg_seqno=seqno, error_code=48,
                new_server_salt=auth_key.salt), content=False, answer=True)
            return
        if fresh:
            server.stats["new_session_created"] += 1
            server._sessions[(auth_key.id, session_id)] = session
            self.send(session, tlfast.schemas.mtproto.api.new_session_created(
                first_msg_id=msg_id, unique_id=int.from_bytes(os.urandom(8), "little", signed=True),
                server_salt=auth_key.salt))
        self.handle_body(session, msg_id, seqno, body)

    def notify_bad_msg(self, session, msg_id, seqno, code):
        self.send(session, tlfast.schemas.mtproto.api.bad_msg_notification(
            bad_msg_id=msg_id, bad_msg_seqno=seqno, error_code=code), content=False, answer=True)

    def handle_body(self, session, msg_id, seqno, body, depth=0):
        if seqno & 1:  # content-related (a resent one too: its ack may have been lost)
            self.ack(session, msg_id)
        if msg_id in session.seen:
            return  # a resent message already handled: its answer went out once
        session.seen.append(msg_id)
        cid = int.from_bytes(body[:4], "little")
        if cid == MSG_CONTAINER and depth == 0:
            for inner_id, inner_seqno, inner_body in _container(body):
                self.handle_body(session, inner_id, inner_seqno, inner_body, 1)
            return
        if cid == GZIP_PACKED:
            r = tlfast.Reader(body)
            r.read_int()
            packed = r.read_bytes()
            try:
                d = zlib.decompressobj(31)
                inner = d.decompress(packed, MAX_INFLATE)
            except zlib.error as exc:
                raise MTProtoError(f"gzip_packed: {exc}") from None
            if d.unconsumed_tail:
                raise MTProtoError(f"gzip_packed inflates beyond {MAX_INFLATE} bytes")
            session.seen.pop()  # the inner body is the same message (acknowledged above)
            return self.handle_body(session, msg_id, 0, inner, depth)
        mt = tlfast.schemas.mtproto
        if cid in self.server._service_ids:
            try:
                req = mt.loads(body)
            except tlfast.TLError as exc:
                raise MTProtoError(f"cannot decode a service message: {exc}") from None
            return self.handle_service(session, msg_id, req)
        self.spawn(self.server.api.handle(self, session, msg_id, body))

    def handle_service(self, session, msg_id, req):
        mt = tlfast.schemas.mtproto.api
        name = req.TL_NAME
        if name in ("ping", "ping_delay_disconnect"):
            self.send(session, mt.pong(msg_id=msg_id, ping_id=req.ping_id), answer=True)
            if name == "ping_delay_disconnect":
                self.disconnect_after(req.disconnect_delay)
        elif name == "get_future_salts":
            now = int(time.time())
            salt = session.auth_key.salt
            self.send(session, mt.future_salts(req_msg_id=msg_id, now=now, salts=[
                mt.future_salt(valid_since=now, valid_until=now + 3600, salt=salt)]), answer=True)
        elif name == "destroy_session":
            gone = self.server._sessions.pop((session.auth_key.id, struct.pack("<q", req.session_id)), None)
            ctor = mt.destroy_session_ok if gone else mt.destroy_session_none
            self.rpc_result(session, msg_id, tlfast.schemas.mtproto.dumps(ctor(session_id=req.session_id)))
        elif name == "rpc_drop_answer":
            self.rpc_result(session, msg_id, tlfast.schemas.mtproto.dumps(mt.rpc_answer_unknown()))
        elif name == "msgs_state_req":  # every message asked about: "received"
            self.send(session, mt.msgs_state_info(req_msg_id=msg_id, info=bytes([4]) * len(req.msg_ids)),
                      answer=True)
        # msgs_ack, msg_resend_req, http_wait and the rest: nothing to answer

    def disconnect_after(self, delay):
        """ping_delay_disconnect: close this connection ``delay`` seconds from now, unless
        another ping_delay_disconnect comes first (its timer replaces this one)."""
        if self._disconnect is not None:
            self._disconnect.cancel()
        self._disconnect = asyncio.get_running_loop().call_later(max(delay, 0), self._ping_timeout)

    def _ping_timeout(self):
        self.server.stats["ping_disconnects"] += 1
        log.debug("closing a connection: no ping_delay_disconnect in time")
        self.close()

    # sending ------------------------------------------------------------------------
    def ack(self, session, msg_id):
        """Acknowledge a client's message: in one msgs_ack with the others of its batch."""
        session.acks.append(msg_id)
        if len(session.acks) >= ACK_BATCH:
            self.flush_acks(session)
        elif len(session.acks) == 1:
            asyncio.get_running_loop().call_later(ACK_DELAY, self.flush_acks, session)

    @staticmethod
    def flush_acks(session):
        ids, session.acks = session.acks, []
        conn = session.conn
        if ids and conn is not None and not conn.closed:  # else the client resends them
            conn.send(session, tlfast.schemas.mtproto.api.msgs_ack(msg_ids=ids), content=False)

    def send(self, session, obj, *, content=True, answer=False, raw=None):
        """Send one message of ``session``: a tlfast MTProto object, or ``raw`` bytes."""
        body = raw if raw is not None else tlfast.schemas.mtproto.dumps(obj)
        msg_id = session.next_msg_id(answer)
        seqno = session.next_seqno(content)
        auth_key = session.auth_key
        plain = struct.pack("<q8sqii", auth_key.salt, session.session_id, msg_id, seqno, len(body)) + body
        plain += os.urandom(12 + (-(len(plain) + 12) % 16))
        msg_key = C.msg_key_of(auth_key.key, plain, 8)
        key, iv = C.message_key_iv(auth_key.key, msg_key, 8)
        self.write_packet(auth_key.id + msg_key + C.ige_encrypt(plain, key, iv))
        return msg_id

    def rpc_result(self, session, req_msg_id, result_bytes):
        """rpc_result of ``req_msg_id`` around TL bytes (gzip_packed when large)."""
        if len(result_bytes) > 512:
            packed = gzip.compress(result_bytes, 6, mtime=0)
            w = tlfast.Writer()
            w.write_uint(GZIP_PACKED)
            w.write_bytes(packed)
            result_bytes = w.getvalue()
        self.send(session, None, answer=True,
                  raw=struct.pack("<Iq", RPC_RESULT, req_msg_id) + result_bytes)

    def rpc_error(self, session, req_msg_id, code, message):
        err = tlfast.schemas.mtproto.api.rpc_error(error_code=code, error_message=message)
        self.rpc_result(session, req_msg_id, tlfast.schemas.mtproto.dumps(err))

    async def drain(self):
        if not self.closed:
            await self.writer.drain()


def _container(body):
    """(msg_id, seqno, body) of each message of a msg_container, checked against its size."""
    r = tlfast.Reader(body)
    r.read_int()
    count = r.read_int()
    if count < 0 or count * 16 > r.remaining():
        raise MTProtoError(f"msg_container of {count} messages in {len(body)} bytes")
    out = []
    for _ in range(count):
        msg_id, seqno, n = r.read_long(), r.read_int(), r.read_int()
        start = r.tell()
        if n < 4 or n > r.remaining() or n % 4:
            raise MTProtoError(f"msg_container: message {msg_id} of {n} bytes at offset {start}")
        out.append((msg_id, seqno, body[start:start + n]))
        r.seek(start + n)
    return out


def _read_hashed(data, what):
    """``sha1(obj) + obj + padding``, as the key exchange wraps its objects: the object."""
    r = tlfast.Reader(data[20:])
    try:
        obj = r.read_object()
    except tlfast.TLError as exc:
        raise MTProtoError(f"key exchange: {what} does not decode: {exc}") from None
    if C.sha1(data[20:20 + r.tell()]) != data[:20]:
        raise MTProtoError(f"key exchange: {what} fails its SHA-1 check")
    return obj, r.tell()


def _dh_safe(x):
    # core.telegram.org/mtproto/security_guidelines: 2^(2048-64) < x < dh_prime - 2^(2048-64)
    margin = 1 << (2048 - 64)
    return margin < x < C.DH_PRIME - margin
