"""Where webhooks may go: public addresses over https; private and loopback ones only when the operator allows.

Name resolution is replaced where a test needs a host name to resolve somewhere particular
(``socket.getaddrinfo``): no test ever connects to anything but 127.0.0.1.
"""

from __future__ import annotations

import socket

import pytest

from core.errors import DomainError
from tests.factories import at, make_user
from tests.webhooks.conftest import run_due_webhook_jobs
from webhooks import services, targets
from webhooks.models import Delivery, DeliveryAttempt

pytestmark = pytest.mark.django_db


def resolving(monkeypatch, table: dict[str, list[str]]):
    """Make host names resolve as ``table`` says (IP literals never reach the resolver)."""
    real = socket.getaddrinfo

    def fake(host, port, *args, **kwargs):
        if host in table:
            return [
                (socket.AF_INET6 if ":" in ip else socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port))
                for ip in table[host]
            ]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/hook",
        "https://127.0.0.1/hook",
        "https://[::1]/hook",
        "https://10.1.2.3/hook",
        "https://192.168.1.20/hook",
        "https://172.16.0.5/hook",
        "https://169.254.169.254/latest/meta-data",  # a cloud host's metadata service
        "https://[::ffff:10.0.0.1]/hook",  # IPv4-mapped IPv6
        "https://0.0.0.0/hook",
        "https://[fe80::1]/hook",
    ],
)
def test_private_and_loopback_targets_are_refused_without_the_setting(url):
    with pytest.raises(DomainError) as refused:
        targets.check_url(url)
    assert refused.value.code == "webhook_target_not_allowed"


def test_a_host_name_is_refused_if_any_of_its_addresses_is_private(monkeypatch):
    resolving(monkeypatch, {"hooks.example.com": ["93.184.215.14", "10.0.0.7"]})
    with pytest.raises(DomainError) as refused:
        targets.check_url("https://hooks.example.com/in")
    assert refused.value.code == "webhook_target_not_allowed"
    assert refused.value.details["addresses"] == ["10.0.0.7"]


def test_a_public_host_over_https_is_accepted_and_plain_http_is_not(monkeypatch):
    resolving(monkeypatch, {"hooks.example.com": ["93.184.215.14"]})
    target = targets.check_url("https://hooks.example.com/in?x=1")
    assert (target.host, target.port, target.path) == ("hooks.example.com", 443, "/in?x=1")
    with pytest.raises(DomainError) as refused:
        targets.check_url("http://hooks.example.com/in")
    assert refused.value.code == "webhook_https_required"


@pytest.mark.parametrize(
    "url",
    ["ftp://example.com/x", "https://user:secret@example.com/x", "https:///nohost", "not a url", "https://a:99999/"],
)
def test_malformed_urls_are_refused(url):
    with pytest.raises(DomainError) as refused:
        targets.check_url(url)
    assert refused.value.code == "webhook_url_invalid"


def test_an_unresolvable_host_is_refused():
    with pytest.raises(DomainError) as refused:
        targets.check_url("https://no-such-host.invalid/x")
    assert refused.value.code == "webhook_target_unresolvable"


def test_the_setting_allows_the_networks_it_names_and_only_those(settings):
    settings.LABSHARE_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    assert targets.check_url("http://127.0.0.1:9/x").addresses
    with pytest.raises(DomainError):
        targets.check_url("http://10.0.0.1/x")


def test_a_subscription_to_a_private_target_is_refused():
    admin = make_user("root", is_superuser=True)
    with pytest.raises(DomainError) as refused:
        services.subscription_create(by=admin, url="http://127.0.0.1:9/x", event_types=["*"])
    assert refused.value.code == "webhook_target_not_allowed"


def test_the_target_is_checked_again_at_delivery_so_a_changed_dns_answer_sends_nothing(
    monkeypatch, clock, resource, student, receiver
):
    """DNS rebinding: the name was public when subscribed and points inside when delivered."""
    from bookings.services import booking_request

    clock.move_to(at(2030, 3, 4, 7))
    resolving(monkeypatch, {"rebind.example.com": ["93.184.215.14"]})
    admin = make_user("root", is_superuser=True)
    services.subscription_create(by=admin, url="https://rebind.example.com/in", event_types=["*"])
    resolving(monkeypatch, {"rebind.example.com": ["10.9.8.7"]})
    booking_request(resource=resource, user=student, start=at(2030, 3, 4, 9), end=at(2030, 3, 4, 10))
    run_due_webhook_jobs()
    attempt = DeliveryAttempt.objects.get()
    assert attempt.status_code is None and attempt.error == "webhook_target_not_allowed"
    assert Delivery.objects.get().status == Delivery.Status.PENDING  # retried later, checked again each time
    assert receiver.received == []
