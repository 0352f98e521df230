"""Who may see which tickets: decided here, once, for every page, form, search and count."""

from django.db import models
from django.db.models import Exists, OuterRef, Q, Value

# Past this many one-by-one grants, visible_to asks the database instead of listing them.
MAX_LISTED_GRANTS = 500


def is_staff(user) -> bool:
    """Operators, managers and technicians: the people who may read internal notes."""
    return user.is_authenticated and (
        user.has_perm("incidents.see_all_tickets") or user.has_perm("incidents.work_tickets")
    )


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

        # The user's services and grants are read first (one small query) and written into
        # the filter as values: the planner then knows that a customer has 200 tickets
        # among a million and reads them by index, where a subquery under this OR made it
        # walk the whole closed history (58 ms against 1 ms at 1M tickets).
        services = Membership.objects.filter(user=user).annotate(kind=Value("s")).values_list("kind", "service_id")
        grants = (
            TicketGrant.objects.filter(user=user, permission__codename="view_ticket")
            .annotate(kind=Value("g"))
            .values_list("kind", "content_object_id")
        )
        scope = list(services.union(grants, all=True))
        service_ids = [pk for kind, pk in scope if kind == "s"]
        ticket_ids = [pk for kind, pk in scope if kind == "g"]
        visible = Q(reporter=user) | Q(created_by=user)
        if service_ids:
            visible |= Q(service_id__in=service_ids)
        if len(ticket_ids) > MAX_LISTED_GRANTS:
            visible |= Exists(
                TicketGrant.objects.filter(user=user, content_object=OuterRef("pk"), permission__codename="view_ticket")
            )
        elif ticket_ids:
            visible |= Q(pk__in=ticket_ids)
        return self.filter(visible)

    def in_queue_of(self, user):
        """Tickets routed to one of the services `user` belongs to."""
        from .models import Membership

        return self.filter(service_id__in=Membership.objects.filter(user=user).values("service_id"))

    def search(self, text: str, *, staff: bool):
        """Tickets of this queryset whose number, title, description or a comment (public
        ones unless `staff`) holds `text`. One UNION of id sets, each read through its
        trigram index on PostgreSQL (migration 0006), so the cost follows the matches,
        not the years of history; SQLite scans."""
        text = text.strip()
        if not text:
            return self
        from .models import TimelineEntry

        matches = self.filter(Q(number=text.upper()) | Q(title__icontains=text) | Q(description__icontains=text))
        # Comments of this queryset's tickets only: a common word matches comments all over
        # the closed history, and the current lists must not read them all. PostgreSQL then
        # picks per list: the few open tickets' entries by ticket_id, or the trigram index.
        comments = TimelineEntry.objects.filter(body__icontains=text, ticket_id__in=self.values("pk"))
        if not staff:
            comments = comments.filter(is_internal=False)
        return self.filter(pk__in=matches.values("pk").union(comments.values("ticket_id")))

    def with_list_columns(self):
        return self.select_related("application", "service", "reporter", "assignee")

    def with_page_columns(self):
        return self.select_related("application", "service", "reporter", "created_by", "assignee")


class TimelineQuerySet(models.QuerySet):
    def for_viewer(self, user):
        """Entries of a ticket `user` already sees: internal notes only for staff."""
        if is_staff(user):
            return self
        return self.filter(is_internal=False)

    def for_page(self):
        return (
            self.select_related("author", "from_service", "to_service", "assignee")
            .prefetch_related("attachments")
            .order_by("created_at", "id")
        )


def who_can_see(ticket, user_ids) -> set[int]:
    """Of `user_ids`, those who may see `ticket`: visible_to read the other way round.

    Used to address notifications (nobody is told about a ticket they may not see); a
    test holds it equal to visible_to for every user and ticket.
    """
    from django.contrib.auth import get_user_model

    see_all = (
        Q(is_superuser=True)
        | Q(user_permissions__codename="see_all_tickets", user_permissions__content_type__app_label="incidents")
        | Q(groups__permissions__codename="see_all_tickets", groups__permissions__content_type__app_label="incidents")
    )
    mine = Q(pk=ticket.reporter_id) | Q(pk=ticket.created_by_id)
    queue = Q(membership__service_id=ticket.service_id)
    granted = Q(ticketgrant__content_object_id=ticket.pk, ticketgrant__permission__codename="view_ticket")
    users = get_user_model().objects.filter(pk__in=list(user_ids), is_active=True)
    return set(users.filter(see_all | mine | queue | granted).values_list("pk", flat=True).distinct())


def staff_among(user_ids) -> set[int]:
    """Of `user_ids`, the staff (is_staff above, read for many people in one query)."""
    from django.contrib.auth import get_user_model

    codenames = ["see_all_tickets", "work_tickets"]
    staff = (
        Q(is_superuser=True)
        | Q(user_permissions__codename__in=codenames, user_permissions__content_type__app_label="incidents")
        | Q(groups__permissions__codename__in=codenames, groups__permissions__content_type__app_label="incidents")
    )
    users = get_user_model().objects.filter(pk__in=list(user_ids), is_active=True)
    return set(users.filter(staff).values_list("pk", flat=True).distinct())
