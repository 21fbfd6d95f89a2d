"""Real-browser views of the reports and a statement, at desktop and phone widths, with screenshots.

The hand-computed week of tests/reports/week.py, seen by a center manager (utilisation with its
charts, the network's figures), by the sponsor's own person (its impact page) and by the SME's
billing contact (its March statement with the VietQR code).
"""

from __future__ import annotations

import pytest

from billing.services import statement_issue, statement_prepare
from labs.models import LabRole
from tests.e2e.conftest import screenshot
from tests.e2e.test_journeys import sign_in, with_server_password
from tests.factories import at, make_user
from tests.reports.week import after_march, build_week

pytestmark = pytest.mark.e2e

WIDTHS = {"desktop": (1280, 900), "phone": (390, 844)}


@pytest.fixture
def week(clock, daphne_server):
    clock.move_to(at(2030, 3, 20, 9))
    week = build_week()
    manager = with_server_password(make_user("giamdoc.vsic", audience="staff", first_name="Hạnh", last_name="Phạm"))
    LabRole.objects.create(user=manager, lab=week.center, role=LabRole.Role.MANAGER)
    partner_person = with_server_password(
        make_user("festo.week", audience="external", organization=week.partner.organization)
    )
    with_server_password(week.chi)
    clock.move_to(after_march())
    statement = statement_issue(
        statement=statement_prepare(issuer=week.issuer, month=at(2030, 3, 1).date(), organization=week.company)
    )
    return week, manager, partner_person, statement


def _open(page, base: str, username: str, path: str) -> None:
    """Sign in, then open ``path`` (its query string intact)."""
    sign_in(page, base, username, "/")
    page.goto(f"{base}{path}")


def _no_horizontal_scroll(page, width: int) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width + 1


@pytest.mark.parametrize("size", WIDTHS)
def test_a_center_manager_sees_utilisation_with_its_charts(week, daphne_server, new_page, size):
    data, manager, _partner, _statement = week
    width, height = WIDTHS[size]
    page = new_page(width=width, height=height)
    query = f"lab={data.center.pk}&start=2030-03-04&end=2030-03-10&bucket=week"
    _open(page, daphne_server.url, manager.username, f"/reports/?{query}")
    assert page.locator("svg.chart").count() == 4
    assert page.locator("#table-machines tbody tr").count() == 2
    kpis = page.inner_text("#kpis")
    assert "8,6%" in kpis and "7,75" in kpis  # 7.75 used ÷ 90 open, Vietnamese numbers
    assert page.locator("svg.chart title").first.text_content()  # each chart is named for screen readers
    assert page.locator("svg.chart[role=img]").count() == 4
    if size == "phone":
        _no_horizontal_scroll(page, width)
    screenshot(page, f"report-utilisation-{size}")
    with page.expect_download() as download:
        page.click("a[href$='export=xlsx']")
    assert download.value.suggested_filename.endswith(".xlsx")


@pytest.mark.parametrize("size", WIDTHS)
def test_the_network_page_for_the_province(week, daphne_server, new_page, size):
    _data, manager, _partner, _statement = week
    width, height = WIDTHS[size]
    page = new_page(width=width, height=height, locale="en-GB")
    _open(page, daphne_server.url, manager.username, "/reports/network/?start=2030-03-01&end=2030-03-31")
    page.select_option("#language-select", "en")
    page.click(".lang-switch button")
    page.wait_for_load_state("networkidle")
    assert "People served" in page.inner_text("main")
    assert page.locator("svg.chart").count() == 2
    if size == "phone":
        _no_horizontal_scroll(page, width)
    screenshot(page, f"report-network-{size}")


@pytest.mark.parametrize("size", WIDTHS)
def test_the_sponsor_sees_counts_never_names(week, daphne_server, new_page, size):
    data, _manager, partner_person, _statement = week
    width, height = WIDTHS[size]
    page = new_page(width=width, height=height)
    _open(
        page,
        daphne_server.url,
        partner_person.username,
        f"/reports/sponsors/{data.partner.slug}/?start=2030-03-01&end=2030-03-31",
    )
    text = page.inner_text("main")
    assert "50.000" in text  # the subsidy given
    assert "Nguyễn" not in text and "an.week" not in text
    if size == "phone":
        _no_horizontal_scroll(page, width)
    screenshot(page, f"report-sponsor-{size}")


@pytest.mark.parametrize("size", WIDTHS)
def test_the_billing_contact_reads_the_statement_and_its_vietqr(week, daphne_server, new_page, size):
    data, _manager, _partner, statement = week
    width, height = WIDTHS[size]
    page = new_page(width=width, height=height)
    _open(page, daphne_server.url, data.chi.username, "/billing/statements/")
    page.click(f"text={statement.number}")
    assert page.inner_text("#total").replace("\u00a0", " ") == "880.000 ₫"
    assert page.locator(".pay .qr svg").count() == 1
    assert "Tám trăm tám mươi nghìn đồng" in page.inner_text("main")
    if size == "phone":
        _no_horizontal_scroll(page, width)
    screenshot(page, f"statement-{size}")
