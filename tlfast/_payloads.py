"""Deterministic, realistic payloads for benchmarks and smoke tests.

Built in code from a fixed seed, so ``benchmarks/`` and ``python -m tlfast bench`` time the
same bytes on every machine. Every constructor used here also exists, with the same id, in
Telethon 1.45 (layer 229) and kurigram 2.2.26, so the peers decode the very same bytes.

``PAYLOADS`` maps a payload name to ``(builder, type)``; ``type`` is the TL type
expression to pass to ``dumps``/``loads`` (None: a boxed object). Most payloads also come
in distinct variants of the same shape (``build(name, j)``: seed SEED + j), so that a
benchmark can decode different bytes on each call, as a live client does.

May use: tlfast.
"""

import random

__all__ = ["PAYLOADS", "VARIED", "SEED", "build", "variants", "messages_messages",
           "upload_file", "vector_long", "emoji_documents", "delete_messages",
           "import_authorization", "send_message"]

SEED = 228

_LATIN = ("the quick brown fox jumps over lazy dog telegram codec message channel update "
          "photo reply forward meeting tomorrow price release notes bug fix thanks").split()
_CYRILLIC = ("привет как дела сегодня завтра встреча новости канал сообщение фото спасибо "
             "обновление релиз цена ошибка исправлено").split()
_EMOJI = ["😀", "🔥", "👍", "🎉", "❤️", "🚀", "😂", "🙏", "✅", "📷", "🇺🇦", "👨‍👩‍👧"]
_REACTIONS = ["👍", "❤", "🔥", "🎉", "😁", "🤔", "👏", "😢"]
_FIRST = ["Анна", "Boris", "Chen", "Dmitri", "Eva", "Farid", "Галина", "Hiro", "Ingrid",
          "José", "Kateřina", "Lena", "Марат", "Noor", "Olga", "Pavel"]
_LAST = ["Ivanova", "Smith", "Петров", "Müller", "Tanaka", "García", None, None]


def _text(rng, lo=20, hi=500):
    """Chat-like text of lo..hi characters mixing Latin, Cyrillic and emoji."""
    target = rng.randint(lo, hi)
    words = []
    length = 0
    while length < target:
        roll = rng.random()
        if roll < 0.5:
            w = rng.choice(_LATIN)
        elif roll < 0.85:
            w = rng.choice(_CYRILLIC)
        else:
            w = rng.choice(_EMOJI)
        words.append(w)
        length += len(w) + 1
    return " ".join(words)[:target].rstrip() or "ok"


def _utf16_len(s):
    return len(s.encode("utf-16-le")) // 2


def _entities(api, rng, text):
    """A few entities with offsets/lengths in UTF-16 units, as Telegram counts them."""
    n16 = _utf16_len(text)
    out = []
    for _ in range(rng.randint(1, 4)):
        off = rng.randrange(0, max(1, n16 - 5))
        ln = rng.randint(1, max(1, min(30, n16 - off)))
        kind = rng.randrange(6)
        if kind == 0:
            out.append(api.messageEntityBold(offset=off, length=ln))
        elif kind == 1:
            out.append(api.messageEntityItalic(offset=off, length=ln))
        elif kind == 2:
            out.append(api.messageEntityCode(offset=off, length=ln))
        elif kind == 3:
            out.append(api.messageEntityTextUrl(offset=off, length=ln,
                                                url=f"https://example.org/p/{rng.randrange(10**6)}"))
        elif kind == 4:
            out.append(api.messageEntityMention(offset=off, length=ln))
        else:
            out.append(api.messageEntityCustomEmoji(offset=off, length=ln,
                                                    document_id=rng.getrandbits(63)))
    out.sort(key=lambda e: e.offset)
    return out


