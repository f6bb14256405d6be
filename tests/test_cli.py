"""The command line, run as users run it: ``python -m tlfast ...`` in a subprocess, once per
backend (TLFAST_BACKEND in the child's environment).

As with the ``backend`` fixture, the cython case fails (does not skip) when the extension
is missing, unless this test run itself was asked to be pure (TLFAST_BACKEND=python).
"""

import base64
import importlib.util
import json
import os
import re
import subprocess
import sys

import pytest

import tlfast

import _helpers as H  # noqa: E402  (tests/ is on sys.path: conftest.py)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LAYER190 = os.path.join(ROOT, "tests", "data", "api-layer190.tl")
LAYER228 = os.path.join(os.path.dirname(tlfast.__file__), "schemas", "api-layer228.tl")

# The seed's example, auth.importAuthorization(id=4965292, bytes=b"some bytes here"), as
# layer 228 encodes it: id 0xa57a7dad little-endian, id:long, then the padded bytes.
SEED_HEX = "ad 7d 7a a5 ac c3 4b 00 00 00 00 00 0f 73 6f 6d 65 20 62 79 74 65 73 20 68 65 72 65"
SEED = bytes.fromhex(SEED_HEX)
SEED_DICT = {"_": "auth.importAuthorization", "id": 4965292, "bytes": b"some bytes here".hex()}

BACKENDS = ["cython", "python"]
PEERS = [("telethon", "telethon"), ("kurigram", "pyrogram"), ("msgspec", "msgspec")]


@pytest.fixture(scope="module", params=BACKENDS, ids=BACKENDS)
def cli_backend(request):
    if request.param == "cython" and H.pure_requested():
        pytest.skip("TLFAST_BACKEND=python: the cython command line is not tested")
    return request.param


@pytest.fixture
def tlfast_cli(cli_backend, tmp_path):
    """run(*args, input=bytes|str|None) -> CompletedProcess (bytes stdout, text stderr)."""
    env = dict(os.environ)
    env["TLFAST_BACKEND"] = cli_backend
    env.pop("TLFAST_DEBUG", None)
    # The child imports the same tlfast as this test process (installed or in-tree).
    pkg_parent = os.path.dirname(os.path.dirname(os.path.abspath(tlfast.__file__)))
    env["PYTHONPATH"] = pkg_parent + os.pathsep + env.get("PYTHONPATH", "")

    def run(*args, input=None, check_traceback=True):
        if isinstance(input, str):
            input = input.encode("utf-8")
        proc = subprocess.run(
            [sys.executable, "-m", "tlfast", *map(str, args)],
            input=input if input is not None else b"",
            capture_output=True, env=env, cwd=tmp_path, timeout=120,
        )
        proc.stderr = proc.stderr.decode("utf-8", "replace")
        if check_traceback:
            assert "Traceback" not in proc.stderr, proc.stderr
        return proc

    return run


def ok(proc):
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.decode("utf-8")


def one_line_error(proc, *fragments):
    """A failure: non-zero exit, nothing on stdout, exactly one line on stderr."""
    assert proc.returncode != 0
    assert proc.stdout == b""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("tlfast: ")
    for f in fragments:
        assert f in lines[0], lines[0]
    return lines[0]


def test_seed_bytes_are_what_tlfast_encodes():
    from tlfast import api

    req = api.auth.importAuthorization(id=4965292, bytes=b"some bytes here")
    assert tlfast.schemas.api.dumps(req, backend="python") == SEED


# decode -------------------------------------------------------------------------------
@pytest.mark.parametrize("text", [
    SEED_HEX,
    SEED.hex(),
    "0x" + SEED.hex(),
    SEED_HEX[:30] + "\n" + SEED_HEX[30:] + "\n",
    base64.b64encode(SEED).decode(),
], ids=["spaced", "compact", "0x", "newlines", "base64"])
def test_decode_argument(tlfast_cli, text):
    assert json.loads(ok(tlfast_cli("decode", text))) == SEED_DICT


def test_decode_file_and_stdin(tlfast_cli, tmp_path):
    path = tmp_path / "seed.bin"
    path.write_bytes(SEED)
    assert json.loads(ok(tlfast_cli("decode", "--file", path))) == SEED_DICT
    assert json.loads(ok(tlfast_cli("decode", input=SEED))) == SEED_DICT
    assert json.loads(ok(tlfast_cli("decode", input=SEED_HEX + "\n"))) == SEED_DICT
    assert json.loads(ok(tlfast_cli("decode", "--input", "raw", input=SEED))) == SEED_DICT


