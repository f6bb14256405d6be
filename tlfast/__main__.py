"""Command line: ``python -m tlfast {bench,decode,encode,schema,stubs,serve}`` (also ``tlfast ...``).

Bad input (bad hex, an unknown name, an unreadable file, bytes that are not valid TL) is
reported as one line on stderr with a non-zero exit status, never as a traceback; set
TLFAST_DEBUG=1 to see the traceback of an unexpected failure.

May use: tlfast, _tlparse, schema, schemas, _stubgen, _payloads, _bench, _bench_live, telethon, pyrogram, testing.
"""

import argparse
import base64
import binascii
import difflib
import json
import os
import re
import sys
import warnings

EXIT_ERROR = 1  # bad input, or data that does not decode/encode
EXIT_USAGE = 2  # argparse's own status for bad options


class CLIError(Exception):
    """A user-facing failure: printed as one line, exit status 1."""


# entry point ----------------------------------------------------------------------------
def main(argv=None):
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            status = args.run(args)
        for w in caught:
            _err(f"warning: {w.message}")
        return status
    except CLIError as exc:
        _err(str(exc))
        return EXIT_ERROR
    except BrokenPipeError:
        # `tlfast decode ... | head`: the reader left; not an error of ours.
        try:
            sys.stdout = open(os.devnull, "w")
        except OSError:
            pass
        return 0
    except KeyboardInterrupt:
        _err("interrupted")
        return 130
    except Exception as exc:  # noqa: BLE001 - the promise is: never a traceback
        if os.environ.get("TLFAST_DEBUG"):
            raise
        _err(f"unexpected {type(exc).__name__}: {exc} (set TLFAST_DEBUG=1 for a traceback)")
        return EXIT_ERROR


def _err(message):
    sys.stderr.write(f"tlfast: {message}\n")
    sys.stderr.flush()


def _docs(page):
    """The line each help ends with: the page of the docs that covers the command, as a
    path in tlfast's source repository (README, "Documentation"; no site is hosted yet)."""
    return f"Documentation: {page} in the tlfast repository."


