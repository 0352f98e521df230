"""Reading tickets: the list and the ticket show exactly what the browser shows each persona."""

import base64
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from guardian.shortcuts import assign_perm

from incidents import actions
from incidents.models import Ticket

from ..factories import ApplicationFactory, open_ticket
from .conftest import PERSONAS

LIST = reverse("api:ticket-list")


def detail(ticket):
    return reverse("api:ticket-detail", kwargs={"number": ticket.number})


def listed(client, params=None):
    """Every ticket number the list gives, following its cursor to the end."""
    numbers, url, params = [], LIST, {"page_size": 2, **(params or {})}
    for _page in range(50):
        response = client.get(url, params)
        assert response.status_code == 200, response.content
        numbers += [row["number"] for row in response.json()["results"]]
        url, params = response.json()["next"], None
        if not url:
            assert len(numbers) == len(set(numbers))
            return set(numbers)
    raise AssertionError("the cursor never ended")


@pytest.fixture
def desk(operator, dev_tech, net_tech, reporter, other_reporter, intranet, net_service):
    """Tickets in two queues, three states and several ownerships (tests/incidents/test_visibility.py)."""
    vpn = ApplicationFactory(name="VPN", default_service=net_service)
    tickets = {
        "dev_open": open_ticket(by=operator, reporter=reporter, application=intranet),
        "dev_open_2": open_ticket(by=operator, reporter=other_reporter, application=intranet, title="Slow page"),
        "net_open": open_ticket(by=operator, reporter=other_reporter, application=vpn, title="VPN drops"),
        "evolution": open_ticket(by=operator, reporter=reporter, application=intranet, criticality="evolution"),
        "granted": open_ticket(by=operator, reporter=other_reporter, application=vpn, title="Granted one"),
    }
    closed = open_ticket(by=operator, reporter=reporter, application=vpn, title="Old VPN issue")
    actions.close_ticket(closed, by=net_tech, comment="Fixed.")
    tickets["net_closed"] = closed
    assign_perm("incidents.view_ticket", reporter, tickets["granted"])
    return tickets


@pytest.mark.parametrize("persona", PERSONAS)
def test_list_and_tickets_show_exactly_what_the_user_may_see(persona, desk, as_persona, request):
    client = as_persona(persona)
    if persona == "anonymous":
        assert client.get(LIST).status_code == 401
        assert all(client.get(detail(t)).status_code == 401 for t in desk.values())
        return
    user = request.getfixturevalue(persona)
    visible = set(Ticket.objects.visible_to(user).values_list("number", flat=True))

    assert listed(client) == visible
    for ticket in desk.values():
        response = client.get(detail(ticket))
        if ticket.number in visible:
            assert response.status_code == 200 and response.json()["number"] == ticket.number
        else:
            assert response.status_code == 404
            assert response.json() == {"detail": "Not found."}
    assert client.get(reverse("api:ticket-detail", kwargs={"number": "INC-1999-000001"})).json() == {
        "detail": "Not found."
    }


def test_technician_of_another_service_gets_404_like_a_missing_ticket(desk, as_persona):
    client = as_persona("net_tech")
    hidden = client.get(detail(desk["dev_open"]))
    missing = client.get(reverse("api:ticket-detail", kwargs={"number": "INC-2000-000001"}))
    assert hidden.status_code == missing.status_code == 404
    assert hidden.content == missing.content
    # Acting on it is a 404 too, before any input is looked at.
    assert client.post(detail(desk["dev_open"]) + "close/", {"comment": "x"}).status_code == 404
    assert client.post(detail(desk["dev_open"]) + "comments/", {}).status_code == 404


def test_ticket_shows_its_timeline_watchers_and_the_users_actions(ticket, dev_tech, as_persona):
    actions.add_comment(ticket, by=dev_tech, body="Looking at the logs.")
    actions.log_intervention(ticket, by=dev_tech, performed_at=timezone.now(), minutes=15, body="Restarted.")
    actions.watch_ticket(ticket, by=dev_tech)

    data = as_persona("dev_tech").get(detail(ticket)).json()
    assert [e["kind"] for e in data["timeline"]] == ["created", "comment", "intervention"]
    assert data["timeline"][2]["minutes"] == 15 and data["time_spent"] == 15
    assert data["watchers"] == [{"id": dev_tech.pk, "username": "dev", "name": dev_tech.get_full_name()}]
    assert data["actions"]["close"] and data["actions"]["intervention"] and not data["actions"]["decide"]
    assert data["service"]["name"] == "Application developers" and data["reporter"]["username"] == "reporter"

    reporter_view = as_persona("reporter").get(detail(ticket)).json()
    assert not reporter_view["actions"]["close"] and reporter_view["actions"]["comment"]


def test_internal_notes_are_hidden_from_the_reporter_as_on_the_ticket_page(ticket, dev_tech, as_persona, client):
    actions.add_comment(ticket, by=dev_tech, body="Public answer.")
    actions.add_comment(ticket, by=dev_tech, body="Reporter keeps rebooting.", internal=True)

    def bodies(persona):
        return [e["body"] for e in as_persona(persona).get(detail(ticket)).json()["timeline"] if e["body"]]

    assert "Reporter keeps rebooting." in bodies("dev_tech")
    assert "Reporter keeps rebooting." in bodies("operator")
    assert "Reporter keeps rebooting." in bodies("manager")
    assert bodies("reporter") == ["Public answer."]
    # The same as the ticket page in the browser.
    client.force_login(ticket.reporter)
    assert "Reporter keeps rebooting." not in client.get(ticket.get_absolute_url()).content.decode()

    # Text search does not find tickets by their internal notes either.
    assert listed(as_persona("reporter"), {"q": "rebooting"}) == set()
    assert listed(as_persona("dev_tech"), {"q": "rebooting"}) == {ticket.number}


