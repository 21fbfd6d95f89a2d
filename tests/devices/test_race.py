"""Two devices (and a web booking) taking one free machine at the same instant: exactly one winner.

Each contender runs in its own thread with its own database connection, released by one barrier:
several interlocks of one machine, each with a different member walking in, and a member booking
an overlapping slot on the web. The engine's exclusion constraint decides; the control run drops it
for the duration of the race and shows that the devices' own "is anyone here?" reads alone would
let several in (the race is real). A last test races the same over HTTP against two daphne processes.
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections import Counter

import pytest
from django.db import connection, connections

from bookings.models import ACTIVE_STATUSES, Booking
from bookings.services import booking_request
from core.errors import DomainError
from devices import services
from labs.models import Audience, LabRole
from tests.api.live import PORTS, daphne_servers, database_url
from tests.devices.conftest import monday
from tests.factories import make_api_token, make_equipment, make_lab, make_user, open_weekdays

pytestmark = pytest.mark.django_db(transaction=True)

DEVICES = 6


def _together(calls) -> list:
    barrier = threading.Barrier(len(calls))
    outcomes: list = [None] * len(calls)

    def run(index, call):
        try:
            barrier.wait(timeout=30)
            outcomes[index] = call()
        except DomainError as exc:
            outcomes[index] = exc.code
        except Exception as exc:
            outcomes[index] = f"error: {exc!r}"
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)
    assert not any(thread.is_alive() for thread in threads), "a contender hung"
    return outcomes


def _arena(name: str) -> dict:
    """A lab with one free machine that takes walk-ins, its interlocks and the members racing for it."""
    lab = make_lab(f"race-{name}")
    open_weekdays(lab)
    machine = make_equipment(lab, slug=f"laser-{name}", walk_in_minutes=60)
    manager = make_user(f"manager-{name}", audience=Audience.STAFF, password=None)
    LabRole.objects.create(user=manager, lab=lab, role=LabRole.Role.MANAGER)
    members = [make_user(f"walker{i}-{name}", password=None) for i in range(DEVICES + 1)]
    cards = [f"CAFE{name.upper()}{i:04d}" for i in range(DEVICES)]
    for member, card in zip(members, cards, strict=False):
        services.badge_register(user=member, uid=card, by=manager)
    devices = [services.device_register(name=f"interlock {i}", by=manager, resource=machine) for i in range(DEVICES)]
    return {"machine": machine, "members": members, "cards": cards, "devices": devices}


@pytest.fixture
def race(clock, settings):
    settings.LOCK_TIMEOUT_MS = 20_000  # contenders queue on locks on a busy machine: decide, do not time out
    clock.move_to(monday(10, 5))
    return _arena("devices")


def _contenders(race):
    machine, members = race["machine"], race["members"]

    def device_call(i):
        device = race["devices"][i][0]
        return lambda: services.device_access(device=device, badge=race["cards"][i])["decision"]

    def web_call():
        booking_request(resource=machine, user=members[-1], start=monday(10, 30), end=monday(11, 30))
        return "booked"

    return [device_call(i) for i in range(DEVICES)] + [web_call]


def _winners(outcomes) -> int:
    return sum(1 for o in outcomes if o in ("allow", "booked"))


def test_devices_and_a_web_booking_racing_for_one_free_machine_give_exactly_one_winner(race):
    outcomes = _together(_contenders(race))
    assert not [o for o in outcomes if str(o).startswith("error")], outcomes
    assert _winners(outcomes) == 1, outcomes
    losers = Counter(o for o in outcomes if o not in ("allow", "booked"))
    assert set(losers) <= {"deny", "slot_taken"}, outcomes
    assert Booking.objects.filter(resource=race["machine"], status__in=ACTIVE_STATUSES).count() == 1


#: Trials the control may take to show the race (each on a fresh machine): how the threads meet is up to
#: the scheduler, and on a loaded machine one contender can finish before the others read.
CONTROL_TRIALS = 5


def test_control_without_the_exclusion_constraint_several_contenders_win(race):
    trials = []
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE bookings_booking DROP CONSTRAINT booking_no_overlap")
    try:
        for trial in range(CONTROL_TRIALS):
            arena = race if trial == 0 else _arena(f"control{trial}")
            trials.append(_together(_contenders(arena)))
            if _winners(trials[-1]) > 1:
                break
    finally:
        Booking.objects.all().update(status="cancelled")
        with connection.cursor() as cursor:
            cursor.execute(
                "ALTER TABLE bookings_booking ADD CONSTRAINT booking_no_overlap EXCLUDE USING gist "
                "(resource_id WITH =, blocked_period WITH &&) "
                "WHERE (status IN ('requested', 'confirmed', 'checked_in') AND exclusive)"
            )
    # The devices' reads ("is anyone booked now?") happen before anyone's insert: only the database
    # guard turns the race into one winner.
    assert _winners(trials[-1]) > 1, trials


def _post(url: str, auth: str, path: str, body: dict) -> tuple[int, dict]:
    request = urllib.request.Request(
        f"{url}{path}",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Authorization": auth},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def test_over_http_two_devices_and_a_web_booking_give_one_winner(race):
    tokens = [token for _device, token in race["devices"][:2]]
    web = make_api_token(race["members"][-1])
    booking = {"resource": race["machine"].pk, "start": monday(10, 30).isoformat(), "end": monday(11, 30).isoformat()}
    with daphne_servers(database_url(connection.settings_dict), count=2, start_port=PORTS.start + 60) as urls:
        results = _together(
            [
                lambda: _post(urls[0], f"Device {tokens[0]}", "/api/device/access/", {"badge": race["cards"][0]}),
                lambda: _post(urls[1], f"Device {tokens[1]}", "/api/device/access/", {"badge": race["cards"][1]}),
                lambda: _post(urls[0], f"Token {web}", "/api/bookings/", booking),
            ]
        )
    assert not [r for r in results if isinstance(r, str)], results
    won = [r for r in results if r[0] == 201 or (r[0] == 200 and r[1]["decision"] == "allow")]
    assert len(won) == 1, results
    assert {r[0] for r in results} <= {200, 201, 409}, results
    assert Booking.objects.filter(resource=race["machine"], status__in=ACTIVE_STATUSES).count() == 1
