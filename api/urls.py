"""URLs of the REST API, mounted at /api/: resources, auth, feeds, schema and its documentation pages."""

from __future__ import annotations

from csp.constants import UNSAFE_INLINE
from csp.decorators import csp_update
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from api.views.account import (
    FeedTokenViewSet,
    LoginView,
    LogoutAllView,
    LogoutView,
    MeView,
    MyCertificationsView,
    MyQuotaView,
)
from api.views.accounts import (
    DeleteMeView,
    JoinRequestViewSet,
    MyConsentsView,
    MyDataView,
    RegistrationViewSet,
    SignupView,
)
from api.views.availability import AvailabilitySearchView
from api.views.billing import (
    BankNotificationReviewViewSet,
    BankNotificationView,
    LateChargeReviewViewSet,
    StatementViewSet,
    VatRateViewSet,
)
from api.views.bookings import BookingViewSet, SeriesViewSet, WaitlistViewSet
from api.views.catalogue import (
    CategoryViewSet,
    EquipmentViewSet,
    LabViewSet,
    OrganizationViewSet,
    PartnerViewSet,
    ResourceViewSet,
    SpaceViewSet,
)
from api.views.certifications import CertificationGrantViewSet, CertificationViewSet
from api.views.devices import (
    BadgeViewSet,
    DeviceAccessView,
    DeviceAllowListView,
    DeviceEnrolView,
    DeviceEventsView,
    DeviceHeartbeatView,
    DeviceKeyView,
    DeviceViewSet,
)
from api.views.errors import not_found
from api.views.feeds import FeedView
from api.views.index import ApiIndexView
from api.views.reports import (
    BookingsExportView,
    CertificationsExportView,
    MembersExportView,
    NetworkFiguresView,
    SponsorImpactView,
    UtilisationReportView,
)
from api.views.webhooks import DeliveryViewSet, EventTypesView, SubscriptionViewSet

app_name = "api"

_docs_policy = csp_update({"style-src": [UNSAFE_INLINE], "worker-src": ["blob:"], "img-src": ["data:"]})

router = DefaultRouter()
router.include_root_view = False
router.register("labs", LabViewSet, basename="lab")
router.register("resources", ResourceViewSet, basename="resource")
router.register("equipment", EquipmentViewSet, basename="equipment")
router.register("spaces", SpaceViewSet, basename="space")
router.register("categories", CategoryViewSet, basename="category")
router.register("partners", PartnerViewSet, basename="partner")
router.register("organizations", OrganizationViewSet, basename="organization")
router.register("certifications", CertificationViewSet, basename="certification")
router.register("certification-grants", CertificationGrantViewSet, basename="certification-grant")
router.register("bookings", BookingViewSet, basename="booking")
router.register("series", SeriesViewSet, basename="series")
router.register("waitlist", WaitlistViewSet, basename="waitlist")
router.register("me/feeds", FeedTokenViewSet, basename="feed-token")
router.register("webhooks", SubscriptionViewSet, basename="webhook")
router.register("webhook-deliveries", DeliveryViewSet, basename="webhook-delivery")
router.register("join-requests", JoinRequestViewSet, basename="join-request")
router.register("organization-registrations", RegistrationViewSet, basename="organization-registration")
router.register("statements", StatementViewSet, basename="statement")
router.register("vat-rates", VatRateViewSet, basename="vat-rate")
router.register("billing/bank-notifications/review", BankNotificationReviewViewSet, basename="bank-notification-review")
router.register("billing/late-charges", LateChargeReviewViewSet, basename="late-charge")
router.register("devices", DeviceViewSet, basename="device")
router.register("badges", BadgeViewSet, basename="badge")

urlpatterns = [
    path("", ApiIndexView.as_view(), name="index"),
    path("auth/login/", LoginView.as_view(), name="login"),
    path("auth/logout/", LogoutView.as_view(), name="logout"),
    path("auth/logout-all/", LogoutAllView.as_view(), name="logout-all"),
    path("me/", MeView.as_view(), name="me"),
    path("me/certifications/", MyCertificationsView.as_view(), name="me-certifications"),
    path("me/quota/", MyQuotaView.as_view(), name="me-quota"),
    path("me/consents/", MyConsentsView.as_view(), name="me-consents"),
    path("me/data/", MyDataView.as_view(), name="me-data"),
    path("me/delete/", DeleteMeView.as_view(), name="me-delete"),
    path("auth/signup/", SignupView.as_view(), name="signup"),
    path("webhook-event-types/", EventTypesView.as_view(), name="webhook-event-types"),
    path("availability/search/", AvailabilitySearchView.as_view(), name="availability-search"),
    path("reports/utilisation/", UtilisationReportView.as_view(), name="report-utilisation"),
    path("reports/network/", NetworkFiguresView.as_view(), name="report-network"),
    path("reports/sponsors/<int:pk>/", SponsorImpactView.as_view(), name="report-sponsor"),
    path("exports/bookings/", BookingsExportView.as_view(), name="export-bookings"),
    path("exports/members/", MembersExportView.as_view(), name="export-members"),
    path("exports/certifications/", CertificationsExportView.as_view(), name="export-certifications"),
    path("billing/bank-notifications/", BankNotificationView.as_view(), name="bank-notifications"),
    # What machines call (Authorization: Device <token>), apart from what people call.
    path("device/access/", DeviceAccessView.as_view(), name="device-access"),
    path("device/events/", DeviceEventsView.as_view(), name="device-events"),
    path("device/heartbeat/", DeviceHeartbeatView.as_view(), name="device-heartbeat"),
    path("device/allow-list/", DeviceAllowListView.as_view(), name="device-allow-list"),
    path("device/key/", DeviceKeyView.as_view(), name="device-key"),
    path("device/enrol/", DeviceEnrolView.as_view(), name="device-enrol"),
    re_path(r"^feeds/(?P<token>[A-Za-z0-9_\-]{1,64})\.ics$", FeedView.as_view(), name="feed"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # The documentation pages build their styles at run time (style elements) and ReDoc starts a worker
    # from a blob: their policy allows that, still no inline script (Swagger UI's start-up script is a
    # file of its own: the split view).
    path("docs/", _docs_policy(SpectacularSwaggerSplitView.as_view(url_name="api:schema")), name="docs"),
    path("redoc/", _docs_policy(SpectacularRedocView.as_view(url_name="api:schema")), name="redoc"),
    path("", include(router.urls)),
    # Anything else under /api/ is a JSON 404 with the usual error body, not Django's HTML page.
    # [\s\S], not ".": a path with an encoded newline (%0A) must land here too, not on Django's HTML 404.
    re_path(r"^[\s\S]*$", not_found, name="not-found"),
]
