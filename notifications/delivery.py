"""Sending one outbox row, retrying with backoff, and the sweep that finds lost rows.

A row moves PENDING -> SENDING (claimed by one worker with a conditional UPDATE) ->
SENT, or back to PENDING with a later next_attempt_at after a failure, or to FAILED
after NOTIFICATIONS_MAX_ATTEMPTS. Delays live in the database, never in the broker.
"""

import logging
from datetime import timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.utils import timezone, translation

from .models import Channel, Event, Notification, State
from .outbox import enqueue
from .sms import send_sms

log = logging.getLogger(__name__)

SMS_LIMIT = 160


def message_domain() -> str:
    return urlsplit(settings.SITE_URL).hostname or "firebreak.local"


def thread_id(ticket) -> str:
    """The Message-ID every e-mail about a ticket refers to, so mail clients thread them."""
    return f"<{ticket.number.lower()}@{message_domain()}>"


def message_id(notification) -> str:
    return f"<n{notification.pk}.{notification.ticket.number.lower()}@{message_domain()}>"


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(settings.NOTIFICATIONS_RETRY_BASE * 2 ** max(attempts - 1, 0), 3600))


def context_of(notification) -> dict:
    ticket, entry = notification.ticket, notification.entry
    page = getattr(entry, "page", None) if entry is not None else None  # an on-call page (oncall.Page)
    return {
        "notification": notification,
        "ticket": ticket,
        "entry": entry,
        "recipient": notification.recipient,
        "url": settings.SITE_URL.rstrip("/") + ticket.get_absolute_url(),
        "page": page,
        # A page's signed link that acknowledges it without logging in.
        "ack_url": page.acknowledge_url() if page is not None else None,
        "site_url": settings.SITE_URL.rstrip("/"),
    }


def send_email(notification) -> None:
    context = context_of(notification)
    base = f"notifications/email/{notification.event}"
    subject = " ".join(render_to_string(f"{base}_subject.txt", context).split())
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string(f"{base}_body.txt", context),
        to=[notification.recipient.email],
        headers={
            "Message-ID": message_id(notification),
            "In-Reply-To": thread_id(notification.ticket),
            "References": thread_id(notification.ticket),
            "Auto-Submitted": "auto-generated",
            "X-Firebreak-Ticket": notification.ticket.number,
        },
    )
    message.attach_alternative(render_to_string(f"{base}_body.html", context), "text/html")
    message.send()


def sms_text(notification) -> str:
    """At most 160 characters: ticket number, what happened, the title cut to fit, the link
    (for a page, the link that acknowledges it)."""
    context = context_of(notification)
    head = " ".join(render_to_string(f"notifications/sms/{notification.event}.txt", context).split())
    link = context["ack_url"] or context["url"]
    room = SMS_LIMIT - len(link) - 1
    if len(head) > room:
        head = head[: max(room - 1, 0)].rstrip() + "…"
    return f"{head} {link}"[:SMS_LIMIT]


def deliver(notification_id: int, *, now=None) -> str:
    """Send one row if it is due and nobody else holds it. Returns what happened."""
    now = now or timezone.now()
    claimed = Notification.objects.filter(pk=notification_id, state=State.PENDING, next_attempt_at__lte=now).update(
        state=State.SENDING, claimed_at=now, attempts=F("attempts") + 1
    )
    if not claimed:
        return "skipped"
    notification = Notification.objects.select_related(
        "recipient",
        "ticket__service",
        "ticket__application",
        "ticket__reporter",
        "ticket__assignee",
        "entry__author",
        "entry__from_service",
        "entry__to_service",
        "entry__assignee",
    ).get(pk=notification_id)
    recipient = notification.recipient

    if notification.channel == Channel.SMS and notification.event != Event.PAGE:
        quiet_until = recipient.quiet_until(now)
        if quiet_until is not None:
            Notification.objects.filter(pk=notification_id, state=State.SENDING).update(
                state=State.PENDING, next_attempt_at=quiet_until, attempts=F("attempts") - 1, queued_at=None
            )
            return "deferred"

    try:
        with translation.override(recipient.language or settings.LANGUAGE_CODE):
            if notification.channel == Channel.EMAIL:
                send_email(notification)
            else:
                send_sms(str(recipient.phone), sms_text(notification))
    except Exception as error:  # SMTP, network, gateway, template: each retried, boundedly
        failed = notification.attempts >= settings.NOTIFICATIONS_MAX_ATTEMPTS
        log.warning("notification %s attempt %s failed: %r", notification_id, notification.attempts, error)
        Notification.objects.filter(pk=notification_id, state=State.SENDING).update(
            state=State.FAILED if failed else State.PENDING,
            next_attempt_at=now + backoff(notification.attempts),
            queued_at=None,
            last_error=repr(error)[:2000],
        )
        return "failed" if failed else "retry"

    Notification.objects.filter(pk=notification_id, state=State.SENDING).update(
        state=State.SENT, sent_at=timezone.now(), last_error=""
    )
    return "sent"


def sweep(*, now=None, batch: int = 1000) -> int:
    """Re-queue what was lost: rows a killed worker left SENDING, rows the broker never
    delivered, retries that are due. Runs on Celery beat; queues at most `batch` rows."""
    now = now or timezone.now()
    stuck = now - timedelta(seconds=settings.NOTIFICATIONS_STUCK_AFTER)
    Notification.objects.filter(state=State.SENDING, claimed_at__lt=stuck).update(state=State.PENDING, queued_at=None)
    lost = now - timedelta(seconds=settings.NOTIFICATIONS_REQUEUE_AFTER)
    due = (
        Notification.objects.filter(state=State.PENDING, next_attempt_at__lte=now)
        .filter(Q(queued_at__isnull=True) | Q(queued_at__lt=lost))
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:batch]
    )
    return enqueue(list(due))


def retry(ids) -> int:
    """An administrator sends failed rows again, with a fresh count of attempts."""
    now = timezone.now()
    Notification.objects.filter(pk__in=ids, state=State.FAILED).update(
        state=State.PENDING, attempts=0, next_attempt_at=now, queued_at=None
    )
    return enqueue(list(Notification.objects.filter(pk__in=ids, state=State.PENDING).values_list("pk", flat=True)))
