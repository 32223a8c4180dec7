"""The layout's import rules (ARCHITECTURE.md) hold: the import-linter contracts of pyproject.toml are kept, the
contracts do catch an import against the layers, and no modules (the CLI's among them) import each other in a
circle."""

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

grimp = pytest.importorskip("grimp", reason="import-linter is a dev dependency (pip install -e '.[dev]')")

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = shutil.which("lint-imports", path=os.pathsep.join([str(Path(sys.executable).parent),
                                                                    os.environ.get("PATH", "")]))
SUBPACKAGES = sorted(path.parent.name for path in (ROOT / "pipeline").glob("*/__init__.py"))


def _lint_imports(cwd: Path, pythonpath: Path) -> subprocess.CompletedProcess:
    if LINT_IMPORTS is None:
        pytest.skip("lint-imports is not installed (import-linter, a dev dependency)")
    env = {**os.environ, "PYTHONPATH": str(pythonpath)}
    return subprocess.run([LINT_IMPORTS, "--no-cache"], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=300)


def _config() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]


def test_the_import_contracts_are_kept():
    done = _lint_imports(ROOT, ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


def test_every_subpackage_is_a_layer_and_is_in_architecture_md():
    layers = next(contract for contract in _config()["contracts"] if contract["id"] == "layers")["layers"]
    assert sorted(layer.removeprefix("pipeline.") for layer in layers) == SUBPACKAGES
    architecture = (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")
    for name in SUBPACKAGES:
        assert re.search(rf"^\| `pipeline/{name}/` \|", architecture, re.M), f"pipeline/{name}/ not in ARCHITECTURE.md"
    # The diagram lists the layers in the contract's order, top first.
    diagram = [line.split()[0] for line in architecture.splitlines() if re.match(r"^pipeline/[a-z]+ ", line)]
    assert diagram == [layer.replace(".", "/") for layer in layers]


def test_the_contracts_catch_an_import_against_the_layers(tmp_path):
    """The same contracts over a skeleton of the tree with one import upwards (reading → cli): broken."""
    for package in ["pipeline", "extractors", "tiltak", "models",
                    *(f"pipeline/{name}" for name in SUBPACKAGES)]:
        (tmp_path / package).mkdir(parents=True, exist_ok=True)
        (tmp_path / package / "__init__.py").write_text("", encoding="utf-8")
    for base in ["config", "errors", "schema", "io", "rule_patterns"]:
        (tmp_path / "pipeline" / f"{base}.py").write_text("", encoding="utf-8")
    (tmp_path / "pipeline" / "cli" / "console.py").write_text("", encoding="utf-8")
    (tmp_path / "pipeline" / "reading" / "source.py").write_text(
        "def late():\n    from pipeline.cli import console\n    return console\n", encoding="utf-8")
    contracts = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    config = contracts[contracts.index("[tool.importlinter]"):contracts.index("[tool.ruff]")]
    (tmp_path / "pyproject.toml").write_text(config, encoding="utf-8")

    done = _lint_imports(tmp_path, tmp_path)

    assert done.returncode != 0
    assert "pipeline.reading.source -> pipeline.cli.console" in done.stdout
    assert "1 broken" in done.stdout


def _cli_graph():
    graph = grimp.build_graph("pipeline", cache_dir=None)
    modules = {name for name in graph.find_descendants("pipeline.cli")}
    return graph, modules


def test_no_cli_module_imports_the_package_init():
    graph, modules = _cli_graph()
    assert not graph.find_modules_that_directly_import("pipeline.cli") & modules


def _assert_no_circle(imports: dict[str, set[str]]) -> None:
    done, on_path = set(), []

    def visit(module: str) -> None:
        on_path.append(module)
        for imported in sorted(imports[module]):
            assert imported not in on_path, "import circle: " + " → ".join([*on_path, imported])
            if imported not in done:
                visit(imported)
        on_path.pop()
        done.add(module)

    for module in sorted(imports):
        if module not in done:
            visit(module)


def test_no_import_circles_among_the_cli_modules():
    graph, modules = _cli_graph()
    imports = {module: graph.find_modules_directly_imported_by(module) & modules for module in modules}
    assert imports["pipeline.cli.main"] >= {"pipeline.cli.run", "pipeline.cli.group"}  # the graph is the real one
    _assert_no_circle(imports)


def test_no_import_circles_anywhere_in_pipeline():
    """Imports inside functions count too: a late import is still a dependency of the module that makes it."""
    graph = grimp.build_graph("pipeline", cache_dir=None)
    modules = set(graph.modules)
    imports = {module: graph.find_modules_directly_imported_by(module) & modules for module in modules}
    assert "pipeline.reading.loaders.limits" in imports["pipeline.reading.loaders.pdf"]  # the graph is the real one
    _assert_no_circle(imports)
