"""tlfast.testing's server itself (issue 21): its framings, its errors on bad input, its key,
getDifference after a lost update, delays, and ``python -m tlfast serve`` on each engine.

Clients are Telethon's (it speaks all three framings), stock: the drop-in's own live
tests are test_live_telethon.py and test_live_pyrogram.py.
"""

import asyncio
import contextlib
import gzip
import os
import struct
import subprocess
import sys
import time

import pytest

telethon = pytest.importorskip("telethon")
from telethon import events  # noqa: E402
from telethon.errors import RPCError  # noqa: E402
from telethon.network import (ConnectionTcpAbridged, ConnectionTcpFull,  # noqa: E402
                              ConnectionTcpIntermediate)
from telethon.tl.tlobject import TLRequest  # noqa: E402

import tlfast  # noqa: E402
import tlfast.telethon as TT  # noqa: E402
import tlfast.testing as T  # noqa: E402
from tlfast.testing import _crypto as C  # noqa: E402
from tlfast.testing import _server, _transport  # noqa: E402

import _helpers as H  # noqa: E402
import _live as L  # noqa: E402

SCHEMA = TT.schema()
TOKEN = "777:server-test"


@pytest.fixture(autouse=True)
def stock_telethon():
    TT.uninstall()


@pytest.mark.parametrize("connection, name", [
    (ConnectionTcpFull, "full"), (ConnectionTcpIntermediate, "intermediate"),
    (ConnectionTcpAbridged, "abridged")], ids=["full", "intermediate", "abridged"])
def test_each_framing(connection, name):
    async def scenario():
        async with T.Server(SCHEMA) as server:
            # nothing listens beyond the loopback
            assert {s.getsockname()[0] for s in server._listener.sockets} == {"127.0.0.1"}
            client = T.telethon_client(server, connection=connection)
            try:
                await client.start(bot_token=TOKEN)
                me = await client.get_me()
            finally:
                await client.disconnect()
            return me.id, me.is_self, dict(server.stats)
    me_id, is_self, stats = L.run(scenario())
    assert me_id == 777
    assert is_self  # the server marks the user's own User object, as Telegram does
    assert stats[f"connections {name}"] == 1 and stats["auth_keys"] == 1
    assert stats["new_session_created"] == 1


async def _raw_exchange(server, data):
    """Send ``data`` on a new connection; everything the server sends until it closes."""
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(data)
    await writer.drain()
    got = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    return got


def test_garbage_is_refused_with_a_clear_reason(caplog):
    async def scenario():
        async with T.Server(SCHEMA) as server:
            return await _raw_exchange(server, b"GET / HTTP/1.1\r\n\r\n")
    assert L.run(scenario()) == b""  # closed, nothing said
    assert "unknown framing: the first bytes 47455420" in caplog.text


