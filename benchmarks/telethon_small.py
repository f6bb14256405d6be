"""Small objects through Telethon's decode seam: stock Telethon vs the drop-in on the pure
engine, in one process, GC on, the codecs in turns. Prints min-of-repeats per call and the
ratio. Usage: python benchmarks/telethon_small.py [--rounds N] [install keywords as k=v]"""

import argparse
import struct
import timeit
import warnings

warnings.simplefilter("ignore")
import tlfast.telethon as tt  # noqa: E402
from telethon.extensions import BinaryReader  # noqa: E402
from telethon.tl import types  # noqa: E402
from tlfast import _bench  # noqa: E402


def cases():
    user = types.User(id=12345678, first_name="Alice", last_name="B", username="alice",
                      access_hash=99, phone="123")
    return {
        "bool_true": struct.pack("<I", 0x997275B5),  # a Bool result alone
        # the reply to a request that returns Bool: a core object, read by Telethon's code
        "rpc_result_bool": struct.pack("<IqI", 0xF35C6D01, 1 << 40, 0x997275B5),
        "vector_peer_3": struct.pack("<Ii", 0x1CB5C415, 3) + bytes(types.PeerUser(5)) * 3,
        "input_peer_empty": bytes(types.InputPeerEmpty()),
        "peer": bytes(types.PeerUser(5)),
        "import_authorization": _bench.tlfast_data("import_authorization"),
        "user": bytes(user),
        "send_message": _bench.tlfast_data("send_message"),
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--number", type=int, default=5000)
    ap.add_argument("opts", nargs="*", help="install() keywords, e.g. min_bytes=0")
    args = ap.parse_args()
    opts = {k: int(v) for k, v in (o.split("=") for o in args.opts)}
    for name, data in cases().items():
        best = {"stock": [], "pure": []}
        for _ in range(args.rounds):  # in turns, so load changes hit both alike
            for which in ("stock", "pure"):
                if which == "pure":
                    tt.install(backend="python", **opts)
                run = timeit.repeat(lambda: BinaryReader(data).tgread_object(),
                                    number=args.number, repeat=3)
                tt.uninstall()
                best[which].append(min(run) / args.number * 1e6)
        s, p = min(best["stock"]), min(best["pure"])
        print(f"{name:22s} {len(data):4d} B  stock {s:6.2f} us  pure {p:6.2f} us  "
              f"ratio {p / s:.3f}")


if __name__ == "__main__":
    main()
