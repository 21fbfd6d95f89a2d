"""Web pages."""

from django.contrib.auth import views as auth_views
from django.templatetags.static import static
from django.urls import path, reverse_lazy
from django.views.generic.base import RedirectView

from frontend import screens, views
from frontend.views import billing as billing_views
from frontend.views import reports as reports_views

auth = [
    path("accounts/login/", views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "accounts/password/reset/",
        auth_views.PasswordResetView.as_view(
            template_name="frontend/auth/password_reset_form.html",
            email_template_name="frontend/auth/password_reset_email.txt",
            subject_template_name="frontend/auth/password_reset_subject.txt",
        ),
        name="password_reset",
    ),
    path(
        "accounts/password/reset/sent/",
        auth_views.PasswordResetDoneView.as_view(template_name="frontend/auth/password_reset_done.html"),
        name="password_reset_done",
    ),
    path(
        "accounts/password/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(template_name="frontend/auth/password_reset_confirm.html"),
        name="password_reset_confirm",
    ),
    path(
        "accounts/password/reset/done/",
        auth_views.PasswordResetCompleteView.as_view(template_name="frontend/auth/password_reset_complete.html"),
        name="password_reset_complete",
    ),
    path(
        "accounts/password/change/",
        auth_views.PasswordChangeView.as_view(
            template_name="frontend/auth/password_change_form.html", success_url=reverse_lazy("password_change_done")
        ),
        name="password_change",
    ),
    path(
        "accounts/password/change/done/",
        auth_views.PasswordChangeDoneView.as_view(template_name="frontend/auth/password_change_done.html"),
        name="password_change_done",
    ),
]

urlpatterns = [
    path("", views.home, name="home"),
    # Browsers ask for /favicon.ico whatever the page says.
    path("favicon.ico", RedirectView.as_view(url=static("frontend/favicon.svg"), permanent=True)),
    *auth,
    path("find/", views.find, name="find"),
    path("labs/<slug:slug>/", views.lab_detail, name="lab"),
    path("r/<slug:slug>/", views.resource_detail, name="resource"),
    path("r/<slug:slug>/book/", views.resource_book, name="resource_book"),
    path("r/<slug:slug>/checkin/", views.qr_check_in, name="qr_check_in"),
    path("me/", views.profile, name="profile"),
    path("me/bookings/", views.my_bookings, name="my_bookings"),
    path("me/bookings/list/", views.my_bookings_list, name="my_bookings_list"),
    path("me/feed/", views.my_feed, name="my_feed"),
    path("bookings/<int:pk>/", views.booking_link, name="booking_link"),
    path("waitlist/<int:pk>/", views.waitlist_link, name="waitlist_link"),
    path("waitlist/<int:pk>/accept/", views.waitlist_accept, name="waitlist_accept"),
    path("waitlist/<int:pk>/leave/", views.waitlist_leave, name="waitlist_leave"),
    path("bookings/<int:pk>/cancel/", views.booking_cancel, name="booking_cancel"),
    path("bookings/<int:pk>/move/", views.booking_reschedule, name="booking_reschedule"),
    path("bookings/<int:pk>/checkin/", views.booking_check_in, name="booking_check_in"),
    path("bookings/<int:pk>/checkout/", views.booking_check_out, name="booking_check_out"),
    path("bookings/<int:pk>/desk-checkin/", views.desk_check_in, name="desk_check_in"),
    path("organisation/", views.organization, name="organization"),
    path("manage/", views.manage_home, name="manage"),
    path("manage/queue/", views.manage_queue, name="manage_queue"),
    path("manage/bookings/<int:pk>/decide/", views.booking_decide, name="booking_decide"),
    path("manage/maintenance/", views.manage_maintenance, name="manage_maintenance"),
    path("manage/certifications/", views.manage_certifications, name="manage_certifications"),
    path("manage/displays/", views.manage_displays, name="manage_displays"),
    path("screens/<slug:slug>/", screens.screen, name="screen"),
    path("reports/", reports_views.utilisation, name="report_utilisation"),
    path("reports/network/", reports_views.network, name="report_network"),
    path("reports/sponsors/", reports_views.sponsors, name="report_sponsors"),
    path("reports/sponsors/<slug:slug>/", reports_views.sponsor, name="report_sponsor"),
    path("exports/bookings/", reports_views.export_bookings, name="export_bookings"),
    path("exports/members/", reports_views.export_members, name="export_members"),
    path("exports/certifications/", reports_views.export_certifications, name="export_certifications"),
    path("billing/statements/", billing_views.statements, name="statements"),
    path("billing/statements/close-month/", billing_views.close_month, name="statements_close_month"),
    path("billing/statements/<int:pk>/", billing_views.statement_detail, name="statement"),
    path("billing/statements/<int:pk>/action/", billing_views.statement_action, name="statement_action"),
    path("billing/review/", billing_views.review, name="billing_review"),
]
