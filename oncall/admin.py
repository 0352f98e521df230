"""Rotations, overrides and escalation policies are edited here; escalations are read-only
(they change only through oncall.actions, which writes the ticket's timeline)."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from incidents.readonly_admin import ReadOnlyAdmin

from .models import Escalation, EscalationPolicy, EscalationStep, Override, Page, Rotation, RotationMember


class RotationMemberInline(admin.TabularInline):
    model = RotationMember
    extra = 0
    autocomplete_fields = ["user"]
    ordering = ["position", "id"]


class OverrideInline(admin.TabularInline):
    model = Override
    extra = 0
    autocomplete_fields = ["user"]
    fields = ["user", "starts_at", "ends_at", "reason"]


@admin.register(Rotation)
class RotationAdmin(admin.ModelAdmin):
    list_display = ["name", "service", "start_date", "handoff_weekday_name", "handoff_time", "shift_days"]
    list_select_related = ["service"]
    list_filter = ["service"]
    search_fields = ["name", "service__name"]
    autocomplete_fields = ["service"]
    inlines = [RotationMemberInline, OverrideInline]

    @admin.display(description=_("hand-off day"))
    def handoff_weekday_name(self, obj):
        return obj.start_date.strftime("%A") if obj.shift_days % 7 == 0 else "—"


@admin.register(Override)
class OverrideAdmin(admin.ModelAdmin):
    list_display = ["rotation", "user", "starts_at", "ends_at", "reason"]
    list_select_related = ["rotation__service", "user"]
    list_filter = ["rotation__service"]
    autocomplete_fields = ["rotation", "user"]
    date_hierarchy = "starts_at"


class EscalationStepInline(admin.TabularInline):
    model = EscalationStep
    extra = 0
    autocomplete_fields = ["rotation", "user"]
    fields = ["position", "delay_minutes", "target", "rotation", "user"]
    ordering = ["position", "id"]


@admin.register(EscalationPolicy)
class EscalationPolicyAdmin(admin.ModelAdmin):
    list_display = ["__str__", "service"]
    list_select_related = ["service"]
    autocomplete_fields = ["service"]
    inlines = [EscalationStepInline]


class PageInline(admin.TabularInline):
    model = Page
    extra = 0
    fields = ["level", "user", "paged_at"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Escalation)
class EscalationAdmin(ReadOnlyAdmin):
    """Read-only: the escalation of each top-priority ticket and whom it paged."""

    list_display = ["ticket", "state", "level", "next_at", "started_at", "acknowledged_by", "acknowledged_at"]
    list_select_related = ["ticket", "acknowledged_by"]
    list_filter = ["state"]
    search_fields = ["ticket__number"]
    ordering = ["-started_at"]
    readonly_fields = [f.name for f in Escalation._meta.fields]
    inlines = [PageInline]
