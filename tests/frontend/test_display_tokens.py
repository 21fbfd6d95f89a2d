"""Display tokens: only managers create and revoke them, only the hash is stored, the screen page honours them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from core.errors import DomainError
from frontend.models import DisplayToken, hash_token
from frontend.services import display_token_authenticate, display_token_create, display_token_revoke
from tests.factories import make_lab, make_manager, make_user
from tests.frontend.helpers import listen, receive

pytestmark = pytest.mark.django_db


@pytest.fixture
def fablab(db):
    return make_lab("fablab-tokens")


@pytest.fixture
def manager(fablab):
    return make_manager(fablab, "fablab-manager")


def test_a_manager_creates_a_token_and_only_its_hash_is_stored(fablab, manager):
    token, raw = display_token_create(lab=fablab, name="Cửa chính", by=manager)
    assert len(raw) >= 40
    token.refresh_from_db()
    assert token.token_hash == hash_token(raw) != raw
    assert token.prefix == raw[:8]
    assert raw not in str(DisplayToken.objects.filter(pk=token.pk).values().get())
    assert (token.created_by, token.revoked_at) == (manager, None)


def test_tokens_are_unique(fablab, manager):
    raws = {display_token_create(lab=fablab, name=f"s{i}", by=manager)[1] for i in range(5)}
    assert len(raws) == 5


def test_a_student_cannot_create_a_token(fablab):
    with pytest.raises(DomainError) as error:
        display_token_create(lab=fablab, name="x", by=make_user("student-x"))
    assert error.value.code == "not_permitted"


def test_a_manager_of_another_lab_cannot_create_or_revoke(fablab, manager):
    stranger = make_manager(make_lab("elsewhere-tokens"), "stranger")
    with pytest.raises(DomainError) as error:
        display_token_create(lab=fablab, name="x", by=stranger)
    assert error.value.code == "not_permitted"
    token, _raw = display_token_create(lab=fablab, name="x", by=manager)
    with pytest.raises(DomainError) as error:
        display_token_revoke(token=token, by=stranger)
    assert error.value.code == "not_permitted"
    token.refresh_from_db()
    assert token.revoked_at is None


def test_a_center_manager_creates_tokens_for_sub_labs():
    center = make_lab("center-tokens")
    sub = make_lab("sub-tokens", parent=center)
    token, _raw = display_token_create(lab=sub, name="x", by=make_manager(center, "center-boss"))
    assert token.lab == sub


def test_a_blank_name_is_refused(fablab, manager):
    with pytest.raises(DomainError) as error:
        display_token_create(lab=fablab, name="   ", by=manager)
    assert error.value.code == "name_required"


def test_authentication_accepts_the_token_for_its_lab_and_sub_labs_only(fablab, manager):
    sub = make_lab("sub-of-fablab", parent=fablab)
    other = make_lab("other-tokens")
    token, raw = display_token_create(lab=fablab, name="x", by=manager)
    assert display_token_authenticate(raw=raw, lab=fablab) == token
    assert display_token_authenticate(raw=raw, lab=sub) == token
    assert display_token_authenticate(raw=raw, lab=other) is None
    assert display_token_authenticate(raw="wrong", lab=fablab) is None
    assert display_token_authenticate(raw="", lab=fablab) is None


def test_authentication_records_last_seen_at_most_once_a_minute(fablab, manager):
    token, raw = display_token_create(lab=fablab, name="x", by=manager)
    first = timezone.now()
    display_token_authenticate(raw=raw, lab=fablab, at=first)
    display_token_authenticate(raw=raw, lab=fablab, at=first + timedelta(seconds=20))
    token.refresh_from_db()
    assert token.last_seen_at == first
    display_token_authenticate(raw=raw, lab=fablab, at=first + timedelta(minutes=2))
    token.refresh_from_db()
    assert token.last_seen_at == first + timedelta(minutes=2)


def test_a_revoked_token_opens_nothing_and_revoking_twice_changes_nothing(
    fablab, manager, memory_layer, django_capture_on_commit_callbacks
):
    token, raw = display_token_create(lab=fablab, name="x", by=manager)
    channel = listen(f"display_token.{token.pk}")
    with django_capture_on_commit_callbacks(execute=True):
        display_token_revoke(token=token, by=manager)
    assert receive(channel)["type"] == "token.revoked"
    revoked_at = DisplayToken.objects.get(pk=token.pk).revoked_at
    assert revoked_at is not None
    assert display_token_authenticate(raw=raw, lab=fablab) is None
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        display_token_revoke(token=token, by=manager)
    assert callbacks == []
    assert DisplayToken.objects.get(pk=token.pk).revoked_at == revoked_at


# --- The wall-screen page ------------------------------------------------------------------------


def test_the_screen_page_opens_with_a_valid_token(client, fablab, manager):
    from tests.factories import make_resource

    make_resource(fablab, name_vi="Máy phay CNC")
    _token, raw = display_token_create(lab=fablab, name="x", by=manager)
    response = client.get(f"/screens/{fablab.slug}/?token={raw}")
    assert response.status_code == 200
    assert response["Referrer-Policy"] == "no-referrer"
    body = response.content.decode()
    assert "Máy phay CNC" in body and "<svg" in body and "screen.js" in body


def test_the_screen_page_refuses_a_revoked_or_foreign_token(client, fablab, manager):
    token, raw = display_token_create(lab=fablab, name="x", by=manager)
    other = make_lab("other-page")
    _t, other_raw = display_token_create(lab=other, name="x", by=make_manager(other, "other-page-manager"))
    assert client.get(f"/screens/{fablab.slug}/?token={other_raw}").status_code == 403
    display_token_revoke(token=token, by=manager)
    assert client.get(f"/screens/{fablab.slug}/?token={raw}").status_code == 403


def test_the_screen_page_sends_anonymous_visitors_to_log_in(client, fablab):
    response = client.get(f"/screens/{fablab.slug}/")
    assert response.status_code == 302 and "login" in response["Location"]


def test_the_screen_page_of_an_unknown_lab_is_not_found(client, manager):
    client.force_login(manager)
    assert client.get("/screens/no-such-lab/").status_code == 404


# --- Admin ---------------------------------------------------------------------------------------


def test_a_manager_creates_a_token_in_the_admin_and_sees_the_address_once(client, fablab, manager):
    get_user_model().objects.filter(pk=manager.pk).update(is_staff=True)
    client.force_login(manager)
    response = client.post("/admin/frontend/displaytoken/add/", {"lab": fablab.pk, "name": "Sảnh"}, follow=True)
    assert response.status_code == 200
    token = DisplayToken.objects.get(name="Sảnh")
    shown = [str(m) for m in response.context["messages"]]
    assert any(f"/screens/{fablab.slug}/?token={token.prefix}" in m for m in shown)
    raw = next(m for m in shown if "?token=" in m).split("?token=")[1].split()[0]
    assert hash_token(raw) == token.token_hash


def test_a_manager_revokes_in_the_admin_and_cannot_see_other_labs_tokens(client, fablab, manager):
    get_user_model().objects.filter(pk=manager.pk).update(is_staff=True)
    mine, _ = display_token_create(lab=fablab, name="mine", by=manager)
    other = make_lab("other-admin")
    theirs, _ = display_token_create(lab=other, name="theirs", by=make_manager(other, "other-admin-manager"))
    client.force_login(manager)
    listing = client.get("/admin/frontend/displaytoken/")
    assert listing.status_code == 200
    assert "mine" in listing.content.decode() and "theirs" not in listing.content.decode()
    client.post(
        "/admin/frontend/displaytoken/", {"action": "revoke_selected", "_selected_action": [mine.pk, theirs.pk]}
    )
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert mine.revoked_at is not None and theirs.revoked_at is None
