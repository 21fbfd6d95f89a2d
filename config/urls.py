"""Top-level URL configuration."""

from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.contrib.staticfiles.urls import staticfiles_urlpatterns
from django.urls import include, path

from frontend import views as frontend_views
from ops import views as ops_views

admin.site.site_header = "labshare — quản trị / administration"
admin.site.site_title = "labshare"
admin.site.index_title = "Phòng lab, thiết bị và lịch đặt / Labs, equipment and bookings"

urlpatterns = [
    path("healthz", ops_views.healthz, name="healthz"),
    path("metrics", ops_views.metrics, name="metrics"),
    path("admin/", admin.site.urls),
    # Django's language switch, which also saves a signed-in member's preference.
    path("i18n/setlang/", frontend_views.set_language, name="set_language"),
    path("api/", include("api.urls", namespace="api")),
    path("", include("frontend.urls")),
]
if settings.DEBUG:
    # `make run` serves with daphne, which (unlike runserver) does not serve /static/ itself;
    # in production the compose file's Caddy front serves /static/ and /media/.
    urlpatterns += staticfiles_urlpatterns()
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
