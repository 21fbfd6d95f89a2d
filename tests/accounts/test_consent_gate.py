"""The consent gate: people whose accounts predate consent are asked before anything else (web), and
refused writes until they answer (API, 403 ``consent_required``); people who consented never see it."""

from __future__ import annotations

import importlib
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.apps import apps as global_apps
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import gate, services
from accounts.models import Consent, Purpose
from labs.models import Member
from tests.api.conftest import iso, next_weekday
from tests.factories import make_api_token, make_equipment, make_lab, make_user, open_weekdays

pytestmark = pytest.mark.django_db

PRIVACY = "/me/privacy/"


def gated_to(response) -> dict[str, list[str]] | None:
    """The consent page's query when ``response`` sends the person there, else None."""
    if response.status_code != 302:
        return None
    parts = urlsplit(response["Location"])
    return parse_qs(parts.query) if parts.path == PRIVACY else None


@pytest.fixture
def older(db):
    """A member whose account was made before consent existed: no choice recorded, flag off."""
    return make_user("truoc", service_consent=False, consents=False)


@pytest.fixture
def machine(db):
    lab = make_lab()
    open_weekdays(lab)
    return make_equipment(lab)


def booking_body(machine, hour: int = 9) -> dict:
    start = next_weekday(days_ahead=10, hour=hour)
    return {"resource": machine.pk, "start": iso(start), "end": iso(start + timedelta(hours=1))}


# --- The web -------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/me/", "/me/bookings/", "/find/", "/organisation/", "/manage/", "/admin/"])
def test_a_person_whose_account_predates_consent_sees_the_consent_page_first(client, older, path):
    client.force_login(older)
    response = client.get(path)
    assert gated_to(response) == {"welcome": ["1"], "next": [path]}


def test_a_form_sent_before_the_choice_does_nothing_and_goes_to_the_consent_page(client, older):
    client.force_login(older)
    response = client.post(reverse("profile_qr_rotate"))
    assert gated_to(response) == {"welcome": ["1"]}  # no way back to a POST


def test_the_consent_page_notice_sign_out_language_and_wall_screens_stay_open(client, older, machine):
    client.force_login(older)
    for path in (PRIVACY, "/privacy/", f"/screens/{machine.lab.slug}/", "/me/privacy/my-data.json"):
        response = client.get(path)
        assert response.status_code == 200, path
    assert client.post("/i18n/setlang/", {"language": "en", "next": "/privacy/"}).status_code == 302
    assert gated_to(client.post("/i18n/setlang/", {"language": "en", "next": "/privacy/"})) is None
    assert client.get("/static/frontend/favicon.svg").status_code in (200, 404)  # never the consent page
    assert gated_to(client.get("/api/me/")) is None
    response = client.post(reverse("logout"))
    assert response.status_code == 302 and gated_to(response) is None


def test_choosing_records_the_consent_and_returns_to_the_page_wanted(client, older):
    client.force_login(older)
    page = client.get(f"{PRIVACY}?welcome=1&next=/me/bookings/")
    assert page.status_code == 200
    assert b'name="next" value="/me/bookings/"' in page.content
    assert b'name="consent_service"' in page.content  # asked, unticked
    response = client.post(PRIVACY, {"consent_service": "on", "next": "/me/bookings/"})
    assert response.status_code == 302 and response["Location"] == "/me/bookings/"
    consent = Consent.objects.get(user=older, purpose=Purpose.SERVICE)
    assert consent.granted and consent.source == Consent.Source.PROFILE
    # The optional purposes are recorded too, as the boxes were left: no.
    assert set(Consent.objects.filter(user=older, granted=False).values_list("purpose", flat=True)) == {
        Purpose.EMAIL_REMINDERS,
        Purpose.SCREEN_INITIALS,
    }
    assert Member.objects.get(user=older).service_consent
    assert client.get("/me/bookings/").status_code == 200
    assert client.get("/").status_code == 200


def test_the_way_back_never_leaves_the_site(client, older):
    client.force_login(older)
    response = client.post(PRIVACY, {"consent_service": "on", "next": "https://evil.example/"})
    assert response.status_code == 302 and response["Location"] == PRIVACY


def test_without_a_yes_to_the_service_the_gate_stays(client, older):
    client.force_login(older)
    response = client.post(PRIVACY, {"consent_email_reminders": "on", "next": "/me/"})
    assert response["Location"] == PRIVACY
    assert Consent.objects.filter(user=older, purpose=Purpose.EMAIL_REMINDERS, granted=True).exists()
    assert not Consent.objects.filter(user=older, purpose=Purpose.SERVICE).exists()
    assert gated_to(client.get("/me/")) is not None


