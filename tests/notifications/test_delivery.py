"""Events reach the right people, by a real Celery worker and a real SMTP server."""

from collections import Counter

import pytest
from django.utils import timezone

from incidents import actions
from notifications.models import Notification, State

from ..factories import open_ticket
from .conftest import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def all_sent():
    return not Notification.objects.exclude(state=State.SENT).exists()


def received_by(inbox, number):
    """{address: count} of the e-mails about ticket `number`."""
    return Counter(m["To"] for m in inbox.snapshot() if m["X-Firebreak-Ticket"] == number)


def test_each_event_reaches_the_people_it_concerns_and_nobody_else(
    workers, smtp_server, operator, dev_tech, net_tech, manager, reporter, other_reporter, intranet, net_service
):
    workers.start()
    reporter.language = "fr"
    reporter.save(update_fields=["language"])

    # Opened by the operator: the reporter, the developers' service, managers (P1).
    ticket = open_ticket(by=operator, reporter=reporter, application=intranet)
    assert wait_until(lambda: len(smtp_server.inbox.snapshot()) == 3)
    assert received_by(smtp_server.inbox, ticket.number) == {
        reporter.email: 1,
        dev_tech.email: 1,
        manager.email: 1,
    }

    # The developer comments, logs an intervention and re-routes to the network service.
    actions.add_comment(ticket, by=dev_tech, body="The server logs show a database connection failure.")
    actions.log_intervention(ticket, by=dev_tech, performed_at=timezone.now(), minutes=40, body="Tested the DB link.")
    actions.reroute_ticket(ticket, by=dev_tech, to=net_service, justification="DB unreachable: network config.")
    # A network technician closes it.
    ticket.refresh_from_db()
    actions.close_ticket(ticket, by=net_tech, comment="Firewall rule restored.")

    assert wait_until(all_sent)
    counts = received_by(smtp_server.inbox, ticket.number)
    # reporter: created, comment, intervention, re-route, close; manager: the same;
    # developer: created only (their own actions are not told, then the ticket left them);
    # network technician: the re-route that brought it (not their own close).
    assert counts == {reporter.email: 5, manager.email: 5, dev_tech.email: 1, net_tech.email: 1}
    assert operator.email not in counts and other_reporter.email not in counts


def test_emails_thread_per_ticket_have_both_parts_and_speak_the_recipients_language(
    workers, smtp_server, operator, dev_tech, reporter, intranet
):
    workers.start()
    reporter.language = "fr"
    reporter.save(update_fields=["language"])
    ticket = open_ticket(
        by=operator, reporter=reporter, application=intranet, gravity="minor", criticality="non_blocking"
    )
    actions.add_comment(ticket, by=dev_tech, body="Looking into it.")
    assert wait_until(all_sent)

    messages = [m for m in smtp_server.inbox.snapshot() if m["To"] == reporter.email]
    assert len(messages) == 2
    thread = f"<{ticket.number.lower()}@127.0.0.1>"
    assert {m["References"] for m in messages} == {thread}
    assert len({m["Message-ID"] for m in messages}) == 2
    for message in messages:
        assert message["Subject"] == f"[{ticket.number}] {ticket.title}"
        assert message.get_body(("plain",)) is not None and message.get_body(("html",)) is not None
        assert f"/tickets/{ticket.number}/" in message.get_body(("plain",)).get_content()
    comment = next(m for m in messages if "Looking into it." in m.get_body(("plain",)).get_content())
    assert "Ouvrir le ticket" in comment.get_body(("plain",)).get_content()


def test_a_rolled_back_change_never_notifies(workers, smtp_server, ticket, dev_tech):
    from django.db import transaction

    workers.start()
    before = Notification.objects.count()
    with pytest.raises(RuntimeError), transaction.atomic():
        actions.add_comment(ticket, by=dev_tech, body="Never happened.")
        raise RuntimeError
    assert Notification.objects.count() == before
    actions.add_comment(ticket, by=dev_tech, body="This one happened.")
    assert wait_until(all_sent)
    bodies = [m.get_body(("plain",)).get_content() for m in smtp_server.inbox.snapshot()]
    assert not any("Never happened." in body for body in bodies)
    assert any("This one happened." in body for body in bodies)
