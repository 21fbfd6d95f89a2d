"""The error registry: every code raised anywhere is declared, with a status and both messages."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from core.errors import DomainError, define, registry, spec_for, status_for

ROOT = Path(__file__).resolve().parents[2]
#: The packages whose code may raise domain errors (not tests, benchmarks or migrations).
PACKAGES = (
    "core",
    "labs",
    "equipment",
    "bookings",
    "billing",
    "reports",
    "devices",
    "accounts",
    "webhooks",
    "api",
    "frontend",
    "demo",
)
#: Names the domain error is raised under.
ERROR_NAMES = {"DomainError"}


def _raised_codes() -> dict[str, list[str]]:
    """Every literal code passed to DomainError(...) in the project's code, with where it is raised."""
    found: dict[str, list[str]] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")) if (ROOT / package).is_dir() else []:
            if "migrations" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not isinstance(node, ast.Call) or not node.args:
                    continue
                name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", None)
                first = node.args[0]
                if name in ERROR_NAMES and isinstance(first, ast.Constant) and isinstance(first.value, str):
                    found.setdefault(first.value, []).append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def test_the_walk_finds_the_codes_the_engine_raises():
    raised = _raised_codes()
    assert {"slot_taken", "outside_opening_hours", "lock_timeout", "idempotency_key_reused"} <= set(raised)


def test_every_raised_code_is_declared_with_a_status_and_both_messages():
    missing = {code: where for code, where in _raised_codes().items() if spec_for(code) is None}
    assert not missing, f"codes raised but not declared in any app's errors.py: {missing}"


@pytest.mark.parametrize("spec", sorted(registry().values(), key=lambda s: s.code), ids=lambda s: s.code)
def test_every_declared_code_has_an_http_status_and_a_vietnamese_and_an_english_message(spec):
    assert spec.status in {400, 401, 403, 404, 405, 406, 409, 413, 415, 422, 429}
    assert spec.vi.strip() and spec.en.strip()
    assert spec.vi != spec.en or spec.code in {"ok"}


def test_a_domain_error_reads_its_status_and_messages_from_the_registry():
    error = DomainError("slot_taken", conflict={"start": "x"})
    assert error.status == 409
    assert error.message_in("vi") == "Khung giờ này đã có người đặt."
    assert error.message_in("en") == "This time slot is already booked."
    assert error.as_dict()["conflict"] == {"start": "x"}


def test_an_undeclared_code_is_a_plain_refusal_not_a_crash():
    assert status_for("no_such_code_anywhere") == 400
    assert DomainError("no_such_code_anywhere").message_in("en") == "no_such_code_anywhere"


def test_a_code_cannot_be_declared_twice_with_different_meanings():
    define("test_only_code", 400, "Một", "One")
    define("test_only_code", 400, "Một", "One")  # the same again is harmless
    with pytest.raises(ValueError):
        define("test_only_code", 409, "Một", "One")
