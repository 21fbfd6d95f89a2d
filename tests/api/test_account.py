"""Sign-in and sign-out (token and session with CSRF), me, certifications and grants, series, waitlist, feeds."""

from __future__ import annotations

import io
import zipfile
from datetime import timedelta

import pytest
from django.utils import timezone
from icalendar import Calendar
from knox.crypto import hash_token
from rest_framework.test import APIClient

from api.models import ApiToken
from bookings.models import BookingStatus, FeedToken, WaitlistEntry
from labs.models import CertificationGrant
from tests.api.conftest import iso, make_booking, next_weekday
from tests.factories import grant

pytestmark = pytest.mark.django_db


# --- Sign-in -----------------------------------------------------------------------------------


def test_login_returns_a_token_that_authenticates(world):
    response = APIClient().post("/api/auth/login/", {"username": "student", "password": "pw"}, format="json")
    assert response.status_code == 200
    token = response.json()["token"]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get("/api/me/").json()["username"] == "student"


def test_login_with_a_wrong_password_is_400_invalid_credentials(world):
    response = APIClient().post("/api/auth/login/", {"username": "student", "password": "nope"}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_credentials"


def test_login_without_fields_names_them(world):
    response = APIClient().post("/api/auth/login/", {}, format="json")
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"username", "password"}


