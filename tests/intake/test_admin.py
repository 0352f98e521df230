"""Administrators give services their addresses and read what became of each message."""

from django.urls import reverse

from accounts.roles import Role
from intake.models import ImapSecurity, InboundMessage, Mailbox, Outcome, Via

from ..factories import UserFactory


def mailbox_form(service, application, **changes):
    return {
        "address": "network@firebreak.test",
        "service": service.pk,
        "default_application": application.pk,
        "unknown_sender_policy": "reject",
        "is_active": "on",
        "imap_host": "imap.firebreak.test",
        "imap_port": "",
        "imap_security": ImapSecurity.SSL,
        "imap_user": "network",
        "imap_password": "",
        "imap_folder": "INBOX",
        **changes,
    }


def test_administrator_sets_up_a_mailbox_whose_imap_password_is_never_shown_back(client, db, net_service, intranet):
    client.force_login(UserFactory(role=Role.ADMINISTRATOR))

    response = client.post(
        reverse("admin:intake_mailbox_add"), mailbox_form(net_service, intranet, imap_password="imap-s3cret")
    )

    assert response.status_code == 302, response.content.decode()
    mailbox = Mailbox.objects.get()
    assert (mailbox.service, mailbox.imap_password, mailbox.is_polled) == (net_service, "imap-s3cret", True)
    change = reverse("admin:intake_mailbox_change", args=[mailbox.pk])
    assert "imap-s3cret" not in client.get(change).content.decode()

    # Saved again with the password left empty: the password stays.
    response = client.post(change, mailbox_form(net_service, intranet, unknown_sender_policy="create_reporter"))

    assert response.status_code == 302, response.content.decode()
    mailbox.refresh_from_db()
    assert (mailbox.unknown_sender_policy, mailbox.imap_password) == ("create_reporter", "imap-s3cret")


def test_administrator_reads_received_messages_but_cannot_change_them(client, db, net_service, intranet):
    mailbox = Mailbox.objects.create(
        service=net_service, address="network@firebreak.test", default_application=intranet
    )
    received = InboundMessage.objects.create(
        message_id="<1@mail.example.com>",
        mailbox=mailbox,
        via=Via.LMTP,
        sender="sam@elsewhere.test",
        subject="Need access",
        outcome=Outcome.REJECTED_UNKNOWN,
        detail="no account has this address",
    )
    client.force_login(UserFactory(role=Role.ADMINISTRATOR))

    page = client.get(reverse("admin:intake_inboundmessage_changelist")).content.decode()

    assert "sam@elsewhere.test" in page and "Rejected: unknown sender" in page
    detail = client.get(reverse("admin:intake_inboundmessage_change", args=[received.pk]))
    assert detail.status_code == 200 and "no account has this address" in detail.content.decode()
    assert client.get(reverse("admin:intake_inboundmessage_add")).status_code == 403
    assert client.post(reverse("admin:intake_inboundmessage_delete", args=[received.pk])).status_code == 403
    assert InboundMessage.objects.filter(pk=received.pk).exists()
