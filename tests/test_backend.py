"""Which backend runs, and whether the two engines expose the same API."""

import importlib
import inspect
import os
import subprocess
import sys

import pytest

import tlfast
from tlfast import _backend


def test_expected_backend_is_active():
    # CI sets TLFAST_EXPECT_BACKEND so that a build that silently fell back to pure
    # Python (or a test run importing an in-tree package without the extension) fails here.
    expected = os.environ.get("TLFAST_EXPECT_BACKEND")
    if not expected:
        pytest.skip("TLFAST_EXPECT_BACKEND is not set")
    assert tlfast.BACKEND == expected, (
        f"expected backend {expected!r}, got {tlfast.BACKEND!r} from {tlfast.__file__} "
        f"(fallback reason: {tlfast.BACKEND_FALLBACK_REASON})"
    )
    if expected == "cython":
        engine = importlib.import_module("tlfast._codec_cy")
        assert tlfast.Reader is engine.Reader and tlfast.Writer is engine.Writer


def test_active_backend_is_the_one_reported():
    engine = _backend.load(tlfast.BACKEND)
    assert engine.NAME == tlfast.BACKEND
    assert tlfast.Reader is engine.Reader
    assert tlfast.Writer is engine.Writer
    if tlfast.BACKEND == "cython":
        assert tlfast.BACKEND_FALLBACK_REASON is None


def public_names(cls):
    return {name for name in dir(cls) if not name.startswith("_")}


def comparable(sig):
    # A C method descriptor's text signature makes ``self`` positional-only, "(self, /, v)";
    # nobody passes self by keyword, so that difference alone is not a mismatch.
    params = list(sig.parameters.values())
    if params and params[0].name == "self" and params[0].kind is params[0].POSITIONAL_ONLY:
        params[0] = params[0].replace(kind=params[0].POSITIONAL_OR_KEYWORD)
    return sig.replace(parameters=params)


def test_api_parity(engines):
    py, cy = engines
    assert (py.NAME, cy.NAME) == ("python", "cython")
    assert py.__all__ == cy.__all__
    for name in py.__all__:
        py_cls, cy_cls = getattr(py, name), getattr(cy, name)
        assert inspect.signature(py_cls) == inspect.signature(cy_cls), name
        assert public_names(py_cls) == public_names(cy_cls), name
        for attr in sorted(public_names(cy_cls)):
            py_attr, cy_attr = getattr(py_cls, attr), getattr(cy_cls, attr)
            if not callable(py_attr):  # a data attribute (slot / cdef public)
                assert not callable(cy_attr), f"{name}.{attr}"
                continue
            py_sig = comparable(inspect.signature(py_attr))
            cy_sig = comparable(inspect.signature(cy_attr))
            assert py_sig == cy_sig, f"{name}.{attr}: {py_sig} != {cy_sig}"


def test_engine_instances_agree(engines):
    py, cy = engines
    for engine in (py, cy):
        r = engine.Reader(b"", "schema", max_depth=3, max_inflate=10)
        assert (r._schema, r.max_depth, r.max_inflate) == ("schema", 3, 10)
    defaults = [(r.max_depth, r.max_inflate) for r in (py.Reader(b""), cy.Reader(b""))]
    assert defaults[0] == defaults[1]


def test_engines_share_the_error_constructors(engines):
    # Both raise errors built by tlfast._primitives, hence the same classes and messages.
    py, cy = engines
    assert py.P is cy.P


def run_selector(tmp_path, mode, prelude=""):
    env = dict(os.environ)
    env.pop("TLFAST_EXPECT_BACKEND", None)
    if mode is None:
        env.pop("TLFAST_BACKEND", None)
    else:
        env["TLFAST_BACKEND"] = mode
    code = prelude + "import tlfast; print(tlfast.BACKEND, tlfast.BACKEND_FALLBACK_REASON)"
    # Run outside the checkout so the result does not depend on the working directory.
    return subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True
    )


def test_selector_python(tmp_path):
    proc = run_selector(tmp_path, "python")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["python", "None"]


@pytest.mark.parametrize("mode", ["cython", "auto", "AUTO", "", None])
def test_selector_compiled(tmp_path, cython_engine, mode):
    proc = run_selector(tmp_path, mode)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["cython", "None"]


def test_selector_rejects_unknown_value(tmp_path):
    proc = run_selector(tmp_path, "bogus")
    assert proc.returncode != 0
    assert "ValueError" in proc.stderr
    assert "TLFAST_BACKEND" in proc.stderr


# Simulate an install without the extension: a None entry in sys.modules makes the
# import fail with ImportError, as a missing .so would.
NO_EXTENSION = "import sys; sys.modules['tlfast._codec_cy'] = None; "


def test_selector_auto_falls_back_and_says_why(tmp_path):
    proc = run_selector(tmp_path, "auto", NO_EXTENSION)
    assert proc.returncode == 0, proc.stderr
    name, reason = proc.stdout.strip().split(" ", 1)
    assert name == "python"
    assert "was not built" in reason


def test_selector_cython_without_extension_fails(tmp_path):
    proc = run_selector(tmp_path, "cython", NO_EXTENSION)
    assert proc.returncode != 0
    assert "ImportError" in proc.stderr
    assert "TLFAST_BACKEND=cython" in proc.stderr
