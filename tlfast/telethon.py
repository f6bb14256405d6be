"""Drop-in acceleration for Telethon: ``import tlfast.telethon; tlfast.telethon.install()``.

A thin entry point; everything lives in ``tlfast.adapters.telethon`` (DESIGN §4). Importing
this module does not import Telethon; ``install()`` does.

May use: adapters.telethon.
"""

from .adapters.telethon import install, installed, report, schema, uninstall

__all__ = ["install", "uninstall", "installed", "report", "schema"]
