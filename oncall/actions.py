"""Paging the people on call for a top-priority ticket, level after level, until one acknowledges.

State machine of an escalation (at most one ACTIVE per ticket):

    start_escalation ──► ACTIVE, level 1 paged at once (level 0 if the first level waits)
                           │
                           ├── escalate (beat, next_at passed) ──► ACTIVE, next level paged
                           │      after the last level: next_at empty, waiting for an acknowledgement
                           ├── acknowledge_page ──► ACKNOWLEDGED (nobody else is paged)
                           └── the ticket is closed or no longer top priority ──► STOPPED (at the next beat)

Paging writes one PAGE timeline entry per person ("paged X (level N)"), a Page row, and
the entry's notification rows (notifications.outbox, event "page": e-mail and SMS, never
held by quiet hours), all in the transaction of the change that caused it; the rows are
queued after commit like every notification. Every change to an escalation is a
conditional UPDATE that also bumps `version`: two beats, or a beat and an acknowledgement
racing, cannot both win, and the loser changes nothing.

incidents.actions.open_ticket and reclassify_ticket call start_escalation (tickets from
monitoring alerts come through open_ticket too); the `oncall.escalate` beat task calls
escalate_due. Every function takes `now=` so tests drive the clock.
"""

import logging
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import F, Q
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from guardian.shortcuts import assign_perm

from incidents import actions as desk
from incidents.models import Kind, Status, TimelineEntry
from incidents.querysets import who_can_see
from notifications import outbox
from notifications.models import Event
from notifications.recipients import managers

from . import rules, schedule
from .models import Escalation, EscalationPolicy, EscalationState, EscalationStep, Override, Page, Target

log = logging.getLogger(__name__)

ESCALATE_BATCH = 200  # escalations advanced per beat; the rest wait 30 s more


def _steps(policy_id) -> list[EscalationStep]:
    return list(
        EscalationStep.objects.filter(policy_id=policy_id).select_related("rotation", "user").order_by("position", "id")
    )


def _on_call(rotation, now) -> list:
    members = list(rotation.members.select_related("user").order_by("position", "id"))
    overrides = list(
        Override.objects.filter(rotation=rotation, starts_at__lte=now, ends_at__gt=now).select_related("user")
    )
    user = schedule.on_call(rotation, now, members=members, overrides=overrides)
    return [user] if user is not None else []


def _managers_of(ticket) -> list:
    """The managers who are members of the ticket's service; if it has none, every manager."""
    everyone = get_user_model().objects.filter(pk__in=managers()).order_by("pk")
    return list(everyone.filter(membership__service_id=ticket.service_id)) or list(everyone)


def _targets(step: EscalationStep, ticket, now) -> list:
    """The active people a level pages now."""
    if step.target == Target.ON_CALL:
        people = _on_call(step.rotation, now)
    elif step.target == Target.USER:
        people = [step.user]
    else:
        people = _managers_of(ticket)
    return [user for user in people if user.is_active]


def _page(escalation: Escalation, ticket, user, *, level: int, now) -> Page:
    """Write "paged X (level N)" on the timeline, the Page row, and its notifications."""
    entry = TimelineEntry.objects.create(
        ticket=ticket,
        kind=Kind.PAGE,
        author_id=escalation.started_by_id,
        created_at=now,
        assignee=user,
        changes={"level": level},
        is_internal=True,
    )
    page = Page.objects.create(escalation=escalation, user=user, level=level, entry=entry, paged_at=now)
    outbox.record(entry, recipients={user.pk}, event=Event.PAGE)
    return page


def _let_see(ticket, people) -> None:
    """Someone paged must be able to open the ticket: grant it to those who could not
    (a named person or a rotation member outside the service), as watching does."""
    allowed = who_can_see(ticket, [user.pk for user in people])
    for user in people:
        if user.pk not in allowed:
            assign_perm("incidents.view_ticket", user, ticket)


def _advance(escalation: Escalation, *, steps, ticket, now) -> bool:
    """Page the next level that has somebody to page and plan the one after it.

    A level with nobody (an empty rotation, no manager) is passed over at once rather
    than waited for. The row is claimed by its version first: nothing is paged unless
    this call won it.
    """
    level, people = escalation.level, []
    while level < len(steps) and not people:
        level += 1
        people = _targets(steps[level - 1], ticket, now)
    next_at = now + timedelta(minutes=steps[level].delay_minutes) if level < len(steps) else None
    claimed = Escalation.objects.filter(
        pk=escalation.pk, version=escalation.version, state=EscalationState.ACTIVE
    ).update(level=level, next_at=next_at, version=F("version") + 1)
    if not claimed:
        return False
    escalation.level, escalation.next_at, escalation.version = level, next_at, escalation.version + 1
    if not people:
        log.warning("ticket %s: nobody to page at any level of its escalation policy", ticket.number)
        return True
    _let_see(ticket, people)
    for user in people:
        _page(escalation, ticket, user, level=level, now=now)
    return True


