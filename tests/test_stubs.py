"""Typed stubs: the shipped ones are current and agree with the schema and the run-time
classes, and type checkers accept a correct program and report the classic mistakes.

The checks are static (no engine runs), so only the test that runs the correct programs is
parametrized by backend.
"""

import ast
import inspect
import os
import shutil
import site
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import tlfast
from tlfast import _stubgen

PKG = Path(tlfast.__file__).resolve().parent

# The seed, and the classic mistakes a type checker must catch in it: (line, message part).
GOOD = '''\
import tlfast
from tlfast import api, mtproto

req = api.auth.importAuthorization(id=4965292, bytes=b"some bytes here")
data: bytes = bytes(req)
assert tlfast.loads(data) == req
queue = api.messages.receivedQueue(max_qts=5)
qts = tlfast.loads(bytes.fromhex("15c4b51c010000000500000000000000"), result_of=queue)
if not isinstance(qts, (mtproto.rpc_result, mtproto.rpc_error)):
    total: int = sum(qts)  # Vector<long>: list[int]
user: api.User = api.userEmpty(id=1)
send = api.messages.sendMessage(peer=api.inputPeerSelf(), message="hi", random_id=7, silent=True)
reply: "api.InputReplyTo | None" = send.reply_to
layered = api.invokeWithLayer(layer=228, query=api.help.getConfig())
config = tlfast.loads(b"", result_of=layered) if False else None  # typed api.Config | ...
state = api.updates.state(pts=1, qts=2, date=3, seq=4, unread_count=0)
packed = tlfast.gzip_packed(req)
r = tlfast.Reader(data)
cid: int = r.read_uint()
try:
    tlfast.loads(b"\\x00")
except tlfast.TLDecodeError as exc:
    offset: "int | None" = exc.offset
'''
BAD = '''\
from tlfast import api
api.auth.importAuthorization(idd=4965292, bytes=b"x")
api.auth.importAuthorization(id="4965292", bytes=b"x")
api.auth.importAuthorization(bytes=b"x")
'''
BAD_EXPECTED = {2: "idd", 3: "id", 4: "id"}  # line -> the parameter the error names

# A user's own schema, its stubs written by the command line, and a module that loads it.
USER_TL = '''\
peer flags:# id:long name:flags.0?string verified:flags.1?true extra:flags.2?Mystery = Peer;
---functions---
peers.get ids:Vector<long> = Vector<Peer>;
'''
USER_MODULE = '''\
import os
import tlfast
schema = tlfast.Schema.from_file(os.path.join(os.path.dirname(__file__), "mytl.tl"))
api = schema.api
'''
USER_GOOD = '''\
from mytl import api, schema
p = api.peer(id=1, name="x", verified=True)
name: "str | None" = p.name
peers = schema.loads(schema.dumps([p], type="Vector<Peer>"), result_of=api.peers.get(ids=(1, 2)))
'''
USER_BAD = '''\
from mytl import api
api.peer(id=1, name=2)
api.peers.get(ids=["1"])
'''


@pytest.fixture(scope="module")
def programs(tmp_path_factory):
    """A folder with the programs above and the user schema's module and stubs."""
    d = tmp_path_factory.mktemp("typed")
    for name, text in [("good.py", GOOD), ("bad.py", BAD), ("mytl.tl", USER_TL),
                       ("mytl.py", USER_MODULE), ("user_good.py", USER_GOOD),
                       ("user_bad.py", USER_BAD)]:
        (d / name).write_text(text, encoding="utf-8")
    out = subprocess.run([sys.executable, "-m", "tlfast", "stubs", str(d / "mytl.tl"), "-o", str(d)],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == str(d / "mytl.pyi")
    return d


def _package_path_env():
    """MYPYPATH for an editable install (whose finder hook mypy cannot follow); none for a
    normal install in site-packages, which mypy finds by itself (and refuses in MYPYPATH)."""
    env = dict(os.environ)
    parent = str(PKG.parent)
    if parent not in site.getsitepackages():
        env["MYPYPATH"] = parent
    return env


def _errors(output, file_name):
    """{line: message} of the errors a checker printed for ``file_name``."""
    found = {}
    for line in output.splitlines():
        head, _, message = line.partition(": error: ")
        if message and head.split(":")[0].endswith(file_name):
            found.setdefault(int(head.split(":")[1]), message)
    return found


# --- shipped stubs are current and agree with the schema ----------------------------------
def test_shipped_stubs_are_current():
    for name, text in _stubgen.bundled().items():
        shipped = (PKG / name).read_text(encoding="utf-8")
        assert shipped == text, f"tlfast/{name} is stale: run `python -m tlfast stubs --bundled`"


def _stub_classes(tree):
    """{dotted path under api: ClassDef} of a generated stub module."""
    out = {}

    def walk(node, prefix):
        for item in node.body:
            if isinstance(item, ast.ClassDef):
                path = f"{prefix}.{item.name}" if prefix else item.name
                out[path] = item
                walk(item, path)

    root = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "api")
    walk(root, "")
    return out