def _parser():
    from . import __version__

    p = argparse.ArgumentParser(
        prog="tlfast",
        description="Encode, decode and inspect Telegram TL data; benchmark tlfast.",
        epilog=_docs("docs/guide/cli.md") + " Run 'tlfast COMMAND --help' for a command.",
    )
    p.add_argument("--version", action="version", version=f"tlfast {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    b = sub.add_parser("bench", help="time the bundled payloads for tlfast and its peers",
                       description="Time the bundled realistic payloads (the ones benchmarks/ "
                       "uses) for tlfast-cython, tlfast-python and, when installed, Telethon "
                       "(alone and with tlfast's drop-in), kurigram (alone and with tlfast.pyrogram) "
                       "and msgspec; print one table with ratios to Telethon (a drop-in's: to its "
                       "host alone).", epilog=_docs("docs/guide/benchmarks.md"))
    b.add_argument("--quick", action="store_true", help="fewer, shorter samples (under 30 s)")
    b.add_argument("--no-gc", action="store_true",
                   help="pause the garbage collector while sampling (default: it runs, as "
                   "in a live client)")
    b.add_argument("--markdown", action="store_true",
                   help="print the table in Markdown, as the docs show it")
    b.add_argument("--json", metavar="PATH", help="also write the results as JSON to PATH")
    b.add_argument("--payload", action="append", metavar="NAME",
                   help="only this payload (repeatable); one of: " + ", ".join(_payload_names()))
    b.add_argument("--live", action="store_true",
                   help="instead of the codec table: real clients (Telethon, kurigram) against "
                   "tlfast.testing's local server, stock and with the drop-in on each engine; "
                   "client CPU per getHistory(100) and per 1000 pushed updates")
    b.add_argument("--codec", action="append", metavar="NAME",
                   help="only this codec (repeatable); one of: " + ", ".join(_codec_names()))
    b.set_defaults(run=cmd_bench)

    d = sub.add_parser("decode", help="TL bytes -> JSON",
                       description="Decode TL bytes given as hex (spaces and newlines allowed), "
                       "base64, a binary file or stdin, and print the value as JSON "
                       "(\"_\" holds the TL name; bytes as hex strings).",
                       epilog=_docs("docs/guide/cli.md#decode-tl-bytes-to-json"))
    d.add_argument("data", nargs="?", help="hex or base64 text; default: --file, else stdin")
    d.add_argument("--file", metavar="PATH", help="read the input from PATH")
    d.add_argument("--input", choices=("auto", "hex", "base64", "raw"), default="auto",
                   help="input form (default auto: hex, else base64; files and stdin that "
                   "are not such text are raw bytes)")
    d.add_argument("--type", metavar="T", help="TL type expression (default Object), e.g. "
                   "'Vector<long>', 'User', '%%Message'")
    d.add_argument("--result-of", metavar="NAME",
                   help="the data is the result of function NAME (rpc_result and gzip_packed "
                   "wrappers are unwrapped; bare results such as Vector<long> decode)")
    d.add_argument("--schema", metavar="FILE", help="a complete .tl schema instead of the "
                   "bundled ones (layer 228 + MTProto)")
    d.add_argument("--pretty", action="store_true", help="indented JSON")
    d.set_defaults(run=cmd_decode)

    e = sub.add_parser("encode", help="JSON -> TL bytes",
                       description="Encode JSON in the form `decode` prints (bytes as hex "
                       "strings) to hex, or raw bytes with --raw.",
                       epilog=_docs("docs/guide/cli.md#encode-json-to-tl-bytes"))
    e.add_argument("json", nargs="?", help="the JSON text; default: --file, else stdin")
    e.add_argument("--file", metavar="PATH", help="read the JSON from PATH")
    e.add_argument("--type", metavar="T", help="TL type expression (default Object)")
    e.add_argument("--schema", metavar="FILE", help="a complete .tl schema instead of the bundled ones")
    e.add_argument("--raw", action="store_true", help="write raw bytes to stdout instead of hex")
    e.set_defaults(run=cmd_encode)

    s = sub.add_parser("schema", help="show a definition, or diff two schemas",
                       description="Show a constructor or function (by name or 0xID), or a "
                       "type's constructors; with --diff, list what changed between two .tl files "
                       "(telethon: stands for the installed Telethon's layer).",
                       epilog=_docs("docs/guide/cli.md#schema-show-a-definition-or-diff-two-layers"))
    s.add_argument("name", nargs="?", help="TL name (auth.importAuthorization), id (0xa57a7dad) "
                   "or boxed type (User)")
    s.add_argument("--schema", metavar="FILE", help="look in FILE instead of the bundled schemas")
    s.add_argument("--diff", nargs=2, metavar=("OLD.tl", "NEW.tl"),
                   help="constructors and functions added, removed and changed from OLD to NEW")
    s.set_defaults(run=cmd_schema)

    t = sub.add_parser("stubs", help="write typed stubs (.pyi) for a schema's classes",
                       description="Write NAME.pyi into DIR: typed classes of every type, "
                       "constructor and function of SCHEMA.tl, for editors and type checkers. "
                       "Beside it, a module NAME.py that sets `schema = tlfast.Schema.from_file"
                       "(...)` and `api = schema.api` is then typed. --bundled rewrites the "
                       "stubs tlfast ships for its bundled schemas.",
                       epilog=_docs("docs/guide/types.md#stubs-for-your-own-schema"))
    t.add_argument("schema", nargs="?", metavar="SCHEMA.tl", help="the schema to describe")
    t.add_argument("-o", "--output", metavar="DIR", help="where to write (default: the current "
                   "directory; with --bundled, the installed tlfast package)")
    t.add_argument("--name", help="module name (default: the schema file's name)")
    t.add_argument("--bundled", action="store_true",
                   help="the stubs of the bundled schemas (tlfast/_api.pyi, tlfast/_mtproto.pyi)")
    t.set_defaults(run=cmd_stubs)
    for command in (d, e, s, t):
        command.add_argument("--dialect", choices=("telegram", "ton"), default="telegram",
                             help="the TL dialect of the schema files given (default telegram; "
                             "ton: The Open Network's lite_api, ton_api, tonlib_api)")

    v = sub.add_parser("serve", help="run a local MTProto test server on 127.0.0.1",
                       epilog=_docs("docs/guide/testing.md"),
                       description="Run tlfast.testing's MTProto server on 127.0.0.1 until "
                       "interrupted, for clients pointed at it (tlfast.testing.telethon_client"
                       "(PORT) or pyrogram_client(PORT) in another process trust its test RSA "
                       "key, which is the same in every process). It prints its address, "
                       "key fingerprint and the sign-in details.")
    v.add_argument("--port", type=int, default=0, help="TCP port (default 0: a free one)")
    v.add_argument("--schema", action="append", metavar="FILE",
                   help="a layer the clients speak: a .tl file, telethon: (the installed "
                   "Telethon's, the default), pyrogram: (the installed Pyrogram's) or "
                   "bundled: (tlfast's own); repeat it to serve several layers, each client "
                   "in the one it names (the first is the default)")
    v.add_argument("--bot", action="append", metavar="TOKEN", default=[],
                   help="register a bot token (any well-formed '<id>:<secret>' signs in anyway)")
    v.add_argument("--history", type=int, default=100, metavar="N",
                   help="messages in the prepared chat between each bot and the user 'alice' "
                   "(default 100)")
    v.add_argument("--verbose", action="store_true", help="log every connection and warning")
    v.set_defaults(run=cmd_serve)
    return p


