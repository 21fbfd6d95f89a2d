"""Web page views."""

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from labs.models import Lab


def home(request: HttpRequest) -> HttpResponse:
    """The lab network as a tree."""
    labs = list(Lab.objects.filter(is_active=True).order_by("name_vi"))
    children: dict[int | None, list[Lab]] = {}
    for lab in labs:
        children.setdefault(lab.parent_id, []).append(lab)
    return render(request, "frontend/home.html", {"roots": children.get(None, []), "children": children})


def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness and database readiness, for docker-compose and load balancers."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
