"""E-mail intake: the addresses the desk receives mail at, and every message received.

Nothing changes state here: see intake/actions.py. The one rule the database itself holds
is "each Message-ID is processed once" (the unique message_id of InboundMessage), so a
message delivered twice, by the MTA and by the IMAP poller, or by two of them at once,
makes one ticket or one comment.
"""

from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class UnknownSenderPolicy(models.TextChoices):
    REJECT = "reject", _("Reply politely and open nothing")
    CREATE_REPORTER = "create_reporter", _("Create a reporter account and open the ticket")


class ImapSecurity(models.TextChoices):
    SSL = "ssl", _("TLS (IMAPS, port 993)")
    STARTTLS = "starttls", _("STARTTLS (port 143)")
    NONE = "none", _("None (a server on this machine only)")


class Mailbox(models.Model):
    """An address a service receives tickets at, by the built-in LMTP/SMTP receiver
    (`manage.py receive_mail`), by polling an IMAP mailbox, or both."""

    service = models.ForeignKey(
        "incidents.Service", on_delete=models.PROTECT, related_name="+", verbose_name=_("service")
    )
    address = models.EmailField(_("address"), help_text=_("Mail to this address opens tickets in the service's queue."))
    default_application = models.ForeignKey(
        "incidents.Application",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("application of new tickets"),
        help_text=_("The technicians correct it when the message is about another one."),
    )
    unknown_sender_policy = models.CharField(
        _("unknown senders"),
        max_length=16,
        choices=UnknownSenderPolicy.choices,
        default=UnknownSenderPolicy.REJECT,
        help_text=_("What happens to mail from an address no active account has."),
    )
    imap_host = models.CharField(_("IMAP server"), max_length=255, blank=True, help_text=_("Empty: not polled."))
    imap_port = models.PositiveIntegerField(_("IMAP port"), null=True, blank=True, help_text=_("Empty: 993 or 143."))
    imap_security = models.CharField(
        _("IMAP security"), max_length=8, choices=ImapSecurity.choices, default=ImapSecurity.SSL
    )
    imap_user = models.CharField(_("IMAP user"), max_length=255, blank=True)
    imap_password = models.CharField(_("IMAP password"), max_length=255, blank=True)
    imap_folder = models.CharField(_("IMAP folder"), max_length=255, default="INBOX")
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("mailbox")
        verbose_name_plural = _("mailboxes")
        ordering = ["address"]
        constraints = [models.UniqueConstraint(Lower("address"), name="mailbox_address_unique")]

    def __str__(self):
        return self.address

    @property
    def is_polled(self) -> bool:
        return bool(self.imap_host and self.imap_user)


class Outcome(models.TextChoices):
    RECEIVED = "received", _("Being processed")
    TICKET_CREATED = "ticket_created", _("Ticket opened")
    COMMENT_ADDED = "comment_added", _("Comment added")
    IGNORED_AUTO = "ignored_auto", _("Ignored: auto-reply or bounce")
    IGNORED_LOOP = "ignored_loop", _("Ignored: mail loop")
    REJECTED_UNKNOWN = "rejected_unknown", _("Rejected: unknown sender")
    REFUSED = "refused", _("Refused")
    NO_MAILBOX = "no_mailbox", _("No such mailbox")


class Via(models.TextChoices):
    LMTP = "lmtp", "LMTP"
    SMTP = "smtp", "SMTP"
    IMAP = "imap", "IMAP"


class InboundMessage(models.Model):
    """One message received, whatever became of it. Its Message-ID is the dedupe key."""

    message_id = models.CharField(_("Message-ID"), max_length=255, unique=True)
    mailbox = models.ForeignKey(
        Mailbox, on_delete=models.SET_NULL, null=True, blank=True, related_name="messages", verbose_name=_("mailbox")
    )
    via = models.CharField(_("received by"), max_length=4, choices=Via.choices)
    sender = models.CharField(_("sender"), max_length=254, blank=True)
    subject = models.CharField(_("subject"), max_length=255, blank=True)
    received_at = models.DateTimeField(_("received"), default=timezone.now)
    outcome = models.CharField(_("outcome"), max_length=16, choices=Outcome.choices, default=Outcome.RECEIVED)
    ticket = models.ForeignKey(
        "incidents.Ticket",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("ticket"),
    )
    detail = models.TextField(_("detail"), blank=True)
    replied_at = models.DateTimeField(
        _("replied"), null=True, blank=True, help_text=_("When the sender was sent a polite reply.")
    )

    class Meta:
        verbose_name = _("inbound message")
        verbose_name_plural = _("inbound messages")
        ordering = ["-received_at", "-id"]
        indexes = [
            models.Index(fields=["-received_at", "-id"], name="inbound_received"),
            models.Index(fields=["outcome", "-received_at"], name="inbound_outcome"),
            models.Index(fields=["sender", "-replied_at"], name="inbound_replies"),
        ]

    def __str__(self):
        return f"{self.message_id} ({self.get_outcome_display()})"