def _codec_names():
    from ._bench import CODECS

    return list(CODECS)


def _payload_names():
    from ._payloads import PAYLOADS

    return list(PAYLOADS)


# bench ----------------------------------------------------------------------------------
def cmd_bench(args):
    if args.live:
        from . import _bench_live

        if args.payload or args.codec or args.json or args.markdown or args.no_gc:
            raise CLIError("--live takes only --quick (the other options are the codec table's)")
        return _bench_live.main(rounds=2 if args.quick else _bench_live.ROUNDS)

    from . import _bench

    for name in args.payload or ():
        if name not in _payload_names():
            raise CLIError(f"unknown payload {name!r}; expected one of {', '.join(_payload_names())}")
    for name in args.codec or ():
        if name not in _bench.CODECS:
            raise CLIError(f"unknown codec {name!r}; expected one of {', '.join(_bench.CODECS)}")
    if args.json:
        _check_writable(args.json)
    return _bench.main(args.payload, args.codec, args.quick, args.json,
                       gc_on=not args.no_gc, markdown=args.markdown)


def _check_writable(path):
    # Fail before minutes of timing, not after.
    try:
        with open(path, "a", encoding="utf-8"):
            pass
    except OSError as exc:
        raise CLIError(f"cannot write {path}: {exc.strerror or exc}") from None


# schemas ----------------------------------------------------------------------------------
_labels = {}  # id(schema) -> how to name it in output


