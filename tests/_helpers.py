"""Helpers shared by test_schema/test_objects/test_codec/test_telethon/test_hostile.

pytest runs with --import-mode=importlib, so ``tests/`` is not on sys.path: each test file
loads this module (and ``strategies.py``) by file path with a six-line ``_test_module``
function, under the module name ``_tlfast_tests_<name>`` that ``load_test_module`` below
uses too, so every file shares one instance.
"""

import importlib.util
import os
import pathlib
import sys

import pytest

import tlfast
from tlfast import _backend

HERE = pathlib.Path(__file__).resolve().parent
DATA = HERE / "data"


def load_test_module(name):
    """Import ``tests/<name>.py`` once, by path, whatever pytest's import mode."""
    modname = f"_tlfast_tests_{name}"
    mod = sys.modules.get(modname)
    if mod is None:
        spec = importlib.util.spec_from_file_location(modname, HERE / f"{name}.py")
        mod = importlib.util.module_from_spec(spec)
        sys.modules[modname] = mod
        spec.loader.exec_module(mod)
    return mod


def pure_requested():
    return os.environ.get("TLFAST_BACKEND", "").strip().lower() == "python"


def other_engine(backend):
    """The engine module that is not ``backend`` (for cross-backend tests). Skips when
    TLFAST_BACKEND=python asked for a pure-only run, fails when the extension is missing."""
    name = "python" if backend.NAME == "cython" else "cython"
    try:
        return _backend.load(name)
    except ImportError as exc:
        if pure_requested():
            pytest.skip(f"TLFAST_BACKEND=python: {name} backend not tested ({exc})")
        pytest.fail(f"the {name} backend cannot be imported ({exc})", pytrace=False)


def bundled_codec():
    """The codec ``tlfast.loads``/``dumps`` use: API layer 228 ids, then MTProto's."""
    from tlfast._codec import default_codec

    return default_codec()


def loads(backend, data, type=None, *, schema=None, result_of=None, **limits):
    """Decode with one engine: ``schema`` (a Schema) or the bundled codec (API + MTProto)."""
    if schema is not None:
        return schema.loads(data, type, result_of=result_of, backend=backend, **limits)
    kw = {"max_depth": limits.get("max_depth", tlfast.DEFAULT_MAX_DEPTH),
          "max_inflate": limits.get("max_inflate", tlfast.DEFAULT_MAX_INFLATE)}
    return bundled_codec().loads(data, type, result_of, backend, kw["max_depth"], kw["max_inflate"])


def dumps(backend, value, type=None, *, schema=None):
    """Encode with one engine: ``schema`` (a Schema) or the bundled codec."""
    if schema is not None:
        return schema.dumps(value, type, backend=backend)
    return bundled_codec().dumps(value, type, backend)


def seed_tl_lines():
    """The TL lines of the seed page tests/data/auth.importAuthorization.md."""
    text = (DATA / "auth.importAuthorization.md").read_text(encoding="utf-8")
    marker = "## TL schema"
    block = text[text.index(marker):]
    start = block.index("```") + 3
    start = block.index("\n", start) + 1
    end = block.index("```", start)
    return block[start:end]


def decode_error(fn, *args, **kwargs):
    """Run ``fn`` and return the TLDecodeError it raises (anything else fails the test)."""
    with pytest.raises(tlfast.TLDecodeError) as info:
        fn(*args, **kwargs)
    return info.value


def error_signature(exc):
    """What must be identical across backends for one failure."""
    return (type(exc), str(exc), getattr(exc, "offset", None), exc.path)
