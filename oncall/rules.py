"""Which tickets page, who sees the schedules, who may acknowledge. Pure functions."""

from incidents.models import Priority, Status
from incidents.querysets import is_staff

# The highest priority of the matrix (incidents.rules.PRIORITY_MATRIX) is the one that pages.
PAGING_PRIORITY = Priority.P1


def pages_on_call(ticket) -> bool:
    """An open ticket at the highest priority pages its service's on-call people."""
    return ticket.status == Status.OPEN and ticket.priority == PAGING_PRIORITY


def can_see_schedules(user) -> bool:
    """Staff (operators, managers and technicians) see every service's schedule, not only
    their own services': who is on call elsewhere is how one reaches another team at night.
    Reporters and customers do not."""
    return is_staff(user)


def can_acknowledge(user, page) -> bool:
    """Only the person a page was sent to acknowledges it."""
    return user.is_authenticated and page is not None and page.user_id == user.pk
