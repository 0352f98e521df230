"""One visibility rule on every surface: lists, pages, fragments, search, counts.

For each persona, the tickets a list shows (all pages, all three lists), the tickets whose
page opens, and TicketQuerySet.visible_to are the same set.
"""

import html
import re
from pathlib import Path

import pytest
from django.urls import reverse
from guardian.shortcuts import assign_perm

from accounts.roles import Role
from incidents import actions
from incidents.models import Ticket

from ..factories import ApplicationFactory, ServiceFactory, UserFactory, open_ticket

NUMBER = re.compile(r"INC-\d{4}-\d{6}")
NEXT = re.compile(r'rel="next" href="([^"]+)"')
LISTS = ["incidents:current", "incidents:evolution", "incidents:closed"]


def listed(client, url_name, params="", htmx=False):
    """Every ticket number a list shows, following its keyset pages to the end."""
    url = reverse(url_name) + params
    headers = {"HX-Request": "true", "HX-Target": "ticket-list-results"} if htmx else {}
    numbers = set()
    for _page in range(50):
        response = client.get(url, headers=headers)
        assert response.status_code == 200
        body = response.content.decode()
        rows = body[body.index("<tbody>") : body.index("</tbody>")]
        numbers |= set(NUMBER.findall(rows))
        following = NEXT.search(body)
        if not following:
            return numbers
        url = reverse(url_name) + html.unescape(following.group(1))
    raise AssertionError("pagination never ended")


@pytest.fixture
def desk(operator, dev_tech, net_tech, manager, reporter, other_reporter, intranet, net_service, settings):
    """Tickets in several queues, states and ownerships; small pages to exercise paging."""
    settings.FIREBREAK_PAGE_SIZE = 2
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


PERSONAS = ["operator", "dev_tech", "net_tech", "manager", "reporter", "other_reporter"]


@pytest.mark.parametrize("persona", PERSONAS)
def test_lists_pages_and_queryset_agree(persona, desk, request, client):
    user = request.getfixturevalue(persona)
    client.force_login(user)
    expected = set(Ticket.objects.visible_to(user).values_list("number", flat=True))

    shown = set().union(*(listed(client, name) for name in LISTS))
    fragments = set().union(*(listed(client, name, htmx=True) for name in LISTS))
    opens = {t.number for t in Ticket.objects.all() if client.get(t.get_absolute_url()).status_code == 200}

    assert shown == expected
    assert fragments == expected
    assert opens == expected
    for t in Ticket.objects.exclude(number__in=expected):
        assert client.get(t.get_absolute_url()).status_code == 404


def test_each_persona_sees_what_the_desk_promises(desk, request):
    def sees(persona):
        user = request.getfixturevalue(persona)
        return {name for name, t in desk.items() if Ticket.objects.visible_to(user).filter(pk=t.pk).exists()}

    everything = set(desk)
    assert sees("operator") == everything
    assert sees("manager") == everything
    assert sees("dev_tech") == {"dev_open", "dev_open_2", "evolution"}
    assert sees("net_tech") == {"net_open", "granted", "net_closed"}
    assert sees("reporter") == {"dev_open", "evolution", "net_closed", "granted"}
    assert sees("other_reporter") == {"dev_open_2", "net_open", "granted"}


@pytest.mark.parametrize("persona", PERSONAS)
def test_search_and_counts_use_the_same_rule(persona, desk, request, client):
    user = request.getfixturevalue(persona)
    client.force_login(user)
    visible = Ticket.objects.visible_to(user)

    found = listed(client, "incidents:current", "?q=VPN") | listed(client, "incidents:closed", "?q=VPN")
    assert found == set(visible.filter(title__icontains="VPN").values_list("number", flat=True))
    by_number = listed(client, "incidents:current", f"?q={desk['net_open'].number}")
    assert by_number == ({desk["net_open"].number} & set(visible.values_list("number", flat=True)))

    page = client.get(reverse("incidents:current")).content.decode()
    open_count = visible.filter(status="open").count()
    assert f'id="nav-count-current">{open_count}<' in page
    assert re.search(rf'id="ticket-list-total">\s*{open_count} ticket', page)


def test_new_technician_sees_nothing_until_added_to_a_service(desk, client, dev_service):
    newcomer = UserFactory(role=Role.TECHNICIAN)
    assert not Ticket.objects.visible_to(newcomer).exists()
    client.force_login(newcomer)
    assert listed(client, "incidents:current") == set()

    newcomer.membership_set.create(service=dev_service)
    assert set(Ticket.objects.visible_to(newcomer).values_list("number", flat=True)) == {
        desk["dev_open"].number,
        desk["dev_open_2"].number,
        desk["evolution"].number,
    }


def test_a_new_service_is_visible_only_to_its_members(desk, operator, reporter, dev_tech):
    security = ServiceFactory(name="Security")
    member = UserFactory(role=Role.TECHNICIAN, services=[security])
    app = ApplicationFactory(name="Badge readers", default_service=security)
    ticket = open_ticket(by=operator, reporter=reporter, application=app)
    assert Ticket.objects.visible_to(member).filter(pk=ticket.pk).exists()
    assert not Ticket.objects.visible_to(dev_tech).filter(pk=ticket.pk).exists()


def test_anonymous_visitors_are_sent_to_log_in(desk, client):
    for name in LISTS:
        response = client.get(reverse(name))
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    response = client.get(desk["dev_open"].get_absolute_url())
    assert response.status_code == 302


SURFACES = ["incidents/views.py", "incidents/context_processors.py", "accounts/views.py", "incidents/filters.py"]


def test_views_reach_tickets_only_through_visible_to():
    """A view, form, filter, export or search module that queries tickets without the one
    visibility method fails here. Actions (incidents/actions.py) work on tickets a view
    already fetched through visible_to."""
    root = Path(__file__).resolve().parents[2]
    modules = [root / name for name in SURFACES]
    patterns = ("*/views.py", "*/views/*.py", "*/api*.py", "*/api/*.py", "*/exports*.py", "*/search*.py", "*/feeds*.py")
    assert root / "oncall" / "views.py" in root.glob("*/views.py")  # every app's pages, the on-call ones too
    for pattern in patterns:
        modules += root.glob(pattern)
    api = sorted((root / "api").rglob("*.py"))  # the REST API app: views, serializers, filters...
    assert root / "api" / "views.py" in api and root / "api" / "serializers.py" in api
    modules += api
    modules = [path for path in modules if path.relative_to(root).parts[0] != "tests"]  # tests/api/ checks rows
    unscoped = re.compile(r"\b(Ticket|TimelineEntry)\.objects\.(?!visible_to\()")
    offenders = [
        f"{path.relative_to(root)}:{n}: {line.strip()}"
        for path in modules
        if path.exists()
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if unscoped.search(line)
    ]
    assert offenders == []
