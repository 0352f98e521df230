"""What a ticket's page shows one person besides the ticket's own fields: the start of
its timeline (internal notes for staff only), its watchers and the actions this person
may take. The desk's page and the API's ticket both read it here, so they show the same
things in the same fixed number of queries whatever the length of the timeline."""

from dataclasses import dataclass

from django.conf import settings

from . import rules


@dataclass
class TicketPage:
    entries: list
    truncated: bool  # older entries exist beyond FIREBREAK_TIMELINE_PAGE_SIZE
    watchers: list  # Watcher rows, their users joined
    allowed: dict  # rules.allowed_actions

    @property
    def watching_users(self) -> list:
        return [watcher.user for watcher in self.watchers]


def read_ticket_page(ticket, user) -> TicketPage:
    """`ticket` must come through visible_to(user): this reads, it does not decide who sees."""
    limit = settings.FIREBREAK_TIMELINE_PAGE_SIZE
    entries = list(ticket.timeline.for_viewer(user).for_page()[: limit + 1])
    watchers = list(ticket.watchers.select_related("user").order_by("created_at"))
    return TicketPage(entries[:limit], len(entries) > limit, watchers, rules.allowed_actions(user, ticket))
