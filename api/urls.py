from django.urls import path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView
from rest_framework.routers import SimpleRouter

from . import views

app_name = "api"

router = SimpleRouter()
router.register("tickets", views.TicketViewSet, basename="ticket")

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="api:docs"), name="root"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", views.ApiDocs.as_view(), name="docs"),
    path("services/", views.ServiceList.as_view(), name="services"),
    path("applications/", views.ApplicationList.as_view(), name="applications"),
    *router.urls,
]
