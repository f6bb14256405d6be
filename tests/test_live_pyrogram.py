"""kurigram 2.2.26 (the Pyrogram family, imported as ``pyrogram``) against tlfast.testing's
server (issue 21), stock and with ``tlfast.pyrogram.install()`` on both engines. CI also
runs this file in the virtualenvs of pyrogram 2.0.106 (layer 158) and pyrofork 2.3.69.

The bot's life of test_live_telethon.py in Pyrogram's terms: sign in with a bot token
(kurigram makes its auth key on one connection, then opens another; both abridged), get
pushed messages in a MessageHandler, send, read a chat's history, survive a FLOOD_WAIT
(kurigram sleeps and retries below its sleep_threshold), a dropped connection (its
session restarts) and a new server salt; an injected AUTH_KEY_UNREGISTERED, and a method
the server does not implement, reach the user's code as kurigram's errors. A second
client signs in as a user (phone and code) and talks with the bot. What the user's code
saw must be the same with the drop-in.
"""

import asyncio
import datetime
import gc
import os
import sys
import time

import pytest

pyrogram = pytest.importorskip("pyrogram")
from pyrogram import filters, handlers, raw  # noqa: E402
from pyrogram.errors import RPCError, Unauthorized  # noqa: E402

import tlfast.pyrogram as TP  # noqa: E402
import tlfast.testing as T  # noqa: E402

import _live as L  # noqa: E402

SCHEMA = TP.schema()
TOKEN = "4343:tlfast-live-test"
CLOCK = 1_700_000_000  # every message's date: runs compare field by field
PUSHED = 40
HISTORY = 150


def seen(m):
    """What user code reads off a Pyrogram Message."""
    return (m.id, m.text, m.from_user.id if m.from_user else None, m.chat.id,
            bool(m.outgoing), L.entity_summary(m.entities), m.date)


def _entity_types(m):
    return tuple((e.type.name, e.offset, e.length) for e in m.entities or ())


async def bot_life():
    out = {}
    async with T.Server(SCHEMA, clock=lambda: CLOCK) as server:
        bot_acc = server.add_bot(TOKEN, "Live bot", "live_bot")
        alice = server.add_user("Alice", username="alice")
        server.prepare_history(bot_acc, alice, HISTORY, seed=7)
        client = T.pyrogram_client(server, bot_token=TOKEN)
        got = []

        async def on_message(_, message):
            got.append(seen(message))

        client.add_handler(handlers.MessageHandler(on_message))
        await client.start()
        try:
            me = client.me
            out["me"] = (me.id, me.is_bot, me.username, me.first_name, me.is_self)

            await server.push_messages(bot_acc, PUSHED, sender=alice, batch=7)
            await L.wait_until(lambda: len(got) >= PUSHED, what="the pushed messages")

            # kurigram knows alice from the pushed updates (their users)
            sent = await client.send_message(alice.id, "hello **alice**")
            out["sent"] = seen(sent)

            history = [m async for m in client.get_chat_history(alice.id, limit=120)]
            out["history"] = [seen(m) for m in history]

            server.fail("messages.sendMessage", "FLOOD_WAIT_1")
            t0 = time.monotonic()
            sent = await client.send_message(alice.id, "after the flood")
            out["flood"] = (seen(sent), server.calls("messages.sendMessage"))
            assert time.monotonic() - t0 >= 0.9, "kurigram did not wait out FLOOD_WAIT_1"

            assert server.drop_connections() >= 1
            # a request sent while the client is still reconnecting waits for the client's
            # own request timeout (kurigram: 15 s), as it would with Telegram; the client
            # reconnects by itself, so wait for that first
            await L.wait_until(lambda: server.connected(bot_acc), what="the reconnection")
            sent = await client.send_message(alice.id, "after the drop")
            out["drop"] = seen(sent)
            await server.push_messages(bot_acc, 5, sender=alice, text="again {i}")
            await L.wait_until(lambda: len(got) >= PUSHED + 5, what="pushes after the drop")

            server.new_salt()
            sent = await client.send_message(alice.id, "after the salt")
            out["salt"] = seen(sent)

            # a revoked authorization: Pyrogram raises AuthKeyUnregistered (401) to the
            # caller, as with Telegram, without retrying; the session goes on
            calls = server.calls("users.getFullUser")
            server.fail("users.getFullUser", "AUTH_KEY_UNREGISTERED")
            try:
                await client.get_me()
            except RPCError as exc:
                out["unregistered"] = (type(exc).__name__, isinstance(exc, Unauthorized),
                                       exc.CODE, exc.ID, server.calls("users.getFullUser") - calls)
            else:
                out["unregistered"] = "no error"
            out["after unregistered"] = (await client.get_me()).id

            try:
                await client.invoke(raw.functions.messages.GetDialogFilters())
            except RPCError as exc:
                out["unimplemented"] = (exc.CODE, exc.value if hasattr(exc, "value") else None,
                                        T.NOT_IMPLEMENTED in str(exc))
            out["events"] = got
            out["stats"] = (server.stats["connections abridged"] >= 3, server.stats["dropped"] >= 1,
                            server.stats["bad_server_salt"] >= 1)
        finally:
            await client.stop()
    return out


