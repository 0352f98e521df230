"""The list and a ticket cost a number of queries that does not grow with tickets or timeline."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from incidents import actions

from ..factories import open_ticket

# The list, with a token: the token (with its user), the user's other tokens (knox drops
# expired ones), the user's permissions (2: own and groups', for visible_to and is_staff),
# the user's services and grants (visible_to, for those who do not see every ticket), and
# the page of tickets with application, service, reporter and assignee joined; plus one
# per model-choice filter given (service, here). Throttling reads the cache, not the database.
LIST_MAX = 7
# A ticket: token, other tokens, permissions (2), services and grants (as above), the
# ticket with its related rows, the timeline with authors, services and assignees joined,
# its attachments, the watchers with their users, and the user's services for the allowed
# actions (rules.service_ids_of).
TICKET_MAX = 10


def fill(count, *, operator, dev_tech, reporter, intranet):
    for i in range(count):
        ticket = open_ticket(by=operator, reporter=reporter, application=intranet, title=f"Error at login {i}")
        actions.add_comment(ticket, by=dev_tech, body="Looking.")
        actions.log_intervention(ticket, by=dev_tech, performed_at=timezone.now(), minutes=10, body="Logs.")
        actions.take_ticket(ticket, by=dev_tech)
        if i % 3 == 0:
            actions.close_ticket(ticket, by=dev_tech, comment="Done.")


def count(client, url, params=None):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, params)
    assert response.status_code == 200
    return len(queries)


LISTS = [{}, {"status": "open", "gravity": "severe", "q": "login"}, {"service": None}, {"page_size": 100}]


@pytest.mark.parametrize("persona", ["dev_tech", "operator", "reporter", "manager"])
def test_list_queries_do_not_grow_with_tickets(
    persona, as_persona, operator, dev_tech, reporter, intranet, dev_service, django_assert_max_num_queries
):
    client = as_persona(persona)
    url = reverse("api:ticket-list")
    params = [{k: (dev_service.pk if k == "service" else v) for k, v in p.items()} for p in LISTS]
    fill(3, operator=operator, dev_tech=dev_tech, reporter=reporter, intranet=intranet)
    small = [count(client, url, p) for p in params]

    fill(40, operator=operator, dev_tech=dev_tech, reporter=reporter, intranet=intranet)
    large = [count(client, url, p) for p in params]
    following = client.get(url, {"page_size": 5}).json()["next"]

    assert large == small
    for p in params:
        with django_assert_max_num_queries(LIST_MAX):
            client.get(url, p)
    with django_assert_max_num_queries(LIST_MAX):
        assert len(client.get(following).json()["results"]) == 5


@pytest.mark.parametrize("persona", ["dev_tech", "operator", "reporter", "manager"])
def test_ticket_queries_do_not_grow_with_its_timeline(
    persona, as_persona, ticket, dev_tech, django_assert_max_num_queries
):
    client = as_persona(persona)
    url = reverse("api:ticket-detail", kwargs={"number": ticket.number})
    actions.add_comment(ticket, by=dev_tech, body="First look.")
    actions.watch_ticket(ticket, by=dev_tech)
    small = count(client, url)

    for i in range(40):
        actions.add_comment(ticket, by=dev_tech, body=f"Comment {i}", internal=i % 2 == 0)
        actions.log_intervention(ticket, by=dev_tech, performed_at=timezone.now(), minutes=5, body="Work.")
    large = count(client, url)

    assert large == small
    with django_assert_max_num_queries(TICKET_MAX):
        assert len(client.get(url).json()["timeline"]) > 40
