"""How devices authenticate to the API (``Authorization: Device <token>``), what they may call, and their throttle.

A device is not a user: ``request.user`` stays anonymous and ``request.auth`` is the Device. The
device endpoints accept nothing else, and a device token opens no user endpoint (it is not a
user token), so a leaked device token can do exactly what the machine does, for its own machine.
"""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions
from rest_framework.permissions import BasePermission
from rest_framework.throttling import SimpleRateThrottle

from devices.models import Device
from devices.selectors import device_for_token

KEYWORD = "Device"


class DeviceTokenAuthentication(authentication.BaseAuthentication):
    """``Authorization: Device <token>``: the active device with that token (one indexed query)."""

    def authenticate(self, request):
        parts = authentication.get_authorization_header(request).split()
        if not parts or parts[0].lower() != KEYWORD.lower().encode():
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed()
        try:
            raw = parts[1].decode()
        except UnicodeError:
            raise exceptions.AuthenticationFailed() from None
        device = device_for_token(raw)
        if device is None:
            # Unknown, rotated away or revoked: the same answer, so a probe learns nothing.
            raise exceptions.AuthenticationFailed()
        from django.contrib.auth.models import AnonymousUser

        return AnonymousUser(), device

    def authenticate_header(self, request) -> str:
        return KEYWORD


class IsDevice(BasePermission):
    """Only a device (authenticated with its own token)."""

    def has_permission(self, request, view) -> bool:
        return isinstance(request.auth, Device)


class IsKiosk(IsDevice):
    """Only a kiosk."""

    def has_permission(self, request, view) -> bool:
        return super().has_permission(request, view) and request.auth.kind == Device.Kind.KIOSK


class DeviceRateThrottle(SimpleRateThrottle):
    """Per device, not per address: fifty machines behind one school router are fifty devices."""

    scope = "device"
    # A badge every second and a heartbeat a minute is far below; a device in a retry loop is not.
    rate = "600/minute"

    def get_cache_key(self, request, view):
        if not isinstance(request.auth, Device):
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.auth.pk}


class DeviceTokenScheme(OpenApiAuthenticationExtension):
    """Document device authentication as ``Authorization: Device <token>``."""

    target_class = "api.device_auth.DeviceTokenAuthentication"
    name = "deviceAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": 'Device token: "Authorization: Device <token>" (shown once when a manager registers the '
            "device or rotates its token).",
        }
