"""``python -m tlfast bench --live``: real clients against tlfast.testing's server, stock
and with tlfast's drop-in, measured in client CPU time end to end (socket, AES, MTProto,
decoding, the client's own objects and dispatch).

The server runs in a thread of its own (``ServerThread``); the client's CPU is the
process's CPU time minus the server thread's, so kurigram's crypto executor threads count
as the client's, as they should. Rows:
- getHistory(100), raw: the client invokes messages.getHistory and gets the decoded
  result (the bench's ``messages_100`` payload, the same bytes ``python -m tlfast bench``
  decodes); per call;
- getHistory(100), client: the client's own history call (Telethon ``get_messages``,
  kurigram ``get_chat_history``), which also builds its high-level messages; per call;
- 1000 pushed updates: updateNewMessage pushed in batches of 100 to a handler that counts
  them; per 1000.

Medians of several rounds; the modes run in turns so that a slow moment of a shared
machine does not land on one of them only, and each mode's ratio to stock is the median
of the rounds' own ratios.

May use: tlfast, _payloads, telethon, pyrogram, testing.
"""

import asyncio
import gc
import importlib.util
import statistics
import sys
import time

ROUNDS = 7
CALLS = 100  # getHistory calls per round
PUSHED = 5000  # updates per measured window
# Windows of pushes per round, each compared with the same window of stock's round: the
# windows of one round differ by up to 15% from each other.
PUSH_WINDOWS = 3
TOKEN = "9999:bench"


def _cpu_of_client(st):
    """(process CPU, server thread CPU) now: their difference is the client's."""
    return time.process_time(), st.call(time.thread_time)


class _Measure:
    """The client's CPU over a ``with`` block. The block starts on a collected heap: the
    modes run in turns in one process, and what one round left for the collector (a
    full collection costs a kurigram client about 100 ms, a fifth of a round) would
    otherwise land on whichever round comes next."""

    def __init__(self, st):
        self.st = st

    def __enter__(self):
        gc.collect()
        self.p0, self.s0 = _cpu_of_client(self.st)
        return self

    def __exit__(self, *exc):
        p1, s1 = _cpu_of_client(self.st)
        self.cpu = (p1 - self.p0) - (s1 - self.s0)


def _setup(st, history_bytes):
    server = st.server
    bot = server.add_bot(TOKEN, "Bench bot", "bench_bot")
    alice = server.add_user("Alice", username="alice")
    server.set_history_bytes(bot, alice, history_bytes)
    return bot, alice


class _Counter:
    """The updates a client's handler has seen; ``reached(n)`` waits for the n-th one
    without polling (a polling loop would spend client CPU for as long as the pushes
    take, which varies from round to round more than the drop-in changes)."""

    def __init__(self):
        self.n = 0
        self._want = 0
        self._event = None

    def add(self):
        self.n += 1
        if self._event is not None and self.n >= self._want:
            self._event.set()

    async def reached(self, n):
        if self.n < n:
            self._want, self._event = n, asyncio.Event()
            try:
                await self._event.wait()
            finally:
                self._event = None


async def _pushes(st, bot, alice, counter, rounds, count=PUSHED):
    """Client CPU per 1000 updates pushed to ``bot``. The server encodes and encrypts
    them before the measured window and sends them at once in it (Server.hold): a
    server in the client's process that works while the client does takes the GIL from
    it in turns, which costs the client CPU that no real server costs it (kurigram's
    stock rounds ranged 79-138 ms that way)."""
    out = []
    for _ in range(rounds):
        target = counter.n + count
        st.call(st.server.hold, bot)
        await asyncio.wrap_future(st.submit(st.server.push_messages, bot, count,
                                            sender=alice, batch=100))
        with _Measure(st) as m:
            st.call(st.server.release, bot)
            await counter.reached(target)
        out.append(m.cpu / count * 1000)
    return out


async def _calls(st, fn, rounds):
    out = []
    for _ in range(rounds):
        with _Measure(st) as m:
            for _ in range(CALLS):
                await fn()
        out.append(m.cpu / CALLS)
    return out


async def telethon_round(st, rounds):
    from telethon import events, functions

    import tlfast.testing as T

    bot, alice = st.server.account(9999), st.server._bench_alice
    client = T.telethon_client(st)
    counter = _Counter()

    @client.on(events.NewMessage)
    async def handler(event):
        counter.add()

    await client.start(bot_token=TOKEN)
    try:
        peer = await client.get_input_entity("alice")
        raw = functions.messages.GetHistoryRequest(peer=peer, offset_id=0, offset_date=None,
                                                   add_offset=0, limit=100, max_id=0, min_id=0,
                                                   hash=0)
        first = await client(raw)
        assert len(first.messages) == 100, len(first.messages)
        await client.get_messages(peer, limit=100)  # warm-up: caches, first-call imports
        await _pushes(st, bot, alice, counter, 1, count=100)
        return {"getHistory(100), raw": await _calls(st, lambda: client(raw), rounds),
                "getHistory(100), client": await _calls(
                    st, lambda: client.get_messages(peer, limit=100), rounds),
                "1000 pushed updates": await _pushes(st, bot, alice, counter,
                                                      rounds * PUSH_WINDOWS)}
    finally:
        await client.disconnect()


