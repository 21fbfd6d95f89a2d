"""ASGI entry point: HTTP through Django, WebSockets through Channels (live occupancy).

WebSockets pass an origin check (the Origin header must match ALLOWED_HOSTS: no other site's page
can open a socket with a user's cookies), then session authentication (dashboards), then the
display-token marker (wall screens, ``?token=…``), then the URL router of frontend/routing.py.
"""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.core.asgi import get_asgi_application  # noqa: E402

# Django must be set up before the consumers (and so the models) are imported.
django_asgi_app = get_asgi_application()

from frontend.consumers import DisplayTokenAuthMiddleware  # noqa: E402
from frontend.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(DisplayTokenAuthMiddleware(URLRouter(websocket_urlpatterns)))),
    }
)
