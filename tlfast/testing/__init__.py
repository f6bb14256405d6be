"""A local MTProto server on tlfast's codec, for testing Telegram clients offline.

Real clients (Telethon, the Pyrogram family) connect to it over 127.0.0.1: it does the key
exchange with a test RSA key, speaks MTProto 2.0 (the full, intermediate and abridged TCP
framings) and answers enough of the API for a bot's life (sign-in, updates, sending,
history), with faults on demand (rpc errors such as FLOOD_WAIT_X, delays, dropped
connections, bad_server_salt). ``python -m tlfast serve`` runs one from the shell.

    import tlfast.telethon, tlfast.testing
    async with tlfast.testing.Server(tlfast.telethon.schema()) as server:
        client = tlfast.testing.telethon_client(server)
        await client.start(bot_token="123:test")

May use: testing._serve, testing._api, testing._clients, testing._crypto.
"""

from ._api import Account, RpcError, NOT_IMPLEMENTED
from ._clients import (point_pyrogram, pyrogram_client, telethon_client, trust_in_pyrogram,
                       trust_in_telethon, unpoint_pyrogram)
from ._crypto import AES_IMPL, RSAKey
from ._serve import Server, ServerThread, test_rsa_key

__all__ = ["Server", "ServerThread", "Account", "RpcError", "NOT_IMPLEMENTED", "RSAKey",
           "test_rsa_key", "AES_IMPL", "telethon_client", "trust_in_telethon",
           "pyrogram_client", "point_pyrogram", "unpoint_pyrogram", "trust_in_pyrogram"]
