"""What a test run may leave out, on request only (``LABSHARE_SKIP=browser,redis``), and how to check it."""

from __future__ import annotations

import os
import shutil

import pytest

#: What a run may ask to leave out, and what is then not tested.
SKIP_ENV = "LABSHARE_SKIP"
SKIPPABLE = {
    "browser": "the real-browser tests (Playwright on Chromium)",
    "redis": "the tests on the Redis channel layer",
}
#: What each skippable part needs, and how to install it.
NEEDS = {
    "browser": (os.environ.get("LABSHARE_CHROMIUM", "/usr/bin/chromium"), "apt-get install chromium"),
    "redis": ("redis-server", "apt-get install redis-server"),
}


def requested_skips() -> set[str]:
    """The parts this run was asked to leave out (``LABSHARE_SKIP=browser,redis``)."""
    asked = {part.strip() for part in os.environ.get(SKIP_ENV, "").split(",") if part.strip()}
    unknown = asked - set(SKIPPABLE)
    if unknown:
        raise pytest.UsageError(f"{SKIP_ENV}: unknown part(s) {sorted(unknown)}; use {', '.join(sorted(SKIPPABLE))}")
    return asked


def skip_if_requested(part: str) -> None:
    """Skip the current test when the run asked to leave ``part`` out; else make sure it can run."""
    if part in requested_skips():
        pytest.skip(f"{SKIP_ENV}={part}: {SKIPPABLE[part]} were left out on request")
    program, install = NEEDS[part]
    if not (shutil.which(program) or os.path.exists(program)):
        pytest.fail(f"{program} is missing: install it ({install}, or run `make test`), or set {SKIP_ENV}={part}")
