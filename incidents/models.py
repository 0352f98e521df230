"""The desk's data: services, applications, tickets and their timeline.

State changes never happen here: see incidents/actions.py. Visibility never happens here
either: see TicketQuerySet.visible_to in incidents/querysets.py.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from guardian.models import UserObjectPermissionBase
from simple_history.models import HistoricalRecords

from .querysets import TicketQuerySet, TimelineQuerySet


class Service(models.Model):
    """A team that tickets are routed to; its open tickets are its queue."""

    name = models.CharField(_("name"), max_length=120, unique=True)
    email = models.EmailField(_("e-mail"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="Membership", related_name="services", verbose_name=_("members")
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("service")
        verbose_name_plural = _("services")
        ordering = ["name"]

    def __str__(self):
        return self.name


class Membership(models.Model):
    """A technician's membership of a service: what puts its queue in front of them."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, verbose_name=_("user"))
    service = models.ForeignKey(Service, on_delete=models.CASCADE, verbose_name=_("service"))
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [models.UniqueConstraint(fields=["user", "service"], name="membership_unique")]

    def __str__(self):
        return f"{self.user} @ {self.service}"


class Application(models.Model):
    """An application tickets are about; its default service is proposed at intake."""

    name = models.CharField(_("name"), max_length=120, unique=True)
    description = models.TextField(_("description"), blank=True)
    default_service = models.ForeignKey(
        Service, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("default service")
    )
    is_active = models.BooleanField(_("active"), default=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("application")
        verbose_name_plural = _("applications")
        ordering = ["name"]

    def __str__(self):
        return self.name


class Gravity(models.TextChoices):
    SEVERE = "severe", _("Severe")
    ANNOYING = "annoying", _("Annoying")
    MINOR = "minor", _("Minor")


class Criticality(models.TextChoices):
    BLOCKING = "blocking", _("Blocking")
    NON_BLOCKING = "non_blocking", _("Non-blocking")
    EVOLUTION = "evolution", _("Evolution")


class Priority(models.IntegerChoices):
    """Derived from gravity x criticality by rules.priority_for; stored to filter and sort."""

    P1 = 1, _("P1 · Critical")
    P2 = 2, _("P2 · High")
    P3 = 3, _("P3 · Medium")
    P4 = 4, _("P4 · Low")
    P5 = 5, _("P5 · Planned")


class Status(models.TextChoices):
    OPEN = "open", _("Open")
    PENDING_DECISION = "pending_decision", _("Pending decision")
    CLOSED = "closed", _("Closed")


class Channel(models.TextChoices):
    PHONE = "phone", _("Phone")
    PORTAL = "portal", _("Portal")
    EMAIL = "email", _("E-mail")
    API = "api", _("API")
    ALERT = "alert", _("Monitoring alert")


ACTIVE = ~Q(status="closed")
CLOSED = Q(status="closed")


class Ticket(models.Model):
    number = models.CharField(_("number"), max_length=20, unique=True, editable=False)
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"))
    application = models.ForeignKey(
        Application, on_delete=models.PROTECT, related_name="tickets", verbose_name=_("application")
    )
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="tickets", verbose_name=_("service"))
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="reported_tickets", verbose_name=_("reporter")
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("created by")
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_tickets",
        verbose_name=_("assignee"),
    )
    gravity = models.CharField(_("gravity"), max_length=12, choices=Gravity.choices)
    criticality = models.CharField(_("criticality"), max_length=12, choices=Criticality.choices)
    priority = models.PositiveSmallIntegerField(_("priority"), choices=Priority.choices)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.OPEN)
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices, default=Channel.PHONE)
    created_at = models.DateTimeField(_("created"))
    updated_at = models.DateTimeField(_("updated"))
    first_response_at = models.DateTimeField(_("first response"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    time_spent = models.PositiveIntegerField(
        _("time spent (minutes)"), default=0, help_text=_("Sum of the interventions' durations.")
    )

    objects = TicketQuerySet.as_manager()

    class Meta:
        verbose_name = _("ticket")
        verbose_name_plural = _("tickets")
        permissions = [
            ("see_all_tickets", _("See every ticket")),
            ("open_ticket", _("Open a ticket on behalf of a caller")),
            ("work_tickets", _("Work the tickets of one's services")),
            ("decide_evolution_request", _("Decide evolution requests")),
        ]
        # Every list filter and sort has an index. "Active" means not closed: the current
        # list and the queues read partial indexes that hold only the open tickets, so
        # their cost follows the open tickets, not the years of closed history.
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="ticket_active_created", condition=ACTIVE),
            models.Index(fields=["service", "-created_at", "-id"], name="ticket_active_queue", condition=ACTIVE),
            models.Index(fields=["priority", "-created_at", "-id"], name="ticket_active_priority", condition=ACTIVE),
            models.Index(fields=["-updated_at", "-id"], name="ticket_active_updated", condition=ACTIVE),
            models.Index(fields=["status", "-created_at", "-id"], name="ticket_status_created"),
            models.Index(fields=["-closed_at", "-id"], name="ticket_closed_recent", condition=CLOSED),
            models.Index(fields=["service", "-closed_at", "-id"], name="ticket_closed_queue", condition=CLOSED),
            models.Index(fields=["reporter", "-created_at"], name="ticket_reporter"),
            models.Index(fields=["created_by", "-created_at"], name="ticket_created_by"),
            models.Index(fields=["assignee", "status"], name="ticket_assignee"),
            models.Index(fields=["application", "status", "gravity"], name="ticket_application"),
            models.Index(fields=["status", "gravity"], name="ticket_gravity"),
            models.Index(fields=["status", "criticality"], name="ticket_criticality"),
            models.Index(fields=["status", "priority"], name="ticket_priority"),
        ]

    def __str__(self):
        return f"{self.number} {self.title}"

    def get_absolute_url(self):
        return reverse("incidents:ticket", kwargs={"number": self.number})

    @property
    def is_open(self):
        return self.status == Status.OPEN

    @property
    def is_closed(self):
        return self.status == Status.CLOSED

    @property
    def is_pending_decision(self):
        return self.status == Status.PENDING_DECISION


