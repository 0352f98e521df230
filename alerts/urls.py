from django.urls import path

from . import views
from .models import Kind

app_name = "alerts"

urlpatterns = [
    path("", views.integration_list, name="integrations"),
    path("alertmanager/<int:pk>/", views.receive, {"kind": Kind.ALERTMANAGER}, name="receive-alertmanager"),
    path("grafana/<int:pk>/", views.receive, {"kind": Kind.GRAFANA}, name="receive-grafana"),
    path("generic/<int:pk>/", views.receive, {"kind": Kind.GENERIC}, name="receive-generic"),
]
