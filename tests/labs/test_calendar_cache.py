"""Expanded calendars kept per process: cheaper reads, and never stale after a change anywhere.

Every write to the calendar tables bumps the stamp (triggers, migration labs 0002) that each read
sees in its lab-chain query; these tests change opening hours, closures, maintenance, moved
occurrences and rules in every way the project writes them (services, ORM, raw SQL), in this
connection, in another connection and in another process, and check the next read sees it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from datetime import date, time, timedelta
from pathlib import Path

import pytest
from django.db import connection, connections, transaction
from django.test.utils import CaptureQueriesContext
from schedule.models import Occurrence, Rule

from labs.calendars import clear_cache, resource_calendars
from labs.models import CalendarEntry
from labs.services import (
    calendar_add_closure,
    calendar_add_maintenance,
    calendar_remove_maintenance,
    lab_add_opening_hours,
)
from tests.api.live import database_url
from tests.factories import at, make_lab, make_resource, open_weekdays

ROOT = Path(__file__).resolve().parents[2]
MONDAY = date(2030, 3, 4)


def _setup():
    center = make_lab()
    lab = make_lab(parent=center)
    open_weekdays(center, since=date(2021, 1, 4))
    return center, lab, make_resource(lab)


def _view(resource, day: date = MONDAY) -> dict:
    """What the calendars say about ``resource`` on ``day``, as comparable text."""
    start = at(day.year, day.month, day.day)
    calendar = resource_calendars([resource], start, start + timedelta(days=1))[resource.pk]
    return {
        "open": [f"{s:%H:%M}-{e:%H:%M}" for s, e in calendar.open],
        "closures": sorted(w.title for w in calendar.closures),
        "maintenance": sorted(w.title for w in calendar.maintenance),
    }


@pytest.mark.django_db
def test_a_second_read_of_the_same_week_costs_one_query():
    _center, _lab, resource = _setup()
    clear_cache()
    with CaptureQueriesContext(connection) as cold:
        first = _view(resource)
    with CaptureQueriesContext(connection) as warm:
        again = _view(resource, MONDAY + timedelta(days=2))  # another day of the same block of weeks
    assert first["open"] == ["08:00-17:00"] and again["open"] == ["08:00-17:00"]
    assert len(cold.captured_queries) == 3
    assert len(warm.captured_queries) == 1


@pytest.mark.django_db
def test_every_kind_of_calendar_change_in_this_transaction_is_seen_by_the_next_read():
    center, lab, resource = _setup()
    assert _view(resource) == {"open": ["08:00-17:00"], "closures": [], "maintenance": []}

    calendar_add_closure(target=center, start=at(2030, 3, 4, 12), end=at(2030, 3, 4, 13), title="Họp")
    assert _view(resource)["closures"] == ["Họp"]

    entry = calendar_add_maintenance(target=resource, start=at(2030, 3, 4, 9), end=at(2030, 3, 4, 10), title="Bảo trì")
    assert _view(resource)["maintenance"] == ["Bảo trì"]
    calendar_remove_maintenance(entry=entry)
    assert _view(resource)["maintenance"] == []

    # Own opening hours of the sub-lab replace the center's.
    lab_add_opening_hours(lab=lab, weekdays=[0], opens=time(7), closes=time(11), valid_from=date(2029, 1, 1))
    assert _view(resource)["open"] == ["07:00-11:00"]
    own = CalendarEntry.objects.get(calendar=lab.calendar, kind=CalendarEntry.Kind.OPEN)

    # A moved occurrence (django-scheduler's own table), then a cancelled one.
    occurrence = Occurrence.objects.create(
        event=own,
        title=own.title,
        start=at(2030, 3, 4, 13),
        end=at(2030, 3, 4, 15),
        original_start=at(2030, 3, 4, 7),
        original_end=at(2030, 3, 4, 11),
    )
    assert _view(resource)["open"] == ["13:00-15:00"]
    occurrence.cancelled = True
    occurrence.save()
    assert _view(resource)["open"] == []
    occurrence.delete()
    assert _view(resource)["open"] == ["07:00-11:00"]

    # The rule itself (shared by entries): Tuesdays only now.
    Rule.objects.filter(pk=own.rule_id).update(params="byweekday:TU")
    assert _view(resource)["open"] == [] and _view(resource, MONDAY + timedelta(days=1))["open"] == ["07:00-11:00"]

    # Raw SQL, behind the ORM's back: the triggers still see it.
    with connection.cursor() as cursor:
        cursor.execute("UPDATE schedule_event SET end_recurring_period = %s WHERE id = %s", [at(2029, 6, 1), own.pk])
    assert _view(resource, MONDAY + timedelta(days=1))["open"] == []  # its own hours ended in 2029
    CalendarEntry.objects.filter(calendar=center.calendar, kind=CalendarEntry.Kind.CLOSURE).update(
        kind=CalendarEntry.Kind.MAINTENANCE
    )
    assert _view(resource)["closures"] == [] and _view(resource)["maintenance"] == ["Họp"]


@pytest.mark.django_db
def test_moving_a_lab_under_another_center_is_seen_at_once():
    _center, lab, resource = _setup()
    other = make_lab()
    open_weekdays(other, opens=time(10), closes=time(12))
    assert _view(resource)["open"] == ["08:00-17:00"]
    lab.parent = other
    lab.save()
    assert _view(resource)["open"] == ["10:00-12:00"]


@pytest.mark.django_db
def test_a_rolled_back_change_leaves_nothing_behind():
    center, _lab, resource = _setup()
    assert _view(resource)["closures"] == []

    class Undo(Exception):
        pass

    with pytest.raises(Undo), transaction.atomic():
        calendar_add_closure(target=center, start=at(2030, 3, 4, 12), end=at(2030, 3, 4, 13), title="Bỏ")
        assert _view(resource)["closures"] == ["Bỏ"]  # the writer sees its own change
        raise Undo
    assert _view(resource)["closures"] == []
    # The next change gets a stamp of its own, never the rolled-back one.
    calendar_add_closure(target=center, start=at(2030, 3, 4, 14), end=at(2030, 3, 4, 15), title="Giữ")
    assert _view(resource)["closures"] == ["Giữ"]


@pytest.mark.django_db(transaction=True)
def test_a_change_committed_by_another_connection_is_seen_by_the_next_read():
    center, _lab, resource = _setup()
    assert _view(resource)["closures"] == []

    def elsewhere():
        try:
            calendar_add_closure(target=center, start=at(2030, 3, 4, 12), end=at(2030, 3, 4, 13), title="Khác")
        finally:
            connections.close_all()

    thread = threading.Thread(target=elsewhere)
    thread.start()
    thread.join()
    assert _view(resource)["closures"] == ["Khác"]


_WORKER = """
import json, sys
import django
django.setup()
from datetime import date, time
from labs.calendars import resource_calendars
from labs.models import Lab, Resource
from labs.services import calendar_add_closure, calendar_add_maintenance, lab_add_opening_hours
from tests.factories import at
resource = Resource.objects.select_related("lab").get(pk=int(sys.argv[1]))
print("ready", flush=True)
for line in sys.stdin:
    command = line.split()
    if command[0] == "read":
        start = at(2030, 3, 4)
        calendar = resource_calendars([resource], start, at(2030, 3, 5))[resource.pk]
        print(json.dumps({
            "open": [f"{s:%H:%M}-{e:%H:%M}" for s, e in calendar.open],
            "closures": sorted(w.title for w in calendar.closures),
            "maintenance": sorted(w.title for w in calendar.maintenance),
        }), flush=True)
    elif command[0] == "close":
        calendar_add_closure(target=resource.lab, start=at(2030, 3, 4, 15), end=at(2030, 3, 4, 16), title=command[1])
        print("done", flush=True)
    elif command[0] == "maintain":
        calendar_add_maintenance(target=resource, start=at(2030, 3, 4, 9), end=at(2030, 3, 4, 10), title=command[1])
        print("done", flush=True)
    elif command[0] == "hours":
        lab_add_opening_hours(lab=resource.lab, weekdays=[0], opens=time(6), closes=time(9), valid_from=date(2029, 1, 1))
        print("done", flush=True)
