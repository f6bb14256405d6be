"""``Server``: the test server's public face (start/stop, accounts, pushes, faults), and
``ServerThread``, the same server on its own event loop in a thread.

May use: tlfast, testing._crypto, testing._server, testing._api.
"""

import asyncio
import logging
import os
import threading
import time
from collections import Counter

import tlfast

from . import _api
from . import _crypto as C
from . import _server

log = logging.getLogger("tlfast.testing")

_KEY_CACHE = {}


def test_rsa_key(seed=0):
    """The process's test RSA key for ``seed`` (generated once: about 0.1-1 s)."""
    key = _KEY_CACHE.get(seed)
    if key is None:
        key = _KEY_CACHE[seed] = C.RSAKey.generate(seed)
    return key


class Server:
    """A local MTProto server for tests, listening on 127.0.0.1 only.

    ``schema``: the API layer the clients speak (a ``tlfast.Schema``, e.g.
    ``tlfast.telethon.schema()``; default: tlfast's bundled layer), or several: a list of
    Schemas or a mapping {layer number: Schema}. Each client is served in the layer it
    names with invokeWithLayer (its requests decoded, its answers and updates encoded in
    it, for its auth key from then on); before that, in the first layer given. A client
    naming a layer the server was not given gets rpc_error 400
    ``LAYER_NOT_IN_TEST_SERVER: <layer> (it has <layers>)``. ``port`` 0 picks a
    free port (``server.port`` after ``start()``). ``clock``: where message dates come
    from (default ``time.time``; a constant makes runs comparable). The server runs on the event loop that
    starts it: ``async with Server(...) as server:`` in a test, or ``ServerThread`` to run
    it beside synchronous code.
    """

    def __init__(self, schema=None, *, port=0, dc_id=2, rsa_key=None, clock=None):
        layers = _layers(schema if schema is not None else tlfast.schemas.api)
        self.schema = layers[0][1]  # the default layer's
        self.schemas = dict(layers)  # layer number -> Schema
        self.host = "127.0.0.1"  # never anything else: this server has no real security
        self.port = port
        self.dc_id = dc_id
        self.rsa_key = rsa_key or test_rsa_key()
        self.api = _api.Api(self, layers)
        if clock is not None:  # e.g. lambda: 1_700_000_000: the same dates in every run
            self.api.clock = clock
        self._keys = {}  # auth_key_id -> AuthKey
        self._sessions = {}  # (auth_key_id, session_id) -> Session
        self._connections = set()
        self._listener = None
        # what happened, for tests: "auth_keys", "new_session_created", "bad_server_salt",
        # "connections <framing>", "dropped", "ping_disconnects"
        self.stats = Counter()
        mt = tlfast.schemas.mtproto
        self._service_ids = {mt[n].id for n in (
            "ping", "ping_delay_disconnect", "msgs_ack", "get_future_salts", "destroy_session",
            "rpc_drop_answer", "msgs_state_req", "msg_resend_req", "http_wait")}

    # life ---------------------------------------------------------------------------
    async def start(self):
        self._listener = await asyncio.start_server(self._on_client, self.host, self.port)
        self.port = self._listener.sockets[0].getsockname()[1]
        log.info("tlfast.testing server on %s:%s (layers %s)", self.host, self.port,
                 ", ".join(map(str, self.schemas)))
        return self

    async def stop(self):
        if self._listener is not None:
            self._listener.close()
            for conn in list(self._connections):
                conn.close()
            await self._listener.wait_closed()
            self._listener = None

    async def __aenter__(self):
        return await self.start()

    async def __aexit__(self, *exc):
        await self.stop()

    async def _on_client(self, reader, writer):
        conn = _server.Connection(self, reader, writer)
        self._connections.add(conn)
        await conn.run()

    def _add_key(self, auth_key):
        self._keys[auth_key.id] = auth_key

    def _sessions_of(self, user_id):
        return [s for s in self._sessions.values()
                if s.auth_key.user_id == user_id and s.conn is not None and not s.conn.closed]

    # accounts and chats ---------------------------------------------------------------
    def add_bot(self, token, first_name="Test bot", username=None):
        """Register a bot; ``token`` is what the client signs in with ("123:secret"). Any
        well-formed token signs in even unregistered (a bot is made for it)."""
        return self.api.add_bot(token, first_name, username)

    def add_user(self, first_name="Test user", *, phone=None, username=None, last_name=None,
                 user_id=None):
        """A user account; with ``phone`` a client can sign in as it (code: ``login_code``)."""
        return self.api.add_account(first_name, phone=phone, username=username,
                                    last_name=last_name, user_id=user_id)

    @property
    def login_code(self):
        return self.api.login_code

    def account(self, user_id):
        return self.api.accounts[user_id]

    def prepare_history(self, owner, peer, count, seed=0):
        """``count`` messages between accounts ``owner`` and ``peer`` (for getHistory)."""
        self.api.prepare_history(owner, peer, count, seed)

    def set_history_bytes(self, owner, peer, data):
        """getHistory of ``peer`` by ``owner`` answers these TL bytes (a messages.Messages,
        e.g. the bench's ``tlfast._payloads`` messages_100), whatever the request asks
        and whatever layer the client speaks (the bytes go out as they are)."""
        owner.history_bytes[peer.id] = bytes(data)

    def send_message(self, sender, receiver, text):
        """``sender`` writes to ``receiver``: the receiver's sessions get updateNewMessage."""
        msg, _ = self.api.deliver(sender, receiver, text)
        return msg

    async def push_messages(self, receiver, count, *, sender, batch=1, rate=None,
                            text="message {i}"):
        """Push ``count`` new private messages from ``sender`` to ``receiver``'s sessions,
        ``batch`` per ``updates`` object, at most ``rate`` messages a second (None: as
        fast as the socket drains). ``text`` may use ``{i}``, the message's index."""
        start = time.monotonic()
        api = self.api
        for first in range(0, count, batch):
            updates = []
            date = int(api.clock())
            for i in range(first, min(first + batch, count)):
                msg = api._message(receiver, sender.id, sender.id, text.format(i=i), date)
                updates.append(api._new_message_update(receiver, msg))
            api.push(receiver, updates, [sender, receiver])
            for s in self._sessions_of(receiver.id):
                await s.conn.drain()
            if rate:
                ahead = (first + batch) / rate - (time.monotonic() - start)
                if ahead > 0:
                    await asyncio.sleep(ahead)
            else:
                await asyncio.sleep(0)

    # faults -----------------------------------------------------------------------------
    def fail(self, method, error="FLOOD_WAIT_1", *, code=None, times=1):
        """The next ``times`` calls of ``method`` (TL name, e.g. "messages.sendMessage";
        "*" for any) answer rpc_error ``error`` (code: Telegram's for it, else 400)."""
        for _ in range(times):
            self.api.add_fault(method, ("error", code or _api.error_code_of(error), error))

    def delay(self, method, seconds, *, times=1):
        """The next ``times`` calls of ``method`` are answered ``seconds`` late."""
        for _ in range(times):
            self.api.add_fault(method, ("delay", seconds))

    def hold(self, account):
        """From now on, what the server sends to ``account``'s present connections
        (updates, answers, acks) is encrypted and kept back, until ``release(account)`` writes it
        all at once: a burst, as a client meets after a stall."""
        for s in self._sessions_of(account.id):
            if s.conn.held is None:
                s.conn.held = []

    def release(self, account):
        """Send what ``hold(account)`` kept back, each connection's in one write; the
        bytes count of it."""
        conns = {s.conn for s in self._sessions_of(account.id)}
        n = sum(len(f) for c in conns for f in c.held or ())
        for c in conns:
            c.release()
        return n

    def drop_connections(self):
        """Close every client connection now (the clients must reconnect)."""
        n = len(self._connections)
        self.stats["dropped"] += n
        for conn in list(self._connections):
            conn.close()
        return n

    async def wait_until(self, predicate, timeout=10.0, what=None):
        """Wait (polling, on this loop) until ``predicate()`` is true; after ``timeout``
        seconds, TimeoutError naming ``what`` (default: the predicate)."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise TimeoutError(f"tlfast.testing: waited {timeout} s for {what or predicate}")
            await asyncio.sleep(0.01)

    def texts(self, account, peer=None):
        """The texts of the messages ``account`` has (with ``peer`` only), oldest first:
        what a test reads to see what a bot sent."""
        return [m.message for m in account.messages.values()
                if peer is None or m.peer_id.user_id == peer.id]

    def connected(self, account):
        """How many live connections have a session signed in as ``account`` (a client
        that reconnects after ``drop_connections`` shows up here again)."""
        return len({s.conn for s in self._sessions_of(account.id)})

    def new_salt(self):
        """Change every auth key's server salt: each client's next message is refused with
        bad_server_salt and must be sent again under the new one."""
        for key in self._keys.values():
            key.salt = int.from_bytes(os.urandom(8), "little", signed=True)

    def calls(self, method):
        """How many times ``method`` was called (wrappers such as initConnection unwrapped)."""
        return self.api.calls.get(method, 0)


def _layers(given):
    """The layers a Server is given as [(layer number, Schema)], the default first."""
    if isinstance(given, tlfast.Schema):
        given = [given]
    pairs = list(given.items()) if isinstance(given, dict) else [
        (getattr(s, "layer", None), s) for s in given]
    if not pairs:
        raise ValueError("tlfast.testing: no schema given")
    seen = set()
    for number, s in pairs:
        if not isinstance(s, tlfast.Schema):
            raise TypeError(f"tlfast.testing: a layer is a tlfast.Schema, not {type(s).__name__}")
        if not isinstance(number, int):
            raise ValueError(f"tlfast.testing: {s!r} has no layer number (no '// LAYER N' "
                             "line): give it as {N: schema}")
        if number in seen:
            raise ValueError(f"tlfast.testing: layer {number} given twice")
        seen.add(number)
    return pairs


class ServerThread:
    """A ``Server`` on its own event loop in a daemon thread, for synchronous code and
    for measuring a client without the server's CPU time in its thread.

    ``with ServerThread(schema) as st:`` starts it; ``st.server`` is the Server;
    ``st.call(fn, *args)`` runs ``fn`` (a plain function or a coroutine function) on the
    server's loop and returns its result."""

    def __init__(self, schema=None, **kwargs):
        self.server = Server(schema, **kwargs)
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="tlfast-testing",
                                        daemon=True)

    def start(self):
        self._thread.start()
        self.call(self.server.start)
        return self

    def stop(self):
        if self._thread.is_alive():
            self.call(self.server.stop)
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(10)
        self.loop.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def port(self):
        return self.server.port

    def submit(self, fn, *args, **kwargs):
        """Run ``fn`` (plain or coroutine function) on the server's loop; a
        concurrent.futures.Future of its result (``await asyncio.wrap_future(...)`` it
        from a client's loop: waiting on it blocking would stop that client reading)."""
        async def run():
            out = fn(*args, **kwargs)
            if asyncio.iscoroutine(out):
                out = await out
            return out
        return asyncio.run_coroutine_threadsafe(run(), self.loop)

    def call(self, fn, *args, timeout=60, **kwargs):
        """``submit`` and wait for the result (from code that is not a client's loop)."""
        return self.submit(fn, *args, **kwargs).result(timeout)
