"""WSGI entry point for the benchmark's gunicorn rows: the commit's own config/wsgi.py (what production
runs, process settings included), or Django's plain handler on commits that have none."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench_settings")

try:
    from config.wsgi import application
except ImportError:
    from django.core.wsgi import get_wsgi_application

    application = get_wsgi_application()
