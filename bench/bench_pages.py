"""Benchmark: server render time of lab pages with many resources (target: a lab week of 1,000 in < 1 s).

Run with ``make bench`` (or ``uv run python bench/bench_pages.py`` with DATABASE_URL set). It builds
a throw-away database (``bench_pages``), fills a lab with N machines, opening hours, a holiday,
maintenance and a few bookings per machine, then renders the lab page (day and week timelines)
through Django's test client several times and prints a table: median and worst time, SQL queries
and page size. LibreBooking's issue #370 reports about 20 s for 1,000 resources.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from datetime import date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ["LABSHARE_TEST_DB"] = "bench_pages"

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.backends.postgresql.psycopg_any import DateTimeTZRange  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_test_environment  # noqa: E402

SIZES = [int(n) for n in os.environ.get("BENCH_SIZES", "50,200,1000").split(",")]
RUNS = int(os.environ.get("BENCH_RUNS", "5"))
TARGET_SECONDS = 1.0


def build(n: int, monday: date):
    """A lab with ``n`` machines, open Monday–Friday, a closure, maintenance and bookings."""
    from bookings.models import Booking, BookingStatus
    from equipment.models import Category, Equipment
    from labs.models import CalendarEntry, Lab
    from labs.services import calendar_add_closure, lab_add_opening_hours

    lab = Lab.objects.create(slug=f"bench-{n}", name_vi=f"Phòng lab {n} máy", name_en=f"Lab with {n} machines")
    lab_add_opening_hours(
        lab=lab, weekdays=[0, 1, 2, 3, 4], opens=dtime(8), closes=dtime(17), valid_from=monday - timedelta(days=30)
    )
    tz = lab.tz
    calendar_add_closure(
        target=lab,
        start=datetime.combine(monday + timedelta(days=2), dtime(12), tzinfo=tz),
        end=datetime.combine(monday + timedelta(days=2), dtime(17), tzinfo=tz),
        title="Họp toàn trường / All-hands",
    )
    category, _ = Category.objects.get_or_create(slug="bench-cnc", defaults={"name_vi": "Máy CNC", "name_en": "CNC"})
    machines = []
    for i in range(n):
        machine = Equipment(lab=lab, slug=f"bench-{n}-{i}", name_vi=f"Máy {i:04d}", category=category)
        machine.save()  # save() gives each its calendar
        machines.append(machine)
    entries, bookings = [], []
    from django.contrib.auth import get_user_model

    user, _ = get_user_model().objects.get_or_create(username="bench-user")
    for i, machine in enumerate(machines):
        if i % 10 == 0:
            start = datetime.combine(monday + timedelta(days=1), dtime(9), tzinfo=tz)
            entries.append((machine, start))
        for day in range(5):
            for hour in (9, 13, 15):
                if (i + day + hour) % 3:
                    continue
                start = datetime.combine(monday + timedelta(days=day), dtime(hour), tzinfo=tz)
                end = start + timedelta(hours=1, minutes=30)
                bookings.append(
                    Booking(
                        resource=machine,
                        user=user,
                        start=start,
                        end=end,
                        blocked_period=DateTimeTZRange(start, end, "[)"),
                        status=BookingStatus.CONFIRMED,
                    )
                )
    for machine, start in entries:  # CalendarEntry is a multi-table child: no bulk_create
        CalendarEntry.objects.create(
            calendar=machine.calendar,
            kind=CalendarEntry.Kind.MAINTENANCE,
            title="Bảo trì",
            start=start,
            end=start + timedelta(hours=3),
        )
    Booking.objects.bulk_create(bookings, batch_size=2000)
    return lab, len(bookings)


def measure(client: Client, url: str) -> tuple[list[float], list[float], int, int]:
    """Wall-clock and this process's CPU time per render (CPU time is less sensitive to a busy machine)."""
    times, cpu, queries, size = [], [], 0, 0
    for _ in range(RUNS):
        with CaptureQueriesContext(connection) as captured:
            started, started_cpu = time.perf_counter(), time.process_time()
            response = client.get(url)
            elapsed, elapsed_cpu = time.perf_counter() - started, time.process_time() - started_cpu
        assert response.status_code == 200, response.status_code
        times.append(elapsed)
        cpu.append(elapsed_cpu)
        queries, size = len(captured.captured_queries), len(response.content)
    return times, cpu, queries, size


def main() -> int:
    setup_test_environment()
    settings.DEBUG = False
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    ok = True
    rows = []
    try:
        today = date.today()
        monday = today - timedelta(days=today.weekday()) + timedelta(days=7)
        client = Client()
        for n in SIZES:
            started = time.perf_counter()
            lab, booking_count = build(n, monday)
            setup_seconds = time.perf_counter() - started
            for view in ("week", "day"):
                url = f"/labs/{lab.slug}/?view={view}&date={monday.isoformat()}"
                client.get(url)  # warm-up (template loading, first connection)
                times, cpu, queries, size = measure(client, url)
                median, worst = statistics.median(times), max(times)
                passed = view != "week" or n < 1000 or median < TARGET_SECONDS
                ok = ok and passed
                rows.append(
                    (
                        n,
                        view,
                        booking_count,
                        median,
                        worst,
                        statistics.median(cpu),
                        queries,
                        size,
                        setup_seconds,
                        passed,
                    )
                )
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)

    print()
    print(f"Lab page render (server side, {RUNS} runs each; target: week of 1,000 resources < {TARGET_SECONDS:.0f} s)")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"(load average {load:.1f} on {os.cpu_count()} CPUs while measuring; wall time grows with load, CPU time much less)"
    )
    header = f"{'resources':>9} | {'view':<4} | {'bookings':>8} | {'median s':>8} | {'worst s':>7} | {'cpu s':>6} | {'queries':>7} | {'HTML KiB':>8} | {'ok':<3}"
    print(header)
    print("-" * len(header))
    for n, view, bookings, median, worst, cpu, queries, size, _setup, passed in rows:
        print(
            f"{n:>9} | {view:<4} | {bookings:>8} | {median:>8.3f} | {worst:>7.3f} | {cpu:>6.3f} | {queries:>7} | {size / 1024:>8.0f} | {'yes' if passed else 'NO':<3}"
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
