"""docs/guide/schemas-any-tl.md runs: its python blocks in order in one namespace, on both
backends, each ``expr  # literal`` line checked (the README's rules, tests/test_readme.py)."""

import importlib.util
import re
from pathlib import Path

import pytest

pytest.importorskip("pytoniq_core")  # the page loads TON's schemas from pytoniq-core

ROOT = Path(__file__).resolve().parent.parent
PAGE = (ROOT / "docs" / "guide" / "schemas-any-tl.md").read_text(encoding="utf-8")
_spec = importlib.util.spec_from_file_location("_readme_rules", Path(__file__).with_name("test_readme.py"))
_readme = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_readme)


def test_python_blocks(backend, monkeypatch):
    import tlfast
    from tlfast import _backend

    monkeypatch.setattr(_backend, "_active", (backend, backend.NAME, None))
    monkeypatch.chdir(ROOT)
    ns = {}
    blocks = [code for lang, code in re.findall(r"```(\w+)\n(.*?)```", PAGE, re.S) if lang == "python"]
    assert len(blocks) >= 8
    checked = 0
    for code in blocks:
        statement = []
        for src, expected in _readme._checks(code):
            statement.append(src)
            text = "\n".join(statement)
            try:
                compiled = compile(text, "schemas-any-tl.md", "exec")
            except SyntaxError:
                continue  # a statement spanning lines: keep collecting
            statement = []
            if expected is not None:
                value = eval(compile(text.strip(), "schemas-any-tl.md", "eval"), ns)
                assert value == expected, text
                checked += 1
            else:
                exec(compiled, ns)
    assert checked >= 30
    assert tlfast.BACKEND  # (the page's own imports ran)
