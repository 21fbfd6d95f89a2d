"""The demo loader: the Bình Dương network, every role, two weeks of bookings in every status, idempotent."""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import pairwise

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.db import transaction
from django.test.utils import override_settings
from django.utils import timezone

from billing.models import Statement, StatementStatus
from billing.selectors import previous_month
from bookings.models import Booking, BookingEvent, BookingSeries, BookingStatus, WaitlistEntry
from demo.devices import BADGES, INTERLOCKS, MEASURED
from demo.money import history_window
from demo.network import DEMO_PASSWORD, USERS, demo_counts, make_tax_code, tax_code_is_valid
from devices.models import Badge, Device, DeviceEvent, DeviceSession
from equipment.models import Category, Equipment, Partner, PartnerSubsidy
from frontend.selectors import lab_occupancy
from labs import tree
from labs.calendars import resource_calendars, subtract
from labs.models import (
    BillingContact,
    CalendarEntry,
    CertificationGrant,
    Lab,
    LabRole,
    Member,
    Organization,
    Resource,
    ResourceRate,
    Space,
)
from labs.selectors import managed_lab_ids
from tests.factories import HCM, make_lab

FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

ROLE_USERS = [
    "admin",
    "manager.vsic",
    "manager.fablab",
    "staff.fablab",
    "sinhvien.an",
    "sinhvien.binh",
    "sme.binh",
    "startup.chi",
    "partner.festo",
    "researcher.dung",
]


@pytest.fixture(scope="class")
def demo_network(django_db_setup, django_db_blocker):
    """Load the demo once for a class of read-only tests, inside a transaction rolled back afterwards.

    Each test still runs in its own savepoint (the ``db`` fixture), so a test that writes cannot
    disturb the next one.
    """
    # The same fast hasher as tests/conftest.py's per-test fixture, which has not run yet at class scope.
    with override_settings(PASSWORD_HASHERS=FAST_HASHERS), django_db_blocker.unblock(), transaction.atomic():
        call_command("load_demo", verbosity=0)
        yield
        transaction.set_rollback(True)


@pytest.fixture
def demo(demo_network, db):
    return None


def _all_counts() -> dict[str, int]:
    counts = demo_counts()
    for model in (
        ResourceRate,
        PartnerSubsidy,
        Partner,
        Category,
        LabRole,
        Member,
        Group,
        CertificationGrant,
        Device,
        Badge,
        DeviceSession,
        DeviceEvent,
    ):
        counts[model.__name__] = model.objects.count()
    return counts


