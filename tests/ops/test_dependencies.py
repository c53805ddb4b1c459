"""Reproducible installs: every package the code imports is declared in pyproject.toml, the
lock file (constraints.txt) pins every declared package within its range, what is installed
is what is locked, and the packages whose internals leanon relies on have an upper bound."""

from __future__ import annotations

import ast
import importlib.metadata as metadata
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
LOCK = ROOT / "constraints.txt"
OURS = {"bot", "adapters", "storage", "benchmarks", "tests"}
# slack-bolt's and slack-sdk's request internals, discord.py's HTTP and gateway internals,
# aiohttp's protocol, SQLAlchemy's dialects, APScheduler 3's job stores (4 is another API).
INTERNALS_USED = ("slack-bolt", "slack-sdk", "discord-py", "aiohttp", "sqlalchemy",
                  "apscheduler")


def requirements(*extras: str) -> dict[str, Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    listed = list(project["dependencies"])
    for extra in extras:
        listed += project["optional-dependencies"][extra]
    return {canonicalize_name(r.name): r for r in map(Requirement, listed)}


def locked() -> dict[str, Version]:
    pins = {}
    for line in LOCK.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.split(";", 1)[0].partition("==")
            assert version, f"not a pin: {line}"
            pins[canonicalize_name(name)] = Version(version.strip())
    return pins


def imported(*folders: str) -> set[str]:
    """The top-level modules imported by the Python files under `folders` (not the
    standard library's, not leanon's own)."""
    found: set[str] = set()
    for folder in folders:
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Import):
                    found.update(alias.name.split(".")[0] for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    found.add(node.module.split(".")[0])
    helpers = {p.stem for p in (ROOT / "benchmarks").glob("*.py")}  # run as scripts
    return {m for m in found - OURS - helpers - {"__future__"}
            if m not in sys.stdlib_module_names}


def distributions(modules: set[str]) -> dict[str, set[str]]:
    """Each module's distributions (canonical names)."""
    provided = metadata.packages_distributions()
    return {m: {canonicalize_name(d) for d in provided.get(m, [])} for m in modules}


def test_every_package_leanon_imports_is_declared() -> None:
    runtime = set(requirements())
    undeclared = {m: d for m, d in distributions(imported("bot", "adapters", "storage")).items()
                  if not d & runtime}
    assert not undeclared, f"imported but not in [project.dependencies]: {undeclared}"


def test_every_package_the_tests_and_benchmarks_import_is_declared() -> None:
    everything = set(requirements("dev"))
    undeclared = {m: d for m, d in distributions(imported("tests", "benchmarks")).items()
                  if not d & everything}
    assert not undeclared, f"imported but not declared (dev extra): {undeclared}"


def test_the_lock_pins_every_declared_package_within_its_range() -> None:
    pins = locked()
    for name, requirement in requirements("dev").items():
        assert name in pins, f"{name} is declared but not in {LOCK.name}: run `make lock`"
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"{LOCK.name} pins {name}=={pins[name]}, outside {requirement}: run `make lock`")


def test_what_is_installed_is_what_is_locked() -> None:
    """./scripts/test (and so CI) installs with the lock file; so does the Dockerfile."""
    different = {}
    for name, version in locked().items():
        try:
            installed = Version(metadata.version(name))
        except metadata.PackageNotFoundError:
            continue  # for another platform or Python (a marker in a dependency)
        if installed != version:
            different[name] = f"{installed} installed, {version} locked"
    assert not different, different


def test_packages_whose_internals_leanon_uses_have_an_upper_bound() -> None:
    declared = requirements()
    for name in INTERNALS_USED:
        operators = {spec.operator for spec in declared[name].specifier}
        assert operators & {"<", "<=", "~=", "=="}, f"{name} has no upper bound"


def test_tests_are_a_package_and_never_edit_the_import_path() -> None:
    folders = {p.parent for p in (ROOT / "tests").rglob("*.py")}
    assert all((folder / "__init__.py").exists() for folder in folders), folders
    edits = [str(p.relative_to(ROOT)) for folder in ("tests", "benchmarks")
             for p in (ROOT / folder).rglob("*.py") if "sys.path" in p.read_text()
             and p.name != "test_dependencies.py"]
    assert edits == []
