"""Backend selection: TLFAST_BACKEND = auto (default) | cython | python.

Mirrors the build-time switch in setup.py. ``load(name)`` returns the engine module for one
backend, so tests and benchmarks can drive both side by side; ``select()`` picks the active
one at import.

May use: _codec_py, _codec_cy.
"""

import os

VALID = ("auto", "cython", "python")


def requested():
    value = os.environ.get("TLFAST_BACKEND", "auto").strip().lower() or "auto"
    if value not in VALID:
        raise ValueError(
            f"TLFAST_BACKEND={value!r} is not one of {', '.join(VALID)}"
        )
    return value


def started_as_cli():
    """Whether this process is the command line: ``python -m tlfast`` (while it locates the
    module, Python sets ``sys.argv[0]`` to ``"-m"``, documented) or the ``tlfast`` script."""
    import sys

    argv0 = sys.argv[0] if sys.argv else ""
    if argv0 == "-m":
        orig = getattr(sys, "orig_argv", [])
        return any(orig[i] == "-m" and orig[i + 1].partition(".")[0] == "tlfast"
                   for i in range(len(orig) - 1)) or "-mtlfast" in orig
    return os.path.splitext(os.path.basename(argv0))[0] == "tlfast"


def load(name):
    """The engine module of backend ``name`` ("cython" or "python"); ImportError if absent."""
    if name == "python":
        from . import _codec_py

        return _codec_py
    if name == "cython":
        import importlib.util

        if importlib.util.find_spec(__package__ + "._codec_cy") is None:
            # Say it plainly: a bare `from . import` would blame a "circular import".
            raise ImportError(
                "the Cython extension tlfast._codec_cy was not built (no C compiler or "
                "Cython at install time, or TLFAST_BACKEND=python when building)"
            )
        from . import _codec_cy

        return _codec_cy
    raise ValueError(f"unknown backend {name!r}; expected 'cython' or 'python'")


def select():
    """Return (engine module, backend name, fallback reason or None)."""
    mode = requested()
    if mode == "python":
        return load("python"), "python", None
    try:
        engine = load("cython")
    except ImportError as exc:
        if mode == "cython":
            raise ImportError(
                f"TLFAST_BACKEND=cython, but {exc}; reinstall with a C compiler, "
                "or use TLFAST_BACKEND=python"
            ) from exc
        return load("python"), "python", str(exc)
    return engine, "cython", None


_active = None


def active():
    """(engine, name, fallback reason) chosen at first use; tlfast.BACKEND reports it."""
    global _active
    if _active is None:
        _active = select()
    return _active


def engine(name=None):
    """Engine module for ``name`` ("cython", "python"), or the active one for None."""
    if name is None:
        return active()[0]
    if isinstance(name, str):
        return load(name)
    return name  # already an engine module