def test_decode_pretty(tlfast_cli):
    out = ok(tlfast_cli("decode", "--pretty", SEED_HEX))
    assert json.loads(out) == SEED_DICT
    assert '\n  "_": "auth.importAuthorization",\n' in out


def test_decode_type_and_result_of(tlfast_cli):
    vec = "15c4b51c 03000000" + " ffffffffffffffff 0000000000000080 2a00000000000000"
    assert json.loads(ok(tlfast_cli("decode", "--type", "Vector<long>", vec))) == [-1, -(2**63), 42]
    ints = "15c4b51c 02000000 07000000 ffffffff"
    assert json.loads(ok(tlfast_cli("decode", "--result-of", "contacts.getContactIDs", ints))) == [7, -1]
    # the result inside an rpc_result, as it arrives from the server
    wrapped = "016d5cf3 0900000000000000 " + ints
    out = json.loads(ok(tlfast_cli("decode", "--result-of", "contacts.getContactIDs", wrapped)))
    assert out == {"_": "rpc_result", "req_msg_id": 9, "result": [7, -1]}


def test_decode_with_schema_file(tlfast_cli, tmp_path):
    schema = tmp_path / "tiny.tl"
    schema.write_text("point#1 x:int y:int = Point;\n---functions---\nping#2 n:long = Point;\n")
    out = ok(tlfast_cli("decode", "--schema", schema, "01000000 05000000 faffffff"))
    assert json.loads(out) == {"_": "point", "x": 5, "y": -6}
    # a schema given alone is the whole schema: the bundled ids are unknown there
    err = tlfast_cli("decode", "--schema", schema, SEED_HEX)
    assert err.returncode == 1 and "unknown constructor 0xa57a7dad" in err.stderr


def test_decode_error_shows_offset_path_and_dump(tlfast_cli):
    proc = tlfast_cli("decode", SEED_HEX[:-12])  # 4 bytes short
    assert proc.returncode == 1 and proc.stdout == b""
    lines = proc.stderr.splitlines()
    assert lines[0] == ("tlfast: decode error: auth.importAuthorization.bytes: unexpected end of "
                        "data: need 16 bytes, 12 left at offset 12")
    assert lines[1].startswith("  00000000  ad 7d 7a a5")
    assert lines[2].strip() == "^^ offset 12"
    assert lines[2].index("^") == lines[1].index("0f")


def test_decode_error_deep_path(tlfast_cli, tmp_path):
    from tlfast import _payloads

    value, _ = _payloads.build("messages_100")
    data = bytearray(tlfast.schemas.api.dumps(value, backend="python"))
    media = (0xE216EB63).to_bytes(4, "little")
    at = data.index(media)
    data[at:at + 4] = (0x12345678).to_bytes(4, "little")
    path = tmp_path / "bad.bin"
    path.write_bytes(bytes(data))
    proc = tlfast_cli("decode", "--file", path)
    assert proc.returncode == 1
    first = proc.stderr.splitlines()[0]
    assert "messages.messages.messages[" in first and "].media: unknown constructor 0x12345678" in first
    assert first.endswith(f"at offset {at}")
    assert "78 56 34 12" in proc.stderr


@pytest.mark.parametrize("args, fragment", [
    (["decode", "ad 7d zz"], "bad hex"),
    (["decode", "ad7d7"], "odd number of digits"),
    (["decode", "--input", "hex", "rX16pazDSwAAAAAAD3NvbWU="], "bad hex"),
    (["decode", "--input", "base64", "@@@@@@@@"], "bad base64"),
    (["decode", "--file", "/nonexistent/seed.bin"], "cannot read /nonexistent/seed.bin"),
    (["decode", "--type", "Vector<nosuchtype>", SEED_HEX], "nosuchtype"),
    (["decode", "--result-of", "auth.importAuthorizatio", SEED_HEX], "did you mean auth.importAuthorization"),
    (["decode", "--result-of", "auth.authorization", SEED_HEX], "needs a function"),
    (["decode", "--schema", "/nonexistent.tl", SEED_HEX], "cannot read /nonexistent.tl"),
    (["encode", "{not json"], "bad JSON"),
    (["encode", '{"_": "auth.noSuchThing"}'], "unknown constructor or function 'auth.noSuchThing'"),
    (["encode", '{"_": "auth.importAuthorization", "id": 1}'], "missing field 'bytes'"),
    (["encode", '{"_": "auth.importAuthorization", "id": 1, "bytes": "xyz"}'], "hex"),
    (["encode", '{"_": "auth.importAuthorization", "id": 1, "bytes": "", "x": 1}'], "unknown field"),
    (["encode", '{"id": 1}'], '"_"'),
    (["encode", "--file", "/nonexistent.json"], "cannot read"),
    (["schema", "nosuchname"], "no constructor or function named 'nosuchname'"),
    (["schema", "0x12345678"], "no constructor or function with id 0x12345678"),
    (["schema", "0xnothex"], "bad constructor id"),
    (["schema", "--diff", "/nonexistent.tl", LAYER228], "cannot read /nonexistent.tl"),
    (["bench", "--payload", "nosuchpayload"], "unknown payload"),
], ids=lambda v: v if isinstance(v, str) else None)
def test_bad_input_is_one_line(tlfast_cli, args, fragment):
    one_line_error(tlfast_cli(*args), fragment)


