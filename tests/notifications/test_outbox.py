"""The outbox: who gets a row, through which channel; retries, failure, sweep."""

import json
import threading
from datetime import time, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone
from guardian.shortcuts import assign_perm

from config.celery import app
from incidents import actions
from incidents.models import Ticket
from incidents.querysets import who_can_see
from notifications import delivery, outbox
from notifications.models import Channel, Event, Notification, Preference, State

from ..factories import ApplicationFactory, UserFactory, open_ticket


def rows(ticket, **filters):
    return {(n.recipient.username, n.channel) for n in Notification.objects.filter(ticket=ticket, **filters)}


def test_who_can_see_is_visible_to_read_the_other_way(
    operator, dev_tech, net_tech, manager, reporter, other_reporter, intranet, net_service
):
    vpn = ApplicationFactory(name="VPN", default_service=net_service)
    tickets = [
        open_ticket(by=operator, reporter=reporter, application=intranet),
        open_ticket(by=operator, reporter=other_reporter, application=vpn),
        open_ticket(by=dev_tech, reporter=dev_tech, application=vpn),
    ]
    assign_perm("incidents.view_ticket", reporter, tickets[1])
    people = [operator, dev_tech, net_tech, manager, reporter, other_reporter, UserFactory(is_superuser=True)]
    for ticket in tickets:
        expected = {u.pk for u in people if Ticket.objects.visible_to(u).filter(pk=ticket.pk).exists()}
        assert who_can_see(ticket, [u.pk for u in people]) == expected


def test_created_ticket_tells_reporter_service_and_managers_not_the_author(dev_tech, manager, net_tech, ticket):
    assert rows(ticket) == {("reporter", "email"), ("dev", "email"), ("manager", "email")}


def test_low_priority_tickets_do_not_reach_managers(operator, reporter, intranet):
    ticket = open_ticket(
        by=operator, reporter=reporter, application=intranet, gravity="minor", criticality="non_blocking"
    )
    assert ("manager", "email") not in rows(ticket)


def test_reroute_tells_the_new_service_not_the_old_one(ticket, dev_tech, net_tech, net_service):
    Notification.objects.all().delete()
    actions.reroute_ticket(ticket, by=dev_tech, to=net_service, justification="Network.")
    assert rows(ticket) == {("reporter", "email"), ("net", "email")}


def test_watchers_are_told_and_the_author_never(ticket, dev_tech, net_tech, reporter):
    actions.watch_ticket(ticket, by=dev_tech, user=net_tech)
    Notification.objects.all().delete()
    actions.add_comment(ticket, by=reporter, body="Still broken.")
    assert rows(ticket) == {("net", "email")}


def test_sms_follows_preferences_and_needs_a_phone(ticket, dev_tech, reporter):
    reporter.phone = "+33612345678"
    reporter.save(update_fields=["phone"])
    Preference.objects.create(user=reporter, event=Event.COMMENTED, email=False, sms=True)
    Preference.objects.create(user=dev_tech, event=Event.ASSIGNED, email=True, sms=True)  # no phone
    Notification.objects.all().delete()
    actions.add_comment(ticket, by=dev_tech, body="On it.")
    assert rows(ticket) == {("reporter", "sms")}


def test_technicians_get_assignments_by_sms_by_default(ticket, dev_tech):
    dev_tech.phone = "+33611111111"
    dev_tech.save(update_fields=["phone"])
    from ..factories import Role

    boss = UserFactory(role=Role.TECHNICIAN, services=[ticket.service])
    Notification.objects.all().delete()
    actions.assign_ticket(ticket, by=boss, to=dev_tech)
    assert rows(ticket, recipient=dev_tech) == {("dev", "email"), ("dev", "sms")}


