"""University sign-in against a real OpenID Connect provider started by the test (tests/oidc_provider).

labshare runs in the test process (Django's test client); the provider is django-oauth-toolkit in
its own process on 127.0.0.1, and the person's browser is a ``requests`` session on the
provider's side. labshare exchanges the code and fetches the keys and userinfo over real HTTP.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests
from django.contrib.auth import get_user_model
from django.test import Client

from accounts.models import Account, DomainRule
from labs.models import Audience, Member, Organization
from tests.accounts.oidc import start_provider
from tests.factories import make_organization, make_user

pytestmark = pytest.mark.django_db

CALLBACK = "http://testserver/oidc/callback/"
PEOPLE = [
    {
        "username": "an",
        "password": "pw-an-123",
        "email": "an.nguyen@student.eiu.edu.vn",
        "first_name": "An",
        "last_name": "Nguyễn",
    },
    {
        "username": "binh",
        "password": "pw-binh-123",
        "email": "binh.tran@eiu.edu.vn",
        "first_name": "Bình",
        "last_name": "Trần",
    },
]


@pytest.fixture
def provider(settings):
    running = start_provider(users=PEOPLE, redirect_uris=[CALLBACK])
    for name, value in running.labshare_settings().items():
        setattr(settings, name, value)
    yield running
    running.stop()


@pytest.fixture
def eiu(db):
    university = make_organization(
        Organization.Kind.UNIVERSITY, name="Trường Đại học Quốc tế Miền Đông", short_name="EIU"
    )
    DomainRule.objects.create(domain="student.eiu.edu.vn", audience=Audience.STUDENT, organization=university)
    DomainRule.objects.create(domain="eiu.edu.vn", audience=Audience.STAFF, organization=university)
    return university


def _start(client: Client, next_path: str = "/me/") -> str:
    """labshare sends the browser to the provider; returns the provider URL it sent it to."""
    response = client.get(f"/oidc/authenticate/?next={next_path}")
    assert response.status_code == 302
    return response["Location"]


def _authorise_at_provider(authorize_url: str, person: dict) -> str:
    """The person signs in at the provider, which sends them back with a code: returns that callback URL."""
    browser = requests.Session()
    response = browser.get(authorize_url, allow_redirects=False, timeout=10)
    assert response.status_code == 302, response.text[:300]
    login_url = urljoin(authorize_url, response.headers["Location"])
    browser.get(login_url, timeout=10)
    response = browser.post(
        login_url,
        data={
            "username": person["username"],
            "password": person["password"],
            "csrfmiddlewaretoken": browser.cookies["csrftoken"],
            "next": parse_qs(urlsplit(login_url).query)["next"][0],
        },
        headers={"Referer": login_url},
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 302, response.text[:300]
    response = browser.get(urljoin(login_url, response.headers["Location"]), allow_redirects=False, timeout=10)
    assert response.status_code == 302, response.text[:300]
    callback = response.headers["Location"]
    assert callback.startswith(CALLBACK), callback
    return callback


def _come_back(client: Client, callback: str):
    parts = urlsplit(callback)
    return client.get(f"{parts.path}?{parts.query}")


def test_a_first_sign_in_creates_the_user_with_the_audience_of_their_domain(provider, eiu):
    client = Client()
    response = _come_back(client, _authorise_at_provider(_start(client), PEOPLE[0]))
    assert response.status_code == 302
    # A first sign-in is a sign-up: the person is asked for consent first.
    assert response["Location"] == "/me/privacy/?welcome=1"
    user = get_user_model().objects.get(email="an.nguyen@student.eiu.edu.vn")
    member = Member.objects.get(user=user)
    assert (member.audience, member.organization) == (Audience.STUDENT, eiu)
    assert (user.first_name, user.last_name) == ("An", "Nguyễn")
    assert not user.has_usable_password()
    account = Account.objects.get(user=user)
    assert account.source == Account.Source.OIDC and account.oidc_subject and account.email_verified_at
    assert int(client.session["_auth_user_id"]) == user.pk
    # The most specific rule wins: the staff domain gives staff.
    other = Client()
    _come_back(other, _authorise_at_provider(_start(other), PEOPLE[1]))
    assert Member.objects.get(user__email="binh.tran@eiu.edu.vn").audience == Audience.STAFF


def test_an_existing_user_is_signed_in_and_keeps_their_profile(provider, eiu):
    existing = make_user("an.existing", audience=Audience.RESEARCHER)
    existing.email = "an.nguyen@student.eiu.edu.vn"
    existing.save()
    client = Client()
    response = _come_back(client, _authorise_at_provider(_start(client, "/me/bookings/"), PEOPLE[0]))
    assert response.status_code == 302
    assert int(client.session["_auth_user_id"]) == existing.pk
    assert get_user_model().objects.filter(email__iexact="an.nguyen@student.eiu.edu.vn").count() == 1
    assert Member.objects.get(user=existing).audience == Audience.RESEARCHER
    assert Account.objects.get(user=existing).oidc_subject  # linked for the next time
    # The next sign-in finds the same person by their university subject.
    again = Client()
    _come_back(again, _authorise_at_provider(_start(again), PEOPLE[0]))
    assert int(again.session["_auth_user_id"]) == existing.pk


def test_a_code_the_provider_refuses_ends_on_the_login_page_not_an_error(provider, eiu):
    first, second = Client(), Client()
    stolen = _authorise_at_provider(_start(first), PEOPLE[0])
    b_state = parse_qs(urlsplit(_start(second)).query)["state"][0]
    code = parse_qs(urlsplit(stolen).query)["code"][0]
    # Without A's PKCE verifier the provider itself refuses the code (invalid_grant).
    response = second.get(f"/oidc/callback/?code={code}&state={b_state}")
    assert response.status_code == 302 and response["Location"] == "/accounts/login/"
    assert "_auth_user_id" not in second.session


def test_a_bad_state_is_refused(provider, eiu):
    client = Client()
    callback = _authorise_at_provider(_start(client), PEOPLE[0])
    forged = callback.replace("state=", "state=forged")
    response = _come_back(client, forged)
    assert response.status_code == 302 and response["Location"] == "/accounts/login/"
    assert "_auth_user_id" not in client.session
    assert not get_user_model().objects.filter(email="an.nguyen@student.eiu.edu.vn").exists()


def test_a_code_with_another_sessions_nonce_is_refused(provider, eiu):
    """Session A's code (its ID token carries A's nonce) brought back with session B's state."""
    first, second = Client(), Client()
    a_url = _start(first)
    stolen = _authorise_at_provider(a_url, PEOPLE[0])
    a_state = parse_qs(urlsplit(a_url).query)["state"][0]
    own = _start(second)  # B's state and nonce, in B's session
    b_state = parse_qs(urlsplit(own).query)["state"][0]
    code = parse_qs(urlsplit(stolen).query)["code"][0]
    # The attacker also has A's PKCE verifier, so only the nonce stands in the way.
    session = second.session
    states = session["oidc_states"]
    states[b_state]["code_verifier"] = first.session["oidc_states"][a_state]["code_verifier"]
    session["oidc_states"] = states
    session.save()
    response = second.get(f"/oidc/callback/?code={code}&state={b_state}")
    assert response.status_code == 302 and response["Location"] == "/accounts/login/"
    assert "_auth_user_id" not in second.session
    assert not get_user_model().objects.filter(email="an.nguyen@student.eiu.edu.vn").exists()


def test_university_sign_in_is_off_until_configured(settings, db):
    settings.OIDC_ENABLED = False
    assert Client().get("/oidc/authenticate/").status_code == 404
    page = Client().get("/accounts/login/").content.decode()
    assert "university-sign-in" not in page and 'id="sign-up"' in page
