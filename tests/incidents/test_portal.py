"""The self-service portal, and reclassification by staff."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from incidents import actions
from incidents.models import Channel, Kind, Priority, Status, Ticket


def test_a_customer_reports_a_problem_and_follows_it(client, reporter, intranet, dev_tech):
    client.force_login(reporter)
    assert client.get(reverse("incidents:ticket-report")).status_code == 200
    response = client.post(
        reverse("incidents:ticket-report"),
        {
            "application": intranet.pk,
            "title": "Cannot log in",
            "description": "Error 500 after the password.",
            "gravity": "severe",
            "criticality": "blocking",
            "attachments": [SimpleUploadedFile("screen.png", b"\x89PNG", content_type="image/png")],
        },
    )
    ticket = Ticket.objects.get()
    assert response["Location"] == ticket.get_absolute_url()
    assert (ticket.reporter, ticket.created_by, ticket.channel) == (reporter, reporter, Channel.PORTAL)
    assert ticket.service == intranet.default_service and ticket.attachments.count() == 1
    assert ticket.number in client.get(reverse("incidents:current")).content.decode()
    assert Ticket.objects.visible_to(dev_tech).filter(pk=ticket.pk).exists()


def test_portal_errors_keep_what_was_typed(client, reporter, intranet):
    client.force_login(reporter)
    response = client.post(reverse("incidents:ticket-report"), {"application": intranet.pk, "title": "Printer"})
    assert response.status_code == 200 and 'value="Printer"' in response.content.decode()
    assert not Ticket.objects.exists()


def test_staff_reclassify_and_the_priority_follows(ticket, dev_tech):
    entry = actions.reclassify_ticket(
        ticket, by=dev_tech, gravity="minor", criticality="non_blocking", comment="Cosmetic."
    )
    ticket.refresh_from_db()
    assert ticket.priority == Priority.P4 and entry.kind == Kind.RECLASSIFIED
    assert entry.changes["gravity"] == ["severe", "minor"]


def test_becoming_an_evolution_request_waits_for_a_decision(ticket, operator, client):
    actions.reclassify_ticket(ticket, by=operator, gravity="minor", criticality="evolution", comment="A wish.")
    ticket.refresh_from_db()
    assert ticket.status == Status.PENDING_DECISION
    client.force_login(operator)
    page = client.get(ticket.get_absolute_url()).content.decode()
    assert "Gravity: Severe → Minor" in page


@pytest.mark.parametrize("role", ["reporter", "net_tech"])
def test_others_cannot_reclassify(role, request, ticket):
    with pytest.raises(actions.Forbidden):
        actions.reclassify_ticket(
            ticket, by=request.getfixturevalue(role), gravity="minor", criticality="blocking", comment="x"
        )


def test_reclassifying_to_the_same_values_is_refused(ticket, dev_tech):
    with pytest.raises(actions.Refused, match="Nothing changes"):
        actions.reclassify_ticket(ticket, by=dev_tech, gravity="severe", criticality="blocking", comment="x")
