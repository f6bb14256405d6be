"""The CI's steps, one nox session each; `.ci/run` runs them all, and developers any one.

    nox -s tests-3.12                       # README install in a fresh venv, whole suite, ...
    nox -s tests-3.12 -- tests/test_gc.py   # ... or only what follows `--` (no other step)
    nox -p 3.13                             # every session of one CPython
    nox -l                                  # the list

Per CPython in PYTHONS: ``tests`` (the README's install and test command, a forced-pure
pass, the drop-in on each older Pyrogram-family host in a venv of its own), ``portable``
(the engine's portable paths, CFLAGS=-DTLFAST_PORTABLE) and ``wheel`` (sdist, a wheel
built from it without warnings, installed where there is no compiler). On one CPython
(ONCE): ``fuzz`` and ``bench``. Every session starts from a fresh venv; interpreters
that pyenv installed but did not activate are found too (see _find_interpreters).
"""

import fcntl
import glob
import hashlib
import os
import re
import shutil
import subprocess
import tempfile

import nox

PYTHONS = ["3.10", "3.11", "3.12", "3.13"]  # pyproject.toml's requires-python and classifiers
ONCE = "3.11"
# Older hosts of the Pyrogram drop-in: each installs the package `pyrogram`, so each gets a
# venv of its own (kurigram, the bench extra's, is tested by the suite itself).
# Hydrogram installs `hydrogram` (its `fast` extra: TgCrypto). Each host venv also runs the
# live tests (a bot's life against tlfast.testing's server) where the host imports as
# `pyrogram`, which those tests drive.
PYROGRAM_HOSTS = ["pyrogram==2.0.106", "pyrofork==2.3.69", "hydrogram[fast]==0.2.0"]
TEST_TOOLS = ["pytest>=7", "hypothesis>=6"]  # as in the test extra, without the checkers
BUILD = "build==1.3.0"

ROOT = os.path.dirname(os.path.abspath(__file__))
nox.options.default_venv_backend = "venv"
nox.options.reuse_venv = "no"
nox.options.download_python = "never"  # the CPythons tested are the machine's own


def _find_interpreters():
    """Make every CPython of PYTHONS that is installed findable as ``pythonX.Y``: one that
    pyenv installed but that is not active (pyenv's shim then refuses to run it) gets its
    directory put first on PATH. A version found nowhere is left for nox to report:
    `.ci/run` makes that an error (--error-on-missing-interpreters)."""
    root = os.environ.get("PYENV_ROOT")
    if not root and shutil.which("pyenv"):
        out = subprocess.run(["pyenv", "root"], capture_output=True, text=True)
        root = out.stdout.strip() if out.returncode == 0 else None
    root = root or os.path.expanduser("~/.pyenv")
    for version in PYTHONS:
        if _runs(f"python{version}", version):
            continue
        found = []
        for exe in glob.glob(os.path.join(root, "versions", f"{version}.*", "bin", f"python{version}")):
            patch = re.fullmatch(rf"{re.escape(version)}\.(\d+)", os.path.basename(os.path.dirname(os.path.dirname(exe))))
            if patch and _runs(exe, version):  # X.Y.Z only: not X.Y.Zt, not a virtualenv
                found.append((int(patch.group(1)), exe))
        if found:
            bin_dir = os.path.dirname(max(found)[1])
            os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")


