"""Drop-in acceleration of the Pyrogram family (pyrogram, kurigram, pyrofork...):
``import tlfast.pyrogram; tlfast.pyrogram.install()``. See tlfast/adapters/pyrogram.py.

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
