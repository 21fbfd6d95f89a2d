"""Admin scope, one test per cell of the README's "Who sees what in the admin" table.

A lab manager sees the people of their labs (sub-labs included: bookings, certifications, roles,
waitlists) with their contact data, and nobody else; organisations' billing data (tax code,
address, billing e-mail, phone) only of their own organisation. Admins see everything.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from bookings.models import WaitlistEntry
from demo.network import MANAGER_PERMISSIONS
from labs.models import CertificationGrant, LabRole, Member, Organization
from tests.factories import make_certification, make_lab, make_organization, make_resource, make_user
from tests.frontend.helpers import make_booking

pytestmark = pytest.mark.django_db

MANAGER_VIEWS = ["view_user", "view_member", "view_organization"]


def _staff(username: str, lab, *, organization=None):
    user = make_user(username, is_staff=True, organization=organization)
    user.user_permissions.add(*Permission.objects.filter(codename__in=MANAGER_VIEWS))
    LabRole.objects.create(user=user, lab=lab, role=LabRole.Role.MANAGER)
    return user


@pytest.fixture
def network():
    """A center with a sub-lab, an unrelated lab, their managers, people of each, two organisations."""
    center = make_lab("vsic")
    fablab = make_lab("eiu-fablab", parent=center)
    elsewhere = make_lab("cissc")
    own_org = make_organization(Organization.Kind.UNIVERSITY, name="Đại học Quốc tế Miền Đông")
    Organization.objects.filter(pk=own_org.pk).update(
        tax_code="3700000001", email="billing@eiu.example", address="Nam Kỳ Khởi Nghĩa", phone="0274 1111"
    )
    other_org = make_organization(Organization.Kind.SME, name="Công ty TNHH Cơ khí Sài Gòn")
    Organization.objects.filter(pk=other_org.pk).update(
        tax_code="0300000002", email="ketoan@cokhi.example", address="Quận 7", phone="028 2222"
    )
    machine = make_resource(fablab)
    other_machine = make_resource(elsewhere)
    people = {name: make_user(name) for name in ("booker", "holder", "waiting", "staffer", "outsider")}
    for name, user in people.items():
        get_user_model().objects.filter(pk=user.pk).update(email=f"{name}@people.example")
    Member.objects.filter(user=people["outsider"]).update(phone="0909 999 111")
    start = timezone.now() + timedelta(days=3)
    make_booking(machine, people["booker"], start, start + timedelta(hours=1))
    make_booking(other_machine, people["outsider"], start, start + timedelta(hours=1))
    CertificationGrant.objects.create(
        user=people["holder"], certification=make_certification(fablab), granted_at=timezone.now()
    )
    WaitlistEntry.objects.create(
        user=people["waiting"],
        resource=machine,
        window_start=start,
        window_end=start + timedelta(hours=2),
        duration=timedelta(hours=1),
    )
    LabRole.objects.create(user=people["staffer"], lab=fablab, role=LabRole.Role.STAFF)
    return {
        "center": center,
        "fablab": fablab,
        "lab_manager": _staff("lab-manager", fablab, organization=own_org),
        "center_manager": _staff("center-manager", center),
        "other_manager": _staff("other-manager", elsewhere),
        "admin": make_user("root", is_staff=True, is_superuser=True),
        "own_org": own_org,
        "other_org": other_org,
        **people,
    }


def _as(client, user):
    client.force_login(user)
    return client


def _listed(client, model_admin_url: str, **params) -> set[str]:
    response = client.get(model_admin_url, params)
    assert response.status_code == 200
    return {str(obj) for obj in response.context["cl"].result_list}


USERS = "/admin/auth/user/"
MEMBERS = "/admin/labs/member/"
ORGS = "/admin/labs/organization/"
IN_LAB = {"booker", "holder", "waiting", "staffer", "lab-manager"}


# --- People (users and member profiles) --------------------------------------------------------------


def test_a_lab_manager_lists_the_people_of_their_lab_and_nobody_else(client, network):
    listed = _listed(_as(client, network["lab_manager"]), USERS)
    assert IN_LAB <= listed
    assert "outsider" not in listed and "other-manager" not in listed


def test_a_center_manager_lists_the_people_of_its_sub_labs(client, network):
    listed = _listed(_as(client, network["center_manager"]), USERS)
    assert {"booker", "holder", "waiting", "staffer"} <= listed and "outsider" not in listed


def test_the_other_labs_manager_lists_only_their_own_people(client, network):
    listed = _listed(_as(client, network["other_manager"]), USERS)
    assert "outsider" in listed and not ({"booker", "holder", "waiting", "staffer"} & listed)


def test_an_admin_lists_everyone(client, network):
    assert IN_LAB | {"outsider", "other-manager", "root"} <= _listed(_as(client, network["admin"]), USERS)


def test_a_lab_manager_sees_the_contact_data_of_their_labs_people(client, network):
    _as(client, network["lab_manager"])
    page = client.get(reverse("admin:auth_user_change", args=[network["booker"].pk]))
    assert page.status_code == 200 and "booker@people.example" in page.content.decode()
    assert "booker@people.example" in client.get(USERS).content.decode()


def test_a_lab_manager_cannot_open_an_outsiders_page(client, network):
    _as(client, network["lab_manager"])
    page = client.get(reverse("admin:auth_user_change", args=[network["outsider"].pk]))
    assert page.status_code == 302 and page.url == reverse("admin:index")
    assert "outsider@people.example" not in client.get(USERS).content.decode()


def test_a_lab_manager_cannot_find_an_outsider_by_e_mail(client, network):
    listed = _listed(_as(client, network["lab_manager"]), USERS, q="outsider@people.example")
    assert listed == set()


def test_a_lab_manager_picks_any_account_by_username_in_a_picker_without_its_e_mail(client, network):
    _as(client, network["lab_manager"])
    params = {"app_label": "labs", "model_name": "certificationgrant", "field_name": "user"}
    found = client.get(reverse("admin:autocomplete"), {**params, "term": "outsider"}).json()["results"]
    assert [r["text"] for r in found] == ["outsider"]
    assert "people.example" not in str(found)
    by_mail = client.get(reverse("admin:autocomplete"), {**params, "term": "outsider@people"}).json()["results"]
    assert by_mail == []


def test_a_lab_manager_lists_the_member_profiles_of_their_lab_only(client, network):
    _as(client, network["lab_manager"])
    users = {m.user.username for m in client.get(MEMBERS).context["cl"].result_list}
    assert {"booker", "holder", "waiting", "staffer"} <= users and "outsider" not in users
    assert "0909 999 111" not in client.get(MEMBERS).content.decode()
    outsider_profile = Member.objects.get(user=network["outsider"])
    assert client.get(reverse("admin:labs_member_change", args=[outsider_profile.pk])).status_code == 302


def test_an_admin_sees_every_member_profile_with_its_phone(client, network):
    _as(client, network["admin"])
    users = {m.user.username for m in client.get(MEMBERS).context["cl"].result_list}
    assert {"booker", "outsider", "other-manager"} <= users
    outsider_profile = Member.objects.get(user=network["outsider"])
    page = client.get(reverse("admin:labs_member_change", args=[outsider_profile.pk]))
    assert "0909 999 111" in page.content.decode()


def test_a_lab_manager_sees_the_phone_of_their_labs_people(client, network):
    Member.objects.filter(user=network["booker"]).update(phone="0912 000 333")
    _as(client, network["lab_manager"])
    profile = Member.objects.get(user=network["booker"])
    assert "0912 000 333" in client.get(reverse("admin:labs_member_change", args=[profile.pk])).content.decode()


# --- Organisations' billing data ---------------------------------------------------------------------


def test_a_lab_manager_lists_organisations_without_billing_data(client, network):
    html = _as(client, network["lab_manager"]).get(ORGS).content.decode()
    assert "Công ty TNHH Cơ khí Sài Gòn" in html
    for private in ("0300000002", "ketoan@cokhi.example", "3700000001", "billing@eiu.example"):
        assert private not in html


def test_a_lab_manager_sees_no_billing_data_of_another_organisation(client, network):
    _as(client, network["lab_manager"])
    html = client.get(reverse("admin:labs_organization_change", args=[network["other_org"].pk])).content.decode()
    for private in ("0300000002", "ketoan@cokhi.example", "Quận 7", "028 2222"):
        assert private not in html


def test_a_lab_manager_sees_the_billing_data_of_their_own_organisation(client, network):
    _as(client, network["lab_manager"])
    html = client.get(reverse("admin:labs_organization_change", args=[network["own_org"].pk])).content.decode()
    for private in ("3700000001", "billing@eiu.example", "Nam Kỳ Khởi Nghĩa", "0274 1111"):
        assert private in html


def test_a_lab_manager_cannot_find_an_organisation_by_its_tax_code(client, network):
    assert _listed(_as(client, network["lab_manager"]), ORGS, q="0300000002") == set()


def test_an_admin_sees_every_organisations_billing_data(client, network):
    _as(client, network["admin"])
    assert "0300000002" in client.get(ORGS).content.decode()
    html = client.get(reverse("admin:labs_organization_change", args=[network["other_org"].pk])).content.decode()
    for private in ("0300000002", "ketoan@cokhi.example", "Quận 7", "028 2222"):
        assert private in html
    assert _listed(client, ORGS, q="0300000002") == {"Công ty TNHH Cơ khí Sài Gòn"}


def test_every_demo_manager_permission_is_covered_here():
    # The demo's lab managers may view users, member profiles and organisations, nothing more of people.
    people = {
        (app, model): actions
        for app, model, actions in MANAGER_PERMISSIONS
        if model in {"user", "member", "organization"}
    }
    assert people == {("auth", "user"): ("view",), ("labs", "member"): ("view",), ("labs", "organization"): ("view",)}
    assert get_user_model()._meta.label == "auth.User"
