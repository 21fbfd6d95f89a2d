"""The ASGI application tests serve with daphne: the real one, on the test's clock (tests.clock)."""

from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

from tests.clock import follow_parent_clock

follow_parent_clock()

from config.asgi import application  # noqa: E402 - the clock must be set before Django starts

# daphne does not serve /static/ by itself; in production a web server does. Browser tests need
# the CSS, htmx and the page scripts, so the staticfiles finders serve them here (as runserver does).
with_static_files = ASGIStaticFilesHandler(application)
