"""Mail fetched from an IMAP mailbox (intake.polling, run by Celery beat), on a real
dovecot server: each unseen message is processed once, then flagged \\Seen."""

import pytest
from imap_tools import AND, MailBoxUnencrypted

from incidents.models import Channel, Kind, Ticket
from intake import tasks
from intake.models import ImapSecurity, InboundMessage, Mailbox, Outcome, Via
from intake.polling import poll_mailbox

from ..notifications.conftest import free_port
from .conftest import as_bytes, compose

pytestmark = pytest.mark.django_db


def imap(mailbox):
    return MailBoxUnencrypted(mailbox.imap_host, mailbox.imap_port).login(mailbox.imap_user, mailbox.imap_password)


def append(mailbox, *messages):
    with imap(mailbox) as box:
        for message in messages:
            box.append(as_bytes(message), "INBOX", flag_set=[])


def unseen_subjects(mailbox) -> list[str]:
    with imap(mailbox) as box:
        return sorted(message.subject for message in box.fetch(AND(seen=False), mark_seen=False, headers_only=True))


def test_unseen_messages_become_tickets_and_comments_and_are_marked_seen(
    imap_mailbox, ticket, reporter, dev_tech, net_service
):
    append(
        imap_mailbox,
        compose(reporter.email, subject="VPN down since 9:00", body="No VPN from home."),
        compose(dev_tech.email, subject=f"Re: [{ticket.number}] {ticket.title}", body="Looking at it."),
        compose(reporter.email, subject="Out of office", headers={"Auto-Submitted": "auto-replied"}),
    )

    assert poll_mailbox(imap_mailbox) == 3

    new = Ticket.objects.get(title="VPN down since 9:00")
    assert (new.service, new.reporter, new.channel, new.description) == (
        net_service,
        reporter,
        Channel.EMAIL,
        "No VPN from home.",
    )
    [comment] = ticket.timeline.filter(kind=Kind.COMMENT)
    assert (comment.author, comment.body) == (dev_tech, "Looking at it.")
    assert Ticket.objects.count() == 2  # the auto-reply opened nothing
    assert sorted(InboundMessage.objects.values_list("via", "outcome")) == [
        (Via.IMAP, Outcome.COMMENT_ADDED),
        (Via.IMAP, Outcome.IGNORED_AUTO),
        (Via.IMAP, Outcome.TICKET_CREATED),
    ]
    assert unseen_subjects(imap_mailbox) == []


def test_a_second_poll_changes_nothing(imap_mailbox, reporter):
    append(imap_mailbox, compose(reporter.email))
    assert poll_mailbox(imap_mailbox) == 1

    assert poll_mailbox(imap_mailbox) == 0

    assert Ticket.objects.count() == 1
    assert InboundMessage.objects.count() == 1


def test_a_message_left_unseen_after_processing_is_not_processed_twice(imap_mailbox, reporter):
    # The connection dropped between processing and \Seen, or someone marked it unread.
    append(imap_mailbox, compose(reporter.email))
    poll_mailbox(imap_mailbox)
    with imap(imap_mailbox) as box:
        box.client.uid("STORE", box.uids()[0], "-FLAGS", r"(\Seen)")

    assert poll_mailbox(imap_mailbox) == 1

    assert Ticket.objects.count() == 1
    assert unseen_subjects(imap_mailbox) == []


def test_a_message_whose_processing_fails_stays_unseen_until_a_later_poll(
    imap_mailbox, reporter, database_refuses_tickets
):
    append(
        imap_mailbox,
        compose(reporter.email, subject="VPN down"),
        compose(reporter.email, subject="Out of office", headers={"Auto-Submitted": "auto-replied"}),
    )

    assert poll_mailbox(imap_mailbox) == 1  # the auto-reply; the database refused the ticket

    assert unseen_subjects(imap_mailbox) == ["VPN down"]
    assert not Ticket.objects.exists()
    assert list(InboundMessage.objects.values_list("outcome", flat=True)) == [Outcome.IGNORED_AUTO]

    database_refuses_tickets.lift()
    assert poll_mailbox(imap_mailbox) == 1

    assert Ticket.objects.get().title == "VPN down"
    assert unseen_subjects(imap_mailbox) == []


def test_a_mailbox_whose_server_is_down_does_not_stop_the_others(imap_mailbox, reporter, dev_service):
    Mailbox.objects.create(
        service=dev_service,
        address="dev@firebreak.test",
        default_application=imap_mailbox.default_application,
        imap_host="127.0.0.1",
        imap_port=free_port(),  # nothing listens there
        imap_security=ImapSecurity.NONE,
        imap_user="dev",
        imap_password="dev-secret",
    )
    Mailbox.objects.create(  # not polled: it receives by LMTP only
        service=dev_service, address="lmtp-only@firebreak.test", default_application=imap_mailbox.default_application
    )
    append(imap_mailbox, compose(reporter.email))

    assert tasks.poll() == 1  # what Celery beat runs every minute

    assert Ticket.objects.get().service == imap_mailbox.service


@pytest.mark.django_db(transaction=True)
def test_a_message_received_by_the_mta_and_then_polled_makes_one_ticket(lmtp_receiver, imap_mailbox, reporter):
    # A site moving from polling to LMTP delivers both ways for a while.
    message = compose(reporter.email)
    assert lmtp_receiver.deliver(message).code == 250
    append(imap_mailbox, message)

    assert poll_mailbox(imap_mailbox) == 1

    assert Ticket.objects.count() == 1
    assert InboundMessage.objects.get().via == Via.LMTP
    assert unseen_subjects(imap_mailbox) == []
