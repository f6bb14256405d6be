"""Every example in README.md runs, on both backends, and shows what the README says.

Python blocks run in order in one namespace; a line ``expr  # literal`` must evaluate to the
literal. Console blocks: each ``$ python -m tlfast ...`` line (except the timed ``bench``)
runs as a subprocess and must print the lines shown under it (up to a ``...`` line).
"""

import ast
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
BLOCKS = re.findall(r"```(\w+)\n(.*?)```", README, re.S)


def _checks(code):
    """(statement, expected literal or None) per line of a python block."""
    out = []
    for line in code.splitlines():
        src, sep, comment = line.partition("  # ")
        expected = None
        if sep:
            # the whole comment, or its start before an explanation ("0x1 (why)", "True: why")
            for text in (comment.strip(), comment.split(" (")[0].split(": ")[0]):
                try:
                    expected = ast.literal_eval(text)
                    break
                except (ValueError, SyntaxError):
                    expected = None
        out.append((src if sep else line, expected))
    return out


def test_python_examples(backend, monkeypatch):
    import tlfast
    from tlfast import _backend

    monkeypatch.setattr(_backend, "_active", (backend, backend.NAME, None))
    monkeypatch.chdir(ROOT)  # examples name files of the repository (tests/data/...)
    monkeypatch.setattr(tlfast, "Reader", backend.Reader)
    monkeypatch.setattr(tlfast, "Writer", backend.Writer)
    ns = {}
    blocks = [code for lang, code in BLOCKS if lang == "python"]
    assert blocks
    for code in blocks:
        statement = []
        for src, expected in _checks(code):
            statement.append(src)
            text = "\n".join(statement)
            try:
                compiled = compile(text, "README.md", "exec")
            except SyntaxError:
                continue  # a statement spanning lines: keep collecting
            statement = []
            if expected is not None:
                value = eval(compile(text.strip(), "README.md", "eval"), ns)
                assert value == expected, text
            else:
                exec(compiled, ns)


def _console_cases():
    cases = []
    for lang, code in BLOCKS:
        if lang != "console":
            continue
        lines = code.splitlines()
        for i, line in enumerate(lines):
            if not line.startswith("$ python -m tlfast ") or " bench" in line:
                continue
            expected = []
            for nxt in lines[i + 1 :]:
                if nxt.startswith("$ ") or nxt.strip() == "...":
                    break
                expected.append(nxt.rstrip())
            command = line[2:].split("  # ")[0]
            cases.append((command, expected))
    return cases


@pytest.mark.parametrize("command, expected", _console_cases())
def test_console_examples(backend, command, expected):
    argv = shlex.split(command)
    assert argv[:3] == ["python", "-m", "tlfast"]
    env = dict(os.environ, TLFAST_BACKEND=backend.NAME)
    proc = subprocess.run([sys.executable, *argv[1:]], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    # The README promises exit status 1 with one "tlfast: ..." line on stderr for bad
    # input, and 0 with the output on stdout otherwise.
    if expected and expected[0].startswith("tlfast: "):
        assert proc.returncode == 1, proc.stderr
        shown = proc.stderr.splitlines()
    else:
        assert proc.returncode == 0, proc.stderr
        shown = proc.stdout.splitlines()
    assert [line.rstrip() for line in shown[: len(expected)]] == expected
