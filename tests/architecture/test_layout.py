"""The folders tell the architecture, and these checks keep them telling it: faces hold
faces only, imports point downward, the domain never asks which engine it runs on, and no
module grows past what one reader can hold."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import scimitar

SRC = Path(scimitar.__file__).parent
MAX_LINES = 600

#: Lower layers never import higher ones. `config` reads the environment for the commands
#: and the app; `client` and `webhooks` are the public library a host product imports.
LAYERS = {
    "protocol": 0,
    "storage": 1,
    "domain": 2,
    "config": 3,
    "runtime": 3,
    "faces": 4,
}


def _modules() -> Iterator[tuple[str, Path]]:
    for path in sorted(SRC.rglob("*.py")):
        relative = path.relative_to(SRC)
        if "migrations" in relative.parts:
            continue
        yield ".".join(("scimitar", *relative.with_suffix("").parts)), path


def _imports(path: Path) -> Iterator[str]:
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
            for alias in node.names:
                yield f"{node.module}.{alias.name}"
        elif isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)


def _layer(module: str) -> int | None:
    parts = module.split(".")
    if parts[0] != "scimitar" or len(parts) < 2:
        return None
    return LAYERS.get(parts[1])


def test_faces_top_level_holds_only_the_app_and_the_cli() -> None:
    """faces/ holds the faces (scim, admin, console, and web, what admin and console
    share) plus the app and the CLI; runtime lives elsewhere."""
    faces = SRC / "faces"
    names = {p.stem for p in faces.iterdir() if p.suffix == ".py" or (p / "__init__.py").exists()}
    assert names <= {"__init__", "app", "cli", "scim", "admin", "console", "web"}, names


def test_no_console_module_imports_the_admin_api() -> None:
    """What the console shares with the admin API lives in faces/web, not in faces/admin."""
    for module, path in _modules():
        if module.startswith("scimitar.faces.console"):
            found = [m for m in _imports(path) if m.startswith("scimitar.faces.admin")]
            assert not found, (module, found)


def test_imports_point_downward() -> None:
    """faces → runtime/config → domain → storage → protocol: nothing imports a layer above."""
    for module, path in _modules():
        own = _layer(module)
        if own is None:
            continue
        for imported in _imports(path):
            theirs = _layer(imported)
            assert theirs is None or theirs <= own, f"{module} imports {imported}"


def test_the_domain_never_asks_which_engine_it_runs_on() -> None:
    """Engine differences (locks, upserts) live in storage: no dialect in the domain."""
    for module, path in _modules():
        if module.startswith("scimitar.domain"):
            text = path.read_text()
            assert "dialect" not in text, module
            assert "sqlalchemy.dialects" not in text, module


def test_configuration_is_read_in_config_only() -> None:
    """The domain and storage never read the environment: config.py does, once, and
    passes settings down."""
    for module, path in _modules():
        if module.startswith(("scimitar.domain", "scimitar.storage")):
            assert "os.environ" not in path.read_text(), module


def test_the_domain_shows_its_concepts() -> None:
    """The domain is sub-packages named for its concepts, with a handful of loose modules."""
    loose = {p.stem for p in (SRC / "domain").glob("*.py")} - {"__init__"}
    assert len(loose) <= 5, loose
    packages = {p.name for p in (SRC / "domain").iterdir() if (p / "__init__.py").exists()}
    assert {"directory", "access", "identity", "events", "records"} <= packages


def test_no_module_over_600_lines() -> None:
    """Every module fits one reader: at most 600 lines."""
    too_long = {
        module: n
        for module, path in _modules()
        if (n := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert not too_long, too_long


def test_no_module_is_named_like_a_table_it_imports() -> None:
    """A domain module is named for what it does, never like a table it reads."""
    from scimitar.storage import tables

    table_names = set(tables.metadata.tables)
    for module, path in _modules():
        if not module.startswith("scimitar.domain"):
            continue
        name = module.rsplit(".", 1)[1]
        imported = {m.rsplit(".", 1)[1] for m in _imports(path) if "storage.tables" in m}
        assert name not in (table_names & imported), module
