"""Alerts become tickets: one per fingerprint while open, state changes on the timeline."""

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from alerts import actions
from alerts.models import Alert, AlertGroup, AlertStatus, Kind
from incidents import actions as desk
from incidents.models import Channel, Status, Ticket, TimelineEntry
from incidents.models import Kind as EntryKind
from notifications.models import Event, Notification

from .conftest import post_alerts, process_all
from .samples import GENERIC, am_alert, am_payload


def send(client, integration, *alerts):
    response = post_alerts(client, integration, am_payload(*alerts))
    assert response.status_code == 202, response.content
    process_all()


def timeline(ticket):
    return list(TimelineEntry.objects.filter(ticket=ticket).order_by("created_at", "id").values_list("kind", "body"))


def test_the_same_fingerprint_twice_is_one_ticket_counted_twice_with_one_timeline_entry(client, alertmanager):
    send(client, alertmanager, am_alert("web-1"))
    send(client, alertmanager, am_alert("web-1"))
    group = AlertGroup.objects.get()
    assert (group.count, group.is_open, group.last_status) == (2, True, AlertStatus.FIRING)
    assert group.last_seen > group.first_seen
    ticket = Ticket.objects.get()
    assert group.ticket == ticket and ticket.channel == Channel.ALERT
    assert [kind for kind, _body in timeline(ticket)] == [EntryKind.CREATED]
    assert set(Alert.objects.values_list("group_id", flat=True)) == {group.pk}
    assert not Alert.objects.filter(processed_at__isnull=True).exists()


def test_the_ticket_is_reported_by_the_integration_in_its_service_with_mapped_gravity(client, alertmanager):
    send(client, alertmanager, am_alert("a", severity="critical"), am_alert("b", severity="Warning"))
    send(client, alertmanager, am_alert("c", severity="info"), am_alert("d", severity="unheard-of"))
    fields = {
        g.fingerprint: (g.ticket.gravity, g.ticket.criticality, g.ticket.priority)
        for g in AlertGroup.objects.select_related("ticket")
    }
    assert fields == {
        "a": ("severe", "blocking", 1),
        "b": ("annoying", "non_blocking", 3),
        "c": ("minor", "non_blocking", 4),
        "d": ("annoying", "non_blocking", 3),
    }
    ticket = Ticket.objects.get(alert_group__fingerprint="a")
    assert ticket.reporter == alertmanager.bot == ticket.created_by
    assert (ticket.service, ticket.application) == (alertmanager.service, alertmanager.application)
    assert ticket.title == "HighErrorRate: Errors on a"


def test_recovery_and_firing_again_are_comments_and_repeats_are_not(client, alertmanager):
    send(client, alertmanager, am_alert("web-1"))
    send(client, alertmanager, am_alert("web-1", status="resolved"))
    send(client, alertmanager, am_alert("web-1", status="resolved"))
    send(client, alertmanager, am_alert("web-1"))
    group = AlertGroup.objects.get()
    assert (group.count, group.is_open, group.last_status) == (4, True, AlertStatus.FIRING)
    entries = timeline(group.ticket)
    assert [kind for kind, _body in entries] == [EntryKind.CREATED, EntryKind.COMMENT, EntryKind.COMMENT]
    assert entries[1][1].startswith("Recovered: Prometheus reports the alert resolved.")
    assert entries[2][1].startswith("Firing again")
    assert Ticket.objects.get().status == Status.OPEN


def test_state_changes_in_one_batch_are_applied_in_order(client, alertmanager):
    send(client, alertmanager, am_alert("x"), am_alert("x", status="resolved"), am_alert("x"))
    group = AlertGroup.objects.get()
    assert group.count == 3 and group.last_status == AlertStatus.FIRING
    assert [kind for kind, _body in timeline(group.ticket)] == ["created", "comment", "comment"]


def test_close_on_recovery_closes_the_ticket_and_the_next_firing_opens_another(client, make_integration):
    integration = make_integration(Kind.ALERTMANAGER, close_on_resolve=True)
    send(client, integration, am_alert("db-1"))
    send(client, integration, am_alert("db-1", status="resolved"))
    first = Ticket.objects.get()
    assert first.status == Status.CLOSED
    ((kind, body), *_) = reversed(timeline(first))
    assert kind == EntryKind.STATUS and "Closed automatically" in body
    entry = TimelineEntry.objects.get(ticket=first, kind=EntryKind.STATUS)
    assert entry.author == integration.bot and entry.to_status == Status.CLOSED
    assert AlertGroup.objects.get().is_open is False
    # A late repeat of the recovery opens nothing; the alert firing again is a new ticket.
    send(client, integration, am_alert("db-1", status="resolved"))
    assert Ticket.objects.count() == 1 and Alert.objects.filter(group__isnull=True).count() == 1
    send(client, integration, am_alert("db-1"))
    assert Ticket.objects.count() == 2
    assert AlertGroup.objects.filter(is_open=True).get().ticket != first


def test_a_ticket_closed_by_a_person_ends_its_group_and_the_alert_opens_a_new_ticket(client, alertmanager, dev_tech):
    send(client, alertmanager, am_alert("web-1"))
    first = Ticket.objects.get()
    desk.close_ticket(first, by=dev_tech, comment="Restarted the pool.")
    send(client, alertmanager, am_alert("web-1"))
    assert Ticket.objects.count() == 2
    old, new = AlertGroup.objects.order_by("id")
    assert (old.is_open, old.ticket, old.count) == (False, first, 1)
    assert new.is_open and new.count == 1 and new.ticket.status == Status.OPEN
    assert [kind for kind, _body in timeline(first)] == [EntryKind.CREATED, EntryKind.STATUS]