def _load_schema(path, dialect="telegram"):
    """A Schema from a .tl file in ``dialect`` (or ``telethon:``, the layer of the installed
    Telethon, rebuilt from its classes), with one-line errors."""
    from .schema import Schema, TLSchemaError

    if path == "telethon:":
        from . import telethon

        try:
            return telethon.schema()
        except ImportError as exc:
            raise CLIError(f"telethon: is Telethon's layer, but Telethon is not installed ({exc})") from None
    try:
        schema = Schema.from_file(path, dialect=dialect)
        _labels[id(schema)] = f"schema {path}"
        return schema
    except OSError as exc:
        raise CLIError(f"cannot read {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise CLIError(f"cannot read {path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except TLSchemaError as exc:
        raise CLIError(f"{path}: {exc}") from None


def _schemas(path, dialect="telegram"):
    """The schemas to search: [--schema FILE] or the bundled [api, mtproto]."""
    if path:
        return [_load_schema(path, dialect)]
    from . import schemas

    _labels[id(schemas.api)] = "bundled api schema"
    _labels[id(schemas.mtproto)] = "bundled mtproto schema"
    return [schemas.api, schemas.mtproto]


def _lookup(schema_list, key):
    """(schema, definition) for a name or id; CLIError with suggestions otherwise."""
    ident = _parse_id(key)
    for s in schema_list:
        d = s.get(ident if ident is not None else key)
        if d is not None:
            return s, d
    if ident is not None:
        raise CLIError(f"no constructor or function with id 0x{ident:08x}")
    names = list(dict.fromkeys(d.name for s in schema_list for d in s))
    close = difflib.get_close_matches(key, names, n=3, cutoff=0.75)
    if not close:
        low = key.lower()
        close = [n for n in names if n.lower() == low][:3]
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    raise CLIError(f"no constructor or function named {key!r}{hint}")


def _parse_id(key):
    text = key.strip()
    if text[:2].lower() == "0x":
        text = text[2:]
    elif text.startswith("#"):
        text = text[1:]
    else:
        return None
    try:
        value = int(text, 16)
    except ValueError:
        raise CLIError(f"bad constructor id {key!r}: expected hex such as 0xa57a7dad") from None
    if not 0 <= value <= 0xFFFFFFFF:
        raise CLIError(f"bad constructor id {key!r}: more than 32 bits")
    return value


def _class_of(schema, name):
    obj = schema.api
    for part in name.split("."):
        obj = getattr(obj, part)
    return obj


# decode ---------------------------------------------------------------------------------
_HEX_CHARS = re.compile(r"[0-9a-fA-F\s:]*")
_B64 = re.compile(r"[A-Za-z0-9+/_\-\s]*={0,2}\s*")


def _parse_text(text, form, where):
    """Hex (spaces, newlines, ':' and a leading 0x allowed) or base64 -> bytes."""
    stripped = text.strip()
    if stripped[:2].lower() == "0x":
        stripped = stripped[2:]
    if form in ("auto", "hex") and _HEX_CHARS.fullmatch(stripped):
        digits = re.sub(r"[\s:]", "", stripped)
        if len(digits) % 2:
            raise CLIError(f"bad hex in {where}: odd number of digits ({len(digits)})")
        return bytes.fromhex(digits)
    if form == "auto" and (re.search(r"[ \t]", stripped) or len(stripped) < 8):
        form = "hex"  # spaced groups, or too short to be base64 of any TL value: meant as hex
    if form == "hex":
        pos, bad = next((i, c) for i, c in enumerate(stripped) if not _HEX_CHARS.fullmatch(c))
        raise CLIError(f"bad hex in {where}: unexpected character {bad!r} at position {pos}")
    if _B64.fullmatch(stripped):
        compact = re.sub(r"\s", "", stripped)
        try:
            if "-" in compact or "_" in compact:
                return base64.urlsafe_b64decode(compact + "=" * (-len(compact) % 4))
            return base64.b64decode(compact + "=" * (-len(compact) % 4), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise CLIError(f"bad base64 in {where}: {exc}") from None
    if form == "base64":
        raise CLIError(f"bad base64 in {where}: unexpected characters")
    raise CLIError(f"{where} is neither hex nor base64 (give binary data with --file or stdin)")


def _is_text(raw):
    return all(32 <= b < 127 or b in b"\t\n\r" for b in raw)


def _read_input_bytes(args):
    form = args.input
    if args.data is not None and args.data != "-":
        if args.file:
            raise CLIError("give the data either as an argument or with --file, not both")
        if form == "raw":
            raise CLIError("--input raw needs --file or stdin")
        return _parse_text(args.data, form, "the argument")
    if args.file:
        try:
            with open(args.file, "rb") as f:
                raw = f.read()
        except OSError as exc:
            raise CLIError(f"cannot read {args.file}: {exc.strerror or exc}") from None
        where = args.file
    else:
        if sys.stdin is None or (sys.stdin.isatty() and args.data != "-"):
            raise CLIError("no input: give hex or base64 as an argument, --file PATH, or pipe bytes to stdin")
        raw = sys.stdin.buffer.read()
        where = "stdin"
    if form == "raw" or (form == "auto" and not _is_text(raw)):
        return raw
    if not raw.strip():
        raise CLIError(f"no data in {where}")
    return _parse_text(raw.decode("ascii"), form, where)


def _result_request(schema_list, name):
    """An instance of function ``name`` with every field None: enough for ``result_of``,
    which only needs the function's result type."""
    if _parse_id(name) is None and not any(name in s for s in schema_list):
        if any(name in s.types for s in schema_list):
            raise CLIError(f"--result-of takes a function name; {name} is a type (use --type {name})")
    schema, d = _lookup(schema_list, name)
    if not d.is_function:
        raise CLIError(f"--result-of needs a function; {d.name} is a constructor of {d.type}")
    cls = _class_of(schema, d.name)
    request = cls.__new__(cls)
    for slot in cls.__slots__:
        setattr(request, slot, None)
    return schema, request


def cmd_decode(args):
    from . import TLDecodeError, TLError

    data = _read_input_bytes(args)
    schema_list = _schemas(args.schema, args.dialect)
    try:
        if args.result_of:
            if args.type:
                raise CLIError("give either --type or --result-of, not both")
            owner, request = _result_request(schema_list, args.result_of)
            loads = (owner.loads if args.schema else _bundled_loads)
            value = loads(data, result_of=request)
        elif args.schema:
            value = schema_list[0].loads(data, args.type)
        else:
            value = _bundled_loads(data, args.type)
    except TLDecodeError as exc:
        raise CLIError(f"decode error: {exc}\n{hexdump(data, exc.offset)}".rstrip()) from None
    except TLError as exc:  # a bad --type: TLSchemaError
        raise CLIError(str(exc)) from None
    _write_json(to_json(value), args.pretty)
    return 0


def _bundled_loads(data, type=None, result_of=None):
    import tlfast

    return tlfast.loads(data, type, result_of=result_of)


def to_json(value):
    """A decoded value as JSON-ready data: objects as their to_dict() (``"_"`` = TL name),
    bytes as hex strings; ints stay exact (JSON numbers of any size)."""
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).hex()
    to_dict = getattr(value, "to_dict", None)
    if to_dict is not None and not isinstance(value, type):
        return to_json(to_dict())
    return value


def _write_json(doc, pretty):
    text = json.dumps(doc, ensure_ascii=False, indent=2 if pretty else None)
    out = sys.stdout.buffer if hasattr(sys.stdout, "buffer") else None
    if out is None:
        sys.stdout.write(text + "\n")
    else:
        sys.stdout.flush()
        out.write(text.encode("utf-8") + b"\n")
        out.flush()


def hexdump(data, offset, context=16, width=16):
    """A few rows of ``data`` around ``offset``, with a caret under the offending byte."""
    if offset is None or not data:
        return ""
    offset = max(0, min(offset, len(data)))
    start = max(0, (offset - context) // width * width)
    end = min(len(data), (offset + context) // width * width + width)
    lines = []
    for row in range(start, end, width):
        chunk = data[row:row + width]
        lines.append(f"  {row:08x}  " + " ".join(f"{b:02x}" for b in chunk))
        if row <= offset < row + width:
            lines.append(" " * (12 + 3 * (offset - row)) + f"^^ offset {offset}")
    if offset == len(data):
        lines.append(f"  (offset {offset} is the end of the {len(data)}-byte input)")
    return "\n".join(lines)


# encode ---------------------------------------------------------------------------------
def _read_json(args):
    if args.json is not None and args.json != "-":
        if args.file:
            raise CLIError("give the JSON either as an argument or with --file, not both")
        text, where = args.json, "the argument"
    elif args.file:
        try:
            with open(args.file, encoding="utf-8") as f:
                text = f.read()
        except OSError as exc:
            raise CLIError(f"cannot read {args.file}: {exc.strerror or exc}") from None
        except UnicodeDecodeError:
            raise CLIError(f"cannot read {args.file}: not UTF-8 text") from None
        where = args.file
    else:
        if sys.stdin is None or (sys.stdin.isatty() and args.json != "-"):
            raise CLIError("no input: give JSON as an argument, --file PATH, or pipe it to stdin")
        text, where = sys.stdin.buffer.read().decode("utf-8", "replace"), "stdin"
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise CLIError(f"bad JSON in {where}: {exc.msg} at line {exc.lineno} column {exc.colno}") from None


_BYTES_TYPE = re.compile(r"(?:[Vv]ector<)*bytes>*")


def _from_json(doc, from_dict, type_):
    """JSON value -> what dumps takes: objects through from_dict (which turns hex strings
    into bytes for bytes fields); hex strings for a bare ``bytes`` type or vector of them."""
    if isinstance(doc, dict):
        return from_dict(doc)
    if isinstance(doc, list):
        return [_from_json(v, from_dict, type_) for v in doc]
    if isinstance(doc, str) and type_ and _BYTES_TYPE.fullmatch(type_.replace(" ", "")):
        try:
            return bytes.fromhex(doc)
        except ValueError:
            raise CLIError(f"bytes must be given as hex, got {doc[:20]!r}") from None
    return doc


def cmd_encode(args):
    from . import TLError

    doc = _read_json(args)
    if not isinstance(doc, dict) and not args.type:
        raise CLIError('expected a JSON object with a "_" key naming the constructor '
                       "(or give --type for other values)")
    if isinstance(doc, dict) and "_" not in doc:
        raise CLIError('the JSON object has no "_" key naming the constructor')
    try:
        if args.schema:
            schema = _schemas(args.schema, args.dialect)[0]
            data = schema.dumps(_from_json(doc, schema.from_dict, args.type), args.type)
        else:
            import tlfast

            data = tlfast.dumps(_from_json(doc, tlfast.from_dict, args.type), args.type)
    except TLError as exc:
        raise CLIError(f"encode error: {exc}") from None
    if args.raw:
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        sys.stdout.write(data.hex(" ") + "\n")
    return 0


# schema ---------------------------------------------------------------------------------
def cmd_schema(args):
    if args.diff:
        if args.name or args.schema:
            raise CLIError("--diff takes two files and nothing else")
        return schema_diff(*args.diff, dialect=args.dialect)
    if not args.name:
        raise CLIError("give a name or 0xID to show, or --diff OLD.tl NEW.tl")
    schema_list = _schemas(args.schema, args.dialect)
    if _parse_id(args.name) is None and not any(args.name in s for s in schema_list):
        for s in schema_list:
            if args.name in s.types:
                return _show_type(s, args.name)
    schema, d = _lookup(schema_list, args.name)
    _show_definition(schema, d, schema_list)
    return 0


def _schema_label(schema):
    name = _labels.get(id(schema), "schema")
    return f"{name} (layer {schema.layer})" if schema.layer is not None else name


def _show_definition(schema, d, schema_list=()):
    from ._tlparse import KNOWN_ID_EXCEPTIONS

    out = []
    out.append(d.source + ";")
    kind = "built-in" if d.is_builtin else "function" if d.is_function else "constructor"
    out.append(f"  {kind} in the {_schema_label(schema)}, line {d.line}")
    if d.declared_id is None:
        ids = f"0x{d.id:08x} (not declared; computed)"
    elif d.declared_id == d.computed_id:
        ids = f"0x{d.id:08x} (declared = computed: ids agree)"
    else:
        known = " (a known exception)" if d.name in KNOWN_ID_EXCEPTIONS else ""
        ids = (f"0x{d.id:08x} (declared 0x{d.declared_id:08x} != computed "
               f"0x{d.computed_id:08x}: ids DIFFER{known}; the declared one is used on the wire)")
    out.append(f"  id      {ids}")
    result = str(d.type)
    ctors = schema.types.get(d.type.name, [])
    if d.type.name in d.generics:
        result += " (the result of the inner query)"
    if d.is_function:
        out.append(f"  result  {result}" + (f": {', '.join(ctors)}" if ctors else ""))
    else:
        others = [c for c in ctors if c != d.name]
        out.append(f"  type    {result}" + (f" (also: {', '.join(others)})" if others else ""))
    if d.generics:
        out.append(f"  generic {', '.join('{' + g + ':Type}' for g in d.generics)}")
    if d.is_builtin:
        out.append("  fields  (none: the wire format defines how this type is encoded)")
    elif d.params:
        out.append("  fields")
        width = max(len(p.name) for p in d.params)
        twidth = max(len(str(p.type)) for p in d.params)
        sharing = {}
        for p in d.params:
            if p.flag is not None:
                sharing.setdefault((p.flag, p.bit), []).append(p.name)
        for p in d.params:
            if p.flag is not None:
                note = f"optional: present when {p.flag}.{p.bit} is set"
                if p.type.name == "true":
                    note = f"bool: bit {p.flag}.{p.bit}, no bytes"
                others = [n for n in sharing[(p.flag, p.bit)] if n != p.name]
                if others:
                    note += f" (bit shared with {', '.join(others)})"
            elif p.type.name == "#" and schema.dialect == "ton":
                note = "flags word (given or 0; its fields' bits set on encode)"
            elif p.type.name == "#":
                note = "flags word (computed on encode)"
            else:
                note = ""
            out.append(f"    {p.name.ljust(width)}  {str(p.type).ljust(twidth)}  {note}".rstrip())
    else:
        out.append("  fields  (none)")
    for other in schema_list:
        if other is not schema and d.name in other:
            od = other[d.name]
            out.append(f"  (the {_schema_label(other)} also defines {od.name}#{od.id:08x})")
    sys.stdout.write("\n".join(out) + "\n")


def _show_type(schema, type_name):
    ctors = schema.types[type_name]
    funcs = sorted(d.name for d in schema if d.is_function and d.type.name == type_name)
    out = [f"type {type_name} in the {_schema_label(schema)}: {len(ctors)} constructor(s)"]
    for c in ctors:
        out.append(f"  {schema[c].source};")
    if funcs:
        out.append(f"returned by: {', '.join(funcs)}")
    sys.stdout.write("\n".join(out) + "\n")
    return 0


def _param_key(p):
    return str(p)


def schema_diff(old_path, new_path, dialect="telegram"):
    old, new = _load_schema(old_path, dialect), _load_schema(new_path, dialect)
    old_defs = {d.name: d for d in old}
    new_defs = {d.name: d for d in new}
    out = [f"--- {old_path} (layer {old.layer}, {len(old)} definitions)",
           f"+++ {new_path} (layer {new.layer}, {len(new)} definitions)"]
    sections = []
    for is_function, label in ((False, "constructors"), (True, "functions")):
        added = [new_defs[n] for n in new_defs
                 if n not in old_defs and new_defs[n].is_function == is_function]
        removed = [old_defs[n] for n in old_defs
                   if n not in new_defs and old_defs[n].is_function == is_function]
        changed = []
        for n, nd in new_defs.items():
            od = old_defs.get(n)
            if od is None or nd.is_function != is_function:
                continue
            delta = _definition_delta(od, nd)
            if delta:
                changed.append((od, nd, delta))
        out.append(f"{label}: {len(added)} added, {len(removed)} removed, {len(changed)} changed")
        sections.append((label, added, removed, changed))
    for label, added, removed, changed in sections:
        if added:
            out.append(f"\nadded {label}:")
            out.extend(f"  + {d.source};" for d in added)
        if removed:
            out.append(f"\nremoved {label}:")
            out.extend(f"  - {d.source};" for d in removed)
        if changed:
            out.append(f"\nchanged {label}:")
            for od, nd, delta in changed:
                out.append(f"  ~ {nd.name}")
                out.extend(f"      {line}" for line in delta)
    sys.stdout.write("\n".join(out) + "\n")
    return 0


def _definition_delta(od, nd):
    """Lines describing how a definition changed (id, params, result), or []."""
    lines = []
    if od.id != nd.id:
        lines.append(f"id 0x{od.id:08x} -> 0x{nd.id:08x}")
    op = {p.name: p for p in od.params}
    np_ = {p.name: p for p in nd.params}
    for name, p in np_.items():
        if name not in op:
            lines.append(f"+ {p}")
        elif _param_key(op[name]) != _param_key(p):
            lines.append(f"~ {op[name]} -> {p}")
    for name, p in op.items():
        if name not in np_:
            lines.append(f"- {p}")
    common_old = [n for n in op if n in np_]
    common_new = [n for n in np_ if n in op]
    if common_old != common_new:
        lines.append("params reordered: " + " ".join(common_new))
    if str(od.type) != str(nd.type):
        lines.append(f"result {od.type} -> {nd.type}")
    if od.generics != nd.generics:
        lines.append(f"generics {list(od.generics)} -> {list(nd.generics)}")
    return lines


# serve ----------------------------------------------------------------------------------
def cmd_serve(args):
    import asyncio
    import logging

    from . import BACKEND, testing

    schemas = [_serve_schema(given) for given in args.schema or ["telethon:"]]
    if not 0 <= args.port < 65536:
        raise CLIError(f"--port {args.port}: not a TCP port")
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")

    async def serve():
        try:
            server = testing.Server(schemas, port=args.port)
        except ValueError as exc:
            raise CLIError(str(exc)) from None
        bots = []
        for token in args.bot:
            try:
                bots.append(server.add_bot(token))
            except ValueError as exc:
                raise CLIError(str(exc)) from None
        alice = server.add_user("Alice", username="alice", phone="15550001")
        for bot in bots:
            server.prepare_history(bot, alice, args.history)
        try:
            await server.start()
        except OSError as exc:
            raise CLIError(f"cannot listen on 127.0.0.1:{args.port}: {exc.strerror or exc}") from None
        layers = ", ".join(map(str, server.schemas))
        print(f"tlfast.testing server on 127.0.0.1:{server.port} "
              f"(layer{'s' if len(schemas) > 1 else ''} {layers}, "
              f"DC {server.dc_id}, tlfast {BACKEND})")
        print(f"RSA key fingerprint {server.rsa_key.fingerprint} (tlfast.testing.test_rsa_key())")
        print(f"user alice: phone +15550001, login code {server.login_code}; bots: "
              + (", ".join(args.bot) or "any '<id>:<secret>' token"))
        sys.stdout.flush()
        try:
            await asyncio.Event().wait()
        finally:
            await server.stop()

    asyncio.run(serve())
    return 0


def _serve_schema(given):
    if given == "pyrogram:":
        from . import pyrogram

        try:
            return pyrogram.schema()
        except ImportError as exc:
            raise CLIError(f"pyrogram: is Pyrogram's layer, but it is not installed ({exc})") from None
    if given == "bundled:":
        from . import schemas

        return schemas.api
    return _load_schema(given)


# stubs ----------------------------------------------------------------------------------
def cmd_stubs(args):
    from . import TLError, _stubgen

    if args.bundled == bool(args.schema):
        raise CLIError("give a SCHEMA.tl, or --bundled")
    if args.bundled:
        if args.name:
            raise CLIError("--bundled names its own files (_api.pyi, _mtproto.pyi)")
        out_dir = args.output or os.path.dirname(os.path.abspath(__file__))
        texts = _stubgen.bundled()
    else:
        out_dir = args.output or "."
        name = args.name or re.sub(r"\W", "_", os.path.splitext(os.path.basename(args.schema))[0])
        if not name.isidentifier():
            raise CLIError(f"{name!r} is not a Python module name; give --name")
        how = f" {os.path.basename(args.schema)} -o DIR" + (f" --name {args.name}" if args.name else "")
        if args.dialect != "telegram":
            how += f" --dialect {args.dialect}"
        schema = _load_schema(args.schema, args.dialect)
        try:
            texts = {name + ".pyi": _stubgen.generate(
                schema, f"the schema {os.path.basename(args.schema)}", how)}
        except (_stubgen.StubError, TLError) as exc:
            raise CLIError(str(exc)) from None
    for file_name, text in texts.items():
        path = os.path.join(out_dir, file_name)
        try:
            os.makedirs(out_dir, exist_ok=True)
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
        except OSError as exc:
            raise CLIError(f"cannot write {path}: {exc.strerror or exc}") from None
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())