"""


@pytest.mark.django_db(transaction=True)
def test_changes_in_one_process_are_seen_by_the_next_read_in_another_with_both_caches_warm():
    center, _lab, resource = _setup()
    env = {
        **os.environ,
        "DATABASE_URL": database_url(connection.settings_dict),
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    worker = subprocess.Popen(
        [sys.executable, "-c", _WORKER, str(resource.pk)],
        cwd=ROOT,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert worker.stdout.readline().strip() == "ready"

        def ask(command: str):
            worker.stdin.write(command + "\n")
            worker.stdin.flush()
            answer = worker.stdout.readline().strip()
            return json.loads(answer) if command == "read" else answer

        # Both processes read (and keep) the week first.
        assert ask("read") == _view(resource) == {"open": ["08:00-17:00"], "closures": [], "maintenance": []}
        # This process writes: the other one's next read sees it.
        calendar_add_closure(target=center, start=at(2030, 3, 4, 12), end=at(2030, 3, 4, 13), title="Họp")
        assert ask("read")["closures"] == ["Họp"]
        # The other process writes: this one's next read sees it, each kind in turn.
        assert ask("close Dọn") == "done"
        assert _view(resource)["closures"] == ["Dọn", "Họp"]
        assert ask("maintain Sửa") == "done"
        assert _view(resource)["maintenance"] == ["Sửa"]
        assert ask("hours") == "done"
        assert _view(resource)["open"] == ["06:00-09:00"]
        assert ask("read") == _view(resource)
    finally:
        worker.stdin.close()
        worker.wait(timeout=30)
