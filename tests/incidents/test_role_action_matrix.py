"""Every (role x action) pair: allowed ones succeed, refused ones change nothing.

Once through the domain functions (incidents.actions), once over HTTP, where a ticket the
user may not see answers 404 and a visible one refuses with a message on the page.
"""

import pytest
from django.urls import reverse

from incidents import actions
from incidents.models import Status, Ticket, TimelineEntry

ROLES = ["operator", "dev_tech", "net_tech", "manager", "reporter", "other_reporter"]

# action -> (state the ticket must be in, roles allowed)
MATRIX = {
    "comment": ("open", {"operator", "dev_tech", "manager", "reporter"}),
    "intervention": ("open", {"dev_tech"}),
    "reroute": ("open", {"dev_tech"}),
    "close": ("open", {"dev_tech"}),
    "reopen": ("closed", {"dev_tech"}),
    "take": ("open", {"dev_tech"}),
    "assign": ("open", {"dev_tech"}),
    "decide": ("pending", {"manager"}),
    "reclassify": ("open", {"operator", "dev_tech", "manager"}),
}

# Who sees a ticket in the developers' queue, reported by `reporter`.
SEES = {"operator", "dev_tech", "manager", "reporter"}


@pytest.fixture
def personas(operator, dev_tech, net_tech, manager, reporter, other_reporter):
    return {
        "operator": operator,
        "dev_tech": dev_tech,
        "net_tech": net_tech,
        "manager": manager,
        "reporter": reporter,
        "other_reporter": other_reporter,
    }


@pytest.fixture
def ticket_in(ticket, evolution_request, dev_tech):
    def make(state):
        if state == "closed":
            actions.close_ticket(ticket, by=dev_tech, comment="Fixed.")
            return Ticket.objects.get(pk=ticket.pk)
        if state == "pending":
            return evolution_request
        return ticket

    return make


def perform(action, ticket, user, *, dev_tech, net_service):
    from django.utils import timezone

    calls = {
        "comment": lambda: actions.add_comment(ticket, by=user, body="A comment."),
        "intervention": lambda: actions.log_intervention(
            ticket, by=user, performed_at=timezone.now(), minutes=30, body="Checked the logs."
        ),
        "reroute": lambda: actions.reroute_ticket(ticket, by=user, to=net_service, justification="Network."),
        "close": lambda: actions.close_ticket(ticket, by=user, comment="Done."),
        "reopen": lambda: actions.reopen_ticket(ticket, by=user, comment="It came back."),
        "take": lambda: actions.take_ticket(ticket, by=user),
        "assign": lambda: actions.assign_ticket(ticket, by=user, to=dev_tech),
        "decide": lambda: actions.decide_evolution_request(ticket, by=user, accept=True, comment="Accepted."),
        "reclassify": lambda: actions.reclassify_ticket(
            ticket, by=user, gravity="minor", criticality="blocking", comment="Less bad."
        ),
    }
    return calls[action]()


def snapshot(ticket):
    row = Ticket.objects.filter(pk=ticket.pk).values().get()
    return row, TimelineEntry.objects.filter(ticket=ticket).count()


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action", list(MATRIX))
def test_action_is_allowed_exactly_for_its_roles(action, role, personas, ticket_in, dev_tech, net_service):
    state, allowed = MATRIX[action]
    ticket = ticket_in(state)
    user = personas[role]
    before, entries = snapshot(ticket)

    if role in allowed:
        perform(action, ticket, user, dev_tech=dev_tech, net_service=net_service)
        after, entries_after = snapshot(ticket)
        assert entries_after == entries + 1
    else:
        with pytest.raises(actions.Forbidden):  # the state is right: the role is what is refused
            perform(action, ticket, user, dev_tech=dev_tech, net_service=net_service)
        assert snapshot(ticket) == (before, entries)


@pytest.mark.parametrize("role", ROLES)
def test_only_operators_and_managers_open_tickets_for_someone_else(role, personas, reporter, intranet):
    user = personas[role]  # the reporter's own case: they open a ticket for themself
    if role in {"operator", "manager", "reporter"}:
        ticket = actions.open_ticket(
            by=user,
            reporter=reporter,
            application=intranet,
            service=intranet.default_service,
            title="Printer",
            description="Jammed.",
            gravity="minor",
            criticality="non_blocking",
            channel="phone",
        )
        assert ticket.created_by == user
    else:
        count = Ticket.objects.count()
        with pytest.raises(actions.Refused):
            actions.open_ticket(
                by=user,
                reporter=reporter,
                application=intranet,
                service=intranet.default_service,
                title="Printer",
                description="Jammed.",
                gravity="minor",
                criticality="non_blocking",
                channel="phone",
            )
        assert Ticket.objects.count() == count


HTTP_DATA = {
    "comment": lambda ctx: {"body": "A comment."},
    "intervention": lambda ctx: {
        "intervention-performed_at": "2026-01-05T10:00",
        "intervention-minutes": "30",
        "intervention-body": "Checked the logs.",
    },
    "reroute": lambda ctx: {"reroute-service": ctx["net_service"].pk, "reroute-justification": "Network."},
    "close": lambda ctx: {"close-comment": "Done."},
    "reopen": lambda ctx: {"reopen-comment": "It came back."},
    "take": lambda ctx: {},
    "assign": lambda ctx: {"assign-assignee": ctx["dev_tech"].pk},
    "decide": lambda ctx: {"decide-decision": "accept", "decide-comment": "Accepted."},
    "reclassify": lambda ctx: {
        "reclassify-gravity": "minor",
        "reclassify-criticality": "blocking",
        "reclassify-comment": "Less bad.",
    },
}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action", list(MATRIX))
def test_http_action_matrix(action, role, personas, ticket_in, dev_tech, net_service, client):
    state, allowed = MATRIX[action]
    ticket = ticket_in(state)
    user = personas[role]
    client.force_login(user)
    before, entries = snapshot(ticket)

    url = reverse(f"incidents:ticket-{action}", args=[ticket.number])
    response = client.post(url, HTTP_DATA[action]({"net_service": net_service, "dev_tech": dev_tech}))

    if role in allowed:
        assert response.status_code == 302
        assert snapshot(ticket)[1] == entries + 1
    elif role in SEES or (state == "pending" and role == "reporter"):
        assert response.status_code == 200
        assert b"invalid-feedback" in response.content or b"alert-block" in response.content
        assert snapshot(ticket) == (before, entries)
    else:
        assert response.status_code == 404
        assert snapshot(ticket) == (before, entries)


def test_refused_action_shows_its_reason_and_keeps_the_text(client, ticket, operator, net_service):
    client.force_login(operator)
    response = client.post(reverse("incidents:ticket-close", args=[ticket.number]), {"close-comment": "My observation"})
    assert response.status_code == 200
    assert "Only technicians of the ticket&#x27;s service can close it." in response.content.decode()
    assert "My observation" in response.content.decode()
    assert Ticket.objects.get(pk=ticket.pk).status == Status.OPEN
