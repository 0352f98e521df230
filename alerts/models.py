"""Monitoring alerts: the integrations that send them, every alert received, and the
alert groups that tie one fingerprint to one ticket while it is open.

Nothing changes state here: see alerts/actions.py. The one rule the database itself
holds is "one open group per integration and fingerprint" (a partial unique index), so
alerts processed at the same moment by several workers still make one ticket.
"""

import copy

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from incidents.models import Criticality, Gravity

from .querysets import IntegrationQuerySet


class Kind(models.TextChoices):
    ALERTMANAGER = "alertmanager", _("Prometheus Alertmanager")
    GRAFANA = "grafana", _("Grafana alerting")
    GENERIC = "generic", _("Generic JSON")


class AlertStatus(models.TextChoices):
    FIRING = "firing", _("Firing")
    RESOLVED = "resolved", _("Resolved")


# severity (lower case) -> what the ticket gets. "*" is for any other severity, or none.
DEFAULT_SEVERITY_MAP = {
    "critical": {"gravity": Gravity.SEVERE.value, "criticality": Criticality.BLOCKING.value},
    "major": {"gravity": Gravity.ANNOYING.value, "criticality": Criticality.NON_BLOCKING.value},
    "warning": {"gravity": Gravity.ANNOYING.value, "criticality": Criticality.NON_BLOCKING.value},
    "info": {"gravity": Gravity.MINOR.value, "criticality": Criticality.NON_BLOCKING.value},
    "*": {"gravity": Gravity.ANNOYING.value, "criticality": Criticality.NON_BLOCKING.value},
}
# An alert is something broken now: never an evolution request waiting for a decision.
ALERT_CRITICALITIES = {Criticality.BLOCKING.value, Criticality.NON_BLOCKING.value}


def default_severity_map():
    return copy.deepcopy(DEFAULT_SEVERITY_MAP)


class Integration(models.Model):
    """A monitoring source allowed to open tickets in one service's queue, for one application.

    It has its own credentials: a bearer token (stored as a SHA-256 digest, shown once)
    and, for Grafana and the generic format, an HMAC secret (kept, since verifying a
    signature needs it). Its bot account reports and acts on the tickets it opens.
    """

    name = models.CharField(_("name"), max_length=120, unique=True)
    kind = models.CharField(_("source"), max_length=16, choices=Kind.choices)
    service = models.ForeignKey(
        "incidents.Service", on_delete=models.PROTECT, related_name="+", verbose_name=_("service")
    )
    application = models.ForeignKey(
        "incidents.Application", on_delete=models.PROTECT, related_name="+", verbose_name=_("application")
    )
    bot = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        blank=True,
        verbose_name=_("reporter account"),
        help_text=_("Reports, comments on and closes the tickets of this integration. Empty: one is created."),
    )
    token_hash = models.CharField(_("token digest"), max_length=64, blank=True, editable=False)
    hmac_secret = models.CharField(_("HMAC secret"), max_length=128, blank=True, editable=False)
    severity_map = models.JSONField(
        _("severity mapping"),
        default=default_severity_map,
        help_text=_(
            'Alert severity → ticket gravity and criticality, e.g. {"critical": {"gravity": "severe", '
            '"criticality": "blocking"}}; "*" for any other severity.'
        ),
    )
    fingerprint_labels = models.JSONField(
        _("de-duplication labels"),
        default=list,
        blank=True,
        help_text=_(
            'Label names whose values identify an alert, e.g. ["alertname", "instance"]. '
            "Empty: the source's own fingerprint."
        ),
    )
    close_on_resolve = models.BooleanField(
        _("close on recovery"), default=False, help_text=_("Close the ticket when the alert is resolved.")
    )
    rate_limit = models.PositiveIntegerField(
        _("alerts per minute"), default=30_000, help_text=_("More in one minute are refused (429). 0: no limit.")
    )
    refused_count = models.PositiveBigIntegerField(_("refused alerts"), default=0, editable=False)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    objects = IntegrationQuerySet.as_manager()

    class Meta:
        verbose_name = _("integration")
        verbose_name_plural = _("integrations")
        ordering = ["name"]

    def __str__(self):
        return self.name

    def clean(self):
        if not isinstance(self.severity_map, dict) or not self.severity_map:
            raise ValidationError({"severity_map": _("Give an object of severities.")})
        for severity, target in self.severity_map.items():
            if (
                not isinstance(target, dict)
                or target.get("gravity") not in Gravity.values
                or target.get("criticality") not in ALERT_CRITICALITIES
            ):
                raise ValidationError(
                    {
                        "severity_map": _(
                            '"%(severity)s": give a gravity (severe, annoying, minor) and a criticality '
                            "(blocking, non_blocking)."
                        )
                        % {"severity": severity}
                    }
                )
        if not isinstance(self.fingerprint_labels, list) or not all(
            isinstance(name, str) and name for name in self.fingerprint_labels
        ):
            raise ValidationError({"fingerprint_labels": _("Give a list of label names.")})

    def ticket_fields_for(self, severity: str) -> tuple[str, str]:
        """(gravity, criticality) for an alert of `severity`."""
        table = self.severity_map or DEFAULT_SEVERITY_MAP
        target = table.get((severity or "").strip().lower()) or table.get("*") or DEFAULT_SEVERITY_MAP["*"]
        return target["gravity"], target["criticality"]


