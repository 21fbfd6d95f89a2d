"""Account pages (namespace ``accounts``): sign-up, confirmation, guardian consent, privacy, organisations."""

from django.urls import path

from frontend.views import accounts as views

app_name = "accounts"

urlpatterns = [
    path("accounts/signup/", views.signup, name="signup"),
    path("accounts/verify/<str:uidb64>/<str:token>/", views.verify, name="verify"),
    path("accounts/verify/again/", views.resend, name="resend"),
    path("accounts/guardian/<str:token>/", views.guardian, name="guardian"),
    path("privacy/", views.privacy_notice, name="notice"),
    path("me/privacy/", views.privacy, name="privacy"),
    path("me/privacy/my-data.<str:fmt>", views.download, name="download"),
    path("me/delete/", views.delete, name="delete"),
    path("me/organisation/", views.join, name="join"),
    path("me/organisation/requests/<int:pk>/withdraw/", views.join_withdraw, name="join_withdraw"),
    path("organisation/register/", views.register_organization, name="register"),
    path("manage/organisations/", views.organization_requests, name="organization_requests"),
    path("manage/organisations/join/<int:pk>/", views.decide_join, name="decide_join"),
    path("manage/organisations/registrations/<int:pk>/", views.decide_registration, name="decide_registration"),
]
