"""What the device calls cost in SQL statements, in process (the device's token is read before: one more).

Counted with the work the commit triggers (the live updates run then). Pinned: a heartbeat (two: the
one-statement write, the open session's read), a refusal that needs no rule (two: the badge's read,
the log row with its webhook job in one insert, without a transaction), and the calls that apply the
engine's rules: a check-in (9, 11 while the calendar is not cached), a walk-in (11) and a session's
end (10; 14 billed on measured use), each in its own transaction with no savepoint inside it.
"""

from __future__ import annotations

import uuid

import pytest
from django.db import connection
from django.test import TestCase
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from procrastinate.contrib.django.models import ProcrastinateJob

from bookings.models import Booking, BookingStatus
from devices import services
from devices.models import DeviceEvent
from labs.models import PriceBasis, Resource
from tests.devices.conftest import book, monday

pytestmark = pytest.mark.django_db


def _statements(call) -> list[str]:
    """The statements of ``call``, those its after-commit work sends included (the live updates run then)."""
    with CaptureQueriesContext(connection) as ctx, TestCase.captureOnCommitCallbacks(execute=True):
        call()
    return [q["sql"] for q in ctx.captured_queries]


def test_a_heartbeat_costs_two_statements_and_no_transaction(shop):
    services.device_heartbeat(device=shop.device)  # online now: the steady state of every minute
    sql = _statements(lambda: services.device_heartbeat(device=shop.device, pending=2, version="1.0"))
    assert len(sql) <= 2, "\n".join(s[:120] for s in sql)
    assert not any(s.startswith(("BEGIN", "SAVEPOINT")) for s in sql)
    shop.device.refresh_from_db()
    assert (shop.device.online, shop.device.pending_events, shop.device.client_version) == (True, 2, "1.0")


def test_an_unknown_card_is_refused_in_two_statements_with_its_webhook_job(shop):
    event_id = uuid.uuid4()
    sql = _statements(lambda: services.device_access(device=shop.device, badge="FFEE0001", event_id=event_id))
    assert len(sql) <= 2, "\n".join(s[:120] for s in sql)
    assert not any(s.startswith(("BEGIN", "SAVEPOINT")) for s in sql)
    refused = ProcrastinateJob.objects.filter(task_name="webhooks.dispatch", args__type="device.access_denied")
    assert refused.count() == 1
    # A retry of the same call gets the first answer and queues nothing more.
    again = services.device_access(device=shop.device, badge="FFEE0001", event_id=event_id)
    assert again["reason"] == "unknown_badge" and again["event_id"] == str(event_id)
    assert refused.count() == 1 and DeviceEvent.objects.filter(event_id=event_id).count() == 1


def test_a_disabled_account_is_refused_without_reading_any_rule(shop):
    type(shop.an).objects.filter(pk=shop.an.pk).update(is_active=False)
    sql = _statements(lambda: services.device_access(device=shop.device, badge="04A1B2C3"))
    assert len(sql) <= 2
    assert DeviceEvent.objects.get().reason == "account_inactive"


def test_a_session_signal_logs_its_row_without_a_savepoint(shop):
    ref = services.device_access(device=shop.device, badge="04B2C3D4")["session"]["ref"]  # Bình walks in
    event = {"id": uuid.uuid4(), "type": "busy", "at": timezone.now(), "session": ref}
    sql = _statements(lambda: services.device_events_apply(device=shop.device, events=[event]))
    # BEGIN, the log row (ON CONFLICT DO NOTHING), the session's read and write, the row's outcome, COMMIT
    # (inside the test's own transaction, BEGIN and COMMIT are a savepoint and its release: the only one).
    # After the commit, the live tile's message names the lab and the centers above (one read).
    assert len(sql) <= 7, "\n".join(s[:120] for s in sql)
    assert sum(s.startswith("SAVEPOINT") for s in sql) <= 1
    again = services.device_events_apply(device=shop.device, events=[event])
    assert again[0]["duplicate"] is True