def _runs(exe, version):
    try:
        out = subprocess.run([exe, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                             capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return False
    return out.returncode == 0 and out.stdout.strip() == version


_find_interpreters()


def _tmp(session):
    """The session's own scratch directory, as an absolute path (steps change directory)."""
    return os.path.abspath(session.create_tmp())


def _env(session, **extra):
    """What every session's commands run with (the caller's own settings win): hypothesis
    seeded from the commit (tests/conftest.py), every peer required (the session installs
    them all), a schema cache of the session's own."""
    env = {"HYPOTHESIS_PROFILE": os.environ.get("HYPOTHESIS_PROFILE", "ci"),
           "TLFAST_REQUIRE_PEERS": os.environ.get("TLFAST_REQUIRE_PEERS", "1"),
           "TLFAST_CACHE_DIR": os.path.join(_tmp(session), "tlfast-cache")}
    env.update(extra)
    return env


def _install_readme(session, extras):
    """The README's install (editable, the Cython build mandatory) in the session's venv.
    It cythonizes into the tree and copies the extension there: one such install at a time
    (`.ci/run` runs two sessions at once); each CPython's extension has a name of its own."""
    session.run("python", "-m", "pip", "install", "-q", "--upgrade", "pip")
    lock = os.path.join(tempfile.gettempdir(),
                        "tlfast-editable-%s.lock" % hashlib.sha1(ROOT.encode()).hexdigest()[:12])
    with open(lock, "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            session.run("python", "-m", "pip", "install", "-q", "-e", f".[{extras}]",
                        env={"TLFAST_BACKEND": "cython"})
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)
    _check_backend(session)


def _install_copy(session, extras):
    """tlfast built from a copy of the tree and installed (not editable) with ``extras``,
    so that the session leaves the tree alone (`.ci/run` runs it beside a `tests` session,
    whose editable install builds in the tree). Returns the copy."""
    tree = _tree_copy(session)
    session.run("python", "-m", "pip", "install", "-q", "--upgrade", "pip")
    session.run("python", "-m", "pip", "install", "-q", f"{tree}[{extras}]",
                env={"TLFAST_BACKEND": "cython"})
    with session.chdir(_tmp(session)):  # (not beside a tlfast/ that would shadow it)
        _check_backend(session, installed=True)
    return tree


def _check_backend(session, installed=False):
    session.run("python", "-c", "import os, sys, tlfast, tlfast._codec_cy as c; "
                "assert tlfast.BACKEND == 'cython', (tlfast.BACKEND, tlfast.BACKEND_FALLBACK_REASON); "
                "assert c.BUILD['utf8_blocks'] and c.BUILD['cpython_internals'], c.BUILD; "
                + ("assert tlfast.__file__.startswith(sys.prefix), tlfast.__file__; " if installed else "")
                + "print('tlfast', tlfast.__version__, 'backend', tlfast.BACKEND, 'layer', tlfast.LAYER, "
                "'build', c.BUILD, 'from', os.path.dirname(tlfast.__file__))")


def _pytest(session, *args, **env):
    session.run("pytest", "-q", "-p", "no:cacheprovider", *args, env=_env(session, **env))


def _tree_copy(session):
    """The files git tracks, copied to a fresh directory (no build products, no venvs)."""
    dest = os.path.join(_tmp(session), "tree")
    shutil.rmtree(dest, ignore_errors=True)
    files = subprocess.run(["git", "-C", ROOT, "ls-files", "-z"], capture_output=True,
                           check=True).stdout.decode().split("\0")
    for name in filter(None, files):
        src = os.path.join(ROOT, name)
        if os.path.isfile(src):  # (a file deleted in the work tree but not yet in git)
            os.makedirs(os.path.join(dest, os.path.dirname(name)), exist_ok=True)
            shutil.copy2(src, os.path.join(dest, name))
    return dest


def _commit_seed():
    """The commit's hypothesis seed, as tests/conftest.py derives it in a git checkout."""
    out = subprocess.run(["git", "-C", ROOT, "rev-parse", "HEAD"], capture_output=True, text=True)
    return str(int(out.stdout.strip()[:12], 16)) if out.returncode == 0 else "0"


def _new_venv(session, name):
    """A venv of the session's CPython, outside the session's own: the path of its bin/."""
    path = os.path.join(_tmp(session), name)
    shutil.rmtree(path, ignore_errors=True)
    session.run("python", "-m", "venv", path)
    return os.path.join(path, "bin")


class _Steps:
    """Steps of a session that all run even when one fails; the session fails at the end,
    naming them (a red suite must not hide how the pure pass or a host did)."""

    def __init__(self, session):
        self.session = session
        self.failed = []

    def run(self, what, fn, *args, **kwargs):
        self.session.log(what)
        try:
            fn(*args, **kwargs)
        except nox.command.CommandFailed:
            self.failed.append(what)

    def done(self):
        if self.failed:
            self.session.error("failed: " + "; ".join(self.failed))


@nox.session(python=PYTHONS, tags=["ci"])
def tests(session):
    """README install, whole suite (both engines, every peer), pure pass, older hosts.

    The README's install and test command; a forced pure-Python pass; tlfast.pyrogram on
    each older Pyrogram-family host in a venv of its own."""
    _install_readme(session, "test,bench")
    if session.posargs:
        _pytest(session, *session.posargs, TLFAST_EXPECT_BACKEND="cython")
        return
    steps = _Steps(session)
    steps.run("the README's test command, both engines", _pytest, session,
              TLFAST_EXPECT_BACKEND="cython")
    steps.run("forced pure-Python pass over selection and parity", _pytest, session,
              "tests/test_backend.py", TLFAST_BACKEND="python", TLFAST_EXPECT_BACKEND="python")
    for host in PYROGRAM_HOSTS:
        # tlfast is this tree's: the install above built the extension in place
        steps.run(f"tlfast.pyrogram on {host}, in a venv of its own", _on_host, session, host)
    if session.python == ONCE:
        steps.run("the docs site: no network, no warning", _docs, session)
    steps.done()


def _on_host(session, host):
    bin_dir = _new_venv(session, "host-" + re.sub(r"\W", "_", host))
    session.run(os.path.join(bin_dir, "pip"), "install", "-q", host, "tgcrypto", *TEST_TOOLS,
                external=True)
    files = ["tests/test_pyrogram_dropin.py"]
    if not host.startswith("hydrogram"):
        files.append("tests/test_live_pyrogram.py")
    session.run(os.path.join(bin_dir, "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider",
                *files, env=_env(session, PYTHONPATH=ROOT), external=True)


def _docs(session):
    """The docs extra's pinned toolchain, then the build (docs/contributing.md, "The
    documentation") in a network namespace of its own where unshare can make one, else with
    every proxy pointing nowhere. -W: a broken link or anchor, a page left out of the table
    of contents, a failing API entry all fail."""
    import tomllib

    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
        pins = tomllib.load(f)["project"]["optional-dependencies"]["docs"]
    session.run("python", "-m", "pip", "install", "-q", *pins)
    out = os.path.join(_tmp(session), "docs-html")
    shutil.rmtree(out, ignore_errors=True)
    cmd = ["python", "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html", "docs", out]
    if subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode == 0:
        session.run("unshare", "-n", os.path.join(session.bin, "python"), *cmd[1:], external=True)
    else:
        dead = "http://127.0.0.1:9"
        session.run(*cmd, env={k: dead for k in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY")})


@nox.session(python=PYTHONS, tags=["ci"])
def portable(session):
    """The portable build (CFLAGS=-DTLFAST_PORTABLE) on the engine tests.

    The engine's portable paths (the scalar UTF-8 decoder and the collector's array path, which CPythons newer than those tested, free-threaded
    builds and non-x86 machines get) on the engine tests. Built from a copy of the tree,
    so no in-place or cached build of the normal engine is picked up."""
    session.install(*TEST_TOOLS)
    tree = _tree_copy(session)
    with session.chdir(tree):
        session.run("python", "-m", "pip", "wheel", "-q", "--no-deps", "-w", "dist", ".",
                    env={"CFLAGS": "-DTLFAST_PORTABLE", "TLFAST_BACKEND": "cython"})
        wheel, = glob.glob("dist/tlfast-*.whl")
        session.run("python", "-m", "zipfile", "-e", wheel, "wheel")
        for so in glob.glob("wheel/tlfast/_codec_cy*"):
            shutil.copy2(so, "tlfast")
        session.run("python", "-c", "import os, tlfast, tlfast._codec_cy as c; "
                    "assert tlfast.__file__.startswith(os.getcwd()), tlfast.__file__; "
                    "assert not any(c.BUILD.values()), c.BUILD; "
                    "print('portable build', c.BUILD)", env={"PYTHONPATH": tree})
        # The copy is no git checkout: it gets the commit's seed as tests/conftest.py
        # derives it in one.
        _pytest(session, "tests/test_primitives.py", "tests/test_gc.py", "tests/test_leaks.py",
                "tests/test_hostile.py", "tests/test_objects.py", PYTHONPATH=tree,
                TLFAST_HYPOTHESIS_SEED=_commit_seed(), TLFAST_EXPECT_BACKEND="cython")


@nox.session(python=PYTHONS, tags=["ci"])
def wheel(session):
    """sdist, wheel from it (no build warnings), installed and checked with no compiler.

    The sdist and a wheel built from it (any build warning fails), then that wheel
    installed into a venv with no Cython and no compiler (CC=/bin/false), where
    .ci/wheel_check.py must find the compiled engine."""
    session.install(BUILD)
    dist = os.path.join(_tmp(session), "dist")
    shutil.rmtree(dist, ignore_errors=True)
    # From a copy of the tree, as from a clean clone; and the tree itself is left alone
    # (`.ci/run` runs this session beside the tests of another). With
    # PYTHONDONTWRITEBYTECODE set, setuptools warns that it does not byte-compile.
    with session.chdir(_tree_copy(session)):
        log = session.run("python", "-m", "build", "-o", dist, ".", silent=True,
                          env={"TLFAST_BACKEND": "cython", "PYTHONDONTWRITEBYTECODE": None})
    warned = [line for line in log.splitlines() if re.search(r"warning|deprecat", line, re.I)]
    if warned:
        session.error("the build printed warnings:\n" + "\n".join(warned))
    session.log("built " + ", ".join(sorted(os.listdir(dist))))
    bin_dir = _new_venv(session, "no-compiler")
    no_cc = {"CC": "/bin/false", "CXX": "/bin/false"}
    session.run(os.path.join(bin_dir, "python"), "-c",
                "import importlib.util, sys; "
                "sys.exit('the fresh venv has Cython' if importlib.util.find_spec('Cython') else 0)",
                external=True)
    wheel, = glob.glob(os.path.join(dist, "tlfast-*.whl"))
    session.run(os.path.join(bin_dir, "pip"), "install", "-q", "--no-index", "--only-binary",
                ":all:", wheel, env=no_cc, external=True)
    with session.chdir("/"):
        session.run(os.path.join(bin_dir, "python"), os.path.join(ROOT, ".ci", "wheel_check.py"),
                    env=dict(no_cc, TLFAST_BACKEND="auto"), external=True)


@nox.session(python=ONCE, tags=["ci"])
def fuzz(session):
    """Each target of fuzz/ for a fixed budget (15 s) on the normal build."""
    tree = _install_copy(session, "fuzz")
    log = os.path.join(_tmp(session), "fuzz.log")
    for target in ("loads", "types", "schema", "from_dict"):
        with open(log, "w") as out:
            rc = subprocess.run([os.path.join(session.bin, "python"), "fuzz/run.py", target,
                                 "-max_total_time=15", "-seed=1", "-print_final_stats=1"],
                                stdout=out, stderr=subprocess.STDOUT, cwd=tree,
                                env=dict(os.environ, **_env(session))).returncode
        with open(log) as f:
            lines = f.read().splitlines()
        for line in lines:
            if re.match(r"(Done|stat::number_of_executed_units|stat::peak_rss_mb)", line):
                print(f"{target}: {line}")
        if rc != 0:
            print("\n".join(lines[-40:]))
            session.error(f"fuzz target {target}: finding (exit {rc})")


@nox.session(python=ONCE, tags=["ci"])
def bench(session):
    """Quick benchmarks and the goal check.

    pytest-benchmark's quick run, then `python -m tlfast bench --quick` with its goals
    checked (tolerance below)."""
    tree = _install_copy(session, "test,bench")
    tmp = _tmp(session)
    report = os.path.join(tree, "benchmarks", "report.py")
    with session.chdir(tree):
        session.run("pytest", "-q", "-p", "no:cacheprovider", "benchmarks", "--benchmark-only",
                    "--benchmark-min-rounds=3", "--benchmark-max-time=0.05",
                    "--benchmark-warmup=off", f"--benchmark-json={tmp}/pytest-bench.json",
                    "--benchmark-columns=median", env=_env(session))
        session.run("python", report, f"{tmp}/pytest-bench.json")
    # The goals, on the README's bench (codecs sampled in turns, CPU time, garbage
    # collector on). The tolerance is measured, not guessed: six back-to-back quick runs
    # on the shared 2-core VM (load 8-9) moved each ratio goal by up to 13% from its
    # median and the growth measurement by up to 32%; and the bare 100k vector's goal is
    # bound by page faults (CPython's allocator hands a freed result's memory back to the
    # OS, and every codec pays the same ~770 faults per call to take it again), whose cost
    # on a loaded VM moved it from 0.06 to 0.21 x Telethon between a lightly and a heavily
    # loaded moment. A goal fails CI only when missed by more than 150%: noise never does
    # that, and a collector-bound decode (messages_1000 at 0.30 against its 0.090) still
    # does.
    with session.chdir(tmp):  # the installed tlfast, not the copy's (it has no extension)
        session.run("python", "-m", "tlfast", "bench", "--quick", "--json", "tlfast-bench.json",
                    silent=True)  # report.py prints the table
        session.run("python", report, "--check", "--tolerance", "1.5", "tlfast-bench.json")
