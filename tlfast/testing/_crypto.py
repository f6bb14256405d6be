"""The cryptography of MTProto 2.0 a server needs, for tests only.

AES-256-IGE comes from the fastest implementation installed (cryptg, TgCrypto, else the
clients' own code: Telethon's or Pyrogram's AES module); RSA and Diffie-Hellman are
Python's own big integers. A test RSA key is generated here, so no real Telegram key (and
no private key of anyone's) is ever involved: the test hands the public half to its client.

Nothing here is fit to protect anything: the keys are for a server on 127.0.0.1 that a
test starts and stops.

May use: tlfast.
"""

import hashlib
import os
import random
import struct

from tlfast import Writer

# Telegram's 2048-bit safe prime (core.telegram.org/mtproto/auth_key): the clients refuse
# any other (Pyrogram compares it), so the test server offers this one, with g = 3.
DH_PRIME = int(
    "C71CAEB9C6B1C9048E6C522F70F13F73980D40238E3E21C14934D037563D930F"
    "48198A0AA7C14058229493D22530F4DBFA336F6E0AC925139543AED44CCE7C37"
    "20FD51F69458705AC68CD4FE6B6B13ABDC9746512969328454F18FAF8C595F64"
    "2477FE96BB2A941D5BCD1D4AC8CC49880708FA9B378E3C4F3A9060BEE67CF9A4"
    "A4A695811051907E162753B56B0F6B410DBA74D8A84B2A14B3144E0EF1284754"
    "FD17ED950D5965B4B9DD46582DB1178D169C6BC465B0D6FF9CA3928FEF5B9AE4"
    "E418FC15E83EBEA0F87FA9FF5EED70050DED2849F47BF959D956850CE929851F"
    "0D8115F635B105EE2E4E15D04B2454BF6F4FADF034B10403119CD8E3B92FCC5B", 16)
DH_G = 3


def sha1(data):
    return hashlib.sha1(data).digest()


def sha256(data):
    return hashlib.sha256(data).digest()


# AES-256-IGE ------------------------------------------------------------------------------
def _pick_aes():
    """(name, encrypt, decrypt) of the first AES-IGE implementation that imports."""
    try:
        import cryptg
        return "cryptg", cryptg.encrypt_ige, cryptg.decrypt_ige
    except ImportError:
        pass
    try:
        import tgcrypto
        return "tgcrypto", tgcrypto.ige256_encrypt, tgcrypto.ige256_decrypt
    except ImportError:
        pass
    try:  # Telethon's module uses cryptg or its pure-Python pyaes
        from telethon.crypto import AES
        return "telethon", AES.encrypt_ige, AES.decrypt_ige
    except ImportError:
        pass
    try:
        from pyrogram.crypto import aes
        return "pyrogram", aes.ige256_encrypt, aes.ige256_decrypt
    except ImportError:
        pass
    return None, None, None


AES_IMPL, _ige_encrypt, _ige_decrypt = _pick_aes()


def _need_aes():
    if AES_IMPL is None:
        raise RuntimeError("tlfast.testing needs AES-256-IGE: install cryptg or tgcrypto "
                           "(or Telethon or Pyrogram, whose own AES code it can use)")


def ige_encrypt(data, key, iv):
    _need_aes()
    return _ige_encrypt(data, key, iv)


def ige_decrypt(data, key, iv):
    _need_aes()
    return _ige_decrypt(data, key, iv)


# RSA: a fresh test key -------------------------------------------------------------------
_SMALL_PRIMES = [p for p in range(3, 2000) if all(p % d for d in range(2, int(p ** 0.5) + 1))]


