"""The tests' clock: every instant a test depends on comes from here, never from the wall clock.

``LABSHARE_TEST_NOW=2026-12-02T06:30:00+07:00 make test`` starts every test at that instant
(the clock then ticks on as usual); without it the tests start at the real time. A test that
needs a particular moment takes the ``clock`` fixture and moves it (``clock.move_to(...)``).
Servers a test starts in another process follow the test's clock through :func:`child_env`
and :func:`follow_parent_clock`, so both sides agree on "now".
"""

from __future__ import annotations

import os
from datetime import UTC, datetime

import time_machine

#: The variable that chooses the instant every test starts at.
TEST_NOW = "LABSHARE_TEST_NOW"
#: The variable a child process reads to start at its parent's instant.
CHILD_CLOCK = "LABSHARE_CLOCK_AT"


class ClockError(ValueError):
    """The chosen instant cannot be used."""


def parse_instant(text: str, *, name: str = TEST_NOW) -> datetime:
    """An ISO 8601 instant with its offset (``2026-12-02T06:30:00+07:00``); naive or malformed is an error."""
    try:
        instant = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ClockError(f"{name}={text!r} is not an ISO 8601 instant (e.g. 2026-12-02T06:30:00+07:00)") from None
    if instant.tzinfo is None:
        raise ClockError(f"{name}={text!r} has no offset: write it as e.g. 2026-12-02T06:30:00+07:00")
    return instant


def chosen_instant() -> datetime | None:
    """The instant every test starts at, when the run chose one."""
    text = os.environ.get(TEST_NOW, "").strip()
    return parse_instant(text) if text else None


def child_env() -> dict[str, str]:
    """Environment for a process a test starts: the test's current instant when its clock is moved."""
    if time_machine.escape_hatch.is_travelling():
        return {CHILD_CLOCK: datetime.now(UTC).isoformat()}
    return {}


def follow_parent_clock() -> None:
    """In a child process: start at the parent's instant (``LABSHARE_CLOCK_AT``), ticking from there."""
    text = os.environ.get(CHILD_CLOCK, "").strip()
    if text:
        time_machine.travel(parse_instant(text, name=CHILD_CLOCK), tick=True).start()
