"""Reports benchmark: the network's yearly figures and a center's yearly utilisation with 1,000,000 bookings.

Builds a throw-away database (``labshare_bench_reports``) on the local cluster (or DATABASE_URL's
server): 4 centers × 5 labs × 25 machines (500), 400 people of every audience in 40 organisations,
and 1,000,000 bookings over three years (2028–2030) with every status, check-ins and prices fixed
by the booking engine's rules (audience, sponsor subsidy). Then times each report in-process, the
way a page or an API call makes it: wall time, CPU time and SQL statements per report. Prints a
table; the target is p95 ≤ 1 s with a constant number of statements.

    uv run python -m tools.localdb exec -- uv run python bench/bench_reports.py

Environment: BENCH_BOOKINGS (default 1000000), BENCH_RUNS (default 20), BENCH_KEEP_DB=1.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BENCH_DB = "labshare_bench_reports"
TOTAL = int(os.environ.get("BENCH_BOOKINGS", "1000000"))
RUNS = int(os.environ.get("BENCH_RUNS", "20"))
CENTERS, LABS_PER_CENTER, MACHINES_PER_LAB, PEOPLE, ORGS = 4, 5, 25, 400, 40


def _with_db(url: str, name: str) -> str:
    return urlunparse(urlparse(url)._replace(path=f"/{name}"))


def _admin_sql(base_url: str, *statements: str) -> None:
    import psycopg

    with psycopg.connect(base_url, autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


def build_network():
    """Centers, labs with opening hours, machines with rates and sponsors, people and organisations."""
    from datetime import date
    from datetime import time as dtime

    from django.contrib.auth import get_user_model

    from equipment.models import Category, Equipment, Partner, PartnerSubsidy
    from labs.models import Audience, Lab, Member, Organization, ResourceRate
    from labs.services import lab_add_opening_hours

    laser = Category.objects.create(slug="laser", name_vi="Máy cắt laser", name_en="Laser cutter")
    partners = [Partner.objects.create(name=f"Sponsor {i}", slug=f"sponsor-{i}") for i in range(3)]
    for partner in partners:
        PartnerSubsidy.objects.create(partner=partner, audience=Audience.STUDENT, percent=50)
    centers, machines = [], []
    for c in range(CENTERS):
        center = Lab.objects.create(slug=f"center-{c}", name_vi=f"Trung tâm {c}", name_en=f"Center {c}")
        lab_add_opening_hours(
            lab=center, weekdays=[0, 1, 2, 3, 4], opens=dtime(8), closes=dtime(17), valid_from=date(2027, 1, 4)
        )
        centers.append(center)
        for n in range(LABS_PER_CENTER):
            lab = Lab.objects.create(slug=f"lab-{c}-{n}", name_vi=f"Phòng lab {c}-{n}", parent=center)
            for m in range(MACHINES_PER_LAB):
                machine = Equipment.objects.create(
                    lab=lab,
                    slug=f"m-{c}-{n}-{m}",
                    name_vi=f"Máy {c}-{n}-{m}",
                    category=laser,
                    sponsor=partners[m % 3] if m % 4 == 0 else None,
                )
                machines.append(machine)
    ResourceRate.objects.bulk_create(
        [
            ResourceRate(resource=m, audience=a, hourly_rate_vnd=r)
            for m in machines
            for a, r in (("student", 20000), ("sme", 150000))
        ]
    )
    kinds = [Organization.Kind.UNIVERSITY, Organization.Kind.SME, Organization.Kind.STARTUP]
    orgs = [Organization.objects.create(name=f"Tổ chức {i}", kind=kinds[i % 3]) for i in range(ORGS)]
    User = get_user_model()
    users = User.objects.bulk_create([User(username=f"p{i}", password="!") for i in range(PEOPLE)])
    audiences = ["student", "student", "student", "staff", "researcher", "sme"]
    Member.objects.bulk_create(
        [
            Member(user=u, audience=audiences[i % len(audiences)], organization=orgs[i % ORGS])
            for i, u in enumerate(users)
        ]
    )
    return centers, machines, users


def load_bookings(machine_ids: list[int], user_ids: list[int]) -> float:
    """``TOTAL`` bookings over 2028–2030 in one INSERT … SELECT; returns seconds."""
    from django.db import connection

    per_machine = TOTAL // len(machine_ids)
    began = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO bookings_booking
                (resource_id, user_id, organization_id, start, "end", blocked_period, exclusive, status, purpose,
                 price_vnd, price_details, reason, created_at, updated_at, checked_in_at, checked_out_at)
            SELECT r.id, u.id, NULL, t, t + interval '2 hours', tstzrange(t, t + interval '2 hours', '[)'), true,
                   s.status, '', 40000,
                   jsonb_build_object('audience', m.audience, 'price_vnd', 40000, 'gross_vnd', 40000,
                                      'subsidy_vnd', CASE WHEN r.n %% 4 = 0 AND m.audience = 'student' THEN 20000 ELSE 0 END),
                   '', now(), now(),
                   CASE WHEN s.status = 'completed' THEN t + interval '5 minutes' END,
                   CASE WHEN s.status = 'completed' THEN t + interval '110 minutes' END
            FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM labs_resource WHERE id = ANY(%(machines)s)) r
            CROSS JOIN generate_series(0, %(per)s - 1) AS k
            CROSS JOIN LATERAL (SELECT timestamptz '2028-01-03 01:00+00' + k * (interval '26280 hours' / %(per)s) AS t) tt
            CROSS JOIN LATERAL (SELECT (%(users)s::bigint[])[1 + ((k * 7 + r.n) %% %(n_users)s)] AS id) u
            JOIN labs_member m ON m.user_id = u.id
            CROSS JOIN LATERAL (SELECT CASE (k + r.n) %% 20
                WHEN 0 THEN 'no_show' WHEN 1 THEN 'cancelled' WHEN 2 THEN 'cancelled' WHEN 3 THEN 'rejected'
                ELSE 'completed' END AS status) s
            """,
            {"machines": machine_ids, "per": per_machine, "users": user_ids, "n_users": len(user_ids)},
        )
        cursor.execute("VACUUM (ANALYZE) bookings_booking")
    return time.perf_counter() - began


