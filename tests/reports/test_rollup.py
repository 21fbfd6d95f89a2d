"""The roll-up against the bookings: on the hand-computed week, and after every kind of change.

After each change the roll-up the triggers kept must equal a rebuild from the bookings, and every
report read from it must equal the same report summed straight from the bookings.
"""

from __future__ import annotations

import zoneinfo
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from bookings.models import Booking, BookingEvent
from bookings.services import (
    blocked_period_for,
    booking_approve,
    booking_cancel,
    booking_check_in,
    booking_check_out,
    booking_complete,
    booking_expire,
    booking_mark_no_show,
    booking_reject,
    booking_request,
    booking_reschedule,
)
from labs.models import Audience, Organization, Resource
from reports import rollup
from reports.figures import BOOKED, SERVED, Query
from reports.models import UsageDay
from reports.periods import make_period
from reports.selectors import network_figures, sponsor_impact, utilisation
from tests.bookings.test_rules import monday_ahead, person, slot
from tests.factories import HCM, at, make_equipment, make_lab, make_manager, make_organization, make_partner
from tests.reports.rollup_checks import assert_reports_agree, assert_rollup_is_the_bookings, rollup_rows
from tests.reports.week import _book, build_week

pytestmark = pytest.mark.django_db


def test_sql_and_python_say_the_same_of_every_status():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT s FROM unnest(%s::text[]) s WHERE reports_is_booked(s)",
            [[value for value, _label in Booking._meta.get_field("status").choices]],
        )
        booked = {row[0] for row in cursor.fetchall()}
        cursor.execute("SELECT s FROM unnest(%s::text[]) s WHERE reports_is_served(s)", [list(booked)])
        served = {row[0] for row in cursor.fetchall()}
    assert booked == set(BOOKED) and served == set(SERVED)


# --- The hand-computed week ------------------------------------------------------------------------


@pytest.fixture
def week(clock):
    clock.move_to(at(2030, 3, 20, 9))
    return build_week()


def test_the_weeks_roll_up_is_what_a_rebuild_gives_and_the_reports_agree(week):
    assert_rollup_is_the_bookings()
    for bucket in ("week", "month"):
        assert_reports_agree(make_period(at(2030, 2, 25).date(), at(2030, 3, 17).date(), HCM), bucket=bucket)


def test_the_weeks_days_hold_the_hand_computed_figures(week):
    laser_monday = UsageDay.objects.get(resource=week.laser, day=at(2030, 3, 4).date())
    assert (laser_monday.status, laser_monday.audience, laser_monday.bookings) == ("completed", Audience.STUDENT, 1)
    assert laser_monday.booked == timedelta(hours=2) and laser_monday.used == timedelta(hours=1, minutes=45)
    assert laser_monday.subsidy_vnd == 50_000 and laser_monday.organization_id == week.university.pk
    rows = rollup_rows()
    # 7 bookings on 7 (machine, day, status, audience, organisation) rows; An and Chi came (Bình did not).
    assert len(rows["reports_usageday"]) == 7
    served = {(row[0], row[1]): row[5].count("1") for row in rows["reports_serveddays"]}
    assert served == {
        (week.laser.pk, week.an.pk): 1,
        (week.laser.pk, week.chi.pk): 1,
        (week.printer.pk, week.chi.pk): 1,
        (week.printer.pk, week.an.pk): 1,
    }


def test_a_report_reads_the_roll_up_only_when_its_period_is_in_its_labs_zone(week):
    period = make_period(at(2030, 3, 4).date(), at(2030, 3, 10).date(), HCM)
    query = Query(period=period, now=at(2030, 3, 20, 9), labs=[week.lab.pk])
    assert rollup.covers(query, {"Asia/Ho_Chi_Minh"})
    assert not rollup.covers(query, {"Asia/Ho_Chi_Minh", "Asia/Tokyo"})


def test_a_period_in_another_zone_is_summed_from_the_bookings_and_stays_right(week):
    tokyo = zoneinfo.ZoneInfo("Asia/Tokyo")
    report = utilisation(
        lab_ids=[week.lab.pk], period=make_period(at(2030, 3, 4).date(), at(2030, 3, 10).date(), tokyo)
    )
    assert report["total"]["booked_hours"] == 9.0 and report["total"]["people"] == 2


# --- Every kind of change, through the engine --------------------------------------------------------


