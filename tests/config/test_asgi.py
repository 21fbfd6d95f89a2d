"""The ASGI entry point: HTTP served by Django's handler with the sync pipeline in one thread hop."""

from __future__ import annotations

import asyncio
import json
import threading

import pytest
from channels.testing import HttpCommunicator

from config.asgi import SyncPipelineASGIHandler, application

pytestmark = pytest.mark.django_db(transaction=True)

HOST = [(b"host", b"testserver")]


async def fetch(app, method: str, path: str, **kwargs) -> dict:
    """The response, after the application has finished the request (request_finished included)."""
    communicator = HttpCommunicator(app, method, path, **kwargs)
    response = await communicator.get_response(timeout=10)
    await communicator.wait(timeout=10)
    return response


def test_the_middleware_chain_is_built_synchronously_once():
    handler = SyncPipelineASGIHandler()
    assert not asyncio.iscoroutinefunction(handler._middleware_chain)
    assert not any(asyncio.iscoroutinefunction(m) for m in handler._view_middleware)


@pytest.mark.asyncio
async def test_a_request_runs_its_middleware_and_view_on_one_worker_thread(monkeypatch):
    threads = {}
    original_get_response = SyncPipelineASGIHandler._get_response

    def view_step(self, request):  # the innermost step: URL resolution and the view
        threads["view"] = threading.get_ident()
        return original_get_response(self, request)

    monkeypatch.setattr(SyncPipelineASGIHandler, "_get_response", view_step)
    handler = SyncPipelineASGIHandler()
    chain = handler._middleware_chain

    def outermost(request):  # before the first middleware
        threads["middleware"] = threading.get_ident()
        return chain(request)

    handler._middleware_chain = outermost
    response = await fetch(handler, "GET", "/healthz", headers=HOST)
    assert response["status"] == 200
    assert json.loads(response["body"]) == {"status": "ok"}
    assert threads["view"] == threads["middleware"] != threading.get_ident()


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
