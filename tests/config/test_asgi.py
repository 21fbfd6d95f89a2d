"""The ASGI entry point (daphne: WebSockets in production, everything in `make run` and the live tests)."""

from __future__ import annotations

import json

import pytest
from channels.testing import HttpCommunicator

from config.asgi import application

pytestmark = pytest.mark.django_db(transaction=True)

HOST = [(b"host", b"testserver")]


async def fetch(app, method: str, path: str, **kwargs) -> dict:
    """The response, after the application has finished the request (request_finished included)."""
    communicator = HttpCommunicator(app, method, path, **kwargs)
    response = await communicator.get_response(timeout=10)
    await communicator.wait(timeout=10)
    return response


@pytest.mark.asyncio
async def test_the_application_answers_http_through_django_with_the_health_report():
    response = await fetch(application, "GET", "/healthz", headers=HOST)
    assert response["status"] == 200
    assert json.loads(response["body"])["checks"]["database"]["ok"] is True


@pytest.mark.asyncio
async def test_the_application_answers_http_with_the_api_error_format():
    response = await fetch(application, "GET", "/api/no-such-endpoint/", headers=[*HOST, (b"accept-language", b"en")])
    assert response["status"] == 404
    assert json.loads(response["body"])["code"] == "not_found"


@pytest.mark.asyncio
async def test_a_write_without_a_csrf_token_is_refused_through_the_asgi_application():
    body = json.dumps({"username": "x", "password": "y"}).encode()
    headers = [*HOST, (b"content-type", b"application/json"), (b"cookie", b"sessionid=whatever")]
    response = await fetch(application, "POST", "/api/bookings/", body=body, headers=headers)
    assert response["status"] in (401, 403)
    assert json.loads(response["body"])["code"] in ("not_authenticated", "permission_denied", "csrf_failed")
