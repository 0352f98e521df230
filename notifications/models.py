"""The outbox: one row per message to send, written in the transaction of its event."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Event(models.TextChoices):
    CREATED = "created", _("Ticket created")
    ASSIGNED = "assigned", _("Ticket assigned")
    COMMENTED = "commented", _("Comment added")
    INTERVENTION = "intervention", _("Intervention logged")
    REROUTED = "rerouted", _("Ticket re-routed")
    STATUS = "status", _("Status changed")
    RECLASSIFIED = "reclassified", _("Ticket reclassified")
    PAGE = "page", _("On-call page")


class Channel(models.TextChoices):
    EMAIL = "email", _("E-mail")
    SMS = "sms", _("SMS")


class State(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")


class Notification(models.Model):
    """A message to one person through one channel, about one timeline entry.

    Written by notifications.outbox.record inside the event's transaction; sent by the
    `notifications.deliver` task, which claims the row PENDING -> SENDING so no two
    workers send it. The sweep re-queues rows the broker or a killed worker lost.
    """

    ticket = models.ForeignKey("incidents.Ticket", on_delete=models.CASCADE, related_name="+")
    entry = models.ForeignKey(
        "incidents.TimelineEntry", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    event = models.CharField(_("event"), max_length=16, choices=Event.choices)
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices)
    state = models.CharField(_("state"), max_length=8, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    next_attempt_at = models.DateTimeField(_("next attempt"))
    queued_at = models.DateTimeField(_("queued"), null=True, blank=True)
    claimed_at = models.DateTimeField(_("claimed"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        indexes = [
            # The sweep reads only rows still to send.
            models.Index(
                fields=["next_attempt_at"], name="notification_due", condition=Q(state__in=["pending", "sending"])
            ),
            models.Index(fields=["state", "-created_at"], name="notification_state"),
            models.Index(fields=["recipient", "-created_at"], name="notification_recipient"),
        ]

    def __str__(self):
        return f"{self.get_channel_display()} to {self.recipient_id} ({self.event}, {self.state})"


class Preference(models.Model):
    """How one person wants to hear of one kind of event; absent rows use the role's default."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="preferences")
    event = models.CharField(_("event"), max_length=16, choices=Event.choices)
    email = models.BooleanField(_("e-mail"), default=True)
    sms = models.BooleanField(_("SMS"), default=False)

    class Meta:
        verbose_name = _("notification preference")
        verbose_name_plural = _("notification preferences")
        constraints = [models.UniqueConstraint(fields=["user", "event"], name="preference_unique")]

    def __str__(self):
        return f"{self.user_id} {self.event}: email={self.email} sms={self.sms}"
