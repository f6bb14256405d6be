"""TL schema text -> definitions (pure Python, shared by both backends).

Accepts the syntax real schemas use: ``//`` and ``/* */`` comments, declarations spanning
lines, ``---functions---`` / ``---types---`` sections (repeatable), namespaces, ids of 1-8
hex digits or none (then computed), ``#``-typed params of any name, ``name:flags.N?T``,
``{X:Type}`` and ``!X``, anonymous params (``#``, ``(Vector int)``, ``_:int``),
``Vector<T>`` / ``vector<T>`` / ``%T`` / bare lowercase types, the built-in pseudo
declarations (``int ? = Int;``, ``vector {t:Type} # [ t ] = Vector t;``, kept as
definitions marked ``is_builtin``) and ``// LAYER N``. Types are not resolved here, so
partial schemas (snippets naming types they do not define) load.

May use: errors.
"""

import bisect
import re
import zlib

from .errors import TLError

__all__ = ["TLSchemaError", "TypeExpr", "Param", "Definition", "parse", "parse_type", "compute_id",
           "DIALECTS"]


class TLSchemaError(TLError):
    """A schema that cannot be parsed, or a type expression / name it does not define."""


# Declared ids that differ from the computed ones for known, documented reasons
# (docs/tl-format.md §9): renamed "Legacy" constructors keep the original's id, and three
# help/IP constructors whose declared id has no known derivation.
KNOWN_ID_EXCEPTIONS = frozenset(
    {
        "ipPortSecret",
        "accessPointRule",
        "help.configSimple",
        "inputPeerPhotoFileLocationLegacy",
        "inputStickerSetThumbLegacy",
    }
)

# Names the wire format defines itself: their declarations are definitions (with ids, listed
# by Schema.builtins) but not objects; the engines encode these types natively.
BUILTIN_NAMES = frozenset(
    {"int", "long", "double", "string", "bytes", "int128", "int256", "vector", "Vector"}
)

# The dialects of TL a schema may be written in (Schema.from_text's ``dialect``):
# - "telegram": Telegram's API and MTProto. Ids by Telegram's rule (compute_id: `bytes` read
#   as `string`, `flags.N?true` params left out); a '#' word that fields depend on is
#   derived from the fields present.
# - "ton": The Open Network's lite_api, ton_api and tonlib_api. Ids by the CRC32 of the
#   declaration as written (`bytes` and `?true` params kept), what TON's own tl-parser
#   computes; a '#' word is a field its caller may set (bits no field uses, such as
#   liteServer.lookupBlock's mode 1, "by seqno"), the bits of the fields that depend on it
#   still set or cleared by which of them are present; tonlib's `int32 = Int32;`,
#   `int53`, `int64`, `secureString`, `secureBytes` are primitives (TON_PRIMITIVES).
DIALECTS = ("telegram", "ton")
TON_PRIMITIVES = {"int32": "int", "int53": "long", "int64": "long", "secureString": "string",
                  "secureBytes": "bytes"}
_TON_BUILTIN_NAMES = BUILTIN_NAMES | frozenset(TON_PRIMITIVES)


def check_dialect(dialect):
    if dialect not in DIALECTS:
        raise ValueError(f"unknown TL dialect {dialect!r} (known: {', '.join(DIALECTS)})")
    return dialect


class TypeExpr:
    """A parsed type expression: ``name`` with ``args``, ``bare`` when written with ``%``,
    ``bang`` when written ``!X``. ``Vector<long>`` -> TypeExpr("Vector", [TypeExpr("long")])."""

    __slots__ = ("name", "args", "bare", "bang")

    def __init__(self, name, args=(), bare=False, bang=False):
        self.name = name
        self.args = tuple(args)
        self.bare = bare
        self.bang = bang

    def __str__(self):
        text = ("!" if self.bang else "") + ("%" if self.bare else "") + self.name
        if self.args:
            text += "<" + ",".join(str(a) for a in self.args) + ">"
        return text

    __repr__ = __str__

    def __eq__(self, other):
        return isinstance(other, TypeExpr) and str(self) == str(other)

    def __hash__(self):
        return hash(str(self))


class Param:
    """One parameter. ``flag`` is the name of the ``#`` field it depends on (or None),
    ``bit`` its bit; ``type`` is a TypeExpr (``#`` for a flags word)."""

    __slots__ = ("name", "type", "flag", "bit")

    def __init__(self, name, type, flag=None, bit=-1):
        self.name = name
        self.type = type
        self.flag = flag
        self.bit = bit

    @property
    def is_flags(self):
        return self.type.name == "#"

    @property
    def is_true_flag(self):
        return self.flag is not None and self.type.name == "true"

    def __str__(self):
        cond = f"{self.flag}.{self.bit}?" if self.flag is not None else ""
        return f"{self.name}:{cond}{self.type}"

    __repr__ = __str__


