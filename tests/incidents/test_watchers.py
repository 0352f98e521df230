"""Watchers: told of every event; staff may add anyone, who then sees that one ticket."""

import pytest
from django.urls import reverse

from incidents import actions
from incidents.models import Ticket, Watcher


def test_a_user_watches_and_unwatches_a_ticket_they_can_see(client, ticket, reporter):
    client.force_login(reporter)
    client.post(reverse("incidents:ticket-watch", args=[ticket.number]))
    assert Watcher.objects.filter(ticket=ticket, user=reporter).exists()
    client.post(reverse("incidents:ticket-watch", args=[ticket.number]), {"stop": "1"})
    assert not Watcher.objects.filter(ticket=ticket, user=reporter).exists()


def test_nobody_watches_a_ticket_they_cannot_see(client, ticket, other_reporter):
    client.force_login(other_reporter)
    assert client.post(reverse("incidents:ticket-watch", args=[ticket.number])).status_code == 404
    assert not Watcher.objects.exists()


def test_staff_add_an_outsider_who_then_sees_that_ticket_only(client, ticket, dev_tech, net_tech, operator, intranet):
    other = actions.open_ticket(
        by=operator,
        reporter=operator,
        application=intranet,
        service=intranet.default_service,
        title="Other",
        description="x",
        gravity="minor",
        criticality="non_blocking",
        channel="phone",
    )
    client.force_login(dev_tech)
    response = client.post(reverse("incidents:ticket-watcher-add", args=[ticket.number]), {"user": net_tech.pk})
    assert response.status_code == 302
    assert set(Ticket.objects.visible_to(net_tech)) == {ticket}
    assert other not in Ticket.objects.visible_to(net_tech)

    client.post(reverse("incidents:ticket-watcher-remove", args=[ticket.number, net_tech.pk]))
    assert not Ticket.objects.visible_to(net_tech).filter(pk=ticket.pk).exists()


def test_a_customer_cannot_add_watchers(ticket, reporter, other_reporter):
    with pytest.raises(actions.Refused):
        actions.watch_ticket(ticket, by=reporter, user=other_reporter)
    assert not Watcher.objects.exists()


def test_watching_twice_is_refused(ticket, reporter):
    actions.watch_ticket(ticket, by=reporter)
    with pytest.raises(actions.Refused, match="already watches"):
        actions.watch_ticket(ticket, by=reporter)