def test_a_check_in_and_a_walk_in_take_nine_statements_and_no_savepoint_but_their_own(shop):
    book(shop.machine, shop.an, monday(10), monday(11))
    services.device_access(device=shop.device, badge="FFEE0001")  # an unknown card: the token's steady state
    checked_in = _statements(lambda: services.device_access(device=shop.device, badge="04A1B2C3"))
    ref = DeviceEvent.objects.get(reason="booking").session_ref
    end = {"id": uuid.uuid4(), "type": "end", "at": timezone.now(), "session": ref}
    services.device_events_apply(device=shop.device, events=[end])
    walked_in = _statements(lambda: services.device_access(device=shop.device, badge="04B2C3D4"))
    # Measured 2026-12-07: a check-in 9 with the lab's calendar in the process's cache (11 the first
    # time: its opening hours are read once per calendar change), a walk-in 11 (from 19 and 25): the
    # badge; the call's transaction (2); the open session; the engine's facts; the machine's bookings
    # and free time (one read, with the facts' calendar chain); for a check-in the engine's row lock
    # and its one statement for the row, the audit row and the jobs; for a walk-in the engine's own
    # facts over the walk-in's time, its insert, queue lock and audit rows with jobs (booked checked
    # in at once); the session with the log row and its webhook jobs, in one statement.
    assert len(checked_in) <= 11 and len(walked_in) <= 11, (len(checked_in), len(walked_in))
    # Nothing after the commit: the live updates use the lab chain and the member the call read.
    assert checked_in[-1].startswith("RELEASE") and walked_in[-1].startswith("RELEASE"), (checked_in[-1], walked_in[-1])
    assert not any(s.startswith('SELECT "schedule_') for s in walked_in), "the calendar is read once, not per call"

    def savepoints(sql):
        return sum(s.startswith("SAVEPOINT") for s in sql)

    # Only the call's own transaction (a savepoint inside the test's): the engine's writes run in it.
    assert (savepoints(checked_in), savepoints(walked_in)) == (1, 1)
    booking = Booking.objects.get(user=shop.binh)
    assert booking.status == BookingStatus.CHECKED_IN
    assert list(booking.events.order_by("id").values_list("from_status", "to_status")) == [
        ("", "confirmed"),
        ("confirmed", "checked_in"),
    ]


def test_a_session_end_checks_out_in_the_calls_own_transaction(shop):
    book(shop.machine, shop.an, monday(10), monday(11))
    ref = services.device_access(device=shop.device, badge="04A1B2C3")["session"]["ref"]
    end = {"id": uuid.uuid4(), "type": "end", "at": timezone.now(), "session": ref}
    sql = _statements(lambda: services.device_events_apply(device=shop.device, events=[end]))
    # The call's own transaction only: the engine's check-out (row lock, then its row, audit row and
    # jobs in one statement) runs in it; a refusal rolls the whole event back and the device sends
    # it again. The log row's outcome goes with the end's webhook jobs; a session that took no signal has
    # none to read. The lab's chain is read once, for the booking's live update and the device's, which
    # then read nothing after the commit. Measured 2026-12-07: 10 with the work after the commit (from 21).
    assert sum(s.startswith("SAVEPOINT") for s in sql) == 1
    assert len(sql) <= 10, len(sql)
    assert Booking.objects.get(user=shop.an).status == BookingStatus.COMPLETED


def test_a_session_billed_on_measured_use_ends_with_one_read_of_its_price_facts(shop):
    Resource.objects.filter(pk=shop.machine.pk).update(price_basis=PriceBasis.MEASURED)
    shop.device.resource.price_basis = PriceBasis.MEASURED
    book(shop.machine, shop.an, monday(10), monday(11))
    ref = services.device_access(device=shop.device, badge="04A1B2C3")["session"]["ref"]
    end = {"id": uuid.uuid4(), "type": "end", "at": timezone.now(), "session": ref}
    sql = _statements(lambda: services.device_events_apply(device=shop.device, events=[end]))
    # On top of a session end: the booking's sessions, the engine's facts (rates and subsidy: one
    # read), the amount, and billing's look at issued statements; the row the check-out locked is
    # billed as it is (no second lock). Measured 2026-12-07: 14 with the work after the commit (from 20).
    assert len(sql) <= 14, "\n".join(s[:120] for s in sql)
    locks = [
        s for s in sql if s.startswith('SELECT "bookings_booking"') and s.endswith('FOR UPDATE OF "bookings_booking"')
    ]
    assert len(locks) == 1, "\n".join(s[-200:] for s in locks)  # the check-out's lock only
    assert not any(s.startswith('SELECT "labs_resourcerate"') for s in sql)  # the rates come with the facts
    booking = Booking.objects.get(user=shop.an)
    assert (booking.status, booking.price_details["basis"], booking.price_details["charged_on"]) == (
        BookingStatus.COMPLETED,
        PriceBasis.MEASURED,
        "measured",
    )
