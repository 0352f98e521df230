"""Never lost, never twice: 500 notifications through real workers to a real SMTP server,
with a worker killed (SIGKILL) mid-way, the SMTP server stopped for a while, and Redis
stopped while tickets change. Message-IDs are counted at the SMTP server.

Workers and beat run as `make run` starts them, on the configured broker (filesystem://,
or Redis with REDIS_URL); the sweep runs on beat, every second here.
"""

import time
from collections import Counter
from datetime import timedelta

import pytest
from django.db import transaction

from accounts.roles import Role
from incidents import actions
from notifications import outbox
from notifications.delivery import message_id
from notifications.models import Notification, State

from ..factories import UserFactory, open_ticket
from .conftest import celery_broker, wait_until

pytestmark = pytest.mark.django_db(transaction=True)

# Quick clocks for the workers and beat: sweep each second; a row queued 5 s ago that
# the broker no longer holds is queued again; one claimed 8 s ago by a worker that died
# is sent again; retries after 1, 2, 4... s. EMAIL_TIMEOUT stays under
# NOTIFICATIONS_STUCK_AFTER, so a slow send is never taken for a dead one.
FAST = {
    "NOTIFICATIONS_SWEEP_EVERY": "1",
    "NOTIFICATIONS_REQUEUE_AFTER": "5",
    "NOTIFICATIONS_STUCK_AFTER": "8",
    "NOTIFICATIONS_RETRY_BASE": "1",
    "NOTIFICATIONS_MAX_ATTEMPTS": "20",
    "EMAIL_TIMEOUT": "3",
}


def queue_notifications(operator, service, application, *, watchers, comments):
    """A ticket the operator reported, watched by `watchers` technicians, then `comments`
    comments by the operator: each comment is one e-mail to each watcher, nothing else."""
    ticket = open_ticket(by=operator, reporter=operator, application=application, service=service)
    for person in UserFactory.create_batch(watchers, role=Role.TECHNICIAN, services=[service]):
        actions.watch_ticket(ticket, by=person)
    for n in range(comments):
        actions.add_comment(ticket, by=operator, body=f"Update {n + 1}.")
    assert Notification.objects.count() == watchers * comments
    return ticket


def expected_message_ids() -> set[str]:
    return {message_id(n) for n in Notification.objects.select_related("ticket")}


def all_sent():
    return not Notification.objects.exclude(state=State.SENT).exists()


def test_five_hundred_notifications_arrive_once_each(workers, smtp_server, operator, dev_service, intranet):
    """Each row is queued twice, as a sweep re-queueing a backlog would, and two workers
    of two processes race for the messages: the claim lets exactly one send each."""
    workers.env.update(FAST)
    queue_notifications(operator, dev_service, intranet, watchers=50, comments=10)
    assert outbox.enqueue(list(Notification.objects.order_by("pk").values_list("pk", flat=True))) == 500
    expected = expected_message_ids()
    workers.start_beat()
    workers.start(concurrency=2)
    workers.start(concurrency=2)

    assert wait_until(all_sent, timeout=120), workers.logs()
    time.sleep(1)  # a second send would have arrived by now
    received = smtp_server.inbox.message_ids()
    assert set(received) == expected
    assert len(received) == 500, Counter(received).most_common(3)
    assert set(Notification.objects.values_list("attempts", flat=True)) == {1}


