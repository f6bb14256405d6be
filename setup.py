"""The only file that knows about the compiled extension.

TLFAST_BACKEND at build time: ``auto`` (default) compiles src/tlfast/*.pyx and falls back
to a pure-Python install, loudly, if that fails; ``cython`` makes any compile failure fatal
(CI builds this way); ``python`` skips compiling.
"""

import os
import sys

from setuptools import setup
from setuptools.command.build_ext import build_ext

MODE = os.environ.get("TLFAST_BACKEND", "auto").strip().lower() or "auto"
if MODE not in ("auto", "cython", "python"):
    raise SystemExit(f"TLFAST_BACKEND={MODE!r} is not one of auto, cython, python")

PYX = ["src/tlfast/_codec_cy.pyx"]


def warn(message):
    bar = "*" * 78
    sys.stderr.write(f"\n{bar}\n tlfast: {message}\n{bar}\n\n")


class OptionalBuildExt(build_ext):
    """Under TLFAST_BACKEND=auto a failed compile leaves a working pure-Python install."""

    def run(self):
        try:
            super().run()
        except Exception as exc:  # noqa: BLE001 - any compiler failure means "no extension"
            if MODE == "cython":
                raise
            warn(f"could not build the Cython extension ({exc}); installing the pure-Python backend only")

    def build_extension(self, ext):
        try:
            super().build_extension(ext)
        except Exception as exc:  # noqa: BLE001
            if MODE == "cython":
                raise
            warn(f"could not compile {ext.name} ({exc}); installing the pure-Python backend only")


def extensions():
    if MODE == "python":
        return []
    try:
        from Cython.Build import cythonize
    except ImportError:
        if MODE == "cython":
            raise SystemExit("TLFAST_BACKEND=cython but Cython is not installed")
        warn("Cython is not installed; installing the pure-Python backend only")
        return []
    from Cython import __version__ as cython_version
    from setuptools import Extension

    flags = ["-O3"] if os.name != "nt" else ["/O2"]
    exts = [
        Extension(
            "tlfast." + os.path.splitext(os.path.basename(path))[0],
            [path],
            extra_compile_args=flags,
            define_macros=[("TLFAST_CYTHON_VERSION", f'"{cython_version}"')],
        )
        for path in PYX
    ]
    try:
        return cythonize(
            exts,
            compiler_directives={
                "language_level": 3,
                "embedsignature": True,
                "cdivision": True,
            },
            annotate=bool(os.environ.get("TLFAST_ANNOTATE")),
        )
    except Exception as exc:  # noqa: BLE001
        if MODE == "cython":
            raise
        warn(f"cythonize failed ({exc}); installing the pure-Python backend only")
        return []


setup(
    packages=["tlfast", "tlfast.schemas", "tlfast.adapters", "tlfast.testing"],
    package_data={"tlfast": ["py.typed", "*.pyi"], "tlfast.schemas": ["*.tl", "*.pyi"]},
    ext_modules=extensions(),
    cmdclass={"build_ext": OptionalBuildExt},
)
