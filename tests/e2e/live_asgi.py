"""The ASGI application the browser tests serve with daphne: the real one, plus static files."""

from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

from config.asgi import application as _application

# daphne does not serve /static/ by itself; in production a web server does. Tests need the CSS,
# htmx and the page scripts, so the staticfiles finders serve them here (what runserver does).
application = ASGIStaticFilesHandler(_application)