class Definition:
    """A constructor or function of a schema, or a built-in pseudo declaration
    (``is_builtin``: ``int ? = Int``, ``vector {t:Type} # [ t ] = Vector t``), which has an
    id and a result type but no params and no class."""

    __slots__ = (
        "name", "id", "declared_id", "computed_id", "params", "generics", "type",
        "is_function", "line", "source", "is_builtin",
    )

    def __init__(self, name, id, declared_id, computed_id, params, generics, type,
                 is_function, line, source, is_builtin=False):
        self.name = name  # full TL name, "auth.importAuthorization"
        self.id = id  # the id used on the wire: declared if present, else computed
        self.declared_id = declared_id
        self.computed_id = computed_id
        self.params = params  # tuple of Param, in wire order (flags words included)
        self.generics = generics  # names of {X:Type} params
        self.type = type  # TypeExpr of the result type
        self.is_function = is_function
        self.line = line
        self.source = source  # the declaration as written (comments removed)
        self.is_builtin = is_builtin

    @property
    def namespace(self):
        return self.name.rpartition(".")[0]

    @property
    def short_name(self):
        return self.name.rpartition(".")[2]

    @property
    def id_matches(self):
        return self.declared_id is None or self.declared_id == self.computed_id

    def __repr__(self):
        kind = "built-in" if self.is_builtin else "function" if self.is_function else "constructor"
        return f"<TL {kind} {self.source}>"


_LAYER = re.compile(r"//\s*LAYER\s+(\d+)")
_COMMENT = re.compile(r"//[^\n]*|/\*.*?\*/", re.S)
_SECTION = re.compile(r"---\s*(\w+)\s*---")
_NAME = re.compile(r"([A-Za-z_][\w]*(?:\.[A-Za-z_]\w*)*)(?:#([0-9a-fA-F]{1,8}))?$")
_PARAM = re.compile(r"([A-Za-z_]\w*):(?:([A-Za-z_]\w*)\.(\d+)\?)?(.+)$")
_IDENT = re.compile(r"[A-Za-z_][\w]*(?:\.[A-Za-z_]\w*)*")


def _blank(match):
    # Keep newlines so that line/column numbers stay right after comments are removed.
    return re.sub(r"[^\n]", " ", match.group())


def parse(text, dialect="telegram"):
    """Parse schema text. Returns (definitions in order, layer or None, builtins), where
    builtins are the Definitions (``is_builtin``) of the wire format's own declarations
    (``int ? = Int;``, ``bytes = Bytes;``): they have ids but are not objects. ``dialect``
    (DIALECTS) sets the id rule and which names are built in."""
    check_dialect(dialect)
    layers = _LAYER.findall(text)
    layer = int(layers[-1]) if layers else None
    clean = _COMMENT.sub(_blank, text)
    if "/*" in clean:
        pos = clean.index("/*")
        raise _syntax_error(text, pos, "unterminated /* comment")

    defs, builtins = [], []
    lines = _Lines(text)
    is_function = False
    pos = 0
    end = len(clean)
    while pos < end:
        semi = clean.find(";", pos)
        chunk_end = end if semi < 0 else semi
        chunk = clean[pos:chunk_end]
        # Section markers may stand anywhere between declarations.
        last = 0
        for m in _SECTION.finditer(chunk):
            if chunk[last : m.start()].strip():
                raise _syntax_error(text, pos + last + _lead(chunk[last:]), "missing ';' before section marker")
            kind = m.group(1)
            if kind not in ("functions", "types"):
                raise _syntax_error(text, pos + m.start(), f"unknown section ---{kind}---")
            is_function = kind == "functions"
            last = m.end()
        body = chunk[last:]
        if body.strip():
            if semi < 0:
                raise _syntax_error(text, pos + last + _lead(body), "declaration without a closing ';'")
            start = pos + last + _lead(body)
            d = _parse_declaration(body.strip(), is_function, text, start, lines, dialect)
            (builtins if d.is_builtin else defs).append(d)
        pos = chunk_end + 1
    return defs, layer, builtins


def _lead(s):
    return len(s) - len(s.lstrip())


def _line_col(text, pos):
    line = text.count("\n", 0, pos) + 1
    col = pos - (text.rfind("\n", 0, pos) + 1) + 1
    return line, col


class _Lines:
    """Line numbers by bisecting line starts (``_line_col`` per declaration is quadratic)."""

    def __init__(self, text):
        self.starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def line(self, pos):
        return bisect.bisect_right(self.starts, pos)


