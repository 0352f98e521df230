"""Internal notes: staff read them; the reporter never does, by page or by e-mail."""

import pytest
from django.urls import reverse

from incidents import actions
from notifications.models import Notification


def test_reporter_never_sees_an_internal_note(client, ticket, dev_tech, reporter, operator):
    actions.add_comment(ticket, by=dev_tech, body="Suspect the DBA's change.", internal=True)
    actions.add_comment(ticket, by=dev_tech, body="We are on it.")
    client.force_login(reporter)
    page = client.get(ticket.get_absolute_url()).content.decode()
    assert "We are on it." in page and "Suspect the DBA" not in page
    for staff in (dev_tech, operator):
        client.force_login(staff)
        page = client.get(ticket.get_absolute_url()).content.decode()
        assert "Suspect the DBA" in page and "Internal note: staff only" in page


def test_an_internal_note_notifies_staff_only(dev_tech, manager, ticket, reporter):
    Notification.objects.all().delete()
    actions.add_comment(ticket, by=dev_tech, body="Internal.", internal=True)
    assert set(Notification.objects.values_list("recipient__username", flat=True)) == {"manager"}


def test_a_reporter_cannot_write_an_internal_note(client, ticket, reporter):
    with pytest.raises(actions.Refused):
        actions.add_comment(ticket, by=reporter, body="Sneaky", internal=True)
    client.force_login(reporter)
    page = client.get(ticket.get_absolute_url()).content.decode()
    assert 'name="internal"' not in page
    client.post(reverse("incidents:ticket-comment", args=[ticket.number]), {"body": "Hi", "internal": "on"})
    assert not ticket.timeline.filter(is_internal=True).exists()  # the field is not theirs: ignored


def test_staff_write_internal_notes_from_the_ticket_page(client, ticket, dev_tech):
    client.force_login(dev_tech)
    assert 'name="internal"' in client.get(ticket.get_absolute_url()).content.decode()
    client.post(reverse("incidents:ticket-comment", args=[ticket.number]), {"body": "Note", "internal": "on"})
    assert ticket.timeline.get(body="Note").is_internal
