"""``python -m tests.oidc_provider.serve``: set the test provider up (users, client) and serve it on 127.0.0.1."""

from __future__ import annotations

import json
import os
import sys
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from tests.clock import follow_parent_clock


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, *args):
        pass


def main() -> None:
    follow_parent_clock()
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.oidc_provider.settings"
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.core.wsgi import get_wsgi_application
    from oauth2_provider.models import Application

    call_command("migrate", verbosity=0, interactive=False)
    User = get_user_model()
    for spec in json.loads(os.environ["OIDC_TEST_USERS"]):
        User.objects.create_user(
            username=spec["username"],
            password=spec["password"],
            email=spec["email"],
            first_name=spec.get("first_name", ""),
            last_name=spec.get("last_name", ""),
        )
    Application.objects.create(
        name="labshare",
        client_id=os.environ["OIDC_TEST_CLIENT_ID"],
        client_secret=os.environ["OIDC_TEST_CLIENT_SECRET"],
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris=os.environ["OIDC_TEST_REDIRECTS"],
        algorithm=Application.RS256_ALGORITHM,
        skip_authorization=True,
    )
    port = int(os.environ["OIDC_TEST_PORT"])
    server = make_server(
        "127.0.0.1", port, get_wsgi_application(), server_class=_ThreadingServer, handler_class=_QuietHandler
    )
    print(f"test OIDC provider on 127.0.0.1:{port}", file=sys.stderr, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