def _syntax_error(text, pos, message):
    line, col = _line_col(text, pos)
    err = TLSchemaError(f"line {line}, column {col}: {message}")
    err.line, err.column = line, col
    return err


_TOKEN = re.compile(r"\{[^}]*\}?|(?:\([^()]*\)?|[^\s{(])+")


def _tokens(body):
    """Whitespace-separated tokens of a declaration with their offsets; ``{X:Type}`` and
    ``(Vector t)`` stay whole."""
    out = []
    for m in _TOKEN.finditer(body):
        tok = m.group()
        if tok[0] == "{" and not tok.endswith("}"):
            raise ValueError((m.start(), "unclosed '{'"))
        out.append((tok, m.start()))
    return out


def _parse_declaration(body, is_function, text, start, lines, dialect="telegram"):
    if not body.isascii():
        # TL names and types are ASCII (the id is the CRC32 of the ASCII text); Python's
        # \w would otherwise let other letters through into names.
        off = next(i for i, c in enumerate(body) if not c.isascii())
        raise _syntax_error(text, start + off, f"non-ASCII character {body[off]!r} in a declaration")
    try:
        tokens = _tokens(body)
    except ValueError as exc:
        off, msg = exc.args[0]
        raise _syntax_error(text, start + off, msg) from None
    words = [t for t, _ in tokens]
    if "=" not in words:
        raise _syntax_error(text, start, f"expected '=' in declaration {body!r}")
    eq = words.index("=")
    m = _NAME.match(words[0]) if eq > 0 else None
    if not m:
        raise _syntax_error(text, start, f"bad combinator name {words[0]!r}")
    name, hex_id = m.group(1), m.group(2)
    # Built-in pseudo declarations: `int ? = Int`, `vector {t:Type} # [ t ] = Vector t`,
    # `int128 4*[ int ] = Int128`. The wire format defines their encoding itself, so their
    # params (`?`, repetitions) are not kept; their generics, result type and id are.
    builtin = (name in (_TON_BUILTIN_NAMES if dialect == "ton" else BUILTIN_NAMES)
               or "?" in words[1:eq] or any("[" in w for w in words[1:eq]))

    params, generics = [], []
    flag_names = set()
    names = set()
    for word, off in tokens[1:eq]:
        where = start + off
        if word.startswith("{"):
            inner = word[1:-1].strip()
            gname, _, gtype = inner.partition(":")
            if not _IDENT.fullmatch(gname.strip()) or gtype.strip() != "Type":
                raise _syntax_error(text, where, f"bad generic parameter {word!r}")
            generics.append(gname.strip())
            continue
        if builtin:
            continue
        pm = _PARAM.match(word)
        if pm:
            pname, flag, bit, ptype = pm.groups()
        elif ":" not in word:
            # An anonymous param, its type alone: `getUsers (Vector int) = Vector User`.
            pname, flag, bit, ptype = "_", None, None, word
        else:
            raise _syntax_error(text, where, f"bad parameter {word!r}")
        if pname.startswith("_") and pname != "_":
            # TL identifiers start with a letter; in Python a leading underscore would reach
            # the class's own machinery (__slots__, _fields, name mangling).
            raise _syntax_error(text, where, f"bad parameter name {pname!r}: names start with a letter")
        if pname == "_":
            # Anonymous (also `_:int`): named by position, since objects need attributes
            # and `_` is the name key of the dict form.
            pname = f"_{len(params) + 1}"
        if pname in names:
            raise _syntax_error(text, where, f"duplicate parameter {pname!r}")
        names.add(pname)
        if flag is not None:
            if flag not in flag_names:
                raise _syntax_error(text, where, f"{pname} depends on {flag!r}, which is not an earlier '#' parameter")
            bit = int(bit)
            if bit > 31:
                raise _syntax_error(text, where, f"flag bit {bit} out of range 0..31")
        try:
            texpr = parse_type(ptype)
        except TLSchemaError as exc:
            raise _syntax_error(text, where, exc.message) from None
        if texpr.name == "#":
            flag_names.add(pname)
        params.append(Param(pname, texpr, flag, bit if flag is not None else -1))

    result_words = words[eq + 1 :]
    if not result_words:
        raise _syntax_error(text, start, "missing result type")
    result_text = " ".join(result_words)
    try:
        if len(result_words) > 1:  # `Vector t` style application
            result = TypeExpr(result_words[0], [parse_type(w) for w in result_words[1:]])
        else:
            result = parse_type(result_text)
    except TLSchemaError as exc:
        raise _syntax_error(text, start, exc.message) from None
    if result.bang:  # `name ... = !X` declares a function in the types section
        is_function = True
        result = TypeExpr(result.name, result.args, result.bare)

    computed = compute_id(body, dialect)
    declared = int(hex_id, 16) if hex_id else None
    line = lines.line(start) if lines is not None else 1
    return Definition(
        name, declared if declared is not None else computed, declared, computed,
        tuple(params), tuple(generics), result, is_function and not builtin, line,
        " ".join(body.split()), builtin,
    )


