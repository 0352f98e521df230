from django.contrib import admin, messages
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from incidents.readonly_admin import ReadOnlyAdmin

from . import actions
from .models import Alert, AlertGroup, Integration, Kind


def _credentials_page(request, integration, credentials):
    """The only time the token and the secret are shown: the page is never cached."""
    path = reverse(f"alerts:receive-{integration.kind}", args=[integration.pk])
    response = TemplateResponse(
        request,
        "admin/alerts/integration/credentials.html",
        {
            **admin.site.each_context(request),
            "title": _("Credentials of %(name)s") % {"name": integration.name},
            "integration": integration,
            "credentials": credentials,
            "endpoint": request.build_absolute_uri(path),
            "opts": Integration._meta,
            "Kind": Kind,
        },
    )
    response["Cache-Control"] = "no-store"
    return response


@admin.register(Integration)
class IntegrationAdmin(admin.ModelAdmin):
    """Integrations: the token and the secret are made on creation and shown once; an
    action replaces them (and shows the new ones once)."""

    list_display = [
        "name",
        "kind",
        "service",
        "application",
        "is_active",
        "close_on_resolve",
        "rate_limit",
        "refused_count",
    ]
    list_filter = ["kind", "is_active"]
    list_select_related = ["service", "application"]
    search_fields = ["name"]
    autocomplete_fields = ["service", "application", "bot"]
    readonly_fields = ["refused_count", "created_at"]
    fields = [
        "name",
        "kind",
        "service",
        "application",
        "bot",
        "severity_map",
        "fingerprint_labels",
        "close_on_resolve",
        "rate_limit",
        "is_active",
        "refused_count",
        "created_at",
    ]
    actions = ["renew_selected_credentials"]

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
        else:
            obj._new_credentials = actions.set_up_integration(obj)

    def response_add(self, request, obj, post_url_continue=None):
        return _credentials_page(request, obj, obj._new_credentials)

    @admin.action(description=_("Replace the token and secret of the selected integration"))
    def renew_selected_credentials(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, _("Select exactly one integration."), messages.WARNING)
            return None
        integration = queryset.get()
        return _credentials_page(request, integration, actions.renew_credentials(integration))


@admin.register(Alert)
class AlertAdmin(ReadOnlyAdmin):
    list_display = ["received_at", "integration", "fingerprint", "status", "processed_at", "group"]
    list_filter = ["status", "integration"]
    list_select_related = ["integration"]
    search_fields = ["fingerprint"]
    ordering = ["-received_at"]
    readonly_fields = [f.name for f in Alert._meta.fields]


@admin.register(AlertGroup)
class AlertGroupAdmin(ReadOnlyAdmin):
    list_display = ["title", "integration", "fingerprint", "is_open", "last_status", "count", "last_seen", "ticket"]
    list_filter = ["is_open", "last_status", "integration"]
    list_select_related = ["integration", "ticket"]
    search_fields = ["fingerprint", "title", "ticket__number"]
    ordering = ["-last_seen"]
    readonly_fields = [f.name for f in AlertGroup._meta.fields]
