"""Sending one outbox row, retrying with backoff, and the sweep that finds lost rows.

A row moves PENDING -> SENDING (claimed by one worker with a conditional UPDATE) ->
SENT, or back to PENDING with a later next_attempt_at after a failure, or to FAILED
after NOTIFICATIONS_MAX_ATTEMPTS. Delays live in the database, never in the broker.
"""

import logging
import smtplib
import threading
import time
from datetime import timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db.models import F
from django.template.loader import render_to_string
from django.utils import timezone, translation

from .models import Channel, Event, Notification, State
from .outbox import enqueue
from .sms import send_sms

log = logging.getLogger(__name__)

SMS_LIMIT = 160
SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
# A worker process keeps its SMTP connection between e-mails (no connect, greeting, EHLO
# and QUIT each time), and opens a new one after this long idle or this many e-mails:
# servers drop idle sessions and cap the messages of one.
SMTP_KEEP_IDLE = 30  # seconds
SMTP_KEEP_MESSAGES = 100
_smtp = threading.local()


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
    # An on-call page (oncall.Page); looked for on page events only, a query saved on every other e-mail.
    page = getattr(entry, "page", None) if entry is not None and notification.event == Event.PAGE else None
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
    send_over_kept_connection(message)


def send_over_kept_connection(message) -> None:
    """Send on this process's open SMTP connection, or a new one; other backends (files,
    console, ESPs through anymail) send as usual. A kept connection the server has closed
    meanwhile fails at its first command: the e-mail goes at once on a new one."""
    if settings.EMAIL_BACKEND != SMTP_BACKEND:
        message.send()
        return
    server = (
        settings.EMAIL_HOST,
        settings.EMAIL_PORT,
        settings.EMAIL_HOST_USER,
        settings.EMAIL_USE_TLS,
        settings.EMAIL_USE_SSL,
    )
    kept = getattr(_smtp, "kept", None)
    _smtp.kept = None
    if kept is not None:
        connection, kept_server, sent, last = kept
        if kept_server == server and sent < SMTP_KEEP_MESSAGES and time.monotonic() - last < SMTP_KEEP_IDLE:
            message.connection = connection
            try:
                message.send()
            except (smtplib.SMTPServerDisconnected, ConnectionError):
                pass
            else:
                _smtp.kept = (connection, server, sent + 1, time.monotonic())
                return
        _close_quietly(connection)
    connection = get_connection()
    connection.open()
    message.connection = connection
    try:
        message.send()
    except Exception:
        _close_quietly(connection)
        raise
    _smtp.kept = (connection, server, 1, time.monotonic())


def _close_quietly(connection) -> None:
    try:
        connection.close()
    except Exception:  # already broken: nothing to say goodbye to
        log.debug("closing a broken SMTP connection failed", exc_info=True)


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
    # What every message names; an assignee or the services of a re-route are read when
    # their event needs them. Joining all of them made PostgreSQL plan a 12-table query
    # (3 ms, half of a delivery) for every e-mail.
    notification = Notification.objects.select_related(
        "recipient", "ticket__service", "ticket__application", "entry__author"
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
    """Queue what nobody will send otherwise: rows a killed worker left SENDING (after
    NOTIFICATIONS_STUCK_AFTER), retries now due, rows never queued (the broker was down),
    and rows whose message the broker lost. Runs on Celery beat; queues at most `batch`.

    A row queued over NOTIFICATIONS_REQUEUE_AFTER ago may just be waiting behind a
    backlog. The broker hands out messages in order, so the M messages it still holds
    are at best those of the M rows queued last: only older rows are queued again. A
    backlog is then not queued a second time each sweep, and a row re-queued in error
    is still sent once (deliver claims it). Other tasks' messages in the queue only
    delay the re-queueing until the queue drains.
    """
    now = now or timezone.now()
    stuck = now - timedelta(seconds=settings.NOTIFICATIONS_STUCK_AFTER)
    Notification.objects.filter(state=State.SENDING, claimed_at__lt=stuck).update(state=State.PENDING, queued_at=None)
    pending = Notification.objects.filter(state=State.PENDING)
    ids = list(
        pending.filter(next_attempt_at__lte=now, queued_at__isnull=True)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:batch]
    )
    lost = now - timedelta(seconds=settings.NOTIFICATIONS_REQUEUE_AFTER)
    if len(ids) < batch and pending.filter(queued_at__lt=lost).exists():
        held = messages_waiting()
        newest_first = pending.filter(queued_at__isnull=False).order_by("-queued_at", "-pk")
        ids += [
            pk
            for pk, queued_at in newest_first.values_list("pk", "queued_at")[held : held + batch - len(ids)]
            if queued_at < lost
        ]
    return enqueue(ids)


def messages_waiting() -> int:
    """Messages in the broker's delivery queue; 0 when it cannot tell (so nothing stays
    unsent for a count the broker did not give)."""
    from kombu.exceptions import ChannelError

    from .tasks import deliver

    queue = getattr(deliver, "queue", None) or deliver.app.conf.task_default_queue
    try:
        with deliver.app.connection_for_write() as connection:
            return connection.default_channel.queue_declare(queue=queue, passive=True).message_count
    except ChannelError:  # no such queue: Redis has no key for an empty list
        return 0
    except Exception:  # the broker is unreachable: kombu raises several kinds
        log.warning("cannot count the messages of queue %s", queue)
        return 0


def retry(ids) -> int:
    """An administrator sends failed rows again, with a fresh count of attempts. Returns
    how many will be sent: now, or by the sweep if the broker is down."""
    now = timezone.now()
    count = Notification.objects.filter(pk__in=ids, state=State.FAILED).update(
        state=State.PENDING, attempts=0, next_attempt_at=now, queued_at=None
    )
    enqueue(list(Notification.objects.filter(pk__in=ids, state=State.PENDING).values_list("pk", flat=True)))
    return count
