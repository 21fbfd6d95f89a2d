"""Answers schemathesis does not generate on its own, checked against the schema: replays and refusals."""

from __future__ import annotations

from datetime import timedelta

import pytest
import yaml

from tests.api.conftest import iso, next_weekday
from tests.api.test_schema import schema_text  # noqa: F401 - the fixture

pytestmark = pytest.mark.django_db


def documented(schema_text: str, path: str, method: str) -> set[str]:
    return set(yaml.safe_load(schema_text)["paths"][path][method]["responses"])


def test_an_idempotent_replay_answers_a_status_the_schema_documents(world, schema_text):
    start = next_weekday(hour=9)
    client = world.client("student")
    payload = {"resource": world.machine.pk, "start": iso(start), "end": iso(start + timedelta(hours=1))}
    first = client.post("/api/bookings/", payload, HTTP_IDEMPOTENCY_KEY="replay-1")
    again = client.post("/api/bookings/", payload, HTTP_IDEMPOTENCY_KEY="replay-1")
    assert again["Idempotent-Replayed"] == "true"
    assert again.status_code == first.status_code == 201
    assert str(again.status_code) in documented(schema_text, "/api/bookings/", "post")
    assert "200" not in documented(schema_text, "/api/bookings/", "post"), "no 200 is ever sent here"


@pytest.mark.parametrize(
    ("path", "method", "status"),
    [
        ("/api/bookings/", "post", "413"),
        ("/api/bookings/", "post", "415"),
        ("/api/auth/login/", "post", "429"),
        ("/api/bookings/", "get", "400"),
        ("/api/bookings/", "get", "404"),
        ("/api/bookings/{id}/", "get", "404"),
    ],
)
def test_refusals_outside_the_views_are_documented(schema_text, path, method, status):
    assert status in documented(schema_text, path, method)