@pytest.mark.parametrize("path", ["/", "/me/", "/me/bookings/", "/find/", PRIVACY, "/privacy/"])
def test_a_person_who_consented_is_never_redirected(client, path):
    person = make_user("dadongy", service_consent=False)
    services.consents_update(user=person, choices={Purpose.SERVICE: True})
    person = type(person).objects.get(pk=person.pk)  # as signing in loads them
    client.force_login(person)
    assert client.session[gate.SESSION_KEY] == person.pk  # known from the sign-in: pages ask nothing
    response = client.get(path)
    assert response.status_code == 200, response.get("Location")


def test_the_gate_costs_a_consented_person_no_query(client, django_assert_num_queries):
    person = make_user("khongtruyvan")
    client.force_login(person)
    request = client.get("/privacy/").wsgi_request
    with django_assert_num_queries(0):
        assert gate.consented_in_session(request, person)


def test_an_admin_made_without_a_profile_gets_one_when_consenting(client):
    from django.contrib.auth import get_user_model

    admin = get_user_model().objects.create_superuser("goc", "goc@example.test", "pw")
    client.force_login(admin)
    assert gated_to(client.get("/admin/")) is not None
    client.post(PRIVACY, {"consent_service": "on", "next": "/admin/"})
    assert Member.objects.get(user=admin).service_consent
    assert client.get("/admin/").status_code == 200


def test_deleting_the_account_turns_the_flag_off(older):
    services.consents_update(user=older, choices={Purpose.SERVICE: True})
    services.account_delete(user=older, confirm_username=older.get_username())
    assert not Member.objects.get(user=older).service_consent


# --- The API -------------------------------------------------------------------------------------


def test_the_api_refuses_writes_until_the_service_is_consented_to(older, machine):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {make_api_token(older)}")
    assert client.get("/api/me/").status_code == 200  # reading stays open
    refused = client.post("/api/bookings/", booking_body(machine), format="json")
    assert refused.status_code == 403
    assert refused.json()["code"] == "consent_required"
    assert set(refused.json()["messages"]) == {"vi", "en"}
    answered = client.post("/api/me/consents/", {"consents": {"service": True}}, format="json")
    assert answered.status_code == 200, answered.json()
    assert {row["purpose"]: row["granted"] for row in answered.json()}[Purpose.SERVICE]
    # At once, though this process remembered the token without the consent a moment ago.
    created = client.post("/api/bookings/", booking_body(machine), format="json")
    assert created.status_code == 201, created.json()


def test_the_api_through_the_web_session_has_the_same_gate(older, machine):
    client = APIClient()
    client.force_login(older)
    refused = client.post("/api/bookings/", booking_body(machine), format="json")
    assert refused.status_code == 403 and refused.json()["code"] == "consent_required"
    client.post("/api/me/consents/", {"consents": {"service": True}}, format="json")
    assert client.post("/api/bookings/", booking_body(machine), format="json").status_code == 201


def test_before_consenting_one_may_still_sign_out_or_delete_the_account(older):
    client = APIClient()
    secret = make_api_token(older)
    client.credentials(HTTP_AUTHORIZATION=f"Token {secret}")
    response = client.post("/api/me/delete/", {"confirm_username": "someone-else"}, format="json")
    assert response.json()["code"] == "deletion_not_confirmed"  # past the gate, refused for its own reason
    assert client.post("/api/auth/logout/").status_code == 204


def test_someone_who_consented_writes_through_the_api_as_before(machine):
    person = make_user("codongy")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {make_api_token(person)}")
    assert client.post("/api/bookings/", booking_body(machine), format="json").status_code == 201


# --- The migration that sets the flag from the log ---------------------------------------------------


def test_the_migration_sets_the_flag_from_each_persons_latest_choice(clock):
    migration = importlib.import_module("accounts.migrations.0002_consent_flag_and_retention_warning")
    yes, changed_mind, never = make_user(), make_user(), make_user()
    Member.objects.update(service_consent=False)
    now = timezone.now()

    def choice(user, granted, minutes):
        Consent.objects.create(
            user=user,
            purpose=Purpose.SERVICE,
            granted=granted,
            notice_version="2026-01",
            source=Consent.Source.SIGNUP,
            recorded_at=now - timedelta(minutes=minutes),
        )

    choice(yes, True, 10)
    choice(changed_mind, True, 10)
    choice(changed_mind, False, 5)
    Consent.objects.create(
        user=never, purpose=Purpose.EMAIL_REMINDERS, granted=True, notice_version="2026-01", source="profile"
    )
    migration.flags_from_log(global_apps, None)
    flags = dict(Member.objects.values_list("user_id", "service_consent"))
    assert flags == {yes.pk: True, changed_mind.pk: False, never.pk: False}
