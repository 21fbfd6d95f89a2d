"""WSGI entry point: the HTTP of production (gunicorn, one process per core; see the README's Production).

bench/bench_api.py measured gunicorn's threaded workers against daphne and uvicorn on the same
requests: the cheapest in CPU per request, and a WSGI request runs middleware and view on one
thread with no event loop in between. WebSockets stay with daphne (config/asgi.py).
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()
