"""WSGI entry point for the benchmark's gunicorn rows (works on commits that have no config/wsgi.py)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench_settings")
application = get_wsgi_application()