def test_bad_schema_file_is_one_line(tlfast_cli, tmp_path):
    bad = tmp_path / "bad.tl"
    bad.write_text("foo#1 x:int = ;\n")
    one_line_error(tlfast_cli("schema", "--diff", bad, LAYER228), str(bad))
    binary = tmp_path / "binary.tl"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    one_line_error(tlfast_cli("schema", "foo", "--schema", binary), "not UTF-8")


# encode -------------------------------------------------------------------------------
def test_encode_is_the_inverse(tlfast_cli):
    doc = json.dumps(SEED_DICT)
    assert ok(tlfast_cli("encode", doc)).strip() == SEED_HEX
    assert tlfast_cli("encode", "--raw", doc).stdout == SEED
    assert ok(tlfast_cli("encode", input=doc)).strip() == SEED_HEX
    decoded = ok(tlfast_cli("decode", SEED_HEX))
    assert ok(tlfast_cli("encode", input=decoded)).strip() == SEED_HEX


def test_encode_other_types(tlfast_cli):
    out = ok(tlfast_cli("encode", "--type", "Vector<long>", "[-1, 42]")).strip()
    assert out == "15 c4 b5 1c 02 00 00 00 ff ff ff ff ff ff ff ff 2a 00 00 00 00 00 00 00"
    out = ok(tlfast_cli("encode", "--type", "Vector<bytes>", '["0102"]')).strip()
    assert out == "15 c4 b5 1c 01 00 00 00 02 01 02 00"


def test_round_trip_of_a_realistic_payload(tlfast_cli, tmp_path):
    """messages.messages with 100 messages: JSON keeps 64-bit ids, bytes and emoji exact."""
    from tlfast import _payloads

    value, _ = _payloads.build("messages_100")
    data = tlfast.schemas.api.dumps(value, backend="python")
    path = tmp_path / "messages.bin"
    path.write_bytes(data)
    doc = ok(tlfast_cli("decode", "--file", path))
    assert tlfast_cli("encode", "--raw", input=doc).stdout == data


# schema -------------------------------------------------------------------------------
def test_schema_show(tlfast_cli):
    out = ok(tlfast_cli("schema", "auth.importAuthorization"))
    lines = out.splitlines()
    assert lines[0] == "auth.importAuthorization#a57a7dad id:long bytes:bytes = auth.Authorization;"
    assert "function in the bundled api schema (layer 228)" in lines[1]
    assert "0xa57a7dad (declared = computed: ids agree)" in out
    assert "result  auth.Authorization: auth.authorization, auth.authorizationSignUpRequired" in out
    assert any(l.split() == ["id", "long"] for l in lines)
    assert any(l.split() == ["bytes", "bytes"] for l in lines)
    assert ok(tlfast_cli("schema", "0xa57a7dad")) == out


def test_schema_show_details(tlfast_cli):
    out = ok(tlfast_cli("schema", "message"))
    assert "(bit shared with forwards)" in out
    assert "the bundled mtproto schema also defines message#5bb8e511" in out
    out = ok(tlfast_cli("schema", "ipPortSecret"))
    assert "ids DIFFER (a known exception)" in out
    out = ok(tlfast_cli("schema", "rpc_result"))
    assert "constructor in the bundled mtproto schema" in out
    out = ok(tlfast_cli("schema", "auth.Authorization"))
    assert out.startswith("type auth.Authorization") and "auth.importAuthorization" in out


