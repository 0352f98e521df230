"""The desk's pages: forms keep what was typed, bad input never shows a stack trace."""

import pytest
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from incidents.models import Status, Ticket


def test_operator_creates_a_ticket_routed_to_the_applications_service(client, operator, reporter, intranet):
    client.force_login(operator)
    response = client.post(
        reverse("incidents:ticket-create"),
        {
            "reporter": reporter.pk,
            "application": intranet.pk,
            "service": "",
            "gravity": "severe",
            "criticality": "blocking",
            "title": "Error message at login",
            "description": "Authentication fails with an internal error.",
            "channel": "phone",
        },
    )
    ticket = Ticket.objects.get()
    assert response.status_code == 302 and response["Location"] == ticket.get_absolute_url()
    assert ticket.service == intranet.default_service and ticket.created_by == operator
    page = client.get(ticket.get_absolute_url()).content.decode()
    assert "Error message at login" in page and "P1" in page


def test_intake_errors_sit_next_to_the_field_and_keep_what_was_typed(client, operator, reporter, intranet):
    client.force_login(operator)
    response = client.post(
        reverse("incidents:ticket-create"),
        {"reporter": reporter.pk, "application": intranet.pk, "gravity": "severe", "title": "Printer on fire"},
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert Ticket.objects.count() == 0
    assert 'value="Printer on fire"' in page
    assert "This field is required." in page  # criticality and description
    assert f'<option value="{reporter.pk}" selected>' in page  # the chosen reporter stays chosen


def test_an_application_without_default_service_asks_for_one(client, operator, reporter):
    from ..factories import ApplicationFactory

    orphan = ApplicationFactory(name="Legacy", default_service=None)
    client.force_login(operator)
    response = client.post(
        reverse("incidents:ticket-create"),
        {
            "reporter": reporter.pk,
            "application": orphan.pk,
            "gravity": "minor",
            "criticality": "non_blocking",
            "title": "Old app",
            "description": "Slow",
            "channel": "phone",
        },
    )
    assert "no default service" in response.content.decode()
    assert Ticket.objects.count() == 0


def test_reroute_without_justification_keeps_the_choice_and_says_why(client, ticket, dev_tech, net_service):
    client.force_login(dev_tech)
    response = client.post(
        reverse("incidents:ticket-reroute", args=[ticket.number]),
        {"reroute-service": net_service.pk, "reroute-justification": ""},
    )
    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    ticket.refresh_from_db()
    assert ticket.service != net_service


def test_htmx_action_swaps_the_ticket_region(client, ticket, dev_tech):
    client.force_login(dev_tech)
    response = client.post(
        reverse("incidents:ticket-comment", args=[ticket.number]),
        {"body": "Logs show a database connection failure."},
        headers={"HX-Request": "true"},
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert page.lstrip().startswith('<div id="ticket-main"')
    assert "Logs show a database connection failure." in page
    assert "<html" not in page


def test_rerouting_a_ticket_out_of_sight_goes_back_to_the_queue(client, ticket, dev_tech, net_service):
    client.force_login(dev_tech)
    url = reverse("incidents:ticket-reroute", args=[ticket.number])
    data = {"reroute-service": net_service.pk, "reroute-justification": "Network config."}
    response = client.post(url, data, headers={"HX-Request": "true"})
    assert response.status_code == 200 and response["HX-Redirect"] == reverse("incidents:current")
    assert client.get(ticket.get_absolute_url()).status_code == 404


def test_list_filters_live_in_the_url_and_the_fragment_swaps_in_place(client, ticket, evolution_request, dev_tech):
    client.force_login(dev_tech)
    url = reverse("incidents:current") + "?criticality=blocking&sort=priority"
    full = client.get(url)
    fragment = client.get(url, headers={"HX-Request": "true", "HX-Target": "ticket-list-results"})
    assert ticket.number in full.content.decode() and evolution_request.number not in full.content.decode()
    assert fragment.content.decode().lstrip().startswith('<div id="ticket-list-results"')
    assert "HX-Request" in fragment["Vary"]


def test_evolution_requests_have_their_own_list_and_closed_tickets_theirs(client, ticket, evolution_request, manager):
    client.force_login(manager)
    evolution = client.get(reverse("incidents:evolution")).content.decode()
    closed = client.get(reverse("incidents:closed")).content.decode()
    assert evolution_request.number in evolution and ticket.number not in evolution
    assert ticket.number not in closed
    Ticket.objects.filter(pk=ticket.pk).update(status=Status.CLOSED)
    assert ticket.number in client.get(reverse("incidents:closed")).content.decode()


def test_unknown_ticket_is_a_404_page_without_trace(client, dev_tech):
    client.force_login(dev_tech)
    response = client.get("/tickets/INC-1999-000001/")
    assert response.status_code == 404
    assert "Traceback" not in response.content.decode()


@pytest.mark.parametrize("role", ["dev_tech", "reporter"])
def test_people_without_intake_rights_cannot_open_the_intake_form(role, request, client):
    client.force_login(request.getfixturevalue(role))
    assert client.get(reverse("incidents:ticket-create")).status_code == 403


text = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=40)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    params=st.dictionaries(
        st.sampled_from(
            [
                "q",
                "service",
                "application",
                "gravity",
                "criticality",
                "priority",
                "status",
                "assignee",
                "created_after",
                "created_before",
                "sort",
                "cursor",
            ]
        ),
        text,
        max_size=6,
    )
)
def test_any_list_query_answers_without_a_server_error(params, client, dev_tech, ticket):
    client.force_login(dev_tech)
    for name in ("incidents:current", "incidents:evolution", "incidents:closed"):
        response = client.get(reverse(name), params)
        assert response.status_code == 200


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    data=st.dictionaries(
        st.sampled_from(
            [
                "body",
                "intervention-minutes",
                "intervention-performed_at",
                "intervention-body",
                "reroute-service",
                "reroute-justification",
                "close-comment",
                "assign-assignee",
                "decide-decision",
                "decide-comment",
                "reclassify-gravity",
                "reclassify-comment",
            ]
        ),
        text,
        max_size=5,
    )
)
def test_any_action_input_answers_without_a_server_error(data, client, dev_tech, ticket):
    client.force_login(dev_tech)
    for action in ("comment", "intervention", "reroute", "assign", "decide", "reclassify"):
        response = client.post(reverse(f"incidents:ticket-{action}", args=[ticket.number]), data)
        assert response.status_code in (200, 302)