@pytest.fixture
def scene(lab):
    """A FabLab with an automatic machine (Festo-sponsored, 50% for students) and one that needs approval."""
    partner = make_partner("Festo Rollup")
    partner.subsidies.create(audience=Audience.STUDENT, percent=50)
    auto = make_equipment(lab, sponsor=partner, approval_policy=Resource.ApprovalPolicy.AUTOMATIC)
    approved = make_equipment(lab, approval_policy=Resource.ApprovalPolicy.MANAGER)
    for machine in (auto, approved):
        machine.rates.create(audience=Audience.STUDENT, hourly_rate_vnd=40_000)
        machine.rates.create(audience=Audience.SME, hourly_rate_vnd=150_000)
    company = make_organization(Organization.Kind.SME)
    return {
        "lab": lab,
        "auto": auto,
        "approved": approved,
        "manager": make_manager(lab),
        "student": person(Audience.STUDENT),
        "sme": person(Audience.SME, organization=company),
        "company": company,
        "other_company": make_organization(Organization.Kind.STARTUP),
        "monday": monday_ahead(),
    }


def _period(scene):
    monday = scene["monday"]
    return make_period(monday - timedelta(days=7), monday + timedelta(days=20), HCM)


def _periods(scene):
    """Four weeks around the bookings, three whole months, and whole months with a part-month either side."""
    monday = scene["monday"]
    first_month = (monday.replace(day=1) - timedelta(days=1)).replace(day=1)
    after = (monday.replace(day=28) + timedelta(days=35)).replace(day=1) - timedelta(days=1)
    return [
        _period(scene),
        make_period(first_month, after, HCM),
        make_period(monday - timedelta(days=45), monday + timedelta(days=45), HCM),
    ]


def _check(scene):
    assert_rollup_is_the_bookings()
    for period in _periods(scene):
        assert_reports_agree(period)
    assert_reports_agree(_period(scene), bucket="month")


def _book_on(scene, machine, user, start, end, day_offset=0):
    s, e = slot(scene["monday"] + timedelta(days=day_offset), start, end)
    return booking_request(resource=scene[machine], user=scene[user], start=s, end=e)


def test_every_status_change_keeps_the_roll_up_right(scene, clock):
    a = _book_on(scene, "auto", "student", "09:00", "11:00")  # confirmed
    b = _book_on(scene, "approved", "sme", "09:00", "10:30")  # requested
    c = _book_on(scene, "approved", "student", "13:00", "14:00")  # requested
    d = _book_on(scene, "auto", "sme", "14:00", "16:00", day_offset=1)  # confirmed
    e = _book_on(scene, "auto", "student", "09:00", "10:00", day_offset=2)  # confirmed
    _check(scene)
    booking_approve(booking=b, by=scene["manager"])
    _check(scene)
    booking_reject(booking=c, by=scene["manager"], reason="Máy cần cho lớp học")
    _check(scene)
    booking_check_in(booking=a, by=scene["student"], at=a.start + timedelta(minutes=5))
    # Still in use: its used time grows with the clock, read from the booking.
    clock.move_to(a.start + timedelta(minutes=65))
    _check(scene)
    booking_check_out(booking=a, by=scene["student"], at=a.start + timedelta(minutes=95))
    _check(scene)
    b.refresh_from_db()
    booking_complete(booking=b, at=b.end)
    _check(scene)
    booking_mark_no_show(booking=d, at=d.start + timedelta(minutes=20))
    _check(scene)
    booking_cancel(booking=e, by=scene["student"])
    _check(scene)
    late = _book_on(scene, "approved", "student", "15:00", "16:00", day_offset=3)
    booking_expire(booking=late, at=late.end)
    _check(scene)
    statuses = set(Booking.objects.values_list("status", flat=True))
    assert statuses == {"completed", "rejected", "no_show", "cancelled", "expired"}


def test_a_reschedule_moves_the_booking_to_its_new_day_and_hours(scene, clock):
    booking = _book_on(scene, "auto", "student", "09:00", "11:00")
    s, e = slot(scene["monday"] + timedelta(days=3), "14:30", "16:00")
    booking_reschedule(booking=booking, by=scene["student"], start=s, end=e)
    _check(scene)
    days = set(UsageDay.objects.values_list("day", flat=True))
    assert days == {scene["monday"] + timedelta(days=3)}


