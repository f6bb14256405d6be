"""Pointing real clients at a test server: its RSA key and its address, nothing else.

A client refuses a server whose RSA key it does not know, and each client keeps the keys
it trusts in a module-level table: these helpers add the test key there (the real keys
stay; the test key, generated for the test, opens nothing but this server). The address
goes where each client takes it from: Telethon's session (``session.set_dc``), kurigram's
``connection_factory`` (its sessions and key exchange all build their connections
through it), older Pyrogram's DataCenter table.

May use: testing._serve.
"""

from . import _serve


def _key_and_port(server):
    """(RSA key, port, DC) of a Server, a ServerThread, or a port number (a server in
    another process, e.g. ``python -m tlfast serve``: its key is the process-independent
    ``test_rsa_key()``)."""
    if isinstance(server, int):
        return _serve.test_rsa_key(), server, 2
    server = getattr(server, "server", server)  # a ServerThread
    return server.rsa_key, server.port, server.dc_id


def trust_in_telethon(server):
    """Telethon accepts ``server``'s test RSA key from now on (in this process)."""
    import rsa
    from telethon.crypto import rsa as telethon_rsa

    key, _, _ = _key_and_port(server)
    telethon_rsa._server_keys[key.fingerprint] = (rsa.PublicKey(key.n, key.e), False)


def telethon_client(server, *, session=None, api_id=1, api_hash="tlfast-testing", **kwargs):
    """A ``telethon.TelegramClient`` for ``server``: an in-memory session (unless one is
    given) whose data centre is the server's 127.0.0.1 address. Not connected yet."""
    from telethon import TelegramClient
    from telethon.sessions import MemorySession

    trust_in_telethon(server)
    _, port, dc_id = _key_and_port(server)
    session = session if session is not None else MemorySession()
    session.set_dc(dc_id, "127.0.0.1", port)
    return TelegramClient(session, api_id, api_hash, **kwargs)


def trust_in_pyrogram(server):
    """Pyrogram (any of the family) accepts ``server``'s test RSA key from now on."""
    from pyrogram.crypto import rsa as pyrogram_rsa

    key, _, _ = _key_and_port(server)
    pyrogram_rsa.server_public_keys[key.fingerprint] = pyrogram_rsa.PublicKey(key.n, key.e)


def point_pyrogram(client, server):
    """Make the Pyrogram ``client`` (not started yet) connect to ``server`` whatever data
    centre address it had, and trust the server's key.

    kurigram builds every connection through ``client.connection_factory`` with the
    address as arguments: they are replaced. pyrofork's factory looks the address up in
    its DataCenter table: the built connection's address is replaced. Pyrogram 2.0 has no
    factory: its DataCenter table is replaced for the whole process (every Pyrogram client
    then goes to this server; ``unpoint_pyrogram()`` puts it back)."""
    import inspect

    trust_in_pyrogram(server)
    _, port, _ = _key_and_port(server)
    base = getattr(client, "connection_factory", None)
    if base is None:
        _point_data_center(port)
        return client
    try:
        takes_address = "server_address" in inspect.signature(base).parameters
    except (TypeError, ValueError):
        takes_address = False

    def to_server(*args, **kwargs):
        if takes_address:  # kurigram: every Connection is built with keyword arguments
            kwargs["server_address"], kwargs["port"] = "127.0.0.1", port
            return base(*args, **kwargs)
        conn = base(*args, **kwargs)
        conn.address = ("127.0.0.1", port)  # pyrofork: read by connect()
        return conn

    client.connection_factory = to_server
    return client


_ORIGINAL_DATA_CENTER = []


def _point_data_center(port):
    import pyrogram.connection.connection as module

    if not _ORIGINAL_DATA_CENTER:
        _ORIGINAL_DATA_CENTER.append(module.DataCenter)
    module.DataCenter = lambda *args, **kwargs: ("127.0.0.1", port)


def unpoint_pyrogram():
    """Undo what ``point_pyrogram`` did process-wide on Pyrogram 2.0 (nothing otherwise)."""
    if _ORIGINAL_DATA_CENTER:
        import pyrogram.connection.connection as module

        module.DataCenter = _ORIGINAL_DATA_CENTER.pop()


def pyrogram_client(server, name="tlfast-testing", *, api_id=1, api_hash="tlfast-testing",
                    **kwargs):
    """A ``pyrogram.Client`` (kurigram) for ``server``, with an in-memory session; not
    started yet. Extra keyword arguments go to the Client. (Pyrogram itself appends any
    rpc_error it does not know, such as the test server's METHOD_NOT_IMPLEMENTED_..., to
    ./unknown_errors.txt: run such tests in a temporary working directory.)"""
    from pyrogram import Client

    kwargs.setdefault("in_memory", True)
    client = Client(name, api_id=api_id, api_hash=api_hash, **kwargs)
    return point_pyrogram(client, server)


__all__ = ["trust_in_telethon", "telethon_client", "trust_in_pyrogram", "point_pyrogram",
           "unpoint_pyrogram", "pyrogram_client"]