async def kurigram_round(st, rounds):
    from pyrogram import handlers, raw

    import tlfast.testing as T

    bot, alice = st.server.account(9999), st.server._bench_alice
    client = T.pyrogram_client(st, "tlfast-bench", bot_token=TOKEN)
    counter = _Counter()

    async def on_message(_, message):
        counter.add()

    client.add_handler(handlers.MessageHandler(on_message))
    await client.start()
    try:
        # kurigram learns of alice (her access hash) from an update
        await asyncio.wrap_future(st.submit(st.server.push_messages, bot, 1, sender=alice))
        await counter.reached(1)
        peer = await client.resolve_peer(alice.id)
        req = raw.functions.messages.GetHistory(peer=peer, offset_id=0, offset_date=0,
                                                add_offset=0, limit=100, max_id=0, min_id=0,
                                                hash=0)
        first = await client.invoke(req)
        assert len(first.messages) == 100, len(first.messages)
        [m async for m in client.get_chat_history(alice.id, limit=100)]  # warm-up
        await _pushes(st, bot, alice, counter, 1, count=100)

        async def history():
            return [m async for m in client.get_chat_history(alice.id, limit=100)]
        return {"getHistory(100), raw": await _calls(st, lambda: client.invoke(req), rounds),
                "getHistory(100), client": await _calls(st, history, rounds),
                "1000 pushed updates": await _pushes(st, bot, alice, counter,
                                                      rounds * PUSH_WINDOWS)}
    finally:
        await client.stop()


CLIENTS = {
    "telethon": ("telethon", "tlfast.telethon", telethon_round),
    "kurigram": ("pyrogram", "tlfast.pyrogram", kurigram_round),
}


def _adapter(name):
    if name == "telethon":
        import tlfast.telethon as adapter
    else:
        import tlfast.pyrogram as adapter
    return adapter


def measure(client_name, modes=("stock", "cython", "python"), rounds=ROUNDS, progress=None):
    """{mode: {row: [per-round CPU seconds]}} for one client; modes in turns."""
    import tlfast
    from tlfast import _payloads, testing

    round_fn = CLIENTS[client_name][2]
    adapter = _adapter(client_name)
    history = tlfast.dumps(_payloads.messages_messages(100))
    results = {m: {} for m in modes}
    for r in range(rounds):
        for mode in modes:
            if progress:
                progress(f"live: {client_name} {mode} round {r + 1}/{rounds}")
            adapter.uninstall()
            if mode != "stock":
                adapter.install(backend=mode)
            try:
                with testing.ServerThread(adapter.schema()) as st:
                    _, alice = _setup(st, history)
                    st.server._bench_alice = alice
                    rows = asyncio.run(round_fn(st, 1))
            finally:
                adapter.uninstall()
            for row, values in rows.items():
                results[mode].setdefault(row, []).extend(values)
    return results


def run(clients=("telethon", "kurigram"), rounds=ROUNDS, progress=None):
    report = {}
    for name in clients:
        if importlib.util.find_spec(CLIENTS[name][0]) is None:
            report[name] = "not installed"
            continue
        report[name] = measure(name, rounds=rounds, progress=progress)
    return report


def ratio(res, mode, row):
    """The drop-in's time over stock's for ``row``: the median over rounds of the two
    measured in the same round (one after the other), so that a slow stretch of a shared
    machine, which lasts longer than a round, cancels out."""
    return statistics.median(a / b for a, b in zip(res[mode][row], res["stock"][row]))


def format_report(report):
    lines = ["Live clients against tlfast.testing (client CPU, medians of rounds; ratio: "
             "drop-in / stock, median of the rounds' ratios)"]
    for name, res in report.items():
        if isinstance(res, str):
            lines.append(f"{name}: {res}")
            continue
        lines.append(f"{name:10} {'':26} {'stock':>10} {'+cython':>10} {'+python':>10} "
                     f"{'ratio cy':>9} {'ratio py':>9}")
        for row in res["stock"]:
            med = {m: statistics.median(res[m][row]) for m in res}
            unit, scale = ("ms", 1e3)
            cells = [f"{med[m] * scale:8.2f}{unit}" for m in ("stock", "cython", "python")]
            lines.append(f"{'':10} {row:26} " + " ".join(cells) +
                         f" {ratio(res, 'cython', row):9.2f} {ratio(res, 'python', row):9.2f}")
    return "\n".join(lines)


def main(rounds=ROUNDS, out=None, err=None):
    out = out or sys.stdout
    err = err or sys.stderr

    def progress(msg):
        err.write(msg + "\n")
        err.flush()

    report = run(rounds=rounds, progress=progress)
    out.write(format_report(report) + "\n")
    return 0
