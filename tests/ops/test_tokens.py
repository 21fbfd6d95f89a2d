"""API tokens: hashed at rest, expiring, one per device; DRF's old tokens keep working after the migration."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from knox.crypto import hash_token
from rest_framework.test import APIClient

from api.authentication import recent_tokens
from api.models import ApiToken
from tests.factories import make_api_token, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_remembered_tokens():
    recent_tokens.clear()
    yield
    recent_tokens.clear()


def login(device: str | None = None) -> dict:
    body = {"username": "an", "password": "pw"}
    if device is not None:
        body["device"] = device
    response = APIClient().post("/api/auth/login/", body, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def me(secret: str) -> int:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {secret}")
    return client.get("/api/me/").status_code


@pytest.fixture
def an(db):
    return make_user("an", password="pw")


def test_login_keeps_its_contract_and_adds_the_expiry(an, clock):
    body = login()
    assert set(body) == {"token", "user", "username", "expiry"}
    assert (body["user"], body["username"]) == (an.pk, "an")
    days = (timezone.datetime.fromisoformat(body["expiry"]) - timezone.now()).total_seconds() / 86400
    assert 29.9 < days <= 30
    assert me(body["token"]) == 200


def test_only_a_digest_of_the_secret_is_stored(an):
    secret = login()["token"]
    [row] = ApiToken.objects.filter(user=an)
    assert row.digest == hashlib.sha512(secret.encode()).hexdigest()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM api_apitoken WHERE digest = %s OR token_key = %s", [secret, secret])
        assert cursor.fetchone()[0] == 0


def test_each_sign_in_is_a_device_of_its_own_and_signing_out_ends_only_that_one(an):
    laptop, script = login("laptop")["token"], login("nightly export")["token"]
    assert sorted(ApiToken.objects.filter(user=an).values_list("device", flat=True)) == ["laptop", "nightly export"]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {laptop}")
    assert client.post("/api/auth/logout/").status_code == 204
    assert me(laptop) == 401
    assert me(script) == 200


def test_signing_out_everywhere_revokes_every_token(an):
    first, second = login()["token"], login()["token"]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {first}")
    assert client.post("/api/auth/logout-all/").status_code == 204
    assert me(first) == 401 and me(second) == 401
    assert not ApiToken.objects.filter(user=an).exists()


def test_an_expired_token_is_refused(an, clock):
    secret = login()["token"]
    clock.shift(timedelta(days=30, minutes=1))
    recent_tokens.clear()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {secret}")
    response = client.get("/api/me/")
    assert response.status_code == 401
    assert response.json()["code"] == "authentication_failed"


def test_a_wrong_secret_with_a_known_prefix_is_refused(an):
    secret = login()["token"]
    assert me(secret[:15] + "0" * (len(secret) - 15)) == 401
    assert me("nonsense") == 401


def test_an_inactive_user_is_refused(an):
    secret = login()["token"]
    recent_tokens.clear()
    an.is_active = False
    an.save()
    assert me(secret) == 401


def test_the_lookup_is_remembered_briefly_and_costs_no_query_then(an, settings):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    settings.LABSHARE_TOKEN_CACHE_SECONDS = 5
    secret = make_api_token(an)
    with CaptureQueriesContext(connection) as first:
        assert me(secret) == 200  # reads the token (and the profile with it), then the roles
    with CaptureQueriesContext(connection) as second:
        assert me(secret) == 200
    assert len(second.captured_queries) == len(first.captured_queries) - 1
    assert not any("api_apitoken" in q["sql"] for q in second.captured_queries)


def test_a_revoked_token_opens_another_process_for_at_most_the_cache_time(an, clock, settings):
    settings.LABSHARE_TOKEN_CACHE_SECONDS = 5
    secret = make_api_token(an)
    assert me(secret) == 200
    # Revoked elsewhere (another process): this process still remembers it, for 5 s at most.
    ApiToken.objects.filter(user=an).delete()
    assert me(secret) == 200
    clock.shift(timedelta(seconds=6))
    assert me(secret) == 401


def test_remembered_users_are_copies_so_requests_never_share_one_object(an, settings):
    from api.authentication import TokenAuthentication

    settings.LABSHARE_TOKEN_CACHE_SECONDS = 5
    secret = make_api_token(an)
    first, _ = TokenAuthentication().authenticate_credentials(secret)
    second, _ = TokenAuthentication().authenticate_credentials(secret)
    assert first == second and first is not second


def test_old_plain_text_tokens_are_migrated_and_keep_working(an, clock):
    """The data migration, run on a table of DRF's tokens as the previous release left it."""
    from django.apps import apps as installed

    migration = __import__("api.migrations.0003_api_tokens_hashed", fromlist=["move_plain_tokens"])
    old_key = "9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b"
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE authtoken_token (key varchar(40) PRIMARY KEY, created timestamptz NOT NULL, "
            "user_id integer NOT NULL UNIQUE)"
        )
        cursor.execute("INSERT INTO authtoken_token VALUES (%s, now(), %s)", [old_key, an.pk])

    class Editor:
        pass

    editor = Editor()
    editor.connection = connection
    migration.move_plain_tokens(installed, editor)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM authtoken_token")
        assert cursor.fetchone()[0] == 0  # no secret left in plain text
    token = ApiToken.objects.get(digest=hash_token(old_key))
    assert token.user == an and token.device == "migrated" and token.expiry > timezone.now() + timedelta(days=29)
    assert me(old_key) == 200


def test_a_superuser_revokes_a_lost_phones_token_in_the_admin_and_it_opens_nothing_at_once(an, client):
    phone, laptop = login("phone")["token"], login("laptop")["token"]
    assert me(phone) == 200  # the process now remembers the phone's token
    admin_user = make_user("quantri", password="pw")
    admin_user.is_staff = admin_user.is_superuser = True
    admin_user.save()
    client.force_login(admin_user)
    url = "/admin/api/apitoken/"
    page = client.get(url)
    assert page.status_code == 200
    assert "phone" in page.content.decode() and phone not in page.content.decode()  # the secret is never shown
    row = ApiToken.objects.get(user=an, device="phone")
    response = client.post(url, {"action": "revoke_selected", "_selected_action": [row.pk]}, follow=True)
    assert response.status_code == 200
    assert "Đã thu hồi 1 mã" in response.content.decode()  # the admin speaks Vietnamese first
    assert me(phone) == 401  # not even the few seconds a process remembers a checked token
    assert me(laptop) == 200
    # Nothing else writes here: no add, no edit, no delete that would skip the processes' memory.
    assert client.get(f"{url}add/").status_code == 403
    assert client.get(f"{url}{ApiToken.objects.get(device='laptop').pk}/delete/").status_code == 403


def test_a_lab_manager_cannot_see_anyones_tokens_in_the_admin(an, client):
    login("phone")
    manager = make_user("quanly", password="pw")
    manager.is_staff = True
    manager.save()
    client.force_login(manager)
    assert client.get("/admin/api/apitoken/").status_code == 403
