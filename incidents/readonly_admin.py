"""The admin of rows that change only through actions (tickets, alerts, escalations,
received messages): administrators read them there and never add, edit or delete them."""

from django.contrib import admin


class ReadOnlyAdmin(admin.ModelAdmin):
    show_full_result_count = False  # these tables grow to millions of rows: no COUNT(*)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
