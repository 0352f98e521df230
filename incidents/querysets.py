"""Who may see which tickets: decided here, once, for every page, form, search and count."""

from django.db import models
from django.db.models import Exists, OuterRef, Q


class TicketQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Tickets `user` may see. Every ticket query outside actions starts here.

        Operators and managers see every ticket (permission `see_all_tickets`). Everybody
        else sees the tickets they reported or created, the tickets currently routed to a
        service they belong to, and the tickets they were granted one by one (guardian).
        """
        if not user.is_authenticated or not user.is_active:
            return self.none()
        if user.has_perm("incidents.see_all_tickets"):
            return self.all()
        from .models import Membership, TicketGrant

        mine = Q(reporter=user) | Q(created_by=user)
        queues = Q(service_id__in=Membership.objects.filter(user=user).values("service_id"))
        granted = Exists(
            TicketGrant.objects.filter(user=user, content_object=OuterRef("pk"), permission__codename="view_ticket")
        )
        return self.filter(mine | queues | granted)

    def in_queue_of(self, user):
        """Tickets routed to one of the services `user` belongs to."""
        from .models import Membership

        return self.filter(service_id__in=Membership.objects.filter(user=user).values("service_id"))

    def with_list_columns(self):
        return self.select_related("application", "service", "reporter", "assignee")

    def with_page_columns(self):
        return self.select_related("application", "service", "reporter", "created_by", "assignee")


class TimelineQuerySet(models.QuerySet):
    def for_page(self):
        return self.select_related("author", "from_service", "to_service", "assignee").order_by("created_at", "id")
