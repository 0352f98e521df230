from django.contrib import admin
from django.shortcuts import redirect
from django.urls import include, path

urlpatterns = [
    path("", lambda request: redirect("incidents:current"), name="home"),
    path("tickets/", include("incidents.urls")),
    path("accounts/", include("accounts.urls")),
    path("alerts/", include("alerts.urls")),
    path("oncall/", include("oncall.urls")),
    path("api/v1/", include("api.urls")),
    path("api/tokens/", include("api.token_urls")),
    path("admin/", admin.site.urls),
]
