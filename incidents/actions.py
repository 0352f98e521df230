"""Every change to a ticket, one function each.

State machine of a ticket:

    open_ticket ──► OPEN ◄───────── reopen_ticket ─────────┐
         │            │                                      │
         │            └── close_ticket ──────────────► CLOSED
         │                                                   ▲
         └─(criticality "evolution")─► PENDING_DECISION ─────┘ decide_evolution_request(accept=False)
                                              │
                                              └─ decide_evolution_request(accept=True) ─► OPEN

Alongside: add_comment, log_intervention, reroute_ticket, assign_ticket / take_ticket,
and watch_ticket / unwatch_ticket (no timeline entry: watching changes who is told).
A ticket opened or reclassified at the highest priority also starts paging its
service's on-call people (oncall.actions.start_escalation, in the same transaction).
Each action checks incidents.rules, changes the rows with a guarded conditional UPDATE
(so two people acting at once cannot both succeed), and writes the timeline entry and
its notification rows (notifications.outbox) in the same transaction; the rows are
queued to the workers only after commit. A refused action raises Refused and changes
nothing.
"""

from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext as _

from notifications import outbox
from oncall import actions as oncall

from . import rules
from .models import (
    Attachment,
    Channel,
    Criticality,
    Kind,
    Membership,
    Status,
    Ticket,
    TicketGrant,
    TimelineEntry,
    Watcher,
)
from .numbering import next_ticket_number

MAX_INTERVENTION_MINUTES = 24 * 60


class Refused(Exception):
    """An action that may not happen; the message is shown to the user as is.

    Plain Refused is bad input (HTTP 400); see Forbidden, Conflict and TooLarge below.
    """

    def __init__(self, message, field=None):
        super().__init__(message)
        self.message = message
        self.field = field


class Forbidden(Refused):
    """The actor may not do this to this ticket (HTTP 403 in the API)."""


class Conflict(Refused):
    """The ticket's state forbids it now: already closed, changed meanwhile (HTTP 409)."""


class TooLarge(Refused):
    """A file over the size limit (HTTP 413 in the API)."""


def _require_text(text: str, message: str, field: str) -> str:
    text = (text or "").strip()
    if not text:
        raise Refused(message, field=field)
    return text


def _changed_meanwhile():
    return Conflict(_("This ticket was changed by someone else meanwhile. Reload it and try again."))


def _mark_response(ticket: Ticket, by, at: datetime) -> None:
    """The first action of anyone other than the reporter is the ticket's first response."""
    if by.pk != ticket.reporter_id and ticket.first_response_at is None:
        Ticket.objects.filter(pk=ticket.pk, first_response_at__isnull=True).update(first_response_at=at)
        ticket.first_response_at = at


def _check_files(files) -> list:
    files = list(files or ())
    if len(files) > settings.ATTACHMENT_MAX_COUNT:
        raise Refused(
            _("At most %(count)d files at once.") % {"count": settings.ATTACHMENT_MAX_COUNT}, field="attachments"
        )
    for upload in files:
        if upload.size > settings.ATTACHMENT_MAX_BYTES:
            raise TooLarge(
                _("%(name)s is larger than %(limit)s.")
                % {"name": upload.name, "limit": filesizeformat(settings.ATTACHMENT_MAX_BYTES)},
                field="attachments",
            )
    return files


def _attach(entry: TimelineEntry, *, by, files) -> None:
    for upload in files:
        Attachment.objects.create(
            ticket_id=entry.ticket_id,
            entry=entry,
            file=upload,
            name=Path(upload.name or "file").name[:200],
            content_type=(getattr(upload, "content_type", "") or "")[:100],
            size=upload.size,
            uploaded_by=by,
        )


def _entry(ticket: Ticket, *, by, kind: str, at: datetime, **fields) -> TimelineEntry:
    """Write the timeline entry and its notifications (queued only once committed)."""
    entry = TimelineEntry.objects.create(ticket=ticket, kind=kind, author=by, created_at=at, **fields)
    entry.ticket = ticket
    outbox.record(entry)
    return entry