class TestDemoNetwork:
    """Read-only checks on one loaded demo network."""

    def test_demo_builds_the_bình_dương_network_with_at_least_40_resources(self, demo):
        assert Resource.objects.count() >= 40
        vsic = Lab.objects.get(slug="vsic")
        assert vsic.parent is None
        assert Lab.objects.filter(parent=vsic).count() == 5
        assert Lab.objects.get(slug="eiu-fablab").parent is None
        assert Lab.objects.get(slug="cissc-fablab").parent.slug == "cissc"
        for category in (
            "laser-cutter",
            "fdm-printer",
            "resin-printer",
            "cnc-router",
            "pcb-mill",
            "electronics-bench",
            "automation-station",
        ):
            assert Equipment.objects.filter(category__slug=category).exists(), category
        assert Equipment.objects.filter(sponsor__slug="festo").count() >= 4
        assert Equipment.objects.filter(sponsor__slug="philips").exists()
        assert Space.objects.filter(capacity__gt=1).exists()
        assert Resource.objects.filter(location__isnull=False).exists()
        assert Resource.objects.get(slug="eiu-fablab-laser-1").name_en

    def test_every_resource_has_rates_for_every_audience_in_vnd_and_students_pay_least(self, demo):
        for resource in Resource.objects.prefetch_related("rates"):
            rates = {rate.audience: rate.hourly_rate_vnd for rate in resource.rates.all()}
            assert len(rates) == 5, resource.slug
            assert rates["student"] <= rates["sme"], resource.slug

    def test_partners_subsidise_students(self, demo):
        for slug in ("festo", "philips"):
            partner = Partner.objects.get(slug=slug)
            assert partner.subsidy_percent("student", timezone.localdate()) > 0
            assert partner.organization is not None

    def test_organisations_of_every_kind_have_valid_tax_codes(self, demo):
        kinds = set(Organization.objects.values_list("kind", flat=True))
        assert {"university", "startup", "sme", "government", "partner"} <= kinds
        for org in Organization.objects.all():
            assert len(org.tax_code) == 10 and tax_code_is_valid(org.tax_code), org.name

    def test_tax_code_check_digit_refuses_a_wrong_last_digit(self):
        code = make_tax_code("370072581")
        assert tax_code_is_valid(code)
        wrong = code[:9] + str((int(code[9]) + 1) % 10)
        assert not tax_code_is_valid(wrong)

    def test_every_role_user_exists_with_the_demo_password(self, demo, client):
        User = get_user_model()
        for username in ROLE_USERS:
            user = User.objects.get(username=username)
            assert user.check_password(DEMO_PASSWORD), username
            assert hasattr(user, "member"), username
        assert User.objects.get(username="admin").is_superuser
        assert client.login(username="admin", password=DEMO_PASSWORD)
        assert client.get("/admin/").status_code == 200

    def test_center_manager_manages_the_sub_centers_and_the_fablab_manager_only_the_fablab(self, demo):
        User = get_user_model()
        vsic_subtree = set(tree.subtree_ids([Lab.objects.get(slug="vsic").pk]))
        assert managed_lab_ids(User.objects.get(username="manager.vsic")) == vsic_subtree
        assert len(vsic_subtree) == 6
        assert managed_lab_ids(User.objects.get(username="manager.fablab")) == {Lab.objects.get(slug="eiu-fablab").pk}
        assert managed_lab_ids(User.objects.get(username="staff.fablab")) == set()

    def test_only_sinhvien_an_of_the_two_students_holds_the_laser_certification(self, demo):
        now = timezone.now()
        valid = CertificationGrant.objects.valid_at(now).filter(certification__code="eiu-laser-safety")
        assert valid.filter(user__username="sinhvien.an").exists()
        assert not CertificationGrant.objects.filter(user__username="sinhvien.binh").exists()
        # sinhvien.cuong's grant is kept but has expired.
        assert CertificationGrant.objects.filter(user__username="sinhvien.cuong").exists()
        assert not CertificationGrant.objects.valid_at(now).filter(user__username="sinhvien.cuong").exists()

    def test_bookings_cover_every_status_with_audit_rows(self, demo):
        statuses = set(Booking.objects.values_list("status", flat=True))
        assert statuses == set(BookingStatus.values)
        for booking in Booking.objects.prefetch_related("events"):
            events = sorted(booking.events.all(), key=lambda e: (e.at, e.pk))
            assert events, booking.pk
            assert events[0].from_status == ""
            assert events[-1].to_status == booking.status, booking.pk
            for before, after in pairwise(events):
                assert before.to_status == after.from_status, booking.pk

    def test_bookings_span_a_week_back_and_a_week_forward(self, demo):
        now = timezone.now()
        # (The weekly class series runs two weeks ahead; everything else within a week, but for the
        # three months of history before, which the next test checks.)
        history_ends = history_window(now, HCM)[1]
        starts = list(
            Booking.objects.filter(series__isnull=True, start__gte=history_ends).values_list("start", "status")
        )
        # Within a week either side, or the fallback second week when a planned day is closed.
        assert all(now - timedelta(days=15) <= start <= now + timedelta(days=16) for start, _ in starts)
        within_a_week = [start for start, _ in starts if now - timedelta(days=8) <= start <= now + timedelta(days=9)]
        assert len(within_a_week) >= 0.8 * len(starts)
        assert sum(1 for start, _ in starts if start < now) >= 20
        assert sum(1 for start, _ in starts if start > now) >= 10
        for start, status in starts:
            if status in (BookingStatus.REQUESTED, BookingStatus.CONFIRMED):
                assert start > now
            if status in (BookingStatus.COMPLETED, BookingStatus.NO_SHOW, BookingStatus.EXPIRED):
                assert start < now

    def test_three_months_of_history_end_before_the_two_weeks_and_fill_the_reports_and_statements(self, demo):
        now = timezone.now()
        first, history_ends = history_window(now, HCM)
        history = Booking.objects.filter(start__lt=history_ends)
        assert history.count() >= 100
        assert not history.filter(start__lt=first).exists()
        assert set(history.values_list("status", flat=True)) == {
            BookingStatus.COMPLETED,
            BookingStatus.NO_SHOW,
            BookingStatus.CANCELLED,
        }
        assert not history.filter(end__gt=history_ends).exists()
        # Festo pays half of a researcher's time on its machines, Philips most of a student's.
        for sponsor in ("festo", "philips"):
            used = history.filter(resource__equipment__sponsor__slug=sponsor, status=BookingStatus.COMPLETED)
            assert any(b.price_details.get("subsidy_vnd", 0) > 0 for b in used), sponsor
        # Last month's statements are issued and awaiting payment; the month before last's are paid.
        today = timezone.localdate()
        last, older = previous_month(today), previous_month(previous_month(today))
        assert Statement.objects.filter(month=last, status=StatementStatus.ISSUED).exists()
        assert set(Statement.objects.filter(month=older).values_list("status", flat=True)) == {StatementStatus.PAID}
        assert BillingContact.objects.filter(user__username="sme.binh").exists()

    def test_bookings_land_inside_opening_hours_off_holidays_and_maintenance(self, demo):
        bookings = list(Booking.objects.exclude(status=BookingStatus.CHECKED_IN).select_related("resource__lab"))
        for booking in bookings:
            calendar = resource_calendars(
                [booking.resource], booking.start - timedelta(hours=1), booking.end + timedelta(hours=1)
            )[booking.resource.pk]
            assert subtract([(booking.start, booking.end)], calendar.open) == [], booking
            for window in calendar.closures + calendar.maintenance:
                assert not (window.start < booking.end and window.end > booking.start), (booking, window.title)

    def test_future_active_bookings_were_made_through_the_booking_service(self, demo):
        # The service writes a price quote and an audit row whose source is the user.
        future = Booking.objects.filter(
            start__gt=timezone.now(), status__in=[BookingStatus.REQUESTED, BookingStatus.CONFIRMED]
        )
        assert future.count() >= 10
        assert future.filter(status=BookingStatus.REQUESTED).exists()
        assert not BookingEvent.objects.filter(booking__in=future, details__demo=True).exists()

    def test_a_weekly_class_series_and_a_waitlist_entry_are_there(self, demo):
        series = BookingSeries.objects.get()
        assert series.resource.slug == "vsic-robotics-festo-lab"
        assert series.bookings.filter(status=BookingStatus.CONFIRMED).exists()
        entry = WaitlistEntry.objects.get()
        assert entry.resource.slug == "eiu-fablab-laser-1" and entry.user.username == "sinhvien.cuong"
        assert entry.status == WaitlistEntry.Status.WAITING

    def test_holidays_and_maintenance_are_on_the_calendars(self, demo):
        year = timezone.localdate().year
        vsic = Lab.objects.get(slug="vsic")
        holidays = CalendarEntry.objects.filter(calendar=vsic.calendar, kind=CalendarEntry.Kind.HOLIDAY)
        assert holidays.filter(start__year=year).exists()
        assert holidays.filter(start__year=year + 1).exists()
        assert CalendarEntry.objects.filter(kind=CalendarEntry.Kind.MAINTENANCE, key__startswith="demo:").count() == 2
        assert CalendarEntry.objects.filter(kind=CalendarEntry.Kind.OPEN).count() >= 5

    def test_interlocks_a_kiosk_and_cards_are_registered_and_one_interlock_is_offline(self, demo):
        interlocks = Device.objects.filter(kind=Device.Kind.INTERLOCK).select_related("resource")
        assert {d.resource.slug for d in interlocks} == {i.resource for i in INTERLOCKS}
        kiosk = Device.objects.get(kind=Device.Kind.KIOSK)
        assert kiosk.lab.slug == "eiu-fablab" and kiosk.online
        offline = [d for d in interlocks if not d.online]
        assert [d.resource.slug for d in offline] == ["vsic-robotics-festo-pneumatics-1"]
        assert offline[0].last_seen_at < timezone.now() - timedelta(hours=2) and offline[0].pending_events == 3
        assert all(d.last_seen_at is not None and d.token_hash for d in interlocks)
        cards = set(Badge.objects.active().values_list("user__username", "uid"))
        assert cards == {(username, number) for username, _kind, number in BADGES}

    def test_past_sessions_measured_busy_and_idle_time_and_the_measured_machine_bills_it(self, demo):
        ended = DeviceSession.objects.filter(ended_at__isnull=False).select_related("booking", "resource")
        assert ended.count() >= 3
        for session in ended:
            assert session.booking.status == BookingStatus.COMPLETED
            assert session.busy_seconds > 0 and session.idle_seconds > 0
            assert session.busy_seconds + session.idle_seconds == session.used_seconds
            assert session.started_at == session.booking.checked_in_at
            assert session.events.filter(kind="end").count() == 1
        measured = [s for s in ended if s.resource.slug == MEASURED]
        assert measured, "the machine billed on measured use has a past session"
        for session in measured:
            details = session.booking.price_details
            assert details["basis"] == "measured" and details["sessions"] == [session.pk]
            assert session.booking.price_vnd == details["price_vnd"] > 0
            assert details["busy_hourly_rate_vnd"] == 4 * details["idle_hourly_rate_vnd"]

    def test_the_wall_screen_shows_the_offline_interlock_and_the_manager_page_lists_the_devices(self, demo, client):
        lab = Lab.objects.get(slug="vsic-robotics")
        tiles = {tile["slug"]: tile for tile in lab_occupancy(lab=lab)["resources"]}
        bench = tiles["vsic-robotics-festo-pneumatics-1"]
        assert [d["online"] for d in bench["devices"]] == [False]
        # Offline shows unless the bench is down or in maintenance (which take precedence on the tile).
        assert bench["state"]["state"] in ("offline", "down", "maintenance")
        client.login(username="manager.fablab", password=DEMO_PASSWORD)
        page = client.get("/manage/devices/").content.decode()
        assert "Laser 1, room 101" in page and "EIU FabLab front desk" in page

    def test_running_the_demo_twice_changes_no_counts(self, demo):
        before = _all_counts()
        call_command("load_demo", verbosity=0)
        assert _all_counts() == before