def parse_type(text):
    """Parse a type expression: ``Vector<long>``, ``%Message``, ``!X``, ``(Vector t)``."""
    expr = _TYPE_CACHE.get(text)
    if expr is None:
        expr = _parse_type(text)
        if len(_TYPE_CACHE) < 16384:  # a layer needs a few thousand; schema text is input
            _TYPE_CACHE[text] = expr
    return expr


_TYPE_CACHE = {}


def _parse_type(text):
    s = text.strip()
    expr, rest = _parse_type_at(s, 0)
    if s[rest:].strip():
        raise TLSchemaError(f"bad type expression {text!r}")
    return expr


def _parse_type_at(s, i):
    n = len(s)
    while i < n and s[i].isspace():
        i += 1
    bang = bare = False
    if i < n and s[i] == "!":
        bang, i = True, i + 1
    if i < n and s[i] == "%":
        bare, i = True, i + 1
    if i < n and s[i] == "(":
        # `(Vector t)`: application in parentheses
        close = _matching(s, i, "(", ")")
        parts = s[i + 1 : close].split()
        if not parts:
            raise TLSchemaError(f"bad type expression {s!r}")
        inner = TypeExpr(parts[0], [parse_type(p) for p in parts[1:]], bare, bang)
        return inner, close + 1
    if i < n and s[i] == "#":
        return TypeExpr("#", (), bare, bang), i + 1
    m = _IDENT.match(s, i)
    if not m:
        raise TLSchemaError(f"bad type expression {s!r}")
    name = m.group()
    i = m.end()
    args = []
    if i < n and s[i] == "<":
        close = _matching(s, i, "<", ">")
        for part in _split_args(s[i + 1 : close]):
            args.append(parse_type(part))
        i = close + 1
    return TypeExpr(name, args, bare, bang), i


def _matching(s, i, open_, close):
    depth = 0
    for j in range(i, len(s)):
        if s[j] == open_:
            depth += 1
        elif s[j] == close:
            depth -= 1
            if depth == 0:
                return j
    raise TLSchemaError(f"unbalanced {open_!r} in type expression {s!r}")


def _split_args(s):
    parts, depth, cur = [], 0, []
    for c in s:
        if c in "<(":
            depth += 1
        elif c in ">)":
            depth -= 1
        if c == "," and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(c)
    parts.append("".join(cur))
    if any(not p.strip() for p in parts):
        raise TLSchemaError(f"empty type argument in {s!r}")
    return parts


_TRUE_PARAM = re.compile(r"\s[A-Za-z_]\w*:[A-Za-z_]\w*\.\d+\?true(?=\s|$)")
_OWN_BYTES = re.compile(r"(?<=[:?])bytes(?=\s|$)")
_DROP_ID = re.compile(r"^(\S+?)#[0-9a-fA-F]*")


def compute_id(declaration, dialect="telegram"):
    """The constructor id by the rule in docs/tl-format.md §9 (what Telethon, grammers and
    mtcute infer): drop the id and every ``x:flags.N?true`` param, ``bytes``->``string``
    where it is a param's own type, ``<``->space, remove ``> ( ) { } %``, CRC32.

    The "ton" dialect keeps the ``?true`` params and ``bytes`` as written: what TON's
    tl-parser computes (checked against the ids in TON's own .tlo files, all 875
    declarations of lite_api, ton_api and tonlib_api at ton-blockchain/ton b304b1c7)."""
    text = " ".join(declaration.replace(";", " ").split())
    text = _DROP_ID.sub(r"\1", text)
    if dialect != "ton":
        text = _TRUE_PARAM.sub("", text)
        text = _OWN_BYTES.sub("string", text)
    text = text.replace("<", " ")
    for c in ">(){}%":
        text = text.replace(c, "")
    text = " ".join(text.split())
    return zlib.crc32(text.encode("ascii")) & 0xFFFFFFFF


def parse_one(source, is_function, line, dialect="telegram"):
    """Re-parse one declaration (as kept in ``Definition.source``)."""
    d = _parse_declaration(source, is_function, source, 0, None, dialect)
    d.line = line
    return d
