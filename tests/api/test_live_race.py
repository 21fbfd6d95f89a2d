"""Races through HTTP against live daphne servers on 127.0.0.1: one winner per slot, idempotent retries."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from datetime import timedelta

import pytest
from django.db import connection

from bookings.models import Booking
from tests.api.conftest import iso, next_weekday
from tests.api.live import PORTS, daphne_servers, database_url
from tests.factories import make_api_token, make_equipment, make_lab, make_user, open_weekdays

CLIENTS = 24


def post(url: str, token: str, payload: dict, key: str | None = None) -> tuple[int, dict]:
    headers = {"Content-Type": "application/json", "Authorization": f"Token {token}", "Accept-Language": "en"}
    if key:
        headers["Idempotency-Key"] = key
    request = urllib.request.Request(
        f"{url}/api/bookings/", data=json.dumps(payload).encode(), headers=headers, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def race(calls) -> list[tuple[int, dict]]:
    """Run the calls at the same instant, one thread each."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def worker(i, call):
        barrier.wait()
        results[i] = call()

    threads = [threading.Thread(target=worker, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


@pytest.fixture
def live(transactional_db):
    lab = make_lab("race-lab")
    open_weekdays(lab)
    machine = make_equipment(lab, slug="race-laser")
    users = [make_user(f"racer{i}") for i in range(CLIENTS)]
    tokens = [make_api_token(user) for user in users]
    # Two server processes, so requests really run at once in two database sessions.
    with daphne_servers(database_url(connection.settings_dict), count=2, start_port=PORTS.start + 20) as urls:
        yield {"machine": machine, "users": users, "tokens": tokens, "urls": urls}


def test_concurrent_posts_for_one_slot_give_exactly_one_201_and_409_slot_taken_for_the_rest(live):
    start = next_weekday(hour=9)
    payload = {"resource": live["machine"].pk, "start": iso(start), "end": iso(start + timedelta(hours=1))}
    calls = [(lambda i=i: post(live["urls"][i % 2], live["tokens"][i], payload)) for i in range(CLIENTS)]
    results = race(calls)
    statuses = sorted(status for status, _ in results)
    assert statuses.count(201) == 1, results
    assert statuses.count(409) == CLIENTS - 1, results
    assert {body["code"] for status, body in results if status == 409} == {"slot_taken"}
    assert all(body["conflict"]["start"] == start.isoformat() for status, body in results if status == 409)
    assert Booking.objects.filter(resource=live["machine"]).count() == 1


def test_concurrent_retries_with_the_same_idempotency_key_return_the_same_booking(live):
    start = next_weekday(hour=13)
    payload = {"resource": live["machine"].pk, "start": iso(start), "end": iso(start + timedelta(hours=1))}
    token = live["tokens"][0]
    results = race([(lambda i=i: post(live["urls"][i % 2], token, payload, key="retry-1")) for i in range(8)])
    assert {status for status, _ in results} == {201}, results
    assert len({body["id"] for _, body in results}) == 1
    assert Booking.objects.filter(resource=live["machine"]).count() == 1
    # A retry much later still gets the same booking; a different body with the key is refused.
    status, body = post(live["urls"][0], token, payload, key="retry-1")
    assert status == 201 and body["id"] == results[0][1]["id"]
    other = {**payload, "start": iso(start + timedelta(hours=2)), "end": iso(start + timedelta(hours=3))}
    status, body = post(live["urls"][1], token, other, key="retry-1")
    assert status == 422 and body["code"] == "idempotency_key_reused"


# --- The waitlist: the holder accepts while others try to book the held slot ------------------------

CREATORS = 12
TRIALS = 10


def accept(url: str, token: str, entry_id: int) -> tuple[int, dict]:
    headers = {"Content-Type": "application/json", "Authorization": f"Token {token}", "Accept-Language": "en"}
    request = urllib.request.Request(
        f"{url}/api/waitlist/{entry_id}/accept/", data=b"{}", headers=headers, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def _held_slot(machine, holder, start):
    """A booked slot, the holder waiting for it, then the booking cancelled: the holder holds it."""
    from bookings.models import WaitlistEntry
    from bookings.services import booking_cancel, booking_request, waitlist_join

    owner = make_user()
    booking = booking_request(resource=machine, user=owner, start=start, end=start + timedelta(hours=1))
    entry = waitlist_join(
        resource=machine,
        user=holder,
        window_start=start,
        window_end=start + timedelta(hours=1),
        duration=timedelta(hours=1),
    )
    booking_cancel(booking=booking, by=owner, reason="không cần nữa")
    entry.refresh_from_db()
    assert entry.status == WaitlistEntry.Status.OFFERED
    return entry


def test_the_holder_accepting_while_twelve_others_book_the_held_slot_wins_every_time_and_nothing_is_a_500(live):
    """Issue 11: this race deadlocked (19 x 500 "deadlock detected", the holder losing in 8 of 10 trials).

    The holder's accept writes the booking first and locks the entry last; hold checks take the
    queue lock shared (bookings/locks.py), so the holder and the others never wait in a cycle.
    """
    holder, holder_token = live["users"][0], live["tokens"][0]
    others = live["tokens"][1 : CREATORS + 1]
    machine = live["machine"]
    for trial in range(TRIALS):
        start = next_weekday(hour=8 + trial % 8) + timedelta(days=7 * (trial // 8))
        entry = _held_slot(machine, holder, start)
        payload = {"resource": machine.pk, "start": iso(start), "end": iso(start + timedelta(hours=1))}
        calls = [lambda entry=entry: accept(live["urls"][0], holder_token, entry.pk)]
        calls += [
            (lambda i=i, token=token, payload=payload: post(live["urls"][i % 2], token, payload))
            for i, token in enumerate(others)
        ]
        results = race(calls)
        statuses = [status for status, _ in results]
        assert all(status < 500 for status in statuses), results
        assert statuses[0] == 201, results[0]
        assert {body.get("code") for status, body in results[1:]} <= {"slot_held", "slot_taken", "lock_timeout"}
        active = Booking.objects.filter(resource=machine, start=start, status__in=("confirmed", "requested"))
        assert list(active.values_list("user_id", flat=True)) == [holder.pk], trial
