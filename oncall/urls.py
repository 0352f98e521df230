from django.urls import path

from . import views

app_name = "oncall"

urlpatterns = [
    path("", views.schedule_page, name="schedule"),
    path("ack/<str:token>/", views.acknowledge, name="acknowledge"),
    path("tickets/<str:number>/acknowledge/", views.ticket_acknowledge, name="ticket-acknowledge"),
]