def test_schema_diff_190_228(tlfast_cli):
    out = ok(tlfast_cli("schema", "--diff", LAYER190, LAYER228))
    lines = out.splitlines()
    assert lines[0].startswith(f"--- {LAYER190} (layer 190, ")
    assert lines[1].startswith(f"+++ {LAYER228} (layer 228, ")
    assert lines[2].startswith("constructors: ") and lines[3].startswith("functions: ")
    # a constructor that layer 228 added, and one whose id and params changed
    assert "  + inputMediaTodo#9fc55fde todo:TodoList = InputMedia;" in lines
    at = lines.index("  ~ inputMediaUploadedPhoto")
    assert lines[at + 1].strip() == "id 0x1e287d04 -> 0x7d8375da"
    assert "+ video:flags.3?InputDocument" in [l.strip() for l in lines[at + 1:at + 6]]
    # the counts agree with the listed entries
    added = sum(1 for l in lines if l.startswith("  + "))
    n_added = sum(int(l.split(": ")[1].split()[0]) for l in lines[2:4])
    assert added == n_added


def test_schema_diff_of_identical_files(tlfast_cli):
    out = ok(tlfast_cli("schema", "--diff", LAYER190, LAYER190))
    assert "constructors: 0 added, 0 removed, 0 changed" in out
    assert "functions: 0 added, 0 removed, 0 changed" in out


def test_schema_shows_builtin_declarations(tlfast_cli):
    out = ok(tlfast_cli("schema", "int"))
    assert out.splitlines()[0] == "int#a8509bda ? = Int;"
    assert "built-in in the bundled api schema (layer 228)" in out
    assert "0xa8509bda (declared = computed: ids agree)" in out
    out = ok(tlfast_cli("schema", "--schema", LAYER190, "0x1cb5c415"))
    assert out.splitlines()[0] == "vector#1cb5c415 {t:Type} # [ t ] = Vector t;"
    assert "0x1cb5c415 (declared = computed: ids agree)" in out
    assert ok(tlfast_cli("schema", "--schema", LAYER190, "vector")) == out


def test_schema_and_decode_with_a_partial_schema(tlfast_cli, tmp_path):
    from _helpers import seed_tl_lines

    path = tmp_path / "seed.tl"
    path.write_text(seed_tl_lines(), encoding="utf-8")
    out = ok(tlfast_cli("schema", "--schema", path, "auth.authorization"))
    assert "user" in out and "User" in out
    doc = json.loads(ok(tlfast_cli("decode", "--schema", path, "9a7e7444 00000000")))
    assert doc == {"_": "auth.authorizationSignUpRequired", "terms_of_service": None}


@pytest.mark.parametrize("args", [["decode", SEED_HEX], ["schema", "int"], ["--version"]],
                         ids=["decode", "schema", "version"])
@pytest.mark.parametrize("how", ["-m", "script"])
def test_invalid_backend_is_one_line(tmp_path, args, how):
    env = dict(os.environ, TLFAST_BACKEND="bogus")
    env.pop("TLFAST_DEBUG", None)
    pkg_parent = os.path.dirname(os.path.dirname(os.path.abspath(tlfast.__file__)))
    env["PYTHONPATH"] = pkg_parent + os.pathsep + env.get("PYTHONPATH", "")
    if how == "-m":
        command = [sys.executable, "-m", "tlfast"]
    else:
        script = os.path.join(os.path.dirname(sys.executable), "tlfast")
        if not os.path.exists(script):
            pytest.skip("no tlfast script beside this Python (not installed)")
        command = [script]
    proc = subprocess.run(command + args, capture_output=True, env=env, cwd=tmp_path,
                          timeout=120)
    proc.stderr = proc.stderr.decode("utf-8", "replace")
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.returncode == 1
    one_line_error(proc, "TLFAST_BACKEND='bogus' is not one of auto, cython, python")


