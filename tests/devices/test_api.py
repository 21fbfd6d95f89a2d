"""The device API over HTTP: device tokens (rotation, revocation), a device only for its own machine, errors as bodies."""

from __future__ import annotations

import uuid

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from devices import services
from devices.models import Device, DeviceSession
from labs.models import Resource
from tests.devices.conftest import book, monday
from tests.factories import make_api_token

pytestmark = pytest.mark.django_db

AN = "04A1B2C3"


def user_client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {make_api_token(user)}")
    return client


def test_the_access_call_answers_200_with_the_decision_and_the_server_time_it_took(shop):
    book(shop.machine, shop.an, monday(10), monday(11))
    response = shop.device_client().post("/api/device/access/", {"badge": AN}, format="json")
    assert response.status_code == 200
    assert response.json()["decision"] == "allow"
    assert response["Server-Timing"].startswith("app;dur=")


def test_a_refusal_is_a_decision_not_an_error(shop):
    response = shop.device_client().post("/api/device/access/", {"badge": "DEADBEEF"}, format="json")
    assert response.status_code == 200
    assert response.json()["decision"] == "deny" and response.json()["reason"] == "unknown_badge"


def test_neither_badge_nor_qr_is_a_validation_error(shop):
    response = shop.device_client().post("/api/device/access/", {}, format="json")
    assert response.status_code == 400 and response.json()["code"] == "validation_error"
    both = shop.device_client().post("/api/device/access/", {"badge": AN, "qr": "LSQ1-x"}, format="json")
    assert both.status_code == 400


def test_a_device_naming_another_machine_is_refused_403(shop):
    other = Resource.objects.create(lab=shop.lab, slug="cnc", name_vi="Máy CNC")
    response = shop.device_client().post("/api/device/access/", {"badge": AN, "resource": other.pk}, format="json")
    assert response.status_code == 403 and response.json()["code"] == "device_wrong_resource"
    own = shop.device_client().post("/api/device/access/", {"badge": AN, "resource": shop.machine.pk}, format="json")
    assert own.status_code == 200


def test_a_device_cannot_end_another_machines_session(shop):
    book(shop.machine, shop.an, monday(10), monday(11))
    ref = shop.device_client().post("/api/device/access/", {"badge": AN}, format="json").json()["session"]["ref"]
    other = Resource.objects.create(lab=shop.lab, slug="cnc", name_vi="Máy CNC")
    _device, token = services.device_register(name="CNC", by=shop.manager, resource=other)
    body = {"events": [{"id": str(uuid.uuid4()), "type": "end", "at": timezone.now().isoformat(), "session": ref}]}
    response = shop.device_client(token).post("/api/device/events/", body, format="json")
    assert response.status_code == 200 and response.json()["results"][0]["code"] == "unknown_session"
    assert DeviceSession.objects.get(ref=ref).ended_at is None


def test_an_unknown_token_is_401_with_the_device_scheme(shop):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Device lsd_not-a-token")
    response = client.post("/api/device/access/", {"badge": AN}, format="json")
    assert response.status_code == 401 and response.json()["code"] == "authentication_failed"
    assert response["WWW-Authenticate"] == "Device"


def test_a_user_token_opens_no_device_endpoint_and_a_device_token_no_user_endpoint(shop):
    response = user_client(shop.manager).post("/api/device/access/", {"badge": AN}, format="json")
    assert response.status_code == 401
    assert shop.device_client().get("/api/me/").status_code == 401
    assert shop.device_client().get("/api/bookings/").status_code == 401


def test_rotating_the_token_stops_the_old_one_at_once(shop):
    response = user_client(shop.manager).post(f"/api/devices/{shop.device.pk}/rotate/")
    assert response.status_code == 200
    new = response.json()["token"]
    assert new.startswith("lsd_") and new != shop.token
    assert response.json()["signing_key"]["alg"] == "Ed25519"
    assert shop.device_client().post("/api/device/heartbeat/", {}, format="json").status_code == 401
    assert shop.device_client(new).post("/api/device/heartbeat/", {}, format="json").status_code == 200
    stored = Device.objects.get(pk=shop.device.pk)
    assert new not in (stored.token_hash, stored.prefix) and stored.rotated_at is not None


