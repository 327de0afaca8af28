"""The library's import graph: no cycle, no import of the applications.

The graph is read from the source with `ast` (nothing is imported), so the
test is fast and sees every import statement, including those inside
functions (a deferred import that closes a cycle is still a cycle between
the two modules). An edge goes from a module to the most specific
`keras_seq` module it names: `from keras_seq.models.bert import checkpoint`
is an edge to `keras_seq.models.bert.checkpoint`, `from keras_seq.layers
import LuongAttention` an edge to `keras_seq.layers` (its `__init__`).
"""

import ast
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = "keras_seq"
# Top-level packages the library must never import: the TFX pipeline, the
# serving code, TFX itself, and the applications built on the library.
FORBIDDEN = (
    "pipelines",
    "serving",
    "tfx",
    "tensorflow_transform",
    "keras_seq_apps",
)


def module_files(root=ROOT, package=PACKAGE):
    """`{dotted module name: path}` of every `.py` file of `package`."""
    modules = {}
    for directory, _, files in os.walk(os.path.join(root, package)):
        for name in files:
            if not name.endswith(".py"):
                continue
            path = os.path.join(directory, name)
            parts = os.path.relpath(path, root)[: -len(".py")].split(os.sep)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            modules[".".join(parts)] = path
    return modules


def imported_names(tree, module, is_package):
    """Absolute names of everything a module imports.

    `from a.b import c` yields both `a.b.c` and `a.b` (`c` may be a module
    or a name defined in `a.b`); the caller keeps the one that exists.
    Also yields the string argument of `importlib.import_module("...")` and
    `__import__("...")` calls written with a literal.
    """
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield (alias.name,)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            yield tuple(f"{base}.{alias.name}" for alias in node.names) + (
                base,
            )
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            name = getattr(func, "attr", None) or getattr(func, "id", None)
            first = node.args[0]
            if (
                name in ("import_module", "__import__")
                and isinstance(first, ast.Constant)
                and isinstance(first.value, str)
            ):
                yield (first.value,)


def import_graph(root=ROOT, package=PACKAGE):
    """`(edges, external)`: edges between the package's modules, and every
    imported name per module (to check for forbidden packages)."""
    modules = module_files(root, package)
    edges = {name: set() for name in modules}
    external = {name: set() for name in modules}
    for module, path in modules.items():
        with open(path, encoding="utf-8") as f:
            tree = ast.parse(f.read(), filename=path)
        is_package = path.endswith("__init__.py")
        for candidates in imported_names(tree, module, is_package):
            external[module].update(candidates)
            # From `from a.b import c`: the module `a.b.c` when it exists,
            # else the package `a.b` that defines the name.
            for name in candidates:
                if name in modules:
                    if name != module:
                        edges[module].add(name)
                    break
    return edges, external


def find_cycles(edges):
    """Every strongly connected component with more than one module (or a
    module importing itself), as sorted lists; empty when acyclic."""
    index, low, on_stack, stack, cycles = {}, {}, set(), [], []
    counter = [0]

    def visit(node):
        # Tarjan's algorithm, iteratively (no recursion limit on deep trees).
        work = [(node, iter(sorted(edges[node])))]
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        while work:
            current, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter[0]
                    counter[0] += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges[child]))))
                elif child in on_stack:
                    low[current] = min(low[current], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[current])
            if low[current] == index[current]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == current:
                        break
                if len(component) > 1 or current in edges[current]:
                    cycles.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return cycles


def test_find_cycles_on_small_graphs():
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": set()}) == []
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [
        ["a", "b", "c"]
    ]
    assert find_cycles({"a": {"a"}}) == [["a"]]
    two = find_cycles({"a": {"b"}, "b": {"a"}, "c": {"d"}, "d": {"c"}})
    assert sorted(two) == [["a", "b"], ["c", "d"]]


def test_deferred_and_relative_imports_are_edges(tmp_path):
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "sub" / "__init__.py").write_text("from .a import A\n")
    (package / "sub" / "a.py").write_text(
        "A = 1\n\ndef load():\n    from pkg.sub import b\n    return b\n"
    )
    (package / "sub" / "b.py").write_text("from pkg.sub.a import A\n")
    edges, _ = import_graph(str(tmp_path), "pkg")
    assert edges["pkg.sub"] == {"pkg.sub.a"}
    assert edges["pkg.sub.a"] == {"pkg.sub.b"}
    assert find_cycles(edges) == [["pkg.sub.a", "pkg.sub.b"]]


def test_library_has_no_import_cycle():
    edges, _ = import_graph()
    assert len(edges) > 50  # the walk found the library
    assert "keras_seq.models.bert.bert_encoder" in edges
    cycles = find_cycles(edges)
    assert cycles == [], f"import cycles in keras_seq: {cycles}"


@pytest.mark.parametrize("forbidden", FORBIDDEN)
def test_library_does_not_import_applications_or_pipelines(forbidden):
    _, external = import_graph()
    offenders = sorted(
        module
        for module, names in external.items()
        if any(
            name == forbidden or name.startswith(forbidden + ".")
            for name in names
        )
    )
    assert offenders == [], f"{offenders} import {forbidden}"
