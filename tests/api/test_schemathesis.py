"""Property-based run over the generated OpenAPI schema (schemathesis): the schema tells the truth.

Valid and invalid requests (schemathesis' positive and negative modes) for every operation, as an
anonymous caller, a student and an admin, sent in-process to the WSGI app with the test's data
(at least 2,000 requests). Every response passes every check schemathesis has: no server error,
a documented status code, content type and headers, a body that matches the response schema,
schema-violating requests refused, schema-valid ones accepted (or refused by a rule, see CONFIG),
unsupported methods answered 405, authentication not ignored. LABSHARE_SCHEMATHESIS_EXAMPLES
changes the number of examples per operation and mode.
"""

from __future__ import annotations

import os
from collections import Counter

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
from schemathesis.config import SchemathesisConfig
from schemathesis.core.failures import FailureGroup
from schemathesis.generation import GenerationMode

from tests.factories import make_api_token

pytestmark = pytest.mark.django_db

EXAMPLES = int(os.environ.get("LABSHARE_SCHEMATHESIS_EXAMPLES", "30"))
CALLERS = ("anonymous", "student", "admin")
INERROR = TransactionStatus.INERROR


#: Error codes that mean "this value is malformed" (not "a rule refuses it"): a schema-valid request must
#: never meet them, or the schema is lying about what the server reads.
MALFORMED = {
    "invalid",
    "min_value",
    "max_value",
    "max_length",
    "min_length",
    "required",
    "null",
    "blank",
    "max_string_length",
    "max_digits",
    "max_decimal_places",
    "max_whole_digits",
    "not_a_list",
    "incorrect_type",
    "parse_error",
    "json_too_deep",
}

# Every check schemathesis has, with one documented widening: a schema-valid request may still be
# refused by a business rule with 400 and the rule's code (README: wrong password, an end before
# the start, an id of nothing, outside opening hours, …), which JSON Schema cannot express. That a
# 400 is such a refusal, never a malformed-value error, is checked by hand below (MALFORMED).
CONFIG = SchemathesisConfig.from_dict(
    {
        "checks": {
            "positive_data_acceptance": {
                "expected-statuses": ["2xx", "3xx", "400", "401", "403", "404", "409", "422", "429", "5xx"]
            }
        }
    }
)


def _malformed_fields(response) -> dict:
    """The fields a 400 answer calls malformed (by their error codes), if any."""
    try:
        body = response.json()
    except ValueError:
        return {"body": "not JSON"}
    if body.get("code") in MALFORMED:
        return {"body": body["code"]}
    return {
        field: [e.get("code") for e in errors if isinstance(e, dict) and e.get("code") in MALFORMED]
        for field, errors in (body.get("errors") or {}).items()
        if isinstance(errors, list) and any(isinstance(e, dict) and e.get("code") in MALFORMED for e in errors)
    }


@pytest.fixture
def keep_test_connection():
    """The WSGI handler closes the database connection after each request (CONN_MAX_AGE=0), which would
    end the test's transaction; Django's own test client detaches the same signal handlers."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def test_every_generated_request_gets_an_answer_the_schema_documents(world, keep_test_connection):
    schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application(), config=CONFIG)
    tokens = {role: make_api_token(world.users[role]) for role in CALLERS if role != "anonymous"}
    sent = {"total": 0, "anonymous": 0, "signed_in": 0}
    failures = []
    violations = []
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
                try:
                    case.validate_response(response, headers=headers)
                except FailureGroup as group:
                    for failure in group.exceptions:
                        violations.append(
                            f"{operation.label} [{mode.value}, {caller}] {response.status_code} "
                            f"{type(failure).__name__}: {failure.title}: {str(failure.message)[:300]}\n  "
                            f"{case.as_curl_command(headers=headers)[:500]}"
                        )
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
                if mode == GenerationMode.POSITIVE and response.status_code == 400:
                    malformed = _malformed_fields(response)
                    if malformed:
                        violations.append(
                            f"{operation.label} [{mode.value}, {caller}] schema-valid value refused as malformed: "
                            f"{malformed}\n  {case.as_curl_command(headers=headers)[:500]}"
                        )
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
    kinds = Counter(v.split("\n")[0].split(": ")[0] for v in violations)
    assert not violations, (
        f"{len(violations)} responses break a check:\n"
        + "\n".join(f"{n:4d} x {kind}" for kind, n in kinds.most_common())
        + "\n\nFirst ones:\n"
        + "\n".join(violations[:20])
    )
    assert sent["total"] >= 2000, sent
    assert sent["anonymous"] >= 400 and sent["signed_in"] >= 800, sent
    assert len(unsatisfiable) < len(operations) // 2, unsatisfiable