def is_probable_prime(n, rounds=24, rng=random):
    """Miller-Rabin; false positives below 4**-rounds."""
    if n < 2:
        return False
    for p in _SMALL_PRIMES:
        if n % p == 0:
            return n == p
    d, s = n - 1, 0
    while d % 2 == 0:
        d //= 2
        s += 1
    for _ in range(rounds):
        x = pow(rng.randrange(2, n - 1), d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = x * x % n
            if x == n - 1:
                break
        else:
            return False
    return True


def random_prime(bits, rng):
    """A prime of exactly ``bits`` bits (top two bits set, so two of them make 2*bits)."""
    while True:
        n = rng.getrandbits(bits) | (3 << (bits - 2)) | 1
        if is_probable_prime(n, rng=rng):
            return n


def tl_bytes(b):
    """``b`` as TL ``bytes`` (length prefix, padding): the form fingerprints hash."""
    w = Writer()
    w.write_bytes(b)
    return w.getvalue()


class RSAKey:
    """A 2048-bit RSA key pair for the test server's key exchange.

    ``n`` and ``e`` are what a client needs (``fingerprint`` is how MTProto names the key:
    the low 64 bits of SHA-1 over TL ``bytes`` of n and e, as a signed little-endian long).
    """

    def __init__(self, n, e, d):
        self.n, self.e, self.d = n, e, d
        digest = sha1(tl_bytes(_be(n)) + tl_bytes(_be(e)))
        self.fingerprint = struct.unpack("<q", digest[-8:])[0]

    @classmethod
    def generate(cls, seed=None):
        """A new key; ``seed`` makes it reproducible (a test's key need not be secret)."""
        rng = random.Random(seed if seed is not None else os.urandom(16))
        e = 65537
        while True:
            p, q = random_prime(1024, rng), random_prime(1024, rng)
            phi = (p - 1) * (q - 1)
            if p != q and phi % e:
                return cls(p * q, e, pow(e, -1, phi))

    def public_pem(self):
        """The public key as PKCS#1 PEM ("BEGIN RSA PUBLIC KEY"), the form Telethon's
        ``telethon.crypto.rsa.add_key`` takes."""
        import base64
        der = _der_sequence(_der_int(self.n) + _der_int(self.e))
        b64 = base64.b64encode(der).decode()
        lines = [b64[i:i + 64] for i in range(0, len(b64), 64)]
        return "-----BEGIN RSA PUBLIC KEY-----\n" + "\n".join(lines) + "\n-----END RSA PUBLIC KEY-----\n"

    def decrypt_block(self, block):
        """Raw RSA on one 256-byte block, as both clients encrypt p_q_inner_data."""
        if len(block) != 256:
            raise ValueError(f"RSA block of {len(block)} bytes, expected 256")
        value = int.from_bytes(block, "big")
        if value >= self.n:
            raise ValueError("RSA block not below the modulus")
        return pow(value, self.d, self.n).to_bytes(256, "big")


def _be(n):
    return n.to_bytes((n.bit_length() + 7) // 8, "big")


def _der_len(n):
    if n < 128:
        return bytes([n])
    b = _be(n)
    return bytes([0x80 | len(b)]) + b


def _der_int(n):
    b = _be(n)
    if b[0] & 0x80:
        b = b"\x00" + b
    return b"\x02" + _der_len(len(b)) + b


def _der_sequence(body):
    return b"\x30" + _der_len(len(body)) + body


# key exchange and message keys ---------------------------------------------------------
def tmp_aes(new_nonce, server_nonce):
    """The temporary AES key and IV of the DH step, from the nonces' wire bytes."""
    key = sha1(new_nonce + server_nonce) + sha1(server_nonce + new_nonce)[:12]
    iv = sha1(server_nonce + new_nonce)[12:] + sha1(new_nonce + new_nonce) + new_nonce[:4]
    return key, iv


def message_key_iv(auth_key, msg_key, x):
    """MTProto 2.0 AES key and IV for one message (x = 0 client->server, 8 the reverse)."""
    a = sha256(msg_key + auth_key[x:x + 36])
    b = sha256(auth_key[40 + x:76 + x] + msg_key)
    return a[:8] + b[8:24] + a[24:32], b[:8] + a[8:24] + b[24:32]


def msg_key_of(auth_key, plaintext, x):
    return sha256(auth_key[88 + x:120 + x] + plaintext)[8:24]