def test_a_recovery_without_an_open_ticket_is_recorded_and_opens_nothing(client, alertmanager):
    send(client, alertmanager, am_alert("gone", status="resolved"))
    assert not Ticket.objects.exists() and not AlertGroup.objects.exists()
    assert Alert.objects.get().processed_at is not None


def test_alert_tickets_notify_the_service_like_any_other_intake(client, alertmanager, dev_tech, manager):
    send(client, alertmanager, am_alert("web-1", severity="critical"))
    ticket = Ticket.objects.get()
    told = set(
        Notification.objects.filter(ticket=ticket, event=Event.CREATED).values_list("recipient__username", flat=True)
    )
    # The service's technician and (P1) the managers; never the integration's own account.
    assert {"dev", "manager"} <= told
    assert alertmanager.bot.username not in told


def test_generic_alerts_open_tickets_too(client, make_integration):
    generic = make_integration(Kind.GENERIC)
    assert post_alerts(client, generic, GENERIC).status_code == 202
    process_all()
    ticket = Ticket.objects.get()
    assert ticket.title == "Nightly backup of db-1 failed" and ticket.priority == 1
    assert "https://jobs.example.com/backup/1234" in ticket.description


def test_the_database_refuses_a_second_open_group_for_one_fingerprint(alertmanager):
    now = timezone.now()
    fields = {"integration": alertmanager, "fingerprint": "fp", "title": "t", "last_status": "firing"}
    AlertGroup.objects.create(**fields, first_seen=now, last_seen=now)
    with pytest.raises(IntegrityError), transaction.atomic():
        AlertGroup.objects.create(**fields, first_seen=now, last_seen=now)
    AlertGroup.objects.create(**fields, is_open=False, first_seen=now, last_seen=now)  # closed ones: any number


def test_processing_the_same_alerts_again_changes_nothing(client, alertmanager):
    post_alerts(client, alertmanager, am_payload(am_alert("a"), am_alert("a"), am_alert("b")))
    ids = list(Alert.objects.values_list("pk", flat=True))
    assert actions.process_alerts(ids) == 3
    assert actions.process_alerts(ids) == 0
    assert sorted(AlertGroup.objects.values_list("fingerprint", "count")) == [("a", 2), ("b", 1)]
    assert TimelineEntry.objects.count() == 2


def test_the_sweep_queues_alerts_a_lost_task_left_behind(client, alertmanager, monkeypatch):
    queued = []
    monkeypatch.setattr(actions, "enqueue", lambda ids: queued.extend(ids) or True)
    post_alerts(client, alertmanager, am_payload(am_alert("a"), am_alert("b")))
    assert actions.sweep() == 0  # too recent: their own task may still come
    assert actions.sweep(now=timezone.now() + timedelta(minutes=1)) == 2
    actions.process_alerts(queued)
    assert Ticket.objects.count() == 2


def test_the_sweep_writes_refusals_counted_in_the_cache(client, make_integration):
    from alerts import ratelimit

    integration = make_integration(Kind.ALERTMANAGER, rate_limit=1)
    two = am_payload(am_alert("a"), am_alert("b"))
    assert post_alerts(client, integration, two).status_code == 429  # written at once (first of its window)
    assert post_alerts(client, integration, two).status_code == 429  # counted in the cache only
    integration.refresh_from_db()
    assert integration.refused_count == 2
    from django.core.cache import cache

    cache.delete(ratelimit.key("refused-flush", integration.pk))  # FLUSH_EVERY seconds later
    actions.sweep()
    integration.refresh_from_db()
    assert integration.refused_count == 4
    assert ratelimit.pending_refused([integration.pk]) == {integration.pk: 0}


def test_only_the_integration_that_opened_a_ticket_closes_it_on_recovery(ticket, alertmanager, dev_tech):
    with pytest.raises(desk.Forbidden):  # a phone ticket
        desk.close_ticket_on_recovery(ticket, by=alertmanager.bot, comment="Recovered.")
    with pytest.raises(desk.Forbidden):  # a person, even of the service
        Ticket.objects.filter(pk=ticket.pk).update(channel=Channel.ALERT)
        ticket.refresh_from_db()
        desk.close_ticket_on_recovery(ticket, by=dev_tech, comment="Recovered.")
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN


def test_a_burst_of_webhooks_queues_one_processing_run_until_it_starts(
    client, alertmanager, monkeypatch, django_capture_on_commit_callbacks
):
    """The alert after a storm must not wait behind one task per request of the storm."""
    from alerts import tasks

    queued = []
    monkeypatch.setattr(tasks.process_waiting, "apply_async", lambda args, **options: queued.append(args))
    with django_capture_on_commit_callbacks(execute=True):
        for n in range(5):
            assert post_alerts(client, alertmanager, am_payload(am_alert(f"burst-{n}"))).status_code == 202
    assert queued == [(alertmanager.pk,)]

    assert actions.process_waiting(alertmanager.pk) == 5  # the run takes every alert waiting
    assert not Alert.objects.filter(processed_at__isnull=True).exists()
    assert Ticket.objects.count() == 5
    with django_capture_on_commit_callbacks(execute=True):
        post_alerts(client, alertmanager, am_payload(am_alert("after-the-burst")))
    assert queued == [(alertmanager.pk,)] * 2  # that run started: the next alert queues its own
