"""Catalogue endpoints: labs (list, tree), resources with filters, equipment, spaces, partners, organisations."""

from __future__ import annotations

from datetime import timedelta

import pytest

from labs.models import Resource
from tests.api.conftest import iso, make_booking, next_weekday
from tests.factories import make_lab

pytestmark = pytest.mark.django_db


def test_labs_list_carries_time_zone_parent_and_children(world):
    body = world.client("anonymous").get("/api/labs/").json()
    by_slug = {lab["slug"]: lab for lab in body["results"]}
    assert by_slug["vsic"]["children"] == [world.lab.pk]
    assert by_slug["eiu-fablab"]["parent"] == world.center.pk
    assert by_slug["eiu-fablab"]["timezone"] == "Asia/Ho_Chi_Minh"


def test_lab_tree_nests_sub_labs_to_any_depth(world):
    make_lab("laser-corner", parent=world.lab)
    tree = world.client("anonymous").get("/api/labs/tree/").json()
    center = next(node for node in tree if node["slug"] == "vsic")
    fablab = center["children"][0]
    assert fablab["slug"] == "eiu-fablab"
    assert [kid["slug"] for kid in fablab["children"]] == ["laser-corner"]
    assert all(node["slug"] != "eiu-fablab" for node in tree)


def test_unknown_lab_is_404(world):
    response = world.client("anonymous").get("/api/labs/999999/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_resources_filter_by_lab_includes_sub_labs(world):
    client = world.client("anonymous")
    ids = {r["id"] for r in client.get("/api/resources/", {"lab": world.center.pk}).json()["results"]}
    assert ids == {world.machine.pk, world.space.pk}
    ids = {r["id"] for r in client.get("/api/resources/", {"lab_slug": "cissc"}).json()["results"]}
    assert ids == {world.other_machine.pk}


def test_resources_filter_by_category_sponsor_status_and_certification(world):
    world.machine.required_certifications.add(world.certification)
    world.other_machine.status = Resource.Status.DOWN
    world.other_machine.save()
    client = world.client("anonymous")
    assert {r["id"] for r in client.get("/api/resources/", {"category": "laser-cutter"}).json()["results"]} == {
        world.machine.pk,
        world.other_machine.pk,
    }
    assert [r["id"] for r in client.get("/api/resources/", {"sponsor": "festo"}).json()["results"]] == [
        world.machine.pk
    ]
    assert [r["id"] for r in client.get("/api/resources/", {"status": "down"}).json()["results"]] == [
        world.other_machine.pk
    ]
    assert [r["id"] for r in client.get("/api/resources/", {"certification": "laser-safety"}).json()["results"]] == [
        world.machine.pk
    ]
    assert [r["id"] for r in client.get("/api/resources/", {"kind": "space"}).json()["results"]] == [world.space.pk]


def test_resource_filters_refuse_bad_values_with_400(world):
    client = world.client("anonymous")
    for params in ({"status": "exploded"}, {"lab": "abc"}, {"lab": "-1"}, {"lab": str(10**40)}, {"kind": "x"}):
        response = client.get("/api/resources/", params)
        assert response.status_code == 400, params
        assert response.json()["code"] == "validation_error"


def test_resource_representation_has_rules_category_sponsor_and_time_zone(world):
    body = world.client("anonymous").get(f"/api/resources/{world.machine.pk}/").json()
    assert body["category"]["slug"] == "laser-cutter"
    assert body["sponsor"]["slug"] == "festo"
    assert body["timezone"] == "Asia/Ho_Chi_Minh"
    assert body["min_duration_minutes"] == 30
    assert body["max_duration_minutes"] == 240


def test_equipment_and_spaces_endpoints_list_their_kind_only(world):
    client = world.client("anonymous")
    assert {r["id"] for r in client.get("/api/equipment/").json()["results"]} == {
        world.machine.pk,
        world.other_machine.pk,
    }
    assert [r["id"] for r in client.get("/api/spaces/").json()["results"]] == [world.space.pk]
    assert client.get(f"/api/equipment/{world.machine.pk}/").json()["sponsor"]["name"] == "Festo"
    assert client.get(f"/api/spaces/{world.machine.pk}/").status_code == 404


def test_categories_and_partners_are_public(world):
    client = world.client("anonymous")
    assert [c["slug"] for c in client.get("/api/categories/").json()["results"]] == ["laser-cutter"]
    partners = client.get("/api/partners/").json()["results"]
    assert partners[0]["name"] == "Festo" and partners[0]["equipment_count"] == 1


def test_organisations_need_sign_in_and_hide_contact_details_from_non_members(world):
    assert world.client("anonymous").get("/api/organizations/").status_code == 401
    world.sme_org.tax_code = "0312345678"
    world.sme_org.save()
    outsider = world.client("student").get(f"/api/organizations/{world.sme_org.pk}/").json()
    member = world.client("sme").get(f"/api/organizations/{world.sme_org.pk}/").json()
    assert outsider["tax_code"] is None
    assert member["tax_code"] == "0312345678"


def test_partner_usage_is_aggregated_for_the_partners_own_people(world):
    start = next_weekday(hour=9)
    make_booking(world.machine, world.users["student"], start, start + timedelta(hours=2))
    make_booking(
        world.machine,
        world.users["sme"],
        start + timedelta(hours=3),
        start + timedelta(hours=4),
        organization=world.sme_org,
    )
    params = {"start": iso(start - timedelta(days=1)), "end": iso(start + timedelta(days=1))}
    body = world.client("partner").get(f"/api/partners/{world.partner.pk}/usage/", params).json()
    assert body["total_hours"] == 3.0
    assert {row["audience"]: row["hours"] for row in body["by_audience"]} == {"student": 2.0, "sme": 1.0}
    assert {row["organization"] for row in body["by_organization"]} == {None, world.sme_org.name}
    assert "student" not in str(body["by_resource"])  # no usernames anywhere


def test_partner_usage_is_403_for_other_users(world):
    for role in ("student", "sme", "lab_manager"):
        response = world.client(role).get(f"/api/partners/{world.partner.pk}/usage/")
        assert response.status_code == 403, role
        assert response.json()["code"] == "permission_denied"


def test_certifications_are_public_and_filterable_by_lab(world):
    body = world.client("anonymous").get("/api/certifications/", {"lab": world.lab.pk}).json()
    assert [c["code"] for c in body["results"]] == ["laser-safety"]


def test_pagination_respects_page_size(world):
    body = world.client("anonymous").get("/api/resources/", {"page_size": 1}).json()
    assert body["count"] == 3 and len(body["results"]) == 1 and body["next"]
    assert world.client("anonymous").get("/api/resources/", {"page": 99}).status_code == 404


def test_price_quote_uses_the_callers_audience_rate(world):
    from labs.models import ResourceRate

    ResourceRate.objects.create(resource=world.machine, audience="sme", hourly_rate_vnd=150_000)
    start = next_weekday(hour=9)
    params = {"start": iso(start), "end": iso(start + timedelta(hours=2))}
    body = world.client("sme").get(f"/api/resources/{world.machine.pk}/quote/", params).json()
    assert body["hourly_rate_vnd"] == 150_000
    assert body["price_vnd"] == 300_000
    assert world.client("anonymous").get(f"/api/resources/{world.machine.pk}/quote/", params).status_code == 401
    bad = world.client("sme").get(f"/api/resources/{world.machine.pk}/quote/", {"start": "x", "end": "y"})
    assert bad.status_code == 400
