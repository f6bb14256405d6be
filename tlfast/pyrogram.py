"""Drop-in acceleration of the Pyrogram family (pyrogram, kurigram, pyrofork..., which import
as ``pyrogram``, and Hydrogram, as ``hydrogram``): ``import tlfast.pyrogram;
tlfast.pyrogram.install()`` (``package=`` picks one where both are installed). See
tlfast/adapters/pyrogram.py.

May use: adapters.pyrogram.
"""

from .adapters.pyrogram import (  # noqa: F401
    UnknownConstructorKeyError,
    install,
    installed,
    report,
    schema,
    uninstall,
)

__all__ = ["install", "uninstall", "installed", "report", "schema", "UnknownConstructorKeyError"]
