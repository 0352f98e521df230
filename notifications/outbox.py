"""Record notifications with their event; queue them only once the event is committed.

A change rolled back never notifies (the rows vanish with it, the queueing never runs).
A broker that is down loses nothing: the rows wait and the sweep queues them later.
"""

import logging
import time
from functools import partial

from django.db import transaction
from django.utils import timezone

from incidents.models import Kind

from .models import Event, Notification
from .preferences import channels_for
from .recipients import recipients_for

log = logging.getLogger(__name__)

# After a failed publish this process stops trying for a while: each change would
# otherwise wait CELERY_BROKER_CONNECTION_TIMEOUT for a broker known to be down. Its
# rows wait unqueued, and the sweep queues them once the broker is back.
BROKER_PAUSE = 10  # seconds
_broker_down_until = 0.0

EVENT_OF_KIND = {
    Kind.CREATED: Event.CREATED,
    Kind.COMMENT: Event.COMMENTED,
    Kind.INTERVENTION: Event.INTERVENTION,
    Kind.REROUTE: Event.REROUTED,
    Kind.STATUS: Event.STATUS,
    Kind.ASSIGNMENT: Event.ASSIGNED,
    Kind.RECLASSIFIED: Event.RECLASSIFIED,
}


def record(entry, *, recipients=None, event=None) -> list[Notification]:
    """Write the notification rows of a timeline entry; queue them after commit."""
    event = event or EVENT_OF_KIND[entry.kind]
    people = recipients_for(entry) if recipients is None else set(recipients)
    if not people:
        return []
    now = timezone.now()
    rows = Notification.objects.bulk_create(
        Notification(
            ticket_id=entry.ticket_id, entry=entry, recipient_id=pk, event=event, channel=channel, next_attempt_at=now
        )
        for pk, channels in channels_for(people, event).items()
        for channel in channels
    )
    transaction.on_commit(partial(enqueue, [row.pk for row in rows]))
    return rows


def enqueue(ids) -> int:
    """Hand rows to the workers; stop at the first broker failure and leave the rest to
    the sweep. Never raises for a broker that is down: it runs after the commit of a
    change that has happened. Returns how many were queued."""
    global _broker_down_until
    from .tasks import deliver

    if not ids:
        return 0
    if time.monotonic() < _broker_down_until:
        log.info("broker down a moment ago; %d notifications left to the sweep", len(ids))
        return 0
    Notification.objects.filter(pk__in=ids).update(queued_at=timezone.now())
    for done, pk in enumerate(ids):
        try:
            deliver.apply_async((pk,), retry=False)
        except Exception:  # the broker is unreachable: kombu raises several kinds
            _broker_down_until = time.monotonic() + BROKER_PAUSE
            log.warning("broker unavailable; %d notifications left to the sweep", len(ids) - done)
            Notification.objects.filter(pk__in=ids[done:]).update(queued_at=None)
            return done
    return len(ids)
