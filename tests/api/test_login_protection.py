"""Login protection on both logins, per account and per address, with a clear message and an unlock.

After AXES_FAILURE_LIMIT failures for one username (from any address), or from one address (for
any usernames), sign-in is refused even with the right password: the API answers 429
``login_locked`` in the usual error body with Retry-After, the page says so in the user's
language. ``manage.py axes_reset_username`` and the admin's "unlock sign-in" action lift it.
"""

from __future__ import annotations

import pytest
from django.conf import settings
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.urls import reverse
from rest_framework.test import APIClient

from tests.api.test_hostile_input import assert_error
from tests.factories import make_user

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"
LIMIT = settings.AXES_FAILURE_LIMIT


@pytest.fixture
def person():
    user = make_user("an.nguyen")
    user.set_password(PASSWORD)
    user.save()
    return user


def api_login(username: str, password: str, address: str = "127.0.0.21"):
    return APIClient().post(
        "/api/auth/login/", {"username": username, "password": password}, format="json", REMOTE_ADDR=address
    )


def page_login(client, username: str, password: str, address: str = "127.0.0.21"):
    return client.post(reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address)


def test_the_limit_is_set():
    assert 3 <= LIMIT <= 20


def test_an_account_is_locked_after_too_many_wrong_passwords_from_anywhere(person):
    for n in range(LIMIT - 1):
        assert_error(api_login("an.nguyen", "wrong", address=f"127.0.1.{n}"), 400, "invalid_credentials")
    # The failure that reaches the limit is told so at once.
    assert_error(api_login("an.nguyen", "wrong", address="127.0.1.99"), 429, "login_locked")
    response = api_login("an.nguyen", PASSWORD, address="127.0.2.1")
    body = assert_error(response, 429, "login_locked")
    assert int(response["Retry-After"]) == settings.AXES_COOLOFF_TIME.total_seconds()
    assert body["details"]["retry_after"] == int(response["Retry-After"])
    assert "unlock" in body["messages"]["en"] and "mở khoá" in body["messages"]["vi"]


def test_an_address_is_locked_after_too_many_failures_for_any_accounts(person):
    for n in range(LIMIT - 1):
        assert_error(api_login(f"someone-{n}", "wrong", address="127.0.3.1"), 400, "invalid_credentials")
    assert_error(api_login("someone-else", "wrong", address="127.0.3.1"), 429, "login_locked")
    assert_error(api_login("an.nguyen", PASSWORD, address="127.0.3.1"), 429, "login_locked")
    # The same account from another address is not locked (its own count is zero).
    assert api_login("an.nguyen", PASSWORD, address="127.0.3.2").status_code == 200


def test_fewer_failures_than_the_limit_then_success_clears_the_count(person):
    for _ in range(LIMIT - 1):
        api_login("an.nguyen", "wrong", address="127.0.4.1")
    assert api_login("an.nguyen", PASSWORD, address="127.0.4.2").status_code == 200
    for _ in range(LIMIT - 1):
        api_login("an.nguyen", "wrong", address="127.0.4.3")
    assert api_login("an.nguyen", PASSWORD, address="127.0.4.4").status_code == 200


def test_the_management_command_unlocks_an_account(person):
    for n in range(LIMIT):
        api_login("an.nguyen", "wrong", address=f"127.0.5.{n}")
    assert_error(api_login("an.nguyen", PASSWORD, address="127.0.6.1"), 429, "login_locked")
    call_command("axes_reset_username", "an.nguyen", verbosity=0)
    assert api_login("an.nguyen", PASSWORD, address="127.0.6.1").status_code == 200


def test_the_sign_in_page_says_the_account_is_locked_in_vietnamese(client, person):
    for n in range(LIMIT):
        response = page_login(client, "an.nguyen", "wrong", address=f"127.0.7.{n}")
        assert response.status_code == 200 and "_auth_user_id" not in client.session
    assert response.context["form"].non_field_errors().as_data()[0].code == "login_locked"
    response = page_login(client, "an.nguyen", PASSWORD, address="127.0.8.1")
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session, "the right password must not open a locked account"
    [error] = response.context["form"].non_field_errors().as_data()
    assert error.code == "login_locked"
    html = response.content.decode()
    assert "Quá nhiều lần đăng nhập sai" in html


def test_the_sign_in_page_says_so_in_english_too(client, person):
    for n in range(LIMIT):
        page_login(client, "an.nguyen", "wrong", address=f"127.0.9.{n}")
    response = client.post(
        reverse("login"),
        {"username": "an.nguyen", "password": PASSWORD},
        REMOTE_ADDR="127.0.10.1",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert "Too many failed sign-ins" in response.content.decode()


def test_the_page_and_the_api_share_the_count(client, person):
    for n in range(LIMIT):
        page_login(client, "an.nguyen", "wrong", address=f"127.0.11.{n}")
    assert_error(api_login("an.nguyen", PASSWORD, address="127.0.12.1"), 429, "login_locked")


def test_an_admin_unlocks_an_account_from_the_user_list(client, person):
    for n in range(LIMIT):
        api_login("an.nguyen", "wrong", address=f"127.0.13.{n}")
    admin_user = make_user("root", is_superuser=True, is_staff=True)
    client.force_login(admin_user)
    changelist = reverse("admin:auth_user_changelist")
    response = client.post(
        changelist, {"action": "unlock_sign_in", "_selected_action": [person.pk], "index": 0}, follow=True
    )
    assert response.status_code == 200
    assert any("unlocked" in str(m) for m in response.context["messages"])
    assert api_login("an.nguyen", PASSWORD, address="127.0.14.1").status_code == 200


def test_a_lab_manager_cannot_unlock_accounts(client, person):
    for n in range(LIMIT):
        api_login("an.nguyen", "wrong", address=f"127.0.15.{n}")
    manager = make_user("manager", is_staff=True)
    manager.user_permissions.add(Permission.objects.get(codename="view_user"))
    client.force_login(manager)
    response = client.get(reverse("admin:auth_user_changelist"))
    assert response.status_code == 200
    action_form = response.context["action_form"]  # None when the page offers no action at all
    assert action_form is None or "unlock_sign_in" not in dict(action_form.fields["action"].choices)
    response = client.post(
        reverse("admin:auth_user_changelist"), {"action": "unlock_sign_in", "_selected_action": [person.pk]}
    )
    assert response.status_code in (200, 302, 403)
    assert_error(api_login("an.nguyen", PASSWORD, address="127.0.16.1"), 429, "login_locked")
