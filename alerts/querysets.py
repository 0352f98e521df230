"""Who may see which integrations, and the counts the alerts page shows."""

from django.db import models
from django.db.models import Count, IntegerField, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce


def _count(queryset):
    counted = queryset.filter(integration=OuterRef("pk")).order_by().values("integration").annotate(n=Count("*"))
    return Coalesce(Subquery(counted.values("n"), output_field=IntegerField()), Value(0))


class IntegrationQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Operators and managers see every integration; technicians those of their services."""
        if not user.is_authenticated or not user.is_active:
            return self.none()
        if user.has_perm("incidents.see_all_tickets"):
            return self.all()
        if not user.has_perm("incidents.work_tickets"):
            return self.none()
        from incidents.models import Membership

        return self.filter(service_id__in=Membership.objects.filter(user=user).values("service_id"))

    def with_counts(self):
        """Alerts received, waiting to be processed, and open alert groups: one subquery each."""
        from .models import Alert, AlertGroup

        return self.annotate(
            received=_count(Alert.objects.all()),
            waiting=_count(Alert.objects.filter(processed_at__isnull=True)),
            open_groups=_count(AlertGroup.objects.filter(is_open=True)),
        )