def test_unknown_auth_key_gets_404():
    async def scenario():
        async with T.Server(SCHEMA) as server:
            packet = os.urandom(8) + os.urandom(16) + os.urandom(32)  # key id, msg_key, data
            return await _raw_exchange(server, b"\xef" + bytes([len(packet) // 4]) + packet)
    assert L.run(scenario()) == b"\x01" + struct.pack("<i", -404)  # abridged: 1 word


def test_unknown_request_answers_a_named_rpc_error():
    class Bogus(TLRequest):
        CONSTRUCTOR_ID = 0x0BADC0DE
        SUBCLASS_OF_ID = 0

        def _bytes(self):
            return struct.pack("<I", self.CONSTRUCTOR_ID)

    async def scenario():
        async with T.Server(SCHEMA) as server:
            client = T.telethon_client(server)
            try:
                await client.start(bot_token=TOKEN)
                with pytest.raises(RPCError) as info:
                    await client(Bogus())
                return info.value
            finally:
                await client.disconnect()
    err = L.run(scenario())
    assert (err.code, err.message) == (400, f"INPUT_METHOD_INVALID_{0x0BADC0DE}")


def test_test_key_is_what_telethon_computes():
    import rsa
    from telethon.crypto import rsa as trsa

    key = T.test_rsa_key()
    assert key is T.test_rsa_key()  # one per process (and the same in every process)
    assert T.RSAKey.generate(0).n == key.n
    public = rsa.PublicKey.load_pkcs1(key.public_pem())
    assert (public.n, public.e) == (key.n, key.e)
    assert trsa._compute_fingerprint(public) == key.fingerprint
    block = os.urandom(255)
    assert key.decrypt_block(pow(int.from_bytes(block, "big"), key.e, key.n).to_bytes(256, "big")) == b"\0" + block


@contextlib.asynccontextmanager
async def _bot_receiving(server, record=lambda event: event.raw_text):
    """A Telethon bot signed in on ``server`` and Alice, who can write to it: yields
    (bot account, Alice, the list its NewMessage handler fills with ``record(event)``)."""
    bot_acc = server.add_bot(TOKEN)
    alice = server.add_user("Alice")
    client = T.telethon_client(server)
    got = []

    @client.on(events.NewMessage)
    async def handler(event):
        got.append(record(event))
    try:
        await client.start(bot_token=TOKEN)
        yield bot_acc, alice, got
    finally:
        await client.disconnect()


def test_lost_update_is_fetched_with_get_difference():
    """An update the client never got (its pts skipped) is served by getDifference."""
    async def scenario():
        async with T.Server(SCHEMA) as server, _bot_receiving(server) as (bot_acc, alice, got):
            api = server.api
            lost = api._message(bot_acc, alice.id, alice.id, "lost on the way", int(time.time()))
            api._new_message_update(bot_acc, lost)  # logged, never sent
            await server.push_messages(bot_acc, 1, sender=alice, text="pushed")
            await L.wait_until(lambda: len(got) == 2, what="both messages")
            return got, server.calls("updates.getDifference")
    got, diffs = L.run(scenario())
    assert sorted(got) == ["lost on the way", "pushed"] and diffs >= 1


def test_delay_and_rpc_error_codes():
    async def scenario():
        async with T.Server(SCHEMA) as server:
            client = T.telethon_client(server)
            try:
                await client.start(bot_token=TOKEN)
                server.delay("users.getUsers", 0.5)
                t0 = time.monotonic()
                await client.get_me()
                slow = time.monotonic() - t0
                server.fail("users.getUsers", "SOME_TEST_ERROR_7", code=403)
                with pytest.raises(RPCError) as info:
                    await client.get_me()
                return slow, info.value
            finally:
                await client.disconnect()
    slow, err = L.run(scenario())
    assert slow >= 0.45
    assert (type(err).__name__, err.code, err.message) == ("ForbiddenError", 403, "SOME_TEST_ERROR_7")
    assert T._api.error_code_of("FLOOD_WAIT_3") == 420
    assert T._api.error_code_of("AUTH_KEY_UNREGISTERED") == 401


@pytest.mark.parametrize("framing", ["abridged", "intermediate", "padded", "full"])
def test_framings_round_trip_and_refuse_broken_frames(framing):
    def make():
        return {"abridged": _transport.Abridged, "intermediate": _transport.Intermediate,
                "padded": lambda: _transport.Intermediate(padded=True),
                "full": lambda: _transport.Full(None)}[framing]()

    async def scenario():
        out = []
        # shaped as encrypted messages (24 + 16k bytes), which padded intermediate needs
        for size in (40, 24 + 16 * 50, 24 + 16 * 17500):
            payload = b"\x01" + os.urandom(size - 1)
            reader = asyncio.StreamReader()
            reader.feed_data(make().frame(payload))
            out.append(await make().read(reader) == payload)
        return out
    assert L.run(scenario()) == [True, True, True]

    async def broken_crc():
        frame = bytearray(_transport.Full(None).frame(b"abcd" * 4))
        frame[9] ^= 1
        reader = asyncio.StreamReader()
        reader.feed_data(bytes(frame))
        await _transport.Full(None).read(reader)
    if framing == "full":
        with pytest.raises(_transport.TransportError, match="CRC32 mismatch in frame 0"):
            L.run(broken_crc())
    async def oversize():
        reader = asyncio.StreamReader()
        reader.feed_data(b"\x7f" + (_transport.MAX_PACKET // 4 + 1).to_bytes(3, "little"))
        await _transport.Abridged().read(reader)
    with pytest.raises(_transport.TransportError, match="more than this server takes"):
        L.run(oversize())


@pytest.fixture(params=["cython", "python"])
def serve_backend(request):
    if request.param == "cython" and H.pure_requested():
        pytest.skip("TLFAST_BACKEND=python: the cython server is not tested")
    return request.param


def test_serve_command_on_each_engine(serve_backend):
    """``python -m tlfast serve`` in a child process on each engine; a client in this
    process finds it by port alone (the test key is the same in every process). It serves
    layer 190 first (the default) and Telethon's: Telethon is answered in its own."""
    env = dict(os.environ, TLFAST_BACKEND=serve_backend)
    proc = subprocess.Popen([sys.executable, "-m", "tlfast", "serve", "--bot", TOKEN,
                             "--schema", str(H.DATA / "api-layer190.tl"), "--schema", "telethon:"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        first = proc.stdout.readline()
        assert f"(layers 190, {SCHEMA.layer}, DC 2, tlfast {serve_backend})" in first, (
            first + proc.stderr.read())
        port = int(first.split("127.0.0.1:")[1].split()[0])

        async def scenario():
            client = T.telethon_client(port)
            try:
                await client.start(bot_token=TOKEN)
                me = await client.get_me()
                history = await client.get_messages(await client.get_input_entity("alice"), limit=30)
                return me.id, len(history), history.total
            finally:
                await client.disconnect()
        assert L.run(scenario()) == (777, 30, 100)
    finally:
        proc.terminate()
        proc.wait(10)


def test_bench_live_smoke(monkeypatch, backend):
    """``python -m tlfast bench --live``'s measurement, shortened: every row measured for
    stock Telethon and the drop-in on this backend, and the table prints."""
    from tlfast import _bench_live as BL

    monkeypatch.setattr(BL, "CALLS", 2)
    monkeypatch.setattr(BL, "PUSHED", 200)
    monkeypatch.setattr(BL, "PUSH_WINDOWS", 2)
    res = BL.measure("telethon", modes=(backend.NAME,), rounds=1)  # (stock: the same path)
    rows = {"getHistory(100), raw", "getHistory(100), client", "1000 pushed updates"}
    assert set(res[backend.NAME]) == rows
    assert {row: len(v) for row, v in res[backend.NAME].items()} == {
        "getHistory(100), raw": 1, "getHistory(100), client": 1, "1000 pushed updates": 2}
    assert all(x > 0 for v in res[backend.NAME].values() for x in v), res
    assert not TT.installed()  # measure() leaves Telethon as it found it
    for mode in ("stock", "cython", "python"):
        res.setdefault(mode, res[backend.NAME])
    table = BL.format_report({"telethon": res, "kurigram": "not installed"})
    assert "getHistory(100), raw" in table and "kurigram: not installed" in table


def test_bench_live_takes_only_quick():
    proc = subprocess.run([sys.executable, "-m", "tlfast", "bench", "--live", "--json", "x.json"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert proc.stderr.strip() == ("tlfast: --live takes only --quick (the other options are "
                                   "the codec table's)")


def test_msg_id_and_seqno_rules_as_the_client_receives_them(monkeypatch):
    """Every message the server sends, as Telethon decrypts it: msg_ids grow within a
    session, end in 01 for answers (rpc_result, pong, bad_server_salt) and 11 otherwise;
    seqno is 2n+1 for content-related messages and even for the rest."""
    from telethon.network.mtprotostate import MTProtoState

    got = []
    decrypt = MTProtoState.decrypt_message_data

    def spy(self, body):
        message = decrypt(self, body)
        if message is not None:
            got.append((self.id, message.msg_id, message.seq_no, type(message.obj).__name__))
        return message
    monkeypatch.setattr(MTProtoState, "decrypt_message_data", spy)

    async def scenario():
        async with T.Server(SCHEMA) as server:
            bot_acc = server.add_bot(TOKEN)
            alice = server.add_user("Alice")
            client = T.telethon_client(server)
            try:
                await client.start(bot_token=TOKEN)
                server.new_salt()
                await client.get_me()
                await server.push_messages(bot_acc, 3, sender=alice)
                await client.send_message(alice.id, "hi")
                await L.wait_until(lambda: sum(1 for g in got if g[3] == "Updates") >= 3,
                                   what="the pushed updates")
                await L.wait_until(lambda: any(g[3] == "MsgsAck" for g in got),
                                   what="the server's acknowledgement of Telethon's messages")
            finally:
                await client.disconnect()
    L.run(scenario())
    answers = {"RpcResult", "Pong", "BadServerSalt", "BadMsgNotification"}
    assert {g[3] for g in got} >= {"RpcResult", "BadServerSalt", "NewSessionCreated", "Updates",
                                   "MsgsAck"}
    by_session = {}
    for session, msg_id, seqno, kind in got:
        by_session.setdefault(session, []).append((msg_id, seqno, kind))
    for msgs in by_session.values():
        ids = [m[0] for m in msgs]
        assert ids == sorted(ids) and len(set(ids)) == len(ids)
        content = 0
        for msg_id, seqno, kind in msgs:
            assert msg_id % 4 == (1 if kind in answers else 3), (kind, msg_id)
            if kind in ("BadServerSalt", "BadMsgNotification", "MsgsAck"):
                assert seqno == 2 * content, (kind, seqno)
            else:
                content += 1
                assert seqno == 2 * content - 1, (kind, seqno)


def test_full_framing_counts_its_frames():
    async def scenario():
        sender, receiver = _transport.Full(None), _transport.Full(None)
        reader = asyncio.StreamReader()
        for payload in (b"a" * 40, b"b" * 40, b"c" * 40):
            reader.feed_data(sender.frame(payload))
        return [await receiver.read(reader) for _ in range(3)]
    assert L.run(scenario()) == [b"a" * 40, b"b" * 40, b"c" * 40]


def test_key_exchange_refuses_a_bad_rsa_block(caplog):
    """A req_DH_params whose RSA block is not 256 bytes: the connection is closed and the
    log says why (never an unexpected error)."""
    import tlfast

    async def scenario():
        async with T.Server(SCHEMA) as server:
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            mt = tlfast.schemas.mtproto

            async def plain(obj):
                body = mt.dumps(obj)
                packet = bytes(8) + struct.pack("<qi", int(time.time() * 2 ** 32) & ~3, len(body)) + body
                writer.write(b"\xee\xee\xee\xee" if obj.TL_NAME == "req_pq_multi" else b"")
                writer.write(struct.pack("<I", len(packet)) + packet)
                await writer.drain()
                n = struct.unpack("<I", await reader.readexactly(4))[0]
                data = await reader.readexactly(n)
                return mt.loads(data[20:])

            res = await plain(mt.api.req_pq_multi(nonce=5))
            pq = int.from_bytes(res.pq, "big")
            from telethon.crypto import Factorization
            p, _ = Factorization.factorize(pq)
            with pytest.raises(asyncio.IncompleteReadError):
                await plain(mt.api.req_DH_params(
                    nonce=5, server_nonce=res.server_nonce, p=p.to_bytes(4, "big"),
                    q=(pq // p).to_bytes(4, "big"),
                    public_key_fingerprint=res.server_public_key_fingerprints[0],
                    encrypted_data=b"\x01" * 255))
            writer.close()
    L.run(scenario())
    assert "key exchange: RSA block of 255 bytes, expected 256" in caplog.text
    assert "unexpected" not in caplog.text


def test_push_rate_is_kept():
    """push_messages(rate=...) spreads the messages over time: 30 at 100/s take ~0.3 s."""
    async def scenario():
        async with T.Server(SCHEMA) as server, _bot_receiving(
                server, lambda event: time.monotonic()) as (bot_acc, alice, stamps):
            t0 = time.monotonic()
            await server.push_messages(bot_acc, 30, sender=alice, batch=3, rate=100)
            pushed = time.monotonic() - t0
            await L.wait_until(lambda: len(stamps) == 30, what="30 messages")
            return pushed, stamps[-1] - stamps[0]
    pushed, spread = L.run(scenario())
    assert 0.27 <= pushed < 2, pushed  # 10 batches of 3, the last due at 0.3 s
    assert spread >= 0.2, spread  # the handler saw them arrive over time, not at once


def test_held_updates_arrive_at_release_in_order():
    """hold(account) keeps what the server sends back, release() sends it in one write:
    nothing reaches the client before, everything after (in order: Telethon also orders
    updates by pts, so the order of the frames is not what this checks)."""
    async def scenario():
        async with T.Server(SCHEMA) as server, _bot_receiving(server) as (bot_acc, alice, texts):
            server.hold(bot_acc)
            await server.push_messages(bot_acc, 40, sender=alice, batch=10)
            await asyncio.sleep(0.2)
            early = list(texts)
            sent = server.release(bot_acc)
            await L.wait_until(lambda: len(texts) == 40, what="40 messages")
            assert server.release(bot_acc) == 0  # nothing held any more
            return early, sent, texts
    early, sent, texts = L.run(scenario())
    assert early == []
    assert sent > 40 * 20, sent
    assert texts == [f"message {i}" for i in range(40)]


def test_every_aes_ige_agrees():
    """The AES-IGE implementations the server may pick give the same bytes."""
    import importlib.util

    from tlfast.testing import _crypto as C

    key, iv, data = os.urandom(32), os.urandom(32), os.urandom(16 * 40)
    impls = {}
    if importlib.util.find_spec("cryptg"):
        import cryptg
        impls["cryptg"] = (cryptg.encrypt_ige, cryptg.decrypt_ige)
    if importlib.util.find_spec("tgcrypto"):
        import tgcrypto
        impls["tgcrypto"] = (tgcrypto.ige256_encrypt, tgcrypto.ige256_decrypt)
    from telethon.crypto import AES
    impls["telethon"] = (AES.encrypt_ige, AES.decrypt_ige)
    if importlib.util.find_spec("pyrogram"):
        from pyrogram.crypto import aes
        impls["pyrogram"] = (aes.ige256_encrypt, aes.ige256_decrypt)
    assert C.AES_IMPL in impls
    reference = C.ige_encrypt(data, key, iv)
    for name, (enc, dec) in impls.items():
        assert enc(data, key, iv) == reference, name
        assert dec(reference, key, iv) == data, name


def test_auth_key_with_a_leading_zero_byte(monkeypatch):
    """One auth key in 256 starts with a zero byte, and Telethon keeps it as its minimal
    big-endian bytes (255 long: another key id, another new_nonce_hash1). The server knows
    both forms: Telethon's key exchange and its messages go through with such a key."""
    import types as pytypes

    from telethon.network import authenticator
    from tlfast.testing import _crypto as C
    from tlfast.testing import _server

    b = bytes(range(1, 256)) + b"\x07"  # Telethon's secret, fixed
    g_b = pow(C.DH_G, int.from_bytes(b, "big"), C.DH_PRIME)
    a = 1 << 2040  # the server's secret: the first from here whose key starts with 0x00
    shared = pow(g_b, a, C.DH_PRIME)
    while shared >= 1 << 2040 or not _server._dh_safe(pow(C.DH_G, a, C.DH_PRIME)):
        a, shared = a + 1, shared * g_b % C.DH_PRIME

    def fixed(value):
        return pytypes.SimpleNamespace(
            urandom=lambda n: value if n == 256 else os.urandom(n))
    monkeypatch.setattr(authenticator, "os", fixed(b))
    monkeypatch.setattr(_server, "os", fixed(a.to_bytes(256, "big")))

    async def scenario():
        async with T.Server(SCHEMA) as server:
            client = T.telethon_client(server)
            try:
                await client.start(bot_token=TOKEN)
                me = await client.get_me()
                return me.id, len(client.session.auth_key.key), server.stats["auth_keys"]
            finally:
                await client.disconnect()
    assert L.run(scenario()) == (777, 255, 1)


L190 = tlfast.Schema.from_file(H.DATA / "api-layer190.tl")
MT = tlfast.schemas.mtproto


class RawClient:
    """A bare MTProto client (intermediate framing) with an auth key put straight into the
    server (no key exchange, signed in as ``account``): it sends TL bytes and reads every
    message the server sends, so a test sees exactly what goes over the wire."""

    def __init__(self, server, account=None):
        self.key = os.urandom(256)
        self.auth = _server.AuthKey(self.key, 1)
        self.auth.user_id = account.id if account else None
        server._add_key(self.auth)
        self.port = server.port
        self.session_id = os.urandom(8)
        self.last_id = self.content = 0
        self.inbox = []  # (msg_id, seqno, body) read but not yet taken

    async def open(self):
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        self.writer.write(b"\xee\xee\xee\xee")
        return self

    def _stamp(self, content):
        msg_id = max(int(time.time() * 2 ** 32) & ~3, self.last_id + 4)
        self.last_id = msg_id
        seqno = self.content * 2 + 1 if content else self.content * 2
        self.content += content
        return msg_id, seqno

    def send_container(self, objs):
        """Send ``objs`` (content-related) in one msg_container; their msg_ids."""
        stamps = [self._stamp(True) for _ in objs]
        self.send(MT.api.msg_container(messages=[
            MT.api.message(msg_id=msg_id, seqno=seqno, body=obj)
            for (msg_id, seqno), obj in zip(stamps, objs)]), content=False)
        return [msg_id for msg_id, _ in stamps]

    def send(self, obj, schema=MT, content=True):
        body = obj if isinstance(obj, bytes) else schema.dumps(obj)
        msg_id, seqno = self._stamp(content)
        plain = struct.pack("<q8sqii", self.auth.salt, self.session_id, msg_id, seqno, len(body)) + body
        plain += os.urandom(12 + (-(len(plain) + 12) % 16))
        msg_key = C.msg_key_of(self.key, plain, 0)
        key, iv = C.message_key_iv(self.key, msg_key, 0)
        packet = self.auth.id + msg_key + C.ige_encrypt(plain, key, iv)
        self.writer.write(struct.pack("<I", len(packet)) + packet)
        return msg_id

    async def receive(self, timeout=10):
        """The next message the server sends: (msg_id, seqno, body)."""
        n, = struct.unpack("<I", await asyncio.wait_for(self.reader.readexactly(4), timeout))
        packet = await self.reader.readexactly(n)
        key, iv = C.message_key_iv(self.key, packet[8:24], 8)
        plain = C.ige_decrypt(packet[24:], key, iv)
        _salt, _session, msg_id, seqno, length = struct.unpack_from("<q8sqii", plain)
        return msg_id, seqno, plain[32:32 + length]

    async def take(self, predicate, timeout=10):
        """The first body (read before, or now) that ``predicate`` accepts."""
        deadline = time.monotonic() + timeout
        while True:
            for i, (_, _, body) in enumerate(self.inbox):
                if predicate(body):
                    return self.inbox.pop(i)[2]
            self.inbox.append(await self.receive(max(deadline - time.monotonic(), 0.01)))

    async def result(self, req_msg_id):
        """The result of request ``req_msg_id`` as TL bytes (gzip_packed unwrapped)."""
        body = await self.take(lambda b: b[:12] == struct.pack("<Iq", 0xF35C6D01, req_msg_id))
        inner = body[12:]
        if inner[:4] == struct.pack("<I", 0x3072CFA1):
            r = tlfast.Reader(inner)
            r.read_int()
            inner = gzip.decompress(r.read_bytes())
        return inner

    def close(self):
        self.writer.close()


def _first_element_id(vector_bytes):
    return struct.unpack_from("<I", vector_bytes, 8)[0]  # vector id, count, first object


def test_each_auth_key_is_served_in_the_layer_it_names(caplog):
    """One server, layers 229 (the default) and 190: a client's requests are decoded, its
    answers and updates encoded, in the layer its last invokeWithLayer named; a layer the
    server lacks is refused by name and changes nothing."""
    async def scenario():
        async with T.Server([SCHEMA, L190]) as server:
            bot_acc = server.add_bot(TOKEN)
            alice = server.add_user("Alice")
            raw = await RawClient(server, alice).open()
            other = await RawClient(server, bot_acc).open()  # never names a layer
            get_self = L190.api.users.getUsers(id=[L190.api.inputUserSelf()])
            out = [_first_element_id(await raw.result(raw.send(get_self, L190)))]  # default
            out.append(_first_element_id(await raw.result(raw.send(
                L190.api.invokeWithLayer(layer=190, query=get_self), L190))))
            out.append(_first_element_id(await raw.result(raw.send(get_self, L190))))  # kept
            refused = MT.loads(await raw.result(raw.send(
                L190.api.invokeWithLayer(layer=12345, query=get_self), L190)))
            out.append(_first_element_id(await raw.result(raw.send(get_self, L190))))
            server.send_message(bot_acc, alice, "to 190")
            update = L190.loads(await raw.take(lambda b: b[:4] == struct.pack("<I", L190["updates"].id)))
            out.append(_first_element_id(await other.result(other.send(get_self, L190))))
            server.send_message(alice, bot_acc, "to 229")
            other_update = SCHEMA.loads(await other.take(
                lambda b: b[:4] == struct.pack("<I", SCHEMA["updates"].id)))
            raw.close()
            other.close()
            return out, refused, update, other_update
    ids, refused, update, other_update = L.run(scenario())
    assert L190["user"].id != SCHEMA["user"].id
    assert ids == [SCHEMA["user"].id, L190["user"].id, L190["user"].id, L190["user"].id,
                   SCHEMA["user"].id]
    assert (refused.error_code, refused.error_message) == (
        400, "LAYER_NOT_IN_TEST_SERVER: 12345 (it has 190, 229)")
    msg = update.updates[0].message
    assert type(msg) is L190.api.message and msg.message == "to 190"
    msg = other_update.updates[0].message
    assert type(msg) is SCHEMA.api.message and msg.message == "to 229"
    assert "a client speaks layer 12345, the server has [190, 229]" in caplog.text


def test_telethon_and_an_older_layer_on_one_server():
    """Telethon (layer 229) beside a layer-190 client on a server whose default is 190:
    Telethon is answered in its layer, and what one side sends reaches the other in its
    own layer (entities too)."""
    async def scenario():
        async with T.Server({190: L190, 229: SCHEMA}) as server:
            bot_acc = server.add_bot(TOKEN)
            alice = server.add_user("Alice")
            raw = await RawClient(server, alice).open()
            client = T.telethon_client(server)
            got = []

            @client.on(events.NewMessage)
            async def handler(event):
                got.append((event.raw_text, L.entity_summary(event.message.entities)))
            try:
                await client.start(bot_token=TOKEN)
                me = await client.get_me()
                api = L190.api
                raw.send(api.invokeWithLayer(layer=190, query=api.messages.sendMessage(
                    peer=api.inputPeerUser(user_id=bot_acc.id, access_hash=bot_acc.access_hash),
                    message="hello bot", random_id=7,
                    entities=[api.messageEntityBold(offset=0, length=5)])), L190)
                await L.wait_until(lambda: got, what="the message from layer 190")
                await client.send_message(alice.id, "**hello** alice")
                update = L190.loads(await raw.take(
                    lambda b: b[:4] == struct.pack("<I", L190["updates"].id)))
                msg = update.updates[0].message
                # the server keeps its messages in its default layer, whoever sent them
                kept = {type(e) for m in bot_acc.messages.values() for e in m.entities}
                assert kept == {L190.api.messageEntityBold}, kept
                return me.id, got, msg.message, L.entity_summary(msg.entities)
            finally:
                await client.disconnect()
                raw.close()
    bold = (("messageEntityBold", 0, 5),)
    assert L.run(scenario()) == (777, [("hello bot", (("MessageEntityBold", 0, 5),))],
                                 "hello alice", bold)


def test_server_takes_its_layers_as_a_list_or_a_mapping():
    assert T.Server().schemas == {tlfast.LAYER: tlfast.schemas.api}
    assert list(T.Server([L190, SCHEMA]).schemas) == [190, SCHEMA.layer]  # the default first
    nameless = tlfast.Schema.from_text("testUser id:int = TestUser;")
    assert nameless.layer is None
    assert T.Server({300: nameless}).api.layers[300].schema is nameless
    with pytest.raises(ValueError, match="has no layer number .* give it as {N: schema}"):
        T.Server([SCHEMA, nameless])
    with pytest.raises(ValueError, match="layer 190 given twice"):
        T.Server([L190, SCHEMA, L190])


def test_content_messages_are_acknowledged_in_batches():
    """Every content-related message the client sends (a request, a ping, each message of
    a container, a gzip_packed one) is acknowledged once, in a msgs_ack sent as Telegram
    sends it (seqno even, msg_id 3 mod 4) with the others that came with it; the client's
    own msgs_ack and the container are not content and get none."""
    async def scenario():
        async with T.Server(SCHEMA) as server:
            raw = await RawClient(server, server.add_bot(TOKEN)).open()
            content = [raw.send(MT.api.ping(ping_id=1)),
                       raw.send(SCHEMA.api.users.getUsers(id=[SCHEMA.api.inputUserSelf()]), SCHEMA)]
            others = [raw.send(MT.api.msgs_ack(msg_ids=[content[0]]), content=False)]
            content += raw.send_container([MT.api.ping(ping_id=2), MT.api.ping(ping_id=3)])
            others.append(raw.last_id)  # the container's
            content.append(raw.send(tlfast.gzip_packed(MT.api.ping(ping_id=4))))
            acks = []
            deadline = time.monotonic() + 0.5
            while time.monotonic() < deadline:
                try:
                    msg_id, seqno, body = await raw.receive(deadline - time.monotonic())
                except asyncio.TimeoutError:
                    break
                if body[:4] == struct.pack("<I", MT["msgs_ack"].id):
                    acks.append((msg_id % 4, seqno % 2, MT.loads(body).msg_ids))
            raw.close()
            return content, others, acks
    content, others, acks = L.run(scenario())
    assert all(a[:2] == (3, 0) for a in acks), acks
    acked = [i for a in acks for i in a[2]]
    assert sorted(acked) == sorted(content) and not set(others) & set(acked)
    assert len(acks) <= 2, acks  # batched: all five sent at once


def test_ping_delay_disconnect_closes_a_silent_connection():
    """ping_delay_disconnect is answered with pong, and the connection is closed
    disconnect_delay seconds later unless another one comes first (it resets the timer)."""
    async def scenario():
        async with T.Server(SCHEMA) as server:
            raw = await RawClient(server).open()
            start = time.monotonic()
            first = raw.send(MT.api.ping_delay_disconnect(ping_id=1, disconnect_delay=1))
            await asyncio.sleep(0.6)
            second = raw.send(MT.api.ping_delay_disconnect(ping_id=2, disconnect_delay=1))
            pongs = []
            try:
                while True:
                    _, _, body = await raw.receive(5)
                    if body[:4] == struct.pack("<I", MT["pong"].id):
                        pong = MT.loads(body)
                        pongs.append((pong.msg_id, pong.ping_id))
            except asyncio.IncompleteReadError:
                closed = time.monotonic() - start
            raw.close()
            return pongs == [(first, 1), (second, 2)], closed, server.stats["ping_disconnects"]
    answered, closed, disconnects = L.run(scenario())
    assert answered and disconnects == 1
    assert 1.5 <= closed < 2.5, closed  # 1 s after the second ping, not after the first
