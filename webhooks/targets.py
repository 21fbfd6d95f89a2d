"""Where a webhook may go, and the one HTTP request that takes it there.

A subscriber chooses the URL, so without care a webhook is a way to make our server call into our
own network (server-side request forgery): the database, the metadata service of a cloud host, a
router's admin page. So:

* a target is refused unless **every** address its host resolves to is public, or inside a
  network the operator allowed (``LABSHARE_WEBHOOK_ALLOWED_NETWORKS``, e.g. an on-site server, or
  the loopback range for the tests);
* this is checked when the subscription is saved **and** again at every delivery, and the request
  goes to the very address that was checked (the host name only travels in ``Host`` and in TLS),
  so a DNS answer that changes in between (DNS rebinding) cannot redirect it;
* plain ``http://`` only to allowed networks; redirects are never followed; the response is read
  only up to a small limit, within a timeout.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import urllib3
from django.conf import settings

from core.errors import DomainError

#: How much of a response body we read (the log keeps its first 1,000 characters).
MAX_RESPONSE_BYTES = 64 * 1024

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class Target:
    """A checked target: the URL's parts and the addresses it resolved to, all allowed."""

    scheme: str
    host: str
    port: int
    path: str
    addresses: tuple[Address, ...]


@dataclass(frozen=True)
class Response:
    """What one request came back with (``status`` None: no HTTP answer at all)."""

    status: int | None
    duration_ms: int
    excerpt: str = ""
    error: str = ""

    @property
    def succeeded(self) -> bool:
        # Standard Webhooks: any 2xx is a success; a redirect is a failure (we never follow it).
        return self.status is not None and 200 <= self.status < 300


def allowed_networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """The private networks the operator allowed as targets (settings, parsed once per call)."""
    return [ipaddress.ip_network(text, strict=False) for text in settings.LABSHARE_WEBHOOK_ALLOWED_NETWORKS]


def _plain(address: Address) -> Address:
    """An IPv4-mapped IPv6 address (``::ffff:10.0.0.1``) is checked as the IPv4 address it is."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def in_allowed_network(address: Address) -> bool:
    """Whether ``address`` lies in a network the operator allowed."""
    address = _plain(address)
    return any(address.version == net.version and address in net for net in allowed_networks())


def is_public(address: Address) -> bool:
    """A globally routable unicast address (not private, loopback, link-local, reserved, multicast, …)."""
    address = _plain(address)
    return address.is_global and not address.is_multicast


def resolve(host: str, port: int) -> tuple[Address, ...]:
    """Every address ``host`` resolves to (an IP literal resolves to itself)."""
    try:
        return (ipaddress.ip_address(host),)
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, OSError):
        raise DomainError("webhook_target_unresolvable", host=host) from None
    addresses = []
    for _family, _type, _proto, _name, sockaddr in infos:
        # Drop an IPv6 zone (fe80::1%eth0): the address itself decides.
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise DomainError("webhook_target_unresolvable", host=host)
    return tuple(addresses)


def _parse(url: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, path with query) of a well-formed http(s) URL without credentials."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise DomainError("webhook_url_invalid") from None
    scheme = (parts.scheme or "").lower()
    host = parts.hostname or ""
    # Credentials in a URL end up in logs; a receiver checks the signature instead.
    if scheme not in ("https", "http") or not host or parts.username or parts.password:
        raise DomainError("webhook_url_invalid")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return scheme, host, port or (443 if scheme == "https" else 80), path


def check_url(url: str) -> Target:
    """Parse and check a target URL; refuse it with a domain error when it may not be called."""
    scheme, host, port, path = _parse(url)
    addresses = resolve(host, port)
    refused = [str(a) for a in addresses if not (is_public(a) or in_allowed_network(a))]
    if refused:
        raise DomainError("webhook_target_not_allowed", host=host, addresses=refused)
    if scheme == "http" and not all(in_allowed_network(a) for a in addresses):
        raise DomainError("webhook_https_required")
    return Target(scheme=scheme, host=host, port=port, path=path, addresses=addresses)


def _host_header(target: Target) -> str:
    default = 443 if target.scheme == "https" else 80
    host = f"[{target.host}]" if ":" in target.host else target.host
    return host if target.port == default else f"{host}:{target.port}"


def post(target: Target, *, body: bytes, headers: dict[str, str], timeout: float | None = None) -> Response:
    """POST ``body`` to the first checked address of ``target``; never raises for network trouble."""
    timeout = timeout if timeout is not None else settings.LABSHARE_WEBHOOK_TIMEOUT_SECONDS
    address = str(target.addresses[0])
    request_headers = {
        **headers,
        "Host": _host_header(target),
        "Content-Type": "application/json",
        "User-Agent": "labshare-webhooks/1",
    }
    pool_kwargs = {
        "timeout": urllib3.Timeout(connect=min(5.0, timeout), read=timeout),
        "retries": False,  # our retries are the delivery schedule, not urllib3's
        "maxsize": 1,
    }
    if target.scheme == "https":
        # Connect to the checked address, but verify the certificate for the host name.
        pool = urllib3.HTTPSConnectionPool(
            address, target.port, server_hostname=target.host, assert_hostname=target.host, **pool_kwargs
        )
    else:
        pool = urllib3.HTTPConnectionPool(address, target.port, **pool_kwargs)
    started = time.monotonic()
    try:
        response = pool.urlopen(
            "POST",
            target.path,
            body=body,
            headers=request_headers,
            redirect=False,
            preload_content=False,
            assert_same_host=False,
        )
        try:
            content = response.read(MAX_RESPONSE_BYTES)
        finally:
            response.release_conn()
        duration = int((time.monotonic() - started) * 1000)
        return Response(status=response.status, duration_ms=duration, excerpt=content.decode("utf-8", "replace")[:1000])
    except urllib3.exceptions.HTTPError as exc:
        duration = int((time.monotonic() - started) * 1000)
        return Response(status=None, duration_ms=duration, error=f"{type(exc).__name__}: {exc}"[:300])
    finally:
        pool.close()
