"""Who is told of a timeline entry."""

from django.contrib.auth import get_user_model

from incidents.models import Kind, Membership, Priority, Watcher
from incidents.querysets import staff_among, who_can_see

# Managers hear of everything that happens to tickets of these priorities.
HIGH_PRIORITY = {Priority.P1, Priority.P2}


def managers():
    return (
        get_user_model()
        .objects.filter(groups__permissions__codename="decide_evolution_request", is_active=True)
        .values_list("pk", flat=True)
    )


def recipients_for(entry) -> set[int]:
    """The reporter, the assignee, the watchers, the service's members when the ticket
    enters a queue, managers for high priority; never the author, never anyone who may
    not see the ticket."""
    ticket = entry.ticket
    people = {ticket.reporter_id}
    if ticket.assignee_id:
        people.add(ticket.assignee_id)
    people |= set(Watcher.objects.filter(ticket_id=ticket.pk).values_list("user_id", flat=True))
    if entry.kind in (Kind.CREATED, Kind.REROUTE):
        people |= set(Membership.objects.filter(service_id=ticket.service_id).values_list("user_id", flat=True))
    if ticket.priority in HIGH_PRIORITY:
        people |= set(managers())
    people.discard(entry.author_id)
    if not people:
        return set()
    allowed = who_can_see(ticket, people)
    return staff_among(allowed) if entry.is_internal else allowed