def test_revoking_a_device_ends_its_session_and_its_token_opens_nothing(shop):
    book(shop.machine, shop.an, monday(10), monday(11))
    assert shop.device_client().post("/api/device/access/", {"badge": AN}, format="json").json()["decision"] == "allow"
    response = user_client(shop.manager).post(f"/api/devices/{shop.device.pk}/revoke/")
    assert response.status_code == 200 and response.json()["revoked_at"]
    session = DeviceSession.objects.get()
    assert session.ended_at is not None and session.end_reason == "device_revoked"
    session.booking.refresh_from_db()
    assert session.booking.status == "completed"
    assert shop.device_client().post("/api/device/access/", {"badge": AN}, format="json").status_code == 401
    # Rotating a revoked device gives it no new life.
    assert user_client(shop.manager).post(f"/api/devices/{shop.device.pk}/rotate/").status_code == 409


def test_registering_a_device_shows_its_token_once_and_keeps_only_the_hash(shop):
    response = user_client(shop.manager).post(
        "/api/devices/", {"name": "CNC", "resource": shop.machine.pk}, format="json"
    )
    assert response.status_code == 201
    token = response.json()["token"]
    device = Device.objects.get(pk=response.json()["id"])
    assert device.kind == "interlock" and token not in device.token_hash
    listed = user_client(shop.manager).get(f"/api/devices/{device.pk}/").json()
    assert "token" not in listed


def test_a_kiosk_is_registered_for_a_lab(shop):
    response = user_client(shop.manager).post("/api/devices/", {"name": "Desk", "lab": shop.lab.pk}, format="json")
    assert response.status_code == 201 and response.json()["kind"] == "kiosk" and response.json()["resource"] is None


def test_heartbeats_bring_a_device_online_and_silence_takes_it_offline(shop, at_monday):
    from datetime import timedelta

    response = shop.device_client().post("/api/device/heartbeat/", {"pending": 2, "version": "1.0"}, format="json")
    assert response.status_code == 200 and response.json()["online"]
    device = Device.objects.get(pk=shop.device.pk)
    assert device.online and device.pending_events == 2 and device.client_version == "1.0"
    at_monday.shift(timedelta(minutes=2))
    assert services.devices_mark_silent() == 0
    at_monday.shift(timedelta(minutes=2))
    assert services.devices_mark_silent() == 1
    assert not Device.objects.get(pk=shop.device.pk).online


def test_the_allow_list_is_signed_with_the_published_key(shop):
    import base64
    import json

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    def unb64(text):
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))

    book(shop.machine, shop.an, monday(10), monday(11))
    key = shop.device_client().get("/api/device/key/").json()
    envelope = shop.device_client().get("/api/device/allow-list/", {"hours": 2}).json()
    assert envelope["kid"] == key["kid"]
    public = Ed25519PublicKey.from_public_bytes(unb64(key["public_key"]))
    public.verify(unb64(envelope["signature"]), unb64(envelope["payload"]))  # raises when forged
    payload = json.loads(unb64(envelope["payload"]))
    assert payload["device"] == shop.device.pk and payload["list_id"] == envelope["list_id"]
    tampered = bytearray(unb64(envelope["payload"]))
    tampered[10] ^= 1
    from cryptography.exceptions import InvalidSignature

    with pytest.raises(InvalidSignature):
        public.verify(unb64(envelope["signature"]), bytes(tampered))


def test_hours_out_of_range_is_a_validation_error(shop):
    assert shop.device_client().get("/api/device/allow-list/", {"hours": 48}).status_code == 400


def test_events_with_naive_times_or_no_session_are_refused(shop):
    client = shop.device_client()
    naive = {
        "events": [{"id": str(uuid.uuid4()), "type": "busy", "at": "2030-03-04T10:00:00", "session": str(uuid.uuid4())}]
    }
    assert client.post("/api/device/events/", naive, format="json").json()["code"] == "naive_datetime"
    bare = {"events": [{"id": str(uuid.uuid4()), "type": "end", "at": timezone.now().isoformat()}]}
    assert client.post("/api/device/events/", bare, format="json").status_code == 400


def test_kiosks_enrol_cards_and_interlocks_may_not(shop):
    code = services.profile_qr(user=shop.an).uid
    kiosk = shop.device_client(shop.kiosk_token)
    response = kiosk.post("/api/device/enrol/", {"qr": code, "badge": "99887766"}, format="json")
    assert response.status_code == 201 and response.json()["masked"] == "…7766"
    refused = shop.device_client().post("/api/device/enrol/", {"qr": code, "badge": "99887755"}, format="json")
    assert refused.status_code == 403
    unknown = kiosk.post(
        "/api/device/enrol/", {"qr": "LSQ1-aaaaaaaaaaaaaaaaaaaaaaaa", "badge": "99887755"}, format="json"
    )
    assert unknown.status_code == 403 and unknown.json()["code"] == "unknown_badge"
