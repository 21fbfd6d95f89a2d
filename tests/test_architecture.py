"""The structure the design promises, held by tests: simple functions, imports at the top.

The direction of imports is checked by import-linter (``make lint``, contracts in pyproject.toml);
here: no function in the domain and web packages above cyclomatic complexity 15 (radon), and no
function-local import of a project module unless its comment says why it cannot be at the top.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from radon.complexity import cc_visit

ROOT = Path(__file__).resolve().parents[1]
#: Where the complexity bound holds (the packages people change most).
BOUNDED = (
    "core",
    "labs",
    "equipment",
    "bookings",
    "billing",
    "reports",
    "devices",
    "accounts",
    "webhooks",
    "ops",
    "api",
    "frontend",
)
#: Every project package (for the local-import rule).
PROJECT = (*BOUNDED, "demo", "config", "tools")
MAX_COMPLEXITY = 15
#: Functions allowed above the bound, each with the reason (keep this empty when possible).
COMPLEX_ON_PURPOSE: dict[str, str] = {
    # Issue 13's reports, written before this bound; they are being reworked for the daily roll-up
    # (their speed target), which splits them where the data changes shape.
    "reports/charts.py:line_chart": "reworked with the reports' roll-up (issue 13)",
    "reports/selectors.py:utilisation": "reworked with the reports' roll-up (issue 13)",
    "reports/selectors.py:network_figures": "reworked with the reports' roll-up (issue 13)",
    "reports/tables.py:utilisation_book": "reworked with the reports' roll-up (issue 13)",
}
#: At most this many function-local imports of project modules in the whole project.
MAX_LOCAL_IMPORTS = 5


def _sources(packages):
    for package in packages:
        folder = ROOT / package
        if not folder.is_dir():
            continue
        for path in sorted(folder.rglob("*.py")):
            if "migrations" not in path.parts:
                yield path


def _complex_functions() -> dict[str, int]:
    found = {}
    for path in _sources(BOUNDED):
        for block in cc_visit(path.read_text(encoding="utf-8")):
            for item in [block, *getattr(block, "methods", [])]:
                if item.complexity > MAX_COMPLEXITY:
                    name = f"{path.relative_to(ROOT)}:{getattr(item, 'classname', None) or ''}{'.' if getattr(item, 'classname', None) else ''}{item.name}"
                    found[name] = item.complexity
    return found


def test_no_function_is_above_complexity_15_unless_listed_with_its_reason():
    unexplained = {name: cc for name, cc in _complex_functions().items() if name not in COMPLEX_ON_PURPOSE}
    assert not unexplained, f"split these where the data changes shape (read, compute, lay out): {unexplained}"


def _local_project_imports() -> list[tuple[str, int, str]]:
    """(file, line, the comment that says why) for each import of a project module inside a function."""
    found = []
    for path in _sources(PROJECT):
        text = path.read_text(encoding="utf-8")
        lines = text.splitlines()
        for node in ast.walk(ast.parse(text)):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for inner in ast.walk(node):
                if isinstance(inner, ast.ImportFrom) and inner.module and inner.level == 0:
                    modules = [inner.module]
                elif isinstance(inner, ast.Import):
                    modules = [alias.name for alias in inner.names]
                else:
                    continue
                if any(module.split(".")[0] in PROJECT for module in modules):
                    line = inner.lineno
                    comment = " ".join(
                        part.split("#", 1)[1].strip() for part in (lines[line - 2], lines[line - 1]) if "#" in part
                    )
                    found.append((str(path.relative_to(ROOT)), line, comment))
    return found


def test_function_local_imports_of_project_modules_are_few_and_each_says_why():
    found = _local_project_imports()
    unexplained = [(path, line) for path, line, comment in found if not comment]
    assert not unexplained, f"move these imports to the top of their module, or say why they cannot be: {unexplained}"
    assert len(found) <= MAX_LOCAL_IMPORTS, found


@pytest.mark.parametrize("package", BOUNDED)
def test_the_walks_above_see_each_package_that_exists(package):
    if (ROOT / package).is_dir():
        assert list(_sources([package])), package