def measure(label: str, make) -> dict:
    """Run ``make`` RUNS times: wall and CPU percentiles, SQL statements per run."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    walls, cpus, statements = [], [], set()
    for _ in range(RUNS):
        with CaptureQueriesContext(connection) as queries:
            wall, cpu = time.perf_counter(), time.process_time()
            make()
            walls.append(time.perf_counter() - wall)
            cpus.append(time.process_time() - cpu)
        statements.add(len(queries.captured_queries))
    walls.sort()
    cpus.sort()
    return {
        "report": label,
        "p50": walls[len(walls) // 2],
        "p95": walls[min(len(walls) - 1, int(len(walls) * 0.95))],
        "cpu": cpus[len(cpus) // 2],
        "statements": sorted(statements),
    }


def main() -> int:
    from tools import localdb

    base_url = os.environ.get("DATABASE_URL") or localdb.running_url()
    if not base_url:
        print("No database: run through `python -m tools.localdb exec -- …` or set DATABASE_URL", file=sys.stderr)
        return 1
    _admin_sql(base_url, f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)", f"CREATE DATABASE {BENCH_DB}")
    url = _with_db(base_url, BENCH_DB)
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "config.settings"}
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    try:
        os.environ["DATABASE_URL"] = url
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
        import zoneinfo
        from datetime import date

        import django

        django.setup()
        from labs.models import Lab
        from reports.periods import make_period
        from reports.selectors import network_figures, utilisation

        centers, machines, users = build_network()
        seconds = load_bookings([m.pk for m in machines], [u.pk for u in users])
        tz = zoneinfo.ZoneInfo("Asia/Ho_Chi_Minh")
        year = make_period(date(2029, 1, 1), date(2029, 12, 31), tz)
        every = list(Lab.objects.values_list("id", flat=True))
        from labs import tree

        center = tree.subtree_ids([centers[0].pk])
        rows = [
            measure("network's figures, whole network, 2029", lambda: network_figures(lab_ids=every, period=year)),
            measure(
                "center's utilisation (125 machines), 2029, by month",
                lambda: utilisation(lab_ids=center, period=year, bucket="month"),
            ),
            measure(
                "center's utilisation (125 machines), 2029, by week",
                lambda: utilisation(lab_ids=center, period=year, bucket="week"),
            ),
        ]
        from bookings.models import Booking

        in_year = Booking.objects.filter(start__gte=year.start, start__lt=year.end).count()
        print(
            f"\n{Booking.objects.count():,} bookings in the database (loaded in {seconds:.0f} s), {in_year:,} in 2029; "
            f"{len(machines)} machines in {len(every)} labs; {RUNS} runs each\n"
        )
        print(f"| {'report':<52} | {'p50 wall':>9} | {'p95 wall':>9} | {'CPU p50':>8} | SQL statements |")
        print(f"|{'-' * 54}|{'-' * 11}|{'-' * 11}|{'-' * 10}|----------------|")
        for row in rows:
            print(
                f"| {row['report']:<52} | {row['p50'] * 1000:7.0f} ms | {row['p95'] * 1000:7.0f} ms | "
                f"{row['cpu'] * 1000:5.0f} ms | {', '.join(map(str, row['statements'])):>14} |"
            )
        # Statements: one more or two while this process expands the year's calendars the first time.
        failed = [row for row in rows if row["p95"] > 1.0 or max(row["statements"]) > 8]
        return 1 if failed else 0
    finally:
        from django.db import connections

        connections.close_all()
        if not os.environ.get("BENCH_KEEP_DB"):
            _admin_sql(base_url, f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")


if __name__ == "__main__":
    sys.exit(main())
