"""The fault tests' throw-away cluster (one for the package: initdb and migrations cost seconds) and SMTP sink."""

from __future__ import annotations

import pytest

from tests.faults.harness import SmtpSink, ThrowawayCluster


@pytest.fixture(scope="package")
def cluster():
    made = ThrowawayCluster()
    try:
        made.start()
        made.migrate()
        yield made
    finally:
        made.destroy()


@pytest.fixture
def sink():
    server = SmtpSink()
    yield server
    server.close()
