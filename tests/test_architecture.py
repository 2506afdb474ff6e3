"""The package's layering, read from its source: every import (deferred ones inside
functions included) forms a graph without cycles, the torch layer imports nothing of the
package outside it, and the model files reach the estimator classes only through the
registry."""

import ast
from pathlib import Path

import pytest

import sk_plstm
from sk_plstm._registry import loadable_classes

PACKAGE = Path(sk_plstm.__file__).parent


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, name: str | None = None) -> set[str]:
    """The package modules one file (module ``name``) imports, anywhere in it."""
    name = name or _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("sk_plstm"))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            elif node.module and node.module.startswith("sk_plstm"):
                target = node.module
            else:
                continue
            found.add(target)
            for alias in node.names:  # "from . import x" imports the module x
                where = PACKAGE.parent / Path(*f"{target}.{alias.name}".split("."))
                if where.with_suffix(".py").exists() or (where / "__init__.py").exists():
                    found.add(f"{target}.{alias.name}")
    found.discard(name)
    return found


GRAPH = {_module_name(p): _imports(p) for p in PACKAGE.rglob("*.py")}


def _parents(module: str) -> list[str]:
    parts = module.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def test_the_import_graph_has_no_cycle():
    # importing a module runs its packages' __init__ first, which is not an edge of its own
    edges = {m: {t for t in targets if t not in _parents(m)} for m, targets in GRAPH.items()}
    state: dict[str, str] = {}

    def visit(module, path):
        state[module] = "open"
        for target in sorted(edges.get(module, ())):
            if state.get(target) == "open":
                cycle = path[path.index(target) :] + [target]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if target not in state:
                visit(target, path + [target])
        state[module] = "done"

    for module in sorted(edges):
        if module not in state:
            visit(module, [module])


def test_the_torch_layer_imports_nothing_of_the_package_outside_it():
    for module, targets in GRAPH.items():
        if module.startswith("sk_plstm.nn"):
            outside = {t for t in targets if not t.startswith("sk_plstm.nn")}
            assert not outside, f"{module} imports {outside}"


def test_model_files_name_only_registered_classes():
    assert set(loadable_classes("estimator")) == {"PhasedLSTMClassifier", "PhasedLSTMRegressor"}
    assert not any("_classifier" in t or "_regressor" in t for t in GRAPH["sk_plstm._persistence"])


def test_the_graph_reader_sees_deferred_and_relative_imports(tmp_path):
    source = tmp_path / "probe.py"
    source.write_text(
        "def f():\n    from ._classifier import PhasedLSTMClassifier\n"
        "    from . import _data\n    from .nn import backends\n"
    )
    found = _imports(source, "sk_plstm._probe")
    assert {"sk_plstm._classifier", "sk_plstm._data", "sk_plstm.nn.backends"} <= found
