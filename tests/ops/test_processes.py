"""Several processes sharing state through Redis: throttles count across them, screens hear every process."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from datetime import timedelta

import pytest
import websockets

from frontend.services import display_token_create
from tests.api.conftest import next_weekday
from tests.api.live import PORTS, daphne_servers, database_url
from tests.factories import make_api_token, make_equipment, make_lab, make_manager, make_user, open_weekdays
from tests.frontend.conftest import redis_url  # noqa: F401 - the fixture

pytestmark = pytest.mark.django_db(transaction=True)


def get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def post_json(url: str, body: dict, token: str) -> tuple[int, dict]:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Authorization": f"Token {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_a_throttle_limit_holds_across_two_web_processes_on_one_redis(settings, redis_url):
    env = {"REDIS_URL": redis_url, "LABSHARE_API_THROTTLE_ANON": "6/minute"}
    with daphne_servers(
        database_url(settings.DATABASES["default"]), count=2, extra_env=env, start_port=PORTS.start + 20
    ) as urls:
        # Each process alone would allow 6 a minute; together they allow 6, not 12.
        statuses = [get(f"{urls[i % 2]}/api/labs/") for i in range(10)]
    assert statuses.count(200) <= 6 and statuses.count(429) >= 4, statuses
    # (the readiness probe of daphne_servers asked each process once: 6 answers in all, at most)


def test_a_screen_on_one_process_hears_a_booking_made_through_the_other(settings, redis_url):
    lab = make_lab("two-process-lab")
    open_weekdays(lab)
    laser = make_equipment(lab, name_vi="Máy cắt laser", slug="laser-two")
    manager = make_manager(lab, "two-process-manager")
    student = make_user("two-process-student")
    _token, screen_secret = display_token_create(lab=lab, name="Entrance", by=manager)
    api_token = make_api_token(student)
    start = next_weekday(hour=10)
    env = {"REDIS_URL": redis_url}

    async def scenario(urls):
        ws_url = urls[0].replace("http://", "ws://") + f"/ws/labs/{lab.slug}/?token={screen_secret}"
        async with websockets.connect(ws_url, origin=urls[0]) as socket:
            snapshot = json.loads(await asyncio.wait_for(socket.recv(), 10))
            assert snapshot["type"] == "snapshot"
            status, body = await asyncio.to_thread(
                post_json,
                f"{urls[1]}/api/bookings/",
                {"resource": laser.pk, "start": start.isoformat(), "end": (start + timedelta(hours=1)).isoformat()},
                api_token,
            )
            assert status == 201, body
            while True:
                message = json.loads(await asyncio.wait_for(socket.recv(), 10))
                if message["type"] == "booking.changed":
                    return body, message

    with daphne_servers(
        database_url(settings.DATABASES["default"]), count=2, extra_env=env, start_port=PORTS.start + 30
    ) as urls:
        created, message = asyncio.run(scenario(urls))
    assert message["booking"]["id"] == created["id"] and message["change"] == created["status"]
