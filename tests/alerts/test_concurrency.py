"""De-duplication under concurrency, and an alert storm through a real Celery worker."""

import logging
import random
import time

import pytest
from django.db import connection
from django.db.models import Sum
from django.test import Client

from alerts.models import Alert, AlertGroup, Kind
from incidents.models import Channel, Status, Ticket, TimelineEntry

from ..notifications.conftest import wait_until
from .conftest import in_threads, post_alerts
from .samples import am_alert, am_payload

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def eager_tasks():
    """Each request processes its own alerts right after its commit, in its own thread:
    as many workers racing for one fingerprint as there are requests."""
    from config.celery import app

    saved = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = saved


def test_a_hundred_simultaneous_posts_of_one_fingerprint_make_one_ticket(make_integration, eager_tasks, caplog):
    integration = make_integration(Kind.ALERTMANAGER, rate_limit=0)
    # PostgreSQL here accepts 100 connections in all: at most 40 requests hold one at once,
    # as a web server's worker threads would. SQLite has no such limit.
    at_once = 100 if connection.vendor == "sqlite" else 40
    caplog.set_level(logging.INFO, logger="alerts.actions")

    def post(_i):
        return post_alerts(Client(), integration, am_payload(am_alert("same-fingerprint"))).status_code

    statuses, errors = in_threads(100, post, at_once=at_once)
    assert errors == [] and statuses == [202] * 100
    assert Alert.objects.count() == 100
    assert not Alert.objects.filter(processed_at__isnull=True).exists()
    group = AlertGroup.objects.get()
    assert group.is_open and group.count == 100
    ticket = Ticket.objects.get()
    assert group.ticket == ticket
    assert TimelineEntry.objects.filter(ticket=ticket).count() == 1
    joins = sum("joined the group another worker opened" in r.getMessage() for r in caplog.records)
    print(f"\n{connection.vendor}: the unique index turned {joins} concurrent group creations into joins")


def test_an_alert_storm_makes_one_ticket_per_fingerprint_and_loses_no_alert(make_integration, alert_workers):
    """10,000 Alertmanager alerts over 50 fingerprints from 8 concurrent clients, each
    notification carrying the 50 alerts of the group: every alert stored when acknowledged,
    the backlog drained by a real worker, exactly 50 open tickets."""
    integration = make_integration(Kind.ALERTMANAGER, rate_limit=0)
    alert_workers.start(concurrency=2)
    fingerprints = [f"storm-{n:02d}" for n in range(50)]
    clients, posts_each = 8, 25

    def storm(i):
        client, statuses, rng = Client(), [], random.Random(i)
        for _ in range(posts_each):
            alerts = [am_alert(fingerprint) for fingerprint in rng.sample(fingerprints, len(fingerprints))]
            statuses.append(post_alerts(client, integration, am_payload(*alerts)).status_code)
        return statuses

    started = time.monotonic()
    results, errors = in_threads(clients, storm, at_once=clients)
    posted = time.monotonic() - started
    assert errors == [] and [s for statuses in results for s in statuses] == [202] * (clients * posts_each)
    # Acknowledged means stored: all of them are in the database before any is processed.
    assert Alert.objects.count() == 10_000
    assert wait_until(lambda: not Alert.objects.filter(processed_at__isnull=True).exists(), timeout=110, interval=0.5)
    drained = time.monotonic() - started

    assert AlertGroup.objects.filter(is_open=True).count() == 50
    assert AlertGroup.objects.count() == 50
    assert AlertGroup.objects.aggregate(total=Sum("count"))["total"] == 10_000
    tickets = Ticket.objects.filter(channel=Channel.ALERT)
    assert tickets.count() == 50 and not tickets.exclude(status=Status.OPEN).exists()
    assert TimelineEntry.objects.count() == 50  # one CREATED entry each; repeats are counted, not written
    assert not Alert.objects.filter(group__isnull=True).exists()
    print(f"\n{connection.vendor}: 10,000 alerts posted in {posted:.1f} s, all processed after {drained:.1f} s")
