"""What the schedule page and the escalation read, with their related rows in a fixed
number of queries whatever the number of services, rotations, members and overrides."""

from django.db import models
from django.db.models import Prefetch


class RotationQuerySet(models.QuerySet):
    def with_schedule(self, start, end):
        """Rotations with their members (ordered, with users) and the overrides that
        overlap [start, end) (with users): three queries for any number of rotations."""
        from .models import Override, RotationMember

        return self.select_related("service").prefetch_related(
            Prefetch("members", queryset=RotationMember.objects.select_related("user").order_by("position", "id")),
            Prefetch(
                "overrides",
                queryset=Override.objects.filter(ends_at__gt=start, starts_at__lt=end).select_related("user"),
            ),
        )


class EscalationPolicyQuerySet(models.QuerySet):
    def with_steps(self):
        """Policies with their levels in order, each with its rotation and person."""
        from .models import EscalationStep

        return self.select_related("service").prefetch_related(
            Prefetch(
                "steps",
                queryset=EscalationStep.objects.select_related("rotation__service", "user").order_by("position", "id"),
            )
        )


class PageQuerySet(models.QuerySet):
    def awaiting(self, *, user, ticket):
        """`user`'s pages for `ticket` whose escalation still waits for an acknowledgement."""
        from .models import EscalationState

        return self.filter(user=user, escalation__ticket=ticket, escalation__state=EscalationState.ACTIVE)
