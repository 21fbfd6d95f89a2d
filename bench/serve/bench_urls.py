"""The measured commit's URLs plus ``/bench/empty/``: a view that does nothing, behind the whole middleware chain."""

from django.http import HttpResponse
from django.urls import path

from config.urls import urlpatterns as project_urlpatterns


def empty(request):
    """The reference row's view: what any request costs before it does anything."""
    return HttpResponse(b"", content_type="text/plain")


urlpatterns = [path("bench/empty/", empty), *project_urlpatterns]
