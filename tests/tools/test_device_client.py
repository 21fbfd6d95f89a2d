"""The reference device client's parts on their own: the offline decision, the signature check, the log, the config."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools" / "device"))

from labshare_device.allowlist import AllowList, BadList
from labshare_device.client import Client, normalise
from labshare_device.config import ConfigError, load
from labshare_device.store import Store

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
SALT = "00112233445566778899aabbccddeeff"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def h(uid: str) -> str:
    return hashlib.sha256((SALT + uid).encode()).hexdigest()[:32]


def t(hour: int, minute: int = 0) -> datetime:
    return datetime(2030, 3, 4, hour, minute, tzinfo=HCM)


@pytest.fixture
def key():
    return Ed25519PrivateKey.generate()


def public(key) -> str:
    return b64(key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))


def envelope(key, **changes) -> dict:
    payload = {
        "v": 1,
        "list_id": "5b0c4d7e-1f2a-4b3c-8d9e-0a1b2c3d4e5f",
        "device": 1,
        "kind": "interlock",
        "resource": 7,
        "lab": 3,
        "timezone": "Asia/Ho_Chi_Minh",
        "issued_at": t(10).isoformat(),
        "expires_at": t(14).isoformat(),
        "salt": SALT,
        "members": [
            {
                "u": 1,
                "who": "ANV",
                "lang": "vi",
                "h": [h("04A1B2C3")],
                "slots": [
                    {
                        "booking": 9,
                        "resource": 7,
                        "from": t(10, 45).isoformat(),
                        "start_by": t(11, 15).isoformat(),
                        "until": t(12).isoformat(),
                    }
                ],
                "walk_in": False,
            },
            {"u": 2, "who": "BT", "lang": "en", "h": [h("04B2C3D4")], "slots": [], "walk_in": True},
        ],
        "walk_in": {
            "minutes": 60,
            "min_minutes": 30,
            "max_minutes": 240,
            "granularity_minutes": 30,
            "free": [[t(10).isoformat(), t(10, 45).isoformat()], [t(12).isoformat(), t(14).isoformat()]],
        },
        **changes,
    }
    data = json.dumps(payload).encode()
    return {"v": 1, "kid": "k", "payload": b64(data), "signature": b64(key.sign(data))}


def test_a_listed_member_may_start_inside_their_bookings_window_only(key):
    allow = AllowList(envelope(key), public(key))
    assert allow.decide("04A1B2C3", t(10, 30)).reason == "no_booking"  # window opens at 10:45
    decision = allow.decide("04A1B2C3", t(10, 50))
    assert decision.allow and decision.reason == "booking" and decision.booking == 9 and decision.until == t(12)
    assert allow.decide("04A1B2C3", t(11, 20)).reason == "no_booking"  # window closed at 11:15


def test_a_walk_in_member_may_start_in_a_free_stretch_until_the_next_booking(key):
    allow = AllowList(envelope(key), public(key))
    decision = allow.decide("04B2C3D4", t(10))
    # The free stretch ends at 10:45: the walk-in ends at 10:30, on the half-hour grid.
    assert decision.allow and decision.walk_in and decision.until == t(10, 30)
    later = allow.decide("04B2C3D4", t(12, 10))
    assert later.until == t(13, 30)  # an hour, to the next half hour
    assert allow.decide("04B2C3D4", t(10, 20)).reason == "no_booking"  # only 25 minutes left: below the minimum
    assert allow.decide("04B2C3D4", t(11)).reason == "no_booking"  # Ân's booking


def test_an_unlisted_card_and_an_expired_list_are_refused(key):
    allow = AllowList(envelope(key), public(key))
    assert allow.decide("DEADBEEF", t(10, 50)).reason == "not_listed"
    assert allow.decide("04A1B2C3", t(14)).reason == "allow_list_expired"


def test_a_list_edited_on_the_sd_card_or_signed_by_another_key_is_refused(key):
    good = envelope(key)
    payload = json.loads(base64.urlsafe_b64decode(good["payload"] + "=="))
    payload["members"][0]["h"].append(h("EVIL0001"))
    forged = dict(good, payload=b64(json.dumps(payload).encode()))
    with pytest.raises(BadList):
        AllowList(forged, public(key))
    with pytest.raises(BadList):
        AllowList(good, public(Ed25519PrivateKey.generate()))


def test_card_numbers_are_read_as_the_server_stores_them():
    assert normalise(" 04:a1:b2:c3 ") == "04A1B2C3"
    assert normalise("LSQ1-abcDEF_123-xyzxyzxyz") == "LSQ1-abcDEF_123-xyzxyzxyz"
    assert normalise("??") is None


def test_the_log_keeps_events_in_order_once_and_marks_them_sent(tmp_path):
    store = Store(tmp_path / "s.sqlite3")
    store.log({"id": "a", "type": "busy"})
    store.log({"id": "b", "type": "end"})
    store.log({"id": "a", "type": "busy"})
    assert [e["id"] for e in store.pending()] == ["a", "b"]
    store.mark_sent(["a"])
    assert store.pending_count() == 1
    store.mark_all_unsent()
    assert [e["id"] for e in store.pending()] == ["a", "b"]
    store.close()
    again = Store(tmp_path / "s.sqlite3")  # survives a restart (a power cut)
    assert again.pending_count() == 2


def _config(tmp_path, **device) -> Path:
    path = tmp_path / "device.toml"
    extra = "".join(f"{k} = {json.dumps(v)}\n" for k, v in device.items())
    path.write_text(
        '[server]\nurl = "http://127.0.0.1:9"\ntoken = "lsd_x"\ntimeout = 0.2\n\n'
        f'[device]\nstate_dir = "{tmp_path / "state"}"\n{extra}'
    )
    return path


def test_a_configuration_with_a_wrong_token_or_url_is_refused_with_its_key(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[server]\nurl = "ftp://x"\ntoken = "lsd_x"\n')
    with pytest.raises(ConfigError, match="url"):
        load(bad)
    bad.write_text('[server]\nurl = "https://x"\ntoken = "abc"\n')
    with pytest.raises(ConfigError, match="token"):
        load(bad)
    assert load(_config(tmp_path)).driver == "console"


def test_without_a_server_and_without_a_list_every_card_is_refused_and_the_relay_stays_off(tmp_path):
    out = io.StringIO()
    client = Client(load(_config(tmp_path)), out=out)
    client.heartbeat()
    client.handle_line("04A1B2C3")
    lines = out.getvalue().splitlines()
    assert "OFFLINE" in lines and "DECISION deny allow_list_expired offline" in lines
    assert "RELAY ON" not in lines
    assert client.store.pending()[0]["decision"] == "deny"  # the refusal is logged for the audit


def test_an_offline_session_toggles_off_with_the_same_card_and_ends_at_restart(tmp_path, key):
    out = io.StringIO()
    config = load(_config(tmp_path))
    client = Client(config, out=out)
    client.public_key = public(key)
    client.allow_list = AllowList(envelope(key), public(key))
    client.clock.offset = t(10, 50).timestamp() - __import__("time").time()
    client.online = False
    client.handle_line("04A1B2C3")
    assert "RELAY ON" in out.getvalue()
    client.handle_line("04B2C3D4")  # someone else while Ân works
    assert "DECISION deny resource_in_use local" in out.getvalue()
    client.set_signal("busy")
    client.store.close()
    # The device loses power with Ân's session open: at the next start the session ended.
    restarted = Client(config, out=io.StringIO())
    restarted.recover()
    kinds = [e["type"] for e in restarted.store.pending()]
    assert kinds == ["access", "busy", "end"] and restarted.store.pending()[-1]["reason"] == "restart"


def test_a_kiosk_registers_a_card_only_after_a_profile_qr_and_only_online(tmp_path):
    out = io.StringIO()
    client = Client(load(_config(tmp_path, mode="kiosk")), out=out)
    client.online = False
    client.handle_line(":enrol")
    client.handle_line("04A1B2C3")  # a card before the QR code: it waits for the QR code
    assert client.enrolling["step"] == "qr"
    client.handle_line("LSQ1-abcdefghijklmnop")
    client.handle_line("LSQ1-abcdefghijklmnop")  # a QR code where the card is expected
    assert client.enrolling["step"] == "card"
    client.handle_line("04A1B2C3")
    lines = out.getvalue().splitlines()
    assert [line for line in lines if line.startswith("ENROL")] == ["ENROL qr", "ENROL card", "ENROL offline"]
    assert any("profile QR code first" in line for line in lines)
    assert any("Tap the card, not a QR code" in line for line in lines)
    assert client.enrolling is None and client.store.pending() == []  # nothing queued: registration needs the server


def test_a_half_done_registration_times_out_and_an_enrol_only_kiosk_waits_for_the_next_member(tmp_path):
    out = io.StringIO()
    client = Client(load(_config(tmp_path, mode="enrol", enrol_timeout_seconds=5)), out=out)
    client.online = False
    client.enrol_start()
    client.handle_line("LSQ1-abcdefghijklmnop")
    client.enrolling["since"] -= 10
    client.tick()
    lines = out.getvalue().splitlines()
    assert [line for line in lines if line.startswith("ENROL")] == [
        "ENROL qr",
        "ENROL card",
        "ENROL timeout",
        "ENROL qr",
    ]
    assert client.enrolling["step"] == "qr"


def test_an_interlock_does_not_register_cards_and_a_mode_is_checked(tmp_path):
    out = io.StringIO()
    client = Client(load(_config(tmp_path)), out=out)
    client.handle_line(":enrol")
    assert "WARNING :enrol works at a kiosk only" in out.getvalue() and client.enrolling is None
    with pytest.raises(ConfigError, match="mode"):
        load(_config(tmp_path, mode="door"))
