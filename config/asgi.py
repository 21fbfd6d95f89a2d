"""ASGI entry point: WebSockets through Channels (live occupancy), and HTTP through Django's own handler.

In production daphne serves only ``/ws/`` (and its health check); HTTP goes to gunicorn
(config/wsgi.py), which bench/bench_api.py measured cheaper per request than any ASGI server here.
``make run`` and the tests' live servers serve both from this one application.

WebSockets pass an origin check (the Origin header must match ALLOWED_HOSTS: no other site's page
can open a socket with a user's cookies), then session authentication (dashboards), then the
display-token marker (wall screens, ``?token=…``), then the URL router of frontend/routing.py.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

# Django must be set up before the consumers (and so the models) are imported.
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from frontend.consumers import DisplayTokenAuthMiddleware  # noqa: E402
from frontend.routing import websocket_urlpatterns  # noqa: E402
from ops.asgi import CountWebSockets  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": CountWebSockets(
            AllowedHostsOriginValidator(
                AuthMiddlewareStack(DisplayTokenAuthMiddleware(URLRouter(websocket_urlpatterns)))
            )
        ),
    }
)