def _photo(api, rng, date):
    w, h = rng.choice([(1280, 960), (960, 1280), (1280, 720), (800, 800)])
    sizes = [
        api.photoStrippedSize(type="i", bytes=rng.randbytes(rng.randint(90, 140))),
        api.photoSize(type="m", w=w // 4, h=h // 4, size=rng.randint(8_000, 20_000)),
        api.photoSize(type="x", w=w // 2, h=h // 2, size=rng.randint(40_000, 90_000)),
        api.photoSizeProgressive(type="y", w=w, h=h,
                                 sizes=sorted(rng.randint(10_000, 250_000) for _ in range(5))),
    ]
    return api.photo(
        has_stickers=rng.random() < 0.1,
        id=rng.getrandbits(63),
        access_hash=rng.getrandbits(64) - (1 << 63),
        file_reference=rng.randbytes(29),
        date=date,
        sizes=sizes,
        dc_id=rng.choice([1, 2, 4, 5]),
    )


def _reactions(api, rng):
    chosen = rng.sample(_REACTIONS, rng.randint(1, 4))
    results = [api.reactionCount(reaction=api.reactionEmoji(emoticon=e), count=rng.randint(1, 900),
                                 chosen_order=(i if i == 0 and rng.random() < 0.3 else None))
               for i, e in enumerate(chosen)]
    return api.messageReactions(can_see_list=rng.random() < 0.5, results=results)


def _user(api, rng, uid):
    first = rng.choice(_FIRST)
    last = rng.choice(_LAST)
    bot = rng.random() < 0.15
    has_username = rng.random() < 0.7
    return api.user(
        contact=rng.random() < 0.4,
        mutual_contact=rng.random() < 0.2,
        bot=bot,
        verified=rng.random() < 0.05,
        premium=rng.random() < 0.2,
        id=uid,
        access_hash=rng.getrandbits(64) - (1 << 63),
        first_name=first,
        last_name=last,
        username=(f"{first.lower()}_{uid % 10000}" if has_username else None),
        phone=(None if bot or rng.random() < 0.6 else f"7{rng.randrange(10**9, 10**10)}"),
        photo=(api.userProfilePhoto(photo_id=rng.getrandbits(63),
                                    stripped_thumb=rng.randbytes(rng.randint(60, 120)),
                                    dc_id=rng.choice([1, 2, 4, 5]))
               if rng.random() < 0.8 else None),
        status=(api.userStatusOffline(was_online=1_700_000_000 + rng.randrange(10**7))
                if rng.random() < 0.5 else api.userStatusRecently()),
        bot_info_version=(rng.randint(1, 40) if bot else None),
        bot_inline_placeholder=("Search…" if bot and rng.random() < 0.5 else None),
        lang_code=rng.choice(["en", "ru", "de", None]),
        emoji_status=(api.emojiStatus(document_id=rng.getrandbits(63)) if rng.random() < 0.1 else None),
    )


def _chat(api, rng, cid, i):
    photo = api.chatPhoto(photo_id=rng.getrandbits(63), stripped_thumb=rng.randbytes(rng.randint(60, 120)),
                          dc_id=rng.choice([1, 2, 4, 5]))
    if i == 0:  # one basic group, the rest channels and supergroups
        return api.chat(id=cid, title="Семейный чат 🏠", photo=photo,
                        participants_count=rng.randint(3, 50), date=1_600_000_000 + rng.randrange(10**7),
                        version=rng.randint(1, 20))
    megagroup = i % 2 == 0
    return api.channel(
        broadcast=not megagroup,
        megagroup=megagroup,
        verified=rng.random() < 0.2,
        signatures=rng.random() < 0.3,
        has_link=rng.random() < 0.5,
        id=cid,
        access_hash=rng.getrandbits(64) - (1 << 63),
        title=f"{rng.choice(['Новости', 'Tech', 'Release notes', 'Клуб'])} {rng.choice(_EMOJI)} #{i}",
        username=f"channel_{cid % 100000}",
        photo=photo,
        date=1_600_000_000 + rng.randrange(10**7),
        participants_count=rng.randint(100, 2_000_000),
        default_banned_rights=(api.chatBannedRights(send_polls=True, change_info=True,
                                                    invite_users=True, pin_messages=True, until_date=0)
                               if megagroup else None),
        usernames=[api.username(active=True, editable=True, username=f"channel_{cid % 100000}")],
    )


def messages_messages(n_messages=100, n_users=20, n_chats=5, seed=SEED):
    """``messages.messages`` as returned by messages.getHistory: a mix of private, group
    and channel messages with entities, forward and reply headers, photos, views and
    reactions, plus the users and chats they mention."""
    from tlfast import api

    rng = random.Random(seed)
    user_ids = [rng.randrange(10**8, 7 * 10**9) for _ in range(n_users)]
    chat_ids = [rng.randrange(10**9, 2 * 10**12) for _ in range(n_chats)]
    users = [_user(api, rng, uid) for uid in user_ids]
    chats = [_chat(api, rng, cid, i) for i, cid in enumerate(chat_ids)]
    messages = []
    date = 1_720_000_000
    for mid in range(n_messages, 0, -1):
        date -= rng.randint(5, 4000)
        where = rng.random()
        if where < 0.4:
            peer = api.peerChannel(channel_id=rng.choice(chat_ids[1:] or chat_ids))
            post = True
        elif where < 0.7:
            peer = api.peerChat(chat_id=chat_ids[0])
            post = False
        else:
            peer = api.peerUser(user_id=rng.choice(user_ids))
            post = False
        text = _text(rng)
        fwd = None
        if rng.random() < 0.15:
            fwd = api.messageFwdHeader(
                from_id=api.peerUser(user_id=rng.choice(user_ids)),
                date=date - rng.randint(100, 10**6),
                channel_post=(rng.randint(1, 50_000) if rng.random() < 0.3 else None),
            )
        reply = None
        if rng.random() < 0.25:
            reply = api.messageReplyHeader(
                reply_to_msg_id=rng.randint(1, mid + 500),
                reply_to_top_id=(rng.randint(1, 100) if rng.random() < 0.2 else None),
                quote=False,
            )
        media = api.messageMediaPhoto(photo=_photo(api, rng, date)) if rng.random() < 0.3 else None
        views = rng.randint(10, 500_000) if post else None
        messages.append(api.message(
            out=rng.random() < 0.2,
            mentioned=rng.random() < 0.05,
            silent=rng.random() < 0.1,
            post=post,
            pinned=rng.random() < 0.02,
            id=mid,
            from_id=(None if post else api.peerUser(user_id=rng.choice(user_ids))),
            peer_id=peer,
            fwd_from=fwd,
            reply_to=reply,
            date=date,
            message=text,
            media=media,
            entities=(_entities(api, rng, text) if rng.random() < 0.6 else None),
            views=views,
            forwards=(rng.randint(0, 5000) if post else None),
            edit_date=(date + rng.randint(10, 3600) if rng.random() < 0.1 else None),
            post_author=("Редакция" if post and rng.random() < 0.2 else None),
            grouped_id=(rng.getrandbits(63) if media is not None and rng.random() < 0.2 else None),
            reactions=(_reactions(api, rng) if rng.random() < 0.4 else None),
        ))
    return api.messages.messages(messages=messages, topics=[], chats=chats, users=users)


def upload_file(size=512 * 1024, seed=SEED):
    """``upload.file`` carrying one 512 KiB part of a JPEG."""
    from tlfast import api

    rng = random.Random(seed)
    return api.upload.file(type=api.storage.fileJpeg(), mtime=1_720_000_000,
                           bytes=rng.randbytes(size))


def vector_long(n=100_000, seed=SEED):
    """A ``Vector<long>`` of 100k ids (e.g. the result of messages.getMessagesViews-like
    calls); signed 64-bit values across the whole range."""
    rng = random.Random(seed)
    return [rng.getrandbits(64) - (1 << 63) for _ in range(n)]


def emoji_documents(n=100_000, seed=SEED):
    """``messages.getCustomEmojiDocuments`` asking for 100k documents: a long
    ``Vector<long>`` inside a request."""
    from tlfast import api

    return api.messages.getCustomEmojiDocuments(document_id=vector_long(n, seed))


def message_ids(n=100_000, seed=SEED):
    """100k message ids as a bare ``Vector<int>``: what delete_messages carries."""
    rng = random.Random(seed)
    return [rng.randrange(1, 2**31) for _ in range(n)]


def delete_messages(n=100_000, seed=SEED):
    """``messages.deleteMessages`` of 100k message ids: a long ``Vector<int>`` inside a
    request."""
    from tlfast import api

    return api.messages.deleteMessages(revoke=True, id=message_ids(n, seed))


def import_authorization():
    """The seed's example request."""
    from tlfast import api

    return api.auth.importAuthorization(id=4965292, bytes=b"some bytes here")


def send_message(seed=SEED):
    """``messages.sendMessage`` to a channel, replying to a message, with entities."""
    from tlfast import api

    rng = random.Random(seed)
    text = ("Релиз 2.0 вышел! 🚀 Release notes: https://example.org/notes — "
            "спасибо всем, кто тестировал 🙏 @tlfast_dev")
    url = "https://example.org/notes"
    at_url = _utf16_len(text[:text.index(url)])
    at_mention = _utf16_len(text[:text.index("@tlfast_dev")])
    return api.messages.sendMessage(
        no_webpage=True,
        peer=api.inputPeerChannel(channel_id=1_234_567_890_123, access_hash=rng.getrandbits(63)),
        reply_to=api.inputReplyToMessage(reply_to_msg_id=4242),
        message=text,
        random_id=rng.getrandbits(63),
        entities=[
            api.messageEntityBold(offset=0, length=9),
            api.messageEntityUrl(offset=at_url, length=len(url)),
            api.messageEntityMention(offset=at_mention, length=len("@tlfast_dev")),
        ],
    )


# name -> (builder, TL type expression or None for a boxed object). A builder called with
# no argument makes the payload of SEED; those of VARIED also take ``seed=``.
PAYLOADS = {
    "messages_100": (lambda seed=SEED: messages_messages(100, seed=seed), None),
    "messages_1000": (lambda seed=SEED: messages_messages(1000, seed=seed), None),
    "upload_file_512k": (upload_file, None),
    "vector_long_100k": (vector_long, "Vector<long>"),
    "emoji_documents_100k": (emoji_documents, None),
    "delete_messages_100k": (delete_messages, None),
    "import_authorization": (import_authorization, None),
    "send_message": (send_message, None),
}
# Payloads that are only the base of a comparison between two payloads (the bench's
# PAIR_TARGETS), not rows of its table: the same vector as a payload of the table, bare.
BASES = {
    "vector_int_100k": (message_ids, "Vector<int>"),
}
BUILDERS = {**PAYLOADS, **BASES}  # every payload build() makes
# Payloads with distinct variants of the same shape: variant j is built with seed SEED + j
# (variant 0 is the payload above). The bench decodes them in turns, as a live client,
# which never reads the same bytes twice. The two small requests have a single variant:
# import_authorization has no seed, and send_message's seed only picks two random ids,
# so its variants would run the very same code path with the same branches.
VARIED = frozenset(PAYLOADS) - {"import_authorization", "send_message"} | frozenset(BASES)

_cache = {}


def variants(name, k):
    """How many distinct variants of payload ``name`` to use when ``k`` are wanted."""
    return k if name in VARIED else 1


def build(name, variant=0):
    """``(value, type)`` of variant ``variant`` of payload ``name`` (each built once per
    process, then cached)."""
    key = (name, variant)
    hit = _cache.get(key)
    if hit is None:
        builder, type_ = BUILDERS[name]
        if variant and name not in VARIED:
            raise ValueError(f"payload {name!r} has a single variant")
        value = builder(seed=SEED + variant) if variant else builder()
        hit = _cache[key] = (value, type_)
    return hit