def test_if_empty_does_nothing_when_a_lab_exists(db):
    make_lab("my-own-lab")
    call_command("load_demo", "--if-empty", verbosity=0)
    assert list(Lab.objects.values_list("slug", flat=True)) == ["my-own-lab"]
    assert Resource.objects.count() == 0
    assert not get_user_model().objects.filter(username="admin").exists()


def test_if_empty_loads_the_demo_into_an_empty_database(db):
    call_command("load_demo", "--if-empty", verbosity=0)
    assert Lab.objects.filter(slug="vsic").exists()
    assert {u.username for u in USERS} <= set(get_user_model().objects.values_list("username", flat=True))


@pytest.mark.parametrize(
    "moment",
    [
        datetime(2027, 2, 10, 9, 0, tzinfo=HCM),  # last day of Tết 2027: six of the seven days before are holidays
        datetime(2026, 11, 27, 22, 0, tzinfo=HCM),  # Friday night, every lab closed until Saturday morning
    ],
    ids=["tet-week", "friday-night"],
)
def test_demo_loads_every_status_inside_opening_hours_whenever_it_runs(db, monkeypatch, moment):
    # The demo is built around "now"; a closed week or a closed evening must not leave a status out
    # nor put a booking into closed hours.
    monkeypatch.setattr(timezone, "now", lambda: moment)
    call_command("load_demo", verbosity=0)
    assert set(Booking.objects.values_list("status", flat=True)) == set(BookingStatus.values)
    for booking in Booking.objects.exclude(status=BookingStatus.CHECKED_IN).select_related("resource__lab"):
        calendar = resource_calendars([booking.resource], booking.start, booking.end)[booking.resource.pk]
        assert subtract([(booking.start, booking.end)], calendar.open) == [], booking
        assert not any(
            w.start < booking.end and w.end > booking.start for w in calendar.closures + calendar.maintenance
        ), booking
        if booking.status in (BookingStatus.REQUESTED, BookingStatus.CONFIRMED):
            assert booking.start > moment
        if booking.status in (BookingStatus.COMPLETED, BookingStatus.NO_SHOW, BookingStatus.EXPIRED):
            assert booking.end <= moment
