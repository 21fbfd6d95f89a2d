"""`manage.py create_display_token`: a token for the lab, and the screen's full address on stdout."""

from __future__ import annotations

from io import StringIO
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.management import CommandError, call_command

from frontend.models import DisplayToken
from frontend.services import display_token_authenticate
from tests.factories import make_lab, make_manager, make_user

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command("create_display_token", *args, stdout=out)
    return out.getvalue().strip()


def test_it_prints_a_working_screen_address_under_public_url(settings):
    settings.PUBLIC_URL = "http://127.0.0.1:18001"
    lab = make_lab("eiu-fablab")
    manager = make_manager(lab, "manager.fablab")
    url = run("eiu-fablab", "--name", "Sảnh / Lobby", "--by", manager.username)
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}" == "http://127.0.0.1:18001"
    assert parts.path == "/screens/eiu-fablab/"
    token = display_token_authenticate(raw=parse_qs(parts.query)["token"][0], lab=lab)
    assert token is not None and token.name == "Sảnh / Lobby" and token.created_by == manager


def test_without_by_the_first_superuser_creates_it():
    lab = make_lab("cissc-fablab")
    admin = make_user("admin", is_superuser=True, is_staff=True)
    run("cissc-fablab")
    assert DisplayToken.objects.get(lab=lab).created_by == admin


def test_an_unknown_lab_or_someone_who_does_not_manage_it_is_refused():
    lab = make_lab("eiu-fablab")
    make_manager(lab, "manager.fablab")
    stranger = make_user("sinhvien.an")
    with pytest.raises(CommandError, match="No active lab"):
        run("no-such-lab", "--by", "manager.fablab")
    with pytest.raises(CommandError, match="not allowed"):
        run("eiu-fablab", "--by", stranger.username)
    with pytest.raises(CommandError, match="No active user"):
        run("eiu-fablab", "--by", "nobody")
    assert not DisplayToken.objects.exists()
