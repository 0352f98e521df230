"""The acknowledge link: signed, expiring, single-use, only the person paged, no login
needed; GET only asks (mail scanners prefetch links), POST acknowledges. And the
Acknowledge button of the ticket page."""

from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from incidents.models import Kind, TimelineEntry
from oncall import links
from oncall.models import Escalation, EscalationState, Page

from ..factories import open_ticket


@pytest.fixture
def paged(clock, policy, operator, reporter, intranet, dev_tech):
    """A P1 ticket that paged the developer; (ticket, page, the link's path)."""
    ticket = open_ticket(by=operator, reporter=reporter, application=intranet)
    page = Page.objects.get(escalation__ticket=ticket, user=dev_tech)
    return ticket, page, urlsplit(page.acknowledge_url()).path


def state(ticket):
    return Escalation.objects.get(ticket=ticket).state


def test_get_only_asks_and_post_acknowledges_without_logging_in(paged, dev_tech):
    ticket, _page, path = paged
    phone = Client()  # no session: the link alone
    response = phone.get(path)
    assert response.status_code == 200
    assert ticket.number in response.content.decode() and 'type="submit"' in response.content.decode()
    assert state(ticket) == EscalationState.ACTIVE  # a scanner fetching the link acknowledges nothing

    response = phone.post(path)
    assert response.status_code == 200
    assert "Acknowledged. Nobody else will be paged" in response.content.decode()
    escalation = Escalation.objects.get(ticket=ticket)
    assert (escalation.state, escalation.acknowledged_by) == (EscalationState.ACKNOWLEDGED, dev_tech)
    assert TimelineEntry.objects.filter(ticket=ticket, kind=Kind.ACKNOWLEDGED, author=dev_tech).count() == 1
    assert "_auth_user_id" not in phone.session  # the link never logs anyone in


def test_the_link_works_once_then_says_who_acknowledged_and_when(paged, dev_tech):
    ticket, _page, path = paged
    assert Client().post(path).status_code == 200
    again = Client().post(path)
    assert again.status_code == 409
    assert f"Already acknowledged by {escape(dev_tech)} at" in again.content.decode()
    shown = Client().get(path)
    assert f"Already acknowledged by {escape(dev_tech)} at" in shown.content.decode()
    assert 'type="submit"' not in shown.content.decode()
    assert TimelineEntry.objects.filter(ticket=ticket, kind=Kind.ACKNOWLEDGED).count() == 1


def test_the_link_expires_an_hour_after_it_was_sent(paged, clock):
    ticket, _page, path = paged
    clock.shift(timedelta(seconds=links.MAX_AGE + 1))
    for response in (Client().get(path), Client().post(path)):
        assert response.status_code == 410
        assert "This link has expired" in response.content.decode()
    assert state(ticket) == EscalationState.ACTIVE


def test_a_tampered_or_foreign_link_is_refused(paged, backup):
    ticket, page, path = paged
    token = path.rstrip("/").rsplit("/", 1)[1]
    tampered = reverse("oncall:acknowledge", args=[token[:-1] + ("A" if token[-1] != "A" else "B")])
    page.user_id = backup.pk  # a correctly signed link naming someone else than the person paged
    foreign = reverse("oncall:acknowledge", args=[links.make_token(page)])
    for url in (tampered, foreign, reverse("oncall:acknowledge", args=["12-3.abc.def"])):
        assert Client().post(url).status_code == 404
        assert Client().get(url).status_code == 404
    assert state(ticket) == EscalationState.ACTIVE


def test_the_ticket_page_offers_the_person_paged_an_acknowledge_button(paged, client, dev_tech, operator):
    ticket, _page, _path = paged
    client.force_login(operator)
    assert 'id="ticket-page"' not in client.get(ticket.get_absolute_url()).content.decode()
    response = client.post(reverse("oncall:ticket-acknowledge", args=[ticket.number]), follow=True)
    assert "You have no page to acknowledge" in response.content.decode()
    assert state(ticket) == EscalationState.ACTIVE

    client.force_login(dev_tech)
    assert 'id="ticket-page"' in client.get(ticket.get_absolute_url()).content.decode()
    response = client.post(reverse("oncall:ticket-acknowledge", args=[ticket.number]), follow=True)
    assert "Page acknowledged" in response.content.decode()
    assert state(ticket) == EscalationState.ACKNOWLEDGED
    assert 'id="ticket-page"' not in response.content.decode()


def test_nobody_acknowledges_a_ticket_they_cannot_see(paged, client, other_reporter):
    ticket, _page, _path = paged
    client.force_login(other_reporter)
    assert client.post(reverse("oncall:ticket-acknowledge", args=[ticket.number])).status_code == 404
    assert state(ticket) == EscalationState.ACTIVE