@transaction.atomic
def start_escalation(ticket, *, by, now=None) -> Escalation | None:
    """Start paging for `ticket` if it is open at the highest priority, following its
    service's escalation policy; the first level is paged at once unless it has a delay.

    Called in the transaction of open_ticket and reclassify_ticket; `by` (who opened or
    reclassified) is the author of the page entries. Does nothing for another priority,
    a service without a policy or without levels, or a ticket already paging.
    """
    if not rules.pages_on_call(ticket):
        return None
    policy = EscalationPolicy.objects.filter(service_id=ticket.service_id).first()
    steps = _steps(policy.pk) if policy is not None else []
    if not steps or Escalation.objects.filter(ticket=ticket, state=EscalationState.ACTIVE).exists():
        return None
    now = now or timezone.now()
    escalation = Escalation.objects.create(
        ticket=ticket,
        policy=policy,
        started_at=now,
        started_by=by,
        next_at=now + timedelta(minutes=steps[0].delay_minutes),
    )
    if steps[0].delay_minutes == 0:
        _advance(escalation, steps=steps, ticket=ticket, now=now)
    return escalation


def _stop_finished(now) -> int:
    """STOP the escalations whose ticket was closed, lowered or made an evolution request."""
    return (
        Escalation.objects.filter(state=EscalationState.ACTIVE)
        .filter(~Q(ticket__status=Status.OPEN) | ~Q(ticket__priority=rules.PAGING_PRIORITY))
        .update(state=EscalationState.STOPPED, next_at=None, stopped_at=now, version=F("version") + 1)
    )


@transaction.atomic
def escalate(escalation_id: int, *, version: int, now=None) -> bool:
    """Page the next level of one escalation if it is still at `version` and due.

    A stale call (acknowledged meanwhile, advanced by another beat) does nothing and
    returns False. An escalation whose ticket no longer pages, or whose policy was
    deleted, is STOPPED instead, paging nobody.
    """
    now = now or timezone.now()
    escalation = (
        Escalation.objects.select_related("ticket")
        .filter(pk=escalation_id, version=version, state=EscalationState.ACTIVE, next_at__lte=now)
        .first()
    )
    if escalation is None:
        return False
    steps = _steps(escalation.policy_id) if escalation.policy_id else []
    if not rules.pages_on_call(escalation.ticket) or not steps:
        Escalation.objects.filter(pk=escalation.pk, version=version).update(
            state=EscalationState.STOPPED, next_at=None, stopped_at=now, version=F("version") + 1
        )
        return False
    if escalation.level >= len(steps):  # levels were removed from the policy meanwhile
        Escalation.objects.filter(pk=escalation.pk, version=version).update(next_at=None, version=F("version") + 1)
        return False
    return _advance(escalation, steps=steps, ticket=escalation.ticket, now=now)


def escalate_due(*, now=None, batch: int = ESCALATE_BATCH) -> int:
    """Stop the escalations whose ticket no longer pages, then page the next level of
    each one that waited its delay without an acknowledgement, one transaction each.

    Run by the `oncall.escalate` beat task; returns how many escalations advanced. One
    that fails is logged and tried again at the next beat.
    """
    now = now or timezone.now()
    _stop_finished(now)
    due = list(
        Escalation.objects.filter(state=EscalationState.ACTIVE, next_at__lte=now)
        .order_by("next_at")
        .values_list("pk", "version")[:batch]
    )
    advanced = 0
    for pk, version in due:
        try:
            advanced += escalate(pk, version=version, now=now)
        except Exception:  # one broken escalation must not hold up the others
            log.exception("escalation %s: next level not paged; tried again at the next beat", pk)
    return advanced


def already_acknowledged(escalation: Escalation) -> str:
    return _("Already acknowledged by %(person)s at %(time)s") % {
        "person": escalation.acknowledged_by,
        "time": formats.date_format(timezone.localtime(escalation.acknowledged_at), "SHORT_DATETIME_FORMAT"),
    }


@transaction.atomic
def acknowledge_page(page: Page, *, by, now=None) -> TimelineEntry:
    """The person paged takes the ticket in hand: the escalation pages nobody else, and
    "acknowledged by X" is written on the ticket's timeline.

    Refuses: anyone but the person paged (Forbidden); an escalation already acknowledged,
    by them or by someone else paged (Conflict naming who and when: a link works once);
    an escalation stopped, or a ticket that no longer pages (Conflict).
    """
    if not rules.can_acknowledge(by, page):
        raise desk.Forbidden(_("Only the person paged can acknowledge this page."))
    now = now or timezone.now()
    ticket = page.escalation.ticket
    no_longer = _("Paging for %(number)s has stopped: the ticket is closed or no longer top priority.") % {
        "number": ticket.number
    }
    acknowledged = rules.pages_on_call(ticket) and Escalation.objects.filter(
        pk=page.escalation_id, state=EscalationState.ACTIVE
    ).update(
        state=EscalationState.ACKNOWLEDGED,
        acknowledged_at=now,
        acknowledged_by=by,
        next_at=None,
        version=F("version") + 1,
    )
    if not acknowledged:
        escalation = Escalation.objects.select_related("acknowledged_by").get(pk=page.escalation_id)
        if escalation.state == EscalationState.ACKNOWLEDGED:
            raise desk.Conflict(already_acknowledged(escalation))
        raise desk.Conflict(no_longer)
    return TimelineEntry.objects.create(
        ticket=ticket,
        kind=Kind.ACKNOWLEDGED,
        author=by,
        created_at=now,
        changes={"level": page.level},
        is_internal=True,
    )