class TicketCounter(models.Model):
    """The last ticket number handed out in a year: INC-<year>-<value:06d>."""

    year = models.PositiveSmallIntegerField(primary_key=True)
    value = models.PositiveIntegerField(default=0)

    def __str__(self):
        return f"{self.year}: {self.value}"


class Kind(models.TextChoices):
    CREATED = "created", _("Created")
    COMMENT = "comment", _("Comment")
    INTERVENTION = "intervention", _("Intervention")
    REROUTE = "reroute", _("Re-route")
    STATUS = "status", _("Status change")
    ASSIGNMENT = "assignment", _("Assignment")
    RECLASSIFIED = "reclassified", _("Reclassification")
    PAGE = "page", _("On-call page")
    ACKNOWLEDGED = "acknowledged", _("Page acknowledged")


class TimelineEntry(models.Model):
    """One line of a ticket's history: the product's audit trail, written only by actions."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="timeline", verbose_name=_("ticket"))
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("author")
    )
    created_at = models.DateTimeField(_("at"))
    body = models.TextField(_("text"), blank=True)
    is_internal = models.BooleanField(
        _("internal note"), default=False, db_default=False, help_text=_("Seen by staff only, never by the reporter.")
    )
    # Intervention: when the work was done and how long it took.
    performed_at = models.DateTimeField(_("performed at"), null=True, blank=True)
    minutes = models.PositiveIntegerField(_("minutes"), null=True, blank=True)
    # Re-route: from where to where.
    from_service = models.ForeignKey(
        Service, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("from service")
    )
    to_service = models.ForeignKey(
        Service, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("to service")
    )
    # Status change.
    from_status = models.CharField(_("from status"), max_length=20, choices=Status.choices, blank=True)
    to_status = models.CharField(_("to status"), max_length=20, choices=Status.choices, blank=True)
    # Reclassification: {"gravity": [old, new], "criticality": [...], "priority": [...]};
    # on-call page and its acknowledgement: {"level": n}.
    changes = models.JSONField(_("changes"), null=True, blank=True)
    # Assignment; on-call page: the person paged.
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("assignee"),
    )

    objects = TimelineQuerySet.as_manager()

    class Meta:
        verbose_name = _("timeline entry")
        verbose_name_plural = _("timeline entries")
        indexes = [models.Index(fields=["ticket", "created_at", "id"], name="timeline_ticket_order")]

    def __str__(self):
        return f"{self.ticket_id} {self.kind} {self.created_at:%Y-%m-%d %H:%M}"


def attachment_path(instance, filename):
    """A name made by the server: the sender's file name is kept only as a label."""
    return f"attachments/{timezone.now():%Y/%m}/{uuid.uuid4().hex}"


class Attachment(models.Model):
    """A file added to a ticket with a timeline entry; served only to who may see both."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="attachments", verbose_name=_("ticket"))
    entry = models.ForeignKey(
        TimelineEntry, on_delete=models.CASCADE, related_name="attachments", verbose_name=_("timeline entry")
    )
    file = models.FileField(_("file"), upload_to=attachment_path, max_length=200)
    name = models.CharField(_("name"), max_length=200)
    content_type = models.CharField(_("type"), max_length=100, blank=True)
    size = models.PositiveBigIntegerField(_("size"))
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("uploaded by")
    )
    created_at = models.DateTimeField(_("added"), auto_now_add=True)

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        indexes = [models.Index(fields=["entry"], name="attachment_entry")]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("incidents:attachment", kwargs={"number": self.ticket.number, "pk": self.pk})


class TicketGrant(UserObjectPermissionBase):
    """A per-ticket grant (django-guardian, direct FK), e.g. a watcher outside the service."""

    content_object = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="grants")

    class Meta(UserObjectPermissionBase.Meta):
        verbose_name = _("ticket grant")
        verbose_name_plural = _("ticket grants")


class Watcher(models.Model):
    """Someone told about every event of a ticket, besides its reporter and assignee."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="watchers", verbose_name=_("ticket"))
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="watching", verbose_name=_("user")
    )
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("added by")
    )
    created_at = models.DateTimeField(_("since"), auto_now_add=True)
    granted_access = models.BooleanField(
        _("granted access"),
        default=False,
        help_text=_("Could not see the ticket before; the grant ends with watching."),
    )

    class Meta:
        verbose_name = _("watcher")
        verbose_name_plural = _("watchers")
        constraints = [models.UniqueConstraint(fields=["ticket", "user"], name="watcher_unique")]

    def __str__(self):
        return f"{self.user} watches {self.ticket_id}"
