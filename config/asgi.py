"""ASGI entry point: HTTP through Django, WebSockets through Channels (live occupancy).

HTTP goes through Django's ASGI handler with its middleware chain and view run synchronously, in
one hop to the request's worker thread (``SyncPipelineASGIHandler``). Every labshare view and
middleware is synchronous; Django's stock handler would adapt each middleware hook and the view
separately (about 20 thread hops a request), which cost ~8 ms of a 9 ms health check on the 2-core
reference machine.

WebSockets pass an origin check (the Origin header must match ALLOWED_HOSTS: no other site's page
can open a socket with a user's cookies), then session authentication (dashboards), then the
display-token marker (wall screens, ``?token=…``), then the URL router of frontend/routing.py.
"""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from asgiref.sync import sync_to_async
from channels.auth import AuthMiddlewareStack
from channels.routing import ProtocolTypeRouter, URLRouter
from channels.security.websocket import AllowedHostsOriginValidator
from django.core.handlers.asgi import ASGIHandler


class SyncPipelineASGIHandler(ASGIHandler):
    """Django's ASGI handler with the whole synchronous request pipeline in a single thread hop.

    The body is read, the response sent and disconnects noticed by Django's own async code; only
    "middleware chain + view" runs differently: built in sync mode and called once through
    ``sync_to_async`` (thread-sensitive, so the database connection stays the request's own).
    """

    def load_middleware(self, is_async=False):
        super().load_middleware(is_async=False)

    async def get_response_async(self, request):
        return await sync_to_async(self.get_response, thread_sensitive=True)(request)


# Django must be set up before the handler, the consumers (and so the models) are imported.
django.setup(set_prefix=False)
django_asgi_app = SyncPipelineASGIHandler()

from frontend.consumers import DisplayTokenAuthMiddleware  # noqa: E402
from frontend.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(DisplayTokenAuthMiddleware(URLRouter(websocket_urlpatterns)))
        ),
    }
)
