"""MTProto's TCP framings, server side, told apart by the first bytes a client sends
(core.telegram.org/mtproto/mtproto-transports):

- abridged: the client opens with one byte 0xef; each packet is its length in 4-byte
  words (one byte, or 0x7f and three bytes), then the payload (Pyrogram's default);
- intermediate: the client opens with 0xeeeeeeee; each packet is a 4-byte length, then
  the payload; padded intermediate (0xdddddddd) adds 0..15 random bytes after it;
- full: no opening; each packet is a 4-byte length (of the whole frame), a 4-byte
  sequence number per direction, the payload and a CRC32 of all that (Telethon's default).

Obfuscated framings (a 64-byte random opening) are not served: the first bytes of such
a client are refused with a clear error.

May use: nothing.
"""

import os
import struct
import zlib

MAX_PACKET = 1 << 24  # a test server never needs more; a bigger length means a broken frame


class TransportError(Exception):
    """The client's bytes do not make a frame of its framing (the connection is closed)."""


class Abridged:
    name = "abridged"

    async def read(self, reader):
        first = (await reader.readexactly(1))[0]
        if first & 0x7f == 0x7f:
            n = int.from_bytes(await reader.readexactly(3), "little")
        else:
            n = first & 0x7f
        return await reader.readexactly(_checked(n * 4))

    def frame(self, payload):
        n = len(payload) // 4
        head = bytes([n]) if n < 0x7f else b"\x7f" + n.to_bytes(3, "little")
        return head + payload


class Intermediate:
    name = "intermediate"

    def __init__(self, padded=False):
        self.padded = padded
        if padded:
            self.name = "padded intermediate"

    async def read(self, reader):
        n = struct.unpack("<I", await reader.readexactly(4))[0]
        data = await reader.readexactly(_checked(n))
        if self.padded and data[:8] != bytes(8):
            # An encrypted message is auth_key_id (8), msg_key (16) and whole AES blocks:
            # what goes beyond is the padding (0..15 bytes). A plain message says its own
            # length inside, so its padding is left for that reader to ignore.
            data = data[:len(data) - (len(data) - 24) % 16]
        return data

    def frame(self, payload):
        if self.padded:
            payload += os.urandom(os.urandom(1)[0] % 16)
        return struct.pack("<I", len(payload)) + payload


class Full:
    name = "full"

    def __init__(self, first4):
        self._first = first4  # the length word already read while detecting the framing
        self._recv_seq = 0
        self._send_seq = 0

    async def read(self, reader):
        head = self._first or await reader.readexactly(4)
        self._first = None
        n = struct.unpack("<I", head)[0]
        if n < 12:
            raise TransportError(f"full framing: frame length {n} is below 12")
        rest = await reader.readexactly(_checked(n - 4))
        seq, = struct.unpack_from("<i", rest)
        crc, = struct.unpack_from("<I", rest, len(rest) - 4)
        if zlib.crc32(head + rest[:-4]) != crc:
            raise TransportError(f"full framing: CRC32 mismatch in frame {seq}")
        if seq != self._recv_seq:
            raise TransportError(f"full framing: frame {seq} where {self._recv_seq} was due")
        self._recv_seq += 1
        return rest[4:-4]

    def frame(self, payload):
        body = struct.pack("<ii", len(payload) + 12, self._send_seq) + payload
        self._send_seq += 1
        return body + struct.pack("<I", zlib.crc32(body))


async def detect(reader):
    """The framing a new connection speaks, from its first bytes."""
    first = await reader.readexactly(1)
    if first == b"\xef":
        return Abridged()
    first += await reader.readexactly(3)
    if first == b"\xee\xee\xee\xee":
        return Intermediate()
    if first == b"\xdd\xdd\xdd\xdd":
        return Intermediate(padded=True)
    n = struct.unpack("<I", first)[0]
    if n > MAX_PACKET or n % 4 or n < 12:
        raise TransportError(f"unknown framing: the first bytes {first.hex()} are neither "
                             "0xef (abridged), 0xeeeeeeee / 0xdddddddd (intermediate) nor "
                             "a full frame's length (obfuscated framings are not served)")
    return Full(first)


def _checked(n):
    if n > MAX_PACKET:
        raise TransportError(f"frame of {n} bytes, more than this server takes ({MAX_PACKET})")
    return n