def test_logout_deletes_the_token(world):
    token = (
        APIClient().post("/api/auth/login/", {"username": "student", "password": "pw"}, format="json").json()["token"]
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.post("/api/auth/logout/").status_code == 204
    assert not ApiToken.objects.filter(digest=hash_token(token)).exists()
    response = client.get("/api/me/")
    assert response.status_code == 401
    assert response.json()["code"] == "authentication_failed"


def test_session_writes_need_a_csrf_token(world):
    client = APIClient(enforce_csrf_checks=True)
    assert client.post("/api/auth/login/", {"username": "student", "password": "pw"}, format="json").status_code == 200
    start = next_weekday(hour=9)
    payload = {"resource": world.machine.pk, "start": iso(start), "end": iso(start + timedelta(hours=1))}
    refused = client.post("/api/bookings/", payload, format="json")
    assert refused.status_code == 403
    assert refused.json()["code"] == "permission_denied"
    assert client.get("/api/me/").status_code == 200  # reads need no CSRF token
    csrf = client.cookies["csrftoken"].value
    accepted = client.post("/api/bookings/", payload, format="json", HTTP_X_CSRFTOKEN=csrf)
    assert accepted.status_code == 201, accepted.json()


def test_a_bad_token_is_401_authentication_failed(world):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    response = client.get("/api/labs/")
    assert response.status_code == 401
    assert response.json()["code"] == "authentication_failed"


def test_anonymous_clients_are_throttled_with_429_and_retry_after(world, monkeypatch):
    from rest_framework.throttling import AnonRateThrottle, UserRateThrottle

    # The rates are read when a throttle is made; monkeypatch restores the class attribute afterwards.
    monkeypatch.setattr(AnonRateThrottle, "THROTTLE_RATES", {"anon": "3/minute", "user": "5/minute"})
    monkeypatch.setattr(UserRateThrottle, "THROTTLE_RATES", {"anon": "3/minute", "user": "5/minute"})
    client = APIClient()
    statuses = [client.get("/api/labs/").status_code for _ in range(3)]
    assert statuses == [200, 200, 200]
    last = client.get("/api/labs/")
    assert last.status_code == 429
    assert last.json()["code"] == "throttled"
    assert int(last["Retry-After"]) > 0


# --- Me ----------------------------------------------------------------------------------------


def test_me_shows_profile_and_roles(world):
    body = world.client("staff").get("/api/me/").json()
    assert body["audience"] == "staff"
    assert body["roles"] == [{"lab": world.lab.pk, "role": "staff"}]
    assert world.client("sme").get("/api/me/").json()["organization"] == world.sme_org.pk


def test_my_certifications_lists_my_grants_with_validity(world):
    grant(world.users["student"], world.certification, granted_at=timezone.now() - timedelta(days=1))
    grant(
        world.users["student"],
        world.other_certification,
        granted_at=timezone.now() - timedelta(days=10),
        expires_at=timezone.now() - timedelta(days=1),
    )
    body = world.client("student").get("/api/me/certifications/").json()
    assert {(g["certification"]["code"], g["valid"]) for g in body} == {("laser-safety", True), ("cnc-safety", False)}
    assert world.client("sme").get("/api/me/certifications/").json() == []


def test_my_quota_shows_hours_used_against_the_limit(world):
    from bookings.models import BookingPolicy, QuotaRule

    policy = BookingPolicy.objects.create(lab=world.center)
    QuotaRule.objects.create(policy=policy, audience="student", max_hours_per_week=4, max_active_bookings=3)
    start = timezone.now().astimezone(world.lab.tz) + timedelta(minutes=1)
    make_booking(world.machine, world.users["student"], start, start + timedelta(hours=1, minutes=30))
    rows = world.client("student").get("/api/me/quota/").json()
    assert len(rows) == 1
    assert rows[0]["max_hours_per_week"] == 4.0
    assert rows[0]["active_bookings"] == 1
    # The booking counts for the week it starts in, which is this week unless it crosses into the next.
    assert rows[0]["used_hours_this_week"] in (1.5, 0.0)
    assert world.client("sme").get("/api/me/quota/").json() == []


# --- Certification grants -------------------------------------------------------------------------


def test_manager_grants_a_certification_and_the_student_can_then_book(world):
    world.machine.required_certifications.add(world.certification)
    response = world.client("lab_manager").post(
        "/api/certification-grants/",
        {"certification": world.certification.pk, "user": world.users["student"].pk},
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["granted_by"]["username"] == "lab_manager"
    assert response.json()["valid"] is True
    start = next_weekday(hour=9)
    booked = world.client("student").post(
        "/api/bookings/",
        {"resource": world.machine.pk, "start": iso(start), "end": iso(start + timedelta(hours=1))},
        format="json",
    )
    assert booked.status_code == 201


def test_granting_to_an_unknown_user_names_the_field(world):
    response = world.client("lab_manager").post(
        "/api/certification-grants/", {"certification": world.certification.pk, "username": "ghost"}, format="json"
    )
    assert response.status_code == 400
    assert "user" in response.json()["errors"]


def test_granting_with_an_expiry_before_now_is_400(world):
    response = world.client("lab_manager").post(
        "/api/certification-grants/",
        {
            "certification": world.certification.pk,
            "username": "student",
            "expires_at": iso(timezone.now() - timedelta(days=1)),
        },
        format="json",
    )
    assert response.status_code == 400
    assert "expires_at" in response.json()["errors"]


def test_revoking_keeps_the_grant_as_history(world):
    held = grant(world.users["student"], world.certification, granted_at=timezone.now() - timedelta(days=1))
    response = world.client("lab_manager").post(
        f"/api/certification-grants/{held.pk}/revoke/", {"reason": "Vi phạm an toàn"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["valid"] is False
    held = CertificationGrant.objects.get(pk=held.pk)
    assert held.revoked_by == world.users["lab_manager"] and "Vi phạm" in held.note


def test_managers_list_grants_of_their_labs_certifications_only(world):
    grant(world.users["student"], world.certification, granted_at=timezone.now() - timedelta(days=1))
    grant(world.users["student"], world.other_certification, granted_at=timezone.now() - timedelta(days=1))
    codes = [
        g["certification"]["code"]
        for g in world.client("lab_manager").get("/api/certification-grants/").json()["results"]
    ]
    assert codes == ["laser-safety"]


# --- Series and waitlist ------------------------------------------------------------------------


def test_series_books_weekly_occurrences_and_reports_each(world):
    first = next_weekday(days_ahead=7, hour=13)
    response = world.client("student").post(
        "/api/series/",
        {
            "resource": world.machine.pk,
            "first_start": iso(first),
            "duration_minutes": 60,
            "rrule": "FREQ=WEEKLY;COUNT=3",
            "mode": "skip_conflicts",
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert [line["status"] for line in body["report"]] == ["booked", "booked", "booked"]
    assert len(body["bookings"]) == 3
    cancelled = world.client("student").post(f"/api/series/{body['id']}/cancel/", {}, format="json")
    assert cancelled.status_code == 200
    assert world.client("student").get("/api/bookings/", {"status": "confirmed"}).json()["count"] == 0


def test_series_with_a_bad_rule_is_refused_with_its_code(world):
    response = world.client("student").post(
        "/api/series/",
        {
            "resource": world.machine.pk,
            "first_start": iso(next_weekday(hour=13)),
            "duration_minutes": 60,
            "rrule": "NONSENSE",
        },
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["code"] == "series_invalid_rrule"


def test_series_all_or_nothing_refuses_every_occurrence_when_one_is_taken(world):
    first = next_weekday(days_ahead=7, hour=13)
    make_booking(world.machine, world.users["sme"], first + timedelta(days=7), first + timedelta(days=7, hours=1))
    response = world.client("student").post(
        "/api/series/",
        {
            "resource": world.machine.pk,
            "first_start": iso(first),
            "duration_minutes": 60,
            "rrule": "FREQ=WEEKLY;COUNT=3",
            "mode": "all_or_nothing",
        },
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["code"] == "series_refused"
    assert world.client("student").get("/api/bookings/").json()["count"] == 0


def test_waitlist_join_list_and_leave(world):
    start = next_weekday(hour=8)
    client = world.client("student")
    joined = client.post(
        "/api/waitlist/",
        {
            "resource": world.machine.pk,
            "window_start": iso(start),
            "window_end": iso(start + timedelta(hours=9)),
            "duration_minutes": 60,
        },
        format="json",
    )
    assert joined.status_code == 201, joined.json()
    assert joined.json()["status"] == "waiting"
    assert [e["id"] for e in client.get("/api/waitlist/").json()["results"]] == [joined.json()["id"]]
    assert world.client("sme").get(f"/api/waitlist/{joined.json()['id']}/").status_code == 404
    left = client.post(f"/api/waitlist/{joined.json()['id']}/leave/")
    assert left.status_code == 200 and left.json()["status"] == "cancelled"


def test_waitlist_window_must_be_ordered(world):
    start = next_weekday(hour=8)
    response = world.client("student").post(
        "/api/waitlist/",
        {
            "resource": world.machine.pk,
            "window_start": iso(start),
            "window_end": iso(start - timedelta(hours=1)),
            "duration_minutes": 60,
        },
        format="json",
    )
    assert response.status_code == 400
    assert "window_end" in response.json()["errors"]


def test_accepting_a_waitlist_entry_without_an_offer_is_409(world):
    start = next_weekday(hour=8)
    entry = WaitlistEntry.objects.create(
        resource=world.machine,
        user=world.users["student"],
        window_start=start,
        window_end=start + timedelta(hours=8),
        duration=timedelta(hours=1),
    )
    response = world.client("student").post(f"/api/waitlist/{entry.pk}/accept/")
    assert response.status_code == 409
    assert response.json()["code"] == "invalid_transition"


def test_accepting_an_offered_hold_books_it(world):
    start = next_weekday(hour=10)
    entry = WaitlistEntry.objects.create(
        resource=world.machine,
        user=world.users["student"],
        window_start=start,
        window_end=start + timedelta(hours=4),
        duration=timedelta(hours=1),
        status=WaitlistEntry.Status.OFFERED,
        offered_start=start,
        offered_end=start + timedelta(hours=1),
        offered_at=timezone.now(),
        offer_expires_at=timezone.now() + timedelta(minutes=30),
    )
    response = world.client("student").post(f"/api/waitlist/{entry.pk}/accept/")
    assert response.status_code == 201, response.json()
    assert response.json()["start"] == iso(start)


# --- iCal feeds ------------------------------------------------------------------------------------


def _events(response):
    assert response["Content-Type"].startswith("text/calendar")
    return list(Calendar.from_ical(response.content).walk("VEVENT"))


def test_user_feed_lists_my_bookings_behind_a_secret_url(world):
    start = next_weekday(hour=9)
    make_booking(world.machine, world.users["student"], start, start + timedelta(hours=1), purpose="Đồ án")
    make_booking(world.machine, world.users["sme"], start + timedelta(hours=2), start + timedelta(hours=3))
    feed = world.client("student").post("/api/me/feeds/", {}, format="json")
    assert feed.status_code == 201
    url = feed.json()["url"]
    events = _events(APIClient().get(url))
    assert len(events) == 1
    assert events[0].decoded("dtstart") == start
    assert "Đồ án" in str(events[0]["description"])


def test_resource_feed_shows_busy_times_without_personal_data(world):
    start = next_weekday(hour=9)
    make_booking(world.machine, world.users["sme"], start, start + timedelta(hours=1), purpose="Bí mật công ty")
    feed = world.client("student").post("/api/me/feeds/", {"resource": world.machine.pk}, format="json").json()
    response = APIClient().get(feed["url"])
    events = _events(response)
    assert len(events) == 1
    assert b"sme" not in response.content and "Bí mật".encode() not in response.content


def test_rotating_a_feed_token_kills_the_old_url(world):
    client = world.client("student")
    feed = client.post("/api/me/feeds/", {}, format="json").json()
    assert client.post("/api/me/feeds/", {}, format="json").json()["token"] == feed["token"]  # same feed asked again
    rotated = client.post(f"/api/me/feeds/{feed['id']}/rotate/").json()
    assert rotated["token"] != feed["token"]
    assert APIClient().get(feed["url"]).status_code == 404
    assert APIClient().get(rotated["url"]).status_code == 200


def test_someone_elses_feed_token_cannot_be_rotated_or_seen(world):
    feed = world.client("student").post("/api/me/feeds/", {}, format="json").json()
    assert world.client("sme").post(f"/api/me/feeds/{feed['id']}/rotate/").status_code == 404
    assert world.client("sme").get("/api/me/feeds/").json() == []


def test_deleting_a_feed_withdraws_its_url(world):
    client = world.client("student")
    feed = client.post("/api/me/feeds/", {}, format="json").json()
    assert client.delete(f"/api/me/feeds/{feed['id']}/").status_code == 204
    assert not FeedToken.objects.filter(pk=feed["id"]).exists()
    assert APIClient().get(feed["url"]).status_code == 404


def test_an_unknown_feed_token_is_404(world):
    assert APIClient().get("/api/feeds/nope.ics").status_code == 404


def test_user_feed_leaves_out_cancelled_bookings(world):
    start = next_weekday(hour=9)
    make_booking(
        world.machine, world.users["student"], start, start + timedelta(hours=1), status=BookingStatus.CANCELLED
    )
    feed = world.client("student").post("/api/me/feeds/", {}, format="json").json()
    assert _events(APIClient().get(feed["url"])) == []


# --- My data -----------------------------------------------------------------------------------


def test_my_data_downloads_as_json_or_as_a_zip_of_csv_files(world):
    client = world.client("student")
    as_json = client.get("/api/me/data/")
    assert as_json.status_code == 200 and as_json["Content-Type"].startswith("application/json")
    assert as_json.json()["profile"]["username"] == "student"
    assert client.get("/api/me/data/?export=json").json()["profile"]["username"] == "student"
    as_csv = client.get("/api/me/data/?export=csv")
    assert as_csv.status_code == 200 and as_csv["Content-Type"] == "application/zip"
    assert "bookings.csv" in zipfile.ZipFile(io.BytesIO(as_csv.content)).namelist()


def test_my_data_in_an_unknown_format_is_refused_with_its_code(world):
    response = world.client("student").get("/api/me/data/?export=xml")
    assert response.status_code == 400
    assert response.json()["code"] == "export_format_unknown"


def test_errors_inside_a_nested_field_are_named_by_their_path(world):
    response = world.client("student").post("/api/me/consents/", {"consents": {"service": "maybe"}}, format="json")
    assert response.status_code == 400
    errors = response.json()["errors"]
    # One level deep, a list under every name, as the schema's Error says.
    assert list(errors) == ["consents.service"]
    assert errors["consents.service"][0]["code"] == "invalid"
    assert response.json()["details"]["fields"] == ["consents.service"]