def test_a_changed_organisation_moves_the_figures(scene, clock):
    own = _book_on(scene, "auto", "sme", "09:00", "10:00")
    booking_check_in(booking=own, by=scene["sme"], at=own.start)
    booking_check_out(booking=own, by=scene["sme"], at=own.end)
    _check(scene)
    # The booking billed to another organisation (the admin's correction) …
    Booking.objects.filter(pk=own.pk).update(organization=scene["other_company"])
    _check(scene)
    # … and the person moving company and audience (bookings without their own follow the member).
    Booking.objects.filter(pk=own.pk).update(organization=None, price_details={})
    member = scene["sme"].member
    member.organization, member.audience = scene["company"], Audience.RESEARCHER
    member.save()
    _check(scene)
    assert set(UsageDay.objects.values_list("audience", "organization_id")) == {
        (Audience.RESEARCHER, scene["company"].pk)
    }
    member.delete()
    _check(scene)
    assert set(UsageDay.objects.values_list("audience", "organization_id")) == {("external", None)}


def test_a_machine_moved_to_a_lab_in_another_zone_and_a_lab_given_a_new_zone(scene, clock):
    booking = _book_on(scene, "auto", "student", "09:00", "11:00")
    booking_check_in(booking=booking, by=scene["student"], at=booking.start)
    booking_check_out(booking=booking, by=scene["student"], at=booking.end)
    tokyo = make_lab("tokyo-lab", tz="Asia/Tokyo")
    machine = scene["auto"]
    machine.lab = tokyo
    machine.save()
    assert_rollup_is_the_bookings()
    assert set(UsageDay.objects.values_list("resource_id", "day")) == {(machine.pk, scene["monday"])}
    tokyo.timezone = "America/Bogota"  # 09:00 in Ho Chi Minh City is 21:00 the day before in Bogotá
    tokyo.save()
    assert_rollup_is_the_bookings()
    assert set(UsageDay.objects.values_list("day", flat=True)) == {scene["monday"] - timedelta(days=1)}


def test_bulk_writes_and_deletions_keep_the_roll_up_right(scene, clock):
    week_monday = scene["monday"]
    rows = []
    for n in range(12):
        s, e = slot(week_monday + timedelta(days=n % 5), f"{8 + n % 8:02d}:00", f"{9 + n % 8:02d}:30")
        rows.append(
            Booking(
                resource=scene["auto"] if n % 2 else scene["approved"],
                user=scene["student"] if n % 3 else scene["sme"],
                start=s,
                end=e,
                blocked_period=blocked_period_for(scene["auto"], s, e),
                exclusive=False,
                status=("completed", "no_show", "cancelled", "confirmed")[n % 4],
                checked_in_at=s if n % 4 == 0 else None,
            )
        )
    Booking.objects.bulk_create(rows)
    _check(scene)
    Booking.objects.filter(status="confirmed").update(status="completed")
    _check(scene)
    doomed = Booking.objects.filter(status="no_show")
    BookingEvent.objects.filter(booking__in=doomed).delete()
    doomed.delete()
    _check(scene)


def test_the_rebuild_command_restores_a_period(scene, clock):
    booking = _book_on(scene, "auto", "student", "09:00", "11:00")
    booking_check_in(booking=booking, by=scene["student"], at=booking.start)
    before = rollup_rows()
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM reports_usageday; DELETE FROM reports_usagemonth; DELETE FROM reports_usagehour;"
            " DELETE FROM reports_serveddays; DELETE FROM reports_labserveddays"
        )
    monday = scene["monday"].isoformat()
    call_command("rebuild_report_rollup", "--from", monday, "--to", monday, verbosity=0)
    assert rollup_rows() == before


def test_the_network_and_sponsor_reports_read_the_roll_up_in_a_constant_number_of_statements(week):
    period = make_period(at(2030, 3, 1).date(), at(2030, 3, 31).date(), HCM)
    labs = [week.center.pk, week.lab.pk]

    def statements():
        with CaptureQueriesContext(connection) as network:
            network_figures(lab_ids=labs, period=period)
        with CaptureQueriesContext(connection) as sponsor:
            sponsor_impact(partner=week.partner, period=period)
        return network.captured_queries, sponsor.captured_queries

    network, sponsor = statements()
    assert any("reports_usagemonth" in q["sql"] for q in network)  # March is a whole month: the months table
    assert any("reports_labserveddays" in q["sql"] for q in network)
    assert any("reports_serveddays" in q["sql"] for q in sponsor)
    for day in range(11, 16):  # a week more of bookings, and people
        _book(week.laser, week.an, day, (9, 0), (10, 0), "completed", checked_in_at=at(2030, 3, day, 9))
        _book(week.printer, week.chi, day, (9, 0), (10, 0), "no_show")
    assert [len(queries) for queries in statements()] == [len(network), len(sponsor)]
