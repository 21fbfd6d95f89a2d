"""Settings of the servers the API benchmark starts: the project's own, plus the benchmark's reference view.

Loaded from any commit's checkout (``BENCH_BASELINE``): only ``config.settings`` is imported from it.
"""

from config.settings import *  # noqa: F403 - the measured commit's settings, unchanged but for the two below

ROOT_URLCONF = "bench_urls"
# The benchmark signs its users in over HTTP on every side; the production hasher would spend a
# second of CPU per login and tell nothing about the operations measured.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
