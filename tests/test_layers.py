"""The package is layered: no import cycles, and each module uses only what it says it may.

Every ``import`` of a tlfast module counts, at module level or inside a function (an import
hidden in a function is still a dependency, only a later one). The Cython engine's
``.pyx``/``.pxi`` count as the module ``tlfast._codec_cy``. Each module's docstring ends
with a ``May use:`` line naming the tlfast modules it may import; the table of layers in
``tlfast/__init__.py`` orders them. The tests check that the imports stay within the
``May use:`` lines, that those lines only point to lower layers, that no module imports by
a computed name (which would hide an edge), and that the graph has no cycle.

``python tests/test_layers.py`` prints the import graph (``--dot`` for Graphviz).
"""

import ast
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PKG = ROOT / "tlfast"
SRC = ROOT / "src" / "tlfast"  # Cython sources: each .pyx with the .pxi files it includes

_MAY_USE = re.compile(r"^\s*(?:#\s*)?May use:\s*(.*?)\.?\s*$", re.M)
_CY_IMPORT = re.compile(r"^\s*(?:from\s+(tlfast[\w.]*)\s+import\s+([\w ,]+)|import\s+(tlfast[\w.]*))",
                        re.M)


def module_files():
    """{dotted module name: source path} of every module of the package."""
    out = {}
    for path in sorted(PKG.rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    for path in sorted(SRC.glob("*.pyx")):
        out["tlfast." + path.stem] = path
    return out


def cython_sources(pyx):
    """``pyx`` and the ``.pxi`` files it includes."""
    text = pyx.read_text(encoding="utf-8")
    return [pyx] + [SRC / m for m in re.findall(r'^include\s+"([^"]+)"', text, re.M)]


def _target(modules, base, name):
    """``from base import name``: the submodule if there is one, else the module ``base``."""
    sub = f"{base}.{name}"
    return sub if sub in modules else base


def imports_of(modules, name):
    """The tlfast modules ``name`` imports, anywhere in its source: {module: first line}."""
    found = {}

    def add(target, line):
        if target != name and (target == "tlfast" or target.startswith("tlfast.")):
            # A dotted import names a module that is not ours only if it was mistyped.
            while target not in modules:
                target = target.rpartition(".")[0]
            found.setdefault(target, line)

    path = modules[name]
    if path.suffix == ".pyx":
        for path in cython_sources(path):
            text = path.read_text(encoding="utf-8")
            for m in _CY_IMPORT.finditer(text):
                line = f"{path.name}:{text.count(chr(10), 0, m.start()) + 1}"
                if m.group(3):
                    add(m.group(3), line)
                else:
                    for item in m.group(2).split(","):
                        add(_target(modules, m.group(1), item.split()[0]), line)
        return found
    is_package = path.name == "__init__.py"
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    in_function = {id(n) for f in ast.walk(tree)
                   if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))
                   for n in ast.walk(f)}
    for node in ast.walk(tree):
        where = f"{path.name}:{getattr(node, 'lineno', 0)}"
        if id(node) in in_function:
            where += " in a function"
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(alias.name, where)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = name.split(".")
                keep = len(parts) - node.level + (1 if is_package else 0)
                base = ".".join(parts[:keep] + ([node.module] if node.module else []))
            else:
                base = node.module
            for alias in node.names:
                add(_target(modules, base, alias.name), where)
    return found


def import_graph():
    modules = module_files()
    return {name: imports_of(modules, name) for name in modules}


def may_use(path):
    """The modules a module's opening docstring (or ``#`` comment) says it may use."""
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".py":
        doc = ast.get_docstring(ast.parse(text)) or ""
    else:  # a .pyx: its docstring follows the "# cython:" directives
        m = re.search(r'"""(.*?)"""', text, re.S)
        doc = m.group(1) if m else ""
    m = _MAY_USE.search(doc)
    if m is None:
        return None
    words = m.group(1).replace(",", " ").split()
    if words[:1] == ["nothing"]:
        return set()
    return {w if w == "tlfast" else "tlfast." + w.removeprefix("tlfast.") for w in words}


