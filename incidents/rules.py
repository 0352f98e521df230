"""Who may do what to a ticket, and the priority matrix. Pure functions: no writes.

Templates use these to show only the actions a user may take; actions call them again
before changing anything. Visibility (may they *see* it?) is TicketQuerySet.visible_to.
"""

from .models import Criticality, Gravity, Membership, Priority, Status
from .querysets import is_staff

# gravity x criticality -> priority. The one place the matrix lives; the UI shows it.
PRIORITY_MATRIX = {
    Gravity.SEVERE: {
        Criticality.BLOCKING: Priority.P1,
        Criticality.NON_BLOCKING: Priority.P2,
        Criticality.EVOLUTION: Priority.P4,
    },
    Gravity.ANNOYING: {
        Criticality.BLOCKING: Priority.P2,
        Criticality.NON_BLOCKING: Priority.P3,
        Criticality.EVOLUTION: Priority.P5,
    },
    Gravity.MINOR: {
        Criticality.BLOCKING: Priority.P3,
        Criticality.NON_BLOCKING: Priority.P4,
        Criticality.EVOLUTION: Priority.P5,
    },
}


def priority_for(gravity: str, criticality: str) -> Priority:
    return PRIORITY_MATRIX[Gravity(gravity)][Criticality(criticality)]


def matrix_rows():
    """The matrix as rows for templates: [(gravity, [(criticality, priority), ...]), ...]."""
    return [(gravity, list(row.items())) for gravity, row in PRIORITY_MATRIX.items()]


def service_ids_of(user) -> frozenset[int]:
    """The services `user` belongs to, read once per request and kept on the user object."""
    cached = getattr(user, "_firebreak_service_ids", None)
    if cached is None:
        cached = frozenset(Membership.objects.filter(user=user).values_list("service_id", flat=True))
        user._firebreak_service_ids = cached
    return cached


def works_on(user, ticket) -> bool:
    """A technician of the service the ticket is routed to."""
    return (
        user.is_authenticated and user.has_perm("incidents.work_tickets") and ticket.service_id in service_ids_of(user)
    )


def can_open_ticket(user) -> bool:
    return user.is_authenticated and user.has_perm("incidents.open_ticket")


def can_comment(user, ticket) -> bool:
    return user.is_authenticated and (
        works_on(user, ticket)
        or user.has_perm("incidents.see_all_tickets")
        or ticket.reporter_id == user.pk
        or ticket.created_by_id == user.pk
    )


def can_write_internal_note(user, ticket) -> bool:
    return can_comment(user, ticket) and is_staff(user)


def can_log_intervention(user, ticket) -> bool:
    return ticket.status == Status.OPEN and works_on(user, ticket)


def can_reroute(user, ticket) -> bool:
    return ticket.status != Status.CLOSED and works_on(user, ticket)


def can_close(user, ticket) -> bool:
    return ticket.status == Status.OPEN and works_on(user, ticket)


def can_reopen(user, ticket) -> bool:
    return ticket.status == Status.CLOSED and works_on(user, ticket)


def can_add_watcher(user, ticket) -> bool:
    """Staff add anyone as a watcher: operators, managers, the service's technicians."""
    return user.is_authenticated and (user.has_perm("incidents.see_all_tickets") or works_on(user, ticket))


def can_reclassify(user, ticket) -> bool:
    return ticket.status != Status.CLOSED and (
        works_on(user, ticket) or (user.is_authenticated and user.has_perm("incidents.see_all_tickets"))
    )


def can_assign(user, ticket) -> bool:
    return ticket.status == Status.OPEN and works_on(user, ticket)


def can_take(user, ticket) -> bool:
    return can_assign(user, ticket) and ticket.assignee_id != user.pk


def can_decide(user, ticket) -> bool:
    return (
        ticket.status == Status.PENDING_DECISION
        and user.is_authenticated
        and user.has_perm("incidents.decide_evolution_request")
    )


def allowed_actions(user, ticket) -> dict[str, bool]:
    """What the ticket page offers `user`; the server checks again on every POST."""
    return {
        "comment": can_comment(user, ticket),
        "internal_note": can_write_internal_note(user, ticket),
        "intervention": can_log_intervention(user, ticket),
        "reroute": can_reroute(user, ticket),
        "close": can_close(user, ticket),
        "reopen": can_reopen(user, ticket),
        "assign": can_assign(user, ticket),
        "reclassify": can_reclassify(user, ticket),
        "take": can_take(user, ticket),
        "decide": can_decide(user, ticket),
        "add_watcher": can_add_watcher(user, ticket),
    }
