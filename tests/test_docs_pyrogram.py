"""Every python example in docs/guide/pyrogram.md runs, on both backends, and shows what the
guide says (the rules of test_readme.py: blocks in order in one namespace, a line
``expr  # literal`` must evaluate to the literal). The examples use a client that installs
the package ``pyrogram`` (kurigram in CI); the guide's lines for Hydrogram are not python
blocks."""

from pathlib import Path

import pytest

import test_readme

GUIDE = Path(__file__).resolve().parent.parent / "docs" / "guide" / "pyrogram.md"


def test_python_examples(backend, monkeypatch):
    pytest.importorskip("pyrogram")
    import tlfast.pyrogram

    blocks = [code for lang, code in test_readme.BLOCKS_RE.findall(GUIDE.read_text("utf-8"))
              if lang == "python"]
    assert len(blocks) >= 8
    tlfast.pyrogram.uninstall()
    try:
        test_readme.run_blocks(blocks, backend, monkeypatch)
    finally:
        tlfast.pyrogram.uninstall()