@transaction.atomic
def open_ticket(
    *,
    by,
    reporter,
    application,
    service,
    title: str,
    description: str,
    gravity: str,
    criticality: str,
    channel: str,
    files=(),
) -> Ticket:
    """Create a ticket in `service`'s queue. An evolution request waits for a decision.

    Writes a CREATED entry; at the highest priority, starts paging the service's on-call
    people (oncall.actions.start_escalation). Refuses: a user without the right to open
    tickets for others (unless they report for themselves), blank title or description.
    """
    if reporter.pk != by.pk and not rules.can_open_ticket(by):
        raise Forbidden(_("You cannot open a ticket on behalf of someone else."))
    title = _require_text(title, _("Give the ticket a title."), "title")
    description = _require_text(description, _("Describe what happens."), "description")
    files = _check_files(files)
    now = timezone.now()
    status = Status.PENDING_DECISION if criticality == Criticality.EVOLUTION else Status.OPEN
    ticket = Ticket.objects.create(
        number=next_ticket_number(timezone.localtime(now).year),
        title=title,
        description=description,
        application=application,
        service=service,
        reporter=reporter,
        created_by=by,
        gravity=gravity,
        criticality=criticality,
        priority=rules.priority_for(gravity, criticality),
        status=status,
        channel=channel,
        created_at=now,
        updated_at=now,
    )
    entry = _entry(ticket, by=by, kind=Kind.CREATED, at=now, to_service=service, to_status=status)
    _attach(entry, by=by, files=files)
    oncall.start_escalation(ticket, by=by, now=now)  # top priority only: pages the service's on-call
    return ticket


@transaction.atomic
def add_comment(ticket: Ticket, *, by, body: str, internal: bool = False, files=()) -> TimelineEntry:
    """Add a comment to the timeline; an internal note is for staff only, never shown or
    sent to the reporter. Refuses: a user who may not comment (or not write internal
    notes), a blank text."""
    if not rules.can_comment(by, ticket):
        raise Forbidden(_("You cannot comment on this ticket."))
    if internal and not rules.can_write_internal_note(by, ticket):
        raise Forbidden(_("Only staff write internal notes."))
    body = _require_text(body, _("Write a comment."), "body")
    files = _check_files(files)
    now = timezone.now()
    Ticket.objects.filter(pk=ticket.pk).update(updated_at=now)
    _mark_response(ticket, by, now)
    entry = _entry(ticket, by=by, kind=Kind.COMMENT, at=now, body=body, is_internal=internal)
    _attach(entry, by=by, files=files)
    return entry


@transaction.atomic
def log_intervention(ticket: Ticket, *, by, performed_at: datetime, minutes: int, body: str) -> TimelineEntry:
    """Record work done on an open ticket and add its duration to the ticket's time spent.

    Refuses: someone outside the ticket's service, a ticket not open, a duration outside
    1 minute to 24 hours, a date in the future, a blank description of the work.
    """
    if not rules.can_log_intervention(by, ticket):
        if ticket.status != Status.OPEN:
            raise Conflict(_("Interventions are logged on open tickets only."))
        raise Forbidden(_("Only technicians of the ticket's service log interventions."))
    if not 1 <= int(minutes) <= MAX_INTERVENTION_MINUTES:
        raise Refused(_("The duration must be between 1 minute and 24 hours."), field="minutes")
    now = timezone.now()
    if performed_at > now:
        raise Refused(_("An intervention cannot be in the future."), field="performed_at")
    body = _require_text(body, _("Say what was done."), "body")
    moved = Ticket.objects.filter(pk=ticket.pk, status=Status.OPEN, service_id=ticket.service_id).update(
        time_spent=F("time_spent") + minutes, updated_at=now
    )
    if not moved:
        raise _changed_meanwhile()
    ticket.time_spent += minutes
    _mark_response(ticket, by, now)
    return _entry(ticket, by=by, kind=Kind.INTERVENTION, at=now, body=body, performed_at=performed_at, minutes=minutes)


@transaction.atomic
def reroute_ticket(ticket: Ticket, *, by, to, justification: str) -> TimelineEntry:
    """Move the ticket to another service's queue, carrying what was found so far.

    The assignee is cleared: the new service decides who takes it. Writes a REROUTE
    entry with from/to. Refuses: someone outside the current service, a closed ticket,
    the same service, a blank justification.
    """
    if not rules.can_reroute(by, ticket):
        if ticket.status == Status.CLOSED:
            raise Conflict(_("A closed ticket cannot be re-routed. Reopen it first."))
        raise Forbidden(_("Only technicians of the ticket's service can re-route it."))
    if to.pk == ticket.service_id:
        raise Refused(_("The ticket is already routed to this service."), field="service")
    justification = _require_text(
        justification, _("Say why the ticket is re-routed and what was found so far."), "justification"
    )
    now = timezone.now()
    from_service_id = ticket.service_id
    moved = Ticket.objects.filter(pk=ticket.pk, service_id=from_service_id, status=ticket.status).update(
        service=to, assignee=None, updated_at=now
    )
    if not moved:
        raise _changed_meanwhile()
    _mark_response(ticket, by, now)
    ticket.service, ticket.assignee = to, None
    return _entry(
        ticket, by=by, kind=Kind.REROUTE, at=now, body=justification, from_service_id=from_service_id, to_service=to
    )


