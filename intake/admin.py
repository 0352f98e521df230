from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from incidents.readonly_admin import ReadOnlyAdmin

from .models import InboundMessage, Mailbox


class MailboxForm(forms.ModelForm):
    """The IMAP password is write-only: never shown back, kept when left empty."""

    imap_password = forms.CharField(
        label=_("IMAP password"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=_("Leave empty to keep the current password."),
    )

    class Meta:
        model = Mailbox
        fields = [
            "address",
            "service",
            "default_application",
            "unknown_sender_policy",
            "is_active",
            "imap_host",
            "imap_port",
            "imap_security",
            "imap_user",
            "imap_password",
            "imap_folder",
        ]

    def clean_imap_password(self):
        password = self.cleaned_data.get("imap_password")
        return password or (self.instance.imap_password if self.instance.pk else "")


@admin.register(Mailbox)
class MailboxAdmin(admin.ModelAdmin):
    form = MailboxForm
    list_display = ["address", "service", "default_application", "unknown_sender_policy", "polled", "is_active"]
    list_filter = ["is_active", "unknown_sender_policy", "service"]
    list_select_related = ["service", "default_application"]
    search_fields = ["address"]
    autocomplete_fields = ["service", "default_application"]
    fieldsets = [
        (None, {"fields": ["address", "service", "default_application", "unknown_sender_policy", "is_active"]}),
        (
            _("IMAP polling (optional)"),
            {
                "fields": ["imap_host", "imap_port", "imap_security", "imap_user", "imap_password", "imap_folder"],
                "description": _(
                    "Without a server the address receives mail only through `manage.py receive_mail` (LMTP/SMTP)."
                ),
            },
        ),
    ]

    @admin.display(boolean=True, description=_("polled"))
    def polled(self, mailbox):
        return mailbox.is_polled


@admin.register(InboundMessage)
class InboundMessageAdmin(ReadOnlyAdmin):
    """What became of every message received: read-only, the audit of the intake."""

    list_display = ["received_at", "sender", "subject", "mailbox", "via", "outcome", "ticket"]
    list_filter = ["outcome", "via", "mailbox"]
    list_select_related = ["mailbox", "ticket"]
    search_fields = ["message_id", "sender", "subject"]
    date_hierarchy = "received_at"
    fields = [
        "message_id",
        "received_at",
        "via",
        "mailbox",
        "sender",
        "subject",
        "outcome",
        "ticket",
        "detail",
        "replied_at",
    ]
    readonly_fields = fields