def test_quiet_hours_hold_an_sms_until_they_end(ticket, dev_tech, reporter, settings):
    settings.SMS_BACKEND = "notifications.sms.FileBackend"
    reporter.phone, reporter.quiet_hours_start, reporter.quiet_hours_end = "+33612345678", time(22), time(7)
    reporter.save()
    Preference.objects.create(user=reporter, event=Event.COMMENTED, email=False, sms=True)
    actions.add_comment(ticket, by=dev_tech, body="Night work.")
    sms = Notification.objects.get(channel=Channel.SMS)
    tomorrow = timezone.localtime() + timedelta(days=1)
    night = tomorrow.replace(hour=23, minute=30, second=0, microsecond=0)
    assert delivery.deliver(sms.pk, now=night) == "deferred"
    sms.refresh_from_db()
    assert sms.state == State.PENDING and timezone.localtime(sms.next_attempt_at).time() == time(7)
    assert delivery.deliver(sms.pk, now=night + timedelta(hours=8)) == "sent"


def test_sms_text_fits_in_160_characters(ticket, dev_tech, reporter, settings, tmp_path):
    settings.SMS_FILE_PATH = tmp_path
    reporter.phone = "+33612345678"
    reporter.save(update_fields=["phone"])
    Preference.objects.create(user=reporter, event=Event.COMMENTED, email=False, sms=True)
    Ticket.objects.filter(pk=ticket.pk).update(title=("A very long title " * 20)[:200])
    ticket.refresh_from_db()
    actions.add_comment(ticket, by=dev_tech, body="x")
    assert delivery.deliver(Notification.objects.get(channel="sms").pk) == "sent"
    sent = json.loads((tmp_path / "sms.log").read_text().splitlines()[-1])
    assert sent["to"] == "+33612345678" and len(sent["text"]) <= 160
    assert sent["text"].startswith(ticket.number) and sent["text"].endswith(f"/tickets/{ticket.number}/")


