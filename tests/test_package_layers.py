"""The packages of app/ keep to one dependency order (ARCHITECTURE.md, "Package layers").

Every import in app/ — at module level or inside a function, ``TYPE_CHECKING`` ones too — is
read with ``ast``. A package may import only packages in lower layers (and the base modules);
packages of one layer do not import each other; nothing imports the composition root. A
layer order has no cycles, so this also fails on any cycle between packages. A new package
fails until it is placed here and in ARCHITECTURE.md.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "app"
ARCHITECTURE = ROOT / "ARCHITECTURE.md"

# Lowest first. Each package may import the packages of the layers before its own.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("core",),
    ("adapters",),
    ("practice",),
    ("web",),
    ("security",),
    ("patients",),
    ("messaging",),
    ("scheduling",),
    ("intake", "billing"),
    ("journeys",),
    ("inbox",),
    ("fhir",),
    ("jobs", "demo"),
    ("setup", "record", "auditlog", "home", "ops"),
)
# Below every package: settings and extension objects; they import nothing from app/.
BASE = frozenset({"config", "extensions"})
# Above every package: the application factory and the command groups; nothing imports them.
COMPOSITION_ROOT = frozenset({"app", "cli"})

LAYER_OF = {package: index for index, layer in enumerate(LAYERS) for package in layer}


@dataclass(frozen=True)
class Import:
    source: str  # the importing unit: a package, a base module or a composition-root module
    target: str
    where: str  # file:line

    def __str__(self) -> str:
        return f"{self.where}: {self.source} imports {self.target}"


def _unit(module: str) -> str | None:
    """``app.messaging.policy`` → ``messaging``; ``app`` → ``app``; not ours → None."""
    parts = module.split(".")
    if parts[0] != "app":
        return None
    return parts[1] if len(parts) > 1 else "app"


def _module_name(path: Path) -> tuple[str, list[str]]:
    """The dotted name of a file and the package its relative imports start from."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
        return ".".join(parts), parts
    return ".".join(parts), parts[:-1]


def _targets(node: ast.AST, package: list[str]) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if not isinstance(node, ast.ImportFrom):
        return []
    if node.level:
        base = package[: len(package) - node.level + 1]
        module = ".".join([*base, node.module] if node.module else base)
    else:
        module = node.module or ""
    if module == "app":  # ``from app import messaging`` names a package; else the root
        return [f"app.{alias.name}" if (APP / alias.name).is_dir() else "app"
                for alias in node.names]
    return [module]


def app_imports() -> list[Import]:
    found = []
    for path in sorted(APP.rglob("*.py")):
        module, package = _module_name(path)
        source = _unit(module)
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            for target in _targets(node, package):
                unit = _unit(target)
                if unit is not None and unit != source:
                    found.append(Import(source, unit, f"{path.relative_to(ROOT)}:{node.lineno}"))
    return found


def packages() -> set[str]:
    return {path.parent.name for path in APP.glob("*/__init__.py")}


def _allowed(edge: Import) -> bool:
    if edge.target in COMPOSITION_ROOT:
        return edge.source in COMPOSITION_ROOT
    if edge.source in COMPOSITION_ROOT:
        return True
    if edge.source in BASE:
        return False
    if edge.target in BASE:
        return True
    return LAYER_OF[edge.target] < LAYER_OF[edge.source]


def test_every_package_has_a_layer():
    placed = set(LAYER_OF) | BASE | COMPOSITION_ROOT
    unplaced = sorted(packages() - placed)
    assert not unplaced, f"place these packages in LAYERS and ARCHITECTURE.md: {unplaced}"
    assert not sorted(set(LAYER_OF) - packages()), "LAYERS names a package app/ no longer has"


def test_each_package_imports_only_lower_layers():
    wrong = [str(edge) for edge in app_imports() if not _allowed(edge)]
    assert not wrong, "imports against the layer order (ARCHITECTURE.md):\n" + "\n".join(wrong)


def test_the_check_sees_imports_at_every_level():
    """The reader finds function-level and relative imports, so the rule above can fail."""
    found = app_imports()
    edges = {(edge.source, edge.target) for edge in found}
    assert ("app", "web") in edges  # inside create_app's helper
    assert any(re.fullmatch(r"app/__init__\.py:\d+: app imports web", str(edge)) for edge in found)
    assert ("messaging", "patients") in edges
    assert not _allowed(Import("messaging", "scheduling", "example.py:1"))
    assert not _allowed(Import("home", "setup", "example.py:1"))  # one layer: no edges


def test_architecture_lists_the_layers_in_order():
    section = ARCHITECTURE.read_text().split("## Package layers", 1)[1].split("\n## ", 1)[0]
    listed = re.findall(r"^\| (\d+) \| ([a-z, ]+) \|", section, flags=re.M)
    assert [tuple(name.strip() for name in names.split(",")) for _, names in listed] == list(
        LAYERS)
