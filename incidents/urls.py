from django.urls import path

from . import views

app_name = "incidents"

urlpatterns = [
    path("", views.ticket_list, {"which": "current"}, name="current"),
    path("evolution-requests/", views.ticket_list, {"which": "evolution"}, name="evolution"),
    path("closed/", views.ticket_list, {"which": "closed"}, name="closed"),
    path("new/", views.ticket_create, name="ticket-create"),
    path("report/", views.ticket_report, name="ticket-report"),
    path("<str:number>/", views.ticket_detail, name="ticket"),
    path("<str:number>/comment/", views.ticket_comment, name="ticket-comment"),
    path("<str:number>/intervention/", views.ticket_intervention, name="ticket-intervention"),
    path("<str:number>/reroute/", views.ticket_reroute, name="ticket-reroute"),
    path("<str:number>/close/", views.ticket_close, name="ticket-close"),
    path("<str:number>/reopen/", views.ticket_reopen, name="ticket-reopen"),
    path("<str:number>/decide/", views.ticket_decide, name="ticket-decide"),
    path("<str:number>/assign/", views.ticket_assign, name="ticket-assign"),
    path("<str:number>/take/", views.ticket_take, name="ticket-take"),
    path("<str:number>/reclassify/", views.ticket_reclassify, name="ticket-reclassify"),
    path("<str:number>/watch/", views.ticket_watch, name="ticket-watch"),
    path("<str:number>/attachments/<int:pk>/", views.attachment_download, name="attachment"),
    path("<str:number>/watchers/", views.ticket_watcher_add, name="ticket-watcher-add"),
    path("<str:number>/watchers/<int:user_id>/remove/", views.ticket_watcher_remove, name="ticket-watcher-remove"),
]
