"""Drop-in adapters for client libraries (DESIGN §4): tlfast.telethon, tlfast.pyrogram.

May use: nothing.
"""
