"""Property-based run over the generated OpenAPI schema (schemathesis): no generated request ever gets a 5xx.

Valid and invalid requests (schemathesis' positive and negative modes) for every operation, as an
anonymous caller, a student and an admin, sent in-process to the WSGI app with the test's data.
LABSHARE_SCHEMATHESIS_EXAMPLES raises the number of examples per operation and mode.
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from django.core.cache import cache
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, connection
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from psycopg.pq import TransactionStatus
from schemathesis.generation import GenerationMode

from tests.factories import make_api_token

pytestmark = pytest.mark.django_db

EXAMPLES = int(os.environ.get("LABSHARE_SCHEMATHESIS_EXAMPLES", "14"))
CALLERS = ("anonymous", "student", "admin")
INERROR = TransactionStatus.INERROR


@pytest.fixture
def keep_test_connection():
    """The WSGI handler closes the database connection after each request (CONN_MAX_AGE=0), which would
    end the test's transaction; Django's own test client detaches the same signal handlers."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def test_no_generated_request_gets_a_server_error(world, keep_test_connection):
    schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application())
    tokens = {role: make_api_token(world.users[role]) for role in CALLERS if role != "anonymous"}
    sent = {"total": 0, "anonymous": 0, "signed_in": 0}
    failures = []
    unsatisfiable = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 30

    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode), caller=st.sampled_from(CALLERS))
            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                database=None,
                derandomize=True,
                suppress_health_check=list(HealthCheck),
                phases=[Phase.explicit, Phase.generate],
            )
            def run(case, caller):
                cache.clear()  # throttling would turn later requests into 429s and hide what they reach
                headers = {"Authorization": f"Token {tokens[caller]}"} if caller != "anonymous" else {}
                response = case.call(headers=headers)
                if connection.connection is not None and connection.connection.info.transaction_status == INERROR:
                    # A database error was swallowed without a savepoint: every later request would fail.
                    pytest.fail(
                        f"{operation.label} [{mode.value}, {caller}] left the transaction aborted "
                        f"({response.status_code}): {case.as_curl_command(headers=headers)}"
                    )
                if caller != "anonymous":
                    # POST /api/auth/logout/ deletes the caller's token: put it back for the next request.
                    make_api_token(world.users[caller], secret=tokens[caller])
                sent["total"] += 1
                sent["anonymous" if caller == "anonymous" else "signed_in"] += 1
                if response.status_code >= 500:
                    failures.append(
                        f"{operation.label} [{mode.value}, {caller}] -> {response.status_code}: "
                        f"{case.as_curl_command(headers=headers)}"
                    )

            try:
                run()
            except Unsatisfiable:
                # Negative mode has nothing to break in an operation without parameters or body.
                unsatisfiable.append(f"{operation.label} [{mode.value}]")

    assert not failures, "\n".join(failures[:20])
    assert sent["total"] >= 1000, sent
    assert sent["anonymous"] >= 200 and sent["signed_in"] >= 400, sent
    assert len(unsatisfiable) < len(operations) // 2, unsatisfiable
