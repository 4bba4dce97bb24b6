"""Size limits that keep the code readable: no module in app/ over 400 lines, no Flask view
(a function decorated with a blueprint's route) over 30 lines. Each offender is named."""

from __future__ import annotations

import ast
from pathlib import Path

APP = Path(__file__).resolve().parent.parent / "app"
MAX_MODULE_LINES = 400
MAX_VIEW_LINES = 30
_ROUTE_METHODS = {"route", "get", "post", "put", "patch", "delete"}


def _modules() -> list[Path]:
    return sorted(APP.rglob("*.py"))


def _blueprints(tree: ast.Module) -> set[str]:
    """Names bound at module level to ``Blueprint(...)``."""
    names = set()
    for node in tree.body:
        if (isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)
                and getattr(node.value.func, "id", getattr(node.value.func, "attr", None))
                == "Blueprint"):
            names |= {target.id for target in node.targets if isinstance(target, ast.Name)}
    return names


def _is_route(decorator: ast.expr, blueprints: set[str]) -> bool:
    return (isinstance(decorator, ast.Call) and isinstance(decorator.func, ast.Attribute)
            and decorator.func.attr in _ROUTE_METHODS
            and isinstance(decorator.func.value, ast.Name)
            and decorator.func.value.id in blueprints)


def _views(path: Path) -> list[tuple[str, int]]:
    """Every view function in ``path`` with its length (``def`` line to last line)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    blueprints = _blueprints(tree)
    return [(node.name, node.end_lineno - node.lineno + 1)
            for node in ast.walk(tree)
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            and any(_is_route(d, blueprints) for d in node.decorator_list)]


def _relative(path: Path) -> str:
    return path.relative_to(APP.parent).as_posix()


def test_the_walk_finds_modules_and_views() -> None:
    """Guards the test itself: it must see the app's modules and its blueprint views."""
    modules = _modules()
    assert len(modules) > 50
    assert sum(len(_views(path)) for path in modules) > 40


def test_no_module_in_app_is_over_400_lines() -> None:
    too_long = [f"{_relative(path)}: {lines} lines" for path in _modules()
                if (lines := len(path.read_text(encoding="utf-8").splitlines()))
                > MAX_MODULE_LINES]
    assert not too_long, f"modules over {MAX_MODULE_LINES} lines:\n" + "\n".join(too_long)


def test_no_view_is_over_30_lines() -> None:
    too_long = [f"{_relative(path)}::{name}: {lines} lines" for path in _modules()
                for name, lines in _views(path) if lines > MAX_VIEW_LINES]
    assert not too_long, f"views over {MAX_VIEW_LINES} lines:\n" + "\n".join(too_long)