def test_list_filters_are_the_desks(desk, dev_tech, as_persona, net_service, intranet):
    actions.take_ticket(desk["dev_open"], by=dev_tech)
    client = as_persona("operator")
    assert listed(client, {"status": "closed"}) == {desk["net_closed"].number}
    assert listed(client, {"status": "pending_decision"}) == {desk["evolution"].number}
    assert listed(client, {"service": net_service.pk}) == {
        desk[name].number for name in ("net_open", "granted", "net_closed")
    }
    assert listed(client, {"application": intranet.pk, "status": "open"}) == {
        desk["dev_open"].number,
        desk["dev_open_2"].number,
    }
    assert listed(client, {"criticality": "evolution"}) == {desk["evolution"].number}
    assert listed(client, {"gravity": "minor"}) == set()
    assert listed(client, {"priority": 1, "q": "VPN"}) == {desk["net_open"].number, desk["net_closed"].number}
    assert listed(client, {"assignee": dev_tech.pk}) == {desk["dev_open"].number}
    assert desk["dev_open"].number not in listed(client, {"assignee": "null"})
    today = timezone.localdate()
    assert len(listed(client, {"created_after": today, "created_before": today})) == len(desk)
    assert listed(client, {"created_after": today + timedelta(days=1)}) == set()
    assert listed(client, {"q": desk["net_open"].number}) == {desk["net_open"].number}


def test_assignee_filter_is_for_staff_only_as_in_the_browser(desk, dev_tech, as_persona):
    actions.take_ticket(desk["dev_open"], by=dev_tech)
    # Ignored for a reporter (the web list does not offer it either).
    assert listed(as_persona("reporter"), {"assignee": dev_tech.pk}) == listed(as_persona("reporter"))


@pytest.mark.parametrize(
    "params, field",
    [
        ({"gravity": "apocalyptic"}, "gravity"),
        ({"priority": 9}, "priority"),
        ({"service": 999999}, "service"),
        ({"created_after": "yesterday"}, "created_after"),
        ({"status": "archived"}, "status"),
    ],
)
def test_bad_filters_are_400_with_the_field(params, field, desk, as_persona):
    response = as_persona("operator").get(LIST, params)
    assert response.status_code == 400
    assert field in response.json()["errors"]


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage!",
        "bm90IGEgY3Vyc29y",  # base64, but no cursor inside
        base64.b64encode(b"p=not-an-id").decode(),
        base64.b64encode(b"p=99999999999999999999999").decode(),
        base64.b64encode(b"o=-3").decode(),
        "é",
    ],
)
def test_a_bad_cursor_is_400_not_404(cursor, desk, as_persona):
    response = as_persona("operator").get(LIST, {"cursor": cursor})
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["cursor"]


def test_pages_are_newest_first_and_hold_page_size_rows(desk, as_persona, settings):
    settings.FIREBREAK_PAGE_SIZE = 4
    client = as_persona("operator")
    first = client.get(LIST).json()
    assert len(first["results"]) == 4 and first["previous"] is None
    created = [row["created_at"] for row in first["results"]]
    assert created == sorted(created, reverse=True)
    second = client.get(first["next"]).json()
    assert len(second["results"]) == 2 and second["next"] is None
    back = client.get(second["previous"]).json()
    assert [r["number"] for r in back["results"]] == [r["number"] for r in first["results"]]
    assert len(client.get(LIST, {"page_size": 1000}).json()["results"]) == 6


def test_reference_data_lists_what_each_may_pick(operator, reporter, intranet, dev_service, net_service, as_persona):
    from incidents.models import Application, Service

    orphan = Application.objects.create(name="Legacy CRM")  # no default service: operators route it
    Service.objects.create(name="Retired", is_active=False)
    services = as_persona("reporter").get(reverse("api:services")).json()
    assert [s["name"] for s in services] == ["Application developers", "Network"]

    for_operator = {a["name"] for a in as_persona("operator").get(reverse("api:applications")).json()}
    for_reporter = {a["name"] for a in as_persona("reporter").get(reverse("api:applications")).json()}
    assert for_operator == {"Intranet", orphan.name} and for_reporter == {"Intranet"}
    assert as_persona("anonymous").get(reverse("api:services")).status_code == 401
    assert as_persona("anonymous").get(reverse("api:applications")).status_code == 401


@pytest.mark.parametrize("persona", PERSONAS)
def test_reference_data_and_schema_for_every_role(persona, as_persona, intranet):
    client = as_persona(persona)
    expected = 401 if persona == "anonymous" else 200
    assert client.get(reverse("api:services")).status_code == expected
    assert client.get(reverse("api:applications")).status_code == expected
    assert client.get(reverse("api:schema")).status_code == 200  # the API's description is public
    assert client.get(reverse("api:docs")).status_code == 200
