"""Property-based requests to the device endpoints with a real device token (schemathesis): never a 5xx.

tests/api/test_schemathesis.py sends every operation as people would (anonymous, student, admin):
the device endpoints then only ever answer 401. Here valid and invalid requests reach them the way
an interlock and a kiosk would, with their own tokens, so the access call, the event replay, the
heartbeat, the allow-list and the enrolment meet generated input.
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from django.core.cache import cache
from django.core.wsgi import get_wsgi_application
from django.db import connection
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from psycopg.pq import TransactionStatus
from schemathesis.generation import GenerationMode

from devices import services
from tests.api.test_schemathesis import keep_test_connection  # noqa: F401  (the fixture)

pytestmark = pytest.mark.django_db

EXAMPLES = int(os.environ.get("LABSHARE_SCHEMATHESIS_EXAMPLES", "14"))


def test_no_generated_device_request_gets_a_server_error(world, keep_test_connection):
    schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application())
    _interlock, interlock = services.device_register(name="fuzz", by=world.users["lab_manager"], resource=world.machine)
    _kiosk, kiosk = services.device_register(name="fuzz desk", by=world.users["lab_manager"], lab=world.lab)
    services.badge_register(user=world.users["student"], uid="CAFE1234", by=world.users["staff"])
    tokens = {"interlock": interlock, "kiosk": kiosk}
    operations = [result.ok() for result in schema.get_all_operations() if result.ok().path.startswith("/api/device/")]
    assert len(operations) == 6
    failures, sent = [], 0
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode), caller=st.sampled_from(sorted(tokens)))
            @settings(
                max_examples=EXAMPLES * 3,
                deadline=None,
                database=None,
                derandomize=True,
                suppress_health_check=list(HealthCheck),
                phases=[Phase.explicit, Phase.generate],
            )
            def run(case, caller):
                nonlocal sent
                cache.clear()
                headers = {"Authorization": f"Device {tokens[caller]}"}
                response = case.call(headers=headers)
                if (
                    connection.connection is not None
                    and connection.connection.info.transaction_status == TransactionStatus.INERROR
                ):
                    pytest.fail(f"{operation.label} [{mode.value}, {caller}] left the transaction aborted")
                sent += 1
                if response.status_code >= 500:
                    failures.append(
                        f"{operation.label} [{mode.value}, {caller}] -> {response.status_code}: {case.as_curl_command(headers=headers)}"
                    )

            try:
                run()
            except Unsatisfiable:
                pass
    assert not failures, "\n".join(failures[:20])
    assert sent >= 200