def layers():
    """The table in tlfast/__init__.py: [(layer number, [module names])], bottom first."""
    rows = []
    for line in (PKG / "__init__.py").read_text(encoding="utf-8").splitlines():
        m = re.match(r"#\s+(\d+)\s+([\w., ]+?)\s{2,}", line + "  ")
        if m:
            rows.append((int(m.group(1)), ["tlfast" if w == "tlfast" else "tlfast." + w
                                           for w in m.group(2).replace(",", " ").split()]))
    return rows


def find_cycle(graph):
    """One import cycle as [a, b, ..., a], or None."""
    state = {}  # module -> 1 while on the DFS stack, 2 when done
    stack = []

    def visit(node):
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                cycle = visit(nxt)
                if cycle:
                    return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


# --- tests ----------------------------------------------------------------------------
def test_no_import_cycle():
    graph = import_graph()
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(
        f"{a} ({graph[a][b]})" for a, b in zip(cycle, cycle[1:])) + f" -> {cycle[-1]}"


def test_imports_stay_within_may_use_lines():
    modules = module_files()
    problems = []
    for name, deps in import_graph().items():
        allowed = may_use(modules[name])
        if allowed is None:
            problems.append(f"{name}: its opening docstring has no 'May use: ...' line")
            continue
        problems += [f"{name} imports {dep} ({line}) but its 'May use:' line does not list it"
                     for dep, line in sorted(deps.items()) if dep not in allowed]
        problems += [f"{name}: 'May use:' names {dep}, which is not a tlfast module"
                     for dep in sorted(allowed - set(modules))]
    assert not problems, "\n".join(problems)


def test_no_import_by_computed_name():
    hidden = [f"{path.relative_to(ROOT)}:{text.count(chr(10), 0, m.start()) + 1}"
              for path in module_files().values()
              for text in [path.read_text(encoding="utf-8")]
              for m in re.finditer(r"\bimport_module\(|\b__import__\(", text)]
    assert not hidden, f"imports by computed name hide edges from this test: {hidden}"


def test_may_use_points_down_the_layer_table():
    modules = module_files()
    level = {}
    for number, names in layers():
        for n in names:
            level[n] = number
    missing = sorted(set(modules) - set(level))
    assert not missing, f"modules missing from the layer table in tlfast/__init__.py: {missing}"
    assert not set(level) - set(modules), set(level) - set(modules)
    upward = [f"{name} (layer {level[name]}) may use {dep} (layer {level[dep]})"
              for name in modules for dep in sorted(may_use(modules[name]) or ())
              if dep in level and level[dep] >= level[name]]
    assert not upward, "a module may only use lower layers:\n" + "\n".join(upward)


def test_the_walker_sees_function_level_and_cython_imports(tmp_path):
    # The checks above are only as good as the walker: it must see an import hidden in a
    # function and the Cython engine's Python-level imports (but not its cimports).
    graph = import_graph()
    assert "tlfast._codec_py" in graph["tlfast._backend"]  # inside load()
    assert "tlfast._codec_cy" in graph["tlfast._backend"]
    assert "tlfast._plans" in graph["tlfast._codec_cy"]
    assert find_cycle({"a": {"b": 1}, "b": {"c": 1}, "c": {"a": 1}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b": 1}, "b": {}}) is None


def main(argv):
    graph = import_graph()
    if "--dot" in argv:
        print("digraph tlfast {")
        for name, deps in sorted(graph.items()):
            for dep in sorted(deps):
                print(f'  "{name}" -> "{dep}";')
        print("}")
        return
    for name, deps in sorted(graph.items()):
        late = {d for d, line in deps.items() if "function" in line}
        shown = [d.removeprefix("tlfast.") + (" (in a function)" if d in late else "")
                 for d in sorted(deps)]
        print(f"{name:22} -> {', '.join(shown) or '-'}")
    cycle = find_cycle(graph)
    print("cycle:", " -> ".join(cycle) if cycle else "none")


if __name__ == "__main__":
    main(sys.argv[1:])