# The Python type each TL parameter type must get, written from the TL side (independent of
# the generator's table, which works from plans).
_TL_TO_PY = {"int": "_int", "long": "_int", "int128": "_int", "int256": "_int", "#": "_int",
             "double": "_float", "Bool": "_bool", "true": "_bool", "bytes": "_bytes",
             "string": "_str"}


def _expected_annotation_start(tl_type):
    if tl_type.name in _TL_TO_PY:
        return _TL_TO_PY[tl_type.name]
    if tl_type.name in ("Vector", "vector"):
        return "_list["
    return ""  # a class, Any or TLFunction[...]: the mypy tests below check those in use


@pytest.mark.parametrize("name", ["api", "mtproto"])
def test_stubs_agree_with_schema_and_classes(name):
    schema = getattr(tlfast.schemas, name)
    classes = _stub_classes(ast.parse((PKG / f"_{name}.pyi").read_text(encoding="utf-8")))
    defined = {p for p, c in classes.items()
               if any(isinstance(i, ast.FunctionDef) and i.name == "__init__" for i in c.body)}
    names = {d.name for d in schema}
    assert defined == names
    for path in set(classes) - defined:  # the others are boxed types and namespaces
        assert path in schema.types or any(n.startswith(path + ".") for n in names), path
    for d in schema:
        if d.name not in defined:
            continue
        node = classes[d.name]
        cls = schema.api
        for part in d.name.split("."):
            cls = getattr(cls, part)
        attrs = {i.target.id: ast.unparse(i.annotation) for i in node.body
                 if isinstance(i, ast.AnnAssign)}
        assert list(attrs) == [a for a, _ in cls._fields], d.name
        init = next(i for i in node.body if isinstance(i, ast.FunctionDef))
        assert not init.args.args[1:], f"{d.name}: parameters must be keyword-only"
        stub_params = {a.arg: (ast.literal_eval(v) if v is not None else "required")
                       for a, v in zip(init.args.kwonlyargs, init.args.kw_defaults)}
        runtime = {p.name: (p.default if p.default is not p.empty else "required")
                   for p in list(inspect.signature(cls).parameters.values())}
        assert stub_params == runtime, d.name
        by_tl_name = {tl: a for a, tl in cls._fields}
        for p in d.params:
            if p.name in by_tl_name:
                ann = attrs[by_tl_name[p.name]]
                assert ann.startswith(_expected_annotation_start(p.type)), (d.name, p, ann)
                assert ann.endswith(" | None") == (p.flag is not None and p.type.name != "true"), (d.name, p)
        base = ast.unparse(node.bases[0])
        if d.is_function:
            assert base.startswith("TLFunction["), d.name
        else:  # the boxed type is the base class, as at run time (`True` is no Python name)
            assert base == f"_R.{d.type}" or (base, str(d.type)) == ("TLType", "True"), d.name
            assert cls.__mro__[1].TL_NAME == str(d.type), d.name


def test_seed_stub():
    classes = _stub_classes(ast.parse((PKG / "_api.pyi").read_text(encoding="utf-8")))
    assert ast.unparse(classes["auth.importAuthorization"]).splitlines() == [
        "class importAuthorization(TLFunction[_R.auth.Authorization]):",
        "    id: _int",
        "    bytes: _bytes",
        "",
        "    def __init__(self, *, id: _int, bytes: _bytes) -> None:",
        "        ...",
    ]


def test_public_stub_names_and_signatures_match_the_package():
    tree = ast.parse((PKG / "__init__.pyi").read_text(encoding="utf-8"))
    stub_all = next(ast.literal_eval(n.value) for n in tree.body if isinstance(n, ast.Assign)
                    and getattr(n.targets[0], "id", None) == "__all__")
    assert stub_all == tlfast.__all__
    defined = {getattr(t, "id", None) for n in tree.body if isinstance(n, (ast.Assign, ast.AnnAssign))
               for t in (n.targets if isinstance(n, ast.Assign) else [n.target])}
    defined |= {n.name for n in tree.body if isinstance(n, (ast.ClassDef, ast.FunctionDef))}
    defined |= {a.asname or a.name for n in tree.body if isinstance(n, ast.ImportFrom)
                for a in n.names}
    missing = [n for n in tlfast.__all__ + ["api", "mtproto", "schemas", "__version__"]
               if n not in defined]
    assert not missing

    def params(fn):
        return [(p.name, p.kind) for p in inspect.signature(fn).parameters.values()
                if p.name != "self"]

    def stub_params(fn):
        a = fn.args
        out = [(x.arg, inspect.Parameter.POSITIONAL_OR_KEYWORD) for x in a.args if x.arg not in ("self", "cls")]
        out += [(x.arg, inspect.Parameter.KEYWORD_ONLY) for x in a.kwonlyargs]
        return out

    # Reader and Writer as the pure engine defines them (the parity tests hold the Cython
    # one to the same signatures).
    runtime = {"Schema": tlfast.Schema, "Reader": tlfast._backend.load("python").Reader,
               "Writer": tlfast._backend.load("python").Writer}
    checked = 0
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and hasattr(tlfast, node.name):
            assert stub_params(node) == params(getattr(tlfast, node.name)), node.name
            checked += 1
        if isinstance(node, ast.ClassDef) and node.name in runtime:
            for item in node.body:
                decorators = {ast.unparse(d) for d in getattr(item, "decorator_list", ())}
                if not isinstance(item, ast.FunctionDef) or "property" in decorators:
                    continue
                member = getattr(runtime[node.name], item.name)
                assert stub_params(item) == params(member), f"{node.name}.{item.name}"
                checked += 1
    assert checked > 30


