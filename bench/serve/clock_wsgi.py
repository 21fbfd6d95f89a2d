"""WSGI entry point for bench/bench_devices.py's gunicorn: the commit's own config/wsgi.py (what production
runs) on the benchmark's clock (tests.clock: the parent process's frozen-then-ticking time)."""

from tests.clock import follow_parent_clock

follow_parent_clock()

from config.wsgi import application  # noqa: E402,F401 - the clock must be set before Django starts
