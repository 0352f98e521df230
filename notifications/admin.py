from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from . import delivery
from .models import Notification, Preference, State


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    """Recent notifications and their fate; failed ones can be sent again."""

    list_display = [
        "created_at",
        "ticket",
        "recipient",
        "event",
        "channel",
        "state",
        "attempts",
        "sent_at",
        "last_error_short",
    ]
    list_filter = ["state", "channel", "event"]
    list_select_related = ["ticket", "recipient"]
    search_fields = ["ticket__number", "recipient__username"]
    ordering = ["-created_at"]
    show_full_result_count = False
    actions = ["retry_selected"]
    readonly_fields = [f.name for f in Notification._meta.fields]

    @admin.display(description=_("last error"))
    def last_error_short(self, obj):
        return obj.last_error[:80]

    @admin.action(description=_("Send the selected failed notifications again"))
    def retry_selected(self, request, queryset):
        count = delivery.retry(list(queryset.filter(state=State.FAILED).values_list("pk", flat=True)))
        self.message_user(
            request,
            ngettext("%d notification queued again.", "%d notifications queued again.", count) % count,
            messages.SUCCESS,
        )

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Preference)
class PreferenceAdmin(admin.ModelAdmin):
    list_display = ["user", "event", "email", "sms"]
    list_filter = ["event"]
    autocomplete_fields = ["user"]