async def user_and_bot():
    """A user signs in with phone and code (kurigram's start() with phone_number and
    phone_code: auth.sendCode, auth.signIn), writes to the bot by its username; the bot
    answers in its handler and the user's handler sees the answer."""
    async with T.Server(SCHEMA, clock=lambda: CLOCK) as server:
        server.add_bot(TOKEN, "Live bot", "live_bot")
        bot = T.pyrogram_client(server, "bot", bot_token=TOKEN)
        user = T.pyrogram_client(server, "user", phone_number="+15550002",
                                 phone_code=server.login_code)
        answered = []

        async def echo(_, message):
            await message.reply("echo: " + message.text)

        async def got_answer(_, message):
            answered.append(seen(message))

        bot.add_handler(handlers.MessageHandler(echo, filters.private & filters.incoming))
        user.add_handler(handlers.MessageHandler(got_answer, filters.incoming))
        await bot.start()
        try:
            await user.start()
            try:
                me = user.me
                sent = await user.send_message("live_bot", "hi bot")  # contacts.resolveUsername
                await L.wait_until(lambda: answered, what="the bot's answer")
                return (me.first_name, me.is_bot, seen(sent), answered)
            finally:
                await user.stop()
        finally:
            await bot.stop()


@pytest.fixture(scope="module")
def stock(tmp_path_factory):
    TP.uninstall()
    with L.working_dir(tmp_path_factory.mktemp("kurigram")):
        return L.run(bot_life()), L.run(user_and_bot())


@pytest.fixture
def dropin(backend, monkeypatch, tmp_path):
    # kurigram appends every error it does not know (the unimplemented method's) to
    # ./unknown_errors.txt: the tests run it in a temporary directory
    monkeypatch.chdir(tmp_path)
    TP.uninstall()
    TP.install(backend=backend.NAME)
    yield TP.report()
    TP.uninstall()


def test_stock_bot_life(stock):
    life, _ = stock
    assert life["me"] == (4343, True, "live_bot", "Live bot", True)
    assert [e[1] for e in life["events"]] == (
        [f"message {i}" for i in range(PUSHED)] + [f"again {i}" for i in range(5)])
    assert all(e[2] == e[3] for e in life["events"])
    assert {e[6] for e in life["events"]} == {datetime.datetime.fromtimestamp(CLOCK)}  # naive local
    assert life["sent"][1:5] == ("hello alice", 4343, life["sent"][3], True)
    history = life["history"]
    assert len(history) == 120
    assert [m[0] for m in history] == sorted((m[0] for m in history), reverse=True)
    assert sum(1 for m in history if m[5]) == 80  # bold "hello", 40 plain, 79 prepared
    assert life["flood"][0][1] == "after the flood" and life["flood"][1] == 3
    assert life["drop"][1] == "after the drop"
    assert life["salt"][1] == "after the salt"
    assert life["unregistered"] == ("AuthKeyUnregistered", True, 401, "AUTH_KEY_UNREGISTERED", 1)
    assert life["after unregistered"] == 4343
    assert life["unimplemented"][0] == 400 and life["unimplemented"][2]
    assert life["stats"] == (True, True, True)


def test_stock_user_sign_in(stock):
    _, (name, is_bot, sent, answered) = stock
    assert (name, is_bot) == ("Test user", False)
    assert sent[1] == "hi bot" and sent[4] is True
    assert [a[1] for a in answered] == ["echo: hi bot"] and answered[0][2] == 4343


def test_dropin_sees_what_stock_sees(stock, dropin):
    assert TP.installed()
    assert L.run(bot_life()) == stock[0]
    assert L.run(user_and_bot()) == stock[1]


def _rss_mib():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2 ** 20


def _cached(client):
    """How many parsed Messages the host keeps in ``client.message_cache``: pyrogram 2.0
    and pyrofork in a dict ``store``, kurigram in an OrderedDict behind ``len()``."""
    cache = client.message_cache
    store = getattr(cache, "store", None)
    return len(store) if store is not None else len(cache)


def _mark(client):
    """(RSS in MiB, Python's allocated blocks, parsed Messages the host had cached), taken
    with the host's message cache emptied (a fresh one of the same capacity): its bounded
    contents are counted, and what else the process holds is measured without them."""
    cache = client.message_cache
    cached = (_cached(client), cache.capacity)
    client.message_cache = type(cache)(cache.capacity)
    del cache
    gc.collect()
    return _rss_mib(), sys.getallocatedblocks(), cached


