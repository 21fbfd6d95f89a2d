"""Links that work: the API index at /api/, and iCal UIDs that do not change with the port the app is served on."""

from __future__ import annotations

from datetime import timedelta

from icalendar import Calendar
from rest_framework.test import APIClient

from bookings.ical import booking_invitation, booking_uid
from tests.api.conftest import make_booking, next_weekday


def test_the_api_index_links_the_docs_the_schema_and_the_collections(db):
    response = APIClient().get("/api/")
    assert response.status_code == 200
    body = response.json()
    assert body["docs"] == "http://testserver/api/docs/"
    assert body["schema"] == "http://testserver/api/schema/"
    assert body["redoc"] == "http://testserver/api/redoc/"
    assert body["collections"]["booking-list"] == "http://testserver/api/bookings/"
    for url in (body["docs"], body["schema"], *body["collections"].values()):
        path = url.removeprefix("http://testserver")
        # Each exists (a search without its parameters is a 400, a private list a 401), none is a 404.
        assert APIClient().get(path, HTTP_ACCEPT="*/*").status_code in (200, 400, 401), path
    # Anything else under /api/ is still the JSON 404.
    assert APIClient().get("/api/no-such-thing/").json()["code"] == "not_found"


def _uids(content: bytes) -> list[str]:
    return [str(event["uid"]) for event in Calendar.from_ical(content).walk("VEVENT")]


def test_a_booking_keeps_one_ical_uid_whatever_the_port_and_the_feed_agrees_with_the_email(world, settings):
    start = next_weekday(hour=9)
    booking = make_booking(world.machine, world.users["student"], start, start + timedelta(hours=1))
    client = world.client("student")
    feed_path = client.post("/api/me/feeds/", {}, format="json").json()["url"].removeprefix("http://testserver")
    resource_feed_path = (
        client.post("/api/me/feeds/", {"resource": world.machine.pk}, format="json")
        .json()["url"]
        .removeprefix("http://testserver")
    )
    seen = []
    for public_url in ("http://127.0.0.1:8000", "http://127.0.0.1:18001", "https://127.0.0.1"):
        settings.PUBLIC_URL = public_url
        seen.append(
            (
                booking_uid(booking),
                _uids(booking_invitation(booking)),
                _uids(APIClient().get(feed_path).content),
                _uids(APIClient().get(resource_feed_path).content),
            )
        )
    assert seen[0] == seen[1] == seen[2]
    uid, invitation, feed, busy = seen[0]
    assert uid == f"booking-{booking.pk}@labshare"
    assert invitation == feed == [uid]
    assert busy == [f"busy-{booking.pk}@labshare"]


def test_partner_usage_takes_plain_dates_as_whole_local_days_and_defaults_to_local_days(world, clock):
    from tests.factories import at

    clock.move_to(at(2030, 3, 4, 6, 30))  # 06:30 in Vietnam is still the 3rd in UTC
    monday = at(2030, 3, 4, 0, 0)
    make_booking(world.machine, world.users["student"], at(2030, 3, 1, 9), at(2030, 3, 1, 11))
    client = world.client("partner")
    url = f"/api/partners/{world.partner.pk}/usage/"
    body = client.get(url, {"start": "2030-03-01", "end": "2030-03-01"}).json()
    assert body["total_hours"] == 2.0
    assert body["start"] == at(2030, 3, 1).isoformat() and body["end"] == at(2030, 3, 2).isoformat()
    default = client.get(url).json()
    assert default["end"] == (monday + timedelta(days=1)).isoformat()  # the end of today, Vietnam's today
    assert default["start"] == (monday + timedelta(days=1) - timedelta(days=30)).isoformat()
