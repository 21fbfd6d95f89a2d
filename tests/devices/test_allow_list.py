"""The allow-list: who may start the machine in the next hours and when, as hashes, from the engine's rules."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from bookings.models import BookingStatus
from devices import services, signing
from devices.allowlists import credential_hash
from devices.models import AllowList
from labs.models import Resource
from tests.devices.conftest import book, monday
from tests.factories import grant, make_user

pytestmark = pytest.mark.django_db


def issued(shop, device=None, hours: int = 4) -> dict:
    envelope = services.allow_list_issue(device=device or shop.device, hours=hours)
    return json.loads(signing.verify(envelope))


def member(payload: dict, user) -> dict | None:
    return next((m for m in payload["members"] if m["u"] == user.pk), None)


def test_members_with_a_booking_in_the_next_hours_are_listed_with_their_check_in_window(shop):
    booking = book(shop.machine, shop.an, monday(11), monday(12))
    book(shop.machine, shop.binh, monday(15), monday(16))  # after the four hours: not listed
    Resource.objects.filter(pk=shop.machine.pk).update(walk_in_minutes=0)
    shop.device.resource.refresh_from_db()
    payload = issued(shop)
    an = member(payload, shop.an)
    assert an["slots"] == [
        {
            "booking": booking.pk,
            "resource": shop.machine.pk,
            "from": monday(10, 45).isoformat(),
            "start_by": monday(11, 15).isoformat(),
            "until": monday(12).isoformat(),
        }
    ]
    assert member(payload, shop.binh) is None
    assert AllowList.objects.get(list_id=payload["list_id"]).booking_ids == [booking.pk]


def test_badges_appear_only_as_salted_hashes_never_as_numbers_or_names(shop):
    book(shop.machine, shop.an, monday(11), monday(12))
    envelope = services.allow_list_issue(device=shop.device, hours=4)
    raw = signing.verify(envelope).decode()
    assert "04A1B2C3" not in raw and "Nguyễn" not in raw and f'"{shop.an.username}"' not in raw
    payload = json.loads(raw)
    assert credential_hash(payload["salt"], "04A1B2C3") in member(payload, shop.an)["h"]
    assert member(payload, shop.an)["who"] == "ANV"


def test_a_booking_already_checked_in_may_be_resumed_until_its_end(shop):
    book(shop.machine, shop.an, monday(10), monday(11), status=BookingStatus.CHECKED_IN)
    slot = member(issued(shop), shop.an)["slots"][0]
    assert slot["start_by"] == monday(11).isoformat()


def test_members_missing_the_required_certification_are_left_off(shop):
    shop.machine.required_certifications.add(shop.certification)
    book(shop.machine, shop.an, monday(11), monday(12))
    book(shop.machine, shop.binh, monday(12), monday(13))
    grant(shop.binh, shop.certification, granted_at=timezone.now() - timedelta(days=1))
    payload = issued(shop)
    assert member(payload, shop.an) is None
    assert member(payload, shop.binh)["slots"]


def test_walk_in_members_are_the_certified_ones_without_a_ban_and_the_free_stretches_are_given(shop):
    shop.machine.required_certifications.add(shop.certification)
    now = timezone.now()
    for user in (shop.an, shop.binh):
        grant(user, shop.certification, granted_at=now - timedelta(days=1))
    for day in (1, 2, 3):  # Bình has been banned after three no-shows
        start = monday(9) - timedelta(days=day)
        book(shop.machine, shop.binh, start, start + timedelta(hours=1), status=BookingStatus.NO_SHOW)
    book(shop.machine, shop.chi, monday(12), monday(13))
    payload = issued(shop)
    assert member(payload, shop.an)["walk_in"] is True
    assert member(payload, shop.binh) is None
    assert member(payload, shop.chi) is None  # booked, but not certified
    walk_in = payload["walk_in"]
    assert walk_in["minutes"] == 60 and walk_in["granularity_minutes"] == 30
    assert walk_in["free"][0][1] == monday(12).isoformat()


def test_a_member_without_any_badge_is_not_listed(shop):
    stranger = make_user("stranger")
    book(shop.machine, stranger, monday(11), monday(12))
    assert member(issued(shop), stranger) is None


def test_a_kiosk_lists_the_bookings_of_every_machine_in_its_lab(shop):
    other = Resource.objects.create(lab=shop.lab, slug="cnc", name_vi="Máy CNC")
    book(shop.machine, shop.an, monday(11), monday(12))
    book(other, shop.binh, monday(11), monday(12))
    payload = issued(shop, device=shop.kiosk)
    assert payload["walk_in"] is None
    assert {s["resource"] for m in payload["members"] for s in m["slots"]} == {shop.machine.pk, other.pk}


def test_a_list_lives_at_most_twelve_hours(shop):
    payload = issued(shop, hours=48)
    from datetime import datetime

    assert datetime.fromisoformat(payload["expires_at"]) - datetime.fromisoformat(payload["issued_at"]) == timedelta(
        hours=12
    )


def test_the_signature_breaks_when_a_byte_of_the_payload_changes(shop):
    envelope = services.allow_list_issue(device=shop.device, hours=1)
    forged = dict(
        envelope,
        payload=envelope["payload"][:-2] + ("A" if envelope["payload"][-2] != "A" else "B") + envelope["payload"][-1],
    )
    with pytest.raises(ValueError):
        signing.verify(forged)