def _change_status(ticket: Ticket, *, by, to: str, comment: str, **extra) -> TimelineEntry:
    comment = _require_text(comment, _("Every status change needs an observation comment."), "comment")
    now = timezone.now()
    from_status = ticket.status
    moved = Ticket.objects.filter(pk=ticket.pk, status=from_status).update(status=to, updated_at=now, **extra)
    if not moved:
        raise _changed_meanwhile()
    ticket.status = to
    for name, value in extra.items():
        setattr(ticket, name, value)
    _mark_response(ticket, by, now)
    return _entry(ticket, by=by, kind=Kind.STATUS, at=now, body=comment, from_status=from_status, to_status=to)


@transaction.atomic
def close_ticket(ticket: Ticket, *, by, comment: str) -> TimelineEntry:
    """Close an open ticket with an observation comment.

    Refuses: someone outside the ticket's service, a ticket not open (the second of two
    people closing at once is refused here), a blank comment.
    """
    if not rules.can_close(by, ticket):
        if ticket.status == Status.CLOSED:
            raise Conflict(_("This ticket is already closed."))
        if ticket.status == Status.PENDING_DECISION:
            raise Conflict(_("An evolution request is closed by a manager's decision."))
        raise Forbidden(_("Only technicians of the ticket's service can close it."))
    return _change_status(ticket, by=by, to=Status.CLOSED, comment=comment, closed_at=timezone.now())


@transaction.atomic
def close_ticket_on_recovery(ticket: Ticket, *, by, comment: str) -> TimelineEntry:
    """The monitoring integration that opened a ticket closes it when its alert recovers.

    Used by alerts.actions for integrations set to close on recovery. Their account is no
    technician of any service, so close_ticket would refuse it; this allows exactly one
    actor instead: the one that opened the ticket through the alert channel. Refuses:
    anyone else, another channel, a ticket not open, a blank comment.
    """
    if ticket.channel != Channel.ALERT or ticket.created_by_id != by.pk:
        raise Forbidden(_("Only the monitoring integration that opened this ticket closes it on recovery."))
    if ticket.status != Status.OPEN:
        raise Conflict(_("This ticket is not open."))
    return _change_status(ticket, by=by, to=Status.CLOSED, comment=comment, closed_at=timezone.now())


@transaction.atomic
def reopen_ticket(ticket: Ticket, *, by, comment: str) -> TimelineEntry:
    """Reopen a closed ticket with a comment. Refuses: a ticket not closed, someone outside its service."""
    if not rules.can_reopen(by, ticket):
        if ticket.status != Status.CLOSED:
            raise Conflict(_("Only a closed ticket can be reopened."))
        raise Forbidden(_("Only technicians of the ticket's service can reopen it."))
    return _change_status(ticket, by=by, to=Status.OPEN, comment=comment, closed_at=None)


@transaction.atomic
def decide_evolution_request(ticket: Ticket, *, by, accept: bool, comment: str) -> TimelineEntry:
    """A manager accepts an evolution request (back to open) or declines it (closed)."""
    if not rules.can_decide(by, ticket):
        if ticket.status != Status.PENDING_DECISION:
            raise Conflict(_("This ticket is not waiting for a decision."))
        raise Forbidden(_("Only managers decide evolution requests."))
    if accept:
        return _change_status(ticket, by=by, to=Status.OPEN, comment=comment)
    return _change_status(ticket, by=by, to=Status.CLOSED, comment=comment, closed_at=timezone.now())