# bench --------------------------------------------------------------------------------
def test_bench_quick_json(tlfast_cli, cli_backend, tmp_path, peers_required):
    path = tmp_path / "bench.json"
    proc = tlfast_cli("bench", "--quick", "--json", path,
                      "--payload", "import_authorization", "--payload", "send_message")
    out = ok(proc)
    assert "payload" in out and "tlfast-python" in out and "import_authorization" in out
    assert "[1/" in proc.stderr  # progress goes to stderr
    report = json.loads(path.read_text(encoding="utf-8"))
    assert set(report) >= {"machine", "settings", "sizes", "results"}
    assert report["sizes"]["import_authorization"] == len(SEED)
    assert report["settings"]["variants"] == 4  # --quick: 4 distinct payloads of each shape
    assert "4 distinct payloads of each shape, in turns" in report["settings"]["payloads"]
    assert "4 distinct payloads of each shape, in turns" in out
    by = {(r["payload"], r["op"], r["codec"]): r for r in report["results"]}
    ours = ["tlfast-python"] + (["tlfast-cython"] if cli_backend == "cython" else [])
    for payload in ("import_authorization", "send_message"):
        for op in ("decode", "encode"):
            for codec in ours:
                r = by[(payload, op, codec)]
                assert r["status"] == "ok", r
                assert r["median_s"] > 0
                assert r["variants"] == 1  # these two small requests have one
            for peer, module in PEERS:
                # the child runs this interpreter: a peer importable here must have run
                installed = importlib.util.find_spec(module) is not None
                assert installed or not peers_required, f"{module} is not installed"
                want = "ok" if installed else "not installed"
                assert by[(payload, op, peer)]["status"] == want, (payload, op, peer)
    if cli_backend == "python":
        assert by[("send_message", "decode", "tlfast-cython")]["status"].startswith("skipped")


def test_bench_markdown_and_no_gc(tlfast_cli, tmp_path):
    path = tmp_path / "bench.json"
    out = ok(tlfast_cli("bench", "--quick", "--markdown", "--no-gc", "--json", path,
                        "--payload", "import_authorization", "--codec", "tlfast-python",
                        "--codec", "telethon"))
    assert out.startswith("`python -m tlfast bench`: ")
    assert "garbage collector paused while sampling" in out
    assert "| payload | size | op | tlfast-python |" in out
    assert "| import_authorization | 28 B | decode | " in out
    report = json.loads(path.read_text(encoding="utf-8"))
    assert report["settings"]["gc"] == "paused while sampling"
    out = ok(tlfast_cli("bench", "--quick", "--payload", "import_authorization",
                        "--codec", "tlfast-python"))
    assert "garbage collector on, as in a live client" in out


def test_main_in_process(capsys):
    """The console script's entry point returns the exit status instead of exiting."""
    from tlfast.__main__ import main

    assert main(["schema", "auth.importAuthorization"]) == 0
    assert "a57a7dad" in capsys.readouterr().out
    assert main(["schema", "nosuchname"]) == 1
    assert capsys.readouterr().err.startswith("tlfast: no constructor or function named")
    assert main([]) == 2


@pytest.mark.parametrize("command", [[], ["bench"], ["decode"], ["encode"], ["schema"], ["stubs"]],
                         ids=["tlfast", "bench", "decode", "encode", "schema", "stubs"])
def test_help_names_an_existing_docs_page(capsys, command):
    """Each --help ends by naming the docs page (and section) that covers it; the page
    must exist and have that heading."""
    from tlfast.__main__ import main

    with pytest.raises(SystemExit) as exit_:
        main([*command, "--help"])
    assert exit_.value.code == 0
    out = " ".join(capsys.readouterr().out.split())
    found = re.findall(r"Documentation: (docs/[\w/.-]+\.md)(?:#([\w-]+))?", out)
    assert len(found) == 1, out
    page, anchor = found[0]
    path = os.path.join(ROOT, page)
    assert os.path.isfile(path), page
    if anchor:
        assert anchor in H.doc_anchors(path), (page, anchor)


@pytest.mark.parametrize("corrupt", ["truncated", "trailing", "unknown id"])
def test_bench_fails_when_a_peer_disagrees_with_tlfast(monkeypatch, corrupt):
    """The peers decode tlfast's reference bytes and write them back: one that cannot
    read them, or writes back other bytes, is an error (exit status 1), never a skip."""
    from tlfast import _bench

    pytest.importorskip("telethon")
    pytest.importorskip("pyrogram")
    data = _bench.tlfast_data("import_authorization")
    # as if tlfast's encoder had regressed: bytes missing, bytes too many, a wrong id
    bad = {"truncated": data[:-4], "trailing": data + bytes(4),
           "unknown id": b"\xef\xbe\xad\xde" + data[4:]}[corrupt]
    monkeypatch.setitem(_bench._data_cache, ("data", "import_authorization", 0), bad)
    out, err = [], []
    status = _bench.main(["import_authorization"], ["telethon", "kurigram"], quick=True,
                         out=_Lines(out), err=_Lines(err))
    assert status == 1
    report = "".join(out)
    for peer in ("telethon", "kurigram"):
        assert f"{peer} import_authorization decode: CheckFailed" in report, report


class _Lines:
    def __init__(self, into):
        self.into = into

    def write(self, text):
        self.into.append(text)

    def flush(self):
        pass