def test_a_killed_worker_and_an_smtp_outage_lose_nothing(workers, smtp_server, operator, dev_service, intranet):
    """500 queued; the worker is killed mid-way, then the SMTP server stopped; another
    worker fails each row, which waits and is retried with backoff; the SMTP server comes
    back: all 500 arrive, at most one twice per kill (the message in flight when it died)."""
    began = time.monotonic()
    phases = {}
    workers.env.update(FAST)
    queue_notifications(operator, dev_service, intranet, watchers=50, comments=10)
    expected = expected_message_ids()
    workers.start_beat()
    first = workers.start(concurrency=1)  # one message in flight: what a kill can duplicate
    assert wait_until(lambda: len(smtp_server.inbox.snapshot()) >= 150, timeout=120), workers.logs()
    phases["killed"] = time.monotonic() - began
    workers.kill(first)
    kills = 1
    smtp_server.stop()
    assert len(smtp_server.inbox.snapshot()) < 500

    workers.start(concurrency=4)
    unsent = Notification.objects.exclude(state=State.SENT)

    def each_failed_and_some_retried():
        return not unsent.filter(last_error="").exists() and unsent.filter(attempts__gte=2).exists()

    # Every row still to send fails at least once, the one the killed worker held too
    # (once NOTIFICATIONS_STUCK_AFTER has passed), and waits 1 s, 2 s, 4 s... as its
    # failures add up; none fails for good.
    assert wait_until(each_failed_and_some_retried, timeout=120), workers.logs()
    assert not unsent.filter(state=State.FAILED).exists()
    waiting = unsent.filter(state=State.PENDING)
    assert all("Connection refused" in error for error in waiting.values_list("last_error", flat=True))
    for attempts, claimed_at, next_attempt_at in waiting.values_list("attempts", "claimed_at", "next_attempt_at"):
        assert next_attempt_at - claimed_at == timedelta(seconds=2 ** (attempts - 1))
    retries = Counter(unsent.values_list("attempts", flat=True))
    phases["smtp back"] = time.monotonic() - began

    smtp_server.start()
    assert wait_until(all_sent, timeout=120), workers.logs()
    phases["all sent"] = time.monotonic() - began
    time.sleep(1)
    received = smtp_server.inbox.message_ids()
    assert set(received) == expected
    duplicates = len(received) - len(set(received))
    assert duplicates <= kills, Counter(received).most_common(3)
    assert not Notification.objects.exclude(last_error="").exists()
    print(f"\n{len(received)} messages for 500 notifications, {duplicates} twice; attempts {retries}; {phases}")


def test_ticket_changes_while_redis_is_down_are_told_once_it_is_back(
    redis_server, workers, smtp_server, operator, dev_service, intranet
):  # redis_server first: it stops after the workers
    """A redis-server of the test's own: messages it held die with it, changes made
    while it is down only write rows; within a minute of its return, all is delivered.
    A change rolled back meanwhile is never told."""
    with celery_broker(redis_server.url, {"visibility_timeout": 300}):
        workers.env.update(FAST, REDIS_URL=redis_server.url)
        ticket = queue_notifications(operator, dev_service, intranet, watchers=5, comments=0)
        worker = workers.start(concurrency=2)
        workers.start_beat()
        actions.add_comment(ticket, by=operator, body="Before the outage.")
        assert wait_until(all_sent, timeout=60), workers.logs()

        # Queued while the worker is frozen, so the messages are in Redis when it dies.
        workers.pause(worker)
        actions.add_comment(ticket, by=operator, body="Queued, then lost with the broker.")
        redis_server.stop()
        workers.pause(worker, paused=False)

        took = []
        for n in range(4):
            began = time.monotonic()
            actions.add_comment(ticket, by=operator, body=f"During the outage ({n + 1}).")
            took.append(time.monotonic() - began)
        with pytest.raises(RuntimeError), transaction.atomic():
            actions.add_comment(ticket, by=operator, body="Rolled back.")
            raise RuntimeError
        # Each change commits and returns, its rows waiting unqueued. The first finds the
        # broker down (CELERY_BROKER_CONNECTION_TIMEOUT, 2 s); the next ones do not try.
        assert took[0] < 10 and max(took[1:]) < 1.5, took
        assert Notification.objects.filter(state=State.PENDING, queued_at__isnull=True).count() == 4 * 5
        assert Notification.objects.filter(state=State.PENDING).count() == 5 * 5
        time.sleep(3)

        redis_server.start()  # on the same port: workers and beat reconnect
        back = time.monotonic()
        assert wait_until(all_sent, timeout=90), workers.logs()
        delay = time.monotonic() - back
        assert delay < 60
        time.sleep(1)
        received = smtp_server.inbox.message_ids()
        assert set(received) == expected_message_ids() and len(received) == 6 * 5
        bodies = [m.get_body(("plain",)).get_content() for m in smtp_server.inbox.snapshot()]
        assert not any("Rolled back." in body for body in bodies)
        print(f"\nall delivered {delay:.1f} s after Redis came back")
