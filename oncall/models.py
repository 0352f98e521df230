"""On-call schedules, escalation policies, and the escalation of each top-priority ticket.

Who is on call is computed (oncall/schedule.py) from a rotation's members, hand-off time
and shift length, with overrides on top: no row is written per shift. Escalations and
pages change only in oncall/actions.py.
"""

from datetime import time

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from incidents.models import Service, Ticket, TimelineEntry

from .querysets import EscalationPolicyQuerySet, PageQuerySet, RotationQuerySet


class Rotation(models.Model):
    """People of a service taking turns on call, one shift each, in order.

    Shift n (n = 0, 1, ...) starts on start_date + n × shift_days at handoff_time, local
    time (TIME_ZONE: a 09:00 hand-off stays at 09:00 across daylight saving), and belongs
    to the member at position n modulo the number of members. A weekly rotation therefore
    hands off on start_date's weekday.
    """

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="rotations", verbose_name=_("service"))
    name = models.CharField(_("name"), max_length=120)
    start_date = models.DateField(
        _("first hand-off"), help_text=_("The day of the first shift. Weekly rotations hand off on this weekday.")
    )
    handoff_time = models.TimeField(_("hand-off time"), default=time(9))
    shift_days = models.PositiveSmallIntegerField(
        _("shift length (days)"),
        default=7,
        validators=[MinValueValidator(1), MaxValueValidator(365)],
        help_text=_("7 for a weekly rotation, 1 for a daily one."),
    )

    objects = RotationQuerySet.as_manager()

    class Meta:
        verbose_name = _("rotation")
        verbose_name_plural = _("rotations")
        ordering = ["service_id", "name"]
        constraints = [
            models.UniqueConstraint(fields=["service", "name"], name="rotation_unique_name"),
            models.CheckConstraint(condition=Q(shift_days__gte=1), name="rotation_shift_positive"),
        ]

    def __str__(self):
        return f"{self.service} · {self.name}" if self.service_id else self.name

    @property
    def handoff_weekday(self) -> int:
        return self.start_date.weekday()


class RotationMember(models.Model):
    """One turn in a rotation; the same person may take several turns."""

    rotation = models.ForeignKey(Rotation, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("person")
    )
    position = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("rotation member")
        verbose_name_plural = _("rotation members")
        ordering = ["position", "id"]

    def __str__(self):
        return f"{self.rotation_id} #{self.position}: {self.user_id}"


class Override(models.Model):
    """Someone on call in a rotation instead of its member, from `starts_at` to `ends_at`
    (a holiday, a swap). Overrides win over the rotation; of two that overlap, the later
    one (highest id) wins."""

    rotation = models.ForeignKey(
        Rotation, on_delete=models.CASCADE, related_name="overrides", verbose_name=_("rotation")
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("on call instead")
    )
    starts_at = models.DateTimeField(_("from"))
    ends_at = models.DateTimeField(_("until"))
    reason = models.CharField(_("reason"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("override")
        verbose_name_plural = _("overrides")
        ordering = ["starts_at", "id"]
        constraints = [models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="override_ends_after")]
        # The schedule reads the overrides of a rotation that end after now.
        indexes = [models.Index(fields=["rotation", "ends_at"], name="override_rotation_end")]

    def __str__(self):
        return f"{self.rotation_id}: {self.user_id} {self.starts_at:%Y-%m-%d %H:%M} → {self.ends_at:%Y-%m-%d %H:%M}"


class EscalationPolicy(models.Model):
    """Whom a service's top-priority tickets page, level after level, until someone acknowledges."""

    service = models.OneToOneField(
        Service, on_delete=models.CASCADE, related_name="escalation_policy", verbose_name=_("service")
    )
    name = models.CharField(_("name"), max_length=120, blank=True)

    objects = EscalationPolicyQuerySet.as_manager()

    class Meta:
        verbose_name = _("escalation policy")
        verbose_name_plural = _("escalation policies")

    def __str__(self):
        return self.name or str(self.service)


class Target(models.TextChoices):
    ON_CALL = "on_call", _("The person on call in a rotation")
    USER = "user", _("A named person")
    MANAGERS = "managers", _("The service's managers")


class EscalationStep(models.Model):
    """One level of a policy: whom to page, and how long after the previous level."""

    policy = models.ForeignKey(EscalationPolicy, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField(_("order"), default=0)
    delay_minutes = models.PositiveSmallIntegerField(
        _("delay (minutes)"),
        default=0,
        help_text=_(
            "Minutes without acknowledgement after the previous level was paged (for the first level: "
            "after the ticket became top priority)."
        ),
    )
    target = models.CharField(_("page"), max_length=12, choices=Target.choices, default=Target.ON_CALL)
    rotation = models.ForeignKey(
        Rotation,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("rotation"),
        help_text=_("Whose person on call is paged; any service's rotation."),
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("person"),
    )

    class Meta:
        verbose_name = _("escalation level")
        verbose_name_plural = _("escalation levels")
        ordering = ["position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(target="on_call", rotation__isnull=False)
                | Q(target="user", user__isnull=False)
                | Q(target="managers"),
                name="escalation_step_has_target",
            )
        ]

    def __str__(self):
        return f"{self.policy_id} #{self.position}: {self.target}"


class EscalationState(models.TextChoices):
    ACTIVE = "active", _("Paging")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    STOPPED = "stopped", _("Stopped")


class Escalation(models.Model):
    """The paging of one ticket: the last level paged, when the next one is due.

    `version` grows with every change; a beat step carries the version it read and does
    nothing if the row moved on meanwhile (acknowledged, advanced by another beat).
    """

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="escalations", verbose_name=_("ticket"))
    policy = models.ForeignKey(
        EscalationPolicy, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("policy")
    )
    state = models.CharField(_("state"), max_length=12, choices=EscalationState.choices, default=EscalationState.ACTIVE)
    level = models.PositiveSmallIntegerField(_("level paged"), default=0)
    next_at = models.DateTimeField(_("next level at"), null=True, blank=True)
    version = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(_("started"))
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("started by")
    )
    acknowledged_at = models.DateTimeField(_("acknowledged"), null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("acknowledged by"),
    )
    stopped_at = models.DateTimeField(_("stopped"), null=True, blank=True)

    class Meta:
        verbose_name = _("escalation")
        verbose_name_plural = _("escalations")
        constraints = [
            models.UniqueConstraint(fields=["ticket"], condition=Q(state="active"), name="escalation_one_active")
        ]
        # The beat reads only escalations still paging whose next level is due.
        indexes = [
            models.Index(fields=["next_at"], name="escalation_due", condition=Q(state="active", next_at__isnull=False))
        ]

    def __str__(self):
        return f"{self.ticket_id} level {self.level} ({self.state})"


class Page(models.Model):
    """One person paged at one level, with the timeline entry that records it. The
    notifications of the entry carry an acknowledge link made for this row."""

    escalation = models.ForeignKey(Escalation, on_delete=models.CASCADE, related_name="pages")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="pages", verbose_name=_("person")
    )
    level = models.PositiveSmallIntegerField(_("level"))
    entry = models.OneToOneField(TimelineEntry, on_delete=models.CASCADE, related_name="page")
    paged_at = models.DateTimeField(_("paged"))

    objects = PageQuerySet.as_manager()

    class Meta:
        verbose_name = _("page")
        verbose_name_plural = _("pages")

    def __str__(self):
        return f"{self.user_id} level {self.level} of escalation {self.escalation_id}"

    def acknowledge_url(self) -> str:
        """The absolute, signed and expiring link that acknowledges without logging in."""
        from .links import acknowledge_url

        return acknowledge_url(self)
