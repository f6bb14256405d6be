"""Sphinx configuration of tlfast's documentation site (docs/contributing.md says how to build it).

Pages are Markdown (MyST). The API reference (api.md) is generated: each name's text is
its docstring in the code, and its signature is the one in the typed stubs that tlfast
ships (tlfast/*.pyi, which tests/test_stubs.py checks against the running package), so
nothing is written twice. The build needs no network: no intersphinx, no remote images.
"""

import ast
import copy
import inspect
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # a source checkout without an install still imports

import tlfast  # noqa: E402

project = "tlfast"
author = "the tlfast authors"
copyright = "the tlfast authors"  # noqa: A001 (Sphinx's name)
release = version = tlfast.__version__

extensions = ["myst_parser", "sphinx.ext.autodoc"]
source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build"]
myst_heading_anchors = 3  # [text](page.md#a-heading) links, checked at build time
myst_enable_extensions = ["colon_fence"]

html_theme = "furo"
html_title = f"tlfast {release}"
html_static_path = []
html_show_sourcelink = False
pygments_style = "default"

autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_default_options = {"undoc-members": False}
nitpicky = False  # stub annotations name private aliases (_Buffer): not link targets


# Signatures from the shipped stubs --------------------------------------------------------
# {dotted name: [ast.FunctionDef, ...]} for every def in tlfast/*.pyi (several for an
# @overload), with the stub module's private aliases (_Buffer = Union[...]) spelled out.
STUB_MODULES = {
    "tlfast": "__init__.pyi",
    "tlfast.errors": "errors.pyi",
    "tlfast._model": "_model.pyi",
}


class _InlineAliases(ast.NodeTransformer):
    def __init__(self, aliases):
        self.aliases = aliases

    def visit_Name(self, node):
        return self.aliases.get(node.id, node)


def _stub_index():
    index = {}
    for module, filename in STUB_MODULES.items():
        tree = ast.parse((ROOT / "tlfast" / filename).read_text(encoding="utf-8"))
        assigns = [(node.targets[0].id, node.value) for node in tree.body
                   if isinstance(node, ast.Assign) and len(node.targets) == 1
                   and isinstance(node.targets[0], ast.Name)]
        # a public name for a private import first (mtproto = _mtproto_api), then the
        # private aliases in order (not TypeVar("_T"): a call)
        aliases = {value.id: ast.Name(f"{module}.{name}") for name, value in assigns
                   if not name.startswith("_") and isinstance(value, ast.Name)
                   and value.id.startswith("_")}
        for name, value in assigns:
            if name.startswith("_") and not isinstance(value, ast.Call):
                aliases[name] = _InlineAliases(aliases).visit(value)
        inline = _InlineAliases(aliases)

        def walk(body, prefix):
            for node in body:
                if isinstance(node, ast.ClassDef):
                    walk(node.body, f"{prefix}.{node.name}")
                elif isinstance(node, ast.FunctionDef):
                    index.setdefault(f"{prefix}.{node.name}", []).append(inline.visit(node))

        walk(tree.body, module)
    return index


def _render(fn, drop_self, runtime):
    """``(args)`` and the return annotation of a stub def; a default the stub leaves as
    ``...`` is the running function's own (DEFAULT_MAX_DEPTH is 64)."""
    if runtime is not None:
        fn = copy.deepcopy(fn)
        a = fn.args
        for arg, default in [*zip(a.args[len(a.args) - len(a.defaults):], a.defaults),
                             *zip(a.kwonlyargs, a.kw_defaults)]:
            param = runtime.parameters.get(arg.arg)
            if (isinstance(default, ast.Constant) and default.value is Ellipsis
                    and param is not None and param.default is not param.empty):
                default.value = param.default
    args = ast.unparse(fn.args)
    if drop_self and args.split(",")[0].strip() in ("self", "cls"):
        args = args.partition(",")[2].strip()
    returns = ast.unparse(fn.returns) if fn.returns is not None else None
    return f"({args})", returns


STUBS = _stub_index()


def _stub_signature(app, what, name, obj, options, signature, return_annotation):
    if what not in ("function", "method", "class"):
        return None
    key = f"{name}.__init__" if what == "class" else name
    # tlfast.Reader is the active engine's class; its stub is tlfast.Reader all the same.
    defs = [d for d in STUBS.get(key, []) if not _is_property(d)]
    if not defs:
        return None
    try:
        runtime = inspect.signature(obj)
    except (TypeError, ValueError):
        runtime = None
    rendered = [_render(d, True, runtime) for d in defs]
    if what == "class":
        return rendered[-1][0], None
    *first, (args, returns) = rendered
    # several overloads: one signature line each (autodoc puts the name before each line)
    lines = [a + (f" -> {r}" if r else "") for a, r in first] + [args]
    return "\n".join(lines), returns


def _is_property(fn):
    return any(isinstance(d, ast.Name) and d.id == "property" for d in fn.decorator_list)


def setup(app):
    app.connect("autodoc-process-signature", _stub_signature)
    return {"parallel_read_safe": True}