@transaction.atomic
def reclassify_ticket(ticket: Ticket, *, by, gravity: str, criticality: str, comment: str) -> TimelineEntry:
    """Change gravity and criticality (so the priority) of a ticket that is not closed.

    Becoming an evolution request sends an open ticket to the pending-decision list; an
    evolution request reclassified as a fault goes back to the queue. Writes a
    RECLASSIFIED entry with old and new values; raised to the highest priority, the
    ticket starts paging (oncall.actions.start_escalation). Refuses: someone who is
    neither staff of the ticket's service nor an operator or manager, a closed ticket,
    no change, no comment.
    """
    if not rules.can_reclassify(by, ticket):
        if ticket.status == Status.CLOSED:
            raise Conflict(_("A closed ticket cannot be reclassified. Reopen it first."))
        raise Forbidden(_("You cannot reclassify this ticket."))
    if (gravity, criticality) == (ticket.gravity, ticket.criticality):
        raise Refused(_("Nothing changes: choose another gravity or criticality."), field="gravity")
    comment = _require_text(comment, _("Say why the ticket is reclassified."), "comment")
    priority = rules.priority_for(gravity, criticality)
    status = ticket.status
    if criticality == Criticality.EVOLUTION:
        status = Status.PENDING_DECISION
    elif ticket.status == Status.PENDING_DECISION:
        status = Status.OPEN
    now = timezone.now()
    moved = Ticket.objects.filter(
        pk=ticket.pk, status=ticket.status, gravity=ticket.gravity, criticality=ticket.criticality
    ).update(gravity=gravity, criticality=criticality, priority=priority, status=status, updated_at=now)
    if not moved:
        raise _changed_meanwhile()
    changes = {
        "gravity": [ticket.gravity, gravity],
        "criticality": [ticket.criticality, criticality],
        "priority": [ticket.priority, int(priority)],
    }
    from_status = ticket.status
    ticket.gravity, ticket.criticality, ticket.priority, ticket.status = gravity, criticality, priority, status
    _mark_response(ticket, by, now)
    entry = _entry(
        ticket,
        by=by,
        kind=Kind.RECLASSIFIED,
        at=now,
        body=comment,
        changes=changes,
        from_status=from_status if status != from_status else "",
        to_status=status if status != from_status else "",
    )
    oncall.start_escalation(ticket, by=by, now=now)  # raised to top priority: pages the on-call
    return entry


@transaction.atomic
def assign_ticket(ticket: Ticket, *, by, to) -> TimelineEntry:
    """Give an open ticket to a member of its service (or to oneself: take_ticket)."""
    if not rules.can_assign(by, ticket):
        if ticket.status != Status.OPEN:
            raise Conflict(_("Only an open ticket can be assigned."))
        raise Forbidden(_("Only technicians of the ticket's service can assign it."))
    if ticket.assignee_id == to.pk:
        raise Refused(_("The ticket is already assigned to this person."), field="assignee")
    if not Membership.objects.filter(user=to, service_id=ticket.service_id).exists():
        raise Refused(_("The assignee must be a member of the ticket's service."), field="assignee")
    now = timezone.now()
    moved = Ticket.objects.filter(
        pk=ticket.pk, status=Status.OPEN, service_id=ticket.service_id, assignee_id=ticket.assignee_id
    ).update(assignee=to, updated_at=now)
    if not moved:
        raise _changed_meanwhile()
    ticket.assignee = to
    _mark_response(ticket, by, now)
    return _entry(ticket, by=by, kind=Kind.ASSIGNMENT, at=now, assignee=to)


def take_ticket(ticket: Ticket, *, by) -> TimelineEntry:
    """A technician assigns a ticket of their service to themself."""
    return assign_ticket(ticket, by=by, to=by)


@transaction.atomic
def watch_ticket(ticket: Ticket, *, by, user=None) -> Watcher:
    """Add `user` (default: `by`, who can see the ticket) to the ticket's watchers.

    Staff may add anyone; someone who could not see the ticket is granted access to this
    one ticket (guardian), and loses it when they stop watching. Refuses: adding someone
    else without being staff, a person already watching.
    """
    user = user or by
    if user.pk != by.pk and not rules.can_add_watcher(by, ticket):
        raise Forbidden(_("Only staff of this ticket can add watchers."))
    if Watcher.objects.filter(ticket=ticket, user=user).exists():
        raise Conflict(_("%(person)s already watches this ticket.") % {"person": user}, field="user")
    needs_grant = not Ticket.objects.visible_to(user).filter(pk=ticket.pk).exists()
    if needs_grant:
        from guardian.shortcuts import assign_perm

        assign_perm("incidents.view_ticket", user, ticket)
    return Watcher.objects.create(ticket=ticket, user=user, added_by=by, granted_access=needs_grant)


@transaction.atomic
def unwatch_ticket(ticket: Ticket, *, by, user=None) -> None:
    """Remove `user` (default: `by`) from the watchers; staff may remove anyone."""
    user = user or by
    if user.pk != by.pk and not rules.can_add_watcher(by, ticket):
        raise Forbidden(_("Only staff of this ticket can remove watchers."))
    watcher = Watcher.objects.filter(ticket=ticket, user=user).first()
    if watcher is None:
        raise Refused(_("%(person)s does not watch this ticket.") % {"person": user})
    if watcher.granted_access:
        TicketGrant.objects.filter(user=user, content_object=ticket, permission__codename="view_ticket").delete()
    watcher.delete()
