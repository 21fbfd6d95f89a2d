"""Utilisation figures against the hand-computed week of tests/reports/week.py."""

from __future__ import annotations

import pytest

from reports.periods import make_period
from reports.selectors import network_figures, sponsor_impact, utilisation
from tests.factories import HCM, at
from tests.reports.week import build_week

pytestmark = pytest.mark.django_db


@pytest.fixture
def week(clock):
    clock.move_to(at(2030, 3, 20, 9))
    return build_week()


def _period():
    return make_period(at(2030, 3, 4).date(), at(2030, 3, 10).date(), HCM)


def test_the_weeks_totals_are_the_hand_computed_ones(week):
    report = utilisation(lab_ids=[week.center.pk, week.lab.pk], period=_period(), bucket="week")
    total = report["total"]
    assert total["open_hours"] == 90.0  # two machines, 5 days × 9 h
    assert total["booked_hours"] == 9.0  # 2 + 3 + 1 (no-show) + 2 + 1
    assert total["used_hours"] == 7.75  # 1.75 + 3 + 2 (to the end) + 1
    assert total["utilisation"] == 8.6  # 7.75 / 90
    assert total["bookings"] == 6  # the rejected request is not a booking made
    assert total["no_shows"] == 1
    assert total["cancellations"] == 1
    assert total["no_show_rate"] == 20.0  # 1 of 5 with a known outcome
    assert total["cancellation_rate"] == 16.7  # 1 of 6
    assert total["people"] == 2  # An and Chi came; Bình did not


def test_per_machine_category_and_lab(week):
    report = utilisation(lab_ids=[week.center.pk, week.lab.pk], period=_period(), bucket="week")
    rows = {row["resource_id"]: row for row in report["by_resource"]}
    laser, printer = rows[week.laser.pk], rows[week.printer.pk]
    assert (laser["open_hours"], laser["booked_hours"], laser["used_hours"]) == (45.0, 6.0, 4.75)
    assert laser["utilisation"] == 10.6 and laser["no_show_rate"] == 33.3 and laser["cancellation_rate"] == 0.0
    assert (printer["booked_hours"], printer["used_hours"], printer["cancellation_rate"]) == (3.0, 3.0, 33.3)
    assert printer["no_show_rate"] == 0.0
    categories = {row["category_id"]: row for row in report["by_category"]}
    assert categories[week.laser.category_id]["used_hours"] == 4.75
    assert categories[week.printer.category_id]["used_hours"] == 3.0
    assert [row["lab_id"] for row in report["by_lab"]] == [week.lab.pk]
    assert report["by_lab"][0]["used_hours"] == 7.75


def test_by_audience_and_organisation(week):
    report = utilisation(lab_ids=[week.lab.pk], period=_period(), bucket="week")
    audiences = {row["audience"]: row for row in report["by_audience"]}
    assert (audiences["student"]["booked_hours"], audiences["student"]["used_hours"]) == (4.0, 2.75)
    assert (audiences["sme"]["booked_hours"], audiences["sme"]["used_hours"]) == (5.0, 5.0)
    orgs = {row["organization_id"]: row for row in report["by_organization"]}
    assert orgs[week.company.pk]["booked_hours"] == 5.0
    assert orgs[week.university.pk]["bookings"] == 4


def test_heatmap_cuts_bookings_at_the_hour(week):
    heat = utilisation(lab_ids=[week.lab.pk], period=_period(), bucket="week")["heatmap"]
    monday, tuesday, wednesday, friday = heat[0], heat[1], heat[2], heat[4]
    assert (monday[9], monday[10], monday[15], monday[16]) == (1.0, 1.0, 0.5, 0.5)
    assert tuesday[13:16] == [1.0, 1.0, 1.0]
    assert wednesday[9] == 1.0  # a no-show still held the machine
    assert (friday[8], friday[9], friday[14]) == (1.0, 1.0, 0.0)  # the rejected request is not there
    assert sum(map(sum, heat)) == 9.0


def test_trend_by_week_and_month(week):
    period = make_period(at(2030, 2, 25).date(), at(2030, 3, 17).date(), HCM)
    weekly = utilisation(lab_ids=[week.lab.pk], period=period, bucket="week")["trend"]
    assert [row["bucket"].isoformat() for row in weekly] == ["2030-02-25", "2030-03-04", "2030-03-11"]
    assert [row["used_hours"] for row in weekly] == [0.0, 7.75, 0.0]
    assert [row["open_hours"] for row in weekly] == [90.0, 90.0, 90.0]
    monthly = utilisation(lab_ids=[week.lab.pk], period=period, bucket="month")["trend"]
    assert [row["booked_hours"] for row in monthly] == [0.0, 9.0]


def test_a_constant_number_of_queries_whatever_the_bookings(week, django_assert_max_num_queries):
    from labs.calendars import clear_cache

    clear_cache()
    with django_assert_max_num_queries(9) as few:
        utilisation(lab_ids=[week.center.pk, week.lab.pk], period=_period(), bucket="week")
    for day in range(11, 16):  # a week more of bookings, in another period
        from tests.reports.week import _book

        _book(week.printer, week.an, day, (9, 0), (10, 0), "completed", checked_in_at=at(2030, 3, day, 9))
    clear_cache()
    period = make_period(at(2030, 3, 4).date(), at(2030, 3, 17).date(), HCM)
    with django_assert_max_num_queries(len(few.captured_queries)):
        utilisation(lab_ids=[week.center.pk, week.lab.pk], period=period, bucket="week")


def test_sponsor_impact_counts_never_names(week):
    impact = sponsor_impact(partner=week.partner, period=_period())
    total = impact["total"]
    assert (total["booked_hours"], total["used_hours"]) == (6.0, 4.75)
    assert (total["people"], total["organizations"], total["trainings"]) == (2, 2, 1)
    assert total["subsidy_vnd"] == 50_000  # half of An's 100,000; SMEs get no subsidy
    audiences = {row["audience"]: row for row in impact["by_audience"]}
    assert audiences["student"]["booked_hours"] == 3.0 and audiences["sme"]["used_hours"] == 3.0
    assert "an.week" not in str(impact) and "Nguyễn" not in str(impact)


def test_network_figures_by_audience_lab_and_month(week):
    figures = network_figures(lab_ids=[week.center.pk, week.lab.pk], period=_period())
    total = figures["total"]
    assert total["people"] == 2 and total["organizations"] == 2
    assert total["people_by_audience"]["student"] == 1 and total["people_by_audience"]["sme"] == 1
    assert total["booked_hours"] == 9.0 and total["used_hours"] == 7.75
    assert total["sponsor_subsidy_vnd"] == 50_000
    assert figures["sponsors"][0]["name"] == "Festo Week"
    assert figures["by_lab"][0]["lab_id"] == week.lab.pk
    assert figures["by_month"][0]["booked_hours"] == 9.0