def test_smtp_failure_retries_with_backoff_then_fails_for_an_administrator_to_retry(ticket, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 1  # nothing listens
    settings.NOTIFICATIONS_MAX_ATTEMPTS, settings.NOTIFICATIONS_RETRY_BASE = 3, 10
    row = Notification.objects.filter(ticket=ticket).first()
    now = timezone.now()
    assert delivery.deliver(row.pk, now=now) == "retry"
    row.refresh_from_db()
    assert (row.state, row.attempts, row.next_attempt_at) == (State.PENDING, 1, now + timedelta(seconds=10))
    assert "Connection refused" in row.last_error or "Errno" in row.last_error
    assert delivery.deliver(row.pk, now=now) == "skipped"  # not due yet
    assert delivery.deliver(row.pk, now=now + timedelta(seconds=10)) == "retry"
    row.refresh_from_db()
    assert row.next_attempt_at == now + timedelta(seconds=30)  # 10 s, then 20 s later
    assert delivery.deliver(row.pk, now=now + timedelta(seconds=30)) == "failed"
    row.refresh_from_db()
    assert row.state == State.FAILED and row.attempts == 3

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    delivery.retry([row.pk])
    row.refresh_from_db()
    assert (row.state, row.attempts) == (State.PENDING, 0)
    assert delivery.deliver(row.pk) == "sent" and len(mail.outbox) == 1


def test_a_row_is_claimed_by_one_sender_only(ticket):
    row = Notification.objects.filter(ticket=ticket).first()
    assert delivery.deliver(row.pk) == "sent"
    assert delivery.deliver(row.pk) == "skipped"
    assert len(mail.outbox) == 1


@pytest.fixture
def empty_queue():
    """The test run's own delivery queue, emptied of what earlier tests published."""
    app.control.purge()
    yield
    app.control.purge()


def test_sweep_requeues_lost_and_stuck_rows(dev_tech, manager, ticket, settings, empty_queue):
    settings.NOTIFICATIONS_STUCK_AFTER, settings.NOTIFICATIONS_REQUEUE_AFTER = 120, 60
    now = timezone.now()
    first, second, third = Notification.objects.filter(ticket=ticket).order_by("pk")[:3]
    Notification.objects.filter(pk=first.pk).update(state=State.SENDING, claimed_at=now - timedelta(minutes=5))
    Notification.objects.filter(pk=second.pk).update(queued_at=now - timedelta(minutes=5))  # broker lost it
    Notification.objects.filter(pk=third.pk).update(queued_at=now)  # just queued: leave it
    assert delivery.sweep(now=now) == 2  # published to the test run's own broker queue
    queued = {n.pk: n for n in Notification.objects.filter(pk__in=[first.pk, second.pk, third.pk])}
    assert queued[first.pk].state == State.PENDING and queued[first.pk].queued_at > now
    assert queued[second.pk].queued_at > now
    assert queued[third.pk].queued_at == now


def test_sweep_leaves_rows_the_broker_still_holds(dev_tech, manager, ticket, settings, empty_queue):
    """A backlog is not queued again each sweep: the broker hands out messages in order,
    so its M messages are at best those of the M rows queued last; older rows were lost."""
    settings.NOTIFICATIONS_REQUEUE_AFTER = 60
    first, second, third = Notification.objects.filter(ticket=ticket).order_by("pk")
    assert outbox.enqueue([second.pk, third.pk]) == 2  # two messages wait in the broker
    assert delivery.messages_waiting() == 2
    now = timezone.now()
    for minutes, row in [(7, first), (6, second), (5, third)]:  # all queued long ago
        Notification.objects.filter(pk=row.pk).update(queued_at=now - timedelta(minutes=minutes))

    assert delivery.sweep(now=now) == 1
    assert Notification.objects.get(pk=first.pk).queued_at > now
    assert delivery.sweep(now=now) == 0  # three messages for three rows

    assert delivery.deliver(first.pk) == "sent"  # here; its message stays in the broker
    app.control.purge()  # the broker restarts empty: the two rows still pending go again
    assert delivery.sweep(now=now) == 2
    assert delivery.messages_waiting() == 2


def test_twilio_backend_posts_one_form_with_basic_auth(settings):
    received = {}

    class Gateway(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            length = int(self.headers["Content-Length"])
            received.update(
                path=self.path, auth=self.headers["Authorization"], form=parse_qs(self.rfile.read(length).decode())
            )
            self.send_response(201)
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Gateway)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.SMS_BACKEND = "notifications.sms.TwilioBackend"
    settings.SMS_GATEWAY_URL = f"http://127.0.0.1:{server.server_port}"
    settings.SMS_ACCOUNT_SID, settings.SMS_AUTH_TOKEN, settings.SMS_FROM = "AC123", "secret", "+33700000000"
    try:
        from notifications.sms import send_sms

        send_sms("+33612345678", "INC-2026-000001 Now closed")
    finally:
        server.shutdown()
    assert received["path"] == "/2010-04-01/Accounts/AC123/Messages.json"
    assert received["auth"].startswith("Basic ")
    assert received["form"] == {
        "To": ["+33612345678"],
        "From": ["+33700000000"],
        "Body": ["INC-2026-000001 Now closed"],
    }


def test_twilio_backend_raises_on_refusal(settings):
    from notifications.sms import SmsError, send_sms

    settings.SMS_BACKEND = "notifications.sms.TwilioBackend"
    settings.SMS_GATEWAY_URL = "http://127.0.0.1:9"
    with pytest.raises(SmsError):
        send_sms("+33612345678", "x")


def test_system_check_refuses_a_celery_that_loses_tasks(settings):
    from config.celery import app
    from notifications.checks import celery_never_loses_notifications

    assert celery_never_loses_notifications() == []
    app.conf.task_acks_late = False
    try:
        assert [e.id for e in celery_never_loses_notifications()] == ["notifications.E001"]
    finally:
        app.conf.task_acks_late = True
    call_command("check")
