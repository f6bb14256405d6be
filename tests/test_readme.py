"""Every example in README.md and in the documentation (docs/**/*.md) runs, on both
backends, and shows what the page says.

Python blocks of a page run in order in one namespace (one per page); a line
``expr  # literal`` must evaluate to the literal. Console blocks: each ``$ python -m tlfast
...`` line (except the timed ``bench``) runs as a subprocess and must print the lines shown
under it (up to a ``...`` line). Code that must not run goes in a ``text`` block; a block
that looks like Python under another name (``py``, ``pycon``) fails, so that no example
escapes these checks by its spelling.
"""

import ast
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

import _helpers as H  # noqa: E402  (tests/ is on sys.path: conftest.py)

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PAGES = [ROOT / "README.md", *sorted(p for p in DOCS.rglob("*.md") if "_build" not in p.parts)]
UNCHECKED_PYTHON = {"py", "py3", "pycon", "python3", "ipython", "pytb", "doctest"}


def _blocks(page):
    """[(language, code)] of the fenced blocks of ``page`` (a MyST directive such as
    ```` ```{toctree} ```` is no code block)."""
    return re.findall(r"```(\w+)\n(.*?)```", page.read_text(encoding="utf-8"), re.S)


def _name(page):
    return page.relative_to(ROOT).as_posix()


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


def test_the_pages_have_examples():
    """The landing page and the first page of the docs keep their examples."""
    for name in ("README.md", "docs/getting-started.md"):
        page = ROOT / name
        assert [c for lang, c in _blocks(page) if lang == "python"], name
        assert [c for lang, c in _blocks(page) if lang == "console"], name


def test_readme_links_resolve():
    """The README is no page of the docs build, which checks the docs' own links: its
    relative links must name files that exist, and headings that exist in them."""
    links = re.findall(r"\]\(([^)\s]+)\)", (ROOT / "README.md").read_text(encoding="utf-8"))
    local = [link for link in links if "://" not in link]
    assert len(local) >= 10, local
    for link in local:
        path, _, anchor = link.partition("#")
        target = ROOT / path
        assert target.is_file(), link
        if anchor:
            assert anchor in H.doc_anchors(target), link


@pytest.mark.parametrize("page", PAGES, ids=_name)
def test_no_unchecked_python(page):
    assert not [lang for lang, _ in _blocks(page) if lang in UNCHECKED_PYTHON], _name(page)


@pytest.mark.parametrize("page", [p for p in PAGES if any(
    lang == "python" for lang, _ in _blocks(p))], ids=_name)
def test_python_examples(backend, monkeypatch, page):
    import tlfast
    from tlfast import _backend

    monkeypatch.setattr(_backend, "_active", (backend, backend.NAME, None))
    monkeypatch.chdir(ROOT)  # examples name files of the repository (tests/data/...)
    monkeypatch.setattr(tlfast, "Reader", backend.Reader)
    monkeypatch.setattr(tlfast, "Writer", backend.Writer)
    monkeypatch.chdir(ROOT)  # paths in the examples are relative to the repository
    ns = {}
    name = _name(page)
    try:
        for code in [code for lang, code in _blocks(page) if lang == "python"]:
            for text, expected in _statements(code, name):
                if expected is not None:
                    value = eval(compile(text.strip(), name, "eval"), ns)
                    assert value == expected, f"{name}: {text}"
                else:
                    exec(compile(text, name, "exec"), ns)
    finally:  # a page that failed half-way leaves no drop-in installed for other tests
        for adapter in ("tlfast.telethon", "tlfast.pyrogram"):
            if adapter in sys.modules:
                sys.modules[adapter].uninstall()


def _statements(code, name):
    """(source, expected literal or None) per top-level statement of a python block, in
    order: an expression statement whose last line ends in ``  # literal`` is checked
    against it. (Split by the parser, so an ``async def`` whose body is indented below a
    complete first line runs whole.)"""
    checks = _checks(code)
    lines = [src for src, _ in checks]
    try:
        tree = ast.parse("\n".join(lines), name)
    except SyntaxError as exc:
        raise AssertionError(f"{name}: a python block does not parse: {exc}") from None
    spans = []  # [first line, last line, last node]; statements sharing a line (a; b) joined
    for node in tree.body:
        first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
        if spans and first <= spans[-1][1]:
            spans[-1][1:] = [node.end_lineno, node]
        else:
            spans.append([first, node.end_lineno, node])
    return [("\n".join(lines[first - 1:last]),
             checks[last - 1][1] if isinstance(node, ast.Expr) else None)
            for first, last, node in spans]


def _console_cases():
    cases = []
    for page in PAGES:
        for lang, code in _blocks(page):
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
                cases.append(pytest.param(command, expected, id=f"{_name(page)}: {command[17:60]}"))
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