# The soak: the 100k pushed messages, in batches of 100, to a MessageHandler that
# counts them (~10 s a run; the pure engine's drop-in is no slower, the client's own work
# dominates).
#
# Why pyrogram 2.0.106's and pyrofork's RSS grew (114 -> 170 MiB) over the 12k soak that
# this one replaces: every host of the family keeps the newest parsed Messages (each with
# its User, Chat, text, entities; pyrofork's also with its raw message) in
# ``client.message_cache``, which Message._parse fills for every update: kurigram up to
# 1000 (an LRU), pyrogram 2.0.106 and pyrofork up to 10000 (a dict that drops its oldest
# 5001 when it overflows, so it holds 5000 to 10000). Measured on pyrogram 2.0.106, stock:
# the only objects that grow (gc counts by type) are the cache's ~9000 Messages with as
# many Users, Chats, Strs and Lists; tracemalloc's total goes 9.8 -> 26.6 MiB over the
# first 9k, then swings between 18 and 30 MiB as the cache halves and refills; RSS 62 ->
# 93 MiB over the first 10k (3 KiB a message; pyrofork 92 -> 178 MiB, 8.6 KiB), then
# flat to 200k, with the drop-in on both engines as stock. The host's own bounded cache:
# the test checks its bound and measures the rest of the process without it.
SOAK = int(os.environ.get("TLFAST_LIVE_SOAK_PYROGRAM", "100000"))
KEEP = 2000  # the server's per-account stores, lowered: full long before the second half


async def soak():
    """The count of handled messages, the server's stores, and a _mark before the soak
    and after each quarter (client and server share the process)."""
    async with T.Server(SCHEMA, clock=lambda: CLOCK) as server:
        bot_acc = server.add_bot(TOKEN)
        alice = server.add_user("Alice", username="alice")
        client = T.pyrogram_client(server, bot_token=TOKEN)
        count = [0]

        async def on_message(_, message):
            count[0] += 1

        client.add_handler(handlers.MessageHandler(on_message))
        await client.start()
        try:
            idle = len(asyncio.all_tasks())
            marks = [_mark(client)]
            for step in range(4):
                await server.push_messages(bot_acc, SOAK // 4, sender=alice, batch=100)
                await L.wait_until(lambda: count[0] >= (step + 1) * (SOAK // 4), timeout=120,
                                   what=f"{(step + 1) * (SOAK // 4)} pushed messages")
                # the host's tasks that carried the last updates end: until then they
                # hold thousands of raw updates (kurigram, measured: up to 6400)
                await L.wait_until(lambda: len(asyncio.all_tasks()) <= idle + 2,
                                   what="the client's tasks to end")
                marks.append(_mark(client))
            return count[0], marks, (len(bot_acc.messages), len(bot_acc.log))
        finally:
            await client.stop()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/statm")
@pytest.mark.parametrize("mode", ["stock", "drop-in"])
def test_soak_memory_stays_bounded(mode, backend, tmp_path, monkeypatch):
    if mode == "stock" and backend.NAME != "cython":
        pytest.skip("the stock client does not depend on the engine: run once")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(T._api, "KEEP_MESSAGES", KEEP)
    TP.uninstall()
    if mode == "drop-in":
        TP.install(backend=backend.NAME)
    try:
        count, marks, stores = L.run(soak(), timeout=400)
    finally:
        TP.uninstall()
    assert count == SOAK
    # the host's cache, the one store of the client that grows with the pushes: full (at
    # its size, or past its first halving on pyrogram 2.0 and pyrofork) after each
    # quarter, and never beyond its capacity
    for _, _, (cached, capacity) in marks[1:]:
        assert SOAK // 4 >= capacity, f"a soak of {SOAK} is too short for a cache of {capacity}"
        assert capacity // 2 <= cached <= capacity, (cached, capacity)
    # all else flat over the second half: Python's heap within a block for every 10 pushed
    # messages (measured on 3.11, stock and drop-in: kurigram +720 to +880 blocks, pyrogram
    # 2.0.106 +540 to +580, pyrofork -60 to +240), which one object kept per message
    # breaks tenfold. The RSS moves with how the allocator reuses what the host's cache
    # frees as it churns (measured in CI, blocks flat: up to +13.7 MiB on pyrofork, whose
    # cache alone holds ~86 MiB, +6.1 MiB on kurigram on 3.10; on an idle 3.11, -1.0 to
    # +1.9 MiB): it is held to a leak's scale, 32 MiB being 670 B per message of the second
    # half, and the block count is the precise check.
    blocks = marks[-1][1] - marks[2][1]
    assert blocks < SOAK // 20, f"{blocks} more blocks allocated over the second half: {marks}"
    growth = marks[-1][0] - marks[2][0]
    assert growth < 32, f"RSS grew {growth:.1f} MiB over the second half of the soak: {marks}"
    assert stores == (KEEP, KEEP), stores
