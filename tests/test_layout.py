"""The rooms stay apart: the emulator below the tutorial's tooling, benchmarks beside the tests, not on them."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def imported_packages(folder: str) -> dict[str, set[str]]:
    """Top-level package of every absolute import in the folder's modules, per file."""
    found = {}
    for path in sorted((ROOT / folder).rglob("*.py")):
        names = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
        found[str(path.relative_to(ROOT))] = names
    return found


@pytest.mark.parametrize(
    ("folder", "forbidden"),
    [
        ("sandbox", {"tutorial", "maintainer", "tests", "benchmarks"}),  # the emulator stands alone
        ("tutorial", {"maintainer", "tests", "benchmarks"}),
        ("benchmarks", {"tests"}),  # shared helpers live in tutorial/harness.py
    ],
)
def test_a_folder_never_imports_the_rooms_above_it(folder, forbidden):
    offending = {
        path: names & forbidden for path, names in imported_packages(folder).items() if names & forbidden
    }
    assert offending == {}


def test_the_readme_folder_table_names_every_folder_and_only_those():
    from tutorial.harness import repository_files

    folders = {
        path.relative_to(ROOT).parts[0]
        for path in repository_files()
        if len(path.relative_to(ROOT).parts) > 1 and not path.relative_to(ROOT).parts[0].startswith(".")
    }
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    listed = set(re.findall(r"^\| `([^`/]+)/` \|", readme, re.M))
    assert listed == folders


def test_the_schedulers_longest_modules_all_exist():
    # tests/conftest.py starts these first; a renamed module would silently lose its place.
    from tests.conftest import LONGEST

    modules = {path.name for path in (ROOT / "tests").rglob("test_*.py")}
    assert set(LONGEST) <= modules, set(LONGEST) - modules
