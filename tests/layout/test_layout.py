"""The code's shape: one import name, rooms that say what they hold, no import circles, small modules."""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE_DIRS = {"fmtui": ROOT / "fmtui", "fmtui.core": ROOT / "core", "fmtui.tui": ROOT / "tui",
                "fmtui.presets": ROOT / "presets"}
MAX_LINES = 300


def _modules() -> dict[str, Path]:
    """Every module of fmtui, by dotted name, from the folders package-dir maps."""
    found = {}
    for prefix, folder in PACKAGE_DIRS.items():
        for path in folder.rglob("*.py"):
            parts = list(path.relative_to(folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join([prefix, *parts])] = path
    return found


MODULES = _modules()


def _imports(name: str, path: Path) -> set[str]:
    """The fmtui modules ``name`` imports anywhere: at the top, inside functions, and for type hints only."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            for alias in node.names:
                targets.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base)
    return {t for t in targets if t in MODULES and t != name}


def test_the_source_tree_maps_onto_the_one_import_name():
    """pyproject's package-dir and packages list every package of the tree under fmtui, and nothing else."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert {k: ROOT / v for k, v in config["package-dir"].items()} == PACKAGE_DIRS
    packages = sorted(name for name, path in MODULES.items() if path.name == "__init__.py")
    assert sorted(config["packages"]) == packages
    assert "fmtui.presets" in packages and config["package-data"]["fmtui.presets"] == ["*.toml"]


def test_every_room_says_what_it_holds():
    """Each package and module opens with a docstring."""
    missing = [name for name, path in MODULES.items() if not ast.get_docstring(ast.parse(path.read_text()))]
    assert missing == []


def test_no_import_circles():
    """No module reaches itself through imports, counting those made inside functions and for type hints."""
    graph = {name: _imports(name, path) for name, path in MODULES.items()}
    circles, done = [], set()

    def visit(name: str, trail: list[str]) -> None:
        if name in trail:
            circles.append(trail[trail.index(name):] + [name])
            return
        if name in done:
            return
        for target in sorted(graph[name]):
            visit(target, [*trail, name])
        done.add(name)

    for name in sorted(graph):
        visit(name, [])
    assert circles == []


def test_the_engine_never_imports_a_face():
    """Arrows point down: nothing in fmtui.core imports fmtui.tui."""
    upward = {name: sorted(t for t in _imports(name, path) if t.startswith("fmtui.tui"))
              for name, path in MODULES.items() if name.startswith("fmtui.core")}
    assert {k: v for k, v in upward.items() if v} == {}


def test_no_module_is_over_300_lines():
    """Modules stay small enough to read in one sitting."""
    long = {name: n for name, path in MODULES.items() if (n := len(path.read_text().splitlines())) > MAX_LINES}
    assert long == {}


def test_no_source_imports_the_old_top_level_names():
    """`core` and `tui` are folders, not import names: every import says fmtui."""
    wrong = []
    for folder in ("core", "tui", "fmtui", "tests", "bench"):
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                         [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else [])
                wrong += [f"{path.relative_to(ROOT)}: {n}" for n in names if n.split(".")[0] in ("core", "tui")]
    assert wrong == []


@pytest.mark.timeout(300)
def test_a_wheel_installs_one_import_name_with_its_presets(tmp_path):
    """The built wheel holds fmtui/ alone at its top (with the presets as package data), and runs as
    `python -m fmtui` from a directory outside the source tree."""
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                            "-w", str(tmp_path), str(ROOT)], capture_output=True, text=True, timeout=240)
    assert build.returncode == 0, build.stderr
    (wheel,) = tmp_path.glob("fmtui-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")} == {"fmtui"}
    assert "fmtui/presets/tinyvgg.toml" in names and "fmtui/core/engine/trainer.py" in names
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    listed = subprocess.run([sys.executable, "-m", "fmtui", "presets"], cwd=tmp_path, capture_output=True,
                            text=True, timeout=120, env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"})
    assert listed.returncode == 0, listed.stderr
    assert "tinyvgg" in listed.stdout and str(site / "fmtui" / "presets") in listed.stdout.replace("\n", "")