# --- type checkers on user programs -----------------------------------------------------
def test_mypy(programs):
    # No custom reason: the root conftest turns importorskip's own "could not import"
    # into a failure where TLFAST_REQUIRE_PEERS says the test extra is installed.
    pytest.importorskip("mypy")
    out = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-error-summary", "--cache-dir",
         str(programs / ".mypy_cache"), "good.py", "bad.py", "user_good.py", "user_bad.py"],
        cwd=programs, env=_package_path_env(), capture_output=True, text=True, timeout=600)
    text = out.stdout + out.stderr
    assert _errors(text, "good.py") == {} and _errors(text, "user_good.py") == {}, text
    assert not [line for line in text.splitlines() if "tlfast" in line.split(": ")[0]], text
    bad = _errors(text, "bad.py")
    assert set(bad) == set(BAD_EXPECTED), text
    for line, word in BAD_EXPECTED.items():
        assert f'"{word}"' in bad[line], bad[line]
    assert "incompatible type \"str\"; expected \"int\"" in bad[3]
    user_bad = _errors(text, "user_bad.py")
    assert set(user_bad) == {2, 3}, text


def test_pyright(programs, peers_required):
    # pyright's PyPI wheel carries the checker itself but runs it on Node.js: with no `node`
    # on PATH it would download one, which we never do in a test.
    pytest.importorskip("pyright")
    if shutil.which("node") is None:
        if peers_required:  # CI's machines have Node.js: a missing one must not pass silently
            pytest.fail("TLFAST_REQUIRE_PEERS is set, but pyright has no Node.js on PATH")
        pytest.skip("pyright needs Node.js on PATH (no download in tests)")
    (programs / "pyrightconfig.json").write_text(
        '{"extraPaths": [%s], "reportMissingModuleSource": false}' % (
            '"%s"' % PKG.parent if "MYPYPATH" in _package_path_env() else ""), encoding="utf-8")
    env = dict(_package_path_env(), PYRIGHT_PYTHON_IGNORE_WARNINGS="1")
    out = subprocess.run([sys.executable, "-m", "pyright", "--pythonpath", sys.executable,
                          "good.py", "bad.py", "user_good.py", "user_bad.py"],
                         cwd=programs, env=env, capture_output=True, text=True, timeout=600)
    text = out.stdout + out.stderr
    found = {}
    for line in text.splitlines():
        head, _, message = line.strip().partition(" - error: ")
        if message:
            found.setdefault(Path(head.split(":")[0]).name, set()).add(int(head.split(":")[1]))
    assert found == {"bad.py": set(BAD_EXPECTED), "user_bad.py": {2, 3}}, text


def test_correct_programs_run(programs, backend):
    env = dict(os.environ, TLFAST_BACKEND=backend.NAME)
    for name in ("good.py", "user_good.py"):
        out = subprocess.run([sys.executable, name], cwd=programs, env=env, capture_output=True,
                             text=True, timeout=120)
        assert out.returncode == 0, out.stderr


# --- the command -------------------------------------------------------------------------
@pytest.mark.parametrize("argv, message", [
    ([], "give a SCHEMA.tl, or --bundled"),
    (["x.tl", "--bundled"], "give a SCHEMA.tl, or --bundled"),
    (["--bundled", "--name", "x"], "--bundled names its own files"),
    (["/nonexistent/x.tl"], "cannot read /nonexistent/x.tl"),
])
def test_stubs_command_errors(argv, message):
    out = subprocess.run([sys.executable, "-m", "tlfast", "stubs", *argv],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 1 and message in out.stderr and "Traceback" not in out.stderr


def test_stubs_command_bundled_writes_what_ships(tmp_path):
    out = subprocess.run([sys.executable, "-m", "tlfast", "stubs", "--bundled", "-o", str(tmp_path)],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    for name in ("_api.pyi", "_mtproto.pyi"):
        assert (tmp_path / name).read_bytes() == (PKG / name).read_bytes()


def test_unspellable_names_are_reported(tmp_path):
    # A field and a namespace member of the same name cannot both live in one class body.
    schema = tlfast.Schema.from_text(textwrap.dedent("""\
        box state:int = Box;
        box.state = box.State;
    """))
    with pytest.raises(_stubgen.StubError, match="box: field and namespace member state"):
        _stubgen.generate(schema, "x")
