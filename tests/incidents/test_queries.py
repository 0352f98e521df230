"""Pages run a number of SQL queries that does not grow with tickets, comments or interventions."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from incidents import actions

from ..factories import open_ticket

# A list page runs: session, user, the user's permissions (2: own and groups' ), the two
# navigation counts, the list's count, the page of rows (with application, service,
# reporter and assignee joined), and the filter form's choices (services, applications,
# assignees). Some of those are skipped depending on the role; none repeats per row.
LIST_MAX = 14
# The ticket page: session, user, permissions (2), the two navigation counts, the ticket
# with its related rows, memberships for the rules, the timeline with authors, services
# and assignees joined, and the choices of the action forms (services, members); for
# people who do not see every ticket, their services and grants once per visibility check
# (the ticket and the navigation counts).
TICKET_MAX = 16

PAGES = [
    ("incidents:current", ""),
    ("incidents:current", "?gravity=severe&sort=priority&q=login"),
    ("incidents:evolution", ""),
    ("incidents:closed", ""),
]


def fill(count, *, operator, dev_tech, reporter, intranet):
    for i in range(count):
        ticket = open_ticket(by=operator, reporter=reporter, application=intranet, title=f"Error at login {i}")
        actions.add_comment(ticket, by=dev_tech, body="Looking.")
        actions.log_intervention(ticket, by=dev_tech, performed_at=timezone.now(), minutes=10, body="Logs.")
        actions.take_ticket(ticket, by=dev_tech)
        if i % 3 == 0:
            actions.close_ticket(ticket, by=dev_tech, comment="Done.")
        if i % 5 == 0:
            open_ticket(by=operator, reporter=reporter, application=intranet, criticality="evolution")


def count_queries(client, url, **headers):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, headers=headers)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize("persona", ["dev_tech", "operator", "reporter", "manager"])
def test_list_queries_do_not_grow_with_tickets(persona, request, client, operator, dev_tech, reporter, intranet):
    user = request.getfixturevalue(persona)
    client.force_login(user)
    fill(3, operator=operator, dev_tech=dev_tech, reporter=reporter, intranet=intranet)
    small = {page: count_queries(client, reverse(page[0]) + page[1]) for page in PAGES}
    fragment_small = count_queries(client, reverse("incidents:current"), HX_Request="true")

    fill(40, operator=operator, dev_tech=dev_tech, reporter=reporter, intranet=intranet)
    large = {page: count_queries(client, reverse(page[0]) + page[1]) for page in PAGES}
    fragment_large = count_queries(client, reverse("incidents:current"), HX_Request="true")

    assert large == small
    assert fragment_large == fragment_small
    assert max(large.values()) <= LIST_MAX


@pytest.mark.parametrize("persona", ["dev_tech", "operator", "reporter", "manager"])
def test_ticket_page_queries_do_not_grow_with_timeline(persona, request, client, ticket, dev_tech, net_tech):
    user = request.getfixturevalue(persona)
    client.force_login(user)
    url = ticket.get_absolute_url()
    actions.add_comment(ticket, by=dev_tech, body="First look.")
    small = count_queries(client, url)

    for i in range(40):
        actions.add_comment(ticket, by=dev_tech, body=f"Comment {i}")
        actions.log_intervention(ticket, by=dev_tech, performed_at=timezone.now(), minutes=5, body="Work.")
    large = count_queries(client, url)

    assert large == small
    assert large <= TICKET_MAX


def test_deep_pages_cost_what_the_first_costs(client, operator, dev_tech, reporter, intranet, settings):
    settings.FIREBREAK_PAGE_SIZE = 3
    client.force_login(dev_tech)
    fill(20, operator=operator, dev_tech=dev_tech, reporter=reporter, intranet=intranet)
    first = reverse("incidents:current")
    response = client.get(first)
    counts = []
    url = first
    import html
    import re

    while True:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        counts.append(len(queries))
        following = re.search(r'rel="next" href="([^"]+)"', response.content.decode())
        if not following:
            break
        url = first + html.unescape(following.group(1))
    assert len(counts) > 3
    assert len(set(counts)) == 1