class AlertGroup(models.Model):
    """The alerts of one fingerprint while their ticket is open: one ticket, many alerts.

    `count` and `last_seen` follow the repeats; `last_status` the firing/resolved state,
    whose changes (not the repeats) are written on the ticket's timeline.
    """

    integration = models.ForeignKey(
        Integration, on_delete=models.PROTECT, related_name="groups", verbose_name=_("integration")
    )
    fingerprint = models.CharField(_("fingerprint"), max_length=128)
    title = models.CharField(_("title"), max_length=200)
    ticket = models.OneToOneField(
        "incidents.Ticket",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="alert_group",
        verbose_name=_("ticket"),
    )
    is_open = models.BooleanField(_("open"), default=True)
    last_status = models.CharField(_("state"), max_length=8, choices=AlertStatus.choices)
    count = models.PositiveIntegerField(_("alerts"), default=0)
    first_seen = models.DateTimeField(_("first seen"))
    last_seen = models.DateTimeField(_("last seen"))
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)

    class Meta:
        verbose_name = _("alert group")
        verbose_name_plural = _("alert groups")
        constraints = [
            # The de-duplication itself: a second open group for the same alert cannot
            # exist, whatever two workers decide at the same instant.
            models.UniqueConstraint(
                fields=["integration", "fingerprint"], condition=Q(is_open=True), name="alertgroup_one_open"
            )
        ]
        indexes = [models.Index(fields=["integration", "-last_seen"], name="alertgroup_recent")]

    def __str__(self):
        return f"{self.integration_id}/{self.fingerprint} ({'open' if self.is_open else 'closed'})"


class Alert(models.Model):
    """One alert as received: stored before the sender is answered 2xx, processed later."""

    integration = models.ForeignKey(
        Integration, on_delete=models.PROTECT, related_name="alerts", db_index=False, verbose_name=_("integration")
    )
    fingerprint = models.CharField(_("fingerprint"), max_length=128)
    status = models.CharField(_("state"), max_length=8, choices=AlertStatus.choices)
    labels = models.JSONField(_("labels"), default=dict)
    annotations = models.JSONField(_("annotations"), default=dict)
    payload = models.JSONField(_("payload as received"))
    starts_at = models.DateTimeField(_("starts"), null=True, blank=True)
    received_at = models.DateTimeField(_("received"))
    processed_at = models.DateTimeField(_("processed"), null=True, blank=True)
    group = models.ForeignKey(
        AlertGroup, on_delete=models.PROTECT, null=True, blank=True, related_name="alerts", verbose_name=_("group")
    )

    class Meta:
        verbose_name = _("alert")
        verbose_name_plural = _("alerts")
        indexes = [
            models.Index(fields=["integration", "-received_at"], name="alert_integration_recent"),
            # Only alerts still to process: what the workers and the sweep read.
            models.Index(fields=["received_at"], name="alert_pending", condition=Q(processed_at__isnull=True)),
            models.Index(
                fields=["integration", "fingerprint", "id"],
                name="alert_pending_key",
                condition=Q(processed_at__isnull=True),
            ),
        ]

    def __str__(self):
        return f"{self.fingerprint} {self.status} {self.received_at:%Y-%m-%d %H:%M:%S}"
