from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from .models import Application, Membership, Service, Ticket
from .readonly_admin import ReadOnlyAdmin


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Service)
class ServiceAdmin(SimpleHistoryAdmin):
    list_display = ["name", "email", "is_active"]
    search_fields = ["name"]
    inlines = [MembershipInline]


@admin.register(Application)
class ApplicationAdmin(SimpleHistoryAdmin):
    list_display = ["name", "default_service", "is_active"]
    list_select_related = ["default_service"]
    search_fields = ["name"]
    autocomplete_fields = ["default_service"]


@admin.register(Ticket)
class TicketAdmin(ReadOnlyAdmin):
    """Read-only: tickets change through the desk's actions, which write the timeline."""

    list_display = ["number", "title", "status", "priority", "service", "application", "created_at"]
    list_select_related = ["service", "application"]
    list_filter = ["status", "priority"]
    search_fields = ["number"]
    date_hierarchy = None
